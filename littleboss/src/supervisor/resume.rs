//! The new image of a supervisor that re-executed itself: it takes over
//! the state and the descriptors its previous image handed over, or, if it
//! cannot, goes back to the previous binary, which takes them back.
//!
//! `supervisor_init` does not run again: it ran once for this service,
//! and what it did (dropped privileges, a changed environment, a chroot)
//! lasts across exec, so running it again could only fail or repeat it.

use std::ffi::OsString;
use std::os::fd::{AsFd, AsRawFd, IntoRawFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use tokio::sync::mpsc;

use super::handoff::{self, Handoff};
use super::machine::{ChildExit, ChildId, Event, Machine, STATE_VERSION};
use super::{Serving, driver, reexec, runtime, serve, signals, spawn};
use crate::config::Config;
use crate::control::server::ServiceLock;
use crate::exit::fail;
use crate::log::log;
use crate::own_file::OwnFile;

/// The new image's pid while [`go_back_should_the_program_exit`] is armed:
/// from the binary's start until [`resume`] runs, which goes back itself
/// when it must. 0: not armed.
static ARMED: AtomicI32 = AtomicI32::new(0);

/// Whether the handed-over descriptors were claimed, by [`resume`] or by
/// the `atexit` hook of a program exiting before it on another thread:
/// one of the two owns them.
static CLAIMED: AtomicBool = AtomicBool::new(false);

/// What the previous image is told when the new one's program exited
/// before [`resume`].
const EXITED_BEFORE_RUN: &str = "its code before `run` exited (in a new image it must accept the supervisor's command line and not exit)";

/// Arms going back to the previous binary should the program exit before
/// it calls `run` (a builder program's code there, parsing the command
/// line the supervisor was started with, may refuse it): as the binary of
/// a new image loads, not of one gone back to, which has nothing to go
/// back to. An exit runs the hook (`exit`, a return from `main`, a panic
/// that unwinds out of it); an abort or a hang does not.
pub(crate) fn go_back_should_the_program_exit() {
    ARMED.store(nix::unistd::getpid().as_raw(), Ordering::SeqCst);
    // SAFETY: registers a function with no arguments, for the C library
    // to call at `exit`; nothing is freed or borrowed.
    unsafe { nix::libc::atexit(exited_before_resume) };
}

/// The `atexit` hook: the program exits before `resume`. The previous
/// image takes the state back (it has every descriptor still, this image
/// having taken none), and does not try this binary again (until it
/// refuses another). Not in a process the
/// program forked (another pid), which holds nothing for the supervisor.
extern "C" fn exited_before_resume() {
    let armed = ARMED.swap(0, Ordering::SeqCst);
    if armed == 0 || armed != nix::unistd::getpid().as_raw() {
        return;
    }
    // `resume` took them, on another thread, as this one exits.
    if CLAIMED.swap(true, Ordering::SeqCst) {
        return;
    }
    // The program's code may have restored SIGPIPE's default: a line to
    // a closed stderr must not end this image before it goes back.
    crate::sigpipe::ignore();
    let Some(value) = handoff_var() else { return };
    // Its lines off the loop, as `resume`'s: a full stderr must not hold
    // the service's every descriptor here, unserved, for as long as
    // nobody reads it (the exec back waits for them a while, and passes
    // on how many went unsaid). The writer thread starts inside `exit`,
    // where `thread::spawn` panicked in Rust 1.85 (its thread-locals
    // gone; rust#138696), fixed before 1.88, the `rust-version`.
    crate::log::off_the_loop();
    // SAFETY: the previous image named these two descriptors for this
    // image alone, and `resume`, which takes them otherwise, did not
    // claim them (`CLAIMED`, swapped above: one of the two takes them).
    let (memfd, previous) = match unsafe { handoff::take(&value.to_string_lossy()) } {
        Ok(taken) => taken,
        Err(error) => {
            // Nothing to go back with: the supervisor's state is lost.
            log!("the new supervisor image exits before `run`, and cannot go back: {error}");
            return crate::log::flush(crate::log::EXIT_PATIENCE);
        }
    };
    let error = exec_going_back(&memfd, &previous, EXITED_BEFORE_RUN, true);
    // Inside `exit` already: said, and the exit goes on.
    log!("cannot go back to the previous binary: {error}");
    crate::log::flush(crate::log::EXIT_PATIENCE);
}

/// The handoff variable, when this process is the new image of a
/// supervisor (checked before any other mode).
pub(crate) fn handoff_var() -> Option<OsString> {
    crate::inherited::var(handoff::ENV_VAR)
}

/// Runs as the supervisor whose state the previous image handed over in
/// `value` (see [`handoff`]). Called once per process (`dispatch::run`),
/// on the thread of the first call of `run`; the program's code before it
/// may have started others, one of which may exit meanwhile (`CLAIMED`).
///
/// Until it serves, any failure goes back to the previous binary with
/// every handed descriptor still open: the service never stops because a
/// new image could not start.
///
/// `mistaken`: this binary's mistakes, told (its configuration's, a call
/// of `run` inside a tokio runtime), which send the state
/// back to the previous binary at once.
pub(crate) fn resume(config: &Config, value: OsString, mistaken: Option<&str>) -> ! {
    // A copy the program's code before `run` forked (a daemon's double
    // fork): the state and every descriptor are its parent's, which takes
    // over or goes back. Taking them too would make a second supervisor
    // of the same service. Nothing is touched; its parent's `atexit` is
    // not this process's (see `exited_before_resume`).
    let forked =
        crate::inherited::forked_copy("the supervisor's new image", "the supervisor's state");
    if let Some(why) = forked {
        fail(1, why);
    }
    // The program exits on another thread, and its `atexit` hook goes
    // back with the descriptors: nothing here is ours to take.
    if CLAIMED.swap(true, Ordering::SeqCst) {
        loop {
            std::thread::park();
        }
    }
    // From here on it goes back itself, where it must.
    ARMED.store(0, Ordering::SeqCst);
    // Before any line: the code before `run` may have restored SIGPIPE's
    // default.
    crate::sigpipe::ignore();
    // The code before `run`, run again in this image, may have closed a
    // standard stream, as `run` says: filled before anything is opened,
    // lest the runtime's own descriptors land there (a child would start
    // without it, and one handed over there be refused by the next image).
    super::standard_streams_reopened();
    // The children's channel's number, free since the exec (see `run`).
    super::spawn::reserve_channel_fd();
    // Its lines off the loop from the first: a full stderr must not stop
    // it halfway through taking over, or going back. (Its signals are
    // blocked since the previous image: the writer's are too.)
    crate::log::off_the_loop_with_panics();
    let rollback =
        crate::inherited::var(handoff::FAILED_VAR).map(|r| r.to_string_lossy().into_owned());
    let may_retry = crate::inherited::var(handoff::RETRY_VAR).is_some();
    let tries: u32 = crate::inherited::var(handoff::ROLLBACK_TRIES_VAR)
        .and_then(|t| t.to_str()?.parse().ok())
        .unwrap_or(0);
    // Taken as the binary loaded (`inherited`); set since only by a test.
    crate::environ::remove_env(&handoff::VARS);
    let value = value.to_string_lossy();
    // SAFETY: the previous image named these two descriptors for us alone,
    // and the `atexit` hook, which takes them otherwise, did not claim
    // them (`CLAIMED`, swapped above: one of the two takes them).
    let (memfd, previous) = unsafe { handoff::take(&value) }
        .unwrap_or_else(|e| fail(1, format!("cannot resume the supervisor: {e}")));
    // The previous image's lines its exec lost, said as dropped.
    let unsaid = crate::inherited::var(handoff::LOG_UNSAID_VAR);
    if let Some(unsaid) = unsaid.and_then(|u| handoff::log_unsaid(&u, memfd.as_fd())) {
        crate::log::count_dropped(unsaid);
    }
    handoff::test_pause("taking over");
    let reads = match rollback {
        None => handoff::version_read(),
        Some(_) => STATE_VERSION,
    };
    // `ours`: this binary is at fault, and would fail the same way again
    // (its configuration, the state's version); not so when it ran short
    // of descriptors or memory.
    let give_up = |why: String, ours: bool| -> ! {
        match &rollback {
            None => go_back(&memfd, &previous, &why, ours),
            // Short of memory or descriptors as the image before was, say:
            // a moment later it may pass, and giving up ends the service.
            Some(first) if !ours && tries < handoff::ROLLBACK_TRIES => {
                // The exec of itself may fail for the same passing reason:
                // that too is a try, not the end of the service.
                let tries = tries + 1;
                log!(
                    "cannot take the supervisor's state back after a failed upgrade ({first}): {why}; trying again ({tries} of {})",
                    handoff::ROLLBACK_TRIES
                );
                std::thread::sleep(std::time::Duration::from_millis(100 << tries));
                let vars = |tries: u32| {
                    let mut vars = vec![(handoff::FAILED_VAR, first.clone())];
                    if may_retry {
                        vars.push((handoff::RETRY_VAR, "1".to_owned()));
                    }
                    vars.push((handoff::ROLLBACK_TRIES_VAR, tries.to_string()));
                    vars
                };
                let retrying = |error: &std::io::Error, tries| {
                    log!(
                        "cannot run the previous binary again: {error}; trying again ({tries} of {})",
                        handoff::ROLLBACK_TRIES
                    )
                };
                let (error, tries) = exec_trying(&memfd, &previous, tries, vars, retrying);
                fail(
                    1,
                    format!(
                        "cannot take the supervisor's state back after a failed upgrade ({first}): cannot run the previous binary again: {error} (try {tries} of {})",
                        handoff::ROLLBACK_TRIES
                    ),
                )
            }
            Some(first) => {
                let after = if tries > 0 {
                    format!(" (after try {tries} of {})", handoff::ROLLBACK_TRIES)
                } else {
                    String::new()
                };
                fail(
                    1,
                    format!(
                        "cannot take the supervisor's state back after a failed upgrade ({first}): {why}{after}"
                    ),
                )
            }
        }
    };
    if let Some(mistakes) = mistaken {
        give_up(mistakes.to_owned(), true);
    }
    let mut handoff = match Handoff::read(&memfd, reads) {
        Ok(handoff) => handoff,
        Err(e) => give_up(e.to_string(), e.blames_the_reader()),
    };
    // A name worked out at run time (the builder's) that came out another
    // here: this image would hold the service's socket under another
    // name, and refuse every child of the service's own.
    if rollback.is_none()
        && let Some(why) = another_service(&config.name, &handoff.state.settings.name)
    {
        give_up(why, true);
    }
    let carriers = [memfd.as_raw_fd(), previous.as_raw_fd()];
    let mut held = adopt_all(&handoff, carriers).unwrap_or_else(|(why, ours)| give_up(why, ours));
    // What came across, named before the descriptors go to the runtime.
    let kept_children: Vec<ChildId> = held.children.iter().map(|(id, _)| *id).collect();
    let kept_clients: Vec<u64> = held.clients.iter().map(|(id, _)| *id).collect();
    let rt = match crate::test_hook::counted_down(handoff::TEST_RUNTIME_FAILS_VAR) {
        true => Err("test: cannot start the tokio runtime".to_owned()),
        false => runtime(),
    };
    let rt = rt.unwrap_or_else(|e| give_up(e, false));
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    let registered = {
        let _runtime = rt.enter();
        signals::forward(events_tx.clone())
            .unwrap_or_else(|e| give_up(format!("cannot handle signals: {e}"), false));
        // An image gone back on its last try has nowhere left to go.
        let lenient = rollback.is_some() && tries >= handoff::ROLLBACK_TRIES;
        register(&handoff, &mut held, lenient)
    };
    // Going back (or, gone back already, trying again) keeps them all; on
    // the last try only the control socket can fail here, which ends the
    // service.
    let registered = registered.unwrap_or_else(|why| give_up(why, false));
    // The signalfd is open: what arrived during the exec, still pending,
    // comes after the events the previous image handed over.
    drop((memfd, previous));
    // Anything handed over that this image did not take (a newer image's
    // field it does not know) must not reach its children.
    super::close_inherited_on_exec();
    super::orphans::adopt_orphans();
    let notifier = handoff
        .notify
        .as_ref()
        .and_then(|(socket, ping)| crate::notify::Notifier::resume(socket, *ping, held.notify))
        .map(Arc::new);
    spawn::inherit_channel_var();
    // This binary's settings from now on (a new lameduck, restart limit...).
    // (A folder deleted since leaves its path unknown, as `current_dir`
    // fails: no socket file can be in it any more, so none is matched as
    // held by a path there.)
    if rollback.is_none() {
        handoff.state.settings = super::settings_of(config);
    }
    let first = match rollback {
        None => Event::Upgraded,
        Some(error) => Event::UpgradeFailed {
            error,
            refuse: !may_retry,
        },
    };
    // The clients of requests handed over whose connections did not come
    // across (closed before the exec, or not handed over): gone, told
    // after the events handed over, so that a reload of theirs that comes
    // to be queued is dropped as if they had hung up here.
    let gone = super::machine::gone_clients(&handoff.pending, &kept_clients);
    // What did not come across, right after the first event: before
    // anything handed over could give a child a listener lost, and while
    // no upgrade can be due (the one just made or given up on stands), so
    // that these events of this build's own are never handed over to an
    // image that may not read them.
    let lost_listeners = std::mem::take(&mut held.lost).into_iter();
    let lost_listeners = lost_listeners.map(|(key, error)| Event::ListenerLost { key, error });
    let lost_children = lost_children(&handoff, &kept_children, &handoff.pending);
    let mut events = vec![first];
    events.extend(lost_listeners);
    events.extend(lost_children);
    events.extend(std::mem::take(&mut handoff.pending));
    events.extend(gone);
    events.extend(registered.gone);
    // Registered under other descriptors: the handed-over ones go (on the
    // last try, registered themselves, taken already).
    drop((held.control, held.children, held.clients, held.idle));
    let serving = Serving {
        control: registered.control,
        control_fd: held.control_fd,
        control_file: match handoff.control_id {
            // Gone already, as the image before knew.
            Some([0, 0]) => None,
            id => OwnFile::handed(&handoff.control_path, id),
        },
        socket_path: handoff.control_path,
        lock: held.lock,
        watch: held.watch,
        folder_lock: None,
        sockets: held.sockets,
        notifier,
        events_tx,
        events_rx,
        origin_ns: handoff.origin_ns,
        made_at_start: std::mem::take(&mut handoff.made_at_start),
        control_out_of_sight: handoff.control_out_of_sight,
    };
    let begin = driver::Begin::Resume {
        events,
        children: registered.children,
        clients: registered.clients,
        refused: std::mem::take(&mut handoff.refused),
        next_client: handoff.next_client,
        binaries: held.binaries,
    };
    let mut state = handoff.state;
    // An older image did not record its folder.
    if state.settings.working_dir_id.is_none() {
        state.settings = state.settings.in_working_folder();
    }
    // (Where stderr goes `settings_of` read above; gone back, this image's
    // own state says.) Whether a passed socket is IPv6-only: read from
    // the socket itself, which an older image did not record.
    for (key, socket) in &serving.sockets {
        if let Some(held) = state.held.get_mut(key).filter(|h| h.activated) {
            held.ipv6_only = crate::socket::ipv6_only_wildcard(socket.fd.as_fd());
        }
    }
    serve(rt, Machine::resume(state), serving, begin)
}

/// The descriptors of a handoff, owned again.
struct Held {
    /// Taken by [`register`] on an image's last try.
    control: Option<std::os::unix::net::UnixListener>,
    /// Another descriptor of the control socket, for the next upgrade.
    control_fd: OwnedFd,
    lock: ServiceLock,
    sockets: std::collections::HashMap<super::machine::ListenerKey, driver::Socket>,
    /// The listeners the state holds whose descriptors were not handed
    /// over (closed by this binary's code before `run`, say), and why.
    lost: Vec<(super::machine::ListenerKey, String)>,
    children: Vec<(ChildId, OwnedFd)>,
    clients: Vec<(u64, driver::KeptConnection)>,
    idle: Vec<driver::KeptConnection>,
    binaries: Vec<(ChildId, OwnedFd)>,
    /// The control folder's inotify instance.
    watch: Option<OwnedFd>,
    /// The socket connected to the service manager's notify socket.
    notify: Option<OwnedFd>,
}

/// Why this image, of service `ours`, cannot take over the state of
/// service `handed` (`None` when they are one).
fn another_service(ours: &str, handed: &str) -> Option<String> {
    (ours != handed).then(|| {
        format!("its service name is `{ours}`, not `{handed}`: it is a binary of another service")
    })
}

/// Owns every descriptor the handoff names (and makes each close-on-exec
/// again). Without the control socket or the lock nothing can be served;
/// a missing listener, child channel or client connection is logged and
/// left out (going back would not bring it back: a descriptor this image
/// closed is gone from the process). A missing listener is named in
/// [`Held::lost`], for the state to hold it no more.
///
/// The error says why, and whether this binary would fail the same way
/// again (see [`fails_again`]).
fn adopt_all(handoff: &Handoff, carriers: [RawFd; 2]) -> Result<Held, (String, bool)> {
    // Every number taken so far, in the order below: a number named twice
    // (a bug of the image that wrote it) is its first name's alone.
    let taken = std::cell::RefCell::new(Vec::new());
    let adopt_any = |fd: RawFd| {
        if let Some(refused) = misnamed(fd, &taken.borrow(), carriers) {
            return Err(refused);
        }
        taken.borrow_mut().push(fd);
        // Not a file the program's code before `run` opened at that
        // number: it is the program's (and what was handed over is gone).
        if crate::inherited::not_as_handed(fd) {
            return Err(crate::fdpass::AdoptError::Replaced { fd });
        }
        // SAFETY: the previous image named each descriptor once, for us
        // (a number named again, or one that cannot be handed over, was
        // refused just above), and it is still what it handed over (just
        // checked).
        unsafe { crate::fdpass::adopt(fd) }
    };
    // And of the kind handed over: without /proc (a chroot) the check
    // above cannot tell a file the program opened at that number, which
    // is let go of unclosed, as the program's.
    let adopt = |fd: RawFd, kind: Handed| {
        let adopted = adopt_any(fd)?;
        match kind.of(&adopted) {
            true => Ok(adopted),
            false => {
                let _ = adopted.into_raw_fd();
                Err(crate::fdpass::AdoptError::Replaced { fd })
            }
        }
    };
    // On a failure here the image that takes over next (the previous one)
    // needs every descriptor still open: what was adopted is let go of
    // unclosed.
    let control = adopt(handoff.control, Handed::Listening)
        .map(std::os::unix::net::UnixListener::from)
        .map_err(|e| {
            let why = format!("the control socket was not handed over: {e}");
            (why, fails_again(&e))
        })?;
    let control_fd = match control.try_clone() {
        Ok(fd) => OwnedFd::from(fd),
        Err(e) => {
            let _ = control.into_raw_fd();
            return Err((format!("control socket: {e}"), false));
        }
    };
    // The file handed over, as the previous image saw it (not the file
    // its path names: a cleaner may have removed it, and a successor made
    // another there).
    let lock = adopt(handoff.lock, Handed::File)
        .and_then(|fd| {
            let now = crate::inherited::file_identity(fd.as_raw_fd());
            match handoff.lock_id.is_none_or(|then| now == Some(then)) {
                true => Ok(fd),
                false => {
                    let _ = fd.into_raw_fd();
                    Err(crate::fdpass::AdoptError::Replaced { fd: handoff.lock })
                }
            }
        })
        .map_err(|e| {
            let why = format!("the service lock was not handed over: {e}");
            (why, fails_again(&e))
        })
        .and_then(|fd| {
            ServiceLock::resume(fd, handoff.lock_path.clone()).map_err(|e| {
                // Only the kernel out of lock records (ENOLCK), or a
                // signal interrupting the call (EINTR), may pass.
                let passing = matches!(
                    e,
                    crate::control::server::ControlError::Lock {
                        error: nix::Error::ENOLCK | nix::Error::EINTR,
                        ..
                    }
                );
                let why = format!("the service lock was handed over, but not held again: {e}");
                (why, !passing)
            })
        });
    let lock = match lock {
        Ok(lock) => lock,
        Err(failed) => {
            let _ = (control.into_raw_fd(), control_fd.into_raw_fd());
            return Err(failed);
        }
    };
    let mut sockets = std::collections::HashMap::new();
    let mut lost = Vec::new();
    for socket in &handoff.sockets {
        let adopted = adopt_any(socket.fd)
            .map_err(|e| e.to_string())
            .and_then(|fd| {
                match crate::socket::check_fd(&fd, socket.key.network) {
                    Ok(()) => Ok(fd),
                    // The number reused (the listener closed, then a file of
                    // the program's own opened): not ours to keep or close.
                    Err(e) => {
                        let _ = fd.into_raw_fd();
                        Err(format!("fd {} is no longer its socket ({e})", socket.fd))
                    }
                }
            });
        match adopted {
            Ok(fd) => {
                let unix_file = (socket.unix_path.as_ref())
                    .and_then(|path| OwnFile::handed(path, socket.unix_id));
                let held = driver::Socket::handed(fd, unix_file, socket.unix_folder);
                sockets.insert(socket.key.clone(), held);
            }
            // What it means, the machine decides (`Event::ListenerLost`).
            Err(e) => lost.push((socket.key.clone(), e)),
        }
    }
    // What each was, and what its loss means, said with it (`what`).
    let keep = |what: &dyn Fn(u64) -> String, kind: Handed, (id, fd): &(u64, RawFd)| match adopt(
        *fd, kind,
    ) {
        Ok(fd) => Some((*id, fd)),
        Err(e) => {
            log!("{} was not handed over: {e}", what(*id));
            None
        }
    };
    let child_pid = |id: u64| {
        let pid = handoff.state.children.get(&id).and_then(|c| c.pid);
        pid.map_or_else(|| format!("child {id}"), |pid| format!("child pid {pid}"))
    };
    let channel = |id| format!("the channel of {}", child_pid(id));
    let binary = |id| {
        format!(
            "the binary of {} (a rollback or restart to it runs the file at its path, whatever is there now)",
            child_pid(id)
        )
    };
    let named = |what: &'static str| move |_| what.to_owned();
    Ok(Held {
        control: Some(control),
        control_fd,
        lock,
        sockets,
        lost,
        children: (handoff.children.iter())
            .filter_map(|entry| keep(&channel, Handed::Channel, entry))
            .collect(),
        clients: (handoff.clients.iter())
            .filter_map(|entry| keep(&named("a control connection"), Handed::Connection, entry))
            .map(|(id, conn)| (id, kept(handoff, conn)))
            .collect(),
        idle: (handoff.idle.iter())
            .filter_map(|fd| {
                let what = named("an idle control connection");
                keep(&what, Handed::Connection, &(0, *fd))
            })
            .map(|(_, conn)| kept(handoff, conn))
            .collect(),
        binaries: (handoff.binaries.iter())
            .filter_map(|entry| keep(&binary, Handed::Any, entry))
            .collect(),
        watch: (handoff.watch)
            .and_then(|fd| keep(&named("the control folder's watch"), Handed::Any, &(0, fd)))
            .and_then(|(_, fd)| inotify_or_let_go(fd, &handoff.control_path)),
        notify: (handoff.notify_fd)
            .and_then(|fd| {
                keep(
                    &named(
                        "the socket connected to the service manager (notifications go by its path)",
                    ),
                    Handed::Datagram,
                    &(0, fd),
                )
            })
            .map(|(_, fd)| fd),
    })
}

/// What a handed-over descriptor must be, as far as its kind tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Handed {
    /// The control socket: a listening unix stream socket.
    Listening,
    /// A child's channel: a unix seqpacket socket.
    Channel,
    /// A control connection: a unix stream socket, connected.
    Connection,
    /// The service lock: a regular file.
    File,
    /// The socket connected to the service manager: a unix datagram
    /// socket.
    Datagram,
    /// Checked otherwise, or not at all (a binary held by `O_PATH`).
    Any,
}

impl Handed {
    /// Whether `fd` is of this kind.
    fn of(self, fd: &OwnedFd) -> bool {
        use nix::sys::socket::{AddressFamily, SockType, SockaddrLike, SockaddrStorage};
        use nix::sys::socket::{getsockopt, sockopt};
        let unix = || {
            let named = nix::sys::socket::getsockname::<SockaddrStorage>(fd.as_raw_fd());
            named.ok().and_then(|address| address.family()) == Some(AddressFamily::Unix)
        };
        let ty = || getsockopt(fd, sockopt::SockType).ok();
        let listening = || getsockopt(fd, sockopt::AcceptConn).unwrap_or(false);
        match self {
            Handed::Listening => crate::socket::check_fd(fd, crate::spec::Network::Unix).is_ok(),
            Handed::Channel => unix() && ty() == Some(SockType::SeqPacket),
            Handed::Connection => unix() && ty() == Some(SockType::Stream) && !listening(),
            Handed::File => nix::sys::stat::fstat(fd)
                .is_ok_and(|st| st.st_mode & nix::libc::S_IFMT == nix::libc::S_IFREG),
            Handed::Datagram => unix() && ty() == Some(SockType::Datagram),
            Handed::Any => true,
        }
    }
}

/// Why the handoff's descriptor `fd` cannot be taken, whatever is open
/// there, if it cannot: it is one of `taken` already, no descriptor
/// number, or one of the two the handoff came in (`carriers`). Only a bug
/// of the image that wrote it names such a number; a second owner would
/// close it under the first. (0 to 2 pass here, but the listing at start
/// leaves them out, so one handed there is refused as replaced
/// (`inherited::not_as_handed`), or, without `/proc`, by its kind:
/// each image fills a standard stream the program's code closed before
/// it opens anything, and only an earlier release's image, which did not
/// in a new image, could name one.)
fn misnamed(fd: RawFd, taken: &[RawFd], carriers: [RawFd; 2]) -> Option<crate::fdpass::AdoptError> {
    use crate::fdpass::AdoptError;
    if fd < 0 || carriers.contains(&fd) {
        return Some(AdoptError::Reserved { fd });
    }
    taken.contains(&fd).then_some(AdoptError::NamedTwice { fd })
}

/// `fd`, if it is still the watch of the folder of the control socket at
/// `socket`. Every anonymous-inode file (inotify, epoll, eventfd) has one
/// device and inode, so the check for a replaced descriptor cannot tell
/// the watch from an epoll instance, or an inotify instance of its own,
/// that the program's code before `run` opened at its number: the kind
/// can, and what it watches. Not ours, or not known to be an inotify
/// instance: let go of unclosed, as the program's, and said (the driver
/// watches the folder anew).
fn inotify_or_let_go(fd: OwnedFd, socket: &std::path::Path) -> Option<OwnedFd> {
    let link = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()));
    use crate::control::watch::{folder_inode, watched_by};
    let watches = watched_by(fd.as_raw_fd()).zip(folder_inode(socket));
    let kept = still_the_watch(link.as_deref().ok(), watches.as_ref());
    if let Err(why) = kept {
        let fd = fd.into_raw_fd();
        log!("the control folder's watch was not handed over: fd {fd} {why}");
        return None;
    }
    Some(fd)
}

/// Whether a handed-over descriptor is still the control folder's watch,
/// by what `/proc/self/fd` links it to (`None`: unreadable, no `/proc`)
/// and, where they can be read, the inodes it watches and the folder's;
/// else why not. Unread, its kind is unknown, and an inotify instance is
/// what the program's code is not: one read as such, from another file
/// at its number, would be read out of its bounds.
fn still_the_watch(
    link: Option<&std::path::Path>,
    watches: Option<&(Vec<u64>, u64)>,
) -> Result<(), &'static str> {
    // `anon_inode:inotify` on Linux; gVisor names each instance,
    // `anon_inode:[inotifyfd:N]`.
    let Some(link) = link.map(|link| link.to_string_lossy()) else {
        return Err("cannot be told to be it (/proc unreadable)");
    };
    let another =
        "is another file than the one handed over (closed and opened again by code before `run`?)";
    if !(link.starts_with("anon_inode:") && link.contains("inotify")) {
        return Err(another);
    }
    // One that watches nothing is taken as ours: the folder it watched
    // was removed, which its queue tells; so is one whose folder is gone,
    // and one whose watches cannot be read.
    match watches {
        Some((watched, folder)) if !watched.is_empty() && !watched.contains(folder) => Err(another),
        _ => Ok(()),
    }
}

/// What the driver waits on, registered with the runtime while the state
/// can still go back: a failure after the previous binary is let go of
/// would lose the child or the client. Each is registered through a
/// second descriptor, so that the handed-over one stays open at its
/// number for an image that takes the state back; on an image's last
/// try, with nothing left to go back to, through the handed-over one.
struct Registered {
    control: tokio::net::UnixListener,
    children: Vec<driver::Rewatched>,
    clients: Vec<driver::Reconnected>,
    /// The children and clients done without: handed over never spawned
    /// (which cannot be), or, when `lenient`, not registered.
    gone: Vec<Event>,
}

/// Registers what [`Held`] holds with the runtime (entered), or says why
/// it could not, at the first failure (short of memory or descriptors).
/// `lenient`: nothing is left to go back to, so the handed-over
/// descriptors themselves are taken, where the tries before took copies
/// (short of descriptors, the likely reason they failed), and a child
/// that cannot be registered is killed, and a client dropped, rather
/// than end the service with them all; only the control socket is a must.
fn register(handoff: &Handoff, held: &mut Held, lenient: bool) -> Result<Registered, String> {
    let control = match lenient {
        true => held.control.take().map(Ok),
        false => (held.control.as_ref()).map(|control| spare_copy(control).map(Into::into)),
    };
    // (Taken only here, once: never missing.)
    let control = (control.unwrap_or_else(|| Err(std::io::Error::other("taken already"))))
        .and_then(super::registered)
        .map_err(|e| format!("cannot serve the control socket: {e}"))?;
    let fails = crate::test_hook::counted_down(handoff::TEST_REWATCH_FAILS_VAR);
    let channels: Vec<(ChildId, std::io::Result<OwnedFd>)> = match lenient {
        true => (std::mem::take(&mut held.children).into_iter())
            .map(|(id, channel)| (id, Ok(channel)))
            .collect(),
        false => (held.children.iter())
            .map(|(id, channel)| (*id, spare_copy(channel)))
            .collect(),
    };
    let conns: Vec<(Option<u64>, std::io::Result<driver::KeptConnection>)> = match lenient {
        true => {
            let awaiting = std::mem::take(&mut held.clients).into_iter();
            let idle = std::mem::take(&mut held.idle).into_iter();
            (awaiting.map(|(id, kept)| (Some(id), Ok(kept))))
                .chain(idle.map(|kept| (None, Ok(kept))))
                .collect()
        }
        false => {
            let copy = |kept: &driver::KeptConnection| {
                spare_copy(&kept.conn).map(|conn| driver::KeptConnection {
                    conn,
                    unread: kept.unread.clone(),
                    unsent: kept.unsent.clone(),
                })
            };
            let awaiting = held
                .clients
                .iter()
                .map(|(id, kept)| (Some(*id), copy(kept)));
            awaiting
                .chain(held.idle.iter().map(|kept| (None, copy(kept))))
                .collect()
        }
    };
    // Every copy made before any pidfd is opened: short of descriptors, a
    // pidfd's failure would say that the child is watched by pid, which
    // going back makes untrue.
    let failed_copy = (channels.iter()).find_map(|(id, channel)| {
        let pid = handoff.state.children.get(id)?.pid?;
        channel.as_ref().err().map(|e| (pid, e))
    });
    if let Some((pid, e)) = failed_copy {
        return Err(format!("cannot watch child pid {pid} again: {e}"));
    }
    if let Some(e) = conns.iter().find_map(|(_, kept)| kept.as_ref().err()) {
        return Err(format!("cannot take back a control connection: {e}"));
    }
    let mut children = Vec::new();
    let mut gone = Vec::new();
    for (id, channel) in channels {
        let Some(child) = handoff.state.children.get(&id) else {
            continue;
        };
        let Some(pid) = child.pid else {
            // No channel could have come from it.
            gone.push(Event::Exited {
                id,
                exit: ChildExit::Code(1),
            });
            continue;
        };
        // The test's failure comes after a real registration, let go of
        // after the kill (its channel's end would start its lameduck; a
        // real failure to register has closed the channel already).
        let child = channel.and_then(|channel| spawn::Rewatchable::new(pid, channel));
        let child = match (child, fails) {
            (Ok(child), false) => Ok(child),
            (Ok(child), true) => Err((
                std::io::Error::other("test: cannot register its channel"),
                Some(child),
            )),
            (Err(e), _) => Err((e, None)),
        };
        match child {
            Ok(child) => children.push(driver::Rewatched { id, child }),
            Err((e, _)) if spawn::NoLongerOurs::is(&e) => {
                // Going back cannot undo it.
                log!("cannot watch child pid {pid} again: {e}");
                gone.extend(spawn::ended_unseen(id, pid));
            }
            Err((e, registered)) if lenient => {
                // Unwatched, it could serve on or outlive its kill
                // deadline: killed (our unreaped child, so the pid is
                // still its own), with its group (forked workers), and
                // left for the orphan scan to reap.
                log!("cannot watch child pid {pid} again: {e}; killing it");
                spawn::kill_with_group(pid);
                drop(registered);
                let exit = ChildExit::Signal(nix::libc::SIGKILL);
                gone.push(Event::Exited { id, exit });
                gone.push(Event::Signal(super::machine::Signal::Chld));
            }
            Err((e, _)) => return Err(format!("cannot watch child pid {pid} again: {e}")),
        }
    }
    let mut clients = Vec::new();
    for (id, kept) in conns {
        let stream = kept.and_then(|kept| {
            let stream = std::os::unix::net::UnixStream::from(kept.conn);
            let stream = crate::control::server::stream(stream)?;
            Ok((stream, kept.unread, kept.unsent))
        });
        match stream {
            Ok((stream, unread, unsent)) => clients.push(driver::Reconnected {
                id,
                stream,
                unread,
                unsent,
            }),
            Err(e) if lenient => {
                log!("cannot take back a control connection: {e}");
                gone.extend(id.map(|client| Event::ClientGone { client }));
            }
            Err(e) => return Err(format!("cannot take back a control connection: {e}")),
        }
    }
    Ok(Registered {
        control,
        children,
        clients,
        gone,
    })
}

/// A second descriptor of `fd`, for [`register`]. Test hook
/// [`handoff::TEST_NO_SPARE_FDS_VAR`]: none can be had, as when short of
/// descriptors.
fn spare_copy(fd: &impl std::os::fd::AsFd) -> std::io::Result<OwnedFd> {
    if crate::test_hook::test_hook::<u8>(handoff::TEST_NO_SPARE_FDS_VAR) == Some(1) {
        return Err(std::io::Error::from_raw_os_error(nix::libc::EMFILE));
    }
    fd.as_fd().try_clone_to_owned()
}

/// Whether a descriptor this binary could not adopt would fail it again:
/// one not open was closed by this binary's own code before `run` (or
/// never handed over), and will be every time; one that could not be
/// made close-on-exec is a passing failure of the kernel.
fn fails_again(error: &crate::fdpass::AdoptError) -> bool {
    use crate::fdpass::AdoptError;
    matches!(
        error,
        AdoptError::NotOpen { .. }
            | AdoptError::Replaced { .. }
            | AdoptError::NamedTwice { .. }
            | AdoptError::Reserved { .. }
    )
}

/// A control connection taken back, with what it had sent that the
/// previous image read, and what it was owed and not yet sent.
fn kept(handoff: &Handoff, conn: OwnedFd) -> driver::KeptConnection {
    let fd = conn.as_raw_fd();
    let bytes_of = |handed: &[(RawFd, Vec<u8>)]| {
        handed
            .iter()
            .find(|(handed, _)| *handed == fd)
            .map(|(_, bytes)| bytes.clone())
            .unwrap_or_default()
    };
    driver::KeptConnection {
        conn,
        unread: bytes_of(&handoff.unread),
        unsent: bytes_of(&handoff.unsent),
    }
}

/// Children the state knows that came without a channel and whose exit
/// is not pending: nothing could watch or tell them anything. Each is
/// killed with its process group (while it is our unreaped child, its pid
/// is still its own; once the program's code before `run` reaped it, only
/// what it left) and reported lost, for the machine to decide what that
/// means ([`Event::ChildLost`]); the orphan scan reaps it.
fn lost_children(handoff: &Handoff, kept: &[ChildId], events: &[Event]) -> Vec<Event> {
    let exited = handoff::exited(events);
    let mut lost = Vec::new();
    for (id, child) in &handoff.state.children {
        let Some(pid) = child.pid else { continue };
        if kept.contains(id) || exited.contains(id) {
            continue;
        }
        if !super::pidfd::still_ours(pid).unwrap_or(true) {
            log!(
                "lost child pid {pid} in the upgrade (no channel): {}",
                spawn::NoLongerOurs
            );
            lost.extend(spawn::ended_unseen(*id, pid));
            continue;
        }
        // With its group: forked workers would serve on unsupervised.
        super::spawn::kill_with_group(pid);
        lost.push(Event::ChildLost { id: *id });
        lost.push(Event::Signal(super::machine::Signal::Chld));
    }
    lost
}

/// This binary cannot take the state over: the previous one takes it back,
/// with every descriptor handed over (see [`exec_previous`]). `ours`: this
/// binary is at fault, and its release is not to be tried again.
fn go_back(memfd: &OwnedFd, previous: &OwnedFd, reason: &str, ours: bool) -> ! {
    let error = exec_going_back(memfd, previous, reason, ours);
    fail(1, format!("cannot go back to the previous binary: {error}"))
}

/// `reason` as the previous image is told it, in an environment variable:
/// its control characters escaped (a NUL would keep the variable from
/// being set at all, and the previous image would take itself for the
/// new one) and cut to [`MOST_TOLD`] characters (an exec refuses a
/// variable over 128 KiB). A corrupt state's serde message may quote
/// any of it.
fn as_told(reason: &str) -> String {
    let escaped = crate::log::printable(reason);
    let mut told: String = escaped.chars().take(MOST_TOLD).collect();
    if escaped.chars().count() > MOST_TOLD {
        told.push('…');
    }
    told
}

/// The most characters of a reason [`as_told`] passes on (some 16 KiB).
const MOST_TOLD: usize = 4096;

/// Runs the previous binary, as [`go_back`] says, trying again after a
/// passing failure (short of memory or processes): giving up ends the
/// service. Returns only if every try failed, with the last error.
fn exec_going_back(memfd: &OwnedFd, previous: &OwnedFd, reason: &str, ours: bool) -> String {
    log!("cannot take over the supervisor's state: {reason}; going back to the previous binary");
    let told = as_told(reason);
    let vars = |_| {
        let mut vars = vec![(handoff::FAILED_VAR, told.clone())];
        if !ours {
            vars.push((handoff::RETRY_VAR, "1".to_owned()));
        }
        vars
    };
    let retrying = |error: &std::io::Error, tries| {
        log!(
            "cannot go back to the previous binary: {error}; trying again ({tries} of {})",
            handoff::ROLLBACK_TRIES
        )
    };
    exec_trying(memfd, previous, 0, vars, retrying).0
}

/// Runs the previous binary (see [`exec_previous`]) with the variables
/// `vars` gives for try `tries`, trying again after a passing failure
/// (short of memory or processes), `retrying` saying so, up to try
/// [`handoff::ROLLBACK_TRIES`]. Returns only if every try failed: the
/// last error (worded as for a reload: an ELF interpreter missing since
/// is not said as the binary gone), and the try it came at.
fn exec_trying(
    memfd: &OwnedFd,
    previous: &OwnedFd,
    mut tries: u32,
    vars: impl Fn(u32) -> Vec<(&'static str, String)>,
    retrying: impl Fn(&std::io::Error, u32),
) -> (String, u32) {
    loop {
        let owned = vars(tries);
        let named: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let error = exec_previous(memfd, previous, &named);
        if tries == handoff::ROLLBACK_TRIES || super::upgrade::the_binarys_fault(&error) {
            return (super::exec_words::exec_error_of(previous, &error), tries);
        }
        tries += 1;
        retrying(&error, tries);
        // Not inheritable while it waits: a process one of the program's
        // threads starts meanwhile would take the sockets and the lock.
        super::close_inherited_on_exec();
        std::thread::sleep(std::time::Duration::from_millis(100 << tries));
    }
}

/// Runs the binary `previous` with the state in `memfd`, every descriptor
/// handed over (adopted or not), and `vars` besides the state's. Returns
/// only if the exec failed.
fn exec_previous(memfd: &OwnedFd, previous: &OwnedFd, vars: &[(&str, &str)]) -> std::io::Error {
    let env = handoff::env_value(memfd, previous);
    // Each exec back (after a wait, on a retry) leaves the previous image
    // a whole watchdog interval to come up in, its code before `run`
    // included, as the upgrade's own ping did this image. Before the
    // flush and the descriptors made inheritable, as there. Through the
    // socket connected to the manager if it was handed over (a chroot may
    // hide the path), by the path otherwise.
    if let Some((socket, usec, connected)) = Handoff::watchdog_of(memfd) {
        let handed = connected.and_then(|fd| crate::notify::ping_through_handed(fd, &socket));
        match handed {
            Some(Ok(())) => {}
            // Its queue full past the bound: not by the path as well,
            // which would wait as long again.
            Some(Err(e)) if e.kind() != std::io::ErrorKind::ConnectionRefused => {
                log!("cannot ping the service manager's watchdog on the way back: {e}")
            }
            // Not handed over, or not the manager's; or the socket it was
            // connected to is closed: by the path, which may name another.
            _ => {
                if let Some(notifier) = crate::notify::Notifier::resume(&socket, Some(usec), None) {
                    notifier.watchdog();
                    // A runtime may be entered here, never to be driven.
                    notifier.send_waiting_now();
                }
            }
        }
    }
    // As this image started: its code before `run` may have changed
    // both, which the previous image, and every child it starts, would
    // keep.
    let started = crate::inherited::at_start();
    if let Some(dir) = started.and_then(|s| s.dir.as_ref())
        && let Err(e) = std::env::set_current_dir(dir)
    {
        let here = std::env::current_dir();
        log!(
            "cannot go back to the working folder {}: {e}; the previous binary runs in {}",
            dir.display(),
            here.as_ref()
                .map_or("an unknown folder".into(), |d| d.display().to_string()),
        );
    }
    // The lines out before descriptors are made inheritable (see
    // `upgrade::exec`).
    crate::log::flush(crate::log::EXEC_PATIENCE);
    // Open across exec again, for the image that takes over: everything
    // handed over, the two named here too, was open across exec as this
    // image started, and is close-on-exec since (see `inherited`); not one
    // the program's code before `run` replaced.
    let _ = crate::inherited::reopen_across_exec(|| {
        let mut handed = Handoff::fds_in(memfd);
        handed.extend([memfd.as_raw_fd(), previous.as_raw_fd()]);
        handed
    });
    // Still blocked for the image that takes over (see `block`).
    let _ = super::signals::block();
    let mut all = vec![(handoff::ENV_VAR, env.as_str())];
    all.extend_from_slice(vars);
    // After the flush: the lines the exec loses, for the image to say.
    let unsaid = handoff::log_unsaid_value(memfd.as_fd());
    all.extend(unsaid.as_deref().map(|u| (handoff::LOG_UNSAID_VAR, u)));
    if let Some(fails) = crate::test_hook::test_hook::<u32>(handoff::TEST_GO_BACK_FAILS_VAR) {
        static FAILED: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        if FAILED.fetch_add(1, Ordering::SeqCst) < fails {
            return std::io::Error::from_raw_os_error(nix::libc::EAGAIN);
        }
    }
    match started {
        Some(started) => {
            let vars = crate::test_hook::with_hooks_now(started.vars.iter().cloned());
            reexec::exec(previous, vars, &all)
        }
        None => reexec::exec(previous, std::env::vars_os(), &all),
    }
}

#[cfg(test)]
mod tests {
    use super::{fails_again, still_the_watch};
    use std::path::Path;

    #[test]
    fn a_handed_watch_is_kept_only_when_seen_to_be_an_inotify_instance_on_the_folder() {
        let inotify = Some(Path::new("anon_inode:inotify"));
        let on_folder = (vec![7, 42], 42);
        assert_eq!(still_the_watch(inotify, Some(&on_folder)), Ok(()));
        // gVisor's name; watches unread; none left (its folder removed).
        let gvisor = Some(Path::new("anon_inode:[inotifyfd:3]"));
        assert_eq!(still_the_watch(gvisor, None), Ok(()));
        assert_eq!(still_the_watch(inotify, Some(&(vec![], 42))), Ok(()));
        // Another kind at its number, or one watching another folder.
        let another = |said: Result<(), &str>| said.is_err_and(|why| why.contains("another file"));
        assert!(another(still_the_watch(
            Some(Path::new("anon_inode:[eventpoll]")),
            None
        )));
        assert!(another(still_the_watch(
            Some(Path::new("pipe:[123]")),
            None
        )));
        assert!(another(still_the_watch(inotify, Some(&(vec![7], 42)))));
        // Without /proc its kind is unknown: not read as an inotify
        // instance, whose events would be parsed out of another file.
        let unseen = still_the_watch(None, Some(&on_folder));
        assert_eq!(unseen, Err("cannot be told to be it (/proc unreadable)"));
    }

    #[test]
    fn a_reason_is_told_without_a_nul_and_within_an_exec_s_bound() {
        assert_eq!(
            super::as_told("unknown variant `a\0b`"),
            "unknown variant `a\\0b`"
        );
        let long = super::as_told(&"x".repeat(200_000));
        assert_eq!(long.chars().count(), super::MOST_TOLD + 1);
        assert!(long.ends_with('…'));
        assert_eq!(
            super::as_told("version 3; this binary reads 4"),
            "version 3; this binary reads 4"
        );
    }

    #[test]
    fn an_image_of_another_service_is_refused_naming_both() {
        assert_eq!(super::another_service("blog", "blog"), None);
        let why = super::another_service("blog-2", "blog").unwrap();
        assert!(why.contains("`blog-2`, not `blog`"), "{why}");
    }

    #[test]
    fn a_watch_that_is_no_inotify_instance_is_let_go_of_unclosed() {
        use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
        let inotify = nix::sys::inotify::Inotify::init(nix::sys::inotify::InitFlags::IN_CLOEXEC);
        let socket = std::env::temp_dir().join("svc.sock");
        let inotify = OwnedFd::from(inotify.unwrap());
        assert!(super::inotify_or_let_go(inotify, &socket).is_some());
        // Any other kind (an epoll instance, in the case it is for).
        let other = OwnedFd::from(std::fs::File::open("/dev/null").unwrap());
        let raw = other.as_raw_fd();
        assert!(super::inotify_or_let_go(other, &socket).is_none());
        // Still open, the program's: closed here by the test, its owner.
        // SAFETY: let go of above, owned by nothing else.
        let still = unsafe { OwnedFd::from_raw_fd(raw) };
        assert!(nix::fcntl::fcntl(&still, nix::fcntl::FcntlArg::F_GETFD).is_ok());
    }

    #[test]
    fn an_inotify_instance_that_watches_another_folder_is_let_go_of() {
        use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
        use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
        let base = tempfile_dir("watch");
        let (ours, other) = (base.join("ours"), base.join("other"));
        std::fs::create_dir_all(&ours).unwrap();
        std::fs::create_dir_all(&other).unwrap();
        let socket = ours.join("svc.sock");
        let watching = |folder: &std::path::Path| {
            let inotify = Inotify::init(InitFlags::IN_CLOEXEC).unwrap();
            inotify.add_watch(folder, AddWatchFlags::IN_DELETE).unwrap();
            OwnedFd::from(inotify)
        };
        assert!(super::inotify_or_let_go(watching(&ours), &socket).is_some());
        // The program's own, on another folder: not ours, left open.
        let theirs = watching(&other);
        let raw = theirs.as_raw_fd();
        assert!(super::inotify_or_let_go(theirs, &socket).is_none());
        // SAFETY: let go of above, owned by nothing else.
        let still = unsafe { OwnedFd::from_raw_fd(raw) };
        assert!(nix::fcntl::fcntl(&still, nix::fcntl::FcntlArg::F_GETFD).is_ok());
        // Ours, its folder removed since (the watch gone with it): kept,
        // for the removal in its queue.
        let watch = watching(&ours);
        std::fs::remove_dir(&ours).unwrap();
        let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", watch.as_raw_fd()));
        assert!(
            !info.unwrap().contains("inotify "),
            "the watch went with the folder"
        );
        assert!(super::inotify_or_let_go(watch, &socket).is_some());
        let _ = std::fs::remove_dir_all(&base);
    }

    fn tempfile_dir(what: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("lb-resume-{what}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    use crate::fdpass::AdoptError;

    #[test]
    fn a_handed_descriptor_is_of_its_kind_or_not_taken_for_it() {
        use super::Handed;
        use std::os::fd::OwnedFd;
        let dir = tempfile_dir("kinds");
        let listener = std::os::unix::net::UnixListener::bind(dir.join("l.sock")).unwrap();
        let listener = OwnedFd::from(listener);
        let (stream, _peer) = std::os::unix::net::UnixStream::pair().unwrap();
        let stream = OwnedFd::from(stream);
        let (channel, _other) = crate::fdpass::socketpair().unwrap();
        let file = OwnedFd::from(std::fs::File::create(dir.join("lock")).unwrap());
        let tcp = OwnedFd::from(std::net::TcpListener::bind("127.0.0.1:0").unwrap());
        let null = OwnedFd::from(std::fs::File::open("/dev/null").unwrap());
        let datagram = OwnedFd::from(std::os::unix::net::UnixDatagram::unbound().unwrap());
        let kinds = [
            (Handed::Listening, &listener),
            (Handed::Connection, &stream),
            (Handed::Channel, &channel),
            (Handed::File, &file),
            (Handed::Datagram, &datagram),
        ];
        for (kind, right) in kinds {
            assert!(kind.of(right), "{kind:?}");
            for other in [&listener, &stream, &channel, &file, &datagram, &tcp, &null] {
                let same = std::ptr::eq(other, right);
                assert_eq!(kind.of(other), same, "{kind:?} of another");
            }
        }
        assert!(Handed::Any.of(&null));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_number_named_twice_or_that_cannot_be_handed_over_is_refused() {
        let carriers = [10, 11];
        assert!(super::misnamed(7, &[3, 4], carriers).is_none());
        assert!(matches!(
            super::misnamed(4, &[3, 4], carriers),
            Some(AdoptError::NamedTwice { fd: 4 })
        ));
        assert!(super::misnamed(0, &[3, 4], carriers).is_none());
        for fd in [10, 11, -1] {
            assert!(
                matches!(
                    super::misnamed(fd, &[], carriers),
                    Some(AdoptError::Reserved { .. })
                ),
                "{fd}"
            );
        }
        let said = super::misnamed(4, &[4], carriers).unwrap().to_string();
        assert_eq!(
            said,
            "fd 4 is named twice in the handed-over state, and taken already as the other"
        );
    }

    #[test]
    fn a_lock_is_taken_only_if_it_is_the_file_handed_over() {
        use crate::supervisor::handoff::Handoff;
        use std::os::fd::IntoRawFd;
        let dir = tempfile_dir("lock-id");
        let handed = |lock_id: Option<[u64; 2]>| {
            let control = std::os::unix::net::UnixListener::bind(dir.join("svc.sock")).unwrap();
            let lock = std::fs::File::create(dir.join("svc.lock")).unwrap();
            let id = crate::inherited::file_identity(std::os::fd::AsRawFd::as_raw_fd(&lock));
            let handoff = Handoff {
                control_path: dir.join("svc.sock"),
                lock_path: dir.join("svc.lock"),
                lock_id: lock_id.or(id),
                ..Handoff::naming_only(control.into_raw_fd(), lock.into_raw_fd())
            };
            let taken = super::adopt_all(&handoff, [-1, -1]).map(drop);
            // What was refused is let go of unclosed, for the image that
            // takes over next: closed here, the test's.
            if taken.is_err() {
                for fd in [handoff.control, handoff.lock] {
                    let _ = nix::unistd::close(fd);
                }
            }
            let _ = std::fs::remove_file(dir.join("svc.sock"));
            taken
        };
        // The file the previous image handed over: taken.
        assert!(handed(None).is_ok());
        // Another (a regular file of the program's own at that number,
        // where /proc cannot tell): not taken for the lock.
        let (why, ours) = handed(Some([0, 1])).unwrap_err();
        assert!(
            why.starts_with("the service lock was not handed over: fd "),
            "{why}"
        );
        assert!(ours, "it would fail so again");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_connection_named_twice_in_a_handoff_has_one_owner() {
        use crate::supervisor::handoff::Handoff;
        use std::os::fd::IntoRawFd;
        let dir = tempfile_dir("twice");
        let control = std::os::unix::net::UnixListener::bind(dir.join("svc.sock")).unwrap();
        let lock_path = dir.join("svc.lock");
        let lock = std::fs::File::create(&lock_path).unwrap();
        let (conn, peer) = std::os::unix::net::UnixStream::pair().unwrap();
        let conn = conn.into_raw_fd();
        let handoff = Handoff {
            // A bug of the image that wrote it: one connection both
            // waiting for an answer and idle.
            clients: vec![(1, conn)],
            idle: vec![conn],
            control_path: dir.join("svc.sock"),
            lock_path,
            ..Handoff::naming_only(control.into_raw_fd(), lock.into_raw_fd())
        };
        let held = super::adopt_all(&handoff, [-1, -1]).unwrap();
        // Its first name's alone: two owners would close it twice, the
        // second time whatever has the number by then.
        assert_eq!(held.clients.len(), 1);
        assert!(held.idle.is_empty());
        drop(held);
        let mut buf = [0u8; 1];
        (peer.set_read_timeout(Some(std::time::Duration::from_secs(5)))).unwrap();
        let read = std::io::Read::read(&mut &peer, &mut buf).unwrap();
        assert_eq!(read, 0, "closed once, with its owner");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn only_a_descriptor_not_open_fails_the_binary_again() {
        assert!(fails_again(&AdoptError::NotOpen { fd: 7 }));
        let passing = AdoptError::Flags {
            fd: 7,
            error: nix::Error::ENOMEM,
        };
        assert!(!fails_again(&passing));
    }
}
