//! A builder program calling `run_sync` from two threads at once: the
//! second call is refused (exit 2), rather than both taking what the
//! process inherited.

use std::sync::{Arc, Barrier};
use std::time::Duration;

fn main() {
    let both = Arc::new(Barrier::new(2));
    let other = both.clone();
    std::thread::spawn(move || {
        other.wait();
        program().run_sync(serve)
    });
    both.wait();
    program().run_sync(serve)
}

fn program() -> littleboss::Littleboss {
    littleboss::Littleboss::new("run_twice").listener("addr", "tcp:127.0.0.1:0")
}

/// The first call's program: it runs long after the second is refused.
fn serve(_ctx: littleboss::Context) {
    println!("main ran");
    std::thread::sleep(Duration::from_secs(30));
}
