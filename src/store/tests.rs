//! Tests of the store: round trips, history order, conflicts, reopening, locking, corrupt
//! values, and crash safety (a child process killed with SIGKILL while applying).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::codec::{CURRENT_FILES_KEY, CURRENT_KEY, REVISION_KEY};
use super::*;
use crate::credentials::ha1;

/// Environment variable carrying the store directory to `crash_child`.
const CRASH_DIR_VAR: &str = "PBX_STORE_CRASH_CHILD_DIR";

fn files(rev: u64) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    files.insert("pbx.yaml".to_owned(), format!("version: 1\n# rev {rev}\n"));
    files.insert(
        "tenants/acme.yaml".to_owned(),
        format!("staff: []\n# {}\n", "x".repeat(rev as usize % 2000)),
    );
    files
}

fn staff_state(login: &str, rev: u64) -> StaffState {
    StaffState {
        login: login.to_owned(),
        extension: Some(format!("{}", 100 + rev % 100)),
        password: Some(ha1(login, "acme", &format!("pw{rev}"))),
        realm: "acme".to_owned(),
        password_set_at_ms: rev,
        web: None,
        signature: None,
    }
}

fn new_apply(rev: u64) -> NewApply {
    NewApply {
        files: files(rev),
        actor: "alice".to_owned(),
        summary: format!("apply {rev}"),
        staff: vec![(
            "acme".to_owned(),
            format!("user{}", rev % 7),
            staff_state(&format!("user{}", rev % 7), rev),
        )],
        letters: Vec::new(),
    }
}

#[test]
fn a_file_kept_by_several_revisions_is_written_once_and_the_older_layout_still_reads() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    // Written the way stores did before files were kept apart: the texts in `meta current`.
    let old = Applied {
        revision: 1,
        files: files(1),
        digest: config_digest(&files(1)),
        applied_at_ms: 5,
        actor: "alice".into(),
        summary: "old".into(),
    };
    let trees = store.trees().unwrap();
    trees
        .meta
        .insert(CURRENT_KEY, serde_json::to_vec(&old).unwrap())
        .unwrap();
    trees
        .meta
        .insert(REVISION_KEY, &1u64.to_be_bytes()[..])
        .unwrap();
    assert_eq!(store.current().unwrap(), Some(old));
    // Revisions 2 and 3 share the tenant file (`files(rev)` differs in it by rev % 2000)...
    let second = new_apply(2);
    let mut third = new_apply(3);
    let shared = second.files["tenants/acme.yaml"].clone();
    third
        .files
        .insert("tenants/acme.yaml".into(), shared.clone());
    store.record_apply(second.clone(), Some(1)).unwrap();
    let applied = store.record_apply(third.clone(), Some(2)).unwrap();
    // ...which is kept once: three texts (two main files, one tenant file).
    assert_eq!(store.tree("config_files").unwrap().len(), 3);
    let current = store.current().unwrap().unwrap();
    assert_eq!(current.files, third.files);
    assert_eq!(current, applied);
    assert!(
        trees.meta.get(CURRENT_KEY).unwrap().is_none(),
        "the old value is gone"
    );
    // Reopened, the same.
    drop(trees);
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.current().unwrap().unwrap().files, third.files);
}

#[test]
fn empty_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.revision().unwrap(), 0);
    assert_eq!(store.current().unwrap(), None);
    assert!(store.history(10).unwrap().is_empty());
    assert!(store.all_staff_states().unwrap().is_empty());
}

#[test]
fn applies_round_trip_and_history_is_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    for rev in 1..=5 {
        let applied = store.record_apply(new_apply(rev), None).unwrap();
        assert_eq!(applied.revision, rev);
        assert_eq!(applied.files, files(rev));
        assert_eq!(applied.digest, config_digest(&files(rev)));
        assert_eq!(store.revision().unwrap(), rev);
        assert_eq!(store.current().unwrap(), Some(applied));
    }
    let history = store.history(3).unwrap();
    let revs: Vec<u64> = history.iter().map(|r| r.revision).collect();
    assert_eq!(revs, [5, 4, 3]);
    assert_eq!(history[0].summary, "apply 5");
    assert_eq!(history[0].digest, config_digest(&files(5)));
    assert_eq!(store.history(100).unwrap().len(), 5);
    // More than 255 entries: big-endian keys keep numeric order.
    for rev in 6..=300 {
        store.record_apply(new_apply(rev), Some(rev - 1)).unwrap();
    }
    let revs: Vec<u64> = store
        .history(1000)
        .unwrap()
        .iter()
        .map(|r| r.revision)
        .collect();
    assert_eq!(revs, (1..=300).rev().collect::<Vec<_>>());
}

#[test]
fn digest_is_name_nul_text_nul_in_name_order() {
    let mut f = BTreeMap::new();
    f.insert("b".to_owned(), "2".to_owned());
    f.insert("a".to_owned(), "1".to_owned());
    // python3 -c "import hashlib; print(hashlib.sha256(b'a\0' b'1\0' b'b\0' b'2\0').hexdigest())"
    assert_eq!(
        config_digest(&f),
        "37664b19301f46515688d5a22cb9ee1852e0b6443e28c7f36340a13962f0c4f7"
    );
    assert_ne!(config_digest(&f), config_digest(&BTreeMap::new()));
}

#[test]
fn expected_revision_conflict_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.record_apply(new_apply(1), Some(0)).unwrap();
    let before = (
        store.current().unwrap(),
        store.history(10).unwrap(),
        store.all_staff_states().unwrap(),
    );
    let mut apply = new_apply(2);
    apply
        .staff
        .push(("other".to_owned(), "bob".to_owned(), staff_state("bob", 2)));
    match store.record_apply(apply, Some(0)) {
        Err(StoreError::Conflict {
            expected: 0,
            actual: 1,
        }) => {}
        other => panic!("expected a conflict, got {other:?}"),
    }
    let after = (
        store.current().unwrap(),
        store.history(10).unwrap(),
        store.all_staff_states().unwrap(),
    );
    assert_eq!(before, after);
    assert_eq!(store.revision().unwrap(), 1);
    store.record_apply(new_apply(2), Some(1)).unwrap();
}

#[test]
fn an_applys_letters_are_written_with_it_and_a_refused_apply_writes_none() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        let mut apply = new_apply(1);
        apply.letters = vec![(
            "welcome_letter".to_owned(),
            serde_json::json!({"login": "user1", "password": "pw1"}),
        )];
        store.record_apply(apply, Some(0)).unwrap();
        let mut stale = new_apply(2);
        stale.letters = vec![("welcome_letter".to_owned(), serde_json::json!({}))];
        assert!(matches!(
            store.record_apply(stale, Some(0)),
            Err(StoreError::Conflict { .. })
        ));
    }
    let store = Store::open(dir.path()).unwrap();
    let all = store.outbox(10).unwrap();
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0].kind, "welcome_letter");
    assert_eq!(all[0].payload["password"], "pw1");
    assert_eq!(store.due(u64::MAX, 10).unwrap().len(), 1);
}

#[test]
fn staff_states_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let mut apply = new_apply(1);
    apply.staff = vec![
        ("acme".to_owned(), "ivan".to_owned(), staff_state("ivan", 1)),
        (
            "acme".to_owned(),
            "maria".to_owned(),
            staff_state("maria", 1),
        ),
        (
            "acme2".to_owned(),
            "ivan".to_owned(),
            staff_state("ivan2", 1),
        ),
        ("ac".to_owned(), "me".to_owned(), staff_state("me", 1)),
    ];
    {
        let store = Store::open(dir.path()).unwrap();
        store.record_apply(apply, None).unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    let acme = store.staff_states("acme").unwrap();
    assert_eq!(acme.keys().collect::<Vec<_>>(), ["ivan", "maria"]);
    assert_eq!(acme["maria"], staff_state("maria", 1));
    assert_eq!(store.staff_states("acme2").unwrap().len(), 1);
    assert_eq!(store.staff_states("ac").unwrap().len(), 1);
    assert!(store.staff_states("nobody").unwrap().is_empty());
    let all = store.all_staff_states().unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!(
        all[&("acme2".to_owned(), "ivan".to_owned())],
        staff_state("ivan2", 1)
    );
    assert_eq!(store.revision().unwrap(), 1);
}

#[test]
fn nul_in_names_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut apply = new_apply(1);
    apply.staff[0].0 = "ac\0me".to_owned();
    assert!(matches!(
        store.record_apply(apply, None),
        Err(StoreError::InvalidKey { .. })
    ));
    assert_eq!(store.revision().unwrap(), 0);
    assert!(matches!(
        store.staff_states("a\0"),
        Err(StoreError::InvalidKey { .. })
    ));
}

#[test]
fn set_password_rotates_and_persists() {
    let dir = tempfile::tempdir().unwrap();
    let new = ha1("ivan", "acme", "new secret");
    {
        let store = Store::open(dir.path()).unwrap();
        let mut apply = new_apply(1);
        apply.staff = vec![("acme".to_owned(), "ivan".to_owned(), staff_state("ivan", 1))];
        store.record_apply(apply, None).unwrap();
        let web = crate::credentials::WebPassword {
            argon2: "$argon2id$...".into(),
            ha1_sha256: new.sha256.clone(),
        };
        let state = store
            .set_password("acme", "ivan", new.clone(), web.clone(), 42, None)
            .unwrap()
            .0;
        assert_eq!(state.password.as_ref(), Some(&new));
        assert_eq!(state.web.as_ref(), Some(&web));
        assert_eq!(
            store.staff_state("acme", "ivan").unwrap().as_ref(),
            Some(&state)
        );
        assert_eq!(store.staff_state("acme", "nobody").unwrap(), None);
        assert_eq!(state.password_set_at_ms, 42);
        assert_eq!(state.login, "ivan");
        assert_eq!(state.extension, staff_state("ivan", 1).extension);
        match store.set_password("acme", "nobody", new.clone(), web, 1, None) {
            Err(StoreError::NotFound { tenant, identity }) => {
                assert_eq!((tenant.as_str(), identity.as_str()), ("acme", "nobody"));
            }
            other => panic!("expected NotFound, got {other:?}"),
        }
        // Rotation is not an apply.
        assert_eq!(store.revision().unwrap(), 1);
    }
    let store = Store::open(dir.path()).unwrap();
    let state = &store.staff_states("acme").unwrap()["ivan"];
    assert_eq!(state.password.as_ref(), Some(&new));
    assert_eq!(state.password_set_at_ms, 42);
}

#[test]
fn counters_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.counter("calls").unwrap(), 0);
        assert_eq!(store.counter_add("calls", 2).unwrap(), 2);
        assert_eq!(store.counter_add("calls", 3).unwrap(), 5);
        assert_eq!(store.counter_add("other", 1).unwrap(), 1);
        assert!(matches!(
            store.counter_add("calls", u64::MAX),
            Err(StoreError::CounterOverflow { .. })
        ));
    }
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.counter("calls").unwrap(), 5);
    assert_eq!(store.counter("other").unwrap(), 1);
}

#[test]
fn second_open_is_locked() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    match Store::open(dir.path()) {
        Err(e @ StoreError::Locked { .. }) => {
            assert!(e.to_string().contains("in use"), "{e}");
        }
        other => panic!("expected Locked, got {other:?}"),
    }
    drop(store);
    Store::open(dir.path()).unwrap();
}

#[test]
fn corrupt_values_name_their_key() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.record_apply(new_apply(1), None).unwrap();
    store
        .trees()
        .unwrap()
        .staff
        .insert(b"acme\0ivan", &b"{not json"[..])
        .unwrap();
    match store.staff_states("acme") {
        Err(StoreError::Corrupt { what, .. }) => assert_eq!(what, "staff acme/ivan"),
        other => panic!("expected Corrupt, got {other:?}"),
    }
    store
        .trees()
        .unwrap()
        .meta
        .insert(CURRENT_FILES_KEY, &b"[]"[..])
        .unwrap();
    match store.current() {
        Err(StoreError::Corrupt { what, .. }) => assert_eq!(what, "meta current files"),
        other => panic!("expected Corrupt, got {other:?}"),
    }
    store
        .trees()
        .unwrap()
        .meta
        .insert(REVISION_KEY, &b"abc"[..])
        .unwrap();
    assert!(matches!(store.revision(), Err(StoreError::Corrupt { .. })));
    assert!(matches!(
        store.record_apply(new_apply(2), None),
        Err(StoreError::Corrupt { .. })
    ));
    store
        .trees()
        .unwrap()
        .counters
        .insert(b"calls", &b"x"[..])
        .unwrap();
    match store.counter("calls") {
        Err(StoreError::Corrupt { what, .. }) => assert_eq!(what, "counter calls"),
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

/// Not a test on its own: the child process of `crash_safety`. Loops `record_apply` on the
/// store named by `CRASH_DIR_VAR` and prints `ack N` once revision N is acknowledged.
#[test]
#[ignore = "run by crash_safety as a child process"]
fn crash_child() {
    let Some(dir) = std::env::var_os(CRASH_DIR_VAR) else {
        return;
    };
    let store = Store::open(Path::new(&dir)).unwrap();
    let mut out = std::io::stdout().lock();
    loop {
        let rev = store.revision().unwrap();
        let applied = store.record_apply(new_apply(rev + 1), Some(rev)).unwrap();
        writeln!(out, "ack {}", applied.revision).unwrap();
        out.flush().unwrap();
    }
}

fn random_below(n: u64) -> u64 {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).unwrap();
    u64::from_le_bytes(b) % n
}

/// Kills a process applying in a loop with SIGKILL at a random moment, 20 times on the same
/// store, and checks that every acknowledged apply survived and the store still decodes.
#[test]
fn crash_safety() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut acked = 0u64;
    for round in 0..20 {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "store::tests::crash_child",
                "--nocapture",
                "--ignored",
            ])
            .env(CRASH_DIR_VAR, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            // Only complete lines count: a line cut by the kill was never acknowledged.
            let mut last = None;
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 {
                if let Some(n) = line.strip_suffix('\n').and_then(|l| l.strip_prefix("ack ")) {
                    last = Some(n.parse::<u64>().unwrap());
                }
                line.clear();
            }
            last
        });
        std::thread::sleep(Duration::from_millis(50 + random_below(250)));
        child.kill().unwrap();
        child.wait().unwrap();
        if let Some(n) = reader.join().unwrap() {
            assert!(n >= acked, "round {round}: revisions went backwards");
            acked = n;
        }

        let store = Store::open(dir.path()).unwrap();
        let revision = store.revision().unwrap();
        assert!(
            revision >= acked,
            "round {round}: acknowledged {acked}, stored {revision}"
        );
        let current = store.current().unwrap();
        if revision == 0 {
            assert_eq!(current, None);
            continue;
        }
        let current = current.unwrap();
        assert_eq!(current.revision, revision, "round {round}");
        assert_eq!(current.files, files(revision), "round {round}");
        assert_eq!(current.digest, config_digest(&current.files));
        let history = store.history(usize::MAX).unwrap();
        assert_eq!(history.len() as u64, revision, "round {round}");
        assert_eq!(history[0].revision, revision);
        store.all_staff_states().unwrap();
        acked = revision;
    }
    assert!(acked > 0, "the child never acknowledged an apply");
}

#[test]
fn the_journal_keeps_calls_in_progress_until_their_record_and_closes_the_rest_at_startup() {
    let dir = tempfile::tempdir().unwrap();
    let call = |key: u64, answered: Option<u64>| CallRecord {
        tenant: "acme".into(),
        caller: "ivan".into(),
        callee: "210".into(),
        started_ms: 1_000,
        answered_ms: answered,
        answered_by: answered.map(|_| "anna".to_string()),
        journal: Some(key),
        ..CallRecord::default()
    };
    {
        let store = Store::open(dir.path()).unwrap();
        store
            .journal_calls(&[call(1, None), call(2, Some(3_000)), call(3, None)])
            .unwrap();
        // Call 1 ends normally: its record leaves the journal.
        let mut done = call(1, None);
        done.ended_ms = 2_000;
        done.outcome = CallOutcome::Cancelled;
        store.append_calls(&[done]).unwrap();
        let open: Vec<u64> = store
            .open_calls()
            .unwrap()
            .iter()
            .filter_map(|r| r.journal)
            .collect();
        assert_eq!(open, [2, 3]);
        // The process dies here (the store is dropped without anything else).
    }
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.recover_calls(10_000).unwrap(), 2);
    assert!(store.open_calls().unwrap().is_empty());
    assert_eq!(store.recover_calls(11_000).unwrap(), 0, "closed once");
    let calls = store
        .calls(&CallQuery {
            limit: 10,
            ..CallQuery::default()
        })
        .unwrap();
    assert_eq!(calls.len(), 3);
    let answered = calls.iter().find(|r| r.answered_ms.is_some()).unwrap();
    assert_eq!(answered.outcome, CallOutcome::Answered);
    assert_eq!((answered.ended_ms, answered.talk_ms), (10_000, 7_000));
    assert_eq!(answered.note.as_deref(), Some(INTERRUPTED));
    let ringing = calls
        .iter()
        .find(|r| r.note.as_deref() == Some(INTERRUPTED) && r.answered_ms.is_none())
        .unwrap();
    assert_eq!(ringing.outcome, CallOutcome::Unavailable);
}

/// `pbx password reset --notify`: the new hashes and the welcome letter mailing them are one
/// write — both there after a reopen, the letter due at the rotation's time; a rotation that
/// fails (no such identity) leaves no letter behind.
#[test]
fn set_password_writes_its_letter_in_the_same_transaction() {
    use crate::store::{Delivery, Outbox};
    let dir = tempfile::tempdir().unwrap();
    let new = ha1("ivan", "acme", "new secret");
    let letter = serde_json::json!({"to": "ivan@example.com", "password": "new secret"});
    let id = {
        let store = Store::open(dir.path()).unwrap();
        let mut apply = new_apply(1);
        apply.staff = vec![("acme".to_owned(), "ivan".to_owned(), staff_state("ivan", 1))];
        store.record_apply(apply, None).unwrap();
        let web = crate::credentials::WebPassword {
            argon2: "$argon2id$...".into(),
            ha1_sha256: new.sha256.clone(),
        };
        assert!(matches!(
            store.set_password(
                "acme",
                "nobody",
                new.clone(),
                web.clone(),
                7,
                Some(("welcome_letter", letter.clone()))
            ),
            Err(StoreError::NotFound { .. })
        ));
        assert!(store.outbox(10).unwrap().is_empty());
        let (state, id) = store
            .set_password(
                "acme",
                "ivan",
                new.clone(),
                web,
                42,
                Some(("welcome_letter", letter.clone())),
            )
            .unwrap();
        assert_eq!(state.password.as_ref(), Some(&new));
        id.expect("the letter's outbox id")
    };
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(
        store.staff_states("acme").unwrap()["ivan"]
            .password
            .as_ref(),
        Some(&new)
    );
    let entries = store.outbox(10).unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        (entries[0].id, entries[0].kind.as_str(), &entries[0].payload),
        (id, "welcome_letter", &letter)
    );
    assert_eq!(
        entries[0].delivery,
        Delivery::Pending {
            next_attempt_ms: 42
        }
    );
    assert_eq!(store.due(41, 10).unwrap().len(), 0);
    assert_eq!(store.due(42, 10).unwrap().len(), 1);
}
