//! What a program is configured with, read by every mode: below the
//! builder that makes it and the modes that use it.

use std::time::Duration;

use crate::rules::{RuleError, Settings};
use crate::spec::ListenerSpec;

/// Which tokio runtime runs the program's `main` (in bypass mode and in the
/// supervised child). The supervisor always uses a small runtime of its own.
///
/// ```
/// let lb = littleboss::Littleboss::new("svc").flavor(littleboss::Flavor::CurrentThread);
/// # let _ = lb;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
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
#[non_exhaustive]
pub enum Ready {
    /// Ready as soon as the program's `main` is under way: an async `main`
    /// when it first waits on something (so one that fails at once is never
    /// promoted), a plain `main` when it is called.
    #[default]
    Auto,
    /// Ready only when the program calls [`Context::ready`](crate::Context::ready).
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
    /// Whether the supervisor re-executes itself from a reloaded child's
    /// binary when it differs from its own; see
    /// [`Littleboss::self_upgrade`](crate::Littleboss::self_upgrade).
    pub self_upgrade: bool,
    pub flag: String,
    pub supervisor_init: Option<fn()>,
    pub ready: Ready,
    pub ready_timeout: Duration,
    pub help: bool,
    pub flavor: Flavor,
    pub worker_threads: Option<usize>,
    /// Mistakes of single calls, in call order; a rejected value is not
    /// kept, as the macro keeps none, so it adds no conflict below.
    pub errors: Vec<RuleError>,
    /// Which settings were chosen rather than left at their default.
    pub chosen: Chosen,
}

/// The settings whose conflicts depend on whether they were chosen at all.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Chosen {
    pub flag: bool,
    pub persist: bool,
    pub restart_limit: bool,
    pub grace: bool,
    pub lameduck: bool,
    /// A `flag` was given and refused, none accepted: a listener named
    /// like the default one is no mistake of its own then.
    pub flag_refused: bool,
    /// A `lameduck` was given and refused: the default is then not the
    /// measure of `grace` (one error for one mistake, as the macro's).
    pub lameduck_refused: bool,
}

impl Config {
    /// Every mistake: those of single calls, then the conflicts between
    /// settings (whichever was set first), as the macro reports them.
    pub(crate) fn mistakes(&self) -> Vec<RuleError> {
        let settings = Settings {
            listeners: self.listeners.iter().map(|l| l.name.as_str()).collect(),
            declared: (self.listeners.iter())
                .map(|l| {
                    let address = l.address.as_deref().unwrap_or_default();
                    (l.name.as_str(), l.network.as_str(), address)
                })
                .collect(),
            flag: self.chosen.flag.then_some(self.flag.as_str()),
            flag_refused: self.chosen.flag_refused && !self.chosen.flag,
            persist: self.chosen.persist.then_some(self.persist),
            restart_limit: self.chosen.restart_limit,
            current_thread: self.flavor == Flavor::CurrentThread,
            worker_threads: self.worker_threads.is_some(),
            grace_ms: (self.chosen.grace
                && (self.chosen.lameduck || !self.chosen.lameduck_refused))
                .then_some(millis(self.grace)),
            lameduck_ms: self.chosen.lameduck.then_some(millis(self.lameduck)),
        };
        let mut mistakes = self.errors.clone();
        mistakes.extend(settings.check());
        mistakes
    }
}

/// A duration in whole milliseconds, as the rules take it (saturating).
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
