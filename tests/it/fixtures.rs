//! Bad-config fixtures: every file in tests/fixtures/invalid/ is validated by the real binary
//! and its rendered diagnostics compared with the `.expected` file beside it.
//! `BLESS=1 cargo test --test it fixtures` rewrites the expected files (then read the diff!).

use crate::support::{diff, pbx, root, stdout};
use pbx::config::diagnostic::Code;
use std::collections::BTreeSet;

#[test]
fn every_fixture_renders_as_expected() {
    let dir = root().join("tests/fixtures/invalid");
    let bless = std::env::var_os("BLESS").is_some();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    names.sort();
    assert!(names.len() >= 30, "fixtures are missing: {names:?}");
    let mut failures = Vec::new();
    for name in &names {
        let out = pbx(&dir, &["validate", name]);
        let rendered = format!(
            "exit: {}\n{}",
            out.status.code().unwrap_or(-1),
            stdout(&out)
        );
        let expected_path = dir.join(name.replace(".yaml", ".expected"));
        if bless {
            std::fs::write(&expected_path, &rendered).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if expected != rendered {
            failures.push(format!("{name}:\n{}", diff(&expected, &rendered)));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// One fixture at least per rule: every code appears in some expected output.
#[test]
fn every_rule_has_a_fixture() {
    let dir = root().join("tests/fixtures/invalid");
    let mut seen = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "expected") {
            let text = std::fs::read_to_string(&path).unwrap();
            for code in Code::ALL {
                if text.contains(&format!("[{}]", code.code())) {
                    seen.insert(code.code());
                }
            }
        }
    }
    let missing: Vec<&str> = Code::ALL
        .iter()
        .map(|c| c.code())
        .filter(|c| !seen.contains(c))
        .collect();
    assert!(missing.is_empty(), "rules without a fixture: {missing:?}");
}
