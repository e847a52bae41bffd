//! `pbx simulate` as a config author uses it: the timeline of who rings when for a number at a
//! given time, with people answering, refusing or away; JSON for scripts; clear refusals of
//! what cannot be simulated.

use crate::support::{pbx, stderr, stdout};

const CONFIG: &str = r#"version: 1
tenants:
  - id: acme
    name: Acme
    domain: acme.example
    max_users: 10
    timezone: Asia/Vladivostok
    staff:
      - { name: Maria, login: maria, extension: "201" }
      - { name: Oleg, login: oleg, extension: "202" }
      - name: Ivan
        login: ivan
        ring_time: 20s
        mobile: { number: "+79160000001", forwarding: delayed, delay: 10s }
    trunks:
      - { id: gw, host: 127.0.0.1 }
    outbound_trunks: [gw]
    departments:
      - id: sales
        extension: "300"
        strategy: in_order
        step: 15s
        ring_time: 30s
        members: [maria, oleg]
        no_answer: { transfer: { staff: ivan } }
    schedules:
      - { id: office, hours: { weekdays: ["09:00-18:00"] } }
    numbers:
      - { number: "+74230000001", name: Main, schedule: office, destination: { department: sales } }
"#;

fn dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pbx.yaml"), CONFIG).unwrap();
    dir
}

#[test]
fn a_timeline_of_who_rings_when() {
    let dir = dir();
    // Friday 10:00 in Vladivostok: open. Nobody answers; the transfer rings ivan, his mobile
    // joins after 10 s.
    let out = pbx(
        dir.path(),
        &["simulate", "+74230000001", "--at", "2026-11-27 10:00"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let want = "\
+74230000001 \"Main\" (tenant acme), Fri 2026-11-27 10:00 +10:
     0s  department sales (in order)
     0s  ring maria
    15s  stop ringing maria
    15s  ring oleg
    30s  stop ringing oleg
    30s  nobody answered: transfer
    30s  ring ivan
    40s  ring ivan (mobile +79160000001)
    50s  stop ringing ivan
    50s  stop ringing ivan (mobile +79160000001)
    50s  the caller gets 480: nobody answered; the next step is voicemail, which is not available yet
";
    assert_eq!(stdout(&out), want);
}

#[test]
fn people_answer_refuse_and_are_away() {
    let dir = dir();
    let out = pbx(
        dir.path(),
        &[
            "simulate", "300", "--tenant", "acme", "--refuse", "maria", "--answer", "oleg@2.5",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("     0s  maria refuses\n     0s  ring oleg\n   2.5s  oleg answers\n"),
        "{text}"
    );
    let out = pbx(
        dir.path(),
        &[
            "simulate",
            "ivan",
            "--away",
            "ivan",
            "--answer",
            "+79160000001@1",
        ],
    );
    let text = stdout(&out);
    assert!(text.contains("     0s  ring ivan (mobile +79160000001)\n     1s  ivan (mobile +79160000001) answers\n"), "{text}");
}

#[test]
fn outside_hours_and_json() {
    let dir = dir();
    let out = pbx(
        dir.path(),
        &[
            "simulate",
            "+74230000001",
            "--at",
            "2026-11-28T01:00:00Z",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(doc["tenant"], "acme");
    let events: Vec<&str> = doc["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    // Saturday 11:00 in Vladivostok: closed, no after-hours destination.
    assert_eq!(events, ["after_hours", "end"]);
    assert_eq!(doc["events"][1]["detail"]["status"], 480);
}

#[test]
fn what_cannot_be_simulated_is_refused_clearly() {
    let dir = dir();
    let out = pbx(dir.path(), &["simulate", "999"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains(
        "`999` is not a company number, extension, login or department of tenant `acme`"
    ));
    let out = pbx(dir.path(), &["simulate", "300", "--at", "tomorrow"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--at `tomorrow`"));
    let out = pbx(dir.path(), &["simulate", "300", "--answer", "oleg@soon"]);
    assert_eq!(out.status.code(), Some(2));
    std::fs::write(dir.path().join("pbx.yaml"), "version: 1\ntenants: 7\n").unwrap();
    let out = pbx(dir.path(), &["simulate", "300"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "an invalid config: {}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty());
}

#[test]
fn the_readme_example_is_what_the_bundled_config_does() {
    let readme = std::fs::read_to_string(crate::support::root().join("README.md")).unwrap();
    let start = readme
        .find("$ pbx simulate ")
        .expect("the README shows pbx simulate");
    let block = &readme[start..readme[start..].find("```").unwrap() + start];
    let (command, shown) = block.split_once('\n').unwrap();
    let args: Vec<String> = shlex(command.trim_start_matches("$ pbx "));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = pbx(&crate::support::root(), &args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), shown);
}

/// Splits a shell command line with double quotes (enough for the README's examples).
fn shlex(line: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => {
                if !current.is_empty() {
                    args.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        args.push(current);
    }
    args
}
