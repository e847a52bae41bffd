//! `pbx serve`, `pbx apply` and the admin API against a real server on loopback: the apply
//! round trip, generated values that never change, hot reload (valid, invalid, restart-only,
//! SIGHUP), every admin API error, and kill -9 in the middle of applies.

use crate::support::{pbx, server_config, stdout, Server, TOKEN};
use serde_json::{json, Value};
use std::process::Command;

fn staff(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("      - name: {n}\n"))
        .collect()
}

/// Runs `pbx` with the admin token in the environment.
fn pbx_with_token(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pbx"))
        .args(args)
        .current_dir(dir)
        .env("PBX_ADMIN_TOKEN", TOKEN)
        .output()
        .unwrap()
}

fn known(server: &Server) -> Vec<(String, String, Option<String>)> {
    let (_, state) = server.call("GET", "/api/v1/state", Some(TOKEN), None);
    let mut out: Vec<(String, String, Option<String>)> = state["known"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["identity"].as_str().unwrap().to_string(),
                k["login"].as_str().unwrap().to_string(),
                k["extension"].as_str().map(str::to_string),
            )
        })
        .collect();
    out.sort();
    out
}

fn apply_body(yaml: &str) -> String {
    json!({ "bundle": { "main": "pbx.yaml", "files": { "pbx.yaml": yaml } } }).to_string()
}

/// Replaces a file the way editors do: write a temporary file, rename it over the old one.
fn save(path: &std::path::Path, text: &str) {
    let tmp = path.with_extension("swp-tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[test]
fn apply_round_trip_keeps_generated_values() {
    let server = Server::start(&server_config(&staff(&["Иван Петров", "Мария Иванова"])));
    assert_eq!(server.revision(), 1);
    let before = known(&server);
    assert_eq!(
        before,
        vec![
            (
                "name:Иван Петров#0".into(),
                "ivan.petrov".into(),
                Some("200".into())
            ),
            (
                "name:Мария Иванова#0".into(),
                "mariya.ivanova".into(),
                Some("201".into())
            ),
        ]
    );
    assert!(
        server
            .log()
            .contains("new credentials: acme/ivan.petrov extension 200 password "),
        "{}",
        server.log()
    );

    // Someone is added first: nobody else changes.
    let client = tempfile::tempdir().unwrap();
    let desired = server_config(&staff(&["Олег Смирнов", "Иван Петров", "Мария Иванова"]));
    std::fs::write(client.path().join("pbx.yaml"), &desired).unwrap();
    let plan = pbx_with_token(
        client.path(),
        &["plan", "--server", &server.url, "--detailed-exitcode"],
    );
    assert_eq!(plan.status.code(), Some(2), "{}", stdout(&plan));
    assert!(
        stdout(&plan).starts_with("Plan: 1 to add, 0 to change, 0 to remove.\n"),
        "{}",
        stdout(&plan)
    );
    assert!(stdout(&plan).contains("+ add staff acme/oleg.smirnov"));
    assert!(
        stdout(&plan).contains("extension: \"202\" (generated)"),
        "{}",
        stdout(&plan)
    );

    let out = pbx_with_token(
        client.path(),
        &["apply", "--server", &server.url, "--auto-approve"],
    );
    let text = stdout(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        crate::support::stderr(&out)
    );
    assert!(
        text.contains("Applied revision 2: 1 added, 0 changed, 0 removed."),
        "{text}"
    );
    assert!(
        text.contains("acme/oleg.smirnov  extension 202  password "),
        "{text}"
    );
    let after = known(&server);
    for entry in &before {
        assert!(after.contains(entry), "{entry:?} changed: {after:?}");
    }
    // The server wrote the applied file where it watches, so a restart runs the same config.
    assert_eq!(
        std::fs::read_to_string(server.dir.path().join("pbx.yaml")).unwrap(),
        desired
    );

    let again = pbx_with_token(
        client.path(),
        &["apply", "--server", &server.url, "--auto-approve"],
    );
    assert_eq!(again.status.code(), Some(0));
    assert!(stdout(&again).contains("No changes"), "{}", stdout(&again));

    let dir = server.stop();
    let server = Server::start_in(dir);
    assert_eq!(
        server.revision(),
        2,
        "a restart on the same files records nothing new"
    );
    assert_eq!(known(&server), after);
    let plan = pbx_with_token(
        client.path(),
        &["plan", "--server", &server.url, "--detailed-exitcode"],
    );
    assert_eq!(plan.status.code(), Some(0), "{}", stdout(&plan));
}

#[test]
fn hot_reload_applies_valid_edits_only() {
    let server = Server::start(&server_config(&staff(&["Анна"])));
    let file = server.dir.path().join("pbx.yaml");

    save(&file, &server_config(&staff(&["Анна", "Борис"])));
    server.wait_for_revision(2);
    server.wait_for_log("revision 2 applied by file watcher in ");
    server.wait_for_log(" ms): Plan: 1 to add");
    // Where the time went, phase by phase.
    let line = server
        .log()
        .lines()
        .find(|l| l.contains("revision 2 applied"))
        .unwrap()
        .to_owned();
    for phase in [
        "read ",
        "validate ",
        "state ",
        "plan ",
        "sounds ",
        "staff ",
        "record ",
        "directory ",
    ] {
        assert!(line.contains(phase), "{line}");
    }

    // An invalid edit: the diagnostics are logged and revision 2 keeps running.
    save(
        &file,
        &server_config("      - name: Анна\n        extention: \"201\"\n"),
    );
    server.wait_for_log("the edited config is invalid; the running config stays");
    server.wait_for_log("pbx.yaml:14:9");
    assert_eq!(server.revision(), 2);

    // A restart-only change is refused with a message saying so.
    let moved = server_config(&staff(&["Анна", "Борис"]))
        .replace("127.0.0.1:0\" }\n  sip", "127.0.0.1:1\" }\n  sip");
    save(&file, &moved);
    server.wait_for_log("server.http.listen change only with a restart");
    assert_eq!(server.revision(), 2);

    // SIGHUP reloads too.
    let (status, health) = server.call("GET", "/healthz", None, None);
    assert_eq!(
        (status, health["revision"].as_u64()),
        (200, Some(2)),
        "{health}"
    );
    std::fs::write(&file, server_config(&staff(&["Анна", "Борис", "Вера"]))).unwrap();
    server.hangup();
    server.wait_for_revision(3);
    assert_eq!(known(&server).len(), 3);
}

#[test]
fn admin_api_errors_change_nothing() {
    let ten: Vec<String> = (0..10).map(|i| format!("Person {i}")).collect();
    let ten_refs: Vec<&str> = ten.iter().map(String::as_str).collect();
    let yaml = server_config(&staff(&ten_refs));
    let server = Server::start(&yaml);
    let rev = server.revision();

    // Authentication: missing and wrong tokens get the same 401.
    let (s1, b1) = server.call("GET", "/api/v1/state", None, None);
    let (s2, b2) = server.call("GET", "/api/v1/state", Some("wrong"), None);
    let (s3, _) = server.call(
        "POST",
        "/api/v1/apply",
        Some("wrong"),
        Some(&apply_body(&yaml)),
    );
    assert_eq!((s1, s2, s3), (401, 401, 401));
    assert_eq!(b1, b2);

    // Bodies that are not a request.
    let (s, _) = server.call("POST", "/api/v1/apply", Some(TOKEN), Some("{not json"));
    assert_eq!(s, 400);
    let (s, _) = server.call(
        "POST",
        "/api/v1/apply",
        Some(TOKEN),
        Some("{\"bundle\": 5}"),
    );
    assert_eq!(s, 422);
    let huge = "x".repeat(17 * 1024 * 1024);
    assert_eq!(
        post_reading_early(&server, "/api/v1/apply", &apply_body(&huge)),
        413
    );

    // A config that is invalid: 422 with every diagnostic.
    let bad = yaml.replace(
        "      - name: Person 0\n",
        "      - name: Person 0\n        extension: \"112\"\n        rol: admin\n",
    );
    let (s, b) = server.call(
        "POST",
        "/api/v1/apply",
        Some(TOKEN),
        Some(&apply_body(&bad)),
    );
    assert_eq!(s, 422, "{b}");
    assert_eq!(b["error"], "invalid-config");
    let codes: Vec<&str> = b["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["E0103", "E0002"], "{b}");
    assert!(
        b["rendered"].as_str().unwrap().contains("pbx.yaml:14:20"),
        "{b}"
    );

    // File names that would escape the config directory.
    let escape = json!({ "bundle": { "main": "pbx.yaml", "files": { "pbx.yaml": yaml, "../evil.yaml": "x" } } });
    let (s, b) = server.call(
        "POST",
        "/api/v1/apply",
        Some(TOKEN),
        Some(&escape.to_string()),
    );
    assert_eq!((s, b["error"].as_str()), (422, Some("invalid-bundle")));
    assert!(!server
        .dir
        .path()
        .parent()
        .unwrap()
        .join("evil.yaml")
        .exists());

    // Refusals: a restart-only change, a stale revision, a mass removal.
    let moved = yaml.replace("127.0.0.1:0\" }\n  sip", "127.0.0.1:1\" }\n  sip");
    let (s, b) = server.call(
        "POST",
        "/api/v1/apply",
        Some(TOKEN),
        Some(&apply_body(&moved)),
    );
    assert_eq!(
        (s, b["error"].as_str()),
        (409, Some("restart-required")),
        "{b}"
    );
    let grown = server_config(&staff(&[ten_refs.as_slice(), &["New"]].concat()));
    let stale = json!({ "bundle": { "main": "pbx.yaml", "files": { "pbx.yaml": grown } }, "expected_revision": 99 });
    let (s, b) = server.call(
        "POST",
        "/api/v1/apply",
        Some(TOKEN),
        Some(&stale.to_string()),
    );
    assert_eq!((s, b["error"].as_str()), (409, Some("conflict")), "{b}");
    let shrunk = server_config(&staff(&ten_refs[..6]));
    let (s, b) = server.call(
        "POST",
        "/api/v1/apply",
        Some(TOKEN),
        Some(&apply_body(&shrunk)),
    );
    assert_eq!((s, b["error"].as_str()), (409, Some("unsafe")), "{b}");
    assert!(
        b["message"]
            .as_str()
            .unwrap()
            .contains("4 of 10 staff would be removed"),
        "{b}"
    );

    assert_eq!(server.revision(), rev, "no refusal changed anything");
    assert_eq!(known(&server).len(), 10);

    // With force it goes through; 3 of 10 is within the rule anyway.
    let forced =
        json!({ "bundle": { "main": "pbx.yaml", "files": { "pbx.yaml": shrunk } }, "force": true });
    let (s, b) = server.call(
        "POST",
        "/api/v1/apply",
        Some(TOKEN),
        Some(&forced.to_string()),
    );
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["revision"], rev + 1);

    // Password rotation: a new one each time, only for someone who exists.
    let path = "/api/v1/tenants/acme/staff/person.1/password";
    let (s, first) = server.call("POST", path, Some(TOKEN), Some("{}"));
    assert_eq!(s, 200, "{first}");
    let (_, second) = server.call("POST", path, Some(TOKEN), Some("{}"));
    assert_eq!(first["password"].as_str().unwrap().len(), 20);
    assert_ne!(first["password"], second["password"]);
    let (s, _) = server.call(
        "POST",
        "/api/v1/tenants/acme/staff/nobody/password",
        Some(TOKEN),
        Some("{}"),
    );
    assert_eq!(s, 404);
    let (s, _) = server.call("POST", path, None, Some("{}"));
    assert_eq!(s, 401);
}

#[test]
fn apply_exit_codes() {
    let server = Server::start(&server_config(&staff(&["Анна"])));
    let client = tempfile::tempdir().unwrap();
    std::fs::write(
        client.path().join("pbx.yaml"),
        server_config(&staff(&["Анна", "Борис"])),
    )
    .unwrap();
    // Unauthorised.
    let out = Command::new(env!("CARGO_BIN_EXE_pbx"))
        .args(["apply", "--server", &server.url, "--auto-approve"])
        .current_dir(client.path())
        .env("PBX_ADMIN_TOKEN", "wrong")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(6));
    // Unreachable.
    let out = pbx_with_token(
        client.path(),
        &["apply", "--server", "http://127.0.0.1:9", "--auto-approve"],
    );
    assert_eq!(out.status.code(), Some(5));
    // Not confirmed (stdin is empty).
    let out = pbx_with_token(client.path(), &["apply", "--server", &server.url]);
    assert_eq!(out.status.code(), Some(7));
    // Invalid config.
    std::fs::write(
        client.path().join("pbx.yaml"),
        server_config("      - name: Анна\n        extension: \"04\"\n"),
    )
    .unwrap();
    let out = pbx_with_token(
        client.path(),
        &["apply", "--server", &server.url, "--auto-approve"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(server.revision(), 1);
}

#[test]
fn kill_during_applies_loses_no_acknowledged_apply() {
    let mut dir = {
        let server = Server::start(&server_config(&staff(&["Анна"])));
        server.stop()
    };
    for round in 0..4u64 {
        let server = Server::start_in(dir);
        let url = server.url.clone();
        let acked = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let worker = {
            let acked = acked.clone();
            std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .build()
                    .into();
                for i in 0..1000 {
                    let names: Vec<String> = (0..=(i % 7))
                        .map(|k| format!("R{round} P{k} N{i}"))
                        .collect();
                    let yaml = server_config(
                        &names
                            .iter()
                            .map(|n| format!("      - name: {n}\n"))
                            .collect::<String>(),
                    );
                    let body: Value = serde_json::from_str(&apply_body(&yaml)).unwrap();
                    let Ok(mut r) = agent
                        .post(format!("{url}/api/v1/apply"))
                        .header("Authorization", &format!("Bearer {TOKEN}"))
                        .send_json(&body)
                    else {
                        return;
                    };
                    let Ok(answer) = r.body_mut().read_json::<Value>() else {
                        return;
                    };
                    if let Some(rev) = answer["revision"].as_u64() {
                        acked.store(rev, std::sync::atomic::Ordering::SeqCst);
                    }
                }
            })
        };
        server.wait_until(
            &format!("round {round}: an apply acknowledged"),
            std::time::Duration::from_secs(15),
            || acked.load(std::sync::atomic::Ordering::SeqCst) > 0,
        );
        // Not a wait for anything: the kill lands at a different point of the stream of
        // applies each round.
        std::thread::sleep(std::time::Duration::from_millis(137 * round));
        dir = server.kill();
        let _ = worker.join();
        let last = acked.load(std::sync::atomic::Ordering::SeqCst);
        let restarted = Server::start_in(dir);
        let rev = restarted.revision();
        assert!(
            rev >= last,
            "round {round}: acknowledged revision {last}, but the store has {rev}"
        );
        dir = restarted.stop();
    }
    // A stopped server's state can be planned against and its passwords rotated offline.
    let data = dir.path().join("data");
    let out = pbx(
        dir.path(),
        &[
            "plan",
            "--state",
            data.to_str().unwrap(),
            "--detailed-exitcode",
        ],
    );
    assert!(
        matches!(out.status.code(), Some(0) | Some(2)),
        "{}",
        stdout(&out)
    );
}

#[test]
fn offline_plan_and_password_reset_on_a_state_directory() {
    let server = Server::start(&server_config(&staff(&["Анна", "Борис"])));
    let dir = server.stop();
    let plan = pbx(
        dir.path(),
        &["plan", "--state", "data", "--detailed-exitcode"],
    );
    assert_eq!(plan.status.code(), Some(0), "{}", stdout(&plan));
    assert!(stdout(&plan).starts_with("No changes"), "{}", stdout(&plan));

    let first = pbx(
        dir.path(),
        &["password", "reset", "acme", "anna", "--state", "data"],
    );
    let second = pbx(
        dir.path(),
        &["password", "reset", "acme", "anna", "--state", "data"],
    );
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        crate::support::stderr(&first)
    );
    assert!(stdout(&first).starts_with("New password for acme/anna: "));
    assert_ne!(stdout(&first), stdout(&second));
    let unknown = pbx(
        dir.path(),
        &["password", "reset", "acme", "nobody", "--state", "data"],
    );
    assert_eq!(unknown.status.code(), Some(1));

    // While a server holds the state directory, offline tools are turned away.
    let server = Server::start_in(dir);
    let busy = pbx(server.dir.path(), &["plan", "--state", "data"]);
    assert_eq!(busy.status.code(), Some(3));
    assert!(
        crate::support::stderr(&busy).contains("data"),
        "{}",
        crate::support::stderr(&busy)
    );
}

#[test]
fn editing_an_included_tenant_file_reloads() {
    let dir = tempfile::tempdir().unwrap();
    let main = server_config("      - name: Анна\n")
        .replace("tenants:\n", "include: [tenants/beta.yaml]\ntenants:\n");
    std::fs::write(dir.path().join("pbx.yaml"), main).unwrap();
    std::fs::create_dir(dir.path().join("tenants")).unwrap();
    let tenant =
        "id: beta\nname: Beta\ndomain: beta.example\nmax_users: 5\nstaff:\n  - name: Борис\n";
    std::fs::write(dir.path().join("tenants/beta.yaml"), tenant).unwrap();
    let server = Server::start_in(dir);
    assert_eq!(server.revision(), 1);
    save(
        &server.dir.path().join("tenants/beta.yaml"),
        &format!("{tenant}  - name: Вера\n"),
    );
    server.wait_for_revision(2);
    assert_eq!(known(&server).len(), 3);
}

/// POSTs `body` with the admin token and returns the status, reading the answer while the body
/// is still being sent: a server that refuses a body too large answers before it has read it
/// all and closes the connection, so a client that only reads once it has written everything
/// gets a broken pipe instead of the answer (a race the machine's load decides).
fn post_reading_early(server: &Server, path: &str, body: &str) -> u16 {
    use std::io::{Read, Write};
    let addr = server.url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    let mut writer = stream.try_clone().unwrap();
    std::thread::scope(|scope| {
        // The write may fail once the server has answered and closed: that is expected.
        scope.spawn(move || {
            let _ = writer.write_all(body.as_bytes());
        });
        let mut answer = Vec::new();
        let mut buf = [0u8; 4096];
        while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
                Err(e) => panic!(
                    "no answer to the POST ({e}); so far: {}",
                    String::from_utf8_lossy(&answer)
                ),
            }
        }
        let text = String::from_utf8_lossy(&answer);
        let status = text
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("not an HTTP answer: {text}"));
        // Let the writer stop: the server may have stopped reading.
        let _ = stream.shutdown(std::net::Shutdown::Both);
        status
    })
}

#[test]
fn a_rotated_password_hash_is_planned_and_applied() {
    let hashed = |md5: &str| {
        server_config(&format!(
            "      - name: Maria\n        login: maria\n        extension: \"201\"\n        password: {{ ha1: {{ md5: {md5} }} }}\n"
        ))
    };
    let server = Server::start(&hashed("0123456789abcdef0123456789abcdef"));
    let client = tempfile::tempdir().unwrap();
    std::fs::write(
        client.path().join("pbx.yaml"),
        hashed("fedcba9876543210fedcba9876543210"),
    )
    .unwrap();
    let plan = pbx_with_token(
        client.path(),
        &["plan", "--server", &server.url, "--detailed-exitcode"],
    );
    assert_eq!(plan.status.code(), Some(2), "{}", stdout(&plan));
    assert!(
        stdout(&plan).contains("password: \"digest hashes in the config\" -> \"(changed)\""),
        "{}",
        stdout(&plan)
    );
    let out = pbx_with_token(
        client.path(),
        &["apply", "--server", &server.url, "--auto-approve"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("Applied revision 2: 0 added, 1 changed, 0 removed."),
        "{}",
        stdout(&out)
    );
    assert!(std::fs::read_to_string(server.dir.path().join("pbx.yaml"))
        .unwrap()
        .contains("fedcba9876543210fedcba9876543210"));
}

/// A config that includes `./beta.yaml` validates, plans and applies alike: the bundle sent
/// keys the file as `beta.yaml`, which the server accepts and writes beside its main file.
#[test]
fn a_dot_slash_include_is_applied_as_validated() {
    let server = Server::start(&server_config(&staff(&["Иван Петров"])));
    let client = tempfile::tempdir().unwrap();
    let desired = server_config(&staff(&["Иван Петров"])) + "include:\n  - ./beta.yaml\n";
    std::fs::write(client.path().join("pbx.yaml"), &desired).unwrap();
    std::fs::write(
        client.path().join("beta.yaml"),
        "id: beta\nname: Beta\ndomain: beta.example\nmax_users: 5\nstaff:\n  - { name: Olga }\n",
    )
    .unwrap();
    let validate = pbx(client.path(), &["validate"]);
    assert_eq!(validate.status.code(), Some(0), "{}", stdout(&validate));
    let plan = pbx_with_token(
        client.path(),
        &["plan", "--server", &server.url, "--detailed-exitcode"],
    );
    assert_eq!(plan.status.code(), Some(2), "{}", stdout(&plan));
    let out = pbx_with_token(
        client.path(),
        &["apply", "--server", &server.url, "--auto-approve"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        crate::support::stderr(&out)
    );
    assert!(
        stdout(&out).contains("Applied revision 2"),
        "{}",
        stdout(&out)
    );
    assert!(server.dir.path().join("beta.yaml").is_file());
}

/// Two people of one name without a login, told apart by e-mail: when the first leaves, the
/// second keeps their login and password on the running server (their phone still registers)
/// and the leaver's login no longer works.
#[test]
fn a_namesake_leaving_hands_their_login_to_nobody() {
    use crate::sip::{register, Phone};
    let two = "      - { name: Иван Петров, email: first@acme.example }\n      - { name: Иван Петров, email: second@acme.example }\n";
    let server = Server::start(&server_config(two));
    let log = server.log();
    let password = |login: &str| {
        log.lines()
            .filter_map(|l| l.split("new credentials: ").nth(1))
            .find(|rest| rest.split_whitespace().next() == Some(&format!("acme/{login}")[..]))
            .and_then(|rest| rest.split_whitespace().last())
            .unwrap_or_else(|| panic!("{login}'s password in the log:\n{log}"))
            .to_owned()
    };
    let (first, second) = (password("ivan.petrov"), password("ivan.petrov2"));
    let file = server.dir.path().join("pbx.yaml");
    save(
        &file,
        &server_config("      - { name: Иван Петров, email: second@acme.example }\n"),
    );
    server.wait_for_revision(2);
    assert_eq!(
        known(&server)
            .iter()
            .filter(|(_, login, _)| login.starts_with("ivan"))
            .map(|(id, login, _)| (id.as_str(), login.as_str()))
            .collect::<Vec<_>>(),
        [
            ("name:Иван Петров#0", "ivan.petrov"),
            ("name:Иван Петров#1", "ivan.petrov2")
        ],
        "the store keeps the leaver's values; nobody took them"
    );
    let (_, state) = server.call("GET", "/api/v1/state", Some(TOKEN), None);
    let sip = server.sip.unwrap();
    let mut phone = Phone::new(sip);
    let (_, ok) = register(&mut phone, "ivan.petrov2", &second, "");
    assert!(
        ok.starts_with("SIP/2.0 200"),
        "the one who stayed: {ok}\n{state}"
    );
    let mut phone = Phone::new(sip);
    let (_, refused) = register(&mut phone, "ivan.petrov", &first, "");
    assert!(
        !refused.starts_with("SIP/2.0 200"),
        "the one who left: {refused}"
    );
}
