//! Leaves an orphan behind: a shell that starts `sleep 0.3` in the
//! background and exits at once, so the sleep is reparented to the nearest
//! subreaper (the supervisor), which must reap it.

#[littleboss::main(name = "orphaner")]
async fn main(ctx: littleboss::Context) {
    // `ORPHAN_SLEEP` seconds (0.3 unless set): a test may kill it first.
    let status = std::process::Command::new("sh")
        // `exec`: the shell becomes `echo` and never waits, so it cannot
        // reap the sleep itself (dash reaps a background job that has
        // ended by its next command).
        .args(["-c", "sleep ${ORPHAN_SLEEP:-0.3} & exec echo orphan=$!"])
        .status()
        .expect("run sh");
    println!("shell exited {status}");
    ctx.lameduck().await;
}
