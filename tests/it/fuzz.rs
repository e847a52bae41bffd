//! Fuzzing's regression inputs: every file under `tests/data/fuzz/<target>/` — an input that
//! once crashed a fuzz target, kept after the fix — goes through the very checks that target
//! runs (`fuzz/src/lib.rs`, included here by path), so `cargo test` replays old crashes without
//! cargo-fuzz or a nightly compiler. The repository's own seed data (the RFC 4475 messages, the
//! example configs) goes through them too.

#[path = "../../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod harness;

use crate::support::root;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

type Target = fn(&[u8]);

const TARGETS: [(&str, Target); 4] = [
    ("sip_message", harness::sip_message),
    ("sdp", harness::sdp),
    ("config", harness::config),
    ("admin_body", harness::admin_body),
];

/// The files of a directory, sorted; none when it does not exist.
fn files(dir: PathBuf) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    out.retain(|p| p.is_file());
    out.sort();
    out
}

/// Runs `target` on every file, naming each one that panicked.
fn run(name: &str, target: Target, inputs: &[PathBuf]) -> Vec<String> {
    let mut failed = Vec::new();
    for path in inputs {
        let bytes = std::fs::read(path).unwrap();
        if catch_unwind(AssertUnwindSafe(|| target(&bytes))).is_err() {
            failed.push(format!("{name}: {}", path.display()));
        }
    }
    failed
}

#[test]
fn kept_crash_inputs_pass_their_targets() {
    let mut failed = Vec::new();
    let mut count = 0;
    for (name, target) in TARGETS {
        let inputs = files(root().join("tests/data/fuzz").join(name));
        count += inputs.len();
        failed.extend(run(name, target, &inputs));
    }
    assert!(count > 0, "no kept inputs under tests/data/fuzz");
    assert!(
        failed.is_empty(),
        "inputs that crash again:\n{}",
        failed.join("\n")
    );
}

#[test]
fn seed_data_passes_the_targets() {
    let messages = files(root().join("tests/data/rfc4475"));
    let mut configs = files(root().join("examples"));
    configs.push(root().join("pbx.yaml"));
    let mut failed = run("sip_message", harness::sip_message, &messages);
    failed.extend(run("sdp", harness::sdp, &messages));
    failed.extend(run("config", harness::config, &configs));
    assert!(
        failed.is_empty(),
        "seeds that crash:\n{}",
        failed.join("\n")
    );
}
