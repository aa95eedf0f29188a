//! Damaged input: the streaming instrumenter copies most of a module's
//! bytes unread and validates only its output, so every CLI and rewrite
//! fixture is mutated (bytes replaced, bits flipped, the module cut short)
//! and instrumented in both forms. Each must give an artifact or an input
//! error; a panic, or an error blaming the instrumenter's own output
//! (`Error::Output`), fails.

use std::path::Path;

use wprof_instrument::{Error, Options, instrument};

/// Mutants per fixture and form.
const MUTANTS: usize = 150;

#[test]
fn damaged_modules_are_refused_as_input() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut fixtures = Vec::new();
    for sub in ["../../tests/cli", "tests/rewrite", "tests/linked"] {
        for entry in std::fs::read_dir(dir.join(sub)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "wat") {
                fixtures.push(path);
            }
        }
    }
    fixtures.sort();
    assert!(fixtures.len() > 10, "fixtures missing");
    // xorshift64: the same mutants every run.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let (mut instrumented, mut refused) = (0, 0);
    for path in &fixtures {
        let wasm = wat::parse_file(path).unwrap();
        for _ in 0..MUTANTS {
            let mut m = wasm.clone();
            for _ in 0..1 + next() % 3 {
                if m.len() <= 9 {
                    break;
                }
                let at = 8 + next() as usize % (m.len() - 8);
                match next() % 3 {
                    0 => m[at] = next() as u8,
                    1 => m[at] ^= 1 << (next() % 8),
                    _ => m.truncate(at),
                }
            }
            for linked in [false, true] {
                let mut options = Options::default();
                options.link_runtime = linked;
                match instrument(&m, &options) {
                    Ok(_) => instrumented += 1,
                    Err(Error::Output(e)) => panic!(
                        "{} mutated ({}linked): input blamed on the output: {e}",
                        path.display(),
                        if linked { "" } else { "not " }
                    ),
                    Err(_) => refused += 1,
                }
            }
        }
    }
    // Both outcomes happen, or the mutations test nothing.
    assert!(
        instrumented > 0 && refused > 0,
        "{instrumented} instrumented, {refused} refused"
    );
}
