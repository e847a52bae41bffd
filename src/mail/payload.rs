//! The letters' payloads, as they are stored in the outbox: a [`WelcomeLetter`] (a new staff
//! member's login, password, extension and how to connect a phone) and a [`VoicemailLetter`]
//! (a new voicemail message, its recording attached) and a [`MissedCallLetter`] (a call nobody
//! answered, to those who asked for `notify.missed_calls`). Built from the validated config by
//! [`welcome_letters`], [`voicemail_recipients`] and [`missed_call_letters`]; the plaintext
//! password lives in the payload only until the letter is sent ([`WelcomeLetter::erased`]).

use crate::config::generated::Resolution;
use crate::config::model::{Config, Server, Staff, Tenant};
use crate::store::{CallOutcome, CallRecord};
use serde::{Deserialize, Serialize};

/// The outbox kind of a welcome letter.
pub const WELCOME: &str = "welcome_letter";
/// The outbox kind of a voicemail letter.
pub const VOICEMAIL: &str = "voicemail_letter";
/// The outbox kind of a missed-call letter.
pub const MISSED_CALL: &str = "missed_call_letter";

/// How a phone reaches the server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SipServer {
    /// The tenant's SIP domain (the realm phones authenticate in).
    pub domain: String,
    /// Where phones send their requests: the public address, or the domain.
    pub address: String,
    /// The listening transports and ports, e.g. `udp 5060`.
    pub listen: Vec<SipListen>,
}

/// One transport the server listens on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SipListen {
    /// `udp` or `tcp`.
    pub transport: String,
    pub port: u16,
}

/// A welcome letter: a staff member's first credentials.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WelcomeLetter {
    pub tenant: String,
    /// The company's name.
    pub company: String,
    pub login: String,
    pub name: String,
    pub extension: Option<String>,
    pub email: String,
    /// The plaintext password: `None` once the letter was sent.
    pub password: Option<String>,
    pub sip: SipServer,
    /// `ru` or `en`.
    pub language: String,
}

impl WelcomeLetter {
    /// The payload to keep once sent: the same, without the password.
    pub fn erased(&self) -> WelcomeLetter {
        WelcomeLetter {
            password: None,
            ..self.clone()
        }
    }
}

/// A voicemail letter: a new message in a box its recipient reads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoicemailLetter {
    pub tenant: String,
    /// The message's id in the voicemail index.
    pub message: u64,
    /// `staff:<login>` or `department:<id>`.
    pub mailbox: String,
    /// Who called: a login or a number.
    pub caller: String,
    /// The company number dialled, if any.
    pub number: Option<String>,
    /// When the message was left, ms since the epoch.
    pub received_ms: u64,
    pub duration_ms: u64,
    /// The recording, relative to the data directory.
    pub file: String,
    pub email: String,
    /// `ru` or `en`.
    pub language: String,
    /// The tenant's IANA time zone, for the time in the letter.
    pub timezone: String,
}

/// A missed-call letter: a call that was offered and that nobody answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissedCallLetter {
    pub tenant: String,
    /// Who called: a login or a number.
    pub caller: String,
    /// What was called: a login, an extension, a company number.
    pub callee: String,
    /// The company number dialled, if any.
    pub number: Option<String>,
    /// When the call came, ms since the epoch.
    pub started_ms: u64,
    /// How long it rang, in ms.
    pub ring_ms: u64,
    /// Departments it rang (names).
    pub departments: Vec<String>,
    /// Everyone it was offered to, as the call record says it.
    pub offered: Vec<String>,
    pub email: String,
    /// `ru` or `en`.
    pub language: String,
    /// The tenant's IANA time zone, for the time in the letter.
    pub timezone: String,
}

/// Someone told of new voicemail by e-mail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recipient {
    pub email: String,
    /// `ru` or `en`: the tenant's language.
    pub language: String,
    /// The tenant's IANA time zone.
    pub timezone: String,
}

/// What to keep of a letter of `kind` once it is done, sent or given up: a welcome letter
/// without its password; other letters as they are (`None`).
pub fn done(kind: &str, payload: &serde_json::Value) -> Option<serde_json::Value> {
    if kind != WELCOME {
        return None;
    }
    let letter: WelcomeLetter = serde_json::from_value(payload.clone()).ok()?;
    serde_json::to_value(letter.erased()).ok()
}

/// Who a letter goes to (the payloads' common part).
pub fn recipient(payload: &serde_json::Value) -> Option<&str> {
    payload.get("email").and_then(|e| e.as_str())
}

/// How `tenant`'s phones reach `server`.
pub fn sip_server(server: &Server, tenant: &Tenant) -> SipServer {
    let mut listen: Vec<SipListen> = server
        .sip_listen
        .iter()
        .map(|l| SipListen {
            transport: l.transport.word().to_owned(),
            port: l.address.port(),
        })
        .collect();
    listen.dedup();
    SipServer {
        domain: tenant.domain.clone(),
        address: server
            .sip_public_address
            .clone()
            .unwrap_or_else(|| tenant.domain.clone()),
        listen,
    }
}

/// The welcome letter carrying `password` to `staff` of `tenant`; `None` when they have no
/// e-mail address.
pub fn welcome_letter(
    server: &Server,
    tenant: &Tenant,
    staff: &Staff,
    login: &str,
    extension: Option<&str>,
    password: &str,
) -> Option<WelcomeLetter> {
    Some(WelcomeLetter {
        tenant: tenant.id.clone(),
        company: tenant.name.clone(),
        login: login.to_owned(),
        name: staff.name.clone(),
        extension: extension.map(str::to_owned),
        email: staff.email.as_ref()?.as_str().to_owned(),
        password: Some(password.to_owned()),
        sip: sip_server(server, tenant),
        language: tenant.language.word().to_owned(),
    })
}

/// The welcome letters an apply sends: one to every staff member with an e-mail address who
/// gets a newly generated password in `resolution`, as (kind, payload).
pub fn welcome_letters(
    config: &Config,
    resolution: &Resolution,
) -> Vec<(String, serde_json::Value)> {
    let mut out = Vec::new();
    for r in &resolution.records {
        let Some(password) = &r.new_password else {
            continue;
        };
        let Some(ti) = config.tenants.iter().position(|t| t.id == r.tenant) else {
            continue;
        };
        let tenant = &config.tenants[ti];
        let Some(si) = resolution
            .staff
            .get(ti)
            .and_then(|s| s.iter().position(|e| e.identity == r.identity))
        else {
            continue;
        };
        let Some(staff) = tenant.staff.get(si) else {
            continue;
        };
        let Some(letter) = welcome_letter(
            &config.server,
            tenant,
            staff,
            &r.login,
            r.extension.as_deref(),
            password,
        ) else {
            continue;
        };
        if let Ok(value) = serde_json::to_value(&letter) {
            out.push((WELCOME.to_owned(), value));
        }
    }
    out
}

/// Who hears of a new message in `tenant`'s `mailbox`: the box's owner when it is a staff member's (`staff:<login>`) with an e-mail address; a
/// department's box (`department:<id>`) notifies its members who have one.
pub fn voicemail_recipients(
    config: &Config,
    resolution: &Resolution,
    tenant: &str,
    mailbox: &str,
) -> Vec<Recipient> {
    let Some((t, by_login)) = tenant_staff(config, resolution, tenant) else {
        return Vec::new();
    };
    let staff: Vec<&Staff> = if let Some(login) = mailbox.strip_prefix("staff:") {
        by_login(login).into_iter().collect()
    } else if let Some(id) = mailbox.strip_prefix("department:") {
        t.departments
            .iter()
            .find(|d| d.id == id)
            .map(|d| d.members.iter().filter_map(|m| t.staff.get(m.0)).collect())
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    distinct_emails(staff)
        .into_iter()
        .map(|email| Recipient {
            email: email.to_owned(),
            language: t.language.word().to_owned(),
            timezone: t.timezone.name().to_owned(),
        })
        .collect()
}

/// Tenant `tenant` of `config`, and a lookup of its staff by login (written or generated).
fn tenant_staff<'a>(
    config: &'a Config,
    resolution: &'a Resolution,
    tenant: &str,
) -> Option<(&'a Tenant, impl Fn(&str) -> Option<&'a Staff> + 'a)> {
    let ti = config.tenants.iter().position(|t| t.id == tenant)?;
    let t = &config.tenants[ti];
    let effective = resolution.staff.get(ti);
    let by_login = move |login: &str| {
        effective
            .and_then(|e| e.iter().position(|s| s.login == login))
            .and_then(|si| t.staff.get(si))
    };
    Some((t, by_login))
}

/// The e-mail addresses of `staff`, each once, in order.
fn distinct_emails<'a>(staff: impl IntoIterator<Item = &'a Staff>) -> Vec<&'a str> {
    let mut emails: Vec<&str> = Vec::new();
    for email in staff.into_iter().filter_map(|s| s.email.as_ref()) {
        if !emails.contains(&email.as_str()) {
            emails.push(email.as_str());
        }
    }
    emails
}

/// The login in an entry of a call record's `offered` (`anna`, `anna (mobile +7...)`); `None`
/// for an outside number.
fn offered_login(entry: &str) -> Option<&str> {
    let login = entry.split(" (").next().unwrap_or(entry);
    (!login.starts_with('+')).then_some(login)
}

/// The missed-call letters `record` calls for, as (kind, payload): none unless it ended
/// `missed`; else one to each staff member with an e-mail who has `notify.missed_calls` and
/// was offered the call, or is a member of a department it rang that has
/// `notify.missed_calls` — one letter per address.
pub fn missed_call_letters(
    config: &Config,
    resolution: &Resolution,
    record: &CallRecord,
) -> Vec<(String, serde_json::Value)> {
    if record.outcome != CallOutcome::Missed {
        return Vec::new();
    }
    let Some((t, by_login)) = tenant_staff(config, resolution, &record.tenant) else {
        return Vec::new();
    };
    let mut staff: Vec<&Staff> = record
        .offered
        .iter()
        .filter_map(|o| offered_login(o))
        .filter_map(by_login)
        .filter(|s| s.notify_missed_calls)
        .collect();
    let rang: Vec<_> = t
        .departments
        .iter()
        .filter(|d| record.departments.contains(&d.id))
        .collect();
    for d in rang.iter().filter(|d| d.notify_missed_calls) {
        staff.extend(d.members.iter().filter_map(|m| t.staff.get(m.0)));
    }
    distinct_emails(staff)
        .into_iter()
        .filter_map(|email| {
            let letter = MissedCallLetter {
                tenant: t.id.clone(),
                caller: record.caller.clone(),
                callee: record.callee.clone(),
                number: record.number.clone(),
                started_ms: record.started_ms,
                ring_ms: record.ring_ms,
                departments: rang.iter().map(|d| d.name.clone()).collect(),
                offered: record.offered.clone(),
                email: email.to_owned(),
                language: t.language.word().to_owned(),
                timezone: t.timezone.name().to_owned(),
            };
            serde_json::to_value(letter)
                .ok()
                .map(|v| (MISSED_CALL.to_owned(), v))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::generated::resolve;
    use crate::config::validate::validate_text;
    use std::collections::BTreeMap;

    const YAML: &str = "version: 1
server:
  sip:
    public_address: 203.0.113.5
    listen: [{ transport: udp, address: \"0.0.0.0:5060\" }, { transport: tcp, address: \"0.0.0.0:5080\" }]
tenants:
  - id: acme
    name: Acme
    domain: acme.example
    language: en
    timezone: Europe/Moscow
    max_users: 10
    staff:
      - { name: Anna, login: anna, email: anna@example.com }
      - { name: Boris, login: boris }
      - { name: Vera, login: vera, email: vera@example.com, password: { env: VERA_PW } }
    departments:
      - { id: sales, strategy: all_at_once, members: [anna, boris, vera] }
";

    #[test]
    fn welcome_letters_go_to_new_passwords_with_an_email_and_voicemail_to_box_owners() {
        let config = validate_text(YAML).unwrap();
        let resolution = resolve(&config, &BTreeMap::new(), &mut || "pw".to_owned());
        let letters = welcome_letters(&config, &resolution);
        // Boris has no e-mail; Vera's password is the config's, not a new one.
        assert_eq!(letters.len(), 1, "{letters:?}");
        let letter: WelcomeLetter = serde_json::from_value(letters[0].1.clone()).unwrap();
        assert_eq!(letters[0].0, WELCOME);
        assert_eq!(
            (
                letter.login.as_str(),
                letter.email.as_str(),
                letter.password.as_deref()
            ),
            ("anna", "anna@example.com", Some("pw"))
        );
        assert_eq!(letter.language, "en");
        assert_eq!(letter.sip.address, "203.0.113.5");
        assert_eq!(letter.sip.domain, "acme.example");
        assert_eq!(letter.sip.listen.len(), 2);
        assert_eq!(letter.sip.listen[1].port, 5080);
        assert_eq!(letter.erased().password, None);

        let to = |mailbox| {
            voicemail_recipients(&config, &resolution, "acme", mailbox)
                .into_iter()
                .map(|r| r.email)
                .collect::<Vec<_>>()
        };
        assert_eq!(to("staff:anna"), ["anna@example.com"]);
        assert!(to("staff:boris").is_empty());
        assert_eq!(
            to("department:sales"),
            ["anna@example.com", "vera@example.com"]
        );
        assert!(to("department:nope").is_empty());
        assert!(voicemail_recipients(&config, &resolution, "globex", "staff:anna").is_empty());
        let r = &voicemail_recipients(&config, &resolution, "acme", "staff:anna")[0];
        assert_eq!(
            (r.language.as_str(), r.timezone.as_str()),
            ("en", "Europe/Moscow")
        );
    }

    #[test]
    fn missed_call_letters_go_to_who_asked_and_was_offered_or_whose_department_rang() {
        let yaml = YAML
            .replace(
                "{ name: Anna, login: anna, email: anna@example.com }",
                "{ name: Anna, login: anna, email: anna@example.com, notify: { missed_calls: true } }",
            )
            .replace(
                "      - { id: sales,",
                "      - { id: support, strategy: all_at_once, members: [vera], notify: { missed_calls: true } }\n      - { id: sales,",
            );
        let config = validate_text(&yaml).unwrap();
        let resolution = resolve(&config, &BTreeMap::new(), &mut || "pw".to_owned());
        let record = |offered: &[&str], departments: &[&str], outcome| CallRecord {
            tenant: "acme".into(),
            caller: "+79161112233".into(),
            callee: "+74951234567".into(),
            offered: offered.iter().map(|s| s.to_string()).collect(),
            departments: departments.iter().map(|s| s.to_string()).collect(),
            outcome,
            ..CallRecord::default()
        };
        let to = |r: &CallRecord| {
            missed_call_letters(&config, &resolution, r)
                .into_iter()
                .map(|(kind, v)| {
                    assert_eq!(kind, MISSED_CALL);
                    let l: MissedCallLetter = serde_json::from_value(v).unwrap();
                    l.email
                })
                .collect::<Vec<_>>()
        };
        // Anna asked; Vera did not, but support (where she is) did.
        assert_eq!(
            to(&record(
                &["anna (mobile +79990001122)", "vera"],
                &[],
                CallOutcome::Missed
            )),
            ["anna@example.com"]
        );
        assert_eq!(
            to(&record(
                &["anna", "vera"],
                &["support"],
                CallOutcome::Missed
            )),
            ["anna@example.com", "vera@example.com"]
        );
        assert!(to(&record(
            &["vera", "boris", "+79990001122"],
            &["sales"],
            CallOutcome::Missed
        ))
        .is_empty());
        assert!(to(&record(&["anna"], &[], CallOutcome::Answered)).is_empty());
        let letters = missed_call_letters(
            &config,
            &resolution,
            &record(&["vera"], &["support"], CallOutcome::Missed),
        );
        let letter: MissedCallLetter = serde_json::from_value(letters[0].1.clone()).unwrap();
        assert_eq!(letter.departments, ["support"]);
        assert_eq!(
            (letter.language.as_str(), letter.timezone.as_str()),
            ("en", "Europe/Moscow")
        );
    }
}
