//! A program that leaves `-h`/`--help` to itself (`help = false`): it
//! answers `--help` (and `--version`, or clap's `-V`) without taking its listener, and
//! takes it whatever else it is given (`-h` included), serving until
//! lameduck. With `OWN_HELP_LOGGER_BLOCKS` set, its logger blocks for
//! ever on littleboss's lines (a sink that stopped answering), after
//! printing each (or, set to `silent`, without printing it).

#[littleboss::main(name = "own_help", listener(addr = "tcp:127.0.0.1:0"), help = false)]
async fn main(ctx: littleboss::Context) {
    if let Some(blocks) = std::env::var_os("OWN_HELP_LOGGER_BLOCKS") {
        tests::fixture::install_blocking_logger(blocks == "silent");
    }
    if ctx.args().iter().any(|a| a == "--help") {
        println!("own_help: the program's own help");
        return;
    }
    if ctx.args().iter().any(|a| a == "--version" || a == "-V") {
        println!("own_help 1.0");
        return;
    }
    let listener = ctx.tcp("addr").expect("addr listener");
    println!("serving on {}", listener.local_addr().unwrap());
    ctx.lameduck().await;
}
