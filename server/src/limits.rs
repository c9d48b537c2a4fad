//! What one client may take: connections (in all and per address), message size and rate, idle time,
//! and which web pages may open the game socket.
//!
//! Every limit is a flag with a safe default (see `config`). A client that breaks one is refused or
//! dropped with a reason; nobody else notices.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// How long a connection may stay over its message rate before it is dropped with `flooding`.
pub const FLOOD_GRACE: Duration = Duration::from_secs(3);

/// The limits in force.
#[derive(Debug, Clone)]
pub struct Limits {
    /// The largest WebSocket message (and frame) a client may send, bytes.
    pub max_message_bytes: usize,
    /// Open game connections, in all.
    pub max_connections: usize,
    /// Open game connections from one IP address.
    pub max_connections_per_ip: u32,
    /// Whether the per-address cap applies to loopback too (off by default, so local load tests and the
    /// benchmark are not capped).
    pub limit_loopback: bool,
    /// A connection that sends nothing (not even a pong to the server's pings) this long is closed.
    pub idle_timeout: Duration,
    /// A TCP connection that has not sent a complete HTTP request this long after connecting is closed.
    pub handshake_timeout: Duration,
    /// Messages per second a client may send on average.
    pub message_rate: f64,
    /// Messages a client may send in a burst above the rate.
    pub message_burst: f64,
    /// Page origins, besides the server's own and localhost, allowed to open the game socket.
    pub allowed_origins: Vec<String>,
}

/// Why a connection was refused before the upgrade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The server is at `--max-connections`.
    ServerFull(usize),
    /// This address is at `--max-connections-per-ip`.
    TooManyFromAddress(IpAddr, u32),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ServerFull(max) => {
                write!(f, "the server is at its limit of {max} connections; try again later")
            }
            Self::TooManyFromAddress(ip, max) => write!(f, "{ip} already has {max} connections open"),
        }
    }
}

/// Counts open connections, in all and per address.
#[derive(Debug)]
pub struct ConnectionGate {
    slots: Arc<Semaphore>,
    per_ip: Mutex<HashMap<IpAddr, u32>>,
    limits: Limits,
}

/// An admitted connection's place; dropping it frees the place.
#[derive(Debug)]
pub struct Pass {
    _slot: OwnedSemaphorePermit,
    gate: Arc<ConnectionGate>,
    ip: Option<IpAddr>,
}

impl ConnectionGate {
    /// A gate for these limits.
    pub fn new(limits: Limits) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(limits.max_connections)),
            per_ip: Mutex::new(HashMap::new()),
            limits,
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Admits a connection from `ip`, or says why not. IPv6 addresses count by their /64 prefix (one
    /// host typically owns a whole /64), and IPv4-mapped IPv6 addresses as the IPv4 address they are.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Pass, Refusal> {
        let ip = address_key(ip);
        let slot = Arc::clone(&self.slots)
            .try_acquire_owned()
            .map_err(|_| Refusal::ServerFull(self.limits.max_connections))?;
        let counted = !ip.is_loopback() || self.limits.limit_loopback;
        if counted {
            let mut per_ip = self.per_ip.lock().unwrap_or_else(|p| p.into_inner());
            let open = per_ip.entry(ip).or_insert(0);
            if *open >= self.limits.max_connections_per_ip {
                return Err(Refusal::TooManyFromAddress(ip, self.limits.max_connections_per_ip));
            }
            *open += 1;
        }
        Ok(Pass { _slot: slot, gate: Arc::clone(self), ip: counted.then_some(ip) })
    }
}

impl Drop for Pass {
    fn drop(&mut self) {
        if let Some(ip) = self.ip {
            let mut per_ip = self.gate.per_ip.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(open) = per_ip.get_mut(&ip) {
                *open -= 1;
                if *open == 0 {
                    per_ip.remove(&ip);
                }
            }
        }
    }
}

/// The address a connection counts against: IPv4 as is, IPv4-mapped IPv6 as IPv4, other IPv6 by its /64.
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(prefix.into())
        }
        v4 => v4,
    }
}

/// Whether a page at `origin` may open the game socket of the server at `host`: the server's own pages,
/// pages on localhost, and the `--allowed-origin` list. Clients that send no `Origin` (bots, native
/// clients) are not browsers and cannot be hijacked; they are allowed.
pub fn origin_allowed(origin: Option<&str>, host: Option<&str>, allowed: &[String]) -> bool {
    let Some(origin) = origin else { return true };
    if allowed.iter().any(|a| a.trim_end_matches('/').eq_ignore_ascii_case(origin)) {
        return true;
    }
    let Some(authority) = origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://")) else {
        return false;
    };
    if host.is_some_and(|h| h.eq_ignore_ascii_case(authority)) {
        return true;
    }
    let hostname = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    matches!(hostname.to_ascii_lowercase().as_str(), "localhost" | "127.0.0.1" | "::1")
}

/// A token bucket over a connection's messages.
#[derive(Debug)]
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
    over_since: Option<Instant>,
}

/// What to do with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Handle it.
    Allow,
    /// Drop it: the client is over its rate.
    Drop,
    /// The client has been over its rate for [`FLOOD_GRACE`]: disconnect it.
    Flood,
}

impl RateLimiter {
    /// A full bucket.
    pub fn new(rate: f64, burst: f64) -> Self {
        Self { rate, burst, tokens: burst, last: Instant::now(), over_since: None }
    }

    /// Accounts for one message arriving at `now`.
    pub fn check(&mut self, now: Instant) -> Verdict {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            // Back under the rate for a while (the bucket refilled past half): the episode is over.
            if self.tokens >= self.burst / 2.0 {
                self.over_since = None;
            }
            return Verdict::Allow;
        }
        let since = *self.over_since.get_or_insert(now);
        if now - since >= FLOOD_GRACE { Verdict::Flood } else { Verdict::Drop }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            max_message_bytes: 4096,
            max_connections: 3,
            max_connections_per_ip: 2,
            limit_loopback: false,
            idle_timeout: Duration::from_secs(30),
            handshake_timeout: Duration::from_secs(5),
            message_rate: 100.0,
            message_burst: 100.0,
            allowed_origins: vec!["https://friends.example".into()],
        }
    }

    #[test]
    fn connections_are_capped_per_address_and_in_all() {
        let gate = Arc::new(ConnectionGate::new(limits()));
        let a: IpAddr = "203.0.113.5".parse().expect("ip");
        let b: IpAddr = "203.0.113.6".parse().expect("ip");
        let first = gate.admit(a).expect("1st");
        let _second = gate.admit(a).expect("2nd");
        assert_eq!(gate.admit(a).map(|_| ()), Err(Refusal::TooManyFromAddress(a, 2)));
        drop(first);
        let _third = gate.admit(a).expect("a place came free");
        let _other = gate.admit(b).expect("another address");
        assert_eq!(gate.admit(b).map(|_| ()), Err(Refusal::ServerFull(3)));
    }

    #[test]
    fn loopback_is_exempt_from_the_per_address_cap_unless_asked() {
        let mut l = limits();
        l.max_connections = 10;
        let gate = Arc::new(ConnectionGate::new(l.clone()));
        let local: IpAddr = "127.0.0.1".parse().expect("ip");
        let passes: Vec<Pass> = (0..5).map(|_| gate.admit(local).expect("loopback")).collect();
        assert_eq!(passes.len(), 5);
        l.limit_loopback = true;
        let strict = Arc::new(ConnectionGate::new(l));
        let _p: Vec<Pass> = (0..2).map(|_| strict.admit(local).expect("loopback")).collect();
        assert!(strict.admit(local).is_err());
    }

    #[test]
    fn ipv6_hosts_count_by_prefix_and_mapped_loopback_is_loopback() {
        let gate = Arc::new(ConnectionGate::new(limits()));
        let a: IpAddr = "2001:db8::1".parse().expect("ip");
        let b: IpAddr = "2001:db8::2:3".parse().expect("ip");
        let _p1 = gate.admit(a).expect("1st");
        let _p2 = gate.admit(b).expect("2nd, same /64");
        assert!(matches!(
            gate.admit("2001:db8::ffff".parse().expect("ip")),
            Err(Refusal::TooManyFromAddress(..))
        ));
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().expect("ip");
        assert!(address_key(mapped).is_loopback());
    }

    #[test]
    fn origins() {
        let allowed = limits().allowed_origins;
        let host = Some("game.example:8080");
        assert!(origin_allowed(None, host, &allowed), "no Origin: not a browser");
        assert!(origin_allowed(Some("http://game.example:8080"), host, &allowed), "same origin");
        assert!(origin_allowed(Some("https://game.example:8080"), host, &allowed), "same origin over TLS");
        assert!(origin_allowed(Some("http://localhost:5173"), host, &allowed));
        assert!(origin_allowed(Some("http://127.0.0.1:3000"), host, &allowed));
        assert!(origin_allowed(Some("http://[::1]:3000"), host, &allowed));
        assert!(origin_allowed(Some("https://friends.example"), host, &allowed), "--allowed-origin");
        assert!(!origin_allowed(Some("https://evil.example"), host, &allowed));
        assert!(!origin_allowed(Some("https://game.example:8080.evil.example"), host, &allowed));
        assert!(!origin_allowed(Some("null"), host, &allowed));
    }

    #[tokio::test(start_paused = true)]
    async fn a_flood_is_dropped_then_disconnected_and_honest_rates_pass() {
        let mut honest = RateLimiter::new(100.0, 100.0);
        for _ in 0..600 {
            tokio::time::advance(Duration::from_millis(16)).await;
            assert_eq!(honest.check(Instant::now()), Verdict::Allow);
        }
        let mut flood = RateLimiter::new(100.0, 100.0);
        let mut dropped = 0;
        let verdict = loop {
            tokio::time::advance(Duration::from_micros(100)).await; // 10,000 per second
            match flood.check(Instant::now()) {
                Verdict::Allow => {}
                Verdict::Drop => dropped += 1,
                Verdict::Flood => break Verdict::Flood,
            }
        };
        assert_eq!(verdict, Verdict::Flood);
        assert!(dropped > 20_000, "{dropped} dropped before the disconnect");
    }
}
