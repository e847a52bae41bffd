//! `Random`: the engine's source of randomness — tags, branches, Call-IDs, nonce salt — as
//! a deterministic generator seeded by the driver (from the OS at start; a fixed seed in
//! tests, so a whole call replays identically). SHA-256 in counter mode over a 32-byte seed:
//! unpredictable to anyone who does not know the seed, which never leaves the process.

use sha2::{Digest, Sha256};

/// A seeded stream of random bytes.
#[derive(Clone)]
pub struct Random {
    seed: [u8; 32],
    counter: u64,
    block: [u8; 32],
    used: usize,
}

impl Random {
    pub fn new(seed: [u8; 32]) -> Random {
        Random {
            seed,
            counter: 0,
            block: [0; 32],
            used: 32,
        }
    }

    /// A generator for another party (a shard), derived from this one's stream.
    pub fn fork(&mut self) -> Random {
        let mut seed = [0u8; 32];
        self.fill(&mut seed);
        Random::new(seed)
    }

    /// Fills `out` with the next bytes of the stream.
    pub fn fill(&mut self, out: &mut [u8]) {
        for b in out {
            if self.used == self.block.len() {
                self.counter += 1;
                self.block = Sha256::new()
                    .chain_update(self.seed)
                    .chain_update(self.counter.to_be_bytes())
                    .finalize()
                    .into();
                self.used = 0;
            }
            *b = self.block[self.used];
            self.used += 1;
        }
    }

    /// `N` random bytes.
    pub fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        self.fill(&mut out);
        out
    }

    /// `bytes` random bytes as lower-case hex.
    pub fn token(&mut self, bytes: usize) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut raw = vec![0u8; bytes];
        self.fill(&mut raw);
        let mut s = String::with_capacity(bytes * 2);
        for b in raw {
            s.push(HEX[usize::from(b >> 4)] as char);
            s.push(HEX[usize::from(b & 15)] as char);
        }
        s
    }

    /// A tag for a From or To header.
    pub fn tag(&mut self) -> String {
        self.token(6)
    }

    /// A fresh branch for a request we send (RFC 3261 magic cookie first).
    pub fn branch(&mut self) -> String {
        format!("z9hG4bK{}", self.token(8))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_stream_and_forks_differ() {
        let mut a = Random::new([1; 32]);
        let mut b = Random::new([1; 32]);
        assert_eq!(a.token(20), b.token(20));
        assert_ne!(a.token(8), Random::new([2; 32]).token(8));
        let mut f = a.fork();
        assert_ne!(f.token(8), a.token(8));
        assert!(a.branch().starts_with("z9hG4bK"));
        assert_eq!(a.tag().len(), 12);
    }
}
