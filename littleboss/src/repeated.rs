//! A failure that may come many times a second, said once in a while
//! with how many came meanwhile: the supervisor's log must not be flooded
//! by what a peer keeps doing (a control client's garbage, a child's bad
//! messages) or by a condition that lasts (out of descriptors).
//!
//! ```ignore
//! let mut bad = Repeated::new();
//! bad.say(|more| log!("child pid 7 sent a bad message{more}"));
//! ```

use std::time::Duration;

/// How long after saying that something keeps failing (accepting a
/// control connection, which is retried every 100 ms; too many open; a
/// child sending what cannot be read) the supervisor says it again.
pub(crate) const REPEAT_QUIET: Duration = Duration::from_secs(10);

/// A [`Repeated`] shared with the task that tells how many went unsaid
/// (see [`say_telling_the_end`]).
pub(crate) type Shared = std::sync::Arc<std::sync::Mutex<Repeated>>;

/// [`Repeated::say`] on `shared`; and, when this failure is the first
/// held back in its quiet, a task (on the runtime this runs on) that
/// tells with `end` how many went unsaid once that quiet is over, though
/// no more come: a burst's end is not left untold.
///
/// ```ignore
/// say_telling_the_end(&refusals, |since| log!("refused{since}"), |n| log!("refused: {n} more"));
/// ```
pub(crate) fn say_telling_the_end(
    shared: &Shared,
    what: impl FnOnce(String),
    end: impl FnOnce(u64) + Send + 'static,
) {
    let due = {
        let mut repeated = shared.lock().unwrap_or_else(|e| e.into_inner());
        repeated.say(what);
        repeated.first_held_back()
    };
    if let Some(due) = due
        && let Ok(runtime) = tokio::runtime::Handle::try_current()
    {
        let shared = shared.clone();
        runtime.spawn(async move {
            tokio::time::sleep_until(due).await;
            let mut repeated = shared.lock().unwrap_or_else(|e| e.into_inner());
            repeated.say_unsaid(end);
        });
    }
}

/// How the end of a burst says when its unsaid ones came (after "N
/// more").
pub(crate) const AFTER_THE_LAST_SAID: &str = " in the 10s after the last said";

/// A failure said once per [`REPEAT_QUIET`], with how many came since.
#[derive(Default)]
pub(crate) struct Repeated {
    quiet_until: Option<tokio::time::Instant>,
    unsaid: u64,
}

impl Repeated {
    /// None said yet.
    pub(crate) const fn new() -> Repeated {
        Repeated {
            quiet_until: None,
            unsaid: 0,
        }
    }

    /// Says it with `what`, given how many went unsaid before (as
    /// " (N more since the last said)"), unless one was said lately.
    pub(crate) fn say(&mut self, what: impl FnOnce(String)) {
        let now = tokio::time::Instant::now();
        if self.quiet_until.is_some_and(|until| now < until) {
            self.unsaid += 1;
            return;
        }
        what(match self.unsaid {
            0 => String::new(),
            n => format!(" ({n} more since the last said)"),
        });
        self.quiet_until = Some(now + REPEAT_QUIET);
        self.unsaid = 0;
    }

    /// When the quiet since the last said ends, if the failure just
    /// counted was the first held back in it: then whoever has a clock
    /// calls [`Repeated::say_unsaid`] at that moment, so that the end of a
    /// burst is told though no failure comes after it.
    pub(crate) fn first_held_back(&self) -> Option<tokio::time::Instant> {
        self.quiet_until.filter(|_| self.unsaid == 1)
    }

    /// Says how many went unsaid, with `what`, if any did and the quiet
    /// since the last said is over. No new quiet begins: the next failure
    /// is said whole (a lasting one with its words, which may have
    /// changed), and so at most two lines in a quiet's length.
    pub(crate) fn say_unsaid(&mut self, what: impl FnOnce(u64)) {
        let now = tokio::time::Instant::now();
        if self.unsaid == 0 || self.quiet_until.is_some_and(|until| now < until) {
            return;
        }
        what(std::mem::take(&mut self.unsaid));
    }

    /// How many went unsaid since the last said, if any, counted from
    /// now on as said: for when no more will come (the peer is gone),
    /// so that a burst at its end is not left untold.
    pub(crate) fn take_unsaid(&mut self) -> Option<u64> {
        Some(std::mem::take(&mut self.unsaid)).filter(|n| *n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::{REPEAT_QUIET, Repeated};

    #[test]
    fn the_end_of_a_burst_says_the_quiet_it_counts() {
        let quiet = format!(" in the {REPEAT_QUIET:?} after the last said");
        assert_eq!(super::AFTER_THE_LAST_SAID, quiet);
    }

    #[tokio::test(start_paused = true)]
    async fn the_end_of_a_burst_is_told_once_its_quiet_is_over() {
        let mut repeated = Repeated::new();
        let mut said = Vec::new();
        repeated.say(|more| said.push(more));
        assert_eq!(repeated.first_held_back(), None, "none held back yet");
        repeated.say(|more| said.push(more));
        let due = repeated.first_held_back().expect("the first held back");
        assert_eq!(due, tokio::time::Instant::now() + REPEAT_QUIET);
        repeated.say(|more| said.push(more));
        assert_eq!(repeated.first_held_back(), None, "asked for once");
        // Not before its time.
        let mut told = Vec::new();
        repeated.say_unsaid(|n| told.push(n));
        assert!(told.is_empty());
        tokio::time::advance(REPEAT_QUIET).await;
        repeated.say_unsaid(|n| told.push(n));
        repeated.say_unsaid(|n| told.push(n));
        assert_eq!(told, [2]);
        // The next said whole, with its own words, and a new quiet from
        // it: the one after held back, and asking again.
        repeated.say(|more| said.push(more));
        assert_eq!(said, ["", ""]);
        repeated.say(|more| said.push(more));
        assert_eq!(said, ["", ""]);
        assert!(repeated.first_held_back().is_some());
    }

    #[test]
    fn a_burst_left_unsaid_is_counted_once() {
        let mut repeated = Repeated::new();
        let mut said = Vec::new();
        for _ in 0..5 {
            repeated.say(|more| said.push(more));
        }
        assert_eq!(said, [""]);
        assert_eq!(repeated.take_unsaid(), Some(4));
        assert_eq!(repeated.take_unsaid(), None);
    }
}
