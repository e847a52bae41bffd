//! The outbox behind the `Outbox` trait: side effects (letters to send) written durably before
//! anything is acknowledged, then carried out by a sender that marks each one done, retried
//! later, or given up — so an effect happens once from the user's point of view, even across a
//! kill. Entries are taken in id order; an entry is due when its next attempt time has come.
//! Done entries (sent or given up) are kept for a while — the admin API shows them — and then
//! removed by `prune`.
//!
//! | tree     | key                  | value                  |
//! |----------|----------------------|------------------------|
//! | `outbox` | `id` (8 bytes, BE)   | JSON [`OutboxEntry`]   |
//! | `meta`   | `outbox-tag`         | 16 hex digits (UTF-8)  |
//!
//! Ids grow and are never reused within a store; `outbox-tag`, drawn once per store, tells
//! one store's ids from another's (the letters' `Message-ID`s are made of both).

use super::{storage, Store, StoreError};
use serde::{Deserialize, Serialize};

/// Where an entry is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum Delivery {
    /// To do at `next_attempt_ms`.
    Pending { next_attempt_ms: u64 },
    /// Done.
    Sent { at_ms: u64 },
    /// Given up, for `reason`, at `at_ms` (`None` for an entry given up before that was
    /// recorded: [`Outbox::prune`] stamps it the first time it sees it).
    Failed {
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        at_ms: Option<u64>,
    },
}

/// One side effect to carry out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub id: u64,
    /// What it is (`welcome_letter`, `voicemail_letter`...).
    pub kind: String,
    /// What the sender needs.
    pub payload: serde_json::Value,
    pub attempts: u32,
    /// Why the last attempt failed, if it did.
    pub last_error: Option<String>,
    pub delivery: Delivery,
}

/// Where side effects wait to be carried out.
pub trait Outbox {
    /// Adds an entry due at once (flushed before returning); its id.
    fn enqueue(
        &self,
        kind: &str,
        payload: serde_json::Value,
        now_ms: u64,
    ) -> Result<u64, StoreError>;
    /// Up to `limit` pending entries due at `now_ms`, oldest first.
    fn due(&self, now_ms: u64, limit: usize) -> Result<Vec<OutboxEntry>, StoreError>;
    /// Entry `id` was carried out; `payload` replaces its payload (to erase a secret).
    fn sent(
        &self,
        id: u64,
        now_ms: u64,
        payload: Option<serde_json::Value>,
    ) -> Result<(), StoreError>;
    /// Entry `id` failed for `reason` at `now_ms`: tried again at `retry_at_ms`, or given up
    /// when `None` — then keeping `payload` instead when given (a welcome letter without its
    /// password).
    fn failed(
        &self,
        id: u64,
        reason: &str,
        retry_at_ms: Option<u64>,
        now_ms: u64,
        payload: Option<serde_json::Value>,
    ) -> Result<(), StoreError>;
    /// The newest `limit` entries, whatever their state.
    fn outbox(&self, limit: usize) -> Result<Vec<OutboxEntry>, StoreError>;
    /// This store's tag: 16 hex digits drawn (OS randomness) the first time it is asked for,
    /// then kept (flushed) — the same for the life of the store, different between stores.
    fn outbox_tag(&self) -> Result<String, StoreError>;
    /// Removes the entries done (sent or given up) at least `keep_ms` before `now_ms`, and
    /// flushes; how many it removed. Pending entries always stay. A given-up entry that does
    /// not say when is stamped `now_ms` instead (so it stays `keep_ms` from now).
    fn prune(&self, now_ms: u64, keep_ms: u64) -> Result<usize, StoreError>;
}

/// A new entry due at `now_ms`.
pub(super) fn new_entry(
    id: u64,
    kind: &str,
    payload: serde_json::Value,
    now_ms: u64,
) -> OutboxEntry {
    OutboxEntry {
        id,
        kind: kind.to_string(),
        payload,
        attempts: 0,
        last_error: None,
        delivery: Delivery::Pending {
            next_attempt_ms: now_ms,
        },
    }
}

/// Changes entry `id` and flushes.
fn update(store: &Store, id: u64, change: impl FnOnce(&mut OutboxEntry)) -> Result<(), StoreError> {
    let tree = store.tree("outbox")?;
    let key = id.to_be_bytes();
    let Some(value) = tree.get(key).map_err(storage("read outbox"))? else {
        return Err(StoreError::NotFound {
            tenant: "outbox".into(),
            identity: id.to_string(),
        });
    };
    let mut entry: OutboxEntry = super::codec::decode("outbox entry", &value)?;
    change(&mut entry);
    tree.insert(key, super::codec::encode("outbox entry", &entry)?)
        .map_err(storage("write outbox"))?;
    store.sync("flush outbox")?;
    Ok(())
}

impl Outbox for Store {
    fn enqueue(
        &self,
        kind: &str,
        payload: serde_json::Value,
        now_ms: u64,
    ) -> Result<u64, StoreError> {
        let tree = self.tree("outbox")?;
        let id = self
            .trees()?
            .db
            .generate_id()
            .map_err(storage("outbox id"))?;
        let entry = new_entry(id, kind, payload, now_ms);
        tree.insert(
            id.to_be_bytes(),
            super::codec::encode("outbox entry", &entry)?,
        )
        .map_err(storage("write outbox"))?;
        self.sync("flush outbox")?;
        Ok(id)
    }

    fn due(&self, now_ms: u64, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        let mut out = Vec::new();
        for item in self.tree("outbox")?.iter() {
            let (_, value) = item.map_err(storage("read outbox"))?;
            let entry: OutboxEntry = super::codec::decode("outbox entry", &value)?;
            if matches!(entry.delivery, Delivery::Pending { next_attempt_ms } if next_attempt_ms <= now_ms)
            {
                out.push(entry);
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    fn sent(
        &self,
        id: u64,
        now_ms: u64,
        payload: Option<serde_json::Value>,
    ) -> Result<(), StoreError> {
        update(self, id, |e| {
            e.attempts += 1;
            e.delivery = Delivery::Sent { at_ms: now_ms };
            if let Some(p) = payload {
                e.payload = p;
            }
        })
    }

    fn failed(
        &self,
        id: u64,
        reason: &str,
        retry_at_ms: Option<u64>,
        now_ms: u64,
        payload: Option<serde_json::Value>,
    ) -> Result<(), StoreError> {
        update(self, id, |e| {
            e.attempts += 1;
            e.last_error = Some(reason.to_string());
            e.delivery = match retry_at_ms {
                Some(next_attempt_ms) => Delivery::Pending { next_attempt_ms },
                None => {
                    if let Some(p) = payload {
                        e.payload = p;
                    }
                    Delivery::Failed {
                        reason: reason.to_string(),
                        at_ms: Some(now_ms),
                    }
                }
            };
        })
    }

    fn outbox_tag(&self) -> Result<String, StoreError> {
        const KEY: &[u8] = b"outbox-tag";
        let read = |v: &[u8]| {
            String::from_utf8(v.to_vec()).map_err(|_| StoreError::Corrupt {
                what: "meta outbox-tag".into(),
                detail: "not UTF-8".into(),
            })
        };
        if let Some(v) = self
            .trees()?
            .meta
            .get(KEY)
            .map_err(storage("read outbox tag"))?
        {
            return read(&v);
        }
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).map_err(|e| StoreError::Storage {
            op: "draw outbox tag",
            source: std::io::Error::other(e.to_string()),
        })?;
        let tag: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        // Whoever writes first wins; the loser takes the winner's.
        match self
            .trees()?
            .meta
            .compare_and_swap(KEY, None as Option<&[u8]>, Some(tag.as_bytes()))
            .map_err(storage("write outbox tag"))?
        {
            Ok(()) => {
                self.sync("flush outbox tag")?;
                Ok(tag)
            }
            Err(e) => read(e.current.as_deref().unwrap_or_default()),
        }
    }

    fn prune(&self, now_ms: u64, keep_ms: u64) -> Result<usize, StoreError> {
        let tree = self.tree("outbox")?;
        let mut removed = 0;
        let mut changed = false;
        for item in tree.iter() {
            let (key, value) = item.map_err(storage("read outbox"))?;
            let mut entry: OutboxEntry = super::codec::decode("outbox entry", &value)?;
            let done_at = match &mut entry.delivery {
                Delivery::Pending { .. } => continue,
                Delivery::Sent { at_ms } => *at_ms,
                Delivery::Failed {
                    at_ms: Some(at), ..
                } => *at,
                Delivery::Failed { at_ms, .. } => {
                    *at_ms = Some(now_ms);
                    let stamped = super::codec::encode("outbox entry", &entry)?;
                    // Only if nothing changed it meanwhile (the compare-and-swap's error).
                    let swapped = tree
                        .compare_and_swap(&key, Some(&value), Some(stamped))
                        .map_err(storage("write outbox"))?;
                    changed |= swapped.is_ok();
                    continue;
                }
            };
            if done_at.saturating_add(keep_ms) > now_ms {
                continue;
            }
            let swapped = tree
                .compare_and_swap(&key, Some(&value), None as Option<&[u8]>)
                .map_err(storage("write outbox"))?;
            if swapped.is_ok() {
                removed += 1;
                changed = true;
            }
        }
        if changed {
            self.sync("flush outbox")?;
        }
        Ok(removed)
    }

    fn outbox(&self, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        self.tree("outbox")?
            .iter()
            .rev()
            .take(limit)
            .map(|item| {
                let (_, value) = item.map_err(storage("read outbox"))?;
                super::codec::decode("outbox entry", &value)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_wait_until_due_retry_and_end_sent_or_failed_across_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = {
            let store = Store::open(dir.path()).unwrap();
            let a = store
                .enqueue(
                    "welcome_letter",
                    serde_json::json!({"password": "secret"}),
                    1000,
                )
                .unwrap();
            let b = store
                .enqueue("welcome_letter", serde_json::json!({"to": "b"}), 1000)
                .unwrap();
            assert_eq!(store.due(999, 10).unwrap().len(), 0);
            assert_eq!(store.due(1000, 10).unwrap().len(), 2);
            // a is sent, its secret erased; b fails for now and is due again later.
            store
                .sent(a, 1100, Some(serde_json::json!({"password": null})))
                .unwrap();
            store
                .failed(b, "450 mailbox busy", Some(5000), 1200, None)
                .unwrap();
            (a, b)
        };
        let store = Store::open(dir.path()).unwrap();
        assert!(store.due(4999, 10).unwrap().is_empty());
        let due = store.due(5000, 10).unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!((due[0].id, due[0].attempts), (b, 1));
        store
            .failed(
                b,
                "550 no such user",
                None,
                5100,
                Some(serde_json::json!({"erased": true})),
            )
            .unwrap();
        assert!(store.due(u64::MAX, 10).unwrap().is_empty());
        let all = store.outbox(10).unwrap();
        let sent = all.iter().find(|e| e.id == a).unwrap();
        assert_eq!(sent.payload["password"], serde_json::Value::Null);
        assert_eq!(sent.delivery, Delivery::Sent { at_ms: 1100 });
        let failed = all.iter().find(|e| e.id == b).unwrap();
        assert!(
            matches!(&failed.delivery, Delivery::Failed { reason, at_ms: Some(5100) } if reason.starts_with("550"))
        );
        assert_eq!(
            failed.payload,
            serde_json::json!({"erased": true}),
            "given up: what to keep"
        );
        assert!(matches!(
            store.sent(999_999, 1, None),
            Err(StoreError::NotFound { .. })
        ));
    }

    /// Done entries go `keep_ms` after they were done — sent or given up —, on explicit
    /// timestamps; pending ones stay however old; an old given-up entry without a time is
    /// stamped at the first prune and goes `keep_ms` later.
    #[test]
    fn prune_removes_what_was_done_long_enough_ago_and_nothing_pending() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let day = 24 * 3600 * 1000;
        let keep = 30 * day;
        let enqueue = |to: &str| {
            store
                .enqueue("welcome_letter", serde_json::json!({ "to": to }), 0)
                .unwrap()
        };
        let (sent_early, sent_late, failed, pending, legacy) = (
            enqueue("a"),
            enqueue("b"),
            enqueue("c"),
            enqueue("d"),
            enqueue("e"),
        );
        store.sent(sent_early, day, None).unwrap();
        store.sent(sent_late, 2 * day, None).unwrap();
        store
            .failed(failed, "550 no such user", None, day, None)
            .unwrap();
        store
            .failed(pending, "451 later", Some(40 * day), day, None)
            .unwrap();
        // Given up by a version that did not record when.
        let tree = store.tree("outbox").unwrap();
        let mut entry: OutboxEntry =
            super::super::codec::decode("e", &tree.get(legacy.to_be_bytes()).unwrap().unwrap())
                .unwrap();
        entry.delivery = Delivery::Failed {
            reason: "550".into(),
            at_ms: None,
        };
        tree.insert(
            legacy.to_be_bytes(),
            super::super::codec::encode("e", &entry).unwrap(),
        )
        .unwrap();
        let ids = |store: &Store| -> Vec<u64> {
            let mut ids: Vec<u64> = store.outbox(10).unwrap().iter().map(|e| e.id).collect();
            ids.sort();
            ids
        };

        // A moment before the first is 30 days old: nothing goes, the legacy one is stamped.
        assert_eq!(store.prune(31 * day - 1, keep).unwrap(), 0);
        assert_eq!(ids(&store).len(), 5);
        let stamped = store.outbox(10).unwrap();
        let stamped = stamped.iter().find(|e| e.id == legacy).unwrap();
        assert_eq!(
            stamped.delivery,
            Delivery::Failed {
                reason: "550".into(),
                at_ms: Some(31 * day - 1)
            }
        );
        // 30 days after: the letter sent and the one given up on day 1 go.
        assert_eq!(store.prune(31 * day, keep).unwrap(), 2);
        assert_eq!(ids(&store), vec![sent_late, pending, legacy]);
        assert_eq!(store.prune(32 * day, keep).unwrap(), 1);
        assert_eq!(ids(&store), vec![pending, legacy]);
        // Much later: the pending one stays whatever its age; the legacy one goes.
        assert_eq!(store.prune(100 * day, keep).unwrap(), 1);
        assert_eq!(ids(&store), vec![pending]);
        drop(tree);
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(ids(&store), vec![pending]);
    }

    #[test]
    fn the_outbox_tag_is_drawn_once_and_kept() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let tag = {
            let store = Store::open(a.path()).unwrap();
            let tag = store.outbox_tag().unwrap();
            assert_eq!(tag.len(), 16);
            assert!(tag.bytes().all(|c| c.is_ascii_hexdigit()));
            assert_eq!(store.outbox_tag().unwrap(), tag);
            tag
        };
        assert_eq!(Store::open(a.path()).unwrap().outbox_tag().unwrap(), tag);
        assert_ne!(Store::open(b.path()).unwrap().outbox_tag().unwrap(), tag);
    }
}
