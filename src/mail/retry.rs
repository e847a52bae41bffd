//! When a letter that could not be sent is tried again: a temporary failure (the server cannot
//! be reached, a 4xx answer) waits 10 s, 30 s, 2 min, 10 min, 30 min, 1 h, 2 h, 4 h, 8 h, 8 h
//! after the attempts before it (about a day in all), then the letter is given up; a permanent
//! failure (a 5xx answer, a malformed letter) is given up at once.

/// The waits after the 1st, 2nd, ... failed attempt, in seconds.
const WAITS_S: [u64; 10] = [10, 30, 120, 600, 1800, 3600, 7200, 14_400, 28_800, 28_800];

/// Whether a failure may go away by itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Try again later (connection refused, timeout, 4xx).
    Temporary,
    /// Trying again cannot help (5xx, a letter that cannot be built).
    Permanent,
}

/// When to try again after a failure, `attempts` counting the failed one (1 after the first):
/// `Some(at_ms)`, or `None` to give up.
pub fn next_attempt(failure: Failure, attempts: u32, now_ms: u64) -> Option<u64> {
    if failure == Failure::Permanent {
        return None;
    }
    let index = usize::try_from(attempts.checked_sub(1)?).ok()?;
    WAITS_S
        .get(index)
        .map(|s| now_ms.saturating_add(s.saturating_mul(1000)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_failures_back_off_for_about_a_day_then_give_up() {
        let waits: Vec<u64> = (1..=10)
            .map(|n| next_attempt(Failure::Temporary, n, 1_000).unwrap() - 1_000)
            .collect();
        assert_eq!(&waits[..4], &[10_000, 30_000, 120_000, 600_000]);
        assert!(waits.windows(2).all(|w| w[0] <= w[1]), "{waits:?}");
        let total: u64 = waits.iter().sum();
        assert!(
            (20 * 3_600_000..=26 * 3_600_000).contains(&total),
            "{total}"
        );
        assert_eq!(next_attempt(Failure::Temporary, 11, 1_000), None);
        assert_eq!(next_attempt(Failure::Temporary, u32::MAX, u64::MAX), None);
        assert_eq!(next_attempt(Failure::Temporary, 0, 1_000), None);
        assert_eq!(
            next_attempt(Failure::Temporary, 1, u64::MAX),
            Some(u64::MAX)
        );
    }

    #[test]
    fn permanent_failures_are_given_up_at_once() {
        assert_eq!(next_attempt(Failure::Permanent, 1, 1_000), None);
    }
}
