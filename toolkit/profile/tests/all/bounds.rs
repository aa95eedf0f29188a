//! Every folded output stays under its size bound whatever the tree: the
//! deepest contexts fold into `[deeper]`, and no weight is lost.

use wprof_profile::folded::{self, DEEPER, MAX_BYTES, Weight};
use wprof_profile::{Mode, Profile, ROOT};

#[test]
fn a_deep_bushy_tree_folds_under_the_bound() {
    // 60 chains 3,000 frames deep of 100-character names, a call at every
    // frame: one line per context would be ~2.7 GB.
    let mut p = Profile::new("deep.wasm", Mode::Instrument);
    let funcs: Vec<u32> = (0..60)
        .map(|i| p.add_function(format!("{i:03}{}", "f".repeat(97)), Some(i)))
        .collect();
    let mut calls = 0u64;
    for (c, &f) in funcs.iter().enumerate() {
        let mut node = ROOT;
        for d in 0..3000 {
            node = p
                .tree
                .child(node, if d == 0 { f } else { funcs[(c + d) % 60] });
            p.tree.nodes[node as usize].calls += 1;
            calls += 1;
        }
    }
    let lines = folded::lines(&p, Weight::Calls);
    let bytes: usize = lines.iter().map(|l| l.len() + 1).sum();
    assert!(bytes <= MAX_BYTES, "{bytes} bytes");
    // Still most of the bound: the cap is the deepest that fits.
    assert!(
        bytes > MAX_BYTES / 2,
        "{bytes} bytes: folded more than needed"
    );
    let total: u64 = lines
        .iter()
        .map(|l| l.rsplit_once(' ').unwrap().1.parse::<u64>().unwrap())
        .sum();
    assert_eq!(total, calls, "no call lost");
    let deeper = lines
        .iter()
        .filter(|l| l.contains(&format!(";{DEEPER} ")))
        .count();
    assert_eq!(deeper, 60, "one [deeper] line per chain");

    // pprof lists every sample's whole stack: bounded the same way.
    let pb = wprof_profile::pprof::encode(&p);
    assert!(pb.len() <= MAX_BYTES, "cpu.pb is {} bytes", pb.len());
    let back = wprof_profile::pprof::read(&pb, "deep.wasm").unwrap();
    let total: u64 = back.tree.nodes.iter().map(|n| n.calls).sum();
    assert_eq!(total, calls, "no call lost in pprof");
    assert!(back.functions.iter().any(|f| f.name == DEEPER));
}

#[test]
fn a_small_tree_is_untouched() {
    let p = crate::profiles::instrumented();
    let lines = folded::lines(&p, Weight::Calls);
    assert!(lines.iter().all(|l| !l.contains(DEEPER)));
}
