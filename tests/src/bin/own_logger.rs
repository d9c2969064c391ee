//! A program with a logger of its own: littleboss's lines from inside it
//! must reach that logger (printed here as `LOG LEVEL TARGET: message`),
//! not go around it to stderr.

struct Printer;

impl log::Log for Printer {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        println!(
            "LOG {} {}: {}",
            record.level(),
            record.target(),
            record.args()
        );
    }
    fn flush(&self) {}
}

#[littleboss::main(name = "own_logger", lameduck = "300ms")]
async fn main(ctx: littleboss::Context) {
    log::set_logger(&Printer).unwrap();
    log::set_max_level(log::LevelFilter::Info);
    println!("serving pid={}", std::process::id());
    ctx.lameduck().await;
    // Still running past the timeout: the lifecycle says why it exits.
    std::future::pending::<()>().await;
}
