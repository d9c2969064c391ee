fn init() {
    eprintln!("supervisor up");
}

/// Serves the blog.
#[littleboss::main(
    name = "myblog",
    listener(https = "tcp::443", r#type = "udp6:[::1]:53", admin = "tcp:", sock = "unix:/run/myblog.sock"),
    lameduck = "1.5s",
    persist,
    restart_limit = "10 in 5m",
    fallback = false,
    self_upgrade = false,
    flag = "lb",
    supervisor_init = init,
    ready = "manual",
    ready_timeout = "1m",
    help = false,
    flavor = "multi_thread",
    worker_threads = 4,
)]
#[allow(clippy::needless_return)]
pub async fn main(ctx: littleboss::Context) -> Result<(), std::io::Error> {
    ctx.ready();
    return Ok(());
}
