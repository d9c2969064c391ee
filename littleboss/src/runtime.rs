//! The tokio runtime the program's `main` runs on.

use tokio::runtime::{Builder, Runtime};

use crate::config::{Config, Flavor};

/// Builds the runtime the configuration asks for (as `#[tokio::main]` would).
pub(crate) fn build(config: &Config) -> std::io::Result<Runtime> {
    let mut builder = match config.flavor {
        Flavor::CurrentThread => Builder::new_current_thread(),
        Flavor::MultiThread => Builder::new_multi_thread(),
    };
    if let (Flavor::MultiThread, Some(threads)) = (config.flavor, config.worker_threads) {
        builder.worker_threads(threads);
    }
    builder.enable_all().build()
}
