//! The in-place upgrade's decisions, as millisecond tests of the machine
//! (the e2e tests in `tests/tests/upgrade.rs` prove the exec itself).

use std::path::Path;
use std::time::Duration;

use super::sim::{Sim, settings};
use super::{ChildExit, Effect, Notice, Signal};
use crate::control::protocol::Response;

fn notices(sim: &Sim) -> Vec<&Notice> {
    sim.effects
        .iter()
        .filter_map(|e| match e {
            Effect::Notify(n @ (Notice::Ready | Notice::Reloading { .. })) => Some(n),
            _ => None,
        })
        .collect()
}

fn upgrade_effects(sim: &Sim) -> usize {
    sim.effects
        .iter()
        .filter(|e| matches!(e, Effect::Upgrade { .. }))
        .count()
}

#[test]
fn a_reload_to_another_binary_upgrades_the_supervisor_before_answering() {
    let mut sim = Sim::serving(settings());
    let client = sim.reload("/bin/v2");
    sim.hello_and_ready(2);
    assert_eq!(sim.upgrades, [std::path::PathBuf::from("/bin/v2")]);
    // The answer comes from the new image, after the upgrade.
    let upgrade = sim
        .effects
        .iter()
        .position(|e| matches!(e, Effect::Upgrade { .. }))
        .expect("an upgrade");
    let answer = sim
        .effects
        .iter()
        .position(|e| {
            matches!(
                e,
                Effect::Reply {
                    response: Response::Reloaded { .. },
                    ..
                }
            )
        })
        .expect("an answer");
    assert!(answer > upgrade, "answered before the upgrade");
    assert_eq!(sim.answers(client).len(), 2, "{:?}", sim.answers(client));
    // systemd hears READY (start), RELOADING, READY (reload and upgrade),
    // the RELOADING unstamped: no answer to a SIGHUP of systemd's.
    assert_eq!(
        notices(&sim),
        [
            &Notice::Ready,
            &Notice::Reloading {
                answers_signal: false
            },
            &Notice::Ready
        ]
    );
    let status = sim.machine.status();
    assert_eq!(status.supervisor_binary.as_deref(), Some("/bin/v2"));
    assert_eq!((status.upgrades, status.reloads), (1, 1));
    // The old child drains as it would have.
    assert!(sim.process(1).lameducked);
    sim.exit(1, ChildExit::Code(0));
    assert_eq!(sim.serving_id(), Some(2));
}

#[test]
fn the_new_image_says_how_long_the_supervisor_paused() {
    let mut sim = Sim::serving(settings());
    sim.upgrade_takes = Duration::from_micros(2500);
    sim.reload("/bin/v2");
    sim.hello_and_ready(2);
    let said: Vec<&str> = sim
        .logs()
        .into_iter()
        .filter(|l| l.contains("runs /bin/v2 now"))
        .collect();
    assert_eq!(
        said,
        [format!(
            "the supervisor runs /bin/v2 now (pid {}, in-place upgrade 1); paused 2.5 ms",
            sim.machine.state().pid
        )
        .as_str()]
    );
    // From an older image, which handed over no start: no pause said.
    let mut sim = Sim::serving(settings());
    sim.handoff_without_began = true;
    sim.reload("/bin/v2");
    sim.hello_and_ready(2);
    assert!(
        sim.logs()
            .iter()
            .any(|l| l.ends_with("in-place upgrade 1)")),
        "{:?}",
        sim.logs()
    );
}

#[test]
fn a_reload_to_the_same_binary_upgrades_nothing() {
    let mut sim = Sim::serving(settings());
    let client = sim.reload("/bin/v1");
    sim.hello_and_ready(2);
    assert!(matches!(
        sim.final_answer(client),
        Some(Response::Reloaded { .. })
    ));
    assert_eq!(upgrade_effects(&sim), 0);
    assert_eq!(sim.machine.status().upgrades, 0);
}

#[test]
fn a_failed_upgrade_is_reported_not_retried_and_the_reload_stands() {
    let mut sim = Sim::serving(settings());
    sim.upgrade_fails = true;
    let client = sim.reload("/bin/v2");
    sim.hello_and_ready(2);
    assert_eq!(
        not_upgraded(&sim, client).as_deref(),
        Some("exec failed: Permission denied (os error 13)")
    );
    let status = sim.machine.status();
    assert_eq!(status.supervisor_binary.as_deref(), Some("/bin/v1"));
    assert_eq!(status.upgrades, 0);
    let failure = status.last_failure.unwrap();
    assert!(
        failure.contains("upgrading the supervisor to /bin/v2 failed: exec failed"),
        "{failure}"
    );
    assert_eq!(sim.serving_id(), Some(2), "the new child serves");
    // SIGHUP restarts the same binary: not tried again, and said once.
    sim.signal(Signal::Hup);
    sim.hello_and_ready(3);
    assert_eq!(upgrade_effects(&sim), 1);
    let skipped = |pid: u32| {
        format!(
            "the supervisor keeps running its own binary rather than /bin/v2 (child pid {pid}): an upgrade to it failed: exec failed: Permission denied (os error 13)"
        )
    };
    sim.advance(Duration::from_secs(1));
    let said = |pid| sim.logs().iter().filter(|l| **l == skipped(pid)).count();
    // Not for the child whose upgrade failed (its failure was said), once
    // for the next.
    assert_eq!(said(sim.pid(2)), 0, "{:?}", sim.logs());
    assert_eq!(said(sim.pid(3)), 1, "{:?}", sim.logs());
    assert_eq!(
        notices(&sim).last(),
        Some(&&Notice::Ready),
        "systemd hears the reload end"
    );
}

#[test]
fn a_binary_that_does_not_offer_to_take_over_is_not_upgraded_to() {
    let mut sim = Sim::serving(settings());
    sim.takes_over = None;
    let client = sim.reload("/bin/v2");
    sim.hello_and_ready(2);
    assert_eq!(upgrade_effects(&sim), 0);
    assert!(sim.logged("the supervisor keeps running its own binary rather than /bin/v2"));
    // The reload's client hears why, not the log alone.
    assert_eq!(
        not_upgraded(&sim, client).as_deref(),
        Some(
            "/bin/v2 does not offer to take the supervisor's state over (an older littleboss, or self_upgrade = false)"
        )
    );
    // Said once for that child, however many steps follow...
    sim.advance(Duration::from_secs(6));
    let said = |sim: &Sim, line: &str| sim.logs().iter().filter(|l| l.starts_with(line)).count();
    let refused = "the supervisor keeps running its own binary rather than /bin/v2";
    assert_eq!(said(&sim, refused), 1, "{:?}", sim.logs());
    // ...and again, with why, for the next child of that binary.
    sim.signal(Signal::Hup);
    sim.hello_and_ready(3);
    sim.advance(Duration::from_secs(1));
    assert_eq!(said(&sim, refused), 2, "{:?}", sim.logs());
    assert!(sim.logged(&format!(
        "the supervisor keeps running its own binary rather than /bin/v2 (child pid {}): it does not offer to",
        sim.pid(3)
    )));
    // A reload to it again: its next child says so again.
    let again = sim.reload("/bin/v2");
    sim.hello_and_ready(4);
    let why = not_upgraded(&sim, again).unwrap();
    assert!(why.starts_with("/bin/v2 does not offer to"), "{why}");
    sim.takes_over = Some(super::STATE_VERSION + 1);
    let newer = sim.reload("/bin/v3");
    sim.hello_and_ready(5);
    assert_eq!(upgrade_effects(&sim), 0);
    assert!(sim.logged("it reads supervisor state version 2, not 1"));
    assert_eq!(
        not_upgraded(&sim, newer).as_deref(),
        Some("/bin/v3 reads supervisor state version 2, not 1")
    );
    // A reload to its own binary: nothing to tell.
    let own = sim.reload("/bin/v1");
    sim.hello_and_ready(6);
    assert_eq!(not_upgraded(&sim, own), None);
}

#[test]
fn a_binary_refused_is_tried_again_after_an_upgrade_to_another() {
    // Its file (dev, inode) may be a new build's once another upgraded.
    let mut sim = after_an_upgrade_to_v2_failed();
    sim.reload("/bin/v3");
    sim.hello_and_ready(3);
    assert_eq!(sim.upgrades.len(), 1, "{:?}", sim.logs());
    let back = sim.reload("/bin/v2");
    sim.hello_and_ready(4);
    assert_eq!(sim.upgrades.len(), 2, "{:?}", sim.logs());
    assert_eq!(not_upgraded(&sim, back), None);
}

#[test]
fn a_refusal_is_told_though_another_reload_is_queued() {
    // The upgrade itself waits for rest; a binary it will not become is
    // told in the step its reload is answered, or never.
    let mut sim = Sim::serving(settings());
    sim.takes_over = None;
    let first = sim.reload("/bin/v2");
    let second = sim.reload("/bin/v2");
    sim.hello_and_ready(2);
    let why = not_upgraded(&sim, first).unwrap();
    assert!(why.starts_with("/bin/v2 does not offer to"), "{why}");
    sim.hello_and_ready(3);
    let why = not_upgraded(&sim, second).unwrap();
    assert!(why.starts_with("/bin/v2 does not offer to"), "{why}");
    assert_eq!(upgrade_effects(&sim), 0);
}

#[test]
fn a_binary_that_cannot_take_over_leaves_the_one_that_failed_refused() {
    // v2's upgrade failed; a child of v3 (an older littleboss) serves for
    // a moment: v2 stays refused, not tried again.
    let mut sim = after_an_upgrade_to_v2_failed();
    sim.takes_over = None;
    sim.reload("/bin/v3");
    sim.hello_and_ready(3);
    sim.takes_over = Some(super::STATE_VERSION);
    let back = sim.reload("/bin/v2");
    sim.hello_and_ready(4);
    assert_eq!(upgrade_effects(&sim), 1, "v2 tried again");
    let why = not_upgraded(&sim, back).unwrap();
    assert!(
        why.starts_with("/bin/v2 was refused before: an upgrade to it failed"),
        "{why}"
    );
}

/// Child 2 of /bin/v2 serving, the supervisor's upgrade to it failed for
/// a reason of its own (refused since); later upgrades do not fail.
fn after_an_upgrade_to_v2_failed() -> Sim {
    let mut sim = Sim::serving(settings());
    sim.upgrade_fails = true;
    sim.reload("/bin/v2");
    sim.hello_and_ready(2);
    assert_eq!(upgrade_effects(&sim), 1);
    sim.upgrade_fails = false;
    sim
}

/// Why the reload `client` was told the supervisor did not upgrade (its
/// answer a `Reloaded`).
fn not_upgraded(sim: &Sim, client: super::ClientId) -> Option<String> {
    match sim.final_answer(client) {
        Some(Response::Reloaded {
            supervisor_not_upgraded,
            ..
        }) => supervisor_not_upgraded.clone(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn with_self_upgrade_off_the_supervisor_keeps_its_binary() {
    let mut sim = Sim::serving(super::Settings {
        self_upgrade: false,
        ..settings()
    });
    sim.reload("/bin/v2");
    sim.hello_and_ready(2);
    assert_eq!(upgrade_effects(&sim), 0);
    assert_eq!(
        sim.machine.status().supervisor_binary.as_deref(),
        Some("/bin/v1")
    );
}

#[test]
fn without_pidfds_the_supervisor_keeps_its_binary() {
    // Children watched by pid (no pidfds to wait on, before Linux 5.4):
    // the supervisor keeps its binary.
    let mut sim = Sim::new(settings());
    sim.no_pidfds = true;
    sim.hello_and_ready(1);
    let reload = sim.reload("/bin/v2");
    sim.hello_and_ready(2);
    assert_eq!(upgrade_effects(&sim), 0);
    // Its client hears why.
    assert_eq!(
        not_upgraded(&sim, reload).as_deref(),
        Some(
            "no upgrade in place to /bin/v2 while child pid 1002 is watched by pid, not by pidfd (see the supervisor's log)"
        )
    );
    // The old child gone too: still none, for the serving one.
    sim.exit(1, ChildExit::Code(0));
    sim.advance(Duration::from_secs(1));
    assert_eq!(upgrade_effects(&sim), 0);
    // With pidfds, the same reload upgrades.
    let mut sim = Sim::serving(settings());
    sim.reload("/bin/v2");
    sim.hello_and_ready(2);
    assert_eq!(upgrade_effects(&sim), 1);
}

#[test]
fn an_upgrade_held_off_by_a_hung_exec_is_said_once_and_goes_on_after_it() {
    let mut sim = Sim::serving(settings());
    sim.defer_spawns = true;
    let hung = sim.reload("/bin/v2");
    sim.advance(super::HELLO_TIMEOUT);
    assert!(sim.final_answer(hung).is_some());
    // The next reload's spawn goes through; v2's exec still hangs.
    sim.defer_spawns = false;
    let reload = sim.reload("/bin/v3");
    sim.hello_and_ready(3);
    // Its client hears that the supervisor is not its binary yet.
    assert_eq!(
        not_upgraded(&sim, reload).as_deref(),
        Some(
            "its upgrade in place to /bin/v3 waits for the exec of a child given up on, which has not returned"
        )
    );
    let said = "the supervisor's upgrade in place to /bin/v3 waits for the exec of a child given up on, which has not returned (a file system that hangs?)";
    sim.advance(Duration::from_secs(5));
    assert_eq!(upgrade_effects(&sim), 0);
    assert_eq!(
        sim.logs().iter().filter(|l| l.contains(said)).count(),
        1,
        "{:?}",
        sim.logs()
    );
    // The exec returns: that child is killed, and once it is gone the
    // supervisor upgrades: a reload for systemd of its own, begun
    // (unstamped: no answer to a SIGHUP) and ended by the new image.
    let before = notices(&sim).len();
    sim.finish_spawns();
    sim.exit(2, ChildExit::Signal(9));
    assert_eq!(sim.upgrades, [std::path::PathBuf::from("/bin/v3")]);
    assert_eq!(
        notices(&sim)[before..],
        [
            &Notice::Reloading {
                answers_signal: false
            },
            &Notice::Ready
        ]
    );
}

#[test]
fn no_upgrade_while_another_reload_is_queued() {
    let mut sim = Sim::serving(settings());
    sim.reload("/bin/v2");
    let second = sim.reload("/bin/v3");
    assert!(matches!(sim.answers(second), [Response::Waiting { .. }]));
    sim.hello_and_ready(2);
    // v3 starts at once: the supervisor waits for it to settle.
    assert_eq!(upgrade_effects(&sim), 0);
    sim.hello_and_ready(3);
    assert_eq!(sim.upgrades, [std::path::PathBuf::from("/bin/v3")]);
    sim.advance(Duration::from_secs(1));
}

/// A sim whose upgrade to /bin/v2 (child 2's) failed for a reason not
/// the binary's (the image went back), once.
fn upgraded_to_v2_and_back_for_a_passing_reason() -> Sim {
    let mut sim = Sim::serving(settings());
    sim.upgrade_fails = true;
    sim.upgrade_blames_binary = false;
    sim.reload("/bin/v2");
    sim.hello_and_ready(2);
    assert_eq!(upgrade_effects(&sim), 1);
    sim
}

#[test]
fn a_passing_failure_skips_that_child_only() {
    let mut sim = upgraded_to_v2_and_back_for_a_passing_reason();
    // Not retried for that child, whatever happens next...
    sim.advance(Duration::from_secs(1));
    sim.request(crate::control::protocol::Request::Status);
    assert_eq!(upgrade_effects(&sim), 1);
    // ...but for the next child of the same binary.
    sim.upgrade_fails = false;
    sim.signal(Signal::Hup);
    sim.hello_and_ready(3);
    assert_eq!(upgrade_effects(&sim), 2);
    assert_eq!(sim.upgrades, [std::path::PathBuf::from("/bin/v2")]);
}

/// A state handed over mid-upgrade: the new child serving, the old one
/// draining, the reload's answer held for the new image.
fn handed_over_state() -> String {
    let mut sim = Sim::serving(settings());
    sim.reload("/bin/v2");
    sim.hello_and_ready(2);
    sim.handoffs.pop().expect("an upgrade")
}

/// Nothing but matches with no catch-all, as the handoff's `every_kind`
/// (`handoff_pin.rs`), for the enums inside the state (its phase, why a
/// child starts, a reply held across the exec, a listener's network),
/// which an older image of the same version must read too: a new variant
/// stops the build here until it is added to the match, which must come
/// with a new `STATE_VERSION`, pinned.
#[allow(dead_code)]
fn every_state_kind(
    phase: &super::Phase,
    why: super::Why,
    response: &Response,
    network: crate::spec::Network,
) {
    use super::{Phase, Why};
    use crate::spec::Network;
    match phase {
        Phase::Up(_) | Phase::Stopping(_) | Phase::Exited { .. } => {}
    }
    match why {
        Why::First | Why::Reload { .. } | Why::Restart | Why::Fallback => {}
    }
    match response {
        Response::Status { .. }
        | Response::Waiting { .. }
        | Response::Reloading { .. }
        | Response::Reloaded { .. }
        | Response::Stopping { .. }
        | Response::Stopped { .. }
        | Response::Error { .. } => {}
    }
    match network {
        Network::Tcp
        | Network::Tcp4
        | Network::Tcp6
        | Network::Udp
        | Network::Udp4
        | Network::Udp6
        | Network::Unix => {}
    }
}

#[test]
fn a_child_an_older_image_killed_is_given_up_on_by_the_new_one_in_time() {
    // The old child was killed by an image that kept no time to give up
    // on it by: the new image counts it from its own start, so that a
    // stop does not wait for it for ever should the kill not end it.
    let mut state: serde_json::Value = serde_json::from_str(&handed_over_state()).unwrap();
    let old = &mut state["children"]["1"];
    old["killed"] = true.into();
    old["kill_at"] = serde_json::Value::Null;
    old.as_object_mut().unwrap().remove("reap_by");
    let state: super::State = serde_json::from_value(state).unwrap();
    let mut machine = super::Machine::resume(state);
    let now = std::time::Duration::from_secs(100);
    machine.handle(super::Event::Upgraded, now);
    let reap_by = machine.state().children[&1].reap_by;
    assert_eq!(reap_by, Some(now + super::KILLED_EXIT_WAIT));
    machine.handle(super::Event::Tick, now + super::KILLED_EXIT_WAIT);
    assert!(machine.state().children[&1].abandoned);
}

/// Prints a state as an upgrade hands it over: how `state_v1.json` was
/// made (`cargo test -p littleboss --lib print_a_handed_over_state --
/// --ignored --nocapture`).
#[test]
#[ignore = "prints the state to pin"]
fn print_a_handed_over_state() {
    println!("{}", handed_over_state());
}

/// The state as version 1 hands it over, pinned (`state_v1.json`): every
/// later build must read it. A field added since needs `#[serde(default)]`
/// (an older image's handoff lacks it); a change an older image could not
/// read (a new enum variant in the state, a required field) needs a new
/// `STATE_VERSION`, so that no older image is executed with it.
#[test]
fn a_state_handed_over_by_version_1_is_read_and_resumed() {
    let pinned = include_str!("state_v1.json");
    let state: super::State = serde_json::from_str(pinned).expect("version 1's state reads");
    let machine = super::Machine::resume(state);
    let status = machine.status();
    assert_eq!(status.child.map(|c| c.pid), Some(Some(1002)));
    let draining: Vec<_> = status.draining.iter().map(|d| d.child.pid).collect();
    assert_eq!(draining, [Some(1001)]);
    assert_eq!(status.reloads, 1);
    // Its children were watched by pidfd, as every image's were then: the
    // field came later, and its absence must not stop upgrades for good.
    let children = &machine.state().children;
    assert!(children.values().all(|c| c.by_pidfd), "{children:?}");
    // What this build writes reads back the same.
    let now = handed_over_state();
    let back: super::State = serde_json::from_str(&now).unwrap();
    assert_eq!(serde_json::to_string(&back).unwrap(), now);
}

#[test]
fn whether_a_passed_socket_is_ipv6_only_goes_across_and_an_older_state_lacks_it() {
    // Version 1's state never says: false, which takes every `[::]` for
    // dual-stack (the new image reads the passed sockets again).
    let pinned: super::State = serde_json::from_str(include_str!("state_v1.json")).unwrap();
    assert!(!pinned.held.is_empty());
    assert!(pinned.held.values().all(|h| !h.ipv6_only));
    // Said, it is written and read back.
    let mut state: serde_json::Value = serde_json::from_str(&handed_over_state()).unwrap();
    let held = &mut state["held"][0][1];
    held["activated"] = true.into();
    held["ipv6_only"] = true.into();
    let state: super::State = serde_json::from_value(state).unwrap();
    assert!(state.held.values().all(|h| h.activated && h.ipv6_only));
    let written = serde_json::to_string(&state).unwrap();
    assert!(written.contains(r#""ipv6_only":true"#), "{written}");
    let back: super::State = serde_json::from_str(&written).unwrap();
    assert!(back.held.values().all(|h| h.ipv6_only));
}

#[test]
fn a_serving_child_lost_in_the_upgrade_starts_again_counted_as_no_failure() {
    // Persist off, the new child in its probation: a death of its own
    // would roll back to /bin/v1. Lost, it is the supervisor's doing.
    let mut sim = Sim::serving(settings());
    sim.reload("/bin/v2");
    sim.hello_and_ready(2);
    assert_eq!(sim.upgrades, [std::path::PathBuf::from("/bin/v2")]);
    sim.lose(2);
    assert!(sim.logged("child pid 1002 came across the in-place upgrade without its channel"));
    assert_eq!(sim.exit_code, None, "{:?}", sim.logs());
    assert_eq!(sim.starting_id(), Some(3));
    assert_eq!(
        sim.spawned_paths().last().map(String::as_str),
        Some("/bin/v2")
    );
    assert_eq!(sim.machine.state().failures, 0);
    sim.hello_and_ready(3);
    assert_eq!(sim.serving_id(), Some(3));
    // The old child drains on, and goes as it would.
    sim.exit(1, ChildExit::Code(0));
    assert_eq!(sim.exit_code, None);
}

#[test]
fn a_healthy_child_lost_in_the_upgrade_resets_the_restart_delay() {
    // An early crash loop raised the delay; the child after it served
    // long, and was lost in an upgrade: should the one started in its
    // place crash soon, it waits the first delay, not the crash loop's
    // (review 975).
    let mut sim = Sim::after_a_crash_loop();
    sim.advance(super::HEALTHY);
    sim.lose(5);
    assert_eq!(sim.starting_id(), Some(6));
    sim.hello_and_ready(6);
    sim.exit(6, ChildExit::Code(1));
    // Planned from the first delay, and doubled for the next.
    assert_eq!(sim.machine.state().restart_delay.as_millis(), 200);
}

#[test]
fn a_serving_child_lost_in_the_upgrade_is_the_last_exit() {
    // Started again in its place: its end, not an older one, is the
    // cause `status` shows.
    let mut sim = Sim::serving(settings());
    sim.lose(1);
    assert_eq!(sim.starting_id(), Some(2));
    let status = sim.machine.status();
    let pid = sim.pid(1);
    assert_eq!(
        status.last_exit,
        Some(format!(
            "child pid {pid} was killed: it came across an in-place upgrade without its channel"
        ))
    );
}

#[test]
fn a_draining_child_lost_in_the_upgrade_is_gone_and_the_serving_one_stays() {
    let mut sim = Sim::serving(settings());
    sim.reload("/bin/v2");
    sim.hello_and_ready(2);
    sim.lose(1);
    assert!(sim.logged("child pid 1001 came across the in-place upgrade without its channel"));
    assert!(!sim.machine.state().children.contains_key(&1));
    assert_eq!(sim.serving_id(), Some(2));
    assert_eq!(sim.starting_id(), None);
    assert_eq!(sim.exit_code, None);
}

#[test]
fn a_listener_lost_in_the_upgrade_is_held_no_more_and_bound_anew_by_the_next_launch() {
    let mut sim = Sim::serving(settings());
    let key = super::sim::http().key.unwrap();
    sim.lose_listener(&key);
    assert!(sim.logged(
        "listener 127.0.0.1:8080 was not handed over: fd 5 is no longer its socket; the supervisor holds it no more"
    ));
    assert!(!sim.machine.state().held.contains_key(&key));
    let binds = |sim: &Sim| {
        (sim.effects.iter())
            .filter(|e| matches!(e, Effect::Bind { .. }))
            .count()
    };
    let before = binds(&sim);
    sim.reload("/bin/v1");
    sim.hello_and_ready(2);
    assert_eq!(binds(&sim), before + 1, "bound anew");
    assert!(sim.machine.state().held.contains_key(&key));
}

#[test]
fn a_listener_the_service_manager_passed_lost_in_the_upgrade_is_held_on() {
    let mut sim = Sim::serving(settings());
    sim.activate_first_listener();
    let key = super::sim::http().key.unwrap();
    sim.lose_listener(&key);
    assert!(sim.logged("no later child can be given it (it is the service manager's)"));
    assert!(sim.machine.state().held.contains_key(&key));
    // Marked in status, still listening: the service manager holds it.
    let status = sim.machine.status();
    assert!(status.listeners[0].lost_in_upgrade);
    assert!(status.listeners[0].listening);
}

#[test]
fn a_child_started_in_place_of_one_lost_on_probation_is_on_probation_in_its_place() {
    // Dying within it, it rolls the reload back, as the lost one would.
    let mut sim = Sim::serving(settings());
    sim.reload("/bin/v2");
    sim.hello_and_ready(2);
    sim.lose(2);
    sim.hello_and_ready(3);
    sim.exit(3, ChildExit::Code(1));
    assert!(
        sim.logged("reload to /bin/v2 rolled back"),
        "{:?}",
        sim.logs()
    );
    assert_eq!(
        sim.spawned_paths().last().map(String::as_str),
        Some("/bin/v1")
    );
    // Failing to start, it falls back too (persist off: the service would
    // end with nothing to come back to).
    let mut sim = Sim::serving(settings());
    sim.reload("/bin/v2");
    sim.hello_and_ready(2);
    sim.unstartable.insert("/bin/v2".into());
    sim.lose(2);
    assert_eq!(sim.exit_code, None, "{:?}", sim.logs());
    assert_eq!(
        sim.spawned_paths().last().map(String::as_str),
        Some("/bin/v1")
    );
}

#[test]
fn an_upgrade_given_up_on_for_a_lost_child_is_given_up_on_for_the_one_in_its_place() {
    // The upgrade failed for a passing reason (the image went back): not
    // tried again for that child, so neither for the one in its place,
    // lest every round lose the serving child again.
    let mut sim = upgraded_to_v2_and_back_for_a_passing_reason();
    sim.upgrade_fails = false;
    sim.lose(2);
    sim.hello_and_ready(3);
    assert_eq!(sim.serving_id(), Some(3));
    assert_eq!(upgrade_effects(&sim), 1, "{:?}", sim.logs());
}

#[test]
fn a_probation_run_out_before_its_child_was_lost_passes_to_none() {
    // Run out while the upgrade held the ticks off: the child in its
    // place is on no probation, and its death rolls nothing back.
    let mut sim = Sim::serving(settings());
    sim.reload("/bin/v2");
    sim.hello_and_ready(2);
    sim.late(super::PROBATION + Duration::from_secs(1));
    sim.lose(2);
    sim.hello_and_ready(3);
    sim.exit(3, ChildExit::Code(1));
    assert!(!sim.logged("rolled back"), "{:?}", sim.logs());
    assert!(sim.logged("persist is off; exiting"), "{:?}", sim.logs());
}

/// With `settings`: a reload's child that replaced one dead on its own
/// (its probation revives that one), lost in the upgrade to it; the child
/// in its place ready, then dead within that probation.
fn reviving_probation_lost_and_its_heir_dead(settings: super::Settings) -> Sim {
    let mut sim = reviving_probation_upgraded(settings);
    sim.lose(2);
    sim.hello_and_ready(3);
    sim.exit(3, ChildExit::Code(1));
    sim
}

/// With `settings`: a reload's child (2, of `/bin/v2`) that replaced one
/// dead on its own (its probation revives that one), the supervisor
/// upgraded in place to it.
fn reviving_probation_upgraded(settings: super::Settings) -> Sim {
    let mut sim = Sim::serving(settings);
    sim.reload("/bin/v2");
    sim.exit(1, ChildExit::Code(1));
    sim.hello_and_ready(2);
    assert_eq!(sim.upgrades.len(), 1, "{:?}", sim.logs());
    sim
}

/// With persist.
fn persisting() -> super::Settings {
    super::Settings {
        persist: true,
        ..settings()
    }
}

#[test]
fn a_probation_passed_on_keeps_what_it_comes_back_to() {
    // The reload's child replaced one that had died on its own: coming
    // back to that is a restart, only with persist. Passed on, the
    // probation says so still.
    let sim = reviving_probation_lost_and_its_heir_dead(settings());
    assert!(!sim.logged("rolled back"), "{:?}", sim.logs());
    assert!(sim.logged("persist is off; exiting"), "{:?}", sim.logs());
}

#[test]
fn a_lost_childs_restart_that_fails_comes_back_to_one_dead_on_its_own_by_a_restart() {
    // The reload's child replaced one that had died on its own, and was
    // lost in the upgrade to it; the restart in its place fails to start.
    // Coming back to the child that died on its own is a restart, through
    // the backoff and the limit, as when that reload's child dies in its
    // probation: not a rollback at once.
    let mut sim = reviving_probation_upgraded(persisting());
    sim.unstartable.insert("/bin/v2".into());
    let spawned = sim.spawned_paths();
    sim.lose(2);
    assert!(sim.logged(
        "/bin/v1, whose child died on its own before the reload to /bin/v2, is what a restart runs"
    ));
    assert!(sim.logged("restarting in"), "{:?}", sim.logs());
    assert_eq!(sim.spawned_paths(), spawned, "{:?}", sim.logs());
    assert!(sim.machine.status().restart.is_some(), "{:?}", sim.logs());
    // Its backoff over, the child that died on its own comes back.
    sim.advance(Duration::from_secs(2));
    assert_eq!(
        sim.spawned_paths().last().map(String::as_str),
        Some("/bin/v1"),
        "{:?}",
        sim.logs()
    );
}

#[test]
fn a_lost_childs_restart_under_way_is_the_services_launch_until_it_fails() {
    // As above, the restart not failed yet: `status` shows the launch of
    // the reload's binary (its listeners), not the one that may come back.
    let mut sim = reviving_probation_upgraded(persisting());
    sim.lose(2);
    assert_eq!(
        sim.machine.state().current.target.path,
        Path::new("/bin/v2")
    );
    // Failed at its hello's deadline: the child that died on its own
    // comes back, by a restart.
    sim.advance(Duration::from_secs(30));
    assert!(sim.logged("restarting in"), "{:?}", sim.logs());
    assert_eq!(
        sim.machine.state().current.target.path,
        Path::new("/bin/v1")
    );
}

#[test]
fn a_probation_passed_on_that_revives_restarts_with_persist() {
    // As above, with persist: the death in it comes back to the child
    // that had died on its own by a restart, through the backoff.
    let sim = reviving_probation_lost_and_its_heir_dead(persisting());
    assert!(sim.logged("rolled back"), "{:?}", sim.logs());
    assert!(sim.logged("restarting in"), "{:?}", sim.logs());
}
