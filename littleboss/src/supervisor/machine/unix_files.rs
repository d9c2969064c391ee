//! A unix socket whose file was removed (by hand, by a cleaner of `/tmp`)
//! listens on, but nobody can connect to it. The supervisor lets go of its
//! copy, so that the next launch (a reload, a restart) binds the path
//! again: kept, it would be handed to the new child, as out of reach. The
//! children started before keep their copies, out of reach, until the
//! first started since takes over (or they end).
//!
//! Which children have the socket bound again is told by their numbers:
//! [`State::files_removed`](super::state::State::files_removed) keeps, for
//! each socket let go of, the number of the first child to have it bound
//! again. Until a child from that number serves, the socket bound again is
//! held only while such a child (or a launch about to start) has it, or
//! no child with the old copy serves (a restart due: it queues for the
//! next child): a reload that failed lets it go again (its file removed),
//! rather than hold a queue no child takes connections from.

use super::listeners::ListenerKey;
use super::state::{ChildId, Launch, Phase};
use super::{Effect, Machine};
use crate::spec::Network;

impl Machine {
    /// The file of the unix socket held as `key` was removed from its
    /// folder: let go of, unless it is the service manager's (bound by
    /// it, not to be bound here) or the supervisor is stopping (no child
    /// will start).
    pub(super) fn on_unix_file_removed(&mut self, key: ListenerKey) {
        let path = key.address.clone();
        let ours = (self.state.held.get(&key)).is_some_and(|h| !h.activated && !h.lost);
        let up = match &self.state.phase {
            Phase::Up(up) if key.network == Network::Unix && ours => up,
            _ => {
                say!(
                    self,
                    "the file of the unix socket {path} was removed: nobody can connect to it"
                );
                return;
            }
        };
        // The first child to have it bound again: a start still binding
        // binds it too before its spawn (see `on_bound`); one spawned has
        // this copy.
        let since = (up.starting.as_ref())
            .filter(|s| s.binding)
            .map_or(self.state.next_id, |s| s.id);
        say!(
            self,
            "the file of the unix socket {path} was removed: nobody can connect to it; the supervisor lets go of it, and the next reload or restart binds it again (the serving child listens on out of reach until then)"
        );
        self.state.held.remove(&key);
        self.state.files_removed.insert(key.clone(), since);
        self.effects.push(Effect::Close { key });
    }

    /// Child `id` took over: the sockets bound again that it has are held
    /// as any other from now on.
    pub(super) fn forget_files_bound_again(&mut self, id: ChildId) {
        let Some(child) = self.state.children.get(&id) else {
            return;
        };
        let has = |key: &ListenerKey| has_key(&child.launch, key);
        // And those no launch that may run again names go (a reload that
        // dropped the listener): nothing is left to tell of them.
        let named: std::collections::BTreeSet<ListenerKey> = (self.launches_kept(true))
            .flat_map(|l| l.listeners.iter().filter_map(|a| a.key.clone()))
            .collect();
        (self.state.files_removed)
            .retain(|key, since| (id < *since || !has(key)) && named.contains(key));
    }

    /// Whether child `id` has, of the socket `key`, the copy let go of for
    /// its removed file (it was started before), if it has the socket.
    pub(super) fn has_copy_let_go(&self, id: ChildId, key: &ListenerKey) -> bool {
        (self.state.files_removed.get(key)).is_some_and(|since| id < *since)
    }

    /// Whether `key`, held, is in use as far as its file goes: any socket
    /// not let go of for its file is; one bound again while a child
    /// started since (not given up on) or `starting`, a launch about to
    /// start, has it, or no child with the old copy serves (a restart
    /// due: it queues for the next child, as any socket held does). Not
    /// while one does, and none started since has it (a reload that
    /// failed): nobody would take connections from it.
    pub(super) fn bound_again_in_use(&self, key: &ListenerKey, starting: Option<&Launch>) -> bool {
        let Some(&since) = self.state.files_removed.get(key) else {
            return true;
        };
        let children = &self.state.children;
        let serving = match &self.state.phase {
            Phase::Up(up) => up.serving,
            _ => None,
        };
        let old_copy_serves = serving
            .filter(|id| self.has_copy_let_go(*id, key))
            .and_then(|id| children.get(&id))
            .is_some_and(|child| has_key(&child.launch, key));
        !old_copy_serves
            || starting.is_some_and(|launch| has_key(launch, key))
            || (children.range(since..))
                .any(|(_, child)| !child.spawn_given_up() && has_key(&child.launch, key))
    }
}

/// Whether `launch` has a listener on the socket `key`.
fn has_key(launch: &Launch, key: &ListenerKey) -> bool {
    (launch.listeners.iter()).any(|a| a.key.as_ref() == Some(key))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::sim::{Sim, settings};
    use super::super::{ChildExit, Effect, Event, Signal};
    use super::ListenerKey;
    use crate::control::protocol::{Request, Response};
    use crate::spec::Network;

    const API: &str = "/run/api.sock";

    fn api() -> ListenerKey {
        ListenerKey::of("api", Network::Unix, API)
    }

    /// A reload of `/bin/v2` declaring `http` and the unix socket `api`.
    fn reload_with_api(sim: &mut Sim) -> u64 {
        let declared = [
            ("http", "tcp:127.0.0.1:8080"),
            ("api", "unix:/run/api.sock"),
        ];
        reload_declaring(sim, &declared)
    }

    /// A reload of `/bin/v2` declaring `declared`.
    fn reload_declaring(sim: &mut Sim, declared: &[(&str, &str)]) -> u64 {
        let listeners = (declared.iter())
            .map(|(name, spec)| crate::spec::ListenerSpec::parse(name, spec).unwrap())
            .collect();
        sim.request(Request::Reload {
            path: "/bin/v2".into(),
            argv0: None,
            args: None,
            listeners: Some(listeners),
            dir: None,
            dir_id: None,
        })
    }

    fn binds_of_api(sim: &Sim) -> usize {
        (sim.effects.iter())
            .filter(|e| matches!(e, Effect::Bind { orders, .. } if orders.iter().any(|o| o.key == api())))
            .count()
    }

    /// `api`'s `(listening, file_removed)` as `status` shows them.
    fn api_status(sim: &Sim) -> (bool, bool) {
        let status = sim.machine.status();
        let api = (status.listeners.iter()).find(|l| l.name == "api").unwrap();
        (api.listening, api.file_removed)
    }

    /// Serving child 2, with `api` held.
    fn serving_api() -> Sim {
        let mut sim = Sim::serving(settings());
        reload_with_api(&mut sim);
        sim.hello_and_ready(2);
        assert!(sim.machine.state().held.contains_key(&api()));
        assert_eq!(binds_of_api(&sim), 1);
        sim
    }

    #[test]
    fn a_socket_whose_file_was_removed_is_let_go_of_and_bound_again_by_the_next_reload() {
        let mut sim = serving_api();
        sim.handle(Event::UnixFileRemoved { key: api() });
        assert!(sim.logged(
            "the file of the unix socket /run/api.sock was removed: nobody can connect to it; the supervisor lets go of it, and the next reload or restart binds it again"
        ));
        assert!(sim.effects.contains(&Effect::Close { key: api() }));
        assert!(!sim.machine.state().held.contains_key(&api()));
        assert_eq!(api_status(&sim), (false, true));
        // The next reload binds it again, and its child serves it.
        let reload = reload_with_api(&mut sim);
        assert_eq!(binds_of_api(&sim), 2, "bound again");
        assert_eq!(api_status(&sim), (true, false), "held for the new child");
        sim.hello_and_ready(3);
        assert!(matches!(
            sim.final_answer(reload),
            Some(Response::Reloaded { .. })
        ));
        assert!(sim.machine.state().files_removed.is_empty());
        assert_eq!(api_status(&sim), (true, false));
        // Held as any other from now: the old child's end closes nothing.
        sim.exit(2, ChildExit::Code(0));
        assert!(sim.machine.state().held.contains_key(&api()));
    }

    #[test]
    fn a_reload_that_fails_lets_the_socket_bound_again_go_for_the_next_one() {
        let mut sim = serving_api();
        sim.handle(Event::UnixFileRemoved { key: api() });
        let failed = reload_with_api(&mut sim);
        assert_eq!(binds_of_api(&sim), 2);
        sim.exit(3, ChildExit::Code(1));
        assert!(matches!(
            sim.final_answer(failed),
            Some(Response::Error { .. })
        ));
        // No child would take connections from it: let go of again (its
        // file removed by the driver), not held as a queue nobody reads.
        assert!(!sim.machine.state().held.contains_key(&api()));
        assert_eq!(api_status(&sim), (false, true));
        reload_with_api(&mut sim);
        assert_eq!(binds_of_api(&sim), 3);
        sim.hello_and_ready(4);
        assert_eq!(api_status(&sim), (true, false));
    }

    #[test]
    fn a_child_started_before_the_removal_has_the_socket_out_of_reach_when_it_takes_over() {
        let mut sim = serving_api();
        let reload = reload_with_api(&mut sim);
        // Child 3 has the socket already as its file goes.
        sim.handle(Event::UnixFileRemoved { key: api() });
        sim.hello_and_ready(3);
        assert!(matches!(
            sim.final_answer(reload),
            Some(Response::Reloaded { .. })
        ));
        assert_eq!(api_status(&sim), (false, true));
        reload_with_api(&mut sim);
        assert_eq!(binds_of_api(&sim), 2);
        sim.hello_and_ready(4);
        assert_eq!(api_status(&sim), (true, false));
    }

    #[test]
    fn a_start_binding_others_as_the_file_goes_binds_it_too_before_its_spawn() {
        let mut sim = serving_api();
        sim.defer_binds = true;
        // `http` moved: bound; `api` held, taken as it is.
        let declared = [
            ("http", "tcp:127.0.0.1:9090"),
            ("api", "unix:/run/api.sock"),
        ];
        let reload = reload_declaring(&mut sim, &declared);
        sim.handle(Event::UnixFileRemoved { key: api() });
        sim.finish_binds();
        // Bound again, for that child, before it was spawned with it.
        assert_eq!(binds_of_api(&sim), 2);
        sim.hello_and_ready(3);
        assert!(matches!(
            sim.final_answer(reload),
            Some(Response::Reloaded { .. })
        ));
        assert_eq!(api_status(&sim), (true, false));
        assert!(sim.machine.state().files_removed.is_empty());
    }

    #[test]
    fn a_restart_binds_it_again_and_it_stays_held_between_restarts() {
        let mut sim = Sim::serving(super::super::Settings {
            persist: true,
            ..settings()
        });
        reload_with_api(&mut sim);
        sim.hello_and_ready(2);
        // Past its probation: a crash then restarts it, not a rollback.
        sim.advance(Duration::from_secs(60));
        sim.handle(Event::UnixFileRemoved { key: api() });
        sim.exit(2, ChildExit::Code(1));
        sim.advance(Duration::from_secs(2));
        assert_eq!(binds_of_api(&sim), 2, "{:?}", sim.logs());
        // Nothing serves (a restart due): the socket queues for the next
        // child, as any held socket does, not let go of at each failure.
        // The restart's child dies before it is ready.
        sim.exit(3, ChildExit::Code(1));
        assert!(
            sim.machine.state().held.contains_key(&api()),
            "{:?}",
            sim.logs()
        );
        assert_eq!(api_status(&sim), (true, false));
        // The next restart's child takes over with it: held as any other.
        sim.advance(Duration::from_secs(1));
        sim.hello_and_ready(4);
        assert_eq!(sim.serving_id(), Some(4), "{:?}", sim.logs());
        assert!(sim.machine.state().files_removed.is_empty());
        assert_eq!(api_status(&sim), (true, false));
    }

    #[test]
    fn a_child_with_the_socket_bound_again_is_not_told_the_serving_one_shares_it() {
        let mut sim = serving_api();
        sim.handle(Event::UnixFileRemoved { key: api() });
        reload_with_api(&mut sim);
        let served = (sim.effects.iter().rev())
            .find_map(|e| match e {
                Effect::Spawn { id: 3, served, .. } => Some(served.clone()),
                _ => None,
            })
            .unwrap();
        // `http` is the serving child's too; `api` it has as the copy let
        // go of: should the supervisor die, the new child takes its queue.
        assert!(!served.contains(&api()), "{served:?}");
        assert!(served.contains(&super::super::sim::http().key.unwrap()));
    }

    #[test]
    fn while_stopping_the_socket_is_kept_and_said() {
        let mut sim = serving_api();
        sim.signal(Signal::Term);
        let closes = |sim: &Sim| {
            (sim.effects.iter())
                .filter(|e| **e == Effect::Close { key: api() })
                .count()
        };
        let before = closes(&sim);
        sim.handle(Event::UnixFileRemoved { key: api() });
        assert!(sim.logged(
            "the file of the unix socket /run/api.sock was removed: nobody can connect to it"
        ));
        assert!(!sim.logged("lets go of it"));
        assert_eq!(closes(&sim), before);
        assert!(sim.machine.state().files_removed.is_empty());
    }

    #[test]
    fn the_service_managers_socket_is_kept() {
        let mut sim = serving_api();
        sim.machine.state.held.get_mut(&api()).unwrap().activated = true;
        sim.handle(Event::UnixFileRemoved { key: api() });
        assert!(!sim.effects.contains(&Effect::Close { key: api() }));
        assert!(sim.machine.state().held.contains_key(&api()));
    }
}
