//! A builder program whose code before `run` starts a helper (a sidecar,
//! say): it runs in the supervisor, in each child and in a supervisor's new
//! image after an in-place upgrade. Each helper is a `sleep` whose pid, after
//! the pid of the process that started it, is appended to the file
//! `$PRERUN_PIDS`: what it inherited is read from `/proc`. With
//! `$PRERUN_CLOSE_FDS` set, that code first closes fds 3 to 9, as a
//! program's `closefrom(3)` would.

use std::io::Write;

// The helper outlives the process that started it, as a sidecar would;
// the test kills it.
#[allow(clippy::zombie_processes)]
fn main() {
    use std::os::unix::process::CommandExt;
    if std::env::var_os("PRERUN_CLOSE_FDS").is_some() {
        for fd in 3..10 {
            let _ = nix::unistd::close(fd);
        }
    }
    if let Some(path) = std::env::var_os("PRERUN_PIDS") {
        // In a process group of its own, as a sidecar meant to outlive a
        // child must be: the rest of a child's group goes with it.
        let helper = std::process::Command::new("sleep")
            .arg("60")
            .process_group(0)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start sleep");
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)
            .expect("open $PRERUN_PIDS");
        // One write, so one line whole (appends of one write do not
        // interleave; `writeln!` on a `File` writes piece by piece).
        let line = format!("{} {}\n", std::process::id(), helper.id());
        file.write_all(line.as_bytes()).expect("write $PRERUN_PIDS");
    }
    littleboss::Littleboss::new("prerun_spawn")
        .listener("addr", "tcp:127.0.0.1:0")
        .run(|ctx: littleboss::Context| async move {
            let listener = ctx.tcp("addr").expect("addr listener");
            println!("addr={}", listener.local_addr().unwrap());
            ctx.lameduck().await;
        })
}
