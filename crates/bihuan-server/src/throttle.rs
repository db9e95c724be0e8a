//! Login throttling: failed logins counted per login name and per client address over a
//! window, in memory (each server counts its own; a restart forgets, which only ever lets an
//! owner in sooner).
//!
//! A login name is refused for the rest of its window after `per_login` failures from one
//! address, and an address after `per_address` failures for any names (one machine trying many
//! accounts). A success clears that login's count from that address. The window starts at the
//! first failure, so the owner of an account someone is guessing at can always get in again
//! once it has passed (429 says when). Failures of other addresses never lock out the owner's.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How many failures open a throttle, and for how long.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub per_login: u32,
    pub per_address: u32,
    pub window: Duration,
}

#[derive(Debug, Clone, Copy)]
struct Count {
    failures: u32,
    since: Instant,
}

/// Failure counts. Entries older than the window are dropped as they are met and in a sweep
/// when the maps grow, so memory stays bounded by the addresses of one window.
#[derive(Default)]
pub struct LoginThrottle {
    by_login: Mutex<HashMap<(String, IpAddr), Count>>,
    by_address: Mutex<HashMap<IpAddr, Count>>,
}

/// Largest number of entries kept before old ones are swept.
const SWEEP_AT: usize = 100_000;

fn live(c: &Count, now: Instant, window: Duration) -> bool {
    now.duration_since(c.since) < window
}

fn retry_after(c: &Count, now: Instant, window: Duration) -> Duration {
    window.saturating_sub(now.duration_since(c.since))
}

impl LoginThrottle {
    /// `Some(wait)` when a login of `login` from `addr` must wait before it is tried.
    pub fn blocked(
        &self,
        login: &str,
        addr: IpAddr,
        limits: Limits,
        now: Instant,
    ) -> Option<Duration> {
        let key = (login.to_lowercase(), addr);
        let mut waits = Vec::new();
        if let Ok(m) = self.by_login.lock() {
            if let Some(c) = m.get(&key) {
                if live(c, now, limits.window) && c.failures >= limits.per_login {
                    waits.push(retry_after(c, now, limits.window));
                }
            }
        }
        if let Ok(m) = self.by_address.lock() {
            if let Some(c) = m.get(&addr) {
                if live(c, now, limits.window) && c.failures >= limits.per_address {
                    waits.push(retry_after(c, now, limits.window));
                }
            }
        }
        waits.into_iter().max()
    }

    /// Records a failed login.
    pub fn failed(&self, login: &str, addr: IpAddr, limits: Limits, now: Instant) {
        let bump = |c: &mut Count| {
            if live(c, now, limits.window) {
                c.failures += 1;
            } else {
                *c = Count {
                    failures: 1,
                    since: now,
                };
            }
        };
        let fresh = Count {
            failures: 0,
            since: now,
        };
        if let Ok(mut m) = self.by_login.lock() {
            if m.len() > SWEEP_AT {
                m.retain(|_, c| live(c, now, limits.window));
            }
            bump(m.entry((login.to_lowercase(), addr)).or_insert(fresh));
        }
        if let Ok(mut m) = self.by_address.lock() {
            if m.len() > SWEEP_AT {
                m.retain(|_, c| live(c, now, limits.window));
            }
            bump(m.entry(addr).or_insert(fresh));
        }
    }

    /// Records a successful login: that name's failures from that address are forgotten.
    pub fn succeeded(&self, login: &str, addr: IpAddr) {
        if let Ok(mut m) = self.by_login.lock() {
            m.remove(&(login.to_lowercase(), addr));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        per_login: 5,
        per_address: 20,
        window: Duration::from_secs(900),
    };

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_login_is_throttled_after_the_count_and_free_after_the_window() {
        let t = LoginThrottle::default();
        let now = Instant::now();
        let a = ip("10.0.0.1");
        for i in 0..5 {
            assert!(t.blocked("admin", a, LIMITS, now).is_none(), "try {i}");
            t.failed("admin", a, LIMITS, now);
        }
        let wait = t.blocked("Admin", a, LIMITS, now).unwrap();
        assert_eq!(wait, Duration::from_secs(900));
        // Another address is not locked out by this one's failures.
        assert!(t.blocked("admin", ip("10.0.0.2"), LIMITS, now).is_none());
        // After the window the owner gets in.
        let later = now + Duration::from_secs(901);
        assert!(t.blocked("admin", a, LIMITS, later).is_none());
    }

    #[test]
    fn an_address_trying_many_names_is_throttled() {
        let t = LoginThrottle::default();
        let now = Instant::now();
        let a = ip("10.0.0.9");
        for i in 0..20 {
            t.failed(&format!("user{i}"), a, LIMITS, now);
        }
        assert!(t.blocked("someone-else", a, LIMITS, now).is_some());
        assert!(t
            .blocked("someone-else", ip("10.0.0.8"), LIMITS, now)
            .is_none());
    }

    #[test]
    fn a_success_clears_that_login() {
        let t = LoginThrottle::default();
        let now = Instant::now();
        let a = ip("::1");
        for _ in 0..4 {
            t.failed("admin", a, LIMITS, now);
        }
        t.succeeded("admin", a);
        t.failed("admin", a, LIMITS, now);
        assert!(t.blocked("admin", a, LIMITS, now).is_none());
    }
}

/// Events per client address over a window that starts at the address's first event (the
/// portal's submissions and look-ups), in memory like the login throttle.
#[derive(Default)]
pub struct AddressLimit {
    counts: Mutex<HashMap<IpAddr, Count>>,
}

impl AddressLimit {
    /// Counts one event of `addr`; `Err(wait)` when it already had `limit` in the window.
    pub fn hit(
        &self,
        addr: IpAddr,
        limit: u32,
        window: Duration,
        now: Instant,
    ) -> Result<(), Duration> {
        let mut m = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if m.len() >= SWEEP_AT {
            m.retain(|_, c| live(c, now, window));
        }
        let c = m.entry(addr).or_insert(Count {
            failures: 0,
            since: now,
        });
        if !live(c, now, window) {
            *c = Count {
                failures: 0,
                since: now,
            };
        }
        if c.failures >= limit {
            return Err(retry_after(c, now, window));
        }
        c.failures += 1;
        Ok(())
    }
}
