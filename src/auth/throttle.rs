//! Failed sign-ins are counted per user name and per address, in windows of a minute, so a
//! password cannot be guessed at speed. Over either limit every attempt of that user, or from
//! that address, waits until the window ends (the password is not even checked). Successful
//! sign-ins are not counted: many client orgs may share one server user.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(60);
/// Past this many tracked keys, windows that ended are dropped.
const PRUNE_AT: usize = 10_000;

pub struct SigninThrottle {
    per_user: u32,
    per_address: u32,
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

impl SigninThrottle {
    pub fn new(per_user: u32, per_address: u32) -> Self {
        Self {
            per_user,
            per_address,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `user` (org and name) may try now from `address`; `Err` with how long to wait.
    pub fn admit(&self, user: &str, address: Option<IpAddr>) -> Result<(), Duration> {
        let now = Instant::now();
        let Ok(windows) = self.windows.lock() else {
            return Ok(());
        };
        let mut wait: Option<Duration> = None;
        for (key, limit) in self.keys(user, address) {
            if let Some((started, count)) = windows.get(&key) {
                let age = now.duration_since(*started);
                if age < WINDOW && *count >= limit {
                    let left = WINDOW - age;
                    wait = Some(wait.map_or(left, |w| w.max(left)));
                }
            }
        }
        wait.map_or(Ok(()), Err)
    }

    /// Counts a failed sign-in of `user` from `address`.
    pub fn failed(&self, user: &str, address: Option<IpAddr>) {
        let now = Instant::now();
        let Ok(mut windows) = self.windows.lock() else {
            return;
        };
        if windows.len() > PRUNE_AT {
            windows.retain(|_, (started, _)| now.duration_since(*started) < WINDOW);
        }
        for (key, _) in self.keys(user, address) {
            let entry = windows.entry(key).or_insert((now, 0));
            if now.duration_since(entry.0) >= WINDOW {
                *entry = (now, 0);
            }
            entry.1 = entry.1.saturating_add(1);
        }
    }

    fn keys(&self, user: &str, address: Option<IpAddr>) -> Vec<(String, u32)> {
        let mut keys = vec![(format!("user\n{user}"), self.per_user)];
        if let Some(ip) = address {
            keys.push((format!("addr\n{ip}"), self.per_address));
        }
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_over_the_limit_wait_for_the_window() {
        let t = SigninThrottle::new(3, 5);
        let here = Some(IpAddr::from([10, 0, 0, 1]));
        for _ in 0..3 {
            assert!(t.admit("contoso\nada", here).is_ok());
            t.failed("contoso\nada", here);
        }
        let wait = t.admit("contoso\nada", here).unwrap_err();
        assert!(wait <= WINDOW && wait > Duration::from_secs(50));
        assert!(
            t.admit("contoso\ngrace", here).is_ok(),
            "another user has its own count"
        );
        t.failed("contoso\ngrace", here);
        t.failed("contoso\ngrace", here);
        assert!(
            t.admit("contoso\nhopper", here).is_err(),
            "but the address is at its 5"
        );
        assert!(t
            .admit("contoso\nlin", Some(IpAddr::from([10, 0, 0, 2])))
            .is_ok());
        for _ in 0..100 {
            assert!(
                t.admit("contoso\nmany", Some(IpAddr::from([10, 0, 0, 3])))
                    .is_ok(),
                "successes are not counted"
            );
        }
    }
}
