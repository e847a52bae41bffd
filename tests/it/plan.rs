//! `pbx plan` output in each format, against another file; exit codes; masking; the letters
//! an apply would send.

use crate::support::{pbx, root, stdout};

/// A copy of the small-office example with a few edits, beside the original.
fn edited() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let original = std::fs::read_to_string(root().join("examples/small-office.yaml")).unwrap();
    let fix = |t: &str| t.replace("../assets/", &format!("{}/assets/", root().display()));
    std::fs::write(dir.path().join("before.yaml"), fix(&original)).unwrap();
    let after = original
        .replace("        extension: \"202\"\n", "        extension: \"210\"\n")
        .replace(
            "      - name: Дарья Волкова\n        login: darya\n        position: Секретарь\n        extension: \"200\"\n",
            "",
        )
        .replace("members: [boris, vera, darya]", "members: [boris, vera]")
        .replace(
            "        email: vera@romashka.example\n",
            "        email: vera@romashka.example\n      - name: Евгений Новиков\n        mobile: { number: \"+79163334455\" }\n",
        );
    std::fs::write(dir.path().join("pbx.yaml"), fix(&after)).unwrap();
    dir
}

#[test]
fn human_plan_lists_removals_first() {
    let dir = edited();
    let out = pbx(dir.path(), &["plan", "--against", "before.yaml"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    let expected_start =
        "Plan: 1 to add, 2 to change, 1 to remove.\n\n- remove staff romashka/darya\n";
    assert!(text.starts_with(expected_start), "{text}");
    assert!(text.contains("~ change department romashka/sales\n      members: \"boris, vera, darya\" -> \"boris, vera\"\n"), "{text}");
    assert!(
        text.contains("~ change staff romashka/boris\n      extension: \"202\" -> \"210\"\n"),
        "{text}"
    );
    assert!(
        text.contains("+ add staff romashka/evgeniy.novikov\n"),
        "{text}"
    );
    assert!(
        text.contains("login: \"evgeniy.novikov\" (generated)"),
        "{text}"
    );
    assert!(
        text.contains("mobile: \"+7916*****55\""),
        "personal data is masked:\n{text}"
    );
    let pos = |s: &str| text.find(s).unwrap();
    assert!(pos("- remove") < pos("~ change") && pos("~ change") < pos("+ add"));
}

#[test]
fn sensitive_values_on_request() {
    let dir = edited();
    let out = pbx(
        dir.path(),
        &["plan", "--against", "before.yaml", "--show-sensitive"],
    );
    assert!(stdout(&out).contains("mobile: \"+79163334455\""));
}

#[test]
fn json_plan_has_a_versioned_shape() {
    let dir = edited();
    let out = pbx(
        dir.path(),
        &["plan", "--against", "before.yaml", "--format", "json"],
    );
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["version"], 1);
    assert_eq!(
        plan["summary"],
        serde_json::json!({"add": 1, "change": 2, "remove": 1})
    );
    let first = &plan["changes"][0];
    assert_eq!(first["action"], "remove");
    assert_eq!(first["kind"], "staff");
    assert_eq!(first["tenant"], "romashka");
    assert_eq!(first["id"], "darya");
    let ext = first["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"] == "extension")
        .unwrap();
    assert_eq!(ext["before"]["value"], "200");
    assert_eq!(ext["after"], serde_json::Value::Null);
}

#[test]
fn markdown_plan_is_a_pr_comment() {
    let dir = edited();
    let out = pbx(
        dir.path(),
        &["plan", "--against", "before.yaml", "--format", "markdown"],
    );
    let text = stdout(&out);
    assert!(text.starts_with("### pbx plan\n\n**Plan: 1 to add, 2 to change, 1 to remove.**\n\n```diff\n- remove staff romashka/darya\n"), "{text}");
    assert!(text.ends_with("```\n"));
}

#[test]
fn detailed_exit_codes() {
    let dir = edited();
    let changes = pbx(
        dir.path(),
        &["plan", "--against", "before.yaml", "--detailed-exitcode"],
    );
    assert_eq!(changes.status.code(), Some(2));
    let none = pbx(
        dir.path(),
        &[
            "plan",
            "--config",
            "before.yaml",
            "--against",
            "before.yaml",
            "--detailed-exitcode",
        ],
    );
    assert_eq!(none.status.code(), Some(0));
    assert!(stdout(&none).starts_with("No changes"));
    std::fs::write(dir.path().join("bad.yaml"), "version: 1\ntenants: 5\n").unwrap();
    let bad = pbx(
        dir.path(),
        &[
            "plan",
            "--config",
            "bad.yaml",
            "--against",
            "before.yaml",
            "--detailed-exitcode",
        ],
    );
    assert_eq!(bad.status.code(), Some(1));
    let missing = pbx(dir.path(), &["plan", "--state", "no-such-dir"]);
    assert_eq!(missing.status.code(), Some(3));
}

#[test]
fn restart_only_settings_are_flagged() {
    let dir = tempfile::tempdir().unwrap();
    let a = "version: 1\nserver:\n  http: { listen: \"127.0.0.1:8080\" }\n";
    std::fs::write(dir.path().join("a.yaml"), a).unwrap();
    std::fs::write(dir.path().join("pbx.yaml"), a.replace("8080", "8081")).unwrap();
    let out = pbx(dir.path(), &["plan", "--against", "a.yaml"]);
    assert!(
        stdout(&out).contains("Restart required: `server.http.listen`"),
        "{}",
        stdout(&out)
    );
    // The cabinet's listener too; its session length is applied live.
    let a = "version: 1\nserver:\n  cabinet: { listen: \"127.0.0.1:8090\", session_idle: 8h }\n";
    std::fs::write(dir.path().join("a.yaml"), a).unwrap();
    std::fs::write(
        dir.path().join("pbx.yaml"),
        a.replace("8090", "8091").replace("8h", "1h"),
    )
    .unwrap();
    let out = pbx(dir.path(), &["plan", "--against", "a.yaml"]);
    let text = stdout(&out);
    assert!(
        text.contains("Restart required: `server.cabinet.listen`"),
        "{text}"
    );
    assert!(!text.contains("`server.cabinet.session_idle`"), "{text}");
    assert!(
        text.contains("cabinet.session_idle: \"8h\" -> \"1h\""),
        "{text}"
    );
    // Out of range.
    std::fs::write(dir.path().join("pbx.yaml"), a.replace("8h", "1m")).unwrap();
    let out = pbx(dir.path(), &["validate"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("`session_idle` is 1m, outside 5m-"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn the_plan_lists_the_welcome_letters_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("pbx.yaml"),
        "version: 1\ntenants:\n  - id: acme\n    name: Acme\n    domain: acme.example\n    max_users: 10\n    staff:\n      - { name: Anna, email: anna@example.com }\n      - { name: Boris }\n",
    )
    .unwrap();
    let text = stdout(&pbx(dir.path(), &["plan"]));
    assert!(
        text.ends_with("\nLetters this apply sends (1):\n  welcome letter to a***@example.com (acme/anna): login, password, extension\n"),
        "{text}"
    );
    let text = stdout(&pbx(dir.path(), &["plan", "--show-sensitive"]));
    assert!(
        text.contains("welcome letter to anna@example.com (acme/anna)"),
        "{text}"
    );
    // Against another file, what was generated is unknown: no letters are promised.
    std::fs::copy(dir.path().join("pbx.yaml"), dir.path().join("before.yaml")).unwrap();
    let text = stdout(&pbx(dir.path(), &["plan", "--against", "before.yaml"]));
    assert!(!text.contains("Letters"), "{text}");
}

#[test]
fn a_rotated_secret_is_a_change_without_showing_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = |md5: &str| {
        format!("version: 1\ntenants:\n  - id: a\n    name: A\n    domain: a.example\n    max_users: 5\n    staff:\n      - name: Maria\n        login: maria\n        extension: \"201\"\n        password: {{ ha1: {{ md5: {md5} }} }}\n")
    };
    std::fs::write(
        dir.path().join("before.yaml"),
        config("0123456789abcdef0123456789abcdef"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("pbx.yaml"),
        config("fedcba9876543210fedcba9876543210"),
    )
    .unwrap();
    let out = pbx(
        dir.path(),
        &["plan", "--against", "before.yaml", "--detailed-exitcode"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with("Plan: 0 to add, 1 to change, 0 to remove.\n"),
        "{text}"
    );
    assert!(
        text.contains("~ change staff a/maria\n      password: \"digest hashes in the config\" -> \"(changed)\"\n"),
        "{text}"
    );
    let json = pbx(
        dir.path(),
        &["plan", "--against", "before.yaml", "--format", "json"],
    );
    for shown in [text, stdout(&json)] {
        assert!(
            !shown.contains("fedcba") && !shown.contains("012345"),
            "{shown}"
        );
    }
}

/// `./tenant.yaml` means the same file to validate and to plan: both accept it, and the plan
/// against the config spelling it `tenant.yaml` has nothing to do.
#[test]
fn a_dot_slash_include_validates_and_plans_alike() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("pbx.yaml"),
        "version: 1\ninclude:\n  - ./tenant.yaml\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("before.yaml"),
        "version: 1\ninclude:\n  - tenant.yaml\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("tenant.yaml"),
        "id: acme\nname: Acme\ndomain: acme.example\nmax_users: 5\nstaff:\n  - { name: Ivan Petrov }\n",
    )
    .unwrap();
    let validate = pbx(dir.path(), &["validate", "pbx.yaml"]);
    assert_eq!(validate.status.code(), Some(0), "{}", stdout(&validate));
    let plan = pbx(
        dir.path(),
        &["plan", "--against", "before.yaml", "--detailed-exitcode"],
    );
    assert_eq!(
        plan.status.code(),
        Some(0),
        "{}{}",
        stdout(&plan),
        crate::support::stderr(&plan)
    );
    assert!(stdout(&plan).contains("No changes"), "{}", stdout(&plan));
}

/// Issue 15: a plan printed `"AllAtOnce" -> "InOrder"`; every enum value prints as the config
/// writes it, in every format.
#[test]
fn enum_values_print_as_written_in_the_config() {
    let dir = edited();
    let before = std::fs::read_to_string(dir.path().join("before.yaml")).unwrap();
    assert!(before.contains("strategy: all_at_once"));
    std::fs::write(
        dir.path().join("pbx.yaml"),
        before.replace("strategy: all_at_once", "strategy: in_order"),
    )
    .unwrap();
    for format in ["human", "markdown"] {
        let out = pbx(
            dir.path(),
            &["plan", "--against", "before.yaml", "--format", format],
        );
        let text = stdout(&out);
        assert!(
            text.contains("strategy: \"all_at_once\" -> \"in_order\""),
            "{format}:\n{text}"
        );
    }
    let out = pbx(
        dir.path(),
        &["plan", "--against", "before.yaml", "--format", "json"],
    );
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let field = &plan["changes"][0]["fields"][0];
    assert_eq!(field["field"], "strategy");
    assert_eq!(field["before"]["value"], "all_at_once");
    assert_eq!(field["after"]["value"], "in_order");
    // From nothing: every entity added, its words the config's.
    let all = stdout(&pbx(dir.path(), &["plan"]));
    for written in [
        "role: \"admin\"",
        "role: \"restricted\"",
        "mobile.forwarding: \"delayed, delay 20s\"",
        "strategy: \"in_order\"",
    ] {
        assert!(all.contains(written), "{written}:\n{all}");
    }
    for internal in ["AllAtOnce", "InOrder", "Delayed", "Restricted", "Udp"] {
        assert!(!all.contains(internal), "{internal}:\n{all}");
    }
}

const NAMESAKES: &str = "version: 1\ntenants:\n  - id: a\n    name: A\n    domain: a.example\n    max_users: 9\n    staff:\n";

/// Removing the first of two people of one name without a login: the second, told apart by
/// e-mail, keeps their login, and the plan says who stays and who is removed (no warning from
/// `validate`: something tells them apart). Without anything to tell them apart, `validate`
/// warns and the plan says order decided.
#[test]
fn a_removed_namesake_is_said_in_words_and_takes_nobody_elses_login() {
    let dir = tempfile::tempdir().unwrap();
    let before = format!("{NAMESAKES}      - {{ name: Иван Петров, email: first@a.example }}\n      - {{ name: Иван Петров, email: second@a.example }}\n");
    let after = format!("{NAMESAKES}      - {{ name: Иван Петров, email: second@a.example }}\n");
    std::fs::write(dir.path().join("before.yaml"), &before).unwrap();
    std::fs::write(dir.path().join("pbx.yaml"), &after).unwrap();
    let out = pbx(dir.path(), &["validate", "before.yaml"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(!stdout(&out).contains("W0730"), "{}", stdout(&out));

    let out = pbx(dir.path(), &["plan", "--against", "before.yaml"]);
    let text = stdout(&out);
    assert!(
        text.contains(
            "Note: tenant a: 2 staff named `Иван Петров` without a `login:` before, 1 now: ivan.petrov2 (extension 201) stays with its login, extension and password; ivan.petrov (extension 200) is removed with its password."
        ),
        "{text}"
    );
    assert!(text.contains("- remove staff a/ivan.petrov\n"), "{text}");
    assert!(!text.contains("second@"), "masked: {text}");
    let out = pbx(
        dir.path(),
        &["plan", "--against", "before.yaml", "--format", "json"],
    );
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["notes"][0]["kind"], "namesakes", "{json}");
    let out = pbx(
        dir.path(),
        &["plan", "--against", "before.yaml", "--format", "markdown"],
    );
    assert!(
        stdout(&out).contains("> **Note** (tenant `a`): 2 staff named"),
        "{}",
        stdout(&out)
    );

    // Nothing tells them apart: a warning first, and the plan says order decided.
    let before =
        format!("{NAMESAKES}      - {{ name: Иван Петров }}\n      - {{ name: Иван Петров }}\n");
    let after = format!("{NAMESAKES}      - {{ name: Иван Петров }}\n");
    std::fs::write(dir.path().join("before.yaml"), &before).unwrap();
    std::fs::write(dir.path().join("pbx.yaml"), &after).unwrap();
    let out = pbx(dir.path(), &["validate", "before.yaml"]);
    assert!(stdout(&out).contains("warning[W0730]"), "{}", stdout(&out));
    let text = stdout(&pbx(dir.path(), &["plan", "--against", "before.yaml"]));
    assert!(
        text.contains("so their order decided who keeps what"),
        "{text}"
    );
}

/// A generated extension that the config later gives to someone else: the person who had it
/// is renumbered, and the plan says who, from what to what, and who took it.
#[test]
fn a_renumbering_is_said_in_words() {
    let dir = tempfile::tempdir().unwrap();
    let before = format!("{NAMESAKES}      - {{ name: Oleg }}\n      - {{ name: Vera }}\n");
    let after = format!(
        "{NAMESAKES}      - {{ name: Oleg }}\n      - {{ name: Vera }}\n      - {{ name: Maria, extension: \"200\" }}\n"
    );
    std::fs::write(dir.path().join("before.yaml"), &before).unwrap();
    std::fs::write(dir.path().join("pbx.yaml"), &after).unwrap();
    let out = pbx(dir.path(), &["plan", "--against", "before.yaml"]);
    let text = stdout(&out);
    assert!(
        text.contains("Note: tenant a: oleg is renumbered from 200 to 202: 200, generated for oleg earlier, is now written in the config for staff member maria.\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "~ change staff a/oleg\n      extension: \"200\" (generated) -> \"202\" (generated)\n"
        ),
        "{text}"
    );
    assert!(!text.contains("vera is renumbered"), "{text}");
}
