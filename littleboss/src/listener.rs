//! Binding listeners from their specs, or adopting the sockets a service
//! manager passed for them.
//!
//! Every socket is created close-on-exec: it reaches a child only over the
//! child channel, never by inheritance.

use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use nix::errno::Errno;
use nix::sys::socket::{
    self, AddressFamily, Backlog, SockFlag, SockType, SockaddrStorage, sockopt,
};

use crate::activation::{Activated, ActivationError};
use crate::own_file::OwnFile;
use crate::rules::host_port;
use crate::socket::local_address;
use crate::spec::{Kind, ListenerSpec, Network};

/// A bound listener and the address it ended up on (`:0` resolved).
#[derive(Debug)]
pub(crate) struct Bound {
    pub fd: OwnedFd,
    pub address: String,
    /// Bound here, not passed by a service manager.
    pub bound_here: bool,
    /// The socket file this bind made (a unix listener bound here), known
    /// by its absolute path and identity, taken right after the bind: ours
    /// to remove at the end, and only while the path still names it.
    pub unix_file: Option<OwnFile>,
}

/// Why a listener could not be had.
#[derive(Debug)]
pub(crate) enum ListenError {
    Bind {
        name: String,
        network: Network,
        address: String,
        error: io::Error,
    },
    /// Bound, but its address cannot be read.
    Address { name: String, error: io::Error },
    /// Passed by the service manager, but its address cannot be read.
    PassedAddress { name: String, error: io::Error },
    /// The service manager's sockets do not fit the listeners.
    Activation(ActivationError),
}

impl ListenError {
    /// The kind of the system error behind it, if there is one.
    pub(crate) fn io_kind(&self) -> Option<io::ErrorKind> {
        match self {
            ListenError::Bind { error, .. }
            | ListenError::Address { error, .. }
            | ListenError::PassedAddress { error, .. } => Some(error.kind()),
            ListenError::Activation(_) => None,
        }
    }
}

impl std::fmt::Display for ListenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ListenError::Bind {
                name,
                network,
                address,
                error,
            } => write!(f, "-{name}: cannot listen on {network} {address}: {error}"),
            ListenError::Address { name, error } => {
                write!(f, "-{name}: cannot read the bound address: {error}")
            }
            ListenError::PassedAddress { name, error } => {
                write!(
                    f,
                    "-{name}: cannot read the passed socket's address: {error}"
                )
            }
            ListenError::Activation(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ListenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ListenError::Bind { error, .. }
            | ListenError::Address { error, .. }
            | ListenError::PassedAddress { error, .. } => Some(error),
            ListenError::Activation(e) => Some(e),
        }
    }
}

/// Binds one listener; `None` when its address is empty (it is off).
pub(crate) fn bind(spec: &ListenerSpec) -> Result<Option<Bound>, ListenError> {
    resolve(spec)?.map(Resolved::bind).transpose()
}

/// A listener's address with its host name looked up, ready to bind with
/// no wait but the kernel's: a bind that must not happen after a deadline
/// (a reload given up while a lookup waited on DNS) looks up every
/// address first, then binds all or none.
#[derive(Debug)]
pub(crate) struct Resolved {
    name: String,
    network: Network,
    /// As the spec gives it, for the messages.
    address: String,
    target: Target,
}

/// Where a [`Resolved`] listener binds.
#[derive(Debug)]
enum Target {
    /// The unix socket at the address.
    Unix,
    /// Every address of the network's family (a host left empty).
    Any(u16),
    /// One address: `host` is the name it was looked up from, if any.
    One {
        at: SocketAddr,
        host: Option<String>,
    },
}

/// Looks up `spec`'s address; `None` when it is empty (it is off).
pub(crate) fn resolve(spec: &ListenerSpec) -> Result<Option<Resolved>, ListenError> {
    let Some(addr) = spec.address.as_deref() else {
        return Ok(None);
    };
    let target = match spec.network {
        Network::Unix => Ok(Target::Unix),
        network => look_up(network, addr),
    };
    let target = target.map_err(|error| ListenError::Bind {
        name: spec.name.clone(),
        network: spec.network,
        address: addr.to_owned(),
        error,
    })?;
    Ok(Some(Resolved {
        name: spec.name.clone(),
        network: spec.network,
        address: addr.to_owned(),
        target,
    }))
}

impl Resolved {
    /// Binds it.
    pub(crate) fn bind(self) -> Result<Bound, ListenError> {
        let Resolved {
            name,
            network,
            address,
            target,
        } = self;
        let bound = match target {
            Target::Unix => bind_unix(Path::new(&address)),
            Target::Any(port) => bind_any(network, port).map(|fd| (fd, None)),
            Target::One { at, host } => bind_one(network, at, host).map(|fd| (fd, None)),
        };
        let (fd, unix_file) = bound.map_err(|error| ListenError::Bind {
            name: name.clone(),
            network,
            address,
            error,
        })?;
        let address = local_address(&fd, network.kind()).map_err(|error| {
            if let Some(file) = &unix_file {
                file.remove();
            }
            ListenError::Address { name, error }
        })?;
        Ok(Bound {
            fd,
            address,
            bound_here: true,
            unix_file,
        })
    }
}

/// Undoes binds that a later failure made pointless: their socket files
/// go (only those still ours), their sockets close.
pub(crate) fn unbind(bound: impl IntoIterator<Item = Bound>) {
    for bound in bound {
        if let Some(file) = &bound.unix_file {
            file.remove();
        }
    }
}

/// Every listener in order: the socket a service manager passed for it
/// (socket activation), or else one bound here. Stops at the first failure.
pub(crate) fn bind_all(
    specs: &[ListenerSpec],
    activated: Option<Activated>,
) -> Result<Vec<Option<Bound>>, ListenError> {
    let mut passed = match activated {
        Some(activated) => {
            let assigned = activated.assign(specs).map_err(ListenError::Activation)?;
            use crate::report::note;
            use log::Level::{Info, Warn};
            for why in &assigned.unmatched {
                // The manager keeps its own copy listening: connections
                // there queue unanswered, which the log must say.
                note(
                    Warn,
                    format_args!(
                        "socket activation: {why}; closing it (the service manager keeps it listening: clients connecting there wait unanswered; remove it from the socket unit)"
                    ),
                );
            }
            for fd in &assigned.not_sockets {
                note(
                    Warn,
                    format_args!(
                        "socket activation: {fd} is not a socket (a file or a pipe, as `OpenFile=` passes); closing it: littleboss takes only sockets from the service manager, so the program opens such a file itself"
                    ),
                );
            }
            for elsewhere in &assigned.elsewhere {
                note(Info, format_args!("socket activation: {elsewhere}"));
            }
            assigned.fds
        }
        None => specs.iter().map(|_| None).collect(),
    };
    let mut all = Vec::with_capacity(specs.len());
    for (spec, passed) in specs.iter().zip(passed.iter_mut()) {
        let one = match passed.take() {
            Some(fd) => local_address(&fd, spec.network.kind())
                .map(|address| {
                    Some(Bound {
                        fd,
                        address,
                        bound_here: false,
                        unix_file: None,
                    })
                })
                .map_err(|error| ListenError::PassedAddress {
                    name: spec.name.clone(),
                    error,
                }),
            None => bind(spec),
        };
        match one {
            Ok(bound) => all.push(bound),
            Err(error) => {
                // None or all: the socket files bound so far go too.
                unbind(all.into_iter().flatten());
                return Err(error);
            }
        }
    }
    Ok(all)
}

/// Where `addr`, an inet address of `network`, binds: a host name looked
/// up (which may wait on DNS).
fn look_up(network: Network, addr: &str) -> io::Result<Target> {
    let (host, port) = host_port(addr).map_err(io::Error::other)?;
    if host.is_empty() {
        return Ok(Target::Any(port));
    }
    let resolved: Vec<SocketAddr> = (host, port).to_socket_addrs()?.collect();
    let Some(at) = address_to_bind(network, &resolved) else {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("`{host}` has no suitable address"),
        ));
    };
    let host = host.parse::<IpAddr>().is_err().then(|| host.to_owned());
    Ok(Target::One { at, host })
}

/// Binds every address of `network`'s family at `port`.
fn bind_any(network: Network, port: u16) -> io::Result<OwnedFd> {
    let stream = network.kind() == Kind::Tcp;
    let any4 = SocketAddr::from(([0u8; 4], port));
    let any6 = SocketAddr::from(([0u16; 8], port));
    match network {
        Network::Tcp4 | Network::Udp4 => inet_socket(any4, stream, false),
        Network::Tcp6 | Network::Udp6 => inet_socket(any6, stream, true),
        // Every address: dual-stack where the machine has IPv6.
        _ => inet_socket(any6, stream, false).or_else(|e| {
            if no_ipv6(&e) {
                inet_socket(any4, stream, false)
            } else {
                Err(e)
            }
        }),
    }
}

/// Binds `at`, looked up from `host` if a name gave it (said should the
/// bind fail: which of the name's addresses was tried).
fn bind_one(network: Network, at: SocketAddr, host: Option<String>) -> io::Result<OwnedFd> {
    let stream = network.kind() == Kind::Tcp;
    inet_socket(at, stream, at.is_ipv6()).map_err(|e| match host {
        None => e,
        Some(host) => io::Error::new(e.kind(), format!("{e} (`{host}` is {} here)", at.ip())),
    })
}

/// Which of the addresses a host name resolved to a listener binds: one
/// only, as Go's `net.Listen` does, of the network's family, and for
/// `tcp`/`udp` an IPv4 one first. `localhost` often resolves to `::1`
/// before `127.0.0.1`, and a socket on `[::1]` alone refuses every client
/// of `127.0.0.1`; nor does a bind that fails move to the next address,
/// another socket than the one asked for.
fn address_to_bind(network: Network, resolved: &[SocketAddr]) -> Option<SocketAddr> {
    let first = |v4: bool| resolved.iter().find(|a| a.is_ipv4() == v4).copied();
    match network {
        Network::Tcp4 | Network::Udp4 => first(true),
        Network::Tcp6 | Network::Udp6 => first(false),
        _ => first(true).or_else(|| resolved.first().copied()),
    }
}

fn no_ipv6(e: &io::Error) -> bool {
    let code = e.raw_os_error();
    code == Some(Errno::EAFNOSUPPORT as i32) || code == Some(Errno::EADDRNOTAVAIL as i32)
}

fn inet_socket(addr: SocketAddr, stream: bool, v6only: bool) -> io::Result<OwnedFd> {
    let family = if addr.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    };
    let ty = if stream {
        SockType::Stream
    } else {
        SockType::Datagram
    };
    let fd = socket::socket(family, ty, SockFlag::SOCK_CLOEXEC, None)?;
    if stream {
        socket::setsockopt(&fd, sockopt::ReuseAddr, &true)?;
    }
    if addr.is_ipv6() {
        socket::setsockopt(&fd, sockopt::Ipv6V6Only, &v6only)?;
    }
    socket::bind(fd.as_raw_fd(), &SockaddrStorage::from(addr))?;
    if stream {
        // The kernel's maximum queue: connections that arrive while one
        // child hands over to the next wait here instead of being refused.
        socket::listen(&fd, Backlog::MAXALLOWABLE)?;
    }
    Ok(fd)
}

/// Binds a unix socket at `path`, and the file the bind made (by its
/// absolute path: to be removed at the end, and here at once if listening
/// fails), if it can be looked at.
fn bind_unix(path: &Path) -> io::Result<(OwnedFd, Option<OwnFile>)> {
    remove_stale_unix_socket(path)?;
    let listener = std::os::unix::net::UnixListener::bind(path)?;
    let file = std::path::absolute(path).ok().and_then(OwnFile::of);
    if let Err(e) = socket::listen(&listener, Backlog::MAXALLOWABLE) {
        if let Some(file) = &file {
            file.remove();
        }
        return Err(e.into());
    }
    Ok((listener.into(), file))
}

/// Removes a unix socket file nobody listens on any more; refuses to touch
/// a live one or anything that is not a socket. Live is listening: a
/// socket bound there but not listening yet (another server in the
/// instant between its two calls) is refused connections as a dead one
/// is, and nothing cheaper than `/proc/net/unix` tells them apart.
fn remove_stale_unix_socket(path: &Path) -> io::Result<()> {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(());
    };
    if !meta.file_type().is_socket() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} exists and is not a socket", path.display()),
        ));
    }
    // Listening, answering or not (a full queue: stopped, stuck).
    match crate::socket::knock(path) {
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!("{} is in use by a running program", path.display()),
        )),
        // Unless another program put a live one there since the look
        // above (the window is narrowed, not closed): the bind says so.
        Err(e)
            if e.kind() == io::ErrorKind::ConnectionRefused
                && crate::own_file::identity(path) != Some([meta.dev(), meta.ino()]) =>
        {
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
            match std::fs::remove_file(path) {
                // Removed by another meanwhile (a start racing this one):
                // the path is free, and the bind says if it is taken again.
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                removed => removed.map_err(|e| {
                    io::Error::new(
                        e.kind(),
                        format!(
                            "cannot remove the stale socket file {}: {e}",
                            path.display()
                        ),
                    )
                }),
            }
        }
        // Gone meanwhile: nothing in the way.
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        // Not ours to connect to (another user's, say): the bind would
        // only say "address in use".
        Err(e) => Err(io::Error::new(
            e.kind(),
            format!(
                "{} exists and cannot be checked for a listener: {e}",
                path.display()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::socket::check_fd;

    fn spec(s: &str) -> ListenerSpec {
        ListenerSpec::parse("t", s).unwrap()
    }

    #[test]
    fn a_host_name_binds_one_address_ipv4_first_unless_the_network_says() {
        let v6: SocketAddr = "[::1]:80".parse().unwrap();
        let v4: SocketAddr = "127.0.0.1:80".parse().unwrap();
        // `localhost` as glibc sorts it where /etc/hosts has both.
        let localhost = [v6, v4];
        assert_eq!(address_to_bind(Network::Tcp, &localhost), Some(v4));
        assert_eq!(address_to_bind(Network::Udp, &localhost), Some(v4));
        assert_eq!(address_to_bind(Network::Tcp6, &localhost), Some(v6));
        assert_eq!(address_to_bind(Network::Udp4, &localhost), Some(v4));
        assert_eq!(address_to_bind(Network::Tcp, &[v6]), Some(v6));
        assert_eq!(address_to_bind(Network::Tcp4, &[v6]), None);
        assert_eq!(address_to_bind(Network::Tcp, &[]), None);
    }

    #[test]
    fn a_failed_bind_of_a_host_name_says_which_address_it_tried() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let bind = |address: String| {
            let spec = ListenerSpec::parse("t", &format!("tcp4:{address}")).unwrap();
            bind(&spec).unwrap_err()
        };
        let error = bind(format!("localhost:{port}"));
        assert_eq!(error.io_kind(), Some(io::ErrorKind::AddrInUse));
        assert!(
            error
                .to_string()
                .ends_with("(`localhost` is 127.0.0.1 here)"),
            "{error}"
        );
        // An address as such is its own name.
        let error = bind(format!("127.0.0.1:{port}"));
        assert!(!error.to_string().contains("here"), "{error}");
    }

    #[test]
    fn a_failed_bind_undoes_the_socket_files_bound_before_it() {
        let dir = std::env::temp_dir().join(format!("lb-bind-all-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("first.sock");
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let specs = [
            ListenerSpec::parse("first", &format!("unix:{}", path.display())).unwrap(),
            ListenerSpec::parse("second", &format!("tcp:{}", taken.local_addr().unwrap())).unwrap(),
        ];
        let error = bind_all(&specs, None).unwrap_err().to_string();
        assert!(error.contains("second"), "{error}");
        assert!(!path.exists(), "the first listener's socket file stayed");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn binds_port_zero_and_reports_the_real_port() {
        let b = bind(&spec("tcp:127.0.0.1:0")).unwrap().unwrap();
        assert!(b.address.starts_with("127.0.0.1:"));
        assert_ne!(b.address, "127.0.0.1:0");
        check_fd(&b.fd, Network::Tcp).unwrap();
        let e = check_fd(&b.fd, Network::Udp).unwrap_err().to_string();
        assert!(e.contains("not a udp socket"), "{e}");
        check_fd(&b.fd, Network::Tcp4).unwrap();
        let e = check_fd(&b.fd, Network::Tcp6).unwrap_err().to_string();
        assert!(e.contains("not a tcp6 socket"), "{e}");
    }

    #[test]
    fn empty_address_is_off() {
        assert!(bind(&spec("tcp:")).unwrap().is_none());
    }

    #[test]
    fn udp_and_unix() {
        let u = bind(&spec("udp4::0")).unwrap().unwrap();
        check_fd(&u.fd, Network::Udp4).unwrap();
        let dir = std::env::temp_dir().join(format!("lb-listener-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.sock");
        let x = bind(&spec(&format!("unix:{}", path.display())))
            .unwrap()
            .unwrap();
        assert_eq!(x.address, path.display().to_string());
        // A live socket is never replaced.
        let e = bind(&spec(&format!("unix:{}", path.display())))
            .unwrap_err()
            .to_string();
        assert!(e.contains("in use"), "{e}");
        drop(x);
        // A stale one is.
        assert!(
            bind(&spec(&format!("unix:{}", path.display())))
                .unwrap()
                .is_some()
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_busy_port_is_a_clear_error() {
        let b = bind(&spec("tcp4:127.0.0.1:0")).unwrap().unwrap();
        let e = bind(&spec(&format!("tcp4:{}", b.address))).unwrap_err();
        assert!(
            matches!(&e, ListenError::Bind { error, .. } if error.kind() == io::ErrorKind::AddrInUse)
        );
        let e = e.to_string();
        assert!(e.starts_with("-t: cannot listen on tcp4 127.0.0.1:"), "{e}");
    }
}
