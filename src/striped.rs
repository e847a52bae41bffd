//! `Striped`: a map shared by the engine's shards, split into independently locked stripes so
//! that two shards touching different keys never wait for each other. Each lock is held only
//! for the closure given — a lookup or a small update — never across I/O.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Mutex, MutexGuard};

/// Stripes per map: enough that a few shards rarely meet on one.
const STRIPES: usize = 16;

/// A concurrent map of independently locked stripes.
pub struct Striped<K, V> {
    stripes: Vec<Mutex<HashMap<K, V>>>,
}

impl<K: Hash + Eq, V> Default for Striped<K, V> {
    fn default() -> Self {
        Striped {
            stripes: (0..STRIPES).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }
}

impl<K: Hash + Eq, V> Striped<K, V> {
    fn stripe<Q: Hash + ?Sized>(&self, key: &Q) -> MutexGuard<'_, HashMap<K, V>> {
        let mut h = DefaultHasher::new();
        key.hash(&mut h);
        let i = (h.finish() as usize) % self.stripes.len();
        self.stripes[i].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the entry of `key` (`None` when absent); whatever `f` leaves is stored
    /// (`None` removes it).
    pub fn update<R>(&self, key: K, f: impl FnOnce(&mut Option<V>) -> R) -> R {
        let mut stripe = self.stripe(&key);
        let mut value = stripe.remove(&key);
        let r = f(&mut value);
        if let Some(v) = value {
            stripe.insert(key, v);
        }
        r
    }

    /// Reads the value of `key` with `f`.
    pub fn read<Q, R>(&self, key: &Q, f: impl FnOnce(Option<&V>) -> R) -> R
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let stripe = self.stripe(key);
        f(stripe.get(key))
    }

    /// Keeps only the entries for which `keep` is true; returns the keys removed.
    pub fn retain(&self, mut keep: impl FnMut(&K, &mut V) -> bool) -> Vec<K>
    where
        K: Clone,
    {
        let mut removed = Vec::new();
        for stripe in &self.stripes {
            let mut map = stripe.lock().unwrap_or_else(|e| e.into_inner());
            map.retain(|k, v| {
                let kept = keep(k, v);
                if !kept {
                    removed.push(k.clone());
                }
                kept
            });
        }
        removed
    }

    /// Entries in all stripes.
    pub fn len(&self) -> usize {
        self.stripes
            .iter()
            .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).len())
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Calls `f` with every entry (stripe by stripe).
    pub fn for_each(&self, mut f: impl FnMut(&K, &V)) {
        for stripe in &self.stripes {
            let map = stripe.lock().unwrap_or_else(|e| e.into_inner());
            for (k, v) in map.iter() {
                f(k, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn updates_from_many_threads_are_not_lost() {
        let map: Arc<Striped<u32, u64>> = Arc::default();
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let map = map.clone();
                std::thread::spawn(move || {
                    for i in 0..1000u32 {
                        map.update(i % 37, |v| *v = Some(v.unwrap_or(0) + 1));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let mut total = 0;
        map.for_each(|_, v| total += v);
        assert_eq!(total, 4000);
        assert_eq!(map.len(), 37);
        assert_eq!(map.read(&3, |v| v.copied()), Some(4 * 27));
        let removed = map.retain(|k, _| *k != 5);
        assert_eq!(removed, [5]);
        map.update(6, |v| *v = None);
        assert_eq!(map.len(), 35);
    }
}
