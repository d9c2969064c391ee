//! A builder program whose code before `run` takes a while (loading a
//! configuration, say), in the supervisor and in each child: a window in
//! which a reload's child is starting, its signal handlers not installed
//! yet. Given `SLOW_PRERUN_GATE`, a folder, it makes a file there named
//! by its pid and waits until the test removes it. Its lameduck timeout
//! is a minute, longer than a starting child's hello deadline.

fn main() {
    if let Some(gates) = std::env::var_os("SLOW_PRERUN_GATE") {
        let gate = std::path::Path::new(&gates).join(std::process::id().to_string());
        std::fs::write(&gate, "").expect("make the gate");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while gate.exists() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
    littleboss::Littleboss::new("slow_prerun")
        .listener("addr", "tcp:127.0.0.1:0")
        .lameduck(std::time::Duration::from_secs(60))
        .run(|ctx: littleboss::Context| async move {
            let listener = ctx.tcp("addr").expect("addr listener");
            let pid = std::process::id();
            println!("addr={} pid={pid}", listener.local_addr().unwrap());
            tests::fixture::serve_greetings(listener, format!("pid {pid}"), ctx.lameduck()).await;
        })
}
