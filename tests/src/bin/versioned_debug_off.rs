//! A `versioned` binary that declares, beside `addr`, a listener off by
//! default (`debug`), which version 1 did not: reloaded by SIGHUP after a
//! deploy replaced version 1, it answers `debug-off PID debug=none`.

#[littleboss::main(name = "versioned", listener(addr = "tcp:127.0.0.1:0", debug = "tcp:"))]
async fn main(ctx: littleboss::Context) {
    let listener = ctx.tcp("addr").expect("addr listener");
    let debug = match ctx.tcp("debug") {
        Some(_) => "some",
        None => "none",
    };
    let pid = std::process::id();
    let greeting = format!("debug-off {pid} debug={debug}");
    tests::fixture::serve_greetings(listener, greeting, ctx.lameduck()).await;
}
