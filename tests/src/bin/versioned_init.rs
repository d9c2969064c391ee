//! A `versioned` binary like version 1 (it answers `init PID`, and exits
//! with code 7 once drained) whose `supervisor_init` counts its calls in
//! the control folder's `supervisor_init` file: an in-place upgrade must
//! not run it again. Given `VERSIONED_INIT_CLOSES_STDIN`, it closes
//! standard input there too, as a daemon's setup may: descriptor 0 is
//! then free for whatever the supervisor opens next.

fn count_calls() {
    tests::fixture::bump("supervisor_init");
    if std::env::var_os("VERSIONED_INIT_CLOSES_STDIN").is_some() {
        // SAFETY: fd 0 is standard input (the test gives /dev/null),
        // which no `OwnedFd` owns; std's `Stdin` reads it only when
        // asked, which nothing in the supervisor does.
        unsafe { nix::libc::close(0) };
        // For the test to know it is closed (the supervisor's /dev/null
        // at 0 afterwards is then its own doing).
        if std::fs::read_link("/proc/self/fd/0").is_err() {
            tests::fixture::bump("stdin_closed");
        }
    }
}

#[littleboss::main(
    name = "versioned",
    listener(addr = "tcp:127.0.0.1:0"),
    supervisor_init = count_calls
)]
async fn main(ctx: littleboss::Context) {
    tests::fixture::serve_version(&ctx, "init", "init").await;
    std::process::exit(7);
}
