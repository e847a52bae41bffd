//! The cabinet's history and statistics pages against a big history (README "Benchmarks"):
//! a tenant with 100 staff in 10 departments and 1,000,000 call records over the past year,
//! written through the store's own `append_calls` (so the hourly sums are built the way the
//! server builds them), then a real `pbx serve` (this build's binary) answering real HTTP on
//! loopback. Each page is asked for 100 times in a row after 5 warm-up requests; the figures
//! are the latency of the whole request as the client sees it, p50, p95 and max.
//!
//!   cargo bench --bench cabinet            (or bench/cabinet.sh)
//!   CABINET_RECORDS=200000 cargo bench --bench cabinet

use pbx::store::{CallHistory, CallOutcome, CallRecord, Store};
use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const STAFF: usize = 100;
const DEPARTMENTS: usize = 10;
const ADMIN_PASSWORD: &str = "bench-admin-password";
const RESTRICTED_PASSWORD: &str = "bench-restricted-password";

fn config() -> String {
    let mut staff = String::new();
    for i in 0..STAFF {
        let extra = match i {
            0 => format!(", role: admin, password: \"{ADMIN_PASSWORD}\""),
            7 => format!(", role: restricted, password: \"{RESTRICTED_PASSWORD}\""),
            _ => String::new(),
        };
        staff.push_str(&format!(
            "      - {{ name: Person {i:02}, login: p{i:02}{extra} }}\n"
        ));
    }
    let mut departments = String::new();
    for d in 0..DEPARTMENTS {
        let members: Vec<String> = (0..STAFF / DEPARTMENTS)
            .map(|m| format!("p{:02}", d * 10 + m))
            .collect();
        departments.push_str(&format!(
            "      - {{ id: d{d}, name: Department {d}, strategy: all_at_once, members: [{}] }}\n",
            members.join(", ")
        ));
    }
    format!(
        "version: 1\nserver:\n  http: {{ listen: \"127.0.0.1:0\" }}\n  cabinet: {{ listen: \"127.0.0.1:0\" }}\n  sip:\n    listen: [{{ transport: udp, address: \"127.0.0.1:0\" }}]\ntenants:\n  - id: acme\n    name: Acme\n    domain: acme.example\n    max_users: {STAFF}\n    timezone: Europe/Moscow\n    language: en\n    staff:\n{staff}    departments:\n{departments}    numbers:\n      - {{ number: \"+74950000001\", destination: {{ department: d0 }} }}\n"
    )
}

/// A small deterministic generator (xorshift).
struct Random(u64);

impl Random {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

/// Record `i` of `n`, ending in the year before `now_ms`.
fn record(i: u64, n: u64, now_ms: u64, rng: &mut Random) -> CallRecord {
    let year = 365 * 86_400_000;
    let ended_ms = now_ms - year + i * year / n;
    let ring_ms = 1_000 + rng.next(29_000);
    let talk_ms = rng.next(300_000);
    let person = |x: u64| format!("p{:02}", x % STAFF as u64);
    let mut r = CallRecord {
        tenant: "acme".into(),
        started_ms: ended_ms - ring_ms - talk_ms,
        ended_ms,
        ring_ms,
        ..CallRecord::default()
    };
    if rng.next(10) < 7 {
        // From outside, to a department: three of its members offered.
        let d = rng.next(DEPARTMENTS as u64);
        r.caller = format!("+7916{:07}", rng.next(10_000_000));
        r.callee = "+74950000001".into();
        r.number = Some("+74950000001".into());
        r.departments = vec![format!("d{d}")];
        r.offered = (0..3).map(|k| person(d * 10 + k * 3)).collect();
    } else {
        // Internal, person to person.
        let from = rng.next(STAFF as u64);
        r.caller = person(from);
        r.callee = person(from + 1 + rng.next(STAFF as u64 - 1));
        r.offered = vec![r.callee.clone()];
    }
    let roll = rng.next(100);
    if roll < 80 {
        let who = r.offered[rng.next(r.offered.len() as u64) as usize].clone();
        r.answered_by = Some(who);
        r.answered_ms = Some(ended_ms - talk_ms);
        r.talk_ms = talk_ms;
        r.outcome = CallOutcome::Answered;
    } else {
        r.outcome = if roll < 82 {
            CallOutcome::Busy
        } else if roll < 90 {
            CallOutcome::Voicemail
        } else {
            CallOutcome::Missed
        };
        r.status = Some(480);
    }
    r
}

/// p50, p95 and max of `samples`, in ms.
fn figures(samples: &mut [Duration]) -> (f64, f64, f64) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let at = |q: f64| ms(samples[((samples.len() as f64 - 1.0) * q).round() as usize]);
    (at(0.5), at(0.95), ms(*samples.last().unwrap()))
}

fn main() {
    // `cargo bench` passes `--bench`; this harness takes nothing else.
    let n: u64 = std::env::var("CABINET_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pbx.yaml"), config()).unwrap();
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let started = Instant::now();
    {
        let store = Store::open(&dir.path().join("data")).unwrap();
        let mut rng = Random(0x9E37_79B9_7F4A_7C15);
        let batch = 2_000;
        let mut i = 0;
        while i < n {
            let records: Vec<CallRecord> = (i..(i + batch).min(n))
                .map(|k| record(k, n, now_ms, &mut rng))
                .collect();
            store.append_calls(&records).unwrap();
            i += batch;
        }
    }
    eprintln!(
        "{n} call records written in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let mut server = Command::new(env!("CARGO_BIN_EXE_pbx"))
        .args(["serve", "--config", "pbx.yaml"])
        .current_dir(dir.path())
        .env("PBX_ADMIN_TOKEN", "bench-token")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("pbx serve starts");
    let stderr = server.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if let Some(url) = line.split("cabinet on ").nth(1) {
                let _ = tx.send(url.trim().to_owned());
            }
        }
    });
    let url = rx
        .recv_timeout(Duration::from_secs(120))
        .expect("the cabinet starts");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let sign_in = |login: &str, password: &str| -> String {
        let body = format!(
            r#"{{"domain": "acme.example", "login": "{login}", "password": "{password}"}}"#
        );
        let r = agent
            .post(&format!("{url}/api/signin"))
            .header("Content-Type", "application/json")
            .send(body.as_bytes())
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "sign-in of {login}");
        let cookie = r
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        cookie
    };
    let admin = sign_in("p00", ADMIN_PASSWORD);
    let restricted = sign_in("p07", RESTRICTED_PASSWORD);
    let tz = jiff::tz::db().get("Europe/Moscow").unwrap();
    let today = jiff::Timestamp::now().to_zoned(tz).date();
    let month_ago = today.checked_sub(jiff::Span::new().days(30)).unwrap();
    let cases: Vec<(&str, &String, String)> = vec![
        ("admin", &admin, "/acme/history".into()),
        ("admin", &admin, "/api/acme/history".into()),
        ("admin", &admin, "/api/acme/history?person=p42".into()),
        (
            "admin",
            &admin,
            format!("/acme/history?from={month_ago}&to={today}&department=d3&outcome=missed"),
        ),
        ("admin", &admin, "/api/acme/history?outcome=busy".into()),
        ("admin", &admin, "/acme/stats?period=day".into()),
        ("admin", &admin, "/acme/stats?period=week".into()),
        ("admin", &admin, "/acme/stats?period=month".into()),
        ("admin", &admin, "/api/acme/stats?period=month".into()),
        ("restricted", &restricted, "/acme/history".into()),
        ("restricted", &restricted, "/acme/stats?period=month".into()),
    ];
    println!("| page | viewer | p50 ms | p95 ms | max ms | size |");
    println!("|---|---|---|---|---|---|");
    let mut worst_p95: f64 = 0.0;
    for (who, cookie, path) in cases {
        let mut samples = Vec::new();
        let mut size = 0;
        for k in 0..105 {
            let t = Instant::now();
            let mut r = agent
                .get(&format!("{url}{path}"))
                .header("Cookie", cookie.as_str())
                .call()
                .unwrap();
            let body = r.body_mut().read_to_string().unwrap();
            let took = t.elapsed();
            assert_eq!(r.status().as_u16(), 200, "{path}: {body}");
            size = body.len();
            if k >= 5 {
                samples.push(took);
            }
        }
        let (p50, p95, max) = figures(&mut samples);
        worst_p95 = worst_p95.max(p95);
        println!("| `{path}` | {who} | {p50:.1} | {p95:.1} | {max:.1} | {size} B |");
    }
    println!("\nworst p95: {worst_p95:.1} ms (goal: under 200 ms)");
    let _ = server.kill();
    let _ = server.wait();
}
