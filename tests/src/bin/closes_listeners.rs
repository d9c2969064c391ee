//! A service whose code before `run`, when it runs from a file whose name
//! ends in `-closes`, closes every listening TCP socket it inherited and
//! opens a file in its place, at the same number (as a program tidying its
//! descriptors at start, then opening its own, might): an in-place
//! upgrade's new image of it loses the supervisor's listeners. Named
//! `-closes-own` or `-closes-exits`, it puts a listening socket of its own
//! there instead (a metrics endpoint, say); named `-closes-exits`, a
//! supervisor's image of it then exits 3, before `run` (as one whose own
//! flag parsing refuses the command line might): the previous image takes
//! the state back. Named `-fills`, its code before `run` puts a
//! listening socket of its own at every free number below the highest
//! open one (as a program opening files at start takes the lowest free
//! numbers): in an image gone back to, those a failed new image closed.
//! Named `-scrubs-exits`, a supervisor's image of it takes
//! `CLOSES_LISTENERS_SECRET` out of its environment, sets
//! `CLOSES_LISTENERS_MARK`, moves to `/`, and exits 3 before `run`.
//! Named `-closes-channels`, a supervisor's image of it puts a file at the
//! number of every unix `SOCK_SEQPACKET` socket inherited: the children's
//! channels, which an in-place upgrade's new image of it loses.
//! Serves `closes_listeners PID`.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::sys::socket::{SockaddrLike, SockaddrStorage, getsockname, getsockopt, sockopt};

/// Puts what `own` opens (close-on-exec, as the program's own files are)
/// at the number of every descriptor above stderr inherited that
/// `replaced` picks.
fn replace_inherited(
    replaced: impl Fn(BorrowedFd<'_>) -> bool,
    own: impl Fn() -> std::io::Result<OwnedFd>,
) {
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
        if !replaced(borrowed) {
            continue;
        }
        // At its number (as a close, then an open that gets the lowest
        // free number, may), whatever else is free.
        let Ok(file) = own() else {
            continue;
        };
        // SAFETY: as above; what is at `fd` is let go of, as a close
        // would, and the file put there is never closed.
        let mut at = unsafe { OwnedFd::from_raw_fd(fd) };
        let _ = nix::unistd::dup3(file.as_fd(), &mut at, nix::fcntl::OFlag::O_CLOEXEC);
        std::mem::forget(at);
    }
}

/// Puts what `own` opens at the number of every listening TCP socket
/// inherited.
fn replace_inherited_tcp_listeners(own: impl Fn() -> std::io::Result<OwnedFd>) {
    let listening_inet = |fd: BorrowedFd<'_>| {
        let listening = getsockopt(&fd, sockopt::AcceptConn).unwrap_or(false);
        let inet = getsockname::<SockaddrStorage>(fd.as_raw_fd()).is_ok_and(|addr| {
            addr.family()
                .is_some_and(|f| f == nix::sys::socket::AddressFamily::Inet)
        });
        listening && inet
    };
    replace_inherited(listening_inet, own);
}

/// Puts `/dev/null` at the number of every unix `SOCK_SEQPACKET` socket
/// inherited: the supervisor's channels to its children.
fn replace_inherited_channels() {
    let seqpacket = |fd: BorrowedFd<'_>| {
        getsockopt(&fd, sockopt::SockType).is_ok_and(|t| t == nix::sys::socket::SockType::SeqPacket)
    };
    replace_inherited(seqpacket, || Ok(std::fs::File::open("/dev/null")?.into()));
}

/// Puts a listening socket of its own (close-on-exec) at every free
/// number above stderr and below the highest open descriptor.
fn fill_gaps_with_own_listeners() {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    let open: Vec<RawFd> = dir
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    let highest = open.iter().copied().max().unwrap_or(0);
    for fd in (3..highest).filter(|fd| !open.contains(fd)) {
        let Ok(own) = std::net::TcpListener::bind("127.0.0.1:0") else {
            continue;
        };
        let own = OwnedFd::from(own);
        if own.as_raw_fd() == fd {
            std::mem::forget(own);
            continue;
        }
        // SAFETY: `fd` is free (nothing was open there); the socket put
        // there is never closed.
        let mut at = unsafe { OwnedFd::from_raw_fd(fd) };
        let _ = nix::unistd::dup3(own.as_fd(), &mut at, nix::fcntl::OFlag::O_CLOEXEC);
        std::mem::forget(at);
    }
}

fn main() {
    let exe = std::env::current_exe().unwrap_or_default();
    let exe = exe.to_string_lossy();
    if exe.ends_with("-fills") {
        fill_gaps_with_own_listeners();
    }
    if exe.ends_with("-closes") {
        replace_inherited_tcp_listeners(|| Ok(std::fs::File::open("/dev/null")?.into()));
    }
    if exe.ends_with("-closes-own") || exe.ends_with("-closes-exits") {
        replace_inherited_tcp_listeners(|| Ok(std::net::TcpListener::bind("127.0.0.1:0")?.into()));
    }
    let supervisor = std::env::args().any(|arg| arg == "-littleboss=start");
    if exe.ends_with("-scrubs-exits") && supervisor {
        // SAFETY: one thread, before `run` starts any.
        unsafe {
            std::env::remove_var("CLOSES_LISTENERS_SECRET");
            std::env::set_var("CLOSES_LISTENERS_MARK", "1");
        }
        std::env::set_current_dir("/").expect("to /");
        eprintln!("closes_listeners: scrubbed, exiting before run");
        std::process::exit(3);
    }
    if exe.ends_with("-closes-channels") && supervisor {
        replace_inherited_channels();
    }
    if exe.ends_with("-closes-exits") && supervisor {
        eprintln!("closes_listeners: exiting before run");
        std::process::exit(3);
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
