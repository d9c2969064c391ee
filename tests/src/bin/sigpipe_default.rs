//! A program that restores SIGPIPE's default, as command-line programs
//! often do: before `run`, and again in `supervisor_init`. The supervisor
//! must still outlive a closed stderr, from its first line on. With
//! `SIGPIPE_INIT_GATE`, `supervisor_init` removes that file once it has
//! restored the default, and with `SIGPIPE_INIT_PAUSE_MS` then waits that
//! long: a test lands a line of the supervisor's in that window.

fn default_sigpipe() {
    // SAFETY: sets a signal's disposition to its default.
    unsafe {
        nix::libc::signal(nix::libc::SIGPIPE, nix::libc::SIG_DFL);
    }
}

fn init() {
    default_sigpipe();
    if let Some(gate) = std::env::var_os("SIGPIPE_INIT_GATE") {
        let _ = std::fs::remove_file(gate);
    }
    if let Some(ms) = std::env::var("SIGPIPE_INIT_PAUSE_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}

fn main() {
    default_sigpipe();
    littleboss::Littleboss::new("sigpipe_default")
        .listener("addr", "tcp:127.0.0.1:0")
        .supervisor_init(init)
        .run(|ctx: littleboss::Context| async move {
            let listener = ctx.tcp("addr").expect("addr listener");
            println!("addr={}", listener.local_addr().unwrap());
            ctx.lameduck().await;
        })
}
