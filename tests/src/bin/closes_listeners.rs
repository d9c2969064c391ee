//! A service whose code before `run`, when it runs from a file whose name
//! ends in `-closes`, closes every listening TCP socket it inherited and
//! opens a file in its place, at the same number (as a program tidying its
//! descriptors at start, then opening its own, might): an in-place
//! upgrade's new image of it loses the supervisor's listeners. Serves
//! `closes_listeners PID`.

use std::os::fd::{AsFd, BorrowedFd, RawFd};

use nix::sys::socket::{SockaddrLike, SockaddrStorage, getsockname, getsockopt, sockopt};

fn close_inherited_tcp_listeners() {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    let fds: Vec<RawFd> = dir
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    for fd in fds.into_iter().filter(|fd| *fd > 2) {
        // SAFETY: only looked at while the listing's own descriptor (closed
        // by now) is the one that may have gone.
        let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
        let listening = getsockopt(&borrowed.as_fd(), sockopt::AcceptConn).unwrap_or(false);
        let inet = getsockname::<SockaddrStorage>(fd).is_ok_and(|addr| {
            addr.family()
                .is_some_and(|f| f == nix::sys::socket::AddressFamily::Inet)
        });
        if listening && inet {
            let _ = nix::unistd::close(fd);
            // The lowest number free: the one just closed.
            std::mem::forget(std::fs::File::open("/dev/null"));
        }
    }
}

fn main() {
    let exe = std::env::current_exe().unwrap_or_default();
    if exe.to_string_lossy().ends_with("-closes") {
        close_inherited_tcp_listeners();
    }
    littleboss::Littleboss::new("closes_listeners")
        .listener("addr", "tcp:127.0.0.1:0")
        .run(|ctx: littleboss::Context| async move {
            let listener = ctx.tcp("addr").expect("addr listener");
            let pid = std::process::id();
            println!(
                "closes_listeners pid={pid} addr={}",
                listener.local_addr().unwrap()
            );
            tests::fixture::serve_greetings(
                listener,
                format!("closes_listeners {pid}"),
                ctx.lameduck(),
            )
            .await;
        })
}
