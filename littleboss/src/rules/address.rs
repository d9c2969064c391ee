//! Listener declarations `NET:ADDR`, and addresses alone (as the command
//! line gives them).

use std::net::{Ipv4Addr, Ipv6Addr};

use super::{RuleError, SpecProblem};

/// The networks a listener may use.
pub(crate) const NETWORK_NAMES: [&str; 7] = ["tcp", "tcp4", "tcp6", "udp", "udp4", "udp6", "unix"];

/// [`NETWORK_NAMES`] as the messages list them.
pub(crate) const NETWORKS: &str = "tcp, tcp4, tcp6, udp, udp4, udp6 or unix";

/// The declaration `spec` of the listener `listener`, split into its
/// network (one of [`NETWORK_NAMES`]) and its address, empty for a listener
/// that is off unless the command line gives it an address.
pub(crate) fn listener_spec<'a>(
    listener: &str,
    spec: &'a str,
) -> Result<(&'a str, &'a str), RuleError> {
    split(spec).map_err(|problem| RuleError::ListenerSpec {
        listener: listener.to_owned(),
        problem,
    })
}

fn split(spec: &str) -> Result<(&str, &str), SpecProblem> {
    let Some((network, addr)) = spec.split_once(':') else {
        return Err(SpecProblem::NotNetAddr { spec: spec.into() });
    };
    if network.is_empty() {
        return Err(SpecProblem::NoNetwork { spec: spec.into() });
    }
    if !NETWORK_NAMES.contains(&network) {
        return Err(SpecProblem::UnknownNetwork {
            network: network.into(),
            spec: spec.into(),
        });
    }
    address(network, addr)?;
    Ok((network, addr))
}

/// The longest path a unix socket address holds (`sun_path`, less its NUL).
pub(crate) const MAX_UNIX_PATH: usize = 107;

/// An address for `network` (one of [`NETWORK_NAMES`]): a path for `unix`,
/// else [`host_port`], whose IP address, if it is one, must be of the
/// network's family. Empty means off.
pub(crate) fn address(network: &str, addr: &str) -> Result<(), SpecProblem> {
    if addr.is_empty() {
        return Ok(());
    }
    // `http://localhost:8080`, `file:///run/svc.sock`, `unix:///x.sock`:
    // pasted whole, read as a host `http` (or a file in a folder `file:`),
    // it would fail in other words, or at bind.
    if url_scheme(addr).is_some() {
        return Err(SpecProblem::Url {
            network: network.into(),
            addr: addr.into(),
        });
    }
    // `-https=tcp::8443`, the declaration's form copied to the command
    // line: read as a host `tcp:` (or, for unix, as the file `unix:...`
    // in the working folder), it would fail in other words or bind
    // another address than the one meant.
    if let Some(given) = NETWORK_NAMES.iter().find(|name| {
        addr.strip_prefix(**name)
            .is_some_and(|rest| rest.starts_with(':'))
    }) {
        return Err(SpecProblem::NetworkInAddress {
            given: (*given).into(),
            network: network.into(),
            addr: addr.into(),
        });
    }
    if network == "unix" {
        if addr.starts_with('@') {
            return Err(SpecProblem::UnixAbstract { path: addr.into() });
        }
        if addr.contains('\0') {
            return Err(SpecProblem::UnixPathNul { path: addr.into() });
        }
        // A `\r` from a script with CRLF line ends would name another
        // file than the one clients look for.
        if addr.chars().any(char::is_control) {
            return Err(SpecProblem::UnixPathControl { path: addr.into() });
        }
        if addr.starts_with('~') {
            return Err(SpecProblem::UnixPathTilde { path: addr.into() });
        }
        // `-metrics=:9090` meant for a TCP listener (or kept by a reload
        // whose new binary made `metrics` a unix one), `*:9090` too, and
        // a port out of range: digits after the last `:`, or alone.
        let port = addr.rsplit_once(':').map_or(addr, |(_, port)| port);
        if !addr.contains('/') && is_digits(port) {
            return Err(SpecProblem::UnixPathLikeAddress { path: addr.into() });
        }
        // Bound as given, the kernel refuses it in misleading words (no
        // such file or directory, or the file exists).
        if names_a_folder(addr) {
            return Err(SpecProblem::UnixPathFolder { path: addr.into() });
        }
        if addr.len() > MAX_UNIX_PATH {
            return Err(SpecProblem::UnixPathTooLong {
                path: addr.into(),
                len: addr.len(),
            });
        }
        return Ok(());
    }
    let host = match host_port(addr) {
        Ok((host, _)) => host,
        // Brackets suggested for an address the listener would refuse in
        // them (`tcp4:::1:80`, `tcp:fe80::1:80`): that said instead.
        Err(hint @ (SpecProblem::UnbracketedIpv6 { .. } | SpecProblem::Ipv6NoPort { .. })) => {
            let host = match &hint {
                SpecProblem::UnbracketedIpv6 { host, .. } => Some(host.as_str()),
                // Unless it may be `:PORT` with a `:` too many: on an IPv4
                // network, that is all it may be.
                SpecProblem::Ipv6NoPort { addr } => match every_address_port(addr) {
                    Some(port) if network.ends_with('4') => {
                        return Err(SpecProblem::ColonTooMany {
                            addr: addr.clone(),
                            port: port.into(),
                        });
                    }
                    Some(_) => None,
                    None => Some(addr.as_str()),
                },
                _ => None,
            };
            host.map_or(Ok(()), |host| host_fits(network, host))?;
            return Err(hint);
        }
        Err(e) => return Err(e),
    };
    host_fits(network, host)
}

/// The port of `::PORT`, which may well be `:PORT` with a `:` too many
/// (`::1` is the loopback address).
pub(crate) fn every_address_port(addr: &str) -> Option<&str> {
    (addr.strip_prefix("::")).filter(|port| port.len() > 1 && is_port(port))
}

/// Whether a listener on inet `network` may have `host` (a host name, an
/// IP address, or none): refuses an IPv4-mapped, link-local, wrong-family
/// or (for TCP) group address, and a UDP group of interface or link scope.
fn host_fits(network: &str, host: &str) -> Result<(), SpecProblem> {
    let ipv6 = host.parse::<Ipv6Addr>().ok();
    if let Some(ipv4) = ipv6.and_then(|ip| ip.to_ipv4_mapped()) {
        return Err(SpecProblem::MappedIpv4 {
            network: network.into(),
            host: host.into(),
            ipv4: ipv4.to_string(),
        });
    }
    if let Some(ip) = ipv6
        && ip.is_unicast_link_local()
    {
        return Err(SpecProblem::LinkLocal { host: host.into() });
    }
    let ipv4 = host.parse::<Ipv4Addr>().ok();
    let wrong_family = match network.chars().last() {
        Some('4') => ipv6.is_some(),
        Some('6') => ipv4.is_some(),
        _ => false,
    };
    if wrong_family {
        return Err(SpecProblem::WrongFamily {
            network: network.into(),
            host: host.into(),
        });
    }
    // TCP takes connections at one host's own address only: Linux binds
    // and listens on an IPv4 multicast or the limited broadcast address
    // (255.255.255.255; a subnet's is not told from a host's own) without a
    // word, and no connection ever comes (an IPv6 multicast one it
    // refuses, as an "Invalid argument").
    let group = match (ipv6, ipv4) {
        (Some(ip), _) => ip.is_multicast(),
        (None, Some(ip)) => ip.is_multicast() || ip.is_broadcast(),
        (None, None) => false,
    };
    if group && network.starts_with("tcp") {
        return Err(SpecProblem::TcpOnGroup {
            network: network.into(),
            host: host.into(),
        });
    }
    // Linux binds one only given the interface (its zone, refused above):
    // without, every start would fail with an "Invalid argument". So for
    // a UDP group of interface or link scope (`ff01::`, `ff02::`).
    if let Some(ip) = ipv6
        && ip.is_multicast()
        && matches!(ip.segments()[0] & 0x000f, 1 | 2)
    {
        return Err(SpecProblem::ScopedMulticast { host: host.into() });
    }
    Ok(())
}

/// The scheme of `addr` if it is a URL (`SCHEME://...`, the scheme a
/// letter then letters, digits, `+`, `-` or `.`), with what follows.
fn url_scheme(addr: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = addr.split_once("://")?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
    .then_some((scheme, rest))
}

/// What the URL `addr` names that a listener on `network` takes: its path
/// for unix (`file:///run/svc.sock`), else its host and port, the
/// scheme's own port for the web's (`http://localhost`: `localhost:80`).
pub(crate) fn within_url(network: &str, addr: &str) -> Option<String> {
    let (scheme, rest) = url_scheme(addr)?;
    if network == "unix" {
        return rest.starts_with('/').then(|| rest.to_owned());
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_and_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host_port(host_and_port).is_ok() {
        return Some(host_and_port.to_owned());
    }
    let port = match scheme.to_ascii_lowercase().as_str() {
        "http" | "ws" => 80,
        "https" | "wss" => 443,
        _ => return None,
    };
    Some(format!("{host_and_port}:{port}"))
}

/// `host:port`, where host is empty (every address), a hostname, an IPv4
/// address or a bracketed IPv6 address. Returns the host without brackets
/// and the port.
pub(crate) fn host_port(addr: &str) -> Result<(&str, u16), SpecProblem> {
    let (host, port) = if let Some(rest) = addr.strip_prefix('[') {
        // The port follows the `]`: the last `:` may be the host's own.
        let Some((inner, after)) = rest.split_once(']') else {
            return Err(SpecProblem::UnclosedBracket { addr: addr.into() });
        };
        if is_zoned_ipv6(inner) {
            return Err(SpecProblem::ZoneId { host: inner.into() });
        }
        if inner.parse::<Ipv6Addr>().is_err() {
            return Err(SpecProblem::NotIpv6 {
                host: inner.into(),
                addr: addr.into(),
            });
        }
        let Some(port) = after.strip_prefix(':') else {
            return Err(match after.is_empty() {
                true => SpecProblem::BracketedNoPort { addr: addr.into() },
                false => SpecProblem::NotHostPort { addr: addr.into() },
            });
        };
        (inner, port)
    } else {
        let Some((host, port)) = addr.rsplit_once(':') else {
            return Err(if is_port(addr) {
                SpecProblem::NoHost { addr: addr.into() }
            } else if is_digits(addr) {
                SpecProblem::PortOutOfRange { port: addr.into() }
            } else {
                SpecProblem::NotHostPort { addr: addr.into() }
            });
        };
        if host.contains(':') {
            return Err(if is_zoned_ipv6(host) {
                SpecProblem::ZoneId { host: host.into() }
            } else if is_zoned_ipv6(addr) {
                // No port: its zone read as one.
                SpecProblem::ZoneId { host: addr.into() }
            } else if host.parse::<Ipv6Addr>().is_ok() && is_port(port) {
                SpecProblem::UnbracketedIpv6 {
                    host: host.into(),
                    port: port.into(),
                }
            } else if addr.parse::<Ipv6Addr>().is_ok() {
                SpecProblem::Ipv6NoPort { addr: addr.into() }
            } else if host.parse::<Ipv6Addr>().is_ok() {
                // No port, not a number, or out of range: the brackets,
                // and a port.
                SpecProblem::UnbracketedIpv6 {
                    host: host.into(),
                    port: "PORT".into(),
                }
            } else {
                SpecProblem::ColonInHost { host: host.into() }
            });
        }
        if !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        {
            return Err(SpecProblem::BadHost { host: host.into() });
        }
        if reads_as_a_number(host) && host.parse::<Ipv4Addr>().is_err() {
            // No hostname is digits and dots only: a typo, which a resolver
            // would be asked about (or, with a search domain, answer). Nor
            // is one whose parts are all numbers, some in hex (`0x7f.1`):
            // C's resolver reads that as an address (127.0.0.1).
            return Err(SpecProblem::NotIpv4 { host: host.into() });
        }
        if !host.is_empty() && !is_host_name(host) {
            return Err(SpecProblem::BadHost { host: host.into() });
        }
        (host, port)
    };
    if port.is_empty() {
        return Err(SpecProblem::NoPort { addr: addr.into() });
    }
    if !is_digits(port) {
        return Err(SpecProblem::PortNotNumber { port: port.into() });
    }
    let port = port
        .parse()
        .map_err(|_| SpecProblem::PortOutOfRange { port: port.into() })?;
    Ok((host, port))
}

/// Whether a unix path names a folder by its last part (`/run/`,
/// `run/.`, `..`), not a socket file.
pub(super) fn names_a_folder(path: &str) -> bool {
    let last = path.rsplit('/').next().unwrap_or(path);
    matches!(last, "" | "." | "..")
}

/// Whether every dot-separated part of `host` is a number, decimal or
/// hex (`0x7f`), as C's `inet_aton` reads `127.1` or `0x7f000001`.
fn reads_as_a_number(host: &str) -> bool {
    let number = |part: &str| is_digits(part) || is_hex_number(part);
    host.split('.').any(|part| !part.is_empty())
        && host.split('.').all(|part| part.is_empty() || number(part))
}

/// Whether `host` (of letters, digits, `.`, `-` and `_`) is shaped as a
/// resolver takes a name: parts between dots not empty (one dot may end
/// it, as a name from the root does) and at most 63 bytes each, 253 in
/// all.
fn is_host_name(host: &str) -> bool {
    let name = host.strip_suffix('.').unwrap_or(host);
    name.len() <= 253 && name.split('.').all(|label| (1..=63).contains(&label.len()))
}

/// A number in hex as C reads one: `0x` or `0X`, then hex digits.
pub(super) fn is_hex_number(part: &str) -> bool {
    (part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")))
        .is_some_and(|hex| !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// An IPv6 address with a zone (`fe80::1%eth0`).
fn is_zoned_ipv6(host: &str) -> bool {
    host.split_once('%')
        .is_some_and(|(ip, _)| ip.parse::<Ipv6Addr>().is_ok())
}

/// Whether `s` is a port as the rules take one: digits only (no sign),
/// at most 65535.
pub(super) fn is_port(s: &str) -> bool {
    is_digits(s) && s.parse::<u16>().is_ok()
}

pub(super) fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_listener_specs() {
        for (spec, network, addr) in [
            ("tcp::443", "tcp", ":443"),
            ("tcp:", "tcp", ""),
            ("tcp4:127.0.0.1:0", "tcp4", "127.0.0.1:0"),
            ("tcp6:[::1]:80", "tcp6", "[::1]:80"),
            ("tcp6:[::]:80", "tcp6", "[::]:80"),
            ("udp:localhost:53", "udp", "localhost:53"),
            // Hex-looking, but a name: not every part is a number.
            ("tcp:0xcafe.example:80", "tcp", "0xcafe.example:80"),
            ("tcp:db1.0x10:80", "tcp", "db1.0x10:80"),
            // `0x` alone is no number to the resolver: a name.
            ("tcp:0x:80", "tcp", "0x:80"),
            ("udp4:0.0.0.0:65535", "udp4", "0.0.0.0:65535"),
            ("udp6:", "udp6", ""),
            (
                "tcp:my-host.example.com:8080",
                "tcp",
                "my-host.example.com:8080",
            ),
            ("unix:/run/app.sock", "unix", "/run/app.sock"),
            ("tcp4:0.0.0.0:80", "tcp4", "0.0.0.0:80"),
            ("udp6:[::]:53", "udp6", "[::]:53"),
            ("tcp4:localhost:80", "tcp4", "localhost:80"),
            ("unix:relative.sock", "unix", "relative.sock"),
            ("unix:with:colons", "unix", "with:colons"),
            // A file named like an address, said so.
            ("unix:./:9090", "unix", "./:9090"),
            ("unix:/run/:9090", "unix", "/run/:9090"),
            ("unix:svc:sock", "unix", "svc:sock"),
            ("unix:svc.sock:", "unix", "svc.sock:"),
            ("unix:localhost:http", "unix", "localhost:http"),
            ("unix:", "unix", ""),
            // A group, or every host on the link: UDP's to listen on.
            ("udp:224.0.0.251:5353", "udp", "224.0.0.251:5353"),
            ("udp4:255.255.255.255:67", "udp4", "255.255.255.255:67"),
            ("udp6:[ff05::1:3]:547", "udp6", "[ff05::1:3]:547"),
        ] {
            assert_eq!(listener_spec("l", spec), Ok((network, addr)), "{spec}");
        }
    }

    #[test]
    fn a_host_name_is_held_to_the_lengths_a_resolver_takes() {
        let fits = |host: &str| address("tcp", &format!("{host}:80")).is_ok();
        let label = |n: usize| "a".repeat(n);
        assert!(fits(&format!("{}.example", label(63))));
        assert!(!fits(&format!("{}.example", label(64))));
        // 253 bytes in all, and one dot after them.
        let name =
            |total: usize| format!("{}.{}", vec![label(50); 4].join("."), label(total - 204));
        assert!(fits(&name(253)));
        assert!(fits(&format!("{}.", name(253))));
        assert!(!fits(&name(254)));
        for good in [
            "localhost",
            "a.",
            "my_host",
            "_srv.example",
            "xn--bcher-kva.example",
        ] {
            assert!(fits(good), "{good}");
        }
        for bad in [".", "a..b", "a..", ".example"] {
            assert!(!fits(bad), "{bad}");
        }
    }

    #[test]
    fn bad_listener_specs() {
        let cases = [
            (
                "sctp::80",
                "unknown network `sctp` in `sctp::80`; expected tcp, tcp4, tcp6, udp, udp4, udp6 or unix",
            ),
            (
                "8080",
                "`8080` is not NET:ADDR (NET is tcp, tcp4, tcp6, udp, udp4, udp6 or unix), like \"tcp::8080\"",
            ),
            (
                ":8080",
                "`:8080` has no network before `:`; expected tcp, tcp4, tcp6, udp, udp4, udp6 or unix, like \"tcp::8080\"",
            ),
            (
                "tcp:8080",
                "address `8080` has no host part; write `:8080` for every address",
            ),
            (
                "tcp:localhost",
                "address `localhost` is not HOST:PORT, like `:8080` or `127.0.0.1:8080`",
            ),
            ("tcp::http", "port `http` is not a number"),
            ("tcp::70000", "port 70000 is out of range (0-65535)"),
            ("tcp::-1", "port `-1` is not a number"),
            (
                "tcp:localhost:",
                "address `localhost:` has no port after `:` (port 0 picks a free one)",
            ),
            ("tcp:::1:80", "write the IPv6 host in brackets: `[::1]:80`"),
            // Nor brackets for an address refused in them: that said.
            (
                "tcp4:::1:80",
                "`::1` is an IPv6 address, and tcp4 listens on IPv4 only; use tcp6 or an IPv4 address",
            ),
            (
                "tcp:fe80::1:80",
                "`fe80::1` is a link-local address, bound only with a zone (`%...`), which littleboss does not take; listen on every address instead (`:PORT`)",
            ),
            (
                "tcp:::ffff:127.0.0.1:80",
                "`::ffff:127.0.0.1` is an IPv4 address written as IPv6; write it as `127.0.0.1`",
            ),
            (
                "tcp:::ffff:1.2.3.4",
                "`::ffff:1.2.3.4` is an IPv4 address written as IPv6; write it as `1.2.3.4`",
            ),
            (
                "tcp:ff05::1:80",
                "`ff05::1` is a multicast or broadcast address, where tcp takes no connection; listen on one of this host's own addresses, or on every one (`:PORT`)",
            ),
            // But `::80` may be `:80` with a `:` too many.
            // On an IPv4 network, only that (review 922).
            (
                "tcp4:::80",
                "address `::80` has no port; for port 80 on every address write `:80`",
            ),
            (
                "udp4:::53",
                "address `::53` has no port; for port 53 on every address write `:53`",
            ),
            (
                "tcp6:::1",
                "address `::1` has no port; write an IPv6 host in brackets: `[::1]:PORT`",
            ),
            (
                "tcp:a:b:80",
                "host `a:b` contains `:`; write an IPv6 host in brackets, like `[::1]:8080`",
            ),
            ("tcp:[::1:80", "address `[::1:80` has an unclosed `[`"),
            // A closed bracket and no port: the port is what is missing.
            (
                "tcp6:[::1]",
                "address `[::1]` has no port; write `[::1]:PORT`",
            ),
            (
                "tcp6:[::1]80",
                "address `[::1]80` is not HOST:PORT, like `:8080` or `127.0.0.1:8080`",
            ),
            ("tcp6:[::1]:80:81", "port `80:81` is not a number"),
            // No suggestion that is itself refused.
            ("tcp:::1:", "write the IPv6 host in brackets: `[::1]:PORT`"),
            (
                "tcp:::1:http",
                "write the IPv6 host in brackets: `[::1]:PORT`",
            ),
            (
                "tcp:::80",
                "address `::80` has no port; for port 80 on every address write `:80`; for the IPv6 host `::80`, `[::80]:PORT`",
            ),
            (
                "tcp:::1:80\r",
                "write the IPv6 host in brackets: `[::1]:PORT`",
            ),
            (
                "tcp6:[fe80::1%eth0]:80",
                "`fe80::1%eth0` has a zone (`%...`), which littleboss does not bind; listen on every address instead (`:PORT`)",
            ),
            (
                "tcp6:fe80::1%eth0:80",
                "`fe80::1%eth0` has a zone (`%...`), which littleboss does not bind; listen on every address instead (`:PORT`)",
            ),
            (
                "tcp:010.0.0.1:80",
                "host `010.0.0.1` is not an IPv4 address: no number in one may start with 0 (some read `010` as octal 8)",
            ),
            (
                "tcp:0x7f.1:80",
                "host `0x7f.1` is not an IPv4 address: write its numbers in decimal, four from 0 to 255 (some read `0x7f` as hexadecimal)",
            ),
            (
                "tcp:0X7F000001:80",
                "host `0X7F000001` is not an IPv4 address: write its numbers in decimal, four from 0 to 255 (some read `0X7F000001` as hexadecimal)",
            ),
            (
                "tcp:127.1:80",
                "host `127.1` is not an IPv4 address (four numbers from 0 to 255, like `10.0.0.1`; for every address, no host: `:PORT`)",
            ),
            ("tcp:[zz]:80", "`zz` in `[zz]:80` is not an IPv6 address"),
            // The declaration's form where an address goes (as a flag's
            // value copied from the declaration would give it).
            (
                "tcp:tcp::8443",
                "address `tcp::8443` begins with a network (`tcp:`), which the listener's declaration sets; give the address alone, like `:8443`",
            ),
            (
                "tcp4:tcp4:127.0.0.1:80",
                "address `tcp4:127.0.0.1:80` begins with a network (`tcp4:`), which the listener's declaration sets; give the address alone, like `127.0.0.1:80`",
            ),
            (
                "unix:unix:/run/app.sock",
                "address `unix:/run/app.sock` begins with a network (`unix:`), which the listener's declaration sets; give the address alone, like `/run/app.sock`",
            ),
            (
                "tcp:udp:",
                "address `udp:` begins with a network (`udp:`), but this listener is a tcp one, as its declaration sets; give the address alone",
            ),
            (
                "tcp:tcp:80",
                "address `tcp:80` begins with a network (`tcp:`), which the listener's declaration sets; give the address alone, like `:80`",
            ),
            (
                "unix:tcp::8443",
                "address `tcp::8443` begins with a network (`tcp:`), but this listener is a unix one, which takes a path",
            ),
            (
                "tcp:unix:/run/app.sock",
                "address `unix:/run/app.sock` begins with a network (`unix:`), but this listener is a tcp one, which takes a host and port, like `:8443`",
            ),
            // A URL pasted whole: what it names, if the listener takes it.
            (
                "tcp:http://localhost:8080/",
                "address `http://localhost:8080/` is a URL, but a tcp listener takes a host and port, like `localhost:8080`",
            ),
            (
                "tcp:https://user@example.com",
                "address `https://user@example.com` is a URL, but a tcp listener takes a host and port, like `example.com:443`",
            ),
            (
                "tcp6:http://[::1]:80",
                "address `http://[::1]:80` is a URL, but a tcp6 listener takes a host and port, like `[::1]:80`",
            ),
            (
                "tcp4:http://[::1]:80",
                "address `http://[::1]:80` is a URL, but a tcp4 listener takes a host and port",
            ),
            (
                "tcp:ftp://host",
                "address `ftp://host` is a URL, but a tcp listener takes a host and port",
            ),
            (
                "unix:file:///run/app.sock",
                "address `file:///run/app.sock` is a URL, but a unix listener takes a socket file's path, like `/run/app.sock`",
            ),
            (
                "unix:http://localhost:8080",
                "address `http://localhost:8080` is a URL, but a unix listener takes a socket file's path",
            ),
            // Docker's and gRPC's forms, with a network for a scheme.
            (
                "unix:unix:///var/run/app.sock",
                "address `unix:///var/run/app.sock` is a URL, but a unix listener takes a socket file's path, like `/var/run/app.sock`",
            ),
            (
                "tcp:tcp://0.0.0.0:8080",
                "address `tcp://0.0.0.0:8080` is a URL, but a tcp listener takes a host and port, like `0.0.0.0:8080`",
            ),
            (
                "tcp:my host:80",
                "host `my host` is not a hostname or an IP address",
            ),
            ("unix:a\0b", "unix path `a\\0b` contains a NUL byte"),
            (
                "unix:/run/app/api.sock/",
                "unix path `/run/app/api.sock/` names a folder; give the socket file's own path, like `/run/svc.sock`",
            ),
            (
                "unix:/run/app/.",
                "unix path `/run/app/.` names a folder; give the socket file's own path, like `/run/svc.sock`",
            ),
            (
                "unix:..",
                "unix path `..` names a folder; give the socket file's own path, like `/run/svc.sock`",
            ),
            (
                "unix::9090",
                "unix path `:9090` reads as a TCP address, but this listener is a unix one, which takes a socket file's path, like `/run/svc.sock` (for a file so named in the working folder, `./:9090`)",
            ),
            (
                "unix:localhost:8080",
                "unix path `localhost:8080` reads as a TCP address, but this listener is a unix one, which takes a socket file's path, like `/run/svc.sock` (for a file so named in the working folder, `./localhost:8080`)",
            ),
            (
                "unix:[::1]:80",
                "unix path `[::1]:80` reads as a TCP address, but this listener is a unix one, which takes a socket file's path, like `/run/svc.sock` (for a file so named in the working folder, `./[::1]:80`)",
            ),
            (
                // Escaped, as every path said: a right-to-left override
                // would turn the line around.
                "unix:\u{202e}:9090",
                "unix path `\\u{202e}:9090` reads as a TCP address, but this listener is a unix one, which takes a socket file's path, like `/run/svc.sock` (for a file so named in the working folder, `./\\u{202e}:9090`)",
            ),
            (
                "unix:*:9090",
                "unix path `*:9090` reads as a TCP address, but this listener is a unix one, which takes a socket file's path, like `/run/svc.sock` (for a file so named in the working folder, `./*:9090`)",
            ),
            (
                "unix:0.0.0.0:99999",
                "unix path `0.0.0.0:99999` reads as a TCP address, but this listener is a unix one, which takes a socket file's path, like `/run/svc.sock` (for a file so named in the working folder, `./0.0.0.0:99999`)",
            ),
            (
                "unix:9090",
                "unix path `9090` reads as a TCP address, but this listener is a unix one, which takes a socket file's path, like `/run/svc.sock` (for a file so named in the working folder, `./9090`)",
            ),
            (
                "unix:~",
                "unix path `~` starts with `~`, which nothing expands here (a shell neither, after `=`); give the full path (in a shell, `$HOME/svc.sock`)",
            ),
            (
                "unix:~/svc.sock",
                "unix path `~/svc.sock` starts with `~`, which nothing expands here (a shell neither, after `=`); give the full path (in a shell, `$HOME/svc.sock`)",
            ),
            (
                "unix:~/run/",
                "unix path `~/run/` starts with `~`, which nothing expands here (a shell neither, after `=`); give the full path",
            ),
            (
                "unix:~www/svc.sock",
                "unix path `~www/svc.sock` starts with `~`, which nothing expands here (a shell neither, after `=`); give the full path",
            ),
            // No suggestion the listener would refuse in turn.
            ("tcp:70000", "port 70000 is out of range (0-65535)"),
            (
                "tcp:::1:70000",
                "write the IPv6 host in brackets: `[::1]:PORT`",
            ),
            (
                "tcp6:tcp:127.0.0.1:80",
                "address `tcp:127.0.0.1:80` begins with a network (`tcp:`), but this listener is a tcp6 one, as its declaration sets; give the address alone",
            ),
            (
                "tcp:tcp:70000",
                "address `tcp:70000` begins with a network (`tcp:`), which the listener's declaration sets; give the address alone",
            ),
            // Named for what it is.
            (
                "tcp:fe80::1%eth0",
                "`fe80::1%eth0` has a zone (`%...`), which littleboss does not bind; listen on every address instead (`:PORT`)",
            ),
            ("tcp:.:80", "host `.` is not a hostname or an IP address"),
            (
                "tcp:*:80",
                "host `*` is not a hostname or an IP address; for every address, leave the host out (`:PORT`)",
            ),
            (
                "tcp4:+:80",
                "host `+` is not a hostname or an IP address; for every address, leave the host out (`:PORT`)",
            ),
            (
                "tcp:bücher.example:80",
                "host `bücher.example` is not a hostname or an IP address; write an international name in its ASCII form (`xn--...`)",
            ),
            // Marks and joiners of a script are of the name (review 969).
            (
                "tcp:हिन्दी.example:80",
                "host `हिन्दी.example` is not a hostname or an IP address; write an international name in its ASCII form (`xn--...`)",
            ),
            (
                "tcp:ｌｏｃａｌｈｏｓｔ:80",
                "host `ｌｏｃａｌｈｏｓｔ` is not a hostname or an IP address; write the host in ASCII",
            ),
            (
                "tcp:local\u{a0}host:80",
                "host `local\\u{a0}host` is not a hostname or an IP address; write the host in ASCII",
            ),
            (
                "tcp:a..b:80",
                "host `a..b` is not a hostname or an IP address",
            ),
            (
                "unix:/run/app.sock\r",
                "unix path `/run/app.sock\\r` contains a control character; give it without",
            ),
            (
                "tcp4:[::1]:80",
                "`::1` is an IPv6 address, and tcp4 listens on IPv4 only; use tcp6 or an IPv4 address",
            ),
            (
                "tcp:[::ffff:127.0.0.1]:80",
                "`::ffff:127.0.0.1` is an IPv4 address written as IPv6; write it as `127.0.0.1`",
            ),
            (
                "tcp4:[::ffff:10.0.0.1]:80",
                "`::ffff:10.0.0.1` is an IPv4 address written as IPv6; write it as `10.0.0.1`",
            ),
            (
                "tcp6:[::ffff:10.0.0.1]:80",
                "`::ffff:10.0.0.1` is an IPv4 address written as IPv6; write it as `10.0.0.1` and use tcp4 or tcp",
            ),
            (
                "tcp:[fe80::1]:80",
                "`fe80::1` is a link-local address, bound only with a zone (`%...`), which littleboss does not take; listen on every address instead (`:PORT`)",
            ),
            (
                "udp6:[FEBF::1234]:53",
                "`FEBF::1234` is a link-local address, bound only with a zone (`%...`), which littleboss does not take; listen on every address instead (`:PORT`)",
            ),
            (
                "udp6:[ff02::fb]:5353",
                "`ff02::fb` is a multicast group of link or interface scope, bound only with a zone (`%...`), which littleboss does not take; listen on every address (`:PORT`) and join the group in the program",
            ),
            (
                "udp:[FF01::1]:80",
                "`FF01::1` is a multicast group of link or interface scope, bound only with a zone (`%...`), which littleboss does not take; listen on every address (`:PORT`) and join the group in the program",
            ),
            (
                "tcp6:[ff02::1]:80",
                "`ff02::1` is a multicast or broadcast address, where tcp6 takes no connection; listen on one of this host's own addresses, or on every one (`:PORT`)",
            ),
            (
                "tcp:[ff01::1]:80",
                "`ff01::1` is a multicast or broadcast address, where tcp takes no connection; listen on one of this host's own addresses, or on every one (`:PORT`)",
            ),
            (
                "tcp4:[ff02::1]:80",
                "`ff02::1` is an IPv6 address, and tcp4 listens on IPv4 only; use tcp6 or an IPv4 address",
            ),
            (
                "udp4:[ff02::fb]:5353",
                "`ff02::fb` is an IPv6 address, and udp4 listens on IPv4 only; use udp6 or an IPv4 address",
            ),
            (
                // No group of any scope for TCP: not told to join it.
                "tcp:[ff02::fb]:80",
                "`ff02::fb` is a multicast or broadcast address, where tcp takes no connection; listen on one of this host's own addresses, or on every one (`:PORT`)",
            ),
            (
                "tcp:224.0.0.1:80",
                "`224.0.0.1` is a multicast or broadcast address, where tcp takes no connection; listen on one of this host's own addresses, or on every one (`:PORT`)",
            ),
            (
                "tcp4:255.255.255.255:80",
                "`255.255.255.255` is a multicast or broadcast address, where tcp4 takes no connection; listen on one of this host's own addresses, or on every one (`:PORT`)",
            ),
            (
                "tcp6:[ff05::1]:80",
                "`ff05::1` is a multicast or broadcast address, where tcp6 takes no connection; listen on one of this host's own addresses, or on every one (`:PORT`)",
            ),
            (
                "udp6:127.0.0.1:53",
                "`127.0.0.1` is an IPv4 address, and udp6 listens on IPv6 only; use udp4 or an IPv6 address",
            ),
            (
                // The family first: no IPv4 address would do on tcp6.
                "tcp6:239.1.2.3:80",
                "`239.1.2.3` is an IPv4 address, and tcp6 listens on IPv6 only; use tcp4 or an IPv6 address",
            ),
            (
                &format!("unix:/{}", "x".repeat(107)),
                &format!(
                    "unix path `/{}` is 108 bytes, more than the 107 a unix socket address holds",
                    "x".repeat(107)
                ),
            ),
        ];
        for (spec, problem) in cases {
            let message = listener_spec("web", spec).unwrap_err().to_string();
            assert_eq!(message, format!("listener `web`: {problem}"), "{spec}");
        }
    }

    #[test]
    fn host_ports() {
        assert_eq!(host_port(":443"), Ok(("", 443)));
        assert_eq!(host_port("[::1]:80"), Ok(("::1", 80)));
        assert_eq!(host_port("example.com:0"), Ok(("example.com", 0)));
        assert_eq!(
            host_port("localhost"),
            Err(SpecProblem::NotHostPort {
                addr: "localhost".into()
            })
        );
    }
}
