//! The per-address sign-in rate limit, beside the per-account lockout.
//!
//! The lockout (in the database, so every instance sees it) stops guessing one e-mail's password;
//! this stops one address from trying many e-mails, and from spending the server's password
//! hashing on a flood. It is GCRA (`governor`), keyed by the client's IP address, held in this
//! instance's memory: behind a load balancer each instance counts alone, so an address may get up
//! to N times the rate from N instances. That is enough to make a flood cheap to refuse; the
//! lockout is what holds across instances.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::time::Duration;

use axum::http::HeaderMap;
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// The address a connection came from, put in each request's extensions by [`crate::serve`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientAddr(pub(crate) SocketAddr);

/// How many addresses are remembered before those that could try again at once are forgotten.
const REMEMBERED: usize = 10_000;

/// The sign-ins each address may make: a burst, then one more every so often.
pub(crate) struct SignInLimit {
    limiter: Option<DefaultKeyedRateLimiter<IpAddr>>,
    clock: DefaultClock,
}

impl std::fmt::Debug for SignInLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInLimit").field("on", &self.limiter.is_some()).finish()
    }
}

impl SignInLimit {
    /// `burst` sign-ins at once, then `per_minute` a minute; 0 for either turns the limit off.
    pub(crate) fn new(burst: u32, per_minute: u32) -> Self {
        let quota = NonZeroU32::new(burst).zip(NonZeroU32::new(per_minute)).and_then(|(burst, rate)| {
            Quota::with_period(Duration::from_secs(60) / rate.get()).map(|q| q.allow_burst(burst))
        });
        Self { limiter: quota.map(RateLimiter::keyed), clock: DefaultClock::default() }
    }

    /// Counts a sign-in from `address`: `Err(wait)` when it is over the limit.
    pub(crate) fn check(&self, address: IpAddr) -> Result<(), Duration> {
        let Some(limiter) = &self.limiter else { return Ok(()) };
        if limiter.len() > REMEMBERED {
            limiter.retain_recent();
        }
        limiter.check_key(&address).map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

/// The client's address: the connection's, or, behind a proxy we trust, the last address the
/// proxy appended to `X-Forwarded-For` (the ones before it are the client's to write).
pub(crate) fn client_ip(connection: Option<ClientAddr>, headers: &HeaderMap, trust_proxy: bool) -> Option<IpAddr> {
    if trust_proxy
        && let Some(forwarded) = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|a| a.trim().parse::<IpAddr>().ok())
            .next_back()
    {
        return Some(forwarded);
    }
    connection.map(|c| c.0.ip())
}
