//! The replay tests' runner (`lambdas/*/tests/fuzz_regressions.rs`): every file kept for a
//! target goes through that target's checks, and a failure names the file.

use std::path::Path;

/// Runs `check` on every file of `<crate_dir>/tests/fuzz_regressions/<target>/`.
pub fn replay(crate_dir: &str, target: &str, check: fn(&[u8])) {
    let dir = Path::new(crate_dir).join("tests/fuzz_regressions").join(target);
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .map(|entry| entry.expect("a readable directory entry").path())
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty(), "no inputs kept in {}", dir.display());
    for input in inputs {
        let bytes = std::fs::read(&input).unwrap_or_else(|error| panic!("{}: {error}", input.display()));
        if let Err(panic) = std::panic::catch_unwind(|| check(&bytes)) {
            eprintln!("{} fails its checks", input.display());
            std::panic::resume_unwind(panic);
        }
    }
}
