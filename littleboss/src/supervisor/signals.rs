//! Signals to the supervisor become events: SIGTERM and SIGINT stop (a
//! second one kills), SIGHUP reloads, SIGCHLD reaps orphans.

use nix::sys::signal::Signal;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use super::Event;

/// Installs the handlers and forwards each signal as an [`Event`].
pub(crate) fn forward(events: mpsc::UnboundedSender<Event>) -> std::io::Result<()> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    // Orphaned descendants to reap (our own children are tokio's).
    let mut chld = signal(SignalKind::child())?;
    tokio::spawn(async move {
        loop {
            let signal = tokio::select! {
                _ = term.recv() => Signal::SIGTERM,
                _ = int.recv() => Signal::SIGINT,
                _ = hup.recv() => Signal::SIGHUP,
                _ = chld.recv() => Signal::SIGCHLD,
            };
            if events.send(Event::Signal(signal)).is_err() {
                return;
            }
        }
    });
    Ok(())
}
