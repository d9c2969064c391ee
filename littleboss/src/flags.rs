//! The command line: the mode flag, the listener flags, and everything
//! else, which belongs to the program and is passed on untouched.
//!
//! Flags are accepted the Go way and the Rust way: `-littleboss=start`,
//! `--littleboss=start`, `--littleboss start`. A `--` ends littleboss's
//! flags; it and all that follows reach the program as they are.

use std::ffi::OsString;
use std::fmt::Write as _;

use crate::config::Config;
use crate::rules::SpecProblem;
use crate::socket_key::Assigned;
use crate::spec::{ListenerSpec, Network};

/// What the invocation asks littleboss to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Bypass,
    Start,
    Reload,
    Stop,
    Status,
}

impl Mode {
    fn parse(s: &str) -> Option<Mode> {
        MODE_NAMES
            .iter()
            .find(|(name, _)| *name == s)
            .map(|(_, mode)| *mode)
    }

    /// The mode's name, as `-littleboss=NAME` gives it.
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Mode::Bypass => "bypass",
            Mode::Start => "start",
            Mode::Reload => "reload",
            Mode::Stop => "stop",
            Mode::Status => "status",
        }
    }
}

/// The command line, taken apart.
#[derive(Debug, Clone)]
pub(crate) struct Invocation {
    pub mode: Mode,
    /// The declared listeners with the command line's addresses applied.
    pub listeners: Vec<ListenerSpec>,
    /// `argv[1..]` without the mode flag, listener flags written
    /// `-NAME=VALUE` (`--https :1` is `-https=:1`) and given once: what
    /// every child is started with.
    pub child_args: Vec<OsString>,
    /// `argv` without littleboss's flags, program name first.
    pub program_args: Vec<OsString>,
    /// The listeners whose flags the command line gives.
    pub given: std::collections::BTreeSet<String>,
}

impl Invocation {
    /// What a `start` or `reload` refuses: a word of the program's own
    /// ([`asked_of_the_program`]) that a supervised child would answer
    /// and exit on rather than serve. Not one of littleboss's flags so
    /// named (`--version :9091` for a listener `version`).
    pub fn asks_the_program_itself(&self) -> Option<&str> {
        match self.mode {
            Mode::Start | Mode::Reload => asked_of_the_program(&self.program_args),
            Mode::Bypass | Mode::Stop | Mode::Status => None,
        }
    }
}

/// A mistake on the command line, naming the flag (exit code 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FlagError {
    /// The flag's name, without dashes.
    pub flag: String,
    pub problem: FlagProblem,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FlagProblem {
    UnknownMode(String),
    NeedsMode,
    /// A listener flag given no value: a unix listener's (`path`) needs a
    /// path, another's an address.
    NeedsAddress {
        path: bool,
    },
    NotUtf8,
    /// A unix listener's flag given as two words, followed by `--` or what
    /// looks like another flag rather than its path.
    FlagForValue(String),
    /// The value given, refused as an address for the listener.
    Address {
        problem: Box<SpecProblem>,
        value: String,
    },
    /// A listener flag given empty (off), followed by what is an address
    /// for it: `-https= :8443`, a stray space; or a port, `-https= 8443`
    /// (the next word, and the value meant).
    SpaceAfterEquals(String, String),
    /// The mode flag given empty, followed by a mode: `-littleboss= stop`,
    /// a stray space (the mode).
    ModeAfterSpace(String),
    /// An argument that looks like the mode flag misspelt, with a mode.
    Misspelt(String),
    /// An argument that looks like this listener's flag mistyped, with an
    /// address.
    MisspeltListener(String),
    /// The mode flag given twice, with different modes (first, second).
    TwoModes(String, String),
    /// A listener flag given twice, with different addresses (first,
    /// second; empty: off).
    TwoAddresses(String, String),
    /// A listener flag kept from the serving child's arguments by a
    /// reload whose binary declares that listener on a unix socket where
    /// it was an IP one, or the other way round: its value, the network
    /// it was given for, and the new one.
    KeptForOtherNetwork {
        value: String,
        was: Network,
        now: Network,
    },
    /// Any other problem of a listener flag kept from the serving child's
    /// arguments by a reload given none (`tcp` to `tcp4` with a kept
    /// `-http=[::1]:8080`): said with where the flag came from.
    Kept(Box<FlagProblem>),
}

impl FlagError {
    /// This error, of an argument kept from the serving child's arguments
    /// by a reload given none: said so, with the way out.
    pub(crate) fn kept(self) -> FlagError {
        match self.problem {
            FlagProblem::KeptForOtherNetwork { .. } | FlagProblem::Kept(_) => self,
            problem => FlagError {
                problem: FlagProblem::Kept(Box::new(problem)),
                ..self
            },
        }
    }
}

impl std::fmt::Display for FlagError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let flag = &self.flag;
        // What the user typed is written out (`escape_debug`): a `\r` from a
        // script with CRLF line endings would otherwise overwrite the line.
        match &self.problem {
            FlagProblem::UnknownMode(mode) => {
                write!(f, "-{flag}: unknown mode `{}` (", mode.escape_debug())?;
                if let Some(meant) = meant_mode(mode) {
                    write!(f, "did you mean `{meant}`? ")?;
                }
                write!(f, "expected {MODES})")
            }
            FlagProblem::NeedsMode => write!(f, "-{flag} needs a mode ({MODES})"),
            FlagProblem::NeedsAddress { path } => {
                let what = if *path { "a path" } else { "an address" };
                write!(f, "-{flag} needs {what} (or `-{flag}=` to turn it off)")
            }
            FlagProblem::NotUtf8 => write!(f, "-{flag}: the value is not valid UTF-8"),
            FlagProblem::FlagForValue(next) => write!(
                f,
                "-{flag} needs a path, and `{next}` after it looks like a flag; write `-{flag}={next}` if it is the path",
                next = next.escape_debug()
            ),
            FlagProblem::Address { problem, value } => {
                write!(f, "-{flag}: ")?;
                given_address_problem(f, problem, value)
            }
            FlagProblem::SpaceAfterEquals(next, meant) => write!(
                f,
                "`-{flag}= {next}` would turn -{flag} off and pass `{next}` on to the program; write `-{flag}={meant}` (no space), or, if `{next}` is the program's own argument, give -{flag}= after it",
                next = next.escape_debug(),
                meant = meant.escape_debug()
            ),
            FlagProblem::ModeAfterSpace(mode) => write!(
                f,
                "-{flag} needs a mode, and `-{flag}= {mode}` has a stray space after `=`: write `-{flag}={mode}`"
            ),
            FlagProblem::TwoModes(first, second) => write!(
                f,
                "-{flag} given twice, as `{first}` and as `{second}`: give one mode",
                first = first.escape_debug(),
                second = second.escape_debug()
            ),
            FlagProblem::TwoAddresses(first, second) => write!(
                f,
                "-{flag} given twice, as `-{flag}={first}` and as `-{flag}={second}`: give one address",
                first = first.escape_debug(),
                second = second.escape_debug()
            ),
            FlagProblem::KeptForOtherNetwork { value, was, now } => write!(
                f,
                "`-{flag}={value}`, kept from the serving child's arguments, was given for {was}, and the new binary declares `{flag}` on {now}; give the reload its arguments (with `-{flag}=ADDR` for {now}, or `--` to start it with none at all)",
                value = value.escape_debug()
            ),
            FlagProblem::Kept(problem) => {
                let inner = FlagError {
                    flag: flag.clone(),
                    problem: (**problem).clone(),
                };
                write!(
                    f,
                    "{inner}; `-{flag}` was kept from the serving child's arguments: give the reload its arguments (with `-{flag}=ADDR`, or `--` to start it with none at all)"
                )
            }
            // `-HTTPS=\r` too, a CRLF script's last word.
            FlagProblem::MisspeltListener(arg) if arg.trim_end().ends_with('=') => write!(
                f,
                "`{arg}` looks like a mistyped -{flag}=, which littleboss would not act on but pass on to the program (write -{flag}= to turn the listener off; a flag of the program's own takes its value as the next argument)",
                arg = arg.escape_debug()
            ),
            FlagProblem::MisspeltListener(arg) => write!(
                f,
                "`{arg}` looks like a mistyped -{flag}=ADDR, which littleboss would not act on but pass on to the program (write -{flag}=ADDR; a flag of the program's own takes its value as the next argument)",
                arg = arg.escape_debug()
            ),
            FlagProblem::Misspelt(arg) => write!(
                f,
                "`{arg}` looks like a misspelt -{flag}=MODE, which littleboss would not act on but pass on to the program (write -{flag}=MODE; if it is the program's own, give -{flag}=MODE too, -{flag}=bypass to run the program directly)",
                arg = arg.escape_debug()
            ),
        }
    }
}

impl std::error::Error for FlagError {}

/// Splits `argv`, a person's command line (program name first).
pub(crate) fn parse(config: &Config, argv: Vec<OsString>) -> Result<Invocation, FlagError> {
    let (program, args) = program_and_args(config, argv);
    split(&config.listeners, Some(config), program, args)
}

/// A child's command line: the arguments the supervisor stored, with the
/// program's name first. They hold no mode flag (the supervisor took it
/// out), so none is looked for: an option of the program's own that a
/// newer binary's mode flag is named like (`--mode=fast` kept from
/// before a reload, the new flag `mode`) goes to the program, as the
/// supervisor read it.
pub(crate) fn parse_child(config: &Config, argv: Vec<OsString>) -> Result<Invocation, FlagError> {
    let (program, args) = program_and_args(config, argv);
    split(&config.listeners, None, program, args)
}

/// `argv`'s program name (the service's name if none) and the rest.
fn program_and_args(
    config: &Config,
    argv: Vec<OsString>,
) -> (OsString, std::vec::IntoIter<OsString>) {
    let mut args = argv.into_iter();
    let program = args.next().unwrap_or_else(|| OsString::from(&config.name));
    (program, args)
}

/// The listeners `declared` with the listener flags in `args` applied (a
/// child's arguments: no program name, no mode flag): what a reload with
/// these arguments asks the supervisor to hold; and the names of those
/// whose flags `args` gives.
pub(crate) fn resolve_listeners(
    declared: &[ListenerSpec],
    args: &[OsString],
) -> Result<(Vec<ListenerSpec>, std::collections::BTreeSet<String>), FlagError> {
    let program = OsString::new();
    let inv = split(declared, None, program, args.iter().cloned())?;
    Ok((inv.listeners, inv.given))
}

/// `args` (a child's, as stored) without the flags of the listeners
/// `gone`: a reload that keeps the serving child's arguments for a binary
/// that no longer declares those listeners must not hand the program
/// `-admin=...` (clap would take it for `-a`). Only before `--`; in the
/// `-NAME=VALUE` form our reload command stores, and in the two-word form
/// (`--admin :9000`) a request written by another client may have, read
/// as a flag and its value when it was checked. A bare `-admin` with no
/// value after it was no listener flag then, and stays.
pub(crate) fn without_listener_flags(
    args: &[OsString],
    gone: &std::collections::BTreeSet<&str>,
) -> Vec<OsString> {
    let mut kept = Vec::with_capacity(args.len());
    let mut args = args.iter().peekable();
    while let Some(arg) = args.next() {
        if arg == "--" {
            kept.push(arg.clone());
            kept.extend(args.cloned());
            break;
        }
        let flag = arg.to_str().and_then(split_flag);
        match flag.filter(|(name, _)| gone.contains(name)) {
            Some((_, Some(_))) => continue,
            Some((_, None)) => {
                // Its value, read as one: not `--`, nor another flag.
                let value = args.next_if(|next| next.to_str().is_some_and(|n| !n.starts_with('-')));
                if value.is_some() {
                    continue;
                }
            }
            None => {}
        }
        kept.push(arg.clone());
    }
    kept
}

/// [`without_listener_flags`] for a child's whole command line: its
/// program name, first, is kept whatever it reads (`exec -a -admin=x`).
pub(crate) fn argv_without_listener_flags(
    argv: &[OsString],
    gone: &std::collections::BTreeSet<&str>,
) -> Vec<OsString> {
    let Some((program, args)) = argv.split_first() else {
        return Vec::new();
    };
    let mut kept = vec![program.clone()];
    kept.extend(without_listener_flags(args, gone));
    kept
}

/// [`parse`] for `declared` listeners; without a `config`, the arguments
/// are stored ones, a child's: no mode flag, and a listener flag given
/// twice is no mistake, the last one winning (an older version stored
/// them so), as they were checked when they were a command line. `-h` is
/// [`asks_help`]'s, before.
fn split(
    declared: &[ListenerSpec],
    config: Option<&Config>,
    program: OsString,
    args: impl Iterator<Item = OsString> + Clone,
) -> Result<Invocation, FlagError> {
    let command_line = config.is_some();
    // Peeked, not cloned, for each argument's next one: a clone of a
    // `Vec`'s iterator copies what is left (quadratic in a long argument
    // list, `prog -littleboss=start /srv/files/*`).
    let mut args = args.peekable();
    let mode_flag = config.map(|c| c.flag.as_str());
    let mut inv = Invocation {
        mode: Mode::Bypass,
        listeners: declared.to_vec(),
        child_args: Vec::new(),
        program_args: vec![program],
        given: Default::default(),
    };
    let mut mode_given: Option<(String, Mode)> = None;
    // With the mode flag itself given, a flag that looks like it is the
    // program's own (`--services status` beside `-service=start`): there
    // is no other way to give a clap program that option (after `--` it
    // is a positional).
    let mode_flag_given = args.clone().take_while(|a| a != "--").any(|a| {
        a.to_str()
            .and_then(split_flag)
            .is_some_and(|(name, _)| Some(name) == mode_flag)
    });
    // Look-alikes of the mode flag, where it is not given (a command line
    // only: stored arguments are not checked, below).
    let look_alike_of = mode_flag.filter(|_| !mode_flag_given);
    while let Some(arg) = args.next() {
        if arg == "--" {
            inv.child_args.push(arg.clone());
            inv.program_args.push(arg);
            inv.child_args.extend(args.clone());
            inv.program_args.extend(args);
            break;
        }
        // One of our own flags, exactly: no typo of another (a listener
        // `HTTP` beside `http` is no typo of it).
        let ours =
            |name: &str| Some(name) == mode_flag || inv.listeners.iter().any(|l| l.name == name);
        let text = arg.to_str();
        let flag = text.and_then(split_flag);
        // Not UTF-8 (`-SOCK=<bytes>` beside a listener `sock`): by its name.
        let exact = (flag.map(|(name, _)| name))
            .or_else(|| name_of_non_utf8(&arg))
            .is_some_and(ours);
        // Not in stored arguments: checked as a command line against the
        // listeners of their day, they may hold an option of the
        // program's own that a newer binary's listener is named like
        // (`-Metrics=:9200` kept for one that declares `metrics`); a
        // reload's own arguments were checked so by the reload command.
        // One not UTF-8 (`-API=<a path's bytes>`) as best it reads: only a
        // unix path takes such a value.
        let lossy = arg.to_string_lossy();
        if let (false, true) = (exact, command_line) {
            let next = args.peek().and_then(|n| n.to_str());
            if let Some(typo) = typo(&lossy, next, look_alike_of, &inv.listeners) {
                return Err(typo);
            }
        }
        // `-https=<bytes not UTF-8>` is ours, not the program's: passing
        // it on would run unsupervised, or on the default address.
        if let Some(name) = name_of_non_utf8(&arg).filter(|name| ours(name)) {
            return Err(FlagError {
                flag: name.to_owned(),
                problem: FlagProblem::NotUtf8,
            });
        }
        let Some((name, inline)) = flag else {
            inv.child_args.push(arg.clone());
            inv.program_args.push(arg);
            continue;
        };
        let is_listener = inv.listeners.iter().any(|l| l.name == name);
        if Some(name) != mode_flag && !is_listener {
            inv.child_args.push(arg.clone());
            inv.program_args.push(arg);
            continue;
        }
        let error = |problem| FlagError {
            flag: name.to_owned(),
            problem,
        };
        // A unix listener's value is a path, which may start with `-`
        // (looked at only for a flag given no value).
        let path = || {
            (inv.listeners.iter())
                .any(|l| l.name == name && l.network.kind() == crate::spec::Kind::Unix)
        };
        let value = match inline {
            Some(v) => v.to_owned(),
            None => match args.next().map(OsString::into_string) {
                // `--`, or the next flag: not a value it meant (a unix path
                // would take anything). One that starts with `-` is
                // written `-NAME=-x`.
                Some(Ok(v)) if is_listener && v.starts_with('-') => {
                    // Only a path may start with `-`: the hint is for it.
                    return Err(error(match path() {
                        true => FlagProblem::FlagForValue(v),
                        false => FlagProblem::NeedsAddress { path: false },
                    }));
                }
                // No mode starts with `-`: `--littleboss -- x` forgot it.
                Some(Ok(v)) if v.starts_with('-') => return Err(error(FlagProblem::NeedsMode)),
                Some(Ok(v)) => v,
                Some(Err(_)) => return Err(error(FlagProblem::NotUtf8)),
                None if is_listener => {
                    return Err(error(FlagProblem::NeedsAddress { path: path() }));
                }
                None => return Err(error(FlagProblem::NeedsMode)),
            },
        };
        if Some(name) == mode_flag {
            if value.is_empty() {
                // `-littleboss= stop`: the space said as such.
                // A script's CRLF line end leaves `stop\r`.
                let next = (args.peek().and_then(|n| n.to_str()))
                    .map(|n| n.trim_end_matches(['\r', '\n']));
                if let Some(mode) = next.filter(|n| inline.is_some() && Mode::parse(n).is_some()) {
                    return Err(error(FlagProblem::ModeAfterSpace(mode.to_owned())));
                }
                return Err(error(FlagProblem::NeedsMode));
            }
            let mode = Mode::parse(&value)
                .ok_or_else(|| error(FlagProblem::UnknownMode(value.clone())))?;
            // A mode added to a command line that had one (from history, a
            // script) must not silently win: it may be `stop`.
            if let Some((first, _)) = mode_given.as_ref().filter(|(_, m)| *m != mode) {
                return Err(error(FlagProblem::TwoModes(first.clone(), value)));
            }
            mode_given = Some((value, mode));
            inv.mode = mode;
        } else {
            let slot = inv
                .listeners
                .iter_mut()
                .find(|l| l.name == name)
                .expect("checked above");
            // `-https= :8443`, a stray space: it would turn the listener
            // off and hand the address to the program. Not a unix path,
            // which a program's own argument may well look like; not in
            // stored arguments, checked when they were a command line.
            // A port alone (`-https= 8443`) is meant as `:8443`.
            let ip = slot.network.kind() != crate::spec::Kind::Unix;
            if inline == Some("")
                && command_line
                && ip
                && let Some(next) = args.peek().and_then(|n| n.to_str())
                && !next.is_empty()
                && !next.starts_with('-')
            {
                // A script's CRLF line end leaves `:8443\r`: what it
                // meant is without, what the program would get is with.
                let address = next.trim_end_matches(['\r', '\n']);
                let meant = match address.bytes().all(|b| b.is_ascii_digit()) {
                    true => format!(":{address}"),
                    false => address.to_owned(),
                };
                if slot.with_address(&meant).is_ok() {
                    let problem = FlagProblem::SpaceAfterEquals(next.to_owned(), meant);
                    return Err(error(problem));
                }
            }
            let given = slot.with_address(&value).map_err(|problem| {
                error(FlagProblem::Address {
                    problem: Box::new(problem),
                    value: value.clone(),
                })
            })?;
            // As with the mode: a flag appended to a command line that had
            // one must not silently win.
            // The same socket however spelled (`:8443` and `:08443`), or
            // both off: one key.
            let same = Assigned::of(&given) == Assigned::of(slot);
            if command_line && inv.given.contains(name) && !same {
                let first = slot.address.clone().unwrap_or_default();
                return Err(error(FlagProblem::TwoAddresses(first, value)));
            }
            // The same flag again, the same address: once is enough (the
            // child's arguments show in `status`).
            let again = inv.given.contains(name) && same;
            inv.given.insert(name.to_owned());
            if !again {
                *slot = given;
                inv.child_args.push(format!("-{name}={value}").into());
            }
        }
    }
    Ok(inv)
}

/// An argument `text` (`next` after it) that is not one of our flags but
/// looks like the mode flag or a listener's mistyped: refused, as passing
/// it on to the program would act on nothing.
fn typo(
    text: &str,
    next: Option<&str>,
    mode_flag: Option<&str>,
    listeners: &[ListenerSpec],
) -> Option<FlagError> {
    let modes = MODE_NAMES.map(|(name, _)| name);
    if let Some(flag) =
        mode_flag.filter(|flag| crate::near_miss::misspelt(text, next, flag, &modes))
    {
        return Some(FlagError {
            flag: flag.to_owned(),
            problem: FlagProblem::Misspelt(text.to_owned()),
        });
    }
    // What a unix listener's flag took as a path before it was refused (a
    // port, a URL, the declaration's `unix:PATH`) is still that flag
    // mistyped. Not for an IP listener: a
    // program's own `-Metrics=http://gateway:9091` is an address to reach.
    let fits = |l: &ListenerSpec, v: &str| match l.with_address(v) {
        Ok(_) => true,
        Err(
            SpecProblem::UnixPathLikeAddress { .. }
            | SpecProblem::Url { .. }
            | SpecProblem::NetworkInAddress { .. },
        ) => l.network == Network::Unix,
        Err(_) => false,
    };
    let listener = listeners
        .iter()
        .find(|l| crate::near_miss::misspelt_listener(text, &l.name, |v| fits(l, v)))?;
    Some(FlagError {
        flag: listener.name.clone(),
        problem: FlagProblem::MisspeltListener(text.to_owned()),
    })
}

/// `problem` with the address `value` given on the command line, whose
/// listener's network its declaration fixes: an address of the other
/// family is told to give one of its own (with the port given), not to
/// change the network, as a declaration is (`use tcp4`).
fn given_address_problem(
    f: &mut std::fmt::Formatter<'_>,
    problem: &SpecProblem,
    value: &str,
) -> std::fmt::Result {
    let (network, host, written_as_ipv6) = match problem {
        SpecProblem::WrongFamily { network, host } => (network, host, false),
        SpecProblem::MappedIpv4 { network, host, .. } if network.ends_with('6') => {
            (network, host, true)
        }
        _ => return write!(f, "{problem}"),
    };
    // Bracketed, or not (`::1:53`, whose port the brackets' hint has).
    let port = match crate::rules::host_port(value) {
        Ok((_, port)) => Some(port),
        Err(SpecProblem::UnbracketedIpv6 { port, .. }) => port.parse().ok(),
        Err(_) => None,
    }
    .unwrap_or(8080);
    let (family, other, like) = match network.ends_with('4') {
        true => ("IPv4", "IPv6", "127.0.0.1"),
        false => ("IPv6", "IPv4", "[::1]"),
    };
    let written = if written_as_ipv6 {
        " written as IPv6"
    } else {
        ""
    };
    write!(
        f,
        "`{}` is an {other} address{written}, and this listener is declared {network}, which listens on {family} only; give an {family} address, like `{like}:{port}`, or a host name (`:{port}` for every address)",
        host.escape_debug()
    )
}

const MODES: &str = "bypass, start, reload, stop or status";

/// The mode `written` most likely means (`reload` for `restart`): the one
/// it begins (`stat`; none for what begins two, `sta`), else the one it
/// is closest to, in another case,
/// with blanks around it (a script's CRLF line end), or misspelt as the
/// attribute's keys are judged
/// ([`is_typo`](crate::rules::is_typo)); `None` if none is, or two are as
/// close.
///
/// ```ignore
/// assert_eq!(meant_mode("strat"), Some("start"));
/// assert_eq!(meant_mode("begin"), None);
/// ```
fn meant_mode(written: &str) -> Option<&'static str> {
    let written = written.trim().to_lowercase();
    // Two deletions from `start`, which would fail on a running service:
    // the new child in place of the old one is a reload.
    if written == "restart" {
        return Some("reload");
    }
    // Cut short (`stat`, `relo`): the one mode it begins.
    let begun: Vec<&str> = (MODE_NAMES.iter())
        .map(|(name, _)| *name)
        .filter(|name| written.len() >= 2 && name.starts_with(written.as_str()))
        .collect();
    // Begun by two (`sta`: `start` or `status`, the one harmless, the
    // other not): none is suggested.
    match begun[..] {
        [only] => return Some(only),
        [_, _, ..] => return None,
        [] => {}
    }
    let edits = |name: &str| crate::rules::typo::edits(&written, name);
    let mut near: Vec<(usize, &'static str)> = (MODE_NAMES.iter())
        .filter(|(name, _)| crate::rules::is_typo(&written, name))
        .map(|(name, _)| (edits(name), *name))
        .collect();
    near.sort();
    match near[..] {
        [(_, only)] => Some(only),
        [(closest, meant), (next, _), ..] if closest < next => Some(meant),
        _ => None,
    }
}
/// Every mode by its name ([`Mode::name`]).
const MODE_NAMES: [(&str, Mode); 5] = [
    (Mode::Bypass.name(), Mode::Bypass),
    (Mode::Start.name(), Mode::Start),
    (Mode::Reload.name(), Mode::Reload),
    (Mode::Stop.name(), Mode::Stop),
    (Mode::Status.name(), Mode::Status),
];

/// Whether `-h`, `--h`, `-help` or `--help` comes before any `--` in `argv`
/// (the program's name first).
pub(crate) fn asks_help(argv: &[OsString]) -> bool {
    asks_before_dashes(argv, is_help)
}

/// Whether `argv` may ask for what a program's own parser answers without
/// serving: [`asks_help`], or its version (`--version`, or clap's `-V`,
/// which many a program takes for "verbose" instead: such a one takes its
/// listeners, and a bind held back fails it then, as it would have).
pub(crate) fn asks_help_or_version(argv: &[OsString]) -> bool {
    asks_before_dashes(argv, |a| is_help(a) || a == "--version" || a == "-V")
}

/// The word of `argv` (before any `--`) that asks a program's own parser
/// for its help or version, if any: what a supervised child would answer
/// and exit on rather than serve. Not `-h`, which a program answering its
/// own help may take for another flag (a host), nor `-V` ("verbose").
pub(crate) fn asked_of_the_program(argv: &[OsString]) -> Option<&str> {
    let asked = |a: &OsString| (is_help(a) && a != "-h") || a == "--version";
    first_before_dashes(argv, asked).and_then(|a| a.to_str())
}

fn is_help(arg: &OsString) -> bool {
    arg == "-h" || arg == "--h" || arg == "-help" || arg == "--help"
}

/// Whether a word of `argv` (the program's name first) before any `--`
/// is one `asked` takes.
fn asks_before_dashes(argv: &[OsString], asked: impl Fn(&OsString) -> bool) -> bool {
    first_before_dashes(argv, asked).is_some()
}

/// The first word of `argv` (the program's name first) before any `--`
/// that `asked` takes.
fn first_before_dashes(argv: &[OsString], asked: impl Fn(&OsString) -> bool) -> Option<&OsString> {
    (argv.iter().skip(1))
        .take_while(|a| *a != "--")
        .find(|a| asked(a))
}

/// Whether `argv` asks for `status --json` (the mode flag `flag` given
/// `status`, in any case, and `--json`, before any `--`), whatever else is
/// wrong with it: a script reading the JSON then gets an object for a
/// usage mistake too (`STATUS` itself is one, refused as the modes are
/// written).
pub(crate) fn asks_status_json(flag: &str, argv: &[OsString]) -> bool {
    // A word not UTF-8 kept in its place (as `None`): the word after the
    // flag is the one that counts.
    let ours: Vec<Option<&str>> = argv
        .iter()
        .skip(1)
        .take_while(|a| *a != "--")
        .map(|a| a.to_str())
        .collect();
    // `status` as a CRLF script's last word gives it too (`status\r`),
    // refused as a mode, as `STATUS` is.
    let is_status = |v: &str| {
        v.trim_end_matches(['\r', '\n'])
            .eq_ignore_ascii_case("status")
    };
    let status = ours
        .iter()
        .enumerate()
        .any(|(i, arg)| match arg.and_then(split_flag) {
            Some((name, Some(value))) => name == flag && is_status(value),
            Some((name, None)) => {
                name == flag && ours.get(i + 1).copied().flatten().is_some_and(is_status)
            }
            None => false,
        });
    status && ours.iter().any(|a| matches!(a, Some("--json" | "-json")))
}

/// The flag name of an argument `-NAME=VALUE` whose value is not UTF-8.
fn name_of_non_utf8(arg: &std::ffi::OsStr) -> Option<&str> {
    if arg.to_str().is_some() {
        return None;
    }
    let bytes = arg.as_encoded_bytes();
    let at = bytes.iter().position(|&b| b == b'=')?;
    let name = std::str::from_utf8(&bytes[..at]).ok()?;
    match split_flag(name)? {
        (name, None) => Some(name),
        _ => None,
    }
}

/// `-name=value`, `--name=value`, `-name`, `--name` → (name, value).
fn split_flag(arg: &str) -> Option<(&str, Option<&str>)> {
    let body = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-'))?;
    if body.is_empty() || body.starts_with('-') {
        return None;
    }
    Some(match body.split_once('=') {
        Some((name, value)) => (name, Some(value)),
        None => (body, None),
    })
}

/// The help text for littleboss's flags (the mode flag first, then each
/// listener with its default), as the Go package prints it.
pub(crate) fn flags_help(config: &Config) -> String {
    let mut out = String::new();
    let flag = &config.flag;
    let name = &config.name;
    let _ = writeln!(out, "  -{flag}=MODE");
    let _ = writeln!(out, "        instruct the littleboss (default \"bypass\"):");
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "        start:   start and manage this process using service name {name:?}"
    );
    let _ = writeln!(
        out,
        "        stop:    signal the littleboss to shut down the process"
    );
    let _ = writeln!(
        out,
        "        status:  print statistics about the running littleboss (add --json for JSON)"
    );
    let _ = writeln!(
        out,
        "        reload:  replace the managed process with the executed binary"
    );
    let _ = writeln!(
        out,
        "        bypass:  disable littleboss, run the program directly"
    );
    for l in &config.listeners {
        let (meta, what) = match l.network {
            Network::Unix => ("PATH", "socket path"),
            _ => ("ADDR", "address"),
        };
        let _ = writeln!(out, "  -{}={meta}", l.name);
        let _ = match &l.address {
            Some(default) => writeln!(
                out,
                "        {} listener {what} (default {default:?}; `-{}=` turns it off)",
                l.network, l.name
            ),
            None => writeln!(
                out,
                "        {} listener {what} (off unless given)",
                l.network
            ),
        };
    }
    out
}

/// The full `-h` text for a program without a parser of its own.
pub(crate) fn usage(config: &Config, program: &str) -> String {
    format!("Usage of {program}:\n{}", flags_help(config))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Littleboss;

    fn config() -> Config {
        Littleboss::new("svc")
            .listener("https", "tcp::443")
            .listener("off", "tcp:")
            .listener("sock", "unix:/run/svc.sock")
            .config
    }

    /// A person's command line.
    fn parse_cmd(config: &Config, argv: Vec<OsString>) -> Result<Invocation, FlagError> {
        parse(config, argv)
    }

    mod props {
        use std::ffi::OsString;
        use std::os::unix::ffi::OsStringExt;

        use proptest::prelude::*;

        use super::{config, parse, parse_child};

        /// Words a command line is made of: our flags in their forms, with
        /// values good and bad, the program's own, `--`, and any bytes.
        fn word() -> impl Strategy<Value = OsString> {
            let ours = prop::sample::select(vec![
                "-littleboss",
                "--littleboss",
                "-littleboss=",
                "-littleboss=start",
                "-littleboss=stop",
                "-littleboss=status",
                "-littleboss=strat",
                "-https",
                "--https=",
                "-https=:8443",
                "-https=:08443",
                "-HTTPS=:1",
                "-https= ",
                "-off=",
                "-sock=/run/a.sock",
                "-sock",
                "-SOCK=x",
                "--json",
                "-h",
                "--",
                ":9443",
                "8443",
                "status",
                "-v",
                "-",
                "--x=",
                "=",
            ])
            .prop_map(OsString::from);
            let any_bytes = prop::collection::vec(any::<u8>(), 0..12).prop_map(OsString::from_vec);
            let prefixed = (
                "-{1,2}[a-zA-Z_=:]{0,10}",
                prop::collection::vec(any::<u8>(), 0..4),
            )
                .prop_map(|(text, bytes)| {
                    let mut all = text.into_bytes();
                    all.extend(bytes);
                    OsString::from_vec(all)
                });
            prop_oneof![4 => ours, 1 => any_bytes, 1 => prefixed]
        }

        proptest! {
            #![proptest_config(crate::repeatable::config(3_000, 0x000f_1a65))]

            #[test]
            fn any_command_line_is_read_or_refused_in_one_line(
                words in prop::collection::vec(word(), 0..8),
            ) {
                let mut argv = vec![OsString::from("p")];
                argv.extend(words);
                // What follows `--` is the program's, as it was.
                let rest = argv.iter().position(|w| w == "--").map(|at| argv[at..].to_vec());
                for parsed in [parse(&config(), argv.clone()), parse_child(&config(), argv.clone())] {
                    match parsed {
                        Err(e) => {
                            let said = e.to_string();
                            prop_assert!(!said.is_empty());
                            prop_assert!(!said.contains('\n'), "{said:?}");
                        }
                        Ok(inv) => {
                            if let Some(rest) = &rest {
                                prop_assert!(inv.program_args.ends_with(rest), "{argv:?}");
                                prop_assert!(inv.child_args.ends_with(rest), "{argv:?}");
                            }
                        }
                    }
                }
            }
        }
    }

    fn argv(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    fn strs(v: &[OsString]) -> Vec<&str> {
        v.iter().map(|s| s.to_str().unwrap()).collect()
    }

    /// An argument list that counts the arguments it makes: each one it
    /// yields, and each one a clone copies (as a `Vec`'s iterator does).
    struct Counted {
        left: std::ops::Range<usize>,
        made: std::rc::Rc<std::cell::Cell<usize>>,
    }

    impl Clone for Counted {
        fn clone(&self) -> Self {
            self.made.set(self.made.get() + self.left.len());
            Counted {
                left: self.left.clone(),
                made: std::rc::Rc::clone(&self.made),
            }
        }
    }

    impl Iterator for Counted {
        type Item = OsString;
        fn next(&mut self) -> Option<OsString> {
            let i = self.left.next()?;
            self.made.set(self.made.get() + 1);
            Some(OsString::from(format!("file{i}")))
        }
    }

    #[test]
    fn a_long_argument_list_is_read_in_one_pass() {
        // `prog -littleboss=start /srv/files/*`: each argument is read a
        // bounded number of times, not once per argument before it.
        let n = 2_000;
        let made = std::rc::Rc::default();
        let args = Counted {
            left: 0..n,
            made: std::rc::Rc::clone(&made),
        };
        let config = config();
        let inv = split(&config.listeners, Some(&config), "p".into(), args).unwrap();
        assert_eq!(inv.program_args.len(), n + 1);
        // Three passes (a look for the mode flag, its clone, the walk);
        // one per argument before it would be n * n / 2.
        assert!(made.get() <= 4 * n, "{} arguments made", made.get());
    }

    #[test]
    fn a_childs_arguments_are_read_without_the_mode_flag() {
        // Kept from before a reload to a binary whose mode flag is `mode`:
        // the program's own option, as the supervisor read it.
        let config = Littleboss::new("svc")
            .flag("mode")
            .listener("https", "tcp::443")
            .config;
        let argv = ["svc", "--mode=fast", "-https=:8443"]
            .map(OsString::from)
            .to_vec();
        let inv = parse_child(&config, argv).unwrap();
        assert_eq!(inv.program_args, ["svc", "--mode=fast"].map(OsString::from));
        assert_eq!(inv.listeners[0].address.as_deref(), Some(":8443"));
        assert_eq!(inv.mode, Mode::Bypass);
    }

    #[test]
    fn a_kept_option_named_like_a_new_listener_is_the_programs() {
        // Kept from before a reload to a binary that declares `metrics`:
        // no typo of its flag, as no one typed it for that binary.
        let config = Littleboss::new("svc")
            .listener("metrics", "tcp::9100")
            .config;
        let argv = ["svc", "-Metrics=:9200"].map(OsString::from).to_vec();
        let inv = parse_child(&config, argv.clone()).unwrap();
        assert_eq!(inv.program_args, argv);
        assert_eq!(inv.listeners[0].address.as_deref(), Some(":9100"));
        let (listeners, given) = resolve_listeners(&config.listeners, &argv[1..]).unwrap();
        assert_eq!(listeners[0].address.as_deref(), Some(":9100"));
        assert!(given.is_empty());
        // Typed on a command line for this binary, it is a typo of the
        // listener's flag.
        assert_eq!(
            parse(&config, argv).unwrap_err(),
            FlagError {
                flag: "metrics".to_owned(),
                problem: FlagProblem::MisspeltListener("-Metrics=:9200".to_owned()),
            }
        );
    }

    #[test]
    fn mode_flag_in_every_spelling() {
        for args in [
            &["p", "-littleboss=start"][..],
            &["p", "--littleboss=start"],
            &["p", "--littleboss", "start"],
            &["p", "-littleboss", "start"],
        ] {
            let inv = parse_cmd(&config(), argv(args)).unwrap();
            assert_eq!(inv.mode, Mode::Start, "{args:?}");
            assert!(inv.child_args.is_empty(), "{args:?}");
        }
        assert_eq!(
            parse_cmd(&config(), argv(&["p"])).unwrap().mode,
            Mode::Bypass
        );
    }

    #[test]
    fn program_arguments_pass_through_in_order() {
        let inv = parse_cmd(
            &config(),
            argv(&[
                "p",
                "-v",
                "--https=:8443",
                "file",
                "-littleboss=start",
                "--x=1",
                "--",
                "-https=no",
            ]),
        )
        .unwrap();
        assert_eq!(
            strs(&inv.program_args),
            ["p", "-v", "file", "--x=1", "--", "-https=no"]
        );
        assert_eq!(
            strs(&inv.child_args),
            ["-v", "-https=:8443", "file", "--x=1", "--", "-https=no"]
        );
        assert_eq!(inv.listeners[0].address.as_deref(), Some(":8443"));
    }

    #[test]
    fn a_second_mode_is_an_error_not_the_winner() {
        for args in [
            ["p", "-littleboss=status", "-littleboss=stop"],
            ["p", "-littleboss=reload", "--littleboss=stop"],
        ] {
            let e = parse_cmd(&config(), argv(&args)).unwrap_err();
            assert!(matches!(e.problem, FlagProblem::TwoModes(..)), "{args:?}");
        }
        let e = parse_cmd(
            &config(),
            argv(&["p", "-littleboss=status", "-littleboss", "stop"]),
        );
        assert_eq!(
            e.unwrap_err().to_string(),
            "-littleboss given twice, as `status` and as `stop`: give one mode"
        );
        // The same mode twice means what it says.
        let inv = parse_cmd(
            &config(),
            argv(&["p", "-littleboss=stop", "-littleboss=stop"]),
        )
        .unwrap();
        assert_eq!(inv.mode, Mode::Stop);
        // After `--`, it is the program's.
        let inv = parse_cmd(
            &config(),
            argv(&["p", "-littleboss=status", "--", "-littleboss=stop"]),
        );
        assert_eq!(inv.unwrap().mode, Mode::Status);
    }

    #[test]
    fn an_empty_mode_asks_for_one() {
        for args in [["p", "-littleboss="], ["p", "--littleboss="]] {
            let e = parse_cmd(&config(), argv(&args)).unwrap_err();
            assert_eq!(
                e.to_string(),
                "-littleboss needs a mode (bypass, start, reload, stop or status)"
            );
        }
    }

    #[test]
    fn a_listener_given_twice_with_another_address_is_an_error() {
        let e = parse_cmd(
            &config(),
            argv(&[
                "p",
                "-littleboss=reload",
                "-https=:8443",
                "--https",
                ":9443",
            ]),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "-https given twice, as `-https=:8443` and as `-https=:9443`: give one address"
        );
        let e = parse_cmd(&config(), argv(&["p", "-https=:8443", "-https="])).unwrap_err();
        assert_eq!(
            e.problem,
            FlagProblem::TwoAddresses(":8443".into(), String::new())
        );
        // The same address twice means what it says; after `--` it is the
        // program's.
        let inv = parse_cmd(
            &config(),
            argv(&["p", "-https=:8443", "-https=:8443", "--", "-https=:1"]),
        )
        .unwrap();
        assert_eq!(inv.listeners[0].address.as_deref(), Some(":8443"));
        // A declared address and a flag are not two flags.
        let inv = parse_cmd(&config(), argv(&["p", "-https=:1"])).unwrap();
        assert_eq!(inv.listeners[0].address.as_deref(), Some(":1"));
        // The same flag twice, the same address: kept once for the child.
        let inv = parse_cmd(&config(), argv(&["p", "-https=:1", "--https", ":1"])).unwrap();
        assert_eq!(strs(&inv.child_args), ["-https=:1"]);
        // However spelled: one socket, not two addresses.
        let inv = parse_cmd(&config(), argv(&["p", "-https=:8443", "-https=:08443"])).unwrap();
        assert_eq!(strs(&inv.child_args), ["-https=:8443"]);
        assert_eq!(inv.listeners[0].address.as_deref(), Some(":8443"));
        // Arguments stored and given back (a child's, which an older
        // version stored with the last one winning): the last one wins.
        let stored = argv(&["p", "-https=:8443", "-https=:9443"]);
        let inv = parse_child(&config(), stored).unwrap();
        assert_eq!(inv.listeners[0].address.as_deref(), Some(":9443"));
        let declared = config().listeners;
        let (resolved, _) =
            resolve_listeners(&declared, &argv(&["-https=:1", "-https=:2"])).unwrap();
        assert_eq!(resolved[0].address.as_deref(), Some(":2"));
    }

    #[test]
    fn a_gone_listeners_flags_leave_the_stored_arguments_before_dashes_only() {
        let stored = argv(&[
            "-admin=127.0.0.1:9000",
            "--greeting",
            "hi",
            "-https=:8443",
            "-admin",
            "--",
            "-admin=:1",
        ]);
        let gone = ["admin"].into_iter().collect();
        assert_eq!(
            strs(&without_listener_flags(&stored, &gone)),
            [
                "--greeting",
                "hi",
                "-https=:8443",
                "-admin",
                "--",
                "-admin=:1"
            ]
        );
        assert_eq!(without_listener_flags(&stored, &Default::default()), stored);
    }

    #[test]
    fn a_childs_program_name_stays_whatever_it_reads() {
        let gone = ["admin"].into_iter().collect();
        let child = argv(&["-admin", ":9000", "-admin=:1", "-v"]);
        assert_eq!(
            strs(&argv_without_listener_flags(&child, &gone)),
            ["-admin", ":9000", "-v"]
        );
        assert!(argv_without_listener_flags(&[], &gone).is_empty());
    }

    #[test]
    fn a_gone_listeners_flag_in_two_words_leaves_with_its_value() {
        // As a request written by another client may store them, read as
        // a flag and its value when checked.
        let stored = argv(&["--admin", ":9000", "-v", "-admin", "-x", "--admin"]);
        let gone = ["admin"].into_iter().collect();
        assert_eq!(
            strs(&without_listener_flags(&stored, &gone)),
            ["-v", "-admin", "-x", "--admin"]
        );
    }

    #[test]
    fn listeners_overridden_and_disabled() {
        let inv = parse_cmd(&config(), argv(&["p", "-https=", "--off", "127.0.0.1:0"])).unwrap();
        assert_eq!(inv.listeners[0].address, None);
        assert_eq!(inv.listeners[1].address.as_deref(), Some("127.0.0.1:0"));
    }

    #[test]
    fn an_address_after_an_empty_listener_flag_is_a_stray_space() {
        let e = parse_cmd(&config(), argv(&["p", "-https=", ":8443"])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "`-https= :8443` would turn -https off and pass `:8443` on to the program; write `-https=:8443` (no space), or, if `:8443` is the program's own argument, give -https= after it"
        );
        // As it says: the program's argument first.
        let inv = parse_cmd(&config(), argv(&["p", ":8443", "-https="])).unwrap();
        assert_eq!(inv.listeners[0].address, None);
        assert_eq!(strs(&inv.program_args), ["p", ":8443"]);
        // From a script with CRLF line ends: the address it meant.
        let e = parse_cmd(&config(), argv(&["p", "-https=", ":8443\r"])).unwrap_err();
        let meant = FlagProblem::SpaceAfterEquals(":8443\r".into(), ":8443".into());
        assert_eq!(e.problem, meant);
        // An empty argument is no address.
        let inv = parse_cmd(&config(), argv(&["p", "-https=", ""])).unwrap();
        assert_eq!(inv.listeners[0].address, None);
        // A port alone, meant as every address's.
        let e = parse_cmd(&config(), argv(&["p", "-https=", "8443"])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "`-https= 8443` would turn -https off and pass `8443` on to the program; write `-https=:8443` (no space), or, if `8443` is the program's own argument, give -https= after it"
        );
        // Off, then the program's own argument, or after `--`.
        let inv = parse_cmd(&config(), argv(&["p", "-https=", "input.txt"])).unwrap();
        assert_eq!(inv.listeners[0].address, None);
        let inv = parse_cmd(&config(), argv(&["p", "-https=", "--", ":8443"])).unwrap();
        assert_eq!(inv.listeners[0].address, None);
        // Stored arguments were checked when they were a command line.
        let args = argv(&["p", "-https=", ":8443"]);
        assert!(parse_child(&config(), args).is_ok());
    }

    #[test]
    fn a_mode_misspelt_is_told_what_it_likely_means() {
        for (written, meant) in [
            ("strat", Some("start")),
            ("STOP", Some("stop")),
            ("start\r", Some("start")),
            ("stats", Some("status")),
            ("stat", Some("status")),
            ("relo", Some("reload")),
            ("sta", None),
            ("relaod", Some("reload")),
            ("stp", Some("stop")),
            ("byapss", Some("bypass")),
            ("begin", None),
            ("restart", Some("reload")),
            ("", None),
        ] {
            assert_eq!(meant_mode(written), meant, "{written:?}");
        }
    }

    #[test]
    fn bad_values_name_the_flag() {
        let e = parse_cmd(&config(), argv(&["p", "-littleboss=begin"])).unwrap_err();
        assert_eq!(e.problem, FlagProblem::UnknownMode("begin".to_owned()));
        assert_eq!(
            e.to_string(),
            "-littleboss: unknown mode `begin` (expected bypass, start, reload, stop or status)"
        );
        // A script's CRLF line end, written out rather than sent to the
        // terminal.
        let e = parse_cmd(&config(), argv(&["p", "-littleboss=start\r"])).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("-littleboss: unknown mode `start\\r` ("),
            "{e}"
        );
        let e = parse_cmd(&config(), argv(&["p", "-littleboss=strat"])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "-littleboss: unknown mode `strat` (did you mean `start`? expected bypass, start, reload, stop or status)"
        );
        let e = parse_cmd(&config(), argv(&["p", "-https=nonsense"])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "-https: address `nonsense` is not HOST:PORT, like `:8080` or `127.0.0.1:8080`"
        );
        let e = parse_cmd(&config(), argv(&["p", "--https"])).unwrap_err();
        assert_eq!(
            (e.flag.as_str(), &e.problem),
            ("https", &FlagProblem::NeedsAddress { path: false })
        );
        assert!(e.to_string().starts_with("-https needs an address"), "{e}");
        // A unix listener's value is a path.
        let e = parse_cmd(&config(), argv(&["p", "--sock"])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "-sock needs a path (or `-sock=` to turn it off)"
        );
        // The next flag, or `--`, is not taken for a path.
        for next in ["--", "--verbose"] {
            let e = parse_cmd(&config(), argv(&["p", "--sock", next, "x"])).unwrap_err();
            assert_eq!(e.problem, FlagProblem::FlagForValue(next.into()), "{next}");
            assert_eq!(
                e.to_string(),
                format!(
                    "-sock needs a path, and `{next}` after it looks like a flag; write `-sock={next}` if it is the path"
                )
            );
        }
        // No host or port starts with `-`: a TCP listener just needs one.
        let e = parse_cmd(&config(), argv(&["p", "-https", "--verbose"])).unwrap_err();
        assert_eq!(e.problem, FlagProblem::NeedsAddress { path: false });
        let inv = parse_cmd(&config(), argv(&["p", "-sock=-odd.sock"])).unwrap();
        assert_eq!(inv.listeners[2].address.as_deref(), Some("-odd.sock"));
        let e = parse_cmd(&config(), argv(&["p", "--littleboss"])).unwrap_err();
        assert!(e.to_string().starts_with("-littleboss needs a mode"), "{e}");
        let e = parse_cmd(&config(), argv(&["p", "-littlebos=stop"])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "`-littlebos=stop` looks like a misspelt -littleboss=MODE, which littleboss would not act on but pass on to the program (write -littleboss=MODE; if it is the program's own, give -littleboss=MODE too, -littleboss=bypass to run the program directly)"
        );
        // A slip of the `=` runs no server unsupervised either.
        let e = parse_cmd(&config(), argv(&["p", "-littleboss:stop"])).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("`-littleboss:stop` looks like a misspelt -littleboss=MODE,"),
            "{e}"
        );
        // After `--` everything is the program's.
        let inv = parse_cmd(&config(), argv(&["p", "--", "-littlebos=stop"])).unwrap();
        assert_eq!(strs(&inv.child_args), ["--", "-littlebos=stop"]);
        // So is a look-alike beside the mode flag itself, wherever it is.
        for args in [
            ["p", "--littlebos", "stop", "-littleboss=start"],
            ["p", "-littleboss=start", "--littlebos", "stop"],
        ] {
            let inv = parse_cmd(&config(), argv(&args)).unwrap();
            assert_eq!(inv.mode, Mode::Start);
            assert_eq!(strs(&inv.child_args), ["--littlebos", "stop"]);
        }
        // As the child gets them, stored without the mode flag.
        let stored = parse_child(&config(), argv(&["p", "--littlebos", "stop"]));
        assert_eq!(strs(&stored.unwrap().child_args), ["--littlebos", "stop"]);
        let inv = parse_cmd(
            &config(),
            argv(&["p", "-littleboss=bypass", "-littlebos=stop"]),
        );
        assert_eq!(inv.unwrap().mode, Mode::Bypass);
        // Not after `--`, which ends what is ours.
        let e = parse_cmd(
            &config(),
            argv(&["p", "-littlebos=stop", "--", "-littleboss=start"]),
        );
        assert!(matches!(e.unwrap_err().problem, FlagProblem::Misspelt(_)));
        // A stray space after `=`, said so; an empty mode otherwise.
        let e = parse_cmd(&config(), argv(&["p", "-littleboss=", "stop"])).unwrap_err();
        assert_eq!(e.problem, FlagProblem::ModeAfterSpace("stop".into()));
        assert_eq!(
            e.to_string(),
            "-littleboss needs a mode, and `-littleboss= stop` has a stray space after `=`: write `-littleboss=stop`"
        );
        // From a script with CRLF line ends.
        let e = parse_cmd(&config(), argv(&["p", "-littleboss=", "stop\r"])).unwrap_err();
        assert_eq!(e.problem, FlagProblem::ModeAfterSpace("stop".into()));
        let e = parse_cmd(&config(), argv(&["p", "-littleboss=", "file.txt"])).unwrap_err();
        assert_eq!(e.problem, FlagProblem::NeedsMode);
        // Two words, the mode empty: no `=` to have a space after.
        let e = parse_cmd(&config(), argv(&["p", "--littleboss", "", "stop"])).unwrap_err();
        assert_eq!(e.problem, FlagProblem::NeedsMode);
        // A flag where the mode goes: forgotten, not an unknown mode.
        for next in ["--", "-v"] {
            let e = parse_cmd(&config(), argv(&["p", "--littleboss", next, "x"])).unwrap_err();
            assert_eq!(e.problem, FlagProblem::NeedsMode, "{next}");
        }
    }

    #[test]
    fn status_json_is_told_from_the_words_alone() {
        let asks = |args: &[&str]| asks_status_json("littleboss", &argv(args));
        assert!(asks(&["p", "-littleboss=status", "--json"]));
        assert!(asks(&[
            "p",
            "--json",
            "--littleboss",
            "status",
            "-https=bogus"
        ]));
        assert!(!asks(&["p", "-littleboss=status"]));
        // A mode in the wrong case, refused, still gets its object.
        assert!(asks(&["p", "-littleboss=STATUS", "--json"]));
        assert!(asks(&["p", "--littleboss", "Status", "-json"]));
        // A CRLF script's last word (review 968).
        assert!(asks(&["p", "--json", "-littleboss=status\r"]));
        assert!(asks(&["p", "--json", "-littleboss", "status\r"]));
        assert!(!asks(&["p", "-littleboss=stop", "--json"]));
        assert!(!asks(&["p", "-littleboss=status", "--", "--json"]));
        // The word after the flag is not UTF-8: `status` after it is not
        // the flag's value.
        use std::os::unix::ffi::OsStringExt;
        let mut words = argv(&["p", "-littleboss", "status", "--json"]);
        words.insert(2, OsString::from_vec(vec![0xff]));
        assert!(!asks_status_json("littleboss", &words));
    }

    #[test]
    fn a_value_not_utf8_is_an_error_for_our_flags_only() {
        use std::os::unix::ffi::OsStringExt;
        let raw = |prefix: &str| {
            let mut bytes = prefix.as_bytes().to_vec();
            bytes.extend([0xff, 0xfe]);
            OsString::from_vec(bytes)
        };
        for flag in ["-littleboss=", "--littleboss=", "-https=", "-sock="] {
            let e = parse_cmd(&config(), vec!["p".into(), raw(flag)]).unwrap_err();
            assert_eq!(e.problem, FlagProblem::NotUtf8, "{flag}");
            let name = flag.trim_start_matches('-').trim_end_matches('=');
            assert_eq!(
                e.to_string(),
                format!("-{name}: the value is not valid UTF-8")
            );
        }
        // One of ours in another case, a unix path's bytes after it: a
        // typo, not the program's (`-Sock=/run/<bytes>`).
        let e = parse_cmd(&config(), vec!["p".into(), raw("-SOCK=/run/")]).unwrap_err();
        assert!(
            matches!(&e.problem, FlagProblem::MisspeltListener(_)),
            "{e}"
        );
        assert_eq!(e.flag, "sock");
        // Unless it is one of ours, named so: its value is the mistake.
        let both = Littleboss::new("svc")
            .listener("sock", "unix:/run/a.sock")
            .listener("SOCK", "unix:/run/b.sock")
            .config;
        let e = parse_cmd(&both, vec!["p".into(), raw("-SOCK=/run/")]).unwrap_err();
        assert_eq!(
            (e.flag.as_str(), &e.problem),
            ("SOCK", &FlagProblem::NotUtf8)
        );
        // The program's own flags, and anything after `--`, pass through.
        let inv = parse_cmd(&config(), vec!["p".into(), raw("-other=")]).unwrap();
        assert_eq!(inv.child_args, [raw("-other=")]);
        let inv = parse_cmd(&config(), vec!["p".into(), "--".into(), raw("-https=")]).unwrap();
        assert_eq!(inv.child_args, ["--".into(), raw("-https=")]);
        assert_eq!(inv.mode, Mode::Bypass);
    }

    #[test]
    fn a_reloads_arguments_resolve_the_new_binarys_listeners() {
        let declared = config().listeners;
        let args = argv(&[
            "-v",
            "--https",
            "127.0.0.1:9443",
            "-off=:81",
            "--",
            "-https=x",
        ]);
        let (resolved, given) = resolve_listeners(&declared, &args).unwrap();
        assert_eq!(resolved[0].address.as_deref(), Some("127.0.0.1:9443"));
        assert_eq!(resolved[1].address.as_deref(), Some(":81"));
        assert_eq!(given, ["https".to_owned(), "off".to_owned()].into());
        // No mode flag among a child's arguments: it is the program's.
        let (resolved, given) = resolve_listeners(&declared, &argv(&["-littleboss=stop"])).unwrap();
        assert_eq!(resolved, declared);
        assert!(given.is_empty());
        let e = resolve_listeners(&declared, &argv(&["-https=nonsense"])).unwrap_err();
        assert!(
            e.to_string().starts_with("-https: address `nonsense`"),
            "{e}"
        );
    }

    #[test]
    fn a_listener_flag_in_another_case_is_refused_not_passed_on() {
        let e = parse_cmd(&config(), argv(&["p", "-HTTPS=127.0.0.1:8443"])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "`-HTTPS=127.0.0.1:8443` looks like a mistyped -https=ADDR, which littleboss would not act on but pass on to the program (write -https=ADDR; a flag of the program's own takes its value as the next argument)"
        );
        // Empty, it meant to turn the listener off.
        let e = parse_cmd(&config(), argv(&["p", "-HTTPS="])).unwrap_err();
        let e = e.to_string();
        assert!(
            e.starts_with("`-HTTPS=` looks like a mistyped -https=,"),
            "{e}"
        );
        assert!(e.ends_with("as the next argument)"), "{e}");
        // So with a CRLF script's carriage return after it.
        let e = parse_cmd(&config(), argv(&["p", "-HTTPS=\r"])).unwrap_err();
        let e = e.to_string();
        assert!(
            e.starts_with("`-HTTPS=\\r` looks like a mistyped -https=,"),
            "{e}"
        );
        // A port or a URL for a unix listener: its flag still, the value
        // a slip.
        for arg in [
            "-SOCK=:9090",
            "-SOCK=file:///run/svc.sock",
            "-SOCK=unix:/run/svc.sock",
        ] {
            let e = parse_cmd(&config(), argv(&["p", arg])).unwrap_err();
            let problem = FlagProblem::MisspeltListener(arg.into());
            assert_eq!(e.problem, problem, "{arg}");
            let name = arg[1..].split('=').next().unwrap().to_lowercase();
            assert_eq!(e.flag, name, "{arg}");
        }
        // A URL for an IP listener's name in another case: the program's
        // own, an address to reach (`-Metrics=http://gateway:9091`).
        let inv = parse_cmd(&config(), argv(&["p", "-HTTPS=https://proxy:3128"])).unwrap();
        assert_eq!(strs(&inv.program_args), ["p", "-HTTPS=https://proxy:3128"]);
        // Two words, a program's own switch and its argument: not ours.
        let inv = parse_cmd(&config(), argv(&["p", "-SOCK", "data.txt"])).unwrap();
        assert_eq!(strs(&inv.program_args), ["p", "-SOCK", "data.txt"]);
        // A listener whose name differs from another's by case alone is
        // set by its own flag, not taken for a typo of the other.
        let both = Littleboss::new("svc")
            .listener("http", "tcp::80")
            .listener("HTTP", "tcp::81")
            .config;
        let inv = parse_cmd(&both, argv(&["p", "-HTTP=:8081", "-http=:8080"])).unwrap();
        let addresses: Vec<_> = inv.listeners.iter().map(|l| l.address.clone()).collect();
        assert_eq!(addresses, [Some(":8080".into()), Some(":8081".into())]);
        // After `--`, the program's own.
        let inv = parse_cmd(&config(), argv(&["p", "--", "-HTTPS=127.0.0.1:8443"])).unwrap();
        assert_eq!(
            strs(&inv.program_args),
            ["p", "--", "-HTTPS=127.0.0.1:8443"]
        );
    }

    #[test]
    fn an_address_of_the_other_family_is_told_to_fit_the_declaration() {
        // The network is the declaration's: no `use tcp4` on the command
        // line, where it cannot be changed.
        let config = Littleboss::new("svc")
            .listener("v6", "tcp6::8080")
            .listener("v4", "udp4::53")
            .listener("any", "tcp::80")
            .config;
        let refused = |arg: &str| {
            parse_cmd(&config, argv(&["p", arg]))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            refused("-v6=127.0.0.1:8080"),
            "-v6: `127.0.0.1` is an IPv4 address, and this listener is declared tcp6, which listens on IPv6 only; give an IPv6 address, like `[::1]:8080`, or a host name (`:8080` for every address)"
        );
        assert_eq!(
            refused("-v4=[::1]:53"),
            "-v4: `::1` is an IPv6 address, and this listener is declared udp4, which listens on IPv4 only; give an IPv4 address, like `127.0.0.1:53`, or a host name (`:53` for every address)"
        );
        // Unbracketed, the port given all the same.
        assert_eq!(
            refused("-v4=::1:53"),
            "-v4: `::1` is an IPv6 address, and this listener is declared udp4, which listens on IPv4 only; give an IPv4 address, like `127.0.0.1:53`, or a host name (`:53` for every address)"
        );
        assert_eq!(
            refused("-v6=::ffff:127.0.0.1:9000"),
            "-v6: `::ffff:127.0.0.1` is an IPv4 address written as IPv6, and this listener is declared tcp6, which listens on IPv6 only; give an IPv6 address, like `[::1]:9000`, or a host name (`:9000` for every address)"
        );
        assert_eq!(
            refused("-v6=[::ffff:127.0.0.1]:8080"),
            "-v6: `::ffff:127.0.0.1` is an IPv4 address written as IPv6, and this listener is declared tcp6, which listens on IPv6 only; give an IPv6 address, like `[::1]:8080`, or a host name (`:8080` for every address)"
        );
        // A URL pasted whole: what it names.
        assert_eq!(
            refused("-any=http://localhost:8080/"),
            "-any: address `http://localhost:8080/` is a URL, but a tcp listener takes a host and port, like `localhost:8080`"
        );
        // On a network of both families, writing it as IPv4 is the fix.
        assert_eq!(
            refused("-any=[::ffff:127.0.0.1]:80"),
            "-any: `::ffff:127.0.0.1` is an IPv4 address written as IPv6; write it as `127.0.0.1`"
        );
    }

    #[test]
    fn help_is_asked_before_any_double_dash() {
        for asked in ["-h", "--h", "-help", "--help"] {
            assert!(asks_help(&argv(&["p", "-x", asked])), "{asked}");
        }
        assert!(!asks_help(&argv(&["p", "--", "-h"])));
        assert!(!asks_help(&argv(&["-h"])), "the program's name");
        assert!(!asks_help(&argv(&["p", "-h=1", "-https=-h"])));
        assert!(asks_help_or_version(&argv(&["p", "--version"])));
        assert!(asks_help_or_version(&argv(&["p", "-V"])), "clap's version");
        assert_eq!(
            asked_of_the_program(&argv(&["p", "-V"])),
            None,
            "verbose, as often"
        );
        assert!(asks_help_or_version(&argv(&["p", "-h"])));
        assert!(!asks_help_or_version(&argv(&["p", "--", "--version"])));
        assert!(!asks_help(&argv(&["p", "--version"])));
        // What a supervised child would answer and exit on: not `-h`.
        for asked in ["--h", "-help", "--help", "--version"] {
            let words = argv(&["p", "-x", asked]);
            assert_eq!(asked_of_the_program(&words), Some(asked));
        }
        assert_eq!(asked_of_the_program(&argv(&["p", "-h", "-V"])), None);
        // Asked of the program's own words: a listener, or the mode flag,
        // named `version` in its two-word form is littleboss's.
        let named_version = Littleboss::new("svc")
            .flag("version")
            .listener("api", "tcp::443")
            .listener("metrics", "tcp::9090")
            .config;
        let words = argv(&["p", "--version", "start", "--metrics", ":9091"]);
        let inv = parse_cmd(&named_version, words).unwrap();
        assert_eq!(
            (inv.mode, strs(&inv.program_args)),
            (Mode::Start, vec!["p"])
        );
        assert_eq!(inv.asks_the_program_itself(), None);
        let named_version = Littleboss::new("svc")
            .listener("version", "tcp::9090")
            .help(false)
            .config;
        let words = argv(&["p", "-littleboss=start", "--version", ":9091"]);
        let inv = parse_cmd(&named_version, words).unwrap();
        assert!(inv.mode == Mode::Start && inv.given.contains("version"));
        assert_eq!(inv.asks_the_program_itself(), None);
        let words = argv(&["p", "-littleboss=reload", "--version", ":1", "--help"]);
        let inv = parse_cmd(&named_version, words).unwrap();
        assert_eq!(inv.asks_the_program_itself(), Some("--help"));
        // The program's own, as before; none after `--`, nor for `status`
        // or bypass (the program answers as it would alone).
        let asked = |words: &[&str]| {
            let inv = parse_cmd(&config(), argv(words)).unwrap();
            inv.asks_the_program_itself().map(str::to_owned)
        };
        assert_eq!(
            asked(&["p", "-littleboss=start", "--version"]).as_deref(),
            Some("--version")
        );
        let off_then_help = ["p", "-littleboss=start", "-https=", "--help"];
        assert_eq!(asked(&off_then_help).as_deref(), Some("--help"));
        assert_eq!(asked(&["p", "-littleboss=start", "--", "--version"]), None);
        assert_eq!(asked(&["p", "-littleboss=status", "--version"]), None);
        assert_eq!(asked(&["p", "--help"]), None);
        assert_eq!(asked_of_the_program(&argv(&["p", "--", "--help"])), None);
        // A program that answers -h itself gets it passed on.
        let own = Littleboss::new("svc").help(false).config;
        let inv = parse_cmd(&own, argv(&["p", "--help"])).unwrap();
        assert_eq!(strs(&inv.program_args), ["p", "--help"]);
    }

    #[test]
    fn usage_lists_mode_and_listeners() {
        let text = usage(&config(), "p");
        assert!(text.contains("-littleboss=MODE"));
        assert!(text.contains("start:   start and manage this process using service name \"svc\""));
        assert!(text.contains("-https=ADDR\n        tcp listener address (default \":443\""));
        assert!(text.contains("-off=ADDR\n        tcp listener address (off unless given)\n"));
        assert!(text.contains(
            "-sock=PATH\n        unix listener socket path (default \"/run/svc.sock\"; `-sock=` turns it off)\n"
        ));
    }
}
