//! A plain (not async) `main`: prints its arguments and whether it can use
//! its listener through the runtime littleboss entered for it.

// A program linted with clippy's pedantic `needless_pass_by_value`: the
// `Context` taken by value, as the attribute hands it, is not reported
// (the workspace's `clippy -D warnings` fails if the expansion lets it
// fire).
#![warn(clippy::needless_pass_by_value)]

#[littleboss::main(
    name = "plain_sync",
    listener(addr = "tcp:127.0.0.1:0"),
    flavor = "current_thread"
)]
fn main(ctx: littleboss::Context) {
    let listener = ctx.tcp("addr").expect("addr listener");
    println!(
        "sync main args= {} addr={}",
        ctx.args()[1..].join(" "),
        listener.local_addr().unwrap()
    );
}
