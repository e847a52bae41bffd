//! E-mail over TLS through a real `pbx serve` and a real SMTP server (aiosmtpd,
//! `smtp_sink.py`) holding a certificate the test makes with `openssl` (a throwaway CA and a
//! server certificate for 127.0.0.1 signed by it): a welcome letter arrives over STARTTLS and
//! over implicit TLS when `server.smtp.ca_file` names that CA; with another CA in `ca_file`
//! the certificate is refused, the letter stays pending with the TLS error in the outbox's
//! `last_error` and nothing reaches the server; a server that offers no STARTTLS gets nothing
//! in clear when `security: starttls` is asked for; a server that requires authentication gets
//! the user and the password from `{file: ...}`, and a wrong password is given up, not sent.

use crate::mail::{outbox, password, settled, Sink};
use crate::support::{server_config, wait_until_or, Server};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// A throwaway CA and a server certificate for 127.0.0.1 it signed, as PEM files.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    /// Makes them with `openssl` (`ci/test.sh` installs it where it is missing).
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(dir.path())
                .stdin(Stdio::null())
                .output()
                .expect("openssl runs (install it: ci/test.sh does)");
            assert!(out.status.success(), "openssl {args:?}: {out:?}");
        };
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        let ca = [
            &["req", "-x509"][..],
            &ec,
            &["-keyout", "ca.key", "-out", "ca.pem"],
        ];
        // Named after its directory: two CAs of one test must differ by name, or the other
        // CA's would be taken for the issuer (and fail on its signature instead).
        let tag = dir
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let name = format!("/CN=pbx test CA {tag}");
        openssl(&[&ca.concat()[..], &["-days", "2", "-subj", &name]].concat());
        let csr = [
            &["req"][..],
            &ec,
            &["-keyout", "server.key", "-out", "server.csr"],
        ];
        openssl(&[&csr.concat()[..], &["-subj", "/CN=127.0.0.1"]].concat());
        std::fs::write(
            dir.path().join("server.ext"),
            "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "server.ext",
            "-out",
            "server.pem",
        ]);
        Pki { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The CA's certificate, for `ca_file`.
    fn ca(&self) -> PathBuf {
        self.path("ca.pem")
    }

    /// `--starttls`/`--tls` and the server's certificate and key, for `smtp_sink.py`.
    fn sink(&self, mode: &str) -> Sink {
        self.sink_with(mode, &[])
    }

    /// `sink` with more arguments (`--auth USER PASSWORD`).
    fn sink_with(&self, mode: &str, more: &[&str]) -> Sink {
        let (cert, key) = (self.path("server.pem"), self.path("server.key"));
        let mut args = vec![OsStr::new(mode), cert.as_os_str(), key.as_os_str()];
        args.extend(more.iter().map(OsStr::new));
        Sink::spawn(&args)
    }
}

/// A server directory whose config mails Anna through `sink` with `security` and, when given,
/// `ca` copied in as `ca.pem` (`ca_file: ca.pem`, relative to the config).
fn server(sink: &Sink, security: &str, ca: Option<&Path>) -> Server {
    server_with(sink, security, ca, "")
}

/// `server` with more `server.smtp` settings (`extra`, flow-mapping entries ending in `,`).
fn server_with(sink: &Sink, security: &str, ca: Option<&Path>, extra: &str) -> Server {
    let dir = tempfile::tempdir().unwrap();
    if !extra.is_empty() {
        std::fs::write(dir.path().join("smtp-password"), "mail-s3cret\n").unwrap();
    }
    let ca_file = match ca {
        Some(ca) => {
            std::fs::copy(ca, dir.path().join("ca.pem")).unwrap();
            " ca_file: ca.pem,"
        }
        None => "",
    };
    let smtp = format!(
        "  smtp: {{ host: 127.0.0.1, port: {}, security: {security},{ca_file}{extra} from: \"PBX <pbx@example.com>\" }}\n",
        sink.port
    );
    let yaml = server_config(
        "      - name: Anna Smith\n        login: anna\n        email: anna@example.com\n",
    )
    .replacen("server:\n", &format!("server:\n{smtp}"), 1);
    std::fs::write(dir.path().join("pbx.yaml"), yaml).unwrap();
    Server::start_in(dir)
}

/// The welcome letter arrives once, encrypted, with the password, and the outbox says sent.
fn arrives_over_tls(sink: &Sink, server: &Server) {
    let password = password(server);
    wait_until_or(
        "the welcome letter arrives",
        Duration::from_secs(20),
        || !sink.letters().is_empty(),
        || server.log(),
    );
    settled(server);
    let letters = sink.letters();
    assert_eq!(letters.len(), 1, "{}", server.log());
    assert!(Sink::via(&letters[0]).starts_with("TLSv1."), "{letters:?}");
    let raw = std::fs::read(&letters[0]).unwrap();
    let letter = mail_parser::MessageParser::default().parse(&raw).unwrap();
    assert!(letter.body_text(0).unwrap().contains(&password));
    let entries = outbox(server);
    assert_eq!(
        (
            entries[0]["state"].as_str(),
            entries[0]["attempts"].as_u64()
        ),
        (Some("sent"), Some(1)),
        "{entries:?}"
    );
}

#[test]
fn a_letter_goes_over_starttls_to_a_server_the_ca_file_vouches_for() {
    let pki = Pki::new();
    let sink = pki.sink("--starttls");
    let server = server(&sink, "starttls", Some(&pki.ca()));
    arrives_over_tls(&sink, &server);
}

#[test]
fn a_letter_goes_over_implicit_tls_to_a_server_the_ca_file_vouches_for() {
    let pki = Pki::new();
    let sink = pki.sink("--tls");
    let server = server(&sink, "tls", Some(&pki.ca()));
    arrives_over_tls(&sink, &server);
}

/// The letter waits for its retry with `reason` in `last_error`, and the sink got nothing.
fn refused(sink: &Sink, server: &Server, reason: &str) {
    server.wait_for_log("trying again in 10 s");
    let entries = outbox(server);
    assert_eq!(entries[0]["state"], "pending", "{entries:?}");
    let error = entries[0]["last_error"].as_str().unwrap_or_default();
    assert!(error.contains(reason), "{error}");
    assert!(sink.letters().is_empty());
}

/// A certificate from a CA the config does not trust: no letter, in clear or otherwise; the
/// TLS error is in the outbox for the retry.
#[test]
fn a_certificate_the_ca_file_does_not_vouch_for_is_refused_and_nothing_is_sent() {
    let pki = Pki::new();
    let other = Pki::new();
    for (flag, security) in [("--starttls", "starttls"), ("--tls", "tls")] {
        let sink = pki.sink(flag);
        let server = server(&sink, security, Some(&other.ca()));
        refused(&sink, &server, "invalid peer certificate: UnknownIssuer");
    }
}

/// `security: starttls` towards a server that offers no STARTTLS: nothing goes in clear.
#[test]
fn starttls_is_required_never_skipped() {
    let sink = Sink::start(0);
    let server = server(&sink, "starttls", None);
    refused(&sink, &server, "STARTTLS");
}

#[test]
fn the_smtp_user_and_password_from_a_file_authenticate_and_a_wrong_one_is_given_up() {
    let pki = Pki::new();
    let sink = pki.sink_with("--starttls", &["--auth", "mailer", "mail-s3cret"]);
    let auth = " username: mailer, password: { file: smtp-password },";
    let server = server_with(&sink, "starttls", Some(&pki.ca()), auth);
    arrives_over_tls(&sink, &server);
    let letters = sink.letters();
    let who = std::fs::read_to_string(letters[0].with_extension("auth")).unwrap();
    assert_eq!(who, "mailer", "the letter came authenticated");

    // Another password: refused (535) for good — given up, never sent unauthenticated.
    let sink = pki.sink_with("--starttls", &["--auth", "mailer", "another-password"]);
    let server = server_with(&sink, "starttls", Some(&pki.ca()), auth);
    let _ = password(&server);
    let entry = server.wait_for("the letter given up", Duration::from_secs(20), || {
        outbox(&server).into_iter().find(|e| e["state"] == "failed")
    });
    assert!(
        entry["last_error"].as_str().unwrap_or("").contains("535"),
        "{entry}"
    );
    assert!(sink.letters().is_empty());
}
