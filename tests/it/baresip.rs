//! Two real softphones (baresip) register with the PBX and talk: the caller dials the callee's
//! extension, the callee answers automatically, the caller streams a WAV prompt, and the call
//! record shows the audio went through the PBX's relay both ways — with the callee on UDP, and
//! on TCP (its leg goes over the connection it registered on).

use crate::support::{root, Server};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// A baresip configuration directory for `login` (auto-answering when `answer`), talking to
/// the PBX at `pbx` over `transport` (`udp` or `tcp`). baresip listens on 127.0.0.1 port 0:
/// the ports are the kernel's choice, and it registers from them.
fn phone(
    dir: &Path,
    login: &str,
    password: &str,
    (pbx, transport): (std::net::SocketAddr, &str),
    answer: bool,
) -> std::path::PathBuf {
    let home = dir.join(login);
    std::fs::create_dir_all(&home).unwrap();
    // baresip's config splits at spaces: the prompt is copied beside it, so a checkout whose
    // path has a space still works.
    let wav = home.join("prompt.wav");
    std::fs::copy(root().join("assets/prompts/examples/welcome.wav"), &wav).unwrap();
    std::fs::write(
        home.join("config"),
        format!(
            "sip_listen 127.0.0.1:0\nrtp_ports 21000-21999\naudio_source aufile,{}\naudio_player aufile,{}\naudio_alert aufile,{}\naudio_srate 8000\naudio_channels 1\nmodule_path /usr/lib/baresip/modules\nmodule g711.so\nmodule aufile.so\nmodule_app account.so\nmodule_app menu.so\n",
            wav.display(),
            home.join("heard.wav").display(),
            home.join("alert.wav").display()
        ),
    )
    .unwrap();
    let mode = if answer { ";answermode=auto" } else { "" };
    std::fs::write(
        home.join("accounts"),
        format!("<sip:{login}@acme.example;transport={transport}>;auth_pass={password};outbound=\"sip:{pbx};transport={transport}\";regint=300{mode}\n"),
    )
    .unwrap();
    home
}

#[test]
fn two_softphones_talk_through_the_relay() {
    talk("udp");
}

#[test]
fn a_softphone_on_tcp_takes_a_call() {
    talk("tcp");
}

/// ivan (UDP) calls maria (on `transport`), who answers; audio must flow both ways.
fn talk(transport: &str) {
    let config = "version: 1\nserver:\n  http: { listen: \"127.0.0.1:0\" }\n  sip:\n    listen: [{ transport: udp, address: \"127.0.0.1:0\" }, { transport: tcp, address: \"127.0.0.1:0\" }]\n    digest_algorithms: [md5]\n  rtp: { port_min: 23000, port_max: 23999 }\ntenants:\n  - id: acme\n    name: Acme\n    domain: acme.example\n    max_users: 5\n    staff:\n      - { name: Ivan, login: ivan, extension: \"201\", password: \"ivan-secret-2024\" }\n      - { name: Maria, login: maria, extension: \"202\", password: \"maria-secret-2024\" }\n";
    let server = Server::start(config);
    let to_callee = match transport {
        "tcp" => (server.sip_tcp.unwrap(), "tcp"),
        _ => (server.sip.unwrap(), "udp"),
    };
    let dir = tempfile::tempdir().unwrap();
    let maria = phone(dir.path(), "maria", "maria-secret-2024", to_callee, true);
    let ivan = phone(
        dir.path(),
        "ivan",
        "ivan-secret-2024",
        (server.sip.unwrap(), "udp"),
        false,
    );
    let callee_log = dir.path().join("maria.log");
    let mut callee = Command::new("baresip")
        .args(["-f", maria.to_str().unwrap(), "-t", "12"])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&callee_log).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .expect("baresip is installed (ci/test.sh installs it)");
    // Wait for the callee's registration before calling.
    crate::support::wait_until_or(
        "maria's softphone to register",
        Duration::from_secs(10),
        || {
            std::fs::read_to_string(&callee_log)
                .unwrap_or_default()
                .contains("200 OK")
        },
        || {
            let softphone = std::fs::read_to_string(&callee_log).unwrap_or_default();
            format!("{softphone}\nthe server:\n{}", server.log())
        },
    );
    let caller = Command::new("baresip")
        .args(["-f", ivan.to_str().unwrap(), "-e", "/dial 202", "-t", "5"])
        .stdin(Stdio::null())
        .output()
        .expect("baresip runs");
    let _ = callee.kill();
    let _ = callee.wait();
    let caller_out = String::from_utf8_lossy(&caller.stdout);
    assert!(
        caller_out.contains("Call established"),
        "the call did not connect:\n{caller_out}"
    );
    let record = server
        .history("acme", 1)
        .first()
        .cloned()
        .expect("a call record");
    assert_eq!(record["outcome"], "answered", "{record}");
    let (there, back) = (
        record["rtp_caller_to_callee"].as_u64().unwrap(),
        record["rtp_callee_to_caller"].as_u64().unwrap(),
    );
    // About 4 s of 20 ms packets each way once the call is up.
    assert!(
        there >= 100 && back >= 100,
        "audio through the relay: {record}"
    );
}
