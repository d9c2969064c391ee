// A server loop that never returns: refused, as a child must return once
// it has drained after lameduck (a sync `-> !` main is taken).
#[littleboss::main(name = "svc")]
async fn main(ctx: littleboss::Context) -> ! {
    let _ = ctx;
    loop {
        std::thread::park();
    }
}
