//! What `status` shows, read off the machine's state.

use super::Machine;
use super::state::{ChildId, Phase};
use crate::control::status::{
    ChildStatus, DrainingStatus, ListenerStatus, RestartStatus, StartingStatus, Status,
};

impl Machine {
    /// The supervisor's state as `status` reports it.
    pub fn status(&self) -> Status {
        let state = &self.state;
        let describe = |id: ChildId| {
            state.children.get(&id).map(|c| ChildStatus {
                pid: c.pid,
                started: c
                    .started_unix
                    .unwrap_or(state.started_unix + c.started.as_secs()),
                path: c.launch.target.file().display().to_string(),
                replaced: c.path_replaced,
                args: c
                    .launch
                    .args
                    .iter()
                    .map(|a| a.to_string_lossy().into_owned())
                    .collect(),
            })
        };
        let (serving, starting) = match &state.phase {
            Phase::Up(up) => (up.serving, up.starting.as_ref()),
            // Winding down: as they were when the stop began.
            Phase::Stopping(stopping) => (stopping.serving, stopping.starting.as_ref()),
            Phase::Exited { .. } => (None, None),
        };
        // Told to wind down, or killed. Not a starting child killed for
        // failing, while up: it shows as starting, its failure to come.
        let failing = match &state.phase {
            Phase::Up(up) => up.starting.as_ref().map(|s| s.id),
            _ => None,
        };
        // The child starting as a stop began is killed at its hello
        // deadline, if that comes first.
        let silent = match &state.phase {
            Phase::Stopping(stopping) => {
                (stopping.starting.as_ref()).and_then(|s| s.hello_by.map(|at| (s.id, at)))
            }
            _ => None,
        };
        let draining = state
            .children
            .iter()
            // Not one whose spawn has not returned: it has no pid to show
            // (and an older client reads none as a mistake); one a stop
            // told to wind down shows under `binding` still.
            .filter(|(id, c)| (c.lameducked || c.killed) && Some(**id) != failing)
            .filter(|(_, c)| c.pid.is_some())
            .filter_map(|(&id, c)| {
                Some(DrainingStatus {
                    child: describe(id)?,
                    kill_in_ms: match (c.killed, c.kill_at) {
                        (false, Some(at)) => {
                            let at = match silent {
                                Some((silent, hello_by)) if silent == id => at.min(hello_by),
                                _ => at,
                            };
                            Some(millis_up(at.saturating_sub(self.now)))
                        }
                        _ => None,
                    },
                    given_up: c.abandoned,
                })
            })
            .collect();
        let starting = starting.and_then(|s| {
            describe(s.id).map(|child| StartingStatus {
                child,
                why: s.why.as_str().to_owned(),
            })
        });
        // Not spawned yet: under a field of its own, so that `starting` (as
        // an older client reads it) always has a pid.
        let (starting, binding) = match starting {
            Some(s) if s.child.pid.is_none() => (None, Some(s)),
            starting => (starting, None),
        };
        // Exited: answering its last requests, as it goes.
        let stopping = matches!(state.phase, Phase::Stopping(_) | Phase::Exited { .. });
        Status {
            name: state.settings.name.clone(),
            supervisor_pid: state.pid,
            supervisor_started: state.started_unix,
            child: serving.and_then(describe),
            starting,
            binding,
            reloads: state.reloads,
            failures: state.failures,
            last_failure: state.last_failure.clone(),
            last_exit: state.last_exit.clone(),
            listeners: state
                .current
                .listeners
                .iter()
                .map(|l| ListenerStatus {
                    name: l.name.clone(),
                    network: l.network.to_string(),
                    address: l.key.as_ref().map(|k| {
                        let held = state.held.get(k).map(|h| &h.address);
                        let shut = || match &state.phase {
                            Phase::Stopping(stopping) => stopping.shut.get(k),
                            Phase::Exited { shut, .. } => shut.get(k),
                            Phase::Up(_) => None,
                        };
                        held.or_else(shut)
                            .map_or(k.bind_address().to_owned(), String::clone)
                    }),
                    // A stop shuts the stream sockets that are not the
                    // service manager's (a child, or the supervisor);
                    // exited, the supervisor has let go of every one of
                    // its own.
                    // One lost in an upgrade is the service manager's to
                    // hold (listening), or no one's.
                    listening: l.key.as_ref().is_some_and(|key| {
                        (state.held.get(key)).is_some_and(|held| match &state.phase {
                            _ if held.lost => held.activated,
                            Phase::Exited { .. } => held.activated,
                            _ => !(stopping && super::own_stream(key, held)),
                        })
                    }),
                    lost_in_upgrade: l
                        .key
                        .as_ref()
                        .is_some_and(|key| state.held.get(key).is_some_and(|held| held.lost)),
                    // One let go of for its removed file, not bound
                    // again yet; one held, told by the driver, which
                    // looks at the files.
                    file_removed: l.key.as_ref().is_some_and(|key| {
                        state.files_removed.contains_key(key) && !state.held.contains_key(key)
                    }),
                    key: l.key.clone(),
                })
                .collect(),
            supervisor_binary: Some(state.image.path.display().to_string()),
            upgrades: state.image.upgrades,
            stopping,
            draining,
            restart: self.restart_status(),
        }
    }

    /// A `persist` restart waiting out its backoff, if one is.
    fn restart_status(&self) -> Option<RestartStatus> {
        let state = &self.state;
        let Phase::Up(up) = &state.phase else {
            return None;
        };
        let at = up.restart_at?;
        let (limit, window) = state.settings.restart_limit;
        // As the limit counted them when this restart was planned: those
        // recorded are the ones within its window then, pruned as it was
        // counted (counted from now, a backoff longer than the window
        // would leave even this one out).
        let recent = state.restarts.len() as u32;
        Some(RestartStatus {
            in_ms: millis_up(at.saturating_sub(self.now)),
            recent,
            limit,
            window_ms: window.as_millis() as u64,
        })
    }
}

/// What is left of a wait in whole milliseconds, rounded up: a deadline
/// 0.4 ms away is not yet "0 ms" away.
fn millis_up(left: std::time::Duration) -> u64 {
    u64::try_from(left.as_nanos().div_ceil(1_000_000)).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[test]
    fn what_is_left_of_a_wait_is_rounded_up_to_the_millisecond() {
        let left =
            [0, 400, 1_000, 400_000, 1_000_000, 1_000_001, 1_999_999_999].map(Duration::from_nanos);
        assert_eq!(left.map(super::millis_up), [0, 1, 1, 1, 1, 2, 2000]);
    }
}
