//! One control connection: what it has sent and what it is owed.
//!
//! Each connection keeps two buffers the supervisor can see at any moment:
//! the bytes read from the client and not yet taken as a request (a
//! request begun, or the next one sent ahead), and the answers queued and
//! not yet written. The supervisor queues an answer synchronously, and the
//! connection's task removes bytes in the same step as it writes them, so
//! when the supervisor upgrades itself in place it hands both buffers on,
//! exact to the byte, and the next image carries on: nothing a client sent
//! is read twice or lost, and no answer is cut short, even one the client
//! is slow to read.

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::net::UnixStream;
use tokio::sync::{Notify, mpsc};

use super::protocol::{self, MAX_LINE, Request, Response};
use crate::log::log;

/// How long a client may take to send a whole request line, the idle
/// time before it included (and blank or refused lines before it: a
/// client sending one now and then is no request on its way; counted
/// afresh by the next image when an in-place upgrade hands the
/// connection on).
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a client may leave its answers unread (taking no byte of
/// them) before its connection is closed: one that sent a request and
/// stopped reading is not kept, with its answers, for ever.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long answers may stay unread in all, however often the client
/// takes a byte of them: one reading a byte every few seconds is not
/// kept, with megabytes of a status, for ever.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

/// The least room a connection makes for each read: one read takes in a
/// whole ordinary request.
const REQUEST_BUFFER: usize = 1024;

/// A request for the supervisor, with the connection its answers go to.
#[derive(Debug)]
pub(crate) struct ControlRequest {
    pub request: Request,
    pub conn: Arc<Conn>,
}

/// What a connection tells the supervisor.
#[derive(Debug)]
pub(crate) enum ControlMessage {
    Request(ControlRequest),
    /// The client closed its connection while its request waited for the
    /// final answer.
    HungUp(Arc<Conn>),
}

/// A control connection as the supervisor sees it.
#[derive(Debug)]
pub(crate) struct Conn {
    /// Its descriptor, owned by its task; valid while not [`Conn::ended`].
    fd: RawFd,
    buffers: Mutex<Buffers>,
    /// Woken when an answer is queued.
    queued: Notify,
    /// Woken when every queued byte is written, or the connection ends.
    written: Notify,
}

/// What a connection's task and the supervisor share.
#[derive(Debug, Default)]
struct Buffers {
    /// Read from the client, not yet taken as a request.
    unread: Vec<u8>,
    /// Answers queued, not yet written.
    unsent: Vec<u8>,
    /// A request is with the supervisor and its final answer not queued
    /// yet: the next request waits (answers come in order).
    awaiting: bool,
    /// It is to close once its last answer (an error) is written: what
    /// more the client sent is never read.
    closing: bool,
    /// The task is done and the descriptor closed.
    ended: bool,
}

/// A connection's buffers at one moment, to hand on across an exec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Snapshot {
    pub fd: RawFd,
    pub unread: Vec<u8>,
    pub unsent: Vec<u8>,
    /// To close once `unsent` is written (see [`Conn::closing`]).
    pub closing: bool,
}

impl Conn {
    fn new(fd: RawFd, begun: Begun) -> Conn {
        Conn {
            fd,
            buffers: Mutex::new(Buffers {
                unread: begun.unread,
                unsent: begun.unsent,
                awaiting: begun.awaiting,
                closing: false,
                ended: false,
            }),
            queued: Notify::new(),
            written: Notify::new(),
        }
    }

    fn buffers(&self) -> MutexGuard<'_, Buffers> {
        self.buffers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `response` for the client; a final one ends the request,
    /// and the connection's next request may be read once it is written.
    pub fn answer(&self, response: &Response) {
        let mut buffers = self.buffers();
        if buffers.ended {
            // A client that went away misses its answer; nothing else.
            return;
        }
        buffers
            .unsent
            .extend_from_slice(&protocol::encode_response(response));
        if response.is_final() {
            buffers.awaiting = false;
        }
        self.queued.notify_one();
    }

    /// Whether a request of this connection still waits for its final
    /// answer.
    #[cfg(test)]
    fn awaiting(&self) -> bool {
        self.buffers().awaiting
    }

    /// Whether the connection is closed.
    #[cfg(test)]
    fn ended(&self) -> bool {
        self.buffers().ended
    }

    /// Its descriptor and buffers now.
    pub fn snapshot(&self) -> Snapshot {
        let buffers = self.buffers();
        Snapshot {
            fd: self.fd,
            unread: buffers.unread.clone(),
            unsent: buffers.unsent.clone(),
            closing: buffers.closing,
        }
    }

    /// Says the connection closes once its error is written: nothing more
    /// is read from it, nor its unread handed on (an in-place upgrade
    /// leaves it out, lest the new image read on).
    fn closing(&self) {
        let mut buffers = self.buffers();
        buffers.closing = true;
        buffers.unread.clear();
        buffers.unread.shrink_to(REQUEST_BUFFER);
    }

    /// Whether an answer queued is not yet all written, to a connection
    /// still open: what [`all_written`](Conn::all_written) waits for.
    pub fn writing(&self) -> bool {
        let buffers = self.buffers();
        !buffers.unsent.is_empty() && !buffers.ended
    }

    /// Waits until every answer queued is written, or the connection ends.
    pub async fn all_written(&self) {
        loop {
            let written = self.written.notified();
            tokio::pin!(written);
            written.as_mut().enable();
            if !self.writing() {
                return;
            }
            written.await;
        }
    }
}

/// Every open control connection, by number: an in-place upgrade hands
/// them all on.
#[derive(Debug, Clone, Default)]
pub(crate) struct Connections {
    next: Arc<AtomicU64>,
    open: Arc<Mutex<HashMap<u64, Arc<Conn>>>>,
    /// The one slot for reading and decoding a line longer than
    /// [`LONG_LINE`].
    long: LongLines,
}

/// How a connection begins: fresh, or taken over from the previous image.
#[derive(Debug, Default)]
pub(crate) struct Begun {
    /// Sent by the client and read already.
    pub unread: Vec<u8>,
    /// Answers queued and not written yet.
    pub unsent: Vec<u8>,
    /// A request of its is with the supervisor.
    pub awaiting: bool,
}

impl Connections {
    /// The connections open now.
    pub fn open(&self) -> Vec<Arc<Conn>> {
        let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.values().cloned().collect()
    }

    /// How many are open now.
    pub fn count(&self) -> usize {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Takes on a connection just accepted: see [`Connections::take`].
    pub fn accept(
        &self,
        stream: UnixStream,
        requests: mpsc::UnboundedSender<ControlMessage>,
    ) -> (Arc<Conn>, impl Future<Output = ()> + Send + 'static) {
        self.take(stream, requests, Begun::default())
    }

    /// Counts `stream` open, as `begun`, at once; returns it, and the task
    /// that serves it (first the answers it is owed, then its requests,
    /// one line at a time) and counts it closed when done.
    pub fn take(
        &self,
        stream: UnixStream,
        requests: mpsc::UnboundedSender<ControlMessage>,
        begun: Begun,
    ) -> (Arc<Conn>, impl Future<Output = ()> + Send + 'static) {
        let conn = Arc::new(Conn::new(stream.as_raw_fd(), begun));
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.insert(id, conn.clone());
        let registered = Registered {
            connections: self.clone(),
            id,
            conn: conn.clone(),
        };
        let served = conn.clone();
        let long = self.long.clone();
        let task = async move {
            let stream = stream;
            // Dropped before the stream: the connection is never counted
            // open with its descriptor closed.
            let _registered = registered;
            serve(&stream, &served, requests, &long).await;
        };
        (conn, task)
    }
}

/// Serves `conn` on `stream` until the client or the supervisor is done.
async fn serve(
    stream: &UnixStream,
    conn: &Arc<Conn>,
    requests: mpsc::UnboundedSender<ControlMessage>,
    long: &LongLines,
) {
    // Since the last request taken (or the connection's start): blank
    // and bad lines between do not put it off.
    let mut carried: Option<tokio::time::Instant> = None;
    loop {
        match flush(stream, conn).await {
            Flushed::Ready => {}
            Flushed::Done if !conn.buffers().awaiting => return,
            // Done for with a request still waiting (a write that met the
            // client's close, or its answers unread too long): as gone.
            Flushed::Done | Flushed::HungUp => {
                let _ = requests.send(ControlMessage::HungUp(conn.clone()));
                return;
            }
        }
        let mut deadline = carried
            .take()
            .unwrap_or_else(|| tokio::time::Instant::now() + READ_TIMEOUT);
        let (length, long_slot) = match read_request(stream, conn, long, &mut deadline).await {
            Ok(read) => read,
            Err(None) => return,
            Err(Some(answer)) => {
                // What is unread goes with the close: an in-place upgrade
                // before the answer is written must not hand it on, to be
                // read (and refused) again by the new image.
                conn.closing();
                conn.answer(&answer);
                flush(stream, conn).await;
                return;
            }
        };
        let line = {
            let mut buffers = conn.buffers();
            if buffers.unread[..length].trim_ascii().is_empty() {
                // A blank line (a client's second newline, `print` of a
                // line ending in one) asks nothing: answered, it would be
                // taken for the answer to that client's next request.
                // Every blank line read with it goes in one drain, not one
                // each (a buffer of newlines shifted once per newline).
                let unread = &buffers.unread;
                let blank = (unread.iter())
                    .position(|b| !b.is_ascii_whitespace())
                    .unwrap_or(unread.len());
                let lines = (unread[..blank].iter())
                    .rposition(|&b| b == b'\n')
                    .map_or(length, |newline| newline + 1);
                buffers.unread.drain(..lines.max(length));
                // Up to `MAX_LINE` of spaces: no big buffer left behind.
                buffers.unread.shrink_to(REQUEST_BUFFER);
                carried = Some(deadline);
                None
            } else {
                // A copy: the line stays unread until handled, so that an
                // in-place upgrade while a long one is decoded hands it on
                // (its new image reads it again) rather than losing it.
                // (The buffer, whose capacity may have doubled past the
                // line, and the copy: 48 MiB at most, one long line at a
                // time.)
                Some(buffers.unread[..length].to_vec())
            }
        };
        let Some(line) = line else {
            // The loop's thread is the supervisor's only one: a client
            // sending blank lines faster than they are read (no await
            // would pend) must not hold it from signals, children and
            // deadlines.
            tokio::task::consume_budget().await;
            continue;
        };
        let decoded = decode(line, long_slot).await;
        {
            // One step with the outcome: no await between.
            let mut buffers = conn.buffers();
            buffers.unread.drain(..length);
            // What follows another protocol's line is never read: not by
            // a new image either, should an upgrade come before the close.
            if decoded.as_ref().is_err_and(|bad| bad.ends_connection) {
                buffers.unread.clear();
            }
            // A long line (a reload's arguments) leaves no big buffer
            // behind for the connection's life.
            buffers.unread.shrink_to(REQUEST_BUFFER);
            buffers.awaiting = decoded.is_ok();
        }
        match decoded {
            // Its client gone before this was read (a command that gave up
            // on a stalled loop: a long `supervisor_init`, a SIGSTOP; it
            // said that a reload not begun is dropped), as a reload
            // waiting its turn is once its client goes: not begun once
            // nobody waits. (A client that only shut its writing half, as
            // `nc -N` does after its request, still waits for the answer.)
            Ok(Request::Reload { .. }) if hung_up(stream) == Some(true) => {
                conn.buffers().awaiting = false;
                log!(
                    "dropped a reload whose client had closed its connection before the supervisor read it"
                );
            }
            Ok(request) => {
                let conn = conn.clone();
                let request = ControlMessage::Request(ControlRequest { request, conn });
                if requests.send(request).is_err() {
                    return;
                }
            }
            Err(BadLine {
                error,
                ends_connection,
            }) => {
                // Once per `REPEAT_QUIET` at most: a client sending garbage in a
                // loop must not crowd out the lines that matter (the log
                // queue drops past its most).
                static BAD_REQUESTS: std::sync::LazyLock<crate::repeated::Shared> =
                    std::sync::LazyLock::new(Default::default);
                crate::repeated::say_telling_the_end(
                    &BAD_REQUESTS,
                    // Escaped and cut only when said.
                    |since| {
                        let logged = protocol::short_printable(&error);
                        log!("bad control request: {logged}{since}")
                    },
                    |n| {
                        log!(
                            "bad control request: {n} more{}",
                            crate::repeated::AFTER_THE_LAST_SAID
                        )
                    },
                );
                if ends_connection {
                    conn.closing();
                }
                conn.answer(&Response::error(error));
                if ends_connection {
                    flush(stream, conn).await;
                    return;
                }
                carried = Some(deadline);
                // As for a blank line.
                tokio::task::consume_budget().await;
            }
        }
    }
}

/// Counts a connection open until dropped.
struct Registered {
    connections: Connections,
    id: u64,
    conn: Arc<Conn>,
}

impl Drop for Registered {
    fn drop(&mut self) {
        let mut open = self
            .connections
            .open
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        open.remove(&self.id);
        self.conn.buffers().ended = true;
        self.conn.written.notify_waiters();
    }
}

/// `try_write` with `MSG_NOSIGNAL`: a client gone mid-answer is an
/// `EPIPE` error, not a SIGPIPE that would end the supervisor should the
/// program (its `supervisor_init`, say) restore SIGPIPE's default.
pub(crate) fn send(stream: &UnixStream, bytes: &[u8]) -> io::Result<usize> {
    use std::os::fd::AsRawFd;
    stream.try_io(tokio::io::Interest::WRITABLE, || {
        let flags = nix::sys::socket::MsgFlags::MSG_NOSIGNAL;
        nix::sys::socket::send(stream.as_raw_fd(), bytes, flags).map_err(io::Error::from)
    })
}

/// How [`flush`] ended.
enum Flushed {
    /// Everything owed is written: the next request may be read.
    Ready,
    /// The connection is done for.
    Done,
    /// The client closed its connection while a request of its waited for
    /// the final answer.
    HungUp,
}

/// Writes what `conn` owes its client, and while a request is with the
/// supervisor, its answers up to the final one, watching meanwhile for a
/// client that closes its connection.
async fn flush(stream: &UnixStream, conn: &Conn) -> Flushed {
    // Until the client is seen to have sent more (a request ahead) or shut
    // only its writing half: then its connection reads ready for good, and
    // a full close is looked for every so often instead.
    let mut watch_hang_up = true;
    // Since when answers have waited unsent without a break.
    let mut blocked_since: Option<tokio::time::Instant> = None;
    loop {
        let queued = conn.queued.notified();
        tokio::pin!(queued);
        queued.as_mut().enable();
        let blocked = {
            let mut buffers = conn.buffers();
            // Written and removed in one step, so a snapshot between two
            // steps holds exactly what the client has not been sent.
            while !buffers.unsent.is_empty() {
                match send(stream, &buffers.unsent) {
                    Ok(n) => {
                        buffers.unsent.drain(..n);
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(_) => return Flushed::Done,
                }
            }
            if buffers.unsent.is_empty() {
                conn.written.notify_waiters();
                if !buffers.awaiting {
                    return Flushed::Ready;
                }
            }
            !buffers.unsent.is_empty()
        };
        if !blocked {
            blocked_since = None;
        }
        if blocked {
            let since = *blocked_since.get_or_insert_with(tokio::time::Instant::now);
            let all_by = since + ANSWER_TIMEOUT;
            let by = all_by.min(tokio::time::Instant::now() + WRITE_TIMEOUT);
            match tokio::time::timeout_at(by, stream.writable()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Flushed::Done,
                Err(_elapsed) if by == all_by => {
                    log!(
                        "closed a control connection that left its answers unread for {ANSWER_TIMEOUT:?}"
                    );
                    return Flushed::Done;
                }
                Err(_elapsed) => {
                    log!("closed a control connection that read no answer for {WRITE_TIMEOUT:?}");
                    return Flushed::Done;
                }
            }
        } else if watch_hang_up {
            tokio::select! {
                () = queued => {}
                ready = stream.ready(tokio::io::Interest::READABLE) => {
                    match ready.map(|_| hung_up(stream)) {
                        Ok(Some(true)) | Err(_) => return Flushed::HungUp,
                        Ok(Some(false)) => watch_hang_up = false,
                        // Woken for nothing: looked at again.
                        Ok(None) => {}
                    }
                }
            }
        } else {
            tokio::select! {
                () = queued => {}
                () = tokio::time::sleep(HANG_UP_LOOK) => {
                    if hung_up(stream) == Some(true) {
                        return Flushed::HungUp;
                    }
                }
            }
        }
    }
}

/// How often a connection whose readiness cannot tell a hang-up (it shut
/// only its writing half, or sent a request ahead) is looked at for one
/// while its request waits.
const HANG_UP_LOOK: Duration = Duration::from_secs(1);

/// Whether the client of `stream` has closed its connection whole (not
/// only its writing half, as a client that sent its request and waits
/// for the answers may); `None` if nothing has changed after all.
fn hung_up(stream: &UnixStream) -> Option<bool> {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    use std::os::fd::AsFd;
    let mut fds = [PollFd::new(stream.as_fd(), PollFlags::POLLIN)];
    match poll(&mut fds, PollTimeout::ZERO) {
        Ok(0) | Err(_) => {
            // Tokio's readiness was stale: cleared, so the next wait waits.
            let _ = stream.try_io(tokio::io::Interest::READABLE, || {
                Err::<(), _>(io::ErrorKind::WouldBlock.into())
            });
            None
        }
        // Both halves shut: POLLHUP (a unix socket's peer closed it).
        Ok(_) => Some(
            fds[0]
                .revents()
                .is_some_and(|r| r.contains(PollFlags::POLLHUP)),
        ),
    }
}

/// Test hook: a file whose existence makes the next `status` request
/// read panic on the supervisor's loop, once (a bug's panic, stood in
/// for).
const TEST_PANIC_AT_STATUS_VAR: &str = "LITTLEBOSS_TEST_PANIC_AT_STATUS_IF";

/// Panics, once, where [`TEST_PANIC_AT_STATUS_VAR`] says.
fn panic_once_at_status() {
    static PANICKED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    let armed = crate::test_hook::test_hook::<std::path::PathBuf>(TEST_PANIC_AT_STATUS_VAR);
    if armed.is_some_and(|file| file.exists())
        && !PANICKED.swap(true, std::sync::atomic::Ordering::SeqCst)
    {
        panic!("test hook: a panic on the supervisor's loop");
    }
}

/// Decodes `line`: a long one (past [`LONG_LINE`]; the slot for it kept
/// until done) on a thread of its own, as a line of megabytes takes a
/// while to parse twice (for duplicate keys, then as a request), and the
/// supervisor's one thread also serves signals, children and deadlines.
/// Where no thread can be had, here all the same: answered late rather
/// than not at all.
async fn decode(
    line: Vec<u8>,
    _long_slot: Option<tokio::sync::OwnedSemaphorePermit>,
) -> Result<Request, BadLine> {
    fn decode_now(line: &[u8]) -> Result<Request, BadLine> {
        protocol::decode_request(line.trim_ascii_end()).map_err(|e| BadLine {
            error: e.to_string(),
            ends_connection: e.another_protocols(),
        })
    }
    if line.len() <= LONG_LINE {
        let decoded = decode_now(&line);
        if matches!(decoded, Ok(Request::Status)) {
            panic_once_at_status();
        }
        return decoded;
    }
    // The line goes to the thread once it runs: kept here until then.
    let (give, take) = std::sync::mpsc::channel::<Vec<u8>>();
    let (done, decoded) = tokio::sync::oneshot::channel();
    let started = std::thread::Builder::new()
        .name("littleboss-decode".into())
        .spawn(move || {
            if let Ok(line) = take.recv() {
                let _ = done.send(decode_now(&line));
            }
        });
    if started.is_err() {
        return decode_now(&line);
    }
    let _ = give.send(line);
    decoded.await.unwrap_or_else(|_| {
        // Not known to be ours: as another protocol's.
        Err(BadLine {
            error: "the request could not be decoded (its thread ended)".to_owned(),
            ends_connection: true,
        })
    })
}

/// A line that is no request: why, and whether the connection ends with
/// its answer (see [`protocol::ProtocolError::another_protocols`]).
#[derive(Debug, PartialEq)]
struct BadLine {
    error: String,
    ends_connection: bool,
}

/// The length of the next request line (newline included) at the front
/// of what `conn` has read (left there), reading more as needed, by
/// `deadline` (put off, there, by the time waited for the slot for a long
/// line); with that slot, which a line past [`LONG_LINE`] always holds
/// (one come whole in a read too).
/// `Err(None)`: the connection ended or went quiet between requests, so
/// close it without a word; `Err(Some(answer))`: tell the client why,
/// then close.
async fn read_request(
    stream: &UnixStream,
    conn: &Conn,
    long: &LongLines,
    deadline: &mut tokio::time::Instant,
) -> Result<(usize, Option<tokio::sync::OwnedSemaphorePermit>), Option<Response>> {
    // Idle between requests: close quietly. Half a request: say so.
    let timed_out = || match conn.buffers().unread.trim_ascii().is_empty() {
        true => None,
        false => Some(Response::error(format!(
            "no complete request within {READ_TIMEOUT:?}"
        ))),
    };
    // Each byte is looked at once, however the line trickles in.
    let mut scanned = 0;
    let mut long_slot = None;
    loop {
        let wants_slot = {
            let mut buffers = conn.buffers();
            let unread = &mut buffers.unread;
            let newline = unread[scanned..]
                .iter()
                .position(|&b| b == b'\n')
                .map(|at| scanned + at);
            if newline.unwrap_or(unread.len()) > MAX_LINE {
                return Err(Some(Response::error(format!(
                    "request longer than {MAX_LINE} bytes"
                ))));
            }
            match newline {
                Some(end) if end < LONG_LINE || long_slot.is_some() => {
                    return Ok((end + 1, long_slot));
                }
                Some(end) => scanned = end,
                None => scanned = unread.len(),
            }
            unread.len() > LONG_LINE && long_slot.is_none()
        };
        // A long line (a reload with many arguments) at a time: 64
        // connections each up to `MAX_LINE` would be a gigabyte. Another
        // waits its turn, reading no more meanwhile (its client's writes
        // wait too), for as long as a line may take: the time waited is
        // not counted against its own.
        if wants_slot {
            let waiting = tokio::time::Instant::now();
            match tokio::time::timeout(READ_TIMEOUT, long.0.clone().acquire_owned()).await {
                Ok(Ok(slot)) => long_slot = Some(slot),
                _ => {
                    // Not read: nothing was tried (a `reload` exits 4).
                    return Err(Some(Response::refused(format!(
                        "the supervisor was reading another long request for all of {READ_TIMEOUT:?}; try again"
                    ))));
                }
            }
            *deadline += waiting.elapsed();
            // Looked at again first: the line may be whole already.
            continue;
        }
        // Passed while blank or bad lines came (the deadline carried over
        // them), with no whole request left to read: a client sending
        // them without a pause would keep the wait below from ever
        // timing out.
        if tokio::time::Instant::now() >= *deadline {
            return Err(timed_out());
        }
        match tokio::time::timeout_at(*deadline, stream.readable()).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return Err(None),
            Err(_elapsed) => return Err(timed_out()),
        }
        let mut buffers = conn.buffers();
        buffers.unread.reserve(REQUEST_BUFFER);
        match stream.try_read_buf(&mut buffers.unread) {
            // Spaces after the last request (a `\r`, a space) ask nothing.
            Ok(0) if buffers.unread.trim_ascii().is_empty() => return Err(None),
            Ok(0) => return Err(Some(Response::error("request not terminated by a newline"))),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(_) => return Err(None),
        }
    }
}

/// A line longer than this holds the one slot for a long line while read
/// and decoded (one come whole in a single read too).
const LONG_LINE: usize = 64 * 1024;

/// The one slot for reading a long line, shared by every connection; its
/// permit is given back when dropped.
#[derive(Debug, Clone)]
struct LongLines(Arc<tokio::sync::Semaphore>);

impl Default for LongLines {
    fn default() -> LongLines {
        LongLines(Arc::new(tokio::sync::Semaphore::new(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn a_bad_request_is_logged_escaped_and_short() {
        let cmd = "\u{1b}".repeat(40);
        let line = format!(
            r#"{{"v":1,"cmd":{}}}"#,
            serde_json::to_string(&cmd).unwrap()
        );
        let error = protocol::decode_request(line.as_bytes())
            .unwrap_err()
            .to_string();
        let said = protocol::short_printable(&error);
        assert!(!said.contains('\u{1b}'), "{said}");
        assert!(
            said.chars().count() <= 200,
            "{} chars: {said}",
            said.chars().count()
        );
    }

    #[tokio::test]
    async fn a_long_line_is_decoded_off_the_loop_all_the_same() {
        let reload = Request::Reload {
            path: "/x".into(),
            argv0: None,
            args: Some((0..200).map(|_| "x".repeat(1000).into()).collect()),
            listeners: None,
            dir: None,
            dir_id: None,
        };
        let line = protocol::encode(&reload);
        assert!(line.len() > LONG_LINE);
        assert_eq!(decode(line, None).await, Ok(reload));
        let mut garbage = vec![b'x'; 2 * LONG_LINE];
        garbage.push(b'\n');
        let error = decode(garbage, None).await.unwrap_err();
        assert!(error.error.contains("not a JSON message"), "{error:?}");
        assert!(error.ends_connection);
    }

    /// The next request the connection passed on (not a hang-up).
    async fn next_request(
        received: &mut mpsc::UnboundedReceiver<ControlMessage>,
    ) -> ControlRequest {
        match received.recv().await.unwrap() {
            ControlMessage::Request(request) => request,
            ControlMessage::HungUp(_) => panic!("a hang-up, not a request"),
        }
    }

    fn pair() -> (UnixStream, UnixStream) {
        UnixStream::pair().unwrap()
    }

    /// A connection accepted and served: the registry, the client's end,
    /// and where its requests arrive.
    fn served() -> (
        Connections,
        UnixStream,
        mpsc::UnboundedReceiver<ControlMessage>,
    ) {
        let connections = Connections::default();
        let (ours, theirs) = pair();
        let (requests, received) = mpsc::unbounded_channel();
        tokio::spawn(connections.accept(ours, requests).1);
        (connections, theirs, received)
    }

    /// A connection served, on which the client sent `sent`, and the first
    /// request read from it.
    async fn served_asking(
        sent: &[u8],
    ) -> (
        Connections,
        UnixStream,
        mpsc::UnboundedReceiver<ControlMessage>,
        ControlRequest,
    ) {
        let (connections, mut theirs, mut received) = served();
        theirs.write_all(sent).await.unwrap();
        let request = next_request(&mut received).await;
        (connections, theirs, received, request)
    }

    #[tokio::test]
    async fn a_request_cut_short_leaves_nothing_unread_behind_its_error() {
        // Its error answered, nothing of it is left for an in-place
        // upgrade to hand on (to be read and refused again).
        let connections = Connections::default();
        let (ours, mut theirs) = pair();
        let (requests, _received) = mpsc::unbounded_channel();
        let (conn, task) = connections.accept(ours, requests);
        theirs.write_all(b"{\"v\":1,").await.unwrap();
        theirs.shutdown().await.unwrap();
        task.await;
        assert!(conn.snapshot().unread.is_empty());
        let mut answer = String::new();
        theirs.read_to_string(&mut answer).await.unwrap();
        assert!(
            answer.contains("request not terminated by a newline"),
            "{answer}"
        );
    }

    /// A request's deadline, from now.
    fn within() -> tokio::time::Instant {
        tokio::time::Instant::now() + READ_TIMEOUT
    }

    /// Reads one request from `sent` (written whole, then the writer
    /// closes), with what was left unread after it.
    async fn request_from(sent: &[u8]) -> (Result<Vec<u8>, Option<Response>>, Vec<u8>) {
        let (ours, mut theirs) = pair();
        let sent = sent.to_vec();
        // Written alongside the reads: a long one fills the socket buffer.
        tokio::spawn(async move { theirs.write_all(&sent).await });
        let conn = Conn::new(ours.as_raw_fd(), Begun::default());
        let read = read_request(&ours, &conn, &Arc::default(), &mut within()).await;
        let mut unread = conn.snapshot().unread;
        // Left unread until the request is handled (an upgrade meanwhile
        // hands it on): taken off here as `serve` does.
        let line = read.map(|(length, _)| unread.drain(..length).collect());
        (line, unread)
    }

    #[tokio::test]
    async fn a_long_line_leaves_no_big_buffer_behind() {
        // A reload with a quarter of a megabyte of arguments.
        let reload = Request::Reload {
            path: "/x".into(),
            argv0: None,
            args: Some((0..250).map(|_| "x".repeat(1000).into()).collect()),
            listeners: None,
            dir: None,
            dir_id: None,
        };
        let line = protocol::encode(&reload);
        assert!(line.len() > 2 * LONG_LINE);
        let (_connections, _theirs, _received, request) = served_asking(&line).await;
        assert_eq!(request.request, reload);
        let kept = request.conn.buffers().unread.capacity();
        assert!(kept <= REQUEST_BUFFER, "{kept} bytes kept");
    }

    #[tokio::test]
    async fn a_request_is_left_unread_until_handled_and_a_long_one_holds_the_slot() {
        // Just past a long line: it may come whole in one read, and holds
        // the slot all the same.
        let mut line = vec![b'x'; LONG_LINE + 100];
        line.push(b'\n');
        let (ours, mut theirs) = pair();
        theirs.write_all(&line).await.unwrap();
        let conn = Conn::new(ours.as_raw_fd(), Begun::default());
        let long = LongLines::default();
        let (length, slot) = read_request(&ours, &conn, &long, &mut within())
            .await
            .unwrap();
        assert_eq!(length, line.len());
        assert!(slot.is_some(), "a long line read without the slot");
        // What an in-place upgrade would hand on has it still.
        assert_eq!(conn.snapshot().unread, line);
    }

    #[tokio::test]
    async fn one_long_line_is_read_at_a_time_and_another_waits_its_turn() {
        let long = LongLines::default();
        let slot_held = || long.0.available_permits() == 0;
        // The first long line, half sent: it holds the slot.
        let (ours, mut theirs) = pair();
        theirs.write_all(&vec![b'x'; 2 * LONG_LINE]).await.unwrap();
        let first = Arc::new(Conn::new(ours.as_raw_fd(), Begun::default()));
        let reading = {
            let (first, long) = (first.clone(), long.clone());
            tokio::spawn(async move { read_request(&ours, &first, &long, &mut within()).await })
        };
        until("the first holds the slot", slot_held).await;
        // A second long line waits meanwhile (two reloads with many
        // arguments at once); a short one is read.
        let (second, mut also) = pair();
        also.write_all(&vec![b'y'; 2 * LONG_LINE]).await.unwrap();
        also.write_all(b"\n").await.unwrap();
        let waiting = {
            let long = long.clone();
            tokio::spawn(async move {
                let conn = Conn::new(second.as_raw_fd(), Begun::default());
                read_request(&second, &conn, &long, &mut within()).await
            })
        };
        let (short, mut client) = pair();
        client.write_all(b"{}\n").await.unwrap();
        let conn = Conn::new(short.as_raw_fd(), Begun::default());
        assert_eq!(
            read_request(&short, &conn, &long, &mut within())
                .await
                .unwrap()
                .0,
            3
        );
        assert!(!waiting.is_finished(), "the second waits for the slot");
        // The first, ended and decoded, gives the slot back; the second
        // is read.
        theirs.write_all(b"\n").await.unwrap();
        let (first, first_slot) = reading.await.unwrap().unwrap();
        assert_eq!(first, 2 * LONG_LINE + 1);
        assert!(slot_held(), "the slot given back before the decode");
        drop(first_slot);
        let (second, _) = tokio::time::timeout(Duration::from_secs(10), waiting)
            .await
            .expect("the second read once the first ended")
            .unwrap()
            .unwrap();
        assert_eq!(second, 2 * LONG_LINE + 1);
        until("the slot given back", || !slot_held()).await;
    }

    #[tokio::test]
    async fn a_request_is_one_line_and_what_follows_it_stays_unread() {
        let (line, unread) = request_from(b"{\"a\":1}\n{\"b\":").await;
        assert_eq!(line.unwrap(), b"{\"a\":1}\n");
        assert_eq!(unread, b"{\"b\":");
        let (line, unread) = request_from(b"").await;
        assert_eq!(line, Err(None), "a close between requests is no error");
        assert!(unread.is_empty());
        let (line, _) = request_from(b" \r").await;
        assert_eq!(line, Err(None), "spaces before the close ask nothing");
        let (line, _) = request_from(b"{\"a\":").await;
        assert_eq!(
            line,
            Err(Some(Response::error("request not terminated by a newline")))
        );
        let (line, _) = request_from(&vec![b'x'; MAX_LINE + 2]).await;
        assert_eq!(
            line,
            Err(Some(Response::error(format!(
                "request longer than {MAX_LINE} bytes"
            ))))
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
            Err(Some(Response::error(format!(
                "request longer than {MAX_LINE} bytes"
            ))))
        );
    }

    /// Waits (yielding to the connection's task) until `check` holds.
    async fn until(what: &str, mut check: impl FnMut() -> bool) {
        for _ in 0..10_000 {
            if check() {
                return;
            }
            tokio::task::yield_now().await;
        }
        panic!("never {what}");
    }

    /// The only open connection's snapshot.
    fn only(connections: &Connections) -> Snapshot {
        let open = connections.open();
        assert_eq!(open.len(), 1, "one connection open");
        open[0].snapshot()
    }

    #[tokio::test]
    async fn a_request_begun_is_held_with_what_it_sent() {
        let connections = Connections::default();
        let (ours, mut theirs) = pair();
        let fd = ours.as_raw_fd();
        let (requests, mut received) = mpsc::unbounded_channel();
        tokio::spawn(connections.accept(ours, requests).1);
        for (sent, held) in [
            (&b"{\"v\":1,"[..], &b"{\"v\":1,"[..]),
            (b"\"cmd\":", b"{\"v\":1,\"cmd\":"),
        ] {
            theirs.write_all(sent).await.unwrap();
            until("holding what was sent", || {
                connections.open().first().map(|c| c.snapshot().unread) == Some(held.to_vec())
            })
            .await;
        }
        assert_eq!(only(&connections).fd, fd);
        // The rest, and the next request's start, in one write.
        theirs.write_all(b"\"status\"}\n{\"v\"").await.unwrap();
        let request = next_request(&mut received).await;
        assert_eq!(request.request, Request::Status);
        assert!(request.conn.awaiting());
        assert_eq!(only(&connections).unread, b"{\"v\"");
        // A client gone while its request is held is noticed at the answer.
        drop(theirs);
        request.conn.answer(&Response::Stopped { exit_code: 0 });
        until("closed", || connections.open().is_empty()).await;
        assert!(request.conn.ended());
    }

    #[tokio::test]
    async fn a_client_gone_while_awaiting_is_told_but_not_one_that_only_stopped_writing() {
        // Sent its request, then shut its writing half: it waits for the
        // answers (as `nc -N` does), and gets them.
        let (_connections, mut theirs, mut received, request) =
            served_asking(b"{\"v\":1,\"cmd\":\"status\"}\n").await;
        theirs.shutdown().await.unwrap();
        // A negative check: a fixed wait.
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(received.try_recv().is_err(), "taken for gone");
        request.conn.answer(&Response::Stopped { exit_code: 0 });
        let mut answer = String::new();
        theirs.read_to_string(&mut answer).await.unwrap();
        assert!(answer.contains("\"stopped\""), "{answer}");
        // Closed whole while its request waits: the supervisor is told;
        // also once it had shut its writing half first, and when the close
        // is met by a write (answers it left unread).
        for way in ["close", "half, then close", "unread, then close"] {
            let (_connections, mut theirs, mut received, request) =
                served_asking(b"{\"v\":1,\"cmd\":\"stop\"}\n").await;
            if way.starts_with("half") {
                theirs.shutdown().await.unwrap();
                // Seen as a half close first (a negative check's wait).
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            if way.starts_with("unread") {
                for _ in 0..100_000 {
                    request.conn.answer(&Response::Waiting {
                        pid: 1,
                        within_ms: None,
                    });
                }
            }
            drop(theirs);
            let told = tokio::time::timeout(Duration::from_secs(5), received.recv()).await;
            match told {
                Ok(Some(ControlMessage::HungUp(conn))) => {
                    assert!(Arc::ptr_eq(&conn, &request.conn), "{way}");
                }
                other => panic!("{way}: not told of the hang-up: {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn answers_not_yet_written_are_held_to_the_byte() {
        let (connections, mut theirs, mut received, request) =
            served_asking(b"{\"v\":1,\"cmd\":\"status\"}\n{\"v\":1,\"cmd\":\"stop\"}\n").await;
        // Answers far larger than the socket's buffer, to a client that
        // does not read: the task writes what fits and holds the rest.
        let progress = Response::Reloading {
            pid: 7,
            changes: Vec::new(),
        };
        let mut expected = Vec::new();
        for _ in 0..150_000 {
            request.conn.answer(&progress);
            expected.extend_from_slice(&protocol::encode_response(&progress));
        }
        until("blocked on a full buffer", || {
            let unsent = only(&connections).unsent;
            !unsent.is_empty() && unsent.len() < expected.len()
        })
        .await;
        // Unchanged while the client does not read.
        let held = only(&connections).unsent;
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        assert_eq!(only(&connections).unsent, held);
        // What the client can read now, and what is held, make the whole.
        let mut got = vec![0; expected.len() - held.len()];
        theirs.read_exact(&mut got).await.unwrap();
        got.extend_from_slice(&held);
        assert!(
            got == expected,
            "the written and held parts make the answers"
        );
        let mut rest = vec![0; held.len()];
        theirs.read_exact(&mut rest).await.unwrap();
        assert!(rest == held);
        // The next request waits for the final answer.
        until("all written", || only(&connections).unsent.is_empty()).await;
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        assert!(received.try_recv().is_err());
        let done = Response::Stopped { exit_code: 0 };
        request.conn.answer(&done);
        let next = next_request(&mut received).await;
        assert_eq!(next.request, Request::Stop);
        let mut last = vec![0; protocol::encode_response(&done).len()];
        theirs.read_exact(&mut last).await.unwrap();
        assert_eq!(last, protocol::encode_response(&done));
    }

    #[tokio::test]
    async fn a_connection_closing_after_its_error_says_so_with_nothing_unread() {
        // What an in-place upgrade looks at (and then leaves it out): the
        // rest of another protocol's request is never read, by this image
        // or the next.
        let (ours, _theirs) = pair();
        let begun = Begun {
            unread: b"GET / HTTP/1.1\r\nHost: x\r\n\r\n{\"v\":1,\"cmd\":\"stop\"}\n".to_vec(),
            ..Begun::default()
        };
        let conn = Conn::new(ours.as_raw_fd(), begun);
        assert!(!conn.snapshot().closing);
        conn.closing();
        conn.answer(&Response::error("not a request of this protocol"));
        let snapshot = conn.snapshot();
        assert!(
            snapshot.closing && snapshot.unread.is_empty(),
            "{snapshot:?}"
        );
        assert!(!snapshot.unsent.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_long_request_kept_waiting_for_its_turn_is_refused_as_not_tried() {
        // Another connection reads its long line all along: this one's is
        // never read, and its client is told nothing was tried (a
        // `reload` exits 4, as for the other refusals), not that it failed.
        let long = LongLines::default();
        let _reading = long.0.clone().acquire_owned().await.unwrap();
        let (ours, mut theirs) = pair();
        let line = vec![b'x'; LONG_LINE + 1];
        tokio::spawn(async move { theirs.write_all(&line).await });
        let conn = Conn::new(ours.as_raw_fd(), Begun::default());
        let read = read_request(&ours, &conn, &long, &mut within()).await;
        let Err(Some(Response::Error { error, refused })) = read else {
            panic!("{read:?}");
        };
        assert!(refused, "{error}");
        assert_eq!(
            error,
            format!(
                "the supervisor was reading another long request for all of {READ_TIMEOUT:?}; try again"
            )
        );
    }

    #[tokio::test(start_paused = true)]
    async fn blank_or_bad_lines_now_and_then_do_not_keep_a_connection_open() {
        let (connections, mut theirs, _received) = served();
        let blanks = tokio::spawn(async move {
            // Until its close makes a write fail.
            let lines: [&[u8]; 2] = [b"\n", b"{\"v\":1,\"cmd\":\"nope\"}\n"];
            for line in lines.iter().cycle() {
                if theirs.write_all(line).await.is_err() {
                    break;
                }
                tokio::time::sleep(READ_TIMEOUT / 4).await;
            }
        });
        tokio::time::sleep(READ_TIMEOUT - Duration::from_millis(1)).await;
        assert_eq!(connections.open().len(), 1, "not yet");
        tokio::time::sleep(Duration::from_millis(2)).await;
        assert!(connections.open().is_empty(), "closed at the timeout");
        tokio::time::timeout(READ_TIMEOUT, blanks)
            .await
            .unwrap()
            .unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn blank_lines_sent_without_a_pause_hold_neither_the_loop_nor_the_connection() {
        let (connections, theirs, _received) = served();
        let mut theirs = theirs.into_std().unwrap();
        theirs.set_nonblocking(false).unwrap();
        // A client writing newlines as fast as it can, from a thread of
        // its own (faster than they are read), until its writes fail
        // (closed) or, should they never, for 30 s.
        let (wrote, first_written) = std::sync::mpsc::channel();
        let flood = std::thread::spawn(move || {
            use std::io::Write;
            let began = std::time::Instant::now();
            let newlines = vec![b'\n'; 64 << 10];
            while began.elapsed() < Duration::from_secs(30) {
                if theirs.write_all(&newlines).is_err() {
                    return true;
                }
                let _ = wrote.send(());
            }
            false
        });
        // Newlines in the socket's buffer before the connection's task
        // runs (the runtime held meanwhile; bounded, should a buffer too
        // small for a write wait for a read).
        let _ = first_written.recv_timeout(Duration::from_secs(5));
        // This task, on the connection's only thread, gets its turns. (A
        // read loop that never yields would hold them for the flood's
        // 30 s; 10 s leaves a loaded machine room.)
        let began = std::time::Instant::now();
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        assert!(
            began.elapsed() < Duration::from_secs(10),
            "the flood held the loop for {:?}",
            began.elapsed()
        );
        assert_eq!(connections.open().len(), 1, "not yet");
        // Its read timeout is met as the newlines keep coming.
        tokio::time::advance(READ_TIMEOUT).await;
        until("closed at the timeout", || connections.open().is_empty()).await;
        assert!(flood.join().unwrap(), "the flood was never refused");
    }

    /// A connection whose client asked for a status and reads none of a
    /// 4 MiB answer: its writes blocked on a full buffer.
    async fn blocked_on_a_big_answer() -> (
        Connections,
        UnixStream,
        mpsc::UnboundedReceiver<ControlMessage>,
    ) {
        let (connections, theirs, received, request) =
            served_asking(b"{\"v\":1,\"cmd\":\"status\"}\n").await;
        let big = Response::error("z".repeat(4 << 20));
        request.conn.answer(&big);
        until("blocked on a full buffer", || {
            let unsent = only(&connections).unsent;
            !unsent.is_empty() && unsent.len() < protocol::encode_response(&big).len()
        })
        .await;
        (connections, theirs, received)
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_reads_its_answers_slowly_is_let_go_at_the_minute() {
        let (connections, mut theirs, _received) = blocked_on_a_big_answer().await;
        // 192 KiB every 9 s (within the 10 s each wait allows; less, and
        // the kernel does not wake the writer), until the
        // connection is closed: at the minute, not with the answer read
        // (some three minutes at that rate).
        let began = tokio::time::Instant::now();
        let mut some = vec![0; 192 << 10];
        while !connections.open().is_empty() {
            tokio::time::sleep(WRITE_TIMEOUT - Duration::from_secs(1)).await;
            theirs.read_exact(&mut some).await.unwrap();
        }
        let took = began.elapsed();
        assert!(
            took >= ANSWER_TIMEOUT - WRITE_TIMEOUT && took <= ANSWER_TIMEOUT + WRITE_TIMEOUT,
            "{took:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_reads_no_answer_is_let_go() {
        let (connections, mut theirs, _received) = blocked_on_a_big_answer().await;
        tokio::time::sleep(WRITE_TIMEOUT - Duration::from_millis(1)).await;
        assert_eq!(connections.open().len(), 1, "not yet");
        // The clock (paused) jumps as soon as nothing else can run.
        tokio::time::sleep(Duration::from_millis(2)).await;
        assert!(connections.open().is_empty(), "let go at the timeout");
        let read_some = tokio::time::timeout(WRITE_TIMEOUT / 2, async {
            let mut byte = [0];
            theirs.read_exact(&mut byte).await
        });
        assert!(read_some.await.is_ok(), "it had its answer's start");
    }

    #[tokio::test]
    async fn a_connection_taken_over_is_first_owed_its_answers() {
        let connections = Connections::default();
        let (ours, mut theirs) = pair();
        let (requests, mut received) = mpsc::unbounded_channel();
        let begun = Begun {
            unread: b"{\"v\":1,\"cmd\"".to_vec(),
            unsent: b"{\"type\":\"reloa".to_vec(),
            awaiting: true,
        };
        let (conn, task) = connections.take(ours, requests, begun);
        assert!(conn.awaiting());
        tokio::spawn(task);
        let mut got = vec![0; 14];
        theirs.read_exact(&mut got).await.unwrap();
        assert_eq!(got, b"{\"type\":\"reloa");
        assert!(conn.awaiting(), "the request held waits for its answer");
        // The request's start read by the previous image is finished here,
        // once the request held is answered.
        theirs.write_all(b":\"status\"}\n").await.unwrap();
        conn.answer(&Response::Stopped { exit_code: 0 });
        let next = next_request(&mut received).await;
        assert_eq!(next.request, Request::Status);
    }

    #[tokio::test]
    async fn a_bad_request_is_answered_and_the_connection_goes_on() {
        let (_, mut theirs, _received, request) =
            served_asking(b"{\"v\":1,\"cmd\":\"nope\"}\n{\"v\":1,\"cmd\":\"status\"}\n").await;
        assert_eq!(request.request, Request::Status);
        let mut line = Vec::new();
        let mut byte = [0];
        while byte[0] != b'\n' {
            theirs.read_exact(&mut byte).await.unwrap();
            line.push(byte[0]);
        }
        let answer: serde_json::Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(answer["type"], "error", "{answer}");
    }

    #[tokio::test]
    async fn another_protocols_line_is_answered_and_the_connection_closed() {
        // An HTTP request a trusted program was steered into sending: the
        // request its body hides is never read.
        let (_, mut theirs, mut received) = served();
        let http = b"POST / HTTP/1.1\r\nHost: x\r\n\r\n{\"v\":1,\"cmd\":\"stop\"}\n";
        theirs.write_all(http).await.unwrap();
        let mut answered = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), theirs.read_to_end(&mut answered))
            .await
            .expect("closed")
            .unwrap();
        let lines: Vec<&[u8]> = answered.split_inclusive(|b| *b == b'\n').collect();
        assert_eq!(lines.len(), 1, "{}", String::from_utf8_lossy(&answered));
        let answer: serde_json::Value = serde_json::from_slice(lines[0]).unwrap();
        assert_eq!(answer["type"], "error", "{answer}");
        assert!(
            !matches!(received.try_recv(), Ok(ControlMessage::Request(_))),
            "a request was read after it"
        );
    }

    #[tokio::test]
    async fn all_written_waits_for_the_client_to_take_the_answer() {
        let (_, mut theirs, _received, request) =
            served_asking(b"{\"v\":1,\"cmd\":\"stop\"}\n").await;
        let big = Response::error("y".repeat(4 << 20));
        request.conn.answer(&big);
        let conn = request.conn.clone();
        let waiting = tokio::spawn(async move { conn.all_written().await });
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        assert!(!waiting.is_finished(), "the client has not read it");
        assert!(request.conn.writing());
        let mut got = vec![0; protocol::encode_response(&big).len()];
        theirs.read_exact(&mut got).await.unwrap();
        tokio::time::timeout(Duration::from_secs(10), waiting)
            .await
            .expect("written")
            .unwrap();
        assert!(!request.conn.writing());
    }
}
