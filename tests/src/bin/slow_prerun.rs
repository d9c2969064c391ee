//! A builder program whose code before `run` takes `SLOW_PRERUN_MS`
//! milliseconds (loading a configuration, say), in the supervisor and in
//! each child: a window in which a reload's child is starting, its signal
//! handlers not installed yet.

fn main() {
    if let Some(ms) = std::env::var_os("SLOW_PRERUN_MS") {
        let ms: u64 = ms
            .to_str()
            .and_then(|m| m.parse().ok())
            .expect("SLOW_PRERUN_MS in ms");
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
    littleboss::Littleboss::new("slow_prerun")
        .listener("addr", "tcp:127.0.0.1:0")
        .run(|ctx: littleboss::Context| async move {
            let listener = ctx.tcp("addr").expect("addr listener");
            let pid = std::process::id();
            println!("addr={} pid={pid}", listener.local_addr().unwrap());
            tests::fixture::serve_greetings(listener, format!("pid {pid}"), ctx.lameduck()).await;
        })
}
