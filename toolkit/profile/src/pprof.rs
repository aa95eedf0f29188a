//! Gzipped pprof (`cpu.pb.gz`), written from and read back into a [`Profile`].
//!
//! One pprof sample per calling context with non-zero values; its locations
//! are the context's frames, leaf first. Sample types are `calls/count` and
//! `cpu/nanoseconds` for instrumented profiles, `samples/count` and
//! `cpu/nanoseconds` for sampled ones, so `go tool pprof -top` shows time
//! and `-sample_index=calls` exact call counts.

use std::collections::HashMap;
use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;
use prost::Message;

use crate::proto;
use crate::{Error, Mode, Profile, ROOT};

struct Strings {
    table: Vec<String>,
    index: HashMap<String, i64>,
}

impl Strings {
    fn new() -> Strings {
        Strings {
            table: vec![String::new()],
            index: HashMap::from([(String::new(), 0)]),
        }
    }

    fn id(&mut self, s: &str) -> i64 {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        let i = self.table.len() as i64;
        self.table.push(s.to_string());
        self.index.insert(s.to_string(), i);
        i
    }
}

/// pprof's function, location and mapping tables for a frame table of
/// `(name, address, declaration)`: frame `i` is function and location
/// `i + 1`. The module is the mapping; a function's file is its source
/// file, when DWARF named one (so `-list` shows source, never the module).
fn frame_tables<'a>(
    strings: &mut Strings,
    module: &str,
    frames: impl Iterator<Item = (&'a str, u64, Option<&'a crate::Source>)>,
) -> (
    Vec<proto::Function>,
    Vec<proto::Location>,
    Vec<proto::Mapping>,
) {
    let module = strings.id(module);
    let mut function = Vec::new();
    let mut location = Vec::new();
    for (i, (name, address, source)) in frames.enumerate() {
        let id = i as u64 + 1;
        let line = source.map_or(0, |s| s.line as i64);
        function.push(proto::Function {
            id,
            name: strings.id(name),
            system_name: strings.id(name),
            filename: source.map_or(0, |s| strings.id(&s.file)),
            start_line: line,
        });
        // One location per function: wasm has no addresses a pprof viewer
        // could use, and function-level frames are what profiles record.
        location.push(proto::Location {
            id,
            mapping_id: 1,
            address,
            line: vec![proto::Line {
                function_id: id,
                line,
                column: 0,
            }],
            is_folded: false,
        });
    }
    let mapping = vec![proto::Mapping {
        id: 1,
        filename: module,
        has_functions: true,
        ..Default::default()
    }];
    (function, location, mapping)
}

/// Locations beyond one per function: a frame at a known source line, and a
/// function with the frames inlined into it (pprof's multiple `Line`s per
/// `Location`, innermost first, as for native code).
struct Locations<'a> {
    profile: &'a Profile,
    table: &'a mut Vec<proto::Location>,
    ids: HashMap<Vec<(u32, u32)>, u64>,
}

impl<'a> Locations<'a> {
    fn new(profile: &'a Profile, table: &'a mut Vec<proto::Location>) -> Self {
        Locations {
            profile,
            table,
            ids: HashMap::new(),
        }
    }

    /// Location ids of context `node`, innermost first.
    fn stack(&mut self, mut node: u32) -> Vec<u64> {
        let nodes = &self.profile.tree.nodes;
        let functions = &self.profile.functions;
        // (function, line) frames, innermost first, grouped so that each
        // group is a real frame preceded by the frames inlined into it.
        let mut groups: Vec<Vec<(u32, u32)>> = Vec::new();
        let mut pending: Vec<(u32, u32)> = Vec::new();
        while node != ROOT {
            let n = &nodes[node as usize];
            pending.push((n.func, n.line));
            if !functions.get(n.func as usize).is_some_and(|f| f.inlined) {
                groups.push(std::mem::take(&mut pending));
            }
            node = n.parent;
        }
        if !pending.is_empty() {
            groups.push(pending);
        }
        groups.into_iter().map(|g| self.id(g)).collect()
    }

    fn id(&mut self, group: Vec<(u32, u32)>) -> u64 {
        if let [(f, 0)] = group[..] {
            return f as u64 + 1;
        }
        if let Some(&id) = self.ids.get(&group) {
            return id;
        }
        let id = self.table.len() as u64 + 1;
        let functions = &self.profile.functions;
        let outer = group.last().map_or(0, |&(f, _)| f);
        self.table.push(proto::Location {
            id,
            mapping_id: 1,
            address: functions
                .get(outer as usize)
                .and_then(|f| f.index)
                .unwrap_or(0) as u64,
            line: group
                .iter()
                .map(|&(f, line)| proto::Line {
                    function_id: f as u64 + 1,
                    line: match line {
                        0 => functions
                            .get(f as usize)
                            .and_then(|f| f.source.as_ref())
                            .map_or(0, |s| s.line as i64),
                        l => l as i64,
                    },
                    column: 0,
                })
                .collect(),
            is_folded: false,
        });
        self.ids.insert(group, id);
        id
    }
}

/// The deepest context depth whose samples fit [`crate::folded::MAX_BYTES`]
/// (a varint of about 3 bytes per frame, 24 per sample), when the whole
/// tree does not.
fn bounded_depth(profile: &Profile) -> Option<u32> {
    let nodes = &profile.tree.nodes;
    let mut depth = vec![0u32; nodes.len()];
    for (i, n) in nodes.iter().enumerate().skip(1) {
        depth[i] = depth[n.parent as usize] + 1;
    }
    let valued = |n: &crate::Node| n.calls > 0 || n.self_ns > 0 || n.samples > 0;
    let size = |cap: u32| -> usize {
        nodes
            .iter()
            .enumerate()
            .skip(1)
            .filter(|(_, n)| valued(n))
            .map(|(i, _)| depth[i].min(cap + 1) as usize * 3 + 24)
            .sum()
    };
    let max = depth.iter().copied().max().unwrap_or(0);
    if size(max) <= crate::folded::MAX_BYTES {
        return None;
    }
    let (mut lo, mut hi) = (1, max);
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if size(mid) <= crate::folded::MAX_BYTES {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    Some(lo)
}

/// Encodes `profile` as an uncompressed pprof message.
pub fn encode(profile: &Profile) -> Vec<u8> {
    // Each sample lists its whole stack: a deep, bushy tree would make
    // hundreds of MB. Like the folded files, stay under the bound by folding
    // the deepest contexts into `[deeper]`.
    let capped;
    let profile = match bounded_depth(profile) {
        Some(cap) => {
            capped = profile.folded_below(cap, crate::folded::DEEPER);
            &capped
        }
        None => profile,
    };
    let mut strings = Strings::new();
    let first = match profile.mode {
        Mode::Instrument => ("calls", "count"),
        Mode::Sample => ("samples", "count"),
    };
    let sample_type = vec![
        proto::ValueType {
            ty: strings.id(first.0),
            unit: strings.id(first.1),
        },
        proto::ValueType {
            ty: strings.id("cpu"),
            unit: strings.id("nanoseconds"),
        },
    ];
    let (function, mut location, mapping) = frame_tables(
        &mut strings,
        &profile.module,
        profile.functions.iter().map(|f| {
            (
                f.name.as_str(),
                f.index.unwrap_or(0) as u64,
                f.source.as_ref(),
            )
        }),
    );
    let mut lines = Locations::new(profile, &mut location);
    let sample = profile
        .tree
        .nodes
        .iter()
        .enumerate()
        .filter(|&(i, n)| i as u32 != ROOT && (n.calls > 0 || n.self_ns > 0 || n.samples > 0))
        .map(|(i, n)| {
            let first = match profile.mode {
                Mode::Instrument => n.calls,
                Mode::Sample => n.samples,
            };
            let location_id = lines.stack(i as u32);
            proto::Sample {
                location_id,
                value: vec![first as i64, n.self_ns as i64],
                label: vec![],
            }
        })
        .collect();
    let period_type = Some(proto::ValueType {
        ty: strings.id("cpu"),
        unit: strings.id("nanoseconds"),
    });
    let comment = vec![strings.id(&format!(
        "wprof {} mode={}",
        env!("CARGO_PKG_VERSION"),
        match profile.mode {
            Mode::Instrument => "instrument",
            Mode::Sample => "sample",
        }
    ))];
    // Viewers open on time (go tool pprof, speedscope); calls stay a
    // second sample type.
    let default_sample_type = strings.id("cpu");
    proto::Profile {
        sample_type,
        sample,
        mapping,
        location,
        function,
        string_table: strings.table,
        duration_nanos: profile.wall_ns as i64,
        period_type,
        period: profile.interval_ns as i64,
        comment,
        default_sample_type,
        ..Default::default()
    }
    .encode_to_vec()
}

/// Writes `profile` as gzipped pprof.
pub fn write(profile: &Profile, out: impl Write) -> Result<(), Error> {
    gzip(&encode(profile), out)
}

fn gzip(bytes: &[u8], out: impl Write) -> Result<(), Error> {
    let mut gz = GzEncoder::new(out, Compression::default());
    gz.write_all(bytes)?;
    gz.finish()?;
    Ok(())
}

/// A pprof profile's message, gzipped or not.
fn decode(bytes: &[u8]) -> Result<proto::Profile, Error> {
    if bytes.is_empty() {
        return Err(Error::Pprof("the file is empty".to_string()));
    }
    let raw;
    let data = if bytes.starts_with(&[0x1f, 0x8b]) {
        raw = crate::gunzip(bytes).map_err(Error::Pprof)?;
        &raw[..]
    } else {
        bytes
    };
    let p = proto::Profile::decode(data).map_err(|e| Error::Pprof(e.to_string()))?;
    // Anything decodes as an empty message; a profile has sample types.
    if p.sample_type.is_empty() {
        return Err(Error::Pprof(
            "no sample types: not a pprof profile".to_string(),
        ));
    }
    Ok(p)
}

/// Each location's frames by `funcs` (function id → what the caller keeps
/// of it) with their source lines (0: unknown), innermost inlined frame
/// first, as pprof lists them.
fn location_frames<T: Copy>(
    p: &proto::Profile,
    funcs: &HashMap<u64, T>,
) -> Result<HashMap<u64, Vec<(T, u32)>>, Error> {
    p.location
        .iter()
        .map(|l| {
            let frames = l
                .line
                .iter()
                .map(|line| {
                    let f = funcs.get(&line.function_id).copied().ok_or_else(|| {
                        Error::Pprof(format!(
                            "location {} names unknown function {}",
                            l.id, line.function_id
                        ))
                    })?;
                    Ok::<_, Error>((f, u32::try_from(line.line).unwrap_or(0)))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok((l.id, frames))
        })
        .collect()
}

/// String `i` of `p`'s table.
fn string(p: &proto::Profile, i: i64) -> Result<&str, Error> {
    p.string_table
        .get(i as usize)
        .map(String::as_str)
        .ok_or_else(|| Error::Pprof(format!("string index {i} out of range")))
}

/// Reads a pprof profile (gzipped or not) back into a [`Profile`]: frames by
/// function name, one tree node per distinct stack. The first sample type is
/// taken as calls (`calls/count`) or samples, a `*/nanoseconds` type as time.
pub fn read(bytes: &[u8], module: &str) -> Result<Profile, Error> {
    let p = decode(bytes)?;
    let s = |i: i64| string(&p, i);
    let mut calls_ix = None;
    let mut samples_ix = None;
    let mut ns_ix = None;
    for (i, t) in p.sample_type.iter().enumerate() {
        match (s(t.ty)?, s(t.unit)?) {
            ("calls", _) => calls_ix = Some(i),
            ("samples", _) => samples_ix = Some(i),
            (_, "nanoseconds") => ns_ix = Some(i),
            _ => {}
        }
    }
    let mode = if calls_ix.is_some() {
        Mode::Instrument
    } else {
        Mode::Sample
    };
    // The module the profile names (its mapping, as `encode` writes it),
    // else what the caller calls it.
    let named = p
        .mapping
        .first()
        .map(|m| s(m.filename))
        .transpose()?
        .filter(|n| !n.is_empty());
    let mut profile = Profile::new(named.unwrap_or(module), mode);
    profile.wall_ns = p.duration_nanos.max(0) as u64;
    profile.interval_ns = p.period.max(0) as u64;
    let mut func_ids: HashMap<u64, u32> = HashMap::new();
    let mut by_name: HashMap<String, u32> = HashMap::new();
    for f in &p.function {
        let name = s(f.name)?.to_string();
        let id = *by_name
            .entry(name.clone())
            .or_insert_with(|| profile.add_function(name, None));
        let file = s(f.filename)?;
        if !file.is_empty() && f.start_line > 0 {
            profile.functions[id as usize].source = Some(crate::Source {
                file: file.to_string(),
                line: f.start_line as u32,
            });
        }
        func_ids.insert(f.id, id);
    }
    let loc_frames = location_frames(&p, &func_ids)?;
    for sample in &p.sample {
        let mut stack = Vec::new();
        for id in sample.location_id.iter().rev() {
            let frames = loc_frames
                .get(id)
                .ok_or_else(|| Error::Pprof(format!("sample names unknown location {id}")))?;
            stack.extend(frames.iter().rev());
        }
        let node = stack
            .into_iter()
            .fold(ROOT, |n, &(f, line)| profile.tree.child_at(n, f, line));
        let v = |ix: Option<usize>| {
            ix.and_then(|i| sample.value.get(i))
                .map_or(0, |&x| x.max(0) as u64)
        };
        let n = &mut profile.tree.nodes[node as usize];
        n.calls += v(calls_ix);
        n.samples += v(samples_ix);
        n.self_ns += v(ns_ix);
    }
    // A calls profile counted every function it has calls for; host-call
    // frames (time only) have none and stay uncounted, as written.
    if calls_ix.is_some() {
        let stats = profile.function_stats();
        for (f, s) in profile.functions.iter_mut().zip(&stats) {
            if s.calls > 0 {
                f.calls = Some(s.calls);
            }
        }
    }
    Ok(profile)
}

/// Encodes a heap as an uncompressed pprof message with Go's heap-profile
/// sample types — `alloc_objects/count`, `alloc_space/bytes`,
/// `inuse_objects/count`, `inuse_space/bytes` (default) — one sample per
/// allocation site, labelled with its allocator layer, so
/// `go tool pprof -sample_index=inuse_space -diff_base=a.pb.gz b.pb.gz`
/// works as it does for Go programs.
pub fn encode_heap(heap: &crate::heap::Heap) -> Vec<u8> {
    let mut strings = Strings::new();
    let sample_type = [
        ("alloc_objects", "count"),
        ("alloc_space", "bytes"),
        ("inuse_objects", "count"),
        ("inuse_space", "bytes"),
    ]
    .iter()
    .map(|(t, u)| proto::ValueType {
        ty: strings.id(t),
        unit: strings.id(u),
    })
    .collect();
    let (function, location, mapping) = frame_tables(
        &mut strings,
        &heap.module,
        heap.frames.iter().map(|f| (f.as_str(), 0, None)),
    );
    let layer_key = strings.id("layer");
    let inuse_space = strings.id("inuse_space");
    let sample = heap
        .sites
        .iter()
        .filter(|s| s.allocs > 0 || s.live > 0)
        .map(|s| {
            let mut location_id: Vec<u64> = heap
                .stacks
                .get(s.stack as usize)
                .map(|st| st.iter().map(|&f| f as u64 + 1).collect())
                .unwrap_or_default();
            location_id.reverse();
            proto::Sample {
                location_id,
                value: vec![
                    s.allocs as i64,
                    s.alloc_bytes as i64,
                    s.live as i64,
                    s.live_bytes as i64,
                ],
                label: vec![proto::Label {
                    key: layer_key,
                    str: strings.id(s.layer.name()),
                    ..Default::default()
                }],
            }
        })
        .collect();
    let period_type = Some(proto::ValueType {
        ty: strings.id("space"),
        unit: strings.id("bytes"),
    });
    let comment = vec![strings.id(&format!(
        "wprof {} heap ({})",
        env!("CARGO_PKG_VERSION"),
        heap.reason
    ))];
    proto::Profile {
        sample_type,
        sample,
        mapping,
        location,
        function,
        string_table: strings.table,
        period_type,
        // Every allocation is recorded: no sampling to scale by.
        period: 1,
        comment,
        default_sample_type: inuse_space,
        ..Default::default()
    }
    .encode_to_vec()
}

/// Writes a heap as gzipped pprof (`heap.pb.gz`).
pub fn write_heap(heap: &crate::heap::Heap, out: impl Write) -> Result<(), Error> {
    gzip(&encode_heap(heap), out)
}

/// A pprof profile (gzipped or not) as text, for people and golden tests:
/// sample types, period, duration, comments, mappings and locations, then
/// one line per sample — its stack outermost frame first and leaf last,
/// `;`-joined, then `type=value` per sample type and its labels. Sample
/// lines are sorted, so the text does not depend on sample order.
///
/// ```
/// use wprof_profile::{Mode, Profile, ROOT, pprof};
/// let mut p = Profile::new("m.wasm", Mode::Instrument);
/// let main = p.add_function("main", Some(0));
/// let n = p.tree.child(ROOT, main);
/// p.tree.nodes[n as usize].calls = 2;
/// let text = pprof::to_text(&pprof::encode(&p)).unwrap();
/// assert!(text.contains("  main  calls=2 cpu=0\n"));
/// ```
pub fn to_text(bytes: &[u8]) -> Result<String, Error> {
    use std::fmt::Write as _;

    let p = decode(bytes)?;
    let s = |i: i64| string(&p, i);
    let value_type = |t: &proto::ValueType| -> Result<String, Error> {
        Ok(format!("{}/{}", s(t.ty)?, s(t.unit)?))
    };
    let functions: HashMap<u64, &str> = p
        .function
        .iter()
        .map(|f| Ok((f.id, s(f.name)?)))
        .collect::<Result<_, Error>>()?;
    // A location's frames, outermost first (pprof lists them innermost first).
    let mut frames = location_frames(&p, &functions)?;
    frames.values_mut().for_each(|f| f.reverse());

    let mut out = String::new();
    let types = p
        .sample_type
        .iter()
        .map(value_type)
        .collect::<Result<Vec<_>, _>>()?;
    let _ = writeln!(
        out,
        "sample types: {} (default: {})",
        types.join(" "),
        s(p.default_sample_type)?
    );
    let period_type = p.period_type.as_ref().map(value_type).transpose()?;
    let _ = writeln!(
        out,
        "period: {} {}",
        p.period,
        period_type.as_deref().unwrap_or("-")
    );
    let _ = writeln!(out, "duration: {} ns", p.duration_nanos);
    for &c in &p.comment {
        let _ = writeln!(out, "comment: {}", s(c)?);
    }
    for m in &p.mapping {
        let _ = writeln!(out, "mapping {}: {}", m.id, s(m.filename)?);
    }
    let _ = writeln!(out, "locations ({}):", p.location.len());
    let frame = |&(name, line): &(&str, u32)| match line {
        0 => name.to_string(),
        l => format!("{name}:{l}"),
    };
    for f in &p.function {
        if f.filename != 0 {
            let _ = writeln!(
                out,
                "function {}: {} {}:{}",
                f.id,
                s(f.name)?,
                s(f.filename)?,
                f.start_line
            );
        }
    }
    for l in &p.location {
        let _ = writeln!(
            out,
            "  {} mapping={} address={} {}",
            l.id,
            l.mapping_id,
            l.address,
            frames[&l.id]
                .iter()
                .map(frame)
                .collect::<Vec<_>>()
                .join(";")
        );
    }
    let mut samples = Vec::with_capacity(p.sample.len());
    for sample in &p.sample {
        let mut stack = Vec::new();
        for id in sample.location_id.iter().rev() {
            let f = frames
                .get(id)
                .ok_or_else(|| Error::Pprof(format!("sample names unknown location {id}")))?;
            stack.extend(f.iter().map(|&(name, _)| name));
        }
        let mut line = format!("  {} ", stack.join(";"));
        for (i, v) in sample.value.iter().enumerate() {
            let name = match p.sample_type.get(i) {
                Some(t) => s(t.ty)?,
                None => "?",
            };
            let _ = write!(line, " {name}={v}");
        }
        for l in &sample.label {
            if l.str != 0 {
                let _ = write!(line, " {{{}={}}}", s(l.key)?, s(l.str)?);
            } else if l.num_unit != 0 {
                let _ = write!(line, " {{{}={} {}}}", s(l.key)?, l.num, s(l.num_unit)?);
            } else {
                let _ = write!(line, " {{{}={}}}", s(l.key)?, l.num);
            }
        }
        samples.push(line);
    }
    samples.sort();
    let _ = writeln!(out, "samples ({}, leaf last):", samples.len());
    for line in samples {
        let _ = writeln!(out, "{line}");
    }
    Ok(out)
}
