//! Limits on single values, and the checks across settings: what the
//! builder and the attribute both enforce once every setting is known.

use super::RuleError;

/// The mode flag's name unless `flag` chooses another.
pub(crate) const DEFAULT_FLAG: &str = "littleboss";

/// The lameduck timeout unless `lameduck` sets another, in milliseconds.
pub(crate) const DEFAULT_LAMEDUCK_MS: u64 = 2000;

/// `ready_timeout` must be more than zero: no child could become ready in
/// no time, so every start and reload would fail.
pub(crate) fn nonzero_ready_timeout(zero: bool) -> Result<(), RuleError> {
    if zero {
        return Err(RuleError::ZeroReadyTimeout);
    }
    Ok(())
}

/// The `restart_limit` window must be more than zero: a limit over no time
/// would never count a restart.
pub(crate) fn nonzero_restart_window(zero: bool) -> Result<(), RuleError> {
    if zero {
        return Err(RuleError::ZeroRestartWindow);
    }
    Ok(())
}

/// A `restart_limit` must allow a restart: one of 0 would give up at
/// the child's first exit, its code 0 too, having restarted nothing.
pub(crate) fn some_restarts(max: u32) -> Result<(), RuleError> {
    if max == 0 {
        return Err(RuleError::NoRestarts);
    }
    Ok(())
}

/// The most listeners a program may declare: a child is handed all of
/// them in one message, and one message carries at most 253 descriptors
/// (the kernel's `SCM_MAX_FD`).
pub(crate) const MAX_LISTENERS: usize = 253;

/// A runtime needs at least one worker thread, and at most
/// `MOST_WORKER_THREADS`.
pub(crate) fn nonzero_worker_threads(threads: usize) -> Result<(), RuleError> {
    if threads == 0 {
        return Err(RuleError::ZeroWorkerThreads);
    }
    // Each a thread: tokio's builder panics on a count near `usize::MAX`,
    // and a process meets the kernel's thread limit far below this.
    if threads > MOST_WORKER_THREADS {
        let threads = threads.to_string();
        return Err(RuleError::TooManyWorkerThreads { threads });
    }
    Ok(())
}

/// `worker_threads` written in decimal `digits` (the attribute's), as
/// [`nonzero_worker_threads`] takes it: one too large for any integer is
/// too many all the same.
pub(crate) fn worker_threads_written(digits: &str) -> Result<usize, RuleError> {
    let too_many = || RuleError::TooManyWorkerThreads {
        threads: digits.to_owned(),
    };
    let threads = digits.parse::<usize>().map_err(|_| too_many())?;
    nonzero_worker_threads(threads).map(|()| threads)
}

/// The most `worker_threads` taken.
pub(crate) const MOST_WORKER_THREADS: usize = 32_768;

/// What the checks across settings need to know: only what was set, since
/// a default never conflicts.
#[derive(Debug, Default)]
pub(crate) struct Settings<'a> {
    /// The listeners' names, in declaration order.
    pub listeners: Vec<&'a str>,
    /// The listeners whose declaration is valid: name, network and
    /// address (empty: off).
    pub declared: Vec<(&'a str, &'a str, &'a str)>,
    /// The mode flag's name, when chosen.
    pub flag: Option<&'a str>,
    /// Whether a mode flag was given and refused: its name is then not
    /// known, and no listener is said to clash with the default's (one
    /// error for one mistake).
    pub flag_refused: bool,
    /// `persist`, when set.
    pub persist: Option<bool>,
    /// Whether `restart_limit` was set.
    pub restart_limit: bool,
    /// Whether the flavor was set to the current-thread runtime.
    pub current_thread: bool,
    /// Whether `worker_threads` was set.
    pub worker_threads: bool,
    /// `grace`, in milliseconds, when set.
    pub grace_ms: Option<u64>,
    /// `lameduck`, in milliseconds, when set.
    pub lameduck_ms: Option<u64>,
}

impl Settings<'_> {
    /// Every conflict between settings, in a fixed order: more than
    /// [`MAX_LISTENERS`] listeners, listeners named
    /// like the mode flag, two listeners asking for one socket or for
    /// sockets that overlap,
    /// `worker_threads` with `current_thread`, a
    /// `grace` over half of `lameduck`, `restart_limit` without `persist`.
    pub fn check(&self) -> Vec<RuleError> {
        let mut errors = Vec::new();
        if self.listeners.len() > MAX_LISTENERS {
            errors.push(RuleError::TooManyListeners {
                count: self.listeners.len(),
            });
        }
        let flag = self.flag.or((!self.flag_refused).then_some(DEFAULT_FLAG));
        for name in (self.listeners.iter()).filter(|name| Some(**name) == flag) {
            errors.push(RuleError::ListenerNamedLikeFlag {
                name: (*name).to_owned(),
                flag_chosen: self.flag.is_some(),
            });
        }
        errors.extend(super::socket_conflicts(self.declared.iter().copied()));
        if self.worker_threads && self.current_thread {
            errors.push(RuleError::WorkerThreadsWithCurrentThread);
        }
        // A default grace longer than half a short lameduck is shortened
        // without a word; a grace chosen so is a mistake to say.
        if let Some(grace_ms) = self.grace_ms {
            let lameduck_ms = self.lameduck_ms.unwrap_or(DEFAULT_LAMEDUCK_MS);
            if grace_ms > lameduck_ms / 2 {
                errors.push(RuleError::GraceOverHalfLameduck {
                    grace_ms,
                    lameduck_ms,
                    lameduck_set: self.lameduck_ms.is_some(),
                });
            }
        }
        if self.restart_limit && self.persist != Some(true) {
            errors.push(RuleError::RestartLimitWithoutPersist {
                persist_off: self.persist == Some(false),
            });
        }
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(settings: Settings<'_>) -> Vec<String> {
        settings.check().iter().map(ToString::to_string).collect()
    }

    #[test]
    fn nothing_set_conflicts_with_nothing() {
        assert_eq!(Settings::default().check(), []);
        let fine = Settings {
            listeners: vec!["https", "lb"],
            persist: Some(true),
            restart_limit: true,
            worker_threads: true,
            ..Settings::default()
        };
        assert_eq!(fine.check(), []);
    }

    #[test]
    fn listener_named_like_the_default_or_chosen_flag() {
        assert_eq!(
            messages(Settings {
                listeners: vec!["https", "littleboss"],
                ..Settings::default()
            }),
            [
                "listener `littleboss` has the name of the mode flag (`-littleboss=start`); \
              rename the listener, or the flag with `flag = \"...\"`"
            ]
        );
        assert_eq!(
            messages(Settings {
                listeners: vec!["lb"],
                flag: Some("lb"),
                ..Settings::default()
            }),
            ["listener `lb` has the name of the mode flag (`flag = \"lb\"`); rename one of them"]
        );
        // Once the flag is renamed, `littleboss` is a listener name like any.
        let renamed = Settings {
            listeners: vec!["littleboss"],
            flag: Some("lb"),
            ..Settings::default()
        };
        assert_eq!(renamed.check(), []);
    }

    #[test]
    fn two_listeners_asking_for_one_socket() {
        let declared = vec![
            ("a", "tcp::80"),
            ("b", "tcp::080"),
            ("c", "tcp4::80"),
            ("d", "tcp:127.0.0.1:0"),
            ("e", "tcp:127.0.0.1:0"),
            ("f", "unix:./x.sock"),
            ("g", "unix:x.sock"),
            ("h", "tcp:"),
            ("i", "tcp:"),
        ];
        let declared = (declared.into_iter())
            .map(|(name, spec)| {
                let (network, addr) = spec.split_once(':').unwrap();
                (name, network, addr)
            })
            .collect();
        assert_eq!(
            messages(Settings {
                declared,
                ..Settings::default()
            }),
            [
                "listeners `a` and `b` both ask for tcp :80; give each its own address",
                "listeners `a` (tcp :80) and `c` (tcp4 :80) ask for one port on addresses that overlap, which the kernel binds once (`tcp :PORT` is every IPv4 and IPv6 address, `tcp4 :PORT` every IPv4 one, `tcp6 :PORT` every IPv6 one); give each its own port, or addresses that do not overlap",
                "listeners `f` and `g` both ask for unix x.sock; give each its own address",
            ]
        );
    }

    #[test]
    fn runtime_and_restart_conflicts() {
        let errors = Settings {
            current_thread: true,
            worker_threads: true,
            restart_limit: true,
            ..Settings::default()
        }
        .check();
        assert_eq!(
            errors,
            [
                RuleError::WorkerThreadsWithCurrentThread,
                RuleError::RestartLimitWithoutPersist { persist_off: false }
            ]
        );
        assert_eq!(
            messages(Settings {
                restart_limit: true,
                persist: Some(false),
                ..Settings::default()
            }),
            [
                "`restart_limit` only applies with `persist = true`, but `persist = false`; \
              remove one of them"
            ]
        );
    }

    #[test]
    fn zero_values() {
        assert_eq!(nonzero_ready_timeout(false), Ok(()));
        assert_eq!(
            nonzero_ready_timeout(true).unwrap_err().to_string(),
            "`ready_timeout` must be more than zero"
        );
        assert_eq!(
            nonzero_restart_window(true),
            Err(RuleError::ZeroRestartWindow)
        );
        assert_eq!(nonzero_worker_threads(1), Ok(()));
        assert_eq!(nonzero_worker_threads(MOST_WORKER_THREADS), Ok(()));
        assert_eq!(
            nonzero_worker_threads(usize::MAX).unwrap_err().to_string(),
            format!(
                "`worker_threads = {}` is more than 32768: a thread each, which the runtime could not start",
                usize::MAX
            )
        );
        assert_eq!(
            nonzero_worker_threads(0).unwrap_err().to_string(),
            "`worker_threads` must be at least 1"
        );
    }
}
