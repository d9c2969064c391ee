//! A `versioned` builder program whose code before `run` closes standard
//! input when its command line has `-littleboss=start` (the supervisor,
//! and each new image of it at an in-place upgrade), as a daemon's setup
//! may: descriptor 0 is then free for whatever the supervisor opens
//! next. Its child answers `stdin open PID` (or `stdin closed PID`).

fn main() {
    if std::env::args().any(|arg| arg == "-littleboss=start") {
        // SAFETY: fd 0 is standard input, which no `OwnedFd` owns, and
        // nothing here reads; single-threaded before `run`.
        unsafe { nix::libc::close(0) };
    }
    littleboss::Littleboss::new("versioned")
        .listener("addr", "tcp:127.0.0.1:0")
        .run(|ctx: littleboss::Context| async move {
            let listener = ctx.tcp("addr").expect("addr listener");
            let pid = std::process::id();
            println!("addr={}", listener.local_addr().expect("an address"));
            let stdin = match std::fs::read_link("/proc/self/fd/0") {
                Ok(_) => "open",
                Err(_) => "closed",
            };
            let greeting = format!("stdin {stdin} {pid}");
            tests::fixture::serve_greetings(listener, greeting, ctx.lameduck()).await;
        })
}
