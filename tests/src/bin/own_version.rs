//! A program that answers its own `--version` (and clap's `-V`) without
//! taking its listener, littleboss answering `-h`/`--help` (`help` left
//! on); given anything else, it takes the listener and serves until
//! lameduck.

#[littleboss::main(name = "own_version", listener(addr = "tcp:127.0.0.1:0"))]
async fn main(ctx: littleboss::Context) {
    if ctx.args().iter().any(|a| a == "--version" || a == "-V") {
        println!("own_version 1.0");
        return;
    }
    let listener = ctx.tcp("addr").expect("addr listener");
    println!("serving on {}", listener.local_addr().unwrap());
    ctx.lameduck().await;
}
