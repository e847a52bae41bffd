//! The cabinet in a real browser: Debian's `chromium`, headless, driven over WebDriver by
//! `chromedriver` (package `chromium-driver`, installed by `ci/test.sh`), against a real
//! `pbx serve`. Each role signs in through the form, sees what it may, fails to open what it
//! may not; an administrator resets a password and reads it once; everyone signs out; a user
//! sets their forwarding and uploads a voicemail greeting through the profile page's forms
//! (`routing.rs` has a call follow the forwarding set in chromium).

use crate::cabinet::start;
use serde_json::{json, Value};
use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The WebDriver element key.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A chromedriver process and one headless chromium session; both end when dropped.
pub(crate) struct Chromium {
    driver: Child,
    base: String,
    session: String,
    agent: ureq::Agent,
    _profile: tempfile::TempDir,
}

impl Chromium {
    pub(crate) fn start() -> Chromium {
        let mut driver = Command::new("chromedriver")
            .arg("--port=0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver runs (Debian package chromium-driver; ci/test.sh installs it)");
        let stdout = driver.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if let Some(port) = line.split("started successfully on port ").nth(1) {
                    let _ = tx.send(port.trim_end_matches('.').to_owned());
                }
            }
        });
        let port = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("chromedriver says which port it listens on");
        let base = format!("http://127.0.0.1:{port}");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let profile = tempfile::tempdir().unwrap();
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--disable-extensions",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            },
        }}});
        let mut chromium = Chromium {
            driver,
            base,
            session: String::new(),
            agent,
            _profile: profile,
        };
        let answer = chromium.send("POST", "/session", Some(caps));
        chromium.session = answer["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {answer}"))
            .to_owned();
        chromium
    }

    /// A WebDriver command; its `value`.
    fn send(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.try_send(method, path, body)
            .unwrap_or_else(|error| panic!("chromedriver {method} {path}: {error}"))
    }

    /// A WebDriver command; its `value`, or the error WebDriver answered.
    fn try_send(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, Value> {
        let url = format!("{}{path}", self.base);
        let response = match method {
            "GET" => self.agent.get(&url).call(),
            "DELETE" => self.agent.delete(&url).call(),
            _ => self
                .agent
                .post(&url)
                .header("Content-Type", "application/json")
                .send(body.unwrap_or(json!({})).to_string().as_bytes()),
        };
        let mut response = response.unwrap_or_else(|e| panic!("chromedriver {method} {path}: {e}"));
        let text = response.body_mut().read_to_string().unwrap_or_default();
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let value = v["value"].clone();
        if value.get("error").is_some() {
            return Err(value);
        }
        Ok(value)
    }

    fn command(&self, method: &str, what: &str, body: Option<Value>) -> Value {
        self.send(method, &format!("/session/{}{what}", self.session), body)
    }

    pub(crate) fn open(&self, url: &str) {
        self.command("POST", "/url", Some(json!({ "url": url })));
    }

    pub(crate) fn url(&self) -> String {
        self.command("GET", "/url", None)
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    /// The visible text of the page (once a page that was being replaced has loaded).
    pub(crate) fn text(&self) -> String {
        crate::support::wait_for_or(
            "the page's text",
            Duration::from_secs(15),
            || self.try_text(),
            || self.url(),
        )
    }

    /// The visible text of the page, or `None` while it is being replaced (a click's page
    /// loading leaves the old body stale).
    fn try_text(&self) -> Option<String> {
        let s = &self.session;
        let found = self
            .try_send(
                "POST",
                &format!("/session/{s}/element"),
                Some(json!({ "using": "css selector", "value": "body" })),
            )
            .ok()?;
        let body = found[ELEMENT].as_str()?;
        let text = self
            .try_send("GET", &format!("/session/{s}/element/{body}/text"), None)
            .ok()?;
        text.as_str().map(str::to_owned)
    }

    pub(crate) fn find(&self, css: &str) -> String {
        let v = self.command(
            "POST",
            "/element",
            Some(json!({ "using": "css selector", "value": css })),
        );
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {v}"))
            .to_owned()
    }

    pub(crate) fn count(&self, css: &str) -> usize {
        self.command(
            "POST",
            "/elements",
            Some(json!({ "using": "css selector", "value": css })),
        )
        .as_array()
        .map_or(0, Vec::len)
    }

    pub(crate) fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css);
        self.command("POST", &format!("/element/{e}/clear"), None);
        self.command(
            "POST",
            &format!("/element/{e}/value"),
            Some(json!({ "text": text })),
        );
    }

    pub(crate) fn click(&self, css: &str) {
        let e = self.find(css);
        self.command("POST", &format!("/element/{e}/click"), None);
    }

    /// Waits until the page's text contains `needle` (a click's page may still be loading).
    pub(crate) fn wait_text(&self, needle: &str) -> String {
        crate::support::wait_for_or(
            &format!("the page to say {needle:?}"),
            Duration::from_secs(15),
            || self.try_text().filter(|text| text.contains(needle)),
            || format!("{}: {:?}", self.url(), self.try_text()),
        )
    }

    /// Signs in through the form, by labels' fields.
    pub(crate) fn sign_in(&self, cabinet: &str, domain: &str, login: &str, password: &str) {
        self.open(&format!("{cabinet}/signin"));
        self.type_into("#login", login);
        self.type_into("#domain", domain);
        self.type_into("#password", password);
        self.click("form[action='/signin'] button[type=submit]");
    }

    /// Chooses `file` in the file input `css`, as a person picking it in the dialog.
    pub(crate) fn choose_file(&self, css: &str, file: &std::path::Path) {
        let e = self.find(css);
        self.command(
            "POST",
            &format!("/element/{e}/value"),
            Some(json!({ "text": file.display().to_string() })),
        );
    }

    pub(crate) fn sign_out(&self) {
        self.click("form[action='/signout'] button");
        self.wait_text("Sign in with your login");
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let url = format!("{}/session/{}", self.base, self.session);
            let _ = self.agent.delete(&url).call();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

#[test]
fn each_role_signs_in_sees_what_it_may_and_nothing_else_in_chromium() {
    let (_server, url, pw, _) = start();
    let browser = Chromium::start();

    // A wrong password: the form again, with the one answer for every failure.
    browser.sign_in(&url, "acme.example", "anna", "wrong");
    browser.wait_text("The login, domain or password is not right.");
    assert!(browser.url().ends_with("/signin"), "{}", browser.url());

    // The administrator: history, statistics with its chart, voicemail, administration.
    browser.sign_in(&url, "acme.example", "anna", &pw["acme/anna"]);
    let text = browser.wait_text("Signed in as");
    assert_eq!(browser.url(), format!("{url}/acme/history"));
    assert!(
        text.contains("Signed in as Anna Admin") && text.contains("Administration"),
        "{text}"
    );
    assert_eq!(browser.count("tbody tr"), 4, "the company's calls: {text}");
    browser.click("a[href$='/stats']");
    browser.wait_text("Answer rate");
    assert!(browser.url().contains("/acme/stats"));
    assert_eq!(browser.count("figure svg"), 1);
    browser.click("a[href$='/voicemail']");
    browser.wait_text("Recording");
    assert_eq!(browser.count("audio"), 3, "every box");
    browser.click("a[href$='/admin']");
    browser.wait_text("Applied revision");
    browser.click("button[aria-label='Reset password: Tom Temp']");
    browser.wait_text("New password: Tom Temp (temp)");
    let new = browser
        .command(
            "GET",
            &format!("/element/{}/text", browser.find("code.secret")),
            None,
        )
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(new.len(), 20);
    browser.sign_out();
    assert!(browser.url().ends_with("/signin"));
    browser.open(&format!("{url}/acme/admin"));
    assert!(
        browser.url().ends_with("/signin"),
        "signed out: {}",
        browser.url()
    );

    // The reset password works in the browser; the user sees the company's calls and no
    // administration, which answers "forbidden" when opened by address.
    browser.sign_in(&url, "acme.example", "temp", &new);
    browser.wait_text("Signed in as Tom Temp");
    assert_eq!(browser.url(), format!("{url}/acme/history"));
    assert!(!browser.text().contains("Administration"));
    assert_eq!(browser.count("tbody tr"), 4);
    browser.open(&format!("{url}/acme/admin"));
    assert!(browser
        .text()
        .contains("Your role does not give access to this page."));
    browser.open(&format!("{url}/globex/history"));
    assert!(
        browser.text().contains("There is no such page."),
        "another tenant"
    );
    browser.open(&format!("{url}/acme/history"));
    browser.sign_out();

    // The restricted user: their own calls, their own statistics row, their boxes.
    browser.sign_in(&url, "acme.example", "rita", &pw["acme/rita"]);
    let text = browser.wait_text("Signed in as Rita Restricted");
    assert!(
        text.contains("You see the calls you made, were offered or answered."),
        "{text}"
    );
    assert_eq!(browser.count("tbody tr"), 3);
    assert!(!text.contains("+79001110004"), "anna's call");
    browser.open(&format!("{url}/acme/stats?period=day&at=2026-11-02"));
    assert_eq!(browser.count("table"), 1, "only the people table, one row");
    assert_eq!(browser.count("tbody tr"), 1);
    browser.open(&format!("{url}/acme/voicemail"));
    assert_eq!(browser.count("audio"), 2, "her box and sales'");
    browser.sign_out();

    // The Russian company's user, in Russian.
    browser.sign_in(&url, "globex.example", "galya", &pw["globex/galya"]);
    let text = browser.wait_text("История звонков");
    assert!(
        text.contains("Выйти") && text.contains("+79009990005"),
        "{text}"
    );
    browser.sign_out();
}

#[test]
fn a_user_sets_forwarding_and_uploads_a_greeting_on_the_profile_page_in_chromium() {
    let (_server, url, pw, _) = start();
    let browser = Chromium::start();
    browser.sign_in(&url, "acme.example", "ivan", &pw["acme/ivan"]);
    browser.wait_text("Signed in as Ivan User");
    browser.open(&format!("{url}/acme/profile"));
    let text = browser.wait_text("Voicemail greeting");
    assert!(
        text.contains("the greeting from your company's configuration"),
        "{text}"
    );
    // Forwarding: by the radio buttons' labels, keyboard-reachable form controls.
    browser.click("input[name=forwarding][value=delayed]");
    browser.type_into("#delay", "25");
    browser.click("form[action$='/profile/forwarding'] button[type=submit]");
    let text = browser.wait_text("Forwarding is saved");
    assert!(text.contains("delayed, 25 s"), "{text}");
    // A greeting file chosen and uploaded (44.1 kHz stereo: converted by the server).
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("my greeting.wav");
    std::fs::write(&file, crate::cabinet::greeting_wav()).unwrap();
    browser.choose_file("#greeting", &file);
    browser.click("form[action$='/profile/greeting'] button[type=submit]");
    let text = browser.wait_text("The greeting is saved");
    assert!(text.contains("the greeting you uploaded (2 s)"), "{text}");
    assert_eq!(
        browser.count("audio"),
        1,
        "the uploaded greeting can be played"
    );
    // Back to the company's greeting.
    browser.click("form[action$='/profile/greeting/delete'] button[type=submit]");
    let text = browser.wait_text("Your uploaded greeting is removed");
    assert!(
        text.contains("the greeting from your company's configuration"),
        "{text}"
    );
    assert_eq!(browser.count("audio"), 0);
    browser.sign_out();
}
