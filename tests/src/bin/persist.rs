//! `persist` fixture: the first two runs exit with code 3 on their own; the
//! third serves until lameduck.

#[littleboss::main(name = "persist", persist = true)]
async fn main(ctx: littleboss::Context) {
    let run = tests::fixture::bump("persist-runs");
    println!("started run {run} pid={}", std::process::id());
    tokio::task::yield_now().await;
    if run < 3 {
        std::process::exit(3);
    }
    ctx.lameduck().await;
}
