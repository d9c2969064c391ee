//! When each keep-alive connection is told `Connection: close` once
//! draining has begun: not all at once, but spread over a window.
//!
//! Closing every HTTP/1 connection on its first response after draining
//! began sends all their clients to the new child within a few
//! milliseconds: a reconnect storm at every reload. Instead each connection
//! draws a close time, uniform in `[0, spread)` after draining began, and
//! says `Connection: close` on its first response once draining has lasted
//! that long (HAProxy's `close-spread-time`, Envoy's gradual drain).
//!
//! The window is half the grace: a connection with a request in the second
//! half has closed by lameduck. One quiet from its close time on is still
//! open then, and hyper's graceful shutdown closes it as idle, racing its
//! client's next request (HTTP/1 has no close of an idle connection that
//! cannot). So a response before the close time closes too when the
//! connection's last gap between requests says its next one would come
//! after lameduck (a client polling every 0.7 s under a 1 s grace), or
//! when it is the connection's first request (no gap to go by): only
//! connections whose clients come back before lameduck are kept, and
//! their next response closes them. A client whose gaps grow is still
//! caught out: the trade is that for the reconnect storm.
//!
//! The decisions are pure ([`close_time`], [`should_close`]); only
//! [`CloseTimes`] holds state, the random keys and a counter.

use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

/// The window over which closes are spread for a grace: half of it.
pub(crate) fn spread(grace: Duration) -> Duration {
    grace / 2
}

/// The close time, in `[0, spread)`, of a connection that drew `random`:
/// `random` scaled to the window (not taken modulo it), so every close
/// time is as likely as any other. A zero `spread` closes at once.
pub(crate) fn close_time(spread: Duration, random: u64) -> Duration {
    // A window of more than 584 years is cut to that, so the product fits.
    let window = u64::try_from(spread.as_nanos()).unwrap_or(u64::MAX);
    // random / 2^64 is in [0, 1): the result is below the window.
    let nanos = (u128::from(window) * u128::from(random)) >> 64;
    Duration::from_nanos(nanos as u64)
}

/// Whether a response on a connection whose close time is `close_time`
/// says `Connection: close`, draining having lasted `draining_for` (`None`:
/// not draining), lameduck coming a `grace` after draining began, and
/// `gap` the time between the connection's last two requests (`None`: this
/// is its first): at its close time, or before it when the gap says the
/// next request would come after lameduck, or too near it to be sure (see
/// [`slack`]).
pub(crate) fn should_close(
    draining_for: Option<Duration>,
    close_time: Duration,
    gap: Option<Duration>,
    grace: Duration,
) -> bool {
    draining_for.is_some_and(|lasted| {
        lasted >= close_time
            || gap.is_none_or(|gap| lasted.saturating_add(gap).saturating_add(slack(gap)) >= grace)
    })
}

/// How much earlier than its gap says a client's next request may come
/// and still be taken for one after lameduck: a client's timer and the
/// network are not exact, and a request a few milliseconds late crosses
/// the close of its idle connection. An eighth of the gap, and at least
/// 20 ms.
pub(crate) fn slack(gap: Duration) -> Duration {
    (gap / 8).max(Duration::from_millis(20))
}

/// The gaps between one connection's requests, for [`should_close`]:
/// shared by the clones of the connection's service (hyper clones it for
/// each request).
#[derive(Debug, Default)]
pub(crate) struct Arrivals {
    last: std::sync::Mutex<Option<std::time::Instant>>,
}

impl Arrivals {
    /// A request arrives `now`: the gap since the one before (`None` for
    /// the first).
    pub fn arrive(&self, now: std::time::Instant) -> Option<Duration> {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let gap = last.map(|last| now.saturating_duration_since(last));
        *last = Some(now);
        gap
    }
}

/// Draws the close time of each connection a helper serves.
#[derive(Debug)]
pub(crate) struct CloseTimes {
    spread: Duration,
    /// Random keys, new for every `CloseTimes` in a process: hashing a
    /// counter with them gives each connection its own random number
    /// without a dependency on a random number crate.
    keys: RandomState,
    drawn: u64,
}

impl CloseTimes {
    /// Close times spread over half of `grace`.
    pub fn new(grace: Duration) -> Self {
        CloseTimes {
            spread: spread(grace),
            keys: RandomState::new(),
            drawn: 0,
        }
    }

    /// The next connection's close time.
    pub fn draw(&mut self) -> Duration {
        self.drawn += 1;
        close_time(self.spread, self.keys.hash_one(self.drawn))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{Arrivals, CloseTimes, close_time, should_close, spread};

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn the_spread_is_half_the_grace() {
        assert_eq!(spread(1000 * MS), 500 * MS);
        assert_eq!(spread(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn close_times_fill_the_window_and_stay_below_its_end() {
        let window = 500 * MS;
        assert_eq!(close_time(window, 0), Duration::ZERO);
        assert_eq!(close_time(window, 1 << 63), 250 * MS);
        assert_eq!(close_time(window, 1 << 62), 125 * MS);
        let last = close_time(window, u64::MAX);
        assert!(last < window, "{last:?}");
        assert!(window - last <= Duration::from_nanos(1), "{last:?}");
        // The smallest windows too.
        assert_eq!(
            close_time(Duration::from_nanos(1), u64::MAX),
            Duration::ZERO
        );
        // And the largest.
        assert!(close_time(Duration::MAX, u64::MAX) < Duration::MAX);
    }

    #[test]
    fn a_zero_spread_closes_at_once() {
        for random in [0, 1, 1 << 63, u64::MAX] {
            assert_eq!(close_time(Duration::ZERO, random), Duration::ZERO);
        }
        // A zero grace: the first response once draining closes.
        let mut times = CloseTimes::new(Duration::ZERO);
        let at = times.draw();
        assert_eq!(at, Duration::ZERO);
        assert!(should_close(
            Some(Duration::ZERO),
            at,
            Some(MS),
            Duration::ZERO
        ));
    }

    #[test]
    fn close_once_draining_has_lasted_the_close_time() {
        let (gap, grace) = (Some(MS), 1000 * MS);
        assert!(!should_close(None, Duration::ZERO, gap, grace));
        assert!(!should_close(None, 100 * MS, gap, grace));
        assert!(!should_close(Some(99 * MS), 100 * MS, gap, grace));
        assert!(should_close(Some(100 * MS), 100 * MS, gap, grace));
        assert!(should_close(Some(Duration::MAX), 100 * MS, gap, grace));
    }

    #[test]
    fn close_before_the_close_time_when_the_next_request_would_miss_lameduck() {
        let grace = 1000 * MS;
        let close_time = 450 * MS;
        // Polled every 0.7 s: at 0.35 s its next request would come at
        // 1.05 s, after lameduck, and race the close of its idle connection.
        assert!(should_close(
            Some(350 * MS),
            close_time,
            Some(700 * MS),
            grace
        ));
        // Every 0.5 s: back at 0.85 s, before lameduck; closed then.
        assert!(!should_close(
            Some(350 * MS),
            close_time,
            Some(500 * MS),
            grace
        ));
        assert!(should_close(
            Some(850 * MS),
            close_time,
            Some(500 * MS),
            grace
        ));
        // Every 0.64 s, answered at 0.35 s: back at 0.99 s by its gap, too
        // near lameduck to be sure (a few ms of jitter cross it): closed.
        assert!(should_close(
            Some(350 * MS),
            close_time,
            Some(640 * MS),
            grace
        ));
        assert!(!should_close(
            Some(250 * MS),
            close_time,
            Some(640 * MS),
            grace
        ));
        // A first request (no gap to go by) closes once draining.
        assert!(should_close(Some(Duration::ZERO), close_time, None, grace));
        assert!(!should_close(None, close_time, None, grace));
        // Never an overflow.
        assert!(should_close(
            Some(Duration::MAX),
            close_time,
            Some(Duration::MAX),
            grace
        ));
    }

    #[test]
    fn arrivals_give_the_gap_since_the_request_before() {
        let arrivals = Arrivals::default();
        let start = std::time::Instant::now();
        assert_eq!(arrivals.arrive(start), None);
        assert_eq!(arrivals.arrive(start + 700 * MS), Some(700 * MS));
        assert_eq!(arrivals.arrive(start + 800 * MS), Some(100 * MS));
    }

    /// 10,000 draws over a 1 s window (the default grace's spread is half
    /// that): all in the window, and spread over it evenly enough that
    /// each tenth holds about a tenth of them (the bounds are more than
    /// ten standard deviations wide).
    #[test]
    fn drawn_close_times_are_uniform_in_the_window() {
        let mut times = CloseTimes::new(2000 * MS);
        let mut tenths = [0; 10];
        for _ in 0..10_000 {
            let at = times.draw();
            assert!(at < 1000 * MS, "{at:?}");
            tenths[(at.as_millis() / 100) as usize] += 1;
        }
        for count in tenths {
            assert!((700..1300).contains(&count), "{tenths:?}");
        }
    }
}
