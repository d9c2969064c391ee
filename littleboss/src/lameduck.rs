//! Lameduck in the program's process, in two phases: the flag that
//! `Context::draining` and `Context::lameduck` wait on, the listener copies
//! `Context` holds, and the signals that start it.
//!
//! Phase one, draining: the listeners `Context` handed out stop yielding
//! connections (the next child takes them from the shared queue), and
//! `Context` drops its own copies (or, where it may have to refuse later,
//! keeps them for that: see [`begin`](Lameduck::begin)). Phase two,
//! lameduck, a grace later:
//! `Context::lameduck` completes. By then the connections accepted just
//! before phase one have sent their requests, so a server's graceful
//! shutdown, which closes connections that look idle, closes only
//! connections that really are. Phase two comes sooner once every
//! connection accepted through those listeners has closed: the grace is
//! for them, and with none open there is nothing to wait for.

use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::accepted::Accepted;
use crate::own_file::OwnFile;
use crate::report::warning;
use crate::spec::{Kind, Network};

/// One declared listener as the program sees it.
#[derive(Debug)]
pub(crate) struct Listener {
    pub name: String,
    pub network: Network,
    /// `None` when the listener is off.
    pub fd: Option<OwnedFd>,
    /// The program has a handle of its own on it.
    pub taken: bool,
    /// Passed by the service manager (socket activation): never shut,
    /// for it queues connections for the next start.
    pub managers: bool,
    /// The child serving as this one started holds it too: orphaned before
    /// it is ready, this one leaves its queue to that one (see
    /// [`begin_refusing_orphaned_beside`](Lameduck::begin_refusing_orphaned_beside)).
    pub served_beside: bool,
    /// Why the listeners could not be bound, when that was put off: a
    /// program asked for its own `--help` or `--version` may never take
    /// one. Taking it
    /// ends the process with this error, as binding would have.
    pub unbound: Option<String>,
}

/// The listeners a `Context` hands out, shared with whoever begins lameduck.
pub(crate) type Listeners = Arc<Mutex<Vec<Listener>>>;

/// Where the program is in its wind-down. Both later phases hold the
/// instant draining began, so that the HTTP helpers can spread their
/// `Connection: close` over the time since.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Serving: listeners yield connections.
    Serving,
    /// Phase one, begun at the instant held: listeners yield no more
    /// connections; accepted ones are still being served and may still be
    /// sending their first request.
    Draining(Instant),
    /// Phase two: `Context::lameduck` has completed. The instant is still
    /// when phase one began.
    Lameduck(Instant),
}

impl Phase {
    /// When draining (phase one) began; `None` while serving.
    pub fn draining_since(self) -> Option<Instant> {
        match self {
            Phase::Serving => None,
            Phase::Draining(since) | Phase::Lameduck(since) => Some(since),
        }
    }

    /// Whether draining has begun (phase one or two).
    pub fn is_draining(self) -> bool {
        self != Phase::Serving
    }

    /// Whether phase two has been reached.
    pub fn is_lameduck(self) -> bool {
        matches!(self, Phase::Lameduck(_))
    }
}

/// Begins lameduck once, from whichever thread learns of it first.
#[derive(Debug)]
pub(crate) struct Lameduck {
    phase: watch::Sender<Phase>,
    listeners: Listeners,
    grace: Duration,
    /// The connections accepted through the listeners handed out: the
    /// grace ends early once they have all closed.
    accepted: Arc<Accepted>,
    /// Shut the TCP listeners down at phase one (taken or not), so new
    /// connections are refused at once: nobody else will accept them
    /// (bypass mode). Not the service manager's.
    refuse: bool,
    /// Keep the taken TCP listeners' copies from a drain that does not
    /// refuse, for a refusal that may come later (a child's: a stop, or the
    /// supervisor's death, after a reload's drain or a signal of its own).
    /// Not where none can come: the copies would keep a socket listening
    /// that the program's own drop should close.
    keep: bool,
    kept: Mutex<Vec<OwnedFd>>,
    /// As `kept`, the taken unix listeners': their queue taken at a later
    /// refusal (which removes their files), never shut.
    kept_unix: Mutex<Vec<OwnedFd>>,
    /// Held for the whole of phase one's beginning: the signal thread and
    /// the supervisor's order may begin it at once, and draining must be
    /// told only once the queues are stashed.
    beginning: Mutex<()>,
    /// The unix listeners' socket files, removed at a refusal: a unix
    /// listening socket cannot be shut as a TCP one is (it stays readable,
    /// and a program that accepts through `into_inner()` would spin), so
    /// its path goes instead: new connections fail at once, and the next
    /// `start` can bind it while this process drains.
    socket_files: Mutex<Vec<OwnFile>>,
    /// The inodes of the taken listeners whose copies phase one let go
    /// of: the supervisor may still hand this child their queues (a stop
    /// whose signal reached the child first, say), for it to serve.
    let_go_of: Mutex<Vec<u64>>,
    /// Draining began on this process's own stop signal (see
    /// [`begin_on_signal`](Lameduck::begin_on_signal)).
    signalled: std::sync::atomic::AtomicBool,
    /// Held while handed connections are checked and stashed, and while
    /// phase two begins: none may be stashed after its clearing, where
    /// nobody would take them.
    handing: Mutex<()>,
    /// [`SIBLING_STASH_TIME`] (longer in a test that connects within it).
    sibling_wait: Duration,
    /// The supervisor hands the serving child queues at a stop (some
    /// socket is the service manager's): see
    /// [`expect_handover_at_stop`](Lameduck::expect_handover_at_stop).
    handed_at_stop: std::sync::atomic::AtomicBool,
    /// The supervisor's order came (see [`ordered`](Lameduck::ordered)):
    /// for good, so that a signal whose drain began just after it (the
    /// two on different threads) waits for no hand-over either.
    order_came: std::sync::atomic::AtomicBool,
    /// Run once, as draining first begins, before it does (see
    /// [`before_draining`](Lameduck::before_draining)).
    before_draining: BeforeDraining,
}

/// What runs as draining first begins.
#[derive(Default)]
struct BeforeDraining(Mutex<Option<Box<dyn FnOnce() + Send>>>);

impl std::fmt::Debug for BeforeDraining {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = self.0.lock().map(|b| b.is_some()).unwrap_or(true);
        f.debug_tuple("BeforeDraining").field(&set).finish()
    }
}

impl Lameduck {
    /// `grace` is the time from phase one to phase two; `refuse` and
    /// `keep` as the fields say.
    pub fn new(
        listeners: Listeners,
        grace: Duration,
        refuse: bool,
        keep: bool,
    ) -> (Arc<Lameduck>, watch::Receiver<Phase>) {
        let (phase, rx) = watch::channel(Phase::Serving);
        let lameduck = Lameduck {
            phase,
            listeners,
            grace,
            accepted: Arc::default(),
            refuse,
            keep,
            kept: Mutex::new(Vec::new()),
            kept_unix: Mutex::new(Vec::new()),
            beginning: Mutex::new(()),
            socket_files: Mutex::new(Vec::new()),
            let_go_of: Mutex::new(Vec::new()),
            signalled: std::sync::atomic::AtomicBool::new(false),
            handing: Mutex::new(()),
            sibling_wait: SIBLING_STASH_TIME,
            handed_at_stop: std::sync::atomic::AtomicBool::new(false),
            order_came: std::sync::atomic::AtomicBool::new(false),
            before_draining: BeforeDraining::default(),
        };
        (Arc::new(lameduck), rx)
    }

    /// When draining began; `None` while serving.
    pub fn draining_since(&self) -> Option<Instant> {
        self.phase.borrow().draining_since()
    }

    /// The record of connections accepted, for the listeners handed out.
    pub fn accepted(&self) -> Arc<Accepted> {
        self.accepted.clone()
    }

    /// The socket files to remove at a refusal (each only while its path
    /// still names it); in bypass mode, at every way out too (see
    /// [`remove_socket_files`](Self::remove_socket_files)).
    pub fn remove_at_refusal(&self, files: Vec<OwnFile>) {
        *self.socket_files.lock().unwrap_or_else(|e| e.into_inner()) = files;
    }

    /// Removes the socket files not removed yet, holding their list
    /// meanwhile: each is removed once, by whoever comes first (a later
    /// look at a path removed already could take a successor's file, given
    /// the old one's inode number again, for ours), and whoever comes
    /// during a removal waits for it (`main`'s return, a failure: not an
    /// exit past a removal under way).
    pub fn remove_socket_files(&self) {
        let mut files = self.socket_files.lock().unwrap_or_else(|e| e.into_inner());
        remove_each(&mut files);
    }

    /// [`remove_socket_files`](Self::remove_socket_files), waiting for a
    /// removal under way `patience` at most, for what nothing may hold up:
    /// the refusal (on the thread that reads the stop signals, in bypass
    /// mode; in a child nothing else holds the list), the forced end
    /// there, and the `atexit` hook. A removal stuck in a hung file
    /// system holds its own thread still.
    pub fn remove_socket_files_within(&self, patience: Duration) {
        let deadline = Instant::now() + patience;
        loop {
            match self.socket_files.try_lock() {
                Ok(mut files) => return remove_each(&mut files),
                Err(std::sync::TryLockError::Poisoned(e)) => {
                    return remove_each(&mut e.into_inner());
                }
                Err(std::sync::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(std::sync::TryLockError::WouldBlock) => return,
            }
        }
    }

    /// Begins phase one (once; later calls do nothing) and schedules phase
    /// two after the grace, or sooner, once every connection accepted
    /// through the listeners handed out has closed.
    ///
    /// Drops `Context`'s copies of the listeners the program has taken
    /// (or keeps the TCP and unix ones for a later refusal, see `keep`): once it
    /// drops its own, the socket is closed here (in bypass mode, new
    /// connections are then refused instead of queued and reset at
    /// exit). A listener not taken yet stays available: a program told to
    /// stop while still starting must not find it gone (when refusing, its
    /// socket is shut, and its accept pends). A program that has
    /// taken no TCP or unix listener has no connection to wait for: phase two
    /// follows at once.
    pub fn begin(self: &Arc<Self>) {
        self.begin_phase_one(self.refuse, false, Sibling::May);
    }

    /// [`begin`](Lameduck::begin), shutting the TCP listeners down
    /// whatever the mode: the supervisor says no child will take a
    /// connection after this one (it is stopping).
    ///
    /// The supervisor tells a child so only when no other child serves: a
    /// child draining already (on its own signal, or a reload's old child)
    /// takes what its TCP and unix listeners' queues hold now, to serve within its
    /// grace, rather than leave it to the shut. Once in lameduck (its
    /// grace over, or ended early with nothing open) it takes nothing, and
    /// shuts 250 ms later (a child still starting may hold the same
    /// sockets).
    pub fn begin_refusing(self: &Arc<Self>) {
        self.begin_phase_one(true, false, Sibling::None);
    }

    /// [`begin_refusing`](Lameduck::begin_refusing), orphaned by the
    /// supervisor's death: a sibling (a reload's new child) may serve the
    /// same sockets, and take their queue.
    pub fn begin_refusing_orphaned(self: &Arc<Self>) {
        self.begin_phase_one(true, false, Sibling::May);
    }

    /// [`begin_refusing_orphaned`](Lameduck::begin_refusing_orphaned), for
    /// a child not ready yet beside a serving one: the sockets that one
    /// holds too (`served_beside`) are left to it, their queues untaken
    /// (this program, not accepting yet, would hold them unserved), shut
    /// a moment later; the queues of the rest (a listener the reload added
    /// or moved) are this child's, to serve should its warm-up end within
    /// its grace. (Not once it drains already, on a signal of its own:
    /// then every TCP socket is shut a moment later, its queue untaken.)
    pub fn begin_refusing_orphaned_beside(self: &Arc<Self>) {
        self.begin_phase_one(true, false, Sibling::ServesShared);
    }

    /// Phase one; `signalled`: on this process's own stop signal (see
    /// [`begin_on_signal`](Lameduck::begin_on_signal)); `sibling`: whether
    /// another child may take the queues.
    fn begin_phase_one(self: &Arc<Self>, refuse: bool, signalled: bool, sibling: Sibling) {
        let _beginning = self.beginning.lock().unwrap_or_else(|e| e.into_inner());
        // Draining's clock starts as it is told, before the queues are
        // taken (thousands of accepts under load): the supervisor's kill
        // clock started before it told, and the helpers' bound, counted
        // from here, must end before it.
        let since = Instant::now();
        let before = (self.before_draining.0.lock())
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(before) = before {
            before();
        }
        // Stream listeners (TCP, unix) have connections that may not have
        // spoken yet: they get the grace.
        let mut any_stream = false;
        let mut to_shut = Vec::new();
        // The taken listeners' sockets whose queues a refusal takes first,
        // for the program to serve (see `stash`): each client there has
        // connected already. For a refusal as draining begins, and for one
        // the supervisor orders while the grace runs (it does only when no
        // child serves); not for an orphan's later one, whose queue a
        // sibling may serve, nor once the grace is over. Not for a socket
        // the program holds no handle on any more (taken out with
        // `into_inner`, dropped): the stash has none to yield it to, and
        // leaves it to the shut (see `Stash::put`). Another listener taken
        // out, which rules out the grace's early end, takes nothing from
        // these.
        // Decided, for a late one, with the hand-over lock held until the
        // stash is made: phase two, which clears the stash, cannot come in
        // between (what came after the clearing would be served by no one).
        let handing = self.handing.lock().unwrap_or_else(|e| e.into_inner());
        let sibling_may_serve = sibling != Sibling::None;
        let phase = *self.phase.borrow();
        let draining_already = phase.is_draining();
        // Not held for a first one: it may enter phase two itself, below.
        let handing = draining_already.then_some(handing);
        // A refusal ordered once draining has begun, with no sibling to
        // take the queue, takes it while the program still accepts (phase
        // one) as one at the start of draining does.
        let late_and_alone =
            refuse && draining_already && !sibling_may_serve && !phase.is_lameduck();
        // Nor with no grace: lameduck follows at once, which closes what
        // is stashed unserved.
        let stash = refuse && (!draining_already || late_and_alone) && !self.grace.is_zero();
        // Once draining, shut at once only what this child took the queue
        // of: a child still starting (no child serving) may hold the same
        // sockets, and takes their queue as it is told.
        let shut_later = refuse && draining_already && (sibling_may_serve || !stash);
        // With whether to shut it once its queue is taken (TCP's: a unix
        // socket's file is removed instead).
        let mut to_stash: Vec<(OwnedFd, bool)> = Vec::new();
        // Sockets this child does not accept from, which a sibling may
        // serve (a reload's new child, as a dead supervisor orphans both):
        // shut a moment later, once that sibling has taken their queue.
        let mut to_shut_later = Vec::new();
        {
            let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
            let mut kept_unix = self.kept_unix.lock().unwrap_or_else(|e| e.into_inner());
            if shut_later {
                to_shut_later.append(&mut kept);
                kept_unix.clear();
            } else if refuse {
                if stash {
                    to_stash.extend(kept.drain(..).map(|fd| (fd, true)));
                    to_stash.extend(kept_unix.drain(..).map(|fd| (fd, false)));
                }
                to_shut.append(&mut kept);
                kept_unix.clear();
            }
            let mut listeners = self.listeners.lock().unwrap_or_else(|e| e.into_inner());
            let mut let_go = self.let_go_of.lock().unwrap_or_else(|e| e.into_inner());
            for listener in listeners.iter_mut().filter(|l| l.taken) {
                let tcp = listener.network.kind() == Kind::Tcp;
                let unix = listener.network.kind() == Kind::Unix;
                any_stream |= tcp || unix;
                let fd = listener.fd.take();
                {
                    use std::os::fd::AsFd;
                    let_go.extend(fd.as_ref().and_then(|fd| crate::stash::inode(fd.as_fd())));
                }
                let left_to_sibling =
                    refuse && sibling == Sibling::ServesShared && listener.served_beside;
                match fd {
                    // Taken once draining had begun: this child accepts
                    // nothing from it, a sibling may (as `kept` above); or
                    // one the serving sibling takes the queue of.
                    Some(fd) if tcp && !listener.managers && (shut_later || left_to_sibling) => {
                        to_shut_later.push(fd);
                    }
                    Some(_) if unix && left_to_sibling => {}
                    Some(fd) if tcp && refuse && !listener.managers => match stash {
                        true => to_stash.push((fd, true)),
                        false => to_shut.push(fd),
                    },
                    // Its file goes below; what it had queued is served.
                    Some(fd) if unix && stash && !listener.managers => to_stash.push((fd, false)),
                    // The program holds the socket open anyway, and so
                    // does a supervisor or the service manager.
                    Some(fd) if tcp && self.keep && !listener.managers => kept.push(fd),
                    Some(fd) if unix && self.keep && !listener.managers => kept_unix.push(fd),
                    _ => {}
                }
            }
            // A TCP listener the program has not taken (yet) is shut too,
            // through a copy: it stays in place, so a late `ctx.tcp()`
            // still gets it, and its accept pends, draining having begun.
            let untaken_tcp = listeners
                .iter()
                .filter(|l| refuse && !l.taken && !l.managers && l.network.kind() == Kind::Tcp);
            for listener in untaken_tcp {
                if let Some(copy) = listener.fd.as_ref().and_then(|fd| fd.try_clone().ok()) {
                    // No sibling in bypass mode (`self.refuse`): at once.
                    match self.refuse {
                        true => to_shut.push(copy),
                        false => to_shut_later.push(copy),
                    }
                }
            }
            // Before the grace first asks whether all accepted have closed,
            // and before the stash: from here on an accept looks there. With
            // the listeners still locked: one taken once they are let go of
            // (a late `ctx.tcp()`) accepts nothing, as none counted above.
            self.accepted.stop_accepting();
        }
        if refuse {
            // A removal under way elsewhere (a way out, in bypass mode
            // only) finishes them: not waited for.
            self.remove_socket_files_within(Duration::ZERO);
        }
        // No new connection reaches a unix socket whose file is gone, and
        // a TCP one's queue is reset by its shut: take what is queued now.
        // Before draining is told, so that whoever sees it (the HTTP
        // helper's listener) finds the stash whole. One budget of
        // descriptors for them all. Each TCP socket is shut as soon as
        // its queue is taken, not after the others': a connection queued
        // meanwhile (thousands of others being taken) would be reset,
        // maybe with its request sent, where one after the shut is
        // refused, sent nothing. An accept under way on a handle meets
        // `EINVAL`, which pends (`poll_until_draining`); one no handle is
        // left on is shut as soon, nobody taking its queue. One the
        // program accepts from past its handles has nothing stashed: shut
        // with the rest, once draining is told, which its loop may look
        // at first.
        let mut budget = crate::stash::most_stashed();
        for (fd, tcp) in to_stash {
            use crate::stash::Queue;
            use std::os::fd::AsFd;
            let queue = self.accepted.stash_queue(fd.as_fd(), budget);
            if let Queue::Taken(taken) = queue {
                budget -= taken;
            }
            match queue {
                Queue::Taken(_) | Queue::Unheld if tcp => shut(vec![fd]),
                Queue::Bypassed if tcp => to_shut.push(fd),
                _ => {}
            }
        }
        drop(handing);
        let began = self.phase.send_if_modified(|phase| {
            let serving = *phase == Phase::Serving;
            if serving {
                *phase = Phase::Draining(since);
            }
            serving
        });
        // Only if the signal is what began it (not an order come first).
        if began && signalled {
            self.signalled
                .store(true, std::sync::atomic::Ordering::SeqCst);
        }
        // The accepts waiting look at the stash from here on.
        self.accepted.stash.wake();
        // Only now, with draining begun: the listeners `Context` handed out
        // pend from here on, rather than meet the shut socket.
        shut(to_shut);
        if !to_shut_later.is_empty() {
            let later = Arc::new(Mutex::new(to_shut_later));
            let waiting = later.clone();
            let sibling_wait = self.sibling_wait;
            let spawned = std::thread::Builder::new()
                .name("littleboss-refuse".into())
                .spawn(move || {
                    std::thread::sleep(sibling_wait);
                    shut(std::mem::take(
                        &mut *waiting.lock().unwrap_or_else(|e| e.into_inner()),
                    ));
                });
            // Without a thread: at once, rather than never.
            if spawned.is_err() {
                shut(std::mem::take(
                    &mut *later.lock().unwrap_or_else(|e| e.into_inner()),
                ));
            }
        }
        if !began {
            return;
        }
        if !any_stream || self.grace.is_zero() {
            self.enter_lameduck(since);
            return;
        }
        let this = self.clone();
        let spawned = std::thread::Builder::new()
            .name("littleboss-grace".into())
            .spawn(move || this.wait_out_grace_then_enter(since));
        if let Err(e) = spawned {
            // Out of threads, say: lameduck now rather than never (a grace
            // cut short beats a drain that waits for the kill), and said
            // after it (a logger that blocks holds up no lameduck), here:
            // a line handed to a thread of its own would wait for one.
            self.enter_lameduck(since);
            warning!("cannot wait out the grace ({e}): lameduck now");
        }
    }

    /// [`begin`](Lameduck::begin), on this process's own stop signal. A
    /// child that the signal reached before its supervisor's order (the
    /// whole group signalled, systemd's default `KillMode`) may yet be
    /// handed queues to serve ([`take_handed`](Lameduck::take_handed)), or
    /// told to refuse, which takes its listeners' queues to serve (`keep`):
    /// with nothing open, its grace does not end before either can come.
    pub fn begin_on_signal(self: &Arc<Self>) {
        self.begin_phase_one(self.refuse, true, Sibling::May);
    }

    /// Runs `before` as draining first begins, whatever began it (a stop
    /// signal of this process's own, the supervisor's order, its death),
    /// before the phase changes: a child closes its readiness there, so
    /// that a ready being said just then is either sent first, or never
    /// (the supervisor would hand the service to a child on its way out).
    pub fn before_draining(&self, before: Box<dyn FnOnce() + Send>) {
        *(self.before_draining.0.lock()).unwrap_or_else(|e| e.into_inner()) = Some(before);
    }

    /// Tells it that its supervisor hands it queues at a stop (the
    /// hello's word: some socket is the service manager's), which a drain
    /// begun on its own signal waits for (see
    /// [`begin_on_signal`](Lameduck::begin_on_signal)).
    pub fn expect_handover_at_stop(&self) {
        self.handed_at_stop
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// The supervisor's order to wind down came (it follows whatever the
    /// supervisor hands over: one channel, in order), or none can come any
    /// more (the channel ended): nothing more is waited for.
    pub fn ordered(&self) {
        self.order_came
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.signalled
            .store(false, std::sync::atomic::Ordering::SeqCst);
    }

    /// Takes `fds`, the connections the supervisor took off the queue of
    /// the listening socket of inode `inode` as it let go of it, to serve
    /// as this child drains (draining begun already too: a stop whose
    /// signal reached the child first); closes them (their clients see it
    /// at once) where nothing would: lameduck come already, no grace to
    /// wait for them, a program accepting from that socket past its
    /// handles (one taken out with `into_inner`), or one that never took
    /// that listener or dropped every handle on it. Returns how many it
    /// kept.
    pub fn take_handed(&self, inode: u64, fds: Vec<OwnedFd>) -> usize {
        use std::os::fd::AsFd;
        let taken_here = {
            let listeners = self.listeners.lock().unwrap_or_else(|e| e.into_inner());
            listeners.iter().any(|l| {
                l.taken
                    && (l.fd.as_ref())
                        .is_some_and(|fd| crate::stash::inode(fd.as_fd()) == Some(inode))
            })
        } || (self.let_go_of.lock())
            .unwrap_or_else(|e| e.into_inner())
            .contains(&inode);
        let _handing = self.handing.lock().unwrap_or_else(|e| e.into_inner());
        let in_time = !matches!(*self.phase.borrow(), Phase::Lameduck(_));
        if !(taken_here && in_time && !self.grace.is_zero()) {
            return 0;
        }
        self.accepted.stash_handed(inode, fds)
    }

    /// Phase two: `Context::lameduck` completes. What a refusal stashed
    /// and the program has not taken by now is closed: accept loops end
    /// here, and its clients would otherwise wait for the exit's reset.
    fn enter_lameduck(&self, since: Instant) {
        let handing = self.handing.lock().unwrap_or_else(|e| e.into_inner());
        self.enter_lameduck_handing(since, handing);
    }

    /// [`enter_lameduck`](Lameduck::enter_lameduck), with `handing` held:
    /// no hand-over comes between the decision and the stash's clearing.
    fn enter_lameduck_handing(&self, since: Instant, _handing: std::sync::MutexGuard<'_, ()>) {
        self.phase.send_replace(Phase::Lameduck(since));
        self.accepted.stash.clear();
    }

    /// Waits out the grace, then enters phase two, deciding that every
    /// connection has closed with `handing` held: connections handed over
    /// meanwhile count as open, and the wait goes on.
    fn wait_out_grace_then_enter(&self, since: Instant) {
        loop {
            self.wait_out_grace(since);
            let handing = self.handing.lock().unwrap_or_else(|e| e.into_inner());
            if Instant::now() >= since + self.grace || self.accepted.all_closed() {
                self.enter_lameduck_handing(since, handing);
                return;
            }
        }
    }

    /// Waits until the grace since `since` has passed, or every connection
    /// accepted has closed, whichever comes first. Polled: no event says
    /// that a descriptor the program owns was closed (but the http
    /// helpers', which tell [`Accepted::closed`] at their last close).
    fn wait_out_grace(&self, since: Instant) {
        let end = since + self.grace;
        loop {
            // A child (the refusal its supervisor's) drained by its own
            // signal: the supervisor's order may follow (a stop signals the
            // whole group), until it comes (looked at each time): with a
            // hand-over where it makes one, else a refusal, which takes
            // the kept listeners' queues to serve while in phase one. The
            // supervisor, signalled at the same moment, gives it as it
            // begins the stop, which ends the wait: waited for as long as
            // the grace lasts, not a guess at how soon a busy supervisor
            // gets to it (what queued meanwhile would be reset).
            let order_may_follow = self.keep
                || self
                    .handed_at_stop
                    .load(std::sync::atomic::Ordering::SeqCst);
            let handed_later = !self.refuse
                && order_may_follow
                && self.signalled.load(std::sync::atomic::Ordering::SeqCst)
                && !self.order_came.load(std::sync::atomic::Ordering::SeqCst);
            let earliest = match handed_later {
                true => end,
                false => since,
            };
            if self.accepted.all_closed() && Instant::now() >= earliest {
                return;
            }
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            self.accepted.wait_for_a_close(left.min(GRACE_POLL));
        }
    }
}

/// How often the grace looks for the connections accepted to have closed.
const GRACE_POLL: Duration = Duration::from_millis(20);

/// Whether another child may take the queues of this one's sockets as it
/// begins to drain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sibling {
    /// None: a supervisor's order to refuse, which comes only when none
    /// serves.
    None,
    /// One may (a reload's new child, as a dead supervisor orphans both).
    May,
    /// One serves, and takes the queues of the sockets it holds too
    /// (`served_beside`): see
    /// [`begin_refusing_orphaned_beside`](Lameduck::begin_refusing_orphaned_beside).
    ServesShared,
}

/// How long a child refusing on sockets it does not accept from leaves
/// them listening, for a sibling serving them to take their queue first:
/// each child acts on its own order (or on the supervisor's death), and a
/// shut from any copy resets the queue for all.
const SIBLING_STASH_TIME: Duration = Duration::from_millis(250);

/// Shuts each of `listeners` down for reading: a listening socket leaves
/// the LISTEN state, so connects are refused and its queue is reset.
fn shut(listeners: Vec<OwnedFd>) {
    for fd in listeners {
        let _ = nix::sys::socket::shutdown(
            std::os::fd::AsRawFd::as_raw_fd(&fd),
            nix::sys::socket::Shutdown::Read,
        );
    }
}

/// Polls `accept` until draining begins (per `phase`); from then on pending
/// without polling it (the connection stays queued for the next child).
/// For the listeners `Context` hands out.
///
/// An error met as draining begins is pending too: another thread may
/// shut the socket between the check and the accept (`EINVAL`), and a
/// program's `accept().await.expect(..)` must not panic mid-drain for it.
/// So is `EINVAL` before it: the socket no longer listens because the
/// supervisor shut it (a reload gave the listener up), and this child's
/// order to wind down is on its way. An error that concerns one
/// connection, not the listener (its client gave up before it was
/// accepted; a network error it left, which accept(2) says to retry at
/// once) is passed over for the next connection: a program's loop that
/// waits a moment on every error, as it must on running out of
/// descriptors, would wait for each.
pub(crate) fn poll_until_draining<T>(
    phase: &watch::Receiver<Phase>,
    mut accept: impl FnMut() -> std::task::Poll<std::io::Result<T>>,
) -> std::task::Poll<std::io::Result<T>> {
    use std::task::Poll;
    if phase.borrow().is_draining() {
        return Poll::Pending;
    }
    loop {
        return match accept() {
            Poll::Ready(Err(e)) if phase.borrow().is_draining() || not_listening(&e) => {
                Poll::Pending
            }
            // Each such error took its connection off the queue.
            Poll::Ready(Err(e)) if crate::tcp::is_connection_error(&e) => continue,
            polled => polled,
        };
    }
}

/// [`poll_until_draining`], recording the connection accepted in
/// `accepted` (for the grace to end once all have closed).
pub(crate) fn poll_accept_recorded<S: std::os::fd::AsRawFd, A>(
    phase: &watch::Receiver<Phase>,
    accepted: &Accepted,
    accept: impl FnMut() -> std::task::Poll<std::io::Result<(S, A)>>,
) -> std::task::Poll<std::io::Result<(S, A)>> {
    // Counted before draining is checked: the grace never sees "all
    // closed" between this accept's taking a connection and its record.
    // (Not counted at all once draining: a program polling on would keep
    // the grace looking.)
    if !accepted.may_accept() {
        return std::task::Poll::Pending;
    }
    let _accepting = accepted.accepting();
    if !accepted.may_accept() {
        return std::task::Poll::Pending;
    }
    let polled = poll_until_draining(phase, accept);
    if let std::task::Poll::Ready(Ok((stream, _))) = &polled {
        accepted.record(stream.as_raw_fd());
    }
    polled
}

/// [`poll_accept_recorded`] around `accept`, the listener's own accept
/// future, made afresh once it completes: tokio's, which wakes every task
/// waiting on the listener (its `poll_accept` wakes only the last caller,
/// so tasks sharing a listener would wait for ever once that one is gone).
pub(crate) async fn accept_recorded<S, A, F>(
    phase: &watch::Receiver<Phase>,
    accepted: &Accepted,
    mut accept: impl FnMut() -> F,
) -> std::io::Result<(S, A)>
where
    S: std::os::fd::AsRawFd,
    F: std::future::Future<Output = std::io::Result<(S, A)>>,
{
    let mut slot = std::pin::pin!(None::<F>);
    std::future::poll_fn(|cx| {
        poll_accept_recorded(phase, accepted, || {
            if slot.is_none() {
                slot.set(Some(accept()));
            }
            let Some(future) = slot.as_mut().as_pin_mut() else {
                unreachable!("just set");
            };
            let polled = future.poll(cx);
            if polled.is_ready() {
                slot.set(None);
            }
            polled
        })
    })
    .await
}

/// [`poll_accept_recorded`], and once draining has begun, the connections
/// the listening socket `listening` had queued when a refusal shut it
/// (see [`stash`](crate::stash)), each made a stream by `make`.
pub(crate) fn poll_accept_or_stashed<S: std::os::fd::AsRawFd, A>(
    phase: &watch::Receiver<Phase>,
    accepted: &Accepted,
    listening: std::os::fd::BorrowedFd<'_>,
    cx: &mut std::task::Context<'_>,
    mut accept: impl FnMut(&mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<(S, A)>>,
    make: impl Fn(OwnedFd) -> std::io::Result<(S, A)>,
) -> std::task::Poll<std::io::Result<(S, A)>> {
    // Accepting stops (the flag) before draining is told, and the stash
    // fills between the two.
    let accepting = || accepted.may_accept() && !phase.borrow().is_draining();
    if accepting() {
        let polled = poll_accept_recorded(phase, accepted, || accept(cx));
        if polled.is_ready() {
            return polled;
        }
        // Woken at draining too: a socket found shut leaves no other
        // waker. Waiting first, then looking: draining begun in between
        // is seen here, or its wake-up comes after the wait.
        accepted.stash.wait(cx);
        if accepting() {
            return polled;
        }
    }
    accepted.stash.poll_next(listening, cx, make).map(Ok)
}

/// [`accept_recorded`], and once draining has begun, the connections
/// stashed as in [`poll_accept_or_stashed`].
pub(crate) async fn accept_or_stashed<S, A, F>(
    phase: &watch::Receiver<Phase>,
    accepted: &Accepted,
    listening: std::os::fd::BorrowedFd<'_>,
    accept: impl FnMut() -> F,
    make: impl Fn(OwnedFd) -> std::io::Result<(S, A)>,
) -> std::io::Result<(S, A)>
where
    S: std::os::fd::AsRawFd,
    F: std::future::Future<Output = std::io::Result<(S, A)>>,
{
    let mut accept = std::pin::pin!(accept_recorded(phase, accepted, accept));
    // As in `poll_accept_or_stashed`, but woken at draining by the phase's
    // own channel, which wakes every waiter and forgets this one when the
    // accept is dropped: the stash's list keeps a bounded number, and one
    // dropped from it (among hundreds of tasks) would never wake.
    let accepting = || accepted.may_accept() && !phase.borrow().is_draining();
    let mut phase_seen = phase.clone();
    let mut draining = std::pin::pin!(async move {
        let _ = phase_seen.wait_for(|phase| phase.is_draining()).await;
    });
    let mut watching = true;
    std::future::poll_fn(|cx| {
        if accepting() {
            let polled = accept.as_mut().poll(cx);
            if polled.is_ready() {
                return polled;
            }
            // Waiting first, then looking, as there.
            if watching && draining.as_mut().poll(cx).is_ready() {
                watching = false;
            }
            if accepting() {
                return polled;
            }
        }
        accepted.stash.poll_next(listening, cx, &make).map(Ok)
    })
    .await
}

/// The error of an accept on a socket that no longer listens: it was shut.
fn not_listening(e: &std::io::Error) -> bool {
    e.raw_os_error() == Some(nix::libc::EINVAL)
}

/// How long a way out waits for a removal of the socket files under way
/// elsewhere ([`Lameduck::remove_socket_files_within`]).
pub(crate) const FILES_PATIENCE: Duration = Duration::from_millis(100);

/// Removes each of `files`, taking it from the list as it goes: should a
/// removal panic, the list's next holder finds the rest.
fn remove_each(files: &mut Vec<OwnFile>) {
    while let Some(file) = files.pop() {
        file.remove();
    }
}

/// Watches SIGINT and SIGTERM on a thread of its own, so that it works
/// whatever the program's runtime is doing: the first begins lameduck; a
/// second (not within [`SAME_STOP`] of the first), or the lameduck
/// timeout, ends the process, removing first, without a supervisor (no
/// `hangup`), the socket files it bound itself that `lameduck` has not
/// removed yet.
/// With `hangup` (a child's: its supervisor's pid), SIGHUP too, only to
/// say it is the supervisor's: sent to every process of the service
/// (`systemctl kill -s HUP`, `pkill -HUP`), it would otherwise end the
/// serving child at once while the supervisor reloads. Returns once the
/// handlers are installed. The caller keeps a handle on `lameduck` for
/// the process's life: should this thread end, its handle's drop must not
/// read as lameduck begun.
///
/// # Errors
/// The thread could not be started (a cgroup's `pids.max`,
/// `RLIMIT_NPROC`).
pub(crate) fn on_signals(
    lameduck: Arc<Lameduck>,
    timeout: Duration,
    hangup: Option<nix::unistd::Pid>,
) -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let (installed_tx, installed_rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("littleboss-signals".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                // The sender's drop ends the caller's wait.
                Err(e) => return without_signals(&e),
            };
            rt.block_on(async move {
                // Each watched if it can be: one whose handler went in is
                // read even if the other's failed (tokio never takes a
                // handler out, so dropped it would be swallowed).
                let (mut term, mut int) = match (
                    signal(SignalKind::terminate()),
                    signal(SignalKind::interrupt()),
                ) {
                    (Err(e), Err(_)) => return without_signals(&e),
                    (term, int) => {
                        let unwatched = "it may end the program at once, without a drain";
                        (
                            watched(term, "SIGTERM", unwatched),
                            watched(int, "SIGINT", unwatched),
                        )
                    }
                };
                // A handler, not SIG_IGN: the program's own children get
                // the default back at their exec.
                let mut hup = hangup.and_then(|_| {
                    watched(
                        signal(SignalKind::hangup()),
                        "SIGHUP",
                        "one sent to this child (`systemctl kill -s HUP`) may end it at once",
                    )
                });
                let supervisor = hangup.unwrap_or(nix::unistd::Pid::from_raw(0));
                let _ = installed_tx.send(());
                use nix::sys::signal::Signal;
                let first = loop {
                    tokio::select! {
                        Some(()) = next_of(&mut term) => break Signal::SIGTERM,
                        Some(()) = next_of(&mut int) => break Signal::SIGINT,
                        Some(()) = next_of(&mut hup) => hangup_ignored(supervisor),
                    }
                };
                let since = tokio::time::Instant::now();
                // Without a supervisor to say it: a Ctrl-C that seems to
                // do nothing for the drain's length is pressed again.
                // Handed over before the drain begins: a drain that takes
                // no time ends in an exit, which waits for it only if it
                // is on its way (`report::exit`).
                if hangup.is_none() {
                    crate::report::say_detached(log::Level::Info, drain_begun(first, timeout));
                }
                lameduck.begin_on_signal();
                // A copy that came while the drain began (thousands of
                // accepts to stash, say) is read only now, however soon
                // after the first it came.
                let begun = tokio::time::Instant::now();
                let last_words = loop {
                    let again = tokio::select! {
                        Some(()) = next_of(&mut term) => "SIGTERM",
                        Some(()) = next_of(&mut int) => "SIGINT",
                        Some(()) = next_of(&mut hup) => {
                            hangup_ignored(supervisor);
                            continue;
                        }
                        _ = tokio::time::sleep_until(since + timeout) => {
                            break format!("still running {timeout:?} after the signal; exiting");
                        }
                    };
                    // How far apart they were read, said either way, as the
                    // supervisor says it. Within the window: the same stop,
                    // sent to the process and its group.
                    let after = since.elapsed();
                    let same = after < SAME_STOP || begun.elapsed() < READ_AS_DRAIN_BEGAN;
                    let line = stop_again(again, after, same, "exiting now");
                    if !same {
                        break line;
                    }
                    // Not waited for: a logger that blocks must not hold
                    // up the next copy, which would then be read too late.
                    crate::report::say_detached(log::Level::Info, line);
                };
                // Exiting from here skips what `main`'s return would do:
                // the socket files this process bound go now.
                if hangup.is_none() {
                    lameduck.remove_socket_files_within(FILES_PATIENCE);
                }
                // Without a supervisor, of the signal itself, as the
                // program would have died without littleboss's handler (a
                // shell's loop stops; systemd counts it a clean stop). A
                // child's supervisor tells its exit code (128 + the
                // signal) from a death by someone else's signal.
                let ending = match hangup {
                    None => crate::report::Ending::Signal(first),
                    Some(_) => crate::report::Ending::Code(128 + first as i32),
                };
                crate::report::end_by_deadline(ending, last_words);
            });
        })?;
    let _ = installed_rx.recv();
    Ok(())
}

/// What a program without a supervisor says as its first stop signal,
/// `signal`, begins its drain, bounded by `timeout`.
fn drain_begun(signal: nix::sys::signal::Signal, timeout: Duration) -> String {
    format!(
        "{}: draining, for {timeout:?} at most (the lameduck timeout); send it again to exit now",
        signal.as_str()
    )
}

/// The next of a signal, when watched; never otherwise.
async fn next_of(signal: &mut Option<tokio::signal::unix::Signal>) -> Option<()> {
    match signal {
        Some(signal) => signal.recv().await,
        None => std::future::pending().await,
    }
}

/// `watching`'s stream, or, for one that could not be had, `None` and a
/// warning that signal `name` is not watched, and what that means
/// (`unwatched`). Detached: a logger that blocks must not hold up the
/// program's start, nor this thread's reading of its stop signals.
fn watched(
    watching: std::io::Result<tokio::signal::unix::Signal>,
    name: &str,
    unwatched: &str,
) -> Option<tokio::signal::unix::Signal> {
    watching
        .inspect_err(|e| {
            crate::report::say_detached(
                log::Level::Warn,
                format!("cannot watch {name} ({e}): {unwatched}"),
            )
        })
        .ok()
}

/// A SIGHUP sent to the child itself: news, not a warning (a program
/// with a SIGHUP handler of its own, reopening its logs, gets it too).
fn hangup_ignored(supervisor: nix::unistd::Pid) {
    // Its parent no more: it died, and this child drains on its own.
    let who = match nix::unistd::getppid() == supervisor {
        true => format!("the supervisor (pid {supervisor}) does"),
        false => format!("its supervisor (pid {supervisor}), which does, is gone"),
    };
    // Not waited for: the program's logger may block, and this thread must
    // go on to the SIGTERM after.
    crate::report::say_detached(
        log::Level::Info,
        format!(
            "SIGHUP to the child (pid {}): littleboss does not reload on it; {who}",
            std::process::id()
        ),
    );
}

/// Where the stop signals cannot be watched: says so (the signal thread
/// ends; the caller keeps its owner of the lameduck state). Detached: the
/// caller waits for this thread's word, which a logger that blocks must
/// not hold up.
fn without_signals(error: &std::io::Error) {
    crate::report::say_detached(
        log::Level::Warn,
        format!(
            "cannot watch SIGTERM and SIGINT ({error}): a stop signal may end the program at once, without a drain"
        ),
    );
}

/// A stop signal within this time of the first is the same stop: senders
/// such as GNU `timeout` and `kill -- -PGID` signal the process and its
/// group at once. A person's second Ctrl-C comes later, and kills.
pub(crate) const SAME_STOP: Duration = Duration::from_millis(250);

/// How a second stop signal read `after` the first is said, by the
/// supervisor and by a program run without one alike: how far apart, then
/// the same stop (`same`: within [`SAME_STOP`], or already waiting as the
/// drain began) or `otherwise`, what is done.
///
/// `stop_again("SIGTERM", 20 ms, true, "exiting now")` is `SIGTERM again,
/// 20 ms after the first: the same stop (sent to the process and its
/// group; within 250ms)`.
pub(crate) fn stop_again(signal: &str, after: Duration, same: bool, otherwise: &str) -> String {
    let again = format!("{signal} again, {} ms after the first", after.as_millis());
    match (same, after < SAME_STOP) {
        (true, true) => format!(
            "{again}: the same stop (sent to the process and its group; within {SAME_STOP:?})"
        ),
        (true, false) => format!(
            "{again}: the same stop (waiting to be read while the drain began; sent to the process and its group)"
        ),
        (false, _) => format!("{again}: {otherwise}"),
    }
}

/// A second stop signal read this soon after the drain has begun was
/// waiting while it began (a signal is read only between the steps of
/// the thread that reads them): the same stop, however long the beginning
/// took.
pub(crate) const READ_AS_DRAIN_BEGAN: Duration = Duration::from_millis(50);

/// The grace between the two phases: as configured, but never more than
/// half the lameduck timeout, so requests in flight keep the other half.
pub(crate) fn grace(config: &crate::config::Config) -> Duration {
    config.grace.min(config.lameduck / 2)
}

#[cfg(test)]
mod tests {
    use std::os::fd::OwnedFd;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use super::{Lameduck, Listener, Phase};
    use crate::spec::Network;

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn a_second_signal_is_said_as_it_is_judged() {
        let ms = Duration::from_millis;
        let said = |after, same| super::stop_again("SIGTERM", after, same, "exiting now");
        assert!(
            said(ms(20), true)
                .ends_with("the same stop (sent to the process and its group; within 250ms)")
        );
        // Read late, having waited while the drain began: no "within".
        assert!(said(ms(400), true).ends_with(
            "400 ms after the first: the same stop (waiting to be read while the drain began; sent to the process and its group)"
        ));
        assert!(said(ms(400), false).ends_with("400 ms after the first: exiting now"));
    }

    fn tcp(taken: bool) -> (Listener, std::net::SocketAddr) {
        let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = socket.local_addr().unwrap();
        let listener = Listener {
            name: "http".into(),
            network: Network::Tcp,
            fd: Some(OwnedFd::from(socket)),
            taken,
            managers: false,
            served_beside: false,
            unbound: None,
        };
        (listener, addr)
    }

    #[test]
    fn an_accept_failing_as_draining_begins_stays_pending() {
        use std::task::Poll;
        let (tx, rx) = tokio::sync::watch::channel(Phase::Serving);
        // Any error met as draining begins (the socket shut by another
        // thread between the check and the accept; not EINVAL here, which
        // is pending anyway).
        let shut_meanwhile = || {
            tx.send_replace(Phase::Draining(Instant::now()));
            Poll::Ready(Err::<(), _>(std::io::Error::from(
                nix::errno::Errno::EMFILE,
            )))
        };
        assert!(super::poll_until_draining(&rx, shut_meanwhile).is_pending());
        // Shut by the supervisor before this child hears it is to drain.
        let (_tx, rx) = tokio::sync::watch::channel(Phase::Serving);
        let shut = || {
            Poll::Ready(Err::<(), _>(std::io::Error::from(
                nix::errno::Errno::EINVAL,
            )))
        };
        assert!(super::poll_until_draining(&rx, shut).is_pending());
        // While serving, an accept's error is the program's to see.
        let failed = || Poll::Ready(Err::<(), _>(std::io::Error::other("EMFILE")));
        let Poll::Ready(Err(error)) = super::poll_until_draining(&rx, failed) else {
            panic!("the error is not the program's");
        };
        assert_eq!(error.to_string(), "EMFILE");
        // One connection's error is passed over for the next connection.
        let mut queue = vec![
            Poll::Ready(Ok(7)),
            Poll::Ready(Err(std::io::Error::from(nix::errno::Errno::EPROTO))),
            Poll::Ready(Err(std::io::Error::from(
                std::io::ErrorKind::ConnectionAborted,
            ))),
        ];
        let next = || queue.pop().unwrap_or(Poll::Pending);
        let Poll::Ready(Ok(7)) = super::poll_until_draining(&rx, next) else {
            panic!("a connection's error reached the program");
        };
    }

    #[test]
    fn draining_begun_while_an_accept_is_polled_hands_it_the_stashed_connections() {
        use std::os::fd::AsFd;
        use std::task::Poll;
        let (taken, addr) = tcp(true);
        let listening = taken.fd.as_ref().unwrap().try_clone().unwrap();
        let program = std::net::TcpListener::from(listening.try_clone().unwrap());
        let listeners = Arc::new(Mutex::new(vec![taken]));
        let (lameduck, phase) = Lameduck::new(listeners, HOUR, false, false);
        let accepted = lameduck.accepted();
        // A connection the supervisor handed over while serving.
        let _client = std::net::TcpStream::connect(addr).unwrap();
        let (handed, _) = program.accept().unwrap();
        let inode = crate::stash::inode(listening.as_fd()).unwrap();
        accepted.stash_handed(inode, vec![OwnedFd::from(handed)]);
        // Draining begins on another thread while the accept is polled:
        // its wake-up comes before this task waits on the stash. (Not the
        // window between the accept's poll and the wait, which the order
        // of the two closes and which has no hook: this passes without it.)
        let accept = |_: &mut std::task::Context<'_>| {
            lameduck.begin();
            Poll::<std::io::Result<(OwnedFd, ())>>::Pending
        };
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        let polled = super::poll_accept_or_stashed(
            &phase,
            &accepted,
            listening.as_fd(),
            &mut cx,
            accept,
            |fd| Ok((fd, ())),
        );
        assert!(
            matches!(polled, Poll::Ready(Ok(_))),
            "the stashed connection waits for a wake-up already gone"
        );
    }

    #[test]
    fn without_a_tcp_listener_lameduck_follows_draining_at_once() {
        let (untaken, _) = tcp(false);
        let listeners = Arc::new(Mutex::new(vec![untaken]));
        let (lameduck, phase) = Lameduck::new(listeners.clone(), HOUR, false, false);
        lameduck.begin();
        assert!(phase.borrow().is_lameduck());
        // A listener not taken yet stays available.
        assert!(listeners.lock().unwrap()[0].fd.is_some());
    }

    /// Waits, with a deadline, for phase two.
    fn wait_for_lameduck(phase: &tokio::sync::watch::Receiver<Phase>) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !phase.borrow().is_lameduck() {
            assert!(Instant::now() < deadline, "lameduck never came");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn with_a_tcp_listener_lameduck_waits_for_the_connections_accepted() {
        let (taken, addr) = tcp(true);
        let program = std::net::TcpListener::from(taken.fd.as_ref().unwrap().try_clone().unwrap());
        let listeners = Arc::new(Mutex::new(vec![taken]));
        let (lameduck, phase) = Lameduck::new(listeners.clone(), HOUR, false, false);
        let _client = std::net::TcpStream::connect(addr).unwrap();
        let (server, _) = program.accept().unwrap();
        lameduck
            .accepted()
            .record(std::os::fd::AsRawFd::as_raw_fd(&server));
        let before = Instant::now();
        lameduck.begin();
        let Phase::Draining(since) = *phase.borrow() else {
            panic!("not draining");
        };
        assert!(since >= before && since <= Instant::now());
        lameduck.begin(); // again: nothing changes
        assert_eq!(*phase.borrow(), Phase::Draining(since));
        assert!(listeners.lock().unwrap()[0].fd.is_none(), "copy dropped");
        // The connection accepted is open: the grace (an hour) goes on...
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(*phase.borrow(), Phase::Draining(since));
        // ...until the program closes it.
        drop(server);
        wait_for_lameduck(&phase);
        assert_eq!(*phase.borrow(), Phase::Lameduck(since));

        // With a connection open, lameduck comes when the grace ends.
        let (taken, addr) = tcp(true);
        let program = std::net::TcpListener::from(taken.fd.as_ref().unwrap().try_clone().unwrap());
        let grace = Duration::from_millis(20);
        let (lameduck, phase) =
            Lameduck::new(Arc::new(Mutex::new(vec![taken])), grace, false, false);
        let _client = std::net::TcpStream::connect(addr).unwrap();
        let (server, _) = program.accept().unwrap();
        lameduck
            .accepted()
            .record(std::os::fd::AsRawFd::as_raw_fd(&server));
        lameduck.begin();
        wait_for_lameduck(&phase);
    }

    #[test]
    fn with_no_connection_open_lameduck_follows_draining_unless_track_was_lost() {
        let (taken, _) = tcp(true);
        let (lameduck, phase) =
            Lameduck::new(Arc::new(Mutex::new(vec![taken])), HOUR, false, false);
        lameduck.begin();
        wait_for_lameduck(&phase);

        // The program accepts where nothing is recorded (`into_inner`): the
        // whole grace, for connections nobody can see.
        let (taken, _) = tcp(true);
        let (lameduck, phase) =
            Lameduck::new(Arc::new(Mutex::new(vec![taken])), HOUR, false, false);
        lameduck.accepted().lose_track();
        lameduck.begin();
        std::thread::sleep(Duration::from_millis(100));
        assert!(!phase.borrow().is_lameduck());
    }

    /// A taken TCP listener under a `Lameduck` made with `refuse` and
    /// `keep`, its address, and the program's own handle on the socket.
    fn draining_tcp(refuse: bool, keep: bool) -> (Arc<Lameduck>, std::net::SocketAddr, OwnedFd) {
        let (taken, addr) = tcp(true);
        let program = taken.fd.as_ref().unwrap().try_clone().unwrap();
        let listeners = Arc::new(Mutex::new(vec![taken]));
        let (lameduck, _) = Lameduck::new(listeners, HOUR, refuse, keep);
        (lameduck, addr, program)
    }

    /// A supervised child's lameduck with a taken TCP listener, whose wait
    /// for a hand-over (where `handed_at_stop`), as long as its grace (an
    /// hour), outlasts any test.
    fn waiting_for_a_hand_over(handed_at_stop: bool) -> (Arc<Lameduck>, crate::TcpListener) {
        let (lameduck, _addr, program) = draining_tcp(false, true);
        if handed_at_stop {
            lameduck.expect_handover_at_stop();
        }
        let listener = handle(&lameduck, program);
        (lameduck, listener)
    }

    /// Checks for 200 ms that phase two does not come (`why` it must not).
    fn no_phase_two_for_a_while(lameduck: &Lameduck, why: &str) {
        let looked = Instant::now() + Duration::from_millis(200);
        while Instant::now() < looked {
            let phase = *lameduck.phase.borrow();
            assert!(!matches!(phase, Phase::Lameduck(_)), "{why}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits up to 10 s for phase two, else fails saying `held`.
    fn phase_two_comes(lameduck: &Lameduck, held: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !matches!(*lameduck.phase.borrow(), Phase::Lameduck(_)) {
            assert!(Instant::now() < deadline, "{held}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn assert_refused(addr: std::net::SocketAddr) {
        let refused = std::net::TcpStream::connect(addr).unwrap_err();
        assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    }

    /// `addr` refuses within 20 s (a shut by a thread of its own).
    fn eventually_refused(addr: std::net::SocketAddr) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(addr).is_ok() {
            assert!(Instant::now() < deadline, "{addr} still listening");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_refused(addr);
    }

    /// How long the sockets a refusal shuts later stay listening in
    /// [`refusing_shuts_the_socket_so_connects_are_refused`]: long enough
    /// that its connects within it cannot come too late on a loaded
    /// machine.
    const SIBLING_WAIT: Duration = Duration::from_secs(2);

    /// `lameduck`, the sockets a refusal shuts later left listening for
    /// [`SIBLING_WAIT`].
    fn patient(mut lameduck: Arc<Lameduck>) -> Arc<Lameduck> {
        Arc::get_mut(&mut lameduck).expect("one owner").sibling_wait = SIBLING_WAIT;
        lameduck
    }

    #[test]
    fn refusing_shuts_the_socket_so_connects_are_refused() {
        let (lameduck, addr, _program) = draining_tcp(true, false);
        lameduck.begin();
        assert_refused(addr);
        // A supervised child (no refusing of its own) told it is the last.
        let (lameduck, addr, _program) = draining_tcp(false, false);
        lameduck.begin_refusing();
        assert_refused(addr);
        // Orphaned once draining already (a reload's drain, or a signal of
        // its own), as when the supervisor dies.
        let (lameduck, addr, _program) = draining_tcp(false, true);
        let lameduck = patient(lameduck);
        lameduck.begin();
        drop(std::net::TcpStream::connect(addr).expect("queued while draining"));
        lameduck.begin_refusing_orphaned();
        // Not at once: a sibling serving the socket takes its queue first.
        drop(std::net::TcpStream::connect(addr).expect("queued for a sibling"));
        eventually_refused(addr);
        // Ordered so once past its grace (nothing open), taking nothing: as
        // late, for a child still starting that holds the same socket.
        let (lameduck, addr, _program) = draining_tcp(false, true);
        let lameduck = patient(lameduck);
        lameduck.begin();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !lameduck.phase.borrow().is_lameduck() {
            assert!(Instant::now() < deadline, "never reached lameduck");
            std::thread::sleep(Duration::from_millis(5));
        }
        lameduck.begin_refusing();
        drop(std::net::TcpStream::connect(addr).expect("queued for a child starting"));
        eventually_refused(addr);
        // A listener the program never took is shut too (as late), and
        // stays there for a late taker.
        let (untaken, addr) = tcp(false);
        let listeners = Arc::new(Mutex::new(vec![untaken]));
        let (lameduck, phase) = Lameduck::new(listeners.clone(), HOUR, false, false);
        let lameduck = patient(lameduck);
        lameduck.begin_refusing();
        assert!(phase.borrow().is_draining());
        drop(std::net::TcpStream::connect(addr).expect("queued for a sibling"));
        eventually_refused(addr);
        assert!(listeners.lock().unwrap()[0].fd.is_some());
        // One the program took only once draining had begun (its `main`
        // slow to reach it), as late: this child accepts nothing from it.
        let (untaken, addr) = tcp(false);
        let listeners = Arc::new(Mutex::new(vec![untaken]));
        let (lameduck, _) = Lameduck::new(listeners.clone(), HOUR, false, true);
        let lameduck = patient(lameduck);
        lameduck.begin();
        listeners.lock().unwrap()[0].taken = true;
        lameduck.begin_refusing_orphaned();
        drop(std::net::TcpStream::connect(addr).expect("queued for a sibling"));
        eventually_refused(addr);
        // In bypass mode, with no sibling to wait for: at once.
        let (untaken, addr) = tcp(false);
        let (lameduck, _) = Lameduck::new(Arc::new(Mutex::new(vec![untaken])), HOUR, true, false);
        lameduck.begin();
        assert_refused(addr);
        // Where no refusal can come, no copy is kept: the program's own
        // drop closes the socket.
        let (lameduck, addr, program) = draining_tcp(false, false);
        lameduck.begin();
        drop(program);
        assert_refused(addr);
    }

    /// The listener handle the program took, from `program`.
    fn handle(lameduck: &Lameduck, program: OwnedFd) -> crate::TcpListener {
        let program = std::net::TcpListener::from(program);
        program.set_nonblocking(true).unwrap();
        crate::TcpListener::new(
            tokio::net::TcpListener::from_std(program).unwrap(),
            lameduck.phase.subscribe(),
            lameduck.accepted(),
        )
    }

    /// `client`'s request read by `served`, and the answer read back.
    async fn ping_pong<S, C>(served: &mut S, client: &mut C)
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
        C: tokio::io::AsyncRead + Unpin,
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut got = [0; 4];
        served.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"ping");
        served.write_all(b"pong").await.unwrap();
        client.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"pong");
    }

    /// A client connected to `addr` that has sent its request.
    async fn queued_client(addr: std::net::SocketAddr) -> tokio::net::TcpStream {
        use tokio::io::AsyncWriteExt;
        let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
        client.write_all(b"ping").await.unwrap();
        client
    }

    /// As a reload that moved the listener leaves it: the supervisor
    /// took its queue, shut the socket (the program's accept, waiting in
    /// it, meets the shut while serving, and parks), and handed the queue
    /// over before the order to drain. The lameduck, the client (which
    /// sent `ping`), and the parked accept.
    async fn parked_with_one_handed_over() -> (
        Arc<Lameduck>,
        std::net::TcpStream,
        tokio::task::JoinHandle<std::io::Result<tokio::net::TcpStream>>,
    ) {
        use std::io::Write;
        use std::os::fd::AsFd;
        let (lameduck, addr, program) = draining_tcp(false, true);
        let listener = handle(&lameduck, program);
        let accepting = tokio::spawn(async move { listener.accept().await.map(|(s, _)| s) });
        tokio::task::yield_now().await;
        // Without yielding: the accept cannot take the client first.
        let mut client = std::net::TcpStream::connect(addr).unwrap();
        client.write_all(b"ping").unwrap();
        let supervisors = {
            let listeners = lameduck.listeners.lock().unwrap();
            listeners[0].fd.as_ref().unwrap().try_clone().unwrap()
        };
        let inode = crate::stash::inode(supervisors.as_fd()).unwrap();
        let taken = crate::stash::accept_queued(supervisors.as_fd(), 16);
        assert_eq!(taken.len(), 1);
        super::shut(vec![supervisors]);
        assert_eq!(lameduck.take_handed(inode, taken), 1);
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert!(!accepting.is_finished());
        (lameduck, client, accepting)
    }

    #[tokio::test]
    async fn connections_the_supervisor_hands_over_reach_an_accept_parked_on_the_shut_socket() {
        // An accept loop that polls nothing else gets them.
        use std::os::fd::AsFd;
        let (lameduck, client, accepting) = parked_with_one_handed_over().await;
        lameduck.begin();
        client.set_nonblocking(true).unwrap();
        let mut client = tokio::net::TcpStream::from_std(client).unwrap();
        let mut served = tokio::time::timeout(Duration::from_secs(10), accepting)
            .await
            .expect("the parked accept woken at draining")
            .unwrap()
            .unwrap();
        ping_pong(&mut served, &mut client).await;
        // One the program never took is not kept: nothing would serve it.
        let (untaken, addr) = tcp(false);
        let (lameduck, _) = Lameduck::new(Arc::new(Mutex::new(vec![untaken])), HOUR, false, true);
        let _client = std::net::TcpStream::connect(addr).unwrap();
        let copy = lameduck.listeners.lock().unwrap()[0]
            .fd
            .as_ref()
            .unwrap()
            .try_clone()
            .unwrap();
        let copy = std::net::TcpListener::from(copy);
        copy.set_nonblocking(true).unwrap();
        let inode = crate::stash::inode(copy.as_fd()).unwrap();
        let taken = crate::stash::accept_queued(copy.as_fd(), 16);
        assert_eq!(taken.len(), 1);
        assert_eq!(lameduck.take_handed(inode, taken), 0);
    }

    #[tokio::test]
    async fn a_parked_accept_is_woken_at_draining_however_many_tasks_waited_since() {
        // As above, with hundreds of other tasks waiting on accepts after
        // it (other listeners' under load, a stream combinator's wakers):
        // the parked accept is woken all the same.
        let (lameduck, client, accepting) = parked_with_one_handed_over().await;
        for _ in 0..1000 {
            let other = std::task::Waker::from(std::sync::Arc::new(Ignored));
            lameduck
                .accepted
                .stash
                .wait(&std::task::Context::from_waker(&other));
        }
        lameduck.begin();
        let served = tokio::time::timeout(Duration::from_secs(10), accepting)
            .await
            .expect("the parked accept woken at draining")
            .unwrap()
            .unwrap();
        assert_eq!(served.peer_addr().unwrap(), client.local_addr().unwrap());
    }

    /// A waker of a task that is no more.
    struct Ignored;

    impl std::task::Wake for Ignored {
        fn wake(self: std::sync::Arc<Self>) {}
    }

    #[tokio::test]
    async fn connections_handed_over_once_draining_has_begun_are_served() {
        // A stop whose SIGTERM reached the child first (systemd signals
        // the whole group): the child drains, then the supervisor hands
        // it the queue of a socket it lets go of. Draining let go of
        // `Context`'s copy, which named the listener as taken.
        use std::io::Write;
        use std::os::fd::AsFd;
        // Some socket is the service manager's: the supervisor hands the
        // queues of its own at a stop.
        let (lameduck, listener) = waiting_for_a_hand_over(true);
        let addr = listener.local_addr().unwrap();
        let supervisors = {
            let listeners = lameduck.listeners.lock().unwrap();
            listeners[0].fd.as_ref().unwrap().try_clone().unwrap()
        };
        lameduck.begin_on_signal();
        // Nothing open: but for the wait, phase two would come at once.
        no_phase_two_for_a_while(&lameduck, "before the hand-over");
        let mut client = std::net::TcpStream::connect(addr).unwrap();
        client.write_all(b"ping").unwrap();
        let inode = crate::stash::inode(supervisors.as_fd()).unwrap();
        let taken = crate::stash::accept_queued(supervisors.as_fd(), 16);
        assert_eq!(taken.len(), 1);
        super::shut(vec![supervisors]);
        assert_eq!(lameduck.take_handed(inode, taken), 1);
        client.set_nonblocking(true).unwrap();
        let mut client = tokio::net::TcpStream::from_std(client).unwrap();
        let (mut served, _) = tokio::time::timeout(Duration::from_secs(10), listener.accept())
            .await
            .expect("the handed connection yielded while draining")
            .unwrap();
        ping_pong(&mut served, &mut client).await;
    }

    /// The http helpers, too, serve what is handed over after a drain
    /// begun by the child's own signal: they end at lameduck, which waits
    /// for it, not as soon as nothing is open.
    #[cfg(feature = "http")]
    #[tokio::test]
    async fn the_http_helpers_serve_connections_handed_over_once_draining_has_begun() {
        use std::os::fd::AsFd;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (lameduck, listener) = waiting_for_a_hand_over(true);
        let addr = listener.local_addr().unwrap();
        let supervisors = {
            let listeners = lameduck.listeners.lock().unwrap();
            listeners[0].fd.as_ref().unwrap().try_clone().unwrap()
        };
        let timing = crate::context::Timing {
            phase: lameduck.phase.subscribe(),
            lameduck_timeout: 2 * HOUR,
            grace: lameduck.grace,
            accepted: lameduck.accepted(),
        };
        let ctx = crate::Context::new(Arc::default(), timing, None, Vec::new(), String::new());
        let app = axum::Router::new().route("/", axum::routing::get(|| async { "hi" }));
        let server = tokio::spawn(async move { crate::http::serve(&ctx, listener, app).await });
        lameduck.begin_on_signal();
        // Nothing open: the helper waits all the same.
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(
            !server.is_finished(),
            "the helper returned before the hand-over"
        );
        let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
        client
            .write_all(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
            .await
            .unwrap();
        let inode = crate::stash::inode(supervisors.as_fd()).unwrap();
        let taken = crate::stash::accept_queued(supervisors.as_fd(), 16);
        assert_eq!(taken.len(), 1);
        super::shut(vec![supervisors]);
        assert_eq!(lameduck.take_handed(inode, taken), 1);
        lameduck.ordered();
        let mut response = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), client.read_to_end(&mut response))
            .await
            .expect("the handed connection answered and closed")
            .expect("the handed connection was reset");
        let response = String::from_utf8_lossy(&response).to_ascii_lowercase();
        assert!(response.starts_with("http/1.1 200"), "{response}");
        assert!(response.ends_with("\r\n\r\nhi"), "{response}");
        // Nothing open any more: lameduck, and the helper returns.
        tokio::time::timeout(Duration::from_secs(10), server)
            .await
            .expect("the helper returns once its connection closed")
            .unwrap()
            .unwrap();
    }

    #[tokio::test]
    async fn what_runs_before_draining_runs_once_before_it_begins() {
        // Each time it runs, whether draining had begun then.
        let seen = Arc::new(Mutex::new(Vec::new()));
        let recording = |lameduck: &Lameduck| {
            let (phase, record) = (lameduck.phase.subscribe(), Arc::clone(&seen));
            lameduck.before_draining(Box::new(move || {
                let draining = phase.borrow().is_draining();
                record.lock().unwrap().push(draining);
            }));
        };
        let (lameduck, _listener) = waiting_for_a_hand_over(false);
        recording(&lameduck);
        lameduck.begin_on_signal();
        lameduck.begin_on_signal();
        assert!(lameduck.phase.borrow().is_draining());
        assert_eq!(*seen.lock().unwrap(), [false], "once, before draining");
        // The supervisor's order, as its own signal.
        let (lameduck, _listener) = waiting_for_a_hand_over(false);
        recording(&lameduck);
        lameduck.begin();
        lameduck.begin_refusing();
        assert_eq!(*seen.lock().unwrap(), [false, false], "once more, before");
    }

    #[tokio::test]
    async fn a_signal_after_the_supervisors_order_does_not_hold_phase_two() {
        // The order began the drain: no hand-over is waited for.
        let (lameduck, _listener) = waiting_for_a_hand_over(true);
        lameduck.begin();
        lameduck.begin_on_signal();
        assert!(!lameduck.signalled.load(std::sync::atomic::Ordering::SeqCst));
        phase_two_comes(&lameduck, "phase two held for a hand-over");
    }

    #[tokio::test]
    async fn a_signal_whose_drain_begins_just_after_the_order_waits_for_no_hand_over() {
        // The order read on the channel's thread, the signal's drain begun
        // on the signal thread before that one's `begin`.
        let (lameduck, _listener) = waiting_for_a_hand_over(true);
        lameduck.ordered();
        lameduck.begin_on_signal();
        lameduck.begin();
        phase_two_comes(&lameduck, "phase two held after the order");
    }

    #[tokio::test]
    async fn the_supervisors_order_ends_the_wait_for_a_hand_over() {
        // What it hands over comes before its order: none after.
        let (lameduck, _listener) = waiting_for_a_hand_over(true);
        lameduck.begin_on_signal();
        lameduck.ordered();
        lameduck.begin();
        phase_two_comes(&lameduck, "phase two held after the order");
        // Where no order can come (nothing kept for a refusal, nothing
        // handed), a signal holds nothing either.
        let (lameduck, _addr, _program) = draining_tcp(false, false);
        lameduck.begin_on_signal();
        phase_two_comes(&lameduck, "phase two held, no order to come");
    }

    #[tokio::test]
    async fn a_signal_holds_phase_two_for_the_refusal_that_takes_the_queue() {
        // No socket the service manager's: the stop's order is a refusal,
        // which, come while the program still accepts, takes the queue for
        // it; signalled first, nothing open, it waits for that order.
        use std::io::Write;
        let (lameduck, listener) = waiting_for_a_hand_over(false);
        let addr = listener.local_addr().unwrap();
        lameduck.begin_on_signal();
        no_phase_two_for_a_while(&lameduck, "before the order");
        let mut client = std::net::TcpStream::connect(addr).unwrap();
        client.write_all(b"ping").unwrap();
        // As the child does: the refusal, then the order marked come.
        lameduck.begin_refusing();
        lameduck.ordered();
        assert_refused(addr);
        client.set_nonblocking(true).unwrap();
        let mut client = tokio::net::TcpStream::from_std(client).unwrap();
        served_from_the_queue(&listener, &mut client).await;
    }

    /// `client`'s connection is closed or reset (within 5 s), unanswered.
    async fn closed_on(client: &mut tokio::net::TcpStream) {
        use tokio::io::AsyncReadExt;
        let mut got = [0; 1];
        let read = tokio::time::timeout(Duration::from_secs(5), client.read(&mut got)).await;
        assert!(matches!(read, Ok(Err(_)) | Ok(Ok(0))), "{read:?}");
    }

    /// `listener` yields the connection of `client`, queued at the
    /// refusal, and serves it.
    async fn served_from_the_queue(
        listener: &crate::TcpListener,
        client: &mut tokio::net::TcpStream,
    ) {
        let (mut served, _) = tokio::time::timeout(Duration::from_secs(10), listener.accept())
            .await
            .expect("the queued connection yielded at the refusal")
            .unwrap();
        ping_pong(&mut served, client).await;
    }

    #[tokio::test]
    async fn a_refusal_hands_the_program_the_connections_queued_before_it() {
        // Bypass mode's SIGTERM, or a stop of a supervised child serving.
        let (lameduck, addr, program) = draining_tcp(true, false);
        let listener = Arc::new(handle(&lameduck, program));
        // Its accept loop busy elsewhere: the client waits in the queue.
        let mut client = queued_client(addr).await;
        // Polled only after the refusal (nothing yields before it), so the
        // connection can reach it through the stash alone.
        let waiting = tokio::spawn({
            let listener = listener.clone();
            async move { listener.accept().await }
        });
        lameduck.begin();
        assert_refused(addr);
        let (mut served, peer) = tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("the queued connection yielded")
            .unwrap()
            .unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
        // The grace waits for it.
        assert!(!lameduck.accepted().all_closed());
        ping_pong(&mut served, &mut client).await;
        drop(served);
        assert!(lameduck.accepted().all_closed());
    }

    #[tokio::test]
    async fn a_refusal_hands_over_the_queue_though_another_listener_was_taken_out() {
        // A side listener taken out with `into_inner` (the grace can no
        // longer end early): this one's queue is still the program's.
        let (lameduck, addr, program) = draining_tcp(true, false);
        let listener = handle(&lameduck, program);
        let side = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let _side = handle(&lameduck, OwnedFd::from(side)).into_inner();
        let mut client = queued_client(addr).await;
        lameduck.begin();
        assert_refused(addr);
        served_from_the_queue(&listener, &mut client).await;
    }

    #[tokio::test]
    async fn a_socket_the_program_took_out_with_into_inner_has_nothing_stashed() {
        // Two handles on one socket, one taken out: the program accepts
        // past its handles there, and the other (kept, say, for its
        // address) is not polled: the queue is left to the shut, which
        // resets it, rather than held for no one until the grace ends.
        let (lameduck, addr, program) = draining_tcp(true, false);
        let copy = program.try_clone().unwrap();
        let _kept = handle(&lameduck, program);
        let _served_elsewhere = handle(&lameduck, copy).into_inner();
        let mut client = queued_client(addr).await;
        lameduck.begin();
        assert_refused(addr);
        closed_on(&mut client).await;
    }

    #[tokio::test]
    async fn a_listener_the_program_dropped_has_nothing_stashed_for_the_grace_to_wait_for() {
        let (lameduck, addr, program) = draining_tcp(true, false);
        // Taken, and dropped: its accept loop ended early.
        drop(handle(&lameduck, program));
        let mut client = queued_client(addr).await;
        lameduck.begin();
        assert_refused(addr);
        // Reset by the shut, as nothing would take it: the grace (an
        // hour) has nothing to wait for, and ends.
        assert!(lameduck.accepted().all_closed());
        closed_on(&mut client).await;
        let mut phase = lameduck.phase.subscribe();
        tokio::time::timeout(Duration::from_secs(10), phase.wait_for(|p| p.is_lameduck()))
            .await
            .expect("the grace runs on")
            .unwrap();
    }

    #[tokio::test]
    async fn what_was_stashed_is_closed_once_the_programs_last_handle_drops() {
        let (lameduck, addr, program) = draining_tcp(true, false);
        let program_copy = program.try_clone().unwrap();
        let listener = handle(&lameduck, program);
        let second = handle(&lameduck, program_copy);
        let mut client = queued_client(addr).await;
        lameduck.begin();
        assert!(!lameduck.accepted().all_closed(), "stashed for the handles");
        drop(listener);
        assert!(!lameduck.accepted().all_closed(), "one handle is left");
        drop(second);
        assert!(lameduck.accepted().all_closed());
        closed_on(&mut client).await;
    }

    /// A taken unix listener at `api.sock` in a new folder `dir` of the
    /// temporary folder, its path, and the program's own handle on it, as
    /// `Context::unix` leaves it.
    fn taken_unix(
        dir: &str,
    ) -> (
        super::Listeners,
        std::path::PathBuf,
        std::os::unix::net::UnixListener,
    ) {
        let dir = std::env::temp_dir().join(format!("{dir}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("api.sock");
        let _ = std::fs::remove_file(&path);
        let socket = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let program = socket.try_clone().unwrap();
        program.set_nonblocking(true).unwrap();
        let taken = Listener {
            name: "api".into(),
            network: Network::Unix,
            fd: Some(OwnedFd::from(socket)),
            taken: true,
            managers: false,
            served_beside: false,
            unbound: None,
        };
        (Arc::new(Mutex::new(vec![taken])), path, program)
    }

    #[tokio::test]
    async fn a_refusal_hands_the_program_what_a_unix_listener_had_queued() {
        use tokio::io::AsyncWriteExt;
        let (listeners, path, program) = taken_unix("lb-stash");
        let (lameduck, phase) = Lameduck::new(listeners, HOUR, true, false);
        let listener = crate::UnixListener::new(
            tokio::net::UnixListener::from_std(program).unwrap(),
            phase,
            lameduck.accepted(),
        );
        // Connected and spoken while the program accepts nothing.
        let mut client = tokio::net::UnixStream::connect(&path).await.unwrap();
        client.write_all(b"ping").await.unwrap();
        lameduck.begin();
        let (mut served, _) = tokio::time::timeout(Duration::from_secs(5), listener.accept())
            .await
            .expect("the queued connection yielded")
            .unwrap();
        ping_pong(&mut served, &mut client).await;
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[tokio::test]
    async fn a_refusal_after_a_signal_hands_the_program_what_a_unix_listener_had_queued() {
        // As `a_signal_holds_phase_two_for_the_refusal_that_takes_the_queue`,
        // for a unix listener: a stop's SIGTERM reached the child first
        // (the process group's), its drain did not refuse; the supervisor's
        // refusal, come while the program still accepts, removes the file
        // and takes what was queued meanwhile.
        use tokio::io::AsyncWriteExt;
        let (listeners, path, program) = taken_unix("lb-stash-late");
        // A supervised child's: refusing only when told, keeping copies.
        let (lameduck, phase) = Lameduck::new(listeners, HOUR, false, true);
        let file = crate::own_file::OwnFile::of(&path).unwrap();
        lameduck.socket_files.lock().unwrap().push(file);
        let listener = crate::UnixListener::new(
            tokio::net::UnixListener::from_std(program).unwrap(),
            phase,
            lameduck.accepted(),
        );
        lameduck.begin_on_signal();
        no_phase_two_for_a_while(&lameduck, "before the order");
        let mut client = tokio::net::UnixStream::connect(&path).await.unwrap();
        client.write_all(b"ping").await.unwrap();
        lameduck.begin_refusing();
        lameduck.ordered();
        assert!(!path.exists(), "the refusal removes the file");
        // Taken as it went: no later removal looks at that path again,
        // where a successor's file may have the old one's identity.
        assert!(lameduck.socket_files.lock().unwrap().is_empty());
        let (mut served, _) = tokio::time::timeout(Duration::from_secs(10), listener.accept())
            .await
            .expect("the queued connection yielded at the refusal")
            .unwrap();
        ping_pong(&mut served, &mut client).await;
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[tokio::test]
    async fn what_the_program_never_took_is_closed_at_lameduck() {
        let (taken, addr) = tcp(true);
        let program = std::net::TcpListener::from(taken.fd.as_ref().unwrap().try_clone().unwrap());
        // As `Context::tcp` leaves it.
        program.set_nonblocking(true).unwrap();
        let listeners = Arc::new(Mutex::new(vec![taken]));
        let grace = Duration::from_millis(100);
        let (lameduck, phase) = Lameduck::new(listeners, grace, true, false);
        let mut client = queued_client(addr).await;
        lameduck.begin();
        // Stashed, and held through the grace for a taker that never comes.
        assert!(!lameduck.accepted().all_closed());
        closed_on(&mut client).await;
        assert!(phase.borrow().is_lameduck());
        assert!(lameduck.accepted().all_closed());
    }

    #[tokio::test]
    async fn an_ordered_refusal_after_draining_began_serves_the_queue() {
        // A supervised child drained on its own SIGTERM (systemd's default
        // `KillMode` signals the whole group); then the supervisor's order
        // to refuse, which comes only when no child serves: what queued
        // meanwhile is this child's to serve, not the shut's to reset.
        let (lameduck, addr, program) = draining_tcp(false, true);
        let listener = handle(&lameduck, program);
        // One accepted while serving, open: the grace runs on.
        let _first_client = queued_client(addr).await;
        let (first, _) = listener.accept().await.unwrap();
        lameduck.begin();
        let mut client = queued_client(addr).await;
        lameduck.begin_refusing();
        assert_refused(addr);
        let (mut served, _) = tokio::time::timeout(Duration::from_secs(10), listener.accept())
            .await
            .expect("the queued client yielded")
            .unwrap();
        ping_pong(&mut served, &mut client).await;
        drop((first, served));
        assert!(lameduck.accepted().all_closed());
    }

    #[tokio::test]
    async fn an_orphaned_refusal_after_draining_began_takes_nothing_off_the_queue() {
        // A supervised child drained (a reload); then the supervisor died:
        // the queue is the next child's, and this program accepts no more.
        let (lameduck, addr, program) = draining_tcp(false, true);
        let listener = handle(&lameduck, program);
        lameduck.begin();
        let mut client = queued_client(addr).await;
        lameduck.begin_refusing_orphaned();
        eventually_refused(addr);
        // Reset with the queue (a moment later, for a sibling's stash).
        closed_on(&mut client).await;
        let accepted = tokio::time::timeout(Duration::from_millis(100), listener.accept()).await;
        assert!(accepted.is_err(), "yielded after draining: {accepted:?}");
        assert!(lameduck.accepted().all_closed());
    }

    #[tokio::test]
    async fn an_orphan_beside_a_serving_child_takes_only_the_queues_it_alone_holds() {
        // A reload's new child, not ready yet, orphaned: it leaves the
        // socket the serving child holds too (`served_beside`) listening
        // for that one to take its queue, and takes the queue of the one
        // the reload added, for its program.
        let (mut shared, shared_addr) = tcp(true);
        shared.served_beside = true;
        let (added, added_addr) = tcp(true);
        let program = added.fd.as_ref().unwrap().try_clone().unwrap();
        let shared_program = shared.fd.as_ref().unwrap().try_clone().unwrap();
        let listeners = Arc::new(Mutex::new(vec![shared, added]));
        let (mut lameduck, _) = Lameduck::new(listeners, HOUR, false, true);
        Arc::get_mut(&mut lameduck).expect("one owner").sibling_wait = HOUR;
        let listener = handle(&lameduck, program);
        let mut on_added = queued_client(added_addr).await;
        let _on_shared = queued_client(shared_addr).await;
        lameduck.begin_refusing_orphaned_beside();
        assert_refused(added_addr);
        // The shared queue untouched: its client is still there for the
        // sibling to take, and the socket listens on for it.
        let sibling = std::net::TcpListener::from(shared_program);
        sibling.set_nonblocking(true).unwrap();
        sibling
            .accept()
            .expect("the shared queue left to the sibling");
        drop(std::net::TcpStream::connect(shared_addr).expect("left listening for the sibling"));
        let (mut served, _) = tokio::time::timeout(Duration::from_secs(10), listener.accept())
            .await
            .expect("the added listener's queued client yielded")
            .unwrap();
        let exchanged = ping_pong(&mut served, &mut on_added);
        tokio::time::timeout(Duration::from_secs(10), exchanged)
            .await
            .expect("the added listener's client served");
    }

    #[test]
    fn the_service_managers_sockets_are_never_shut_and_ours_beside_them_are() {
        let (mut managers, managers_addr) = tcp(true);
        managers.managers = true;
        let (mut untaken, untaken_addr) = tcp(false);
        untaken.managers = true;
        let (ours, our_addr) = tcp(true);
        let _program = managers.fd.as_ref().unwrap().try_clone().unwrap();
        let _also = ours.fd.as_ref().unwrap().try_clone().unwrap();
        let listeners = Arc::new(Mutex::new(vec![managers, untaken, ours]));
        let (lameduck, _) = Lameduck::new(listeners, HOUR, true, false);
        lameduck.begin();
        assert_refused(our_addr);
        drop(std::net::TcpStream::connect(managers_addr).expect("the manager's queues on"));
        drop(std::net::TcpStream::connect(untaken_addr).expect("the manager's queues on"));

        // A supervised child: a drain keeps copies for a later refusal
        // (an orphan's), and that refusal spares the manager's too.
        let (mut managers, managers_addr) = tcp(true);
        managers.managers = true;
        let (ours, our_addr) = tcp(true);
        let _program = managers.fd.as_ref().unwrap().try_clone().unwrap();
        let _also = ours.fd.as_ref().unwrap().try_clone().unwrap();
        let listeners = Arc::new(Mutex::new(vec![managers, ours]));
        let (lameduck, _) = Lameduck::new(listeners, HOUR, false, true);
        lameduck.begin();
        drop(std::net::TcpStream::connect(our_addr).expect("queued while draining"));
        lameduck.begin_refusing();
        eventually_refused(our_addr);
        drop(std::net::TcpStream::connect(managers_addr).expect("the manager's queues on"));
    }
}
