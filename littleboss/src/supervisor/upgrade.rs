//! Carrying out an in-place upgrade: gather what must survive the exec,
//! hand it over, and exec the serving child's binary. The new image
//! resumes in [`super::resume`].

use std::os::fd::{AsFd, AsRawFd};

use tokio::sync::mpsc;

use super::driver::Io;
use super::handoff::{self, HandedSocket, Handoff};
use super::machine::{ChildId, Event, FileId, STATE_VERSION, State};
use super::reexec;
use crate::control::connection::{ControlMessage, ControlRequest};

/// The child whose binary the supervisor becomes, and that binary.
pub(super) struct Target {
    pub child: ChildId,
    pub pid: u32,
    pub binary: FileId,
}

/// Re-executes this process from the binary `target`'s child runs, handing
/// over the events not handled yet (`earlier`, then those queued). Returns
/// only if that failed, with the events to handle next: the failure, then
/// those.
pub(super) fn exec(
    io: &mut Io,
    state: State,
    target: Target,
    earlier: Vec<Event>,
    events: &mut mpsc::UnboundedReceiver<Event>,
    control: &mut mpsc::UnboundedReceiver<ControlMessage>,
) -> Vec<Event> {
    // `refuse`: not to be tried again with this binary. Not so when the
    // child died just now: a later child of the same binary may be.
    let failed = |error: String, refuse: bool, pending: Vec<Event>| {
        let mut events = vec![Event::UpgradeFailed { error, refuse }];
        events.extend(pending);
        events
    };
    let Target { child, pid, binary } = target;
    // The file held since the child's spawn, where it was identified: the
    // child's `/proc/PID/exe` may be closed to us by now (a program that
    // made itself non-dumpable).
    let held = io.binaries.get(&child).map(|fd| fd.try_clone());
    let new = match held.unwrap_or_else(|| reexec::open_binary(&pid.to_string())) {
        Ok(fd) => fd,
        Err(e) => {
            return failed(
                format!("cannot open the binary of child pid {pid}: {e}"),
                false,
                earlier,
            );
        }
    };
    match reexec::identity(&new) {
        Ok(runs) if runs == binary => {}
        Ok(_) => {
            return failed(
                format!("child pid {pid} no longer runs the binary it started with"),
                false,
                earlier,
            );
        }
        Err(e) => {
            return failed(
                format!("cannot identify the binary of child pid {pid}: {e}"),
                false,
                earlier,
            );
        }
    }
    // Close-on-exec until the step that makes the handed descriptors
    // inheritable, which it is one of: until then a process another
    // thread starts would take it along.
    let previous = match reexec::open_binary("self") {
        Ok(fd) => fd,
        Err(e) => {
            // Not the new binary's fault: the next child may try again.
            return failed(
                format!("cannot open the supervisor's own binary: {e}"),
                false,
                earlier,
            );
        }
    };
    // What the runtime took in already is handed over; signals not read
    // yet wait in the kernel, blocked, for the new image's signalfd.
    let mut pending = earlier;
    while let Ok(event) = events.try_recv() {
        pending.push(event);
    }
    // Clients gone meanwhile: told to this image if it runs on; a new one
    // finds their connections missing (see `resume`), so the handoff
    // carries no event an older image could not read.
    let mut gone = Vec::new();
    while let Ok(message) = control.try_recv() {
        match message {
            ControlMessage::Request(ControlRequest { request, conn }) => {
                let client = io.client(conn);
                pending.push(Event::Control { client, request });
            }
            ControlMessage::HungUp(conn) => gone.extend(io.client_of(&conn)),
        }
    }
    let failed = |error: String, refuse: bool, mut pending: Vec<Event>| {
        pending.extend(gone.iter().map(|&client| Event::ClientGone { client }));
        failed(error, refuse, pending)
    };
    // Said ready and died in the same breath: its binary failed the very
    // test the upgrade waits for.
    if handoff::exited(&pending).contains(&child) {
        return failed(
            format!("child pid {pid} exited before the exec"),
            false,
            pending,
        );
    }
    let handoff = handoff_of(io, state, pending);
    let memfd = match handoff.seal() {
        Ok(fd) => fd,
        Err(e) => {
            return failed(
                format!("cannot write the state down: {e}"),
                false,
                handoff.pending,
            );
        }
    };
    // The pause, and the lines still queued out (if stderr takes them
    // soon: the pause is the upgrade's), before the descriptors are made
    // inheritable, not between that and the exec: a process another
    // thread starts meanwhile (one of the program's, from before `run`)
    // would take them along.
    handoff::test_pause("the exec");
    // The watchdog's last ping may be nearly an interval old, and the new
    // image pings only once it serves, after the program's code before
    // `run`: a ping now leaves that whole interval for the exec. Before
    // the flush (a failed send is logged) and before the descriptors are
    // made inheritable (a send may wait). So too what waits for room in
    // the manager's queue, which the exec would lose.
    if let Some(notifier) = io.notifier.as_ref() {
        if notifier.watchdog_interval().is_some() {
            notifier.watchdog();
        }
        notifier.send_waiting_now();
    }
    crate::log::flush(crate::log::EXEC_PATIENCE);
    let mut carried = handoff.fds();
    carried.extend([memfd.as_raw_fd(), previous.as_raw_fd()]);
    if let Err(e) = reexec::inherit(&carried, true) {
        let _ = reexec::inherit(&carried, false);
        return failed(
            format!("cannot keep descriptors open: {e}"),
            false,
            handoff.pending,
        );
    }
    let env = handoff::env_value(&memfd, &previous);
    // Still blocked for the new image (see `block`).
    let _ = super::signals::block();
    // After the flush: the lines the exec loses, for the new image to say.
    let unsaid = handoff::log_unsaid_value(memfd.as_fd());
    let mut vars = vec![(handoff::ENV_VAR, env.as_str())];
    vars.extend(unsaid.as_deref().map(|u| (handoff::LOG_UNSAID_VAR, u)));
    let error = reexec::exec(&new, std::env::vars_os(), &vars);
    // Still here: the exec failed, and this image runs on.
    let _ = reexec::inherit(&carried, false);
    let refuse = the_binarys_fault(&error);
    let error = super::exec_words::exec_error_of(&new, &error);
    failed(format!("exec failed: {error}"), refuse, handoff.pending)
}

/// Whether an exec failed because of the file itself (not a program of
/// this machine, not executable, its interpreter missing), or of what
/// every exec of it carries (`E2BIG`: the supervisor's own arguments and
/// environment, which do not change, over the kernel's limit, a quarter of
/// the stack limit), so that trying it again is pointless; not for a
/// passing want of memory or descriptors, after which the next child of
/// the same release tries again.
pub(super) fn the_binarys_fault(error: &std::io::Error) -> bool {
    use nix::libc;
    matches!(
        error.raw_os_error(),
        Some(
            libc::E2BIG
                | libc::ENOEXEC
                | libc::EACCES
                | libc::EPERM
                | libc::ELIBBAD
                | libc::ENOENT
                | libc::ENOTDIR
                | libc::ELOOP
                | libc::EISDIR
        )
    )
}

/// The handoff of what `io` holds.
fn handoff_of(io: &Io, state: State, pending: Vec<Event>) -> Handoff {
    // A child whose exit is pending has been reaped: its watcher, and
    // so its channel, is gone.
    let exited = handoff::exited(&pending);
    // Every open connection (counted open as it is accepted), each with
    // what it had read and what it owes its client, exact: the runtime
    // runs no connection's task until the exec. Those with a request held
    // go as the machine's clients.
    let open = io.connections.open();
    let client_of = |conn: &std::sync::Arc<crate::control::connection::Conn>| {
        io.clients
            .iter()
            .find(|(_, client)| std::sync::Arc::ptr_eq(&client.0, conn))
            .map(|(id, _)| *id)
    };
    let mut clients = Vec::new();
    let mut idle = Vec::new();
    let mut unread = Vec::new();
    let mut unsent = Vec::new();
    for conn in &open {
        let snapshot = conn.snapshot();
        // One closing after its error is left to the exec's close (its
        // client, not reading that error, would lose only that): handed
        // on, the new image would read on after it.
        if snapshot.closing {
            continue;
        }
        match client_of(conn) {
            Some(id) => clients.push((id, snapshot.fd)),
            None => idle.push(snapshot.fd),
        }
        if !snapshot.unread.is_empty() {
            unread.push((snapshot.fd, snapshot.unread));
        }
        if !snapshot.unsent.is_empty() {
            unsent.push((snapshot.fd, snapshot.unsent));
        }
    }
    Handoff {
        version: STATE_VERSION,
        state,
        pending,
        refused: vec![],
        origin_ns: io.origin_ns,
        sockets: io
            .sockets
            .iter()
            .map(|(key, socket)| HandedSocket {
                key: key.clone(),
                fd: socket.fd.as_raw_fd(),
                unix_path: socket.unix_file.as_ref().map(|f| f.path.clone()),
                unix_id: socket.unix_file.as_ref().map(|f| f.id),
                unix_folder: socket.unix_folder,
            })
            .collect(),
        children: io
            .children
            .iter()
            .filter(|(id, _)| !exited.contains(id))
            .map(|(id, child)| (*id, child.channel_fd))
            .collect(),
        clients,
        idle,
        unread,
        unsent,
        binaries: io
            .binaries
            .iter()
            .map(|(id, fd)| (*id, fd.as_raw_fd()))
            .collect(),
        next_client: io.next_client,
        control: io.control_fd.as_raw_fd(),
        control_path: io.control_path.clone(),
        // Known gone: `[0, 0]`, which names no file (`None` is an older
        // image's, which the new one takes from the path).
        control_id: Some(io.control_file.as_ref().map_or([0, 0], |f| f.id)),
        lock: io.lock.raw_fd(),
        lock_id: crate::inherited::file_identity(io.lock.raw_fd()),
        lock_path: io.lock.path().to_owned(),
        watch: io.watch.as_ref().and_then(|w| w.raw_fd()),
        notify: io.notifier.as_ref().map(|n| n.handoff()),
        notify_fd: io.notifier.as_ref().and_then(|n| n.connected_fd()),
        made_at_start: io.made_at_start.clone(),
        control_out_of_sight: io.control_out_of_sight,
    }
}

#[cfg(test)]
mod tests {
    use super::the_binarys_fault;
    use nix::libc;

    #[test]
    fn only_a_fault_of_the_file_refuses_its_release_for_good() {
        let of = |errno| the_binarys_fault(&std::io::Error::from_raw_os_error(errno));
        for errno in [
            libc::ENOEXEC,
            libc::EACCES,
            libc::ENOENT,
            libc::ELIBBAD,
            libc::E2BIG,
        ] {
            assert!(of(errno), "errno {errno}");
        }
        for errno in [libc::ENOMEM, libc::EAGAIN, libc::EMFILE, libc::ETXTBSY] {
            assert!(!of(errno), "errno {errno}");
        }
    }
}
