//! Letters as people read them: a payload rendered with minijinja into a subject, a plain-text
//! part and an HTML part, from the templates shipped in `assets/mail/<ru|en>/<kind>.{txt,html}`
//! (compiled into the binary). The first line of a `.txt` template is the subject, the rest
//! after one blank line the body; `.html` templates escape every value.

use super::payload::{MissedCallLetter, VoicemailLetter, WelcomeLetter};
use minijinja::{context, Environment};
use std::sync::OnceLock;

/// The shipped templates: (name, source).
const TEMPLATES: [(&str, &str); 12] = [
    (
        "ru/welcome.txt",
        include_str!("../../assets/mail/ru/welcome.txt"),
    ),
    (
        "ru/welcome.html",
        include_str!("../../assets/mail/ru/welcome.html"),
    ),
    (
        "en/welcome.txt",
        include_str!("../../assets/mail/en/welcome.txt"),
    ),
    (
        "en/welcome.html",
        include_str!("../../assets/mail/en/welcome.html"),
    ),
    (
        "ru/voicemail.txt",
        include_str!("../../assets/mail/ru/voicemail.txt"),
    ),
    (
        "ru/voicemail.html",
        include_str!("../../assets/mail/ru/voicemail.html"),
    ),
    (
        "en/voicemail.txt",
        include_str!("../../assets/mail/en/voicemail.txt"),
    ),
    (
        "en/voicemail.html",
        include_str!("../../assets/mail/en/voicemail.html"),
    ),
    (
        "ru/missed_call.txt",
        include_str!("../../assets/mail/ru/missed_call.txt"),
    ),
    (
        "ru/missed_call.html",
        include_str!("../../assets/mail/ru/missed_call.html"),
    ),
    (
        "en/missed_call.txt",
        include_str!("../../assets/mail/en/missed_call.txt"),
    ),
    (
        "en/missed_call.html",
        include_str!("../../assets/mail/en/missed_call.html"),
    ),
];

/// A rendered letter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Why a letter could not be rendered (a template error: permanent).
#[derive(Debug, thiserror::Error)]
#[error("the {template} template: {source}")]
pub struct RenderError {
    template: String,
    #[source]
    source: minijinja::Error,
}

fn environment() -> &'static Result<Environment<'static>, RenderError> {
    static ENV: OnceLock<Result<Environment<'static>, RenderError>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .map_err(|source| RenderError {
                    template: name.to_owned(),
                    source,
                })?;
        }
        Ok(env)
    })
}

/// The language directory for `language` (`en`, anything else Russian).
fn language_dir(language: &str) -> &'static str {
    if language == "en" {
        "en"
    } else {
        "ru"
    }
}

/// Renders `<language>/<kind>.txt` and `.html` with `ctx`.
fn render(kind: &str, language: &str, ctx: minijinja::Value) -> Result<Rendered, RenderError> {
    let env = environment().as_ref().map_err(|e| RenderError {
        template: e.template.clone(),
        source: minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, e.source.to_string()),
    })?;
    let one = |ext: &str| {
        let name = format!("{}/{kind}.{ext}", language_dir(language));
        env.get_template(&name)
            .and_then(|t| t.render(&ctx))
            .map_err(|source| RenderError {
                template: name,
                source,
            })
    };
    let text = one("txt")?;
    let (subject, body) = text.split_once('\n').unwrap_or((text.as_str(), ""));
    Ok(Rendered {
        subject: subject.trim().to_owned(),
        text: format!("{}\n", body.trim_start_matches('\n').trim_end()),
        html: one("html")?,
    })
}

/// A welcome letter.
pub fn welcome(letter: &WelcomeLetter) -> Result<Rendered, RenderError> {
    render(
        "welcome",
        &letter.language,
        minijinja::Value::from_serialize(letter),
    )
}

/// `ms` as `m:ss`.
fn duration(ms: u64) -> String {
    let s = ms / 1000;
    format!("{}:{:02}", s / 60, s % 60)
}

/// `ms` since the epoch as local time in `timezone` (UTC when unknown).
fn local_time(ms: u64, timezone: &str) -> String {
    let tz = jiff::tz::db()
        .get(timezone)
        .unwrap_or(jiff::tz::TimeZone::UTC);
    i64::try_from(ms)
        .ok()
        .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
        .map(|t| t.to_zoned(tz).strftime("%Y-%m-%d %H:%M:%S %Z").to_string())
        .unwrap_or_else(|| ms.to_string())
}

/// A voicemail letter; `attached` says whether the recording goes with it.
pub fn voicemail(letter: &VoicemailLetter, attached: bool) -> Result<Rendered, RenderError> {
    render(
        "voicemail",
        &letter.language,
        context! {
            caller => &letter.caller,
            number => &letter.number,
            box => &letter.mailbox,
            time => local_time(letter.received_ms, &letter.timezone),
            duration => duration(letter.duration_ms),
            attached => attached,
        },
    )
}

/// A missed-call letter.
pub fn missed_call(letter: &MissedCallLetter) -> Result<Rendered, RenderError> {
    render(
        "missed_call",
        &letter.language,
        context! {
            caller => &letter.caller,
            callee => &letter.callee,
            number => &letter.number,
            time => local_time(letter.started_ms, &letter.timezone),
            ring => duration(letter.ring_ms),
            departments => &letter.departments,
            offered => &letter.offered,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::payload::{SipListen, SipServer};

    fn welcome_letter(language: &str) -> WelcomeLetter {
        WelcomeLetter {
            tenant: "acme".into(),
            company: "Acme <& Co>".into(),
            login: "ivanov".into(),
            name: "Иванов Иван".into(),
            extension: Some("101".into()),
            email: "ivan@example.com".into(),
            password: Some("s3cret<pw>".into()),
            sip: SipServer {
                domain: "acme.example.com".into(),
                address: "203.0.113.5".into(),
                listen: vec![
                    SipListen {
                        transport: "udp".into(),
                        port: 5060,
                    },
                    SipListen {
                        transport: "tcp".into(),
                        port: 5070,
                    },
                ],
            },
            language: language.into(),
        }
    }

    #[test]
    fn welcome_letters_render_in_both_languages_with_everything_a_phone_needs() {
        for (language, greeting, subject) in [
            (
                "en",
                "Hello, Иванов Иван!",
                "Your phone at Acme <& Co>: login ivanov",
            ),
            (
                "ru",
                "Здравствуйте, Иванов Иван!",
                "Ваш телефон в Acme <& Co>: логин ivanov",
            ),
        ] {
            let r = welcome(&welcome_letter(language)).unwrap();
            assert_eq!(r.subject, subject);
            assert!(r.text.starts_with(greeting), "{}", r.text);
            for needle in [
                "ivanov",
                "s3cret<pw>",
                "101",
                "acme.example.com",
                "203.0.113.5",
                "UDP",
                "5060",
                "TCP",
                "5070",
                "https://www.linphone.org/",
            ] {
                assert!(r.text.contains(needle), "{language} text lacks {needle}");
            }
            assert!(r.html.contains("s3cret&lt;pw&gt;"), "{}", r.html);
            assert!(r.html.contains("Acme &lt;&amp; Co&gt;"));
            assert!(!r.html.contains("s3cret<pw>"));
            assert!(r.html.contains("5070"));
        }
    }

    #[test]
    fn a_welcome_letter_without_an_extension_leaves_the_line_out() {
        let mut letter = welcome_letter("en");
        letter.extension = None;
        let r = welcome(&letter).unwrap();
        assert!(!r.text.contains("Extension"), "{}", r.text);
    }

    #[test]
    fn voicemail_letters_say_whether_the_recording_is_attached() {
        let mut letter = VoicemailLetter {
            tenant: "acme".into(),
            message: 7,
            mailbox: "staff:anna".into(),
            caller: "+79161112233".into(),
            number: Some("+74951234567".into()),
            received_ms: 1_700_000_000_000,
            duration_ms: 75_500,
            file: "voicemail/acme/7.wav".into(),
            email: "anna@example.com".into(),
            language: "en".into(),
            timezone: "Europe/Moscow".into(),
        };
        let r = voicemail(&letter, true).unwrap();
        assert_eq!(r.subject, "New voicemail from +79161112233 (1:15)");
        assert!(r.text.contains("2023-11-15 01:13:20 MSK"), "{}", r.text);
        assert!(r.text.contains("+74951234567"));
        assert!(r.text.contains("attached"));
        letter.language = "ru".into();
        let r = voicemail(&letter, false).unwrap();
        assert!(r.subject.starts_with("Новое голосовое сообщение"));
        assert!(r.text.contains("не приложена"), "{}", r.text);
        assert!(r.html.contains("не приложена"));
    }

    #[test]
    fn missed_call_letters_say_who_called_when_and_who_it_was_offered_to() {
        let mut letter = MissedCallLetter {
            tenant: "acme".into(),
            caller: "+79161112233".into(),
            callee: "+74951234567".into(),
            number: Some("+74951234567".into()),
            started_ms: 1_700_000_000_000,
            ring_ms: 31_000,
            departments: vec!["Sales <1>".into()],
            offered: vec!["anna".into(), "boris (mobile +79990001122)".into()],
            email: "anna@example.com".into(),
            language: "en".into(),
            timezone: "Europe/Moscow".into(),
        };
        let r = missed_call(&letter).unwrap();
        assert_eq!(r.subject, "Missed call from +79161112233");
        for needle in [
            "2023-11-15 01:13:20 MSK",
            "0:31",
            "Sales <1>",
            "anna, boris (mobile +79990001122)",
            "Number:     +74951234567",
        ] {
            assert!(r.text.contains(needle), "{needle}: {}", r.text);
        }
        assert!(r.html.contains("Sales &lt;1&gt;"), "{}", r.html);
        letter.language = "ru".into();
        letter.number = None;
        letter.departments.clear();
        let r = missed_call(&letter).unwrap();
        assert_eq!(r.subject, "Пропущенный звонок от +79161112233");
        assert!(
            !r.text.contains("Номер") && !r.text.contains("Отдел"),
            "{}",
            r.text
        );
        assert!(r.text.contains("Кому звонил: anna"), "{}", r.text);
    }
}
