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

    /// How many went unsaid since the last said, if any, counted from
    /// now on as said: for when no more will come (the peer is gone),
    /// so that a burst at its end is not left untold.
    pub(crate) fn take_unsaid(&mut self) -> Option<u64> {
        Some(std::mem::take(&mut self.unsaid)).filter(|n| *n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::Repeated;

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
