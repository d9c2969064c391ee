//! Which socket a declaration asks for, compared by what it is: two
//! listeners of one program cannot ask for the same one, as the kernel
//! binds an address once.

use std::net::IpAddr;

use super::RuleError;

/// The socket `addr` names on `network` (a valid declaration's parts),
/// normalised so that two spellings of one socket compare equal, as
/// `tcp :80`; `None` for one that is off or asks for a free port (port 0,
/// a different one each).
pub(crate) fn socket_of(network: &str, addr: &str) -> Option<String> {
    if addr.is_empty() {
        return None;
    }
    let address = match network {
        "unix" => clean_path(addr),
        _ => normalise_host_port(addr),
    };
    (network == "unix" || !address.ends_with(":0")).then(|| format!("{network} {address}"))
}

/// Every conflict among `declared` listeners (name, network, address),
/// each one against the first before it that it meets: the same socket
/// ([`socket_of`]), or one that overlaps it ([`sockets_overlap`]). One
/// in conflict already is still met by those after it: `tcp:127.0.0.1:80`,
/// `tcp::80`, `tcp6::80` are two conflicts, told at once.
pub(crate) fn socket_conflicts<'a>(
    declared: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>,
) -> Vec<RuleError> {
    let mut errors = Vec::new();
    let mut sockets: Vec<(&str, String, (&str, &str))> = Vec::new();
    for (name, network, addr) in declared {
        let Some(socket) = socket_of(network, addr) else {
            continue;
        };
        let this = (network, addr);
        if let Some((first, _, _)) = sockets.iter().find(|(_, s, _)| *s == socket) {
            errors.push(RuleError::SameSocket {
                first: (*first).to_owned(),
                second: name.to_owned(),
                socket: socket.clone(),
            });
        } else if let Some((first, first_socket, _)) =
            (sockets.iter()).find(|(_, _, declared)| sockets_overlap(*declared, this).is_some())
        {
            errors.push(RuleError::OverlappingSockets {
                first: (*first).to_owned(),
                first_socket: first_socket.clone(),
                second: name.to_owned(),
                second_socket: socket.clone(),
            });
        }
        sockets.push((name, socket, this));
    }
    errors
}

/// Whether the sockets two declarations ask for overlap though they are
/// not the same one (see [`socket_of`] for that): the same port of the
/// same kind, on addresses of which one takes the other's. The kernel
/// binds a port once per address, so a start fails on the second.
///
/// `tcp :80` listens on every address, IPv4 and IPv6 (dual-stack), so it
/// overlaps every other TCP listener on port 80; `tcp4 :80` overlaps each
/// on an IPv4 address of port 80 (`tcp4:0.0.0.0:80`, `tcp:127.0.0.1:80`,
/// `tcp4:localhost:80`), `tcp6 :80` each on an IPv6 one; an address
/// overlaps itself under another network's name (`tcp:127.0.0.1:80` and
/// `tcp4:127.0.0.1:80`). A host name is taken for no address of its own
/// (which it resolves to is known only at bind), but for itself: on `tcp`
/// and on `tcp4` one name binds its first IPv4 address, the same one
/// (`tcp:localhost:80`, `tcp4:localhost:80`), and on `tcp6` twice its
/// first IPv6 one; a final dot changes no name (`localhost.`).
pub(crate) fn sockets_overlap(a: (&str, &str), b: (&str, &str)) -> Option<Overlap> {
    let (a, b) = (Bind::of(a.0, a.1)?, Bind::of(b.0, b.1)?);
    if a.kind != b.kind || a.port != b.port {
        return None;
    }
    use Scope::*;
    let overlap = match (&a.scope, &b.scope) {
        (Every, _) | (_, Every) => true,
        (Every4, Every4) | (Every6, Every6) => true,
        (Every4, Ip(ip)) | (Ip(ip), Every4) => ip.is_ipv4(),
        (Every6, Ip(ip)) | (Ip(ip), Every6) => ip.is_ipv6(),
        (Every4, Host { v4_only, .. }) | (Host { v4_only, .. }, Every4) => *v4_only,
        (Every6, Host { v6_only, .. }) | (Host { v6_only, .. }, Every6) => *v6_only,
        (Ip(x), Ip(y)) => x == y,
        // One name binds its first address of one family: IPv4 on `tcp`
        // and `tcp4`, IPv6 on `tcp6`.
        (
            Host {
                name: x,
                v6_only: a,
                ..
            },
            Host {
                name: y,
                v6_only: b,
                ..
            },
        ) => x == y && a == b,
        _ => false,
    };
    let one_address = match (&a.scope, &b.scope) {
        (Ip(x), Ip(y)) => x == y,
        (Host { name: x, .. }, Host { name: y, .. }) => x == y,
        _ => false,
    };
    overlap.then_some(Overlap { one_address })
}

/// How two declarations overlap ([`sockets_overlap`]), for the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Overlap {
    /// One address (not a wildcard) under two networks' names:
    /// `tcp:127.0.0.1:80` and `tcp4:127.0.0.1:80`; or one host name
    /// spelled two ways (`localhost`, `localhost.`).
    pub(crate) one_address: bool,
}

/// Whether two inet declarations bind the very same socket, whatever
/// their networks' names: `tcp:127.0.0.1:80` and `tcp4:127.0.0.1:80`;
/// `tcp4 :80` and `tcp:0.0.0.0:80`; `tcp6 :80` and `tcp:[::]:80` (IPv6
/// only either way). Not `tcp :80` (dual-stack, as no other is), a host
/// name (what it resolves to is known only at bind), nor an address of
/// a family its network does not take.
pub(crate) fn binds_alike(a: (&str, &str), b: (&str, &str)) -> bool {
    let (Some(x), Some(y)) = (Bind::of(a.0, a.1), Bind::of(b.0, b.1)) else {
        return false;
    };
    // `tcp4` takes IPv4 alone, `tcp6` IPv6 alone, the others either.
    let takes = |network: &str, v6: bool| !network.ends_with(if v6 { '4' } else { '6' });
    let same = match (&x.scope, &y.scope) {
        (Scope::Every4, Scope::Every4) => takes(a.0, false) && takes(b.0, false),
        (Scope::Every6, Scope::Every6) => takes(a.0, true) && takes(b.0, true),
        (Scope::Ip(p), Scope::Ip(q)) => {
            p == q && takes(a.0, p.is_ipv6()) && takes(b.0, q.is_ipv6())
        }
        _ => false,
    };
    same && x.kind == y.kind && x.port == y.port
}

/// Where an inet declaration binds, as far as its text tells.
struct Bind {
    /// `tcp` or `udp`.
    kind: &'static str,
    port: u16,
    scope: Scope,
}

enum Scope {
    /// Every address, IPv4 and IPv6 (`tcp :80`).
    Every,
    /// Every IPv4 address (`tcp4 :80`, `tcp:0.0.0.0:80`).
    Every4,
    /// Every IPv6 address, IPv6 only (`tcp6 :80`, `tcp6:[::]:80`).
    Every6,
    /// One address.
    Ip(IpAddr),
    /// A host name (lowercased): of the network's family only, or either.
    Host {
        name: String,
        v4_only: bool,
        v6_only: bool,
    },
}

impl Bind {
    /// `None` for a unix socket, one off, or a free port (port 0).
    fn of(network: &str, addr: &str) -> Option<Bind> {
        let kind = match network {
            "tcp" | "tcp4" | "tcp6" => "tcp",
            "udp" | "udp4" | "udp6" => "udp",
            _ => return None,
        };
        let (host, port) = addr.rsplit_once(':')?;
        let port = port.parse::<u16>().ok().filter(|p| *p != 0)?;
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let (v4, v6) = (network.ends_with('4'), network.ends_with('6'));
        let scope = match bare.parse::<IpAddr>() {
            Err(_) if bare.is_empty() && v4 => Scope::Every4,
            Err(_) if bare.is_empty() && v6 => Scope::Every6,
            Err(_) if bare.is_empty() => Scope::Every,
            // `localhost.` is `localhost`, fully qualified.
            Err(_) => Scope::Host {
                name: bare.strip_suffix('.').unwrap_or(bare).to_ascii_lowercase(),
                v4_only: v4,
                v6_only: v6,
            },
            // `tcp:[::]:80` binds as `tcp6` does (IPv6 only): an address
            // given is bound as itself.
            Ok(ip) if ip.is_unspecified() && ip.is_ipv4() => Scope::Every4,
            Ok(ip) if ip.is_unspecified() => Scope::Every6,
            Ok(ip) => Scope::Ip(ip),
        };
        Some(Bind { kind, port, scope })
    }
}

/// A unix socket's path without what names nothing (`./a.sock` is
/// `a.sock`, `/run//x.sock` is `/run/x.sock`): one socket, one key. `..`
/// stays, as a symlink before it would make dropping it wrong.
pub(crate) fn clean_path(path: &str) -> String {
    use std::path::{Component, Path, PathBuf};
    let cleaned: PathBuf = Path::new(path)
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect();
    match cleaned.to_str() {
        Some(clean) if !clean.is_empty() => clean.to_owned(),
        _ => path.to_owned(),
    }
}

/// `host:port` with the host lowercased or its IP address in canonical
/// form (`[0:0::1]` is `[::1]`), and the port without leading zeros.
pub(crate) fn normalise_host_port(address: &str) -> String {
    let Some((host, port)) = address.rsplit_once(':') else {
        return address.to_owned();
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let host = match bare.parse::<IpAddr>() {
        Ok(IpAddr::V6(ip)) => format!("[{ip}]"),
        Ok(IpAddr::V4(ip)) => ip.to_string(),
        Err(_) => bare.to_ascii_lowercase(),
    };
    let port = port
        .parse::<u16>()
        .map_or(port.to_owned(), |p| p.to_string());
    format!("{host}:{port}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_in_conflict_already_is_met_by_the_next_too() {
        let declared = [
            ("a", "tcp", "127.0.0.1:80"),
            ("b", "tcp", ":80"),
            ("c", "tcp6", ":80"),
        ];
        let pairs: Vec<(String, String)> = (socket_conflicts(declared).into_iter())
            .map(|e| match e {
                RuleError::OverlappingSockets { first, second, .. } => (first, second),
                other => panic!("{other}"),
            })
            .collect();
        let pair = |a: &str, b: &str| (a.to_owned(), b.to_owned());
        assert_eq!(pairs, [pair("a", "b"), pair("b", "c")]);
    }

    #[test]
    fn an_overlap_is_told_in_its_own_networks_words() {
        let told = |declared: [(&'static str, &'static str, &'static str); 2]| {
            let errors = socket_conflicts(declared);
            assert_eq!(errors.len(), 1, "{errors:?}");
            errors[0].to_string()
        };
        let udp = told([("dns", "udp", ":53"), ("dns4", "udp4", ":53")]);
        assert!(
            udp.contains(
                "(`udp :PORT` is every IPv4 and IPv6 address, `udp4 :PORT` every IPv4 one"
            ),
            "{udp}"
        );
        // Wildcards written out: an address beside it overlaps still.
        for (tcp, net) in [("0.0.0.0:80", "tcp4"), ("[::]:80", "tcp6")] {
            let wild = told([("a", "tcp", tcp), ("b", net, tcp)]);
            assert!(
                wild.contains("ask for one port on addresses that overlap"),
                "{wild}"
            );
        }
        let alike = told([("a", "tcp", "127.0.0.1:80"), ("b", "tcp4", "127.0.0.1:80")]);
        assert_eq!(
            alike,
            "listeners `a` (tcp 127.0.0.1:80) and `b` (tcp4 127.0.0.1:80) ask for one address under two networks' names, which the kernel binds once; give each its own address"
        );
        // One host name, however it is spelled; one IPv6 address.
        for (a, b) in [
            (("tcp", "LocalHost:80"), ("tcp4", "localhost:80")),
            (("udp", "[0::1]:53"), ("udp6", "[::1]:53")),
        ] {
            let one = told([("a", a.0, a.1), ("b", b.0, b.1)]);
            assert!(
                one.contains("one address under two networks' names"),
                "{one}"
            );
        }
        let fqdn = told([("a", "tcp", "localhost:80"), ("b", "tcp", "localhost.:80")]);
        assert_eq!(
            fqdn,
            "listeners `a` (tcp localhost:80) and `b` (tcp localhost.:80) ask for one address spelled two ways, which the kernel binds once; give each its own address"
        );
    }

    #[test]
    fn one_socket_however_it_is_spelled() {
        assert_eq!(
            socket_of("tcp", "LocalHost:080"),
            socket_of("tcp", "localhost:80")
        );
        assert_eq!(
            socket_of("tcp6", "[0:0::1]:80").as_deref(),
            Some("tcp6 [::1]:80")
        );
        assert_eq!(
            socket_of("unix", "./a.sock").as_deref(),
            Some("unix a.sock")
        );
        assert_ne!(socket_of("tcp", ":80"), socket_of("tcp4", ":80"));
        assert_eq!(socket_of("tcp", "127.0.0.1:0"), None, "a free port each");
        assert_eq!(socket_of("tcp", ""), None, "off");
    }

    #[test]
    fn sockets_overlap_where_the_kernel_binds_a_port_once() {
        let overlap = [
            // Every address, dual-stack, against anything of the port.
            (("tcp", ":80"), ("tcp4", ":80")),
            (("tcp", ":80"), ("tcp6", ":80")),
            (("tcp", ":80"), ("tcp", "127.0.0.1:80")),
            (("tcp", ":80"), ("tcp", "[::1]:80")),
            (("tcp", ":80"), ("tcp", "localhost:80")),
            // Every IPv4 address, spelled two ways, and one of them.
            (("tcp4", ":80"), ("tcp4", "0.0.0.0:80")),
            (("tcp4", ":80"), ("tcp", "0.0.0.0:80")),
            (("tcp4", ":80"), ("tcp", "127.0.0.1:80")),
            (("tcp4", ":80"), ("tcp4", "localhost:80")),
            (("tcp6", ":80"), ("tcp", "[::]:80")),
            (("tcp6", ":80"), ("tcp", "[::1]:80")),
            // One address under two networks' names.
            (("tcp", "127.0.0.1:80"), ("tcp4", "127.0.0.1:80")),
            (("udp", ":53"), ("udp4", ":53")),
            // One name's first IPv4 address, on both.
            (("tcp", "localhost:8080"), ("tcp4", "LocalHost:8080")),
            (("udp", "db.internal:53"), ("udp4", "db.internal:53")),
            // A name and its fully qualified spelling.
            (("tcp", "localhost:80"), ("tcp", "localhost.:80")),
            (("tcp6", "localhost:80"), ("tcp6", "localhost.:80")),
        ];
        for (a, b) in overlap {
            assert!(sockets_overlap(a, b).is_some(), "{a:?} {b:?}");
            assert!(sockets_overlap(b, a).is_some(), "{b:?} {a:?}");
        }
        let apart = [
            (("tcp4", ":80"), ("tcp6", ":80")),
            (("tcp4", ":80"), ("tcp", "[::1]:80")),
            (("tcp6", ":80"), ("tcp", "127.0.0.1:80")),
            (("tcp", "127.0.0.1:80"), ("tcp", "127.0.0.2:80")),
            (("tcp", ":80"), ("tcp", ":81")),
            (("tcp", ":53"), ("udp", ":53")),
            // A name's address is known only at bind.
            (("tcp4", ":80"), ("tcp", "localhost:80")),
            (("tcp", "localhost:80"), ("tcp", "127.0.0.1:80")),
            (("tcp", "localhost:80"), ("tcp6", "localhost:80")),
            (("tcp4", "localhost:80"), ("tcp6", "localhost:80")),
            (("tcp", "localhost:80"), ("tcp4", "example.com:80")),
            // A free port each; off; unix.
            (("tcp", ":0"), ("tcp4", ":0")),
            (("tcp", ""), ("tcp4", ":80")),
            (("unix", "a.sock"), ("unix", "a.sock")),
        ];
        for (a, b) in apart {
            assert!(sockets_overlap(a, b).is_none(), "{a:?} {b:?}");
            assert!(sockets_overlap(b, a).is_none(), "{b:?} {a:?}");
        }
    }
}
