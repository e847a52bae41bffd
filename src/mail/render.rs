//! Letters as people read them: a payload rendered with minijinja into a subject, a plain-text
//! part and an HTML part, from the templates shipped in `assets/mail/<ru|en>/<kind>.{txt,html}`
//! (compiled into the binary). The first line of a `.txt` template is the subject, the rest
//! after one blank line the body; `.html` templates escape every value.
//!
//! `Templates` is one set: the shipped templates, each possibly replaced by a file of the
//! config's `server.smtp.templates` directory. `check` is what `pbx validate` and an apply run
//! on each such file: it compiles, names only variables its letters carry, and renders with
//! sample letters built by the same context builders the sender uses.

use super::payload::{MissedCallLetter, VoicemailLetter, WelcomeLetter};
use minijinja::{context, Environment};
use std::path::Path;
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

/// Every template's name, `<language>/<kind>.<txt|html>`.
pub fn names() -> impl Iterator<Item = &'static str> {
    TEMPLATES.iter().map(|(name, _)| *name)
}

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

/// Why a directory of templates cannot replace the built-in ones.
#[derive(Debug, thiserror::Error)]
#[error("{template}{}: {problem}", line.map(|l| format!(" line {l}")).unwrap_or_default())]
pub struct TemplateError {
    /// The template's name (`en/welcome.txt`), or the directory itself.
    pub template: String,
    /// The line inside the template, when known.
    pub line: Option<usize>,
    pub problem: TemplateProblem,
}

/// What is wrong with an override.
#[derive(Debug, thiserror::Error)]
pub enum TemplateProblem {
    #[error("cannot be read ({0})")]
    Unreadable(std::io::Error),
    #[error("does not compile ({0})")]
    Syntax(minijinja::Error),
    #[error("names the unknown variable `{name}`")]
    UnknownVariable { name: String, known: Vec<String> },
    #[error("does not render with sample data ({0})")]
    Render(minijinja::Error),
    #[error("is not one of the templates (`<ru|en>/<welcome|voicemail|missed_call>.<txt|html>`)")]
    UnknownName,
}

/// A set of templates: the built-in ones, each possibly replaced by a file of
/// `server.smtp.templates`. Unknown variables are errors (minijinja's `Strict`).
#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
    /// The overrides' names and sources, as read.
    overrides: Vec<(String, String)>,
}

impl PartialEq for Templates {
    fn eq(&self, other: &Self) -> bool {
        self.overrides == other.overrides
    }
}

fn strict_environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env
}

fn compile_error(template: &str, source: minijinja::Error) -> TemplateError {
    TemplateError {
        template: template.to_owned(),
        line: source.line(),
        problem: TemplateProblem::Syntax(source),
    }
}

impl Templates {
    /// The shipped templates only.
    pub fn builtin() -> &'static Templates {
        static BUILTIN: OnceLock<Templates> = OnceLock::new();
        BUILTIN.get_or_init(|| {
            Templates::with_overrides(Vec::new()).expect("the shipped templates compile")
        })
    }

    /// The shipped templates with `overrides` (name, source) in place of theirs; each
    /// override is checked first (`check`).
    pub fn with_overrides(overrides: Vec<(String, String)>) -> Result<Templates, TemplateError> {
        for (name, source) in &overrides {
            check(name, source)?;
        }
        let mut env = strict_environment();
        for (name, source) in TEMPLATES {
            if !overrides.iter().any(|(n, _)| n == name) {
                env.add_template(name, source)
                    .map_err(|e| compile_error(name, e))?;
            }
        }
        for (name, source) in &overrides {
            env.add_template_owned(name.clone(), source.clone())
                .map_err(|e| compile_error(name, e))?;
        }
        Ok(Templates { env, overrides })
    }

    /// The templates of `dir` (`server.smtp.templates`), or the shipped ones without one.
    pub fn load(dir: Option<&Path>) -> Result<Templates, TemplateError> {
        match dir {
            None => Ok(Templates::with_overrides(Vec::new())?),
            Some(dir) => Templates::with_overrides(read_overrides(dir)?),
        }
    }

    /// The names of the templates replaced.
    pub fn overridden(&self) -> impl Iterator<Item = &str> {
        self.overrides.iter().map(|(n, _)| n.as_str())
    }

    /// Renders `<language>/<kind>.txt` and `.html` with `ctx`.
    fn render(
        &self,
        kind: &str,
        language: &str,
        ctx: minijinja::Value,
    ) -> Result<Rendered, RenderError> {
        let one = |ext: &str| {
            let name = format!("{}/{kind}.{ext}", language_dir(language));
            self.env
                .get_template(&name)
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
    pub fn welcome(&self, letter: &WelcomeLetter) -> Result<Rendered, RenderError> {
        self.render("welcome", &letter.language, welcome_context(letter))
    }

    /// A voicemail letter; `attached` says whether the recording goes with it.
    pub fn voicemail(
        &self,
        letter: &VoicemailLetter,
        attached: bool,
    ) -> Result<Rendered, RenderError> {
        self.render(
            "voicemail",
            &letter.language,
            voicemail_context(letter, attached),
        )
    }

    /// A missed-call letter.
    pub fn missed_call(&self, letter: &MissedCallLetter) -> Result<Rendered, RenderError> {
        self.render("missed_call", &letter.language, missed_call_context(letter))
    }
}

/// Reads the override files present in `dir`: a missing directory, an unreadable file or a
/// `.txt`/`.html` file that is not one of the templates is an error.
pub fn read_overrides(dir: &Path) -> Result<Vec<(String, String)>, TemplateError> {
    let unreadable = |template: String, e: std::io::Error| TemplateError {
        template,
        line: None,
        problem: TemplateProblem::Unreadable(e),
    };
    let whole = dir.display().to_string();
    let entries = std::fs::read_dir(dir).map_err(|e| unreadable(whole.clone(), e))?;
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| unreadable(whole.clone(), e))?;
        let sub = entry.path();
        if !sub.is_dir() {
            continue;
        }
        let language = entry.file_name().to_string_lossy().into_owned();
        for file in std::fs::read_dir(&sub).map_err(|e| unreadable(language.clone(), e))? {
            let file = file.map_err(|e| unreadable(language.clone(), e))?;
            let name = format!("{language}/{}", file.file_name().to_string_lossy());
            if !(name.ends_with(".txt") || name.ends_with(".html")) {
                continue;
            }
            if !names().any(|n| n == name) {
                return Err(TemplateError {
                    template: name,
                    line: None,
                    problem: TemplateProblem::UnknownName,
                });
            }
            found.push(name);
        }
    }
    found.sort();
    found
        .into_iter()
        .map(|name| {
            std::fs::read_to_string(dir.join(&name))
                .map(|source| (name.clone(), source))
                .map_err(|e| unreadable(name, e))
        })
        .collect()
}

/// The kind of a template name (`en/welcome.txt` -> `welcome`).
fn kind_of(name: &str) -> &str {
    let file = name.rsplit('/').next().unwrap_or(name);
    file.split('.').next().unwrap_or(file)
}

/// Checks one override: it compiles, names only variables its kind's letters carry (and
/// minijinja's global functions), and renders, strictly, with sample data of its kind.
pub fn check(name: &str, source: &str) -> Result<(), TemplateError> {
    let mut env = strict_environment();
    env.add_template(name, source)
        .map_err(|e| compile_error(name, e))?;
    let template = env.get_template(name).map_err(|e| compile_error(name, e))?;
    let kind = kind_of(name);
    let samples = samples(kind);
    let mut known: Vec<String> = samples
        .first()
        .and_then(|ctx| ctx.try_iter().ok())
        .map(|keys| keys.map(|k| k.to_string()).collect())
        .unwrap_or_default();
    known.sort();
    let mut undeclared: Vec<String> = template.undeclared_variables(false).into_iter().collect();
    undeclared.sort();
    for variable in undeclared {
        if known.contains(&variable) || env.globals().any(|(g, _)| g == variable) {
            continue;
        }
        return Err(TemplateError {
            template: name.to_owned(),
            line: line_of(source, &variable),
            problem: TemplateProblem::UnknownVariable {
                name: variable,
                known,
            },
        });
    }
    for ctx in samples {
        template.render(&ctx).map_err(|e| TemplateError {
            template: name.to_owned(),
            line: e.line(),
            problem: TemplateProblem::Render(e),
        })?;
    }
    Ok(())
}

/// The 1-based line where `word` first appears as a whole word.
fn line_of(source: &str, word: &str) -> Option<usize> {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    source
        .lines()
        .position(|line| {
            line.match_indices(word).any(|(at, _)| {
                !line[..at].chars().next_back().is_some_and(ident)
                    && !line[at + word.len()..].chars().next().is_some_and(ident)
            })
        })
        .map(|i| i + 1)
}

/// Sample contexts of a kind, built the way the sender builds them.
fn samples(kind: &str) -> Vec<minijinja::Value> {
    match kind {
        "welcome" => {
            let mut letter = sample::welcome();
            let with = welcome_context(&letter);
            letter.extension = None;
            vec![with, welcome_context(&letter)]
        }
        "voicemail" => {
            let letter = sample::voicemail();
            vec![
                voicemail_context(&letter, true),
                voicemail_context(&letter, false),
            ]
        }
        _ => {
            let mut letter = sample::missed_call();
            let full = missed_call_context(&letter);
            letter.number = None;
            letter.departments.clear();
            vec![full, missed_call_context(&letter)]
        }
    }
}

/// Sample letters for checking templates.
mod sample {
    use crate::mail::payload::{
        MissedCallLetter, SipListen, SipServer, VoicemailLetter, WelcomeLetter,
    };

    pub fn welcome() -> WelcomeLetter {
        WelcomeLetter {
            tenant: "acme".into(),
            company: "Acme".into(),
            login: "anna".into(),
            name: "Anna Smith".into(),
            extension: Some("101".into()),
            email: "anna@example.com".into(),
            password: Some("s3cret".into()),
            sip: SipServer {
                domain: "acme.example.com".into(),
                address: "203.0.113.5".into(),
                listen: vec![SipListen {
                    transport: "udp".into(),
                    port: 5060,
                }],
            },
            language: "en".into(),
        }
    }

    pub fn voicemail() -> VoicemailLetter {
        VoicemailLetter {
            tenant: "acme".into(),
            message: 1,
            mailbox: "staff:anna".into(),
            caller: "+79161112233".into(),
            number: Some("+74951234567".into()),
            received_ms: 1_700_000_000_000,
            duration_ms: 75_500,
            file: "voicemail/acme/1.wav".into(),
            email: "anna@example.com".into(),
            language: "en".into(),
            timezone: "Europe/Moscow".into(),
        }
    }

    pub fn missed_call() -> MissedCallLetter {
        MissedCallLetter {
            tenant: "acme".into(),
            caller: "+79161112233".into(),
            callee: "+74951234567".into(),
            number: Some("+74951234567".into()),
            started_ms: 1_700_000_000_000,
            ring_ms: 31_000,
            departments: vec!["Sales".into()],
            offered: vec!["anna".into()],
            email: "anna@example.com".into(),
            language: "en".into(),
            timezone: "Europe/Moscow".into(),
        }
    }
}

/// The language directory for `language` (`en`, anything else Russian).
fn language_dir(language: &str) -> &'static str {
    if language == "en" {
        "en"
    } else {
        "ru"
    }
}

/// A welcome letter with the shipped templates.
pub fn welcome(letter: &WelcomeLetter) -> Result<Rendered, RenderError> {
    Templates::builtin().welcome(letter)
}

/// A voicemail letter with the shipped templates.
pub fn voicemail(letter: &VoicemailLetter, attached: bool) -> Result<Rendered, RenderError> {
    Templates::builtin().voicemail(letter, attached)
}

/// A missed-call letter with the shipped templates.
pub fn missed_call(letter: &MissedCallLetter) -> Result<Rendered, RenderError> {
    Templates::builtin().missed_call(letter)
}

/// What a welcome template sees: the letter's fields.
fn welcome_context(letter: &WelcomeLetter) -> minijinja::Value {
    minijinja::Value::from_serialize(letter)
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

/// What a voicemail template sees.
fn voicemail_context(letter: &VoicemailLetter, attached: bool) -> minijinja::Value {
    context! {
        caller => &letter.caller,
        number => &letter.number,
        box => &letter.mailbox,
        time => local_time(letter.received_ms, &letter.timezone),
        duration => duration(letter.duration_ms),
        attached => attached,
    }
}

/// What a missed-call template sees.
fn missed_call_context(letter: &MissedCallLetter) -> minijinja::Value {
    context! {
        caller => &letter.caller,
        callee => &letter.callee,
        number => &letter.number,
        time => local_time(letter.started_ms, &letter.timezone),
        ring => duration(letter.ring_ms),
        departments => &letter.departments,
        offered => &letter.offered,
    }
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

    #[test]
    fn the_shipped_templates_pass_the_strict_check() {
        for (name, source) in TEMPLATES {
            check(name, source).unwrap_or_else(|e| panic!("{e}"));
        }
    }

    #[test]
    fn an_override_replaces_its_template_and_leaves_the_others_built_in() {
        let templates = Templates::with_overrides(vec![(
            "en/welcome.txt".into(),
            "Hi {{ name }}\n\nYour login is {{ login }}.\n".into(),
        )])
        .unwrap();
        let r = templates.welcome(&welcome_letter("en")).unwrap();
        assert_eq!(r.subject, "Hi Иванов Иван");
        assert_eq!(r.text, "Your login is ivanov.\n");
        assert_eq!(r.html, welcome(&welcome_letter("en")).unwrap().html);
        let ru = templates.welcome(&welcome_letter("ru")).unwrap();
        assert_eq!(ru, welcome(&welcome_letter("ru")).unwrap());
        assert_eq!(
            templates.overridden().collect::<Vec<_>>(),
            ["en/welcome.txt"]
        );
    }

    #[test]
    fn overrides_are_read_from_a_directory_and_unknown_names_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("ru")).unwrap();
        std::fs::write(
            dir.path().join("ru/missed_call.html"),
            "<p>{{ caller }}</p>",
        )
        .unwrap();
        std::fs::write(dir.path().join("ru/notes.md"), "not a template").unwrap();
        let found = read_overrides(dir.path()).unwrap();
        assert_eq!(
            found,
            [(
                "ru/missed_call.html".to_string(),
                "<p>{{ caller }}</p>".to_string()
            )]
        );
        std::fs::write(dir.path().join("ru/welcom.txt"), "x").unwrap();
        let e = read_overrides(dir.path()).unwrap_err();
        assert!(matches!(e.problem, TemplateProblem::UnknownName), "{e}");
        assert_eq!(e.template, "ru/welcom.txt");
        let e = Templates::load(Some(&dir.path().join("absent"))).unwrap_err();
        assert!(matches!(e.problem, TemplateProblem::Unreadable(_)), "{e}");
    }

    #[test]
    fn the_check_refuses_unknown_variables_even_in_branches_not_taken() {
        let e = check(
            "en/voicemail.txt",
            "Subject\n\n{% if attached %}\n{{ caller }}\n{% else %}\n{{ callr }}\n{% endif %}\n",
        )
        .unwrap_err();
        match &e.problem {
            TemplateProblem::UnknownVariable { name, known } => {
                assert_eq!(name, "callr");
                assert!(known.contains(&"caller".to_string()), "{known:?}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(e.line, Some(6));
        // A welcome template sees the letter's fields; `range` is one of minijinja's globals.
        check(
            "ru/welcome.txt",
            "{{ sip.domain }} {% for i in range(2) %}{{ i }}{% endfor %}",
        )
        .unwrap();
        check("en/missed_call.html", "{{ box }}").unwrap_err();
    }

    #[test]
    fn the_check_reports_syntax_and_render_errors_with_their_line() {
        let e = check("en/welcome.html", "<p>\n{{ name }\n</p>").unwrap_err();
        assert!(matches!(e.problem, TemplateProblem::Syntax(_)), "{e}");
        assert_eq!(e.line, Some(2));
        let e = check("en/welcome.txt", "S\n\n{{ name }}\n{{ sip.nothing }}\n").unwrap_err();
        assert!(matches!(e.problem, TemplateProblem::Render(_)), "{e}");
        assert_eq!(e.line, Some(4));
        assert!(
            e.to_string()
                .starts_with("en/welcome.txt line 4: does not render"),
            "{e}"
        );
    }
}
