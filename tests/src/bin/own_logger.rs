//! A program with a logger of its own: littleboss's lines from inside it
//! must reach that logger (printed here as `LOG LEVEL TARGET: message`),
//! not go around it to stderr. The logger buffers, as async and file
//! appenders do: its lines come out only when it is flushed, so a line
//! logged right before an exit shows only if littleboss flushed it.
//! With `OWN_LOGGER_ONLY_ITS_OWN` set, it filters as `RUST_LOG=own_logger`
//! does: records of any other target, littleboss's too, are turned away
//! (and printed at once as `DROPPED ...`, for the test to see none came).
//! With `OWN_LOGGER_OFF` set, its maximum level is `Off`, as
//! `RUST_LOG=off` makes env_logger's.

use std::sync::Mutex;

struct Buffered {
    lines: Mutex<Vec<String>>,
}

impl log::Log for Buffered {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        std::env::var_os("OWN_LOGGER_ONLY_ITS_OWN").is_none() || metadata.target() == "own_logger"
    }
    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            println!(
                "DROPPED {} {}: {}",
                record.level(),
                record.target(),
                record.args()
            );
            return;
        }
        let line = format!(
            "LOG {} {}: {}",
            record.level(),
            record.target(),
            record.args()
        );
        self.lines.lock().unwrap().push(line);
    }
    fn flush(&self) {
        for line in self.lines.lock().unwrap().drain(..) {
            println!("{line}");
        }
    }
}

static LOGGER: Buffered = Buffered {
    lines: Mutex::new(Vec::new()),
};

#[littleboss::main(name = "own_logger", lameduck = "300ms")]
async fn main(ctx: littleboss::Context) {
    log::set_logger(&LOGGER).unwrap();
    log::set_max_level(match std::env::var_os("OWN_LOGGER_OFF") {
        Some(_) => log::LevelFilter::Off,
        None => log::LevelFilter::Info,
    });
    println!("serving pid={}", std::process::id());
    ctx.lameduck().await;
    // Still running past the timeout: the lifecycle says why it exits.
    std::future::pending::<()>().await;
}
