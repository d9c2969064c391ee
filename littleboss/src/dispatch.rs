//! Choosing the mode. Runs first in `main`, before any thread or runtime
//! exists, so the environment can be read and changed safely.

use tokio::runtime::Runtime;

use crate::builder::Config;
use crate::context::Context;
use crate::exit::{USAGE, fail};
use crate::flags::{self, Mode};
use crate::log::log;

/// The program's `main`, wrapped: runs on the given runtime, calls
/// `started` once it is under way, and returns the exit code.
pub(crate) type Entry<'a> = Box<dyn FnOnce(Context, &Runtime, Started) -> i32 + 'a>;

/// Called once when `main` is under way: with automatic readiness, that is
/// when the child reports ready.
pub(crate) type Started = Box<dyn FnOnce() + Send>;

pub(crate) fn run(config: Config, entry: Entry<'_>) -> ! {
    let mistakes = config.mistakes();
    if !mistakes.is_empty() {
        for e in &mistakes {
            log!("{e}");
        }
        std::process::exit(USAGE);
    }
    if let Some(link) = crate::child::channel_from_env() {
        crate::child::run(&config, link, entry);
    }
    let argv: Vec<_> = std::env::args_os().collect();
    let program = argv
        .first()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let inv = flags::parse(&config, argv)
        .unwrap_or_else(|e| fail(USAGE, format!("{e}\nRun `{program} -h` for help.")));
    if inv.help {
        print!("{}", flags::usage(&config, &program));
        std::process::exit(0);
    }
    match inv.mode {
        Mode::Bypass => crate::bypass::run(&config, inv, entry),
        Mode::Start => crate::supervisor::run(&config, inv),
        Mode::Reload | Mode::Stop | Mode::Status => crate::control::client::run(&config, inv),
    }
}
