//! When the supervisor re-executes itself in place, and what it holds back
//! meanwhile.
//!
//! Once a child from another binary than the supervisor's own serves, and
//! nothing else is under way, the supervisor becomes that binary: same
//! pid, sockets, children and control socket. The replies and the
//! `READY=1` decided in that step wait for the new image, so that a
//! `reload` returns once the supervisor runs the new code. A binary that
//! cannot take the state over (as each of its children says at its hello)
//! is not tried; one whose upgrade failed for a reason of its own is not
//! tried again until an upgrade to another succeeds (its file may be a
//! new build's by then; the last one is remembered, not every one); after a
//! passing failure only that child's upgrade is given up, and the next
//! reload to it tries again. A reload's client hears why its binary was
//! not become.
//!
//! The upgrade does not wait for the new child's probation: `reload`
//! answers once everything it changed is in place, and a supervisor that
//! ran the new code for 5 s proves no more than one that resumed at all
//! (an image that cannot resume goes back by itself). If the child is
//! then rolled back, the supervisor follows it back to the previous
//! binary, as it would follow any reload.

use super::state::{Phase, STATE_VERSION, Upgrading};
use super::{Effect, Machine, Notice};

impl Machine {
    /// Begins an upgrade if one is due; called after every event.
    pub(super) fn upgrade_if_due(&mut self) {
        let state = &self.state;
        if state.upgrade.is_some() || !state.settings.self_upgrade {
            return;
        }
        let Phase::Up(up) = &state.phase else { return };
        let Some((id, child)) = up
            .serving
            .filter(|id| state.upgrade_skipped != Some(*id))
            .and_then(|id| Some((id, state.children.get(&id)?)))
        else {
            return;
        };
        let (Some(binary), Some(pid)) = (child.binary, child.pid) else {
            return;
        };
        if state.image.id.is_none_or(|ours| ours == binary) {
            return;
        }
        // The file itself, not a symlink that may move on.
        let path =
            (child.resolved.clone()).unwrap_or_else(|| child.launch.target.file().to_owned());
        if state.upgrade_refused == Some(binary) {
            // Said once per child: this step marks it skipped.
            let why =
                (state.upgrade_refused_why.clone()).unwrap_or_else(|| "refused before".to_owned());
            say!(
                self,
                "the supervisor keeps running its own binary rather than {} (child pid {pid}): {why}",
                path.display()
            );
            self.state.upgrade_skipped = Some(id);
            let told = format!("{} was refused before: {why}", path.display());
            tell_not_upgraded(self.effects.iter_mut().filter_map(reply), &told);
            return;
        }
        if child.takes_over != Some(STATE_VERSION) {
            // Said of the binary: "it" in the log, by path to the client.
            let why = match child.takes_over {
                None => "does not offer to take the supervisor's state over (an older littleboss, or self_upgrade = false)".to_owned(),
                Some(v) => format!("reads supervisor state version {v}, not {STATE_VERSION}"),
            };
            say!(
                self,
                "the supervisor keeps running its own binary rather than {} (child pid {pid}): it {why}",
                path.display()
            );
            let told = format!("{} {why}", path.display());
            tell_not_upgraded(self.effects.iter_mut().filter_map(reply), &told);
            // Not remembered as refused: each child of it says so itself,
            // and the one binary remembered stays the one that failed.
            self.state.upgrade_skipped = Some(id);
            return;
        }
        // The rest waits for rest: nothing starting, bound, queued or due
        // to restart, so no child is between its spawn and its hello. (A
        // binary refused is told at once, in the step its reload is
        // answered: its client hears why.)
        if up.starting.is_some() || !up.queued.is_empty() || up.restart_at.is_some() {
            return;
        }
        // Each child the new image would take over must be watched by
        // pidfd, which it adopts them by (none is, without pidfds), and
        // none may be spawning still (a start given up on, its exec not
        // returned): the exec would lose it.
        if (state.children.values()).any(|c| c.pid.is_none() || !c.by_pidfd) {
            // The wait for a hung exec may be long: said, once per child,
            // when it is what the upgrade waits for (not a child watched
            // by pid, which no exec's return would change).
            let by_pid: Vec<String> = (state.children.values())
                .filter(|c| !c.by_pidfd)
                .filter_map(|c| Some(c.pid?.to_string()))
                .collect();
            let hung = state.children.values().any(|c| c.spawn_given_up()) && by_pid.is_empty();
            if hung && state.upgrade_held_for != Some(id) {
                say!(
                    self,
                    "the supervisor's upgrade in place to {} waits for the exec of a child given up on, which has not returned (a file system that hangs?)",
                    path.display()
                );
                self.state.upgrade_held_for = Some(id);
            }
            // A reload answered in this step is told that the supervisor
            // is not its binary yet, and why (the log said it at the
            // spawn, or just above).
            let path = path.display();
            // (A child between its spawn and its hello holds the upgrade
            // off above: with none watched by pid, the exec it waits for
            // is a hung one's.)
            let told = match &by_pid[..] {
                [] => format!(
                    "its upgrade in place to {path} waits for the exec of a child given up on, which has not returned"
                ),
                [one] => format!(
                    "no upgrade in place to {path} while child pid {one} is watched by pid, not by pidfd (see the supervisor's log)"
                ),
                many => format!(
                    "no upgrade in place to {path} while children pid {} are watched by pid, not by pidfd (see the supervisor's log)",
                    many.join(", pid ")
                ),
            };
            tell_not_upgraded(self.effects.iter_mut().filter_map(reply), &told);
            return;
        }
        // Hold this step's answers and READY=1 for the new image.
        let mut replies = Vec::new();
        let mut ready_held = false;
        self.effects.retain(|effect| match effect {
            Effect::Reply { client, response } => {
                replies.push((*client, response.clone()));
                false
            }
            Effect::Notify(Notice::Ready) => {
                ready_held = true;
                false
            }
            _ => true,
        });
        if !ready_held {
            self.notify_reloading(false);
        }
        say!(
            self,
            "upgrading the supervisor in place to {}",
            path.display()
        );
        self.state.upgrade = Some(Upgrading {
            child: id,
            path,
            binary,
            replies,
            began: Some(self.now),
        });
        self.effects.push(Effect::Upgrade {
            child: id,
            pid,
            binary,
        });
    }

    /// The new image runs: it counts the upgrade and sends what was held.
    pub(super) fn on_upgraded(&mut self) {
        let Some(upgrade) = self.state.upgrade.take() else {
            return;
        };
        // Killed by an older image, which kept no time to give up on
        // them by: counted from now.
        let now = self.now;
        for child in self.state.children.values_mut() {
            if child.killed && child.pid.is_some() && !child.abandoned && child.reap_by.is_none() {
                child.reap_by = Some(now + super::KILLED_EXIT_WAIT);
            }
        }
        // A binary refused before is tried again after an upgrade to
        // another: its file (dev and inode) may be a new build's by now.
        self.state.upgrade_refused = None;
        self.state.upgrade_refused_why = None;
        let image = &mut self.state.image;
        image.path = upgrade.path.clone();
        image.id = Some(upgrade.binary);
        image.upgrades += 1;
        let (path, n) = (image.path.display().to_string(), image.upgrades);
        // From the decision to upgrade to the new image running its
        // machine: the pause, measured where it happens (a line's arrival
        // also measures the log's way out).
        let paused = upgrade
            .began
            .map(|began| {
                let ms = self.now.saturating_sub(began).as_secs_f64() * 1e3;
                format!("; paused {ms:.1} ms")
            })
            .unwrap_or_default();
        say!(
            self,
            "the supervisor runs {path} now (pid {}, in-place upgrade {n}){paused}",
            self.state.pid
        );
        self.release(upgrade);
    }

    /// The upgrade did not happen: the supervisor runs on as it was.
    pub(super) fn on_upgrade_failed(&mut self, error: String, refuse: bool) {
        let Some(upgrade) = self.state.upgrade.take() else {
            return;
        };
        let message = format!(
            "upgrading the supervisor to {} failed: {error}; it runs on from {}",
            upgrade.path.display(),
            self.state.image.path.display()
        );
        say!(self, "{message}");
        self.state.last_failure = Some(message);
        if refuse {
            self.state.upgrade_refused = Some(upgrade.binary);
            self.state.upgrade_refused_why = Some(format!("an upgrade to it failed: {error}"));
        }
        // Not tried again for this child either way.
        self.state.upgrade_skipped = Some(upgrade.child);
        let mut upgrade = upgrade;
        tell_not_upgraded(upgrade.replies.iter_mut().map(|(_, r)| r), &error);
        self.release(upgrade);
    }

    fn release(&mut self, upgrade: Upgrading) {
        for (client, response) in upgrade.replies {
            self.reply(client, response);
        }
        self.notify(Notice::Ready);
        self.notify_status();
    }
}

/// Has the reloads answered among `responses` say why the supervisor runs
/// on from its own binary: the reload's client hears it too, not only the
/// log (a deploy to a binary of an older littleboss looks whole else).
fn tell_not_upgraded<'a>(responses: impl Iterator<Item = &'a mut super::Response>, why: &str) {
    for response in responses {
        if let super::Response::Reloaded {
            supervisor_not_upgraded,
            ..
        } = response
        {
            *supervisor_not_upgraded = Some(why.to_owned());
        }
    }
}

/// The answer `effect` sends, if it is one.
fn reply(effect: &mut Effect) -> Option<&mut super::Response> {
    match effect {
        Effect::Reply { response, .. } => Some(response),
        _ => None,
    }
}
