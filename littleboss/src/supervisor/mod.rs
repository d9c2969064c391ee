//! Start mode: the supervisor.
//!
//! It binds every listener once and holds them for its whole life without
//! ever polling them (so traffic never wakes it), opens the control socket,
//! and runs the program as a child that receives the listeners over the
//! child channel. It runs no program code but `supervisor_init`.

mod driver;
mod exec_words;
mod forked_copy;
pub(crate) mod handoff;
#[cfg(test)]
mod handoff_pin;
mod heap;
mod machine;
mod orphans;
mod output_place;
mod pidfd;
mod reexec;
mod resume;
mod shared_fds;
mod signals;
mod spawn;
mod spawn_off;
mod upgrade;

pub(crate) use reexec::inherit;
pub(crate) use resume::{go_back_should_the_program_exit, handoff_var, resume};

use std::collections::HashMap;
use std::time::SystemTime;

use tokio::sync::mpsc;

use crate::config::Config;
use crate::control::{dir, server};
use crate::exit::fail;
use crate::flags::Invocation;
use crate::log::log;
use machine::{Assigned, Held, Image, Launch, Machine, Settings, Target};

pub(crate) fn run(config: &Config, inv: Invocation) -> ! {
    // First: a signal from here on waits for the signalfd (an orderly
    // stop), rather than killing a supervisor that has bound its socket,
    // whichever thread the kernel gives it to.
    let _ = signals::block();
    // Before its first line: a builder program may have restored SIGPIPE's
    // default before `run` (and `supervisor_init` may again, below).
    crate::sigpipe::ignore();
    // A builder program's code before `run` may have closed one too.
    standard_streams_reopened();
    // Before anything is opened: the children's channel's number.
    spawn::reserve_channel_fd();
    // Its lines off the loop from here (the control socket is bound
    // early, and a full stderr must not keep its clients waiting, nor
    // hold the start at a note about systemd's variables); the writer,
    // started with the first line, blocks the signals as this thread
    // now does.
    crate::log::off_the_loop_with_panics();
    // What is queued by the time `supervisor_init` exits, should it.
    crate::log::flush_at_exit();
    // systemd's variables, read and taken out of the environment while
    // this process has one thread still (before anything is said, which
    // starts the writer): neither
    // `supervisor_init`, nor the image an upgrade in place execs, nor what
    // either starts sees them.
    // Socket activation's first (taking them says nothing), then the
    // notify socket's, whose reading may say something: the notes below
    // may start the writer before the listeners are bound.
    crate::activation::take_vars();
    let notifier = crate::notify::Notifier::from_env().map(std::sync::Arc::new);
    close_inherited_on_exec();
    orphans::adopt_orphans();
    // A command-line mistake, told before anything is made.
    let assigned: Vec<Assigned> = inv.listeners.iter().map(Assigned::of).collect();
    crate::socket_key::one_socket_each_here(&assigned).unwrap_or_else(|e| fail(2, e));
    let folder = dir::socket_dir();
    let socket_path = folder.join(format!("{}.sock", config.name));
    dir::check_socket_path(&socket_path).unwrap_or_else(|e| fail(1, e));
    let made_at_start = dir::prepare(&folder).unwrap_or_else(|e| fail(1, e));
    if let Some(note) = dir::fallback_under_a_service_manager(&folder) {
        log!("{note}");
    }
    if let Some(note) = dir::on_a_network_file_system(&folder) {
        log!("{note}");
    }
    let (control, lock) = server::bind(&socket_path, &config.name).unwrap_or_else(|e| fail(1, e));
    // Known by identity from its bind on: removed only while still ours.
    let control_file = crate::own_file::OwnFile::of(&socket_path);
    // Before an early exit: the control socket, then the lock file, which
    // goes last and while still locked (see `ServiceLock`).
    let clean_up = || {
        if let Some(file) = &control_file {
            file.remove_or_say();
        }
        lock.remove();
    };
    let activated = crate::activation::from_env().unwrap_or_else(|e| {
        clean_up();
        fail(1, e)
    });
    let bound = crate::listener::bind_all(&inv.listeners, activated).unwrap_or_else(|e| {
        clean_up();
        fail(1, e)
    });
    // From here, an early exit removes the listeners' socket files too.
    let unix_files: Vec<crate::own_file::OwnFile> = (bound.iter().flatten())
        .filter_map(|b| b.unix_file.clone())
        .collect();
    let clean_up = || {
        for file in &unix_files {
            file.remove_or_say();
        }
        clean_up();
    };
    let exe = crate::invoked::path(&inv.program_args[0]).unwrap_or_else(|e| {
        clean_up();
        fail(1, format!("cannot find this binary's path: {e}"))
    });

    let mut held = std::collections::BTreeMap::new();
    let mut sockets = HashMap::new();
    let first = Launch {
        target: Target {
            file: None,
            binary_of: None,
            path: exe,
            argv0: inv.program_args[0].clone(),
        },
        args: inv.child_args,
        listeners: assigned,
    };
    for (assigned, bound) in first.listeners.iter().zip(bound) {
        let (Some(key), Some(bound)) = (&assigned.key, bound) else {
            continue;
        };
        let unix_file = bound.unix_file;
        let activated = !bound.bound_here;
        held.insert(
            key.clone(),
            Held {
                address: bound.address,
                activated,
                lost: false,
                ipv6_only: activated
                    && crate::socket::ipv6_only_wildcard(std::os::fd::AsFd::as_fd(&bound.fd)),
            },
        );
        sockets.insert(key.clone(), driver::Socket::new(bound.fd, unix_file));
    }

    // Started where the control folder is chosen otherwise than for one
    // running already (cron, a login shell): said, as the commands from
    // either environment reach one of the two only.
    if let Some(other) = crate::control::client::answering_elsewhere(&config.name) {
        log!(
            "note: another supervisor of `{}` answers at {} (another control folder, from other LITTLEBOSS_DIR, XDG_RUNTIME_DIR or TMPDIR); this one is a second",
            config.name,
            other.display()
        );
    }
    log!(
        "supervising `{}` as pid {}, control socket {}",
        config.name,
        std::process::id(),
        socket_path.display()
    );
    let rt = runtime().unwrap_or_else(|e| {
        clean_up();
        fail(1, e)
    });
    // Signals are read before any program code runs, so a SIGTERM during
    // supervisor_init is an orderly stop, not a death that leaves the
    // control socket behind (kept until it returns: see `unblocked_for`).
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    {
        let _runtime = rt.enter();
        signals::forward(events_tx.clone()).unwrap_or_else(|e| {
            clean_up();
            fail(1, format!("cannot handle signals: {e}"))
        });
    }
    // Against cleaners of old files, before `supervisor_init`: one that
    // changes the user (to drop root's rights) may leave the folder, root's,
    // out of reach.
    let folder_lock = driver::hold_folder(&socket_path);
    let mut control_out_of_sight = false;
    if let Some(init) = config.supervisor_init {
        let view = view_of_files();
        let supervisor_pid = std::process::id();
        // For a copy a fork in it goes on in, to tell when the supervisor
        // itself has ended (not its parent: a helper's grandchild has
        // another). Close-on-exec, as the kernel makes it.
        let supervisor = crate::link::open_pidfd(supervisor_pid as i32).ok();
        // A panic (its message said by the hook) ends the start as any
        // failure does: without the control socket's files left behind.
        let ran = signals::unblocked_for(|| std::panic::catch_unwind(init));
        if std::process::id() != supervisor_pid {
            forked_copy::refuse(supervisor_pid, supervisor, clean_up);
        }
        // Closed if still the pidfd: `supervisor_init` may have closed it
        // (a daemon's setup closes all), and its number be another's now.
        if let Some(pidfd) = supervisor
            && !forked_copy::pidfd_of(&pidfd, supervisor_pid, false)
        {
            std::mem::forget(pidfd);
        }
        // It may have restored SIGPIPE's default: ignored again before
        // anything is said of how it went.
        crate::sigpipe::ignore();
        let ran = ran.unwrap_or_else(|e| {
            clean_up();
            fail(
                1,
                format!("cannot handle signals after supervisor_init: {e}"),
            )
        });
        if ran.is_err() {
            clean_up();
            fail(1, "supervisor_init panicked; not starting");
        }
        // What it opened for itself stays its own: children get stdio and
        // their channel only.
        close_inherited_on_exec();
        // Standard streams it closed (a daemon's setup may) are /dev/null
        // again, as std makes them at start: else the next descriptor the
        // supervisor opens lands at 0, 1 or 2, where a child would find
        // it as its stdin, and where an upgrade in place cannot hand it
        // over (the new image's runtime puts /dev/null there first).
        standard_streams_reopened();
        // A chroot or mount namespace: the lock file's path names another
        // file, or none, from now on, though the files stay where they
        // were. (Not a rename on the way, a deploy's swap of a folder
        // above: that is a removal, whose files are made again. Nor, in
        // a chroot, a lock file a cleaner removed meanwhile: the jail
        // gets new files, which the commands may not see.)
        control_out_of_sight = view_of_files() != view && lock.out_of_sight();
        if control_out_of_sight {
            log!(
                "note: supervisor_init left this supervisor's control folder {} out of its sight (a chroot or mount namespace, where its lock file's path names another file, or none): the commands reach it as before, but should its control socket or lock file be removed, it can neither tell nor make them again, and it leaves them behind at its exit (the next start replaces them)",
                folder.display()
            );
        } else if let Err(e) = std::fs::symlink_metadata(&socket_path)
            && e.kind() == std::io::ErrorKind::PermissionDenied
        {
            log!(
                "note: supervisor_init left this supervisor (uid {}) unable to look into its control folder {}: the commands reach it as before, but should its control socket or lock file be removed, it can neither tell nor make them again, and it leaves them behind at its exit (the next start replaces them)",
                nix::unistd::geteuid(),
                folder.display()
            );
        }
    }
    spawn::inherit_channel_var();
    let image = Image {
        id: reexec::open_binary("self").and_then(reexec::identity).ok(),
        // The file itself, not the symlink it may have been started by
        // (nor, removed by a deploy since, `PATH (deleted)`).
        path: (std::env::current_exe().ok())
            .and_then(crate::proc_pid::still_named)
            .unwrap_or_else(|| first.target.path.clone()),
        upgrades: 0,
    };
    let started = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let machine = Machine::new(
        settings_of(config),
        std::process::id(),
        started.as_secs(),
        first,
        held,
        u64::from(started.subsec_nanos()) ^ u64::from(std::process::id()) << 32,
        image,
    );
    let control_fd = control
        .try_clone()
        .map(std::os::fd::OwnedFd::from)
        .unwrap_or_else(|e| {
            clean_up();
            fail(1, format!("control socket: {e}"))
        });
    let control = {
        let _runtime = rt.enter();
        registered(control)
    }
    .unwrap_or_else(|e| {
        clean_up();
        fail(1, format!("control socket: {e}"))
    });
    let serving = Serving {
        control,
        control_fd,
        socket_path,
        control_file,
        lock,
        watch: None,
        folder_lock,
        sockets,
        notifier,
        events_tx,
        events_rx,
        origin_ns: driver::monotonic_ns(),
        made_at_start,
        control_out_of_sight,
    };
    serve(rt, machine, serving, driver::Begin::Start)
}

/// What the machine decides by, from the program's configuration.
fn settings_of(config: &Config) -> Settings {
    Settings {
        name: config.name.clone(),
        lameduck: config.lameduck,
        persist: config.persist,
        restart_limit: config.restart_limit,
        fallback: config.fallback,
        ready_timeout: config.ready_timeout,
        self_upgrade: config.self_upgrade,
        working_dir: None,
        working_dir_id: None,
        stderr: output_place::of_this_process(),
    }
    .in_working_folder()
}

impl Settings {
    /// With this process's working folder recorded (an exec keeps it).
    fn in_working_folder(self) -> Settings {
        Settings {
            working_dir: std::env::current_dir().ok(),
            working_dir_id: crate::own_file::identity(std::path::Path::new(".")),
            ..self
        }
    }
}

/// The runtime the supervisor runs on: one thread, its own. Its other
/// threads (binds off the loop) inherit the main thread's mask, which
/// blocks the signals it handles from the start of [`run`] (and across an
/// exec), so that they all wait for its signalfd.
fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        // A handful of descriptors (control, children, timers): tokio's
        // default of 1024 events per poll is a 12 KiB buffer for nothing.
        .max_io_events_per_tick(64)
        .build()
        .map_err(|e| format!("cannot start the supervisor's runtime: {e}"))
}

/// The control socket, registered with the runtime (entered).
fn registered(
    control: std::os::unix::net::UnixListener,
) -> std::io::Result<tokio::net::UnixListener> {
    control.set_nonblocking(true)?;
    tokio::net::UnixListener::from_std(control)
}

/// What a supervisor serves with, whether it just started or re-executed
/// itself.
struct Serving {
    control: tokio::net::UnixListener,
    /// Another descriptor of the control socket, to hand on.
    control_fd: std::os::fd::OwnedFd,
    socket_path: std::path::PathBuf,
    /// The control socket's file as this service made it (`None` if gone).
    control_file: Option<crate::own_file::OwnFile>,
    lock: server::ServiceLock,
    /// The control folder's watch a previous image handed over.
    watch: Option<std::os::fd::OwnedFd>,
    /// The shared lock on the control folder, taken (or tried, and said)
    /// before `supervisor_init`, which may leave the folder out of reach:
    /// a first image's; a new one takes its own in the driver.
    folder_lock: Option<crate::control::dir::FolderLock>,
    sockets: HashMap<machine::ListenerKey, driver::Socket>,
    notifier: Option<std::sync::Arc<crate::notify::Notifier>>,
    events_tx: mpsc::UnboundedSender<machine::Event>,
    events_rx: mpsc::UnboundedReceiver<machine::Event>,
    origin_ns: u64,
    /// The folders the first image's start made on the way to the control
    /// folder (see [`driver::Parts::made_at_start`]).
    made_at_start: Vec<std::path::PathBuf>,
    /// See [`driver::Parts::control_out_of_sight`].
    control_out_of_sight: bool,
}

/// Serves the control socket and drives the machine until it exits, then
/// exits the process with its code.
fn serve(
    rt: tokio::runtime::Runtime,
    machine: Machine,
    serving: Serving,
    begin: driver::Begin,
) -> ! {
    let (control, socket_path, lock, notifier) = (
        serving.control,
        serving.socket_path,
        serving.lock,
        serving.notifier,
    );
    let notifier_at_exit = notifier.clone();
    // Boxed: the driver's future is large, and block_on would otherwise
    // keep copies of it on the main thread's stack for the supervisor's
    // whole life.
    let code = rt.block_on(Box::pin(async {
        if let Some(notifier) = &notifier {
            watchdog(notifier.clone());
        }
        let (control_tx, control_rx) = mpsc::unbounded_channel();
        let connections = crate::control::connection::Connections::default();
        let accepting = server::serve(control, control_tx.clone(), connections.clone());
        let accepting = tokio::spawn(accepting);
        let watch = (serving.watch).and_then(|fd| {
            crate::control::watch::FolderWatch::adopt(fd, &socket_path)
                .inspect_err(|e| {
                    log!("cannot go on watching the control folder: {e}; watching it anew")
                })
                .ok()
        });
        let parts = driver::Parts {
            sockets: serving.sockets,
            notifier,
            events_tx: serving.events_tx,
            events: serving.events_rx,
            control_tx,
            control: control_rx,
            control_fd: serving.control_fd,
            connections,
            control_path: socket_path.clone(),
            control_file: serving.control_file,
            lock,
            folder_lock: serving.folder_lock,
            accepting,
            watch,
            origin_ns: serving.origin_ns,
            made_at_start: serving.made_at_start,
            control_out_of_sight: serving.control_out_of_sight,
        };
        driver::run(machine, parts, begin).await
    }));
    // The driver let go of the listeners, the control socket and the lock
    // file at its exit, then of the lock itself. What still waits for
    // room in the manager's queue (the last status line says why the
    // supervisor exits) goes before the log's last lines (it may add one).
    if let Some(notifier) = notifier_at_exit {
        notifier.send_waiting_now();
    }
    crate::log::flush_for_exit();
    std::process::exit(code)
}

/// What this process sees files through: its root folder and its mount
/// namespace (`None` where `/proc` cannot tell, as in a chroot without it).
fn view_of_files() -> (Option<[u64; 2]>, Option<std::path::PathBuf>) {
    let root = crate::own_file::identity(std::path::Path::new("/"));
    (root, std::fs::read_link("/proc/self/ns/mnt").ok())
}

/// Opens /dev/null at each of descriptors 0 to 2 that is closed (none
/// is, but after code of the program's closed one): the lowest free
/// number is where an open lands, so each lands in a hole until none is
/// left below 3.
fn standard_streams_reopened() {
    use nix::fcntl::{OFlag, open};
    use std::os::fd::{AsRawFd, IntoRawFd};
    loop {
        // Not close-on-exec: a child's standard streams, as std's are.
        let Ok(null) = open("/dev/null", OFlag::O_RDWR, nix::sys::stat::Mode::empty()) else {
            return;
        };
        if null.as_raw_fd() > 2 {
            return;
        }
        // Kept for the process's life, as a standard stream.
        let _ = null.into_raw_fd();
    }
}

/// Marks every descriptor above stderr that the supervisor inherited as
/// close-on-exec: a child gets stdio, its channel and, through the
/// channel, its listeners; nothing its supervisor's parent left open.
pub(super) fn close_inherited_on_exec() {
    if !close_range_refused_by_test() && close_on_exec_from(3) {
        return;
    }
    // Before Linux 5.11: one fcntl per open descriptor.
    let _ = inherit(&crate::inherited::open_fds(), false);
}

/// A test's stand-in for a kernel before 5.11, or a seccomp filter, that
/// refuses `close_range`: the fallbacks run instead. Read before a fork.
const TEST_NO_CLOSE_RANGE_VAR: &str = "LITTLEBOSS_TEST_NO_CLOSE_RANGE";

/// Whether a test has `close_range` refused ([`TEST_NO_CLOSE_RANGE_VAR`]).
pub(super) fn close_range_refused_by_test() -> bool {
    crate::test_hook::test_hook::<u8>(TEST_NO_CLOSE_RANGE_VAR) == Some(1)
}

/// Marks every open descriptor from `first` up close-on-exec, in one
/// system call (Linux 5.11+); whether it could. Async-signal-safe: a raw
/// system call and nothing else, fit for between fork and exec.
pub(super) fn close_on_exec_from(first: nix::libc::c_uint) -> bool {
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC closes nothing; it only
    // sets a flag on every open descriptor in the range.
    unsafe {
        nix::libc::syscall(
            nix::libc::SYS_close_range,
            first,
            nix::libc::c_uint::MAX,
            nix::libc::CLOSE_RANGE_CLOEXEC,
        ) == 0
    }
}

/// Tells the service manager we are alive at half its watchdog interval,
/// when it asked for that. The task runs on the supervisor loop's single
/// thread: a loop blocked (in a system call, a lock, a busy handler)
/// stops the pings. One waiting at an `.await` would not, but the loop's
/// awaits are bounded (handing orders over before an upgrade, the last
/// answers at an exit).
fn watchdog(notifier: std::sync::Arc<crate::notify::Notifier>) {
    let Some(interval) = notifier.watchdog_interval() else {
        return;
    };
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        // After a stall, one ping and the rhythm again, not a burst.
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            notifier.watchdog();
        }
    });
}
