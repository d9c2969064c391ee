//! Every key. Run with no arguments, the program runs `main` directly
//! (bypass mode), binding only what it declares: here a free port on
//! loopback; the other listeners are off.

mod setup {
    pub fn init() {}
}

/// Documented, with a lint attribute that reaches the function.
#[littleboss::main(
    name = "ui-full_1",
    listener(
        http = "tcp:127.0.0.1:0",
        admin = "tcp:",
        r#type = "udp6:",
        sock = "unix:",
    ),
    lameduck = "1.5s",
    persist,
    restart_limit = "10 in 5m",
    fallback = false,
    self_upgrade = false,
    flag = "lb",
    supervisor_init = setup::init,
    ready = "manual",
    ready_timeout = "1m",
    help = false,
    flavor = "multi_thread",
    worker_threads = 2,
)]
#[allow(clippy::needless_return)]
async fn main(ctx: littleboss::Context) -> Result<(), std::io::Error> {
    assert!(ctx.tcp("http").is_some());
    assert!(ctx.tcp("admin").is_none());
    ctx.ready();
    return Ok(());
}
