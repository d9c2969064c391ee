//! Which socket backs each listener, and how a reload's listeners compare
//! with those held: by what the socket is (network and normalised
//! address), not by flag name, so that a kept listener stays the very same
//! socket, with its accept queue.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::rules::host_port;
use crate::spec::Network;

pub(crate) use crate::socket_key::{Assigned, ListenerKey, one_socket_each};

/// A socket the supervisor holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Held {
    /// The address it is bound to (port 0 resolved), for `status`.
    pub address: String,
    /// Passed by the service manager: it owns it, so it cannot move.
    pub activated: bool,
    /// Not handed over in an in-place upgrade, and not to be bound again
    /// as it was (the service manager's, or on a port the kernel chose):
    /// held on for its address, without a descriptor, so no later child
    /// is given it. Absent (false) from an older image's state.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub lost: bool,
    /// A socket the service manager passed at the IPv6 wildcard (`[::]`)
    /// that takes no IPv4 client (`IPV6_V6ONLY`: a unit's
    /// `BindIPv6Only=ipv6-only`): one a `tcp6` or `udp6` listener takes,
    /// and that leaves the port's IPv4 wildcard free. Read from the socket
    /// at a start and again by an image that takes the state over (an
    /// older one's lacks it); false for a socket bound here, which a
    /// reload knows by its key.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ipv6_only: bool,
}

/// A reload that keeps the serving child's arguments `args`, for a binary
/// that declares one of the listeners they give on a unix socket where
/// the serving child's was an IP one, or the other way round: the kept
/// value was written for the old kind (`:9090`, read as a unix path,
/// would bind a file of that name), so the reload is refused, naming the
/// flag. Between IP networks (`tcp` to `tcp4`) a value means the same,
/// and the rules check it as any other.
pub(crate) fn kept_for_another_network(
    serving: &[Assigned],
    declared: &[crate::spec::ListenerSpec],
    args: &[std::ffi::OsString],
) -> Option<crate::flags::FlagError> {
    let moved: BTreeMap<&str, Network> = (declared.iter())
        .filter_map(|new| {
            let old = serving.iter().find(|old| old.name == new.name)?;
            let unix = |network| network == Network::Unix;
            (unix(old.network) != unix(new.network)).then_some((new.name.as_str(), old.network))
        })
        .collect();
    if moved.is_empty() {
        return None;
    }
    // The arguments read as the serving child read them.
    let as_before: Vec<_> = (declared.iter())
        .map(|new| crate::spec::ListenerSpec {
            network: moved.get(new.name.as_str()).copied().unwrap_or(new.network),
            ..new.clone()
        })
        .collect();
    let (read, given) = crate::flags::resolve_listeners(&as_before, args).ok()?;
    read.iter().find_map(|old| {
        let now = declared.iter().find(|new| new.name == old.name)?.network;
        // Turned off (`-api=`) is off on any network.
        let kept = given.contains(&old.name) && old.address.is_some();
        (kept && moved.contains_key(old.name.as_str())).then(|| crate::flags::FlagError {
            flag: old.name.clone(),
            problem: crate::flags::FlagProblem::KeptForOtherNetwork {
                value: old.address.clone().unwrap_or_default(),
                was: old.network,
                now,
            },
        })
    })
}

/// A listener to bind before a child can start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BindOrder {
    pub key: ListenerKey,
    /// The listener's name, for messages.
    pub name: String,
    /// What to say should the bind find the address in use when this
    /// service holds a socket on the same port: the likeliest holder is
    /// this service itself, the address spelled another way.
    pub if_in_use: Option<String>,
}

/// What to tell a user whose bind of `key`, for listener `name`, found
/// its address in use, when this service holds a socket there
/// ([`held_on_port`]): which socket, and how to keep it, if a reload can
/// (not when another of the `wanted` listeners keeps it).
fn if_in_use(
    held: &BTreeMap<ListenerKey, Held>,
    wanted: &[Assigned],
    key: &ListenerKey,
    name: &str,
) -> Option<String> {
    let (k, h) = held_on_port(held, key)?;
    let ours = format!("this service holds {} {} already", k.network, h.address);
    // Another address on that port (`0.0.0.0:8080` for `127.0.0.1:8080`)
    // is another socket, which the held one blocks until the new child
    // takes over: only a move by way of another port gets there (for
    // UDP, once the old child has let go of it too: no `SO_REUSEADDR`).
    // Not the service manager's, which no reload moves.
    let port = host_port(key.bind_address()).map_or(0, |(_, port)| port);
    let by_another_port = match key.network.kind() {
        crate::spec::Kind::Udp => "then to it once the old child has exited, ",
        _ => "",
    };
    let keep = |spelling: &str| match h.activated {
        true => format!("{ours}: to keep that socket, give `{spelling}`"),
        false => format!(
            "{ours}: to keep that socket, give `{spelling}`; to listen on another address of port {port}, reload to another port first, {by_another_port}or stop and start the service"
        ),
    };
    if let Some(other) = wanted
        .iter()
        .find(|w| w.key.as_ref() == Some(k) && w.name != name)
    {
        return Some(format!(
            "{ours}, for listener `{}`: give `{name}` another address",
            other.name
        ));
    }
    if k.network != key.network {
        // One the other IP network binds alike is kept (`as_held`), by
        // its address written out (`0.0.0.0:80` for `tcp4`'s `:80`).
        // A port-0 socket by the port it got (`tcp4`'s `:0` at 41234 as
        // `0.0.0.0:41234`); a name's by the address it resolved to
        // (`localhost:8080` as `127.0.0.1:8080`).
        let at = bound_at(k, h);
        let spelled = written_out(k.network, &at);
        let alike = !h.activated && binds_alike((k.network, &at), (key.network, &spelled));
        return Some(match alike {
            true => keep(&spelled),
            false => format!(
                "{ours}, as a {} socket, which a {} listener cannot keep: declare it {} again, or stop and start the service to change it",
                k.network, key.network, k.network
            ),
        });
    }
    // The service manager's: by the address it has (`as_held`).
    if h.activated {
        return Some(keep(&h.address));
    }
    let (host, port) = host_port(k.bind_address()).ok()?;
    Some(match (host.is_empty(), port) {
        // Asked for on port 0 on every address of both families: known by
        // its listener's name and `:0` alone (`as_held`); on one family's,
        // by the address it has, as below.
        (true, 0) if k.network.dual_stack() => match k.port_0_owner() {
            Some(owner) if owner == name => keep(k.bind_address()),
            Some(owner) => format!(
                "{ours}, bound on port 0 for listener `{owner}`: stop and start the service to give `{name}` that port"
            ),
            None => format!("{ours}: stop and start the service to give `{name}` that port"),
        },
        // `:8080` shows as `[::]:8080`, which would be another socket.
        (true, port) if port != 0 => keep(k.bind_address()),
        _ => keep(&h.address),
    })
}

/// The socket of `held`, of `key`'s kind, that a bind of `key` could
/// find in its way: on the same port, at an address that may overlap
/// (either is a wildcard, the same IP, or `key` names a host), of a
/// family that can meet it (see [`family`]).
fn held_on_port<'a>(
    held: &'a BTreeMap<ListenerKey, Held>,
    key: &ListenerKey,
) -> Option<(&'a ListenerKey, &'a Held)> {
    let split = |address: &str| {
        let (host, port) = host_port(address).ok().filter(|(_, p)| *p != 0)?;
        Some((host.parse::<IpAddr>().ok(), host.is_empty(), port))
    };
    let (wanted_ip, wanted_any, wanted_port) = split(key.bind_address())?;
    let wanted_named = !wanted_any && wanted_ip.is_none();
    // Asked for, only `:PORT` is dual-stack: `[::]:PORT` written out is
    // bound IPv6-only. Held, `[::]` may be either (`:PORT` shows so).
    let wanted_family = match wanted_ip {
        Some(ip) => Some(ip.is_ipv6()),
        None => family(None, key.network),
    };
    held.iter().find(|(k, h)| {
        let Some((ip, any, port)) = split(&h.address) else {
            return false;
        };
        let wildcard = |ip: Option<IpAddr>| ip.is_some_and(|ip| ip.is_unspecified());
        let overlaps = any
            || wanted_any
            || wanted_named
            || wildcard(ip)
            || wildcard(wanted_ip)
            || ip == wanted_ip;
        let families_meet = match (family(ip, k.network), wanted_family) {
            (Some(held_v6), Some(wanted_v6)) => held_v6 == wanted_v6,
            _ => true,
        };
        k.network.kind() == key.network.kind()
            && k.network != Network::Unix
            && port == wanted_port
            && overlaps
            && families_meet
    })
}

/// Whether a socket at `ip` (none: every address, or a host name) on
/// `network` is IPv6's (`Some(true)`) or IPv4's alone; `None` for one
/// that may be either or both: a name or every address of `tcp` or `udp`
/// (dual-stack, `[::]` as bound). On one family's network, a name is of
/// that family too. IPv4 and IPv6 sockets never take each other's
/// addresses.
fn family(ip: Option<IpAddr>, network: Network) -> Option<bool> {
    let dual_stack = matches!(network, Network::Tcp | Network::Udp);
    match ip {
        Some(ip) if ip.is_unspecified() && ip.is_ipv6() && dual_stack => None,
        Some(ip) => Some(ip.is_ipv6()),
        None => match network {
            Network::Tcp4 | Network::Udp4 => Some(false),
            Network::Tcp6 | Network::Udp6 => Some(true),
            _ => None,
        },
    }
}

/// Gives a listener that names a held socket by the address it really
/// has the key that socket is held under: it is that very socket, not one
/// to bind. The address `status` shows for it (`127.0.0.1:41234` for
/// `127.0.0.1:0`, `127.0.0.1:80` for `localhost:80`) keeps it, as the
/// "address in use" message advises; not for one asked for on any host
/// of `tcp` or `udp` (`:8080`, shown as `[::]:8080`), whose shown address
/// names an IPv6-only socket. On `tcp4` and `tcp6` (and UDP's), `:8080`
/// and `0.0.0.0:8080` (or `[::]:8080`) are one socket either way. A
/// socket-activated one is named by its port alone too (the socket unit's
/// `:9090`, say, rather than the binary's declared default the supervisor
/// started with): the service manager owns it, so no other could be bound
/// there.
pub(crate) fn as_held(held: &BTreeMap<ListenerKey, Held>, wanted: &mut [Assigned]) {
    for listener in wanted {
        let Some(key) = &listener.key else { continue };
        if held.contains_key(key) {
            continue;
        }
        let owned: Vec<&ListenerKey> = held
            .iter()
            .filter(|(k, h)| {
                // `:8080` is bound dual-stack and shows as `[::]:8080`,
                // which, asked for, is another socket: IPv6 only.
                let any_host = host_port(k.bind_address()).is_ok_and(|(host, _)| host.is_empty());
                let one_family = !k.network.dual_stack();
                k.network == key.network
                    && (h.activated || !any_host || one_family)
                    && spellings(&h.address, h.activated || one_family)
                        .iter()
                        .any(|a| ListenerKey::of(&listener.name, k.network, a) == *key)
            })
            .map(|(k, _)| k)
            .collect();
        // `:9090` for both `0.0.0.0:9090` and `[::]:9090` names neither.
        if let [owned] = owned.as_slice() {
            listener.key = Some((*owned).clone());
            continue;
        }
        // Declared on another IP network than the socket was bound for
        // (`tcp4` now, `tcp` before): the same socket if both bind it
        // alike, which a second bind could not (the address is in use).
        // One asked for on port 0 (`127.0.0.1:0#admin`) is the socket
        // that listener got its port on, if both, asked for at that port
        // (`127.0.0.1:41234`; `:41234`, dual-stack on `tcp`), bind alike:
        // on its own network too (`tcp4`'s `0.0.0.0:0` for its `:0`),
        // where the spellings above give its port, not 0.
        let port_0_owner = key.port_0_owner();
        let alike: Vec<&ListenerKey> = (held.iter())
            .filter(|(k, h)| {
                let elsewhere = k.network != key.network || port_0_owner.is_some();
                // (The same name with a final dot on its own network.)
                !h.activated && (elsewhere || same_name_alike((k, h), key))
            })
            .filter(|(k, h)| match port_0_owner {
                Some(owner) => {
                    let at = |key| at_port_got(key, &h.address);
                    k.port_0_owner() == Some(owner)
                        && at(k).zip(at(key)).is_some_and(|(held, asked)| {
                            let held = (k.network.as_str(), held.as_str());
                            crate::rules::binds_alike(held, (key.network.as_str(), &asked))
                        })
                }
                // A held port-0 socket, asked for by the port it got on
                // another network (`tcp4:127.0.0.1:41234` for `tcp`'s
                // `127.0.0.1:0`); a name's, by the address it resolved to
                // (`tcp4:127.0.0.1:8080` for `tcp`'s `localhost:8080`), or
                // by that name where the other network binds it alike.
                None => {
                    binds_alike(
                        (k.network, &bound_at(k, h)),
                        (key.network, key.bind_address()),
                    ) || same_name_alike((k, h), key)
                }
            })
            .map(|(k, _)| k)
            .collect();
        if let [alike] = alike.as_slice() {
            listener.key = Some((*alike).clone());
        }
    }
}

/// Whether a held socket, bound on `held`'s network at its address, and a
/// listener on `network` at `address` bind the very same socket
/// ([`rules::binds_alike`]).
///
/// [`rules::binds_alike`]: crate::rules::binds_alike
fn binds_alike(held: (Network, &str), (network, address): (Network, &str)) -> bool {
    crate::rules::binds_alike((held.0.as_str(), held.1), (network.as_str(), address))
}

/// The address the socket held under `key` is bound at, as asked for:
/// a port-0 one's at the port it got (`127.0.0.1:0` at `127.0.0.1:41234`
/// as `127.0.0.1:41234`, `:0` at `[::]:41235` as `:41235`); a name's at
/// the one address it resolved to (`localhost:8080` as `127.0.0.1:8080`).
fn bound_at(key: &ListenerKey, held: &Held) -> String {
    match key.port_0_owner() {
        Some(_) => at_port_got(key, &held.address),
        None if named(key.bind_address()).is_some() => Some(held.address.clone()),
        None => None,
    }
    .unwrap_or_else(|| key.bind_address().to_owned())
}

/// The host name `address` names (`localhost` for `localhost:8080`,
/// without a final dot), if not an IP address or none.
fn named(address: &str) -> Option<&str> {
    let (host, _) = host_port(address).ok()?;
    let name = host.strip_suffix('.').unwrap_or(host);
    (!name.is_empty() && name.parse::<IpAddr>().is_err()).then_some(name)
}

/// Whether a socket held for a name on one IP network (`tcp:localhost:8080`,
/// bound at `127.0.0.1:8080`) is the one `key` asks for by the same name
/// and port on another: the same first address of a family would be
/// bound, if the held one is of the family `key`'s network picks first
/// (IPv4 for `tcp` and `udp`, as for a name they take IPv4 first); on
/// its own network (a final dot apart), whatever the family.
fn same_name_alike((k, h): (&ListenerKey, &Held), key: &ListenerKey) -> bool {
    let port = |address| host_port(address).ok().map(|(_, port)| port);
    let held_v6 = h.address.starts_with('[');
    let picks_v6 = matches!(key.network, Network::Tcp6 | Network::Udp6);
    k.network.kind() == key.network.kind()
        && named(k.bind_address())
            .zip(named(key.bind_address()))
            .is_some_and(|(a, b)| a == b)
        && port(k.bind_address()) == port(key.bind_address())
        && (held_v6 == picks_v6 || k.network == key.network)
}

/// Port-0 key `key`'s address as asked for, at the port in `got`, the
/// address its socket has (`127.0.0.1:0` and `127.0.0.1:41234` give
/// `127.0.0.1:41234`; `:0` and `[::]:41234` give `:41234`).
fn at_port_got(key: &ListenerKey, got: &str) -> Option<String> {
    let (_, port) = got.rsplit_once(':')?;
    let host = key.bind_address().strip_suffix(":0")?;
    Some(format!("{host}:{port}"))
}

/// `address` on `network` with every address of one family written out
/// (`tcp4`'s `:80` as `0.0.0.0:80`, `tcp6`'s as `[::]:80`): as another
/// network would have to be given it.
fn written_out(network: Network, address: &str) -> String {
    match (address.strip_prefix(':'), network) {
        (Some(port), Network::Tcp4 | Network::Udp4) => format!("0.0.0.0:{port}"),
        (Some(port), Network::Tcp6 | Network::Udp6) => format!("[::]:{port}"),
        _ => address.to_owned(),
    }
}

/// Refuses two listeners of a reload that name one held socket, in the
/// words they were `asked` in, before [`as_held`] and its kin gave each in
/// `wanted` the key of the socket it names: `admin` asking `:9090`, the
/// port of the service manager's socket held for `http` under its
/// declared `:8080`, reads as `:9090`, and a port-0 socket by the port it
/// got, not by its key.
fn one_socket_each_as_asked(
    held: &BTreeMap<ListenerKey, Held>,
    asked: &[Assigned],
    wanted: &[Assigned],
) -> Result<(), String> {
    for (i, first) in wanted.iter().enumerate() {
        let Some(key) = &first.key else { continue };
        let Some(j) = (i + 1..wanted.len()).find(|&j| wanted[j].key.as_ref() == Some(key)) else {
            continue;
        };
        let (Some(a), Some(b)) = (asked.get(i), asked.get(j)) else {
            continue;
        };
        // Asked alike: the rules' own words.
        one_socket_each(&[a.clone(), b.clone()])?;
        let words = |asked: &Assigned| {
            (asked.key.as_ref())
                .map_or("", |k| k.bind_address())
                .to_owned()
        };
        let at = held
            .get(key)
            .map_or(key.bind_address(), |h| h.address.as_str());
        // Held under the address first asked for it, if not where it is
        // (a socket unit's, a port 0's): what an address asked maps to.
        let under = match key.bind_address() {
            first if first != at => format!(" (held for {first})"),
            _ => String::new(),
        };
        return Err(format!(
            "listeners `{}` ({}) and `{}` ({}) name one socket, {} {at}{under}, which this service holds; give each its own address",
            a.name,
            words(a),
            b.name,
            words(b),
            key.network
        ));
    }
    Ok(())
}

/// Keeps a listener on the service manager's socket it is on now unless
/// the reload's own arguments (`given`) move it: a new binary whose
/// declared default differs from the socket unit's address (a deploy that
/// changed the default) says nothing about where to listen, as a start
/// would adopt the unit's socket whatever the default. So too on another
/// IP network that takes that very socket, as a start would hand it over
/// (`tcp4` for one bound at `0.0.0.0:8080`, `tcp` for any). Not a listener
/// the new binary turns off, nor one on a network that cannot take it:
/// those are refused by [`plan`], for the unit to change.
pub(crate) fn activated_kept(
    held: &BTreeMap<ListenerKey, Held>,
    current: &[Assigned],
    wanted: &mut [Assigned],
    given: &BTreeSet<String>,
) {
    for listener in wanted.iter_mut() {
        let Some(key) = &listener.key else { continue };
        let now = current.iter().find(|c| c.name == listener.name);
        let Some(now) = now.and_then(|c| c.key.as_ref()) else {
            continue;
        };
        let other_network = now.network != key.network;
        let fits = |h: &Held| {
            !other_network || (now.network.kind() == key.network.kind() && takes(key.network, h))
        };
        // Given on the reload's command line, only where the socket is
        // (on its own network, `as_held` knows it by that address).
        let stays = |h: &Held| {
            !given.contains(&listener.name)
                || (other_network
                    && spellings(&h.address, true)
                        .iter()
                        .any(|a| a == key.bind_address()))
        };
        if held
            .get(now)
            .is_some_and(|h| h.activated && fits(h) && stays(h))
        {
            listener.key = Some(now.clone());
        }
    }
}

/// Whether a listener on IP network `network` takes socket `held`, as it
/// would be handed over at a start: `tcp` and `udp` one of either family;
/// `tcp4` and `udp4` an IPv4 one; `tcp6` and `udp6` an IPv6 one that takes
/// no IPv4 client (at a given address, or `[::]` bound IPv6-only).
fn takes(network: Network, held: &Held) -> bool {
    let Ok(at) = held.address.parse::<std::net::SocketAddr>() else {
        return false;
    };
    match network {
        Network::Tcp | Network::Udp => true,
        Network::Tcp4 | Network::Udp4 => at.is_ipv4(),
        Network::Tcp6 | Network::Udp6 => {
            at.is_ipv6() && (!at.ip().is_unspecified() || held.ipv6_only)
        }
        Network::Unix => false,
    }
}

/// Gives a unix listener that names a held socket file by another path,
/// one relative and one absolute, the key that socket is held under: a
/// relative path is the supervisor's folder's (`home`), where it bound
/// it. A relative path a reload's arguments give (`given`) counts only
/// when the caller runs in that folder too (`caller_home`); from elsewhere
/// it means another file. A declared default, or a flag of the serving
/// child's kept, is the service's: of its folder, whoever reloads.
/// Without this, `-api=/srv/app/api.sock` after a start with
/// `-api=api.sock` in /srv/app would bind the file again and find it in
/// use, by this very service.
pub(crate) fn unix_as_held(
    held: &BTreeMap<ListenerKey, Held>,
    wanted: &mut [Assigned],
    home: &Path,
    caller_home: bool,
    given: &BTreeSet<String>,
) {
    // `home` is the supervisor's absolute working folder.
    let at = |key: &ListenerKey, relative_ok: bool| {
        (relative_ok || !key.relative_unix()).then(|| key.in_folder(home))
    };
    for listener in wanted {
        let Some(key) = &listener.key else { continue };
        if key.network != Network::Unix || held.contains_key(key) {
            continue;
        }
        let relative_ok = caller_home || !given.contains(&listener.name);
        let Some(file) = at(key, relative_ok) else {
            continue;
        };
        // Not a socket-activated one: held under the key it was asked
        // for, its file is the service manager's, known by its address
        // (`as_held`).
        let owned: Vec<&ListenerKey> = (held.iter())
            .filter(|(k, h)| {
                k.network == Network::Unix && !h.activated && k.in_folder(home) == file
            })
            .map(|(k, _)| k)
            .collect();
        if let [owned] = owned.as_slice() {
            listener.key = Some((*owned).clone());
        }
    }
}

/// The ways to name a socket bound at `address`: as it is, and if
/// `by_port`, a wildcard one (`0.0.0.0:9090`, `[::]:9090`) by its port
/// alone (`:9090`).
fn spellings(address: &str, by_port: bool) -> Vec<String> {
    let mut all = vec![address.to_owned()];
    if let Ok((host, port)) = host_port(address)
        && by_port
        && host.parse::<IpAddr>().is_ok_and(|ip| ip.is_unspecified())
    {
        all.push(format!(":{port}"));
    }
    all
}

/// How `wanted` differs from `current`, listener by listener, one line
/// each, with the addresses the sockets have (`held`): what a reload
/// moves, turns off or on, adds or leaves behind.
pub(crate) fn changes(
    held: &BTreeMap<ListenerKey, Held>,
    current: &[Assigned],
    wanted: &[Assigned],
) -> Vec<String> {
    let at = |key: &Option<ListenerKey>| match key {
        None => "off".to_owned(),
        Some(key) => {
            let address = held.get(key).map_or(key.bind_address(), |h| &h.address);
            format!("{} {address}", key.network)
        }
    };
    let mut changes = Vec::new();
    for now in current {
        match wanted.iter().find(|w| w.name == now.name) {
            Some(then) if then.key == now.key => {}
            Some(then) => changes.push(format!(
                "listener `{}`: {} -> {}",
                now.name,
                at(&now.key),
                at(&then.key)
            )),
            None if now.key.is_some() => changes.push(format!(
                "listener `{}`: {} -> gone (not declared by the new binary)",
                now.name,
                at(&now.key)
            )),
            None => {}
        }
    }
    for then in wanted {
        if !current.iter().any(|now| now.name == then.name) {
            changes.push(format!("listener `{}`: new, {}", then.name, at(&then.key)));
        }
    }
    changes
}

/// A reload's caller's working folder and the supervisor's (`home`),
/// known to be two folders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Folders {
    pub caller: PathBuf,
    pub home: PathBuf,
}

/// Refuses to bind a relative unix-socket path that a caller in another
/// folder gave (`given`: the listeners its arguments set): the supervisor
/// would bind it in its own folder, not where the caller meant it. A
/// declared default is the program's, meant for the service's folder; a
/// socket held already is no bind, so a plain reload from anywhere keeps
/// it.
pub(crate) fn bound_where_meant(
    orders: &[BindOrder],
    given: &BTreeSet<String>,
    elsewhere: Option<&Folders>,
) -> Result<(), String> {
    let Some(Folders { caller, home }) = elsewhere else {
        return Ok(());
    };
    let Some(order) = orders
        .iter()
        .find(|o| o.key.relative_unix() && given.contains(&o.name))
    else {
        return Ok(());
    };
    let (name, path) = (&order.name, &order.key.address);
    if caller == home {
        // One path, two folders: the supervisor's was moved away, or the
        // two see the path in different mount namespaces.
        return Err(format!(
            "listener `{name}`: the unix-socket path `{path}` is relative, and the supervisor would bind it in its own folder, which is not the one this command finds at {}; give an absolute path",
            home.display()
        ));
    }
    Err(format!(
        "listener `{name}`: the unix-socket path `{path}` is relative, and the supervisor would bind it in its own folder, {}, not in this one, {}; give an absolute path (or reload from {})",
        home.display(),
        caller.display(),
        home.display()
    ))
}

/// What a reload is told of each listener its own arguments (`given`)
/// set to an address the service manager's socket it keeps is not at (the
/// binary's declared default, which that socket is held under): the
/// socket stays where the socket unit put it, as a start with that address
/// would have it, and no reload moves it. `asked`: `wanted` as the reload
/// asked for it, before each was given the key of the socket it names;
/// `home`: the supervisor's folder, where a relative unix path is.
pub(crate) fn activated_given_elsewhere(
    held: &BTreeMap<ListenerKey, Held>,
    asked: &[Assigned],
    wanted: &[Assigned],
    given: &BTreeSet<String>,
    home: Option<&Path>,
) -> Vec<String> {
    let mut notes = Vec::new();
    for (asked, wanted) in asked.iter().zip(wanted) {
        let (Some(asked_key), Some(key)) = (&asked.key, &wanted.key) else {
            continue;
        };
        let Some(h) = held.get(key).filter(|h| h.activated) else {
            continue;
        };
        // A relative path as bound from the supervisor's folder (`home`);
        // a host name, which may name the address the socket has, is let
        // be.
        let address = match (asked_key.relative_unix(), home) {
            (false, _) => asked_key.bind_address().to_owned(),
            (true, Some(home)) => asked_key.in_folder(home).address,
            (true, None) => continue,
        };
        let named_host = asked_key.network != Network::Unix && named(&address).is_some();
        let where_it_is = spellings(&h.address, true).contains(&address);
        if !given.contains(&wanted.name) || named_host || where_it_is {
            continue;
        }
        notes.push(format!(
            "listener `{}`: `{address}` given, but it stays on the service manager's socket, {} {}, which no reload moves (change the socket unit to move it)",
            wanted.name, key.network, h.address
        ));
    }
    notes
}

/// What a caller in another folder is told when it gives new arguments:
/// the child runs in the supervisor's folder, so a relative path among
/// them is taken from there.
pub(crate) fn folder_note(folders: &Folders) -> String {
    format!(
        "the new child runs in {} (the supervisor's folder), not in {}: relative paths in its arguments are taken from there",
        folders.home.display(),
        folders.caller.display()
    )
}

/// The supervisor's folder, where it binds a relative unix path, but
/// those of the listeners a caller known to be elsewhere gave
/// (`given_elsewhere`), which are that caller's folder's.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Home<'a> {
    pub folder: &'a Path,
    pub given_elsewhere: &'a BTreeSet<String>,
}

/// What it takes to give a child `wanted` (the listeners `asked`, each
/// given the key of the held socket it names), when `held` are held and
/// `current` serves: the sockets to bind first, or why it cannot be (a
/// socket-activated listener would have to move, or two listeners ask for
/// one socket: a unix one too under a relative and an absolute path, the
/// relative one taken from `home`, the supervisor's folder, where it is
/// bound, for the listeners whose relative path is that folder's, as
/// [`unix_as_held`] judges them; another's is refused by
/// [`bound_where_meant`] in words of its own).
pub(crate) fn plan(
    held: &BTreeMap<ListenerKey, Held>,
    current: &[Assigned],
    asked: &[Assigned],
    wanted: &[Assigned],
    home: Option<Home<'_>>,
) -> Result<Vec<BindOrder>, String> {
    // Two listeners at one socket are refused in the words they gave
    // (below, one of them may be moved to where its socket really is).
    one_socket_each_as_asked(held, asked, wanted)?;
    // A socket the service manager passed, kept by the listener it was
    // passed for, is where it really is, not at the address that listener
    // declared (held under that): `:8080` handed `0.0.0.0:9090` leaves
    // 8080 free for another listener (as `127.0.0.1:8080`, say; given
    // `:8080` itself, the very key the passed socket is held under, it is
    // refused as naming that socket too). An IPv6 wildcard one of `tcp` or
    // `udp` by its port alone (systemd's `[::]:9090` takes IPv4 too, unless
    // bound IPv6-only), not an IPv4 one (`0.0.0.0:9090` leaves `[::1]:9090`
    // free); on the other networks a wildcard is its port alone either way.
    let where_they_are: Vec<Assigned> = (wanted.iter())
        .map(|w| {
            let kept = |key: &ListenerKey| {
                (current.iter()).any(|c| c.name == w.name && c.key.as_ref() == Some(key))
            };
            match &w.key {
                Some(key) if kept(key) && held.get(key).is_some_and(|h| h.activated) => {
                    let address = &held[key].address;
                    let ipv6_wildcard = address.starts_with("[::]:") && !held[key].ipv6_only;
                    let by_port = ipv6_wildcard || !key.network.dual_stack();
                    let real = spellings(address, by_port);
                    let real = real.last().expect("the address itself at least");
                    Assigned {
                        key: Some(ListenerKey::of(&w.name, key.network, real)),
                        ..w.clone()
                    }
                }
                Some(key) if key.relative_unix() => match home {
                    Some(home) if !home.given_elsewhere.contains(&w.name) => Assigned {
                        key: Some(key.in_folder(home.folder)),
                        ..w.clone()
                    },
                    _ => w.clone(),
                },
                _ => w.clone(),
            }
        })
        .collect();
    one_socket_each(&where_they_are)?;
    for now in current {
        let Some(key) = &now.key else { continue };
        let Some(owned) = held.get(key).filter(|h| h.activated) else {
            continue;
        };
        let then = wanted.iter().find(|w| w.name == now.name);
        if then.and_then(|w| w.key.as_ref()) == Some(key) {
            continue;
        }
        // Its socket declared under another name (dropped, swapped with
        // another's, or off while another takes it): that is what moves.
        let renamed = (wanted.iter()).find(|w| w.key.as_ref() == Some(key) && w.name != now.name);
        if let Some(renamed) = renamed {
            return Err(format!(
                "listener `{}` is socket-activated (the service manager owns {} {}), and the new binary declares that socket as `{}` instead: a reload keeps a socket-activated listener's name (its socket unit may pass the socket by it, `FileDescriptorName=`); keep the name `{}`, or rename it and restart the service",
                now.name, key.network, owned.address, renamed.name, now.name
            ));
        }
        let (to, instead) = match then {
            None => (
                "nothing: the new binary does not declare it".to_owned(),
                String::new(),
            ),
            Some(Assigned { key: None, .. }) => ("off".to_owned(), String::new()),
            // The same address, maybe: the network is what moves.
            Some(Assigned { key: Some(k), .. }) if k.network != key.network => (
                format!("{} {}", k.network, k.bind_address()),
                format!(" declare it on {} again, or", key.network),
            ),
            Some(Assigned { key: Some(k), .. }) => (k.bind_address().to_owned(), String::new()),
        };
        return Err(format!(
            "listener `{}` is socket-activated (the service manager owns {} {}) and cannot move to {to};{instead} change the socket unit instead",
            now.name, key.network, owned.address
        ));
    }
    Ok(bind_orders(held, wanted))
}

/// The sockets to bind for a child given `wanted` while `held` are held:
/// each one not held yet, once. Whether it may be is [`plan`]'s question.
pub(crate) fn bind_orders(
    held: &BTreeMap<ListenerKey, Held>,
    wanted: &[Assigned],
) -> Vec<BindOrder> {
    let mut seen = BTreeSet::new();
    wanted
        .iter()
        .filter_map(|w| Some((w.key.as_ref()?, &w.name)))
        .filter(|(key, _)| !held.contains_key(*key) && seen.insert((*key).clone()))
        .map(|(key, name)| BindOrder {
            key: key.clone(),
            name: name.clone(),
            if_in_use: if_in_use(held, wanted, key, name),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`super::plan`] for listeners asked as they are wanted (no held
    /// socket named by another address).
    fn plan(
        held: &BTreeMap<ListenerKey, Held>,
        current: &[Assigned],
        wanted: &[Assigned],
    ) -> Result<Vec<BindOrder>, String> {
        super::plan(held, current, wanted, wanted, None)
    }

    fn assigned(name: &str, network: Network, address: Option<&str>) -> Assigned {
        Assigned {
            name: name.to_owned(),
            network,
            key: address.map(|a| ListenerKey::of(name, network, a)),
        }
    }

    /// `http`'s socket, declared at `declared`, as the service manager
    /// passed it, bound at `address`.
    fn passed(declared: &str, address: &str) -> BTreeMap<ListenerKey, Held> {
        let mut held = held(&[(declared, true)]);
        held.values_mut().next().unwrap().address = address.to_owned();
        held
    }

    /// Whether [`as_held`] leaves listener `name` at `address` on
    /// `network` its own key: no socket of `held` is the one it names.
    fn left_as_asked(
        held: &BTreeMap<ListenerKey, Held>,
        name: &str,
        network: Network,
        address: &str,
    ) -> bool {
        let mut wanted = [assigned(name, network, Some(address))];
        as_held(held, &mut wanted);
        wanted[0].key == Some(ListenerKey::of(name, network, address))
    }

    fn held(keys: &[(&str, bool)]) -> BTreeMap<ListenerKey, Held> {
        keys.iter()
            .map(|(a, activated)| {
                (
                    ListenerKey::of("http", Network::Tcp, a),
                    Held {
                        address: a.to_string(),
                        activated: *activated,
                        lost: false,
                        ipv6_only: false,
                    },
                )
            })
            .collect()
    }

    #[test]
    fn a_unix_socket_asked_for_relative_and_absolute_is_one_socket_from_home() {
        let wanted = [
            assigned("api", Network::Unix, Some("api.sock")),
            assigned("admin", Network::Unix, Some("/srv/app/api.sock")),
        ];
        let none = BTreeMap::new();
        // Two keys, one socket where the supervisor binds them.
        assert!(super::plan(&none, &[], &wanted, &wanted, None).is_ok());
        let nothing = BTreeSet::new();
        let home = |folder: &'static str, given_elsewhere| {
            Some(Home {
                folder: Path::new(folder),
                given_elsewhere,
            })
        };
        let e = super::plan(&none, &[], &wanted, &wanted, home("/srv/app", &nothing)).unwrap_err();
        assert!(e.contains("`api` and `admin`"), "{e}");
        assert!(e.contains("/srv/app/api.sock"), "{e}");
        // Elsewhere, two sockets.
        assert!(super::plan(&none, &[], &wanted, &wanted, home("/srv/other", &nothing)).is_ok());
        // Given by a caller in another folder: its own file, not the
        // service's (refused apart, by `bound_where_meant`).
        let api = BTreeSet::from(["api".to_owned()]);
        assert!(super::plan(&none, &[], &wanted, &wanted, home("/srv/app", &api)).is_ok());
    }

    #[test]
    fn kept_listeners_bind_nothing_and_new_ones_bind_once() {
        let held = held(&[(":80", false)]);
        let current = [assigned("http", Network::Tcp, Some(":80"))];
        let wanted = [
            assigned("http", Network::Tcp, Some(":80")),
            assigned("admin", Network::Tcp, Some("127.0.0.1:81")),
            assigned("off", Network::Tcp, None),
            assigned("also_off", Network::Tcp, None),
        ];
        let orders = plan(&held, &current, &wanted).unwrap();
        assert_eq!(
            orders,
            [BindOrder {
                key: ListenerKey::of("admin", Network::Tcp, "127.0.0.1:81"),
                name: "admin".to_owned(),
                if_in_use: None,
            }]
        );
    }

    #[test]
    fn a_bind_on_a_port_this_service_holds_names_the_held_socket_and_a_spelling_that_keeps_it() {
        // Each with the address `status` shows for it.
        let held: BTreeMap<ListenerKey, Held> = [
            ("127.0.0.1:80", "127.0.0.1:80", false),
            (":0#http", "[::]:4000", false),
            (":8080", "[::]:8080", false),
            (":9090", "0.0.0.0:9090", true),
        ]
        .into_iter()
        .map(|(asked, shown, activated)| {
            let held = Held {
                address: shown.to_owned(),
                activated,
                lost: false,
                ipv6_only: false,
            };
            (ListenerKey::of("http", Network::Tcp, asked), held)
        })
        .collect();
        let current = [assigned("http", Network::Tcp, Some("127.0.0.1:80"))];
        // The advice for the last of `wanted` (the others kept, not bound).
        let advice_beside = |wanted: &[Assigned]| -> Option<String> {
            let orders = plan(&held, &current, wanted).unwrap();
            orders.into_iter().last().and_then(|o| o.if_in_use)
        };
        let advice = |name: &str, network: Network, address: &str| -> Option<String> {
            advice_beside(&[assigned(name, network, Some(address))])
        };
        let keep = |ours: &str, give: &str| {
            let port = ours.rsplit(':').next().unwrap();
            Some(format!(
                "this service holds tcp {ours} already: to keep that socket, give `{give}`; to listen on another address of port {port}, reload to another port first, or stop and start the service"
            ))
        };
        let http = keep("127.0.0.1:80", "127.0.0.1:80");
        assert_eq!(advice("http", Network::Tcp, "localhost:80"), http);
        // What the advice gives is kept, not bound again.
        let mut given = [assigned("http", Network::Tcp, Some("127.0.0.1:80"))];
        as_held(&held, &mut given);
        assert!(held.contains_key(given[0].key.as_ref().unwrap()));
        // Asked for on every address: `:8080`, not `[::]:8080` as `status`
        // shows it (an IPv6-only socket of its own).
        let any = keep("[::]:8080", ":8080");
        assert_eq!(advice("web", Network::Tcp, "0.0.0.0:8080"), any);
        assert_eq!(advice("web", Network::Tcp, "[::]:8080"), any);
        // Socket-activated: by the address it has (which no reload moves).
        let activated =
            "this service holds tcp 0.0.0.0:9090 already: to keep that socket, give `0.0.0.0:9090`";
        assert_eq!(
            advice("metrics", Network::Tcp, "127.0.0.1:9090").as_deref(),
            Some(activated)
        );
        // Another family than an IPv4 wildcard's: no socket of this
        // service's is in the way (the port is another program's). A
        // dual-stack socket's is either.
        assert_eq!(advice("debug", Network::Tcp6, "[::1]:9090"), None);
        assert_eq!(advice("debug", Network::Tcp, "[::1]:9090"), None);
        assert_eq!(advice("debug", Network::Tcp, "[::]:9090"), None);
        assert!(advice("debug", Network::Tcp, "127.0.0.1:8080").is_some());
        // Another IP network: by the address the socket has, which binds
        // it alike; a dual-stack one, no spelling keeps.
        let http = keep("127.0.0.1:80", "127.0.0.1:80");
        assert_eq!(advice("http", Network::Tcp4, ":80"), http);
        assert_eq!(
            advice("web", Network::Tcp6, ":8080"),
            Some("this service holds tcp [::]:8080 already, as a tcp socket, which a tcp6 listener cannot keep: declare it tcp again, or stop and start the service to change it".to_owned())
        );
        // On another network, a port-0 socket by the port it got, which
        // a listener there keeps.
        let held_4 = BTreeMap::from([(
            ListenerKey::of("http", Network::Tcp4, ":0"),
            Held {
                address: "0.0.0.0:41241".to_owned(),
                activated: false,
                lost: false,
                ipv6_only: false,
            },
        )]);
        // On its own network too, one family's port-0 socket is kept by
        // the address it has, whichever listener gives it: advised so, not
        // as a port only its own listener could have.
        for (name, network) in [("http", Network::Tcp), ("admin", Network::Tcp4)] {
            let wanted = [assigned(name, network, Some("127.0.0.1:41241"))];
            let orders = plan(&held_4, &current, &wanted).unwrap();
            assert_eq!(
                orders
                    .into_iter()
                    .last()
                    .and_then(|o| o.if_in_use)
                    .as_deref(),
                Some(
                    "this service holds tcp4 0.0.0.0:41241 already: to keep that socket, give `0.0.0.0:41241`; to listen on another address of port 41241, reload to another port first, or stop and start the service"
                ),
                "{name} {network}"
            );
            let mut given = [assigned(name, network, Some("0.0.0.0:41241"))];
            as_held(&held_4, &mut given);
            assert!(held_4.contains_key(given[0].key.as_ref().unwrap()));
        }
        // A port-0 socket is known by the port it got, and kept only by
        // its own listener asking for port 0 again.
        assert_eq!(
            advice("admin", Network::Tcp, "0.0.0.0:4000"),
            Some("this service holds tcp [::]:4000 already, bound on port 0 for listener `http`: stop and start the service to give `admin` that port".to_owned())
        );
        assert_eq!(
            advice("http", Network::Tcp, "[::]:4000"),
            keep("[::]:4000", ":0")
        );
        // Kept by another listener of the reload: no spelling frees it.
        let other = |held_by: &str, address: &str| {
            Some(format!(
                "this service holds tcp {address} already, for listener `{held_by}`: give `admin` another address"
            ))
        };
        let beside_http = [
            assigned("http", Network::Tcp, Some("127.0.0.1:80")),
            assigned("admin", Network::Tcp, Some("localhost:80")),
        ];
        assert_eq!(advice_beside(&beside_http), other("http", "127.0.0.1:80"));
        // Declarations that overlap (every address, and one of them) are
        // refused before any bind.
        let overlapping = [
            assigned("metrics", Network::Tcp, Some(":9090")),
            assigned("admin", Network::Tcp, Some("127.0.0.1:9090")),
        ];
        let refused = plan(&held, &current, &overlapping).unwrap_err();
        assert!(
            refused.contains("ask for one port on addresses that overlap"),
            "{refused}"
        );
        // Not another specific address, which the held one cannot block.
        assert_eq!(advice("http", Network::Tcp, "127.0.0.2:80"), None);
        assert_eq!(advice("http", Network::Tcp, "[::1]:80"), None);
        // Not another kind, port or port 0.
        assert_eq!(advice("dns", Network::Udp, ":80"), None);
        assert_eq!(advice("http", Network::Tcp, ":81"), None);
        assert_eq!(advice("http", Network::Tcp, "127.0.0.2:0"), None);
    }

    #[test]
    fn a_relative_unix_path_is_bound_only_for_a_caller_in_the_supervisors_folder() {
        let orders = |address: &str| {
            plan(
                &BTreeMap::new(),
                &[],
                &[assigned("api", Network::Unix, Some(address))],
            )
            .unwrap()
        };
        let elsewhere = Folders {
            caller: "/home/ops".into(),
            home: "/srv/app".into(),
        };
        let given: BTreeSet<String> = ["api".to_owned()].into();
        let refused =
            bound_where_meant(&orders("run/api.sock"), &given, Some(&elsewhere)).unwrap_err();
        assert_eq!(
            refused,
            "listener `api`: the unix-socket path `run/api.sock` is relative, and the supervisor would bind it in its own folder, /srv/app, not in this one, /home/ops; give an absolute path (or reload from /srv/app)"
        );
        assert!(bound_where_meant(&orders("./api.sock"), &given, Some(&elsewhere)).is_err());
        // One path, two folders (the supervisor's moved away since).
        let replaced = Folders {
            caller: "/srv/app".into(),
            home: "/srv/app".into(),
        };
        let refused = bound_where_meant(&orders("api.sock"), &given, Some(&replaced)).unwrap_err();
        assert!(
            refused.ends_with(
                "in its own folder, which is not the one this command finds at /srv/app; give an absolute path"
            ),
            "{refused}"
        );
        // The same folder, an absolute path, or a declared default (the
        // program's, meant for the service's folder): bound.
        assert!(bound_where_meant(&orders("run/api.sock"), &given, None).is_ok());
        assert!(bound_where_meant(&orders("/run/api.sock"), &given, Some(&elsewhere)).is_ok());
        let default = BTreeSet::new();
        assert!(bound_where_meant(&orders("run/api.sock"), &default, Some(&elsewhere)).is_ok());
        // A TCP address has no folder.
        let tcp = plan(
            &BTreeMap::new(),
            &[],
            &[assigned("api", Network::Tcp, Some("localhost:80"))],
        )
        .unwrap();
        assert!(bound_where_meant(&tcp, &given, Some(&elsewhere)).is_ok());
        assert_eq!(
            folder_note(&elsewhere),
            "the new child runs in /srv/app (the supervisor's folder), not in /home/ops: relative paths in its arguments are taken from there"
        );
    }

    #[test]
    fn a_reload_tells_each_listener_it_changes() {
        let mut held = held(&[("127.0.0.1:80", false), (":0#http", false)]);
        held.values_mut().nth(1).unwrap().address = "[::]:4000".to_owned();
        let current = [
            assigned("http", Network::Tcp, Some("127.0.0.1:80")),
            assigned("admin", Network::Tcp, None),
            assigned("old", Network::Tcp, Some("127.0.0.1:80")),
            assigned("quiet", Network::Tcp, None),
        ];
        let same: Vec<Assigned> = current.to_vec();
        assert!(changes(&held, &current, &same).is_empty());
        let wanted = [
            assigned("http", Network::Tcp, Some(":0")),
            assigned("admin", Network::Tcp, Some("127.0.0.1:81")),
            assigned("metrics", Network::Udp, None),
        ];
        assert_eq!(
            changes(&held, &current, &wanted),
            [
                "listener `http`: tcp 127.0.0.1:80 -> tcp [::]:4000",
                "listener `admin`: off -> tcp 127.0.0.1:81",
                "listener `old`: tcp 127.0.0.1:80 -> gone (not declared by the new binary)",
                "listener `metrics`: new, off",
            ]
        );
    }

    #[test]
    fn two_listeners_cannot_share_one_socket() {
        let held = held(&[(":80", false)]);
        let current = [assigned("http", Network::Tcp, Some(":80"))];
        let wanted = [
            assigned("http", Network::Tcp, Some(":80")),
            assigned("admin", Network::Tcp, Some("LOCALHOST:81")),
            assigned("also", Network::Tcp, Some("localhost:081")),
        ];
        let e = plan(&held, &current, &wanted).unwrap_err();
        assert_eq!(
            e,
            "listeners `admin` and `also` both ask for tcp localhost:81; give each its own address"
        );
        // Sharing the serving child's socket is no different.
        let wanted = [
            assigned("http", Network::Tcp, Some(":80")),
            assigned("admin", Network::Tcp, Some(":80")),
        ];
        assert!(plan(&held, &current, &wanted).is_err());
        // Port 0 is a free port each.
        let wanted = [
            assigned("a", Network::Tcp, Some("127.0.0.1:0")),
            assigned("b", Network::Tcp, Some("127.0.0.1:0")),
        ];
        assert!(plan(&held, &current, &wanted).is_ok());
    }

    #[test]
    fn a_socket_activated_listener_cannot_move_to_a_network_that_cannot_take_its_socket() {
        let held = passed(":8080", "[::]:8080");
        let current = [assigned("http", Network::Tcp, Some(":8080"))];
        let mut narrowed = [assigned("http", Network::Tcp4, Some(":8080"))];
        activated_kept(&held, &current, &mut narrowed, &BTreeSet::new());
        let e = plan(&held, &current, &narrowed).unwrap_err();
        assert_eq!(
            e,
            "listener `http` is socket-activated (the service manager owns tcp [::]:8080) and cannot move to tcp4 :8080; declare it on tcp again, or change the socket unit instead"
        );
    }

    #[test]
    fn a_socket_activated_listener_stays_on_another_network_that_takes_its_socket() {
        // The unit's `0.0.0.0:8080`, which a start hands to a `tcp4`
        // listener too: a reload to one keeps it, binding nothing.
        let mut held = passed(":8080", "0.0.0.0:8080");
        let current = [assigned("http", Network::Tcp, Some(":8080"))];
        let mut narrowed = [assigned("http", Network::Tcp4, Some(":8080"))];
        activated_kept(&held, &current, &mut narrowed, &BTreeSet::new());
        assert_eq!(narrowed[0].key, current[0].key);
        assert_eq!(narrowed[0].network, Network::Tcp4, "declared as it is");
        assert_eq!(plan(&held, &current, &narrowed), Ok(Vec::new()));
        // Given on the reload's own command line: kept where it names the
        // socket (`:8080` or `0.0.0.0:8080`); elsewhere, it goes where it
        // is told, which no reload can for such a socket.
        let given = BTreeSet::from(["http".to_owned()]);
        for (address, kept) in [
            (":8080", true),
            ("0.0.0.0:8080", true),
            ("127.0.0.1:8080", false),
            (":9090", false),
        ] {
            let mut wanted = [assigned("http", Network::Tcp4, Some(address))];
            activated_kept(&held, &current, &mut wanted, &given);
            assert_eq!(wanted[0].key == current[0].key, kept, "{address}");
            assert_eq!(plan(&held, &current, &wanted).is_ok(), kept, "{address}");
        }
        // Only an IP network of the same kind: not `udp4`.
        let mut other_kind = [assigned("http", Network::Udp4, Some(":8080"))];
        activated_kept(&held, &current, &mut other_kind, &BTreeSet::new());
        assert_ne!(other_kind[0].key, current[0].key);
        // `tcp6` takes an IPv6 socket at an address, or a wildcard bound
        // IPv6-only (`BindIPv6Only=ipv6-only`), not a dual-stack one.
        for (address, ipv6_only, kept) in [
            ("[::1]:8080", false, true),
            ("[::]:8080", false, false),
            ("[::]:8080", true, true),
        ] {
            let socket = held.values_mut().next().unwrap();
            socket.address = address.to_owned();
            socket.ipv6_only = ipv6_only;
            let mut wanted = [assigned("http", Network::Tcp6, Some(":8080"))];
            activated_kept(&held, &current, &mut wanted, &BTreeSet::new());
            assert_eq!(wanted[0].key == current[0].key, kept, "{address}");
            assert_eq!(plan(&held, &current, &wanted).is_ok(), kept, "{address}");
        }
    }

    #[test]
    fn an_ipv6_only_activated_wildcard_leaves_the_ipv4_wildcard_free() {
        // systemd's `[::]:9090`: dual-stack, it is the port's IPv4
        // wildcard too; bound IPv6-only, `0.0.0.0:9090` is another socket.
        for (ipv6_only, free) in [(false, false), (true, true)] {
            let mut held = passed(":9090", "[::]:9090");
            held.values_mut().next().unwrap().ipv6_only = ipv6_only;
            let current = [assigned("http", Network::Tcp, Some(":9090"))];
            let wanted = [
                assigned("http", Network::Tcp, Some(":9090")),
                assigned("v4", Network::Tcp4, Some("0.0.0.0:9090")),
            ];
            let planned = plan(&held, &current, &wanted);
            assert_eq!(planned.is_ok(), free, "{ipv6_only}: {planned:?}");
        }
    }

    #[test]
    fn a_socket_activated_listener_cannot_move() {
        let held = held(&[(":80", true)]);
        let current = [assigned("http", Network::Tcp, Some(":80"))];
        let moved = [assigned("http", Network::Tcp, Some(":8080"))];
        let e = plan(&held, &current, &moved).unwrap_err();
        assert!(
            e.starts_with("listener `http` is socket-activated (the service manager owns tcp :80) and cannot move to :8080"),
            "{e}"
        );
        let kept = [
            assigned("http", Network::Tcp, Some(":80")),
            assigned("new", Network::Tcp, Some(":81")),
        ];
        assert_eq!(plan(&held, &current, &kept).unwrap().len(), 1);
        let dropped = [assigned("new", Network::Tcp, Some(":81"))];
        let e = plan(&held, &current, &dropped).unwrap_err();
        assert!(e.contains("cannot move to nothing"), "{e}");
        // Declared under another name, the same socket: said so, not as
        // a socket dropped.
        let renamed = [assigned("web", Network::Tcp, Some(":80"))];
        let e = plan(&held, &current, &renamed).unwrap_err();
        // So too with the old name on another socket, or off.
        for http in [Some(":8080"), None] {
            let swapped = [
                assigned("web", Network::Tcp, Some(":80")),
                assigned("http", Network::Tcp, http),
            ];
            assert_eq!(plan(&held, &current, &swapped).unwrap_err(), e);
        }
        assert_eq!(
            e,
            "listener `http` is socket-activated (the service manager owns tcp :80), and the new binary declares that socket as `web` instead: a reload keeps a socket-activated listener's name (its socket unit may pass the socket by it, `FileDescriptorName=`); keep the name `http`, or rename it and restart the service"
        );
    }

    #[test]
    fn a_listener_is_named_by_the_address_its_socket_has() {
        // Started on `:8080` (bound dual-stack, shown as `[::]:8080`) and
        // `127.0.0.1:0`.
        let mut held = held(&[(":8080", false)]);
        held.values_mut().next().unwrap().address = "[::]:8080".to_owned();
        let zero = ListenerKey::of("admin", Network::Tcp, "127.0.0.1:0");
        let zero_held = Held {
            address: "127.0.0.1:41234".to_owned(),
            activated: false,
            lost: false,
            ipv6_only: false,
        };
        held.insert(zero.clone(), zero_held);
        let mut wanted = [
            assigned("http", Network::Tcp, Some("[::]:8080")),
            assigned("admin", Network::Tcp, Some("127.0.0.1:41234")),
        ];
        as_held(&held, &mut wanted);
        // `[::]:8080` asked for is IPv6 only: not the dual-stack socket.
        assert_eq!(
            wanted[0].key,
            Some(ListenerKey::of("http", Network::Tcp, "[::]:8080"))
        );
        assert_eq!(wanted[1].key, Some(zero));
        // Not activated: `0.0.0.0:8080` is another socket, not this one by
        // another name.
        let mut v4 = [assigned("http", Network::Tcp, Some("0.0.0.0:8080"))];
        as_held(&held, &mut v4);
        assert_eq!(
            v4[0].key,
            Some(ListenerKey::of("http", Network::Tcp, "0.0.0.0:8080"))
        );
    }

    #[test]
    fn a_socket_held_for_a_name_is_kept_on_another_ip_network_that_binds_it_alike() {
        // `tcp:localhost:8080`, bound at `127.0.0.1:8080`: `tcp4` keeps it
        // by that address or by the name; `tcp6`'s name is another socket.
        let held_as = |network, asked: &str, shown: &str| {
            let socket = Held {
                address: shown.to_owned(),
                activated: false,
                lost: false,
                ipv6_only: false,
            };
            BTreeMap::from([(ListenerKey::of("http", network, asked), socket)])
        };
        let v4 = held_as(Network::Tcp, "localhost:8080", "127.0.0.1:8080");
        let held_key = Some(ListenerKey::of("http", Network::Tcp, "localhost:8080"));
        for address in ["127.0.0.1:8080", "localhost:8080", "LOCALHOST.:8080"] {
            let mut wanted = [assigned("http", Network::Tcp4, Some(address))];
            as_held(&v4, &mut wanted);
            assert_eq!(wanted[0].key, held_key, "{address}");
        }
        // On its own network, the name with a final dot is the same,
        // whichever family it was bound in.
        let mut wanted = [assigned("http", Network::Tcp, Some("localhost.:8080"))];
        as_held(&v4, &mut wanted);
        assert_eq!(wanted[0].key, held_key);
        let v6_only = held_as(Network::Tcp, "ip6-localhost:8080", "[::1]:8080");
        let mut wanted = [assigned("http", Network::Tcp, Some("ip6-localhost.:8080"))];
        as_held(&v6_only, &mut wanted);
        let held_v6 = Some(ListenerKey::of("http", Network::Tcp, "ip6-localhost:8080"));
        assert_eq!(wanted[0].key, held_v6);
        for (network, address) in [
            (Network::Tcp6, "localhost:8080"),
            (Network::Tcp4, "localhost:8081"),
            (Network::Udp4, "localhost:8080"),
        ] {
            assert!(
                left_as_asked(&v4, "http", network, address),
                "{network} {address}"
            );
        }
        // Held at `[::1]`: `tcp6` keeps it by its name; `tcp` would bind
        // the name's IPv4 address first, another socket.
        let v6 = held_as(Network::Tcp4, "localhost:8080", "[::1]:8080");
        let v6 = v6
            .into_values()
            .map(|h| (ListenerKey::of("http", Network::Tcp, "localhost:8080"), h))
            .collect::<BTreeMap<_, _>>();
        let mut wanted = [assigned("http", Network::Tcp6, Some("localhost:8080"))];
        as_held(&v6, &mut wanted);
        assert_eq!(wanted[0].key, held_key);
        let mut wanted = [assigned("http", Network::Tcp, Some("localhost:8080"))];
        as_held(&v6, &mut wanted);
        assert_eq!(wanted[0].key, held_key, "its own network's key, held");
        // The address in use where the other network asks for another
        // address of that port: the address the name has, to keep it.
        let key = ListenerKey::of("http", Network::Tcp4, "0.0.0.0:8080");
        let words = if_in_use(&v4, &[], &key, "http").unwrap();
        assert!(words.contains("give `127.0.0.1:8080`"), "{words}");
        // A name on one family's network meets only that family's
        // sockets: `tcp6:localhost:8080` is not in the way of `tcp4`'s
        // `0.0.0.0:8080`.
        let v4_any = held_as(Network::Tcp4, ":8080", "0.0.0.0:8080");
        let key = ListenerKey::of("http", Network::Tcp6, "localhost:8080");
        assert_eq!(held_on_port(&v4_any, &key), None);
    }

    #[test]
    fn a_listener_moved_to_another_ip_network_keeps_a_socket_bound_alike() {
        let key = |network, address: &str| ListenerKey::of("http", network, address);
        let mut held = BTreeMap::new();
        for (network, address) in [
            (Network::Tcp, "127.0.0.1:8080"),
            (Network::Tcp, "[::]:8081"),
            (Network::Tcp4, ":8082"),
            (Network::Tcp, ":8083"),
            (Network::Udp, "127.0.0.1:53"),
        ] {
            let socket = Held {
                address: address.to_owned(),
                activated: false,
                lost: false,
                ipv6_only: false,
            };
            held.insert(key(network, address), socket);
        }
        let kept = [
            (
                (Network::Tcp4, "127.0.0.1:8080"),
                (Network::Tcp, "127.0.0.1:8080"),
            ),
            ((Network::Tcp6, ":8081"), (Network::Tcp, "[::]:8081")),
            ((Network::Tcp, "0.0.0.0:8082"), (Network::Tcp4, ":8082")),
            (
                (Network::Udp4, "127.0.0.1:53"),
                (Network::Udp, "127.0.0.1:53"),
            ),
        ];
        for ((network, address), (held_network, held_address)) in kept {
            let mut wanted = [assigned("http", network, Some(address))];
            as_held(&held, &mut wanted);
            assert_eq!(
                wanted[0].key,
                Some(key(held_network, held_address)),
                "{network} {address}"
            );
            assert_eq!(wanted[0].network, network, "declared as it is");
        }
        // On port 0, the port it got: the same listener's, alike. Each
        // held as asked (`network`, `asked`), at the address the kernel
        // shows (`shown`).
        let held_as = |network, asked: &str, shown: &str| {
            let socket = Held {
                address: shown.to_owned(),
                activated: false,
                lost: false,
                ipv6_only: false,
            };
            (ListenerKey::of("admin", network, asked), socket)
        };
        let got = |network, asked: &str, port| {
            let shown = format!("{}:{port}", asked.strip_suffix(":0").unwrap());
            held_as(network, asked, &shown)
        };
        let held_0 = BTreeMap::from([
            got(Network::Tcp, "127.0.0.1:0", 41234),
            got(Network::Tcp, ":0", 41235),
        ]);
        // Every host on one network is not every host on another: `tcp`'s
        // dual-stack socket is neither `tcp6`'s nor `tcp4`'s, nor the other
        // way round.
        for (held_one, network) in [
            (held_as(Network::Tcp, ":0", "[::]:41236"), Network::Tcp6),
            (held_as(Network::Tcp, ":0", "[::]:41236"), Network::Tcp4),
            (held_as(Network::Tcp6, ":0", "[::]:41237"), Network::Tcp),
            (held_as(Network::Tcp4, ":0", "0.0.0.0:41238"), Network::Tcp),
            (held_as(Network::Udp, ":0", "[::]:41239"), Network::Udp6),
        ] {
            let held_one = BTreeMap::from([held_one]);
            let mut wanted = [assigned("admin", network, Some(":0"))];
            as_held(&held_one, &mut wanted);
            let asked = Some(ListenerKey::of("admin", network, ":0"));
            assert_eq!(wanted[0].key, asked, "{held_one:?} as {network}");
        }
        let admin = |network, address| Some(ListenerKey::of("admin", network, address));
        // On another network, by its port 0 or by the port it got, as
        // `status` shows it.
        for address in ["127.0.0.1:0", "127.0.0.1:41234"] {
            let mut wanted = [assigned("admin", Network::Tcp4, Some(address))];
            as_held(&held_0, &mut wanted);
            assert_eq!(
                wanted[0].key,
                admin(Network::Tcp, "127.0.0.1:0"),
                "{address}"
            );
        }
        // IPv6, and every IPv4 host written out on `tcp` as `tcp4`'s `:0`.
        let held_more = BTreeMap::from([
            got(Network::Tcp, "[::1]:0", 41240),
            got(Network::Tcp4, ":0", 41241),
            held_as(Network::Udp6, ":0", "[::]:41242"),
            held_as(Network::Tcp6, ":0", "[::]:41243"),
        ]);
        for ((network, address), held_as) in [
            ((Network::Tcp6, "[::1]:0"), (Network::Tcp, "[::1]:0")),
            ((Network::Tcp, "0.0.0.0:0"), (Network::Tcp4, ":0")),
            ((Network::Tcp, "0.0.0.0:41241"), (Network::Tcp4, ":0")),
            ((Network::Tcp, "[::1]:41240"), (Network::Tcp, "[::1]:0")),
            ((Network::Tcp6, "[::1]:41240"), (Network::Tcp, "[::1]:0")),
            // Written otherwise on its own network: the same socket.
            ((Network::Tcp4, "0.0.0.0:0"), (Network::Tcp4, ":0")),
            ((Network::Udp6, "[::]:0"), (Network::Udp6, ":0")),
            ((Network::Tcp6, "[::]:0"), (Network::Tcp6, ":0")),
        ] {
            let mut wanted = [assigned("admin", network, Some(address))];
            as_held(&held_more, &mut wanted);
            assert_eq!(
                wanted[0].key,
                admin(held_as.0, held_as.1),
                "{network} {address}"
            );
        }
        // Not another listener's, another host's, nor a dual-stack one's
        // as IPv4 only, or as IPv6 only (`tcp`'s `[::]:0` for its `:0`).
        for (name, network, address) in [
            ("other", Network::Tcp4, "127.0.0.1:0"),
            ("admin", Network::Tcp4, "127.0.0.2:0"),
            ("admin", Network::Tcp4, ":0"),
            ("admin", Network::Tcp, "[::]:0"),
            ("admin", Network::Tcp, "127.0.0.2:0"),
            ("other", Network::Tcp, "127.0.0.1:0"),
            // `tcp`'s `:0` at 41235 is dual-stack: not IPv4's alone.
            ("admin", Network::Tcp4, ":41235"),
            ("admin", Network::Tcp4, "0.0.0.0:41235"),
        ] {
            let left = left_as_asked(&held_0, name, network, address);
            assert!(left, "{name} {network} {address}");
        }
        // Bound otherwise: `tcp`'s `:8083` is dual-stack, `tcp6`'s IPv6
        // only; `tcp4:127.0.0.1:53` is not UDP's; `tcp6:127.0.0.1:8080`
        // binds nothing.
        for (network, address) in [
            (Network::Tcp6, ":8083"),
            (Network::Tcp4, "127.0.0.1:53"),
            (Network::Tcp6, "127.0.0.1:8080"),
        ] {
            assert!(
                left_as_asked(&held, "http", network, address),
                "{network} {address}"
            );
        }
    }

    #[test]
    fn a_socket_activated_listener_given_elsewhere_is_told_where_it_stays() {
        // Each held under its declared address, activated elsewhere.
        let sockets = [
            ("http", Network::Tcp, ":8080", "0.0.0.0:9090"),
            ("db", Network::Tcp, "localhost:5432", "127.0.0.1:5432"),
            ("api", Network::Unix, "api.sock", "/srv/app/api.sock"),
            ("rpc", Network::Unix, "rpc.sock", "/run/app/rpc.sock"),
        ];
        let held: BTreeMap<_, _> = (sockets.iter())
            .map(|(name, network, declared, at)| {
                let h = Held {
                    address: at.to_string(),
                    activated: true,
                    lost: false,
                    ipv6_only: false,
                };
                (ListenerKey::of(name, *network, declared), h)
            })
            .collect();
        let asked: Vec<_> = (sockets.iter())
            .map(|(name, network, declared, _)| assigned(name, *network, Some(declared)))
            .collect();
        let given: BTreeSet<_> = ["http", "db", "api", "rpc"].map(String::from).into();
        let notes =
            activated_given_elsewhere(&held, &asked, &asked, &given, Some(Path::new("/srv/app")));
        // Not `api.sock`, the very file from the supervisor's folder, nor
        // `localhost`, which may name the address the socket has.
        assert_eq!(
            notes,
            [
                "listener `http`: `:8080` given, but it stays on the service manager's socket, tcp 0.0.0.0:9090, which no reload moves (change the socket unit to move it)",
                "listener `rpc`: `/srv/app/rpc.sock` given, but it stays on the service manager's socket, unix /run/app/rpc.sock, which no reload moves (change the socket unit to move it)",
            ]
        );
        // Not given by the reload: nothing said.
        let none = BTreeSet::new();
        assert!(activated_given_elsewhere(&held, &asked, &asked, &none, None).is_empty());
    }

    #[test]
    fn a_unix_socket_file_is_known_by_its_relative_and_its_absolute_path() {
        let key = |path: &str| ListenerKey::of("api", Network::Unix, path);
        let mut held = BTreeMap::new();
        // The last the service manager's, held under the path it was
        // asked for, its file elsewhere.
        let sockets = [
            ("api.sock", "api.sock", false),
            ("/srv/app/run/b.sock", "/srv/app/run/b.sock", false),
            ("m.sock", "/run/app/m.sock", true),
        ];
        for (path, address, activated) in sockets {
            let socket = Held {
                address: address.to_owned(),
                activated,
                lost: false,
                ipv6_only: false,
            };
            held.insert(key(path), socket);
        }
        let home = Path::new("/srv/app");
        let keys = |paths: &[&str], caller_home: bool| -> Vec<Option<ListenerKey>> {
            let mut wanted: Vec<Assigned> = paths
                .iter()
                .map(|p| assigned("api", Network::Unix, Some(p)))
                .collect();
            let given = BTreeSet::from(["api".to_owned()]);
            unix_as_held(&held, &mut wanted, home, caller_home, &given);
            wanted.into_iter().map(|w| w.key).collect()
        };
        // Absolute for a relative one: from anywhere.
        let both = [Some(key("api.sock")), Some(key("/srv/app/run/b.sock"))];
        assert_eq!(keys(&["/srv/app/./api.sock", "run/b.sock"], true), both);
        assert_eq!(
            keys(&["/srv/app/api.sock", "run/b.sock"], false),
            [Some(key("api.sock")), Some(key("run/b.sock"))]
        );
        // Not the service manager's socket: its file is elsewhere.
        assert_eq!(
            keys(&["/srv/app/m.sock"], true),
            [Some(key("/srv/app/m.sock"))]
        );
        // Another file is another socket.
        assert_eq!(
            keys(&["/srv/other/api.sock"], true),
            [Some(key("/srv/other/api.sock"))]
        );
        // A declared default, relative, is the service's folder's from
        // anywhere: the socket held under the absolute path.
        let mut wanted = [assigned("api", Network::Unix, Some("run/b.sock"))];
        unix_as_held(&held, &mut wanted, home, false, &BTreeSet::new());
        assert_eq!(wanted[0].key, Some(key("/srv/app/run/b.sock")));
    }

    #[test]
    fn a_socket_activated_listener_overlaps_only_where_it_really_is() {
        // Declared :8080, handed the unit's 0.0.0.0:9090.
        let mut held = passed(":8080", "0.0.0.0:9090");
        let current = [assigned("http", Network::Tcp, Some(":8080"))];
        let wanted = |admin: &str| {
            [
                assigned("http", Network::Tcp, Some(":8080")),
                assigned("admin", Network::Tcp, Some(admin)),
            ]
        };
        let free = plan(&held, &current, &wanted("127.0.0.1:8080")).unwrap();
        assert_eq!(free.len(), 1, "{free:?}");
        assert_eq!(free[0].name, "admin");
        let taken = plan(&held, &current, &wanted("127.0.0.1:9090")).unwrap_err();
        assert!(taken.contains("9090"), "{taken}");
        // systemd's own wildcard, `[::]:9090`, takes IPv4 too.
        held.values_mut().next().unwrap().address = "[::]:9090".to_owned();
        let taken = plan(&held, &current, &wanted("127.0.0.1:9090")).unwrap_err();
        assert!(taken.contains("9090"), "{taken}");
        // Another listener given the declared spelling is refused in it.
        let same = plan(&held, &current, &wanted(":8080")).unwrap_err();
        assert!(same.contains(":8080") && !same.contains("9090"), "{same}");
    }

    #[test]
    fn on_one_family_a_wildcard_and_its_port_alone_are_one_socket() {
        let one = |network: Network, key: &str, shown: &str, asked: &str| {
            let mut held = BTreeMap::new();
            let held_key = ListenerKey::of("http", network, key);
            let socket = Held {
                address: shown.to_owned(),
                activated: false,
                lost: false,
                ipv6_only: false,
            };
            held.insert(held_key.clone(), socket);
            let mut wanted = [assigned("http", network, Some(asked))];
            as_held(&held, &mut wanted);
            wanted[0].key == Some(held_key)
        };
        assert!(one(Network::Tcp4, ":8080", "0.0.0.0:8080", "0.0.0.0:8080"));
        assert!(one(Network::Tcp4, "0.0.0.0:80", "0.0.0.0:80", ":80"));
        assert!(one(Network::Tcp6, ":8080", "[::]:8080", "[::]:8080"));
        assert!(one(Network::Udp6, "[::]:53", "[::]:53", ":53"));
        // On `tcp`, `:8080` is dual-stack and `[::]:8080` IPv6 only.
        assert!(!one(Network::Tcp, ":8080", "[::]:8080", "[::]:8080"));
        assert!(!one(Network::Tcp, "0.0.0.0:80", "0.0.0.0:80", ":80"));
    }

    #[test]
    fn a_socket_activated_ipv4_wildcard_leaves_ipv6_free() {
        let mut held = passed(":8080", "0.0.0.0:9090");
        let current = [assigned("http", Network::Tcp, Some(":8080"))];
        let wanted = [
            assigned("http", Network::Tcp, Some(":8080")),
            assigned("admin", Network::Tcp6, Some("[::1]:9090")),
        ];
        let free = plan(&held, &current, &wanted).unwrap();
        assert_eq!(free.len(), 1, "{free:?}");
        assert_eq!(free[0].name, "admin");
        // An IPv6 one does not.
        held.values_mut().next().unwrap().address = "[::]:9090".to_owned();
        let taken = plan(&held, &current, &wanted).unwrap_err();
        assert!(taken.contains("9090"), "{taken}");
    }

    #[test]
    fn a_socket_activated_listener_is_named_by_its_real_address_too() {
        // Started with the binary's default :8080, handed the unit's :9090.
        let mut held = held(&[(":8080", true), (":81", false)]);
        held.values_mut().next().unwrap().address = "0.0.0.0:9090".to_owned();
        let current = [assigned("http", Network::Tcp, Some(":8080"))];
        let mut wanted = [
            assigned("http", Network::Tcp, Some("0.0.0.0:09090")),
            assigned("admin", Network::Tcp, Some(":81")),
            assigned("other", Network::Tcp, Some(":9091")),
        ];
        as_held(&held, &mut wanted);
        assert_eq!(wanted[0].key, current[0].key);
        // A wildcard socket by its port alone, if it is the only one.
        let mut by_port = [assigned("http", Network::Tcp, Some(":9090"))];
        as_held(&held, &mut by_port);
        assert_eq!(by_port[0].key, current[0].key);
        let mut both = held.clone();
        let v6 = Held {
            address: "[::]:9090".to_owned(),
            activated: true,
            lost: false,
            ipv6_only: false,
        };
        both.insert(ListenerKey::of("v6", Network::Tcp, ":7"), v6);
        let mut by_port = [assigned("http", Network::Tcp, Some(":9090"))];
        as_held(&both, &mut by_port);
        assert_eq!(
            by_port[0].key,
            Some(ListenerKey::of("http", Network::Tcp, ":9090"))
        );
        assert_eq!(
            wanted[1].key,
            Some(ListenerKey::of("admin", Network::Tcp, ":81"))
        );
        assert_eq!(plan(&held, &current, &wanted).unwrap().len(), 1);
        // A move is told with the address the socket really has.
        let e = plan(&held, &current, &wanted[2..]).unwrap_err();
        assert!(
            e.contains("(the service manager owns tcp 0.0.0.0:9090)"),
            "{e}"
        );
    }
}
