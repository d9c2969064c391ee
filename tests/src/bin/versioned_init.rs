//! A `versioned` binary like version 1 (it answers `init PID`, and exits
//! with code 7 once drained) whose `supervisor_init` counts its calls in
//! the control folder's `supervisor_init` file: an in-place upgrade must
//! not run it again.

fn count_calls() {
    tests::fixture::bump("supervisor_init");
}

#[littleboss::main(
    name = "versioned",
    listener(addr = "tcp:127.0.0.1:0"),
    supervisor_init = count_calls
)]
async fn main(ctx: littleboss::Context) {
    let listener = ctx.tcp("addr").expect("addr listener");
    let pid = std::process::id();
    println!(
        "running version init pid={pid} addr={}",
        listener.local_addr().unwrap()
    );
    tests::fixture::serve_greetings(listener, format!("init {pid}"), ctx.lameduck()).await;
    std::process::exit(7);
}
