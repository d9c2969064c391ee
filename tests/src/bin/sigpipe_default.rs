//! A program that restores SIGPIPE's default, as command-line programs
//! often do: before `run`, and again in `supervisor_init`. The supervisor
//! must still outlive a closed stderr, from its first line on.

fn default_sigpipe() {
    // SAFETY: sets a signal's disposition to its default.
    unsafe {
        nix::libc::signal(nix::libc::SIGPIPE, nix::libc::SIG_DFL);
    }
}

fn main() {
    default_sigpipe();
    littleboss::Littleboss::new("sigpipe_default")
        .listener("addr", "tcp:127.0.0.1:0")
        .supervisor_init(default_sigpipe)
        .run(|ctx: littleboss::Context| async move {
            let listener = ctx.tcp("addr").expect("addr listener");
            println!("addr={}", listener.local_addr().unwrap());
            ctx.lameduck().await;
        })
}
