//! A program whose `supervisor_init` ignores SIGCHLD and SIGHUP (a "no
//! zombies from my sidecar" habit), and blocks SIGALRM (for a thread of
//! its own to `sigwait` on): the supervisor must still read its
//! children's exit codes, and its children must not start with them
//! ignored, nor with SIGALRM blocked. Exits with the code given as its
//! first argument once lameduck begins.

use nix::sys::signal::{SigHandler, Signal, signal};

fn init() {
    // SAFETY: setting a disposition to SIG_IGN installs no handler code.
    unsafe {
        signal(Signal::SIGCHLD, SigHandler::SigIgn).unwrap();
        signal(Signal::SIGHUP, SigHandler::SigIgn).unwrap();
    }
    let mut alarm = nix::sys::signal::SigSet::empty();
    alarm.add(Signal::SIGALRM);
    nix::sys::signal::pthread_sigmask(nix::sys::signal::SigmaskHow::SIG_BLOCK, Some(&alarm), None)
        .unwrap();
}

fn main() {
    littleboss::Littleboss::new("init_ignores")
        .supervisor_init(init)
        .run(|ctx: littleboss::Context| async move {
            let code: i32 = ctx.args().get(1).and_then(|a| a.parse().ok()).unwrap_or(0);
            println!("serving pid={} code={code}", std::process::id());
            ctx.lameduck().await;
            // Not its last expression: the future's output must be `()`.
            if code != 0 {
                std::process::exit(code);
            }
        })
}
