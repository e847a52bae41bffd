//! Voicemail through a real `pbx serve`: messages written into the data directory by the
//! voicemail writer (while no server runs: the store is locked per process) are listed,
//! filtered by box, downloaded byte for byte, marked heard and deleted (entry and file) through
//! the admin API; another tenant's message is answered exactly like an unknown one, and nothing
//! happens without the token.

use crate::support::{server_config, Server, TOKEN};
use pbx::media::wav;
use pbx::serve::voicemail::{spawn, Recording};
use pbx::store::{Store, VoicemailIndex};
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;

/// An HTTP answer: status, content type, body.
struct Answer {
    status: u16,
    content_type: String,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|_| {
            panic!(
                "{} {:?} is not JSON",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// `method path` against the server's admin API, with `token` as bearer if given.
fn request(server: &Server, method: &str, path: &str, token: Option<&str>) -> Answer {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let url = format!("{}{path}", server.url);
    let auth = token.map(|t| format!("Bearer {t}"));
    let response = match method {
        "GET" => {
            let mut r = agent.get(&url);
            if let Some(a) = &auth {
                r = r.header("Authorization", a);
            }
            r.call()
        }
        "DELETE" => {
            let mut r = agent.delete(&url);
            if let Some(a) = &auth {
                r = r.header("Authorization", a);
            }
            r.call()
        }
        "POST" => {
            let mut r = agent.post(&url);
            if let Some(a) = &auth {
                r = r.header("Authorization", a);
            }
            r.send_empty()
        }
        other => panic!("no {other} here"),
    };
    let mut response = response.expect("the admin API answers");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    Answer {
        status: response.status().as_u16(),
        content_type,
        body: response.body_mut().read_to_vec().unwrap_or_default(),
    }
}

fn recording(tenant: &str, mailbox: &str, at: u64, pcm: Vec<i16>) -> Recording {
    Recording {
        tenant: tenant.into(),
        mailbox: mailbox.into(),
        caller: "+79161112233".into(),
        number: Some("+74951234567".into()),
        received_ms: at,
        pcm,
        keep: 10,
        notify: Vec::new(),
    }
}

fn tone(len: usize, step: i32) -> Vec<i16> {
    (0..len as i32)
        .map(|i| ((i * step) % 20_000 - 10_000) as i16)
        .collect()
}

/// Leaves the messages through the voicemail writer, into `data` with the store closed again
/// afterwards.
fn leave(data: &Path, recordings: Vec<Recording>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = Arc::new(Store::open(data).unwrap());
    runtime.block_on(async {
        let writer = spawn(store.clone(), data.to_owned(), 16);
        for r in recordings {
            assert!(writer.offer(r));
        }
        writer.clone().close().await;
        assert_eq!((writer.written(), writer.failed()), (4, 0));
    });
    drop(runtime);
    let store = Arc::into_inner(store).expect("the writer let go of the store");
    store.flush().unwrap();
}

#[test]
fn voicemail_is_listed_downloaded_marked_heard_and_deleted_per_tenant() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("pbx.yaml"),
        server_config("      - name: Anna\n"),
    )
    .unwrap();
    let data = dir.path().join("data");
    let (first, second) = (tone(8_000, 37), tone(12_000, 91));
    leave(
        &data,
        vec![
            recording("acme", "staff:anna", 1_000, first.clone()),
            recording("acme", "staff:anna", 3_000, second.clone()),
            recording("acme", "department:sales", 2_000, tone(4_000, 5)),
            recording("globex", "staff:anna", 4_000, tone(800, 3)),
        ],
    );
    let server = Server::start_in(dir);

    // The list, newest first, without where the files are.
    let list = |query: &str| {
        let a = request(
            &server,
            "GET",
            &format!("/api/v1/tenants/acme/voicemail{query}"),
            Some(TOKEN),
        );
        assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
        a.json().as_array().unwrap().clone()
    };
    let all = list("");
    let received: Vec<u64> = all
        .iter()
        .map(|m| m["received_ms"].as_u64().unwrap())
        .collect();
    assert_eq!(received, [3_000, 2_000, 1_000], "{all:?}");
    let newest = &all[0];
    assert_eq!(newest["mailbox"], "staff:anna");
    assert_eq!(newest["caller"], "+79161112233");
    assert_eq!(newest["number"], "+74951234567");
    assert_eq!(newest["duration_ms"], 1_500);
    assert_eq!(newest["heard"], false);
    assert!(newest.get("file").is_none(), "{newest}");
    let ids: Vec<u64> = all.iter().map(|m| m["id"].as_u64().unwrap()).collect();
    let (newest_id, sales_id, oldest_id) = (ids[0], ids[1], ids[2]);
    assert_eq!(list("?mailbox=staff:anna").len(), 2);
    assert_eq!(list("?mailbox=department:sales").len(), 1);
    assert!(list("?mailbox=staff:nobody").is_empty());
    let bad = request(
        &server,
        "GET",
        "/api/v1/tenants/acme/voicemail?mailbox=anna",
        Some(TOKEN),
    );
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["error"], "bad-mailbox");

    let globex = request(
        &server,
        "GET",
        "/api/v1/tenants/globex/voicemail",
        Some(TOKEN),
    );
    let globex = globex.json();
    assert_eq!(globex.as_array().unwrap().len(), 1, "{globex}");
    let globex_id = globex[0]["id"].as_u64().unwrap();

    // The recording, byte for byte.
    let message = |tenant: &str, id: &str| format!("/api/v1/tenants/{tenant}/voicemail/{id}");
    let audio = request(
        &server,
        "GET",
        &message("acme", &newest_id.to_string()),
        Some(TOKEN),
    );
    assert_eq!(audio.status, 200);
    assert_eq!(audio.content_type, "audio/wav");
    assert_eq!(audio.body, wav::write(&second));
    let file = server
        .dir
        .path()
        .join(format!("data/voicemail/acme/{newest_id}.wav"));
    assert_eq!(audio.body, std::fs::read(&file).unwrap());
    assert_eq!(wav::read(&audio.body).unwrap(), second);
    let audio = request(
        &server,
        "GET",
        &message("acme", &oldest_id.to_string()),
        Some(TOKEN),
    );
    assert_eq!(wav::read(&audio.body).unwrap(), first);

    // Another tenant's message is answered like one that does not exist, whatever is asked.
    let unknown = request(&server, "GET", &message("acme", "999999"), Some(TOKEN));
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.json()["error"], "not-found");
    let globex_path = message("acme", &globex_id.to_string());
    for path in [globex_path.clone(), message("acme", "not-a-number")] {
        let a = request(&server, "GET", &path, Some(TOKEN));
        assert_eq!((a.status, &a.body), (404, &unknown.body), "{path}");
        let a = request(&server, "POST", &format!("{path}/heard"), Some(TOKEN));
        assert_eq!((a.status, &a.body), (404, &unknown.body), "{path}");
        let a = request(&server, "DELETE", &path, Some(TOKEN));
        assert_eq!((a.status, &a.body), (404, &unknown.body), "{path}");
    }
    let globex_file = server
        .dir
        .path()
        .join(format!("data/voicemail/globex/{globex_id}.wav"));
    assert!(globex_file.exists(), "another tenant cannot delete it");

    // Nothing without the token, or with a wrong one.
    let newest_path = message("acme", &newest_id.to_string());
    for token in [None, Some("wrong-token")] {
        for (method, path) in [
            ("GET", "/api/v1/tenants/acme/voicemail".to_string()),
            ("GET", newest_path.clone()),
            ("POST", format!("{newest_path}/heard")),
            ("DELETE", newest_path.clone()),
        ] {
            let a = request(&server, method, &path, token);
            assert_eq!(a.status, 401, "{method} {path} with {token:?}");
            assert_eq!(a.json()["error"], "unauthorized");
        }
    }
    assert!(file.exists());
    assert!(list("").iter().all(|m| m["heard"] == false));

    // Marked heard.
    let heard = request(
        &server,
        "POST",
        &format!("{newest_path}/heard"),
        Some(TOKEN),
    );
    assert_eq!(heard.status, 204);
    let heard_now: Vec<(u64, bool)> = list("")
        .iter()
        .map(|m| (m["id"].as_u64().unwrap(), m["heard"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        heard_now,
        [(newest_id, true), (sales_id, false), (oldest_id, false)]
    );
    let globex = request(
        &server,
        "GET",
        "/api/v1/tenants/globex/voicemail",
        Some(TOKEN),
    );
    assert_eq!(globex.json()[0]["heard"], false);

    // Deleted: entry and file.
    let deleted = request(&server, "DELETE", &newest_path, Some(TOKEN));
    assert_eq!(deleted.status, 204);
    assert!(!file.exists());
    assert_eq!(
        list("")
            .iter()
            .map(|m| m["id"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [sales_id, oldest_id]
    );
    for (method, path) in [
        ("GET", newest_path.clone()),
        ("DELETE", newest_path.clone()),
        ("POST", format!("{newest_path}/heard")),
    ] {
        let a = request(&server, method, &path, Some(TOKEN));
        assert_eq!((a.status, &a.body), (404, &unknown.body), "{method} {path}");
    }

    // The change is durable: after a restart the store says the same.
    let dir = server.stop();
    let store = Store::open(&dir.path().join("data")).unwrap();
    let left: Vec<u64> = store
        .voicemails("acme", None)
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(left, [sales_id, oldest_id]);
    assert!(store.voicemail("globex", globex_id).unwrap().is_some());
}
