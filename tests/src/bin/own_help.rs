//! A program that leaves `-h`/`--help` to itself (`help = false`): it
//! answers `--help` without taking its listener, and takes it whatever
//! else it is given (`-h` included), serving until lameduck. With
//! `OWN_HELP_LOGGER_BLOCKS` set, its logger blocks for ever on
//! littleboss's lines (a sink that stopped answering), after printing
//! each (or, set to `silent`, before).

struct Blocking;

impl log::Log for Blocking {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        if std::env::var_os("OWN_HELP_LOGGER_BLOCKS").is_some_and(|v| v != "silent") {
            println!("LOG {}: {}", record.level(), record.args());
        }
        if record.target() == "littleboss" {
            loop {
                std::thread::park();
            }
        }
    }
    fn flush(&self) {}
}

static LOGGER: Blocking = Blocking;

#[littleboss::main(name = "own_help", listener(addr = "tcp:127.0.0.1:0"), help = false)]
async fn main(ctx: littleboss::Context) {
    if std::env::var_os("OWN_HELP_LOGGER_BLOCKS").is_some() {
        log::set_logger(&LOGGER).unwrap();
        log::set_max_level(log::LevelFilter::Info);
    }
    if ctx.args().iter().any(|a| a == "--help") {
        println!("own_help: the program's own help");
        return;
    }
    let listener = ctx.tcp("addr").expect("addr listener");
    println!("serving on {}", listener.local_addr().unwrap());
    ctx.lameduck().await;
}
