//! A `versioned` binary with manual readiness that takes 400 ms to warm up
//! before it calls `ctx.ready()` and serves `v4 PID`. While a file `hold`
//! exists beside its control folder (`$LITTLEBOSS_DIR/../hold`), it warms
//! up until the test removes it (or lameduck): a test that must act while
//! a child is starting is then not racing a timer.

use std::path::PathBuf;
use std::time::Duration;

#[littleboss::main(
    name = "versioned",
    listener(addr = "tcp:127.0.0.1:0"),
    ready = "manual"
)]
async fn main(ctx: littleboss::Context) {
    let listener = ctx.tcp("addr").expect("addr listener");
    let pid = std::process::id();
    let hold = std::env::var_os("LITTLEBOSS_DIR").map(|dir| PathBuf::from(dir).join("../hold"));
    let held = hold.as_ref().is_some_and(|h| h.exists());
    println!(
        "warming up version 4 pid={pid} argv0={}{}",
        ctx.args()[0],
        if held { " (held)" } else { "" }
    );
    match hold.filter(|_| held) {
        Some(hold) => {
            let lameduck = ctx.lameduck();
            tokio::pin!(lameduck);
            while hold.exists() {
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_millis(10)) => {}
                    () = &mut lameduck => break,
                }
            }
        }
        None => tokio::time::sleep(Duration::from_millis(400)).await,
    }
    println!("version 4 ready pid={pid}");
    ctx.ready();
    tests::fixture::serve_greetings(listener, format!("v4 {pid}"), ctx.lameduck()).await;
}
