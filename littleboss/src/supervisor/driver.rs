//! Carries out what the machine decides: spawns and signals children,
//! answers control clients, tells systemd, logs, and feeds back what
//! happened, with the time. It decides nothing itself.

use std::collections::{HashMap, VecDeque};
use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::machine::{
    BindOrder, ChildId, ClientId, Effect, Event, Launch, ListenerKey, Machine, Notice,
};
use super::spawn::{ChildHandle, Spawn, spawn};
use crate::control::protocol::Response;
use crate::control::server::ControlRequest;
use crate::link::ListenerEntry;
use crate::listener::Bound;
use crate::log::log;
use crate::notify::Notifier;
use crate::spec::{ListenerSpec, Network};

type Reply = mpsc::UnboundedSender<Response>;

/// How long the last replies may take to reach their clients at exit.
const LAST_WORDS: Duration = Duration::from_secs(1);

/// A listening socket the supervisor holds.
#[derive(Debug)]
pub(crate) struct Socket {
    /// Shared with the watchers of children being started, until each has
    /// passed it on.
    fd: Arc<OwnedFd>,
    /// A unix socket's path, when it was bound here: ours to remove.
    unix_path: Option<String>,
}

impl Socket {
    pub fn new(fd: OwnedFd, unix_path: Option<String>) -> Socket {
        Socket {
            fd: Arc::new(fd),
            unix_path,
        }
    }

    fn close(self) {
        if let Some(path) = self.unix_path {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// What the driver holds for the machine: the real things its ids name.
#[derive(Debug)]
struct Io {
    sockets: HashMap<ListenerKey, Socket>,
    name: String,
    notifier: Option<Arc<Notifier>>,
    events: mpsc::UnboundedSender<Event>,
    children: HashMap<ChildId, ChildHandle>,
    clients: HashMap<ClientId, Reply>,
    /// Where the binds done off the loop report.
    binds: mpsc::UnboundedSender<BindDone>,
    next_client: ClientId,
    /// Clients given their final answer in this round: at exit, their
    /// connections get a moment to write it.
    answered: Vec<Reply>,
}

/// Starts the first child and drives the machine until it exits; returns
/// the exit code.
pub(crate) async fn run(
    mut machine: Machine,
    sockets: HashMap<ListenerKey, Socket>,
    notifier: Option<Arc<Notifier>>,
    events_tx: mpsc::UnboundedSender<Event>,
    mut events: mpsc::UnboundedReceiver<Event>,
    mut control: mpsc::UnboundedReceiver<ControlRequest>,
) -> i32 {
    let origin = Instant::now();
    let now = || origin.elapsed();
    let (binds_tx, mut binds) = mpsc::unbounded_channel();
    let mut io = Io {
        sockets,
        name: machine.state().settings.name.clone(),
        notifier,
        events: events_tx,
        children: HashMap::new(),
        clients: HashMap::new(),
        binds: binds_tx,
        next_client: 0,
        answered: Vec::new(),
    };
    let mut effects = machine.start(now());
    loop {
        io.answered.clear();
        let mut queue = VecDeque::from(effects);
        while let Some(effect) = queue.pop_front() {
            if let Effect::Exit { code } = effect {
                io.last_words().await;
                for (_, socket) in io.sockets.drain() {
                    socket.close();
                }
                return code;
            }
            if let Some(feedback) = io.perform(effect) {
                queue.extend(machine.handle(feedback, now()));
            }
        }
        let deadline = machine.next_deadline().map(|d| origin + d);
        let event = tokio::select! {
            Some(event) = events.recv() => event,
            Some(ControlRequest { request, reply }) = control.recv() => {
                Event::Control { client: io.client(reply), request }
            }
            Some(done) = binds.recv() => io.bound(done),
            () = sleep_until(deadline) => Event::Tick,
        };
        if let Event::Exited { id, .. } = &event {
            io.children.remove(id);
        }
        effects = machine.handle(event, now());
    }
}

impl Io {
    fn client(&mut self, reply: Reply) -> ClientId {
        self.next_client += 1;
        self.clients.insert(self.next_client, reply);
        self.next_client
    }

    /// Does one effect; a spawn's outcome comes back at once, to be handled
    /// before anything else.
    fn perform(&mut self, effect: Effect) -> Option<Event> {
        match effect {
            Effect::Bind { id, orders } => {
                // Off the loop: a host name in an address means a DNS
                // lookup, which must not stall control requests, deadlines
                // and the watchdog.
                let binds = self.binds.clone();
                tokio::task::spawn_blocking(move || {
                    let _ = binds.send(BindDone {
                        id,
                        result: bind_all_or_none(orders),
                    });
                });
            }
            Effect::Close { key } => {
                if let Some(socket) = self.sockets.remove(&key) {
                    socket.close();
                }
            }
            Effect::Spawn { id, launch } => {
                let spawn_order = self.spawn_order(id, &launch);
                return Some(match spawn(spawn_order, self.events.clone()) {
                    Ok(child) => {
                        let pid = child.pid;
                        self.children.insert(id, child);
                        Event::Spawned { id, pid }
                    }
                    Err(e) => Event::SpawnFailed {
                        id,
                        error: e.to_string(),
                    },
                });
            }
            Effect::Lameduck { id } => {
                if let Some(child) = self.children.get(&id) {
                    child.lameduck();
                }
            }
            Effect::Kill { id } => {
                if let Some(child) = self.children.get(&id) {
                    child.kill();
                }
            }
            Effect::Reply { client, response } => {
                let finished = response.is_final();
                if let Some(reply) = self.clients.get(&client) {
                    // A client that went away misses its answer; nothing else.
                    let _ = reply.send(response);
                }
                if finished && let Some(reply) = self.clients.remove(&client) {
                    self.answered.push(reply);
                }
            }
            Effect::Notify(notice) => {
                if let Some(notifier) = &self.notifier {
                    match notice {
                        Notice::Ready => notifier.ready(),
                        Notice::Reloading => notifier.reloading(),
                        Notice::Stopping => notifier.stopping(),
                        Notice::Status(line) => notifier.status(&line),
                    }
                }
            }
            Effect::Log(line) => log!("{line}"),
            Effect::ReapOrphans => {
                let children = &self.children;
                super::orphans::reap(|pid| children.values().any(|c| c.pid == pid));
            }
            Effect::Exit { .. } => unreachable!("the loop handles exit"),
        }
        None
    }

    /// Takes the sockets a bind off the loop made, and tells the machine.
    fn bound(&mut self, done: BindDone) -> Event {
        let id = done.id;
        match done.result {
            Err(error) => Event::BindFailed { id, error },
            Ok(sockets) => {
                let mut bound = Vec::new();
                for (key, socket) in sockets {
                    let unix_path = (key.network == Network::Unix).then(|| socket.address.clone());
                    bound.push((key.clone(), socket.address));
                    self.sockets.insert(key, Socket::new(socket.fd, unix_path));
                }
                Event::Bound { id, bound }
            }
        }
    }

    /// The child's hello: each declared listener, and the fds of those on.
    fn spawn_order<'a>(&self, id: ChildId, launch: &'a Launch) -> Spawn<'a> {
        let mut entries = Vec::new();
        let mut fds = Vec::new();
        for assigned in &launch.listeners {
            let socket = assigned.key.as_ref().and_then(|k| self.sockets.get(k));
            entries.push(ListenerEntry {
                name: assigned.name.clone(),
                network: assigned.network,
                bound: socket.is_some(),
            });
            fds.extend(socket.map(|s| s.fd.clone()));
        }
        Spawn {
            id,
            path: &launch.target.path,
            argv0: &launch.target.argv0,
            args: &launch.args,
            name: self.name.clone(),
            entries,
            fds,
        }
    }

    /// Gives the clients answered last (`stop` waiters) a moment to read
    /// their answer before the process exits.
    async fn last_words(&mut self) {
        let answered = std::mem::take(&mut self.answered);
        let written = async {
            for reply in &answered {
                reply.closed().await;
            }
        };
        let _ = tokio::time::timeout(LAST_WORDS, written).await;
    }
}

/// The outcome of a bind done off the loop.
#[derive(Debug)]
struct BindDone {
    id: ChildId,
    result: Result<Vec<(ListenerKey, Bound)>, String>,
}

/// Binds every listener of `orders`, or none: at the first failure, those
/// bound before it are closed (and their unix socket files removed).
fn bind_all_or_none(orders: Vec<BindOrder>) -> Result<Vec<(ListenerKey, Bound)>, String> {
    let mut bound = Vec::new();
    for BindOrder { key, name } in orders {
        let spec = ListenerSpec {
            name,
            network: key.network,
            address: Some(key.bind_address().to_owned()),
        };
        match crate::listener::bind(&spec) {
            Ok(Some(socket)) => bound.push((key, socket)),
            Ok(None) => {}
            Err(error) => {
                for (key, socket) in bound {
                    if key.network == Network::Unix {
                        let _ = std::fs::remove_file(&socket.address);
                    }
                }
                return Err(error.to_string());
            }
        }
    }
    Ok(bound)
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
