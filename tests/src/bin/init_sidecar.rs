//! A program whose `supervisor_init` starts a sidecar (`sleep`): the
//! sidecar must not inherit the supervisor's blocked signals (else `kill`
//! and `docker stop` leave it running). With `INIT_SIDECAR_TERM` set, the
//! supervisor is sent SIGTERM first, in `supervisor_init`: that must not
//! change what the sidecar inherits, and must still be an orderly stop,
//! once `supervisor_init` returns. With `INIT_GATE`, `supervisor_init`
//! first waits while the file it names exists (a minute at most): the
//! supervisor's control socket is bound, its loop not serving yet.

fn init() {
    if let Some(gate) = std::env::var_os("INIT_GATE") {
        println!("init waits");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while std::path::Path::new(&gate).exists() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
    let term = std::env::var_os("INIT_SIDECAR_TERM").is_some();
    if term {
        // Unblocked on this thread alone: taken here before `kill`
        // returns (POSIX), not yet acted on.
        nix::sys::signal::kill(nix::unistd::getpid(), nix::sys::signal::Signal::SIGTERM).unwrap();
    }
    // Not waited for: the supervisor reaps every child it did not start.
    #[allow(clippy::zombie_processes)]
    let sidecar = std::process::Command::new("sleep")
        .arg("300")
        .spawn()
        .expect("sleep");
    println!("sidecar pid={}", sidecar.id());
    if term {
        // On stderr, the pipe the supervisor's lines take: their order is
        // the order of the writes.
        eprintln!("init returns");
    }
}

fn main() {
    littleboss::Littleboss::new("init_sidecar")
        .listener("addr", "tcp:127.0.0.1:0")
        .supervisor_init(init)
        .run(|ctx: littleboss::Context| async move {
            println!("pid={}", std::process::id());
            ctx.lameduck().await;
        })
}
