//! Runs one of the example servers supervised and reloads it under a
//! [`traffic`](crate::traffic) load: the drain benchmark's row
//! (`src/bin/drain_bench.rs`) and, short, the CI check
//! (`tests/drain_under_reloads.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::load::Outcome;
use crate::traffic::{Sample, Shape, Traffic};

/// How long to wait for a server to start, or its old children to exit.
const DEADLINE: Duration = Duration::from_secs(60);

/// A supervised server: `BIN -littleboss=start -LISTENER=127.0.0.1:0`.
#[derive(Debug)]
pub struct Server {
    process: Child,
    bin: PathBuf,
    dir: PathBuf,
    /// Its address, printed by the child as `serving http://ADDR/`.
    pub addr: SocketAddr,
    /// Every stderr line (the supervisor's and the children's), with when
    /// it was read, from `epoch`.
    log: Arc<Mutex<Vec<(Duration, String)>>>,
    /// Told to stop: dropping it waits for its exit rather than killing.
    stopping: bool,
}

impl Server {
    /// Starts `bin` supervised, its listener `listener` on a free port, and
    /// waits for its first child to be ready.
    pub fn start(bin: &Path, listener: &str, epoch: Instant) -> Server {
        // Servers started by parallel tests in one process each get their
        // own folder: one's stop must not remove another's control socket.
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "littleboss-drain-{}-{}",
            std::process::id(),
            STARTED.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let mut process = Command::new(bin)
            .arg("-littleboss=start")
            .arg(format!("-{listener}=127.0.0.1:0"))
            .env("LITTLEBOSS_DIR", &dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", bin.display()));
        let log = capture_stderr(&mut process, epoch);
        let mut server = Server {
            process,
            bin: bin.to_owned(),
            dir,
            addr: "0.0.0.0:0".parse().unwrap(),
            log,
            stopping: false,
        };
        let line = server.wait_line(|l| l.contains("serving http://"));
        let rest = &line[line.find("serving http://").unwrap() + 15..];
        server.addr = rest[..rest.find('/').unwrap()].parse().expect("an address");
        server.wait_line(|l| l.starts_with("littleboss: child pid ") && l.ends_with(" is ready"));
        server
    }

    fn wait_line(&self, want: impl Fn(&str) -> bool) -> String {
        let what = format!("{} to start", self.bin.display());
        wait_line(&self.log, &what, want)
    }

    /// Runs `BIN -littleboss=MODE` against this server.
    pub fn control(&self, mode: &str) -> Output {
        use tests::OutputInTime;
        Command::new(&self.bin)
            .arg(format!("-littleboss={mode}"))
            .env("LITTLEBOSS_DIR", &self.dir)
            .control_output_in_time()
    }

    /// For each old child: from the supervisor's telling it to wind down
    /// to its exit, in ms; how many were killed at the lameduck timeout;
    /// and how many ended otherwise than with code 0 and were not (a
    /// crash, a panic: a drain that looks short for the wrong reason).
    /// Waits (up to a deadline) until the supervisor has one child left,
    /// the one serving ([`Drains::settled`]: whether it came to that).
    pub fn drains(&self) -> Drains {
        let settled = self.wait_one_child();
        // The supervisor logs an exit once it has reaped the child; a line
        // a child's output cut in two never comes, hence the short limit.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let (told, exited) = self.told_and_exited();
            if told.is_subset(&exited) || Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Drains {
            settled,
            ..drains_of(&self.log.lock().unwrap())
        }
    }

    /// The pids told to wind down, and those logged as exited, so far.
    fn told_and_exited(&self) -> (BTreeSet<u32>, BTreeSet<u32>) {
        let log = self.log.lock().unwrap();
        let mut told = BTreeSet::new();
        let mut exited = BTreeSet::new();
        for (_, line) in log.iter() {
            told.extend(told_to_wind_down(line));
            exited.extend(old_child_exit(line).map(|(pid, _)| pid));
        }
        (told, exited)
    }

    /// Whether the supervisor said it dropped log lines, its stderr full
    /// (its queued writer's words; a child writes its own lines itself).
    fn said_log_lines_dropped(&self) -> bool {
        let log = self.log.lock().unwrap();
        log.iter()
            .any(|(_, line)| line.contains(" log line(s) dropped"))
    }

    /// Whether an old child still runs beside the serving one (zombies
    /// not counted: their drains are over).
    pub fn old_children_run(&self) -> bool {
        tests::procfs::children(self.process.id()).0 > 1
    }

    /// Waits (up to a deadline) until the supervisor has one child left,
    /// the one serving, and no zombie; whether it came to that.
    pub fn wait_one_child(&self) -> bool {
        one_child_left(self.process.id(), DEADLINE)
    }

    /// Stops the supervisor (killing it if it has not exited by the
    /// deadline) and removes its control folder.
    pub fn stop(mut self) {
        self.stopping = true;
        let out = self.control("stop");
        if !out.status.success() {
            eprintln!(
                "stop failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        // Dropped: waits for the exit, or kills at the deadline.
    }
}

/// A server dropped without [`Server::stop`] (its test panicked), or that
/// a stop did not end by the deadline, is killed rather than left
/// serving; its folder goes either way.
impl Drop for Server {
    fn drop(&mut self) {
        end_server(&mut self.process, self.stopping, DEADLINE, &self.dir);
    }
}

/// Ends a server process: one told to stop (`stopping`) is waited for up
/// to `deadline`, then killed; any other is killed at once. Its control
/// folder `dir` goes either way. Whether it had to be killed after a stop.
pub fn end_server(
    process: &mut std::process::Child,
    stopping: bool,
    deadline: Duration,
    dir: &std::path::Path,
) -> bool {
    let until = Instant::now() + deadline;
    let mut killed_after_stop = false;
    while matches!(process.try_wait(), Ok(None)) {
        if !stopping || Instant::now() >= until {
            killed_after_stop = stopping;
            let _ = process.kill();
            let _ = process.wait();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = std::fs::remove_dir_all(dir);
    killed_after_stop
}

/// One row's plan.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub shape: Shape,
    pub clients: usize,
    /// Load without reloads first, and as long again once the last old
    /// child has exited, for the steady-state latency: taken on both sides
    /// of the reloads, a row's drift over its seconds or minutes falls on both
    /// sides of its ratios.
    pub steady: Duration,
    pub reloads: usize,
    /// Pause after each reload's command returns.
    pub interval: Duration,
    /// Reloads after those, once their old children have exited, at
    /// another pace (none: 0), so that one run measures latency both
    /// while reloads come back to back and at a calmer pace.
    pub paced_reloads: usize,
    /// The pause after each of those.
    pub paced_interval: Duration,
    /// A control run: the same phases, pauses and load, but no reload is
    /// made, so that what the windows measure without reloads shows.
    pub without_reloads: bool,
    pub timeout: Duration,
    /// Open loop at this many requests per second in all (see
    /// [`Traffic::rate`]); `None`: closed loop.
    pub rate: Option<f64>,
}

/// What a row measured.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Row {
    pub requests: usize,
    /// Failed requests by class, over the whole row.
    pub failed: BTreeMap<&'static str, usize>,
    /// Of those, failed on a kept-alive connection that had already carried
    /// a response (the HTTP/1 close race, when the server gave no
    /// `Connection: close`).
    pub failed_reused: usize,
    pub reloads_failed: usize,
    /// p50, p99, p99.9, max in ms: steady state, during the reloads, and
    /// during the paced reloads (not a number for a window no request was
    /// due in: without paced reloads, say).
    pub steady_ms: [f64; 4],
    pub reload_ms: [f64; 4],
    pub paced_ms: [f64; 4],
    /// Of the requests during the reloads, and during the paced ones: how
    /// many were in flight while a `reload` command or an old child's
    /// drain ran, and their p50, p99, p99.9 and max in ms. The windows
    /// above also hold the load between reloads (most of a second at the
    /// paced reloads' pace), which dilutes what a reload costs; these do
    /// not.
    pub reload_touched: (usize, [f64; 4]),
    /// How many requests were due during the reloads (the window
    /// `reload_ms` is read over): of which `reload_touched.0` touched.
    pub reload_requests: usize,
    pub paced_touched: (usize, [f64; 4]),
    /// Old child drain time (told to wind down → exited), median and max, ms.
    pub drain_ms: [f64; 2],
    /// How many old children's drains were timed (their two log lines
    /// found intact: children's lines can interleave with the supervisor's).
    pub drains_timed: usize,
    /// Old children killed at the lameduck timeout.
    pub killed: usize,
    /// Old children that ended otherwise than with code 0, not killed at
    /// the lameduck timeout (see [`Server::drains`]).
    pub abnormal: usize,
    /// Other children lost: a serving child that died, a new child that
    /// died before it was ready, a reload rolled back (see
    /// [`Drains::lost`]). A crash there fails requests that would
    /// otherwise read as the drain's.
    pub lost: usize,
    /// Distinct processes that answered.
    pub pids: usize,
    /// Whether the supervisor was down to one child (the serving one) and
    /// no zombie before the load stopped and after the row, every old
    /// child reaped, and before its paced reloads too; and the supervisor
    /// dropped no log line (the drains and the children lost are read off
    /// its lines).
    pub settled: bool,
    /// Reloads made while an old child still ran: how many came back to
    /// back with a drain not yet over.
    pub reloads_during_a_drain: usize,
    /// How long the load ran, in seconds.
    pub seconds: f64,
}

/// The old child a line tells to wind down: "littleboss: reload: child
/// pid N is serving; pid OLD is winding down".
fn told_to_wind_down(line: &str) -> Option<u32> {
    let rest = line.split("; pid ").nth(1)?;
    rest.strip_suffix(" is winding down")?.parse().ok()
}

/// The old child whose end a line tells, and how it ended: "littleboss:
/// old child pid OLD exited with code 0", or "... was killed by SIGKILL".
fn old_child_exit(line: &str) -> Option<(u32, &str)> {
    // Anywhere in the line: a child's line cut short may come before.
    let (_, rest) = line.rsplit_once("littleboss: old child pid ")?;
    let (pid, exit) = rest.split_once(' ')?;
    Some((pid.parse().ok()?, exit))
}

/// [`Server::drains`] as the supervisor's `log` (each line with when it
/// came) tells it.
fn drains_of(log: &[(Duration, String)]) -> Drains {
    let mut told: BTreeMap<u32, Duration> = BTreeMap::new();
    let mut drains = Drains::default();
    let mut killed = BTreeSet::new();
    for (at, line) in log.iter() {
        if let Some(pid) = told_to_wind_down(line) {
            told.insert(pid, *at);
        }
        drains.lost += usize::from(other_child_lost(line));
        if let Some((pid, exit)) = old_child_exit(line)
            && let Some(began) = told.get(&pid)
        {
            drains.ms.push((*at - *began).as_secs_f64() * 1e3);
            drains.spans.push((*began, *at));
            if exit != "exited with code 0" && !killed.contains(&pid) {
                drains.abnormal += 1;
            }
        }
        // "littleboss: child pid OLD is still running after its
        // lameduck timeout; killing it"
        // Anywhere in the line: a child's line cut short may come before.
        if let Some((_, rest)) = line.rsplit_once("littleboss: child pid ")
            && let Some((pid, _)) = rest.split_once(' ')
            && line.ends_with("after its lameduck timeout; killing it")
            && let Ok(pid) = pid.parse::<u32>()
        {
            killed.insert(pid);
        }
    }
    drains.killed = killed.len();
    drains
}

/// Whether a line tells of a child lost other than as an old child
/// draining: "littleboss: child pid N exited with code 3" (the serving
/// child; a rollback's line follows when it was on probation, and is
/// not counted again) or "littleboss: new child pid N (PATH) ... before
/// it was ready". Anywhere in the line, as a child's line cut short may
/// come before.
fn other_child_lost(line: &str) -> bool {
    let Some((_, said)) = line.rsplit_once("littleboss: ") else {
        return false;
    };
    let serving_died = said
        .strip_prefix("child pid ")
        .and_then(|rest| rest.split_once(' '))
        .is_some_and(|(pid, exit)| {
            pid.parse::<u32>().is_ok()
                && (exit.starts_with("exited with code ") || exit.starts_with("was killed by "))
        });
    serving_died || said.starts_with("new child pid ")
}

/// What the old children's drains came to (see [`Server::drains`]).
#[derive(Debug, Default)]
pub struct Drains {
    /// Each timed drain, in ms.
    pub ms: Vec<f64>,
    /// Each timed drain, from the start of the run: from when the
    /// supervisor's line telling the old child to wind down was read to
    /// when the one saying it exited was.
    pub spans: Vec<(Duration, Duration)>,
    /// Killed at the lameduck timeout.
    pub killed: usize,
    /// Ended otherwise than with code 0, and not killed so.
    pub abnormal: usize,
    /// Other children lost (see [`Row::lost`]).
    pub lost: usize,
    /// Whether the supervisor came down to one child within the deadline
    /// while the load was still on: if not, the load stopped while old
    /// children still drained, and what failed after went uncounted.
    pub settled: bool,
}

impl Row {
    /// Failed requests in all.
    pub fn failed_total(&self) -> usize {
        self.failed.values().sum()
    }
}

/// Waits, up to `within`, until supervisor `pid` has one child left (the
/// one serving) and no zombie; whether it came to that.
pub fn one_child_left(pid: u32, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if tests::procfs::children(pid) == (1, 0) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs the plan against a started server: the load, a steady phase, the
/// reloads (and the paced ones), the load still on until every old child
/// has exited, and a steady phase again (see `Phases`).
pub async fn run(server: Arc<Server>, plan: Plan, epoch: Instant) -> Row {
    let load_began = Instant::now();
    let running = Traffic {
        addr: server.addr,
        shape: plan.shape,
        clients: plan.clients,
        timeout: plan.timeout,
        rate: plan.rate,
    }
    .start(epoch);
    tokio::time::sleep(plan.steady).await;
    let reloads_began = epoch.elapsed();
    let reload = |count, interval| reload(&server, count, interval, !plan.without_reloads, epoch);
    let (mut reloads_failed, mut reloads_during_a_drain, mut commands) =
        reload(plan.reloads, plan.interval).await;
    // A slow client connected to an old child just before it went sends
    // its first byte, when its request is due, up to its silence later:
    // that request is the reloads', so the next phase begins after it.
    let silence = match plan.shape {
        Shape::SlowFirstByte => crate::traffic::LONGEST_SILENCE,
        _ => Duration::ZERO,
    };
    let mut paced_began = None;
    // Whether the old children had exited before the paced reloads, as
    // the table's heading says they had: a row where they had not does
    // not count as settled.
    let mut settled_before_paced = true;
    if plan.paced_reloads > 0 {
        let s = server.clone();
        settled_before_paced = tokio::task::spawn_blocking(move || s.wait_one_child())
            .await
            .expect("old children gone");
        if !settled_before_paced {
            eprintln!("old children still running before the paced reloads");
        }
        tokio::time::sleep(silence).await;
        paced_began = Some(epoch.elapsed());
        let (failed, during_a_drain, paced_commands) =
            reload(plan.paced_reloads, plan.paced_interval).await;
        reloads_failed += failed;
        reloads_during_a_drain += during_a_drain;
        commands.extend(paced_commands);
    }
    // The load goes on until every old child has exited: what they do at
    // the end of their drain (closing idle connections) counts.
    let s = server.clone();
    let drains = tokio::task::spawn_blocking(move || s.drains())
        .await
        .expect("drains");
    // After the slow clients' longest silence: a request begun before is
    // the reloads'.
    let after_began = epoch.elapsed() + silence;
    tokio::time::sleep(silence + plan.steady).await;
    let samples = running.stop().await;
    let seconds = load_began.elapsed().as_secs_f64();
    let s = server.clone();
    let settled = tokio::task::spawn_blocking(move || s.wait_one_child())
        .await
        .expect("children counted");
    // Read once every child is gone: the count of lines dropped is said
    // after those still queued.
    let log_lines_dropped = server.said_log_lines_dropped();
    if log_lines_dropped {
        eprintln!("the supervisor dropped log lines: drains and children lost may be undercounted");
    }

    let mut row = Row {
        requests: samples.len(),
        reloads_failed,
        killed: drains.killed,
        abnormal: drains.abnormal,
        lost: drains.lost,
        settled: drains.settled && settled && settled_before_paced && !log_lines_dropped,
        reloads_during_a_drain,
        seconds,
        ..Row::default()
    };
    let mut pids = std::collections::BTreeSet::new();
    for s in &samples {
        match s.outcome {
            Outcome::Ok { pid } => {
                pids.insert(pid);
            }
            other => {
                let class = other.failure().expect("a failure");
                *row.failed.entry(class).or_default() += 1;
                row.failed_reused += usize::from(s.reused);
            }
        }
    }
    row.pids = pids.len();
    let phases = Phases {
        steady: plan.steady,
        reloads_began,
        paced_began,
        after_began,
    };
    let of = |phase| samples.iter().filter(move |s| phases.of(s) == Some(phase));
    row.steady_ms = percentiles(of(Phase::Steady));
    row.reload_ms = percentiles(of(Phase::Reloads));
    row.paced_ms = percentiles(of(Phase::Paced));
    // A slow client's request from its first byte, as its latency is.
    let busy = crate::spans::Spans::of(commands.into_iter().chain(drains.spans));
    let touched = |phase| {
        let touched: Vec<&Sample> = of(phase).filter(|s| busy.touch(s.due, s.at)).collect();
        (touched.len(), percentiles(touched.into_iter()))
    };
    row.reload_touched = touched(Phase::Reloads);
    row.reload_requests = of(Phase::Reloads).count();
    row.paced_touched = touched(Phase::Paced);
    let drains = drains.ms;
    row.drains_timed = drains.len();
    if !drains.is_empty() {
        let max = drains.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        row.drain_ms = [crate::median(&drains), max];
    }
    row
}

/// The phase of a row a request counts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Steady,
    Reloads,
    Paced,
}

/// Where a row's phases begin, from the start of the run: the steady
/// load before the reloads (`steady` long) and as long again after them,
/// once the last old child has exited and a slow client connected to it
/// has had its silence (`after_began`).
#[derive(Debug, Clone, Copy)]
struct Phases {
    steady: Duration,
    reloads_began: Duration,
    /// `None`: no paced reloads.
    paced_began: Option<Duration>,
    after_began: Duration,
}

impl Phases {
    /// The phase `sample` counts in, by when it was due: one timed out at
    /// the end of a phase is that phase's. `None`: the first fifth of the
    /// steady phase before the reloads (the load connecting and the child
    /// warming up), which is neither, or, with no steady phase, anything
    /// outside the reloads; the first fifth of the one after them (the
    /// load settling on the last new child) is the reloads' (or the paced
    /// reloads').
    fn of(&self, sample: &Sample) -> Option<Phase> {
        if self.steady.is_zero() && sample.due >= self.after_began {
            return None;
        }
        let warmed = self.reloads_began.saturating_sub(self.steady * 4 / 5);
        let settled_again = self.after_began + self.steady / 5;
        // Without paced reloads, the reloads' window runs on to the
        // steady phase after them, the last drains included.
        let paced_began = self.paced_began.unwrap_or(settled_again);
        Some(match sample.due {
            due if due < warmed => return None,
            // Held up by the first reload, in flight as it began: the
            // reloads'.
            due if due < self.reloads_began && sample.at <= self.reloads_began => Phase::Steady,
            due if due < paced_began => Phase::Reloads,
            due if due < settled_again => Phase::Paced,
            _ => Phase::Steady,
        })
    }
}

/// Reloads `server` `count` times (or, unless `really`, only pauses as
/// often), pausing `interval` after each; how many failed, how many were
/// made while an old child still ran, and when each command ran (from
/// `epoch`).
async fn reload(
    server: &Arc<Server>,
    count: usize,
    interval: Duration,
    really: bool,
    epoch: Instant,
) -> (usize, usize, Vec<(Duration, Duration)>) {
    let s = server.clone();
    tokio::task::spawn_blocking(move || {
        let (mut failed, mut during_a_drain, mut commands) = (0, 0, Vec::new());
        for _ in 0..count {
            if !really {
                std::thread::sleep(interval);
                continue;
            }
            during_a_drain += usize::from(s.old_children_run());
            let began = epoch.elapsed();
            let out = s.control("reload");
            commands.push((began, epoch.elapsed()));
            if !out.status.success() {
                eprintln!(
                    "reload failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                );
                failed += 1;
            }
            std::thread::sleep(interval);
        }
        (failed, during_a_drain, commands)
    })
    .await
    .expect("reloads")
}

/// p50, p99, p99.9 and max latency in ms, a failed request counting as
/// slower than any answered one (infinite): a percentile that lands on
/// one says so rather than describing the survivors only. None at all
/// (a window no request was due in): not a number, printed as `-`.
fn percentiles<'a>(samples: impl Iterator<Item = &'a Sample>) -> [f64; 4] {
    let mut ms: Vec<f64> = samples
        .map(|s| match s.outcome.failure() {
            None => s.latency.as_secs_f64() * 1e3,
            Some(_) => f64::INFINITY,
        })
        .collect();
    if ms.is_empty() {
        return [f64::NAN; 4];
    }
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    [at(0.5), at(0.99), at(0.999), ms[ms.len() - 1]]
}

/// The listener each example server declares.
pub fn listener_of(server: &str) -> &'static str {
    match server {
        "readme" | "axum_serve" => "https",
        _ => "http",
    }
}

/// A server's stderr, line by line, each with when it was read (from
/// `epoch`), gathered by a thread of its own.
pub fn capture_stderr(process: &mut Child, epoch: Instant) -> Arc<Mutex<Vec<(Duration, String)>>> {
    let log = Arc::new(Mutex::new(Vec::new()));
    let lines = log.clone();
    let stderr = process.stderr.take().expect("stderr piped");
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            lines.lock().unwrap().push((epoch.elapsed(), line));
        }
    });
    log
}

/// The first line of a captured log that `want` accepts, waiting for it
/// up to the deadline (`what` says what was awaited when it passes).
pub fn wait_line(
    log: &Mutex<Vec<(Duration, String)>>,
    what: &str,
    want: impl Fn(&str) -> bool,
) -> String {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some((_, line)) = log.lock().unwrap().iter().find(|(_, l)| want(l)) {
            return line.clone();
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

// Neither test module is `tests`: that name is the test-support crate's,
// used above.
#[cfg(test)]
mod phases {
    use super::{Phase, Phases};
    use crate::load::Outcome;
    use crate::traffic::Sample;
    use std::time::Duration;

    fn due(due_ms: u64, at_ms: u64) -> Sample {
        Sample {
            at: Duration::from_millis(at_ms),
            due: Duration::from_millis(due_ms),
            latency: Duration::from_millis(at_ms - due_ms),
            outcome: Outcome::Ok { pid: 1 },
            reused: false,
        }
    }

    #[test]
    fn each_request_counts_in_the_phase_it_was_due_in() {
        let ms = Duration::from_millis;
        // Steady 0 to 1000 ms (its first fifth left out), reloads from
        // 1000, the last old child gone at 5000, steady again to 6000 (its
        // first fifth the reloads').
        let mut phases = Phases {
            steady: ms(1000),
            reloads_began: ms(1000),
            paced_began: None,
            after_began: ms(5000),
        };
        let of = |phases: &Phases, d, a| phases.of(&due(d, a));
        assert_eq!(of(&phases, 100, 101), None);
        assert_eq!(of(&phases, 200, 201), Some(Phase::Steady));
        assert_eq!(of(&phases, 990, 999), Some(Phase::Steady));
        assert_eq!(
            of(&phases, 990, 1000),
            Some(Phase::Steady),
            "ended as they began"
        );
        assert_eq!(of(&phases, 990, 1005), Some(Phase::Reloads), "held up");
        assert_eq!(of(&phases, 1000, 1001), Some(Phase::Reloads));
        assert_eq!(of(&phases, 5100, 5101), Some(Phase::Reloads), "settling");
        assert_eq!(of(&phases, 5200, 5201), Some(Phase::Steady));
        assert_eq!(of(&phases, 5999, 6000), Some(Phase::Steady));
        // Paced reloads from 3000: the reloads' window ends there, and
        // theirs where the steady phase after them begins.
        phases.paced_began = Some(ms(3000));
        assert_eq!(of(&phases, 2999, 3000), Some(Phase::Reloads));
        assert_eq!(of(&phases, 3000, 3001), Some(Phase::Paced));
        assert_eq!(of(&phases, 5100, 5101), Some(Phase::Paced));
        assert_eq!(of(&phases, 5200, 5201), Some(Phase::Steady));
        // Without a steady phase, no steady state: nothing before the
        // reloads, nothing after them.
        phases.steady = Duration::ZERO;
        assert_eq!(of(&phases, 999, 1000), None);
        assert_eq!(of(&phases, 1000, 1001), Some(Phase::Reloads));
        assert_eq!(of(&phases, 4999, 5000), Some(Phase::Paced));
        assert_eq!(of(&phases, 5000, 5001), None);
        phases.paced_began = None;
        assert_eq!(of(&phases, 4999, 5000), Some(Phase::Reloads));
    }
}

#[cfg(test)]
mod log_reading {
    use std::time::Duration;

    #[test]
    fn drains_are_timed_and_crashes_and_kills_told_apart() {
        let ms = Duration::from_millis;
        let log: Vec<(Duration, String)> = [
            (
                0,
                "littleboss: reload: child pid 11 is serving; pid 10 is winding down",
            ),
            (5, "littleboss: old child pid 10 exited with code 0"),
            (
                10,
                "littleboss: reload: child pid 12 is serving; pid 11 is winding down",
            ),
            (12, "littleboss: old child pid 11 exited with code 101"),
            (
                20,
                "littleboss: reload: child pid 13 is serving; pid 12 is winding down",
            ),
            (
                70,
                "GET /slowlittleboss: child pid 12 is still running after its lameduck timeout; killing it",
            ),
            (71, "littleboss: old child pid 12 was killed by SIGKILL"),
            (
                80,
                "littleboss: reload: child pid 14 is serving; pid 13 is winding down",
            ),
            (83, "littleboss: old child pid 13 was killed by SIGSEGV"),
            (90, "littleboss: child pid 14 exited with code 1"),
            // A rollback: one child lost, in two lines.
            (91, "littleboss: child pid 15 was killed by SIGSEGV"),
            (91, "littleboss: reload to /bin/x rolled back: its child pid 15 was killed by SIGSEGV within its probation; restarting /bin/y"),
            (92, "hello littleboss: new child pid 16 (/bin/x) exited with code 2 before it was ready"),
            // Not lost: a line of a child pid that is not its end.
            (93, "littleboss: child pid 17 is still running after its lameduck timeout; killing it"),
            (94, "littleboss: old child pid 17 was killed by SIGKILL"),
        ]
        .into_iter()
        .map(|(at, line)| (ms(at), line.to_owned()))
        .collect();
        let drains = super::drains_of(&log);
        assert_eq!(drains.ms, [5.0, 2.0, 51.0, 3.0]);
        assert_eq!(drains.killed, 2);
        // The panic's code and the SIGSEGV: the kill at the timeout is
        // counted apart.
        assert_eq!(drains.abnormal, 2);
        // The serving child's death, the rollback's, the new child's.
        assert_eq!(drains.lost, 3);
    }
}
