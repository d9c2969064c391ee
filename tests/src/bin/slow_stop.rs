//! Answers each connection with a greeting until lameduck, then finishes
//! its work in flight before it exits: until the file `FINISH_GATE` names
//! is removed (at most 8 s: with the 1 s grace before it, within its 10 s
//! lameduck timeout), so that a
//! test on a loaded machine looks at it finishing for as long as it needs;
//! without one, for five seconds.

#[littleboss::main(
    name = "slow_stop",
    lameduck = "10s",
    listener(addr = "tcp:127.0.0.1:0")
)]
async fn main(ctx: littleboss::Context) {
    let listener = ctx.tcp("addr").expect("addr listener");
    println!("addr={}", listener.local_addr().unwrap());
    tests::fixture::serve_greetings(listener, "hello".to_owned(), ctx.lameduck()).await;
    println!("finishing");
    tests::fixture::hold_while_gated(
        "FINISH_GATE",
        std::time::Duration::from_secs(8),
        std::time::Duration::from_secs(5),
    )
    .await;
    println!("finished");
}
