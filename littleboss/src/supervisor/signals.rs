//! Signals to the supervisor become machine events: SIGTERM and SIGINT
//! stop, SIGHUP reloads, SIGCHLD reaps orphans. What a repeated one means
//! is the machine's to decide.

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use super::machine::{Event, Signal};

/// Installs the handlers and forwards each signal as an [`Event`].
pub(crate) fn forward(events: mpsc::UnboundedSender<Event>) -> std::io::Result<()> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    // Orphaned descendants to reap (our own children are their watchers').
    let mut chld = signal(SignalKind::child())?;
    tokio::spawn(async move {
        loop {
            let signal = tokio::select! {
                _ = term.recv() => Signal::Term,
                _ = int.recv() => Signal::Int,
                _ = hup.recv() => Signal::Hup,
                _ = chld.recv() => Signal::Chld,
            };
            if events.send(Event::Signal(signal)).is_err() {
                return;
            }
        }
    });
    Ok(())
}
