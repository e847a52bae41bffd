//! The voicemail index behind the `VoicemailIndex` trait: which messages each box holds (a
//! staff member's or a department's), who left them, when, how long, where the recording is,
//! and whether the owner heard it. The recordings themselves are files; the index says where.
//! Every change is flushed before it returns.
//!
//! | tree        | key                              | value               |
//! |-------------|----------------------------------|---------------------|
//! | `voicemail` | `tenant` NUL `id` (8 bytes, BE)  | JSON [`Voicemail`]  |

use super::{storage, Store, StoreError};
use serde::{Deserialize, Serialize};

/// One voicemail message.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Voicemail {
    /// Given by the store when the message is added.
    #[serde(default)]
    pub id: u64,
    pub tenant: String,
    /// The box: `staff:<login>` or `department:<id>`.
    pub mailbox: String,
    /// Who called: a login, or the number an outside caller presented.
    pub caller: String,
    pub received_ms: u64,
    pub duration_ms: u64,
    /// The recording, relative to the server's data directory.
    pub file: String,
    #[serde(default)]
    pub heard: bool,
}

/// Where voicemail messages are indexed.
pub trait VoicemailIndex {
    /// Adds a message; returns its id.
    fn add_voicemail(&self, message: Voicemail) -> Result<u64, StoreError>;
    /// The messages of `tenant`'s `mailbox`, newest first.
    fn voicemails(&self, tenant: &str, mailbox: &str) -> Result<Vec<Voicemail>, StoreError>;
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

impl VoicemailIndex for Store {
    fn add_voicemail(&self, mut message: Voicemail) -> Result<u64, StoreError> {
        let tree = self.tree("voicemail")?;
        message.id = self.db.generate_id().map_err(storage("voicemail id"))?;
        let value = super::codec::encode("voicemail", &message)?;
        tree.insert(key(&message.tenant, message.id)?, value)
            .map_err(storage("write voicemail"))?;
        tree.flush().map_err(storage("flush voicemail"))?;
        Ok(message.id)
    }

    fn voicemails(&self, tenant: &str, mailbox: &str) -> Result<Vec<Voicemail>, StoreError> {
        let tree = self.tree("voicemail")?;
        let mut out = Vec::new();
        for item in tree.scan_prefix(super::codec::staff_prefix(tenant)?).rev() {
            let (_, value) = item.map_err(storage("read voicemail"))?;
            let message: Voicemail = super::codec::decode("voicemail", &value)?;
            if message.mailbox == mailbox {
                out.push(message);
            }
        }
        out.sort_by(|a, b| b.received_ms.cmp(&a.received_ms).then(b.id.cmp(&a.id)));
        Ok(out)
    }

    fn mark_heard(&self, tenant: &str, id: u64) -> Result<bool, StoreError> {
        let tree = self.tree("voicemail")?;
        let k = key(tenant, id)?;
        let Some(value) = tree.get(&k).map_err(storage("read voicemail"))? else {
            return Ok(false);
        };
        let mut message: Voicemail = super::codec::decode("voicemail", &value)?;
        message.heard = true;
        tree.insert(k, super::codec::encode("voicemail", &message)?)
            .map_err(storage("write voicemail"))?;
        tree.flush().map_err(storage("flush voicemail"))?;
        Ok(true)
    }

    fn delete_voicemail(&self, tenant: &str, id: u64) -> Result<Option<Voicemail>, StoreError> {
        let tree = self.tree("voicemail")?;
        let removed = tree
            .remove(key(tenant, id)?)
            .map_err(storage("delete voicemail"))?;
        tree.flush().map_err(storage("flush voicemail"))?;
        removed
            .map(|v| super::codec::decode("voicemail", &v))
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
            received_ms: at,
            duration_ms: 4200,
            file: format!("voicemail/{at}.wav"),
            ..Voicemail::default()
        }
    }

    #[test]
    fn boxes_list_newest_first_and_heard_and_deleted_messages_persist() {
        let dir = tempfile::tempdir().unwrap();
        let (first, second) = {
            let store = Store::open(dir.path()).unwrap();
            let first = store.add_voicemail(message("staff:anna", 100)).unwrap();
            let second = store.add_voicemail(message("staff:anna", 200)).unwrap();
            store
                .add_voicemail(message("department:sales", 150))
                .unwrap();
            assert!(store.mark_heard("acme", first).unwrap());
            assert!(
                !store.mark_heard("other", first).unwrap(),
                "tenants are apart"
            );
            (first, second)
        };
        let store = Store::open(dir.path()).unwrap();
        let anna = store.voicemails("acme", "staff:anna").unwrap();
        assert_eq!(
            anna.iter().map(|m| m.id).collect::<Vec<_>>(),
            [second, first]
        );
        assert!(anna[1].heard && !anna[0].heard);
        assert_eq!(
            store.voicemails("acme", "department:sales").unwrap().len(),
            1
        );
        assert!(store.voicemails("other", "staff:anna").unwrap().is_empty());
        let removed = store.delete_voicemail("acme", first).unwrap().unwrap();
        assert_eq!(removed.file, "voicemail/100.wav");
        assert_eq!(store.delete_voicemail("acme", first).unwrap(), None);
        assert_eq!(store.voicemails("acme", "staff:anna").unwrap().len(), 1);
    }
}
