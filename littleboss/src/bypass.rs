//! Bypass mode: no supervisor; the program binds its own listeners and runs.
//!
//! SIGINT and SIGTERM start lameduck as they would under a supervisor, so a
//! program that shuts down gracefully on `ctx.lameduck()` does so here too.
//! A second signal, or the lameduck timeout, ends the process.

use std::time::Duration;

use tokio::sync::watch;

use crate::builder::Config;
use crate::context::{Context, Listener};
use crate::dispatch::Entry;
use crate::exit::fail;
use crate::flags::{self, Invocation};
use crate::log::log;

pub(crate) fn run(config: &Config, inv: Invocation, entry: Entry<'_>) -> ! {
    let bound = crate::listener::bind_all(&inv.listeners).unwrap_or_else(|e| fail(1, e));
    let listeners = inv
        .listeners
        .iter()
        .zip(bound)
        .map(|(spec, b)| Listener {
            name: spec.name.clone(),
            network: spec.network,
            fd: b.map(|b| b.fd),
        })
        .collect();
    let (lameduck_tx, lameduck_rx) = watch::channel(false);
    watch_signals(lameduck_tx, config.lameduck);
    let rt = crate::runtime::build(config)
        .unwrap_or_else(|e| fail(1, format!("cannot start the tokio runtime: {e}")));
    let ctx = Context::new(
        listeners,
        lameduck_rx,
        None,
        inv.program_args,
        flags::flags_help(config),
    );
    let code = entry(ctx, &rt, Box::new(|| {}));
    std::process::exit(code)
}

/// A thread of its own watches for signals, so that lameduck works whatever
/// the program's runtime is doing. Returns once the handlers are installed.
fn watch_signals(lameduck: watch::Sender<bool>, timeout: Duration) {
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
                lameduck.send_replace(true);
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                    _ = tokio::time::sleep(timeout) => {
                        log!("still running {timeout:?} after the signal; exiting");
                    }
                }
                std::process::exit(128 + first);
            });
        })
        .expect("spawn the signal thread");
    let _ = installed_rx.recv();
}
