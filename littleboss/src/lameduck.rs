//! Lameduck in the program's process: the flag `Context::lameduck` waits
//! on, the listener copies `Context` holds, and the signals that start it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use crate::context::Listener;
use crate::report::warning;

/// The listeners a `Context` hands out, shared with whoever begins lameduck.
pub(crate) type Listeners = Arc<Mutex<Vec<Listener>>>;

/// Begins lameduck once, from whichever thread learns of it first.
#[derive(Debug)]
pub(crate) struct Lameduck {
    flag: watch::Sender<bool>,
    listeners: Listeners,
}

impl Lameduck {
    pub fn new(listeners: Listeners) -> (Arc<Lameduck>, watch::Receiver<bool>) {
        let (flag, rx) = watch::channel(false);
        (Arc::new(Lameduck { flag, listeners }), rx)
    }

    /// Completes `Context::lameduck` after dropping `Context`'s copies of
    /// the listeners the program has taken: once it drops its own, the
    /// socket is closed here (in bypass mode, new connections are then
    /// refused instead of queued and reset at exit). A listener not taken
    /// yet stays available: a program told to stop while still starting
    /// must not find it gone.
    pub fn begin(&self) {
        // The copies go first: a program that closes its listener the
        // moment lameduck completes must find the socket closed for good.
        for listener in self
            .listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter_mut()
            .filter(|l| l.taken)
        {
            listener.fd = None;
        }
        self.flag.send_replace(true);
    }
}

/// Watches SIGINT and SIGTERM on a thread of its own, so that it works
/// whatever the program's runtime is doing: the first begins lameduck; a
/// second, or the lameduck timeout, ends the process. Returns once the
/// handlers are installed.
pub(crate) fn on_signals(lameduck: Arc<Lameduck>, timeout: Duration) {
    use tokio::signal::unix::{SignalKind, signal};
    let (installed_tx, installed_rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("littleboss-signals".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("signal runtime");
            rt.block_on(async move {
                let (Ok(mut term), Ok(mut int)) = (
                    signal(SignalKind::terminate()),
                    signal(SignalKind::interrupt()),
                ) else {
                    let _ = installed_tx.send(());
                    return;
                };
                let _ = installed_tx.send(());
                let first = tokio::select! { _ = term.recv() => 15, _ = int.recv() => 2 };
                lameduck.begin();
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                    _ = tokio::time::sleep(timeout) => {
                        warning!("still running {timeout:?} after the signal; exiting");
                    }
                }
                std::process::exit(128 + first);
            });
        })
        .expect("spawn the signal thread");
    let _ = installed_rx.recv();
}
