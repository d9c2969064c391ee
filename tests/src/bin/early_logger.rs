//! A builder program that sets up its logger before `run` (printed at once
//! on stdout as `LOG LEVEL TARGET: message`): what littleboss says while
//! binding its listeners in bypass mode (a service manager's socket left
//! over, say) must reach that logger, not go around it to stderr.

struct Printed;

impl log::Log for Printed {
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

static LOGGER: Printed = Printed;

fn main() {
    log::set_logger(&LOGGER).unwrap();
    log::set_max_level(log::LevelFilter::Info);
    littleboss::Littleboss::new("early_logger")
        .listener("addr", "tcp:127.0.0.1:0")
        .run(|ctx: littleboss::Context| async move {
            let listener = ctx.tcp("addr").expect("addr listener");
            println!("serving addr={}", listener.local_addr().unwrap());
        })
}
