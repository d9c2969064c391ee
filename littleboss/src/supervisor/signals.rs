//! Signals to the supervisor become machine events: SIGTERM and SIGINT
//! stop, SIGHUP reloads, SIGCHLD reaps orphans. What a repeated one means
//! is the machine's to decide.
//!
//! The supervisor's threads keep these signals blocked for its whole life,
//! and it reads them from a signalfd. One not read yet stays pending in the
//! kernel, through an exec too: an upgrade in place hands the new image the
//! signals that arrived during it without having to collect them first.
//! Children get the four unblocked before their exec.
//!
//! Handlers are installed as well, for a thread the supervisor did not
//! start (code before `run` may have left one running): a signal the
//! kernel gives that thread runs the handler instead of its default
//! action, which would kill the supervisor. They also replace an ignored
//! disposition inherited from the parent (`nohup`, a shell's background
//! job), which would otherwise pass on to children and, for SIGCHLD, make
//! the kernel reap them before their watchers could.

use std::io;
use std::sync::LazyLock;

use nix::sys::signal::{SigSet, SigmaskHow, Signal as Number, pthread_sigmask};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, watch};

use super::machine::{Event, Signal};

/// The signals the supervisor handles, and what each becomes.
const HANDLED: [(Number, Signal); 4] = [
    (Number::SIGTERM, Signal::Term),
    (Number::SIGINT, Signal::Int),
    (Number::SIGHUP, Signal::Hup),
    (Number::SIGCHLD, Signal::Chld),
];

/// How many SIGCHLDs have been read, for the children watched by pid.
static CHILD_SIGNALS: LazyLock<watch::Sender<u64>> = LazyLock::new(|| watch::Sender::new(0));

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

/// Wakes at each SIGCHLD read (or handled) from now on.
pub(crate) fn child_signals() -> watch::Receiver<u64> {
    CHILD_SIGNALS.subscribe()
}

/// Blocks the handled signals, installs the handlers, then forwards each
/// signal as an [`Event`], those pending from before (an exec's) first.
/// Needs a tokio runtime on this thread.
pub(crate) fn forward(events: mpsc::UnboundedSender<Event>) -> io::Result<()> {
    block()?;
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    let mut chld = signal(SignalKind::child())?;
    let fd = SignalFd::with_flags(&handled(), SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)?;
    // SAFETY: the AsyncFd owns the signalfd outright, so it stays open and
    // the same signalfd for the AsyncFd's whole life.
    let registered = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) };
    let mut fd = Some(registered.map_err(|e| e.into_parts().1)?);
    tokio::spawn(async move {
        loop {
            // Read and sent in one poll: a signal taken from the kernel is
            // in the event queue before anything else in the runtime runs.
            let got = tokio::select! {
                read = read(fd.as_ref()) => read,
                _ = term.recv() => Ok(Some(Signal::Term)),
                _ = int.recv() => Ok(Some(Signal::Int)),
                _ = hup.recv() => Ok(Some(Signal::Hup)),
                _ = chld.recv() => Ok(Some(Signal::Chld)),
            };
            let signal = match got {
                Ok(Some(signal)) => signal,
                Ok(None) => continue,
                Err(e) => {
                    // Left blocked, they would wait forever: let them
                    // through to the handlers instead.
                    crate::log::log!("cannot read signals ({e}); taking them through handlers");
                    fd = None;
                    let _ = pthread_sigmask(SigmaskHow::SIG_UNBLOCK, Some(&handled()), None);
                    continue;
                }
            };
            if signal == Signal::Chld {
                CHILD_SIGNALS.send_modify(|n| *n += 1);
            }
            if events.send(Event::Signal(signal)).is_err() {
                return;
            }
        }
    });
    Ok(())
}

/// The next signal from the signalfd: `None` if it had none after all (or
/// one not handled). Never, without one.
async fn read(fd: Option<&AsyncFd<SignalFd>>) -> io::Result<Option<Signal>> {
    let Some(fd) = fd else {
        return std::future::pending().await;
    };
    let mut ready = fd.readable().await?;
    match fd.get_ref().read_signal()? {
        Some(info) => Ok(meaning(info.ssi_signo)),
        None => {
            ready.clear_ready();
            Ok(None)
        }
    }
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
        let number = |n: Number| n as i32 as u32;
        assert_eq!(meaning(number(Number::SIGTERM)), Some(Signal::Term));
        assert_eq!(meaning(number(Number::SIGINT)), Some(Signal::Int));
        assert_eq!(meaning(number(Number::SIGHUP)), Some(Signal::Hup));
        assert_eq!(meaning(number(Number::SIGCHLD)), Some(Signal::Chld));
        assert_eq!(meaning(number(Number::SIGUSR1)), None);
        assert_eq!(handled().iter().count(), 4);
    }
}
