//! A persist service that crashes as soon as it runs, configured through
//! the builder (no macro): after more than 3 restarts within a minute the
//! supervisor must give up. Its closure spawns a task before it makes
//! its future, which needs the runtime entered.

use std::time::Duration;

fn main() {
    littleboss::Littleboss::new("crashloop")
        .persist(true)
        .restart_limit(3, Duration::from_secs(60))
        .run(|_ctx: littleboss::Context| {
            // Before the future, as a user takes a listener or spawns a
            // task: the runtime is entered already.
            let ticker = tokio::spawn(tokio::task::yield_now());
            async {
                ticker.await.unwrap();
                println!("crashing pid={}", std::process::id());
                Err::<(), _>("crashed")
            }
        })
}
