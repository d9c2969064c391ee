//! The supervisor's side of the control socket.
//!
//! Each connection is served by its own task: it checks the peer, reads
//! requests one line at a time (bounded in size and time), hands each to the
//! supervisor, and writes back its responses. A bad message gets an error
//! reply; nothing a client sends can stop the supervisor.

use std::io;
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixListener as StdUnixListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;

use super::protocol::{self, MAX_LINE, Request, Response};

use crate::log::log;

/// How long a client may take to send a whole request line (counted
/// afresh by the next image when an in-place upgrade hands the
/// connection on).
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The least room a control connection makes for each read: one read
/// takes in a whole ordinary request.
const REQUEST_BUFFER: usize = 1024;

/// A request for the supervisor, with where its responses go.
#[derive(Debug)]
pub(crate) struct ControlRequest {
    pub request: Request,
    pub reply: mpsc::UnboundedSender<Response>,
    /// The connection it came on, to hand on across an in-place upgrade.
    pub conn: std::os::fd::OwnedFd,
    /// What the client sent after this request's line (the start of its
    /// next request), read already: handed on with the connection.
    pub unread: Vec<u8>,
}

/// Why the control socket cannot be had: the service already runs, or its
/// lock file or control socket cannot be used.
#[derive(Debug)]
pub(crate) enum ControlError {
    /// Another supervisor of service `name` holds its lock, or answers on
    /// its control `socket`; `pid` when it could be asked.
    AlreadyRunning {
        name: String,
        pid: Option<i32>,
        socket: Option<PathBuf>,
    },
    /// The lock file cannot be opened.
    OpenLock { path: PathBuf, error: io::Error },
    /// The lock file cannot be locked (for another reason than a holder).
    Lock { path: PathBuf, error: nix::Error },
    /// The lock file cannot be inspected.
    InspectLock { path: PathBuf, error: io::Error },
    /// A dead supervisor's control socket cannot be removed.
    RemoveStale { path: PathBuf, error: io::Error },
    /// Whether a supervisor answers on the control socket cannot be told.
    Check { path: PathBuf, error: io::Error },
    /// The control socket cannot be created.
    Create { path: PathBuf, error: io::Error },
}

impl std::fmt::Display for ControlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ControlError::AlreadyRunning { name, pid, socket } => {
                write!(f, "`{name}` is already running")?;
                if let Some(pid) = pid {
                    write!(f, " (pid {pid})")?;
                }
                if let Some(socket) = socket {
                    write!(f, ", control socket {}", socket.display())?;
                }
                Ok(())
            }
            ControlError::OpenLock { path, error } => {
                write!(f, "cannot open {}: {error}", path.display())
            }
            ControlError::Lock { path, error } => {
                write!(f, "cannot lock {}: {error}", path.display())
            }
            ControlError::InspectLock { path, error } => {
                write!(f, "cannot inspect {}: {error}", path.display())
            }
            ControlError::RemoveStale { path, error } => write!(
                f,
                "cannot remove the stale control socket {}: {error}",
                path.display()
            ),
            ControlError::Check { path, error } => write!(
                f,
                "cannot check the control socket {}: {error}",
                path.display()
            ),
            ControlError::Create { path, error } => write!(
                f,
                "cannot create the control socket {}: {error}",
                path.display()
            ),
        }
    }
}

impl std::error::Error for ControlError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ControlError::AlreadyRunning { .. } => None,
            ControlError::Lock { error, .. } => Some(error),
            ControlError::OpenLock { error, .. }
            | ControlError::InspectLock { error, .. }
            | ControlError::RemoveStale { error, .. }
            | ControlError::Check { error, .. }
            | ControlError::Create { error, .. } => Some(error),
        }
    }
}

/// Binds the control socket at `path`. A socket left by a dead supervisor
/// is replaced; a live one is left alone and named in the error.
pub(crate) fn bind(
    path: &Path,
    name: &str,
) -> Result<(StdUnixListener, ServiceLock), ControlError> {
    // One supervisor per service: whoever holds the lock may check, replace
    // and bind the socket, so two racing starts cannot both succeed, nor
    // can the loser remove the winner's socket.
    let lock = ServiceLock::take(&path.with_extension("lock"), || {
        ControlError::AlreadyRunning {
            name: name.to_owned(),
            pid: live_pid(path),
            socket: None,
        }
    })?;
    match bind_locked(path, name) {
        Ok(listener) => Ok((listener, lock)),
        Err(e) => {
            lock.remove();
            Err(e)
        }
    }
}

/// The part of [`bind`] done under the lock.
fn bind_locked(path: &Path, name: &str) -> Result<StdUnixListener, ControlError> {
    match std::os::unix::net::UnixStream::connect(path) {
        Ok(live) => {
            return Err(ControlError::AlreadyRunning {
                name: name.to_owned(),
                pid: pid_of(&live),
                socket: Some(path.to_owned()),
            });
        }
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
            log!(
                "removing the stale control socket {} left by a dead supervisor",
                path.display()
            );
            std::fs::remove_file(path).map_err(|error| ControlError::RemoveStale {
                path: path.to_owned(),
                error,
            })?;
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(error) => {
            return Err(ControlError::Check {
                path: path.to_owned(),
                error,
            });
        }
    }
    StdUnixListener::bind(path).map_err(|error| ControlError::Create {
        path: path.to_owned(),
        error,
    })
}

/// Held for the supervisor's whole life: an exclusive `flock` on its
/// service's lock file, `<name>.lock` next to the control socket.
///
/// The owner removes the file when it exits cleanly ([`ServiceLock::remove`]),
/// while still holding the lock. A starter that opened the file just before
/// may then lock that removed file, which no later starter will open: so
/// whoever gets the lock checks that the path still names the very file it
/// locked, and starts over if not.
#[derive(Debug)]
pub(crate) struct ServiceLock {
    /// The lock lasts as long as this descriptor.
    file: Flock<std::fs::File>,
    path: PathBuf,
}

impl ServiceLock {
    /// Opens (creating it if need be) and locks the file at `path`;
    /// `busy()` is the error when another process holds it.
    fn take(path: &Path, busy: impl Fn() -> ControlError) -> Result<ServiceLock, ControlError> {
        loop {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(path)
                .map_err(|error| ControlError::OpenLock {
                    path: path.to_owned(),
                    error,
                })?;
            if let Some(lock) = Self::lock(file, path, &busy)? {
                return Ok(lock);
            }
        }
    }

    /// Locks `file`, opened from `path`; `None` when by then `path` no
    /// longer names it: the owner before us removed it as it exited, so
    /// this lock guards nothing and the caller must open `path` again.
    fn lock(
        file: std::fs::File,
        path: &Path,
        busy: impl Fn() -> ControlError,
    ) -> Result<Option<ServiceLock>, ControlError> {
        let lock = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => lock,
            Err((_, Errno::EWOULDBLOCK)) => return Err(busy()),
            Err((_, error)) => {
                return Err(ControlError::Lock {
                    path: path.to_owned(),
                    error,
                });
            }
        };
        let inspect = |error| ControlError::InspectLock {
            path: path.to_owned(),
            error,
        };
        let locked = lock.metadata().map_err(inspect)?;
        // Our open descriptor keeps the locked inode alive, so its number
        // cannot have been reused by a file created at `path` since.
        match std::fs::symlink_metadata(path) {
            Ok(named) if (named.dev(), named.ino()) == (locked.dev(), locked.ino()) => {
                Ok(Some(ServiceLock {
                    file: lock,
                    path: path.to_owned(),
                }))
            }
            Ok(_) => Ok(None),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(inspect(e)),
        }
    }

    /// The lock a supervisor held before it re-executed itself: `fd` is
    /// the lock file's descriptor, kept open (and so locked) across exec.
    pub(crate) fn resume(
        fd: std::os::fd::OwnedFd,
        path: PathBuf,
    ) -> Result<ServiceLock, ControlError> {
        // Locking again what this open file already holds succeeds at once.
        let lock = Flock::lock(std::fs::File::from(fd), FlockArg::LockExclusiveNonblock).map_err(
            |(_, error)| ControlError::Lock {
                path: path.clone(),
                error,
            },
        )?;
        Ok(ServiceLock { file: lock, path })
    }

    /// The lock file's descriptor, to keep across an in-place upgrade.
    pub(crate) fn raw_fd(&self) -> std::os::fd::RawFd {
        std::os::fd::AsRawFd::as_raw_fd(&*self.file)
    }

    /// Its path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Removes the lock file, still holding the lock: call it last, after
    /// everything the lock guards (the control socket, unix listeners'
    /// files) is gone, just before the process exits.
    pub(crate) fn remove(&self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The pid of the supervisor behind `path`, if one answers.
fn live_pid(path: &Path) -> Option<i32> {
    let live = std::os::unix::net::UnixStream::connect(path).ok()?;
    pid_of(&live)
}

/// The pid of the process at the other end of `live`, if known.
fn pid_of(live: &std::os::unix::net::UnixStream) -> Option<i32> {
    nix::sys::socket::getsockopt(live, nix::sys::socket::sockopt::PeerCredentials)
        .ok()
        .map(|c| c.pid())
}

/// The control connections waiting for (the rest of) a request, by
/// number, with what each has sent of it so far: an in-place upgrade hands
/// them on, and the next image reads on from there.
#[derive(Debug, Clone, Default)]
pub(crate) struct Idle {
    next: Arc<std::sync::atomic::AtomicU64>,
    conns: Arc<std::sync::Mutex<std::collections::HashMap<u64, Waiting>>>,
}

/// A connection waiting for a request: its descriptor and the bytes it
/// has sent of that request so far.
type Waiting = (std::os::fd::RawFd, Vec<u8>);

impl Idle {
    /// The connections waiting now, with what each has sent so far
    /// (descriptors valid while the caller keeps the runtime from running
    /// their tasks).
    pub fn waiting(&self) -> Vec<Waiting> {
        let conns = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        conns.values().cloned().collect()
    }

    /// Counts `fd` as waiting, having sent `sent`, until the guard is
    /// dropped.
    fn mark(&self, fd: std::os::fd::RawFd, sent: &[u8]) -> IdleGuard<'_> {
        let id = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut conns = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        conns.insert(id, (fd, sent.to_vec()));
        IdleGuard { idle: self, id }
    }
}

/// See [`Idle::mark`].
struct IdleGuard<'a> {
    idle: &'a Idle,
    id: u64,
}

impl IdleGuard<'_> {
    /// Adds `sent` to what the connection has sent so far.
    fn extend(&self, sent: &[u8]) {
        let mut conns = self.idle.conns.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, bytes)) = conns.get_mut(&self.id) {
            bytes.extend_from_slice(sent);
        }
    }
}

impl Drop for IdleGuard<'_> {
    fn drop(&mut self) {
        let mut conns = self.idle.conns.lock().unwrap_or_else(|e| e.into_inner());
        conns.remove(&self.id);
    }
}

/// Accepts control connections for ever.
pub(crate) async fn serve(
    listener: UnixListener,
    requests: mpsc::UnboundedSender<ControlRequest>,
    idle: Idle,
) {
    let our_uid = nix::unistd::geteuid().as_raw();
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // EMFILE and friends: say so, back off a little, keep serving.
                log!("control socket accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let (requests, idle) = (requests.clone(), idle.clone());
        tokio::spawn(async move {
            match stream.peer_cred() {
                Ok(cred) if cred.uid() == our_uid || cred.uid() == 0 => {
                    serve_connection(stream, requests, idle, Vec::new()).await
                }
                Ok(cred) => {
                    log!(
                        "refused a control connection from uid {} (pid {:?}): only uid {our_uid} and root may control this supervisor",
                        cred.uid(),
                        cred.pid()
                    );
                    let error = Response::Error {
                        error: "permission denied: not the supervisor's user".to_owned(),
                    };
                    refuse(stream, &error).await;
                }
                Err(e) => log!("cannot identify a control peer: {e}"),
            }
        });
    }
}

/// A control connection kept across an in-place upgrade, for tokio.
pub(crate) fn stream(std: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
    std.set_nonblocking(true)?;
    UnixStream::from_std(std)
}

/// Serves a control connection handed over by the supervisor's previous
/// image: first the answers to its request, then its next requests,
/// starting with the bytes `unread` the previous image had read already.
pub(crate) async fn resume_connection(
    stream: UnixStream,
    mut responses: mpsc::UnboundedReceiver<Response>,
    requests: mpsc::UnboundedSender<ControlRequest>,
    idle: Idle,
    unread: Vec<u8>,
) {
    let (read, mut write) = stream.into_split();
    if !answer(&mut responses, &mut write).await {
        return;
    }
    let Ok(stream) = read.reunite(write) else {
        return;
    };
    serve_connection(stream, requests, idle, unread).await;
}

/// Serves a control connection: its requests, one line at a time;
/// `unread` is what it sent that was read already (by the previous image,
/// across an in-place upgrade).
pub(crate) async fn serve_connection(
    stream: UnixStream,
    requests: mpsc::UnboundedSender<ControlRequest>,
    idle: Idle,
    mut unread: Vec<u8>,
) {
    let conn = std::os::fd::AsFd::as_fd(&stream).try_clone_to_owned();
    let raw = std::os::fd::AsRawFd::as_raw_fd(&stream);
    let (mut read, mut write) = stream.into_split();
    loop {
        let line = match read_request(&mut read, &mut unread, raw, &idle).await {
            Ok(line) => line,
            Err(None) => return,
            Err(Some(error)) => {
                let _ = write
                    .write_all(&protocol::encode(&Response::Error { error }))
                    .await;
                return;
            }
        };
        let request = match protocol::decode_request(line.trim_ascii_end()) {
            Ok(request) => request,
            Err(error) => {
                log!("bad control request: {error}");
                let error = error.to_string();
                if write
                    .write_all(&protocol::encode(&Response::Error { error }))
                    .await
                    .is_err()
                {
                    return;
                }
                continue;
            }
        };
        let (reply, mut responses) = mpsc::unbounded_channel();
        let Ok(conn) = conn
            .as_ref()
            .map_err(|_| ())
            .and_then(|c| c.try_clone().map_err(|_| ()))
        else {
            return;
        };
        let unread = unread.clone();
        if requests
            .send(ControlRequest {
                request,
                reply,
                conn,
                unread,
            })
            .is_err()
        {
            return;
        }
        if !answer(&mut responses, &mut write).await {
            return;
        }
    }
}

/// Takes the next request line (newline included) off the front of
/// `unread`, reading more as needed, within [`READ_TIMEOUT`]. `Err(None)`:
/// the connection ended or went quiet between requests, so close it
/// without a word; `Err(Some(why))`: tell the client why, then close.
async fn read_request(
    read: &mut tokio::net::unix::OwnedReadHalf,
    unread: &mut Vec<u8>,
    raw: std::os::fd::RawFd,
    idle: &Idle,
) -> Result<Vec<u8>, Option<String>> {
    let deadline = tokio::time::Instant::now() + READ_TIMEOUT;
    // Until the line is whole, an upgrade hands the connection on with
    // what it has sent of it, and the next image reads on.
    let mut waiting = None;
    // Each byte is looked at once, however the line trickles in.
    let mut scanned = 0;
    loop {
        let newline = unread[scanned..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|at| scanned + at);
        if newline.unwrap_or(unread.len()) > MAX_LINE {
            return Err(Some(format!("request longer than {MAX_LINE} bytes")));
        }
        if let Some(end) = newline {
            return Ok(unread.drain(..=end).collect());
        }
        scanned = unread.len();
        let waiting = waiting.get_or_insert_with(|| idle.mark(raw, unread));
        unread.reserve(REQUEST_BUFFER);
        match tokio::time::timeout_at(deadline, read.read_buf(unread)).await {
            Ok(Ok(0)) if unread.is_empty() => return Err(None),
            Ok(Ok(0)) => return Err(Some("request not terminated by a newline".to_owned())),
            Ok(Ok(_)) => waiting.extend(&unread[scanned..]),
            Ok(Err(_)) => return Err(None),
            // Idle between requests: close quietly. Half a request: say so.
            Err(_elapsed) if unread.is_empty() => return Err(None),
            Err(_elapsed) => {
                return Err(Some(format!("no complete request within {READ_TIMEOUT:?}")));
            }
        }
    }
}

/// Writes the responses to one request up to its final one; `false` if
/// the connection is done for.
async fn answer(
    responses: &mut mpsc::UnboundedReceiver<Response>,
    write: &mut tokio::net::unix::OwnedWriteHalf,
) -> bool {
    loop {
        let Some(response) = responses.recv().await else {
            // The supervisor dropped the request without a final answer
            // (it is exiting): say so rather than leave the client waiting.
            let error = "the supervisor ended without answering".to_owned();
            let _ = write
                .write_all(&protocol::encode(&Response::Error { error }))
                .await;
            return false;
        };
        if write.write_all(&protocol::encode(&response)).await.is_err() {
            return false;
        }
        if response.is_final() {
            return true;
        }
    }
}

/// Answers a peer we will not serve and closes in an orderly way: whatever
/// it sent is drained (briefly), so the close is not a reset that could
/// swallow the answer.
async fn refuse(mut stream: UnixStream, error: &Response) {
    let _ = stream.write_all(&protocol::encode(error)).await;
    let _ = stream.shutdown().await;
    let mut unread = (&mut stream).take(MAX_LINE as u64);
    let mut sink = tokio::io::sink();
    let drain = tokio::io::copy(&mut unread, &mut sink);
    let _ = tokio::time::timeout(Duration::from_secs(1), drain).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_on_a_removed_file_is_not_taken() {
        let dir = tempfile_dir("lock");
        let path = dir.join("svc.lock");
        let busy = || ControlError::AlreadyRunning {
            name: "svc".to_owned(),
            pid: None,
            socket: None,
        };
        let refused = |e: ControlError| {
            assert!(matches!(e, ControlError::AlreadyRunning { .. }), "{e}");
            assert_eq!(e.to_string(), "`svc` is already running");
        };
        let first = ServiceLock::take(&path, busy).unwrap();
        refused(ServiceLock::take(&path, busy).unwrap_err());
        // A starter opens the file, then the owner removes it and exits.
        let late = std::fs::File::open(&path).unwrap();
        first.remove();
        drop(first);
        assert!(!path.exists());
        // The late starter gets the lock on the removed file: not valid.
        assert!(ServiceLock::lock(late, &path, busy).unwrap().is_none());
        // Starting over makes a new file, and its lock holds.
        let second = ServiceLock::take(&path, busy).unwrap();
        assert!(path.exists());
        refused(ServiceLock::take(&path, busy).unwrap_err());
        // A file replaced under an opener is not taken either.
        let stale = std::fs::File::open(&path).unwrap();
        second.remove();
        drop(second);
        std::fs::write(&path, "").unwrap();
        assert!(ServiceLock::lock(stale, &path, busy).unwrap().is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Reads one request from `sent` (written whole, then the writer
    /// closes), with what was left unread after it.
    async fn request_from(sent: &[u8]) -> (Result<Vec<u8>, Option<String>>, Vec<u8>) {
        let (ours, mut theirs) = UnixStream::pair().unwrap();
        let sent = sent.to_vec();
        // Written alongside the reads: a long one fills the socket buffer.
        tokio::spawn(async move { theirs.write_all(&sent).await });
        let raw = std::os::fd::AsRawFd::as_raw_fd(&ours);
        let (mut read, _write) = ours.into_split();
        let mut unread = Vec::new();
        let line = read_request(&mut read, &mut unread, raw, &Idle::default()).await;
        (line, unread)
    }

    #[tokio::test]
    async fn a_request_is_one_line_and_what_follows_it_stays_unread() {
        let (line, unread) = request_from(b"{\"a\":1}\n{\"b\":").await;
        assert_eq!(line.unwrap(), b"{\"a\":1}\n");
        assert_eq!(unread, b"{\"b\":");
        let (line, unread) = request_from(b"").await;
        assert_eq!(line, Err(None), "a close between requests is no error");
        assert!(unread.is_empty());
        let (line, _) = request_from(b"{\"a\":").await;
        assert_eq!(
            line,
            Err(Some("request not terminated by a newline".to_owned()))
        );
        let (line, _) = request_from(&vec![b'x'; MAX_LINE + 2]).await;
        assert_eq!(
            line,
            Err(Some("request longer than 65536 bytes".to_owned()))
        );
        let mut longest = vec![b'x'; MAX_LINE];
        longest.push(b'\n');
        let (line, _) = request_from(&longest).await;
        assert_eq!(line.unwrap().len(), MAX_LINE + 1);
        let mut too_long = vec![b'x'; MAX_LINE + 1];
        too_long.push(b'\n');
        let (line, _) = request_from(&too_long).await;
        assert_eq!(
            line,
            Err(Some("request longer than 65536 bytes".to_owned()))
        );
    }

    #[tokio::test]
    async fn a_request_begun_counts_as_waiting_with_what_it_sent() {
        let (ours, mut theirs) = UnixStream::pair().unwrap();
        let raw = std::os::fd::AsRawFd::as_raw_fd(&ours);
        let idle = Idle::default();
        let reader = {
            let idle = idle.clone();
            tokio::spawn(async move {
                let (mut read, _write) = ours.into_split();
                let mut unread = Vec::new();
                read_request(&mut read, &mut unread, raw, &idle).await
            })
        };
        let waiting_with = |sent: &[u8]| {
            let idle = idle.clone();
            let sent = sent.to_vec();
            async move {
                for _ in 0..1000 {
                    if idle.waiting() == vec![(raw, sent.clone())] {
                        return;
                    }
                    tokio::task::yield_now().await;
                }
                panic!("never waiting with {sent:?}: {:?}", idle.waiting());
            }
        };
        waiting_with(b"").await;
        theirs.write_all(b"{\"v\":").await.unwrap();
        waiting_with(b"{\"v\":").await;
        theirs.write_all(b" ").await.unwrap();
        waiting_with(b"{\"v\": ").await;
        theirs.write_all(b"1}\n").await.unwrap();
        assert_eq!(reader.await.unwrap().unwrap(), b"{\"v\": 1}\n");
        assert!(
            idle.waiting().is_empty(),
            "not waiting once the line is whole"
        );
    }

    fn tempfile_dir(what: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("lb-server-{what}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
