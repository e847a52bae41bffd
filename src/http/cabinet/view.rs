//! The cabinet's pages as HTML: one set of minijinja templates compiled in from
//! `assets/cabinet/templates/`, every value escaped (autoescape for `.html`), and a table of
//! strings per language (`assets/cabinet/{en,ru}.json`) handed to them as `t` — the tenant's
//! `language` picks the table. Undefined values are errors (`Strict`), so a missing string is
//! found by the tests, not by a visitor.
//!
//! A deployment may replace any of them (`server.cabinet.templates`, a directory): a
//! `<page>.html` file there replaces that template (the others, `layout.html` included, stay
//! built in), and `en.json` / `ru.json` replace single strings of that language. [`Views::load`]
//! reads and checks them — each template compiles, names only the values its page is given
//! ([`VARIABLES`]), each string key exists — which is what `pbx validate` and every apply run.
//! A replaced page that still fails when a request renders it (a value missing on one path)
//! is logged and served with the built-in template instead, so a deployment's page can break
//! its look, never the cabinet.

use crate::config::model::Language;
use minijinja::{Environment, UndefinedBehavior, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// The templates: (name, source).
const TEMPLATES: [(&str, &str); 9] = [
    (
        "layout.html",
        include_str!("../../../assets/cabinet/templates/layout.html"),
    ),
    (
        "signin.html",
        include_str!("../../../assets/cabinet/templates/signin.html"),
    ),
    (
        "history.html",
        include_str!("../../../assets/cabinet/templates/history.html"),
    ),
    (
        "stats.html",
        include_str!("../../../assets/cabinet/templates/stats.html"),
    ),
    (
        "admin.html",
        include_str!("../../../assets/cabinet/templates/admin.html"),
    ),
    (
        "password.html",
        include_str!("../../../assets/cabinet/templates/password.html"),
    ),
    (
        "voicemail.html",
        include_str!("../../../assets/cabinet/templates/voicemail.html"),
    ),
    (
        "profile.html",
        include_str!("../../../assets/cabinet/templates/profile.html"),
    ),
    (
        "error.html",
        include_str!("../../../assets/cabinet/templates/error.html"),
    ),
];

const EN: &str = include_str!("../../../assets/cabinet/en.json");
const RU: &str = include_str!("../../../assets/cabinet/ru.json");

/// What every signed-in page is given (the layout's values).
const FRAME: [&str; 6] = ["t", "me", "tenant_name", "base", "csrf", "page"];

/// The values each template is given besides [`FRAME`]: what a replacement may name.
pub const VARIABLES: [(&str, &[&str]); 9] = [
    ("layout.html", &[]),
    ("signin.html", &["message", "login", "domain"]),
    (
        "history.html",
        &[
            "records",
            "next_url",
            "params",
            "problem",
            "own_only",
            "people",
            "departments",
            "outcomes",
        ],
    ),
    (
        "stats.html",
        &[
            "period",
            "at",
            "first",
            "company",
            "departments",
            "people",
            "chart",
            "problem",
        ],
    ),
    (
        "admin.html",
        &[
            "revision",
            "applied",
            "staff",
            "departments",
            "numbers",
            "history",
            "callbacks",
        ],
    ),
    ("password.html", &["name", "login", "password"]),
    ("voicemail.html", &["messages"]),
    ("profile.html", &["profile", "done", "message"]),
    ("error.html", &["message", "detail"]),
];

/// Why a directory cannot replace the cabinet's templates.
#[derive(Debug, thiserror::Error)]
#[error("{file}{}: {problem}", line.map(|l| format!(" line {l}")).unwrap_or_default())]
pub struct ViewsError {
    /// The file (`history.html`, `ru.json`), or the directory itself.
    pub file: String,
    pub line: Option<usize>,
    pub problem: ViewsProblem,
}

/// What is wrong with a replacement.
#[derive(Debug, thiserror::Error)]
pub enum ViewsProblem {
    #[error("cannot be read ({0})")]
    Unreadable(std::io::Error),
    #[error("is not one of the cabinet's templates (`<page>.html`, `en.json`, `ru.json`)")]
    UnknownName,
    #[error("does not compile ({0})")]
    Syntax(String),
    #[error("names `{name}`, which this page is not given")]
    UnknownVariable { name: String, known: Vec<String> },
    #[error("replaces the string `{0}`, which the cabinet does not have")]
    UnknownString(String),
}

/// The compiled templates and the strings of each language, with a deployment's replacements
/// if there are any.
pub struct Views {
    builtin: Environment<'static>,
    /// The built-ins with the replacements in place; `None` without any.
    replaced: Option<Environment<'static>>,
    en: BTreeMap<String, String>,
    ru: BTreeMap<String, String>,
    /// The replacement files as read (name, content): what a reload compares.
    files: Vec<(String, String)>,
}

impl PartialEq for Views {
    fn eq(&self, other: &Self) -> bool {
        self.files == other.files
    }
}

impl std::fmt::Debug for Views {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.files.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("Views").field("replaced", &names).finish()
    }
}

fn environment(replacements: &[(String, String)]) -> Result<Environment<'static>, ViewsError> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    for (name, source) in TEMPLATES {
        if !replacements.iter().any(|(n, _)| n == name) {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("the shipped template {name} compiles: {e}"));
        }
    }
    for (name, source) in replacements {
        env.add_template_owned(name.clone(), source.clone())
            .map_err(|e| ViewsError {
                file: name.clone(),
                line: e.line(),
                problem: ViewsProblem::Syntax(
                    e.detail().unwrap_or(&e.kind().to_string()).to_owned(),
                ),
            })?;
    }
    Ok(env)
}

/// The strings of `json` (a shipped table, or a replacement's keys over it).
fn strings(
    base: &BTreeMap<String, String>,
    file: &str,
    json: &str,
) -> Result<BTreeMap<String, String>, ViewsError> {
    let error = |line, problem| ViewsError {
        file: file.to_owned(),
        line,
        problem,
    };
    let replaced: BTreeMap<String, String> = serde_json::from_str(json).map_err(|e| {
        error(
            Some(e.line()),
            ViewsProblem::Syntax(format!("not a JSON object of strings: {e}")),
        )
    })?;
    let mut out = base.clone();
    for (key, value) in replaced {
        let Some(slot) = out.get_mut(&key) else {
            return Err(error(None, ViewsProblem::UnknownString(key)));
        };
        *slot = value;
    }
    Ok(out)
}

impl Views {
    /// The shipped templates and strings.
    ///
    /// # Panics
    /// If a shipped template or strings table is broken (a test renders every page).
    pub fn new() -> Views {
        Views {
            builtin: environment(&[]).expect("the shipped templates compile"),
            replaced: None,
            en: serde_json::from_str(EN).expect("assets/cabinet/en.json is a strings table"),
            ru: serde_json::from_str(RU).expect("assets/cabinet/ru.json is a strings table"),
            files: Vec::new(),
        }
    }

    /// The shipped templates with the replacements of `dir` (`server.cabinet.templates`),
    /// each checked (see the module doc); the shipped ones alone without a directory.
    pub fn load(dir: Option<&Path>) -> Result<Views, ViewsError> {
        let mut views = Views::new();
        let Some(dir) = dir else {
            return Ok(views);
        };
        let files = read_replacements(dir)?;
        let (templates, tables): (Vec<_>, Vec<_>) = files
            .iter()
            .cloned()
            .partition(|(n, _)| n.ends_with(".html"));
        for (file, json) in &tables {
            let table = if file == "en.json" {
                &mut views.en
            } else {
                &mut views.ru
            };
            *table = strings(table, file, json)?;
        }
        let env = environment(&templates)?;
        for (name, _) in &templates {
            check_variables(&env, name)?;
        }
        views.replaced = (!templates.is_empty()).then_some(env);
        views.files = files;
        Ok(views)
    }

    /// The names of the files replacing shipped ones.
    pub fn replaced(&self) -> impl Iterator<Item = &str> {
        self.files.iter().map(|(n, _)| n.as_str())
    }

    /// The strings of `language`.
    pub fn strings(&self, language: Language) -> &BTreeMap<String, String> {
        match language {
            Language::En => &self.en,
            Language::Ru => &self.ru,
        }
    }

    /// Renders page `name` in `language` with `values` (and the strings as `t`): with the
    /// deployment's templates, or the built-in ones when theirs fails (logged).
    pub fn render(
        &self,
        name: &str,
        language: Language,
        values: Value,
    ) -> Result<String, minijinja::Error> {
        let t = Value::from_serialize(self.strings(language));
        let ctx = minijinja::context! { t => t, ..values };
        if let Some(env) = &self.replaced {
            match env.get_template(name).and_then(|t| t.render(&ctx)) {
                Ok(html) => return Ok(html),
                Err(e) => eprintln!(
                    "pbx serve: cabinet: the deployment's template for {name} fails ({e:#}); the built-in one is served"
                ),
            }
        }
        self.builtin.get_template(name)?.render(ctx)
    }
}

/// The replacement files in `dir`: `<page>.html` of the shipped pages and `en.json` /
/// `ru.json`; any other `.html` or `.json` file is an error (a typo would be ignored
/// otherwise), other files are left alone.
fn read_replacements(dir: &Path) -> Result<Vec<(String, String)>, ViewsError> {
    let unreadable = |file: String, e: std::io::Error| ViewsError {
        file,
        line: None,
        problem: ViewsProblem::Unreadable(e),
    };
    let whole = dir.display().to_string();
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| unreadable(whole.clone(), e))? {
        let entry = entry.map_err(|e| unreadable(whole.clone(), e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !(name.ends_with(".html") || name.ends_with(".json")) {
            continue;
        }
        let known =
            TEMPLATES.iter().any(|(n, _)| *n == name) || name == "en.json" || name == "ru.json";
        if !known {
            return Err(ViewsError {
                file: name,
                line: None,
                problem: ViewsProblem::UnknownName,
            });
        }
        names.push(name);
    }
    names.sort();
    names
        .into_iter()
        .map(|name| {
            use crate::config::load::{read_regular, ReadError};
            let text = read_regular(&dir.join(&name)).map_err(|e| {
                let e = match e {
                    ReadError::Io(e) => e,
                    ReadError::Refused(r) => std::io::Error::other(r.to_string()),
                };
                unreadable(name.clone(), e)
            })?;
            Ok((name, text))
        })
        .collect()
}

/// `name` in `env` names only [`FRAME`] and its page's [`VARIABLES`] at the top level.
fn check_variables(env: &Environment<'static>, name: &str) -> Result<(), ViewsError> {
    let template = env.get_template(name).map_err(|e| ViewsError {
        file: name.to_owned(),
        line: e.line(),
        problem: ViewsProblem::Syntax(e.to_string()),
    })?;
    let own = VARIABLES
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(&[][..], |(_, v)| *v);
    let known: Vec<String> = FRAME
        .iter()
        .chain(own)
        .map(|s| s.to_string())
        .chain(env.globals().map(|(g, _)| g.to_owned()))
        .collect();
    let mut used: Vec<String> = template.undeclared_variables(false).into_iter().collect();
    used.sort();
    match used.into_iter().find(|v| !known.contains(v)) {
        None => Ok(()),
        Some(unknown) => Err(ViewsError {
            file: name.to_owned(),
            line: None,
            problem: ViewsProblem::UnknownVariable {
                name: unknown,
                known,
            },
        }),
    }
}

impl Default for Views {
    fn default() -> Self {
        Views::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_have_the_same_strings() {
        let v = Views::new();
        let en: Vec<&String> = v.en.keys().collect();
        let ru: Vec<&String> = v.ru.keys().collect();
        assert_eq!(en, ru);
        for o in super::super::history::OUTCOMES {
            assert!(v.en.contains_key(&format!("outcome_{o}")), "{o}");
        }
    }

    #[test]
    fn every_shipped_template_names_only_what_its_page_is_given() {
        let env = environment(&[]).unwrap();
        for (name, _) in TEMPLATES {
            check_variables(&env, name).unwrap_or_else(|e| panic!("{e}"));
        }
        assert_eq!(
            TEMPLATES.map(|(n, _)| n),
            VARIABLES.map(|(n, _)| n),
            "one list of values per template"
        );
    }

    fn dir(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        dir
    }

    #[test]
    fn a_deployment_replaces_a_page_and_strings_and_the_rest_stays_built_in() {
        let d = dir(&[
            (
                "error.html",
                "{% extends \"layout.html\" %}{% block main %}<p class=own>{{ t[message] }}</p>{% endblock %}",
            ),
            ("en.json", r#"{"not_found": "Nothing here, sorry."}"#),
            ("README.txt", "notes are left alone"),
        ]);
        let v = Views::load(Some(d.path())).unwrap();
        assert_eq!(v.replaced().collect::<Vec<_>>(), ["en.json", "error.html"]);
        let ctx = minijinja::context! {
            me => Value::from(()), message => "not_found", detail => (), base => (),
        };
        let html = v.render("error.html", Language::En, ctx.clone()).unwrap();
        assert!(
            html.contains("<p class=own>Nothing here, sorry.</p>"),
            "{html}"
        );
        let ru = v.render("error.html", Language::Ru, ctx).unwrap();
        assert!(
            !ru.contains("Nothing here"),
            "Russian keeps its strings: {ru}"
        );
        assert_ne!(v, Views::new());
        assert_eq!(Views::load(None).unwrap(), Views::new());
    }

    #[test]
    fn a_replacement_that_cannot_work_is_refused_with_its_file_and_reason() {
        let refused = |files: &[(&str, &str)]| {
            let d = dir(files);
            Views::load(Some(d.path())).unwrap_err()
        };
        let e = refused(&[("histroy.html", "x")]);
        assert!(matches!(e.problem, ViewsProblem::UnknownName), "{e}");
        assert_eq!(e.file, "histroy.html");
        let e = refused(&[("stats.html", "line one\n{% if %}")]);
        assert!(matches!(e.problem, ViewsProblem::Syntax(_)), "{e}");
        assert_eq!(e.line, Some(2));
        let e = refused(&[("voicemail.html", "{{ messages }} {{ staff }}")]);
        assert!(
            matches!(&e.problem, ViewsProblem::UnknownVariable { name, .. } if name == "staff"),
            "{e}"
        );
        let e = refused(&[("ru.json", r#"{"no_such_string": "x"}"#)]);
        assert!(matches!(e.problem, ViewsProblem::UnknownString(_)), "{e}");
        let e = refused(&[("en.json", r#"["not", "an object"]"#)]);
        assert!(matches!(e.problem, ViewsProblem::Syntax(_)), "{e}");
        let e = Views::load(Some(Path::new("/nonexistent/templates"))).unwrap_err();
        assert!(matches!(e.problem, ViewsProblem::Unreadable(_)), "{e}");
    }

    #[test]
    fn a_replaced_page_failing_at_render_time_is_served_built_in() {
        // `detail` is given but empty here: the deployment's page calls a method on it.
        let d = dir(&[("error.html", "{{ detail.upper() }}")]);
        let v = Views::load(Some(d.path())).unwrap();
        let html = v
            .render(
                "error.html",
                Language::En,
                minijinja::context! { me => Value::from(()), message => "not_found", detail => (), base => () },
            )
            .unwrap();
        assert!(html.contains("There is no such page."), "{html}");
    }

    #[test]
    fn the_sign_in_page_renders_escaped_in_both_languages() {
        let v = Views::new();
        for (lang, word) in [(Language::En, "Sign in"), (Language::Ru, "Войти")] {
            let html = v
                .render(
                    "signin.html",
                    lang,
                    minijinja::context! {
                        me => Value::from(()), csrf => "tok", login => "<b>", domain => "",
                        message => "signin_failed",
                    },
                )
                .unwrap();
            assert!(html.contains(word), "{html}");
            assert!(html.contains("&lt;b&gt;") && !html.contains("<b>"));
            assert!(html.contains("<label for=\"password\">"));
        }
    }
}
