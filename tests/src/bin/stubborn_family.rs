//! Starts a helper in its process group, as a forked worker would be (a
//! shell waiting on `sleep`, with the marker `$FAMILY_MARKER` as its `$0`), then
//! ignores lameduck: killed at its 300 ms lameduck timeout, it must take
//! the helper with it. With `FAMILY_EXIT_AFTER_MS`, it exits by itself
//! (code 3) that long after it is ready instead, leaving the helper.

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
    if let Ok(ms) = std::env::var("FAMILY_EXIT_AFTER_MS") {
        let ms = ms.parse().expect("FAMILY_EXIT_AFTER_MS is milliseconds");
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
        std::process::exit(3);
    }
    ctx.lameduck().await;
    println!("ignoring lameduck");
    std::future::pending::<()>().await;
}
