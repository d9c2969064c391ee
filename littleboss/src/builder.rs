//! The public builder: what `#[littleboss::main]` expands to, and what a
//! program without the macro calls itself.

use std::future::Future;
use std::time::Duration;

use crate::context::Context;
use crate::main_result::MainResult;
use crate::spec::ListenerSpec;

/// Which tokio runtime runs the program's `main` (in bypass mode and in the
/// supervised child). The supervisor always uses a small runtime of its own.
///
/// ```
/// let lb = littleboss::Littleboss::new("svc").flavor(littleboss::Flavor::CurrentThread);
/// # let _ = lb;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Flavor {
    /// `tokio::runtime::Builder::new_current_thread`.
    CurrentThread,
    /// `tokio::runtime::Builder::new_multi_thread` (the default, as with `#[tokio::main]`).
    #[default]
    MultiThread,
}

/// When a newly started child counts as ready to take traffic.
///
/// During a reload the old child keeps serving until the new one is ready.
///
/// ```
/// let lb = littleboss::Littleboss::new("svc").ready(littleboss::Ready::Manual);
/// # let _ = lb;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Ready {
    /// Ready as soon as the program's `main` is under way: an async `main`
    /// when it first waits on something (so one that fails at once is never
    /// promoted), a plain `main` when it is called.
    #[default]
    Auto,
    /// Ready only when the program calls [`Context::ready`].
    Manual,
}

/// Everything the builder collected; read by every mode.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub name: String,
    pub listeners: Vec<ListenerSpec>,
    pub lameduck: Duration,
    /// From draining (listeners stop yielding connections) to lameduck.
    pub grace: Duration,
    pub persist: bool,
    /// With `persist`: give up after more than this many restarts within
    /// this window.
    pub restart_limit: (u32, Duration),
    pub fallback: bool,
    pub flag: String,
    pub supervisor_init: Option<fn()>,
    pub ready: Ready,
    pub ready_timeout: Duration,
    pub help: bool,
    pub flavor: Flavor,
    pub worker_threads: Option<usize>,
    /// Mistakes found while building; reported (exit 2) by `run`.
    pub errors: Vec<String>,
}

impl Config {
    /// Checks what no single builder call can: a listener named like the
    /// mode flag, whichever was set first.
    pub(crate) fn check(&mut self) {
        if self.listeners.iter().any(|l| l.name == self.flag) {
            let flag = &self.flag;
            self.errors
                .push(format!("listener `{flag}` has the name of the mode flag"));
        }
    }
}

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
///             let _ = listener; // serve until ctx.lameduck() completes
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
    /// `[A-Za-z0-9_-]+`: it names the control socket that `reload`, `stop`
    /// and `status` talk to.
    ///
    /// ```
    /// let lb = littleboss::Littleboss::new("myblog");
    /// # let _ = lb;
    /// ```
    pub fn new(name: &str) -> Self {
        let mut errors = Vec::new();
        if let Err(e) = crate::spec::check_service_name(name) {
            errors.push(e);
        }
        Littleboss {
            config: Config {
                name: name.to_owned(),
                listeners: Vec::new(),
                lameduck: Duration::from_secs(2),
                grace: Duration::from_secs(1),
                persist: false,
                restart_limit: (5, Duration::from_secs(60)),
                fallback: true,
                flag: "littleboss".to_owned(),
                supervisor_init: None,
                ready: Ready::Auto,
                ready_timeout: Duration::from_secs(30),
                help: true,
                flavor: Flavor::MultiThread,
                worker_threads: None,
                errors,
            },
        }
    }

    /// Declares a listener `name` with its default `NET:ADDR`, for example
    /// `"tcp::443"`, `"udp4:127.0.0.1:53"`, `"unix:/run/app.sock"`, or
    /// `"tcp:"` for one that is off unless the command line gives an
    /// address. The command line overrides the address with `-NAME=ADDR`.
    ///
    /// ```
    /// let lb = littleboss::Littleboss::new("svc")
    ///     .listener("https", "tcp::443")
    ///     .listener("admin", "tcp:");
    /// # let _ = lb;
    /// ```
    pub fn listener(mut self, name: &str, spec: &str) -> Self {
        let config = &mut self.config;
        if config.listeners.iter().any(|l| l.name == name) {
            config
                .errors
                .push(format!("listener `{name}` is declared twice"));
        } else {
            match ListenerSpec::parse(name, spec) {
                Ok(l) => config.listeners.push(l),
                Err(e) => config.errors.push(e),
            }
        }
        self
    }

    /// How long a child may drain after lameduck before it is killed
    /// (default 2 s).
    ///
    /// ```
    /// let lb = littleboss::Littleboss::new("svc").lameduck(std::time::Duration::from_secs(10));
    /// # let _ = lb;
    /// ```
    pub fn lameduck(mut self, timeout: Duration) -> Self {
        self.config.lameduck = timeout;
        self
    }

    /// The first-byte grace (default 1 s, never more than half the
    /// lameduck timeout): when this program starts winding down, its TCP
    /// listeners stop yielding connections at once (a reload's new child
    /// takes them), and [`Context::lameduck`] completes only this much
    /// later, once connections accepted just before have had time to send
    /// their first request. Longer for clients that are slow to speak
    /// after connecting; zero to complete lameduck at once.
    ///
    /// ```
    /// let lb = littleboss::Littleboss::new("svc").grace(std::time::Duration::from_millis(500));
    /// # let _ = lb;
    /// ```
    pub fn grace(mut self, grace: Duration) -> Self {
        self.config.grace = grace;
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
        self
    }

    /// With [`persist`](Littleboss::persist): when the child has had to be
    /// restarted more than `max` times within `within`, the supervisor stops
    /// trying and exits non-zero, saying why, so that systemd or an
    /// operator takes over (default 5 within 60 s). Restarts are spaced by
    /// a backoff from 100 ms doubling to 30 s, reset after 10 s of health.
    ///
    /// ```
    /// let lb = littleboss::Littleboss::new("svc")
    ///     .persist(true)
    ///     .restart_limit(10, std::time::Duration::from_secs(300));
    /// # let _ = lb;
    /// ```
    pub fn restart_limit(mut self, max: u32, within: Duration) -> Self {
        if within.is_zero() {
            self.config
                .errors
                .push("restart_limit needs a window longer than zero".to_owned());
        }
        self.config.restart_limit = (max, within);
        self
    }

    /// When a child promoted by a reload dies during its probation period,
    /// start the previous binary again (default on).
    ///
    /// ```
    /// let lb = littleboss::Littleboss::new("svc").fallback(false);
    /// # let _ = lb;
    /// ```
    pub fn fallback(mut self, on: bool) -> Self {
        self.config.fallback = on;
        self
    }

    /// The name of the mode flag (default `littleboss`, as in `-littleboss=start`).
    ///
    /// ```
    /// let lb = littleboss::Littleboss::new("svc").flag("lb"); // -lb=start
    /// # let _ = lb;
    /// ```
    pub fn flag(mut self, name: &str) -> Self {
        if let Err(e) = crate::spec::check_flag_name(name) {
            self.config.errors.push(e);
        }
        self.config.flag = name.to_owned();
        self
    }

    /// A function the supervisor runs once, before its first child starts.
    /// It is the only program code the supervisor runs.
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

    /// How long a new child has to become ready before it is stopped and
    /// its reload fails (default 30 s).
    ///
    /// ```
    /// let lb = littleboss::Littleboss::new("svc").ready_timeout(std::time::Duration::from_secs(5));
    /// # let _ = lb;
    /// ```
    pub fn ready_timeout(mut self, timeout: Duration) -> Self {
        self.config.ready_timeout = timeout;
        self
    }

    /// Whether littleboss answers `-h`/`--help` itself (default on). Turn it
    /// off for a program with its own argument parser; it can still show
    /// littleboss's flags with [`Context::flags_help`].
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

    /// The number of worker threads of a multi-thread runtime.
    ///
    /// ```
    /// let lb = littleboss::Littleboss::new("svc").worker_threads(2);
    /// # let _ = lb;
    /// ```
    pub fn worker_threads(mut self, threads: usize) -> Self {
        if threads == 0 {
            self.config
                .errors
                .push("worker_threads must be at least 1".to_owned());
        }
        self.config.worker_threads = Some(threads);
        self
    }

    /// Runs the program: decides the mode from the command line, then runs
    /// `main` directly (bypass), becomes the supervisor (start), or talks to
    /// a running supervisor (reload, stop, status). Never returns.
    ///
    /// `main` may return `()` or `Result<(), E>` with `E: Display`; an `Err`
    /// is printed and the process exits 1.
    ///
    /// Code before `run` runs in every process the binary becomes: each
    /// child, each control command, and, in start mode, twice in the
    /// supervisor's, which first executes the binary once more (same pid)
    /// to turn off glibc's per-thread allocator cache; the second time it
    /// sees `glibc.malloc.tcache_count=0` in `GLIBC_TUNABLES` and two
    /// `LITTLEBOSS_SAVED_` variables, which are gone by `supervisor_init`
    /// unless that code left threads running (children still get the
    /// user's environment).
    /// Keep it free of side effects; work for the supervisor alone belongs
    /// in [`supervisor_init`](Littleboss::supervisor_init).
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
                rt.block_on(crate::started::OnFirstPending::new(main(ctx), started))
                    .into_exit_code()
            }),
        )
    }

    /// Like [`run`](Littleboss::run) for a synchronous `main`. A tokio
    /// runtime is entered around it, so the [`Context`] listener methods
    /// work; drive async code with `tokio::runtime::Handle::current().block_on`.
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
                main(ctx).into_exit_code()
            }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::Littleboss;

    #[test]
    fn a_listener_named_like_the_mode_flag_is_an_error_in_either_order() {
        let mut a = Littleboss::new("svc")
            .listener("lb", "tcp:")
            .flag("lb")
            .config;
        let mut b = Littleboss::new("svc")
            .flag("lb")
            .listener("lb", "tcp:")
            .config;
        a.check();
        b.check();
        assert_eq!(a.errors, ["listener `lb` has the name of the mode flag"]);
        assert_eq!(b.errors, a.errors);
    }

    #[test]
    fn bad_values_are_collected_not_panicked() {
        let config = Littleboss::new("my svc")
            .listener("x", "sctp::1")
            .worker_threads(0)
            .config;
        assert_eq!(config.errors.len(), 3, "{:?}", config.errors);
    }
}
