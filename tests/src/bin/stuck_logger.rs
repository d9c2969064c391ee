//! A program whose logger never finishes a flush (a network sink that
//! stopped answering, a lock held by a stuck thread): littleboss's exits
//! must not wait on it for ever.

struct Stuck;

impl log::Log for Stuck {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        println!("LOG {}: {}", record.level(), record.args());
    }
    fn flush(&self) {
        loop {
            std::thread::park();
        }
    }
}

static LOGGER: Stuck = Stuck;

#[littleboss::main(name = "stuck_logger", lameduck = "30s")]
async fn main(ctx: littleboss::Context) {
    log::set_logger(&LOGGER).unwrap();
    log::set_max_level(log::LevelFilter::Info);
    println!("serving pid={}", std::process::id());
    ctx.lameduck().await;
    println!("draining");
    // Draining for ever: only a second signal ends it.
    std::future::pending::<()>().await;
}
