//! `pbx graph` as a config author uses it: the call-flow picture of the bundled config as
//! Mermaid, DOT and SVG (drawn by Graphviz), a voice menu's keys and outcomes and the voicemail
//! boxes, and clear refusals.

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

#[test]
fn menus_with_their_keys_and_outcomes_and_voicemail_boxes() {
    let dir = tempfile::tempdir().unwrap();
    let config = r#"version: 1
tenants:
  - id: acme
    name: Acme
    domain: acme.example
    max_users: 10
    staff:
      - { name: Maria, login: maria, extension: "201", voicemail_greeting: prompts/maria.wav }
    menus:
      - id: main
        prompt: prompts/main.wav
        timeout: 4s
        repeat: 1
        dial_extensions: true
        options:
          "1": { menu: more }
          "9": { voicemail: maria }
        on_timeout: { staff: maria }
      - id: more
        prompt: prompts/more.wav
        options:
          "*": { menu: main }
          "0": hangup
        on_invalid: { voicemail: maria }
    numbers:
      - { number: "+74950000001", destination: { menu: main }, greeting: prompts/hello.wav }
"#;
    std::fs::write(dir.path().join("pbx.yaml"), config).unwrap();
    let out = pbx(dir.path(), &["graph"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let want = r#"flowchart LR
    number0(["+74950000001<br/>greeting hello.wav"])
    menu_main["voice menu main<br/>main.wav, waits 4s, 1 repeat<br/>or dial an extension"]
    menu_more["voice menu more<br/>more.wav, waits 5s, 2 repeats"]
    end_hangup[["hang up"]]
    end_voicemail_5fmaria[["voicemail maria<br/>greeting maria.wav"]]
    staff_maria["Maria (maria)<br/>rings 30s"]
    number0 -->|24/7| menu_main
    menu_main -->|press 1| menu_more
    menu_more -->|press *| menu_main
    menu_more -->|press 0| end_hangup
    menu_more -->|no input| end_hangup
    menu_more -->|invalid input| end_voicemail_5fmaria
    menu_main -->|press 9| end_voicemail_5fmaria
    menu_main -->|no input| staff_maria
    staff_maria -->|no answer| end_voicemail_5fmaria
    menu_main -->|invalid input| end_hangup
"#;
    assert_eq!(stdout(&out), want, "got:\n{}", stdout(&out));
}
