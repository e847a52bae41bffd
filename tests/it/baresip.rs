//! Two real softphones (baresip) register with the PBX and talk: the caller dials the callee's
//! extension, the callee answers automatically, the caller streams a WAV prompt, and the call
//! record shows the audio went through the PBX's relay both ways — with the callee on UDP, on
//! TCP and on TLS (its leg goes over the connection it registered on; over TLS it checks the
//! PBX's certificate against the one the test made). And a renewed certificate is served after
//! SIGHUP without a restart.

use crate::support::{root, Server};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// A baresip configuration directory for `login` (auto-answering when `answer`), talking to
/// the PBX at `pbx` over `transport` (`udp` or `tcp`). baresip listens on 127.0.0.1 port 0:
/// the ports are the kernel's choice, and it registers from them.
/// Over TLS it trusts the CA certificate `ca`; with `srtp` it insists on SRTP (`RTP/SAVP` with
/// an SDES key, baresip's `srtp-mand`).
fn phone(
    dir: &Path,
    login: &str,
    password: &str,
    (pbx, transport): (std::net::SocketAddr, &str),
    answer: bool,
    ca: Option<&Path>,
    srtp: bool,
) -> std::path::PathBuf {
    let home = dir.join(login);
    std::fs::create_dir_all(&home).unwrap();
    // baresip's config splits at spaces: the prompt is copied beside it, so a checkout whose
    // path has a space still works.
    let wav = home.join("prompt.wav");
    std::fs::copy(root().join("assets/prompts/examples/welcome.wav"), &wav).unwrap();
    let ca = ca.map_or(String::new(), |c| format!("sip_cafile {}\n", c.display()));
    let (srtp_module, mediaenc) = if srtp {
        ("module srtp.so\n", ";mediaenc=srtp-mand")
    } else {
        ("", "")
    };
    std::fs::write(
        home.join("config"),
        format!(
            "sip_listen 127.0.0.1:0\n{ca}rtp_ports 21000-21999\naudio_source aufile,{}\naudio_player aufile,{}\naudio_alert aufile,{}\naudio_srate 8000\naudio_channels 1\nmodule_path /usr/lib/baresip/modules\nmodule g711.so\nmodule aufile.so\n{srtp_module}module_app account.so\nmodule_app menu.so\n",
            wav.display(),
            home.join("heard.wav").display(),
            home.join("alert.wav").display()
        ),
    )
    .unwrap();
    let mode = if answer { ";answermode=auto" } else { "" };
    std::fs::write(
        home.join("accounts"),
        format!("<sip:{login}@acme.example;transport={transport}>;auth_pass={password};outbound=\"sip:{pbx};transport={transport}\";regint=300{mode}{mediaenc}\n"),
    )
    .unwrap();
    home
}

#[test]
fn two_softphones_talk_through_the_relay() {
    talk("udp", false);
}

#[test]
fn a_softphone_on_tcp_takes_a_call() {
    talk("tcp", false);
}

#[test]
fn a_softphone_on_tls_takes_a_call() {
    talk("tls", false);
}

#[test]
fn a_softphone_on_tls_with_srtp_calls_one_on_plain_rtp() {
    talk("udp", true);
}

const CONFIG: &str = "version: 1\nserver:\n  http: { listen: \"127.0.0.1:0\" }\n  sip:\n    listen: [{ transport: udp, address: \"127.0.0.1:0\" }, { transport: tcp, address: \"127.0.0.1:0\" }, { transport: tls, address: \"127.0.0.1:0\", certificate: cert.pem, key: key.pem }]\n    digest_algorithms: [md5]\n  rtp: { port_min: 23000, port_max: 23999 }\ntenants:\n  - id: acme\n    name: Acme\n    domain: acme.example\n    max_users: 5\n    staff:\n      - { name: Ivan, login: ivan, extension: \"201\", password: \"ivan-secret-2024\" }\n      - { name: Maria, login: maria, extension: \"202\", password: \"maria-secret-2024\" }\n";

/// A self-signed certificate for 127.0.0.1 (and its key) made by openssl as `cert.pem` and
/// `key.pem` in `dir`, named `name` in its subject.
fn certificate(dir: &Path, name: &str) {
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args([
            "-nodes", "-days", "2", "-keyout", "key.pem", "-out", "cert.pem",
        ])
        .args([
            "-subj",
            &format!("/CN={name}"),
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .current_dir(dir)
        .output()
        .expect("openssl is installed (ci/test.sh installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A server on `CONFIG` (UDP, TCP and TLS), its certificate named `name`.
fn server(name: &str) -> Server {
    let dir = tempfile::tempdir().unwrap();
    certificate(dir.path(), name);
    std::fs::write(dir.path().join("pbx.yaml"), CONFIG).unwrap();
    Server::start_in(dir)
}

/// The subject of the certificate the server's TLS listener presents now.
fn presented(server: &Server) -> String {
    let addr = server.sip_tls.unwrap().to_string();
    let out = Command::new("openssl")
        .args(["s_client", "-connect", &addr, "-brief"])
        .stdin(Stdio::null())
        .output()
        .expect("openssl runs");
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    text.lines()
        .find_map(|l| l.strip_prefix("Peer certificate: "))
        .unwrap_or_else(|| panic!("no certificate from {addr}:\n{text}"))
        .to_string()
}

#[test]
fn a_renewed_certificate_is_presented_after_sighup() {
    let server = server("first.pbx.test");
    assert_eq!(presented(&server), "CN = first.pbx.test");
    certificate(server.dir.path(), "renewed.pbx.test");
    server.hangup();
    server.wait_until("the renewed certificate", Duration::from_secs(10), || {
        presented(&server) == "CN = renewed.pbx.test"
    });
    // Files that cannot be used keep the certificate in use, and say why.
    std::fs::write(server.dir.path().join("key.pem"), "not a key").unwrap();
    server.hangup();
    server.wait_for_log("the certificate in use is kept");
    assert_eq!(presented(&server), "CN = renewed.pbx.test");
}

/// ivan (UDP; or TLS with SRTP when `secure`) calls maria (on `transport`), who answers; audio
/// must flow both ways.
fn talk(transport: &str, secure: bool) {
    let server = server("pbx.test");
    let to_callee = match transport {
        "tcp" => (server.sip_tcp.unwrap(), "tcp"),
        "tls" => (server.sip_tls.unwrap(), "tls"),
        _ => (server.sip.unwrap(), "udp"),
    };
    let dir = tempfile::tempdir().unwrap();
    let ca = server.dir.path().join("cert.pem");
    let maria = phone(
        dir.path(),
        "maria",
        "maria-secret-2024",
        to_callee,
        true,
        (transport == "tls").then_some(ca.as_path()),
        false,
    );
    let to_caller = if secure {
        (server.sip_tls.unwrap(), "tls")
    } else {
        (server.sip.unwrap(), "udp")
    };
    let ivan = phone(
        dir.path(),
        "ivan",
        "ivan-secret-2024",
        to_caller,
        false,
        secure.then_some(ca.as_path()),
        secure,
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
    if secure {
        // The PBX answered RTP/SAVP with its key, and the packets the caller sealed were opened
        // by the relay (counted below only when their tags matched).
        assert!(
            caller_out.contains("SRTP is Enabled (cryptosuite=AES_CM_128_HMAC_SHA1_80)"),
            "{caller_out}"
        );
    }
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
