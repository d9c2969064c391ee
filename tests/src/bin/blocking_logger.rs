//! A program whose logger blocks for ever on littleboss's lines (a sink
//! that stopped answering, a lock a stuck thread holds), after printing
//! each: an orphaned child must still exit at its lameduck timeout.

struct Blocking;

impl log::Log for Blocking {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        println!("LOG {}: {}", record.level(), record.args());
        if record.target() == "littleboss" {
            loop {
                std::thread::park();
            }
        }
    }
    fn flush(&self) {}
}

static LOGGER: Blocking = Blocking;

#[littleboss::main(name = "blocking_logger", lameduck = "2s")]
async fn main(ctx: littleboss::Context) {
    log::set_logger(&LOGGER).unwrap();
    log::set_max_level(log::LevelFilter::Info);
    println!("serving pid={}", std::process::id());
    ctx.lameduck().await;
    println!("draining");
    // Draining for ever: only the deadline ends it.
    std::future::pending::<()>().await;
}
