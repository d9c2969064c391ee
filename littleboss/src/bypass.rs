//! Bypass mode: no supervisor; the program binds its own listeners and runs.
//!
//! SIGINT and SIGTERM start lameduck as they would under a supervisor, so a
//! program that shuts down gracefully on `ctx.lameduck()` does so here too:
//! draining first (the TCP listeners stop yielding connections, and those
//! bound here are shut, so that new connections are refused rather than
//! queued for nobody), lameduck a grace later (or once every connection
//! accepted has closed).
//! A second signal, or the lameduck timeout, ends the process.

use std::sync::{Arc, Mutex, OnceLock};

use crate::config::Config;
use crate::context::{Context, Timing};
use crate::entry::Entry;
use crate::flags::{self, Invocation};
use crate::lameduck::{Lameduck, Listener};
use crate::own_file::OwnFile;
use crate::report::fail;
use crate::socket_key::{Assigned, one_socket_each_here};

/// Has the socket files `lameduck` has not removed yet removed when this
/// process calls `exit`: a `std::process::exit` in `main` (which
/// littleboss's own note advises for an exit code other than 0 or 1)
/// skips the removals below. Not in a copy the program forked, whose exit
/// must not take its parent's files (a parent that exits while its forked
/// copy serves on takes them, as its return from `main` would). Called
/// once.
fn remove_at_exit(lameduck: &Arc<Lameduck>) {
    static LAMEDUCK: OnceLock<(i32, Arc<Lameduck>)> = OnceLock::new();
    extern "C" fn at_exit() {
        if let Some((ours, lameduck)) = LAMEDUCK.get()
            && *ours == nix::unistd::getpid().as_raw()
        {
            lameduck.remove_socket_files_within(crate::lameduck::FILES_PATIENCE);
        }
    }
    let pid = nix::unistd::getpid().as_raw();
    if LAMEDUCK.set((pid, lameduck.clone())).is_ok() {
        // SAFETY: registers a function with no arguments, for the C
        // library to call at `exit`; nothing is freed or borrowed.
        unsafe { nix::libc::atexit(at_exit) };
    }
}

pub(crate) fn run(config: &Config, inv: Invocation, entry: Entry<'_>) -> ! {
    // A command-line mistake, as `start` tells it: not "address in use".
    let assigned: Vec<Assigned> = inv.listeners.iter().map(Assigned::of).collect();
    one_socket_each_here(&assigned).unwrap_or_else(|e| fail(2, e));
    let activated = crate::activation::from_env().unwrap_or_else(|e| fail(1, e));
    // A program must answer its own `--version` (and, littleboss's `help`
    // off, its own `--help`; on, littleboss answered that already) while
    // its ports are taken (by its running service, say) or not its own
    // (443 for a user): a listener that cannot be bound fails the process
    // only if the program takes it.
    let (bound, unbound) = match crate::listener::bind_all(&inv.listeners, activated) {
        Ok(bound) => (bound, None),
        Err(e) if flags::asks_help_or_version(&inv.program_args) => (
            inv.listeners.iter().map(|_| None).collect(),
            Some(e.to_string()),
        ),
        Err(e) => fail(1, e),
    };
    // The socket files bound here are ours to remove as we exit, as a
    // supervisor removes its own; a passed socket's file is systemd's.
    let own_files: Vec<OwnFile> = bound
        .iter()
        .filter_map(|b| b.as_ref()?.unix_file.clone())
        .collect();
    let listeners = inv
        .listeners
        .iter()
        .zip(bound)
        .map(|(spec, b)| Listener {
            name: spec.name.clone(),
            network: spec.network,
            managers: b.as_ref().is_some_and(|b| !b.bound_here),
            served_beside: false,
            unbound: unbound.clone().filter(|_| spec.address.is_some()),
            fd: b.map(|b| b.fd),
            taken: false,
        })
        .collect();
    let listeners = Arc::new(Mutex::new(listeners));
    let grace = crate::lameduck::grace(config);
    // Sockets of our own are shut when draining begins, refusing new
    // connections at once; systemd's stay open, queueing for the next start.
    let (lameduck, phase) = Lameduck::new(listeners.clone(), grace, true, false);
    lameduck.remove_at_refusal(own_files);
    remove_at_exit(&lameduck);
    // `lameduck` is kept to the end of `run`, which ends the process.
    // SIGHUP stays the program's own: without a supervisor, nothing else
    // would make sense of it.
    // An early exit removes them too.
    let fail_removing = |message: String| -> ! {
        lameduck.remove_socket_files();
        fail(1, message)
    };
    crate::lameduck::on_signals(lameduck.clone(), config.lameduck, None).unwrap_or_else(|e| {
        fail_removing(format!("cannot start the thread watching for signals: {e}"))
    });
    let rt = crate::runtime::build(config)
        .unwrap_or_else(|e| fail_removing(format!("cannot start the tokio runtime: {e}")));
    let timing = Timing {
        phase,
        lameduck_timeout: config.lameduck,
        grace,
        accepted: lameduck.accepted(),
    };
    let ctx = Context::new(
        listeners,
        timing,
        None,
        inv.program_args,
        flags::flags_help(config),
    );
    // Returns when `main` has returned or panicked.
    let ended = crate::entry::call(entry, ctx, &rt, Box::new(|| {}));
    ended.say();
    let code = ended.code;
    lameduck.remove_socket_files();
    crate::report::exit(code)
}
