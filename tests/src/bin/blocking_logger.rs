//! A program whose logger blocks for ever on littleboss's lines (a sink
//! that stopped answering, a lock a stuck thread holds), after printing
//! each: an orphaned child must still exit at its lameduck timeout.

#[littleboss::main(name = "blocking_logger", lameduck = "2s")]
async fn main(ctx: littleboss::Context) {
    tests::fixture::install_blocking_logger(false);
    println!("serving pid={}", std::process::id());
    ctx.lameduck().await;
    println!("draining");
    // Draining for ever: only the deadline ends it.
    std::future::pending::<()>().await;
}
