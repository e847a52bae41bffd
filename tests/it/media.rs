//! The PBX answering calls itself, on the wire: SIPp calls a company number through the trunk
//! and sends real RTP (pcap streams made by `audio`): a voicemail whose stored WAV must hold
//! the tone the caller sent; a voice menu whose key — sent as RFC 4733 events, as SIP INFO and
//! as in-band tones — must ring the right department's phone (a SIPp phone that answers); a
//! number's greeting heard as early media (read off the wire by the test) before the ringback
//! tone, while the department's phone rings; a voicemail greeting uploaded in the cabinet heard
//! by the next caller.

use crate::audio;
use crate::peers::{ok, phone, scenario_path, sipp_on};
use crate::support::Server;
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

const ANNA: (&str, &str) = ("anna", "anna-secret-2024");
const BORIS: (&str, &str) = ("boris", "boris-secret-2024");
const DID: &str = "+74950000001";

/// Tenant acme (English prompts) with anna and boris, a trunk on 127.0.0.2:`trunk_port`, and
/// `extra` (departments, menus, numbers).
fn config(trunk_port: u16, extra: &str) -> String {
    format!(
        "version: 1\nserver:\n  http: {{ listen: \"127.0.0.1:0\" }}\n  sip:\n    listen: [{{ transport: udp, address: \"127.0.0.1:0\" }}]\ntenants:\n  - id: acme\n    name: Acme\n    domain: acme.example\n    max_users: 10\n    timezone: Europe/Moscow\n    language: en\n    voicemail: {{ silence: 10s, min_length: 1s }}\n    trunks:\n      - {{ id: gw, host: 127.0.0.2, port: {trunk_port} }}\n    staff:\n      - {{ name: Anna, login: anna, extension: \"210\", password: \"{}\" }}\n      - {{ name: Boris, login: boris, extension: \"211\", password: \"{}\" }}\n{extra}",
        ANNA.1, BORIS.1
    )
}

/// A trunk address nobody answers at (the calls come from it; none go out).
fn trunk() -> (UdpSocket, u16) {
    let socket = UdpSocket::bind("127.0.0.2:0").unwrap();
    let port = socket.local_addr().unwrap().port();
    (socket, port)
}

/// A call from outside to `DID` with `scenario`, holding `hold_ms` after the answer, with
/// SIPp keys `keys`.
fn call(
    server: &Server,
    dir: &Path,
    scenario: &str,
    hold_ms: u32,
    keys: &[(&str, &str)],
) -> Output {
    let trace = dir.join(format!("{scenario}.log"));
    let mut args: Vec<String> = vec![
        "-s".into(),
        DID.into(),
        "-key".into(),
        "from_number".into(),
        "+79161112233".into(),
        "-d".into(),
        hold_ms.to_string(),
        "-trace_msg".into(),
        "-message_file".into(),
        trace.to_string_lossy().into_owned(),
    ];
    for (k, v) in keys {
        args.extend(["-key".into(), k.to_string(), v.to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    sipp_on(
        "127.0.0.2",
        server.sip.unwrap(),
        dir,
        scenario_path(scenario).to_str().unwrap(),
        &args,
    )
    .output()
    .unwrap()
}

/// The voicemail recordings under the server's directory.
fn recordings(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "wav")
                && p.components().any(|c| c.as_os_str() == "voicemail")
            {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn a_caller_leaves_a_voicemail_and_the_stored_wav_holds_the_tone_it_sent() {
    let (_trunk, port) = trunk();
    let server = Server::start(&config(
        port,
        &format!(
            "    numbers:\n      - {{ number: \"{DID}\", destination: {{ voicemail: anna }} }}\n"
        ),
    ));
    let dir = tempfile::tempdir().unwrap();
    // The greeting plays for about 2.5 s: the caller is quiet 4 s, then a 440 Hz tone for 3 s.
    let pcap = dir.path().join("tone.pcap");
    let mut pcm = audio::silence(4000);
    pcm.extend(audio::sine(440.0, 3000, 0.3));
    pcm.extend(audio::silence(500));
    audio::audio_pcap(&pcap, &pcm);
    let out = call(
        &server,
        dir.path(),
        "trunk_call_audio.xml",
        9000,
        &[("pcap", pcap.to_str().unwrap())],
    );
    ok(&out, "the caller");
    let record = &server.history("acme", 1)[0];
    assert_eq!(record["outcome"], "voicemail", "{record}");
    let files = server.wait_for("the recording", Duration::from_secs(10), || {
        let files = recordings(server.dir.path());
        (!files.is_empty()).then_some(files)
    });
    assert_eq!(files.len(), 1, "{files:?}");
    let pcm = pbx::media::wav::read(&std::fs::read(&files[0]).unwrap()).unwrap();
    let (start, end) = audio::loud_span(&pcm).expect("the recording holds the tone");
    let secs = (end - start) as f64 / 8000.0;
    assert!(
        (secs - 3.0).abs() <= 0.3,
        "the tone lasted {secs} s in the recording"
    );
    let freq = audio::frequency(&pcm[start..end]);
    assert!(
        (freq - 440.0).abs() <= 8.8,
        "the tone was {freq} Hz in the recording"
    );
}

/// A menu on `DID`: 1 rings department sales (anna), 2 rings support (boris).
fn menu_config(port: u16, prompt: &Path) -> String {
    config(
        port,
        &format!(
            "    departments:\n      - {{ id: sales, strategy: all_at_once, members: [anna] }}\n      - {{ id: support, strategy: all_at_once, members: [boris] }}\n    menus:\n      - {{ id: main, prompt: \"{}\", options: {{ \"1\": {{ department: sales }}, \"2\": {{ department: support }} }}, timeout: 5s }}\n    numbers:\n      - {{ number: \"{DID}\", destination: {{ menu: main }} }}\n",
            prompt.display()
        ),
    )
}

/// A short menu prompt (a 600 Hz tone, 1 s), written into `dir`.
fn prompt(dir: &Path) -> PathBuf {
    let path = dir.join("menu.wav");
    std::fs::write(
        &path,
        pbx::media::wav::write(&audio::sine(600.0, 1000, 0.2)),
    )
    .unwrap();
    path
}

#[test]
fn a_menu_key_sent_as_rfc4733_events_rings_the_department_it_names() {
    menu_call(|dir| {
        let pcap = dir.join("key2.pcap");
        audio::events_pcap(&pcap, 101, 500, "2");
        (
            "trunk_call_audio.xml",
            vec![("pcap".into(), pcap.to_string_lossy().into_owned())],
        )
    });
}

#[test]
fn a_menu_key_sent_as_sip_info_rings_the_department_it_names() {
    menu_call(|_| ("trunk_call_info.xml", vec![("digit".into(), "2".into())]));
}

#[test]
fn a_menu_key_sent_as_in_band_tones_rings_the_department_it_names() {
    menu_call(|dir| {
        let pcap = dir.join("inband2.pcap");
        let mut pcm = audio::silence(500);
        pcm.extend(pbx::media::tone::dtmf('2', 120, 400));
        audio::audio_pcap(&pcap, &pcm);
        (
            "trunk_call_audio.xml",
            vec![("pcap".into(), pcap.to_string_lossy().into_owned())],
        )
    });
}

/// A caller presses 2 in the menu the way `how` sends it: boris (support) gets the call and
/// answers; anna (sales) never rings.
fn menu_call(how: impl FnOnce(&Path) -> (&'static str, Vec<(String, String)>)) {
    let (_trunk, port) = trunk();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&menu_config(port, &prompt(dir.path())));
    let boris = phone(&server, dir.path(), BORIS, "uas_answer.xml", 1);
    let (scenario, keys) = how(dir.path());
    let keys: Vec<(&str, &str)> = keys.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let out = call(&server, dir.path(), scenario, 6000, &keys);
    ok(&out, "the caller");
    boris.finished("boris took the call");
    let record = &server.history("acme", 1)[0];
    assert_eq!(record["outcome"], "answered", "{record}");
    assert_eq!(record["answered_by"], "boris", "{record}");
}

/// A socket the caller's audio is pointed at, its port, and the thread that collects what
/// arrives (μ-law decoded) until the stream has stopped for a second.
fn listen() -> (String, std::thread::JoinHandle<Vec<i16>>) {
    let sink = UdpSocket::bind("127.0.0.1:0").unwrap();
    sink.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let sink_port = sink.local_addr().unwrap().port().to_string();
    let listener = std::thread::spawn(move || {
        let mut heard = Vec::new();
        let mut buf = [0u8; 1500];
        let mut quiet = 0;
        while quiet < 5 || heard.is_empty() {
            match sink.recv(&mut buf) {
                Ok(n) => {
                    quiet = 0;
                    if let Some((h, payload)) = pbx::media::rtp::parse(&buf[..n]) {
                        if h.payload_type == 0 {
                            pbx::media::g711::decode_into(
                                pbx::media::g711::Law::Mu,
                                payload,
                                &mut heard,
                            );
                        }
                    }
                }
                Err(_) => quiet += 1,
            }
            if heard.len() > 8000 * 30 {
                break;
            }
        }
        heard
    });
    (sink_port, listener)
}

#[test]
fn a_greeting_uploaded_in_the_cabinet_is_what_callers_reaching_voicemail_hear() {
    let (_trunk, port) = trunk();
    let yaml = config(
        port,
        &format!(
            "    numbers:\n      - {{ number: \"{DID}\", destination: {{ voicemail: anna }} }}\n"
        ),
    )
    .replace(
        "  http: {",
        "  cabinet: { listen: \"127.0.0.1:0\" }\n  http: {",
    );
    let server = Server::start(&yaml);
    let log = server.log();
    let cabinet = log
        .lines()
        .find_map(|l| l.split("cabinet on ").nth(1))
        .unwrap()
        .trim()
        .to_owned();
    let mut anna = crate::cabinet::Browser::new(&cabinet);
    assert_eq!(anna.sign_in("acme.example", ANNA.0, ANNA.1).status, 200);
    // 1.5 s of 1 kHz, 44.1 kHz stereo as a sound editor saves it.
    let put = anna.put_bytes(
        "/api/acme/profile/greeting",
        "audio/wav",
        &crate::cabinet::greeting_wav(),
    );
    assert_eq!(put.status, 204, "{}", put.body);
    let dir = tempfile::tempdir().unwrap();
    let (sink_port, listener) = listen();
    let out = call(
        &server,
        dir.path(),
        "trunk_call_hear.xml",
        3000,
        &[("sink_port", &sink_port)],
    );
    ok(&out, "the caller");
    let heard = listener.join().unwrap();
    assert!(heard.len() >= 8000 * 2, "heard {} samples", heard.len());
    // The built-in greeting is speech: a steady 1 kHz for 1.4 s is the upload.
    assert!(
        audio::share_of(&heard[400..11_600], 1000.0) > 0.8,
        "the uploaded greeting (1 kHz) first"
    );
    // Not drift: the plan lists it apart.
    let plan = std::process::Command::new(env!("CARGO_BIN_EXE_pbx"))
        .args(["plan", "--server", &server.url, "--detailed-exitcode"])
        .current_dir(server.dir.path())
        .env("PBX_ADMIN_TOKEN", crate::support::TOKEN)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&plan.stdout);
    assert_eq!(plan.status.code(), Some(0), "no drift: {text}");
    assert!(
        text.contains("  acme/anna: voicemail greeting uploaded (2s)\n"),
        "{text}"
    );
}

#[test]
fn a_number_s_greeting_is_heard_as_early_media_and_then_the_ringback_tone() {
    let (_trunk, port) = trunk();
    let dir = tempfile::tempdir().unwrap();
    // The greeting's signature: 1 s of 1 kHz.
    let greeting = dir.path().join("greeting.wav");
    std::fs::write(
        &greeting,
        pbx::media::wav::write(&audio::sine(1000.0, 1000, 0.2)),
    )
    .unwrap();
    let server = Server::start(&config(
        port,
        &format!(
            "    departments:\n      - {{ id: sales, strategy: all_at_once, members: [anna] }}\n    numbers:\n      - {{ number: \"{DID}\", destination: {{ department: sales }}, greeting: \"{}\" }}\n",
            greeting.display()
        ),
    ));
    let anna = phone(&server, dir.path(), ANNA, "uas_ring.xml", 1);
    let (sink_port, listener) = listen();
    let out = call(
        &server,
        dir.path(),
        "trunk_call_listen.xml",
        4000,
        &[("sink_port", &sink_port)],
    );
    ok(&out, "the caller");
    anna.finished("anna's phone rang");
    let heard = listener.join().unwrap();
    assert!(heard.len() >= 8000 * 3, "heard {} samples", heard.len());
    // First the greeting (1 kHz), then the Russian ringback (425 Hz, 1 s on).
    let greeting_part = &heard[800..7200];
    assert!(
        audio::share_of(greeting_part, 1000.0) > 0.8,
        "the greeting first"
    );
    let after = &heard[8000 + 800..8000 + 7200];
    assert!(audio::share_of(after, 425.0) > 0.8, "then ringback");
    assert!(audio::share_of(after, 1000.0) < 0.05);
    let record = &server.history("acme", 1)[0];
    assert_eq!(record["outcome"], "cancelled", "{record}");
}
