//! `pbx simulate` as a config author uses it: the timeline of who rings when for a number at a
//! given time, with people answering, refusing or away, the caller pressing keys and leaving a
//! message; what the PBX plays and records; JSON for scripts; clear refusals of what cannot be
//! simulated.

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
      - id: support
        strategy: all_at_once
        members: [maria]
        impatient_callers: { after: 20s }
    menus:
      - id: main
        prompt: prompts/main.wav
        dial_extensions: true
        options:
          "1": { department: sales }
          "9": { voicemail: maria }
    schedules:
      - { id: office, hours: { weekdays: ["09:00-18:00"] } }
    numbers:
      - { number: "+74230000001", name: Main, schedule: office, destination: { department: sales } }
      - { number: "+74230000002", destination: { menu: main } }
      - { number: "+74230000003", destination: { staff: oleg }, greeting: prompts/hello.wav }
      - { number: "+74230000004", destination: { department: support } }
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
    50s  voicemail of ivan
    50s  the PBX answers
    50s  plays the voicemail greeting prompt
    55s  records a message for ivan
    65s  message of 10s kept
    65s  the PBX hangs up: the caller left a voicemail
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
    // Saturday 11:00 in Vladivostok: closed, no after-hours destination: the after-hours
    // prompt, then the PBX hangs up.
    assert_eq!(events, ["after_hours", "pbx_answers", "play", "hangup"]);
    assert_eq!(
        doc["events"][2]["detail"]["sounds"],
        serde_json::json!(["the after hours prompt"])
    );
    assert_eq!(doc["events"][3]["at_s"], 5.0);
}

#[test]
fn a_voice_menu_with_keys_pressed() {
    let dir = dir();
    // 9 once the prompt has played (5 s): maria's voicemail; the caller would speak for 30 s,
    // but presses # 12 s into the recording: the message is kept.
    let out = pbx(
        dir.path(),
        &[
            "simulate",
            "+74230000002",
            "--press",
            "9",
            "--press",
            "#@22",
            "--message",
            "30",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let timeline: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(
        timeline,
        [
            "     0s  voice menu main",
            "     0s  the PBX answers",
            "     0s  plays main.wav",
            "     5s  the caller presses 9",
            "     5s  menu main: option 9",
            "     5s  voicemail of maria",
            "     5s  plays the voicemail greeting prompt",
            "    10s  records a message for maria",
            "    22s  the caller presses #",
            "    22s  stops recording",
            "    22s  message of 12s kept",
            "    22s  the PBX hangs up: the caller left a voicemail",
        ],
        "{text}"
    );
    // Dialling an extension during the prompt; oleg answers.
    let out = pbx(
        dir.path(),
        &[
            "simulate",
            "+74230000002",
            "--press",
            "202@1.5",
            "--answer",
            "oleg@2",
        ],
    );
    let text = stdout(&out);
    assert!(
        text.contains(
            "   1.5s  menu main: extension of oleg
   1.5s  plays the ringback tone, looped
   1.5s  ring oleg
   3.5s  oleg answers
"
        ),
        "{text}"
    );
    // Nothing pressed: the prompt three times, then the PBX hangs up; a wrong key, then
    // nothing.
    let out = pbx(dir.path(), &["simulate", "+74230000002", "--press", "7@1"]);
    let text = stdout(&out);
    assert!(
        text.contains(
            "     1s  menu main: `7` is not a choice
     1s  plays the invalid choice prompt, then main.wav
"
        ),
        "{text}"
    );
    assert!(
        text.ends_with(
            "menu main: out of repeats (no input)
    26s  the PBX hangs up: the voice menu got no valid choice
"
        ),
        "{text}"
    );
    // A message too short is discarded.
    let out = pbx(
        dir.path(),
        &["simulate", "+74230000002", "--press", "9", "--message", "1"],
    );
    assert!(
        stdout(&out).contains("message of 1s: too short, discarded"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_greeting_instead_of_ringback() {
    let dir = dir();
    let out = pbx(
        dir.path(),
        &["simulate", "+74230000003", "--answer", "oleg@7"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let timeline: Vec<String> = stdout(&out).lines().skip(1).map(String::from).collect();
    assert_eq!(
        timeline,
        [
            "     0s  the PBX plays to the caller while it rings (early media)",
            "     0s  plays hello.wav",
            "     0s  ring oleg",
            "     5s  plays the ringback tone, looped",
            "     7s  oleg answers",
        ]
    );
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
    for bad in ["1x", "", "2@later"] {
        let out = pbx(dir.path(), &["simulate", "+74230000002", "--press", bad]);
        assert_eq!(out.status.code(), Some(2), "--press {bad}");
        assert!(stderr(&out).contains("--press"), "{}", stderr(&out));
    }
    let out = pbx(dir.path(), &["simulate", "300", "--message", "long"]);
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

#[test]
fn the_impatient_caller_offer_and_a_callback_ordered() {
    let dir = dir();
    let out = pbx(
        dir.path(),
        &[
            "simulate",
            "+74230000004",
            "--from",
            "+79161234567",
            "--press",
            "1@22",
            "--press",
            "1",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let want = "\
     0s  department support (all at once)
     0s  ring maria
    20s  the PBX answers
    20s  plays the impatient offer prompt
    22s  the caller presses 1
    22s  stop ringing maria
    22s  the caller chooses a callback
    22s  plays the callback number prompt, then the digits 89161234567, then the callback confirm prompt
    43s  the caller presses 1
    43s  a callback to +79161234567 joins the department's queue
    43s  plays the callback confirmed prompt
    48s  the PBX hangs up: the caller ordered a callback
";
    assert!(text.ends_with(want), "{text}");
}
