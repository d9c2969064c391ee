//! `persist` fixture: the first two runs exit with code 3 on their own
//! (with `clean`, code 0); the third serves until lameduck.

#[littleboss::main(name = "persist", persist = true)]
async fn main(ctx: littleboss::Context) {
    let run = tests::fixture::bump("persist-runs");
    println!("started run {run} pid={}", std::process::id());
    tokio::task::yield_now().await;
    if run < 3 {
        let clean = std::env::args().any(|a| a == "clean");
        std::process::exit(if clean { 0 } else { 3 });
    }
    ctx.lameduck().await;
}
