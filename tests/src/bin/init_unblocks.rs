//! A program whose `supervisor_init` unblocks SIGTERM on the supervisor's
//! own thread, against the docs: a SIGTERM must still be an orderly stop.

use nix::sys::signal::{SigSet, SigmaskHow, Signal, pthread_sigmask};

fn init() {
    let mut term = SigSet::empty();
    term.add(Signal::SIGTERM);
    pthread_sigmask(SigmaskHow::SIG_UNBLOCK, Some(&term), None).unwrap();
}

fn main() {
    littleboss::Littleboss::new("init_unblocks")
        .listener("addr", "tcp:127.0.0.1:0")
        .supervisor_init(init)
        .run(|ctx: littleboss::Context| async move {
            println!("pid={}", std::process::id());
            ctx.lameduck().await;
            println!("entering lameduck mode");
        })
}
