//! A program whose exit never ends on its own: a C exit handler (as a
//! linked library may register) that blocks for good. It ignores lameduck
//! (1 s), so that only a deadline's exit can end it.

/// Blocks for good, as a handler waiting on a lock a stuck thread holds.
extern "C" fn blocks_for_good() {
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}

#[littleboss::main(name = "exit_blocks", lameduck = "1s")]
async fn main(ctx: littleboss::Context) {
    // SAFETY: registers a function with no arguments, for the C library
    // to call at `exit`; nothing is freed or borrowed.
    unsafe { nix::libc::atexit(blocks_for_good) };
    println!("started pid={}", std::process::id());
    ctx.lameduck().await;
    println!("got lameduck, blocking");
    std::future::pending::<()>().await;
}
