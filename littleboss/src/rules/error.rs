//! What a broken rule is, and the message that says so.

use std::fmt;

/// Which kind of name a [`RuleError`] is about.
///
/// ```
/// assert_eq!(littleboss::NameKind::Listener.to_string(), "listener name");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NameKind {
    /// The service name (`name = "..."`, `Littleboss::new`).
    Service,
    /// The mode flag's name (`flag = "..."`, `Littleboss::flag`).
    Flag,
    /// A listener's name, which is also its command-line flag.
    Listener,
}

impl fmt::Display for NameKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NameKind::Service => "service name",
            NameKind::Flag => "flag name",
            NameKind::Listener => "listener name",
        })
    }
}

/// A mistake in a configuration: the same from `#[littleboss::main]` (as a
/// compile error) and from the builder (`Littleboss::check`, `run`).
/// `Display` gives the message.
///
/// ```
/// use std::time::Duration;
///
/// let error = littleboss::Littleboss::new("svc")
///     .ready_timeout(Duration::ZERO)
///     .check()
///     .unwrap_err();
/// assert_eq!(error.errors(), [littleboss::RuleError::ZeroReadyTimeout]);
/// assert_eq!(error.to_string(), "`ready_timeout` must be more than zero");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RuleError {
    /// A name is empty.
    EmptyName {
        /// Which name.
        kind: NameKind,
    },
    /// A service name too long for any control socket's path: a unix
    /// socket address holds 107 bytes, and the shortest path is
    /// `/NAME.sock`.
    ServiceNameTooLong {
        /// Its length, in bytes.
        len: usize,
    },
    /// A name has a character other than `[A-Za-z0-9_-]`.
    NameChar {
        /// Which name.
        kind: NameKind,
        /// The name as given.
        name: String,
        /// The first character not allowed.
        bad: char,
    },
    /// A flag or listener name starts with `-`.
    NameDash {
        /// Which name.
        kind: NameKind,
        /// The name as given.
        name: String,
    },
    /// A flag or listener name is `h` or `help`.
    NameHelp {
        /// Which name.
        kind: NameKind,
        /// The name as given.
        name: String,
    },
    /// A flag or listener name is `json`, which `status --json` takes.
    NameJson {
        /// Which name.
        kind: NameKind,
    },
    /// Two listeners have the same name.
    DuplicateListener {
        /// The name.
        name: String,
    },
    /// A listener's declaration `NET:ADDR` is wrong.
    ListenerSpec {
        /// The listener's name.
        listener: String,
        /// What is wrong.
        problem: SpecProblem,
    },
    /// A listener has the name of the mode flag.
    ListenerNamedLikeFlag {
        /// The shared name.
        name: String,
        /// Whether the flag's name was chosen (`flag`) rather than the
        /// default `littleboss`.
        flag_chosen: bool,
    },
    /// Two listeners whose declarations ask for one socket.
    SameSocket {
        /// The one declared first.
        first: String,
        /// The other.
        second: String,
        /// The socket, as `tcp :80`.
        socket: String,
    },
    /// Two listeners ask for one port on addresses that overlap (every
    /// address and one of them, or an IPv4 and an IPv6 listener where one
    /// takes both): the kernel binds it once. Each socket is `NETWORK
    /// ADDRESS`, as the rules write it; the message says how they overlap.
    OverlappingSockets {
        /// The one declared first.
        first: String,
        /// Its socket, as `tcp :80`.
        first_socket: String,
        /// The other.
        second: String,
        /// Its socket, as `tcp4 127.0.0.1:80`.
        second_socket: String,
    },
    /// A duration in the attribute does not parse.
    BadDuration {
        /// The text as written.
        text: String,
    },
    /// A duration is not whole milliseconds.
    DurationNotWholeMillis {
        /// The setting (`lameduck`, `grace`, `ready_timeout`,
        /// `restart_limit`).
        key: String,
        /// The text as written in the attribute; a `Duration` given to
        /// the builder as `Debug` prints it (`500µs`).
        text: String,
    },
    /// A duration does not fit in `u64` milliseconds.
    DurationTooLong {
        /// The setting.
        key: String,
        /// The text, as for [`RuleError::DurationNotWholeMillis`].
        text: String,
    },
    /// A `restart_limit` in the attribute is not `N in DURATION`.
    BadRestartLimit {
        /// The text as written.
        text: String,
    },
    /// The count of a `restart_limit` in the attribute is not a `u32`.
    BadRestartCount {
        /// The count as written.
        text: String,
    },
    /// The `restart_limit` window is zero.
    ZeroRestartWindow,
    /// The `restart_limit` allows no restart.
    NoRestarts,
    /// `ready_timeout` is zero: no child could ever become ready.
    ZeroReadyTimeout,
    /// `worker_threads` is zero.
    ZeroWorkerThreads,
    /// `worker_threads` is more than 32,768, a thread each.
    TooManyWorkerThreads {
        /// How many were asked for, in decimal digits (the attribute's
        /// may be too many for any integer).
        threads: String,
    },
    /// More listeners than one message can hand a child.
    TooManyListeners {
        /// How many are declared.
        count: usize,
    },
    /// `worker_threads` with the current-thread runtime, which has none.
    WorkerThreadsWithCurrentThread,
    /// A `grace` set longer than half the lameduck timeout: the rest of
    /// that timeout is for the requests in flight to finish.
    GraceOverHalfLameduck {
        /// The grace, in milliseconds.
        grace_ms: u64,
        /// The lameduck timeout, in milliseconds.
        lameduck_ms: u64,
        /// Whether the lameduck timeout was set (rather than the default).
        lameduck_set: bool,
    },
    /// `restart_limit` without `persist`, where it would do nothing.
    RestartLimitWithoutPersist {
        /// Whether `persist` was turned off explicitly (rather than left out).
        persist_off: bool,
    },
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const ALLOWED: &str = "letters, digits, `_` and `-`";
        match self {
            RuleError::EmptyName { kind } => write!(f, "the {kind} is empty; use {ALLOWED}"),
            RuleError::ServiceNameTooLong { len } => write!(
                f,
                "the service name is {len} bytes, more than the {} a control socket's path can hold (`/NAME.sock` within the {} bytes of a unix socket address); shorten it",
                super::name::MAX_SERVICE_NAME,
                super::MAX_UNIX_PATH
            ),
            RuleError::NameChar { kind, name, bad } => write!(
                f,
                "{kind} `{}` contains `{}`; use only {ALLOWED}",
                name.escape_debug(),
                bad.escape_debug()
            ),
            RuleError::NameDash { kind, name } => {
                let name = name.escape_debug().to_string();
                write!(f, "{kind} `{name}` starts with `-`; give it without dashes")?;
                match name.trim_start_matches('-') {
                    "" => Ok(()),
                    bare => write!(f, ", like `{bare}`"),
                }
            }
            RuleError::NameHelp { kind, name } => {
                write!(f, "{kind} `{name}` is taken by -h/--help")
            }
            RuleError::NameJson { kind } => {
                write!(f, "{kind} `json` is taken by `status --json`")
            }
            RuleError::DuplicateListener { name } => {
                write!(f, "listener `{name}` is declared twice")
            }
            RuleError::ListenerSpec { listener, problem } => {
                write!(f, "listener `{listener}`: {problem}")
            }
            RuleError::ListenerNamedLikeFlag {
                name,
                flag_chosen: false,
            } => write!(
                f,
                "listener `{name}` has the name of the mode flag (`-{name}=start`); \
                 rename the listener, or the flag with `flag = \"...\"`"
            ),
            RuleError::ListenerNamedLikeFlag {
                name,
                flag_chosen: true,
            } => write!(
                f,
                "listener `{name}` has the name of the mode flag (`flag = \"{name}\"`); rename one of them"
            ),
            RuleError::SameSocket {
                first,
                second,
                socket,
            } => write!(
                f,
                "listeners `{first}` and `{second}` both ask for {}; give each its own address",
                socket.escape_debug()
            ),
            RuleError::OverlappingSockets {
                first,
                first_socket,
                second,
                second_socket,
            } => {
                // How they overlap, by the check that found it (each
                // socket is `NETWORK ADDRESS`, as `socket_of` made it).
                fn parts(socket: &str) -> (&str, &str) {
                    socket.split_once(' ').unwrap_or((socket, ""))
                }
                let overlap =
                    super::socket::sockets_overlap(parts(first_socket), parts(second_socket));
                let one_address = overlap.is_some_and(|o| o.one_address);
                let kind = if first_socket.starts_with("udp") { "udp" } else { "tcp" };
                write!(
                    f,
                    "listeners `{first}` ({}) and `{second}` ({}) ",
                    first_socket.escape_debug(),
                    second_socket.escape_debug()
                )?;
                if one_address && parts(first_socket).0 == parts(second_socket).0 {
                    // `localhost:80` and `localhost.:80`.
                    return f.write_str(
                        "ask for one address spelled two ways, which the kernel binds once; give each its own address",
                    );
                }
                if one_address {
                    return f.write_str(
                        "ask for one address under two networks' names, which the kernel binds once; give each its own address",
                    );
                }
                write!(
                    f,
                    "ask for one port on addresses that overlap, which the kernel binds once (`{kind} :PORT` is every IPv4 and IPv6 address, `{kind}4 :PORT` every IPv4 one, `{kind}6 :PORT` every IPv6 one); give each its own port, or addresses that do not overlap"
                )
            }
            RuleError::BadDuration { text } => {
                write!(
                    f,
                    "bad duration `{}`: expected a number and a unit (ms, s, m or h), like \"2s\" or \"500ms\"",
                    text.escape_debug()
                )?;
                match super::duration::duration_near_miss(text) {
                    Some(meant) => write!(f, "; did you mean \"{meant}\"?"),
                    None => Ok(()),
                }
            }
            RuleError::DurationNotWholeMillis { key, text } => write!(
                f,
                "`{key}`: duration `{}` is not a whole number of milliseconds",
                text.escape_debug()
            ),
            RuleError::DurationTooLong { key, text } => {
                write!(f, "`{key}`: duration `{}` is too long", text.escape_debug())
            }
            RuleError::BadRestartLimit { text } => write!(
                f,
                "bad restart_limit `{}`: expected \"N in DURATION\", like \"5 in 60s\"",
                text.escape_debug()
            ),
            RuleError::BadRestartCount { text } => write!(
                f,
                "bad restart count `{}`: expected a whole number from 1 to {}",
                text.escape_debug(),
                u32::MAX
            ),
            RuleError::ZeroRestartWindow => {
                f.write_str("the `restart_limit` window must be more than zero")
            }
            RuleError::NoRestarts => f.write_str(
                "a `restart_limit` of 0 restarts would give up at the child's first exit; allow at least 1 (for no restarts, leave `persist` off)",
            ),
            RuleError::ZeroReadyTimeout => f.write_str("`ready_timeout` must be more than zero"),
            RuleError::ZeroWorkerThreads => f.write_str("`worker_threads` must be at least 1"),
            RuleError::TooManyWorkerThreads { threads } => write!(
                f,
                "`worker_threads = {threads}` is more than {}: a thread each, which the runtime could not start",
                super::settings::MOST_WORKER_THREADS
            ),
            RuleError::TooManyListeners { count } => write!(
                f,
                "{count} listeners are declared, more than the {max} a child can be handed at once",
                max = super::MAX_LISTENERS
            ),
            RuleError::WorkerThreadsWithCurrentThread => f.write_str(
                "`worker_threads` needs the multi-thread runtime, but `flavor = \"current_thread\"`; \
                 remove one of them",
            ),
            RuleError::GraceOverHalfLameduck {
                grace_ms,
                lameduck_ms,
                lameduck_set,
            } => {
                let default = if *lameduck_set { "" } else { ", the default" };
                write!(
                    f,
                    "`grace` ({}) is more than half of `lameduck` ({}{default}): \
                     the other half is for the requests in flight to finish; \
                     lower `grace` or raise `lameduck`",
                    millis_text(*grace_ms),
                    millis_text(*lameduck_ms)
                )
            }
            RuleError::RestartLimitWithoutPersist { persist_off: false } => f.write_str(
                "`restart_limit` only applies with `persist = true`; add `persist`",
            ),
            RuleError::RestartLimitWithoutPersist { persist_off: true } => f.write_str(
                "`restart_limit` only applies with `persist = true`, but `persist = false`; \
                 remove one of them",
            ),
        }
    }
}

impl std::error::Error for RuleError {}

/// A duration as the attribute writes it: `500ms`, `2s`, `1500ms`.
fn millis_text(ms: u64) -> String {
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// What is wrong with a listener's `NET:ADDR`, or with an address given on
/// the command line. `Display` gives the message.
///
/// ```
/// let error = littleboss::Littleboss::new("svc")
///     .listener("http", "tcp::70000")
///     .check()
///     .unwrap_err();
/// assert_eq!(
///     error.to_string(),
///     "listener `http`: port 70000 is out of range (0-65535)"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpecProblem {
    /// No `:` at all.
    NotNetAddr {
        /// The declaration.
        spec: String,
    },
    /// Nothing before the first `:`.
    NoNetwork {
        /// The declaration.
        spec: String,
    },
    /// A network other than tcp, tcp4, tcp6, udp, udp4, udp6 or unix.
    UnknownNetwork {
        /// The network as written.
        network: String,
        /// The declaration.
        spec: String,
    },
    /// A unix path with a NUL byte.
    UnixPathNul {
        /// The path.
        path: String,
    },
    /// A unix path with a control character (a `\r` from a script with
    /// CRLF line ends).
    UnixPathControl {
        /// The path.
        path: String,
    },
    /// A unix path that is `~` or starts `~/`: no shell expands it in
    /// `-sock=~/x` or a declaration, and it would name a file or folder
    /// `~` in the working one.
    UnixPathTilde {
        /// The path.
        path: String,
    },
    /// A unix path with no `/` that reads as a host and port or a port
    /// (`:9090`, `*:9090`, `localhost:8080`, `9090`: digits after its last
    /// `:`, or digits alone): a TCP address given to a unix
    /// listener, which would make a socket file so named in the working
    /// folder. `./:9090` names such a file, if one is meant.
    UnixPathLikeAddress {
        /// The path.
        path: String,
    },
    /// A unix path that names a folder (`/run/app/`, `/run/app/.`): a
    /// socket file cannot be made there.
    UnixPathFolder {
        /// The path.
        path: String,
    },
    /// A unix path longer than a unix socket address holds.
    UnixPathTooLong {
        /// The path.
        path: String,
        /// Its length in bytes.
        len: usize,
    },
    /// An address that begins with a network (`tcp::8443`, `unix:x.sock`),
    /// as a declaration does: the declaration fixes the network, and an
    /// address is given alone.
    NetworkInAddress {
        /// The network it begins with.
        given: String,
        /// The listener's own network.
        network: String,
        /// The address as written.
        addr: String,
    },
    /// An address written as a URL (`http://localhost:8080`,
    /// `file:///run/svc.sock`), pasted from a browser or a config file:
    /// a listener takes a host and port, or a path, alone.
    Url {
        /// The listener's network.
        network: String,
        /// The address as written.
        addr: String,
    },
    /// An IP address of the other family than the network's
    /// (`tcp4:[::1]:80`, `udp6:127.0.0.1:53`).
    WrongFamily {
        /// The network (`tcp4`, `tcp6`, `udp4` or `udp6`).
        network: String,
        /// The host as written.
        host: String,
    },
    /// An IPv4 address written as IPv6 (`[::ffff:127.0.0.1]`), which the
    /// IPv6-only sockets bound here cannot take.
    MappedIpv4 {
        /// The network.
        network: String,
        /// The host as written.
        host: String,
        /// The IPv4 address it maps.
        ipv4: String,
    },
    /// An IPv6 link-local address (`fe80::/10`) without a zone, which
    /// Linux binds only given the interface.
    LinkLocal {
        /// The host as written.
        host: String,
    },
    /// A UDP listener on an IPv6 multicast group of interface or link
    /// scope (`ff01::`, `ff02::`), which Linux binds only given the
    /// interface (TCP on any group is [`SpecProblem::TcpOnGroup`]).
    ScopedMulticast {
        /// The host as written.
        host: String,
    },
    /// TCP on an IPv4 multicast address or the limited broadcast address
    /// (255.255.255.255), or an IPv6 multicast one: Linux listens on the
    /// IPv4 ones and no connection ever comes, and refuses the IPv6 ones at
    /// bind (`udp` listens on them, but for the scoped ones:
    /// [`SpecProblem::ScopedMulticast`]).
    TcpOnGroup {
        /// The network.
        network: String,
        /// The host as written.
        host: String,
    },
    /// Only a port, with no `:` before it.
    NoHost {
        /// The address.
        addr: String,
    },
    /// No `:` in an address that is not a port either.
    NotHostPort {
        /// The address.
        addr: String,
    },
    /// `[` without `]`.
    UnclosedBracket {
        /// The address.
        addr: String,
    },
    /// A bracketed IPv6 host with no `:PORT` after it (`[::1]`).
    BracketedNoPort {
        /// The address.
        addr: String,
    },
    /// An IPv6 address with a zone (`fe80::1%eth0`), which littleboss
    /// does not bind.
    ZoneId {
        /// The host, zone included.
        host: String,
    },
    /// Something in brackets that is not an IPv6 address.
    NotIpv6 {
        /// What is in the brackets.
        host: String,
        /// The address.
        addr: String,
    },
    /// An IPv6 host and a port without the brackets that tell them apart.
    UnbracketedIpv6 {
        /// The host.
        host: String,
        /// The port.
        port: String,
    },
    /// An IPv6 address alone, with no port.
    Ipv6NoPort {
        /// The address.
        addr: String,
    },
    /// `::PORT` on an IPv4 network: `:PORT` with a `:` too many, most
    /// likely (no IPv6 host could be meant).
    ColonTooMany {
        /// The address.
        addr: String,
        /// The port it most likely means.
        port: String,
    },
    /// A host with a `:` that is not an IPv6 address.
    ColonInHost {
        /// The host.
        host: String,
    },
    /// A host that is neither a hostname nor an IP address.
    BadHost {
        /// The host.
        host: String,
    },
    /// A host of digits and dots only (no hostname is) that is not an
    /// IPv4 address: `10.0.0.256`, `127.1`.
    NotIpv4 {
        /// The host.
        host: String,
    },
    /// A unix address in the abstract namespace (`@name`), which
    /// littleboss does not bind.
    UnixAbstract {
        /// The address.
        path: String,
    },
    /// Nothing after the last `:`.
    NoPort {
        /// The address.
        addr: String,
    },
    /// A port that is not digits.
    PortNotNumber {
        /// The port.
        port: String,
    },
    /// A port above 65535.
    PortOutOfRange {
        /// The port.
        port: String,
    },
}

impl fmt::Display for SpecProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use super::NETWORKS;
        match self {
            SpecProblem::NotNetAddr { spec } => write!(
                f,
                "`{}` is not NET:ADDR (NET is {NETWORKS}), like \"tcp::8080\"",
                spec.escape_debug()
            ),
            SpecProblem::NoNetwork { spec } => write!(
                f,
                "`{}` has no network before `:`; expected {NETWORKS}, like \"tcp::8080\"",
                spec.escape_debug()
            ),
            SpecProblem::UnknownNetwork { network, spec } => write!(
                f,
                "unknown network `{}` in `{}`; expected {NETWORKS}",
                network.escape_debug(),
                spec.escape_debug()
            ),
            SpecProblem::UnixPathNul { path } => {
                write!(f, "unix path `{}` contains a NUL byte", path.escape_debug())
            }
            SpecProblem::UnixPathControl { path } => write!(
                f,
                "unix path `{}` contains a control character; give it without",
                path.escape_debug()
            ),
            SpecProblem::UnixPathLikeAddress { path } => {
                let path = path.escape_debug();
                write!(
                    f,
                    "unix path `{path}` reads as a TCP address, but this listener is a unix one, which takes a socket file's path, like `/run/svc.sock` (for a file so named in the working folder, `./{path}`)"
                )
            }
            SpecProblem::UnixPathTilde { path } => {
                write!(
                    f,
                    "unix path `{}` starts with `~`, which nothing expands here (a shell neither, after `=`); give the full path",
                    path.escape_debug()
                )?;
                let rest = match path.strip_prefix('~') {
                    Some("") => "svc.sock",
                    Some(rest) => match rest.strip_prefix('/') {
                        Some(rest) => rest,
                        // `~user/x.sock`: another user's folder.
                        None => return Ok(()),
                    },
                    None => return Ok(()),
                };
                // Not a folder, which the path would be refused as in turn.
                if super::address::names_a_folder(rest) {
                    return Ok(());
                }
                write!(f, " (in a shell, `$HOME/{}`)", rest.escape_debug())
            }
            SpecProblem::UnixPathFolder { path } => write!(
                f,
                "unix path `{}` names a folder; give the socket file's own path, like `/run/svc.sock`",
                path.escape_debug()
            ),
            SpecProblem::UnixPathTooLong { path, len } => write!(
                f,
                "unix path `{}` is {len} bytes, more than the {} a unix socket address holds",
                path.escape_debug(),
                super::MAX_UNIX_PATH
            ),
            SpecProblem::WrongFamily { network, host } => {
                let (family, other) = match network.ends_with('4') {
                    true => ("IPv4", "IPv6"),
                    false => ("IPv6", "IPv4"),
                };
                let instead = format!("{}{}", network.trim_end_matches(['4', '6']), &other[3..]);
                write!(
                    f,
                    "`{}` is an {other} address, and {network} listens on {family} only; use {instead} or an {family} address",
                    host.escape_debug()
                )
            }
            SpecProblem::MappedIpv4 {
                network,
                host,
                ipv4,
            } => {
                write!(
                    f,
                    "`{}` is an IPv4 address written as IPv6; write it as `{ipv4}`",
                    host.escape_debug()
                )?;
                // An IPv6-only network takes no IPv4 address either.
                match network.strip_suffix('6') {
                    Some(base) => write!(f, " and use {base}4 or {base}"),
                    None => Ok(()),
                }
            }
            SpecProblem::NoHost { addr } => write!(
                f,
                "address `{addr}` has no host part; write `:{addr}` for every address"
            ),
            SpecProblem::NotHostPort { addr } => write!(
                f,
                "address `{}` is not HOST:PORT, like `:8080` or `127.0.0.1:8080`",
                addr.escape_debug()
            ),
            SpecProblem::UnclosedBracket { addr } => {
                write!(f, "address `{}` has an unclosed `[`", addr.escape_debug())
            }
            SpecProblem::NotIpv6 { host, addr } => write!(
                f,
                "`{}` in `{}` is not an IPv6 address",
                host.escape_debug(),
                addr.escape_debug()
            ),
            SpecProblem::UnbracketedIpv6 { host, port } => write!(
                f,
                "write the IPv6 host in brackets: `[{}]:{}`",
                host.escape_debug(),
                port.escape_debug()
            ),
            SpecProblem::Ipv6NoPort { addr } => {
                // `::80` may well be `:80` with a `:` too many (`::1` is
                // the loopback address).
                let every = super::address::every_address_port(addr);
                let addr = addr.escape_debug();
                write!(f, "address `{addr}` has no port; ")?;
                match every {
                    Some(port) => write!(
                        f,
                        "for port {port} on every address write `:{port}`; for the IPv6 host `{addr}`, `[{addr}]:PORT`"
                    ),
                    None => write!(f, "write an IPv6 host in brackets: `[{addr}]:PORT`"),
                }
            }
            SpecProblem::ColonTooMany { addr, port } => write!(
                f,
                "address `{}` has no port; for port {port} on every address write `:{port}`",
                addr.escape_debug()
            ),
            SpecProblem::BracketedNoPort { addr } => {
                let addr = addr.escape_debug();
                write!(f, "address `{addr}` has no port; write `{addr}:PORT`")
            }
            SpecProblem::ZoneId { host } => write!(
                f,
                "`{}` has a zone (`%...`), which littleboss does not bind; listen on every address instead (`:PORT`)",
                host.escape_debug()
            ),
            SpecProblem::LinkLocal { host } => write!(
                f,
                "`{}` is a link-local address, bound only with a zone (`%...`), which littleboss does not take; listen on every address instead (`:PORT`)",
                host.escape_debug()
            ),
            SpecProblem::ScopedMulticast { host } => write!(
                f,
                "`{}` is a multicast group of link or interface scope, bound only with a zone (`%...`), which littleboss does not take; listen on every address (`:PORT`) and join the group in the program",
                host.escape_debug()
            ),
            SpecProblem::TcpOnGroup { network, host } => write!(
                f,
                "`{}` is a multicast or broadcast address, where {network} takes no connection; listen on one of this host's own addresses, or on every one (`:PORT`)",
                host.escape_debug()
            ),
            SpecProblem::ColonInHost { host } => write!(
                f,
                "host `{}` contains `:`; write an IPv6 host in brackets, like `[::1]:8080`",
                host.escape_debug()
            ),
            SpecProblem::BadHost { host } => {
                write!(
                    f,
                    "host `{}` is not a hostname or an IP address",
                    host.escape_debug()
                )?;
                if matches!(host.as_str(), "*" | "+") {
                    // Other servers' words for every address.
                    f.write_str("; for every address, leave the host out (`:PORT`)")
                } else if !host.is_ascii() {
                    // A fullwidth form, a space or an invisible character
                    // pasted in: the ASCII text itself. Else a name in its
                    // own script (marks and joiners included), which DNS
                    // takes as `xn--...`.
                    let pasted = |c: char| {
                        ('\u{ff01}'..='\u{ff5e}').contains(&c)
                            || c.is_whitespace()
                            || c.is_control()
                            || matches!(c, '\u{200b}' | '\u{2060}' | '\u{feff}')
                    };
                    f.write_str(match host.chars().any(pasted) {
                        true => "; write the host in ASCII",
                        false => "; write an international name in its ASCII form (`xn--...`)",
                    })
                } else {
                    Ok(())
                }
            }
            SpecProblem::NotIpv4 { host } => {
                let hex = host.split('.').find(|n| super::address::is_hex_number(n));
                if let Some(hex) = hex {
                    return write!(
                        f,
                        "host `{}` is not an IPv4 address: write its numbers in decimal, four from 0 to 255 (some read `{}` as hexadecimal)",
                        host.escape_debug(),
                        hex.escape_debug()
                    );
                }
                let leading_zero = host.split('.').any(|n| n.len() > 1 && n.starts_with('0'));
                if leading_zero && host.parse::<std::net::Ipv4Addr>().is_err() {
                    // Refused, not read: C's resolver takes `010` as octal.
                    return write!(
                        f,
                        "host `{}` is not an IPv4 address: no number in one may start with 0 (some read `010` as octal 8)",
                        host.escape_debug()
                    );
                }
                write!(
                    f,
                    "host `{}` is not an IPv4 address (four numbers from 0 to 255, like `10.0.0.1`; for every address, no host: `:PORT`)",
                    host.escape_debug()
                )
            }
            SpecProblem::NetworkInAddress {
                given,
                network,
                addr,
            } => {
                write!(
                    f,
                    "address `{}` begins with a network (`{given}:`), ",
                    addr.escape_debug()
                )?;
                let unix = |n: &str| n == "unix";
                if unix(given) != unix(network) {
                    // Not even the address's kind: a path for a host and
                    // port, or the other way round.
                    let takes = if unix(network) {
                        "a path"
                    } else {
                        "a host and port, like `:8443`"
                    };
                    return write!(
                        f,
                        "but this listener is a {network} one, which takes {takes}"
                    );
                }
                if given == network {
                    f.write_str("which the listener's declaration sets")?;
                } else {
                    write!(
                        f,
                        "but this listener is a {network} one, as its declaration sets"
                    )?;
                }
                f.write_str("; give the address alone")?;
                let rest = addr.get(given.len() + 1..).unwrap_or_default();
                let like = match rest {
                    "" => return Ok(()),
                    // `tcp:80`: port 80, on every address.
                    port if !unix(network) && port.bytes().all(|b| b.is_ascii_digit()) => {
                        format!(":{port}")
                    }
                    rest => rest.to_owned(),
                };
                // Not a suggestion the listener would refuse in turn.
                match super::address::address(network, &like) {
                    Ok(()) => write!(f, ", like `{}`", like.escape_debug()),
                    Err(_) => Ok(()),
                }
            }
            SpecProblem::Url { network, addr } => {
                let takes = match network.as_str() {
                    "unix" => "a socket file's path",
                    _ => "a host and port",
                };
                write!(
                    f,
                    "address `{}` is a URL, but a {network} listener takes {takes}",
                    addr.escape_debug()
                )?;
                // Not a suggestion the listener would refuse in turn.
                match super::address::within_url(network, addr) {
                    Some(like) if super::address::address(network, &like).is_ok() => {
                        write!(f, ", like `{}`", like.escape_debug())
                    }
                    _ => Ok(()),
                }
            }
            SpecProblem::UnixAbstract { path } => write!(
                f,
                "unix address `{}` is in the abstract namespace, which littleboss does not bind; give a path, like `/run/svc.sock`",
                path.escape_debug()
            ),
            SpecProblem::NoPort { addr } => write!(
                f,
                "address `{}` has no port after `:` (port 0 picks a free one)",
                addr.escape_debug()
            ),
            SpecProblem::PortNotNumber { port } => {
                write!(f, "port `{}` is not a number", port.escape_debug())
            }
            SpecProblem::PortOutOfRange { port } => {
                write!(f, "port {port} is out of range (0-65535)")
            }
        }
    }
}

impl std::error::Error for SpecProblem {}
