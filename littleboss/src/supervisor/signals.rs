//! Signals to the supervisor become machine events: SIGTERM and SIGINT
//! stop, SIGHUP reloads, SIGCHLD reaps orphans. What a repeated one means
//! is the machine's to decide.
//!
//! The supervisor keeps these signals blocked for its whole life and reads
//! them from a signalfd, without a handler. One not read yet stays pending
//! in the kernel, through an exec too: an upgrade in place hands the new
//! image the signals that arrived during it without having to collect them
//! first, and a child gets the mask back to empty before its exec.

use std::io;

use nix::sys::signal::{SigSet, SigmaskHow, Signal as Number, pthread_sigmask};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc;

use super::machine::{Event, Signal};

/// The signals the supervisor handles, and what each becomes.
const HANDLED: [(Number, Signal); 4] = [
    (Number::SIGTERM, Signal::Term),
    (Number::SIGINT, Signal::Int),
    (Number::SIGHUP, Signal::Hup),
    (Number::SIGCHLD, Signal::Chld),
];

/// The set of [`HANDLED`] signals.
pub(crate) fn handled() -> SigSet {
    let mut set = SigSet::empty();
    for (number, _) in HANDLED {
        set.add(number);
    }
    set
}

/// Blocks the handled signals on this thread and on every thread it starts
/// from now on (a new thread inherits the mask), so that they wait in the
/// kernel for the signalfd.
pub(crate) fn block() -> io::Result<()> {
    pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&handled()), None)?;
    Ok(())
}

/// Blocks the handled signals, then forwards each one as an [`Event`],
/// those pending from before (an exec's) first. Needs a tokio runtime.
pub(crate) fn forward(events: mpsc::UnboundedSender<Event>) -> io::Result<()> {
    block()?;
    let fd = SignalFd::with_flags(&handled(), SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)?;
    // SAFETY: the AsyncFd owns the signalfd outright, so it stays open and
    // the same signalfd for the AsyncFd's whole life.
    let registered = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) };
    let fd = registered.map_err(|e| e.into_parts().1)?;
    tokio::spawn(async move {
        loop {
            let Ok(mut ready) = fd.readable().await else {
                return;
            };
            // Read and sent in one poll: a signal taken from the kernel is
            // in the event queue before anything else in the runtime runs.
            match fd.get_ref().read_signal() {
                Ok(Some(info)) => {
                    let Some(signal) = meaning(info.ssi_signo) else {
                        continue;
                    };
                    if events.send(Event::Signal(signal)).is_err() {
                        return;
                    }
                }
                Ok(None) => ready.clear_ready(),
                Err(e) => {
                    crate::log::log!("cannot read signals: {e}");
                    return;
                }
            }
        }
    });
    Ok(())
}

/// What signal number `number` is to the machine, if one it handles.
fn meaning(number: u32) -> Option<Signal> {
    HANDLED
        .iter()
        .find(|(n, _)| *n as i32 as u32 == number)
        .map(|(_, signal)| *signal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_handled_number_has_its_meaning_and_no_other_does() {
        assert_eq!(meaning(15), Some(Signal::Term));
        assert_eq!(meaning(2), Some(Signal::Int));
        assert_eq!(meaning(1), Some(Signal::Hup));
        assert_eq!(meaning(17), Some(Signal::Chld));
        assert_eq!(meaning(10), None);
        assert_eq!(handled().iter().count(), 4);
    }
}
