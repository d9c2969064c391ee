//! A builder program calling `run_sync` from two threads at once: the
//! second call is refused, and its thread waits for good, rather than both
//! taking what the process inherited; the first runs its program.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

/// Whether the first call's program runs.
static SERVING: AtomicBool = AtomicBool::new(false);

fn main() {
    // Called again from the program's own task (a thread of the runtime
    // the first call runs): a call inside its program, exit 2.
    if std::env::var_os("RUN_TWICE_IN_A_TASK").is_some() {
        program().run(|_ctx: littleboss::Context| async {
            tokio::task::spawn_blocking(|| program().run_sync(serve)).await
        })
    }
    // Called again, once the program runs, from a thread in a runtime of
    // its own (not the program's): another thread's, said, and parked.
    if std::env::var_os("RUN_TWICE_FROM_ANOTHER_RUNTIME").is_some() {
        std::thread::spawn(|| {
            while !SERVING.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(5));
            }
            let own = tokio::runtime::Builder::new_current_thread().build();
            own.expect("a runtime")
                .block_on(async { program().run_sync(serve) })
        });
        program().run_sync(serve)
    }
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

/// The first call's program: it ends (and the process, exit 0) once the
/// file `RUN_TWICE_GATE` names is gone, which the test removes once it has
/// read the second call's refusal (at most 60 s, should the test die
/// first), saying so (an exit of the refused call's would not).
fn serve(_ctx: littleboss::Context) {
    println!("main ran");
    SERVING.store(true, Ordering::SeqCst);
    let gate = std::env::var_os("RUN_TWICE_GATE").expect("RUN_TWICE_GATE names the gate");
    let until = std::time::Instant::now() + Duration::from_secs(60);
    while std::path::Path::new(&gate).exists() && std::time::Instant::now() < until {
        std::thread::sleep(Duration::from_millis(5));
    }
    println!("main done");
}
