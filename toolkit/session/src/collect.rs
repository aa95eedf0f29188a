//! `wprof collect`: the profile a self-profiling artifact (`wprof
//! instrument --embed`) wrote for itself becomes the usual output set,
//! named and written exactly as a run's.
//!
//! The file is the image embed.wat builds: a 64-byte header, then the probe
//! runtime's tables in the runtime's own layout (nodes, then per-function
//! counters directly followed by the per-context overflow counters), so the
//! one tree reader reads it as it reads a live runtime's memory.

use wprof_instrument::abi::{self, EmbedManifest, Manifest, RuntimeState};
use wprof_profile::{Exit, ExitKind, ExportLatency, buckets};

use crate::cli::RunOptions;
use crate::module::{self, ModuleInfo};
use crate::outputs::Sink;
use crate::{Error, Finished, Plan, RunEnd, RuntimeView, Session};

const MAGIC: &[u8; 8] = b"wprofemb";
const VERSION: u32 = 1;
const HEADER: usize = 64;

/// What a profile file says about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Header {
    n_funcs: u32,
    node_count: u32,
    n_exports: u32,
    id: u64,
    overflow: u64,
    buckets: u32,
    /// Calling contexts (else per-function counts only).
    contexts: bool,
    /// Allocation counts follow the exports.
    allocations: bool,
}

/// Writes the output set for `profile` (a file the artifact `artifact`
/// wrote) through `sink`. `options.module` names the artifact in messages;
/// `profile_name` names the file. The session returned says the closing
/// messages.
pub fn collect(
    artifact: &[u8],
    profile: &[u8],
    profile_name: &str,
    mut options: RunOptions,
    sink: &mut dyn Sink,
) -> Result<(Session, Finished), Error> {
    let wasm = module::read(artifact, &options.module)?;
    let info = ModuleInfo::parse(&wasm).map_err(Error::Invalid)?;
    let manifest = Manifest::from_module(&wasm).map_err(Error::Instrument)?;
    let Some((manifest, embed)) = manifest.and_then(|m| Some((m.clone(), m.embed?))) else {
        return Err(Error::Setup(format!(
            "`{}` is not a self-profiling artifact; --module takes the module `wprof instrument --embed` wrote",
            options.module
        )));
    };
    let header = read_header(profile, profile_name, &manifest, &embed)?;
    options.max_contexts = embed.node_cap;
    let tables = HEADER + header.node_count as usize * 24 + header.n_funcs as usize * 8;
    let per_export = 24 + header.buckets as usize * 8;
    let exports_end = tables + per_export * header.n_exports as usize;
    let exports = profile[tables..exports_end]
        .chunks_exact(per_export)
        .zip(&embed.exports)
        .map(|(r, name)| {
            let word = |i: usize| u64::from_le_bytes(r[i * 8..i * 8 + 8].try_into().unwrap());
            let histogram: Vec<u64> = (0..header.buckets as usize).map(|b| word(3 + b)).collect();
            ExportLatency::new(name.clone(), word(0), word(1), word(2), &histogram)
        })
        .collect();
    // Counts alone read as a tree of one level: each function a context
    // of its own under the root.
    let flat;
    let (image, node_count) = if header.contexts {
        (profile, header.node_count)
    } else {
        flat = flat_tree(&profile[HEADER..HEADER + header.n_funcs as usize * 8]);
        (&flat[..], header.n_funcs + abi::OVERFLOW_NODE + 1)
    };
    let session = Session {
        imports: info.function_imports.clone(),
        wasm: Vec::new(),
        manifest: Some(manifest),
        symbols: None,
        sources: None,
        plan: Plan::Start,
        call: None,
        instrumented_here: false,
        options,
    };
    let mut rec = session.recording();
    // The artifact counted allocations itself; no events reach a heap
    // model here, so there is no (empty) memory section or heap files.
    rec.forget_memory();
    rec.exports = exports;
    if header.allocations {
        rec.allocations = Some(allocations(
            &profile[exports_end..],
            &profile[HEADER..HEADER + header.node_count as usize * 16],
            session.manifest.as_ref().expect("set above"),
        ));
    }
    rec.set_sampler("embedded", 0, 0);
    let view = RuntimeView {
        memory: image,
        state: RuntimeState {
            node_count,
            nodes_base: HEADER as u32,
            flat_base: HEADER as u32 + node_count * 16,
            overflow: header.overflow,
        },
    };
    let end = RunEnd {
        exit: Exit {
            kind: ExitKind::Exit,
            code: None,
            message: Some(format!(
                "written by the module itself ({profile_name}); how the guest ended is its host's to say"
            )),
        },
        ..RunEnd::exited(0, 0)
    };
    let done = session.finish(rec, end, Some(view), sink)?;
    Ok((session, done))
}

/// Contexts listed by allocations, at most this many.
const TOP_SITES: usize = 50;

/// The allocation counts after the exports: per context (`nodes`, the
/// image's node table, names them), then the totals.
fn allocations(section: &[u8], nodes: &[u8], manifest: &Manifest) -> wprof_profile::Allocations {
    let word = |at: usize| u64::from_le_bytes(section[at..at + 8].try_into().unwrap());
    let node = |n: usize| {
        let r = &nodes[n * 16..n * 16 + 8];
        let parent = u32::from_le_bytes(r[..4].try_into().unwrap());
        let fid = u32::from_le_bytes(r[4..8].try_into().unwrap());
        (parent, fid)
    };
    let count = nodes.len() / 16;
    let stack = |mut n: usize| {
        let mut frames = Vec::new();
        while n != abi::ROOT_NODE as usize && n < count && frames.len() <= count {
            let (parent, fid) = node(n);
            frames.push(
                manifest
                    .functions
                    .get(fid as usize)
                    .map_or_else(|| "[truncated]".to_string(), |f| f.name.clone()),
            );
            n = parent as usize;
        }
        frames.reverse();
        if frames.is_empty() {
            "[root]".to_string()
        } else {
            frames.join(";")
        }
    };
    let mut sites: Vec<(usize, u64, u64, u64)> = (0..count)
        .map(|n| (n, word(n * 24), word(n * 24 + 8), word(n * 24 + 16)))
        .filter(|&(_, a, _, f)| a > 0 || f > 0)
        .collect();
    let totals = count * 24;
    let mut a = wprof_profile::Allocations {
        allocations: sites.iter().map(|s| s.1).sum(),
        allocated_bytes: sites.iter().map(|s| s.2).sum(),
        frees: sites.iter().map(|s| s.3).sum(),
        grows: word(totals),
        grown_bytes: word(totals + 8) * 65536,
        untracked_growth_bytes: word(totals + 16) * 65536,
        gc_cycles: word(totals + 24),
        top: Vec::new(),
    };
    sites.sort_by(|x, y| y.1.cmp(&x.1).then(y.2.cmp(&x.2)).then(x.0.cmp(&y.0)));
    a.top = sites
        .into_iter()
        .take(TOP_SITES)
        .map(
            |(n, allocations, bytes, frees)| wprof_profile::AllocationSite {
                stack: stack(n),
                allocations,
                bytes,
                frees,
            },
        )
        .collect();
    a
}

/// The image of a counts-tier profile as if it had contexts: the header's
/// room, the root and overflow nodes, a node per function under the root,
/// then the counters.
fn flat_tree(counts: &[u8]) -> Vec<u8> {
    let mut image = vec![0u8; HEADER];
    let node = |image: &mut Vec<u8>, parent: u32, fid: u32, calls: u64| {
        image.extend(parent.to_le_bytes());
        image.extend(fid.to_le_bytes());
        image.extend(calls.to_le_bytes());
    };
    node(&mut image, u32::MAX, u32::MAX, 0);
    node(&mut image, abi::ROOT_NODE, u32::MAX - 1, 0);
    for (fid, c) in counts.chunks_exact(8).enumerate() {
        let calls = u64::from_le_bytes(c.try_into().unwrap());
        node(&mut image, abi::ROOT_NODE, fid as u32, calls);
    }
    image.extend_from_slice(counts);
    image
}

/// Checks that `profile` is a whole profile of this artifact.
fn read_header(
    profile: &[u8],
    name: &str,
    manifest: &Manifest,
    embed: &EmbedManifest,
) -> Result<Header, Error> {
    let bad = |why: String| Error::Setup(format!("`{name}` is not a wprof profile: {why}"));
    if profile.len() < HEADER || &profile[..8] != MAGIC {
        return Err(bad("it does not start with `wprofemb`".into()));
    }
    let u32_at = |at: usize| u32::from_le_bytes(profile[at..at + 4].try_into().unwrap());
    let u64_at = |at: usize| u64::from_le_bytes(profile[at..at + 8].try_into().unwrap());
    if u32_at(8) != VERSION {
        return Err(bad(format!(
            "format version {}, this wprof reads {VERSION}",
            u32_at(8)
        )));
    }
    let header = Header {
        n_funcs: u32_at(12),
        node_count: u32_at(16),
        n_exports: u32_at(20),
        id: u64_at(24),
        overflow: u64_at(32),
        buckets: u32_at(40),
        contexts: u32_at(44) & 1 == 1,
        allocations: u32_at(44) & 2 == 2,
    };
    if format!("{:016x}", header.id) != embed.id
        || header.n_funcs as usize != manifest.functions.len()
        || header.n_exports as usize != embed.exports.len()
    {
        return Err(Error::Setup(format!(
            "`{name}` was written by another module (artifact id {:016x}), not by this one ({})",
            header.id, embed.id
        )));
    }
    let consistent = if header.contexts {
        header.buckets as usize == buckets::COUNT && header.node_count <= embed.node_cap
    } else {
        header.buckets == 0 && header.node_count == 0 && !header.allocations
    };
    if !consistent {
        return Err(bad("its header is inconsistent".into()));
    }
    let len = HEADER as u64
        + header.node_count as u64 * 24
        + header.n_funcs as u64 * 8
        + header.n_exports as u64 * (24 + header.buckets as u64 * 8)
        + if header.allocations {
            header.node_count as u64 * 24 + 32
        } else {
            0
        };
    if profile.len() as u64 != len {
        return Err(bad(format!(
            "{} bytes where its header promises {len} (truncated?)",
            profile.len()
        )));
    }
    Ok(header)
}
