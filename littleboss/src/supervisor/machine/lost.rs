//! What a new image makes of what did not come across an in-place upgrade
//! whole: a child without its channel, a listener without its descriptor.
//! (The code before `run` of a builder program may close descriptors it
//! did not open; the driver finds what is missing as it takes them back.)

use super::{ChildExit, ChildId, Effect, ListenerKey, Machine, Why};

impl Machine {
    /// Child `id` came across without its channel, and the driver killed
    /// it with its process group: nothing could watch or tell it anything.
    /// The supervisor's own loss, not the program's failure: a serving
    /// child is started again at once from the very file it ran, counted
    /// as no failure, whatever `persist` says. Were it on probation, the
    /// one in its place is, from its ready: should that fail to start or
    /// die within it, the reload rolls back as it would have (to a child
    /// that had died on its own, by a restart with persist; unless no
    /// start could begin at all, too many hung). (A child
    /// that was starting failed its start; an old one draining is gone.)
    pub(super) fn on_child_lost(&mut self, id: ChildId) {
        let Some(child) = self.state.children.get(&id) else {
            return;
        };
        let pid = child.pid.unwrap_or(0);
        say!(
            self,
            "child pid {pid} came across the in-place upgrade without its channel: killed with its process group, as nothing could watch or tell it anything"
        );
        let serving = self.up().is_some_and(|up| up.serving == Some(id));
        if !serving {
            return self.on_exit(id, ChildExit::Signal(nix::libc::SIGKILL));
        }
        let Some(child) = self.state.children.remove(&id) else {
            return;
        };
        self.state.last_exit = Some(format!(
            "child pid {pid} was killed: it came across an in-place upgrade without its channel"
        ));
        let now = self.now;
        // Served long enough: its end resets the backoff, as a serving
        // child's exit does (an earlier crash loop's 30 s is not the wait
        // should the one started in its place crash).
        if super::served_healthy(&child, now) {
            self.state.restart_delay = super::RESTART_FIRST;
        }
        let Some(up) = self.up() else { return };
        up.serving = None;
        // Not one run out (cleared at the next tick, which the upgrade may
        // have put off). Left in place until the restart below has begun,
        // so that what it comes back to keeps its sockets meanwhile.
        let probation = (up.probation.clone()).filter(|p| p.id == id && now < p.until);
        // A reload under way replaces it; should that reload's child fail,
        // this is what comes back, as for a serving child that died.
        // (No upgrade comes while a reload starts, so no upgrade given up
        // on is the lost child's to move.)
        if let Some(starting) = up.starting.as_mut() {
            starting.replaced_died = Some((child.launch_again(id), child.binary));
            up.probation = None;
            self.tell_alone();
            return self.notify_status();
        }
        self.tell_alone();
        say!(self, "starting it again");
        let again = self.start_child(child.launch_again(id), Why::Restart);
        let probation = probation.filter(|_| self.state.settings.fallback);
        if let Some(up) = self.up() {
            up.probation = None;
        }
        if let (Some(again), Some(up)) = (again, self.up()) {
            if let Some(probation) = probation {
                // Should this one fail to start, what that probation comes
                // back to starts: a rollback at once; a child that had died
                // on its own by a restart, only with persist, through the
                // backoff and the limit, as when a reload's child dies in
                // such a probation (`starting_failed`, from the probation
                // this one keeps).
                if !probation.revives {
                    up.fallback_to = Some(probation.previous.clone());
                }
                // Once ready, the probation is this one's (`promote`).
                if let Some(starting) = up.starting.as_mut() {
                    starting.lost_probation = Some(probation);
                }
            }
            // An upgrade given up on for the lost child is for this one.
            if self.state.upgrade_skipped == Some(id) {
                self.state.upgrade_skipped = Some(again);
            }
        }
        self.notify_status();
    }

    /// Listener `key`'s descriptor did not come across (`error`: why). One
    /// the service manager passed, or bound on port 0, cannot be bound
    /// again as it was: held on without a descriptor, no later child is
    /// given it. Any other is held no more, and the next launch that gives
    /// it an address binds it anew, which fails while a child that has it
    /// serves on with it (its address in use).
    pub(super) fn on_listener_lost(&mut self, key: ListenerKey, error: String) {
        let address = match key.port_0_owner() {
            Some(owner) => format!("`{owner}` ({} {})", key.network, key.bind_address()),
            None => key.address.clone(),
        };
        let activated = self.state.held.get(&key).is_some_and(|h| h.activated);
        let unbindable = if activated {
            Some("it is the service manager's")
        } else if key.any_port() {
            Some("its port was the kernel's choice")
        } else {
            None
        };
        match unbindable {
            Some(why) => {
                say!(
                    self,
                    "listener {address} was not handed over: {error}; a child that has it serves on with it, but no later child can be given it ({why}): stop and start the service to have it again"
                );
                if let Some(held) = self.state.held.get_mut(&key) {
                    held.lost = true;
                }
            }
            None => {
                say!(
                    self,
                    "listener {address} was not handed over: {error}; the supervisor holds it no more (a child that has it serves on with it; a later one binds it anew once no child has it: until then its address is in use, and a reload that keeps it fails)"
                );
                self.state.held.remove(&key);
            }
        }
    }
}
