//! `Limiter`: how many requests each source address may send, counted before any work is done
//! on them — the driver asks it for every datagram before parsing. A token bucket per source:
//! `rate` requests a second, bursts up to two seconds' worth. A source over its rate has its
//! datagrams dropped unread (silence, like a ban: no work, nothing reflected at a forged
//! address) until its bucket refills; other sources are not affected. The config's trusted
//! networks and the trunks' addresses are exempt (an office behind one NAT address belongs in
//! `trusted`).
//!
//! Pure: the time comes in as milliseconds. The buckets are striped (shards and socket tasks
//! rarely wait for each other) and bounded: a stripe that fills drops its idle buckets (full
//! ones carry no information) and, if that is not enough, its oldest — so a flood of forged
//! source addresses costs memory once, not without end.

use crate::config::model::Network;
use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::sync::{Mutex, RwLock};

const STRIPES: usize = 16;
/// Sources remembered per stripe.
const PER_STRIPE: usize = 4096;
/// A source over its rate is logged at most this often.
const LOG_EVERY_MS: u64 = 60_000;

/// The rules, from the running config.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rules {
    /// Requests a second one source may send; 0: no limit.
    pub rate: u32,
    pub trusted: Vec<Network>,
    /// The trunks' addresses.
    pub trunks: Vec<IpAddr>,
}

/// What to do with a datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Take,
    Drop,
    /// Drop it, and say so in the log: `dropped` datagrams of this source were dropped since
    /// the last time it was logged.
    DropAndLog {
        dropped: u64,
    },
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    /// In thousandths of a request.
    tokens: u64,
    last_ms: u64,
    dropped: u64,
    logged_ms: Option<u64>,
}

/// The buckets of every source, and the rules.
pub struct Limiter {
    rules: RwLock<Rules>,
    stripes: Vec<Mutex<HashMap<IpAddr, Bucket>>>,
}

impl Default for Limiter {
    fn default() -> Self {
        Limiter {
            rules: RwLock::new(Rules::default()),
            stripes: (0..STRIPES).map(|_| Mutex::default()).collect(),
        }
    }
}

impl Limiter {
    /// Takes the rules of a newly applied config.
    pub fn set_rules(&self, rules: Rules) {
        *self.rules.write().unwrap_or_else(|e| e.into_inner()) = rules;
    }

    /// Whether a datagram from `source` at `now_ms` is taken.
    pub fn check(&self, source: IpAddr, now_ms: u64) -> Verdict {
        let (rate, exempt) = {
            let rules = self.rules.read().unwrap_or_else(|e| e.into_inner());
            if rules.rate == 0 {
                return Verdict::Take;
            }
            let exempt =
                rules.trunks.contains(&source) || rules.trusted.iter().any(|n| n.contains(source));
            (u64::from(rules.rate), exempt)
        };
        if exempt {
            return Verdict::Take;
        }
        let per_ms = rate; // thousandths of a request per ms = requests per second
        let capacity = rate * 2 * 1000;
        let mut stripe = self.stripe(source);
        if !stripe.contains_key(&source) && stripe.len() >= PER_STRIPE {
            evict(&mut stripe, capacity, per_ms, now_ms);
        }
        let bucket = stripe.entry(source).or_insert(Bucket {
            tokens: capacity,
            last_ms: now_ms,
            dropped: 0,
            logged_ms: None,
        });
        let elapsed = now_ms.saturating_sub(bucket.last_ms);
        bucket.tokens = (bucket.tokens + elapsed.saturating_mul(per_ms)).min(capacity);
        bucket.last_ms = bucket.last_ms.max(now_ms);
        if bucket.tokens >= 1000 {
            bucket.tokens -= 1000;
            return Verdict::Take;
        }
        bucket.dropped += 1;
        let due = bucket
            .logged_ms
            .is_none_or(|at| now_ms.saturating_sub(at) >= LOG_EVERY_MS);
        if due {
            bucket.logged_ms = Some(now_ms);
            let dropped = std::mem::take(&mut bucket.dropped);
            Verdict::DropAndLog { dropped }
        } else {
            Verdict::Drop
        }
    }

    /// Sources remembered now.
    pub fn sources(&self) -> usize {
        self.stripes
            .iter()
            .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).len())
            .sum()
    }

    fn stripe(&self, source: IpAddr) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Bucket>> {
        let mut h = DefaultHasher::new();
        source.hash(&mut h);
        self.stripes[(h.finish() as usize) % STRIPES]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }
}

/// Makes room in a full stripe: buckets that have refilled go first (they hold nothing a new
/// bucket would not), then the least recently used half.
fn evict(stripe: &mut HashMap<IpAddr, Bucket>, capacity: u64, per_ms: u64, now_ms: u64) {
    stripe.retain(|_, b| {
        b.tokens + now_ms.saturating_sub(b.last_ms).saturating_mul(per_ms) < capacity
    });
    if stripe.len() >= PER_STRIPE {
        let mut ages: Vec<u64> = stripe.values().map(|b| b.last_ms).collect();
        ages.sort_unstable();
        let cut = ages[ages.len() / 2];
        stripe.retain(|_, b| b.last_ms > cut);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(rate: u32) -> Limiter {
        let l = Limiter::default();
        l.set_rules(Rules {
            rate,
            trusted: vec!["10.0.0.0/8".parse().unwrap()],
            trunks: vec!["192.0.2.1".parse().unwrap()],
        });
        l
    }

    fn taken(l: &Limiter, ip: &str, n: u32, at_ms: u64) -> u32 {
        let ip: IpAddr = ip.parse().unwrap();
        (0..n)
            .filter(|_| l.check(ip, at_ms) == Verdict::Take)
            .count() as u32
    }

    #[test]
    fn a_source_gets_its_rate_with_a_two_second_burst_and_others_are_unaffected() {
        let l = limiter(100);
        // A flood at one instant: the burst (2 s worth), then nothing.
        assert_eq!(taken(&l, "203.0.113.5", 1000, 0), 200);
        // The first drop is logged, the next ones not (for a minute).
        let ip: IpAddr = "203.0.113.5".parse().unwrap();
        assert_eq!(l.check(ip, 0), Verdict::Drop);
        // Another source is not affected.
        assert_eq!(taken(&l, "203.0.113.6", 50, 0), 50);
        // A second later it has a second's worth again.
        assert_eq!(taken(&l, "203.0.113.5", 1000, 1000), 100);
        // Steady at the rate: every one taken.
        let mut t = 10_000;
        for _ in 0..1000 {
            t += 10;
            assert_eq!(l.check(ip, t), Verdict::Take);
        }
    }

    #[test]
    fn drops_are_logged_once_a_minute_with_their_count() {
        let l = limiter(10);
        let ip: IpAddr = "203.0.113.5".parse().unwrap();
        assert_eq!(taken(&l, "203.0.113.5", 20, 0), 20);
        assert_eq!(l.check(ip, 0), Verdict::DropAndLog { dropped: 1 });
        for _ in 0..9 {
            assert_eq!(l.check(ip, 0), Verdict::Drop);
        }
        // A minute later, with the bucket drained again: the nine dropped meanwhile, plus this.
        assert_eq!(taken(&l, "203.0.113.5", 20, 60_000), 20);
        assert_eq!(l.check(ip, 60_000), Verdict::DropAndLog { dropped: 10 });
    }

    #[test]
    fn trusted_networks_trunks_and_no_limit_are_never_dropped() {
        let l = limiter(10);
        assert_eq!(taken(&l, "10.1.2.3", 10_000, 0), 10_000);
        assert_eq!(taken(&l, "192.0.2.1", 10_000, 0), 10_000);
        let off = limiter(0);
        assert_eq!(taken(&off, "203.0.113.5", 10_000, 0), 10_000);
        assert_eq!(l.sources(), 0, "nothing remembered of exempt sources");
    }

    #[test]
    fn forged_sources_cost_bounded_memory() {
        let l = limiter(10);
        for i in 0..200_000u32 {
            let ip = IpAddr::from(std::net::Ipv4Addr::from(0xC000_0000 + i));
            l.check(ip, u64::from(i) / 100);
        }
        assert!(l.sources() <= STRIPES * PER_STRIPE, "{}", l.sources());
    }
}
