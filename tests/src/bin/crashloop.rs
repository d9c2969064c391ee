//! A persist service that crashes as soon as it runs, configured through
//! the builder (no macro): after more than 3 restarts within a minute the
//! supervisor must give up.

use std::time::Duration;

fn main() {
    littleboss::Littleboss::new("crashloop")
        .persist(true)
        .restart_limit(3, Duration::from_secs(60))
        .run(|_ctx: littleboss::Context| async {
            tokio::task::yield_now().await;
            println!("crashing pid={}", std::process::id());
            Err::<(), _>("crashed")
        })
}
