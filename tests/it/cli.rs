//! The command line as a user and a CI job meet it: exit codes, formats, where output goes.

use crate::support::{pbx, root, stderr, stdout};

fn invalid_dir() -> std::path::PathBuf {
    root().join("tests/fixtures/invalid")
}

#[test]
fn valid_config_exits_zero() {
    let out = pbx(&root(), &["validate"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(stdout(&out).contains("valid (0 warnings)"));
}

#[test]
fn invalid_config_exits_one_and_reports_every_problem() {
    let out = pbx(&invalid_dir(), &["validate", "many_problems.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    for code in [
        "E0002", "E0103", "E0102", "E0116", "E0201", "E0401", "E0301",
    ] {
        assert!(
            text.contains(&format!("[{code}]")),
            "{code} missing in:\n{text}"
        );
    }
    assert!(
        stderr(&out).is_empty(),
        "diagnostics are data and go to stdout"
    );
}

#[test]
fn warnings_alone_exit_zero() {
    let out = pbx(&invalid_dir(), &["validate", "plaintext_secret.yaml"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("warning[W0701]"));
}

#[test]
fn missing_file_is_an_io_error() {
    let out = pbx(&invalid_dir(), &["validate", "no-such-file.yaml"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out).contains("cannot read no-such-file.yaml"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn bad_usage_exits_two() {
    let out = pbx(&root(), &["validate", "--format", "xml"]);
    assert_eq!(out.status.code(), Some(2));
    let out = pbx(&root(), &["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn several_files_exit_with_the_worst() {
    let out = pbx(
        &root(),
        &["validate", "pbx.yaml", "tests/fixtures/invalid/e164.yaml"],
    );
    assert_eq!(out.status.code(), Some(1));
    let out = pbx(&root(), &["validate", "pbx.yaml", "missing.yaml"]);
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn json_format_is_a_versioned_document() {
    let out = pbx(
        &invalid_dir(),
        &["validate", "--format", "json", "extension_reserved.yaml"],
    );
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["valid"], false);
    assert_eq!(doc["errors"], 2);
    let d = &doc["diagnostics"][0];
    assert_eq!(d["code"], "E0103");
    assert_eq!(d["name"], "extension-reserved");
    assert_eq!(d["severity"], "error");
    assert_eq!(d["file"], "extension_reserved.yaml");
    assert_eq!(d["line"], 9);
    assert_eq!(d["column"], 34);
    assert_eq!(d["path"], "tenants[acme].staff[ivan].extension");
}

#[test]
fn github_format_annotates_lines() {
    let out = pbx(
        &invalid_dir(),
        &["validate", "--format", "github", "duplicate_key.yaml"],
    );
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let first = text.lines().next().unwrap();
    assert!(
        first.starts_with("::error file=duplicate_key.yaml,line=16,col=11,title=E0004 duplicate-key::duplicate key `1`"),
        "{text}"
    );
    assert!(
        text.lines()
            .last()
            .unwrap()
            .starts_with("pbx validate: 1 error"),
        "{text}"
    );
}

#[test]
fn schema_subcommand_prints_json_schema() {
    let out = pbx(&root(), &["schema"]);
    assert_eq!(out.status.code(), Some(0));
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(schema["title"], "Config");
    let out = pbx(&root(), &["schema", "--tenant"]);
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(schema["title"], "Tenant");
}
