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
    assert_eq!(d["config"], "extension_reserved.yaml");
    assert_eq!(
        doc["files"],
        serde_json::json!([{"file": "extension_reserved.yaml", "valid": false, "errors": 2,
            "warnings": 0, "read_error": null}])
    );
}

/// Issue 15: two files printed two JSON documents, which no JSON reader takes.
#[test]
fn json_format_is_one_document_for_several_files() {
    let out = pbx(
        &invalid_dir(),
        &[
            "validate",
            "--format",
            "json",
            "extension_reserved.yaml",
            "plaintext_secret.yaml",
            "no-such-file.yaml",
        ],
    );
    assert_eq!(out.status.code(), Some(3), "the worst: a file unread");
    let doc: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["valid"], false);
    assert_eq!(doc["errors"], 2);
    assert!(doc["warnings"].as_u64().unwrap() >= 1);
    let files = doc["files"].as_array().unwrap();
    let names: Vec<&str> = files.iter().map(|f| f["file"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "extension_reserved.yaml",
            "plaintext_secret.yaml",
            "no-such-file.yaml"
        ]
    );
    assert_eq!(files[0]["valid"], false);
    assert_eq!(files[0]["errors"], 2);
    assert_eq!(files[0]["read_error"], serde_json::Value::Null);
    assert_eq!(files[1]["valid"], true, "warnings alone are valid");
    assert_eq!(files[1]["errors"], 0);
    assert_eq!(files[2]["valid"], false);
    assert!(files[2]["read_error"]
        .as_str()
        .unwrap()
        .contains("cannot read no-such-file.yaml"));
    let diagnostics = doc["diagnostics"].as_array().unwrap();
    let of = |config: &str| diagnostics.iter().filter(|d| d["config"] == config).count();
    assert_eq!(of("extension_reserved.yaml"), 2);
    assert_eq!(
        of("plaintext_secret.yaml") as u64,
        files[1]["warnings"].as_u64().unwrap()
    );
    assert_eq!(
        of("extension_reserved.yaml") + of("plaintext_secret.yaml"),
        diagnostics.len()
    );
    assert!(
        stderr(&out).contains("cannot read no-such-file.yaml"),
        "a file unread is still said on stderr"
    );
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

/// A CI job that validates only the files a change touched may be given a tenant file: it is
/// checked with the config that includes it, found above it.
#[test]
fn a_tenant_file_is_checked_with_the_config_that_includes_it() {
    let out = pbx(&root(), &["validate", "examples/tenants/alpha.yaml"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(stdout(&out).contains("valid (0 warnings)"));
    assert!(
        stderr(&out).contains("included by examples/multi-tenant.yaml"),
        "{}",
        stderr(&out)
    );
}

/// A tenant file that no config includes is checked alone: its own problems, at their lines.
#[test]
fn a_tenant_file_nobody_includes_is_checked_alone() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join(".git"), "").unwrap();
    let tenant = std::fs::read_to_string(root().join("examples/tenants/alpha.yaml")).unwrap();
    std::fs::write(tmp.path().join("alpha.yaml"), &tenant).unwrap();
    let out = pbx(tmp.path(), &["validate", "alpha.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stderr(&out).contains("checked alone"), "{}", stderr(&out));

    let broken = tenant.replace("extension: \"211\"", "extension: \"112\"");
    assert_ne!(broken, tenant);
    std::fs::write(tmp.path().join("alpha.yaml"), &broken).unwrap();
    let out = pbx(tmp.path(), &["validate", "alpha.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("error[E0103]"), "{text}");
    assert!(text.contains("--> alpha.yaml:12:"), "{text}");
    assert!(text.contains("invalid: 1 error"), "{text}");
}
