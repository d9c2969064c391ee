//! Starting a child and watching it.
//!
//! Each child is owned by a watcher task: it alone holds the process handle,
//! so it alone waits for and kills it (no pid can be reused under us). The
//! supervisor talks to it through a [`ChildHandle`].

use std::ffi::{OsStr, OsString};
use std::os::fd::{AsRawFd, BorrowedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use tokio::process::{Child, Command};
use tokio::sync::mpsc;

use super::Event;
use crate::fdpass;
use crate::link::{self, ListenerEntry, SupervisorEnd, ToChild};
use crate::log::log;

/// Whether the channel variable is in the supervisor's own environment, for
/// every child to inherit.
static CHANNEL_VAR_INHERITED: AtomicBool = AtomicBool::new(false);

/// Puts the channel variable (constant for the supervisor's life) in its
/// own environment, once the program's `supervisor_init` has run, so that
/// what it started does not inherit it. Setting it per child instead makes
/// the standard library copy the whole environment at every spawn: a
/// hundred allocations per reload, and heap pages that glibc's thread
/// cache keeps pinned. Only done while single-threaded (the condition for
/// changing the environment soundly); otherwise each child gets it as
/// before.
pub(crate) fn inherit_channel_var() {
    if crate::environ::set_env(link::ENV_VAR, &link::env_value()) {
        CHANNEL_VAR_INHERITED.store(true, Ordering::Relaxed);
    }
}

/// What the supervisor can ask of a child's watcher.
#[derive(Debug)]
enum Order {
    /// Send lameduck; kill the child if it is still running after the timeout.
    Lameduck(Duration),
    Kill,
}

/// The supervisor's handle on one child.
#[derive(Debug)]
pub(crate) struct ChildHandle {
    pub pid: u32,
    pub path: PathBuf,
    pub argv0: std::ffi::OsString,
    pub started: SystemTime,
    pub started_at: Instant,
    /// How long it may wind down: its own setting once it said hello.
    pub lameduck_timeout: Duration,
    orders: mpsc::UnboundedSender<Order>,
}

impl ChildHandle {
    /// Tells it to wind down; it is killed if still running after its
    /// lameduck timeout.
    pub fn lameduck(&self) {
        let _ = self.orders.send(Order::Lameduck(self.lameduck_timeout));
    }

    pub fn kill(&self) {
        let _ = self.orders.send(Order::Kill);
    }
}

/// Everything a child is started with.
#[derive(Debug)]
pub(crate) struct Launch<'a> {
    pub id: u64,
    pub path: &'a Path,
    pub argv0: &'a OsStr,
    pub args: &'a [OsString],
    pub name: &'a str,
    /// Until the child says otherwise.
    pub lameduck_timeout: Duration,
    pub listeners: &'a [ListenerEntry],
    /// The fds of the bound entries of `listeners`, in order.
    pub fds: &'a [BorrowedFd<'a>],
}

/// Starts a child with its channel at fd 3, in its own process group, and
/// sends it its listeners. Its messages and exit arrive as [`Event`]s.
pub(crate) async fn spawn(
    launch: Launch<'_>,
    events: mpsc::UnboundedSender<Event>,
) -> std::io::Result<ChildHandle> {
    let (ours, theirs) = fdpass::socketpair()?;
    let theirs_raw = theirs.as_raw_fd();
    let mut command = Command::new(launch.path);
    command
        .arg0(launch.argv0)
        .args(launch.args)
        // Its own group: a terminal's ^C reaches the supervisor only, which
        // turns it into an orderly lameduck.
        .process_group(0)
        .kill_on_drop(false);
    if !CHANNEL_VAR_INHERITED.load(Ordering::Relaxed) {
        command.env(link::ENV_VAR, link::env_value());
    }
    super::thread_cache::prepare_child(&mut command);
    // SAFETY: runs in the forked child before exec, calling only dup2 and
    // fcntl, which are async-signal-safe, on an fd the parent keeps open
    // until spawn returns.
    unsafe {
        command.pre_exec(move || {
            let target = link::CHILD_FD;
            let result = if theirs_raw == target {
                nix::libc::fcntl(target, nix::libc::F_SETFD, 0)
            } else {
                // dup2 leaves the new fd without close-on-exec.
                nix::libc::dup2(theirs_raw, target)
            };
            if result == -1 {
                Err(std::io::Error::last_os_error())
            } else {
                Ok(())
            }
        });
    }
    let child = command.spawn()?;
    drop(theirs);
    let pid = child.id().expect("a just-spawned child has a pid");
    let channel = SupervisorEnd::new(ours)?;
    let hello = ToChild::Hello {
        name: launch.name.to_owned(),
        listeners: launch.listeners.to_vec(),
    };
    if let Err(e) = channel.send(hello, launch.fds).await {
        // The child died at once; its exit tells the rest.
        log!("cannot send listeners to child pid {pid}: {e}");
    }
    let (orders_tx, orders_rx) = mpsc::unbounded_channel();
    tokio::spawn(watch(launch.id, pid, child, channel, orders_rx, events));
    Ok(ChildHandle {
        pid,
        path: launch.path.to_owned(),
        argv0: launch.argv0.to_owned(),
        started: SystemTime::now(),
        started_at: Instant::now(),
        lameduck_timeout: launch.lameduck_timeout,
        orders: orders_tx,
    })
}

async fn watch(
    id: u64,
    pid: u32,
    mut child: Child,
    channel: SupervisorEnd,
    mut orders: mpsc::UnboundedReceiver<Order>,
    events: mpsc::UnboundedSender<Event>,
) {
    let mut channel_open = true;
    let mut orders_open = true;
    let mut kill_at: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            status = child.wait() => {
                let status = status.unwrap_or_else(|e| {
                    log!("waiting for child pid {pid} failed: {e}");
                    std::os::unix::process::ExitStatusExt::from_raw(1 << 8)
                });
                let _ = events.send(Event::Exited { id, status });
                return;
            }
            message = channel.recv(), if channel_open => match message {
                Ok(Some(message)) => { let _ = events.send(Event::Message { id, message }); }
                Ok(None) => channel_open = false,
                Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                    log!("child pid {pid} sent a bad message: {e}");
                }
                Err(_) => channel_open = false,
            },
            order = orders.recv(), if orders_open => match order {
                Some(Order::Lameduck(timeout)) => {
                    if channel_open {
                        let _ = channel.send(ToChild::Lameduck, &[]).await;
                    }
                    kill_at = Some(tokio::time::Instant::now() + timeout);
                }
                Some(Order::Kill) => { let _ = child.start_kill(); }
                None => orders_open = false,
            },
            _ = sleep_until(kill_at), if kill_at.is_some() => {
                log!("child pid {pid} is still running after its lameduck timeout; killing it");
                let _ = child.start_kill();
                kill_at = None;
            }
        }
    }
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
