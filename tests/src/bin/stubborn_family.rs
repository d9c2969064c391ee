//! Starts a helper in its process group, as a forked worker would be (a
//! shell waiting on `sleep`, with the marker `$FAMILY_MARKER` as its `$0`), then
//! ignores lameduck: killed at its 300 ms lameduck timeout, it must take
//! the helper with it.

// The helper outlives the wait on purpose; the kill must take it.
#[allow(clippy::zombie_processes)]
#[littleboss::main(name = "stubborn_family", lameduck = "300ms")]
async fn main(ctx: littleboss::Context) {
    let marker = std::env::var("FAMILY_MARKER").expect("FAMILY_MARKER");
    let helper = std::process::Command::new("sh")
        .args(["-c", "sleep 300; :", &marker])
        .spawn()
        .expect("start sh");
    println!("helper={}", helper.id());
    ctx.lameduck().await;
    println!("ignoring lameduck");
    std::future::pending::<()>().await;
}
