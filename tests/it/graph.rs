//! `pbx graph` as a config author uses it: the call-flow picture of the bundled config as
//! Mermaid, DOT and SVG (drawn by Graphviz), and clear refusals.

use crate::support::{pbx, root, stderr, stdout};

#[test]
fn the_bundled_config_in_every_format() {
    let out = pbx(&root(), &["graph"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("flowchart LR\n"), "{text}");
    assert!(
        text.contains("schedule0 -->|closed| end_voicemail_5fsales"),
        "{text}"
    );

    let out = pbx(&root(), &["graph", "--format", "dot"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("digraph callflow {"));

    let out = pbx(&root(), &["graph", "--format", "svg"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let svg = stdout(&out);
    assert!(
        svg.contains("<svg") && svg.contains("department sales"),
        "{svg}"
    );
}

#[test]
fn several_tenants_need_one_named() {
    let examples = root().join("examples");
    let out = pbx(&examples, &["graph", "--config", "multi-tenant.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("several tenants"), "{}", stderr(&out));
    // A number names its tenant.
    let config = std::fs::read_to_string(examples.join("tenants/alpha.yaml")).unwrap();
    let number = config
        .lines()
        .find_map(|l| l.split("number: \"").nth(1))
        .and_then(|rest| rest.split('"').next())
        .expect("alpha has a number");
    let out = pbx(
        &examples,
        &["graph", "--config", "multi-tenant.yaml", "--number", number],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains(number));
    let out = pbx(&root(), &["graph", "--number", "+70000000000"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no tenant has the number +70000000000"));
}

#[test]
fn the_readme_picture_is_the_bundled_config() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let start = readme
        .find("```mermaid\n")
        .expect("the README shows a graph")
        + 11;
    let shown = &readme[start..start + readme[start..].find("```").unwrap()];
    assert_eq!(stdout(&pbx(&root(), &["graph"])), shown);
}
