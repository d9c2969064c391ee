//! A builder program whose code before `run` starts a thread, but only in
//! the image that start mode executes again (to turn off glibc's thread
//! cache): there the environment can no longer be put back soundly, and
//! each child must be given the user's own instead.

fn main() {
    if std::env::var_os("LITTLEBOSS_SAVED_GLIBC_TUNABLES").is_some() {
        std::thread::spawn(|| {
            loop {
                std::thread::park();
            }
        });
    }
    littleboss::Littleboss::new("threads_before_run")
        .listener("addr", "tcp:127.0.0.1:0")
        .run(|ctx: littleboss::Context| async move {
            let listener = ctx.tcp("addr").expect("addr listener");
            println!(
                "addr={} pid={}",
                listener.local_addr().unwrap(),
                std::process::id()
            );
            ctx.lameduck().await;
        })
}
