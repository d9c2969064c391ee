//! Which socket a declaration asks for, compared by what it is: two
//! listeners of one program cannot ask for the same one, as the kernel
//! binds an address once.

use std::net::IpAddr;

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
}
