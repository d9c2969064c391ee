fn init() {
    eprintln!("supervisor up");
}
/// Serves the blog.
#[allow(clippy::needless_return)]
pub fn main() {
    async fn main(ctx: littleboss::Context) -> Result<(), std::io::Error> {
        ctx.ready();
        return Ok(());
    }
    ::littleboss::Littleboss::new("myblog")
        .listener("https", "tcp::443")
        .listener("type", "udp6:[::1]:53")
        .listener("admin", "tcp:")
        .listener("sock", "unix:/run/myblog.sock")
        .lameduck(::std::time::Duration::from_millis(1500))
        .persist(true)
        .restart_limit(10, ::std::time::Duration::from_millis(300000))
        .fallback(false)
        .self_upgrade(false)
        .flag("lb")
        .supervisor_init(init)
        .ready(::littleboss::Ready::Manual)
        .ready_timeout(::std::time::Duration::from_millis(60000))
        .help(false)
        .flavor(::littleboss::Flavor::MultiThread)
        .worker_threads(4)
        .run(|__littleboss_ctx: ::littleboss::Context| main(__littleboss_ctx))
}
