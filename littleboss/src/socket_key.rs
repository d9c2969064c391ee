//! What socket a listener asks for, compared by what the socket is
//! (network and normalised address) rather than by flag name: the key a
//! supervisor holds its sockets under, and the rule that one launch asks
//! for each socket once, which bypass mode applies too.

use serde::{Deserialize, Serialize};

use crate::rules::{clean_path, normalise_host_port};
use crate::spec::{ListenerSpec, Network};

/// What a socket is: its network and its address as asked for, normalised
/// (`localhost:80` and `LOCALHOST:80` are one; `[::1]:80` and
/// `[0:0::1]:80` are one). Port 0 means any free port, a different one
/// for each listener: its key carries the listener's name, so a listener
/// asked for on `:0` keeps the socket it got.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub(crate) struct ListenerKey {
    pub network: Network,
    pub address: String,
}

impl ListenerKey {
    pub fn of(name: &str, network: Network, address: &str) -> ListenerKey {
        let address = match network {
            Network::Unix => clean_path(address),
            _ => {
                let address = normalise_host_port(address);
                if address.ends_with(":0") {
                    format!("{address}#{name}")
                } else {
                    address
                }
            }
        };
        ListenerKey { network, address }
    }

    /// Whether it asks for any free port (port 0): bound anew, it would
    /// get another.
    pub fn any_port(&self) -> bool {
        self.network != Network::Unix && self.bind_address().ends_with(":0")
    }

    /// The listener a key asked for on port 0 belongs to (`:0#admin`).
    pub fn port_0_owner(&self) -> Option<&str> {
        match self.network {
            Network::Unix => None,
            _ => self.address.split_once('#').map(|(_, owner)| owner),
        }
    }

    /// Whether it is a unix socket's relative path: bound from the
    /// binding process's folder.
    pub fn relative_unix(&self) -> bool {
        self.network == Network::Unix && !self.address.starts_with('/')
    }

    /// The key of a relative unix path as bound from `folder`, an
    /// absolute path (so the key's is absolute, and cleaned); any other
    /// key as it is.
    ///
    /// ```ignore
    /// let key = ListenerKey::of("api", Network::Unix, "./run//api.sock");
    /// assert_eq!(key.in_folder(Path::new("/srv/app")).address, "/srv/app/run/api.sock");
    /// ```
    pub fn in_folder(&self, folder: &std::path::Path) -> ListenerKey {
        if !self.relative_unix() {
            return self.clone();
        }
        let path = folder.join(&self.address);
        ListenerKey {
            network: self.network,
            address: clean_path(&path.to_string_lossy()),
        }
    }

    /// The address to bind (without a port-0 key's name).
    pub fn bind_address(&self) -> &str {
        match self.network {
            Network::Unix => &self.address,
            _ => self.address.split('#').next().unwrap_or_default(),
        }
    }
}

impl std::fmt::Display for ListenerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.network, self.address)
    }
}

/// One declared listener of a child, and the socket behind it (`None`:
/// off).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Assigned {
    pub name: String,
    pub network: Network,
    pub key: Option<ListenerKey>,
}

impl Assigned {
    pub fn of(spec: &ListenerSpec) -> Assigned {
        Assigned {
            name: spec.name.clone(),
            network: spec.network,
            key: spec
                .address
                .as_deref()
                .map(|a| ListenerKey::of(&spec.name, spec.network, a)),
        }
    }
}

/// Refuses two listeners of one launch asking for the same socket: the
/// kernel binds an address once, so a start fails on the second, and a
/// reload, which would give both the one socket it holds, must too.
pub(crate) fn one_socket_each(wanted: &[Assigned]) -> Result<(), String> {
    // The rules the attribute and the builder apply, on the keys (a port
    // 0 one, `:0#name`, is its listener's alone, as socket_of's is).
    let declared = (wanted.iter()).filter_map(|w| {
        let key = w.key.as_ref()?;
        Some((w.name.as_str(), key.network.as_str(), key.address.as_str()))
    });
    match crate::rules::socket_conflicts(declared).into_iter().next() {
        Some(conflict) => Err(conflict.to_string()),
        None => Ok(()),
    }
}

/// [`one_socket_each`] of a launch bound from this process's folder: a
/// relative unix path taken from it, as its bind will, so that
/// `unix:api.sock` beside `unix:/srv/app/api.sock` (run in `/srv/app`)
/// is refused as one socket asked for twice, not met at the second bind
/// as a socket some other program holds.
pub(crate) fn one_socket_each_here(wanted: &[Assigned]) -> Result<(), String> {
    let relative = |w: &Assigned| w.key.as_ref().is_some_and(ListenerKey::relative_unix);
    let here = match std::env::current_dir() {
        Ok(here) if wanted.iter().any(relative) => here,
        _ => return one_socket_each(wanted),
    };
    let absolute: Vec<Assigned> = (wanted.iter().cloned())
        .map(|w| Assigned {
            key: w.key.as_ref().map(|k| k.in_folder(&here)),
            ..w
        })
        .collect();
    one_socket_each(&absolute)
}

/// Refuses two listeners that a command line gives one socket, among
/// those it gives an address (`given`, by name) alone: a reload's
/// supervisor refuses these whatever it holds. Not the rest, which it may
/// take: a listener not given keeps the socket the service manager
/// passed, wherever that is, whatever its default says; and an address
/// that overlaps another's may be beside a passed socket that sits
/// elsewhere.
///
/// ```ignore
/// let given = ["http".to_owned(), "admin".to_owned()].into();
/// assert!(given_one_socket_each(&[http_on_8443, admin_on_8443], &given).is_err());
/// ```
pub(crate) fn given_one_socket_each(
    wanted: &[Assigned],
    given: &std::collections::BTreeSet<String>,
) -> Result<(), String> {
    let given: Vec<&Assigned> = wanted.iter().filter(|w| given.contains(&w.name)).collect();
    for (i, first) in given.iter().enumerate() {
        for second in &given[i + 1..] {
            if first.key.is_some() && first.key == second.key {
                one_socket_each(&[(*first).clone(), (*second).clone()])?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relative_unix_key_is_made_absolute_in_a_folder_and_no_other() {
        let folder = std::path::Path::new("/srv/app");
        let relative = ListenerKey::of("api", Network::Unix, "./run//api.sock");
        assert!(relative.relative_unix());
        let absolute = relative.in_folder(folder);
        assert_eq!(absolute.address, "/srv/app/run/api.sock");
        assert!(!absolute.relative_unix());
        assert_eq!(
            absolute.in_folder(std::path::Path::new("/elsewhere")),
            absolute
        );
        let tcp = ListenerKey::of("http", Network::Tcp, "localhost:80");
        assert!(!tcp.relative_unix());
        assert_eq!(tcp.in_folder(folder), tcp);
    }

    #[test]
    fn a_command_line_is_refused_only_what_no_supervisor_would_take() {
        let given = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect();
        let both = [assigned("http", ":8443"), assigned("admin", ":8443")];
        let e = given_one_socket_each(&both, &given(&["http", "admin"])).unwrap_err();
        assert!(
            e.starts_with("listeners `http` and `admin` both ask for tcp :8443"),
            "{e}"
        );
        // One on its default: a passed socket it keeps may be elsewhere.
        assert!(given_one_socket_each(&both, &given(&["admin"])).is_ok());
        // Overlapping, not one socket: the supervisor knows where each is.
        let overlap = [
            assigned("http", ":8443"),
            assigned("admin", "127.0.0.1:8443"),
        ];
        assert!(given_one_socket_each(&overlap, &given(&["http", "admin"])).is_ok());
        let apart = [assigned("http", ":8443"), assigned("admin", ":9443")];
        assert!(given_one_socket_each(&apart, &given(&["http", "admin"])).is_ok());
    }

    fn assigned(name: &str, address: &str) -> Assigned {
        Assigned::of(&ListenerSpec::parse(name, &format!("tcp:{address}")).unwrap())
    }

    #[test]
    fn addresses_compare_by_what_they_are() {
        let key = |a| ListenerKey::of("http", Network::Tcp, a);
        assert_eq!(key("LocalHost:80"), key("localhost:80"));
        assert_eq!(key("[0:0::1]:80"), key("[::1]:80"));
        assert_eq!(key(":080"), key(":80"));
        assert_ne!(key("127.0.0.1:80"), key(":80"));
        assert_ne!(
            ListenerKey::of("http", Network::Tcp4, ":80"),
            ListenerKey::of("http", Network::Tcp, ":80")
        );
        // Any free port: one for each listener, kept across reloads.
        let zero = ListenerKey::of("a", Network::Tcp, "127.0.0.1:0");
        assert_eq!(zero, ListenerKey::of("a", Network::Tcp, "127.0.0.1:00"));
        assert_ne!(zero, ListenerKey::of("b", Network::Tcp, "127.0.0.1:0"));
        assert_eq!(zero.bind_address(), "127.0.0.1:0");
    }

    #[test]
    fn a_unix_path_is_one_key_however_it_is_spelled() {
        let key = |a| ListenerKey::of("sock", Network::Unix, a);
        assert_eq!(key("./a.sock"), key("a.sock"));
        assert_eq!(key("/run//x.sock"), key("/run/x.sock"));
        assert_eq!(key("/run/./x.sock"), key("/run/x.sock"));
        assert_ne!(key("/run/../x.sock"), key("/x.sock"));
        assert_ne!(key("a.sock"), key("/a.sock"));
    }

    #[test]
    fn one_launch_asks_for_each_socket_once() {
        let e = one_socket_each(&[
            assigned("http", ":80"),
            assigned("admin", "LOCALHOST:81"),
            assigned("also", "localhost:081"),
        ])
        .unwrap_err();
        assert_eq!(
            e,
            "listeners `admin` and `also` both ask for tcp localhost:81; give each its own address"
        );
        // Port 0 is a free port each.
        assert!(
            one_socket_each(&[assigned("a", "127.0.0.1:0"), assigned("b", "127.0.0.1:0")]).is_ok()
        );
    }

    #[test]
    fn a_unix_path_relative_and_absolute_is_one_socket_here() {
        let on = |name: &str, spec: &str| Assigned::of(&ListenerSpec::parse(name, spec).unwrap());
        let here = std::env::current_dir().unwrap().join("api.sock");
        let both = [
            on("api", "unix:api.sock"),
            on("admin", &format!("unix:{}", here.display())),
        ];
        // Told apart by the keys alone (the machine's, which knows no
        // folder of its own), one socket from this process's folder.
        assert!(one_socket_each(&both).is_ok());
        let e = one_socket_each_here(&both).unwrap_err();
        assert!(e.contains("`api` and `admin`"), "{e}");
        assert!(e.contains(&here.display().to_string()), "{e}");
    }

    #[test]
    fn one_launch_asks_for_no_sockets_that_overlap() {
        let on = |name: &str, spec: &str| Assigned::of(&ListenerSpec::parse(name, spec).unwrap());
        let e = one_socket_each(&[on("http", "tcp::80"), on("local", "tcp4:127.0.0.1:80")])
            .unwrap_err();
        assert!(
            e.starts_with("listeners `http` (tcp :80) and `local` (tcp4 127.0.0.1:80) ask for one port on addresses that overlap"),
            "{e}"
        );
        let apart = [
            on("v4", "tcp4::80"),
            on("v6", "tcp6::80"),
            on("dns", "udp::80"),
        ];
        assert!(one_socket_each(&apart).is_ok());
    }
}
