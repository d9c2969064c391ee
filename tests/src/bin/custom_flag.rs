//! A service whose mode flag is `-service`, not `-littleboss`: prints its
//! pid and arguments, then serves until lameduck; given `--once`, it
//! returns at once (for a run whose `-littleboss=...` is the program's).

#[littleboss::main(
    name = "customflag",
    flag = "service",
    listener(addr = "tcp:127.0.0.1:0")
)]
async fn main(ctx: littleboss::Context) {
    let args = ctx.args()[1..].join(" ");
    println!("serving pid={} args={args}", std::process::id());
    if ctx.args().iter().any(|a| a == "--once") {
        return;
    }
    let listener = ctx.tcp("addr").expect("addr listener");
    let lameduck = ctx.lameduck();
    tokio::pin!(lameduck);
    loop {
        tokio::select! {
            accepted = listener.accept() => drop(accepted),
            () = &mut lameduck => break,
        }
    }
}
