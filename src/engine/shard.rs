//! Which shard of the engine a message belongs to: every message of a call shares its Call-ID
//! (the caller's dialog, the CANCEL, the ACK), so the Call-ID's hash picks the shard; the
//! Call-IDs the PBX makes for its own legs are drawn until they hash to the shard that made
//! them, so the answers come back to the shard that holds the call.

use super::random::Random;

/// One shard's place among `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// The only shard (tests, a one-core server).
    pub const ONE: Shard = Shard { index: 0, count: 1 };

    /// Whether this shard holds what `call_id` names.
    pub fn owns(self, call_id: &str) -> bool {
        of(call_id, self.count) == self.index
    }

    /// A fresh Call-ID that maps to this shard.
    pub fn call_id(self, random: &mut Random) -> String {
        loop {
            let id = format!("{}@pbx", random.token(12));
            if self.owns(&id) {
                return id;
            }
        }
    }
}

/// The shard of `call_id` among `count`.
pub fn of(call_id: &str, count: usize) -> usize {
    (hash(call_id.trim()) % count.max(1) as u64) as usize
}

/// FNV-1a of `text`: stable across runs and machines.
pub fn hash(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_ids_we_make_come_back_to_their_shard() {
        let mut random = Random::new([3; 32]);
        for index in 0..4 {
            let shard = Shard { index, count: 4 };
            for _ in 0..20 {
                assert_eq!(of(&shard.call_id(&mut random), 4), index);
            }
        }
        assert_eq!(of("anything", 1), 0);
        // Spread: 1,000 caller Call-IDs land on every one of 4 shards.
        let mut seen = [0; 4];
        for i in 0..1000 {
            seen[of(&format!("{i}@phone"), 4)] += 1;
        }
        assert!(seen.iter().all(|n| *n > 150), "{seen:?}");
    }
}
