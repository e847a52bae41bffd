//! The voicemail index behind the `VoicemailIndex` trait: which messages each box holds (a
//! staff member's or a department's), who left them, on which company number, when, how long,
//! where the recording is, and whether the owner heard it. The recordings themselves are files
//! (`serve::voicemail` writes and removes them); the index says where. Every change is flushed
//! before it returns.
//!
//! | tree        | key                              | value               |
//! |-------------|----------------------------------|---------------------|
//! | `voicemail` | `tenant` NUL `id` (8 bytes, BE)  | JSON [`Voicemail`]  |
//!
//! Ids are unique in the whole store, and every key starts with its tenant: a message is only
//! ever found, changed or deleted through its own tenant.

use super::{storage, Store, StoreError};
use serde::{Deserialize, Serialize};

/// One voicemail message.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Voicemail {
    /// Given by the store ([`VoicemailIndex::new_voicemail_id`] or when the message is added).
    #[serde(default)]
    pub id: u64,
    pub tenant: String,
    /// The box: `staff:<login>` or `department:<id>`.
    pub mailbox: String,
    /// Who called: a login, or the number an outside caller presented.
    pub caller: String,
    /// The company number the caller dialled, when the call came in on one.
    #[serde(default)]
    pub number: Option<String>,
    pub received_ms: u64,
    pub duration_ms: u64,
    /// The recording, relative to the server's data directory.
    pub file: String,
    #[serde(default)]
    pub heard: bool,
}

/// Where voicemail messages are indexed.
pub trait VoicemailIndex {
    /// A new message id, unique in the store and never 0: to name a recording before its
    /// message is added.
    fn new_voicemail_id(&self) -> Result<u64, StoreError>;
    /// Adds a message under `message.id` (from [`VoicemailIndex::new_voicemail_id`]), or under
    /// a new id when it is 0; returns the id.
    fn add_voicemail(&self, message: Voicemail) -> Result<u64, StoreError>;
    /// The messages of `tenant` — of one `mailbox` when given — newest first.
    fn voicemails(&self, tenant: &str, mailbox: Option<&str>)
        -> Result<Vec<Voicemail>, StoreError>;
    /// Message `id` of `tenant`; `None` when `tenant` has no such message.
    fn voicemail(&self, tenant: &str, id: u64) -> Result<Option<Voicemail>, StoreError>;
    /// Marks a message heard; `false` when there is no such message.
    fn mark_heard(&self, tenant: &str, id: u64) -> Result<bool, StoreError>;
    /// Deletes a message from the index; the removed entry (to delete its file), if any.
    fn delete_voicemail(&self, tenant: &str, id: u64) -> Result<Option<Voicemail>, StoreError>;
}

fn key(tenant: &str, id: u64) -> Result<Vec<u8>, StoreError> {
    let mut key = super::codec::staff_prefix(tenant)?;
    key.extend_from_slice(&id.to_be_bytes());
    Ok(key)
}

/// How a message is named in errors: `voicemail acme/42`.
fn what(tenant: &str, id: u64) -> String {
    format!("voicemail {tenant}/{id}")
}

impl VoicemailIndex for Store {
    fn new_voicemail_id(&self) -> Result<u64, StoreError> {
        // sled's ids start at 0, which `add_voicemail` reads as "none yet": never hand it out.
        loop {
            let id = self
                .trees()?
                .db
                .generate_id()
                .map_err(storage("voicemail id"))?;
            if id != 0 {
                return Ok(id);
            }
        }
    }

    fn add_voicemail(&self, mut message: Voicemail) -> Result<u64, StoreError> {
        let tree = self.tree("voicemail")?;
        if message.id == 0 {
            message.id = self.new_voicemail_id()?;
        }
        let value = super::codec::encode("voicemail", &message)?;
        tree.insert(key(&message.tenant, message.id)?, value)
            .map_err(storage("write voicemail"))?;
        self.sync("flush voicemail")?;
        Ok(message.id)
    }

    fn voicemails(
        &self,
        tenant: &str,
        mailbox: Option<&str>,
    ) -> Result<Vec<Voicemail>, StoreError> {
        let tree = self.tree("voicemail")?;
        let prefix = super::codec::staff_prefix(tenant)?;
        let mut out = Vec::new();
        for item in tree.scan_prefix(&prefix) {
            let (k, value) = item.map_err(storage("read voicemail"))?;
            let id = k
                .get(prefix.len()..)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map_or(0, u64::from_be_bytes);
            let message: Voicemail = super::codec::decode(&what(tenant, id), &value)?;
            if mailbox.is_none_or(|m| message.mailbox == m) {
                out.push(message);
            }
        }
        out.sort_by(|a, b| b.received_ms.cmp(&a.received_ms).then(b.id.cmp(&a.id)));
        Ok(out)
    }

    fn voicemail(&self, tenant: &str, id: u64) -> Result<Option<Voicemail>, StoreError> {
        let tree = self.tree("voicemail")?;
        tree.get(key(tenant, id)?)
            .map_err(storage("read voicemail"))?
            .map(|v| super::codec::decode(&what(tenant, id), &v))
            .transpose()
    }

    fn mark_heard(&self, tenant: &str, id: u64) -> Result<bool, StoreError> {
        let tree = self.tree("voicemail")?;
        // Read, change and write as one step: a delete in between is not undone.
        let mut failure = None;
        let before = tree
            .fetch_and_update(key(tenant, id)?, |old| {
                failure = None;
                let old = old?;
                let changed = super::codec::decode::<Voicemail>(&what(tenant, id), old).and_then(
                    |mut message| {
                        message.heard = true;
                        super::codec::encode("voicemail", &message)
                    },
                );
                match changed {
                    Ok(new) => Some(new),
                    Err(e) => {
                        failure = Some(e);
                        Some(old.to_vec())
                    }
                }
            })
            .map_err(storage("write voicemail"))?;
        if let Some(e) = failure {
            return Err(e);
        }
        self.sync("flush voicemail")?;
        Ok(before.is_some())
    }

    fn delete_voicemail(&self, tenant: &str, id: u64) -> Result<Option<Voicemail>, StoreError> {
        let tree = self.tree("voicemail")?;
        let removed = tree
            .remove(key(tenant, id)?)
            .map_err(storage("delete voicemail"))?;
        self.sync("flush voicemail")?;
        removed
            .map(|v| super::codec::decode(&what(tenant, id), &v))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(mailbox: &str, at: u64) -> Voicemail {
        Voicemail {
            tenant: "acme".into(),
            mailbox: mailbox.into(),
            caller: "+79161112233".into(),
            number: Some("+74950000000".into()),
            received_ms: at,
            duration_ms: 4200,
            file: format!("voicemail/{at}.wav"),
            ..Voicemail::default()
        }
    }

    fn ids(messages: &[Voicemail]) -> Vec<u64> {
        messages.iter().map(|m| m.id).collect()
    }

    #[test]
    fn boxes_list_newest_first_and_heard_and_deleted_messages_persist() {
        let dir = tempfile::tempdir().unwrap();
        let (first, second, sales) = {
            let store = Store::open(dir.path()).unwrap();
            let first = store.add_voicemail(message("staff:anna", 100)).unwrap();
            let second = store.add_voicemail(message("staff:anna", 200)).unwrap();
            let sales = store
                .add_voicemail(message("department:sales", 150))
                .unwrap();
            assert!(store.mark_heard("acme", first).unwrap());
            assert!(
                !store.mark_heard("other", first).unwrap(),
                "tenants are apart"
            );
            (first, second, sales)
        };
        let store = Store::open(dir.path()).unwrap();
        let anna = store.voicemails("acme", Some("staff:anna")).unwrap();
        assert_eq!(ids(&anna), [second, first]);
        assert!(anna[1].heard && !anna[0].heard);
        assert_eq!(anna[0].number.as_deref(), Some("+74950000000"));
        assert_eq!(
            ids(&store.voicemails("acme", None).unwrap()),
            [second, sales, first]
        );
        assert_eq!(
            store
                .voicemails("acme", Some("department:sales"))
                .unwrap()
                .len(),
            1
        );
        assert!(store.voicemails("other", None).unwrap().is_empty());
        assert_eq!(
            store.voicemail("acme", sales).unwrap().unwrap().received_ms,
            150
        );
        let removed = store.delete_voicemail("acme", first).unwrap().unwrap();
        assert_eq!(removed.file, "voicemail/100.wav");
        assert_eq!(store.delete_voicemail("acme", first).unwrap(), None);
        assert!(!store.mark_heard("acme", first).unwrap(), "not resurrected");
        assert_eq!(store.voicemail("acme", first).unwrap(), None);
        assert_eq!(
            store.voicemails("acme", Some("staff:anna")).unwrap().len(),
            1
        );
    }

    #[test]
    fn a_message_is_found_only_through_its_own_tenant() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let id = store.add_voicemail(message("staff:anna", 1)).unwrap();
        // A tenant whose id is a prefix of another's sees nothing of it either way.
        let other = store
            .add_voicemail(Voicemail {
                tenant: "acme2".into(),
                ..message("staff:anna", 2)
            })
            .unwrap();
        for tenant in ["other", "acm", "acme2", ""] {
            assert_eq!(store.voicemail(tenant, id).unwrap(), None, "{tenant}");
            assert!(!store.mark_heard(tenant, id).unwrap(), "{tenant}");
            assert_eq!(
                store.delete_voicemail(tenant, id).unwrap(),
                None,
                "{tenant}"
            );
        }
        assert_eq!(ids(&store.voicemails("acme", None).unwrap()), [id]);
        assert_eq!(ids(&store.voicemails("acme2", None).unwrap()), [other]);
        assert!(!store.voicemail("acme", id).unwrap().unwrap().heard);
        assert!(matches!(
            store.voicemails("a\0b", None),
            Err(StoreError::InvalidKey { .. })
        ));
        assert!(matches!(
            store.voicemail("a\0b", id),
            Err(StoreError::InvalidKey { .. })
        ));
    }

    #[test]
    fn an_id_taken_first_is_the_messages_id_and_ids_are_unique() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let taken = store.new_voicemail_id().unwrap();
        assert_ne!(taken, 0, "0 means no id yet");
        let added = store.add_voicemail(message("staff:anna", 5)).unwrap();
        assert_ne!(taken, added);
        let kept = store
            .add_voicemail(Voicemail {
                id: taken,
                ..message("staff:anna", 6)
            })
            .unwrap();
        assert_eq!(kept, taken);
        assert_eq!(
            store.voicemail("acme", taken).unwrap().unwrap().received_ms,
            6
        );
    }

    #[test]
    fn entries_written_before_the_number_field_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let old = br#"{"id":7,"tenant":"acme","mailbox":"staff:anna","caller":"ivan","received_ms":1,"duration_ms":2,"file":"voicemail/acme/7.wav"}"#;
        store
            .tree("voicemail")
            .unwrap()
            .insert(key("acme", 7).unwrap(), &old[..])
            .unwrap();
        let m = store.voicemail("acme", 7).unwrap().unwrap();
        assert_eq!(
            (m.number, m.heard, m.caller.as_str()),
            (None, false, "ivan")
        );
        assert!(store.mark_heard("acme", 7).unwrap());
        assert!(store.voicemail("acme", 7).unwrap().unwrap().heard);
        // A corrupt entry is an error naming it, not a panic, and is left as it was.
        store
            .tree("voicemail")
            .unwrap()
            .insert(key("acme", 8).unwrap(), &b"{not json"[..])
            .unwrap();
        let e = store.mark_heard("acme", 8).unwrap_err();
        assert!(e.to_string().contains("voicemail acme/8"), "{e}");
        assert!(store.voicemails("acme", None).is_err());
    }
}
