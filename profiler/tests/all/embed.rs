//! Self-profiling artifacts (`wprof instrument --embed`) run by a host wprof
//! does not control: a plain wasmtime embedding that links WASI preview1
//! and nothing else, as an SDK does. The profile the artifact writes, read
//! with `wprof collect`, has exactly the calls `wprof run` counts.

use std::path::Path;

use serde_json::Value;
use wasmtime::{Engine, Linker, Module, Store};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::{I32Exit, WasiCtxBuilder};

use crate::support::*;

/// How the plain host's run ended.
#[derive(Debug, PartialEq)]
enum Ended {
    Returned,
    Exit(i32),
    Trap,
}

/// Runs `_start` of `artifact` with `args`, preopening `dir` as `/out`;
/// after a trap, calls `wprof_dump` as a host that wants the profile
/// would. Plain wasmtime defaults: multi-memory is on.
fn run_plain(artifact: &Path, args: &[&str], dir: &Path, env: &[(&str, &str)]) -> Ended {
    let engine = Engine::default();
    let module = Module::from_file(&engine, artifact).unwrap();
    let mut linker: Linker<WasiP1Ctx> = Linker::new(&engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |c| c).unwrap();
    let mut wasi = WasiCtxBuilder::new();
    wasi.arg("guest.wasm").args(args);
    for (k, v) in env {
        wasi.env(k, v);
    }
    wasi.preopened_dir(dir, "/out", wasmtime_wasi::FsPerms::ReadWrite)
        .unwrap();
    let mut store = Store::new(&engine, wasi.build_p1());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let start = instance
        .get_typed_func::<(), ()>(&mut store, "_start")
        .unwrap();
    match start.call(&mut store, ()) {
        Ok(()) => Ended::Returned,
        Err(e) => match e.downcast_ref::<I32Exit>() {
            Some(exit) => Ended::Exit(exit.0),
            None => {
                let dump = instance
                    .get_typed_func::<(), i32>(&mut store, "wprof_dump")
                    .unwrap();
                assert_eq!(dump.call(&mut store, ()).unwrap(), 0, "wprof_dump failed");
                Ended::Trap
            }
        },
    }
}

fn embed(guest: &Path, out: &Path) -> std::path::PathBuf {
    let artifact = out.join("guest.self.wasm");
    let o = wprof(&[
        "instrument",
        "--embed",
        guest.to_str().unwrap(),
        "-o",
        artifact.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    artifact
}

fn collect(profile: &Path, artifact: &Path, out: &Path) -> Value {
    let o = wprof(&[
        "collect",
        profile.to_str().unwrap(),
        "--module",
        artifact.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap()
}

#[test]
fn a_plain_wasmtime_host_gets_the_calls_wprof_run_counts() {
    for (name, args, ended) in [
        ("fib", &["20"][..], Ended::Returned),
        ("calls", &[][..], Ended::Returned),
        ("many_calls", &["200"][..], Ended::Returned),
        // proc_exit writes the profile on its way out.
        ("exit", &[][..], Ended::Exit(3)),
        // After a trap the host asks for it.
        ("panic", &[][..], Ended::Trap),
    ] {
        let dir = temp_dir(&format!("embed-{name}"));
        let guest = rust_guest(name);
        let artifact = embed(&guest, &dir);
        let files = dir.join("files");
        std::fs::create_dir_all(&files).unwrap();
        assert_eq!(run_plain(&artifact, args, &files, &[]), ended, "{name}");
        let profile = files.join("wprof.profile");
        assert!(profile.exists(), "{name}: the artifact wrote no profile");
        let collected = collect(&profile, &artifact, &dir.join("collected"));

        let mut run_args = vec![guest.to_str().unwrap(), "--"];
        run_args.extend_from_slice(args);
        let (_, summary, run_out) = run_profile(&format!("embed-{name}-run"), &run_args);
        let folded = |d: &Path| std::fs::read_to_string(d.join("calls.folded")).unwrap();
        assert_eq!(
            folded(&dir.join("collected")),
            folded(&run_out),
            "{name}: calls.folded differs from wprof run's"
        );
        assert_eq!(collected["contexts"], summary["contexts"], "{name}");
        assert_eq!(collected["cpu"]["sampler"]["name"], "embedded");
        let svg = std::fs::read_to_string(dir.join("collected/flamegraph.svg")).unwrap();
        assert!(
            svg.contains("counted by the module itself"),
            "{name}: the flamegraph says why it has no time"
        );
        let start = &collected["exports"][0];
        assert_eq!(start["export"], "_start");
        // `_start` returned once, or never (exit, trap): only completed
        // calls are timed.
        let completed = u64::from(ended == Ended::Returned);
        assert_eq!(start["count"], completed, "{name}");
    }
}

#[test]
fn wprof_out_names_the_file_and_a_wrong_pairing_is_refused() {
    let dir = temp_dir("embed-out");
    let artifact = embed(&rust_guest("fib"), &dir);
    let files = dir.join("files");
    std::fs::create_dir_all(&files).unwrap();
    run_plain(&artifact, &["10"], &files, &[("WPROF_OUT", "fib-10.prof")]);
    let profile = files.join("fib-10.prof");
    let summary = collect(&profile, &artifact, &dir.join("collected"));
    assert_eq!(calls(&summary, "fib::fib"), Some(177));

    // The profile of one artifact read with another is refused, before
    // anything is written.
    let other = temp_dir("embed-out-other");
    let wrong = embed(&rust_guest("calls"), &other);
    let o = wprof(&[
        "collect",
        profile.to_str().unwrap(),
        "--module",
        wrong.to_str().unwrap(),
        "-o",
        other.join("collected").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("was written by another module"),
        "{}",
        stderr(&o)
    );
    assert!(!other.join("collected/summary.json").exists());
    // A truncated file is named as such.
    let cut = other.join("cut.prof");
    let bytes = std::fs::read(&profile).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() - 8]).unwrap();
    let o = wprof(&[
        "collect",
        cut.to_str().unwrap(),
        "--module",
        artifact.to_str().unwrap(),
        "-o",
        other.join("c2").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("truncated?"), "{}", stderr(&o));
    // `wprof run` does not run an artifact that profiles itself.
    let o = wprof(&[
        "run",
        "--out",
        other.join("r").to_str().unwrap(),
        artifact.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("wprof collect"), "{}", stderr(&o));
}

/// `wprof run --memory`'s totals for `guest`, and the collected counts of
/// its `--embed --memory` artifact run by a plain host.
fn allocation_counts(name: &str, guest: &Path) -> (Value, Value) {
    let dir = temp_dir(&format!("embed-memory-{name}"));
    let artifact = dir.join("guest.self.wasm");
    let o = wprof(&[
        "instrument",
        "--embed",
        "--memory",
        guest.to_str().unwrap(),
        "-o",
        artifact.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let files = dir.join("files");
    std::fs::create_dir_all(&files).unwrap();
    run_plain(&artifact, &[], &files, &[]);
    let collected = collect(
        &files.join("wprof.profile"),
        &artifact,
        &dir.join("collected"),
    );
    // Counted, not tracked: no heap model, so no memory section or files.
    assert!(collected.get("memory").is_none(), "{name}");
    assert!(!dir.join("collected/memory.svg").exists(), "{name}");
    let (_, summary, _) = run_profile(
        &format!("embed-memory-{name}-run"),
        &["--memory", guest.to_str().unwrap()],
    );
    (collected["allocations"].clone(), summary["memory"].clone())
}

#[test]
fn embedded_allocation_counts_equal_wprof_run_memory() {
    let (got, want) = allocation_counts("rust", &rust_guest("memory"));
    for key in [
        "allocations",
        "allocated_bytes",
        "frees",
        "grows",
        "untracked_growth_bytes",
    ] {
        assert_eq!(got[key], want[key], "{key}");
    }
    // The planted leak: 100 blocks of 1000 bytes, never freed.
    let leak = got["top"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stack"].as_str().unwrap().ends_with("memory::leak"))
        .expect("the leak's context");
    assert_eq!(
        (&leak["allocations"], &leak["bytes"], &leak["frees"]),
        (&100.into(), &100_000.into(), &0.into())
    );

    // C: malloc, calloc, realloc in place and moving, free. Bytes differ
    // by design: a block grown in place adds its growth to `wprof run`'s,
    // which tracks block sizes, and nothing here.
    if let Some(c) = c_guest("alloc") {
        let (got, want) = allocation_counts("c", &c);
        for key in ["allocations", "frees", "grows"] {
            assert_eq!(got[key], want[key], "C {key}");
        }
        assert!(got["allocated_bytes"].as_u64() <= want["allocated_bytes"].as_u64());
    }
}

#[test]
fn allocation_counts_need_the_contexts_tier() {
    let dir = temp_dir("embed-memory-counts");
    let o = wprof(&[
        "instrument",
        "--embed",
        "--counts-only",
        "--memory",
        rust_guest("memory").to_str().unwrap(),
        "-o",
        dir.join("x.wasm").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!dir.join("x.wasm").exists());
}
