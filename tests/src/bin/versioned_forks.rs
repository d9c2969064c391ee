//! A `versioned` builder program whose code before `run` forks (a
//! daemon's fork): when its command line has `-littleboss=start` (in a
//! supervisor's new image at an in-place upgrade), or, given
//! `VERSIONED_FORKS_IN_CHILD`, when it has no `-littleboss=` flag (as a
//! supervised child). The parent exits 0 (as a child, once its copy has
//! ended: the supervisor kills what a dead child's group leaves, which
//! could beat the copy to its refusal), the copy goes on to `run`, saying
//! `forked pid=PID` first. Its child serves (`forks PID`).

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let as_supervisor = args.iter().any(|arg| arg == "-littleboss=start");
    let as_child = std::env::var_os("VERSIONED_FORKS_IN_CHILD").is_some()
        && !args.iter().any(|arg| arg.starts_with("-littleboss="));
    if as_supervisor || as_child {
        // SAFETY: single-threaded here (before `run`, nothing started a
        // thread); the copy goes on as a whole program.
        match unsafe { nix::unistd::fork() }.expect("fork") {
            nix::unistd::ForkResult::Parent { child } => {
                if as_child {
                    let _ = nix::sys::wait::waitpid(child, None);
                }
                std::process::exit(0)
            }
            nix::unistd::ForkResult::Child => {
                // One write (stderr is unbuffered, and `eprintln!` writes
                // its pieces apart): the supervisor's lines, on the same
                // pipe, cannot land inside it.
                use std::io::Write;
                let line = format!("forked pid={}\n", std::process::id());
                let _ = std::io::stderr().write_all(line.as_bytes());
            }
        }
    }
    littleboss::Littleboss::new("versioned")
        .listener("addr", "tcp:127.0.0.1:0")
        .run(|ctx: littleboss::Context| async move {
            let listener = ctx.tcp("addr").expect("addr listener");
            let pid = std::process::id();
            tests::fixture::serve_greetings(listener, format!("forks {pid}"), ctx.lameduck()).await;
        })
}
