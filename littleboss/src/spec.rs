//! Declared listeners: the network and address of each, as the runtime
//! keeps them. What is a valid declaration is `rules`' to say.

use std::fmt;

use crate::rules::{self, RuleError, SpecProblem};

/// The network of a listener, fixed by the program's declaration.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
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

    /// Whether `:PORT` on it is one socket for both IP families (`tcp`,
    /// `udp`); on the others it is the family's wildcard, `0.0.0.0:PORT`
    /// or `[::]:PORT`, the very socket written out.
    pub fn dual_stack(self) -> bool {
        matches!(self, Network::Tcp | Network::Udp)
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
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct ListenerSpec {
    pub name: String,
    pub network: Network,
    pub address: Option<String>,
}

impl ListenerSpec {
    /// Parses a declaration `NET:ADDR` for the listener `name`, whose name
    /// the caller has checked (`rules::listener_name`).
    pub fn parse(name: &str, spec: &str) -> Result<ListenerSpec, RuleError> {
        let (network, address) = rules::listener_spec(name, spec)?;
        let network = Network::parse(network).expect("the rules accept only known networks");
        Ok(ListenerSpec {
            name: name.to_owned(),
            network,
            address: (!address.is_empty()).then(|| address.to_owned()),
        })
    }

    /// The same listener with the address given on the command line
    /// (empty: disabled).
    pub fn with_address(&self, addr: &str) -> Result<ListenerSpec, SpecProblem> {
        rules::address(self.network.as_str(), addr)?;
        Ok(ListenerSpec {
            address: (!addr.is_empty()).then(|| addr.to_owned()),
            ..self.clone()
        })
    }
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
    fn rejects_bad_declarations_with_the_rules_message() {
        let e = ListenerSpec::parse("x", "sctp::1").unwrap_err();
        assert_eq!(
            e.to_string(),
            "listener `x`: unknown network `sctp` in `sctp::1`; \
             expected tcp, tcp4, tcp6, udp, udp4, udp6 or unix"
        );
    }

    #[test]
    fn command_line_addresses() {
        let l = ListenerSpec::parse("https", "tcp::443").unwrap();
        assert_eq!(l.with_address("").unwrap().address, None);
        assert_eq!(
            l.with_address("[::1]:8443").unwrap().address.as_deref(),
            Some("[::1]:8443")
        );
        assert_eq!(
            l.with_address("localhost").unwrap_err().to_string(),
            "address `localhost` is not HOST:PORT, like `:8080` or `127.0.0.1:8080`"
        );
    }

    #[test]
    fn the_rules_know_exactly_the_runtime_networks() {
        for name in rules::NETWORK_NAMES {
            assert_eq!(Network::parse(name).map(Network::as_str), Some(name));
        }
        for network in [Network::Tcp, Network::Udp6, Network::Unix] {
            assert!(rules::NETWORK_NAMES.contains(&network.as_str()));
        }
    }
}
