//! The public builder: what `#[littleboss::main]` expands to, and what a
//! program without the macro calls itself.

use std::future::Future;
use std::time::Duration;

use crate::config::{Chosen, Config, Flavor, Ready};
use crate::config_error::ConfigError;
use crate::context::Context;
use crate::main_result::MainResult;
use crate::rules;
use crate::spec::ListenerSpec;

/// A self-supervising program, configured step by step and started with
/// [`run`](Littleboss::run).
///
/// `#[littleboss::main]` expands to exactly this; programs that prefer no
/// macro call it themselves:
///
/// ```no_run
/// use std::time::Duration;
///
/// fn main() {
///     littleboss::Littleboss::new("myblog")
///         .listener("http", "tcp:127.0.0.1:8080")
///         .lameduck(Duration::from_secs(5))
///         .run(|ctx: littleboss::Context| async move {
///             let listener = ctx.tcp("http").expect("http listener enabled");
///             // A real program accepts on it until ctx.lameduck()
///             // completes (see `TcpListener`).
///             let _ = listener;
///             ctx.lameduck().await;
///         })
/// }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a Littleboss does nothing until `run` is called"]
pub struct Littleboss {
    pub(crate) config: Config,
}

impl Littleboss {
    /// Starts a configuration for the service `name`, which must match
    /// `[A-Za-z0-9_-]+` and be at most 101 bytes: it names the control
    /// socket (`NAME.sock`) that `reload`, `stop` and `status` talk to,
    /// whose whole path, its folder's included, must fit in 107 bytes
    /// (checked where the folder is known, at start).
    ///
    /// ```
    /// let lb = littleboss::Littleboss::new("myblog");
    /// # let _ = lb;
    /// ```
    pub fn new(name: &str) -> Self {
        let errors = rules::service_name(name).err().into_iter().collect();
        Littleboss {
            config: Config {
                name: name.to_owned(),
                listeners: Vec::new(),
                lameduck: Duration::from_millis(rules::DEFAULT_LAMEDUCK_MS),
                grace: Duration::from_secs(1),
                persist: false,
                restart_limit: (5, Duration::from_secs(60)),
                fallback: true,
                self_upgrade: true,
                flag: rules::DEFAULT_FLAG.to_owned(),
                supervisor_init: None,
                ready: Ready::Auto,
                ready_timeout: Duration::from_secs(30),
                help: true,
                flavor: Flavor::MultiThread,
                worker_threads: None,
                errors,
                chosen: Chosen::default(),
            },
        }
    }

    /// Declares a listener `name` with its default `NET:ADDR`, for example
    /// `"tcp::443"`, `"udp4:127.0.0.1:53"`, `"unix:/run/app.sock"`, or
    /// `"tcp:"` for one that is off unless the command line gives an
    /// address. The command line overrides the address with `-NAME=ADDR`.
    ///
    /// The name follows the flag names' rules (letters, digits, `_` and
    /// `-`; not `h`, `help`, `json` or the mode flag's name), once per
    /// program; two listeners may not ask for one socket (`tcp::80` and
    /// `tcp::0080`), except port 0, a free port each; 253 listeners at
    /// most. [`check`](Littleboss::check) reports each mistake.
    ///
    /// ```
    /// let lb = littleboss::Littleboss::new("svc")
    ///     .listener("https", "tcp::443")
    ///     .listener("admin", "tcp:");
    /// # let _ = lb;
    /// ```
    pub fn listener(mut self, name: &str, spec: &str) -> Self {
        let config = &mut self.config;
        let declared = config.listeners.iter().map(|l| l.name.as_str());
        match rules::listener_name(name, declared).and_then(|()| ListenerSpec::parse(name, spec)) {
            Ok(l) => config.listeners.push(l),
            Err(e) => config.errors.push(e),
        }
        self
    }

    /// How long a child may run once told to wind down (from draining,
    /// the grace included) before it is killed (default 2 s). Zero: killed
    /// as soon as it is told (no drain; a supervised `stop` then exits
    /// 137).
    ///
    /// Whole milliseconds, as the attribute's (a finer duration is a
    /// mistake [`check`](Littleboss::check) reports).
    ///
    /// ```
    /// let lb = littleboss::Littleboss::new("svc").lameduck(std::time::Duration::from_secs(10));
    /// # let _ = lb;
    /// ```
    pub fn lameduck(mut self, timeout: Duration) -> Self {
        match rules::duration_fits("lameduck", timeout) {
            Ok(()) => {
                self.config.lameduck = timeout;
                self.config.chosen.lameduck = true;
            }
            Err(e) => {
                self.config.chosen.lameduck_refused = true;
                self.config.errors.push(e);
            }
        }
        self
    }

    /// The first-byte grace (default 1 s; one set longer than half the
    /// lameduck timeout is a mistake [`check`](Littleboss::check) reports,
    /// a default one is shortened to that): when this program starts winding down, its TCP
    /// and unix listeners stop yielding connections at once (a reload's new child
    /// takes them), and [`Context::lameduck`] completes at most this much
    /// later (sooner once every connection accepted has closed), once
    /// connections accepted just before have had time to send their first
    /// request. Longer for clients that are slow to speak
    /// after connecting; zero to complete lameduck at once.
    ///
    /// Whole milliseconds, as the attribute's (a finer duration is a
    /// mistake [`check`](Littleboss::check) reports).
    ///
    /// ```
    /// let lb = littleboss::Littleboss::new("svc").grace(std::time::Duration::from_millis(500));
    /// # let _ = lb;
    /// ```
    pub fn grace(mut self, grace: Duration) -> Self {
        match rules::duration_fits("grace", grace) {
            Ok(()) => {
                self.config.grace = grace;
                self.config.chosen.grace = true;
            }
            Err(e) => self.config.errors.push(e),
        }
        self
    }

    /// Restart the child when it exits on its own (default off: the
    /// supervisor then exits with the child's exit code).
    ///
    /// ```
    /// let lb = littleboss::Littleboss::new("svc").persist(true);
    /// # let _ = lb;
    /// ```
    pub fn persist(mut self, on: bool) -> Self {
        self.config.persist = on;
        self.config.chosen.persist = true;
        self
    }

    /// With [`persist`](Littleboss::persist): when the child has had to be
    /// restarted more than `max` times within `within`, the supervisor stops
    /// trying and exits non-zero, saying why, so that systemd or an
    /// operator takes over (default 5 within 60 s). Restarts are spaced by
    /// a backoff from 100 ms doubling to 30 s; 10 s of health resets the
    /// backoff, not the count, which keeps to its window.
    /// Without `persist(true)` it is a mistake [`check`](Littleboss::check)
    /// reports: nothing would be restarted; so are a `max` of 0, which
    /// would give up at the first exit, and a zero `within`.
    ///
    /// Whole milliseconds, as the attribute's (a finer duration is a
    /// mistake [`check`](Littleboss::check) reports).
    ///
    /// ```
    /// let lb = littleboss::Littleboss::new("svc")
    ///     .persist(true)
    ///     .restart_limit(10, std::time::Duration::from_secs(300));
    /// # let _ = lb;
    /// ```
    pub fn restart_limit(mut self, max: u32, within: Duration) -> Self {
        // In the attribute's order: the count, then the window.
        let fits = rules::some_restarts(max);
        let fits = fits.and_then(|()| rules::duration_fits("restart_limit", within));
        match fits.and_then(|()| rules::nonzero_restart_window(within.is_zero())) {
            Ok(()) => {
                self.config.restart_limit = (max, within);
                self.config.chosen.restart_limit = true;
            }
            Err(e) => self.config.errors.push(e),
        }
        self
    }

    /// When a child promoted by a reload dies during its probation period
    /// (its first 5 s of serving), start the previous binary again
    /// (default on).
    ///
    /// ```
    /// let lb = littleboss::Littleboss::new("svc").fallback(false);
    /// # let _ = lb;
    /// ```
    pub fn fallback(mut self, on: bool) -> Self {
        self.config.fallback = on;
        self
    }

    /// On a reload to a binary that differs from the supervisor's own,
    /// re-execute the supervisor from the new binary in place, keeping its
    /// PID, its sockets and its children (default on). Turn it off for a
    /// program that must not re-execute itself: the supervisor then keeps
    /// running its own code while the children run the new binary.
    ///
    /// ```
    /// let lb = littleboss::Littleboss::new("svc").self_upgrade(false);
    /// # let _ = lb;
    /// ```
    pub fn self_upgrade(mut self, on: bool) -> Self {
        self.config.self_upgrade = on;
        self
    }

    /// The name of the mode flag (default `littleboss`, as in `-littleboss=start`).
    ///
    /// Letters, digits, `_` and `-`, without leading dashes; not `h`,
    /// `help` or `json` (taken by `-h` and `status --json`), nor a
    /// listener's name.
    ///
    /// ```
    /// let lb = littleboss::Littleboss::new("svc").flag("lb"); // -lb=start
    /// # let _ = lb;
    /// ```
    pub fn flag(mut self, name: &str) -> Self {
        match rules::flag_name(name) {
            Ok(()) => {
                self.config.flag = name.to_owned();
                self.config.chosen.flag = true;
            }
            Err(e) => {
                self.config.chosen.flag_refused = true;
                self.config.errors.push(e);
            }
        }
        self
    }

    /// A function the supervisor runs once, before its first child starts.
    /// With the attribute it is the only program code the supervisor runs;
    /// with the builder, the code before [`run`](Littleboss::run) runs in
    /// the supervisor too (as in every process the binary becomes), so
    /// what only the supervisor is to do goes here.
    ///
    /// It runs with SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGUSR1 and SIGUSR2
    /// unblocked, so that what it starts does not inherit them blocked (a
    /// sidecar that blocked SIGTERM would outlive `kill`). One that arrives
    /// while it runs is held, and handled once it returns. Threads it
    /// starts keep them unblocked, and pass on to the supervisor what they
    /// take. A process it starts is reaped by the supervisor when it
    /// exits, as every orphan is (its exit status is not kept for a
    /// `wait`). What it sets for those six signals and for SIGPIPE (a
    /// handler, or ignored) is set back when it returns: they are the
    /// supervisor's.
    ///
    /// The supervisor sets its own panic hook before it calls this
    /// function, which says a panic's message through its log queue (a
    /// full stderr must not hold its loop): a hook the code before
    /// [`run`](Littleboss::run) set is replaced in the supervisor; one this
    /// function sets is kept, until an upgrade in place (the new image has
    /// the supervisor's hook again).
    ///
    /// It runs only in a supervisor: not in bypass mode (the default, the
    /// program run without `-littleboss=start`), where no supervisor is, nor
    /// in the children. A program that drops privileges here keeps its own
    /// when run directly. Run as root, the supervisor's control folder is
    /// root's, and out of its reach once it has dropped them: it says so,
    /// answers root's commands as before, and leaves its control files
    /// behind at its exit (the next start replaces them).
    ///
    /// It must not detach by forking and going on in the copy (a daemon's
    /// way): the copy has none of the supervisor's threads, and exits 1
    /// saying so. Detach with a service manager, or `setsid` and `&`.
    ///
    /// It does not run again when the supervisor upgrades itself in place
    /// ([`self_upgrade`](Littleboss::self_upgrade)): what it changed in the
    /// process (privileges, environment, a chroot) lasts, but threads it
    /// started and descriptors it opened do not survive that exec, nor do
    /// capabilities kept through a change of uid unless raised as ambient
    /// ones (`PR_CAP_AMBIENT`).
    ///
    /// ```
    /// fn init() { eprintln!("supervisor up"); }
    /// let lb = littleboss::Littleboss::new("svc").supervisor_init(init);
    /// # let _ = lb;
    /// ```
    pub fn supervisor_init(mut self, init: fn()) -> Self {
        self.config.supervisor_init = Some(init);
        self
    }

    /// When a new child counts as ready (default [`Ready::Auto`]).
    ///
    /// ```
    /// let lb = littleboss::Littleboss::new("svc").ready(littleboss::Ready::Manual);
    /// # let _ = lb;
    /// ```
    pub fn ready(mut self, ready: Ready) -> Self {
        self.config.ready = ready;
        self
    }

    /// How long a new child has to become ready, counted from its hello on
    /// the child channel, before it is stopped and its reload fails
    /// (default 30 s). The hello itself, which a littleboss program sends
    /// as it starts, must come within 10 s of the spawn, or within the
    /// running supervisor's ready timeout if shorter. Zero is a mistake:
    /// no child could ever be ready.
    ///
    /// Whole milliseconds, as the attribute's (a finer duration is a
    /// mistake [`check`](Littleboss::check) reports).
    ///
    /// ```
    /// let lb = littleboss::Littleboss::new("svc").ready_timeout(std::time::Duration::from_secs(5));
    /// # let _ = lb;
    /// ```
    pub fn ready_timeout(mut self, timeout: Duration) -> Self {
        let fits = rules::duration_fits("ready_timeout", timeout);
        match fits.and_then(|()| rules::nonzero_ready_timeout(timeout.is_zero())) {
            Ok(()) => self.config.ready_timeout = timeout,
            Err(e) => self.config.errors.push(e),
        }
        self
    }

    /// Whether littleboss answers `-h`/`--help` itself (default on; always
    /// with `-littleboss=stop` and `status`). Turn it
    /// off for a program with its own argument parser; it can still show
    /// littleboss's flags with [`Context::flags_help`]. Asked for help
    /// (`-h`, `--help`), such a program runs even while its ports are
    /// taken (by its running service, say), as any program does asked for
    /// its version (`--version`, `-V`): a bind error is put off, and
    /// taking any listener then ends the process with it.
    /// `-littleboss=start` and `reload` pass `-h` on to
    /// the program and refuse `--help` and `--version`, which a supervised
    /// child would answer and exit on rather than serve.
    ///
    /// ```
    /// let lb = littleboss::Littleboss::new("svc").help(false);
    /// # let _ = lb;
    /// ```
    pub fn help(mut self, on: bool) -> Self {
        self.config.help = on;
        self
    }

    /// The tokio runtime flavor for the program's `main` (default multi-thread).
    ///
    /// ```
    /// let lb = littleboss::Littleboss::new("svc").flavor(littleboss::Flavor::CurrentThread);
    /// # let _ = lb;
    /// ```
    pub fn flavor(mut self, flavor: Flavor) -> Self {
        self.config.flavor = flavor;
        self
    }

    /// The number of worker threads of a multi-thread runtime (default
    /// tokio's: one per CPU): at least one and at most 32,768, and a
    /// mistake with [`Flavor::CurrentThread`], which has none.
    ///
    /// ```
    /// let lb = littleboss::Littleboss::new("svc").worker_threads(2);
    /// # let _ = lb;
    /// ```
    pub fn worker_threads(mut self, threads: usize) -> Self {
        match rules::nonzero_worker_threads(threads) {
            Ok(()) => self.config.worker_threads = Some(threads),
            Err(e) => self.config.errors.push(e),
        }
        self
    }

    /// Every mistake in the configuration, before [`run`](Littleboss::run)
    /// would print them and exit 2: bad names, listener declarations and
    /// values, and conflicts between settings. The rules, and the words,
    /// are those of `#[littleboss::main]`'s compile errors.
    ///
    /// A value a setter refused stays a mistake: a later call of that
    /// setter with a good value does not clear it, as an attribute that
    /// gives a key twice does not compile. Conflicts between settings are
    /// judged on the last value each setter accepted (a refused one
    /// leaves the one before it in place, or the default), but for two
    /// that would say one mistake twice: with only a refused `flag`, a
    /// listener named like the default one is not told, and with only a
    /// refused `lameduck`, `grace` is not checked against the default.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] listing every mistake, one a line.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let lb = littleboss::Littleboss::new("svc")
    ///     .listener("https", "tcp::443")
    ///     .listener("https", "tcp::8443")
    ///     .ready_timeout(Duration::ZERO);
    /// let error = lb.check().unwrap_err();
    /// assert_eq!(
    ///     error.to_string(),
    ///     "listener `https` is declared twice\n`ready_timeout` must be more than zero"
    /// );
    /// assert!(littleboss::Littleboss::new("svc").check().is_ok());
    /// ```
    pub fn check(&self) -> Result<(), ConfigError> {
        ConfigError::from_mistakes(self.config.mistakes())
    }

    /// Runs the program: decides the mode from the command line, then runs
    /// `main` directly (bypass), becomes the supervisor (start), or talks to
    /// a running supervisor (reload, stop, status). Never returns.
    ///
    /// `main` may return `()` or `Result<(), E>` with `E: Display`; an `Err`
    /// is printed and the process exits 1, a panic exits 101 (unless built
    /// with `panic = "abort"`). Either way the process exits as `main`
    /// ends: tasks still spawned and values made before `run` are not
    /// dropped (a log guard that flushes on drop belongs inside `main`).
    /// Mistakes in the configuration (see [`check`](Littleboss::check))
    /// are printed, and the process exits 2, before anything else; so is
    /// a call inside a tokio runtime or its context (`#[tokio::main]` on
    /// `main`, a `Runtime::enter` guard held): littleboss runs the runtime
    /// itself. A
    /// `main` still running at its [`lameduck`](Littleboss::lameduck)
    /// timeout is ended: run directly, by the stop signal it had (a shell
    /// shows 130 or 143); supervised, by SIGKILL (a `stop` then exits
    /// 137).
    ///
    /// Code before `run` runs in every process the binary becomes: the
    /// supervisor, each child and each control command (and again in the
    /// supervisor after an upgrade in place or its rollback, each an exec).
    /// Keep it free of side effects. What it starts inherits none of
    /// littleboss's variables or descriptors: they are taken as the binary
    /// loads, before any of the program's code. A thread started before `run` does
    /// not block the supervisor's signals; one the kernel gives it goes on,
    /// through a handler, to the supervisor's thread, which reads it in
    /// turn. Work for the supervisor alone belongs in
    /// [`supervisor_init`](Littleboss::supervisor_init).
    ///
    /// Call it once per process: a second call from inside the first's
    /// `main` (its thread, or a thread of the runtime it runs) exits 2; one
    /// from another thread while the first runs is said, and that thread
    /// waits for good (the first goes on).
    ///
    /// ```no_run
    /// littleboss::Littleboss::new("svc").run(|ctx: littleboss::Context| async move {
    ///     ctx.lameduck().await;
    /// })
    /// ```
    pub fn run<F, Fut>(self, main: F) -> !
    where
        F: FnOnce(Context) -> Fut,
        Fut: Future,
        Fut::Output: MainResult,
    {
        crate::dispatch::run(
            self.config,
            Box::new(|ctx, rt, started| {
                // `main` runs inside the runtime, so that its synchronous
                // part can take a listener or spawn a task.
                let main = {
                    let _entered = rt.enter();
                    main(ctx)
                };
                let result = rt.block_on(crate::started::OnFirstPending::new(main, started));
                crate::entry::Ended::from_result(result)
            }),
        )
    }

    /// Like [`run`](Littleboss::run) for a synchronous `main`. A tokio
    /// runtime is entered around it (not run), so the [`Context`] listener
    /// methods work; with the multi-thread runtime (the default) drive
    /// async code with `tokio::runtime::Handle::current().block_on`. With
    /// `Flavor::CurrentThread` nothing would drive that runtime's I/O and
    /// timers: build a runtime of your own in `main` and take the listeners
    /// inside its `block_on`.
    ///
    /// ```no_run
    /// littleboss::Littleboss::new("svc").run_sync(|ctx: littleboss::Context| {
    ///     println!("args: {:?}", ctx.args());
    /// })
    /// ```
    pub fn run_sync<F, R>(self, main: F) -> !
    where
        F: FnOnce(Context) -> R,
        R: MainResult,
    {
        crate::dispatch::run(
            self.config,
            Box::new(|ctx, rt, started| {
                let _guard = rt.enter();
                started();
                crate::entry::Ended::from_result(main(ctx))
            }),
        )
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{Flavor, Littleboss};

    fn messages(lb: &Littleboss) -> Vec<String> {
        lb.config
            .mistakes()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn a_duration_past_u64_milliseconds_is_a_mistake_not_a_panic_later() {
        let lb = Littleboss::new("svc")
            .lameduck(Duration::MAX)
            .grace(Duration::MAX)
            .ready_timeout(Duration::MAX)
            .restart_limit(3, Duration::MAX);
        let too_long =
            |key| format!("`{key}`: duration `18446744073709551615.999999999s` is too long");
        assert_eq!(
            messages(&lb),
            ["lameduck", "grace", "ready_timeout", "restart_limit"].map(too_long)
        );
        // The longest the attribute takes fits.
        let longest = Duration::from_millis(u64::MAX);
        assert!(messages(&Littleboss::new("svc").lameduck(longest)).is_empty());
    }

    #[test]
    fn a_listener_named_like_the_mode_flag_is_an_error_in_either_order() {
        let a = Littleboss::new("svc").listener("lb", "tcp:").flag("lb");
        let b = Littleboss::new("svc").flag("lb").listener("lb", "tcp:");
        assert_eq!(
            messages(&a),
            ["listener `lb` has the name of the mode flag (`flag = \"lb\"`); rename one of them"]
        );
        assert_eq!(messages(&b), messages(&a));
    }

    #[test]
    fn a_refused_flag_is_one_mistake_not_two() {
        // Not also "listener `littleboss` has the name of the mode flag":
        // the flag meant to rename it is the one mistake.
        let lb = Littleboss::new("svc")
            .flag("lb!")
            .listener("littleboss", "tcp:");
        assert_eq!(
            messages(&lb),
            ["flag name `lb!` contains `!`; use only letters, digits, `_` and `-`"]
        );
        // A flag accepted after all is checked against as usual.
        let lb = lb.flag("littleboss");
        assert_eq!(messages(&lb).len(), 2, "{:?}", messages(&lb));
    }

    #[test]
    fn bad_values_are_collected_not_panicked() {
        let lb = Littleboss::new("my svc")
            .listener("x", "sctp::1")
            .worker_threads(0);
        assert_eq!(
            messages(&lb),
            [
                "service name `my svc` contains ` `; use only letters, digits, `_` and `-`",
                "listener `x`: unknown network `sctp` in `sctp::1`; \
                 expected tcp, tcp4, tcp6, udp, udp4, udp6 or unix",
                "`worker_threads` must be at least 1",
            ]
        );
    }

    #[test]
    fn durations_must_be_whole_milliseconds_as_the_attributes_are() {
        let lb = Littleboss::new("svc")
            .ready_timeout(Duration::from_micros(500))
            .lameduck(Duration::from_micros(2_000_500))
            .grace(Duration::from_millis(250));
        assert_eq!(
            messages(&lb),
            [
                "`ready_timeout`: duration `500µs` is not a whole number of milliseconds",
                "`lameduck`: duration `2.0005s` is not a whole number of milliseconds",
            ]
        );
    }

    #[test]
    fn settings_that_would_be_ignored_or_fail_every_child_are_mistakes() {
        let lb = Littleboss::new("svc")
            .ready_timeout(Duration::ZERO)
            .flavor(Flavor::CurrentThread)
            .worker_threads(2)
            .restart_limit(3, Duration::from_secs(1));
        assert_eq!(
            messages(&lb),
            [
                "`ready_timeout` must be more than zero",
                "`worker_threads` needs the multi-thread runtime, but `flavor = \"current_thread\"`; \
                 remove one of them",
                "`restart_limit` only applies with `persist = true`; add `persist`",
            ]
        );
        let fixed = lb
            .ready_timeout(Duration::from_secs(1))
            .flavor(Flavor::MultiThread)
            .persist(true);
        // The zero timeout stays a mistake once made: the builder does not
        // forget what it was told, as a macro attribute with two values
        // would not compile either.
        assert_eq!(messages(&fixed), ["`ready_timeout` must be more than zero"]);
    }

    #[test]
    fn self_upgrade_is_on_unless_turned_off() {
        assert!(Littleboss::new("svc").config.self_upgrade);
        let off = Littleboss::new("svc").self_upgrade(false);
        assert!(!off.config.self_upgrade);
        assert!(off.self_upgrade(true).config.self_upgrade);
    }

    #[test]
    fn check_returns_every_mistake() {
        let error = Littleboss::new("").check().unwrap_err();
        assert_eq!(error.errors().len(), 1);
        assert_eq!(
            error.to_string(),
            "the service name is empty; use letters, digits, `_` and `-`"
        );
        assert!(
            Littleboss::new("svc")
                .listener("a", "tcp::0")
                .check()
                .is_ok()
        );
    }
}
