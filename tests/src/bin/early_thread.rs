//! A program that starts a thread before `run` (a logging worker, say).
//! That thread does not block the supervisor's signals, so the kernel gives
//! it the ones sent to the supervisor: they must still be an orderly stop.

fn main() {
    std::thread::spawn(|| {
        loop {
            std::thread::park();
        }
    });
    littleboss::Littleboss::new("early_thread")
        .listener("addr", "tcp:127.0.0.1:0")
        .run(|ctx: littleboss::Context| async move {
            println!("pid={}", std::process::id());
            // The supervisor could not take systemd's variables out of its
            // environment (it had two threads): the child must not get them.
            println!(
                "notify socket seen={}",
                std::env::var_os("NOTIFY_SOCKET").is_some()
            );
            ctx.lameduck().await;
            println!("entering lameduck mode");
        })
}
