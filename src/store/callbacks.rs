//! The callback queue behind the `CallbackQueue` trait: every callback callers ordered that
//! has not been completed or given up (`routing::queue::Callback`: its department, the number,
//! its place, its attempts), so a callback survives a restart and keeps its place. The queue's
//! owner (`serve::callbacks`) writes each entry as it changes; every write is flushed before
//! it returns.
//!
//! | tree        | key                              | value                |
//! |-------------|----------------------------------|----------------------|
//! | `callbacks` | `tenant` NUL `id` (8 bytes, BE)  | JSON [`Callback`]    |

use super::{storage, Store, StoreError};
pub use crate::routing::queue::Callback;

/// Where the callback queue is kept.
pub trait CallbackQueue {
    /// Writes `callback` (new or changed).
    fn put_callback(&self, callback: &Callback) -> Result<(), StoreError>;
    /// Removes callback `id` of `tenant`; whether it was there.
    fn remove_callback(&self, tenant: &str, id: u64) -> Result<bool, StoreError>;
    /// Every callback of every tenant (`None`) or of one, in queue order: when the caller
    /// first called.
    fn callbacks(&self, tenant: Option<&str>) -> Result<Vec<Callback>, StoreError>;
}

fn key(tenant: &str, id: u64) -> Result<Vec<u8>, StoreError> {
    let mut key = super::codec::staff_prefix(tenant)?;
    key.extend_from_slice(&id.to_be_bytes());
    Ok(key)
}

impl CallbackQueue for Store {
    fn put_callback(&self, callback: &Callback) -> Result<(), StoreError> {
        let tree = self.tree("callbacks")?;
        let value = super::codec::encode("callback", callback)?;
        tree.insert(key(&callback.tenant, callback.id)?, value)
            .map_err(storage("write callback"))?;
        self.sync("flush callbacks")?;
        Ok(())
    }

    fn remove_callback(&self, tenant: &str, id: u64) -> Result<bool, StoreError> {
        let tree = self.tree("callbacks")?;
        let removed = tree
            .remove(key(tenant, id)?)
            .map_err(storage("remove callback"))?;
        self.sync("flush callbacks")?;
        Ok(removed.is_some())
    }

    fn callbacks(&self, tenant: Option<&str>) -> Result<Vec<Callback>, StoreError> {
        let tree = self.tree("callbacks")?;
        let prefix = match tenant {
            Some(t) => super::codec::staff_prefix(t)?,
            None => Vec::new(),
        };
        let mut out = Vec::new();
        for item in tree.scan_prefix(&prefix) {
            let (_, value) = item.map_err(storage("read callbacks"))?;
            out.push(super::codec::decode::<Callback>("callback", &value)?);
        }
        out.sort_by_key(|c| (c.first_called_ms, c.id));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn callback(tenant: &str, id: u64, first_called_ms: u64) -> Callback {
        Callback {
            id,
            tenant: tenant.into(),
            department: "sales".into(),
            number: "+79160000001".into(),
            dialled: None,
            first_called_ms,
            ordered_ms: first_called_ms,
            attempts: 0,
            next_ms: 0,
            calling: false,
            last_failure: None,
        }
    }

    #[test]
    fn callbacks_survive_reopening_in_queue_order_per_tenant() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            store.put_callback(&callback("acme", 7, 300)).unwrap();
            store.put_callback(&callback("acme", 9, 100)).unwrap();
            store.put_callback(&callback("beta", 8, 200)).unwrap();
            let mut changed = callback("acme", 7, 50);
            changed.attempts = 2;
            store.put_callback(&changed).unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        let all: Vec<u64> = store
            .callbacks(None)
            .unwrap()
            .iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(all, [7, 9, 8]);
        let acme = store.callbacks(Some("acme")).unwrap();
        assert_eq!(acme.iter().map(|c| c.id).collect::<Vec<_>>(), [7, 9]);
        assert_eq!(acme[0].attempts, 2);
        assert!(
            !store.remove_callback("beta", 7).unwrap(),
            "another tenant's id"
        );
        assert!(store.remove_callback("acme", 7).unwrap());
        assert_eq!(store.callbacks(Some("acme")).unwrap().len(), 1);
    }
}
