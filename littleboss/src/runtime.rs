//! The tokio runtime the program's `main` runs on.

use tokio::runtime::{Builder, Runtime};

use crate::config::{Config, Flavor};

/// The id of the runtime built for the program: a `run` called on one of
/// its threads is a call inside the program.
static PROGRAM_RUNTIME: std::sync::OnceLock<tokio::runtime::Id> = std::sync::OnceLock::new();

/// Builds the runtime the configuration asks for (as `#[tokio::main]` would).
pub(crate) fn build(config: &Config) -> std::io::Result<Runtime> {
    let mut builder = match config.flavor {
        Flavor::CurrentThread => Builder::new_current_thread(),
        Flavor::MultiThread => Builder::new_multi_thread(),
    };
    if let (Flavor::MultiThread, Some(threads)) = (config.flavor, config.worker_threads) {
        builder.worker_threads(threads);
    }
    let runtime = builder.enable_all().build()?;
    let _ = PROGRAM_RUNTIME.set(runtime.handle().id());
    Ok(runtime)
}

/// Whether the calling thread is in the program's runtime (one of its
/// threads, or inside its context).
pub(crate) fn in_the_programs() -> bool {
    let current = tokio::runtime::Handle::try_current();
    current.is_ok_and(|handle| PROGRAM_RUNTIME.get() == Some(&handle.id()))
}
