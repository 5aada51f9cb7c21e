//! Response rate limiting over UDP, the scheme of BIND and NSD: responses of one kind about
//! one name to one client network share a token bucket of `responses_per_second`; beyond it
//! responses are dropped, except every `slip`th, which is sent empty with TC set so a real
//! client (whose address a flood may be spoofing) can still get its answer over TCP.
//!
//! Each UDP thread has its own fixed-size table (memory is bounded whatever the traffic):
//! an entry is found by hashing (network, kind, name) with a per-process seed; a colliding
//! newcomer takes over the slot when the old entry is idle and shares its budget otherwise.
//! With several threads the rate is divided between them.

use std::net::IpAddr;
use std::time::Instant;

use crate::answer::{Kind, Outcome};
use crate::config::RrlConfig;

/// What to do with a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Send it.
    Send,
    /// Send it empty and truncated.
    Slip,
    /// Send nothing.
    Drop,
}

#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    key: u64,
    /// Tokens left (may go negative down to -rate while limited).
    tokens: i32,
    /// Last refill, in milliseconds since the table's start.
    at_ms: u64,
    /// Responses limited so far (for slip).
    limited: u32,
}

/// One thread's table.
#[derive(Debug)]
pub struct Rrl {
    entries: Vec<Entry>,
    rate: i32,
    slip: u32,
    v4_mask: u32,
    v6_mask: u128,
    start: Instant,
}

impl Rrl {
    /// A table for one of `threads` threads; `None` when rate limiting is off.
    pub fn new(config: &RrlConfig, threads: usize) -> Option<Self> {
        if config.responses_per_second == 0 {
            return None;
        }
        let threads = u32::try_from(threads.max(1)).unwrap_or(u32::MAX);
        let rate = (config.responses_per_second / threads).max(1);
        Some(Self {
            entries: vec![Entry::default(); config.table_size.next_power_of_two()],
            rate: i32::try_from(rate).unwrap_or(i32::MAX),
            slip: config.slip,
            v4_mask: u32::MAX
                .checked_shl(32 - u32::from(config.ipv4_prefix))
                .unwrap_or(0),
            v6_mask: u128::MAX
                .checked_shl(128 - u32::from(config.ipv6_prefix))
                .unwrap_or(0),
            start: Instant::now(),
        })
    }

    fn key(&self, ip: IpAddr, outcome: &Outcome) -> u64 {
        let net: u128 = match ip.to_canonical() {
            IpAddr::V4(a) => u128::from(u32::from(a) & self.v4_mask),
            IpAddr::V6(a) => (u128::from(a) & self.v6_mask) ^ (1u128 << 127),
        };
        let kind = match outcome.kind {
            Kind::Answer => 1u64,
            Kind::Referral => 2,
            Kind::Negative => 3,
            Kind::Error => 4,
        };
        // Errors (REFUSED, FORMERR, NOTAUTH, ...) to one network share one budget whatever
        // the name, as in BIND: a flood of names we do not serve is one stream.
        let name_hash = if outcome.kind == Kind::Error {
            0
        } else {
            outcome.name_hash
        };
        // The name hash is already well mixed; fold the network and the kind into it.
        let mut h = name_hash ^ kind.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        h ^= (net as u64).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h ^= ((net >> 64) as u64).wrapping_mul(0x94d0_49bb_1331_11eb);
        h ^ (h >> 31)
    }

    /// Decides for one response to `ip`.
    pub fn check(&mut self, ip: IpAddr, outcome: &Outcome) -> Verdict {
        let key = self.key(ip, outcome) | 1; // 0 marks a free slot
        let now_ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        let mask = self.entries.len() - 1;
        let e = &mut self.entries[(key as usize) & mask];
        let elapsed = now_ms.saturating_sub(e.at_ms);
        // A free slot, or one held by another stream idle long enough to be full again: take
        // it over. A busy slot held by another stream: the newcomer shares its budget (with a
        // per-process hash seed, nobody can aim for a collision).
        if e.key != key && (e.key == 0 || elapsed >= 1000) {
            *e = Entry {
                key,
                tokens: self.rate - 1,
                at_ms: now_ms,
                limited: 0,
            };
            return Verdict::Send;
        }
        // Refill in proportion to the time passed, up to one second's worth.
        let refill = i64::try_from(elapsed.min(1000)).unwrap_or(1000) * i64::from(self.rate) / 1000;
        if refill > 0 {
            e.tokens = i32::try_from((i64::from(e.tokens) + refill).min(i64::from(self.rate)))
                .unwrap_or(self.rate);
            e.at_ms = now_ms;
        }
        if e.tokens > 0 {
            e.tokens -= 1;
            return Verdict::Send;
        }
        e.tokens = (e.tokens - 1).max(-self.rate);
        e.limited = e.limited.wrapping_add(1);
        if self.slip > 0 && e.limited.is_multiple_of(self.slip) {
            Verdict::Slip
        } else {
            Verdict::Drop
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(kind: Kind, name_hash: u64) -> Outcome {
        Outcome {
            kind,
            name_hash,
            ..Outcome::default()
        }
    }

    #[test]
    fn limits_per_network_and_slips() {
        let config = RrlConfig {
            responses_per_second: 10,
            slip: 2,
            ..RrlConfig::default()
        };
        let mut rrl = Rrl::new(&config, 1).unwrap();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let same_net: IpAddr = "192.0.2.200".parse().unwrap();
        let other: IpAddr = "198.51.100.1".parse().unwrap();
        let o = outcome(Kind::Negative, 42);
        let mut verdicts = Vec::new();
        for i in 0..20 {
            let ip = if i % 2 == 0 { a } else { same_net };
            verdicts.push(rrl.check(ip, &o));
        }
        assert_eq!(verdicts.iter().filter(|v| **v == Verdict::Send).count(), 10);
        assert_eq!(verdicts.iter().filter(|v| **v == Verdict::Slip).count(), 5);
        assert_eq!(verdicts.iter().filter(|v| **v == Verdict::Drop).count(), 5);
        // Another network, or another name, has its own budget.
        assert_eq!(rrl.check(other, &o), Verdict::Send);
        assert_eq!(rrl.check(a, &outcome(Kind::Answer, 7)), Verdict::Send);
        assert!(
            Rrl::new(
                &RrlConfig {
                    responses_per_second: 0,
                    ..config
                },
                1
            )
            .is_none()
        );
    }
}
