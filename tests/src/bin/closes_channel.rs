//! A `versioned` builder program whose code before `run`, as a supervised
//! child (no `-littleboss=` flag), closes fd 3, the supervisor's channel,
//! as a library closing every descriptor above 2 does
//! (`CLOSES_CHANNEL=close`), or opens a socket in its place: of the
//! channel's kind (`CLOSES_CHANNEL=replace`), or a datagram one, as
//! glibc's `openlog` does (`CLOSES_CHANNEL=log`); or closes it and stays
//! in its code before `run` for a minute (`CLOSES_CHANNEL=stall`); or
//! leaves it open and sends 100 packets the supervisor cannot read on it,
//! half of them empty (`CLOSES_CHANNEL=garbage`). Its child serves
//! (`closes PID`).

fn main() {
    let as_child = !std::env::args().any(|arg| arg.starts_with("-littleboss="));
    let how = std::env::var("CLOSES_CHANNEL").ok();
    if as_child && how.as_deref() == Some("garbage") {
        use nix::sys::socket::{MsgFlags, send};
        for i in 0..100 {
            let packet: &[u8] = if i % 2 == 0 { b"" } else { b"not json" };
            send(3, packet, MsgFlags::empty()).expect("send on the channel");
        }
    } else if let (true, Some(how)) = (as_child, how.as_deref()) {
        // SAFETY: single-threaded here (before `run`); fd 3 is closed
        // under no one's `OwnedFd` but littleboss's, which has not
        // adopted it yet: what this fixture stages.
        unsafe { nix::libc::close(3) };
        let kind = match how {
            "replace" => Some(nix::sys::socket::SockType::SeqPacket),
            "log" => Some(nix::sys::socket::SockType::Datagram),
            _ => None,
        };
        if let Some(kind) = kind {
            use nix::sys::socket::{AddressFamily, SockFlag, socketpair};
            let pair =
                socketpair(AddressFamily::Unix, kind, None, SockFlag::empty()).expect("socketpair");
            // The lowest number free: 3, just closed.
            assert_eq!(std::os::fd::AsRawFd::as_raw_fd(&pair.0), 3);
            std::mem::forget(pair);
        }
        if how == "stall" {
            std::thread::sleep(std::time::Duration::from_secs(60));
        }
    }
    littleboss::Littleboss::new("versioned")
        .listener("addr", "tcp:127.0.0.1:0")
        .run(|ctx: littleboss::Context| async move {
            let listener = ctx.tcp("addr").expect("addr listener");
            let pid = std::process::id();
            tests::fixture::serve_greetings(listener, format!("closes {pid}"), ctx.lameduck())
                .await;
        })
}
