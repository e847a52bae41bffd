//! The cabinet's pages as HTML: one set of minijinja templates compiled in from
//! `assets/cabinet/templates/`, every value escaped (autoescape for `.html`), and a table of
//! strings per language (`assets/cabinet/{en,ru}.json`) handed to them as `t` — the tenant's
//! `language` picks the table. Undefined values are errors (`Strict`), so a missing string is
//! found by the tests, not by a visitor.

use crate::config::model::Language;
use minijinja::{Environment, UndefinedBehavior, Value};
use std::collections::BTreeMap;

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

/// The compiled templates and the strings of each language.
pub struct Views {
    env: Environment<'static>,
    en: BTreeMap<String, String>,
    ru: BTreeMap<String, String>,
}

impl Views {
    /// Compiles the shipped templates.
    ///
    /// # Panics
    /// If a shipped template or strings table is broken (a test renders every page).
    pub fn new() -> Views {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("the shipped template {name} compiles: {e}"));
        }
        Views {
            env,
            en: serde_json::from_str(EN).expect("assets/cabinet/en.json is a strings table"),
            ru: serde_json::from_str(RU).expect("assets/cabinet/ru.json is a strings table"),
        }
    }

    /// The strings of `language`.
    pub fn strings(&self, language: Language) -> &BTreeMap<String, String> {
        match language {
            Language::En => &self.en,
            Language::Ru => &self.ru,
        }
    }

    /// Renders page `name` in `language` with `values` (and the strings as `t`).
    pub fn render(
        &self,
        name: &str,
        language: Language,
        values: Value,
    ) -> Result<String, minijinja::Error> {
        let t = Value::from_serialize(self.strings(language));
        let ctx = minijinja::context! { t => t, ..values };
        self.env.get_template(name)?.render(ctx)
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
