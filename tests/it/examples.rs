//! The bundled configs a user starts from: pbx.yaml and everything in examples/ are valid,
//! and each starts with the yaml-language-server modeline pointing at the committed schema.

use crate::support::{pbx, root, stdout};

fn configs() -> Vec<String> {
    let mut files = vec!["pbx.yaml".to_string()];
    for entry in std::fs::read_dir(root().join("examples")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            files.push(format!(
                "examples/{}",
                path.file_name().unwrap().to_string_lossy()
            ));
        }
    }
    files.sort();
    files
}

#[test]
fn bundled_configs_are_valid() {
    let files = configs();
    assert!(
        files.len() >= 4,
        "expected pbx.yaml and three examples, found {files:?}"
    );
    for file in &files {
        let out = pbx(&root(), &["validate", file]);
        assert_eq!(out.status.code(), Some(0), "{file}:\n{}", stdout(&out));
        assert!(
            !stdout(&out).contains("warning["),
            "{file} has warnings:\n{}",
            stdout(&out)
        );
    }
}

#[test]
fn bundled_configs_carry_the_schema_modeline() {
    let mut files = configs();
    for entry in std::fs::read_dir(root().join("examples/tenants"))
        .into_iter()
        .flatten()
    {
        files.push(format!(
            "examples/tenants/{}",
            entry.unwrap().file_name().to_string_lossy()
        ));
    }
    for file in files {
        let text = std::fs::read_to_string(root().join(&file)).unwrap();
        let first = text.lines().next().unwrap_or("");
        assert!(
            first.starts_with("# yaml-language-server: $schema="),
            "{file} lacks the modeline"
        );
        let schema = first.trim_start_matches("# yaml-language-server: $schema=");
        let resolved = root().join(&file).parent().unwrap().join(schema);
        assert!(
            resolved.exists(),
            "{file}: modeline points at missing {}",
            resolved.display()
        );
    }
}

/// The config snippets in README.md are real: each YAML block that starts with `version: 1`
/// validates.
#[test]
fn readme_snippets_are_valid() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for block in readme.split("```yaml\n").skip(1) {
        let yaml = block.split("```").next().unwrap();
        if !yaml.starts_with("version: 1") {
            continue;
        }
        let file = dir.path().join(format!("snippet{checked}.yaml"));
        std::fs::write(&file, yaml).unwrap();
        let out = pbx(
            dir.path(),
            &["validate", file.file_name().unwrap().to_str().unwrap()],
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "README snippet:\n{yaml}\n{}",
            stdout(&out)
        );
        checked += 1;
    }
    assert!(checked >= 1, "README has no config snippet");
}
