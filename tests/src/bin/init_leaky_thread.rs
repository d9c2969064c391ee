//! A program whose `supervisor_init` starts a thread that, once the file
//! `LEAKY_GO` names exists (made by the test when the supervisor serves),
//! opens the file `LEAKY_FILE` names without close-on-exec and keeps it
//! open, as a C library's thread might (with `LEAKY_PIPE=1`, a pipe
//! instead, which the forked child does not close itself but leaves to
//! close-on-exec): no child started after may inherit it. It then prints
//! whether the supervisor's environment, what a process it started would
//! inherit, holds the children's channel variable (`leaky channel_var=`).

use std::os::unix::ffi::OsStrExt;
use std::time::Duration;

fn init() {
    let (Some(path), Some(go)) = (std::env::var_os("LEAKY_FILE"), std::env::var_os("LEAKY_GO"))
    else {
        return;
    };
    std::thread::spawn(move || {
        // After the supervisor made what was open close-on-exec: it
        // serves by the time the test says go.
        while !std::path::Path::new(&go).exists() {
            std::thread::sleep(Duration::from_millis(10));
        }
        let path = std::ffi::CString::new(path.as_bytes()).unwrap();
        let flags = nix::libc::O_RDONLY | nix::libc::O_CREAT;
        let fd = if std::env::var_os("LEAKY_PIPE").is_some() {
            let mut ends = [-1; 2];
            // SAFETY: `pipe` writes two descriptors into the array we own;
            // both are kept (leaked), which is the point.
            unsafe { nix::libc::pipe(ends.as_mut_ptr()) };
            ends[0]
        } else {
            // SAFETY: a valid C string; the descriptor is kept (leaked) for
            // the process's life, which is the point.
            unsafe { nix::libc::open(path.as_ptr(), flags, 0o600) }
        };
        println!("leaky fd={fd}");
        let var = std::env::var_os("LITTLEBOSS_CHANNEL_FD");
        println!("leaky channel_var={var:?}");
        loop {
            std::thread::park();
        }
    });
}

fn main() {
    littleboss::Littleboss::new("init_leaky_thread")
        .listener("addr", "tcp:127.0.0.1:0")
        .supervisor_init(init)
        .run(|ctx: littleboss::Context| async move {
            ctx.lameduck().await;
        })
}
