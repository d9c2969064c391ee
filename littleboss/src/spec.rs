//! Listener specifications (`NET:ADDR`) and the names littleboss accepts.
//!
//! The macro checks the same rules at compile time; this is the runtime's
//! copy, used by programs that call the builder directly and for addresses
//! given on the command line.

use std::fmt;

/// The network of a listener, fixed by the program's declaration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Network {
    Tcp,
    Tcp4,
    Tcp6,
    Udp,
    Udp4,
    Udp6,
    Unix,
}

/// What a listener hands to the program: which `Context` method returns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Tcp,
    Udp,
    Unix,
}

impl Kind {
    pub fn method(self) -> &'static str {
        match self {
            Kind::Tcp => "tcp",
            Kind::Udp => "udp",
            Kind::Unix => "unix",
        }
    }
}

pub(crate) const NETWORKS: &str = "tcp, tcp4, tcp6, udp, udp4, udp6 or unix";

impl Network {
    pub fn parse(s: &str) -> Option<Network> {
        Some(match s {
            "tcp" => Network::Tcp,
            "tcp4" => Network::Tcp4,
            "tcp6" => Network::Tcp6,
            "udp" => Network::Udp,
            "udp4" => Network::Udp4,
            "udp6" => Network::Udp6,
            "unix" => Network::Unix,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Network::Tcp => "tcp",
            Network::Tcp4 => "tcp4",
            Network::Tcp6 => "tcp6",
            Network::Udp => "udp",
            Network::Udp4 => "udp4",
            Network::Udp6 => "udp6",
            Network::Unix => "unix",
        }
    }

    pub fn kind(self) -> Kind {
        match self {
            Network::Tcp | Network::Tcp4 | Network::Tcp6 => Kind::Tcp,
            Network::Udp | Network::Udp4 | Network::Udp6 => Kind::Udp,
            Network::Unix => Kind::Unix,
        }
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One declared listener: its flag name, network, and address (`None`
/// when it is off).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListenerSpec {
    pub name: String,
    pub network: Network,
    pub address: Option<String>,
}

impl ListenerSpec {
    /// Parses a declaration `NET:ADDR` for the listener `name`.
    pub fn parse(name: &str, spec: &str) -> Result<ListenerSpec, String> {
        check_flag_name(name).map_err(|e| format!("listener name: {e}"))?;
        let Some((net, addr)) = spec.split_once(':') else {
            return Err(format!(
                "listener `{name}`: `{spec}` is not NET:ADDR (NET is {NETWORKS})"
            ));
        };
        let Some(network) = Network::parse(net) else {
            return Err(format!(
                "listener `{name}`: unknown network `{net}` (expected {NETWORKS})"
            ));
        };
        let address =
            check_address(network, addr).map_err(|e| format!("listener `{name}`: {e}"))?;
        Ok(ListenerSpec {
            name: name.to_owned(),
            network,
            address,
        })
    }

    /// The same listener with the address given on the command line
    /// (empty: disabled).
    pub fn with_address(&self, addr: &str) -> Result<ListenerSpec, String> {
        let address = check_address(self.network, addr)?;
        Ok(ListenerSpec {
            address,
            ..self.clone()
        })
    }
}

/// Checks an address for `network`; `Ok(None)` for the empty (disabled) one.
pub(crate) fn check_address(network: Network, addr: &str) -> Result<Option<String>, String> {
    if addr.is_empty() {
        return Ok(None);
    }
    if network == Network::Unix {
        if addr.contains('\0') {
            return Err(format!(
                "unix path `{}` contains a NUL byte",
                addr.escape_default()
            ));
        }
        return Ok(Some(addr.to_owned()));
    }
    split_host_port(addr)?;
    Ok(Some(addr.to_owned()))
}

/// Splits `host:port` (host may be empty, a name, an IPv4 address or a
/// bracketed IPv6 address).
pub(crate) fn split_host_port(addr: &str) -> Result<(&str, u16), String> {
    let Some((host, port)) = addr.rsplit_once(':') else {
        return Err(format!(
            "address `{addr}` is not host:port (e.g. `:8080` or `127.0.0.1:8080`)"
        ));
    };
    let host = if let Some(inner) = host.strip_prefix('[') {
        let Some(inner) = inner.strip_suffix(']') else {
            return Err(format!("address `{addr}` has an unclosed `[`"));
        };
        if inner.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(format!(
                "address `{addr}`: `{inner}` is not an IPv6 address"
            ));
        }
        inner
    } else if host.contains(':') {
        return Err(format!(
            "address `{addr}`: write an IPv6 host in brackets, like `[::1]:8080`"
        ));
    } else {
        host
    };
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("address `{addr}`: port `{port}` is not a number"));
    }
    let port = port
        .parse::<u16>()
        .map_err(|_| format!("address `{addr}`: port {port} is out of range (0-65535)"))?;
    Ok((host, port))
}

/// Service names name files: `[A-Za-z0-9_-]+`.
pub(crate) fn check_service_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the service name is empty".to_owned());
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        return Err(format!(
            "service name `{name}` contains `{c}`; use only letters, digits, `_` and `-`"
        ));
    }
    Ok(())
}

/// Flag names (the mode flag and listener names): `[A-Za-z0-9_-]+`, not
/// starting with `-`, and not `h` or `help`.
pub(crate) fn check_flag_name(name: &str) -> Result<(), String> {
    check_service_name(name).map_err(|e| e.replace("service name", "flag name"))?;
    if name.starts_with('-') {
        return Err(format!("flag name `{name}` starts with `-`"));
    }
    if name == "h" || name == "help" {
        return Err(format!("flag name `{name}` is taken by -h/--help"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_declarations() {
        let l = ListenerSpec::parse("https", "tcp::443").unwrap();
        assert_eq!(l.network, Network::Tcp);
        assert_eq!(l.address.as_deref(), Some(":443"));
        assert_eq!(ListenerSpec::parse("off", "tcp:").unwrap().address, None);
        let u = ListenerSpec::parse("sock", "unix:/run/x.sock").unwrap();
        assert_eq!(u.address.as_deref(), Some("/run/x.sock"));
        assert!(ListenerSpec::parse("v6", "tcp6:[::1]:80").is_ok());
        assert!(ListenerSpec::parse("name", "udp4:localhost:53").is_ok());
    }

    #[test]
    fn rejects_bad_declarations_with_a_reason() {
        let e = ListenerSpec::parse("x", "sctp::1").unwrap_err();
        assert!(e.contains("unknown network `sctp`"), "{e}");
        let e = ListenerSpec::parse("x", "tcp::70000").unwrap_err();
        assert!(e.contains("out of range"), "{e}");
        let e = ListenerSpec::parse("x", "tcp:8080").unwrap_err();
        assert!(e.contains("not host:port"), "{e}");
        let e = ListenerSpec::parse("x", "tcp::http").unwrap_err();
        assert!(e.contains("not a number"), "{e}");
        let e = ListenerSpec::parse("x", "tcp:::1:80").unwrap_err();
        assert!(e.contains("brackets"), "{e}");
        let e = ListenerSpec::parse("x", "nocolon").unwrap_err();
        assert!(e.contains("NET:ADDR"), "{e}");
    }

    #[test]
    fn names() {
        assert!(check_service_name("my-blog_2").is_ok());
        assert!(check_service_name("my blog").unwrap_err().contains("` `"));
        assert!(check_service_name("").is_err());
        assert!(check_flag_name("help").is_err());
        assert!(check_flag_name("-x").is_err());
    }
}
