//! A service whose code before `run`, when it runs from a file whose name
//! ends in `-reaps`, reaps every child of its process that has ended (as
//! a program that waits for any child at start might): an in-place
//! upgrade's new image of it takes a child the supervisor handed over, if
//! that child ended before the exec. Serves `reaps_before_run PID`.

/// Reaps every ended child, without waiting for any that runs.
fn reap_ended_children() {
    use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
    while let Ok(status) = waitpid(None, Some(WaitPidFlag::WNOHANG)) {
        if status == WaitStatus::StillAlive {
            break;
        }
        if let Some(pid) = status.pid() {
            eprintln!("reaps_before_run: reaped pid {pid} before run");
        }
    }
}

fn main() {
    let exe = std::env::current_exe().unwrap_or_default();
    if exe.to_string_lossy().ends_with("-reaps") {
        reap_ended_children();
    }
    littleboss::Littleboss::new("reaps_before_run")
        .listener("addr", "tcp:127.0.0.1:0")
        .run(|ctx: littleboss::Context| async move {
            let listener = ctx.tcp("addr").expect("addr listener");
            let pid = std::process::id();
            println!(
                "reaps_before_run pid={pid} addr={}",
                listener.local_addr().unwrap()
            );
            tests::fixture::serve_greetings(
                listener,
                format!("reaps_before_run {pid}"),
                ctx.lameduck(),
            )
            .await;
        })
}
