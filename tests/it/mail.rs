//! E-mail through a real `pbx serve` and a real SMTP server (aiosmtpd, `smtp_sink.py`): a staff
//! member with an e-mail address gets exactly one welcome letter (a text and an HTML part, with
//! the login and the password), and `pbx password reset --notify` a second one; nothing is sent
//! again across a restart; the outbox shows them sent and keeps no
//! password; a server that answers 451 first gets the letter once, on the retry, with the
//! `Message-ID` of the refused attempt; a letter sent again from the duplicate window (a kill
//! between the server's acceptance and the mark, replayed with a copy of the data directory)
//! carries the same `Message-ID`; a letter written
//! while the mail server is down arrives once after a `kill -9` and a restart; a missed call
//! (SIPp: the callee's phone is busy, the caller hangs up in the voicemail greeting) mails a
//! missed-call letter to the callee who asked for them, once, and nothing to one who did not; a voicemail
//! letter carries its recording as `audio/wav`, or says it is gone; letters wait while no
//! `server.smtp` is configured and go out once a reload adds it.

use crate::peers::{credentials, ok, phone, scenario_path, sipp};
use crate::support::{server_config, wait_until_or, Server, TOKEN};
use mail_parser::MimeHeaders;
use pbx::mail::payload::Recipient;
use pbx::media::wav;
use pbx::serve::voicemail::{spawn, Recording};
use pbx::store::{Delivery, Outbox, Store, VoicemailIndex};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

/// The Python with aiosmtpd (Debian's `python3-aiosmtpd` installs into the system Python).
pub(crate) fn python() -> String {
    for candidate in ["/usr/bin/python3", "python3"] {
        let ok = Command::new(candidate)
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return candidate.to_owned();
        }
    }
    panic!("no python3 with aiosmtpd: install python3-aiosmtpd (ci/test.sh does)");
}

/// An SMTP server writing what it accepts into a directory.
pub(crate) struct Sink {
    child: Child,
    pub(crate) port: u16,
    dir: tempfile::TempDir,
}

impl Sink {
    /// Starts one that answers the first `fail` letters with 451.
    pub(crate) fn start(fail: u32) -> Sink {
        Sink::spawn(&["--fail".as_ref(), fail.to_string().as_ref()])
    }

    /// Starts one that answers every recipient with 451 until the file `gate` exists.
    fn start_gated(gate: &Path) -> Sink {
        Sink::spawn(&["--gate".as_ref(), gate.as_os_str()])
    }

    /// Starts `smtp_sink.py DIR ARGS...` (see its usage).
    pub(crate) fn spawn(args: &[&std::ffi::OsStr]) -> Sink {
        let dir = tempfile::tempdir().unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/smtp_sink.py");
        let mut child = Command::new(python())
            .arg(script)
            .arg(dir.path())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the SMTP sink starts");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("the SMTP sink printed {line:?}, not its port"));
        Sink { child, port, dir }
    }

    /// The files of the sink's directory ending in `.extension`, in order.
    fn files(&self, extension: &str) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == extension))
            .collect();
        files.sort();
        files
    }

    /// The letters received so far, in order.
    pub(crate) fn letters(&self) -> Vec<PathBuf> {
        self.files("eml")
    }

    /// The letters answered 451 at their data so far, in order.
    fn refused(&self) -> Vec<PathBuf> {
        self.files("refused")
    }

    /// How `letter` came: the TLS version (`TLSv1.3`), or `clear`.
    pub(crate) fn via(letter: &Path) -> String {
        std::fs::read_to_string(letter.with_extension("via")).unwrap()
    }

    /// The config's `server.smtp` towards this sink.
    fn smtp_yaml(&self) -> String {
        format!(
            "  smtp: {{ host: 127.0.0.1, port: {}, security: none, from: \"PBX <pbx@example.com>\" }}\n",
            self.port
        )
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A config with `server.smtp` towards `sink` and Anna, who has an e-mail address.
fn config(sink: &Sink) -> String {
    server_config(
        "      - name: Anna Smith\n        login: anna\n        email: anna@example.com\n      - name: Boris\n",
    )
    .replacen("server:\n", &format!("server:\n{}", sink.smtp_yaml()), 1)
}

/// Anna's password, from the log line that shows new credentials.
pub(crate) fn password(server: &Server) -> String {
    server.wait_for_log("new credentials: acme/anna");
    let log = server.log();
    log.lines()
        .find_map(|l| {
            l.split("new credentials: acme/anna ")
                .nth(1)
                .and_then(|rest| rest.split(" password ").nth(1))
                .map(|p| p.trim().to_owned())
        })
        .expect("the log shows Anna's password")
}

pub(crate) fn outbox(server: &Server) -> Vec<serde_json::Value> {
    let mut response = ureq::get(&format!("{}/api/v1/outbox", server.url))
        .header("Authorization", &format!("Bearer {TOKEN}"))
        .call()
        .expect("GET /api/v1/outbox");
    response.body_mut().read_json().unwrap()
}

/// `pbx password reset acme anna --notify` against `server`; it must succeed.
fn reset_with_notify(server: &Server) -> std::process::Output {
    let reset = Command::new(env!("CARGO_BIN_EXE_pbx"))
        .args([
            "password",
            "reset",
            "acme",
            "anna",
            "--notify",
            "--server",
            &server.url,
        ])
        .env("PBX_ADMIN_TOKEN", TOKEN)
        .output()
        .unwrap();
    assert!(reset.status.success(), "{reset:?}");
    reset
}

/// Waits until no letter is pending: the sender sends only pending letters, so from then on
/// nothing more can arrive — what the sink holds is everything that will.
pub(crate) fn settled(server: &Server) {
    wait_until_or(
        "no letter pending",
        Duration::from_secs(30),
        || outbox(server).iter().all(|e| e["state"] != "pending"),
        || server.log(),
    );
}

#[test]
fn a_welcome_letter_arrives_once_with_the_password_which_the_outbox_then_forgets() {
    let sink = Sink::start(0);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pbx.yaml"), config(&sink)).unwrap();
    let server = Server::start_in(dir);
    let password = password(&server);
    wait_until_or(
        "the welcome letter arrives",
        Duration::from_secs(20),
        || !sink.letters().is_empty(),
        || server.log(),
    );
    let letters = sink.letters();
    assert_eq!(letters.len(), 1, "{letters:?}");
    let raw = std::fs::read(&letters[0]).unwrap();
    let letter = mail_parser::MessageParser::default()
        .parse(&raw)
        .expect("a parsable letter");
    let to = letter
        .to()
        .and_then(|a| a.first())
        .and_then(|a| a.address());
    assert_eq!(to, Some("anna@example.com"));
    assert_eq!(letter.subject(), Some("Ваш телефон в Acme: логин anna"));
    let text = letter.body_text(0).expect("a text part");
    let html = letter.body_html(0).expect("an HTML part");
    for part in [&text, &html] {
        assert!(part.contains("anna"), "{part}");
        assert!(part.contains(&password), "{part}");
    }
    assert!(text.contains("Здравствуйте, Anna Smith!"), "{text}");
    assert!(letter
        .message_id()
        .is_some_and(|id| id.starts_with("pbx-outbox-")));

    // The letter reaches the sink a moment before the outbox says so.
    settled(&server);
    let entries = outbox(&server);
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["kind"], "welcome_letter");
    assert_eq!(entries[0]["to"], "anna@example.com");
    assert_eq!(entries[0]["state"], "sent");
    assert_eq!(entries[0]["attempts"], 1);
    assert!(!entries[0].to_string().contains(&password));

    // `pbx password reset --notify` mails the new password in a second letter.
    let reset = reset_with_notify(&server);
    let out = String::from_utf8_lossy(&reset.stdout);
    let new_password = out.trim().rsplit(' ').next().unwrap().to_owned();
    assert_ne!(new_password, password);
    wait_until_or(
        "the second letter arrives",
        Duration::from_secs(20),
        || sink.letters().len() == 2,
        || server.log(),
    );
    let raw = std::fs::read(&sink.letters()[1]).unwrap();
    let second = mail_parser::MessageParser::default().parse(&raw).unwrap();
    assert!(second.body_text(0).unwrap().contains(&new_password));

    // A restart sends nothing again.
    let dir = server.stop();
    let server = Server::start_in(dir);
    settled(&server);
    assert_eq!(sink.letters().len(), 2, "{}", server.log());
    assert!(outbox(&server).iter().all(|e| e["state"] == "sent"));

    // The stored payload kept everything but the password.
    let dir = server.stop();
    let store = Store::open(&dir.path().join("data")).unwrap();
    let stored = store.outbox(10).unwrap();
    assert_eq!(stored.len(), 2);
    for entry in &stored {
        assert!(matches!(entry.delivery, Delivery::Sent { .. }));
        assert_eq!(entry.payload["login"], "anna");
        assert_eq!(entry.payload["password"], serde_json::Value::Null);
        let kept = serde_json::to_string(&entry.payload).unwrap();
        assert!(!kept.contains(&password) && !kept.contains(&new_password));
    }
}

/// `server.smtp.templates`: a custom welcome template's text is what arrives (the HTML part
/// stays built in), and a reload with unchanged config files picks up a changed template.
#[test]
fn a_custom_welcome_template_is_what_arrives_and_a_reload_picks_up_its_change() {
    let sink = Sink::start(0);
    let dir = tempfile::tempdir().unwrap();
    let yaml = config(&sink).replacen("security: none,", "security: none, templates: mail,", 1);
    assert!(yaml.contains("templates: mail"), "{yaml}");
    std::fs::write(dir.path().join("pbx.yaml"), yaml).unwrap();
    std::fs::create_dir_all(dir.path().join("mail/ru")).unwrap();
    let template = dir.path().join("mail/ru/welcome.txt");
    std::fs::write(
        &template,
        "Добро пожаловать в {{ company }}, {{ name }}\n\nЛогин {{ login }}, пароль {{ password }}.\n",
    )
    .unwrap();
    let server = Server::start_in(dir);
    let password = password(&server);
    wait_until_or(
        "the welcome letter arrives",
        Duration::from_secs(20),
        || !sink.letters().is_empty(),
        || server.log(),
    );
    let raw = std::fs::read(&sink.letters()[0]).unwrap();
    let letter = mail_parser::MessageParser::default().parse(&raw).unwrap();
    assert_eq!(
        letter.subject(),
        Some("Добро пожаловать в Acme, Anna Smith")
    );
    let text = letter.body_text(0).unwrap();
    assert_eq!(text.trim(), format!("Логин anna, пароль {password}."));
    assert!(letter
        .body_html(0)
        .unwrap()
        .contains("Здравствуйте, Anna Smith!"));

    // A broken change is refused on reload (the running set stays); a good one replaces it.
    std::fs::write(&template, "{{ nobody }}\n\n").unwrap();
    server.hangup();
    server.wait_for_log("the running templates stay");
    std::fs::write(
        &template,
        "Новый пароль для {{ login }}\n\n{{ password }}\n",
    )
    .unwrap();
    server.hangup();
    server.wait_for_log("mail templates reloaded");
    reset_with_notify(&server);
    wait_until_or(
        "the second letter arrives",
        Duration::from_secs(20),
        || sink.letters().len() == 2,
        || server.log(),
    );
    let raw = std::fs::read(&sink.letters()[1]).unwrap();
    let second = mail_parser::MessageParser::default().parse(&raw).unwrap();
    assert_eq!(second.subject(), Some("Новый пароль для anna"));
}

/// Exactly once across `kill -9`, for a letter written while the mail server is down. The
/// sink keeps its port for the whole test (no released port is handed on, so nothing else can
/// take it) but refuses every recipient with 451 until the test creates its gate file: at the
/// apply the mail server is down for mail, the letter waits in the outbox for its retry, the
/// PBX is killed with SIGKILL, the gate opens, and the restarted PBX sends the letter it had
/// written before the kill (with the password of that apply) — once, and not again after a
/// second kill and restart.
#[test]
fn a_letter_written_while_the_mail_server_is_down_arrives_once_across_kill_9() {
    let gate_dir = tempfile::tempdir().unwrap();
    let gate = gate_dir.path().join("open");
    let sink = Sink::start_gated(&gate);
    let server = Server::start(&config(&sink));
    let password = password(&server);
    server.wait_for_log("trying again in 10 s");
    assert!(sink.letters().is_empty());
    assert_eq!(outbox(&server)[0]["state"], "pending");
    let dir = server.kill();

    std::fs::write(&gate, b"").unwrap();
    let server = Server::start_in(dir);
    wait_until_or(
        "the letter arrives after the restart",
        Duration::from_secs(30),
        || !sink.letters().is_empty(),
        || server.log(),
    );
    settled(&server);
    let letters = sink.letters();
    assert_eq!(letters.len(), 1, "{}", server.log());
    let raw = std::fs::read(&letters[0]).unwrap();
    let letter = mail_parser::MessageParser::default().parse(&raw).unwrap();
    assert!(letter.body_text(0).unwrap().contains(&password));
    assert!(
        !server.log().contains("new credentials"),
        "the restart made no new password: {}",
        server.log()
    );
    let sent = outbox(&server);
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (sent[0]["state"].as_str(), sent[0]["attempts"].as_u64()),
        (Some("sent"), Some(2))
    );

    // Killed again once it was sent: the next start sends nothing.
    let dir = server.kill();
    let server = Server::start_in(dir);
    settled(&server);
    assert_eq!(sink.letters().len(), 1, "{}", server.log());
    assert_eq!(outbox(&server)[0]["state"], "sent");
}

/// A letter answered 451 at its data goes once, on the retry, with the `Message-ID` the refused
/// attempt carried.
#[test]
fn a_letter_answered_451_is_sent_once_on_the_retry() {
    let sink = Sink::start(1);
    let server = Server::start(&config(&sink));
    let password = password(&server);
    server.wait_for_log("trying again in 10 s");
    assert!(sink.letters().is_empty());
    let pending = outbox(&server);
    assert_eq!(pending[0]["state"], "pending");
    assert!(pending[0]["last_error"]
        .as_str()
        .unwrap_or("")
        .contains("451"));
    wait_until_or(
        "the letter arrives on the retry",
        Duration::from_secs(30),
        || !sink.letters().is_empty(),
        || server.log(),
    );
    settled(&server);
    let letters = sink.letters();
    assert_eq!(letters.len(), 1);
    let raw = std::fs::read(&letters[0]).unwrap();
    let letter = mail_parser::MessageParser::default().parse(&raw).unwrap();
    assert!(letter.body_text(0).unwrap().contains(&password));
    let refused = sink.refused();
    assert_eq!(refused.len(), 1);
    let raw = std::fs::read(&refused[0]).unwrap();
    let first = mail_parser::MessageParser::default().parse(&raw).unwrap();
    assert!(letter
        .message_id()
        .is_some_and(|id| id.starts_with("pbx-outbox-")));
    assert_eq!(first.message_id(), letter.message_id());
    let sent = outbox(&server);
    assert_eq!(
        (sent[0]["state"].as_str(), sent[0]["attempts"].as_u64()),
        (Some("sent"), Some(2))
    );
}

/// Copies directory `from` into `to`, recursively (a stopped server's directory).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The duplicate window, replayed: a kill between the SMTP server's 250 and the mark leaves
/// the store with the letter still pending — the state a copy of the data directory keeps,
/// taken from a server killed while the letter waited. The letter is sent from the original;
/// then a server started on the copy sends it once more (the window is too short to hit with
/// a kill on purpose, its outcome is this one): both arrive with the same `Message-ID` and
/// body, so the receiving side can tell the second for a duplicate.
#[test]
fn a_letter_sent_again_from_the_duplicate_window_carries_the_same_message_id() {
    let gate_dir = tempfile::tempdir().unwrap();
    let gate = gate_dir.path().join("open");
    let sink = Sink::start_gated(&gate);
    let server = Server::start(&config(&sink));
    let password = password(&server);
    server.wait_for_log("trying again in 10 s");
    let dir = server.kill();
    let copy = tempfile::tempdir().unwrap();
    copy_dir(dir.path(), copy.path());

    std::fs::write(&gate, b"").unwrap();
    let server = Server::start_in(dir);
    wait_until_or(
        "the letter arrives",
        Duration::from_secs(30),
        || !sink.letters().is_empty(),
        || server.log(),
    );
    settled(&server);
    drop(server.stop());
    let server = Server::start_in(copy);
    wait_until_or(
        "the letter arrives again from the copy",
        Duration::from_secs(30),
        || sink.letters().len() >= 2,
        || server.log(),
    );
    settled(&server);
    let raws: Vec<Vec<u8>> = sink
        .letters()
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    assert_eq!(raws.len(), 2, "{}", server.log());
    let letters: Vec<_> = raws
        .iter()
        .map(|raw| mail_parser::MessageParser::default().parse(raw).unwrap())
        .collect();
    let id = letters[0].message_id().expect("a Message-ID");
    assert!(id.starts_with("pbx-outbox-"), "{id}");
    assert_eq!(letters[1].message_id(), Some(id));
    assert_eq!(letters[0].body_text(0), letters[1].body_text(0));
    assert!(letters[1].body_text(0).unwrap().contains(&password));
}

/// Leaves one message per recording in `data` through the voicemail writer (no server runs:
/// the store is locked per process).
fn leave(data: &Path, recordings: Vec<Recording>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = Arc::new(Store::open(data).unwrap());
    runtime.block_on(async {
        let writer = spawn(store.clone(), data.to_owned(), 16);
        for r in recordings {
            assert!(writer.offer(r));
        }
        writer.clone().close().await;
    });
    drop(runtime);
    let store = Arc::into_inner(store).expect("the writer let go of the store");
    store.flush().unwrap();
}

#[test]
fn a_voicemail_letter_carries_its_recording_or_says_it_is_gone() {
    let sink = Sink::start(0);
    let dir = tempfile::tempdir().unwrap();
    let yaml = server_config("      - name: Anna\n").replacen(
        "server:\n",
        &format!("server:\n{}", sink.smtp_yaml()),
        1,
    );
    std::fs::write(dir.path().join("pbx.yaml"), yaml).unwrap();
    let data = dir.path().join("data");
    let pcm: Vec<i16> = (0..8_000)
        .map(|i| ((i * 37) % 20_000 - 10_000) as i16)
        .collect();
    let recording = |at: u64| Recording {
        tenant: "acme".into(),
        mailbox: "staff:anna".into(),
        caller: "+79161112233".into(),
        number: Some("+74951234567".into()),
        received_ms: at,
        pcm: pcm.clone(),
        keep: 10,
        notify: vec![Recipient {
            email: "anna@example.com".into(),
            language: "en".into(),
            timezone: "UTC".into(),
        }],
    };
    leave(&data, vec![recording(1_000), recording(2_000)]);
    // The second message's recording is gone before its letter is sent.
    let gone = {
        let store = Store::open(&data).unwrap();
        let newest = store.voicemails("acme", None).unwrap()[0].clone();
        std::fs::remove_file(data.join(&newest.file)).unwrap();
        newest.id
    };
    let server = Server::start_in(dir);
    wait_until_or(
        "both voicemail letters arrive",
        Duration::from_secs(20),
        || sink.letters().len() >= 2,
        || server.log(),
    );
    settled(&server);
    let letters = sink.letters();
    assert_eq!(letters.len(), 2);
    let raws: Vec<Vec<u8>> = letters.iter().map(|p| std::fs::read(p).unwrap()).collect();
    let parsed: Vec<_> = raws
        .iter()
        .map(|raw| mail_parser::MessageParser::default().parse(raw).unwrap())
        .collect();
    for letter in &parsed {
        assert_eq!(
            letter.subject(),
            Some("New voicemail from +79161112233 (0:01)")
        );
        let text = letter.body_text(0).unwrap();
        let with_file = letter.attachment_count() == 1;
        if with_file {
            let attachment = letter.attachment(0).unwrap();
            assert!(attachment.is_content_type("audio", "wav"));
            assert_ne!(
                attachment.attachment_name(),
                Some(format!("voicemail-{gone}.wav").as_str())
            );
            assert_eq!(attachment.contents(), wav::write(&pcm).as_slice());
            assert!(text.contains("The recording is attached"), "{text}");
        } else {
            assert_eq!(letter.attachment_count(), 0);
            assert!(text.contains("no longer on the server"), "{text}");
        }
    }
    assert_eq!(
        parsed.iter().filter(|l| l.attachment_count() == 1).count(),
        1
    );
    let entries = outbox(&server);
    assert_eq!(entries.len(), 2);
    assert!(entries
        .iter()
        .all(|e| e["state"] == "sent" && e["kind"] == "voicemail_letter"));
}

#[test]
fn letters_wait_without_smtp_and_go_out_once_a_config_has_it() {
    let sink = Sink::start(0);
    let with_smtp = config(&sink);
    let without = with_smtp.replacen(&sink.smtp_yaml(), "", 1);
    let server = Server::start(&without);
    let password = password(&server);
    server.wait_for_log("letters wait in the outbox: no server.smtp is configured");
    assert_eq!(outbox(&server)[0]["state"], "pending");
    // The same staff with `server.smtp` added: a hot reload, no new password.
    std::fs::write(server.dir.path().join("pbx.yaml"), &with_smtp).unwrap();
    server.wait_for_revision(2);
    wait_until_or(
        "the waiting letter arrives",
        Duration::from_secs(20),
        || !sink.letters().is_empty(),
        || server.log(),
    );
    settled(&server);
    let letters = sink.letters();
    assert_eq!(letters.len(), 1);
    let raw = std::fs::read(&letters[0]).unwrap();
    let letter = mail_parser::MessageParser::default().parse(&raw).unwrap();
    assert!(letter.body_text(0).unwrap().contains(&password));
    assert_eq!(
        server.log().matches("letters wait in the outbox").count(),
        1
    );
}

/// A missed call end to end: Maria (who has an e-mail and `notify: { missed_calls: true }`)
/// is busy on her phone (SIPp answers 486), Ivan hears her voicemail greeting and hangs up in
/// it, so the call ends `missed`; Maria gets one `missed_call_letter` with the caller, the
/// time and who it was offered to, and a restart sends nothing again. Ivan's call to Oleg
/// (who has an e-mail but did not ask) mails nothing.
#[test]
fn a_missed_call_mails_a_notice_to_the_callee_who_asked_for_one() {
    let sink = Sink::start(0);
    let staff = "      - { name: Ivan, login: ivan, extension: \"201\", password: \"ivan-secret-2024\" }\n      - { name: Maria, login: maria, extension: \"202\", password: \"maria-secret-2024\", email: maria@example.com, notify: { missed_calls: true } }\n      - { name: Oleg, login: oleg, extension: \"203\", password: \"oleg-secret-2024\", email: oleg@example.com }\n";
    let yaml =
        server_config(staff).replacen("server:\n", &format!("server:\n{}", sink.smtp_yaml()), 1);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pbx.yaml"), yaml).unwrap();
    let server = Server::start_in(dir);
    let peers = tempfile::tempdir().unwrap();
    let call = |callee: (&str, &str), extension: &str| {
        let uas = phone(&server, peers.path(), callee, "uas_busy.xml", 1);
        let csv = credentials(peers.path(), ("ivan", "ivan-secret-2024"));
        let scenario = scenario_path("uac_call.xml");
        let out = sipp(
            server.sip.unwrap(),
            peers.path(),
            scenario.to_str().unwrap(),
            &["-inf", &csv, "-s", extension, "-d", "200"],
        )
        .output()
        .unwrap();
        ok(&out, "the caller");
        uas.finished("the callee");
    };
    call(("oleg", "oleg-secret-2024"), "203");
    call(("maria", "maria-secret-2024"), "202");
    let records = server.history("acme", 2);
    assert!(
        records.iter().all(|r| r["outcome"] == "missed"),
        "{records:?}"
    );
    wait_until_or(
        "the missed-call letter arrives",
        Duration::from_secs(20),
        || !sink.letters().is_empty(),
        || server.log(),
    );
    settled(&server);
    let letters = sink.letters();
    assert_eq!(letters.len(), 1, "{}", server.log());
    let raw = std::fs::read(&letters[0]).unwrap();
    let letter = mail_parser::MessageParser::default().parse(&raw).unwrap();
    let to = letter
        .to()
        .and_then(|a| a.first())
        .and_then(|a| a.address());
    assert_eq!(to, Some("maria@example.com"));
    assert_eq!(letter.subject(), Some("Пропущенный звонок от ivan"));
    let text = letter.body_text(0).unwrap();
    assert!(text.contains("Кому звонил: maria"), "{text}");
    assert!(text.contains("Время:"), "{text}");
    assert!(letter.body_html(0).unwrap().contains("maria"));
    let entries = outbox(&server);
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(
        (entries[0]["kind"].as_str(), entries[0]["state"].as_str()),
        (Some("missed_call_letter"), Some("sent"))
    );

    let dir = server.kill();
    let server = Server::start_in(dir);
    settled(&server);
    assert_eq!(sink.letters().len(), 1, "{}", server.log());
}
