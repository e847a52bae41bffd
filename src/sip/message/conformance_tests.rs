//! RFC 4475 conformance, data-driven: every line of
//! `tests/data/rfc4475/EXPECTED.tsv` names a torture message and its class.
//! `valid` must parse and survive `parse(print(m)) == m`; `invalid` must be refused with the
//! status the expectation column starts with (400, 505, or `drop` = no answer); `app` must
//! parse (what the application answers is checked against the running server). A missing
//! fixture directory fails the test. Spot checks of what specific messages parse to follow.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use super::*;

/// Where the torture messages live.
const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/rfc4475");

/// One torture message and its expectation.
pub(super) struct Fixture {
    pub(super) name: String,
    pub(super) class: String,
    pub(super) expectation: String,
    pub(super) bytes: Vec<u8>,
}

/// Every fixture listed in EXPECTED.tsv, with its bytes; panics with a clear message if the
/// directory, the list or a message is missing.
pub(super) fn fixtures() -> Vec<Fixture> {
    let dir = Path::new(DIR);
    assert!(
        dir.is_dir(),
        "RFC 4475 fixtures not found: {} is missing (the conformance suite is part of the \
         repository, in tests/data/rfc4475)",
        dir.display()
    );
    let tsv = fs::read_to_string(dir.join("EXPECTED.tsv"))
        .unwrap_or_else(|e| panic!("cannot read {}/EXPECTED.tsv: {e}", dir.display()));
    tsv.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            let [name, class, _section, expectation] = cols.as_slice() else {
                panic!("EXPECTED.tsv: malformed line {line:?}");
            };
            let path = dir.join(format!("{name}.dat"));
            let bytes =
                fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            Fixture {
                name: name.to_string(),
                class: class.to_string(),
                expectation: expectation.to_string(),
                bytes,
            }
        })
        .collect()
}

fn fixture(name: &str) -> Message {
    let f = fixtures().into_iter().find(|f| f.name == name).unwrap();
    Message::parse(&f.bytes).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn request(name: &str) -> Request {
    match fixture(name) {
        Message::Request(r) => r,
        Message::Response(_) => panic!("{name} is a response"),
    }
}

/// The status an `invalid` expectation asks for: `400...`, `505...` or `drop...`.
fn expected_status(expectation: &str) -> Option<u16> {
    let word = expectation.split([' ', ':']).next().unwrap_or("");
    match word {
        "drop" => None,
        code => Some(
            code.parse()
                .unwrap_or_else(|_| panic!("unknown expectation {expectation:?}")),
        ),
    }
}

/// Checks one fixture; the verdict is an error text on failure.
fn check(f: &Fixture) -> Result<(), String> {
    let parsed = Message::parse(&f.bytes);
    match (f.class.as_str(), parsed) {
        ("valid" | "app", Ok(m)) => {
            let printed = m.to_bytes();
            let again = Message::parse(&printed)
                .map_err(|e| format!("reprinted message does not parse: {e}"))?;
            if f.class == "valid" && again != m {
                return Err("parse(print(m)) != m".into());
            }
            if Message::parse(&again.to_bytes()).as_ref() != Ok(&again) {
                return Err("printing is not stable".into());
            }
            Ok(())
        }
        ("valid" | "app", Err(e)) => Err(format!("should parse, got: {e}")),
        ("invalid", Ok(_)) => Err("should be refused, but parsed".into()),
        ("invalid", Err(e)) => {
            let want = expected_status(&f.expectation);
            let is_response = f.bytes.starts_with(b"SIP/");
            if e.status() != want {
                return Err(format!("status {:?}, want {want:?} ({e})", e.status()));
            }
            if is_response != matches!(e, ParseError::Response(_)) {
                return Err(format!("wrong side: {e:?}"));
            }
            if want.is_some() && reject(&f.bytes, &e).is_none() {
                return Err("no error response could be built".into());
            }
            Ok(())
        }
        (class, _) => Err(format!("unknown class {class}")),
    }
}

#[test]
fn rfc4475_torture_messages() {
    let fixtures = fixtures();
    let mut failures = Vec::new();
    let mut tally = std::collections::BTreeMap::<&str, (usize, usize)>::new();
    for f in &fixtures {
        let entry = tally.entry(f.class.as_str()).or_default();
        entry.1 += 1;
        match check(f) {
            Ok(()) => entry.0 += 1,
            Err(why) => failures.push(format!("{} ({}): {why}", f.name, f.class)),
        }
    }
    let summary: Vec<String> = tally
        .iter()
        .map(|(class, (ok, all))| format!("{class} {ok}/{all}"))
        .collect();
    println!(
        "RFC 4475: {} messages handled as expected of {}: {}",
        fixtures.len() - failures.len(),
        fixtures.len(),
        summary.join(", ")
    );
    assert!(
        failures.is_empty(),
        "RFC 4475 failures:\n{}",
        failures.join("\n")
    );

    let listed: BTreeSet<String> = fixtures.iter().map(|f| f.name.clone()).collect();
    let on_disk: BTreeSet<String> = fs::read_dir(DIR)
        .unwrap()
        .filter_map(|e| {
            e.ok()?
                .file_name()
                .to_str()?
                .strip_suffix(".dat")
                .map(String::from)
        })
        .collect();
    assert_eq!(listed, on_disk, "EXPECTED.tsv and the .dat files disagree");
    assert_eq!(fixtures.len(), 49, "RFC 4475 has 49 torture messages");
}

#[test]
fn valid_messages_parse_to_what_the_rfc_describes() {
    let r = request("wsinv");
    let h = r.headers();
    assert_eq!(h.vias().unwrap().len(), 3);
    assert_eq!(h.vias().unwrap()[1].transport, Transport::Tcp);
    assert_eq!(h.to().unwrap().tag(), Some("1918181833n"));
    assert_eq!(
        h.from().unwrap().display_name.as_deref(),
        Some("J Rosenberg \\\"")
    );
    assert_eq!(h.max_forwards(), Ok(Some(68)));
    assert_eq!(h.cseq().unwrap(), CSeq::new(9, Method::Invite));
    assert_eq!(h.get("Subject"), Some(""));
    assert_eq!(
        h.get("NewFangledHeader"),
        Some("newfangled value continued newfangled value")
    );
    assert_eq!(h.contacts().unwrap()[0].q(), Some("0.33"));
    assert_eq!(r.body().len(), 150);

    let r = request("intmeth");
    assert_eq!(
        r.method(),
        &Method::Extension("!interesting-Method0123456789_*+`.%indeed'~".into())
    );
    assert_eq!(r.headers().cseq().unwrap().method, *r.method());
    let to = r.headers().to().unwrap();
    assert_eq!(
        to.display_name.as_deref(),
        Some("BEL:\u{7} NUL:\u{0} DEL:\u{7f}")
    );

    let r = request("esc01");
    let uri = r.uri().as_sip().unwrap();
    assert_eq!(uri.user_decoded().unwrap(), b"sips:user@example.com");
    let r = request("escnull");
    assert_eq!(r.headers().contacts().unwrap().len(), 2);

    let r = request("esc02");
    assert_eq!(r.method(), &Method::Extension("RE%47IST%45R".into()));
    assert_eq!(r.headers().count("Contact"), 2);
    assert_eq!(r.headers().count("C%6Fntact"), 1);

    let r = request("longreq");
    assert_eq!(r.headers().vias().unwrap().len(), 34);
    assert_eq!(
        r.headers().vias().unwrap()[33].received(),
        Some("192.0.2.5")
    );
    assert_eq!(r.body().len(), 150);

    let r = request("dblreq");
    assert_eq!(r.method(), &Method::Register);
    assert!(r.body().is_empty());

    let r = request("semiuri");
    assert_eq!(
        r.uri().as_sip().unwrap().user.as_deref(),
        Some("user;par=u%40example.net")
    );
    assert_eq!(r.headers().accept().unwrap().len(), 6);

    let r = request("transports");
    let transports: Vec<String> = r
        .headers()
        .vias()
        .unwrap()
        .iter()
        .map(|v| v.transport.to_string())
        .collect();
    assert_eq!(transports, ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]);

    let r = request("mpart01");
    assert_eq!(r.body().len(), 553);
    assert_eq!(
        r.headers().top_via().unwrap().rport(),
        Some(Rport::Requested)
    );
    assert!(r.headers().contains("Identity"));

    let Message::Response(resp) = fixture("unreason") else {
        panic!()
    };
    assert!(resp.reason().contains("2**3 * 5**2 но"));
    let Message::Response(resp) = fixture("noreason") else {
        panic!()
    };
    assert_eq!((resp.code().as_u16(), resp.reason()), (100, ""));
}

#[test]
fn app_messages_expose_what_the_application_needs() {
    assert_eq!(
        request("insuf").headers().from(),
        Err(Defect::Missing("From"))
    );
    assert_eq!(
        request("insuf").headers().call_id(),
        Err(Defect::Missing("Call-ID"))
    );
    assert_eq!(
        request("multi01").headers().cseq(),
        Err(Defect::Duplicate("CSeq"))
    );
    assert_eq!(
        request("multi01").headers().to(),
        Err(Defect::Duplicate("To"))
    );
    assert_eq!(
        request("mcl01").headers().content_length(),
        Err(Defect::Duplicate("Content-Length"))
    );
    assert!(matches!(request("unkscm").uri(), Uri::Other(_)));
    assert_eq!(request("novelsc").uri().scheme(), "soap.beep");
    assert_eq!(
        request("unksm2").headers().to().unwrap().uri.scheme(),
        "isbn"
    );
    let auth = request("regaut01").headers().authorization().unwrap();
    assert!(!auth[0].is_scheme("Digest"));
    let bext = request("bext01");
    assert_eq!(bext.headers().get_all("Require").count(), 2);
    assert_eq!(bext.headers().get_all("Proxy-Require").count(), 2);
    assert!(!request("invut")
        .headers()
        .content_type()
        .unwrap()
        .unwrap()
        .is("application", "sdp"));
    assert_eq!(request("zeromf").headers().max_forwards(), Ok(Some(0)));
    assert_eq!(
        request("inv2543").headers().top_via().unwrap().branch(),
        None
    );
    assert_eq!(request("inv2543").headers().max_forwards(), Ok(None));
    assert_eq!(
        request("badbranch").headers().top_via().unwrap().branch(),
        Some("z9hG4bK")
    );
    let contact = &request("cparam01").headers().contacts().unwrap()[0];
    assert!(contact.params.contains("unknownparam"));
    let contact = &request("regescrt").headers().contacts().unwrap()[0];
    assert_eq!(contact.uri.as_sip().unwrap().headers.len(), 1);
    let Message::Response(bcast) = fixture("bcast") else {
        panic!()
    };
    assert_eq!(
        bcast.headers().vias().unwrap()[1].host.to_string(),
        "255.255.255.255"
    );
}
