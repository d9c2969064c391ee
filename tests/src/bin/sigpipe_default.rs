//! A program whose `supervisor_init` restores SIGPIPE's default, as
//! command-line programs often do: the supervisor must still outlive a
//! closed stderr.

fn default_sigpipe() {
    // SAFETY: sets a signal's disposition to its default.
    unsafe {
        nix::libc::signal(nix::libc::SIGPIPE, nix::libc::SIG_DFL);
    }
}

#[littleboss::main(
    name = "sigpipe_default",
    listener(addr = "tcp:127.0.0.1:0"),
    supervisor_init = default_sigpipe
)]
async fn main(ctx: littleboss::Context) {
    let listener = ctx.tcp("addr").expect("addr listener");
    println!("addr={}", listener.local_addr().unwrap());
    ctx.lameduck().await;
}
