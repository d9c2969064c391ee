//! Child mode: started by a supervisor, with the child channel at fd 3.
//!
//! The child says hello, receives its listeners, and runs `main`. A
//! lifecycle thread of its own reads the channel: `lameduck` starts
//! lameduck; end-of-file (or the supervisor's pidfd saying it exited:
//! another process may hold a copy of the channel) means the supervisor
//! is gone or cannot reach the child any more, so the child starts
//! lameduck and exits within its lameduck timeout instead of living on as
//! an orphan.

use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::config::{Config, Ready};
use crate::context::{Context, Timing};
use crate::entry::Entry;
use crate::lameduck::{Lameduck, Listener};
use crate::link::{self, ChildEnd, FromChild, ListenerEntry, ToChild};
use crate::report::fail;
use crate::socket::NotFit;
use crate::spec::ListenerSpec;
use crate::spec::Network;

/// What the environment says of who started this process.
pub(crate) enum StartedBy {
    /// A supervisor, directly: the child channel and that supervisor's pid
    /// (our parent).
    Supervisor(OwnedFd, nix::unistd::Pid),
    /// A supervisor through a wrapper that forked this process and closed
    /// its channel (Python's `subprocess` closes every fd above 2): why
    /// it must not run unsupervised (bypass mode), said only where it
    /// would serve so.
    WrapperWithoutChannel(String),
    /// No supervisor (or a marker that is not ours).
    Nobody,
}

/// Who started this process, by the child channel's marker. The marker
/// was taken out of the environment as the binary loaded (`inherited`),
/// so the program does not see it; one set since (a test) is taken out
/// here.
pub(crate) fn started_by() -> StartedBy {
    let Some(value) = crate::inherited::var(link::ENV_VAR) else {
        return StartedBy::Nobody;
    };
    // A copy the program's code before `run` forked: the channel is its
    // parent's, whichever process is its parent by now (the supervisor,
    // a subreaper, once the child exited).
    if let Some(why) =
        crate::inherited::forked_copy("the supervised child", "the supervisor's channel")
    {
        fail(1, why);
    }
    crate::environ::remove_env(&[link::ENV_VAR]);
    let Some((fd, supervisor)) = link::parse_env(&value).filter(|(fd, _)| *fd == link::CHILD_FD)
    else {
        return StartedBy::Nobody;
    };
    let channel = is_channel(fd);
    let parent = nix::unistd::getppid().as_raw();
    if supervisor != parent {
        // A marker copied from elsewhere, with no channel at fd 3: not
        // ours. With one, our supervisor died before we could look, and
        // the kernel handed us on: running on, in bypass, would serve
        // unsupervised for good, on ports a new `start` then finds taken.
        // Or processes between us, the supervisor above them (a wrapper
        // script that runs the program rather than `exec`s it, a launcher
        // such as `timeout`): the channel works, but our death and
        // signals would be theirs. Told by our ancestors, not by the
        // supervisor's pid being alive (a zombie's is, and a subreaper
        // that took us over, older than it, is no wrapper). Looked at with
        // no channel too: a wrapper may close what it does not know
        // (Python's `subprocess` closes every fd above 2); but for a
        // marker naming init, every process's ancestor, which without a
        // channel tells nothing (not looked up then).
        if !channel && supervisor == 1 {
            return StartedBy::Nobody;
        }
        let ancestry = ancestry(parent, supervisor);
        if ancestry == Ancestry::Found {
            let why = format!(
                "started by the littleboss supervisor pid {supervisor} through another process, pid {parent} (a wrapper script?): the supervisor must start this program itself; a wrapper must `exec` it"
            );
            if channel {
                fail(1, why);
            }
            // Without a channel, refused only where it would serve
            // unsupervised: a control command a launcher runs on its way
            // (`-littleboss=status`) is no child.
            return StartedBy::WrapperWithoutChannel(why);
        }
        // Ancestors that cannot be read (another pid namespace's /proc, a
        // `hidepid` mount): the two cannot be told apart.
        if channel && ancestry == Ancestry::Unknown {
            fail(
                1,
                format!(
                    "not started by the littleboss supervisor pid {supervisor} itself: it is gone, or a launcher forked this program (a wrapper must `exec` it); not running unsupervised"
                ),
            );
        }
        if channel {
            fail(
                1,
                format!(
                    "started by the littleboss supervisor pid {supervisor}, which is gone; not running unsupervised"
                ),
            );
        }
        return StartedBy::Nobody;
    }
    // Closed, or another file than was handed over (opened there by the
    // program's code before `run`, its channel closed: a log's socket, or
    // one of the channel's own kind), or never a channel.
    let why = if !crate::fdpass::is_open(fd) {
        Some("it is not open (closed by the program's code before `run`?)")
    } else if crate::inherited::not_as_handed(fd) {
        Some(
            "another file is open there than the supervisor handed over (the program's code before `run` closed it and opened another?)",
        )
    } else {
        (!channel).then_some("it is not a littleboss child channel")
    };
    if let Some(why) = why {
        fail(1, format!("fd {fd}, the supervisor's channel: {why}"));
    }
    // SAFETY: the supervisor put the channel at this fd for us alone; from
    // here on this OwnedFd is its only owner.
    let fd = unsafe { crate::fdpass::adopt(fd) }
        .unwrap_or_else(|e| fail(1, format!("{} is set but {e}", link::ENV_VAR)));
    StartedBy::Supervisor(fd, nix::unistd::Pid::from_raw(supervisor))
}

/// Whether a process is among another's ancestors, as far as can be told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ancestry {
    Found,
    /// Up to init, or to a parent outside our pid namespace (pid 0: the
    /// top of a `docker exec`'s chain), and not among them.
    NotFound,
    /// A parent could not be read (hidden by `hidepid`), our own parent
    /// is outside our pid namespace, or they go up further than looked.
    Unknown,
}

/// Whether `ancestor` is process `pid` or above it, a few parents up at
/// most. A supervisor that is init (a container's command) is found so
/// too: it cannot have died while we live.
fn ancestry(pid: i32, ancestor: i32) -> Ancestry {
    let mut pid = pid;
    for hop in 0..MOST_LAUNCHERS {
        if pid == ancestor {
            return Ancestry::Found;
        }
        match pid {
            1 => return Ancestry::NotFound,
            ..=0 if hop > 0 => return Ancestry::NotFound,
            ..=0 => return Ancestry::Unknown,
            _ => {}
        }
        let Some(parent) = parent_of(pid) else {
            return Ancestry::Unknown;
        };
        pid = parent;
    }
    Ancestry::Unknown
}

/// How many processes [`ancestry`] looks up through: launchers nest
/// (`sudo` runs a monitor, a script `timeout`), and a dead supervisor is
/// told only once init is reached (a terminal, a shell, `make` and cargo
/// above a test). Read only when the marker names another process than
/// our parent.
const MOST_LAUNCHERS: usize = 64;

/// The parent of process `pid`, from its `/proc/PID/stat`.
fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read(crate::proc_pid::path(pid, "stat")?).ok()?;
    parent_in_stat(&stat)
}

/// The parent in a `/proc/PID/stat` (the 4th field, the 2nd after the
/// name).
fn parent_in_stat(stat: &[u8]) -> Option<i32> {
    crate::proc_pid::after_name(stat)?.nth(1)?.parse().ok()
}

/// Whether `fd` is a seqpacket socket, as a child channel is.
fn is_channel(fd: std::os::fd::RawFd) -> bool {
    if !crate::fdpass::is_open(fd) {
        return false;
    }
    // SAFETY: open (just seen), and only borrowed for the getsockopt
    // below. Code before `run` may have started threads, but this fd is
    // littleboss's: the supervisor put the channel there for it, and the
    // marker naming it left the environment as the binary loaded
    // (`inherited`), so nothing else knows to close it.
    let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
    nix::sys::socket::getsockopt(&fd, nix::sys::socket::sockopt::SockType)
        .is_ok_and(|t| t == nix::sys::socket::SockType::SeqPacket)
}

/// Runs the program as the child of `supervisor` (our parent, as checked
/// by [`started_by`]), over the channel `fd`. With `mistaken` (this
/// binary's mistakes, told: its configuration's, a call of `run` inside a
/// tokio runtime) it tells the supervisor, whose reload fails naming
/// them, and exits 2.
pub(crate) fn run(
    config: &Config,
    (fd, supervisor): (OwnedFd, nix::unistd::Pid),
    entry: Entry<'_>,
    mistaken: Option<&str>,
) -> ! {
    let link = Arc::new(ChildEnd::new(fd));
    if let Some(mistakes) = mistaken {
        let error = mistakes.to_owned();
        let _ = link.send(FromChild::error(&error));
        fail(crate::exit::USAGE, error)
    }
    let give_up = |error: String| -> ! {
        let _ = link.send(FromChild::error(&error));
        fail(1, error)
    };
    let hello = FromChild::Hello {
        name: config.name.clone(),
        lameduck_ms: config.lameduck.as_millis() as u64,
        ready_timeout_ms: config.ready_timeout.as_millis() as u64,
        takes_over: config
            .self_upgrade
            .then_some(link::SUPERVISOR_STATE_VERSION),
        reads_queued: true,
        reads_alone: true,
    };
    // The supervisor's pidfd, opened while it is our parent (so that it
    // names that process, not another that took its pid since): its exit
    // is heard even while another process holds a copy of its end of our
    // channel (one the program's code forked in the supervisor, or one
    // forked for a child in the instant before it closes its copies),
    // keeping the end-of-file away.
    let exited = crate::link::exit_watch(supervisor);
    if nix::unistd::getppid() != supervisor {
        fail(1, "the supervisor went away before the child started");
    }
    match link.send(hello) {
        Ok(()) => {}
        Err(e) if link::other_end_closed(&e) => {
            fail(1, "the supervisor went away before the child started")
        }
        // Not its going (out of memory for the message, a seccomp filter
        // on sendmsg): said as it is.
        Err(e) => fail(
            1,
            format!("cannot send the supervisor this child's hello: {e}"),
        ),
    }
    let watched = exited.as_ref().map(std::os::fd::AsFd::as_fd);
    // A signal the program's code before `run` catches interrupts the
    // wait (a poll is not restarted): waited past.
    let hello = loop {
        match link.recv_watching(watched, supervisor) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            received => break received,
        }
    };
    let (entries, fds, refuse_when_orphaned, hands_at_stop, beside_serving) = match hello {
        Ok(Some((
            ToChild::Hello {
                listeners,
                refuse_when_orphaned,
                refuse_own_when_orphaned,
                beside_serving,
                ..
            },
            fds,
        ))) => (
            listeners,
            fds,
            refuse_when_orphaned || refuse_own_when_orphaned,
            // Some socket is the service manager's: at a stop the
            // supervisor refuses on its own sockets itself, handing the
            // serving child their queues.
            !refuse_when_orphaned,
            beside_serving,
        ),
        Ok(Some((other, _))) => {
            give_up(format!("expected hello from the supervisor, got {other:?}"))
        }
        Ok(None) => fail(1, "the supervisor went away before the child started"),
        Err(e) => give_up(format!("cannot read the supervisor's hello: {e}")),
    };
    // From a supervisor built before `served_beside` (it sent
    // `beside_serving` alone): every socket is the serving child's.
    let mut entries = entries;
    if beside_serving && !entries.iter().any(|e| e.served_beside) {
        for entry in &mut entries {
            entry.served_beside = true;
        }
    }
    let argv: Vec<_> = std::env::args_os().collect();
    // A listener the supervisor holds that this binary does not declare
    // (a SIGHUP after the file at the path was replaced): its flag, in the
    // arguments kept from the child before, is not the program's.
    let gone = (entries.iter())
        .map(|e| e.name.as_str())
        .filter(|name| config.listeners.iter().all(|l| l.name != *name))
        .collect();
    let argv = crate::flags::argv_without_listener_flags(&argv, &gone);
    // The arguments the supervisor stored (checked as a command line when
    // they were one), given back.
    let inv = crate::flags::parse_child(config, argv).unwrap_or_else(|e| give_up(e.to_string()));
    let listeners = adopt(config, &entries, fds, &inv.listeners).unwrap_or_else(|e| {
        let sign = e
            .shut_for_a_stop()
            .then(|| stop_began(&link, supervisor, STOP_SIGN_WAIT));
        if let Some(Some(sign)) = sign {
            // Nothing is wrong with this binary: it came too late.
            // A closed channel alone does not say the supervisor died (an
            // upgrade in place that could not hand it on): the parent does.
            let why = match sign {
                StopSign::Lameduck => "the service is stopping",
                StopSign::ChannelEnd if reparented(supervisor, REPARENTED_WAIT) => {
                    "the supervisor is gone"
                }
                StopSign::ChannelEnd => "the supervisor closed this child's channel",
            };
            crate::report::say(
                log::Level::Info,
                format_args!(
                    "{why}: its listeners were shut before this child could take them; exiting"
                ),
            );
            crate::report::exit(0);
        }
        give_up(e.to_string())
    });
    let listeners = Arc::new(Mutex::new(listeners));
    let grace = crate::lameduck::grace(config);
    // Refusal comes from the supervisor (a stop), or at its death (on the
    // sockets that are not the service manager's): keep the copies for it.
    let keep = refuse_when_orphaned;
    let (lameduck, phase) = Lameduck::new(listeners.clone(), grace, false, keep);
    if hands_at_stop {
        lameduck.expect_handover_at_stop();
    }
    let accepted = lameduck.accepted();
    // At a refusal no child takes a connection again: the unix listeners'
    // files go, whoever's listener they are.
    lameduck.remove_at_refusal(entries.iter().filter_map(|e| e.file.clone()).collect());
    // Draining before it said ready (a `kill PID` of a starting child, a
    // stop): no ready from then on, manual or automatic, as
    // `Context::ready` says; the supervisor would hand the service to a
    // child on its way out.
    let closing = link.clone();
    lameduck.before_draining(Box::new(move || closing.close_ready()));
    // SIGTERM to the whole service (systemd's default KillMode) reaches the
    // child too: it winds down as the supervisor would have asked.
    // The socket files are the supervisor's, for the next child.
    let watching = match crate::test_hook::test_hook::<u8>("LITTLEBOSS_TEST_CHILD_THREAD_FAILS") {
        Some(_) => Err(std::io::Error::from(nix::errno::Errno::EAGAIN)),
        None => {
            let hangup = Some(supervisor);
            crate::lameduck::on_signals(lameduck.clone(), config.lameduck, hangup)
        }
    };
    watching
        .unwrap_or_else(|e| give_up(format!("cannot start the thread watching for signals: {e}")));
    // Kept for the process's life, as `on_signals` asks: the threads'
    // handles may all go (the lifecycle thread ends once lameduck began),
    // and the last one's drop must not read as lameduck begun.
    let _lameduck_kept = Arc::clone(&lameduck);
    spawn_lifecycle(
        link.clone(),
        lameduck,
        config.lameduck,
        (supervisor, exited),
        crate::link::Orphaned {
            refuse: refuse_when_orphaned,
            beside_serving,
        },
    )
    .unwrap_or_else(|e| {
        give_up(format!(
            "cannot start the thread watching the supervisor: {e}"
        ))
    });
    // Test hook: a child that floods its channel, which must not hold up
    // the supervisor's loop.
    if crate::test_hook::test_hook::<u8>("LITTLEBOSS_TEST_FLOOD_CHANNEL").is_some() {
        link.clone().flood();
    }
    let rt = crate::runtime::build(config)
        .unwrap_or_else(|e| give_up(format!("cannot start the tokio runtime: {e}")));
    let flags_help = crate::flags::flags_help(config);
    let timing = Timing {
        phase,
        lameduck_timeout: config.lameduck,
        grace,
        accepted,
    };
    let ctx = Context::new(
        listeners,
        timing,
        Some(link.clone()),
        inv.program_args,
        flags_help,
    );
    let started: crate::entry::Started = match config.ready {
        Ready::Auto => {
            let link = link.clone();
            Box::new(move || {
                // Said once, at `main`'s first wait: a failure (out of
                // buffers) is not tried again, and the start would fail
                // at its ready timeout with nothing to say why. (A
                // supervisor gone has its own lines.)
                if let Err(e) = link.send_ready()
                    && let Some(warning) = crate::link::ready_unsent(&e, false)
                {
                    crate::report::say(log::Level::Warn, format_args!("{warning}"));
                }
            })
        }
        Ready::Manual => Box::new(|| {}),
    };
    let ended = crate::entry::call(entry, ctx, &rt, started);
    let code = ended.code;
    // No ready from here on: a task of the program's saying it as `main`
    // returns would have a child that is exiting take over.
    let was_ready = link.no_more_ready();
    // Not ready, it fails a start: why, for the reload's failure to say.
    if !was_ready && let Some(failure) = ended.failure.clone() {
        let _ = link.send(FromChild::failed_start(failure));
    }
    let _ = link.send(FromChild::Finished { code });
    // Then said: a stderr nobody reads holds this process, not the word.
    ended.say();
    crate::report::exit(code)
}

/// Why the listeners the supervisor passed do not fit the ones this binary
/// declares.
#[derive(Debug, Clone, PartialEq, Eq)]
enum AdoptListenersError {
    /// The hello announced `announced` bound listeners, but `passed` fds
    /// came with it.
    Count { announced: usize, passed: usize },
    /// This binary declares listener `name`; the supervisor holds none by
    /// that name (a reload cannot add one).
    NotHeld { name: String, flag: String },
    /// Listener `name` is off in the supervisor (no socket held), but
    /// this binary's arguments give it `address`.
    HeldOff {
        name: String,
        address: String,
        flag: String,
    },
    /// Listener `name` is `declared` here but the supervisor holds a
    /// socket of another kind, for `held`.
    Kind {
        name: String,
        declared: Network,
        held: Network,
        flag: String,
    },
    /// The fd passed for listener `name` is not a socket it can use.
    NotFit { name: String, error: NotFit },
}

impl std::fmt::Display for AdoptListenersError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AdoptListenersError::Count { announced, passed } => write!(
                f,
                "the supervisor announced {announced} listeners but passed {passed} fds"
            ),
            AdoptListenersError::NotHeld { name, flag } => write!(
                f,
                "this binary declares listener `{name}`, which the running supervisor does not hold \
                 (a SIGHUP or a restart keeps the serving child's listeners); \
                 run this binary with `-{flag}=reload` to add it"
            ),
            AdoptListenersError::HeldOff {
                name,
                address,
                flag,
            } => write!(
                f,
                "this binary gives listener `{name}` the address `{}`, but it is off in the running supervisor \
                 (a SIGHUP or a restart keeps the serving child's listeners); \
                 run this binary with `-{flag}=reload` to turn it on",
                address.escape_debug()
            ),
            AdoptListenersError::Kind {
                name,
                declared,
                held,
                flag,
            } => write!(
                f,
                "listener `{name}` is {declared} in this binary but the supervisor holds a {held} socket \
                 (a SIGHUP or a restart keeps the serving child's listeners); \
                 run this binary with `-{flag}=reload` to bind it anew"
            ),
            // From the supervisor, not systemd: no `Accept=yes` to blame.
            AdoptListenersError::NotFit {
                name,
                error: NotFit::NotListening { fd, network },
            } => write!(
                f,
                "listener `{name}`: the supervisor passed fd {fd}, a {network} socket that no longer listens \
                 (shut by another process holding it: a child told to stop, or a program's own shutdown)"
            ),
            AdoptListenersError::NotFit { name, error } => {
                write!(f, "listener `{name}`: {error}")
            }
        }
    }
}

impl AdoptListenersError {
    /// Whether a TCP listener came shut: the supervisor only hands on
    /// listening sockets, so a stop began meanwhile (the serving child
    /// shut the socket they share, refusing new connections).
    fn shut_for_a_stop(&self) -> bool {
        matches!(
            self,
            AdoptListenersError::NotFit {
                error: NotFit::NotListening { network, .. },
                ..
            } if network.kind() == crate::spec::Kind::Tcp
        )
    }
}

impl std::error::Error for AdoptListenersError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AdoptListenersError::NotFit { error, .. } => Some(error),
            AdoptListenersError::Count { .. }
            | AdoptListenersError::NotHeld { .. }
            | AdoptListenersError::HeldOff { .. }
            | AdoptListenersError::Kind { .. } => None,
        }
    }
}

/// Matches the listeners this binary declares with the ones the supervisor
/// holds, by name. A listener the supervisor does not hold cannot appear
/// by a reload: that is an error, not a silent `None`, unless it is off
/// by the arguments (`resolved`: the declared listeners as the command
/// line sets them), as a `start` with them would have it: a binary
/// replaced in place, reloaded by SIGHUP, may declare one off by default.
fn adopt(
    config: &Config,
    entries: &[ListenerEntry],
    fds: Vec<OwnedFd>,
    resolved: &[ListenerSpec],
) -> Result<Vec<Listener>, AdoptListenersError> {
    let bound_count = entries.iter().filter(|e| e.bound).count();
    if bound_count != fds.len() {
        return Err(AdoptListenersError::Count {
            announced: bound_count,
            passed: fds.len(),
        });
    }
    let mut fds: Vec<Option<OwnedFd>> = fds.into_iter().map(Some).collect();
    let mut fd_index = 0;
    let mut held = Vec::new();
    for entry in entries {
        let fd = if entry.bound {
            fd_index += 1;
            fds[fd_index - 1].take()
        } else {
            None
        };
        held.push((entry, fd));
    }
    let mut listeners = Vec::new();
    for spec in &config.listeners {
        let Some((entry, fd)) = held.iter_mut().find(|(e, _)| e.name == spec.name) else {
            let off = resolved
                .iter()
                .any(|r| r.name == spec.name && r.address.is_none());
            if !off {
                return Err(AdoptListenersError::NotHeld {
                    name: spec.name.clone(),
                    flag: config.flag.clone(),
                });
            }
            listeners.push(Listener {
                name: spec.name.clone(),
                network: spec.network,
                fd: None,
                taken: false,
                managers: false,
                served_beside: false,
                unbound: None,
            });
            continue;
        };
        let fd = fd.take();
        // Of another kind than declared: refused if a socket is held for
        // it; off, it holds none to misfit (but see below if turned on).
        if fd.is_some() && entry.network.kind() != spec.network.kind() {
            return Err(AdoptListenersError::Kind {
                name: spec.name.clone(),
                declared: spec.network,
                held: entry.network,
                flag: config.flag.clone(),
            });
        }
        // Off where this binary's arguments turn it on: its program would
        // find `None` where it counts on a listener.
        let wanted = resolved.iter().find(|r| r.name == spec.name);
        if let (None, Some(address)) = (&fd, wanted.and_then(|r| r.address.as_ref())) {
            return Err(AdoptListenersError::HeldOff {
                name: spec.name.clone(),
                address: address.clone(),
                flag: config.flag.clone(),
            });
        }
        if let Some(fd) = &fd {
            crate::socket::check_fd(fd, entry.network).map_err(|error| {
                AdoptListenersError::NotFit {
                    name: spec.name.clone(),
                    error,
                }
            })?;
            // Held for another IP network than this binary declares (a
            // SIGHUP or a restart keeps the serving child's listeners):
            // kept only if it fits this one's family too (`tcp4`'s
            // `0.0.0.0:80` for a `tcp` listener, not for a `tcp6` one; a
            // dual-stack one for `tcp6` stays, as a socket held does).
            if entry.network != spec.network && crate::socket::check_fd(fd, spec.network).is_err() {
                return Err(AdoptListenersError::Kind {
                    name: spec.name.clone(),
                    declared: spec.network,
                    held: entry.network,
                    flag: config.flag.clone(),
                });
            }
        }
        // Off, as this binary declares it (its `ctx.udp` says "off", not
        // "not a udp listener").
        let network = match fd {
            Some(_) => entry.network,
            None => spec.network,
        };
        listeners.push(Listener {
            name: spec.name.clone(),
            network,
            fd,
            taken: false,
            // From an older supervisor, unmarked: it lets an orphan refuse
            // only when no socket is the manager's.
            managers: entry.managers,
            served_beside: entry.served_beside,
            unbound: None,
        });
    }
    Ok(listeners)
}

/// Reads the supervisor's orders until it is gone. An orphan winds down,
/// and with `orphaned.refuse` shuts its TCP listeners (not the service
/// manager's) and removes its unix listeners' files: with nobody left to
/// accept, a new connection is refused at once rather than queued and
/// reset at the exit, and the next start can bind the port while this
/// child still drains. One not ready yet beside a serving child takes
/// none of the queues of the sockets that one holds too (unless told
/// since that that one has ended).
fn spawn_lifecycle(
    link: Arc<ChildEnd>,
    lameduck: Arc<Lameduck>,
    timeout: Duration,
    (supervisor, exited): (nix::unistd::Pid, Option<OwnedFd>),
    orphaned: crate::link::Orphaned,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("littleboss-child".into())
        .spawn(move || {
            // Closed: end-of-file (a reset is read past, to what the
            // supervisor sent before it). Another error on the channel
            // still ends this child, but shuts no socket it shares with a
            // supervisor that may live. Lines here are said patiently:
            // the program's logger may block, and this thread must go on
            // to see the supervisor gone. Its pidfd tells its exit too,
            // where another process holds a copy of the channel.
            let exited = exited.as_ref().map(std::os::fd::AsFd::as_fd);
            let mut beside_serving = orphaned.beside_serving;
            let mut short_said = false;
            // Garbage may come in a loop (from whatever else holds the
            // supervisor's end): said once in a while, with how many.
            let mut bad_messages = crate::repeated::Repeated::new();
            // Without a pidfd, the parent is looked at instead (a
            // supervisor gone already, since the hello, at once).
            let ended = loop {
                match link.recv_watching(exited, supervisor) {
                    // The supervisor's order comes after what it hands
                    // over (one channel): none is to be waited for now.
                    Ok(Some((ToChild::Lameduck { refuse: false }, _))) => {
                        lameduck.ordered();
                        lameduck.begin();
                    }
                    // The refusal first: a drain begun on the child's own
                    // signal waits for the order, and must not end (with
                    // nothing open) before the refusal has taken the queue.
                    Ok(Some((ToChild::Lameduck { refuse: true }, _))) => {
                        lameduck.begin_refusing();
                        lameduck.ordered();
                    }
                    // A listener the supervisor let go of: what its queue
                    // held, to serve as this child drains.
                    Ok(Some((ToChild::Queued { inode, .. }, fds))) => {
                        lameduck.take_handed(inode, fds);
                    }
                    // The child it started beside has ended: the queue is
                    // this one's to take, should the supervisor die too.
                    Ok(Some((ToChild::Alone, _))) => beside_serving = false,
                    Ok(Some((other, _))) => crate::report::say_patiently(
                        log::Level::Warn,
                        format!("unexpected message from the supervisor: {other:?}"),
                    ),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    // Memory short for a moment: a healthy child does not
                    // drain for it (its supervisor, counting it serving,
                    // would lose it). Said once, should it last.
                    Err(e) if crate::link::short_of_memory(&e) => {
                        if !std::mem::replace(&mut short_said, true) {
                            crate::report::say_patiently(
                                log::Level::Warn,
                                format!("cannot read the channel from the supervisor for now ({e}); trying again every 10 ms"),
                            );
                        }
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                        bad_messages.say(|more| {
                            crate::report::say_patiently(
                                log::Level::Warn,
                                format!("bad message from the supervisor: {e}{more}"),
                            );
                        });
                    }
                    Ok(None) => break Ok(()),
                    // Said once the deadline runs, below.
                    Err(e) => break Err(e),
                }
            };
            let closed = ended.is_ok();
            // A closed channel alone does not say the supervisor died: an
            // in-place upgrade that could not hand it on closes it while the
            // supervisor lives on, holding the very sockets a refusal would
            // shut for every child.
            let gone = closed && reparented(supervisor, REPARENTED_WAIT);
            // Within the lameduck timeout counted from when draining began,
            // as the supervisor would have killed it: a child draining
            // already (a reload's old one) does not start its time again.
            let since = (lameduck.draining_since()).unwrap_or_else(std::time::Instant::now);
            let at = since + timeout;
            let left = at.saturating_duration_since(std::time::Instant::now());
            // Why the child lameducks, said once it has begun.
            let why = match (gone, ended) {
                (true, _) => "the supervisor is gone".to_owned(),
                (false, ended) => {
                    let error = ended.err().map(|e| format!(" ({e})")).unwrap_or_default();
                    format!("lost the channel to the supervisor{error}")
                }
            };
            // The deadline runs before anything else is done or said: the
            // program's logger may block, and nothing may put the exit off.
            // (`Copy`: kept for this thread, should none be had for it; it
            // then says why in its last words too: the line handed over
            // below may find no thread either.)
            let deadline = move |why: Option<&str>| {
                std::thread::sleep(at.saturating_duration_since(std::time::Instant::now()));
                let why = why.map(|why| format!("{why}; ")).unwrap_or_default();
                let last_words =
                    format!("{why}still running {timeout:?} after draining began; exiting");
                crate::report::end_by_deadline(crate::report::Ending::Code(1), last_words);
            };
            let timer = std::thread::Builder::new()
                .name("littleboss-deadline".into())
                .spawn(move || deadline(None));
            // Handed over before the drain begins: a drain that takes no
            // time ends in an exit, which waits for a line on its way
            // (`report::exit`), not for one this thread has yet to say.
            let within = format!("{} ms", left.as_millis());
            crate::report::say_detached(
                log::Level::Warn,
                format!("{why}; lameduck, exiting within {within}"),
            );
            // The end of a burst of garbage, which no more will follow.
            if let Some(n) = bad_messages.take_unsaid() {
                crate::report::say_detached(
                    log::Level::Warn,
                    format!("{n} more bad message(s) from the supervisor since the last said"),
                );
            }
            if gone && orphaned.refuse {
                // Not ready yet beside a serving child (a reload's new
                // child warming up): the queues of the sockets that one
                // holds too are its to take; this program, not accepting
                // yet, would hold what it took unserved until lameduck
                // closed it. The rest (a listener the reload added or
                // moved), and all of them alone (from the start, or told
                // since that that one ended), it takes, to serve should
                // its warm-up end within its grace.
                if beside_serving && !link.has_said_ready() {
                    lameduck.begin_refusing_orphaned_beside();
                } else {
                    lameduck.begin_refusing_orphaned();
                }
            } else {
                lameduck.begin();
            }
            // No order can come any more: a drain begun on this child's
            // own signal need not wait for one.
            lameduck.ordered();
            if timer.is_err() {
                // Out of threads: this one keeps the time.
                deadline(Some(&why));
            }
        })
        .map(drop)
}

/// How long a child that found its listeners shut waits for its
/// supervisor's word that a stop began (sent in the same step as the
/// serving child's, which shut them: there already, in practice).
const STOP_SIGN_WAIT: Duration = Duration::from_secs(2);

/// How long a dying supervisor may take, after its channel's end, to hand
/// its children on (it closes its descriptors a moment before).
const REPARENTED_WAIT: Duration = Duration::from_secs(2);

/// What ended a service whose listeners were shut before this child
/// could take them.
#[derive(Debug, PartialEq)]
enum StopSign {
    /// Lameduck for this child: the supervisor is stopping.
    Lameduck,
    /// The channel's end: the supervisor is gone (its orphaned children
    /// shut the listeners), or it closed this child's channel; or, the
    /// channel still open (its end held by a sibling whose exec hangs),
    /// the supervisor gone all the same.
    ChannelEnd,
}

/// How the supervisor has begun a stop, if it has within `within`:
/// lameduck for this child, or the channel's end, or, with neither, the
/// death of `supervisor` (this child handed to another parent). Otherwise
/// something else shut the listeners, and the child fails saying so.
fn stop_began(link: &ChildEnd, supervisor: nix::unistd::Pid, within: Duration) -> Option<StopSign> {
    let deadline = std::time::Instant::now() + within;
    let gone = || reparented(supervisor, Duration::ZERO).then_some(StopSign::ChannelEnd);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() || link.set_recv_timeout(left).is_err() {
            return gone();
        }
        match link.recv() {
            Ok(Some((ToChild::Lameduck { .. }, _))) => return Some(StopSign::Lameduck),
            Ok(None) => return Some(StopSign::ChannelEnd),
            // Another message (a queue handed over, its connections
            // closed here): this child, its listeners found shut before it
            // was ready, exits whatever comes, and serves none of them.
            Ok(Some(_)) => {}
            // A signal (a `pkill -HUP` of the service): a receive with a
            // timeout is not restarted.
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            // A message not to be read (an empty one, a queue handed over
            // whose descriptors were cut short): a lameduck may follow.
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {}
            Err(_) => return gone(),
        }
    }
}

/// Whether this process has left `supervisor`, its parent: it died, and
/// the kernel gave us another. A dying process closes its descriptors
/// (our channel's end-of-file) a moment before it hands its children on,
/// so this waits up to `within` for that.
fn reparented(supervisor: nix::unistd::Pid, within: Duration) -> bool {
    let deadline = std::time::Instant::now() + within;
    loop {
        if nix::unistd::getppid() != supervisor {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_parent_is_not_a_dead_supervisor() {
        let parent = nix::unistd::getppid();
        assert!(!reparented(parent, Duration::from_millis(20)));
        let another = nix::unistd::Pid::from_raw(parent.as_raw() + 1);
        assert!(reparented(another, Duration::ZERO));
    }

    #[test]
    fn a_stop_is_told_by_lameduck_or_the_channels_end_and_nothing_else() {
        use std::os::fd::AsFd;
        let within = Duration::from_millis(200);
        let parent = nix::unistd::getppid();
        let (supervisor, child) = crate::fdpass::socketpair().unwrap();
        let child = ChildEnd::new(child);
        // Silence: something else shut the listeners.
        assert_eq!(super::stop_began(&child, parent, within), None);
        // Unless the supervisor is gone, its end of the channel held open
        // by another process (a sibling's exec that hangs): here a pid
        // that is not this process's parent.
        let not_parent = nix::unistd::Pid::from_raw(parent.as_raw() + 1);
        assert_eq!(
            super::stop_began(&child, not_parent, within),
            Some(super::StopSign::ChannelEnd)
        );
        let lameduck = crate::link::encode(ToChild::Lameduck { refuse: true });
        crate::fdpass::send(supervisor.as_fd(), &lameduck, &[]).unwrap();
        assert_eq!(
            super::stop_began(&child, parent, within),
            Some(super::StopSign::Lameduck)
        );
        drop(supervisor);
        assert_eq!(
            super::stop_began(&child, parent, within),
            Some(super::StopSign::ChannelEnd),
            "the channel's end"
        );
    }

    #[test]
    fn a_signal_during_the_wait_for_a_stop_sign_is_waited_past() {
        use std::os::fd::AsFd;
        use std::os::unix::thread::JoinHandleExt;
        extern "C" fn nothing(_: nix::libc::c_int) {}
        // SIGWINCH, which no other test uses, caught by a handler that
        // does nothing: it interrupts a receive, as SIGHUP's does in a
        // child.
        let catch = nix::sys::signal::SigAction::new(
            nix::sys::signal::SigHandler::Handler(nothing),
            nix::sys::signal::SaFlags::SA_RESTART,
            nix::sys::signal::SigSet::empty(),
        );
        // SAFETY: the handler does nothing, so is async-signal-safe.
        unsafe { nix::sys::signal::sigaction(nix::sys::signal::SIGWINCH, &catch) }.unwrap();
        let (supervisor, child) = crate::fdpass::socketpair().unwrap();
        let child = ChildEnd::new(child);
        let parent = nix::unistd::getppid();
        let waiting =
            std::thread::spawn(move || super::stop_began(&child, parent, Duration::from_secs(30)));
        for _ in 0..10 {
            std::thread::sleep(Duration::from_millis(20));
            let thread = waiting.as_pthread_t();
            // SAFETY: the thread is joined below, so its id is live.
            let sent = unsafe { nix::libc::pthread_kill(thread, nix::libc::SIGWINCH) };
            assert_eq!(sent, 0);
        }
        let lameduck = crate::link::encode(ToChild::Lameduck { refuse: true });
        // Not sent if the wait has ended already (and dropped its end).
        let _ = crate::fdpass::send(supervisor.as_fd(), &lameduck, &[]);
        let sign = waiting.join().unwrap();
        assert_eq!(
            sign,
            Some(super::StopSign::Lameduck),
            "a signal read as no stop"
        );
    }

    #[test]
    fn a_receive_timeout_below_a_microsecond_still_times_out() {
        let (_supervisor, child) = crate::fdpass::socketpair().unwrap();
        let child = ChildEnd::new(child);
        child.set_recv_timeout(Duration::from_nanos(500)).unwrap();
        let (done, timed_out) = std::sync::mpsc::channel();
        std::thread::spawn(move || done.send(child.recv().is_err()));
        assert_eq!(timed_out.recv_timeout(Duration::from_secs(10)), Ok(true));
    }

    #[test]
    fn a_listener_held_off_that_this_binary_turns_on_is_refused() {
        let config = crate::Littleboss::new("svc")
            .listener("metrics", "tcp::9100")
            .flag("lb")
            .config;
        let entries = [ListenerEntry {
            name: "metrics".to_owned(),
            network: Network::Tcp,
            bound: false,
            file: None,
            managers: false,
            served_beside: false,
        }];
        let on = ListenerSpec::parse("metrics", "tcp::9100").unwrap();
        let error = adopt(&config, &entries, Vec::new(), &[on]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "this binary gives listener `metrics` the address `:9100`, but it is off in the running supervisor (a SIGHUP or a restart keeps the serving child's listeners); run this binary with `-lb=reload` to turn it on"
        );
        // Off by the arguments too (`-metrics=`): off it is.
        let off = ListenerSpec::parse("metrics", "tcp:").unwrap();
        let adopted = adopt(&config, &entries, Vec::new(), &[off]).unwrap();
        assert!(adopted[0].fd.is_none());
        // Declared of another kind now, off on both sides: no socket is
        // held to misfit, and it is off as this binary declares it.
        let config = crate::Littleboss::new("svc")
            .listener("metrics", "udp:")
            .config;
        let off = ListenerSpec::parse("metrics", "udp:").unwrap();
        let adopted = adopt(&config, &entries, Vec::new(), &[off]).unwrap();
        assert!(adopted[0].fd.is_none());
        assert_eq!(adopted[0].network, Network::Udp);
        // Turned on, it is said to be off in the supervisor, not of
        // another kind.
        let on = ListenerSpec::parse("metrics", "udp::9100").unwrap();
        let error = adopt(&config, &entries, Vec::new(), &[on]).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("it is off in the running supervisor"),
            "{error}"
        );
    }

    #[test]
    fn a_processs_parent_is_read_past_any_name() {
        use super::parent_in_stat;
        assert_eq!(parent_in_stat(b"7 (a) b) c) S 42 7 7"), Some(42));
        assert_eq!(parent_in_stat(b"7 (\xff\xfe x) S 43 7"), Some(43));
        assert_eq!(parent_in_stat(b"7 (no end S 42"), None);
        // Without /proc: a supervisor that is init is found; init reached
        // is the end; a parent outside our namespace, not known.
        use super::{Ancestry, ancestry};
        assert_eq!(ancestry(1, 1), Ancestry::Found);
        assert_eq!(ancestry(1, 42), Ancestry::NotFound);
        assert_eq!(ancestry(0, 42), Ancestry::Unknown);
        // This process's own, where /proc numbers processes as we do.
        let (me, parent) = (std::process::id() as i32, nix::unistd::getppid().as_raw());
        if crate::proc_pid::numbers_ours() && parent > 1 {
            assert_eq!(super::parent_of(me), Some(parent));
            assert_eq!(ancestry(me, parent), Ancestry::Found);
            assert_eq!(ancestry(me, me), Ancestry::Found);
            // A pid no process has: up to init, not found (or, past as
            // many launchers as are looked through, not known).
            assert_ne!(ancestry(me, i32::MAX), Ancestry::Found);
        }
    }

    #[test]
    fn a_socket_held_for_another_ip_family_than_declared_is_refused() {
        // Held for `tcp4` (0.0.0.0), declared `tcp6` now, reloaded by a
        // SIGHUP: it would serve IPv4 alone.
        let config = crate::Littleboss::new("svc")
            .listener("http", "tcp6::0")
            .config;
        let held = |network| {
            let spec = ListenerSpec {
                name: "http".to_owned(),
                network,
                address: Some("127.0.0.1:0".to_owned()),
            };
            let fd = crate::listener::bind(&spec).unwrap().unwrap().fd;
            let entry = ListenerEntry {
                name: "http".to_owned(),
                network,
                bound: true,
                file: None,
                managers: false,
                served_beside: false,
            };
            (entry, fd)
        };
        let (entry, fd) = held(Network::Tcp4);
        let error = adopt(&config, &[entry], vec![fd], &config.listeners).unwrap_err();
        assert_eq!(
            error.to_string(),
            "listener `http` is tcp6 in this binary but the supervisor holds a tcp4 socket (a SIGHUP or a restart keeps the serving child's listeners); run this binary with `-littleboss=reload` to bind it anew"
        );
        // Declared `tcp`, which takes IPv4: kept.
        let config = crate::Littleboss::new("svc")
            .listener("http", "tcp::0")
            .config;
        let (entry, fd) = held(Network::Tcp4);
        let adopted = adopt(&config, &[entry], vec![fd], &config.listeners).unwrap();
        assert!(adopted[0].fd.is_some());
        assert_eq!(adopted[0].network, Network::Tcp4);
        // Declared of another kind: refused as such, not as unfit.
        let config = crate::Littleboss::new("svc")
            .listener("http", "udp::0")
            .config;
        let (entry, fd) = held(Network::Tcp4);
        let error = adopt(&config, &[entry], vec![fd], &config.listeners).unwrap_err();
        assert!(
            (error.to_string()).starts_with(
                "listener `http` is udp in this binary but the supervisor holds a tcp4 socket"
            ),
            "{error}"
        );
    }

    #[test]
    fn adopt_errors_say_what_is_wrong() {
        let count = AdoptListenersError::Count {
            announced: 2,
            passed: 1,
        };
        assert_eq!(
            count.to_string(),
            "the supervisor announced 2 listeners but passed 1 fds"
        );
        // The mode flag as the program names it (`flag = "lb"`).
        let not_held = AdoptListenersError::NotHeld {
            name: "admin".to_owned(),
            flag: "lb".to_owned(),
        };
        assert_eq!(
            not_held.to_string(),
            "this binary declares listener `admin`, which the running supervisor does not hold (a SIGHUP or a restart keeps the serving child's listeners); run this binary with `-lb=reload` to add it"
        );
        let kind = AdoptListenersError::Kind {
            name: "dns".to_owned(),
            declared: Network::Udp,
            held: Network::Tcp4,
            flag: "littleboss".to_owned(),
        };
        assert_eq!(
            kind.to_string(),
            "listener `dns` is udp in this binary but the supervisor holds a tcp4 socket (a SIGHUP or a restart keeps the serving child's listeners); run this binary with `-littleboss=reload` to bind it anew"
        );
        let not_fit = AdoptListenersError::NotFit {
            name: "https".to_owned(),
            error: NotFit::NotListening {
                fd: 5,
                network: Network::Tcp,
            },
        };
        assert_eq!(
            not_fit.to_string(),
            "listener `https`: the supervisor passed fd 5, a tcp socket that no longer listens (shut by another process holding it: a child told to stop, or a program's own shutdown)"
        );
        assert!(std::error::Error::source(&not_fit).is_some());
    }
}
