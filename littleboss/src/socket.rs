//! What a socket descriptor is: its bound address, and whether a socket
//! handed to us fits the listener it is for. Below both binding
//! (`listener`) and adopting (`activation`, the child's hello).

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use nix::sys::socket::{self, AddressFamily, SockType, SockaddrLike, SockaddrStorage, sockopt};

use crate::spec::{Kind, Network};

/// The address a socket is bound to, as a person would write it.
pub(crate) fn local_address(fd: &OwnedFd, kind: Kind) -> io::Result<String> {
    let dup = fd.try_clone()?;
    Ok(match kind {
        Kind::Tcp => std::net::TcpListener::from(dup).local_addr()?.to_string(),
        Kind::Udp => std::net::UdpSocket::from(dup).local_addr()?.to_string(),
        Kind::Unix => {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::UnixListener::from(dup).local_addr()?;
            // A service manager may pass an abstract one (`ListenStream=@name`).
            match (addr.as_pathname(), addr.as_abstract_name()) {
                (Some(p), _) => p.display().to_string(),
                (None, Some(name)) => format!("@{}", String::from_utf8_lossy(name)),
                (None, None) => "(unnamed)".to_owned(),
            }
        }
    })
}

/// Whether `fd` is a socket (one `fstat` that fails says not).
pub(crate) fn is_socket(fd: &impl std::os::fd::AsFd) -> bool {
    use nix::sys::stat::{SFlag, fstat};
    fstat(fd)
        .is_ok_and(|st| SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFSOCK)
}

/// Whether `path` names a socket file (not following a symlink).
pub(crate) fn is_socket_file(path: &std::path::Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket())
}

/// Connects to the unix stream socket at `path` without ever blocking:
/// `Ok(None)` when its listener's queue is full (it listens but does not
/// accept: stopped, stuck), where a blocking connect would wait for ever.
/// The stream returned blocks.
pub(crate) fn knock(path: &std::path::Path) -> io::Result<Option<std::os::unix::net::UnixStream>> {
    use socket::{SockFlag, UnixAddr};
    let address = UnixAddr::new(path)?;
    let flags = SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK;
    let fd = socket::socket(AddressFamily::Unix, SockType::Stream, flags, None)?;
    // A unix connect completes at once, or fails with EAGAIN while the
    // listener's queue is full.
    match socket::connect(fd.as_raw_fd(), &address) {
        Ok(()) => {
            let stream = std::os::unix::net::UnixStream::from(fd);
            stream.set_nonblocking(false)?;
            Ok(Some(stream))
        }
        Err(nix::errno::Errno::EAGAIN) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Why a descriptor handed to us is not the socket its listener needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NotFit {
    NotASocket {
        fd: RawFd,
        error: nix::Error,
    },
    NoAddress {
        fd: RawFd,
        error: nix::Error,
    },
    WrongKind {
        fd: RawFd,
        ty: SockType,
        family: Option<AddressFamily>,
        network: Network,
        /// An IPv6 wildcard socket that takes IPv4 clients too.
        dual_stack: bool,
    },
    NotListening {
        fd: RawFd,
        network: Network,
    },
    /// An IPv6 wildcard socket that takes IPv4 clients too, for a listener
    /// declared IPv6 only (`tcp6`, `udp6`), which littleboss itself binds
    /// with `IPV6_V6ONLY`.
    DualStack {
        fd: RawFd,
        network: Network,
    },
}

impl std::fmt::Display for NotFit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotFit::NotASocket { fd, error } => write!(f, "fd {fd} is not a socket ({error})"),
            NotFit::NoAddress { fd, error } => {
                write!(f, "fd {fd}: cannot read its address ({error})")
            }
            NotFit::WrongKind {
                fd,
                ty,
                family,
                network,
                dual_stack,
            } => {
                write!(
                    f,
                    "fd {fd} is {}, not a {network} socket",
                    kind_in_words(*ty, *family)
                )?;
                // `ListenStream=8080` binds `[::]:8080`, dual-stack.
                if *network == Network::Tcp4 && *ty == SockType::Stream && *dual_stack {
                    f.write_str(" (a unit's `ListenStream=PORT` listens on IPv6 and IPv4 alike: write `ListenStream=0.0.0.0:PORT`, or declare the listener `tcp`)")?;
                }
                Ok(())
            }
            NotFit::DualStack { fd, network } => write!(
                f,
                "fd {fd} is a dual-stack IPv6 socket, which takes IPv4 clients too, not a {network} socket (set `BindIPv6Only=ipv6-only` in the unit, or declare the listener `{}`)",
                network.kind().method()
            ),
            NotFit::NotListening { fd, network } => {
                write!(f, "fd {fd} is a {network} socket that is not listening")?;
                if network.kind() == Kind::Tcp || *network == Network::Unix {
                    // What systemd passes with `Accept=yes`.
                    f.write_str(" (a connection, as a unit with `Accept=yes` passes: littleboss takes the listening socket, `Accept=no`)")?;
                }
                Ok(())
            }
        }
    }
}

/// A socket's type and family as a person says them: "an IPv6 stream
/// (tcp6) socket".
fn kind_in_words(ty: SockType, family: Option<AddressFamily>) -> String {
    let family = match family {
        Some(AddressFamily::Inet) => "IPv4",
        Some(AddressFamily::Inet6) => "IPv6",
        Some(AddressFamily::Unix) => "unix",
        Some(other) => return format!("a socket of family {other:?}"),
        None => "unknown-family",
    };
    let (ty, net) = match (ty, family) {
        (SockType::Stream, "IPv4") => ("stream", " (tcp4)"),
        (SockType::Stream, "IPv6") => ("stream", " (tcp6, or tcp dual-stack)"),
        (SockType::Datagram, "IPv4") => ("datagram", " (udp4)"),
        (SockType::Datagram, "IPv6") => ("datagram", " (udp6, or udp dual-stack)"),
        (SockType::Stream, _) => ("stream", ""),
        (SockType::Datagram, _) => ("datagram", ""),
        (SockType::SeqPacket, _) => ("seqpacket", ""),
        (other, _) => return format!("{} {family} socket of type {other:?}", article(family)),
    };
    let article = article(family);
    format!("{article} {family} {ty}{net} socket")
}

/// The article before `family` (`an IPv4`, `a unix`, `an unknown-family`).
fn article(family: &str) -> &'static str {
    match family.starts_with('I') || family.starts_with("unknown") {
        true => "an",
        false => "a",
    }
}

impl std::error::Error for NotFit {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            NotFit::NotASocket { error, .. } | NotFit::NoAddress { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// [`check_fd`] for a socket a service manager passes: and, for a `tcp6`
/// or `udp6` listener, not dual-stack (littleboss binds those
/// IPv6-only). Only there: a socket held already (by a supervisor before
/// an upgrade, for a child) was taken by an older rule, and stays.
pub(crate) fn check_passed(fd: &OwnedFd, network: Network) -> Result<(), NotFit> {
    check(fd, network, true)
}

/// Checks that an fd we were handed is a socket fit for `network`: the
/// right type, family and, for streams, listening.
pub(crate) fn check_fd(fd: &OwnedFd, network: Network) -> Result<(), NotFit> {
    check(fd, network, false)
}

/// Whether `fd` is an IPv6 wildcard socket (`[::]`) that takes no IPv4
/// client (`IPV6_V6ONLY` set).
pub(crate) fn ipv6_only_wildcard(fd: BorrowedFd<'_>) -> bool {
    ipv6_wildcard_only(fd) == Some(true)
}

/// For an IPv6 wildcard socket (`[::]`), whether it takes no IPv4 client
/// (`IPV6_V6ONLY`); `None` for any other socket.
fn ipv6_wildcard_only(fd: BorrowedFd<'_>) -> Option<bool> {
    let address = socket::getsockname::<SockaddrStorage>(fd.as_raw_fd()).ok()?;
    address
        .as_sockaddr_in6()
        .filter(|a| a.ip().is_unspecified())?;
    socket::getsockopt(&fd, sockopt::Ipv6V6Only).ok()
}

/// [`check_fd`], and where `passed`, [`check_passed`]'s dual-stack rule.
fn check(fd: &OwnedFd, network: Network, passed: bool) -> Result<(), NotFit> {
    let raw = fd.as_raw_fd();
    let ty = socket::getsockopt(fd, sockopt::SockType)
        .map_err(|error| NotFit::NotASocket { fd: raw, error })?;
    let address = socket::getsockname::<SockaddrStorage>(fd.as_fd().as_raw_fd())
        .map_err(|error| NotFit::NoAddress { fd: raw, error })?;
    let family = address.family();
    const BOTH: &[AddressFamily] = &[AddressFamily::Inet, AddressFamily::Inet6];
    const V4: &[AddressFamily] = &[AddressFamily::Inet];
    const V6: &[AddressFamily] = &[AddressFamily::Inet6];
    let (want_ty, families): (SockType, &[AddressFamily]) = match network {
        Network::Tcp => (SockType::Stream, BOTH),
        Network::Tcp4 => (SockType::Stream, V4),
        Network::Tcp6 => (SockType::Stream, V6),
        Network::Udp => (SockType::Datagram, BOTH),
        Network::Udp4 => (SockType::Datagram, V4),
        Network::Udp6 => (SockType::Datagram, V6),
        Network::Unix => (SockType::Stream, &[AddressFamily::Unix]),
    };
    // An IPv6 wildcard socket that takes IPv4 clients too.
    let dual_stack = || ipv6_wildcard_only(fd.as_fd()) == Some(false);
    if ty != want_ty || !family.is_some_and(|f| families.contains(&f)) {
        return Err(NotFit::WrongKind {
            fd: raw,
            ty,
            family,
            network,
            dual_stack: dual_stack(),
        });
    }
    if want_ty == SockType::Stream && !socket::getsockopt(fd, sockopt::AcceptConn).unwrap_or(false)
    {
        return Err(NotFit::NotListening { fd: raw, network });
    }
    if passed && matches!(network, Network::Tcp6 | Network::Udp6) && dual_stack() {
        return Err(NotFit::DualStack { fd: raw, network });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_only_wildcard_is_told_from_a_dual_stack_one() {
        let wildcard = |v6only: bool| -> Option<OwnedFd> {
            let fd = socket::socket(
                AddressFamily::Inet6,
                SockType::Stream,
                socket::SockFlag::SOCK_CLOEXEC,
                None,
            )
            .ok()?;
            socket::setsockopt(&fd, sockopt::Ipv6V6Only, &v6only).unwrap();
            let any = socket::SockaddrIn6::from(std::net::SocketAddrV6::new(
                std::net::Ipv6Addr::UNSPECIFIED,
                0,
                0,
                0,
            ));
            socket::bind(fd.as_raw_fd(), &any).ok()?;
            Some(fd)
        };
        let Some(only) = wildcard(true) else {
            eprintln!("no IPv6 on this machine: nothing to check");
            return;
        };
        assert!(ipv6_only_wildcard(only.as_fd()));
        assert!(!ipv6_only_wildcard(wildcard(false).unwrap().as_fd()));
        // At an address, IPv6-only or not, it is no wildcard.
        // (Some containers have IPv6 sockets but no `::1`.)
        if let Ok(loopback) = std::net::TcpListener::bind("[::1]:0") {
            assert!(!ipv6_only_wildcard(loopback.as_fd()));
        }
        let v4 = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
        assert!(!ipv6_only_wildcard(v4.as_fd()));
    }

    #[test]
    fn a_family_takes_the_article_it_is_read_with() {
        assert_eq!(article("IPv4"), "an");
        assert_eq!(article("unix"), "a");
        assert_eq!(article("unknown-family"), "an");
    }

    #[test]
    fn a_dual_stack_socket_for_a_tcp4_listener_says_how_to_fix_the_unit() {
        // What `ListenStream=PORT` passes: `[::]:PORT`, IPv4 clients too.
        let spec = crate::spec::ListenerSpec::parse("t", "tcp::0").unwrap();
        let fd = crate::listener::bind(&spec).unwrap().unwrap().fd;
        if local_address(&fd, Kind::Tcp)
            .unwrap()
            .starts_with("0.0.0.0")
        {
            eprintln!("no IPv6 on this machine: nothing to check");
            return;
        }
        let e = check_fd(&fd, Network::Tcp4).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "fd {} is an IPv6 stream (tcp6, or tcp dual-stack) socket, not a tcp4 socket (a unit's `ListenStream=PORT` listens on IPv6 and IPv4 alike: write `ListenStream=0.0.0.0:PORT`, or declare the listener `tcp`)",
                fd.as_raw_fd()
            )
        );
        assert!(check_fd(&fd, Network::Tcp).is_ok());
        // Passed by a service manager, nor is it a tcp6 socket, which
        // takes IPv6 clients only; held already, it stays.
        assert!(check_fd(&fd, Network::Tcp6).is_ok());
        let e = check_passed(&fd, Network::Tcp6).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "fd {} is a dual-stack IPv6 socket, which takes IPv4 clients too, not a tcp6 socket (set `BindIPv6Only=ipv6-only` in the unit, or declare the listener `tcp`)",
                fd.as_raw_fd()
            )
        );
        let udp = crate::spec::ListenerSpec::parse("u", "udp::0").unwrap();
        let udp = crate::listener::bind(&udp).unwrap().unwrap().fd;
        let e = check_passed(&udp, Network::Udp6).unwrap_err().to_string();
        assert!(e.ends_with("or declare the listener `udp`)"), "{e}");
        assert!(check_passed(&udp, Network::Udp).is_ok());
        // IPv6 only: no hint that it takes IPv4 clients.
        let Ok(v6) = std::net::TcpListener::bind("[::1]:0") else {
            return;
        };
        let v6 = OwnedFd::from(v6);
        let e = check_fd(&v6, Network::Tcp4).unwrap_err();
        assert!(e.to_string().ends_with("not a tcp4 socket"), "{e}");
        assert!(check_passed(&v6, Network::Tcp6).is_ok());
        let tcp6 = crate::spec::ListenerSpec::parse("t6", "tcp6::0").unwrap();
        let tcp6 = crate::listener::bind(&tcp6).unwrap().unwrap().fd;
        assert!(
            check_passed(&tcp6, Network::Tcp6).is_ok(),
            "as littleboss binds it"
        );
    }

    #[test]
    fn an_abstract_socket_is_named_with_its_at_sign() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("littleboss-test-{}", std::process::id());
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(&name).unwrap();
        let listener = std::os::unix::net::UnixListener::bind_addr(&addr).unwrap();
        let fd = OwnedFd::from(listener);
        assert_eq!(local_address(&fd, Kind::Unix).unwrap(), format!("@{name}"));
    }
}
