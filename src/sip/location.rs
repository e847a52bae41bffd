//! `MemoryLocation`: the bindings of every address of record, in memory, striped so the
//! engine's shards register and look up phones without waiting for each other. The server
//! persists what changes (the engine reports each AOR it touched) and seeds this at start,
//! so phones stay reachable across a restart.

use super::registrar::{Aor, Binding, Location};
use crate::striped::Striped;

/// Bindings by AOR, in memory.
#[derive(Default)]
pub struct MemoryLocation {
    bindings: Striped<Aor, Vec<Binding>>,
}

impl MemoryLocation {
    /// A location holding `stored` (bindings read back from the store), the expired dropped.
    pub fn with(stored: impl IntoIterator<Item = (Aor, Vec<Binding>)>, now_ms: u64) -> Self {
        let location = MemoryLocation::default();
        for (aor, mut list) in stored {
            list.retain(|b| b.expires_at_ms > now_ms);
            if !list.is_empty() {
                location.bindings.update(aor, |v| *v = Some(list));
            }
        }
        location
    }

    /// Live bindings in all.
    pub fn len(&self) -> usize {
        let mut n = 0;
        self.bindings.for_each(|_, list| n += list.len());
        n
    }

    pub fn is_empty(&self) -> bool {
        Location::is_empty(self)
    }
}

impl Location for MemoryLocation {
    fn lookup(&self, aor: &Aor, now_ms: u64) -> Vec<Binding> {
        self.bindings.read(aor, |list| {
            list.map(|l| {
                l.iter()
                    .filter(|b| b.expires_at_ms > now_ms)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
        })
    }

    fn change(&self, aor: &Aor, change: &mut dyn FnMut(&mut Vec<Binding>)) {
        self.bindings.update(aor.clone(), |entry| {
            let mut list = entry.take().unwrap_or_default();
            change(&mut list);
            *entry = (!list.is_empty()).then_some(list);
        });
    }

    fn expire(&self, now_ms: u64) -> Vec<Aor> {
        let mut changed = Vec::new();
        self.bindings.retain(|aor, list| {
            let before = list.len();
            list.retain(|b| b.expires_at_ms > now_ms);
            if list.len() != before {
                changed.push(aor.clone());
            }
            !list.is_empty()
        });
        changed
    }

    fn is_empty(&self) -> bool {
        self.bindings.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::registrar::Transport;

    fn binding(contact: &str, expires_at_ms: u64) -> Binding {
        Binding {
            contact: contact.into(),
            expires_at_ms,
            call_id: "c".into(),
            cseq: 1,
            source: "127.0.0.1:5062".parse().unwrap(),
            transport: Transport::Udp,
        }
    }

    #[test]
    fn seeded_bindings_come_back_without_the_expired() {
        let ivan = Aor::new("acme", "ivan");
        let maria = Aor::new("acme", "maria");
        let location = MemoryLocation::with(
            [
                (
                    ivan.clone(),
                    vec![binding("sip:a", 500), binding("sip:b", 2000)],
                ),
                (maria.clone(), vec![binding("sip:c", 500)]),
            ],
            1000,
        );
        assert_eq!(location.lookup(&ivan, 1000).len(), 1);
        assert!(location.lookup(&maria, 1000).is_empty());
        assert_eq!(location.len(), 1);
        location.change(&ivan, &mut |list| list.clear());
        assert!(location.is_empty());
    }
}
