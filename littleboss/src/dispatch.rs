//! Choosing the mode. Runs first in `main`, before littleboss starts any
//! thread or runtime (the program's code before `run` may have started
//! some: the environment is changed only through `environ`, which looks).

use crate::child::StartedBy;
use crate::config::Config;
use crate::entry::Entry;
use crate::exit::{USAGE, fail};
use crate::flags::{self, Mode};
use crate::log::log;
use crate::socket_key::{Assigned, given_one_socket_each};

/// Said when `run` is called inside a tokio runtime.
const IN_A_RUNTIME: &str = "`run` was called inside a tokio runtime or its context (`#[tokio::main]` on `main`, or a `Runtime::enter` guard still held): littleboss runs the tokio runtime itself; call `run` from a plain `fn main`, and choose the runtime with `flavor` and `worker_threads`";

/// Said when `run` is called on another thread while a first call runs.
const TWICE: &str = "`run` (or `run_sync`) was called a second time, from another thread, while the first call runs: littleboss runs the program once per process (what the process inherited is one call's to own); this thread waits for good, and the first call goes on; call `run` once, from `main`";

/// Said when `run` is called inside the program a first call runs.
const NESTED: &str = "`run` (or `run_sync`) was called inside the program that `run` runs: littleboss runs the program once per process; call `run` once, from `main`";

/// The thread of the first call of `run` in this process: what the
/// process inherited (the supervisor's channel, a new image's state) is
/// that call's to own.
static FIRST_CALL: std::sync::OnceLock<std::thread::ThreadId> = std::sync::OnceLock::new();

pub(crate) fn run(config: Config, entry: Entry<'_>) -> ! {
    let this_thread = std::thread::current().id();
    if FIRST_CALL.set(this_thread).is_err() {
        // Inside the first call's program (on its thread, or on a thread
        // of the runtime it runs): nothing of it goes on here.
        if FIRST_CALL.get() == Some(&this_thread) || crate::runtime::in_the_programs() {
            fail(USAGE, NESTED);
        }
        // Another thread's: an exit would end the first call half-way
        // (a new image taking the service over, a supervisor making its
        // control socket), so this thread alone stops.
        log!("{TWICE}");
        loop {
            std::thread::park();
        }
    }
    // Mistakes in the configuration, said where they reach a person: by
    // the supervisor this process was to take over from, or to, or here.
    let mut mistakes: Vec<String> = config.mistakes().iter().map(ToString::to_string).collect();
    // What a supervisor or a child tells of them.
    let mut told = Vec::new();
    if !mistakes.is_empty() {
        told.push(format!(
            "the configuration has mistakes: {}",
            mistakes.join("; ")
        ));
    }
    // Not the configuration's, but as much a mistake in every mode: the
    // program's runtime is littleboss's to build, and a supervisor's
    // would panic there (its files left behind), after its start had
    // worked run directly.
    if tokio::runtime::Handle::try_current().is_ok() {
        mistakes.push(IN_A_RUNTIME.to_owned());
        told.push(IN_A_RUNTIME.to_owned());
    }
    let mistaken = (!mistakes.is_empty()).then(|| mistakes.join("; "));
    let told = (!told.is_empty()).then(|| told.join("; "));
    // First: a supervisor's new image also has the channel variable (its
    // children inherit it).
    if let Some(handoff) = crate::supervisor::handoff_var() {
        // Run through a descriptor (`fexecve`): named after its number
        // before Linux 6.14.
        crate::process_name::restore();
        crate::supervisor::resume(&config, handoff, told.as_deref());
    }
    let wrapped_without_channel = match crate::child::started_by() {
        StartedBy::Supervisor(channel, supervisor) => {
            // A rollback's child runs from the binary held open, as
            // `/proc/self/fd/N`, and is named "N".
            crate::process_name::restore();
            crate::child::run(&config, (channel, supervisor), entry, told.as_deref());
        }
        StartedBy::WrapperWithoutChannel(why) => Some(why),
        StartedBy::Nobody => None,
    };
    let argv: Vec<_> = std::env::args_os().collect();
    // A usage mistake in `status --json` still prints an object.
    let usage = |message: String| -> ! {
        crate::sigpipe::ignore();
        if flags::asks_status_json(&config.flag, &argv) {
            crate::control::client::print_failure_json(&config.name, &message, USAGE);
        }
        fail(USAGE, message)
    };
    if let Some(mistaken) = &mistaken {
        // Said and exited with its code, not killed, into a closed pipe
        // (a builder program may have restored SIGPIPE's default).
        crate::sigpipe::ignore();
        if flags::asks_status_json(&config.flag, &argv) {
            crate::control::client::print_failure_json(&config.name, mistaken, USAGE);
        }
        for e in &mistakes {
            log!("{e}");
        }
        std::process::exit(USAGE);
    }
    let program = argv
        .first()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Asked for help, the user gets it, whatever else is wrong with the
    // command line (a mistake in the configuration is told first, above).
    if config.help && flags::asks_help(&argv) {
        crate::sigpipe::ignore();
        crate::control::client::print_out(&flags::usage(&config, &program));
        std::process::exit(0);
    }
    let inv = flags::parse(&config, argv.clone())
        .unwrap_or_else(|e| usage(format!("{e}\n{}", help_hint(&config, &program))));
    // The modes that take no program arguments answer `-h` themselves,
    // whatever `help` says: `-littleboss=stop --help` must not stop the
    // service. `start` and `reload` pass `-h` on to a program that
    // answers its own help (where it may mean something else: a host);
    // `--help`, `-help` and `--h` they refuse below, as `--version`.
    if matches!(inv.mode, Mode::Stop | Mode::Status) && flags::asks_help(&argv) {
        crate::sigpipe::ignore();
        crate::control::client::print_out(&flags::usage(&config, &program));
        std::process::exit(0);
    }
    // `--version` (or `--help`, a program answering its own): the program
    // would answer it as a child and exit rather than serve, failing the
    // start, or, a reload, taking the serving child's place as it went.
    // Among the program's words only: `--version :9091` sets a listener
    // named `version`, and `--version start` a mode flag so named.
    if let Some(asked) = inv.asks_the_program_itself() {
        usage(format!(
            "`{asked}` asks the program itself, which as a supervised child would answer it and exit rather than serve: run `{program} {asked}` without -{}={}",
            config.flag,
            inv.mode.name()
        ));
    }
    // Every mode but bypass finds the service by its control folder, and
    // its socket by a path no longer than a socket address holds: else no
    // supervisor can be started, or reached, there.
    if inv.mode != Mode::Bypass {
        use crate::control::dir;
        if let Some(mistake) = dir::env_mistake() {
            usage(mistake);
        }
        if let Err(e) = dir::check_socket_path(&dir::socket_path(&config.name)) {
            usage(e.to_string());
        }
    }
    // Two listeners given one socket, as `start` and bypass tell it: a
    // command-line mistake (exit 2), told before the supervisor is asked.
    // Only what it would refuse whatever it holds: one on its default
    // keeps a socket the service manager passed, wherever that is.
    if inv.mode == Mode::Reload {
        let assigned: Vec<Assigned> = inv.listeners.iter().map(Assigned::of).collect();
        if let Err(e) = given_one_socket_each(&assigned, &inv.given) {
            usage(e);
        }
    }
    // Started by a supervisor through a wrapper that closed the channel:
    // running unsupervised would serve beside it, for good.
    if inv.mode == Mode::Bypass
        && let Some(why) = wrapped_without_channel
    {
        fail(1, why);
    }
    match inv.mode {
        Mode::Bypass => crate::bypass::run(&config, inv, entry),
        Mode::Start => crate::supervisor::run(&config, inv),
        Mode::Reload | Mode::Stop | Mode::Status => crate::control::client::run(&config, inv),
    }
}

/// Where littleboss's flags are explained: `-h`, unless the program
/// answers that itself (`help = false`: its `-h` may be a host, and runs
/// the program); `stop` and `status` answer it whatever `help` says.
fn help_hint(config: &Config, program: &str) -> String {
    if config.help {
        format!("Run `{program} -h` for help.")
    } else {
        format!(
            "Run `{program} -{}=status -h` for littleboss's flags.",
            config.flag
        )
    }
}
