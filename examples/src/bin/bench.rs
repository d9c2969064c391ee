//! The reload benchmark: what supervision costs and what a reload drops,
//! measured side by side in one run.
//!
//! ```text
//! cargo run --release -p examples --bin bench                  # 100 reloads
//! cargo run --release -p examples --bin bench -- --reloads 1000
//! ```
//!
//! It builds the server (by default `readme`, the README's snippet; `--server
//! http` for the shipped example) in its own profile, release as above,
//! then:
//! 1. steady state: a bypass and a supervised server run side by side and
//!    the load alternates between them in short phases (A/B, B/A, ...),
//!    under new-connection and keep-alive load: requests/s, latency
//!    percentiles, the supervised/bypass ratio, the serving process's CPU
//!    per request, and the supervisor's CPU time. The servers run on one CPU and the load generator on the
//!    others, so that where the scheduler puts threads does not decide the
//!    figures;
//! 2. reloads under new-connection load: every failed request by class,
//!    latency during reloads against that between them (from the end of
//!    each footprint sample of 3 to the next reload, 600 ms and more, with
//!    nothing of the bench's running but the load; on the same server
//!    under the same load; requests begun while the sample was taken
//!    counted neither way), the `reload` command's
//!    wall time, when the new child first answered relative to the moment
//!    the supervisor promoted it, and the longest stretch in which no
//!    request completed;
//! 3. the supervisor's footprint at start and every 100 reloads: its
//!    private memory (`Private_Clean` + `Private_Dirty` of
//!    `/proc/PID/smaps_rollup`, what it alone costs) and PSS, then fds,
//!    children, zombies, and for reference RSS (which counts the pages it
//!    shares with its child), its peak, threads and CPU. Each sample is
//!    taken once the old children are reaped and the supervisor has not
//!    run for a while (a condition, with a deadline), under the load;
//! 4. reloads under keep-alive load, with errors per reload, the load kept
//!    on until the last old child has exited;
//! 5. reloads that also upgrade the supervisor in place, each right after
//!    one of the same binary, without load and under it: wall times, what
//!    the upgrade adds (median over those pairs), the supervisor's pause.
//!
//! It prints a markdown table and writes the figures as JSON.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;
use examples::load::{Load, Mode, Outcome, Sample, failures, percentiles};
use examples::median;
use nix::sched::{CpuSet, sched_getaffinity, sched_setaffinity};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde::Serialize;
use tests::procfs::{self, Footprint};

#[derive(Parser, Debug, Clone)]
#[command(name = "bench", about = "littleboss reload benchmark")]
struct Args {
    /// Reloads under new-connection load.
    #[arg(long, default_value_t = 100)]
    reloads: usize,
    /// Reloads under keep-alive load.
    #[arg(long, default_value_t = 30)]
    keepalive_reloads: usize,
    /// Reloads that also upgrade the supervisor in place, under load (half
    /// as many without), each with two of the same binary.
    #[arg(long, default_value_t = 100)]
    upgrade_reloads: usize,
    /// Pause between reloads, in milliseconds.
    #[arg(long, default_value_t = 50)]
    interval_ms: u64,
    /// Concurrent load workers.
    #[arg(long, default_value_t = 16)]
    workers: usize,
    /// Steady-state rounds per load (each runs bypass and supervised).
    #[arg(long, default_value_t = 60)]
    rounds: usize,
    /// Milliseconds of load per steady-state measurement.
    #[arg(long, default_value_t = 500)]
    phase_ms: u64,
    /// Where to write the JSON figures.
    #[arg(long, default_value = "target/reload-bench.json")]
    json: PathBuf,
    /// The example server to measure, built in release: `readme` (the
    /// README's snippet), `http`, `plain` or `axum_serve`.
    #[arg(long, default_value = "readme")]
    server: String,
    /// A binary of an example server already built, named as built (its
    /// name says its listener; default: build `--server`).
    #[arg(long)]
    bin: Option<PathBuf>,
}

const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
const DEADLINE: Duration = Duration::from_secs(30);
/// A footprint sample waits until the supervisor has not been switched in
/// for this long: longer than the 200 ms from a child's exit to the
/// supervisor's scan for orphans, its last piece of work after a reload.
const QUIET: Duration = Duration::from_millis(500);
/// How long the load runs on after each footprint sample before the next
/// reload, with nothing else running in the bench: the steady state the
/// reloads are measured against (the sample's own wait polls `/proc` on
/// the load generator's CPU, and is no part of it).
const BETWEEN_RELOADS: Duration = Duration::from_millis(600);

fn main() -> ExitCode {
    let args = Args::parse();
    let http = match &args.bin {
        Some(path) => path.clone(),
        None => match build_server(&args.server) {
            Ok(path) => path,
            Err(e) => {
                eprintln!("bench: {e}");
                return ExitCode::FAILURE;
            }
        },
    };
    // A binary just linked has pages not written back yet, which count as
    // dirty in every process that maps them: write them out first, so
    // that the supervisor's dirty memory is its own.
    if let Err(e) = std::fs::File::open(&http).and_then(|f| f.sync_all()) {
        eprintln!("bench: cannot sync {}: {e}", http.display());
    }
    let cpus = Cpus::split();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let report = rt.block_on(run(&args, &http, cpus.as_ref()));
    print!("{}", report.markdown(&args));
    if let Some(dir) = args.json.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let json = serde_json::to_string_pretty(&report).expect("report serializes");
    if let Err(e) = std::fs::write(&args.json, json) {
        eprintln!("bench: cannot write {}: {e}", args.json.display());
        return ExitCode::FAILURE;
    }
    eprintln!("bench: figures written to {}", args.json.display());
    let failed = report.reloads.failed_total
        + report.reloads.reloads_failed
        + report
            .keep_alive_reloads
            .failed_by_class
            .values()
            .sum::<usize>()
        + report.keep_alive_reloads.reloads_failed
        + report.steady.iter().map(|r| r.failed).sum::<usize>()
        + report.warmup_failed
        + report.upgrades.failed.values().sum::<usize>()
        + report.upgrades.reloads_failed
        + report.upgrades.mismatched()
        + usize::from(report.upgrades_not_run)
        + report.footprint.iter().filter(|s| s.failed()).count()
        + report.drains_unwatched;
    if failed > 0 {
        eprintln!(
            "bench: {failed} failures (requests, reloads, upgrades missing or made where none was due, the upgrading part not run, footprint rows not settled or not read, or drains not watched to the end); see the table"
        );
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn build_server(name: &str) -> Result<PathBuf, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    // The server is run from beside this program, so it is built in this
    // program's profile (a debug bench would otherwise run a stale or
    // missing debug server).
    let mut build = Command::new(cargo);
    build.args(["build", "-p", "examples", "--bin", name]);
    if !cfg!(debug_assertions) {
        build.arg("--release");
    }
    let status = build
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!("building the {name} example failed"));
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    Ok(exe.with_file_name(name))
}

/// The CPUs the servers run on, and those the load generator runs on.
///
/// Left to the scheduler, on a small machine the load generator's and the
/// server's threads share cores in ever-changing ways, and a phase's
/// throughput swings by ±25% with where they landed. Pinned apart, each
/// phase measures the same thing.
#[derive(Debug, Clone)]
struct Cpus {
    server: CpuSet,
    load: CpuSet,
    /// "server on CPU 1, load on CPU 0", for the report.
    description: String,
}

impl Cpus {
    /// Gives the servers the last CPU this process may use and keeps the
    /// others for itself (and every thread it starts from now on). `None`
    /// on a single CPU.
    fn split() -> Option<Cpus> {
        let all = sched_getaffinity(Pid::from_raw(0)).ok()?;
        let usable: Vec<usize> = (0..CpuSet::count())
            .filter(|&c| all.is_set(c).unwrap_or(false))
            .collect();
        let (&server_cpu, load_cpus) = usable.split_last()?;
        if load_cpus.is_empty() {
            return None;
        }
        let mut server = CpuSet::new();
        server.set(server_cpu).ok()?;
        let mut load = CpuSet::new();
        for &c in load_cpus {
            load.set(c).ok()?;
        }
        sched_setaffinity(Pid::from_raw(0), &load).ok()?;
        Some(Cpus {
            server,
            load,
            description: format!(
                "{} usable CPUs; servers on CPU {server_cpu}, load generator on CPUs {load_cpus:?}",
                usable.len()
            ),
        })
    }

    /// Runs `f` (which starts a server) with this thread on the servers'
    /// CPU, so that the process it starts inherits that CPU.
    fn on_server_cpu<T>(cpus: Option<&Cpus>, f: impl FnOnce() -> T) -> T {
        let Some(cpus) = cpus else { return f() };
        // The report says the servers are pinned: failing here must not
        // leave that untrue.
        sched_setaffinity(Pid::from_raw(0), &cpus.server).expect("pin to the servers' CPU");
        let out = f();
        sched_setaffinity(Pid::from_raw(0), &cpus.load).expect("pin back to the load CPUs");
        out
    }
}

/// A running example server, bypass or supervised, with its stderr lines
/// timestamped as they arrive.
struct Server {
    process: Child,
    addr: SocketAddr,
    dir: PathBuf,
    log: Arc<Mutex<Vec<(Duration, String)>>>,
    http: PathBuf,
    supervised: bool,
    /// The process that serves: the first child, when supervised.
    serving_pid: u32,
    /// Told to stop: dropping it waits (up to [`DEADLINE`]) for the exit.
    stopping: bool,
}

impl Server {
    fn start(
        http: &Path,
        listener: &str,
        supervised: bool,
        epoch: Instant,
        cpus: Option<&Cpus>,
    ) -> Server {
        let dir = std::env::temp_dir().join(format!(
            "littleboss-bench-{}-{}",
            std::process::id(),
            epoch.elapsed().as_nanos()
        ));
        let mut cmd = Command::new(http);
        cmd.arg(format!("-{listener}=127.0.0.1:0"))
            .env("LITTLEBOSS_DIR", &dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if supervised {
            cmd.arg("-littleboss=start");
        }
        let mut process = Cpus::on_server_cpu(cpus, || cmd.spawn()).expect("start the server");
        let log = examples::reloading::capture_stderr(&mut process, epoch);
        let mut server = Server {
            process,
            addr: "0.0.0.0:0".parse().unwrap(),
            dir,
            log,
            http: http.to_owned(),
            supervised,
            serving_pid: 0,
            stopping: false,
        };
        let line = server.wait_line(|l| l.contains("serving http://"));
        // "http: pid N serving http://ADDR/"
        server.serving_pid = line
            .split_whitespace()
            .nth(2)
            .and_then(|pid| pid.parse().ok())
            .expect("the server names its pid");
        let rest = &line[line.find("serving http://").unwrap() + 15..];
        server.addr = rest[..rest.find('/').unwrap()].parse().expect("an address");
        if supervised {
            server
                .wait_line(|l| l.starts_with("littleboss: child pid ") && l.ends_with(" is ready"));
        }
        server
    }

    fn wait_line(&self, want: impl Fn(&str) -> bool) -> String {
        examples::reloading::wait_line(&self.log, "the server to start", want)
    }

    /// When the supervisor logged that `pid` took over.
    fn promoted_at(&self, pid: u32) -> Option<Duration> {
        let needle = format!("littleboss: reload: child pid {pid} is serving");
        let log = self.log.lock().unwrap();
        log.iter()
            .find(|(_, l)| l.starts_with(&needle))
            .map(|(t, _)| *t)
    }

    fn control(&self, mode: &str) -> std::process::Output {
        self.control_with(&self.http, mode)
    }

    /// `bin -littleboss=MODE` for this server.
    fn control_with(&self, bin: &Path, mode: &str) -> std::process::Output {
        Command::new(bin)
            .arg(format!("-littleboss={mode}"))
            .env("LITTLEBOSS_DIR", &self.dir)
            .output()
            .expect("run a control command")
    }

    /// Waits until the supervisor has exactly one child (old ones drained
    /// and reaped) and, since then, has not run for [`QUIET`] (its context
    /// switch count stands still). Returns how long that took and since
    /// when it has stood still (as first seen), or `None` if it did not
    /// happen within [`DEADLINE`] (said on stderr).
    fn settle(&self) -> Option<(Duration, Instant)> {
        let pid = self.process.id();
        let began = Instant::now();
        // The supervisor's context switches, and since when they stand.
        let mut still: Option<(u64, Instant)> = None;
        loop {
            let now = Instant::now();
            if procfs::children(pid) == (1, 0) {
                let switches = procfs::context_switches(pid);
                match (still, switches) {
                    (Some((before, since)), Some(now_at)) if before == now_at => {
                        if now - since >= QUIET {
                            return Some((now - began, since));
                        }
                    }
                    _ => still = switches.map(|n| (n, now)),
                }
            } else {
                still = None;
            }
            if now - began > DEADLINE {
                eprintln!(
                    "bench: the supervisor did not settle within {DEADLINE:?}: {:?} (live, zombie) children",
                    procfs::children(pid)
                );
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stops the server: `stop` when supervised, SIGTERM in bypass mode.
    /// Dropped: waits for the exit, or kills it at the deadline.
    fn stop(mut self) {
        self.stopping = true;
        if self.supervised {
            let out = self.control("stop");
            if !out.status.success() {
                eprintln!(
                    "bench: stop failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                );
            }
        } else if let Err(e) = kill(Pid::from_raw(self.process.id() as i32), Signal::SIGTERM) {
            eprintln!("bench: cannot signal the server: {e}");
        }
    }
}

/// A server dropped without [`Server::stop`] (the bench panicked), or that
/// a stop did not end by the deadline, is killed rather than left
/// serving; its folder goes either way.
impl Drop for Server {
    fn drop(&mut self) {
        let process = &mut self.process;
        if examples::reloading::end_server(process, self.stopping, DEADLINE, &self.dir) {
            eprintln!("bench: the server did not exit within {DEADLINE:?}; killed");
        }
    }
}

#[derive(Serialize, Default)]
struct Report {
    command: String,
    /// The source it ran from (`git describe --dirty`).
    revision: String,
    machine: String,
    steady: Vec<SteadyRow>,
    ratio_new_connection: f64,
    ratio_keep_alive: f64,
    /// Failed requests in the warm-up phases, whose figures are not kept.
    warmup_failed: usize,
    reloads: ReloadFigures,
    footprint: Vec<FootprintSample>,
    keep_alive_reloads: KeepAliveFigures,
    upgrades: examples::upgrades::UpgradeFigures,
    /// Parts whose load stopped before their last reloads' old children
    /// had exited (past [`DEADLINE`]): those drains' failures are not
    /// counted, so each such part fails the run.
    drains_unwatched: usize,
    /// The upgrading part could not run (no copy of the binary): a
    /// failure of the run, not a row of zeros.
    upgrades_not_run: bool,
}

/// The supervisor's footprint after some reloads.
#[derive(Serialize)]
struct FootprintSample {
    after_reloads: usize,
    /// How long the sample waited for the old children to be reaped and
    /// the supervisor to be quiet; `None`: it was taken at the deadline,
    /// not settled.
    settled_after_ms: Option<u64>,
    /// Since when the supervisor stood still, as the wait first saw it
    /// (a little after it began to).
    #[serde(skip)]
    still_since: Option<Instant>,
    /// `None`: `/proc` could not be read (the row shows so, and fails
    /// the run, rather than a row of zeros).
    #[serde(flatten)]
    footprint: Option<Footprint>,
}

impl FootprintSample {
    /// Waits for `server`'s supervisor to settle, then reads it.
    fn take(server: &Server, after_reloads: usize) -> FootprintSample {
        let settled = server.settle();
        let still_since = settled.map(|(_, since)| since);
        let settled = settled.map(|(took, _)| took);
        let footprint = procfs::footprint(server.process.id());
        if footprint.is_none() {
            eprintln!("bench: cannot read the supervisor's /proc/PID/smaps_rollup");
        }
        FootprintSample {
            after_reloads,
            settled_after_ms: settled.map(|d| d.as_millis() as u64),
            still_since,
            footprint,
        }
    }

    /// Not settled in time, or not read: a failure of the run.
    fn failed(&self) -> bool {
        self.settled_after_ms.is_none() || self.footprint.is_none()
    }
}

#[derive(Serialize)]
struct SteadyRow {
    load: Mode,
    supervised: bool,
    rps_per_round: Vec<f64>,
    rps_median: f64,
    p50_us: u64,
    p99_us: u64,
    p999_us: u64,
    failed: usize,
    /// CPU time of the process that serves (the child, when supervised)
    /// per second of load: near 1000 on one CPU, the server is the
    /// bottleneck, as it must be for the ratio to mean anything.
    serving_cpu_ms_per_s: f64,
    /// CPU time of the process that serves per request answered, µs: what
    /// supervision costs the server even where the load generator, not
    /// the server, bounds the throughput.
    serving_cpu_us_per_request: f64,
    /// Supervisor CPU time per second of load (supervised only).
    supervisor_cpu_ms_per_s: Option<f64>,
}

#[derive(Serialize, Default)]
struct ReloadFigures {
    reloads: usize,
    reloads_failed: usize,
    requests: usize,
    failed_total: usize,
    failed_by_class: BTreeMap<&'static str, usize>,
    latency_us: [u64; 4],
    /// Requests begun and ended in the quiet windows after the footprint
    /// rows, when no reload ran and the bench did nothing but the load:
    /// the steady state, on the same server under the same load, that the
    /// reloads are measured against.
    between_reloads_requests: usize,
    between_reloads_latency_us: [u64; 4],
    /// Of those during reloads, the requests in flight while a `reload`
    /// command ran (from its request to its answer: the new child started
    /// and ready, the old one told to wind down), which a reload itself
    /// touches; the others ran between `reload` commands.
    while_reloading_requests: usize,
    while_reloading_latency_us: [u64; 4],
    reload_wall_ms_median: f64,
    reload_wall_ms_max: f64,
    /// First response by the new child minus its promotion, ms (negative:
    /// it answered before it was promoted, as the processes overlap).
    first_response_after_ready_ms: [f64; 3],
    /// The reloads those figures are of: one whose new child never
    /// answered, or whose promotion line never came, is not timed.
    first_response_timed: usize,
    /// Longest stretch with no completed request: in windows as long as
    /// the reloads' cut from the quiet windows (median over windows), and
    /// from each reload's start to the next one's (median, max), ms.
    longest_silence_between_reloads_ms: f64,
    longest_silence_reload_ms: [f64; 2],
    /// The length of those windows: from one reload's start to the next
    /// (median), and quiet windows cut into windows as long.
    silence_window_ms: f64,
}

#[derive(Serialize, Default)]
struct KeepAliveFigures {
    reloads: usize,
    /// Reloads that did not bring a new child to serving.
    reloads_failed: usize,
    requests: usize,
    failed_by_class: BTreeMap<&'static str, usize>,
    failed_per_reload: f64,
}

/// Per (load, mode), over its rounds.
#[derive(Default)]
struct Pooled {
    rps: Vec<f64>,
    samples: Vec<Sample>,
    /// CPU ms of the process that serves and of the supervisor, and the
    /// seconds under load, summed: a phase alone is too short for the
    /// 10 ms CPU clock.
    serving_cpu_ms: u64,
    supervisor_cpu_ms: u64,
    secs: f64,
    /// Requests answered, over the rounds.
    answered: usize,
}

async fn run(args: &Args, http: &Path, cpus: Option<&Cpus>) -> Report {
    let epoch = Instant::now();
    // A binary given is one of the example servers, by its file name.
    let server = args
        .bin
        .as_ref()
        .and_then(|bin| bin.file_name())
        .map_or(args.server.clone(), |name| {
            name.to_string_lossy().into_owned()
        });
    let listener = examples::reloading::listener_of(&server);
    let mut report = Report {
        command: std::env::args().collect::<Vec<_>>().join(" "),
        revision: examples::source_revision(),
        machine: machine(cpus),
        ..Report::default()
    };

    // 1. Steady state. Both servers run side by side from the start and
    // the load alternates between them in short phases (bypass first in
    // even rounds, supervised first in odd ones), so the machine's drift
    // falls on both alike and adjacent phases pair up.
    let mut pooled: BTreeMap<(u8, bool), Pooled> = BTreeMap::new();
    let servers = [
        Server::start(http, listener, false, epoch, cpus),
        Server::start(http, listener, true, epoch, cpus),
    ];
    let phase = Duration::from_millis(args.phase_ms);
    for (i, mode) in [Mode::NewConnection, Mode::KeepAlive]
        .into_iter()
        .enumerate()
    {
        // A phase each to warm up (connections, caches), left out of the
        // figures but for its failures.
        for server in &servers {
            let samples = load(args, server.addr, mode, epoch, phase).await;
            report.warmup_failed += failures(&samples).values().sum::<usize>();
        }
        for round in 0..args.rounds {
            let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
            for server in order.map(|k| &servers[k]) {
                let supervised = server.supervised;
                let cpu = || {
                    // A process gone is a failed run, not 0 ms (whose
                    // difference would wrap).
                    let ms = |pid| procfs::cpu_ms(pid).expect("read a server's CPU time");
                    (ms(server.serving_pid), ms(server.process.id()))
                };
                let cpu_before = cpu();
                let began = Instant::now();
                let samples = load(args, server.addr, mode, epoch, phase).await;
                let secs = began.elapsed().as_secs_f64();
                let cpu_after = cpu();
                let ok = samples
                    .iter()
                    .filter(|s| s.outcome.failure().is_none())
                    .count();
                let entry = pooled.entry((i as u8, supervised)).or_default();
                entry.rps.push(ok as f64 / secs);
                entry.answered += ok;
                entry.samples.extend(samples);
                entry.serving_cpu_ms += cpu_after.0 - cpu_before.0;
                entry.supervisor_cpu_ms += cpu_after.1 - cpu_before.1;
                entry.secs += secs;
            }
        }
    }
    for server in servers {
        server.stop();
    }
    for ((i, supervised), pooled) in pooled {
        let Pooled { rps, samples, .. } = &pooled;
        let (rps, samples) = (rps.clone(), samples.as_slice());
        let (p50, p99, p999, _) = percentiles(samples);
        let mode = [Mode::NewConnection, Mode::KeepAlive][i as usize];
        report.steady.push(SteadyRow {
            load: mode,
            supervised,
            rps_median: median(&rps),
            rps_per_round: rps,
            p50_us: p50,
            p99_us: p99,
            p999_us: p999,
            failed: failures(samples).values().sum(),
            serving_cpu_ms_per_s: pooled.serving_cpu_ms as f64 / pooled.secs,
            serving_cpu_us_per_request: pooled.serving_cpu_ms as f64 * 1e3
                / pooled.answered.max(1) as f64,
            supervisor_cpu_ms_per_s: supervised
                .then(|| pooled.supervisor_cpu_ms as f64 / pooled.secs),
        });
    }
    // Each round measures both modes back to back: the median of those
    // paired ratios resists the machine's drift better than a ratio of
    // medians.
    let ratio = |mode: Mode| {
        let rounds = |sup: bool| {
            report
                .steady
                .iter()
                .find(|r| r.load == mode && r.supervised == sup)
                .map_or(Vec::new(), |r| r.rps_per_round.clone())
        };
        let paired: Vec<f64> = rounds(true)
            .iter()
            .zip(rounds(false))
            .map(|(s, b)| s / b)
            .collect();
        median(&paired)
    };
    report.ratio_new_connection = ratio(Mode::NewConnection);
    report.ratio_keep_alive = ratio(Mode::KeepAlive);

    // 2 and 3. Reloads under new-connection load, with footprint samples.
    let server = Arc::new(Server::start(http, listener, true, epoch, cpus));
    let supervisor = server.process.id();
    report.footprint.push(FootprintSample::take(&server, 0));
    // From here on, each sample's peak covers the reloads since the last.
    reset_peak(supervisor);
    let running = load_on(&server, Mode::NewConnection, args, epoch);
    let mut reloads = Vec::new();
    // A stretch after each footprint sample, the last reload's old child
    // gone (its drain counts as during a reload) and the sample taken:
    // no reload then, and nothing of the bench's but the load, so the
    // requests made in those windows are the steady state the reloads
    // are measured against, on the same server under the same load,
    // interleaved with them.
    let mut quiet = Vec::new();
    for i in 1..=args.reloads {
        let reload = reload_once(&server, epoch).await;
        if reload.new_pid.is_none() {
            eprintln!("bench: reload {i} failed");
        }
        reloads.push(reload);
        if i % 100 == 0 || i == args.reloads {
            let s = server.clone();
            let sample = tokio::task::spawn_blocking(move || FootprintSample::take(&s, i))
                .await
                .unwrap();
            // Settled: still for `QUIET` with one child. The window
            // begins once the sample is taken and lasts until the next
            // reload begins (see `reload_figures`). (None if it did not
            // settle: no window, and the run fails.)
            // Requests begun from when it was first seen still to the
            // window (the sample's wait and reading) count neither way.
            let still = sample.still_since.map(|since| since.duration_since(epoch));
            report.footprint.push(sample);
            reset_peak(supervisor);
            if let Some(still) = still {
                let from = epoch.elapsed();
                tokio::time::sleep(BETWEEN_RELOADS).await;
                quiet.push(Quiet {
                    still,
                    from,
                    ended: epoch.elapsed(),
                });
            }
        }
        tokio::time::sleep(Duration::from_millis(args.interval_ms)).await;
    }
    let samples = running.stop().await;
    report.reloads = reload_figures(&server, &reloads, &samples, &quiet);

    // 4. Reloads under keep-alive load.
    let running = load_on(&server, Mode::KeepAlive, args, epoch);
    let mut keep_alive_reloads_failed = 0;
    for i in 1..=args.keepalive_reloads {
        if reload_once(&server, epoch).await.new_pid.is_none() {
            eprintln!("bench: keep-alive reload {i} failed");
            keep_alive_reloads_failed += 1;
        }
        tokio::time::sleep(Duration::from_millis(args.interval_ms)).await;
    }
    if !old_children_gone(&server).await {
        report.drains_unwatched += 1;
    }
    let samples = running.stop().await;
    let failed = failures(&samples);
    report.keep_alive_reloads = KeepAliveFigures {
        reloads: args.keepalive_reloads,
        reloads_failed: keep_alive_reloads_failed,
        requests: samples.len(),
        failed_per_reload: failed.values().sum::<usize>() as f64
            / args.keepalive_reloads.max(1) as f64,
        failed_by_class: failed,
    };
    // 5. Reloads that also upgrade the supervisor: each to a copy of the
    // binary or back, right after one of the same binary (itself after
    // another: see `binary_for`), so that the two are measured side by
    // side; first without load, then under it.
    match examples::upgrades::second_file(http) {
        Err(e) => {
            eprintln!("bench: cannot copy {}: {e}", http.display());
            report.upgrades_not_run = true;
        }
        Ok(copy) => {
            let http = http.to_owned();
            let to = |offset: usize| {
                let (http, copy) = (http.clone(), copy.clone());
                move |i: usize| {
                    let file = examples::upgrades::binary_for(i + offset, &http, &copy);
                    (file.clone(), examples::upgrades::upgrades_at(i + offset))
                }
            };
            let idle_pairs = args.upgrade_reloads / 2;
            let log_from = server.log.lock().unwrap().len();
            let idle = timed_reloads(&server, to(0), 3 * idle_pairs, args).await;
            // The idle part's log, and where the loaded part's begins, cut
            // at one moment.
            let (idle_log, log_from) = {
                let log = server.log.lock().unwrap();
                (log[log_from..].to_vec(), log.len())
            };
            let running = load_on(&server, Mode::NewConnection, args, epoch);
            // Going on from where the idle ones left off.
            let loaded =
                timed_reloads(&server, to(3 * idle_pairs), 3 * args.upgrade_reloads, args).await;
            if !old_children_gone(&server).await {
                report.drains_unwatched += 1;
            }
            let samples = running.stop().await;
            let loaded_log = server.log.lock().unwrap()[log_from..].to_vec();
            report.upgrades = examples::upgrades::UpgradeFigures::of(
                &examples::upgrades::Reloads::of(&idle, &idle_log),
                &examples::upgrades::Reloads::of(&loaded, &loaded_log),
                &samples,
            );
            let _ = std::fs::remove_file(&copy);
        }
    }
    match Arc::try_unwrap(server) {
        Ok(server) => server.stop(),
        Err(_) => unreachable!("no other handle on the server is left"),
    }
    report
}

/// `n` reloads, the i-th to `bin(i)` (and an upgrade if it says so),
/// `--interval-ms` apart: each one's wall time and whether it succeeded.
/// An upgrading reload waits, before its pause, for the supervisor's line
/// saying it upgraded (a second at most), so that each part's log holds
/// its own upgrades' lines.
async fn timed_reloads(
    server: &Arc<Server>,
    bin: impl Fn(usize) -> (PathBuf, bool),
    n: usize,
    args: &Args,
) -> Vec<(Duration, bool)> {
    // Whether the supervisor said it upgraded in a line logged after the
    // first `from` (only those read: the log grows with the run, and this
    // is asked every 2 ms on the load generator's CPU).
    let upgraded_since = |from: usize| {
        let log = server.log.lock().unwrap();
        log[from..]
            .iter()
            .any(|(_, line)| line.starts_with(UPGRADED))
    };
    let mut walls = Vec::new();
    for i in 0..n {
        let (s, (bin, upgrades)) = (server.clone(), bin(i));
        let log_from = server.log.lock().unwrap().len();
        let began = Instant::now();
        let out = tokio::task::spawn_blocking(move || s.control_with(&bin, "reload"))
            .await
            .unwrap();
        let wall = began.elapsed();
        let said = String::from_utf8_lossy(&out.stderr);
        // A reload whose supervisor could not upgrade succeeds all the
        // same; here it is a failure, lest a later reload's upgrade count
        // for it and its pair time something else.
        let mut ok = out.status.success() && !said.contains("runs on from its old binary");
        if ok && upgrades {
            let deadline = Instant::now() + Duration::from_secs(1);
            while !upgraded_since(log_from) && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            ok = upgraded_since(log_from);
            if !ok {
                eprintln!("bench: reload {i} of this part did not upgrade the supervisor");
            }
        }
        walls.push((wall, ok));
        if !ok {
            eprintln!("bench: reload failed: {said}");
        }
        tokio::time::sleep(Duration::from_millis(args.interval_ms)).await;
    }
    walls
}

/// How the new image of an upgraded supervisor begins its line saying so.
const UPGRADED: &str = "littleboss: the supervisor runs ";

/// Waits, off the runtime, until the last reloads' old children have
/// exited (the supervisor down to one child, no zombie), so that the load
/// still running sees their drains to the end; false, said on stderr, if
/// that takes past [`DEADLINE`]: the load then stops with drains still
/// running, whose failures go uncounted, so the run fails.
async fn old_children_gone(server: &Arc<Server>) -> bool {
    let pid = server.process.id();
    let gone =
        tokio::task::spawn_blocking(move || examples::reloading::one_child_left(pid, DEADLINE));
    let gone = gone.await.unwrap();
    if !gone {
        eprintln!(
            "bench: old children still running {DEADLINE:?} after the last reload: {:?} (live, zombie)",
            procfs::children(pid)
        );
    }
    gone
}

/// Starts `mode` load on `server`.
fn load_on(server: &Server, mode: Mode, args: &Args, epoch: Instant) -> examples::load::Running {
    Load {
        addr: server.addr,
        mode,
        workers: args.workers,
        timeout: REQUEST_TIMEOUT,
    }
    .start(epoch)
}

/// Restarts the supervisor's peak RSS; without the right to, says the
/// column will show the peak since start instead.
fn reset_peak(pid: u32) {
    if let Err(e) = procfs::reset_peak(pid) {
        eprintln!(
            "bench: cannot reset the supervisor's peak RSS ({e}): that column is the peak since start"
        );
    }
}

/// One `http -littleboss=reload`, timed.
struct Reload {
    began: Duration,
    wall: Duration,
    new_pid: Option<u32>,
}

async fn reload_once(server: &Arc<Server>, epoch: Instant) -> Reload {
    let began = epoch.elapsed();
    let s = server.clone();
    let out = tokio::task::spawn_blocking(move || s.control("reload"))
        .await
        .unwrap();
    let wall = epoch.elapsed() - began;
    let text = String::from_utf8_lossy(&out.stderr);
    let new_pid = parse_reloaded(&text).filter(|_| out.status.success());
    if new_pid.is_none() {
        eprintln!("bench: reload failed: {text}");
    }
    Reload {
        began,
        wall,
        new_pid,
    }
}

/// A stretch between reloads, on the clock from the bench's start: from
/// when the supervisor was first seen still after a reload (its old child
/// reaped) to `from`, the footprint sample's wait and reading, which are
/// counted neither way; from `from`, the load alone (until `ended`, and
/// on until the next reload begins).
struct Quiet {
    still: Duration,
    from: Duration,
    ended: Duration,
}

fn reload_figures(
    server: &Server,
    reloads: &[Reload],
    samples: &[Sample],
    quiet: &[Quiet],
) -> ReloadFigures {
    let failed = failures(samples);
    // Each quiet window runs on until the next reload begins (the last
    // one, until the load stops).
    let sampling: Vec<(Duration, Duration)> = quiet.iter().map(|q| (q.still, q.from)).collect();
    let quiet: Vec<(Duration, Duration)> = quiet
        .iter()
        .map(|q| {
            let next = reloads
                .iter()
                .map(|r| r.began)
                .find(|began| *began >= q.ended);
            (q.from, next.unwrap_or(Duration::MAX))
        })
        .collect();
    let quiet = quiet.as_slice();
    // Between reloads: a request begun and ended within a quiet window.
    // Every other one counts as during reloads, a request a drain held
    // up that ended in a quiet window among them, but for those begun
    // while a sample was taken (one begun before, in the reload's tail,
    // stays the reload's).
    let began = |s: &Sample| s.at.saturating_sub(s.latency);
    let (steady, during_reloads): (Vec<Sample>, Vec<Sample>) = samples
        .iter()
        .filter(|s| {
            !sampling
                .iter()
                .any(|(still, from)| (*still..*from).contains(&began(s)))
        })
        .cloned()
        .partition(|s| (quiet.iter()).any(|(from, to)| *from <= began(s) && s.at < *to));
    let (p50, p99, p999, max) = percentiles(&during_reloads);
    let (s50, s99, s999, smax) = percentiles(&steady);
    let commands = examples::spans::Spans::of(reloads.iter().map(|r| (r.began, r.began + r.wall)));
    let touched: Vec<Sample> = (during_reloads.iter())
        .filter(|s| commands.touch(began(s), s.at))
        .cloned()
        .collect();
    let (t50, t99, t999, tmax) = percentiles(&touched);
    let walls: Vec<f64> = reloads.iter().map(|r| r.wall.as_secs_f64() * 1e3).collect();
    // First completed response of each new child, against its promotion.
    let mut first: BTreeMap<u32, Duration> = BTreeMap::new();
    for sample in samples {
        if let Outcome::Ok { pid } = sample.outcome {
            let t = first.entry(pid).or_insert(sample.at);
            *t = (*t).min(sample.at);
        }
    }
    let after_ready: Vec<f64> = reloads
        .iter()
        .filter_map(|r| {
            let pid = r.new_pid?;
            let answered = first.get(&pid)?.as_secs_f64();
            let promoted = server.promoted_at(pid)?.as_secs_f64();
            Some((answered - promoted) * 1e3)
        })
        .collect();
    let times = completions(samples);
    // Each reload's window runs from its start to the next one's, cut
    // short where the supervisor is seen still before a footprint sample
    // (the last reload's always is): no reload runs from there, and the
    // quiet window's requests and silences are the figures between
    // reloads.
    let ends = reloads
        .iter()
        .skip(1)
        .map(|r| r.began)
        .chain([Duration::MAX])
        .zip(reloads)
        .map(|(end, r)| {
            sampling
                .iter()
                .map(|(still, _)| *still)
                .filter(|still| *still >= r.began)
                .fold(end, Duration::min)
        });
    let silences: Vec<f64> = reloads
        .iter()
        .zip(ends)
        .map(|(r, end)| longest_silence(&times, r.began, end))
        .collect();
    // The steady state's, over windows of the same length: the longest
    // gap in a longer window is longer by chance alone.
    let lengths: Vec<f64> = reloads
        .windows(2)
        .map(|w| (w[1].began - w[0].began).as_secs_f64())
        .collect();
    let steady_phases: Vec<Vec<Duration>> = quiet
        .iter()
        .map(|(from, to)| {
            let within = times.partition_point(|t| t < from)..times.partition_point(|t| t < to);
            times[within].to_vec()
        })
        .collect();
    let steady_silences =
        windowed_silences(&steady_phases, Duration::from_secs_f64(median(&lengths)));
    ReloadFigures {
        reloads: reloads.len(),
        reloads_failed: reloads.iter().filter(|r| r.new_pid.is_none()).count(),
        requests: samples.len(),
        failed_total: failed.values().sum(),
        failed_by_class: failed,
        latency_us: [p50, p99, p999, max],
        between_reloads_requests: steady.len(),
        between_reloads_latency_us: [s50, s99, s999, smax],
        while_reloading_requests: touched.len(),
        while_reloading_latency_us: [t50, t99, t999, tmax],
        reload_wall_ms_median: median(&walls),
        reload_wall_ms_max: walls.iter().copied().fold(0.0, f64::max),
        first_response_after_ready_ms: [
            median(&after_ready),
            after_ready.iter().copied().fold(f64::INFINITY, f64::min),
            after_ready
                .iter()
                .copied()
                .fold(f64::NEG_INFINITY, f64::max),
        ],
        first_response_timed: after_ready.len(),
        // No window fits (one reload, or reloads a phase apart): unknown.
        longest_silence_between_reloads_ms: if steady_silences.is_empty() {
            f64::NAN
        } else {
            median(&steady_silences)
        },
        silence_window_ms: median(&lengths) * 1e3,
        longest_silence_reload_ms: [
            median(&silences),
            silences.iter().copied().fold(0.0, f64::max),
        ],
    }
}

/// When each successful request completed, in order.
fn completions(samples: &[Sample]) -> Vec<Duration> {
    let mut times: Vec<Duration> = samples
        .iter()
        .filter(|s| s.outcome.failure().is_none())
        .map(|s| s.at)
        .collect();
    times.sort_unstable();
    times
}

/// The longest interval between consecutive completions that ends within
/// [from, to), in ms (`times` sorted): a stall that began before `from`
/// counts where it ends, so each gap counts in exactly one window.
fn longest_silence(times: &[Duration], from: Duration, to: Duration) -> f64 {
    let start = times.partition_point(|t| *t < from).saturating_sub(1);
    let end = times.partition_point(|t| *t < to).max(start);
    times[start..end]
        .windows(2)
        .map(|w| (w[1] - w[0]).as_secs_f64() * 1e3)
        .fold(0.0, f64::max)
}

/// The longest silence in each window of `length` that fits in a phase
/// (each phase's completions sorted, phases apart: no window spans two).
fn windowed_silences(phases: &[Vec<Duration>], length: Duration) -> Vec<f64> {
    let mut silences = Vec::new();
    if length.is_zero() {
        return silences;
    }
    for times in phases {
        let (Some(&first), Some(&last)) = (times.first(), times.last()) else {
            continue;
        };
        let mut from = first;
        while from + length <= last {
            silences.push(longest_silence(times, from, from + length));
            from += length;
        }
    }
    silences
}

async fn load(
    args: &Args,
    addr: SocketAddr,
    mode: Mode,
    epoch: Instant,
    for_how_long: Duration,
) -> Vec<Sample> {
    let running = Load {
        addr,
        mode,
        workers: args.workers,
        timeout: REQUEST_TIMEOUT,
    }
    .start(epoch);
    tokio::time::sleep(for_how_long).await;
    running.stop().await
}

/// `reloaded NAME: pid N is serving...` → N.
fn parse_reloaded(text: &str) -> Option<u32> {
    let rest = &text[text.find("reloaded ")?..];
    let rest = &rest[rest.find(": pid ")? + 6..];
    rest.split_whitespace().next()?.parse().ok()
}

fn machine(cpus: Option<&Cpus>) -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = Some(&cpuinfo)
        .and_then(|c| {
            c.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let pinning = cpus.map_or_else(
        || {
            let usable = std::thread::available_parallelism().map_or(0, |n| n.get());
            format!("{usable} usable CPU, not pinned")
        },
        |c| c.description.clone(),
    );
    format!("{cpu}, Linux {}; {pinning}", kernel.trim())
}

impl Report {
    /// Private memory at start, its highest reading, and its growth from
    /// the sample after reload 100 (the first one, with fewer reloads) to
    /// the last, with the dirty part's growth on its own: the clean part
    /// (file pages the supervisor maps and its current child does not)
    /// moves with what that child has touched so far.
    fn footprint_summary(&self) -> String {
        // The rows read (one not read says so in the table).
        let read: Vec<(usize, &Footprint)> = (self.footprint.iter())
            .filter_map(|s| Some((s.after_reloads, s.footprint.as_ref()?)))
            .collect();
        let private = |(_, f): &(usize, &Footprint)| f.private_kib as i64;
        let (Some(first), Some(last)) = (read.first(), read.last()) else {
            return String::new();
        };
        let max = read.iter().map(private).max().unwrap_or(0);
        let from = (read.iter())
            .find(|(after, _)| *after == 100)
            .or(read.get(1))
            .unwrap_or(first);
        let dirty = |(_, f): &(usize, &Footprint)| f.private_dirty_kib as i64;
        let pss = |(_, f): &(usize, &Footprint)| f.pss_kib as i64;
        format!(
            "supervisor private memory: {} KiB at start, at most {max} KiB; from reload {} to {}: {:+} KiB (its dirty part {:+} KiB; PSS {:+} KiB)",
            private(first),
            from.0,
            last.0,
            private(last) - private(from),
            dirty(last) - dirty(from),
            pss(last) - pss(from),
        )
    }

    fn markdown(&self, args: &Args) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let ms = examples::load::ms;
        let _ = writeln!(out, "## littleboss reload benchmark\n");
        let _ = writeln!(
            out,
            "`{}` on {}  \n{}\n",
            self.command, self.revision, self.machine
        );
        let _ = writeln!(
            out,
            "### Steady state: {} rounds x {} ms per load, bypass and supervised alternating, {} workers\n",
            args.rounds, args.phase_ms, args.workers
        );
        let _ = writeln!(
            out,
            "| load | mode | req/s (median) | p50 ms | p99 ms | p99.9 ms | failed | server CPU ms/s | server CPU µs per request | supervisor CPU ms/s |"
        );
        let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        for row in &self.steady {
            let load = match row.load {
                Mode::NewConnection => "new connection",
                Mode::KeepAlive => "keep-alive",
            };
            let _ = writeln!(
                out,
                "| {load} | {} | {:.0} | {} | {} | {} | {} | {:.0} | {:.1} | {} |",
                if row.supervised {
                    "supervised"
                } else {
                    "bypass"
                },
                row.rps_median,
                ms(row.p50_us),
                ms(row.p99_us),
                ms(row.p999_us),
                row.failed,
                row.serving_cpu_ms_per_s,
                row.serving_cpu_us_per_request,
                row.supervisor_cpu_ms_per_s
                    .map_or("-".to_owned(), |c| format!("{c:.1}")),
            );
        }
        let cpu_ratio = |load: Mode| {
            let of = |supervised: bool| {
                (self.steady.iter())
                    .find(|r| r.load == load && r.supervised == supervised)
                    .map_or(f64::NAN, |r| r.serving_cpu_us_per_request)
            };
            of(true) / of(false)
        };
        let _ = writeln!(
            out,
            "\nsupervised/bypass throughput (median of per-round ratios): new connection {:.3}, keep-alive {:.3}; server CPU per request, supervised/bypass (over the rounds): new connection {:.3}, keep-alive {:.3}; failed requests in the warm-up phases (not in the table): {}\n",
            self.ratio_new_connection,
            self.ratio_keep_alive,
            cpu_ratio(Mode::NewConnection),
            cpu_ratio(Mode::KeepAlive),
            self.warmup_failed
        );
        let r = &self.reloads;
        let _ = writeln!(
            out,
            "### {} reloads under new-connection load ({} ms apart)\n",
            r.reloads, args.interval_ms
        );
        let _ = writeln!(out, "| figure | value |\n|---|---|");
        let _ = writeln!(out, "| requests | {} |", r.requests);
        let _ = writeln!(
            out,
            "| failed requests | {} |",
            examples::failures(&r.failed_by_class)
        );
        let _ = writeln!(out, "| failed reloads | {} |", r.reloads_failed);
        let [p50, p99, p999, max] = r.latency_us;
        let [s50, s99, s999, smax] = r.between_reloads_latency_us;
        let _ = writeln!(
            out,
            "| latency during reloads p50 / p99 / p99.9 / max ms | {} / {} / {} / {} |",
            ms(p50),
            ms(p99),
            ms(p999),
            ms(max)
        );
        let [t50, t99, t999, tmax] = r.while_reloading_latency_us;
        let _ = writeln!(
            out,
            "| of those, the requests in flight while a `reload` command ran ({} requests) p50 / p99 / p99.9 / max ms | {} / {} / {} / {} |",
            r.while_reloading_requests,
            ms(t50),
            ms(t99),
            ms(t999),
            ms(tmax)
        );
        let _ = writeln!(
            out,
            "| latency between reloads (the quiet windows after the footprint rows, {} requests) p50 / p99 / p99.9 / max ms | {} / {} / {} / {} |",
            r.between_reloads_requests,
            ms(s50),
            ms(s99),
            ms(s999),
            ms(smax)
        );
        let _ = writeln!(
            out,
            "| `reload` command wall time median / max ms | {:.1} / {:.1} |",
            r.reload_wall_ms_median, r.reload_wall_ms_max
        );
        let [m, lo, hi] = r.first_response_after_ready_ms;
        let _ = writeln!(
            out,
            "| first response by the new child after its promotion, median / min / max ms ({} of {} reloads timed) | {m:.2} / {lo:.2} / {hi:.2} |",
            r.first_response_timed, r.reloads
        );
        let [sm, sx] = r.longest_silence_reload_ms;
        let _ = writeln!(
            out,
            "| longest stretch with no request completing, in windows of {:.0} ms: between reloads (median) / from one reload to the next (median / max) ms | {} / {sm:.2} / {sx:.2} |",
            r.silence_window_ms,
            if r.longest_silence_between_reloads_ms.is_nan() {
                "-".to_owned()
            } else {
                format!("{:.2}", r.longest_silence_between_reloads_ms)
            }
        );
        let _ = writeln!(
            out,
            "\n### Supervisor footprint (each row once the old children are reaped and the supervisor has not run for {} ms)\n",
            QUIET.as_millis()
        );
        let _ = writeln!(
            out,
            "| after reloads | private KiB | of it dirty | PSS KiB | fds | children | zombies | RSS KiB | peak RSS since the row before (row 0: since start), KiB | threads | CPU ms | settled after ms |"
        );
        let _ = writeln!(
            out,
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for sample in &self.footprint {
            let settled =
                (sample.settled_after_ms).map_or("not settled".to_owned(), |ms| ms.to_string());
            let Some(f) = &sample.footprint else {
                let unread = "| unreadable ".repeat(10);
                let _ = writeln!(out, "| {} {unread}| {settled} |", sample.after_reloads);
                continue;
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                sample.after_reloads,
                f.private_kib,
                f.private_dirty_kib,
                f.pss_kib,
                f.fds,
                f.children,
                f.zombies,
                f.rss_kib,
                f.peak_rss_kib,
                f.threads,
                f.cpu_ms,
                settled,
            );
        }
        let _ = writeln!(out, "\n{}", self.footprint_summary());
        let k = &self.keep_alive_reloads;
        let _ = writeln!(
            out,
            "\n### {} reloads under keep-alive load (kept on until the last old child exited)\n\n{} reloads failed; {} requests, failed {}: {:.2} per reload\n",
            k.reloads,
            k.reloads_failed,
            k.requests,
            examples::failures(&k.failed_by_class),
            k.failed_per_reload
        );
        if self.upgrades_not_run {
            let _ = writeln!(
                out,
                "\n### Reloads that also upgrade the supervisor in place\n\nnot run: no copy of the binary could be made (see stderr)"
            );
        } else {
            out.push_str(&self.upgrades.markdown(args.interval_ms));
        }
        if self.drains_unwatched > 0 {
            let _ = writeln!(
                out,
                "\n**{} part(s) stopped their load with old children still draining {DEADLINE:?} after the last reload: those drains' failures are not counted**",
                self.drains_unwatched
            );
        }
        out
    }
}
