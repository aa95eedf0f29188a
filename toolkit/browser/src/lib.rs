//! The toolkit for JS hosts (Node and browsers), via wasm-bindgen: the run
//! session ([`wprof_session`]), the instrumenter, the probe runtime and the
//! probe ABI — the same Rust code the native `wprof` runs, so both sides
//! check modules, plan runs, build profiles and write files the same way.
//!
//! This is the only crate that depends on wasm-bindgen; it wraps the
//! libraries unchanged and turns their errors into `JsError` at the boundary.
//! It runs nothing: the JS host (`polyfill-js/src/probe`) instantiates the
//! probe runtime and the artifact, runs the guest, and crosses into this
//! module a few times per run — to open the [`Session`], to hand over
//! batches of memory events, and to finish — never per probe event.
//!
//! From JS (wasm-pack `--target web` output):
//!
//! ```js
//! import init, { Session, probeAbi, probeRuntime } from './wprof_browser.js';
//! const session = new Session(fileBytes, JSON.stringify(runOptions)); // checks, instruments
//! const plan = JSON.parse(session.plan());
//! // … instantiate probeRuntime(), `init` it, link session.wasm(), run the plan,
//! //   session.record(eventBatch) for memory events …
//! const done = JSON.parse(session.finish(runtimeMemory, state, JSON.stringify(end)));
//! for (const name of done.files) write(name, session.file(name));
//! ```

use std::cell::RefCell;

use serde::Deserialize;
use wasm_bindgen::prelude::*;
use wprof_instrument::abi;
use wprof_profile::heap::{self, Heap};
use wprof_profile::summary::Summary;
use wprof_profile::values::{self, Value};
use wprof_profile::{Exit, pprof};
use wprof_session::cli::{self, Args, Host, RunOptions};
use wprof_session::invoke::{Guest, InvokeError};
use wprof_session::outputs::Sink;
use wprof_session::{Finished, Plan, Recording, RunEnd, RuntimeView, recording};

/// The error and its sources in one line (`top: cause: cause`), as JS
/// errors carry a single message.
fn js(e: impl std::error::Error) -> JsError {
    JsError::new(&wprof_session::error_chain(&e))
}

/// The probe ABI as JSON: the import modules and names the artifact uses,
/// the probe runtime's exports the host reads, the reserved tree nodes, the
/// default tree capacity and the encoding of memory-event batches. JS hosts
/// take every name and number from here instead of repeating them.
#[wasm_bindgen(js_name = probeAbi)]
pub fn probe_abi() -> String {
    probe_abi_json().to_string()
}

/// See [`probe_abi`]; callable natively for tests.
pub fn probe_abi_json() -> serde_json::Value {
    use abi::mem;
    use abi::runtime_exports as rt;
    serde_json::json!({
        "version": abi::ABI_VERSION,
        "importModule": abi::IMPORT_MODULE,
        "enter": abi::ENTER,
        "leave": abi::LEAVE,
        "current": abi::CURRENT,
        "hostEnter": abi::HOST_ENTER,
        "hostLeave": abi::HOST_LEAVE,
        "leaveValue": abi::LEAVE_VALUE.iter().map(|(name, _)| *name).collect::<Vec<_>>(),
        "section": abi::SECTION,
        "linkedPrefix": abi::LINKED_PREFIX,
        "linkedStart": abi::LINKED_START,
        "runtime": {
            "init": rt::INIT,
            "memory": rt::MEMORY,
            "nodeCount": rt::NODE_COUNT,
            "nodesBase": rt::NODES_BASE,
            "flatBase": rt::FLAT_BASE,
            "overflow": rt::OVERFLOW,
            "curAddr": rt::CUR_ADDR,
            "hostAddr": rt::HOST_ADDR,
        },
        "probeContext": abi::PROBE_CONTEXT,
        "rootNode": abi::ROOT_NODE,
        "overflowNode": abi::OVERFLOW_NODE,
        "defaultNodeCap": abi::DEFAULT_NODE_CAP,
        "mem": {
            "module": mem::MODULE,
            "alloc": mem::ALLOC,
            "free": mem::FREE,
            "realloc": mem::REALLOC,
            "grow": mem::GROW,
            "gcBegin": mem::GC_BEGIN,
            "gcEnd": mem::GC_END,
            "gcCycle": mem::GC_CYCLE,
        },
        "events": {
            "width": recording::EVENT_WIDTH,
            "codes": recording::event_codes(),
        },
        "wasiModule": wprof_session::module::WASI_MODULE,
    })
}

/// The probe runtime module the artifact imports as `wprof`.
#[wasm_bindgen(js_name = probeRuntime)]
pub fn probe_runtime() -> Vec<u8> {
    abi::runtime_wasm().to_vec()
}

/// The flags of `run` as JSON (the session's table), from which
/// `wprof-node` builds its `util.parseArgs` options.
#[wasm_bindgen(js_name = runFlags)]
pub fn run_flags() -> String {
    serde_json::to_string(cli::RUN_FLAGS).expect("flags serialize")
}

/// `run --help` for `program`, laid out as `wprof run --help`.
#[wasm_bindgen(js_name = runHelp)]
pub fn run_help(program: &str) -> String {
    cli::help(program, Host::Node)
}

/// Checks what `wprof-node`'s parser found (JSON of
/// [`wprof_session::cli::Args`]) exactly as `wprof run` does. Returns JSON:
/// `{"options": RunOptions}` or `{"usage": "message"}`.
#[wasm_bindgen(js_name = parseRunArgs)]
pub fn parse_run_args(args: &str) -> Result<String, JsError> {
    let args: Args =
        serde_json::from_str(args).map_err(|e| JsError::new(&format!("bad arguments: {e}")))?;
    Ok(match RunOptions::from_args(&args, Host::Node) {
        Ok(o) => serde_json::json!({ "options": o }),
        Err(e) => serde_json::json!({ "usage": e.0 }),
    }
    .to_string())
}

/// Whether `name` is a file a run writes (an output or a heap dump), so a
/// host can clear what an earlier run left in its output directory.
#[wasm_bindgen(js_name = isOutputName)]
pub fn is_output_name(name: &str) -> bool {
    wprof_session::outputs::is_output(name)
}

/// Options for `module` with every default (for hosts without a command
/// line, such as a page), as JSON to adjust and pass to [`Session::new`].
#[wasm_bindgen(js_name = defaultRunOptions)]
pub fn default_run_options(module: &str) -> String {
    serde_json::to_string(&RunOptions::for_host(module, Host::Node)).expect("options serialize")
}

/// A binary module from a file's bytes: WebAssembly binary as is, text
/// (`.wat`) assembled. `name` is the file as the user gave it, for messages.
#[wasm_bindgen(js_name = readModule)]
pub fn read_module(bytes: &[u8], name: &str) -> Result<Vec<u8>, JsError> {
    wprof_session::module::read(bytes, name).map_err(js)
}

/// Where a module without DWARF of its own says its DWARF is (its
/// `external_debug_info` section), for the host to fetch and pass as
/// `Session`'s `debug`.
#[wasm_bindgen(js_name = externalDebugInfo)]
pub fn external_debug_info(wasm: &[u8]) -> Option<String> {
    wprof_session::module::external_debug_info(wasm)
}

/// `wprof heap diff` of `.wheap` dumps (their bytes, and their file names
/// for messages), as JSON `{"dumps": [{"name", "reason", "seq", "module"}],
/// "diff": Diff, "text"}`: `diff` is the CLI's `--json` output (sites ranked
/// suspects first, then by new live bytes), `text` what it prints. Dumps are
/// taken oldest first by their event sequence number, as a page cannot rely
/// on the order files were picked in (the CLI makes the user order them).
#[wasm_bindgen(js_name = heapDiff)]
pub fn heap_diff(dumps: Vec<js_sys::Uint8Array>, names: Vec<String>) -> Result<String, JsError> {
    let bytes: Vec<Vec<u8>> = dumps.iter().map(js_sys::Uint8Array::to_vec).collect();
    diff_dumps(&bytes, &names)
        .map(|v| v.to_string())
        .map_err(|e| JsError::new(&e))
}

fn diff_dumps(dumps: &[Vec<u8>], names: &[String]) -> Result<serde_json::Value, String> {
    if dumps.len() < 2 {
        return Err("a heap diff needs two or more dumps".to_string());
    }
    let name = |i: usize| names.get(i).map_or("heap dump", String::as_str);
    let mut heaps = dumps
        .iter()
        .enumerate()
        .map(|(i, b)| {
            Heap::read(b).map(|h| (name(i), h)).map_err(|e| {
                format!(
                    "cannot read heap dump `{}`: {}",
                    name(i),
                    wprof_session::error_chain(&e)
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    heaps.sort_by_key(|(_, h)| h.seq);
    let listed = heaps
        .iter()
        .map(|(n, h)| serde_json::json!({ "name": n, "reason": h.reason, "seq": h.seq, "module": h.module }))
        .collect::<Vec<_>>();
    let heaps: Vec<Heap> = heaps.into_iter().map(|(_, h)| h).collect();
    let d = heap::report::diff(&heaps);
    let text = heap::report::diff_text(&heaps, &d);
    Ok(serde_json::json!({ "dumps": listed, "diff": d, "text": text }))
}

/// The `summary.json` of a pprof profile (`cpu.pb.gz`, gzipped or not) that
/// `wprof run` wrote, read back with the native reader, so a page can
/// compare its own run with one made elsewhere. `name` is the file's name,
/// for messages. The summary's `module` is empty: the reader does not take
/// the module's name from the profile's mapping.
#[wasm_bindgen(js_name = pprofSummary)]
pub fn pprof_summary(bytes: &[u8], name: &str) -> Result<String, JsError> {
    let profile = pprof::read(bytes, name).map_err(|e| {
        JsError::new(&format!(
            "`{name}` is not a pprof profile: {}",
            wprof_session::error_chain(&e)
        ))
    })?;
    serde_json::to_string(&Summary::from_profile(&profile))
        .map_err(|e| JsError::new(&format!("summary of `{name}`: {e}")))
}

/// `wprof collect`: the output set for `profile` (named `profile_name`),
/// the file a self-profiling artifact (`wprof instrument --embed`, bytes
/// `artifact`, named `module`) wrote. Each file goes to `write(name,
/// bytes)`; returns the closing lines, naming the files as under `location`.
#[wasm_bindgen]
pub fn collect(
    artifact: &[u8],
    profile: &[u8],
    profile_name: &str,
    module: &str,
    write: js_sys::Function,
    location: &str,
) -> Result<Vec<String>, JsError> {
    let mut sink = JsSink {
        write,
        location: location.to_string(),
        pending: Vec::new(),
    };
    let options = RunOptions::for_host(module, Host::Node);
    let (session, done) =
        wprof_session::collect::collect(artifact, profile, profile_name, options, &mut sink)
            .map_err(js)?;
    Ok(session.closing_messages(&done, location))
}

/// Instruments a module; returns the artifact's bytes (the same bytes as
/// `wprof instrument`). `embed`, when given, is JSON of [`EmbedFlags`]:
/// `wprof instrument --embed` and its flags.
#[wasm_bindgen]
pub fn instrument(
    wasm: &[u8],
    strip_dwarf: bool,
    memory: bool,
    embed: Option<String>,
) -> Result<Vec<u8>, JsError> {
    let mut options = wprof_instrument::Options::default();
    options.keep_dwarf = !strip_dwarf;
    options.memory = memory;
    if let Some(embed) = embed {
        let f: EmbedFlags = serde_json::from_str(&embed)
            .map_err(|e| JsError::new(&format!("bad embed options: {e}")))?;
        options.embed = Some(wprof_instrument::embed::Embed {
            tier: if f.counts_only {
                wprof_instrument::embed::Tier::Counts
            } else {
                wprof_instrument::embed::Tier::Contexts(
                    f.max_contexts
                        .unwrap_or(wprof_instrument::abi::DEFAULT_NODE_CAP),
                )
            },
            wasi: f.wasi,
            dump_every: f.dump_every,
        });
    }
    wprof_instrument::instrument(wasm, &options)
        .map(|out| out.wasm)
        .map_err(js)
}

/// `wprof instrument --embed`'s flags, as JS hosts pass them.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct EmbedFlags {
    counts_only: bool,
    wasi: bool,
    dump_every: Option<u64>,
    max_contexts: Option<u32>,
}

/// How the run ended, as the JS host saw it (JSON, snake_case like
/// `summary.json`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct End {
    /// `{"kind": "exit"|"trap", "code", "message"}`.
    pub exit: Exit,
    /// Wall time of the guest run.
    pub wall_ns: u64,
    /// Results of the last completed `--invoke` call, as JS `String()`s.
    #[serde(default)]
    pub results: Vec<String>,
    /// Size of memory 0 at the end.
    #[serde(default)]
    pub memory_bytes: Option<u64>,
    /// Peak resident memory of the host process, when it knows it.
    #[serde(default)]
    pub host_peak_rss_bytes: Option<u64>,
}

/// The probe runtime's exported globals, as JS reads them.
fn state(node_count: u32, nodes_base: u32, flat_base: u32, overflow: u64) -> abi::RuntimeState {
    abi::RuntimeState {
        node_count,
        nodes_base,
        flat_base,
        overflow,
    }
}

/// One profiling run (see [`wprof_session::Session`]).
#[wasm_bindgen]
#[derive(Debug)]
pub struct Session {
    inner: wprof_session::Session,
    /// Shared: the guest's allocator, which [`Session::invoke_args`] calls,
    /// reports its memory events through [`Session::record`] while
    /// `invoke_args` still holds the session.
    rec: RefCell<Option<Recording>>,
    sink: JsSink,
    done: Option<Finished>,
}

#[wasm_bindgen]
impl Session {
    /// Reads and checks the module file's bytes, plans the run and
    /// instruments (`options`: JSON of `RunOptions`, e.g. from
    /// `parseRunArgs` or `defaultRunOptions`). Output files go to
    /// `write(name, bytes)`, called once per complete file; a throw there
    /// fails that file only (its message names it), as natively. `location`
    /// is how messages name where files go (`wprof-out/`).
    ///
    /// `cache`, when given, keeps instrumented artifacts between runs: an
    /// object with `get(key) -> Uint8Array | undefined` and `put(key,
    /// bytes)` (keys and checks are the session's, as natively). `debug`,
    /// when given, is a separate file with the module's DWARF (what
    /// `--debug-file` names), for source locations of a stripped module.
    #[wasm_bindgen(constructor)]
    pub fn new(
        bytes: &[u8],
        options: &str,
        write: js_sys::Function,
        location: String,
        cache: Option<js_sys::Object>,
        debug: Option<Vec<u8>>,
    ) -> Result<Session, JsError> {
        let mut options: RunOptions = serde_json::from_str(options)
            .map_err(|e| JsError::new(&format!("bad run options: {e}")))?;
        // A JS engine with multi-memory (a page's; not Node 20's) may run
        // the artifact with its runtime linked in, whose memory must then be
        // shared: the host's sampler is a Worker.
        options.link_shared = options.link_runtime;
        let sink = JsSink {
            write,
            location,
            pending: Vec::new(),
        };
        let cache = cache.map(JsCache);
        Session::open(bytes, debug.as_deref(), options, sink, cache.as_ref()).map_err(js)
    }

    /// The module to compile and run.
    pub fn wasm(&self) -> Vec<u8> {
        self.inner.wasm().to_vec()
    }

    /// What to call, as JSON: `{"kind": "start"}` or `{"kind": "invoke",
    /// "export", "args": [{"type", "value"}], "results": [types], "repeat",
    /// "initialize", "dumps"}`.
    pub fn plan(&self) -> String {
        serde_json::to_string(self.inner.plan()).expect("plan serializes")
    }

    /// `init`'s arguments for the probe runtime, as JSON `{"functions",
    /// "nodeCap", "linked"}` (`linked`: the runtime is in the artifact, its
    /// exports named with the ABI's `linkedPrefix`); `undefined` in sample
    /// mode.
    pub fn runtime(&self) -> Option<String> {
        self.inner.runtime().map(|r| {
            serde_json::json!({ "functions": r.functions, "nodeCap": r.node_cap, "linked": r.linked })
                .to_string()
        })
    }

    /// Whether the module has memory probes (link `wprof_mem`).
    #[wasm_bindgen(getter, js_name = hasMemory)]
    pub fn has_memory(&self) -> bool {
        self.rec
            .borrow()
            .as_ref()
            .is_some_and(Recording::has_memory)
    }

    /// `false` when the input already was an artifact.
    #[wasm_bindgen(getter, js_name = instrumentedHere)]
    pub fn instrumented_here(&self) -> bool {
        self.inner.instrumented_here()
    }

    /// Records a batch of events (see the ABI's `events`).
    pub fn record(&self, batch: &[f64]) -> Result<(), JsError> {
        let mut rec = self.rec.borrow_mut();
        let rec = rec.as_mut().ok_or_else(|| JsError::new(FINISHED))?;
        rec.record_batch(batch).map_err(js)
    }

    /// The arguments of one `--invoke` call when the plan's `args` is
    /// `null`: data is written into the guest's memory through its own
    /// allocator (`exports`: the instance's exports), fresh for every call.
    /// Call it before timing the call. i64 values are BigInts. Throws what
    /// the guest's allocator throws (a trap), or an `Error` saying why the
    /// data could not be passed.
    #[wasm_bindgen(js_name = invokeArgs)]
    pub fn invoke_args(&self, exports: js_sys::Object) -> Result<js_sys::Array, JsValue> {
        let values = self
            .inner
            .invoke_args(&mut JsGuest(exports))
            .map_err(|e| match e {
                InvokeError::Guest(e) => e,
                InvokeError::Fault(why) => JsError::new(&why).into(),
            })?;
        Ok(values.iter().map(to_js).collect())
    }

    /// With the plan's `result`, after each completed call: reads the text
    /// its `results` (as `String()`s, like `finish`'s) point at in the
    /// guest's memory, for the summary and the printed results.
    #[wasm_bindgen(js_name = invokeResult)]
    pub fn invoke_result(
        &mut self,
        exports: js_sys::Object,
        results: Vec<String>,
    ) -> Result<(), JsValue> {
        let values = self.parse_results(&results)?;
        let text = self.inner.invoke_result(&values, &mut JsGuest(exports))?;
        if let (Some(text), Some(rec)) = (text, self.rec.get_mut()) {
            rec.set_result_text(text);
        }
        Ok(())
    }

    /// Records what a CPU sampler saw: `[node, host, ns, samples]` records
    /// per probe-runtime context (the ABI's `probeContext` for time inside
    /// the probes) and host call (`host`: 1 + the import's function index,
    /// 0 = none).
    pub fn samples(&mut self, records: &[f64]) -> Result<(), JsError> {
        if !records.len().is_multiple_of(4) {
            return Err(JsError::new(
                "samples come in [node, host, ns, samples] records",
            ));
        }
        let rec = self.recording()?;
        for r in records.chunks_exact(4) {
            let (node, host, ns, samples) = (r[0] as u32, r[1] as u32, r[2] as u64, r[3] as u64);
            match host.checked_sub(1) {
                Some(import) => rec.add_host_time(node, import, ns, samples),
                None => rec.add_context_time(node, ns, samples),
            }
        }
        Ok(())
    }

    /// Whether a heap dump is due after completed call `n`.
    #[wasm_bindgen(js_name = dumpDue)]
    pub fn dump_due(&self, n: f64) -> bool {
        self.inner.dump_due(n as u64)
    }

    /// Takes a heap dump from the runtime's memory and globals now.
    #[allow(clippy::too_many_arguments)]
    pub fn dump(
        &mut self,
        runtime_memory: &[u8],
        node_count: u32,
        nodes_base: u32,
        flat_base: u32,
        overflow: u64,
        memory_bytes: Option<f64>,
    ) -> Result<(), JsError> {
        let view = RuntimeView {
            memory: runtime_memory,
            state: state(node_count, nodes_base, flat_base, overflow),
        };
        let rec = self
            .rec
            .get_mut()
            .as_mut()
            .ok_or_else(|| JsError::new(FINISHED))?;
        self.inner
            .dump(rec, view, memory_bytes.map(|b| b as u64), &mut self.sink)
            .map_err(js)
    }

    /// Builds the profile and its files. `runtime_memory` is `undefined`
    /// when the probe runtime was never set up (sample mode). Returns JSON
    /// `{"files": [names], "exitCode", "truncatedCalls"}`.
    #[allow(clippy::too_many_arguments)]
    pub fn finish(
        &mut self,
        runtime_memory: Option<Vec<u8>>,
        node_count: u32,
        nodes_base: u32,
        flat_base: u32,
        overflow: u64,
        end: &str,
    ) -> Result<String, JsError> {
        let end: End =
            serde_json::from_str(end).map_err(|e| JsError::new(&format!("bad run end: {e}")))?;
        let results = self.parse_results(&end.results)?;
        let mut rec = self
            .rec
            .get_mut()
            .take()
            .ok_or_else(|| JsError::new(FINISHED))?;
        rec.set_results(&results);
        let view = runtime_memory.as_deref().map(|memory| RuntimeView {
            memory,
            state: state(node_count, nodes_base, flat_base, overflow),
        });
        let run_end = RunEnd {
            exit: end.exit,
            wall_ns: end.wall_ns,
            memory_bytes: end.memory_bytes,
            host_peak_rss_bytes: end.host_peak_rss_bytes,
        };
        let done = self
            .inner
            .finish(rec, run_end, view, &mut self.sink)
            .map_err(js)?;
        let json = serde_json::json!({
            "files": done.files,
            "exitCode": done.exit_code,
            "truncatedCalls": done.profile.truncated_calls,
        });
        self.done = Some(done);
        Ok(json.to_string())
    }

    /// What to write to stdout after the guest's own output: the last
    /// completed `--invoke` call's results, one per line (a `--result`
    /// string as is).
    pub fn stdout(&self) -> Result<Vec<u8>, JsError> {
        self.done
            .as_ref()
            .map(|d| d.stdout.clone())
            .ok_or_else(|| JsError::new("the run is not finished"))
    }

    /// The lines to print after the run.
    #[wasm_bindgen(js_name = closingMessages)]
    pub fn closing_messages(&self) -> Result<Vec<String>, JsError> {
        let done = self
            .done
            .as_ref()
            .ok_or_else(|| JsError::new("the run is not finished"))?;
        Ok(self.inner.closing_messages(done, &self.sink.location))
    }
}

const FINISHED: &str = "the run is already finished";

/// A JS host's artifact cache: `get(key)` and `put(key, bytes)`; whatever it
/// throws or returns that is not bytes is a miss.
#[derive(Debug)]
struct JsCache(js_sys::Object);

impl JsCache {
    fn method(&self, name: &str) -> Option<js_sys::Function> {
        js_sys::Reflect::get(&self.0, &JsValue::from_str(name))
            .ok()?
            .dyn_into()
            .ok()
    }
}

impl wprof_session::ArtifactCache for JsCache {
    fn get(&self, key: &str) -> Option<Vec<u8>> {
        let v = self
            .method("get")?
            .call1(&self.0, &JsValue::from_str(key))
            .ok()?;
        v.dyn_into::<js_sys::Uint8Array>().ok().map(|a| a.to_vec())
    }

    fn put(&self, key: &str, artifact: &[u8]) {
        if let Some(put) = self.method("put") {
            let bytes = js_sys::Uint8Array::from(artifact);
            let _ = put.call2(&self.0, &JsValue::from_str(key), &bytes);
        }
    }
}

/// The JS host's sink: each complete file goes to its `write(name, bytes)`.
#[derive(Debug)]
struct JsSink {
    write: js_sys::Function,
    location: String,
    pending: Vec<u8>,
}

impl Sink for JsSink {
    fn create(&mut self, _name: &str) -> std::io::Result<Box<dyn std::io::Write + '_>> {
        self.pending.clear();
        Ok(Box::new(&mut self.pending))
    }

    fn commit(&mut self, name: &str) -> std::io::Result<()> {
        let bytes = js_sys::Uint8Array::from(&self.pending[..]);
        let result = self
            .write
            .call2(&JsValue::NULL, &JsValue::from_str(name), &bytes);
        self.pending = Vec::new();
        result.map(|_| ()).map_err(|e| {
            let message = e
                .dyn_ref::<js_sys::Error>()
                .map_or_else(|| format!("{e:?}"), |e| String::from(e.message()));
            std::io::Error::other(message)
        })
    }

    fn path(&self, name: &str) -> String {
        format!("{}{name}", self.location)
    }
}

impl Session {
    fn open(
        bytes: &[u8],
        debug: Option<&[u8]>,
        options: RunOptions,
        sink: JsSink,
        cache: Option<&JsCache>,
    ) -> Result<Session, wprof_session::Error> {
        let cache = cache.map(|c| c as &dyn wprof_session::ArtifactCache);
        let inner = wprof_session::Session::with_debug(bytes, debug, options, cache)?;
        let rec = RefCell::new(Some(inner.recording()));
        Ok(Session {
            inner,
            rec,
            sink,
            done: None,
        })
    }

    fn recording(&mut self) -> Result<&mut Recording, JsError> {
        self.rec
            .get_mut()
            .as_mut()
            .ok_or_else(|| JsError::new(FINISHED))
    }

    /// An `--invoke` call's results as JS `String()`s, by the export's
    /// result types.
    fn parse_results(&self, results: &[String]) -> Result<Vec<Value>, JsError> {
        let Plan::Invoke { results: types, .. } = self.inner.plan() else {
            return Ok(Vec::new());
        };
        types
            .iter()
            .zip(results)
            .map(|(ty, v)| values::parse(ty, v))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| JsError::new(&format!("bad result: {e}")))
    }
}

/// The JS guest instance as the session's `--invoke` data marshalling sees
/// it: its exports object, with the exported memory at `memory`.
struct JsGuest(js_sys::Object);

impl JsGuest {
    /// memory 0's bytes now: a view taken fresh each time, as the guest's
    /// allocator may have grown (and so replaced) the buffer.
    fn memory(&self) -> Result<js_sys::Uint8Array, JsValue> {
        let memory: js_sys::WebAssembly::Memory =
            js_sys::Reflect::get(&self.0, &JsValue::from_str("memory"))?
                .dyn_into()
                .map_err(|_| JsError::new("the module exports no `memory`"))?;
        Ok(js_sys::Uint8Array::new(&memory.buffer()))
    }
}

impl Guest for JsGuest {
    type Error = JsValue;

    fn call(
        &mut self,
        name: &str,
        args: &[Value],
        results: &[&str],
    ) -> Result<Vec<Value>, JsValue> {
        let func: js_sys::Function = js_sys::Reflect::get(&self.0, &JsValue::from_str(name))?
            .dyn_into()
            .map_err(|_| JsError::new(&format!("`{name}` is not an exported function")))?;
        let args: js_sys::Array = args.iter().map(to_js).collect();
        let out = js_sys::Reflect::apply(&func, &JsValue::UNDEFINED, &args)?;
        // JS returns a single result as is and several as an array.
        let out = if results.len() == 1 {
            vec![out]
        } else {
            js_sys::Array::from(&out).to_vec()
        };
        results
            .iter()
            .zip(&out)
            .map(|(ty, v)| from_js(ty, v))
            .collect::<Result<_, _>>()
            .map_err(|e| JsError::new(&format!("`{name}` returned {e}")).into())
    }

    fn write(&mut self, ptr: u32, bytes: &[u8]) -> Result<(), JsValue> {
        let memory = self.memory()?;
        let end = ptr as u64 + bytes.len() as u64;
        if end > memory.length() as u64 {
            return Err(JsError::new(&format!(
                "{} bytes at {ptr:#x} (from the module's allocator) are beyond the end of its memory",
                bytes.len()
            ))
            .into());
        }
        memory.subarray(ptr, end as u32).copy_from(bytes);
        Ok(())
    }

    fn read(&mut self, ptr: u32, len: u32) -> Result<Vec<u8>, JsValue> {
        let memory = self.memory()?;
        let size = memory.length();
        let start = ptr.min(size);
        let end = start.saturating_add(len).min(size);
        Ok(memory.subarray(start, end).to_vec())
    }
}

/// A wasm number as JS passes it: i64 as a BigInt.
fn to_js(v: &Value) -> JsValue {
    match *v {
        Value::I32(x) => JsValue::from(x),
        Value::I64(x) => js_sys::BigInt::from(x).into(),
        Value::F32(x) => JsValue::from(x),
        Value::F64(x) => JsValue::from(x),
    }
}

/// A JS result as a wasm number of type `ty`.
fn from_js(ty: &str, v: &JsValue) -> Result<Value, String> {
    let number = || v.as_f64().ok_or_else(|| format!("{v:?}, not a number"));
    Ok(match ty {
        "i32" => Value::I32(number()? as i32),
        "i64" => Value::I64(
            v.clone()
                .dyn_into::<js_sys::BigInt>()
                .ok()
                .and_then(|b| i64::try_from(b).ok())
                .ok_or_else(|| format!("{v:?}, not an i64"))?,
        ),
        "f32" => Value::F32(number()? as f32),
        "f64" => Value::F64(number()?),
        other => return Err(format!("a value of type {other}")),
    })
}
