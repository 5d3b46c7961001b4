//! Login throttling: repeated failed logins are refused per account and per client address,
//! before any password hash runs.
//!
//! # The rule
//! A fixed window per key, starting at the key's first failure:
//! - an **account** (the user name as typed, known or not) gets [`ACCOUNT_FAILURES`] failed
//!   logins per [`WINDOW_MS`] (15 minutes); the next attempt, even with the right password, is
//!   refused with 429 `too_many_attempts` and `Retry-After` until the window ends;
//! - a **client address** gets [`ADDRESS_FAILURES`] failures per window, over all the accounts it
//!   tries (password spraying);
//! - a successful login clears its account's counter, not its address's (one good account must
//!   not reset the address that is guessing at others).
//!
//! An unknown user name is counted and refused exactly like a real one, so throttling does not
//! reveal which accounts exist. Account keys are a SHA-256 of the name, so the table stores no
//! attacker-chosen text of unbounded length. IPv6 clients count by their /64 (one customer's
//! allocation), IPv4 clients by their address.
//!
//! # Where the state lives
//! In the database (`login_throttle`, see `db::users::throttle`), so the limit holds across
//! instances on PostgreSQL. A login reads the two counters before hashing (a throttled attempt
//! costs one indexed read and no argon2) and writes only after a failed hash, so writes are
//! bounded by the hash limiter's throughput whatever the flood. The price of reading before
//! and counting after: attempts already admitted when the limit is reached still finish, at
//! most the hash limiter's capacity (slots plus queue) per instance.
//!
//! # Client address
//! The TCP peer address. The server has no notion of a trusted proxy, so `X-Forwarded-For` is
//! not believed; behind a reverse proxy every client shares the proxy's address limit.

use std::net::IpAddr;

use sha2::{Digest, Sha256};

/// Failed logins per account per window: a person mistyping gets several tries, a guesser
/// gets 20 an hour.
pub const ACCOUNT_FAILURES: i64 = 5;
/// Failed logins per client address per window, over every account: room for a depot's
/// technicians behind one NAT to mistype, far too few to spray passwords over many accounts.
pub const ADDRESS_FAILURES: i64 = 50;
/// Length of a throttling window, in milliseconds (15 minutes).
pub const WINDOW_MS: i64 = 15 * 60 * 1000;

/// The limits; [`ThrottlePolicy::default`] holds the documented numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures an account may have in one window.
    pub account_failures: i64,
    /// Failures a client address may have in one window.
    pub address_failures: i64,
    /// Window length in milliseconds.
    pub window_ms: i64,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            account_failures: ACCOUNT_FAILURES,
            address_failures: ADDRESS_FAILURES,
            window_ms: WINDOW_MS,
        }
    }
}

/// One stored counter: failures since `window_start` (ms since the epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    pub failures: i64,
    pub window_start: i64,
}

/// Which limit refused the attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Account,
    Address,
}

impl Scope {
    pub fn label(self) -> &'static str {
        match self {
            Scope::Account => "account",
            Scope::Address => "address",
        }
    }
}

/// An attempt refused by the throttle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    /// The limit that refused; when both did, the one whose window ends later.
    pub scope: Scope,
    /// Whole seconds until the longest of the exceeded windows ends (at least 1).
    pub retry_after_secs: u64,
}

/// The throttle key of an account name as typed.
pub fn account_key(user: &str) -> String {
    format!("user:{}", hex::encode(Sha256::digest(user.as_bytes())))
}

/// The throttle key of a client address: IPv4 as is, IPv6 by its /64.
pub fn address_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => format!("ip:{v4}"),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => format!("ip:{v4}"),
            None => {
                let s = v6.segments();
                format!("ip:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

impl ThrottlePolicy {
    /// Milliseconds left in `counter`'s window if it has reached `limit` at `now`, else `None`.
    fn locked_for(&self, counter: Option<&Counter>, limit: i64, now: i64) -> Option<i64> {
        let c = counter?;
        let ends = c.window_start.saturating_add(self.window_ms);
        (c.failures >= limit && now < ends).then(|| ends - now)
    }

    /// Whether an attempt at `now` (ms) may go on to the password check.
    pub fn check(
        &self,
        account: Option<&Counter>,
        address: Option<&Counter>,
        now: i64,
    ) -> Result<(), Throttled> {
        let by_account = self
            .locked_for(account, self.account_failures, now)
            .map(|ms| (Scope::Account, ms));
        let by_address = self
            .locked_for(address, self.address_failures, now)
            .map(|ms| (Scope::Address, ms));
        let longest = match (by_account, by_address) {
            (Some(a), Some(b)) => Some(if b.1 > a.1 { b } else { a }),
            (a, b) => a.or(b),
        };
        match longest {
            None => Ok(()),
            Some((scope, ms)) => Err(Throttled {
                scope,
                // Round up: retrying at the announced second must not be refused again.
                retry_after_secs: u64::try_from((ms + 999) / 1000).unwrap_or(1).max(1),
            }),
        }
    }

    /// The counter after one more failure at `now`: a new window when the old one ended.
    /// The storage layer writes the same rule as one SQL upsert; this is its specification.
    pub fn after_failure(&self, counter: Option<&Counter>, now: i64) -> Counter {
        match counter {
            Some(c) if now < c.window_start.saturating_add(self.window_ms) => Counter {
                failures: c.failures + 1,
                window_start: c.window_start,
            },
            _ => Counter {
                failures: 1,
                window_start: now,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_800_000_000_000;
    const MIN: i64 = 60_000;

    fn failures(policy: &ThrottlePolicy, n: usize, start: i64, step: i64) -> Option<Counter> {
        (0..n).fold(None, |c, i| {
            Some(policy.after_failure(c.as_ref(), start + step * i as i64))
        })
    }

    #[test]
    fn five_failures_lock_the_account_until_the_window_ends() {
        let p = ThrottlePolicy::default();
        let four = failures(&p, 4, T0, MIN);
        assert_eq!(p.check(four.as_ref(), None, T0 + 4 * MIN), Ok(()));
        let five = failures(&p, 5, T0, MIN);
        assert_eq!(five.map(|c| c.failures), Some(5));
        assert_eq!(
            p.check(five.as_ref(), None, T0 + 4 * MIN + 1),
            Err(Throttled {
                scope: Scope::Account,
                retry_after_secs: 11 * 60,
            }),
            "locked until 15 minutes after the first failure"
        );
        assert_eq!(p.check(five.as_ref(), None, T0 + 15 * MIN), Ok(()));
    }

    #[test]
    fn a_failure_after_the_window_starts_a_new_one() {
        let p = ThrottlePolicy::default();
        let five = failures(&p, 5, T0, MIN);
        let next = p.after_failure(five.as_ref(), T0 + 16 * MIN);
        assert_eq!(
            next,
            Counter {
                failures: 1,
                window_start: T0 + 16 * MIN
            }
        );
        assert_eq!(p.check(Some(&next), None, T0 + 16 * MIN), Ok(()));
    }

    #[test]
    fn the_address_limit_counts_failures_over_every_account() {
        let p = ThrottlePolicy::default();
        let forty_nine = failures(&p, 49, T0, 1_000);
        assert_eq!(p.check(None, forty_nine.as_ref(), T0 + 60_000), Ok(()));
        let fifty = failures(&p, 50, T0, 1_000);
        let err = p.check(None, fifty.as_ref(), T0 + 60_000).unwrap_err();
        assert_eq!(err.scope, Scope::Address);
        assert_eq!(err.retry_after_secs, 14 * 60);
    }

    #[test]
    fn when_both_limits_refuse_the_longer_wait_is_announced() {
        let p = ThrottlePolicy::default();
        let account = failures(&p, 5, T0 + 10 * MIN, 1);
        let address = failures(&p, 50, T0, 1);
        let err = p
            .check(account.as_ref(), address.as_ref(), T0 + 11 * MIN)
            .unwrap_err();
        assert_eq!(err.scope, Scope::Account);
        assert_eq!(err.retry_after_secs, 14 * 60);
    }

    #[test]
    fn retry_after_rounds_up_and_is_never_zero() {
        let p = ThrottlePolicy::default();
        let five = failures(&p, 5, T0, 0);
        let err = p
            .check(five.as_ref(), None, T0 + WINDOW_MS - 1)
            .unwrap_err();
        assert_eq!(err.retry_after_secs, 1);
    }

    #[test]
    fn account_keys_hash_the_name_so_any_input_has_a_bounded_key() {
        let k = account_key("tech-a");
        assert_eq!(k.len(), "user:".len() + 64);
        assert_eq!(k, account_key("tech-a"));
        assert_ne!(k, account_key("tech-b"));
        assert_eq!(account_key(&"x".repeat(1 << 20)).len(), k.len());
    }

    #[test]
    fn ipv6_clients_count_by_their_64_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::7".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(other));
        assert_eq!(address_key(a), "ip:2001:db8:1:2::/64");
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(address_key(mapped), "ip:192.0.2.7");
        assert_eq!(address_key("127.0.0.1".parse().unwrap()), "ip:127.0.0.1");
    }
}
