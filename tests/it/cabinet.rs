//! The web cabinet over real HTTP against a real `pbx serve`: sign-in (the same answer for
//! every failure, throttling, CSRF, cookies), the RBAC matrix (each role × each page and JSON
//! endpoint × own tenant and another), history filters and paging, statistics, the admin page
//! and password reset. Call records are written into the server's store before it starts.

use crate::support::Server;
use pbx::store::{CallHistory, CallOutcome, CallRecord, Store, Voicemail, VoicemailIndex};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// 2026-11-02 10:00:00 UTC, in ms.
const DAY_MS: u64 = 1_793_613_600_000;

/// A browser of sorts: keeps cookies, never follows redirects.
pub(crate) struct Browser {
    base: String,
    agent: ureq::Agent,
    cookies: BTreeMap<String, String>,
    /// The CSRF token of the session, once signed in through the JSON API.
    pub(crate) csrf: String,
}

/// An answer: status, `Set-Cookie` values, `Location`, body.
pub(crate) struct Answer {
    pub(crate) status: u16,
    set_cookies: Vec<String>,
    location: Option<String>,
    cache_control: Option<String>,
    pub(crate) body: String,
}

impl Answer {
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

fn form_encode(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| {
            let enc: String = v
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            format!("{k}={enc}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

impl Browser {
    pub(crate) fn new(base: &str) -> Browser {
        Browser {
            base: base.to_owned(),
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .max_redirects(0)
                .build()
                .into(),
            cookies: BTreeMap::new(),
            csrf: String::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn take(
        &mut self,
        path: &str,
        response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Answer {
        let mut response = response.unwrap_or_else(|e| panic!("the cabinet answers {path}: {e}"));
        let set_cookies: Vec<String> = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect();
        for c in &set_cookies {
            let pair = c.split(';').next().unwrap_or("");
            if let Some((k, v)) = pair.split_once('=') {
                if v.is_empty() || c.contains("Max-Age=0") {
                    self.cookies.remove(k);
                } else {
                    self.cookies.insert(k.to_owned(), v.to_owned());
                }
            }
        }
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let cache_control = response
            .headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Answer {
            status: response.status().as_u16(),
            set_cookies,
            location,
            cache_control,
            body: response.body_mut().read_to_string().unwrap_or_default(),
        }
    }

    pub(crate) fn get(&mut self, path: &str) -> Answer {
        let r = self
            .agent
            .get(&format!("{}{path}", self.base))
            .header("Cookie", &self.cookie_header())
            .call();
        self.take(path, r)
    }

    pub(crate) fn post(
        &mut self,
        path: &str,
        content_type: &str,
        body: &str,
        csrf: Option<&str>,
    ) -> Answer {
        let mut r = self
            .agent
            .post(&format!("{}{path}", self.base))
            .header("Cookie", &self.cookie_header())
            .header("Content-Type", content_type);
        if let Some(token) = csrf {
            r = r.header("X-CSRF-Token", token);
        }
        let r = r.send(body.as_bytes());
        self.take(path, r)
    }

    /// A PUT of `body` (bytes) with the session's CSRF token.
    pub(crate) fn put_bytes(&mut self, path: &str, content_type: &str, body: &[u8]) -> Answer {
        let r = self
            .agent
            .put(&format!("{}{path}", self.base))
            .header("Cookie", &self.cookie_header())
            .header("Content-Type", content_type)
            .header("X-CSRF-Token", &self.csrf.clone())
            .send(body);
        self.take(path, r)
    }

    /// A DELETE with the session's CSRF token.
    pub(crate) fn delete(&mut self, path: &str) -> Answer {
        let r = self
            .agent
            .delete(&format!("{}{path}", self.base))
            .header("Cookie", &self.cookie_header())
            .header("X-CSRF-Token", &self.csrf.clone())
            .call();
        self.take(path, r)
    }

    /// A GET of bytes (audio): status and body.
    pub(crate) fn get_bytes(&mut self, path: &str) -> (u16, Vec<u8>) {
        let mut r = self
            .agent
            .get(&format!("{}{path}", self.base))
            .header("Cookie", &self.cookie_header())
            .call()
            .unwrap_or_else(|e| panic!("the cabinet answers {path}: {e}"));
        let status = r.status().as_u16();
        (status, r.body_mut().read_to_vec().unwrap_or_default())
    }

    /// A `multipart/form-data` POST, as a browser uploads a file: `fields` and one `file`
    /// (field name, file name, bytes).
    pub(crate) fn post_multipart(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        file: (&str, &str, &[u8]),
    ) -> Answer {
        let boundary = "----pbxTestBoundary7MA4YWxkTrZu0gW";
        let mut body = Vec::new();
        for (k, v) in fields {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                )
                .as_bytes(),
            );
        }
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"; filename=\"{}\"\r\nContent-Type: audio/wav\r\n\r\n",
                file.0, file.1
            )
            .as_bytes(),
        );
        body.extend_from_slice(file.2);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let r = self
            .agent
            .post(&format!("{}{path}", self.base))
            .header("Cookie", &self.cookie_header())
            .header(
                "Content-Type",
                &format!("multipart/form-data; boundary={boundary}"),
            )
            .send(&body[..]);
        self.take(path, r)
    }

    pub(crate) fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
        self.post(
            path,
            "application/x-www-form-urlencoded",
            &form_encode(fields),
            None,
        )
    }

    /// Signs in through the JSON API.
    pub(crate) fn sign_in(&mut self, domain: &str, login: &str, password: &str) -> Answer {
        let body = serde_json::json!({ "domain": domain, "login": login, "password": password });
        let a = self.post("/api/signin", "application/json", &body.to_string(), None);
        if a.status == 200 {
            self.csrf = a.json()["csrf"].as_str().unwrap().to_owned();
        }
        a
    }

    /// A POST to the JSON API with the session's CSRF token.
    fn post_api(&mut self, path: &str) -> Answer {
        let token = self.csrf.clone();
        self.post(path, "application/json", "{}", Some(&token))
    }
}

/// The config: tenant `acme` (English) with each role, a configured plaintext password and a
/// digest-only one; tenant `globex` (Russian) with an admin and a user.
fn config() -> String {
    let hashy = pbx::credentials::ha1("hashy", "acme.example", "Hashy-Pass-2026");
    format!(
        r#"version: 1
server:
  http: {{ listen: "127.0.0.1:0" }}
  cabinet: {{ listen: "127.0.0.1:0" }}
  sip:
    listen: [{{ transport: udp, address: "127.0.0.1:0" }}]
tenants:
  - id: acme
    name: Acme
    domain: acme.example
    max_users: 100
    timezone: UTC
    language: en
    staff:
      - {{ name: Anna Admin, login: anna, role: admin }}
      - {{ name: Ivan User, login: ivan, role: user, mobile: {{ number: "+79160000002" }} }}
      - {{ name: Rita Restricted, login: rita, role: restricted }}
      - {{ name: Tom Temp, login: temp, role: user }}
      - {{ name: Conf Igured, login: conf, role: user, password: "Conf-Pass-2026" }}
      - {{ name: Hash Only, login: hashy, role: admin, password: {{ ha1: {{ md5: {}, sha256: {} }} }} }}
    departments:
      - {{ id: sales, name: Sales, strategy: all_at_once, members: [ivan, rita] }}
    numbers:
      - {{ number: "+74950000001", destination: {{ department: sales }} }}
  - id: globex
    name: Глобекс
    domain: globex.example
    max_users: 100
    timezone: UTC
    language: ru
    self_service: {{ greeting: false }}
    staff:
      - {{ name: Глеб Админ, login: gleb, role: admin }}
      - {{ name: Галя, login: galya, role: user }}
      - {{ name: Гена Временный, login: gtemp, role: user }}
"#,
        hashy.md5, hashy.sha256
    )
}

fn call(
    tenant: &str,
    minute: u64,
    caller: &str,
    offered: &[&str],
    answered_by: Option<&str>,
    departments: &[&str],
) -> CallRecord {
    let ended = DAY_MS + minute * 60_000;
    CallRecord {
        tenant: tenant.into(),
        caller: caller.into(),
        callee: offered.first().copied().unwrap_or("").into(),
        number: (!departments.is_empty()).then(|| "+74950000001".to_owned()),
        departments: departments.iter().map(|d| d.to_string()).collect(),
        offered: offered.iter().map(|s| s.to_string()).collect(),
        answered_by: answered_by.map(str::to_owned),
        answered_ms: answered_by.map(|_| ended - 30_000),
        ring_ms: 5_000 + minute * 1000,
        talk_ms: if answered_by.is_some() { 30_000 } else { 0 },
        started_ms: ended - 40_000,
        ended_ms: ended,
        outcome: if answered_by.is_some() {
            CallOutcome::Answered
        } else {
            CallOutcome::Missed
        },
        ..CallRecord::default()
    }
}

/// Voicemail messages by name: (tenant, box).
const MESSAGES: [(&str, &str, &str); 4] = [
    ("rita", "acme", "staff:rita"),
    ("sales", "acme", "department:sales"),
    ("anna", "acme", "staff:anna"),
    ("gleb", "globex", "staff:gleb"),
];

/// The history and voicemail both tenants have before the server starts; the messages' ids.
fn seed(data: &std::path::Path) -> BTreeMap<&'static str, u64> {
    let store = Store::open(data).unwrap();
    let mut ids = BTreeMap::new();
    for (i, (name, tenant, mailbox)) in MESSAGES.into_iter().enumerate() {
        let id = store.new_voicemail_id().unwrap();
        let file = format!("voicemail/{tenant}/{id}.wav");
        std::fs::create_dir_all(data.join(format!("voicemail/{tenant}"))).unwrap();
        // A WAV header and a little silence, with the name in it to tell them apart.
        let mut wav = b"RIFF\0\0\0\0WAVE".to_vec();
        wav.extend_from_slice(name.as_bytes());
        std::fs::write(data.join(&file), wav).unwrap();
        store
            .add_voicemail(Voicemail {
                id,
                tenant: tenant.into(),
                mailbox: mailbox.into(),
                caller: format!("+7916000000{i}"),
                number: None,
                received_ms: DAY_MS + i as u64 * 1000,
                duration_ms: 4_000,
                file,
                heard: false,
            })
            .unwrap();
        ids.insert(name, id);
    }
    store
        .append_calls(&[
            call(
                "acme",
                1,
                "+79001110001",
                &["ivan", "rita"],
                Some("ivan"),
                &["sales"],
            ),
            call(
                "acme",
                2,
                "+79001110002",
                &["ivan", "rita"],
                None,
                &["sales"],
            ),
            call("acme", 3, "rita", &["ivan"], Some("ivan"), &[]),
            call("acme", 4, "+79001110004", &["anna"], Some("anna"), &[]),
            call("globex", 5, "+79009990005", &["gleb"], Some("gleb"), &[]),
        ])
        .unwrap();
    ids
}

/// A started server with seeded history: its cabinet's URL, the generated passwords, the
/// voicemail messages' ids.
pub(crate) fn start() -> (
    Server,
    String,
    BTreeMap<String, String>,
    BTreeMap<&'static str, u64>,
) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pbx.yaml"), config()).unwrap();
    let vm = seed(&dir.path().join("data"));
    let server = Server::start_in(dir);
    let log = server.log();
    let url = log
        .lines()
        .find_map(|l| l.split("cabinet on ").nth(1))
        .unwrap_or_else(|| panic!("no cabinet in the log:\n{log}"))
        .trim()
        .to_owned();
    let passwords = log
        .lines()
        .filter_map(|l| l.split("new credentials: ").nth(1))
        .map(|rest| {
            let words: Vec<&str> = rest.split_whitespace().collect();
            (words[0].to_owned(), words[words.len() - 1].to_owned())
        })
        .collect();
    (server, url, passwords, vm)
}

fn domain(tenant: &str) -> String {
    format!("{tenant}.example")
}

#[test]
fn every_role_gets_exactly_its_rights_in_its_own_tenant_and_nothing_of_another() {
    let (server, url, pw, vm) = start();
    let other = |t: &str| if t == "acme" { "globex" } else { "acme" };
    // (tenant, login, role)
    let viewers = [
        ("acme", "anna", "admin"),
        ("acme", "ivan", "user"),
        ("acme", "rita", "restricted"),
        ("globex", "gleb", "admin"),
        ("globex", "galya", "user"),
    ];
    let mut browsers = BTreeMap::new();
    for (tenant, login, role) in viewers {
        let mut b = Browser::new(&url);
        let a = b.sign_in(&domain(tenant), login, &pw[&format!("{tenant}/{login}")]);
        assert_eq!(a.status, 200, "{login}: {}", a.body);
        assert_eq!(a.json()["role"], role);
        browsers.insert(login, b);
    }
    let victim = |t: &str| if t == "acme" { "temp" } else { "gtemp" };
    // Every route × own tenant and the other: what each role gets.
    for (tenant, login, role) in viewers {
        let b = browsers.get_mut(login).unwrap();
        for target in [tenant, other(tenant)] {
            let own = target == tenant;
            let admin = role == "admin";
            let expect = |allowed: bool| match (own, allowed) {
                (false, _) => 404,
                (true, true) => 200,
                (true, false) => 403,
            };
            let routes: Vec<(&str, String, u16)> = vec![
                ("GET", format!("/api/{target}/me"), expect(true)),
                ("GET", format!("/api/{target}/history"), expect(true)),
                (
                    "GET",
                    format!("/api/{target}/stats?period=day&at=2026-11-02"),
                    expect(true),
                ),
                ("GET", format!("/api/{target}/admin"), expect(admin)),
                ("GET", format!("/api/{target}/voicemail"), expect(true)),
                ("GET", format!("/api/{target}/profile"), expect(true)),
                ("GET", format!("/{target}/history"), expect(true)),
                ("GET", format!("/{target}/voicemail"), expect(true)),
                ("GET", format!("/{target}/profile"), expect(true)),
                ("GET", format!("/{target}/stats"), expect(true)),
                ("GET", format!("/{target}/admin"), expect(admin)),
                // Changes last: only an admin of the tenant may reset its victim's password.
                (
                    "POST",
                    format!("/api/{target}/admin/staff/{}/password", victim(target)),
                    if admin && own { 0 } else { expect(admin) },
                ),
                (
                    "FORM",
                    format!("/{target}/admin/staff/{}/password", victim(target)),
                    if admin && own { 0 } else { expect(admin) },
                ),
                (
                    "POST",
                    format!("/api/{target}/admin/staff/{}/forwarding", victim(target)),
                    if admin && own { 0 } else { expect(admin) },
                ),
                (
                    "FORM",
                    format!("/{target}/admin/staff/{}/forwarding", victim(target)),
                    if admin && own { 0 } else { expect(admin) },
                ),
                (
                    "UPLOAD",
                    format!("/{target}/admin/staff/{}/greeting", victim(target)),
                    if admin && own { 0 } else { expect(admin) },
                ),
                (
                    "FORM",
                    format!("/{target}/admin/staff/{}/greeting/delete", victim(target)),
                    if admin && own { 0 } else { expect(admin) },
                ),
                // Their own greeting: only in their own tenant (and globex forbids it).
                (
                    "UPLOAD",
                    format!("/{target}/profile/greeting"),
                    if own { 0 } else { 404 },
                ),
                (
                    "PUT",
                    format!("/api/{target}/profile/greeting"),
                    if own { 0 } else { 404 },
                ),
            ];
            for (method, path, status) in routes {
                if status == 0 {
                    continue; // the admins' own changes are tested below
                }
                let a = match method {
                    "GET" => b.get(&path),
                    "FORM" => {
                        let token = b.csrf.clone();
                        b.post_form(&path, &[("csrf", &token), ("forwarding", "instant")])
                    }
                    "UPLOAD" => {
                        let token = b.csrf.clone();
                        b.post_multipart(
                            &path,
                            &[("csrf", &token)],
                            ("greeting", "g.wav", &greeting_wav()),
                        )
                    }
                    "PUT" => b.put_bytes(&path, "audio/wav", &greeting_wav()),
                    _ => b.post_api(&path),
                };
                assert_eq!(
                    a.status, status,
                    "{role} {login} of {tenant}: {method} {path}: {}",
                    a.body
                );
                if status != 200 {
                    assert!(
                        !a.body.contains("+7900") && !a.body.contains("password\":"),
                        "a refusal shows no data: {}",
                        a.body
                    );
                }
            }
        }
    }
    // Nobody without the right changed anything: the victims' passwords still work.
    for t in ["acme", "globex"] {
        let mut b = Browser::new(&url);
        let a = b.sign_in(&domain(t), victim(t), &pw[&format!("{t}/{}", victim(t))]);
        assert_eq!(a.status, 200, "{}", a.body);
    }
    // Without a session: 401 for JSON, a redirect to the sign-in page for pages.
    let mut anonymous = Browser::new(&url);
    for path in [
        "/api/acme/me",
        "/api/acme/history",
        "/api/acme/stats",
        "/api/acme/admin",
    ] {
        assert_eq!(anonymous.get(path).status, 401, "{path}");
    }
    assert_eq!(
        anonymous
            .post(
                "/api/acme/admin/staff/temp/password",
                "application/json",
                "{}",
                None
            )
            .status,
        401
    );
    for path in ["/acme/history", "/acme/stats", "/acme/admin", "/"] {
        let a = anonymous.get(path);
        assert_eq!(
            (a.status, a.location.as_deref()),
            (303, Some("/signin")),
            "{path}"
        );
    }

    // What each sees of the history: the company's, or a restricted user's own; never the
    // other tenant's.
    let callers = |b: &mut Browser, tenant: &str| -> Vec<String> {
        let a = b.get(&format!("/api/{tenant}/history"));
        assert_eq!(a.status, 200, "{}", a.body);
        a.json()["calls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["caller"].as_str().unwrap().to_owned())
            .collect()
    };
    let all_acme = ["+79001110004", "rita", "+79001110002", "+79001110001"];
    assert_eq!(callers(browsers.get_mut("anna").unwrap(), "acme"), all_acme);
    assert_eq!(callers(browsers.get_mut("ivan").unwrap(), "acme"), all_acme);
    assert_eq!(
        callers(browsers.get_mut("rita").unwrap(), "acme"),
        ["rita", "+79001110002", "+79001110001"],
        "rita was offered or made these, not anna's call"
    );
    assert_eq!(
        callers(browsers.get_mut("galya").unwrap(), "globex"),
        ["+79009990005"]
    );
    // A restricted user's person filter cannot widen their scope.
    let rita = browsers.get_mut("rita").unwrap();
    let a = rita.get("/api/acme/history?person=anna");
    assert_eq!(a.json()["calls"].as_array().unwrap().len(), 0, "{}", a.body);
    // Statistics: the company's for a user, only their own row for a restricted user.
    let s = rita.get("/api/acme/stats?period=day&at=2026-11-02").json();
    assert!(s["tenant"].is_null(), "{s}");
    assert_eq!(s["departments"].as_array().unwrap().len(), 0);
    let people = s["people"].as_array().unwrap();
    assert_eq!(people.len(), 1);
    assert_eq!(people[0]["id"], "rita");
    assert_eq!(
        (people[0]["calls"].as_u64(), people[0]["answered"].as_u64()),
        (Some(2), Some(0))
    );
    let ivan = browsers.get_mut("ivan").unwrap();
    let s = ivan.get("/api/acme/stats?period=day&at=2026-11-02").json();
    assert_eq!(s["tenant"]["calls"], 4, "{s}");
    assert_eq!(s["tenant"]["answered"], 3);
    assert_eq!(s["departments"][0]["id"], "sales");
    assert_eq!(s["departments"][0]["calls"], 2);
    assert_eq!(s["departments"][0]["answer_rate"], 50);
    assert_eq!(s["people"].as_array().unwrap().len(), 6);
    // The day before holds nothing.
    let s = ivan.get("/api/acme/stats?period=day&at=2026-11-01").json();
    assert_eq!(s["tenant"]["calls"], 0, "{s}");
    // The month does.
    let s = ivan
        .get("/api/acme/stats?period=month&at=2026-11-20")
        .json();
    assert_eq!(s["tenant"]["calls"], 4, "{s}");
    // The admin page shows the tenant's own staff only.
    let anna = browsers.get_mut("anna").unwrap();
    let o = anna.get("/api/acme/admin").json();
    let logins: Vec<&str> = o["staff"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["login"].as_str().unwrap())
        .collect();
    assert_eq!(logins, ["anna", "ivan", "rita", "temp", "conf", "hashy"]);
    assert!(o["revision"].as_u64().unwrap() >= 1);
    assert!(!o.to_string().contains("gleb"));
    assert_eq!(o["callbacks"], serde_json::json!([]), "no callback waits");

    // Voicemail: an admin opens every box, others their own and their departments'; a
    // message of another box is answered like one that does not exist.
    let boxes = |b: &mut Browser, tenant: &str| -> Vec<String> {
        let a = b.get(&format!("/api/{tenant}/voicemail"));
        assert_eq!(a.status, 200, "{}", a.body);
        let mut names: Vec<String> = a.json()["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["mailbox"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(
        boxes(browsers.get_mut("anna").unwrap(), "acme"),
        ["department:sales", "staff:anna", "staff:rita"]
    );
    assert_eq!(
        boxes(browsers.get_mut("ivan").unwrap(), "acme"),
        ["department:sales"]
    );
    assert_eq!(
        boxes(browsers.get_mut("rita").unwrap(), "acme"),
        ["department:sales", "staff:rita"]
    );
    assert_eq!(
        boxes(browsers.get_mut("galya").unwrap(), "globex"),
        Vec::<String>::new()
    );
    let audio = |b: &mut Browser, tenant: &str, name: &str| {
        b.get(&format!("/api/{tenant}/voicemail/{}/audio", vm[name]))
    };
    let a = audio(browsers.get_mut("anna").unwrap(), "acme", "rita");
    assert_eq!(a.status, 200);
    assert!(a.body.starts_with("RIFF") && a.body.ends_with("rita"));
    assert_eq!(
        audio(browsers.get_mut("rita").unwrap(), "acme", "rita").status,
        200
    );
    assert_eq!(
        audio(browsers.get_mut("rita").unwrap(), "acme", "anna").status,
        404
    );
    assert_eq!(
        audio(browsers.get_mut("ivan").unwrap(), "acme", "rita").status,
        404
    );
    assert_eq!(
        audio(browsers.get_mut("gleb").unwrap(), "globex", "anna").status,
        404,
        "acme's id under globex"
    );
    assert_eq!(
        audio(browsers.get_mut("gleb").unwrap(), "acme", "anna").status,
        404
    );
    // Changes: only with the token, only to a box one may open.
    let ivan = browsers.get_mut("ivan").unwrap();
    let rita_msg = format!("/api/acme/voicemail/{}", vm["rita"]);
    assert_eq!(ivan.post_api(&format!("{rita_msg}/heard")).status, 404);
    let rita = browsers.get_mut("rita").unwrap();
    assert_eq!(
        rita.post(&format!("{rita_msg}/heard"), "application/json", "{}", None)
            .status,
        403,
        "no CSRF token"
    );
    assert_eq!(rita.post_api(&format!("{rita_msg}/heard")).status, 204);
    let list = rita.get("/api/acme/voicemail").json();
    let heard: Vec<bool> = list["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["mailbox"] == "staff:rita")
        .map(|m| m["heard"].as_bool().unwrap())
        .collect();
    assert_eq!(heard, [true]);
    let sales_msg = format!("/api/acme/voicemail/{}", vm["sales"]);
    let token = rita.csrf.clone();
    let agent_delete = |b: &mut Browser, path: &str, token: &str| {
        let r = b
            .agent
            .delete(&format!("{}{path}", b.base))
            .header("Cookie", &b.cookie_header())
            .header("X-CSRF-Token", token)
            .call();
        b.take(path, r).status
    };
    assert_eq!(
        agent_delete(rita, &sales_msg, &token),
        204,
        "a member deletes the department's"
    );
    assert_eq!(agent_delete(rita, &sales_msg, &token), 404, "gone");
    assert!(!server
        .dir
        .path()
        .join(format!("data/voicemail/acme/{}.wav", vm["sales"]))
        .exists());
    let anna = browsers.get_mut("anna").unwrap();
    let token = anna.csrf.clone();
    let gleb_msg = format!("/api/acme/voicemail/{}", vm["gleb"]);
    assert_eq!(
        agent_delete(anna, &gleb_msg, &token),
        404,
        "another tenant's message"
    );
    assert!(server
        .dir
        .path()
        .join(format!("data/voicemail/globex/{}.wav", vm["gleb"]))
        .exists());

    // An admin sets anyone's forwarding in their tenant; nobody else may, nor another tenant.
    let forwarding = r#"{"forwarding": "delayed", "delay_s": 20}"#;
    let ivan = browsers.get_mut("ivan").unwrap();
    let token = ivan.csrf.clone();
    let a = ivan.post(
        "/api/acme/admin/staff/ivan/forwarding",
        "application/json",
        forwarding,
        Some(&token),
    );
    assert_eq!(a.status, 403, "a user is no administrator: {}", a.body);
    let gleb = browsers.get_mut("gleb").unwrap();
    let token = gleb.csrf.clone();
    let a = gleb.post(
        "/api/acme/admin/staff/ivan/forwarding",
        "application/json",
        forwarding,
        Some(&token),
    );
    assert_eq!(a.status, 404, "{}", a.body);
    let anna = browsers.get_mut("anna").unwrap();
    let token = anna.csrf.clone();
    let a = anna.post(
        "/api/acme/admin/staff/rita/forwarding",
        "application/json",
        forwarding,
        Some(&token),
    );
    assert_eq!(
        (a.status, a.json()["error"].as_str()),
        (400, Some("no_mobile")),
        "{}",
        a.body
    );
    let a = anna.post(
        "/api/acme/admin/staff/ivan/forwarding",
        "application/json",
        forwarding,
        Some(&token),
    );
    assert_eq!(a.status, 204, "{}", a.body);
    let page = anna.get("/acme/admin");
    assert!(
        page.body.contains("No callbacks are waiting."),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("<option value=\"delayed\" selected>"),
        "{}",
        page.body
    );
    let p = browsers
        .get_mut("ivan")
        .unwrap()
        .get("/api/acme/profile")
        .json();
    assert_eq!(
        (p["forwarding"].as_str(), p["delay_s"].as_u64()),
        (Some("delayed"), Some(20)),
        "{p}"
    );
    server.wait_for_log("anna of tenant acme set ivan's forwarding to delayed after 20s");

    // An admin resets a password in their tenant: shown once; the old one stops working and
    // the victim's session ends.
    let mut temp = Browser::new(&url);
    assert_eq!(
        temp.sign_in("acme.example", "temp", &pw["acme/temp"])
            .status,
        200
    );
    let anna = browsers.get_mut("anna").unwrap();
    let a = anna.post(
        "/api/acme/admin/staff/temp/password",
        "application/json",
        "{}",
        None,
    );
    assert_eq!(a.status, 403, "no CSRF token: {}", a.body);
    let a = anna.post_api("/api/acme/admin/staff/temp/password");
    assert_eq!(a.status, 200, "{}", a.body);
    let new = a.json()["password"].as_str().unwrap().to_owned();
    assert_eq!(new.len(), 20);
    assert_eq!(
        temp.get("/api/acme/me").status,
        401,
        "the reset ended their session"
    );
    assert_eq!(
        Browser::new(&url)
            .sign_in("acme.example", "temp", &pw["acme/temp"])
            .status,
        401
    );
    assert_eq!(
        Browser::new(&url)
            .sign_in("acme.example", "temp", &new)
            .status,
        200
    );
    let a = anna.post_api("/api/acme/admin/staff/conf/password");
    assert_eq!(a.status, 409, "a password the config sets: {}", a.body);
    let a = anna.post_api("/api/acme/admin/staff/nobody/password");
    assert_eq!(a.status, 404, "{}", a.body);
    let a = anna.post_api("/api/acme/admin/staff/gleb/password");
    assert_eq!(
        a.status, 404,
        "another tenant's person is nobody here: {}",
        a.body
    );
    assert!(server
        .log()
        .contains("anna of tenant acme reset the password of temp"));
}

#[test]
fn sign_in_answers_every_failure_alike_and_throttles_guessing() {
    let (server, url, pw, _) = start();
    let mut b = Browser::new(&url);
    let failures = [
        ("acme.example", "ivan", "wrong password"),
        ("acme.example", "nobody", "wrong password"),
        ("nowhere.example", "ivan", &pw["acme/ivan"]),
        ("acme.example", "hashy", "Hashy-Pass-2026"),
    ];
    let mut answers = Vec::new();
    for (d, l, p) in failures {
        let started = Instant::now();
        let a = b.sign_in(d, l, p);
        assert!(started.elapsed() >= Duration::from_millis(250), "the floor");
        assert_eq!(a.status, 401, "{d} {l}: {}", a.body);
        assert!(a.set_cookies.is_empty());
        answers.push(a.body);
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");
    // The operator's log says why.
    server.wait_for_log(
        "sign-in of \"nobody\" at \"acme.example\" from 127.0.0.1 refused: no such login",
    );
    server.wait_for_log("refused: wrong password");
    server.wait_for_log("configured only as digest hashes");
    // A plaintext password of the config signs in.
    assert_eq!(
        b.sign_in("acme.example", "conf", "Conf-Pass-2026").status,
        200
    );
    assert_eq!(
        b.sign_in("ACME.example", "ivan", &pw["acme/ivan"]).status,
        200
    );

    // Five wrong passwords for one account: the sixth try is throttled even when right, for
    // a known and an unknown account alike.
    for login in ["rita", "ghost"] {
        for _ in 0..5 {
            assert_eq!(b.sign_in("acme.example", login, "nope").status, 401);
        }
        let right = pw
            .get(&format!("acme/{login}"))
            .cloned()
            .unwrap_or_default();
        let a = b.sign_in("acme.example", login, &right);
        assert_eq!(a.status, 429, "{login}: {}", a.body);
    }
    server.wait_for_log("sign-in of \"rita\" at \"acme.example\" from 127.0.0.1 throttled");
    // Another account from the same address still works (its 20 are not used up yet)...
    assert_eq!(
        b.sign_in("acme.example", "anna", &pw["acme/anna"]).status,
        200
    );
    // ...until the address has failed 20 times: then every account is throttled from it.
    for i in 0..10 {
        b.sign_in("acme.example", &format!("guess{i}"), "nope");
    }
    assert_eq!(
        b.sign_in("acme.example", "anna", &pw["acme/anna"]).status,
        429
    );
}

#[test]
fn pages_sign_in_with_a_form_show_history_stats_admin_and_sign_out() {
    let (_server, url, pw, vm) = start();
    let mut b = Browser::new(&url);
    let a = b.get("/signin");
    assert_eq!(a.status, 200);
    assert!(
        a.body.contains("<label for=\"password\">Password</label>") || a.body.contains("Пароль")
    );
    let cookie = a
        .set_cookies
        .iter()
        .find(|c| c.starts_with("pbx_signin="))
        .unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let token = b.cookies["pbx_signin"].clone();
    assert!(a.body.contains(&format!("value=\"{token}\"")));
    // Without the form's token: refused, nothing signed in.
    let a = b.post_form(
        "/signin",
        &[
            ("login", "anna"),
            ("domain", "acme.example"),
            ("password", &pw["acme/anna"]),
            ("csrf", "forged"),
        ],
    );
    assert_eq!(a.status, 403);
    assert!(!b.cookies.contains_key("pbx_session"));
    let token = b.cookies["pbx_signin"].clone();
    let a = b.post_form(
        "/signin",
        &[
            ("login", "anna"),
            ("domain", "acme.example"),
            ("password", &pw["acme/anna"]),
            ("csrf", &token),
        ],
    );
    assert_eq!(
        (a.status, a.location.as_deref()),
        (303, Some("/acme/history")),
        "{}",
        a.body
    );
    let session = a
        .set_cookies
        .iter()
        .find(|c| c.starts_with("pbx_session="))
        .unwrap();
    assert!(
        session.contains("HttpOnly")
            && session.contains("SameSite=Strict")
            && !session.contains("Secure"),
        "{session}"
    );

    let h = b.get("/acme/history");
    assert_eq!(h.status, 200);
    assert!(
        h.body.contains("Call history") && h.body.contains("+79001110001"),
        "{}",
        h.body
    );
    assert!(!h.body.contains("+79009990005"), "globex's call");
    let h = b.get("/acme/history?outcome=missed&department=sales");
    assert!(
        h.body.contains("+79001110002") && !h.body.contains("+79001110001"),
        "{}",
        h.body
    );
    let h = b.get("/acme/history?limit=2");
    assert!(h.body.contains("Older calls"), "{}", h.body);
    // (`/` is escaped in attributes: `&#x2f;acme&#x2f;history?before=...`.)
    let next = h
        .body
        .split("history?before=")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let h2 = b.get(&format!("/acme/history?before={next}&limit=2"));
    assert!(
        h2.body.contains("+79001110001") && !h2.body.contains("+79001110004"),
        "{}",
        h2.body
    );
    let bad = b.get("/acme/history?from=yesterday");
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("is not a date"), "{}", bad.body);

    let s = b.get("/acme/stats?period=week&at=2026-11-02");
    assert_eq!(s.status, 200);
    assert!(
        s.body.contains("<svg") && s.body.contains("Answer rate") && s.body.contains("75 %"),
        "{}",
        s.body
    );

    let adm = b.get("/acme/admin");
    assert_eq!(adm.status, 200);
    assert!(
        adm.body.contains("Applied revision") && adm.body.contains("Anna Admin"),
        "{}",
        adm.body
    );
    let csrf = adm
        .body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let r = b.post_form("/acme/admin/staff/temp/password", &[("csrf", "forged")]);
    assert_eq!(r.status, 403);
    let r = b.post_form("/acme/admin/staff/temp/password", &[("csrf", &csrf)]);
    assert_eq!(r.status, 200);
    assert!(r.body.contains("It is shown only this once"), "{}", r.body);
    assert_eq!(r.cache_control.as_deref(), Some("no-store"));

    // Voicemail: each message playable, marked heard and deleted by forms.
    let page = b.get("/acme/voicemail");
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("<audio controls") && page.body.contains("staff:rita"),
        "{}",
        page.body
    );
    assert!(page.body.contains("(new)"));
    let id = vm["anna"];
    let r = b.post_form(
        &format!("/acme/voicemail/{id}/heard"),
        &[("csrf", "forged")],
    );
    assert_eq!(r.status, 403);
    let r = b.post_form(&format!("/acme/voicemail/{id}/heard"), &[("csrf", &csrf)]);
    assert_eq!(
        (r.status, r.location.as_deref()),
        (303, Some("/acme/voicemail"))
    );
    let r = b.post_form(&format!("/acme/voicemail/{id}/delete"), &[("csrf", &csrf)]);
    assert_eq!(r.status, 303);
    let page = b.get("/acme/voicemail");
    assert!(
        !page.body.contains("staff:anna") && page.body.contains("staff:rita"),
        "{}",
        page.body
    );
    let a = b.get(&format!("/acme/voicemail/{}/audio?download=1", vm["rita"]));
    assert_eq!(a.status, 200);

    // Sign out: a forged form does nothing, the real one ends the session.
    assert_eq!(b.post_form("/signout", &[("csrf", "forged")]).status, 403);
    assert_eq!(b.get("/acme/history").status, 200);
    let out = b.post_form("/signout", &[("csrf", &csrf)]);
    assert_eq!(
        (out.status, out.location.as_deref()),
        (303, Some("/signin"))
    );
    assert_eq!(b.get("/acme/history").status, 303);

    // A Russian tenant's pages are in Russian.
    let mut g = Browser::new(&url);
    assert_eq!(
        g.sign_in("globex.example", "galya", &pw["globex/galya"])
            .status,
        200
    );
    let h = g.get("/globex/history");
    assert!(
        h.body.contains("История звонков") && h.body.contains("+79009990005"),
        "{}",
        h.body
    );
    let s = g.get("/globex/stats?period=day&at=2026-11-02");
    assert!(
        s.body.contains("Статистика") && s.body.contains("Глеб Админ"),
        "{}",
        s.body
    );
    assert_eq!(g.get("/acme/history").status, 404);
    assert_eq!(g.get("/globex/admin").status, 403);
}

#[test]
fn a_person_changes_their_own_password_and_their_other_sessions_end() {
    let (server, url, pw, _) = start();
    let old = pw["acme/ivan"].clone();
    let mut here = Browser::new(&url);
    let mut there = Browser::new(&url);
    assert_eq!(here.sign_in("acme.example", "ivan", &old).status, 200);
    assert_eq!(there.sign_in("acme.example", "ivan", &old).status, 200);
    let change = |b: &mut Browser, current: &str, new: &str, csrf: bool| {
        let body = serde_json::json!({ "current": current, "new": new }).to_string();
        let token = b.csrf.clone();
        b.post(
            "/api/acme/profile/password",
            "application/json",
            &body,
            csrf.then_some(token.as_str()),
        )
    };
    let new = "a long new password 42";
    assert_eq!(
        change(&mut here, &old, new, false).status,
        403,
        "no CSRF token"
    );
    let a = change(&mut here, "wrong", new, true);
    assert_eq!(
        (a.status, a.json()["error"].as_str()),
        (400, Some("password_wrong"))
    );
    let a = change(&mut here, &old, "short", true);
    assert_eq!(
        (a.status, a.json()["error"].as_str()),
        (400, Some("password_weak"))
    );
    assert_eq!(change(&mut here, &old, new, true).status, 204);
    server.wait_for_log("ivan of tenant acme changed their password");
    assert_eq!(
        here.get("/api/acme/me").status,
        200,
        "the session it was changed in lives on"
    );
    assert_eq!(there.get("/api/acme/me").status, 401, "the others end");
    assert_eq!(
        Browser::new(&url)
            .sign_in("acme.example", "ivan", &old)
            .status,
        401
    );
    assert_eq!(
        Browser::new(&url)
            .sign_in("acme.example", "ivan", new)
            .status,
        200
    );
    // A password the config sets is changed in the config.
    let mut conf = Browser::new(&url);
    assert_eq!(
        conf.sign_in("acme.example", "conf", "Conf-Pass-2026")
            .status,
        200
    );
    let a = change(&mut conf, "Conf-Pass-2026", new, true);
    assert_eq!(
        (a.status, a.json()["error"].as_str()),
        (409, Some("password_configured"))
    );

    // The page: the form with its labels, the refusals in words.
    let page = here.get("/acme/profile");
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains("<label for=\"current\">Current password</label>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Ivan User") && page.body.contains("Change password"));
    let csrf = here.csrf.clone();
    let r = here.post_form(
        "/acme/profile/password",
        &[
            ("current", new),
            ("new", "another long one 1"),
            ("repeat", "another long one 2"),
            ("csrf", &csrf),
        ],
    );
    assert_eq!(r.status, 400);
    assert!(
        r.body.contains("The two new passwords differ."),
        "{}",
        r.body
    );
    let r = here.post_form(
        "/acme/profile/password",
        &[
            ("current", new),
            ("new", "another long one 1"),
            ("repeat", "another long one 1"),
            ("csrf", &csrf),
        ],
    );
    assert_eq!(r.status, 200);
    assert!(r.body.contains("Your password is changed."), "{}", r.body);
    assert_eq!(
        Browser::new(&url)
            .sign_in("acme.example", "ivan", "another long one 1")
            .status,
        200
    );
}

/// A WAV file as a phone or a sound editor would save it: 44.1 kHz, stereo, 16-bit, 1.5 s of
/// 1 kHz.
pub(crate) fn greeting_wav() -> Vec<u8> {
    let rate = 44_100u32;
    let frames = rate * 3 / 2;
    let mut out = Vec::new();
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + frames * 4).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * 4).to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&(frames * 4).to_le_bytes());
    for i in 0..frames {
        let v = (8000.0
            * (2.0 * std::f64::consts::PI * 1000.0 * f64::from(i) / f64::from(rate)).sin())
            as i16;
        out.extend_from_slice(&v.to_le_bytes());
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

#[test]
fn staff_upload_their_greeting_converted_admins_anyones_and_bad_files_change_nothing() {
    let (server, url, pw, _) = start();
    let mut ivan = Browser::new(&url);
    assert_eq!(
        ivan.sign_in("acme.example", "ivan", &pw["acme/ivan"])
            .status,
        200
    );
    assert_eq!(
        ivan.get("/api/acme/profile").json()["greeting_s"],
        serde_json::Value::Null
    );
    // Files that cannot be played are refused, each with its reason, and change nothing.
    let mut long = greeting_wav();
    let frames = 44_100u32 * 121;
    long.truncate(44);
    long[4..8].copy_from_slice(&(36 + frames * 4).to_le_bytes());
    long[40..44].copy_from_slice(&(frames * 4).to_le_bytes());
    let mut cut = greeting_wav();
    cut.truncate(cut.len() / 2);
    for (body, error) in [
        (b"ID3\x03 an mp3".to_vec(), "greeting_not_wav"),
        (long, "greeting_too_long"),
        (cut, "greeting_truncated"),
    ] {
        let a = ivan.put_bytes("/api/acme/profile/greeting", "audio/wav", &body);
        assert_eq!(a.status, 400, "{}", a.body);
        assert_eq!(a.json()["error"], error);
    }
    assert_eq!(ivan.get_bytes("/api/acme/profile/greeting").0, 404);
    // Without the session's token: refused before the body is read.
    let csrf = std::mem::take(&mut ivan.csrf);
    assert_eq!(
        ivan.put_bytes("/api/acme/profile/greeting", "audio/wav", &greeting_wav())
            .status,
        403
    );
    ivan.csrf = csrf;
    // A 44.1 kHz stereo file is converted: 1.5 s at 8 kHz mono, the tone kept.
    let a = ivan.put_bytes("/api/acme/profile/greeting", "audio/wav", &greeting_wav());
    assert_eq!(a.status, 204, "{}", a.body);
    assert_eq!(ivan.get("/api/acme/profile").json()["greeting_s"], 2);
    let (status, wav) = ivan.get_bytes("/api/acme/profile/greeting");
    assert_eq!(status, 200);
    let pcm = pbx::media::wav::read(&wav).expect("8 kHz mono 16-bit");
    assert_eq!(pcm.len(), 12_000);
    assert!(crate::audio::share_of(&pcm[1000..11_000], 1000.0) > 0.9);
    assert!(server
        .log()
        .contains("ivan of tenant acme uploaded their voicemail greeting (1.5 s)"));
    // The page shows it, and its form uploads the same way a browser does.
    let page = ivan.get("/acme/profile");
    assert!(
        page.body.contains("greeting you uploaded (2 s)"),
        "{}",
        page.body
    );
    let token = ivan.csrf.clone();
    let a = ivan.post_multipart(
        "/acme/profile/greeting",
        &[("csrf", &token)],
        ("greeting", "hello.wav", &greeting_wav()),
    );
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.body.contains("The greeting is saved"), "{}", a.body);
    let a = ivan.post_multipart(
        "/acme/profile/greeting",
        &[("csrf", "forged")],
        ("greeting", "hello.wav", &greeting_wav()),
    );
    assert_eq!(a.status, 403, "{}", a.body);
    let a = ivan.post_multipart(
        "/acme/profile/greeting",
        &[("csrf", &token)],
        ("greeting", "x.wav", b"not audio"),
    );
    assert_eq!(a.status, 400);
    assert!(a.body.contains("not a WAV file"), "{}", a.body);
    // An administrator uploads and removes anyone's.
    let mut anna = Browser::new(&url);
    assert_eq!(
        anna.sign_in("acme.example", "anna", &pw["acme/anna"])
            .status,
        200
    );
    let token = anna.csrf.clone();
    let a = anna.post_multipart(
        "/acme/admin/staff/temp/greeting",
        &[("csrf", &token)],
        ("greeting", "t.wav", &greeting_wav()),
    );
    assert_eq!(a.status, 303, "{}", a.body);
    let admin = anna.get("/api/acme/admin").json();
    let temp_row = admin["staff"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["login"] == "temp")
        .unwrap()
        .clone();
    assert_eq!(temp_row["greeting_s"], 2, "{temp_row}");
    // Who cannot sign in to the cabinet (a password given only as digest hashes) is shown.
    let row = |login: &str| {
        admin["staff"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["login"] == login)
            .unwrap()
            .clone()
    };
    assert_eq!(row("hashy")["signs_in"], false);
    assert_eq!(row("ivan")["signs_in"], true);
    assert!(anna
        .get("/acme/admin")
        .body
        .contains("Cannot sign in to the cabinet yet"));
    let a = anna.post_form(
        "/acme/admin/staff/ivan/greeting/delete",
        &[("csrf", &token)],
    );
    assert_eq!(a.status, 303, "{}", a.body);
    assert_eq!(
        ivan.get("/api/acme/profile").json()["greeting_s"],
        serde_json::Value::Null
    );
    assert_eq!(ivan.get_bytes("/api/acme/profile/greeting").0, 404);
    // Removing one's own: back to the company's.
    let mut temp = Browser::new(&url);
    assert_eq!(
        temp.sign_in("acme.example", "temp", &pw["acme/temp"])
            .status,
        200
    );
    assert_eq!(temp.get("/api/acme/profile").json()["greeting_s"], 2);
    assert_eq!(temp.delete("/api/acme/profile/greeting").status, 204);
    assert_eq!(
        temp.get("/api/acme/profile").json()["greeting_s"],
        serde_json::Value::Null
    );
    // A tenant whose config forbids it.
    let mut galya = Browser::new(&url);
    assert_eq!(
        galya
            .sign_in("globex.example", "galya", &pw["globex/galya"])
            .status,
        200
    );
    let a = galya.put_bytes("/api/globex/profile/greeting", "audio/wav", &greeting_wav());
    assert_eq!(a.status, 403, "{}", a.body);
    assert_eq!(a.json()["error"], "self_service_off");
}

/// `server.cabinet.templates`: a deployment's page and strings replace the shipped ones (the
/// rest stays built in), `pbx validate` refuses a page naming a value it is not given, and a
/// reload picks up a changed page — a broken change is refused and the running pages stay.
#[test]
fn a_deployment_s_pages_and_strings_replace_the_shipped_ones_and_reload() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = config().replace(
        r#"cabinet: { listen: "127.0.0.1:0" }"#,
        r#"cabinet: { listen: "127.0.0.1:0", templates: theme }"#,
    );
    assert!(yaml.contains("templates: theme"));
    std::fs::write(dir.path().join("pbx.yaml"), &yaml).unwrap();
    let theme = dir.path().join("theme");
    std::fs::create_dir(&theme).unwrap();
    let page = |heading: &str| {
        format!(
            "{{% extends \"layout.html\" %}}{{% block main %}}<h1 class=brand>{heading}</h1><p>{{{{ t.signin_intro }}}}</p>{{% endblock %}}"
        )
    };
    std::fs::write(theme.join("signin.html"), page("Acme phones")).unwrap();
    std::fs::write(
        theme.join("ru.json"),
        r#"{"signin_intro": "Пароль — как у рабочего телефона."}"#,
    )
    .unwrap();

    // pbx validate: the same directory passes; a page naming what it is not given does not.
    let validate = |yaml_dir: &std::path::Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_pbx"))
            .args(["validate", "pbx.yaml"])
            .current_dir(yaml_dir)
            .output()
            .unwrap()
    };
    let out = validate(dir.path());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let bad = tempfile::tempdir().unwrap();
    std::fs::write(bad.path().join("pbx.yaml"), &yaml).unwrap();
    std::fs::create_dir(bad.path().join("theme")).unwrap();
    std::fs::write(
        bad.path().join("theme/history.html"),
        "<p>{{ records }}</p>\n<p>{{ passwords }}</p>",
    )
    .unwrap();
    let out = validate(bad.path());
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("E0143")
            && text.contains("theme/history.html")
            && text.contains("`passwords`"),
        "{text}"
    );

    let server = Server::start_in(dir);
    let url = server
        .log()
        .lines()
        .find_map(|l| l.split("cabinet on ").nth(1))
        .unwrap()
        .trim()
        .to_owned();
    let mut b = Browser::new(&url);
    let signin = b.get("/signin");
    assert_eq!(signin.status, 200);
    assert!(
        signin.body.contains("<h1 class=brand>Acme phones</h1>")
            && signin.body.contains("Пароль — как у рабочего телефона."),
        "{}",
        signin.body
    );
    // The sign-in page speaks Russian without the browser's word otherwise: the shipped layout.
    assert!(signin.body.contains("<html lang=\"ru\""), "{}", signin.body);
    // A broken change is refused; the running page stays.
    std::fs::write(theme.join("signin.html"), "{% if %}").unwrap();
    server.hangup();
    server.wait_for_log("the running pages stay");
    assert!(b.get("/signin").body.contains("Acme phones"));
    std::fs::write(theme.join("signin.html"), page("Acme telephony")).unwrap();
    server.hangup();
    server.wait_for_log("cabinet templates reloaded");
    assert!(b
        .get("/signin")
        .body
        .contains("<h1 class=brand>Acme telephony</h1>"));
}

/// The JSON API answers as its OpenAPI document (served at `/api/openapi.json`, the same as
/// `pbx schema --openapi`) says: every GET of the tenant's data answers an object with exactly
/// the properties its schema names.
#[test]
fn the_api_answers_as_its_openapi_document_says() {
    let (_server, url, pw, _) = start();
    let mut anonymous = Browser::new(&url);
    let served = anonymous.get("/api/openapi.json");
    assert_eq!(served.status, 200);
    let doc = served.json();
    assert_eq!(doc, pbx::http::cabinet::api::openapi());
    let mut anna = Browser::new(&url);
    assert_eq!(
        anna.sign_in("acme.example", "anna", &pw["acme/anna"])
            .status,
        200
    );
    let schemas = &doc["components"]["schemas"];
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let Some(get) = item.get("get") else { continue };
        let Some(reference) =
            get["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].as_str()
        else {
            continue;
        };
        if path.contains("{id}") || path.contains("{login}") {
            continue;
        }
        let name = reference.rsplit('/').next().unwrap();
        let mut expected: Vec<&String> = schemas[name]["properties"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        expected.sort();
        let answer = anna.get(&path.replace("{tenant}", "acme"));
        assert_eq!(answer.status, 200, "{path}: {}", answer.body);
        let body = answer.json();
        let mut got: Vec<&String> = body.as_object().unwrap().keys().collect();
        got.sort();
        assert_eq!(got, expected, "{path}");
        checked += 1;
    }
    assert!(checked >= 6, "{checked} routes checked");
}
