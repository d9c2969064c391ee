//! Notifications the service manager turned away for want of room in its
//! queue (PID 1 busy: one queue takes every service's notifications, and
//! `net.unix.max_dgram_qlen` keeps it short), waiting their turn in order.
//! Pure: what waits, what goes, what is dropped. The notifier sends them.

use std::collections::VecDeque;

/// At most this many wait: a manager that reads nothing for minutes
/// would otherwise have the watchdog's and status's pile up. Past it the
/// oldest status line goes first, then the ping, then the oldest state
/// change said again later, else the oldest (see [`Waiting::push`]).
pub(super) const MAX_WAITING: usize = 16;

/// A notification waiting: its datagram, and what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Queued {
    /// The datagram.
    pub text: String,
    /// What it says.
    pub kind: Kind,
}

/// What a notification says, as far as waiting goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// READY, RELOADING, STOPPING: the manager waits on each, in order.
    StateChange,
    /// A status line: only the latest matters.
    Status,
    /// A watchdog ping: one waiting says as much as several.
    Watchdog,
}

/// The notifications waiting, oldest first.
#[derive(Debug, Default)]
pub(super) struct Waiting {
    queue: VecDeque<Queued>,
    /// A task is sending them.
    pub draining: bool,
    /// The first one's wait is logged already.
    pub front_said: bool,
    /// How many have been first so far: a new first one waits anew.
    fronts: u64,
}

impl Waiting {
    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// The first one waiting.
    pub fn front(&self) -> Option<&Queued> {
        self.queue.front()
    }

    /// How many have been first so far (one replaced in place does not
    /// count: its wait goes on), so that
    /// whoever times the first one's wait can tell a new one.
    pub fn fronts(&self) -> u64 {
        self.fronts
    }

    /// The first one is sent, or given up on.
    pub fn pop_front(&mut self) -> Option<Queued> {
        self.new_front();
        self.queue.pop_front()
    }

    /// Another is first (or none is): its wait is said anew.
    fn new_front(&mut self) {
        self.front_said = false;
        self.fronts += 1;
    }

    /// Adds `queued` behind the rest: a ping already waiting takes the
    /// place of another, and a status line that of the one right ahead of
    /// it (not across a state change, so that the manager sees the status
    /// each state had). Returns the one dropped when more than
    /// [`MAX_WAITING`] would wait: the oldest status line, else the ping
    /// (a missed ping can get the service killed; a status line is only
    /// news), else the oldest state change said again, word for word,
    /// later (reloads in a row: a plain `RELOADING=1` or `READY=1` whose
    /// like follows leaves the manager where it would be), else the
    /// oldest of all. A `RELOADING=1` stamped with `MONOTONIC_USEC`, which a
    /// manager waiting on its reload signal looks for, is never said
    /// again so and stays while another can go; so does the last of each.
    ///
    /// ```ignore
    /// let mut waiting = Waiting::default();
    /// waiting.push(Queued { text: "READY=1".into(), kind: Kind::StateChange });
    /// ```
    pub fn push(&mut self, queued: Queued) -> Option<Queued> {
        match queued.kind {
            Kind::Watchdog if self.queue.iter().any(|q| q.kind == Kind::Watchdog) => return None,
            Kind::Status => {
                if let Some(last) = self.queue.back_mut()
                    && last.kind == Kind::Status
                {
                    // At the front, its wait goes on as it was timed and
                    // said: the manager's queue has been full that long,
                    // whichever line waits (timed anew, lines coming
                    // faster than the timeout would never have it said).
                    *last = queued;
                    return None;
                }
            }
            Kind::StateChange | Kind::Watchdog => {}
        }
        if self.queue.is_empty() {
            self.new_front();
        }
        self.queue.push_back(queued);
        if self.queue.len() <= MAX_WAITING {
            return None;
        }
        let of = |kind| self.queue.iter().position(|q| q.kind == kind);
        let said_again = || {
            let queue = &self.queue;
            (0..queue.len()).find(|&i| queue.iter().skip(i + 1).any(|q| q.text == queue[i].text))
        };
        let oldest = (of(Kind::Status))
            .or_else(|| of(Kind::Watchdog))
            .or_else(said_again)
            .unwrap_or(0);
        if oldest == 0 {
            self.new_front();
        }
        self.queue.remove(oldest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queued(text: &str) -> Queued {
        let kind = match text {
            "WATCHDOG=1" => Kind::Watchdog,
            t if t.starts_with("STATUS=") => Kind::Status,
            _ => Kind::StateChange,
        };
        Queued {
            text: text.to_owned(),
            kind,
        }
    }

    fn texts(waiting: &Waiting) -> Vec<&str> {
        waiting.queue.iter().map(|q| q.text.as_str()).collect()
    }

    fn waiting_after(texts: &[&str]) -> Waiting {
        let mut waiting = Waiting::default();
        for text in texts {
            assert_eq!(waiting.push(queued(text)), None, "{text}");
        }
        waiting
    }

    #[test]
    fn state_changes_wait_in_order_each_of_them() {
        let mut waiting = waiting_after(&["RELOADING=1", "READY=1", "RELOADING=1", "READY=1"]);
        assert_eq!(
            texts(&waiting),
            ["RELOADING=1", "READY=1", "RELOADING=1", "READY=1"]
        );
        assert_eq!(waiting.pop_front().unwrap().text, "RELOADING=1");
        assert_eq!(waiting.front().unwrap().text, "READY=1");
    }

    #[test]
    fn one_ping_waits_however_many_are_sent() {
        let waiting = waiting_after(&["WATCHDOG=1", "READY=1", "WATCHDOG=1", "WATCHDOG=1"]);
        assert_eq!(texts(&waiting), ["WATCHDOG=1", "READY=1"]);
    }

    #[test]
    fn a_status_line_replaces_the_one_right_ahead_but_not_across_a_state_change() {
        let waiting = waiting_after(&[
            "STATUS=a",
            "STATUS=b",
            "RELOADING=1",
            "STATUS=c",
            "WATCHDOG=1",
            "STATUS=d",
            "STATUS=e",
        ]);
        assert_eq!(
            texts(&waiting),
            [
                "STATUS=b",
                "RELOADING=1",
                "STATUS=c",
                "WATCHDOG=1",
                "STATUS=e"
            ]
        );
    }

    #[test]
    fn the_front_replaced_waits_on_as_timed_and_a_new_front_anew() {
        let mut waiting = waiting_after(&["STATUS=a"]);
        let first = waiting.fronts();
        waiting.front_said = true;
        assert_eq!(waiting.push(queued("STATUS=b")), None);
        assert!(waiting.front_said);
        assert_eq!(waiting.fronts(), first);
        assert_eq!(waiting.front().map(|q| q.text.as_str()), Some("STATUS=b"));
        // One behind it leaves it first.
        assert_eq!(waiting.push(queued("READY=1")), None);
        assert_eq!(waiting.fronts(), first);
        waiting.pop_front();
        assert!(!waiting.front_said);
        assert_eq!(waiting.fronts(), first + 1);
        // Emptied, then one again: a new first, whoever times the wait.
        waiting.pop_front();
        let emptied = waiting.fronts();
        assert_eq!(waiting.push(queued("STOPPING=1")), None);
        assert_eq!(waiting.fronts(), emptied + 1);
    }

    #[test]
    fn past_the_bound_the_oldest_status_line_goes_then_the_ping() {
        let mut waiting = waiting_after(&["READY=1", "WATCHDOG=1"]);
        for n in 2..MAX_WAITING {
            let text = if n % 2 == 0 { "STOPPING=1" } else { "STATUS=x" };
            let _ = waiting.push(queued(text));
        }
        let dropped = waiting.push(queued("RELOADING=1"));
        assert_eq!(dropped.map(|d| d.text), Some("STATUS=x".to_owned()));
        assert_eq!(texts(&waiting).len(), MAX_WAITING);
        assert_eq!(
            &texts(&waiting)[..3],
            ["READY=1", "WATCHDOG=1", "STOPPING=1"]
        );
        assert_eq!(*texts(&waiting).last().unwrap(), "RELOADING=1");
        // No status line left: the ping.
        let mut waiting = waiting_after(&["READY=1", "WATCHDOG=1"]);
        for _ in 2..MAX_WAITING {
            let _ = waiting.push(queued("STOPPING=1"));
        }
        let dropped = waiting.push(queued("RELOADING=1"));
        assert_eq!(dropped.map(|d| d.text), Some("WATCHDOG=1".to_owned()));
        assert_eq!(texts(&waiting)[0], "READY=1");
    }

    #[test]
    fn past_the_bound_of_state_changes_alone_one_said_again_goes() {
        // Here the oldest is also one said again, so it goes; the stamped
        // test below has one go that is not the oldest.
        let mut waiting = Waiting::default();
        for n in 0..MAX_WAITING {
            let text = if n % 2 == 0 { "RELOADING=1" } else { "READY=1" };
            assert_eq!(waiting.push(queued(text)), None);
        }
        waiting.front_said = true;
        let dropped = waiting.push(queued("STOPPING=1"));
        assert_eq!(dropped.map(|d| d.text), Some("RELOADING=1".to_owned()));
        assert!(!waiting.front_said, "a new front");
        assert_eq!(texts(&waiting).len(), MAX_WAITING);
        assert_eq!(texts(&waiting)[0], "READY=1");
        assert_eq!(*texts(&waiting).last().unwrap(), "STOPPING=1");
    }

    #[test]
    fn past_the_bound_a_stamped_reloading_stays_while_another_can_go() {
        // `systemctl reload` of a Type=notify-reload service: its stamped
        // RELOADING=1 first, then reloads in a row from a deploy script,
        // the manager reading none of them.
        let stamped = "RELOADING=1\nMONOTONIC_USEC=5";
        let mut waiting = waiting_after(&[stamped, "READY=1"]);
        for n in 2..MAX_WAITING {
            let text = if n % 2 == 0 { "RELOADING=1" } else { "READY=1" };
            assert_eq!(waiting.push(queued(text)), None);
        }
        waiting.front_said = true;
        let dropped = waiting.push(queued("RELOADING=1"));
        assert_eq!(dropped.map(|d| d.text), Some("READY=1".to_owned()));
        assert!(waiting.front_said, "the front waits on");
        assert_eq!(&texts(&waiting)[..2], [stamped, "RELOADING=1"]);
        // Reloads on: the stamp is never the one to go, and the last of
        // each stays.
        for _ in 0..3 * MAX_WAITING {
            let _ = waiting.push(queued("READY=1"));
            let _ = waiting.push(queued("RELOADING=1"));
        }
        let _ = waiting.push(queued("READY=1"));
        assert_eq!(texts(&waiting)[0], stamped);
        assert_eq!(texts(&waiting).len(), MAX_WAITING);
        assert_eq!(
            &texts(&waiting)[MAX_WAITING - 2..],
            ["RELOADING=1", "READY=1"]
        );
    }

    #[test]
    fn past_the_bound_of_state_changes_none_said_again_the_oldest_goes() {
        let stamped = |n: usize| format!("RELOADING=1\nMONOTONIC_USEC={n}");
        let mut waiting = Waiting::default();
        for n in 0..MAX_WAITING {
            assert_eq!(waiting.push(queued(&stamped(n))), None);
        }
        waiting.front_said = true;
        let fronts = waiting.fronts();
        let dropped = waiting.push(queued(&stamped(MAX_WAITING)));
        assert_eq!(dropped.map(|d| d.text), Some(stamped(0)));
        assert!(!waiting.front_said, "a new front");
        assert_eq!(waiting.fronts(), fronts + 1);
        assert_eq!(texts(&waiting)[0], stamped(1));
    }
}
