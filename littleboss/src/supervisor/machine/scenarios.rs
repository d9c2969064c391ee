//! The end-to-end scenarios of `tests/tests/{reload,persist,signals,
//! lifecycle,faults}.rs`, as millisecond tests of the machine alone.

use std::time::Duration;

use super::sim::{self, LAMEDUCK, NAME, Sim, WORKING_DIR, settings};
use super::{ChildExit, HELLO_TIMEOUT, PROBATION, READ_AS_DRAIN_BEGAN, SAME_STOP, Signal};
use crate::control::protocol::{Request, Response};
use crate::link::FromChild;

const OK: ChildExit = ChildExit::Code(0);
const MS: Duration = Duration::from_millis(1);

fn error_of(response: Option<&Response>) -> String {
    match response {
        Some(Response::Error { error, .. }) => error.clone(),
        other => panic!("expected an error, got {other:?}"),
    }
}

/// An error answer's words, and whether it says nothing was tried.
fn error_and_refused(response: Option<&Response>) -> (String, bool) {
    match response {
        Some(Response::Error { error, refused }) => (error.clone(), *refused),
        other => panic!("expected an error, got {other:?}"),
    }
}

fn stopped_code(response: Option<&Response>) -> i32 {
    match response {
        Some(Response::Stopped { exit_code }) => *exit_code,
        other => panic!("expected stopped, got {other:?}"),
    }
}

// reload.rs

#[test]
fn overlapping_reload_the_old_child_serves_until_the_new_is_ready() {
    let mut sim = Sim::serving(settings());
    let client = sim.reload("/bin/v2");
    assert_eq!(
        sim.answers(client),
        [Response::Reloading {
            pid: sim.pid(2),
            changes: vec![]
        }]
    );
    sim.hello(2);
    sim.advance(Duration::from_secs(3));
    assert!(!sim.process(1).lameducked, "the old child serves on");
    assert_eq!(sim.serving_id(), Some(1));
    sim.ready(2);
    assert!(sim.process(1).lameducked);
    assert_eq!(sim.serving_id(), Some(2));
    assert_eq!(
        sim.final_answer(client),
        Some(&Response::Reloaded {
            pid: sim.pid(2),
            old_pid: Some(sim.pid(1)),
            supervisor_not_upgraded: None,
        })
    );
    assert_eq!(sim.machine.status().reloads, 1);
    sim.exit(1, OK);
    assert!(sim.logged(&format!("old child pid {} exited with code 0", sim.pid(1))));
}

#[test]
fn a_child_ready_before_its_hello_is_not_promoted() {
    let mut sim = Sim::serving(settings());
    let client = sim.reload("/bin/rude");
    sim.ready(2);
    assert!(sim.process(2).killed, "promoted without a hello");
    assert_eq!(sim.serving_id(), Some(1));
    assert!(!sim.process(1).lameducked);
    sim.exit(2, ChildExit::Signal(9));
    let error = error_of(sim.final_answer(client));
    assert!(
        error.contains("said it was ready before its hello"),
        "{error}"
    );
}

#[test]
fn a_second_hello_does_not_put_the_ready_deadline_off() {
    let mut sim = Sim::serving(settings());
    let client = sim.reload("/bin/chatty");
    let ready_timeout = Duration::from_secs(2);
    sim.hello_as(2, NAME, LAMEDUCK, ready_timeout);
    sim.advance(ready_timeout - MS);
    sim.hello_as(2, NAME, LAMEDUCK, ready_timeout);
    sim.advance(MS);
    assert!(sim.process(2).killed, "its ready deadline was put off");
    sim.exit(2, ChildExit::Signal(9));
    assert!(matches!(
        sim.final_answer(client),
        Some(Response::Error { .. })
    ));
    assert_eq!(sim.serving_id(), Some(1));
}

/// The status a control client is told now.
fn asked_status(sim: &mut Sim) -> crate::control::status::Status {
    let client = sim.request(Request::Status);
    match sim.final_answer(client) {
        Some(Response::Status { status }) => (**status).clone(),
        other => panic!("expected a status, got {other:?}"),
    }
}

#[test]
fn status_shows_the_old_child_draining_and_a_stop_under_way() {
    let mut sim = Sim::serving(settings());
    sim.reload("/bin/v2");
    sim.hello_and_ready(2);
    sim.advance(Duration::from_millis(500));
    let status = asked_status(&mut sim);
    assert!(!status.stopping);
    assert_eq!(status.child.unwrap().pid, Some(sim.pid(2)));
    let draining: Vec<_> = status
        .draining
        .iter()
        .map(|d| (d.child.pid, d.kill_in_ms))
        .collect();
    let left = (LAMEDUCK - Duration::from_millis(500)).as_millis() as u64;
    assert_eq!(draining, [(Some(sim.pid(1)), Some(left))]);

    sim.signal(Signal::Term);
    let status = asked_status(&mut sim);
    assert!(status.stopping);
    let pids: Vec<_> = status.draining.iter().map(|d| d.child.pid).collect();
    assert_eq!(pids, [Some(sim.pid(1)), Some(sim.pid(2))]);
    sim.advance(LAMEDUCK);
    let status = asked_status(&mut sim);
    assert_eq!(
        status.draining[0].kill_in_ms, None,
        "killed, not reaped yet"
    );
    sim.exit(1, ChildExit::Signal(9));
    sim.exit(2, OK);
    assert_eq!(sim.exit_code, Some(0));
}

#[test]
fn a_starting_child_killed_for_failing_shows_as_starting_not_draining() {
    let mut sim = Sim::serving(settings());
    sim.reload("/bin/mute");
    sim.advance(HELLO_TIMEOUT);
    assert!(sim.process(2).killed, "killed for never saying hello");
    let status = asked_status(&mut sim);
    assert_eq!(status.starting.unwrap().child.pid, Some(sim.pid(2)));
    assert!(status.draining.is_empty(), "{:?}", status.draining);
}

#[test]
fn a_first_child_the_supervisor_gives_up_on_exits_1_not_its_kill() {
    // Never says hello: killed for it, and the start fails with 1, as a
    // spawn that fails does; 137 would read as an outside SIGKILL.
    let mut sim = Sim::new(settings());
    sim.advance(HELLO_TIMEOUT);
    assert!(sim.process(1).killed, "killed for never saying hello");
    sim.exit(1, ChildExit::Signal(9));
    assert_eq!(sim.exit_code, Some(1), "{:?}", sim.logs());
    assert!(
        (sim.logs()).contains(&"no child is running and persist is off; exiting with code 1"),
        "{:?}",
        sim.logs()
    );
    // One that exits on its own before it is ready: its own code; so too
    // one that said its own error first (a configuration mistake).
    let mut sim = Sim::new(settings());
    sim.exit(1, ChildExit::Code(3));
    assert_eq!(sim.exit_code, Some(3));
    let mut sim = Sim::new(settings());
    sim.hello(1);
    sim.message(
        1,
        FromChild::Error {
            error: "bad flag".into(),
        },
    );
    sim.exit(1, ChildExit::Code(2));
    assert_eq!(sim.exit_code, Some(2), "{:?}", sim.logs());
    // Killed for its silence as a stop began: the stop reports 1 too.
    let mut sim = Sim::new(settings());
    sim.advance(HELLO_TIMEOUT);
    let stop = sim.request(Request::Stop);
    sim.exit(1, ChildExit::Signal(9));
    assert_eq!(stopped_code(sim.final_answer(stop)), 1);
    assert_eq!(sim.exit_code, Some(1));
}

#[test]
fn a_request_read_as_the_supervisor_exits_is_answered() {
    // A second `stop`, a monitor's `status`: the stop has its code, the
    // status says it is stopping with no child (not an error, which the
    // command exits 4 for: "cannot tell").
    let mut sim = Sim::serving(settings());
    sim.request(Request::Stop);
    sim.exit(1, ChildExit::Code(7));
    assert_eq!(sim.exit_code, Some(7));
    let stop = sim.request(Request::Stop);
    assert_eq!(stopped_code(sim.final_answer(stop)), 7);
    let status = sim.request(Request::Status);
    match sim.final_answer(status) {
        Some(Response::Status { status }) => {
            assert!(status.stopping, "{status:?}");
            assert!(
                status.child.is_none() && status.draining.is_empty(),
                "{status:?}"
            );
        }
        other => panic!("expected a status, got {other:?}"),
    }
    let reload = sim.reload("/bin/v2");
    assert_eq!(
        error_and_refused(sim.final_answer(reload)),
        ("the supervisor is exiting".to_owned(), true)
    );
}

#[test]
fn a_reload_to_a_binary_that_fails_at_start_leaves_the_old_child_untouched() {
    let mut sim = Sim::serving(settings());
    let client = sim.reload("/bin/fails");
    sim.exit(2, ChildExit::Code(3));
    let error = error_of(sim.final_answer(client));
    assert!(
        error.contains("/bin/fails) exited with code 3 before it was ready"),
        "{error}"
    );
    assert!(!sim.process(1).lameducked);
    assert_eq!(sim.serving_id(), Some(1));
    let status = sim.machine.status();
    assert_eq!((status.reloads, status.failures), (0, 1));
}

#[test]
fn a_reload_whose_child_ends_before_it_was_ready_says_where_its_words_went() {
    // A bad argument to the new child: its parser said why on stderr,
    // the supervisor's, which the reload's caller does not see.
    let mut sim = Sim::serving(super::Settings {
        stderr: Some("/var/log/svc.log".to_owned()),
        ..settings()
    });
    let client = sim.reload("/bin/v2");
    sim.exit(2, ChildExit::Code(2));
    let error = error_of(sim.final_answer(client));
    let said = "/bin/v2) exited with code 2 before it was ready";
    let note = " (its stderr is the supervisor's: /var/log/svc.log)";
    assert!(error.ends_with(&format!("{said}{note}")), "{error}");
    // `status` too; not the log, which is there already.
    let failure = sim.machine.status().last_failure.unwrap();
    assert!(failure.ends_with(&format!("{said}{note}")), "{failure}");
    assert!(sim.logged(said) && !sim.logged(note), "{:?}", sim.logs());
    // A child that said why itself needs no pointer.
    let client = sim.reload("/bin/v3");
    sim.hello(3);
    sim.message(3, FromChild::error("cannot open the database"));
    sim.exit(3, ChildExit::Code(1));
    let error = error_of(sim.final_answer(client));
    assert!(error.contains("cannot open the database"), "{error}");
    assert!(!error.contains("supervisor's stderr"), "{error}");
}

#[test]
fn a_reloaded_child_that_dies_during_probation_is_rolled_back() {
    let mut sim = Sim::serving(settings());
    let client = sim.reload("/bin/dies");
    sim.hello_and_ready(2);
    assert!(matches!(
        sim.final_answer(client),
        Some(Response::Reloaded { .. })
    ));
    sim.advance(PROBATION - MS);
    sim.exit(2, ChildExit::Code(1));
    assert_eq!(sim.spawned_paths(), ["/bin/v1", "/bin/dies", "/bin/v1"]);
    assert_eq!(sim.starting_id(), Some(3));
    sim.hello_and_ready(3);
    let status = sim.machine.status();
    let child = status.child.clone().unwrap();
    assert_eq!(child.path, "/bin/v1");
    assert!(!child.replaced, "its path still names the file it runs");
    let failure = status.last_failure.clone().unwrap();
    assert!(failure.contains("rolled back"), "{failure}");
    assert_eq!(status.failures, 1);
    // The failure names the exit, which `status` then leaves unsaid on a
    // line of its own (as its wording is matched: see `render`).
    let exit = status.last_exit.clone().unwrap();
    assert!(failure.contains(&exit), "{failure} / {exit}");
    let shown = status.render();
    assert!(!shown.contains("last exit"), "{shown}");
}

/// Child 2 from `/app/current` naming `/releases/1`; then a deploy moves
/// the link to `/releases/2`, whose child 3 dies in its probation: the
/// rollback, child 4, is spawned.
fn rolled_back_past_a_moved_link() -> Sim {
    let mut sim = Sim::serving(settings());
    let current = std::path::PathBuf::from("/app/current");
    sim.links.insert(current.clone(), "/releases/1".into());
    sim.reload("/app/current");
    sim.hello_and_ready(2);
    sim.links.insert(current, "/releases/2".into());
    sim.reload("/app/current");
    sim.hello_and_ready(3);
    sim.advance(PROBATION - MS);
    sim.exit(3, ChildExit::Code(1));
    sim
}

#[test]
fn a_rollback_runs_the_file_the_old_child_ran_not_what_its_link_names_now() {
    let mut sim = rolled_back_past_a_moved_link();
    assert_eq!(
        sim.spawned_paths(),
        ["/bin/v1", "/app/current", "/app/current", "/releases/1"]
    );
    sim.hello_and_ready(4);
    // Its path is still the link: SIGHUP runs what it names by then.
    sim.links
        .insert("/app/current".into(), "/releases/3".into());
    sim.signal(Signal::Hup);
    assert_eq!(sim.process(5).path, std::path::Path::new("/app/current"));
}

#[test]
fn a_rollback_that_fails_names_the_file_it_ran_not_its_link() {
    let mut sim = rolled_back_past_a_moved_link();
    // The rollback to /releases/1 dies too: not told as /app/current,
    // which names /releases/2 now.
    sim.exit(4, ChildExit::Code(2));
    let pid = sim.pid(4);
    let said = format!("new child pid {pid} (/releases/1) exited with code 2 before it was ready");
    assert!(sim.logs().contains(&said.as_str()), "{:?}", sim.logs());
}

/// The children whose binaries the driver is to hold open.
fn kept(sim: &Sim) -> Vec<u64> {
    sim.machine.binaries_kept().into_iter().collect()
}

/// Child 2, from `path`, serves after a reload; child 1 has exited.
fn reloaded_to(path: &str) -> Sim {
    let mut sim = Sim::serving(settings());
    sim.reload(path);
    sim.hello_and_ready(2);
    sim.exit(1, OK);
    sim
}

#[test]
fn a_rollback_runs_the_old_childs_binary_held_open_even_after_a_deploy_replaced_it() {
    // A deploy replaced the file at the same path, then reloaded.
    let mut sim = reloaded_to("/bin/v1");
    sim.replaced.insert("/bin/v1".into());
    assert_eq!(kept(&sim), [1, 2], "the old binary is kept for a rollback");
    sim.advance(PROBATION - MS);
    sim.exit(2, ChildExit::Code(1));
    let rollback = &sim.machine.state().children[&3].launch.target;
    assert_eq!(rollback.binary_of, Some(1), "it runs the old file itself");
    sim.hello_and_ready(3);
    // And says so: the path names the new file now.
    let pid = sim.pid(3);
    assert!(sim.logged(&format!(
        "started child pid {pid} from /bin/v1 (replaced since: the earlier file runs, held open)"
    )));
    assert!(sim.machine.status().child.unwrap().replaced);
    assert_eq!(kept(&sim), [1, 3], "a restart of what serves runs it too");
    // SIGHUP reads the path afresh: the old file is let go.
    sim.signal(Signal::Hup);
    assert_eq!(
        sim.machine.state().children[&4].launch.target.binary_of,
        None
    );
    assert!(!sim.machine.state().children[&4].path_replaced);
    sim.hello_and_ready(4);
    sim.exit(3, OK);
    assert_eq!(kept(&sim), [3, 4], "until the reload's probation ends");
    sim.advance(PROBATION);
    assert_eq!(kept(&sim), [4]);
}

/// Serving v1 (persist as `persist` says), a reload to `to` (`None`: a
/// SIGHUP's, of v1 again) whose child says hello; v1 dies on its own
/// meanwhile; the reload's child is ready.
fn reloaded_while_the_old_child_died(persist: bool, to: Option<&str>) -> Sim {
    reloaded_while_the_old_child_died_with(
        super::Settings {
            persist,
            ..settings()
        },
        to,
    )
}

fn reloaded_while_the_old_child_died_with(settings: super::Settings, to: Option<&str>) -> Sim {
    let mut sim = Sim::serving(settings);
    match to {
        Some(path) => {
            sim.reload(path);
        }
        None => sim.signal(Signal::Hup),
    }
    sim.hello(2);
    sim.exit(1, ChildExit::Code(1));
    sim.ready(2);
    sim
}

#[test]
fn a_reload_whose_old_child_died_meanwhile_comes_back_to_it_as_a_restart() {
    // The old child died on its own while the reload's child started: the
    // new one, dying in its probation, brings back the old binary's very
    // file (held open, though a deploy replaced it), through persist's
    // restart and its backoff.
    let mut sim = reloaded_while_the_old_child_died(true, Some("/bin/v2"));
    sim.replaced.insert("/bin/v1".into());
    assert_eq!(kept(&sim), [1, 2], "the dead child's file is kept");
    sim.advance(PROBATION - MS);
    sim.exit(2, ChildExit::Code(1));
    assert!(sim.logged("reload to /bin/v2 rolled back"));
    assert_eq!(sim.machine.status().failures, 2);
    // Within its hello timeout: the restart's child is due, not failed.
    sim.advance(Duration::from_secs(5));
    let restart = &sim.machine.state().children[&3].launch.target;
    assert_eq!(restart.binary_of, Some(1), "it runs the old file itself");
    assert_eq!(sim.spawned_paths(), ["/bin/v1", "/bin/v2", "/bin/v1"]);
}

/// With persist: v1 dies while the reload to v2 starts, a reload to v3
/// queued behind; v2 dies in its probation as v3 starts.
fn revival_behind_a_queued_reload() -> Sim {
    revival_behind_queued_reloads(&["/bin/v3"])
}

/// [`revival_behind_a_queued_reload`], with the reloads to `queued`
/// asked for there, in order (v3 first).
fn revival_behind_queued_reloads(queued: &[&str]) -> Sim {
    let mut sim = Sim::serving(super::Settings {
        persist: true,
        ..settings()
    });
    sim.reload("/bin/v2");
    sim.hello(2);
    for path in queued {
        sim.reload(path);
    }
    sim.exit(1, ChildExit::Code(1));
    sim.ready(2);
    assert_eq!(sim.spawned_paths(), ["/bin/v1", "/bin/v2", "/bin/v3"]);
    sim.exit(2, ChildExit::Code(1));
    sim
}

#[test]
fn a_revival_waits_for_a_reload_queued_behind_and_outlasts_it() {
    // v3's probation still comes back to v1, not to v2, which just failed.
    let mut sim = revival_behind_a_queued_reload();
    assert!(sim.logged("the reload under way decides, and should it fail too, /bin/v1 restarts"));
    sim.hello_and_ready(3);
    sim.advance(PROBATION - MS);
    sim.exit(3, ChildExit::Code(1));
    assert!(sim.logged("reload to /bin/v3 rolled back"));
    // Within its hello timeout: the restart's child is due, not failed.
    sim.advance(Duration::from_secs(5));
    assert_eq!(
        sim.spawned_paths(),
        ["/bin/v1", "/bin/v2", "/bin/v3", "/bin/v1"]
    );
    assert_eq!(kept(&sim).first(), Some(&1), "v1's own file runs");
}

#[test]
fn a_revival_is_not_handed_to_a_queued_reload_of_that_very_binary() {
    // v1 dies while the reload to v2 starts, a reload to v1 again queued
    // behind; v2 dies in its probation as v1's starts. Coming back to v1
    // should that one fail would run the very binary that failed.
    let mut sim = Sim::serving(super::Settings {
        persist: true,
        ..settings()
    });
    sim.reload("/bin/v2");
    sim.hello(2);
    sim.reload("/bin/v1");
    sim.exit(1, ChildExit::Code(1));
    sim.ready(2);
    sim.exit(2, ChildExit::Code(1));
    sim.hello_and_ready(3);
    let super::state::Phase::Up(up) = &sim.machine.state().phase else {
        panic!("not up");
    };
    assert_eq!(up.probation, None, "nothing to come back to");
    sim.advance(PROBATION - MS);
    sim.exit(3, ChildExit::Code(1));
    assert!(
        !sim.logged("reload to /bin/v1 rolled back"),
        "{:#?}",
        sim.logs()
    );
}

#[test]
fn a_revival_outlasts_a_queued_reload_that_fails_to_start() {
    let mut sim = revival_behind_a_queued_reload();
    // v3 never becomes ready: the restart runs v1's file, not v2.
    sim.exit(3, ChildExit::Code(1));
    // Within its hello timeout: the restart's child is due, not failed.
    sim.advance(Duration::from_secs(5));
    assert_eq!(
        sim.spawned_paths(),
        ["/bin/v1", "/bin/v2", "/bin/v3", "/bin/v1"]
    );
    let restart = &sim.machine.state().children[&4].launch.target;
    assert_eq!(restart.binary_of, Some(1), "it runs the old file itself");
}

#[test]
fn a_revival_outlasts_a_queued_reload_that_fails_to_start_and_one_queued_behind_it() {
    // As above, with v4 queued behind v3: v3 fails to start, v4 starts
    // and is promoted, and dies in its probation: v1 comes back, as said.
    let mut sim = revival_behind_queued_reloads(&["/bin/v3", "/bin/v4"]);
    assert!(sim.logged("the reload under way decides, and should it fail too, /bin/v1 restarts"));
    sim.exit(3, ChildExit::Code(1));
    sim.hello_and_ready(4);
    sim.advance(PROBATION - MS);
    sim.exit(4, ChildExit::Code(1));
    assert!(sim.logged("reload to /bin/v4 rolled back"));
    // Within its hello timeout: the restart's child is due, not failed.
    sim.advance(Duration::from_secs(5));
    assert_eq!(
        sim.spawned_paths(),
        ["/bin/v1", "/bin/v2", "/bin/v3", "/bin/v4", "/bin/v1"]
    );
    assert_eq!(kept(&sim).first(), Some(&1), "v1's own file runs");
}

#[test]
fn a_revival_outlasts_a_queued_reload_whose_start_fails_without_a_child_and_one_behind_it() {
    // As above, v3's start failing without a child's exit: its spawn
    // fails (its binary gone), its bind fails, or its exec never returns.
    for how in ["spawn", "bind", "hung exec"] {
        let mut sim = Sim::serving(super::Settings {
            persist: true,
            ..settings()
        });
        sim.reload("/bin/v2");
        sim.hello(2);
        match how {
            "bind" => {
                sim.busy.insert("127.0.0.1:9090".to_owned());
                let http = crate::spec::ListenerSpec::parse("http", "tcp:127.0.0.1:8080");
                sim.request(Request::Reload {
                    path: "/bin/v3".into(),
                    argv0: None,
                    args: Some(vec!["-http=127.0.0.1:9090".into()]),
                    listeners: Some(vec![http.unwrap()]),
                    dir: None,
                    dir_id: None,
                });
            }
            _ => {
                sim.unstartable.insert("/bin/v3".into());
                sim.reload("/bin/v3");
            }
        }
        sim.reload("/bin/v4");
        sim.exit(1, ChildExit::Code(1));
        // v3's bind or spawn under way as v2 dies in its probation.
        sim.defer_binds = true;
        sim.defer_spawns = true;
        sim.ready(2);
        sim.exit(2, ChildExit::Code(1));
        assert!(
            sim.logged("the reload under way decides, and should it fail too, /bin/v1 restarts"),
            "{how}"
        );
        if how == "hung exec" {
            // Given up on, and v4 begun; then every exec returns.
            while !sim.logged("new child (/bin/v3) was not started within") {
                sim.advance(Duration::from_millis(100));
            }
        }
        sim.finish_binds();
        sim.finish_spawns();
        let v4 = *sim.processes.keys().last().unwrap();
        assert_eq!(
            sim.process(v4).path,
            std::path::Path::new("/bin/v4"),
            "{how}"
        );
        sim.hello_and_ready(v4);
        sim.advance(PROBATION - MS);
        sim.exit(v4, ChildExit::Code(1));
        assert!(sim.logged("reload to /bin/v4 rolled back"), "{how}");
        sim.advance(Duration::from_secs(60));
        let last = sim.processes.values().last().unwrap();
        assert_eq!(
            last.path,
            std::path::Path::new("/bin/v1"),
            "{how}: {:#?}",
            sim.logs()
        );
    }
}

#[test]
fn a_rolled_back_childs_listener_is_not_held_for_the_reload_under_way() {
    // v2 moved `http` to :9093 and dies in its probation while a reload
    // back to :8080 starts: the rollback to v1 waits for that reload, and
    // nothing may run v2's launch again, so :9093 goes now, not once the
    // reload settles (its queue refused meanwhile).
    let mut sim = Sim::serving(settings());
    let http = [("http", "tcp:127.0.0.1:8080")];
    reload_with(&mut sim, Some(&["-http=127.0.0.1:9093"]), &http);
    sim.hello_and_ready(2);
    sim.exit(1, OK);
    reload_with(&mut sim, Some(&["-http=127.0.0.1:8080"]), &http);
    // The second reload starts at once: v2 is ready.
    assert!(
        sim.logged("started child pid 1003 from /bin/v2"),
        "{:#?}",
        sim.logs()
    );
    sim.hello(3);
    sim.advance(PROBATION / 2);
    sim.exit(2, ChildExit::Code(1));
    assert!(sim.logged("rolled back"), "{:#?}", sim.logs());
    let moved = super::ListenerKey::of("http", crate::spec::Network::Tcp, "127.0.0.1:9093");
    assert!(!sim.sockets.contains(&moved), "{:#?}", sim.logs());
    assert!(sim.logged("closing listener tcp 127.0.0.1:9093: no child uses it"));
    // v1's file, for the rollback, and the reload's own; not v2's.
    assert_eq!(kept(&sim), [1, 3]);
}

#[test]
fn status_says_a_listener_is_not_listening_while_bound_again_or_once_a_stop_shut_it() {
    // v2 moved `http` to :9093 (:8080 shut) and dies in its probation:
    // the rollback to v1's launch binds :8080 again, and until that bind
    // is done nothing listens there, whatever v1's launch says.
    let mut sim = Sim::serving(settings());
    let http = [("http", "tcp:127.0.0.1:8080")];
    reload_with(&mut sim, Some(&["-http=127.0.0.1:9093"]), &http);
    sim.hello_and_ready(2);
    sim.exit(1, OK);
    assert!(sim.machine.status().listeners[0].listening);
    sim.defer_binds = true;
    sim.advance(PROBATION / 2);
    sim.exit(2, ChildExit::Code(1));
    assert!(sim.logged("rolled back"), "{:#?}", sim.logs());
    let listener = |sim: &Sim| sim.machine.status().listeners[0].clone();
    assert_eq!(listener(&sim).address.as_deref(), Some("127.0.0.1:8080"));
    assert!(!listener(&sim).listening);
    sim.finish_binds();
    assert!(listener(&sim).listening);
    // A stop shuts it, though the draining child holds it still.
    sim.hello_and_ready(3);
    sim.request(Request::Stop);
    assert!(!listener(&sim).listening);
    assert_eq!(listener(&sim).address.as_deref(), Some("127.0.0.1:8080"));
}

#[test]
fn status_keeps_the_port_a_port_0_listener_had_once_a_stop_shut_it() {
    let mut sim = Sim::serving(settings());
    let http = [("http", "tcp:127.0.0.1:8080")];
    reload_with(&mut sim, Some(&["-http=127.0.0.1:0"]), &http);
    sim.hello_and_ready(2);
    let listener = |sim: &Sim| sim.machine.status().listeners[0].clone();
    let port = listener(&sim).address.expect("an address");
    assert_eq!(port, "127.0.0.1:40002");
    // The serving child, which was to shut it, exits first; the old one
    // drains on, and the supervisor shuts the socket.
    sim.request(Request::Stop);
    sim.exit(2, OK);
    assert!(sim.logged("no longer listening on"), "{:#?}", sim.logs());
    assert!(!listener(&sim).listening);
    assert_eq!(listener(&sim).address, Some(port));
}

#[test]
fn a_port_0_listener_lost_in_an_upgrade_is_marked_and_not_shut_at_a_stop() {
    // Held on for its port, without a socket: none to shut, nor to say
    // shut, and marked to the end.
    let mut sim = Sim::serving(settings());
    let http = [("http", "tcp:127.0.0.1:8080")];
    reload_with(&mut sim, Some(&["-http=127.0.0.1:0"]), &http);
    sim.hello_and_ready(2);
    let listener = |sim: &Sim| sim.machine.status().listeners[0].clone();
    assert!(listener(&sim).listening && !listener(&sim).lost_in_upgrade);
    let key = listener(&sim).key.expect("a key");
    sim.lose_listener(&key);
    assert!(sim.logged("its port was the kernel's choice"));
    let lost = listener(&sim);
    assert!(lost.lost_in_upgrade && !lost.listening, "{lost:?}");
    sim.request(Request::Stop);
    let shut = |sim: &Sim| {
        (sim.logs().iter()).any(|l| l.contains("no longer listening on tcp 127.0.0.1:40002"))
    };
    assert!(!shut(&sim), "{:#?}", sim.logs());
    sim.exit(2, OK);
    assert!(!shut(&sim), "{:#?}", sim.logs());
    let lost = listener(&sim);
    assert!(lost.lost_in_upgrade && !lost.listening, "{lost:?}");
    assert_eq!(lost.address.as_deref(), Some("127.0.0.1:40002"));
    // How the serving child ended at the stop is the last exit.
    let pid = sim.pid(2);
    let last_exit = sim.machine.status().last_exit;
    assert_eq!(
        last_exit,
        Some(format!("child pid {pid} exited with code 0"))
    );
}

#[test]
fn the_last_status_shows_no_socket_listening_and_a_port_0_ones_port() {
    // Asked after the supervisor decided to exit: it has let go of every
    // socket of its own, the UDP one it still holds in its state too,
    // and the port a port-0 listener had is still the one said.
    let mut sim = Sim::serving(settings());
    let declared = [
        ("http", "tcp:127.0.0.1:8080"),
        ("dns", "udp:127.0.0.1:5353"),
    ];
    reload_with(&mut sim, Some(&["-http=127.0.0.1:0"]), &declared);
    sim.hello_and_ready(2);
    let port = sim.machine.status().listeners[0].address.clone();
    assert_eq!(port.as_deref(), Some("127.0.0.1:40002"));
    sim.request(Request::Stop);
    sim.exit(2, OK);
    sim.exit(1, OK);
    assert_eq!(sim.exit_code, Some(0));
    let asked = sim.request(Request::Status);
    let Some(Response::Status { status }) = sim.final_answer(asked) else {
        panic!("no status: {:?}", sim.final_answer(asked));
    };
    assert!(status.stopping && status.child.is_none(), "{status:?}");
    assert_eq!(status.listeners[0].address, port, "{status:?}");
    assert!(
        status.listeners.iter().all(|l| !l.listening),
        "{:?}",
        status.listeners
    );
}

#[test]
fn without_persist_a_reload_whose_old_child_died_is_not_rolled_back() {
    // Its child exited on its own: without persist nothing restarts it.
    let mut sim = reloaded_while_the_old_child_died(false, Some("/bin/v2"));
    sim.advance(PROBATION - MS);
    sim.exit(2, ChildExit::Code(1));
    assert_eq!(sim.spawned_paths(), ["/bin/v1", "/bin/v2"]);
    assert_eq!(sim.exit_code, Some(1));
}

#[test]
fn a_sighup_reload_whose_old_child_died_has_no_rollback_to_the_same_binary() {
    // With the supervisor's upgrades off too: the binaries' identities
    // tell the same file all the same (the driver hid them then).
    for self_upgrade in [true, false] {
        let settings = super::Settings {
            persist: true,
            self_upgrade,
            ..settings()
        };
        let mut sim = reloaded_while_the_old_child_died_with(settings, None);
        let super::state::Phase::Up(up) = &sim.machine.state().phase else {
            panic!("not up");
        };
        assert_eq!(up.probation, None);
        sim.advance(PROBATION - MS);
        sim.exit(2, ChildExit::Code(1));
        assert!(!sim.logged("rolled back"));
    }
}

#[test]
fn a_binary_is_let_go_once_no_rollback_can_run_it() {
    let mut sim = reloaded_to("/bin/v2");
    sim.advance(PROBATION);
    assert_eq!(kept(&sim), [2]);
}

#[test]
fn a_child_that_dies_after_probation_is_not_rolled_back() {
    let mut sim = Sim::serving(settings());
    sim.reload("/bin/dies");
    sim.hello_and_ready(2);
    sim.advance(PROBATION);
    sim.exit(2, ChildExit::Code(1));
    assert_eq!(sim.exit_code, None, "the old child still drains");
    sim.exit(1, OK);
    assert_eq!(sim.exit_code, Some(1));
    assert_eq!(sim.processes.len(), 2);
}

#[test]
fn manual_readiness_times_out_and_the_old_child_keeps_serving() {
    let mut sim = Sim::serving(settings());
    let client = sim.reload("/bin/never-ready");
    sim.hello_as(2, NAME, LAMEDUCK, Duration::from_millis(500));
    sim.advance(Duration::from_millis(499));
    assert!(!sim.process(2).killed);
    sim.advance(MS);
    assert!(sim.process(2).killed);
    sim.exit(2, ChildExit::Signal(9));
    let error = error_of(sim.final_answer(client));
    assert!(
        error.ends_with(
            "was not ready within 500ms (a program is ready once its `main` first waits, or, with manual readiness (`ready = \"manual\"`, `Ready::Manual`), once it calls `ctx.ready()`)"
        ),
        "{error}"
    );
    assert!(!sim.process(1).lameducked);
}

/// `Waiting` for child `pid`, whatever its bound.
fn waiting(pid: u32) -> impl Fn(&Response) -> bool {
    move |r| matches!(r, Response::Waiting { pid: p, .. } if *p == pid)
}

#[test]
fn a_reload_during_a_reload_waits_its_turn() {
    let mut sim = Sim::serving(settings());
    let first = sim.reload("/bin/slow");
    let second = sim.reload("/bin/v1");
    // Bounded by the child's deadlines: its hello's, then its readiness's
    // (a client whose own build would wait less waits as long).
    let bound = super::HELLO_TIMEOUT + settings().ready_timeout;
    assert_eq!(
        sim.answers(second),
        [Response::Waiting {
            pid: sim.pid(2),
            within_ms: Some(bound.as_millis() as u64)
        }]
    );
    // Its hello tells its own ready timeout, longer than the supervisor's:
    // the waiting client is told the new bound.
    sim.advance(Duration::from_secs(1));
    sim.hello_as(
        2,
        super::sim::NAME,
        super::sim::LAMEDUCK,
        Duration::from_secs(300),
    );
    assert_eq!(
        sim.answers(second).last(),
        Some(&Response::Waiting {
            pid: sim.pid(2),
            within_ms: Some(300_000)
        })
    );
    assert!(sim.logged("reload of /bin/v1 waits for child pid 1002 to finish starting"));
    sim.ready(2);
    assert!(matches!(
        sim.final_answer(first),
        Some(Response::Reloaded { .. })
    ));
    assert_eq!(sim.starting_id(), Some(3), "the second starts now");
    sim.hello_and_ready(3);
    assert!(matches!(
        sim.final_answer(second),
        Some(Response::Reloaded { .. })
    ));
    let status = sim.machine.status();
    assert_eq!(status.reloads, 2);
    assert_eq!(status.child.unwrap().path, "/bin/v1");
}

#[test]
fn stop_during_a_reload_wins() {
    let mut sim = Sim::serving(settings());
    let reload = sim.reload("/bin/slow");
    let queued = sim.reload("/bin/v3");
    let stop = sim.request(Request::Stop);
    // The reload whose child started failed; the one waiting its turn was
    // put off, nothing tried (`reload` exits 4, not 1).
    let stopping = "the supervisor is stopping".to_owned();
    assert_eq!(
        error_and_refused(sim.final_answer(reload)),
        (stopping.clone(), false)
    );
    assert_eq!(
        error_and_refused(sim.final_answer(queued)),
        (stopping, true)
    );
    assert!(sim.process(1).lameducked && sim.process(2).lameducked);
    sim.exit(2, OK);
    sim.exit(1, OK);
    assert_eq!(stopped_code(sim.final_answer(stop)), 0);
    assert_eq!(sim.exit_code, Some(0));
}

/// The sim's settings with a lameduck timeout of a minute, longer than
/// the hello deadline.
fn a_minutes_lameduck() -> super::Settings {
    super::Settings {
        lameduck: Duration::from_secs(60),
        ..settings()
    }
}

#[test]
fn a_stop_during_a_reload_kills_a_silent_new_child_at_its_hello_deadline() {
    // Stuck in its code before `run` (channel open, never a word): the
    // stop waits for it no longer than a start would, not its lameduck
    // timeout of a minute; its start fails for that.
    let mut sim = Sim::serving(a_minutes_lameduck());
    sim.reload("/bin/stuck");
    sim.advance(HELLO_TIMEOUT / 2);
    let stop = sim.request(Request::Stop);
    sim.exit(1, OK);
    assert!(!sim.process(2).killed);
    sim.advance(HELLO_TIMEOUT / 2 - MS);
    assert!(!sim.process(2).killed, "killed before its hello deadline");
    sim.advance(MS);
    assert!(sim.process(2).killed, "{:?}", sim.logs());
    let failure = "new child pid 1002 (/bin/stuck) did not answer on the child channel within 10s: is /bin/stuck a littleboss program?";
    assert!(sim.logged(failure), "{:?}", sim.logs());
    let status = sim.machine.status();
    assert_eq!(status.failures, 1);
    assert_eq!(status.last_failure.as_deref(), Some(failure));
    sim.exit(2, ChildExit::Signal(9));
    assert_eq!(
        stopped_code(sim.final_answer(stop)),
        0,
        "the serving child's"
    );
    // With no child serving, the silent one's killed start gives the code.
    let mut sim = Sim::new(a_minutes_lameduck());
    let stop = sim.request(Request::Stop);
    sim.advance(HELLO_TIMEOUT);
    assert!(sim.process(1).killed);
    sim.exit(1, ChildExit::Signal(9));
    assert_eq!(stopped_code(sim.final_answer(stop)), 1);
}

#[test]
fn a_stop_during_a_reload_lets_a_new_child_that_said_hello_drain() {
    // Its hello, after the stop began, lifts the hello deadline: it
    // drains until its lameduck timeout, as every other child.
    let long = a_minutes_lameduck().lameduck;
    let mut sim = Sim::serving(a_minutes_lameduck());
    sim.reload("/bin/slow");
    let stop = sim.request(Request::Stop);
    sim.advance(HELLO_TIMEOUT / 2);
    sim.hello(2);
    sim.exit(1, OK);
    sim.advance(long - HELLO_TIMEOUT / 2 - MS);
    assert!(!sim.process(2).killed, "{:?}", sim.logs());
    assert_eq!(sim.machine.status().failures, 0);
    sim.exit(2, OK);
    assert_eq!(stopped_code(sim.final_answer(stop)), 0);
}

/// Serving with a lameduck timeout of a minute, a reload's child (2)
/// starting, and a stop under way: its client.
fn stopping_with_a_silent_reload(defer_spawn: bool) -> (Sim, super::ClientId) {
    let mut sim = Sim::serving(a_minutes_lameduck());
    sim.defer_spawns = defer_spawn;
    sim.reload("/bin/v2");
    let stop = sim.request(Request::Stop);
    sim.exit(1, OK);
    (sim, stop)
}

#[test]
fn a_stop_gives_a_child_whose_exec_returns_late_a_whole_hello_timeout() {
    let (mut sim, stop) = stopping_with_a_silent_reload(true);
    sim.advance(HELLO_TIMEOUT - MS);
    sim.finish_spawns();
    sim.advance(HELLO_TIMEOUT - MS);
    assert!(!sim.process(2).killed, "{:?}", sim.logs());
    sim.advance(MS);
    assert!(sim.process(2).killed, "{:?}", sim.logs());
    sim.exit(2, ChildExit::Signal(9));
    assert_eq!(stopped_code(sim.final_answer(stop)), 0);
    // One whose exec never returns is given up on at the deadline, said
    // as while up; with no child serving, the stop says 1 (it never ran).
    let mut sim = Sim::serving(super::Settings {
        persist: true,
        ..a_minutes_lameduck()
    });
    sim.defer_spawns = true;
    sim.exit(1, ChildExit::Code(1));
    sim.advance(Duration::from_secs(1));
    assert!(sim.spawning().next().is_some(), "a restart spawning");
    let stop = sim.request(Request::Stop);
    sim.advance(HELLO_TIMEOUT);
    let failure = "new child (/bin/v1) was not started within 10s: its exec had not returned (is /bin/v1 on a file system that hangs?); it is killed once it runs";
    assert!(sim.logged(failure), "{:?}", sim.logs());
    assert_eq!(stopped_code(sim.final_answer(stop)), 1);
}

#[test]
fn a_stop_judges_a_starting_childs_first_word_as_while_up() {
    // A hello as another service's, a ready before its hello: its start
    // fails, and it is killed at once.
    for (word, failure) in [
        (
            "other",
            "new child pid 1002 (/bin/v2) is a littleboss program for service `other`, not `svc`",
        ),
        (
            "ready",
            "new child pid 1002 (/bin/v2) said it was ready before its hello",
        ),
    ] {
        let (mut sim, stop) = stopping_with_a_silent_reload(false);
        match word {
            "other" => sim.hello_as(2, "other", LAMEDUCK, Duration::from_secs(30)),
            _ => sim.ready(2),
        }
        assert!(sim.process(2).killed, "{word}: {:?}", sim.logs());
        assert!(sim.logged(failure), "{word}: {:?}", sim.logs());
        assert_eq!(sim.machine.status().failures, 1);
        sim.exit(2, ChildExit::Signal(9));
        assert_eq!(stopped_code(sim.final_answer(stop)), 0);
    }
    // Its own error, before the stop or during it, fails its start,
    // counted once: a hello after it lifts nothing, and it is killed at
    // the deadline unless it exits.
    for before_the_stop in [true, false] {
        let bad_flag = |sim: &mut Sim| {
            let error = "bad flag".to_owned();
            sim.message(2, FromChild::Error { error });
        };
        let mut sim = Sim::serving(a_minutes_lameduck());
        sim.reload("/bin/v2");
        if before_the_stop {
            bad_flag(&mut sim);
        }
        sim.request(Request::Stop);
        sim.exit(1, OK);
        if !before_the_stop {
            bad_flag(&mut sim);
        }
        assert!(sim.logged("new child pid 1002 (/bin/v2) bad flag"));
        sim.hello(2);
        sim.advance(HELLO_TIMEOUT);
        assert!(sim.process(2).killed, "{:?}", sim.logs());
        let failures = sim.machine.status().failures;
        assert_eq!(failures, 1, "{before_the_stop}: {:?}", sim.logs());
    }
}

#[test]
fn status_during_a_stop_says_a_silent_child_is_killed_at_its_hello_deadline() {
    let (mut sim, _) = stopping_with_a_silent_reload(false);
    let status = sim.machine.status();
    let draining = &status.draining;
    assert_eq!(draining.len(), 1, "{status:?}");
    assert_eq!(draining[0].kill_in_ms, Some(10_000));
    sim.advance(HELLO_TIMEOUT / 2);
    sim.hello(2);
    let status = sim.machine.status();
    assert_eq!(status.draining[0].kill_in_ms, Some(55_000));
}

#[test]
fn a_stop_during_a_reload_that_failed_already_answers_with_its_failure() {
    // Failed (wrong service) and being killed as the stop comes: the
    // reload's answer is why it failed, not the stop.
    let mut sim = Sim::serving(settings());
    let reload = sim.reload("/bin/other");
    sim.hello_as(2, "another", LAMEDUCK, Duration::from_secs(30));
    let stop = sim.request(Request::Stop);
    assert_eq!(
        error_of(sim.final_answer(reload)),
        "new child pid 1002 (/bin/other) is a littleboss program for service `another`, not `svc`"
    );
    sim.exit(2, ChildExit::Signal(9));
    sim.exit(1, OK);
    assert_eq!(stopped_code(sim.final_answer(stop)), 0);
}

#[test]
fn a_rollback_while_another_reload_starts_leaves_no_child_behind() {
    let mut sim = Sim::serving(settings());
    sim.reload("/bin/dies");
    sim.hello_and_ready(2);
    let slow = sim.reload("/bin/slow");
    sim.exit(2, ChildExit::Code(1));
    assert_eq!(sim.starting_id(), Some(3), "no rollback while v4 starts");
    sim.hello_and_ready(3);
    assert!(matches!(
        sim.final_answer(slow),
        Some(Response::Reloaded { .. })
    ));
    assert_eq!(sim.spawned_paths(), ["/bin/v1", "/bin/dies", "/bin/slow"]);
    let stop = sim.request(Request::Stop);
    sim.exit(1, OK);
    sim.exit(3, OK);
    assert_eq!(stopped_code(sim.final_answer(stop)), 0);
}

/// Version 1 replaced by a reload to `path`, whose child (2) serves on
/// probation; the old child has exited.
fn on_probation(path: &str) -> Sim {
    let mut sim = Sim::serving(settings());
    sim.reload(path);
    sim.hello_and_ready(2);
    sim.exit(1, OK);
    sim
}

#[test]
fn a_rollback_comes_back_when_the_reload_under_way_fails_too() {
    let mut sim = on_probation("/bin/dies");
    sim.reload("/bin/fails");
    sim.exit(2, ChildExit::Code(1));
    sim.exit(3, ChildExit::Code(1));
    assert_eq!(
        sim.spawned_paths(),
        ["/bin/v1", "/bin/dies", "/bin/fails", "/bin/v1"]
    );
}

#[test]
fn a_reload_that_took_over_during_a_put_off_rollback_is_on_probation_with_it() {
    let mut sim = on_probation("/bin/dies");
    // A second reload starts while the first is on probation, which
    // then dies: the rollback to v1 waits for the second's outcome.
    sim.reload("/bin/dies-too");
    sim.exit(2, ChildExit::Code(1));
    sim.hello_and_ready(3);
    // It took over, and dies within its probation: back to v1.
    sim.advance(PROBATION - MS);
    sim.exit(3, ChildExit::Code(1));
    assert_eq!(
        sim.spawned_paths(),
        ["/bin/v1", "/bin/dies", "/bin/dies-too", "/bin/v1"]
    );
    assert_eq!(sim.exit_code, None, "the supervisor gave up");
    sim.hello_and_ready(4);
    assert_eq!(sim.machine.status().child.unwrap().path, "/bin/v1");
}

#[test]
fn a_sighup_queued_behind_a_failing_reload_reloads_the_binary_rolled_back_to() {
    let mut sim = on_probation("/bin/dies");
    sim.reload("/bin/fails");
    sim.signal(Signal::Hup);
    // The reload on probation dies while the next starts; that one fails.
    sim.exit(2, ChildExit::Code(1));
    sim.exit(3, ChildExit::Code(1));
    assert_eq!(
        sim.spawned_paths(),
        ["/bin/v1", "/bin/dies", "/bin/fails", "/bin/v1"],
        "the binary rolled back from came back first"
    );
}

#[test]
fn a_queued_reload_runs_when_nothing_is_left_serving() {
    let mut sim = Sim::serving(settings());
    sim.reload("/bin/fails");
    let queued = sim.reload("/bin/v2");
    let pid = sim.pid(2);
    assert!(matches!(sim.answers(queued), [w] if waiting(pid)(w)));
    // The serving child crashes, then the reload under way fails.
    sim.exit(1, ChildExit::Code(3));
    sim.exit(2, ChildExit::Code(1));
    assert_eq!(sim.exit_code, None, "the queued reload was not tried");
    assert_eq!(sim.starting_id(), Some(3));
    sim.hello_and_ready(3);
    assert!(matches!(
        sim.final_answer(queued),
        Some(Response::Reloaded { .. })
    ));
    assert_eq!(sim.machine.status().child.unwrap().path, "/bin/v2");
}

#[test]
fn a_failed_rollback_under_persist_restarts_the_previous_binary_not_the_failed_one() {
    let mut sim = Sim::serving(super::Settings {
        persist: true,
        ..settings()
    });
    sim.reload("/bin/dies");
    sim.hello_and_ready(2);
    sim.exit(1, OK);
    sim.exit(2, ChildExit::Code(1));
    // The rollback to v1 starts, and dies before it is ready.
    assert_eq!(sim.machine.status().starting.unwrap().child.path, "/bin/v1");
    sim.exit(3, ChildExit::Code(1));
    sim.advance(Duration::from_secs(1));
    assert_eq!(
        sim.spawned_paths(),
        ["/bin/v1", "/bin/dies", "/bin/v1", "/bin/v1"],
        "the restart ran the binary rolled back from"
    );
}

#[test]
fn a_stop_while_a_first_child_that_failed_waits_to_restart_reports_its_code() {
    let mut sim = Sim::new(super::Settings {
        persist: true,
        ..settings()
    });
    sim.exit(1, ChildExit::Code(3));
    let stop = sim.request(Request::Stop);
    assert_eq!(stopped_code(sim.final_answer(stop)), 3);
}

#[test]
fn a_reload_queued_behind_two_hears_each_time_the_queue_moves() {
    let mut sim = Sim::serving(settings());
    let first = sim.reload("/bin/slow");
    let second = sim.reload("/bin/v1");
    let third = sim.reload("/bin/v1");
    sim.hello_and_ready(2);
    assert!(matches!(
        sim.final_answer(first),
        Some(Response::Reloaded { .. })
    ));
    assert_eq!(sim.starting_id(), Some(3), "the second starts now");
    // The third waits for the second's child now: told so.
    // (Told again at the second's hello, with its own ready deadline.)
    let (two, three) = (sim.pid(2), sim.pid(3));
    assert!(
        matches!(sim.answers(third), [a, b, c] if waiting(two)(a) && waiting(two)(b) && waiting(three)(c)),
        "{:?}",
        sim.answers(third)
    );
    // The second, started, is told so (waiting twice, then reloading).
    let second_answers = sim.answers(second);
    assert!(waiting(two)(&second_answers[0]));
    assert!(waiting(two)(&second_answers[1]));
    assert!(
        matches!(second_answers[2..], [Response::Reloading { .. }]),
        "{second_answers:?}"
    );
    sim.hello_and_ready(3);
    assert_eq!(sim.starting_id(), Some(4), "the third starts now");
    sim.hello_and_ready(4);
    assert!(matches!(
        sim.final_answer(third),
        Some(Response::Reloaded { .. })
    ));
}

#[test]
fn a_queued_reload_whose_client_went_away_is_dropped_and_a_started_one_goes_on() {
    let mut sim = Sim::serving(settings());
    let first = sim.reload("/bin/slow");
    let gone = sim.reload("/bin/v2");
    let waits = sim.reload("/bin/v1");
    let queued: Vec<_> = sim.machine.state().queued_clients().collect();
    assert_eq!(queued, [gone, waits]);
    sim.handle(super::Event::ClientGone { client: gone });
    assert!(sim.logged("dropped the queued reload of /bin/v2: its client went away"));
    let queued: Vec<_> = sim.machine.state().queued_clients().collect();
    assert_eq!(queued, [waits]);
    // Its one final answer, for no one.
    let error = error_of(sim.final_answer(gone));
    assert!(error.contains("went away before its turn"), "{error}");
    // The first one's client goes too: its child has started, and serves.
    sim.handle(super::Event::ClientGone { client: first });
    sim.hello_and_ready(2);
    assert!(matches!(
        sim.final_answer(first),
        Some(Response::Reloaded { .. })
    ));
    assert_eq!(sim.starting_id(), Some(3), "the one whose client waits");
    assert_eq!(sim.process(3).path, std::path::Path::new("/bin/v1"));
    sim.hello_and_ready(3);
    assert!(matches!(
        sim.final_answer(waits),
        Some(Response::Reloaded { .. })
    ));
    assert_eq!(sim.machine.status().reloads, 2);
}

#[test]
fn a_stops_client_gone_is_waited_for_no_more_and_the_stop_goes_on() {
    let mut sim = Sim::serving(settings());
    let stays = sim.request(Request::Stop);
    // A script retrying `stop` on its own timeout: each try's client goes.
    let tries: Vec<_> = (0..3).map(|_| sim.request(Request::Stop)).collect();
    for &gone in &tries {
        sim.handle(super::Event::ClientGone { client: gone });
        // Told it stops, then its one final answer, for no one.
        let answers = sim.answers(gone);
        assert!(
            matches!(answers[0], Response::Stopping { .. }),
            "{answers:?}"
        );
        let error = error_of(sim.final_answer(gone));
        assert!(error.contains("went away before the stop ended"), "{error}");
    }
    let super::state::Phase::Stopping(stopping) = &sim.machine.state().phase else {
        panic!("not stopping");
    };
    assert_eq!(stopping.waiters, [stays]);
    // The stop goes on: the one that waits hears how it ended, the gone
    // ones nothing more.
    sim.exit(1, ChildExit::Code(0));
    assert!(matches!(
        sim.final_answer(stays),
        Some(Response::Stopped { exit_code: 0 })
    ));
    for gone in tries {
        assert_eq!(sim.answers(gone).len(), 2);
    }
}

#[test]
fn the_sighups_a_dropped_reload_stood_between_are_one_reload() {
    let mut sim = Sim::serving(settings());
    sim.reload("/bin/slow");
    sim.signal(Signal::Hup);
    let gone = sim.reload("/bin/v2");
    sim.signal(Signal::Hup);
    sim.handle(super::Event::ClientGone { client: gone });
    sim.hello_and_ready(2);
    sim.hello_and_ready(3);
    assert_eq!(sim.starting_id(), None, "one SIGHUP reload, not two");
    assert_eq!(sim.machine.status().reloads, 2);
}

#[test]
fn clients_whose_connections_did_not_come_across_an_upgrade_are_gone() {
    let mut sim = Sim::serving(settings());
    sim.reload("/bin/slow");
    // Asked just before the exec, handed over as events; the reload's
    // client hung up meanwhile, so its connection did not come across.
    let reload = super::Event::Control {
        client: 100,
        request: Request::Reload {
            path: "/bin/v2".into(),
            argv0: None,
            args: None,
            listeners: None,
            dir: None,
            dir_id: None,
        },
    };
    let status = super::Event::Control {
        client: 101,
        request: Request::Status,
    };
    let pending = [reload, status];
    let gone = super::gone_clients(&pending, &[101]);
    assert!(
        matches!(gone[..], [super::Event::ClientGone { client: 100 }]),
        "{gone:?}"
    );
    for event in pending.into_iter().chain(gone) {
        sim.handle(event);
    }
    assert!(sim.logged("dropped the queued reload of /bin/v2: its client went away"));
    assert!(sim.machine.state().queued_clients().next().is_none());
}

#[test]
fn queued_reloads_proceed_even_when_one_fails_at_once() {
    let mut sim = Sim::with_unstartable(settings(), &["/nonexistent/bin"]);
    let missing = sim.reload("/nonexistent/bin");
    let good = sim.reload("/bin/v1");
    sim.hello_and_ready(1);
    let error = error_of(sim.final_answer(missing));
    assert!(
        error.starts_with("cannot start /nonexistent/bin"),
        "{error}"
    );
    assert_eq!(sim.starting_id(), Some(3), "the good one started at once");
    sim.hello_and_ready(3);
    assert!(matches!(
        sim.final_answer(good),
        Some(Response::Reloaded { .. })
    ));
}

#[test]
fn stop_reports_the_serving_childs_code_not_a_starting_ones() {
    let mut sim = Sim::serving(settings());
    let reload = sim.reload("/bin/exit3");
    assert_eq!(sim.machine.status().starting.unwrap().why, "reload");
    let stop = sim.request(Request::Stop);
    sim.exit(2, ChildExit::Code(3));
    sim.exit(1, OK);
    assert_eq!(stopped_code(sim.final_answer(stop)), 0);
    assert!(matches!(
        sim.final_answer(reload),
        Some(Response::Error { .. })
    ));
}

#[test]
fn a_reloaded_binary_keeps_its_own_name() {
    let mut sim = Sim::serving(settings());
    sim.request(Request::Reload {
        path: "/bin/v2".into(),
        argv0: Some("v2-name".into()),
        args: None,
        listeners: None,
        dir: None,
        dir_id: None,
    });
    assert_eq!(sim.process(2).argv0, "v2-name");
}

#[test]
fn a_sighup_queued_behind_a_reload_reloads_the_new_binary_not_the_old() {
    let mut sim = Sim::serving(settings());
    sim.reload("/bin/slow");
    sim.signal(Signal::Hup);
    assert!(sim.logged("reload of the serving binary waits"));
    sim.hello_and_ready(2);
    sim.hello_and_ready(3);
    assert_eq!(sim.spawned_paths(), ["/bin/v1", "/bin/slow", "/bin/slow"]);
    assert_eq!(sim.machine.status().reloads, 2);
}

#[test]
fn a_relative_reload_path_is_refused() {
    let mut sim = Sim::serving(settings());
    let client = sim.reload("bin/v2");
    assert_eq!(
        error_of(sim.final_answer(client)),
        "the binary path bin/v2 is not absolute"
    );
    assert_eq!(sim.processes.len(), 1);
}

// persist.rs

#[test]
fn a_restart_waiting_longer_than_the_limits_window_counts_itself() {
    // Crashes as soon as ready: the backoff doubles past a 1 s window,
    // which the limit (10 restarts) is never reached within.
    let mut sim = Sim::serving(super::Settings {
        persist: true,
        restart_limit: (10, Duration::from_secs(1)),
        ..settings()
    });
    let mut id = 1;
    for _ in 0..5 {
        sim.exit(id, ChildExit::Code(1));
        sim.advance(Duration::from_secs(4));
        id = sim.starting_id().expect("restarted");
        sim.hello_and_ready(id);
    }
    // The next waits about 3.2 s: 1.5 s into it, past the window.
    sim.exit(id, ChildExit::Code(1));
    sim.advance(Duration::from_millis(1500));
    let restart = asked_status(&mut sim).restart.expect("a restart waiting");
    assert!(restart.in_ms > 500, "{restart:?}");
    assert_eq!(restart.recent, 1, "{restart:?}");
}

#[test]
fn persist_restarts_a_child_that_exits_on_its_own() {
    let mut sim = Sim::serving(super::Settings {
        persist: true,
        ..settings()
    });
    sim.exit(1, OK);
    assert!(sim.logged("restarting in"));
    assert_eq!(sim.processes.len(), 1);
    // status tells the wait (100 ms, give or take its jitter).
    sim.advance(Duration::from_millis(30));
    let restart = asked_status(&mut sim).restart.unwrap();
    assert!((50..=90).contains(&restart.in_ms), "{restart:?}");
    let (limit, window) = settings().restart_limit;
    assert_eq!(restart.recent, 1);
    assert_eq!(restart.limit, limit);
    assert_eq!(restart.window_ms, window.as_millis() as u64);
    // And why: a clean exit is no failure, but it is the restart's cause.
    let pid = sim.pid(1);
    let status = asked_status(&mut sim);
    let exit = format!("child pid {pid} exited with code 0");
    assert_eq!(status.last_exit.as_ref(), Some(&exit));
    assert_eq!((status.failures, status.last_failure), (0, None));
    sim.advance(Duration::from_millis(90));
    assert_eq!(sim.starting_id(), Some(2));
    let status = asked_status(&mut sim);
    assert_eq!(status.starting.unwrap().why, "restart");
    assert_eq!(status.restart, None);
    assert_eq!(status.last_exit, Some(exit));
}

#[test]
fn without_persist_the_supervisor_exits_with_the_childs_code() {
    let mut sim = Sim::serving(settings());
    sim.exit(1, ChildExit::Code(7));
    assert!(sim.logged("no child is running and persist is off; exiting with code 7"));
    assert_eq!(sim.exit_code, Some(7));
}

#[test]
fn a_crash_loop_gives_up_after_the_restart_limit() {
    let mut sim = Sim::serving(super::Settings {
        persist: true,
        restart_limit: (2, Duration::from_secs(60)),
        ..settings()
    });
    for id in 1..=3 {
        sim.exit(id, ChildExit::Code(4));
        sim.advance(Duration::from_secs(1));
        sim.hello_and_ready(id + 1);
    }
    assert_eq!(sim.exit_code, Some(4));
    let last = sim.machine.status().last_failure.unwrap();
    assert!(
        last.contains("restarted more than 2 times within 60s"),
        "{last}"
    );
}

#[test]
fn a_restart_a_reload_replaced_does_not_count_against_the_limit() {
    let mut sim = Sim::serving(super::Settings {
        persist: true,
        restart_limit: (1, Duration::from_secs(60)),
        ..settings()
    });
    sim.exit(1, ChildExit::Code(4));
    assert!(sim.logged("restarting in"));
    // The deploy comes before the restart is due, and takes over.
    let reload = sim.reload("/bin/v2");
    sim.hello_and_ready(2);
    assert!(matches!(
        sim.final_answer(reload),
        Some(Response::Reloaded { .. })
    ));
    // One restart so far, the one that is due now: within the limit.
    sim.advance(PROBATION + MS);
    sim.exit(2, ChildExit::Code(4));
    assert_eq!(sim.exit_code, None, "{:?}", sim.logs());
    sim.advance(Duration::from_secs(1));
    assert_eq!(sim.spawned_paths(), ["/bin/v1", "/bin/v2", "/bin/v2"]);
}

#[test]
fn restarts_back_off_and_a_healthy_child_resets_the_delay() {
    let mut sim = Sim::serving(super::Settings {
        persist: true,
        restart_limit: (100, Duration::from_secs(1)),
        ..settings()
    });
    let mut delays = Vec::new();
    for id in 1..=4 {
        sim.exit(id, ChildExit::Code(1));
        delays.push(sim.machine.state().restart_delay);
        sim.advance(Duration::from_secs(2));
        sim.hello_and_ready(id + 1);
    }
    let ms: Vec<u128> = delays.iter().map(Duration::as_millis).collect();
    assert_eq!(ms, [200, 400, 800, 1600]);
    sim.advance(super::HEALTHY);
    sim.exit(5, ChildExit::Code(1));
    assert_eq!(sim.machine.state().restart_delay.as_millis(), 200);
}

#[test]
fn restart_waits_level_off_at_the_most_each_within_a_fifth_of_its_delay() {
    // A crash loop a generous limit lets go on: the delay doubles from
    // 100 ms to `RESTART_MAX` and stays there; each wait is its delay
    // give or take 20%, and not all of them the delay itself (jitter, so
    // that services crashing together do not restart in lockstep).
    let mut sim = Sim::serving(super::Settings {
        persist: true,
        restart_limit: (100, Duration::from_secs(1)),
        ..settings()
    });
    let mut delay = Duration::from_millis(100);
    let (mut shorter, mut longer) = (0, 0);
    for id in 1..=12 {
        sim.exit(id, ChildExit::Code(1));
        let wait = asked_status(&mut sim).restart.unwrap().in_ms;
        let ms = delay.as_millis() as u64;
        assert!(
            (ms * 8 / 10..=ms * 12 / 10).contains(&wait),
            "restart {id}: a wait of {wait} ms for a delay of {ms}"
        );
        shorter += usize::from(wait < ms);
        longer += usize::from(wait > ms);
        delay = (delay * 2).min(super::RESTART_MAX);
        sim.advance(Duration::from_millis(wait + 1));
        sim.hello_and_ready(id + 1);
    }
    assert_eq!(delay, super::RESTART_MAX);
    assert_eq!(sim.machine.state().restart_delay, super::RESTART_MAX);
    // Both ways (a constant factor would be no jitter).
    assert!(
        shorter >= 2 && longer >= 2,
        "of 12 waits {shorter} shorter than their delay, {longer} longer"
    );
}

#[test]
fn a_reload_of_a_healthy_child_resets_the_delay_too() {
    let mut sim = Sim::after_a_crash_loop();
    // Healthy for a long while, then replaced by a reload: the new child
    // dies after its probation but before it is healthy itself.
    sim.advance(super::HEALTHY * 6);
    let reload = sim.reload("/bin/v2");
    sim.hello_and_ready(6);
    assert!(matches!(
        sim.final_answer(reload),
        Some(Response::Reloaded { .. })
    ));
    sim.advance(super::PROBATION + Duration::from_secs(1));
    sim.exit(6, ChildExit::Code(1));
    // The first delay, drawn: then doubled for the next.
    assert_eq!(sim.machine.state().restart_delay.as_millis(), 200);
}

/// The `STATUS=` lines sent to the service manager so far.
fn status_lines(sim: &Sim) -> Vec<&str> {
    sim.effects
        .iter()
        .filter_map(|e| match e {
            super::Effect::Notify(super::Notice::Status(line)) => Some(line.as_str()),
            _ => None,
        })
        .collect()
}

#[test]
fn the_service_managers_status_line_follows_a_crash_a_restart_and_giving_up() {
    let mut sim = Sim::serving(super::Settings {
        persist: true,
        restart_limit: (1, Duration::from_secs(60)),
        ..settings()
    });
    sim.exit(1, ChildExit::Code(3));
    let last = *status_lines(&sim).last().unwrap();
    assert!(
        last.starts_with("no child serving, restarting in "),
        "{last}"
    );
    assert!(last.ends_with("reloads 0, failures 1"), "{last}");
    sim.advance(Duration::from_secs(1));
    let last = *status_lines(&sim).last().unwrap();
    let starting = format!(
        "no child serving, child pid {} starting (restart)",
        sim.pid(2)
    );
    assert!(last.starts_with(&starting), "{last}");
    sim.hello_and_ready(2);
    let last = *status_lines(&sim).last().unwrap();
    assert_eq!(
        last,
        format!("child pid {}, reloads 0, failures 1", sim.pid(2))
    );
    sim.exit(2, ChildExit::Code(3));
    let last = *status_lines(&sim).last().unwrap();
    assert!(last.contains("giving up (exit code 3)"), "{last}");

    // A stop says so, not what served before it.
    let mut sim = Sim::serving(settings());
    sim.request(Request::Stop);
    let last = *status_lines(&sim).last().unwrap();
    assert_eq!(last, "stopping, reloads 0, failures 0");
}

#[test]
fn why_it_gives_up_is_the_last_status_even_with_an_old_child_draining() {
    // The serving child dies while an old one still drains: the stop that
    // follows must not hide why with "stopping, ...".
    let mut sim = Sim::serving(settings());
    sim.reload("/bin/v2");
    sim.hello_and_ready(2);
    sim.advance(super::PROBATION + Duration::from_secs(1));
    sim.exit(2, ChildExit::Code(3));
    assert!(!sim.process(1).exited, "the old child still drains");
    let last = *status_lines(&sim).last().unwrap();
    assert!(
        last.contains("persist is off; exiting with code 3"),
        "{last}"
    );
}

#[test]
fn health_counts_from_taking_over_not_from_starting() {
    let mut sim = Sim::serving(super::Settings {
        persist: true,
        ..settings()
    });
    sim.exit(1, ChildExit::Code(1));
    sim.advance(Duration::from_secs(1));
    // The restart takes most of the healthy time to become ready, then
    // crashes at once: not healthy, so the back-off goes on.
    sim.hello(2);
    sim.advance(super::HEALTHY - Duration::from_millis(100));
    sim.ready(2);
    sim.advance(Duration::from_millis(200));
    sim.exit(2, ChildExit::Code(1));
    assert_eq!(sim.machine.state().restart_delay.as_millis(), 400);
}

#[test]
fn a_stop_while_a_restart_is_due_exits_with_the_last_code() {
    let mut sim = Sim::serving(super::Settings {
        persist: true,
        ..settings()
    });
    sim.exit(1, ChildExit::Code(5));
    let stop = sim.request(Request::Stop);
    assert_eq!(stopped_code(sim.final_answer(stop)), 5);
    sim.advance(Duration::from_secs(1));
    assert_eq!(sim.processes.len(), 1, "no restart after the stop");
}

#[test]
fn a_stop_while_a_restart_cannot_spawn_exits_1_not_0() {
    // The child whose exit gives a stop its code never ran: a failed
    // start, 1, whether its spawn failed or was given up on.
    for spawn_fails in [true, false] {
        let mut sim = Sim::serving(super::Settings {
            persist: true,
            ..settings()
        });
        sim.exit(1, OK);
        sim.defer_spawns = true;
        if spawn_fails {
            sim.unstartable.insert("/bin/v1".into());
        }
        sim.advance(Duration::from_secs(10));
        let restart = sim.spawning().next().expect("a restart spawning");
        let stop = sim.request(Request::Stop);
        if spawn_fails {
            sim.finish_spawns();
        } else {
            sim.advance(LAMEDUCK + HELLO_TIMEOUT);
            assert!(sim.spawning().any(|id| id == restart), "never returned");
        }
        assert_eq!(stopped_code(sim.final_answer(stop)), 1, "{:?}", sim.logs());
        assert_eq!(sim.exit_code, Some(1));
    }
}

// signals.rs

#[test]
fn a_child_that_blocks_after_lameduck_is_killed_after_the_timeout_on_sigint() {
    let mut sim = Sim::serving(settings());
    sim.signal(Signal::Int);
    assert!(sim.process(1).lameducked);
    sim.advance(LAMEDUCK - MS);
    assert!(!sim.process(1).killed);
    sim.advance(MS);
    assert!(sim.process(1).killed);
    sim.exit(1, ChildExit::Signal(9));
    assert_eq!(sim.exit_code, Some(137));
}

#[test]
fn a_childs_own_lameduck_timeout_governs_its_wind_down() {
    let mut sim = Sim::new(settings());
    sim.hello_as(1, NAME, Duration::from_millis(300), Duration::from_secs(30));
    sim.ready(1);
    sim.signal(Signal::Term);
    sim.advance(Duration::from_millis(300));
    assert!(sim.process(1).killed);
}

#[test]
fn sigterm_stops_gracefully_with_the_childs_code() {
    let mut sim = Sim::serving(settings());
    sim.signal(Signal::Term);
    sim.exit(1, ChildExit::Code(3));
    assert!(!sim.process(1).killed);
    assert_eq!(sim.exit_code, Some(3));
}

#[test]
fn a_second_signal_kills_without_waiting_for_the_lameduck_timeout() {
    let mut sim = Sim::serving(settings());
    sim.signal(Signal::Int);
    sim.advance(Duration::from_secs(1));
    sim.signal(Signal::Int);
    assert!(sim.process(1).killed);
    assert!(sim.logged("SIGINT again, 1000 ms after the first: killing every child now"));
}

#[test]
fn a_stop_signal_sent_to_the_process_and_its_group_is_one_stop() {
    let mut sim = Sim::serving(settings());
    sim.signal(Signal::Term);
    sim.advance(Duration::from_millis(20));
    sim.signal(Signal::Term);
    assert!(!sim.process(1).killed, "the same stop: the child drains");
    assert!(sim.logged(
        "SIGTERM again, 20 ms after the first: the same stop (sent to the process and its group; within 250ms)"
    ));
    sim.advance(Duration::from_millis(500));
    sim.exit(1, ChildExit::Code(0));
    assert_eq!(sim.exit_code, Some(0));
}

#[test]
fn a_stop_signals_copy_read_once_a_long_stop_was_carried_out_is_the_same_stop() {
    // The copy sent to the group 20 ms after the first waited, unread,
    // while the stop's effects took 400 ms.
    let mut sim = Sim::serving(settings());
    sim.signal_taking(Signal::Term, Duration::from_millis(400));
    sim.late(Duration::from_millis(2));
    sim.signal(Signal::Term);
    assert!(!sim.process(1).killed, "the same stop: the child drains");
    assert!(sim.logged(
        "SIGTERM again, 402 ms after the first: the same stop (waiting to be read while the drain began; sent to the process and its group)"
    ));
    // A person's second Ctrl-C, later, still kills.
    sim.advance(READ_AS_DRAIN_BEGAN);
    sim.signal(Signal::Int);
    assert!(sim.process(1).killed);
}

#[test]
fn a_signal_just_outside_the_window_kills() {
    let mut sim = Sim::serving(settings());
    sim.signal(Signal::Term);
    sim.advance(SAME_STOP);
    sim.signal(Signal::Int);
    assert!(sim.process(1).killed);
}

#[test]
fn sighup_reloads_the_same_binary() {
    let mut sim = Sim::serving(settings());
    sim.signal(Signal::Hup);
    assert_eq!(sim.spawned_paths(), ["/bin/v1", "/bin/v1"]);
    sim.hello_and_ready(2);
    assert!(sim.process(1).lameducked);
    assert_eq!(sim.machine.status().reloads, 1);
}

#[test]
fn sighups_queued_behind_a_reload_are_one_reload() {
    let mut sim = Sim::serving(settings());
    sim.signal(Signal::Hup);
    for _ in 0..3 {
        sim.signal(Signal::Hup);
    }
    sim.hello_and_ready(2);
    // One reload for the three that waited, not three.
    assert_eq!(sim.spawned_paths().len(), 3);
    sim.hello_and_ready(3);
    assert_eq!(sim.spawned_paths().len(), 3);
    assert_eq!(sim.machine.status().reloads, 2);
    // A reload a person asked for is not merged into one of them.
    sim.signal(Signal::Hup);
    let asked = sim.reload("/bin/v1");
    sim.signal(Signal::Hup);
    sim.hello_and_ready(4);
    sim.hello_and_ready(5);
    sim.hello_and_ready(6);
    assert_eq!(sim.spawned_paths().len(), 6);
    assert!(matches!(
        sim.final_answer(asked),
        Some(Response::Reloaded { .. })
    ));
}

#[test]
fn a_stop_then_one_signal_is_still_graceful() {
    let mut sim = Sim::serving(settings());
    let stop = sim.request(Request::Stop);
    sim.advance(Duration::from_secs(1));
    sim.signal(Signal::Term);
    assert!(!sim.process(1).killed);
    sim.exit(1, OK);
    assert_eq!(stopped_code(sim.final_answer(stop)), 0);
}

#[test]
fn sigchld_bursts_bring_one_orphan_scan() {
    let mut sim = Sim::serving(settings());
    for _ in 0..5 {
        sim.signal(Signal::Chld);
        sim.advance(Duration::from_millis(10));
    }
    sim.advance(Duration::from_millis(200));
    let scans = sim
        .effects
        .iter()
        .filter(|e| matches!(e, super::Effect::ReapOrphans))
        .count();
    assert_eq!(scans, 1);
}

// lifecycle.rs

#[test]
fn status_reports_what_runs() {
    let mut sim = Sim::serving(settings());
    sim.advance(Duration::from_secs(90));
    let client = sim.request(Request::Status);
    let Some(Response::Status { status }) = sim.final_answer(client) else {
        panic!("{:?}", sim.answers(client));
    };
    assert_eq!(status.name, NAME);
    assert_eq!(status.supervisor_pid, 100);
    let child = status.child.as_ref().unwrap();
    assert_eq!((child.pid, child.path.as_str()), (Some(1001), "/bin/v1"));
    assert_eq!(child.args, ["-x"]);
    assert!(status.starting.is_none());
}

#[test]
fn status_shows_when_each_child_started_by_the_wall_clock_across_a_clock_step() {
    let mut sim = Sim::serving(settings());
    sim.advance(Duration::from_secs(60));
    // The wall clock stepped an hour on (a late NTP sync, or a suspend
    // the monotonic clock did not count), then a reload.
    sim.wall_clock_step = 3600;
    sim.reload("/bin/v2");
    sim.hello_and_ready(2);
    sim.advance(Duration::from_secs(5));
    let client = sim.request(Request::Status);
    let Some(Response::Status { status }) = sim.final_answer(client) else {
        panic!("{:?}", sim.answers(client));
    };
    assert_eq!(status.supervisor_started, sim::SUPERVISOR_STARTED);
    let child = status.child.as_ref().unwrap();
    assert_eq!(child.path, "/bin/v2");
    assert_eq!(child.started, sim::SUPERVISOR_STARTED + 60 + 3600);
    // A child an older image handed over, its start not read: the
    // supervisor's start plus its monotonic time stands in.
    let mut state = serde_json::to_value(sim.machine.state()).unwrap();
    let child = state["children"]["2"].as_object_mut().unwrap();
    assert!(child.remove("started_unix").is_some(), "{child:?}");
    let older = super::Machine::resume(serde_json::from_value(state).unwrap());
    let child = older.status().child.unwrap();
    assert_eq!(child.started, sim::SUPERVISOR_STARTED + 60);
}

#[test]
fn a_child_is_told_whether_another_serves_as_it_starts() {
    // Should the supervisor die before it is ready, one beside a serving
    // child leaves the queue to that one; one alone takes it.
    let mut sim = Sim::new(super::Settings {
        persist: true,
        ..settings()
    });
    assert!(!sim.process(1).beside_serving, "the first child, alone");
    sim.hello_and_ready(1);
    sim.reload("/bin/v2");
    assert!(
        sim.process(2).beside_serving,
        "a reload's, beside the first"
    );
    sim.hello_and_ready(2);
    // Dead within its probation: the rollback starts alone (the old
    // child drains).
    sim.exit(2, ChildExit::Code(3));
    let rollback = sim.starting_id().expect("a rollback");
    assert_eq!(sim.process(rollback).path, std::path::Path::new("/bin/v1"));
    assert!(!sim.process(rollback).beside_serving, "a rollback, alone");
    sim.hello_and_ready(rollback);
    sim.advance(PROBATION);
    // The serving child dies: its restart starts alone.
    sim.exit(rollback, ChildExit::Code(3));
    sim.advance(Duration::from_secs(1));
    let restart = sim.starting_id().expect("a restart");
    assert!(!sim.process(restart).beside_serving, "a restart, alone");
}

#[test]
fn a_child_is_told_which_of_its_sockets_the_serving_child_holds_too() {
    // Should the supervisor die before it is ready, the serving child
    // takes those queues; the new child takes the rest (a listener the
    // reload added or moved), which no other child holds.
    let mut sim = Sim::serving(settings());
    let declared = [
        ("http", "tcp:127.0.0.1:8080"),
        ("admin", "tcp:127.0.0.1:9191"),
    ];
    reload_with(&mut sim, None, &declared);
    sim.finish_binds();
    let new = sim.starting_id().expect("the reload's child");
    assert_eq!(sim.process(new).served, [key("http", "127.0.0.1:8080")]);
    assert!(sim.process(new).beside_serving);
    // Every listener moved: none is shared, and it takes every queue.
    let mut sim = Sim::serving(settings());
    let http = [("http", "tcp:127.0.0.1:8080")];
    reload_with(&mut sim, Some(&["-http=127.0.0.1:9090"]), &http);
    sim.finish_binds();
    let new = sim.starting_id().expect("the reload's child");
    assert_eq!(sim.process(new).served, []);
    assert!(!sim.process(new).beside_serving);
}

#[test]
fn a_child_started_beside_one_is_told_once_that_one_has_ended() {
    let told = |sim: &Sim, id: super::ChildId| {
        let alone = |e: &&super::Effect| matches!(e, super::Effect::Alone { id: to } if *to == id);
        sim.effects.iter().filter(alone).count()
    };
    // The serving child dies while a reload's child warms up: told at once.
    let mut sim = Sim::serving(settings());
    sim.reload("/bin/v2");
    sim.hello(2);
    assert!(sim.process(2).beside_serving);
    assert_eq!(told(&sim, 2), 0, "the first child serves");
    sim.exit(1, ChildExit::Code(3));
    assert_eq!(told(&sim, 2), 1);
    assert!(!sim.process(2).beside_serving);
    // Ready, it serves alone; nothing more is said.
    sim.ready(2);
    assert_eq!(sim.serving_id(), Some(2));
    assert_eq!(told(&sim, 2), 1);

    // Dead before the new child's hello, which says whether it reads
    // that: told at the hello.
    let mut sim = Sim::serving(settings());
    sim.reload("/bin/v2");
    sim.exit(1, ChildExit::Code(3));
    assert_eq!(told(&sim, 2), 0, "not known yet to read it");
    sim.hello(2);
    assert_eq!(told(&sim, 2), 1);
    assert!(!sim.process(2).beside_serving);

    // An older child, whose hello does not say it reads it: never told
    // (it would read it as a bad message).
    let mut sim = Sim::serving(settings());
    sim.reload("/bin/v2");
    sim.message(
        2,
        FromChild::Hello {
            name: NAME.to_owned(),
            lameduck_ms: 1000,
            ready_timeout_ms: 30_000,
            takes_over: None,
            reads_queued: true,
            reads_alone: false,
        },
    );
    sim.exit(1, ChildExit::Code(3));
    assert_eq!(told(&sim, 2), 0);

    // Ready before the old child ends: it serves, and the old one's end
    // in its drain tells nobody anything.
    let mut sim = Sim::serving(settings());
    sim.reload("/bin/v2");
    sim.hello_and_ready(2);
    sim.exit(1, ChildExit::Code(0));
    assert_eq!(told(&sim, 2), 0);
}

#[test]
fn stop_exits_with_the_childs_exit_code() {
    for code in [0, 3, 42] {
        let mut sim = Sim::serving(settings());
        let stop = sim.request(Request::Stop);
        assert_eq!(
            sim.answers(stop),
            [Response::Stopping {
                pid: Some(sim.pid(1)),
                within_ms: Some(LAMEDUCK.as_millis() as u64),
            }]
        );
        sim.exit(1, ChildExit::Code(code));
        assert_eq!(stopped_code(sim.final_answer(stop)), code);
        assert_eq!(sim.exit_code, Some(code));
    }
}

#[test]
fn a_second_stop_request_waits_for_the_same_exit() {
    let mut sim = Sim::serving(settings());
    let first = sim.request(Request::Stop);
    // Told how long the running children may take: what is left of the
    // serving child's lameduck timeout.
    sim.advance(Duration::from_millis(500));
    let second = sim.request(Request::Stop);
    let left = (LAMEDUCK - Duration::from_millis(500)).as_millis() as u64;
    assert_eq!(
        sim.answers(second),
        [Response::Stopping {
            pid: Some(sim.pid(1)),
            within_ms: Some(left),
        }]
    );
    sim.exit(1, ChildExit::Code(4));
    assert_eq!(stopped_code(sim.final_answer(first)), 4);
    assert_eq!(stopped_code(sim.final_answer(second)), 4);
}

#[test]
fn a_reload_after_a_stop_is_refused() {
    let mut sim = Sim::serving(settings());
    sim.request(Request::Stop);
    let reload = sim.reload("/bin/v2");
    assert_eq!(
        error_and_refused(sim.final_answer(reload)),
        ("the supervisor is stopping".to_owned(), true)
    );
}

// faults.rs

#[test]
fn a_program_that_never_says_hello_is_not_a_littleboss_program() {
    let mut sim = Sim::serving(settings());
    let client = sim.reload("/bin/sleep");
    sim.advance(HELLO_TIMEOUT);
    assert!(sim.process(2).killed);
    sim.exit(2, ChildExit::Signal(9));
    let error = error_of(sim.final_answer(client));
    assert!(
        error.contains(
            "did not answer on the child channel within 10s: is /bin/sleep a littleboss program?"
        ),
        "{error}"
    );
}

#[test]
fn a_program_for_another_service_is_refused() {
    let mut sim = Sim::serving(settings());
    let client = sim.reload("/bin/other");
    sim.hello_as(2, "other", LAMEDUCK, Duration::from_secs(30));
    assert!(sim.process(2).killed);
    sim.ready(2);
    sim.exit(2, ChildExit::Signal(9));
    let error = error_of(sim.final_answer(client));
    assert!(
        error.contains("is a littleboss program for service `other`, not `svc`"),
        "{error}"
    );
    assert_eq!(sim.serving_id(), Some(1));
}

#[test]
fn a_child_that_reports_an_error_is_not_promoted() {
    let mut sim = Sim::serving(settings());
    let client = sim.reload("/bin/v2");
    sim.hello(2);
    sim.message(
        2,
        FromChild::Error {
            error: "listener `x` is not declared".into(),
        },
    );
    sim.ready(2);
    assert_eq!(sim.serving_id(), Some(1));
    sim.exit(2, ChildExit::Code(1));
    let error = error_of(sim.final_answer(client));
    assert!(error.ends_with("listener `x` is not declared"), "{error}");
}

#[test]
fn a_child_that_reports_an_error_before_its_hello_is_still_killed_in_time() {
    let mut sim = Sim::serving(settings());
    let client = sim.reload("/bin/odd");
    sim.message(
        2,
        FromChild::Error {
            error: "no config".into(),
        },
    );
    sim.hello(2);
    // It lingers rather than exit: the hello deadline still ends it.
    sim.advance(HELLO_TIMEOUT);
    assert!(sim.process(2).killed, "a failed child was left running");
    sim.exit(2, ChildExit::Signal(9));
    let error = error_of(sim.final_answer(client));
    assert!(error.ends_with("no config"), "{error}");
}

#[test]
fn a_child_that_reports_an_error_after_its_hello_is_killed_soon_whatever_its_ready_timeout() {
    // Its ready deadline is ten minutes away; the reload (and any queued
    // behind it) does not wait that long for a start already failed.
    let mut sim = Sim::serving(settings());
    let client = sim.reload("/bin/slow");
    sim.hello_as(2, NAME, LAMEDUCK, Duration::from_secs(600));
    sim.message(2, main_returned_an_error());
    killed_at_its_errors_deadline(&mut sim);
    let error = error_of(sim.final_answer(client));
    assert!(error.ends_with("main returned an error"), "{error}");
    assert_eq!(sim.serving_id(), Some(1));
}

fn main_returned_an_error() -> FromChild {
    FromChild::Error {
        error: "main returned an error".into(),
    }
}

/// Child 2, failed, is killed [`super::ERROR_EXIT_WAIT`] after its error
/// and not before, and dies of it.
fn killed_at_its_errors_deadline(sim: &mut Sim) {
    sim.advance(super::ERROR_EXIT_WAIT - MS);
    assert!(!sim.process(2).killed, "given no time to exit by itself");
    sim.advance(MS);
    assert!(sim.process(2).killed, "a failed child was left running");
    sim.exit(2, ChildExit::Signal(9));
}

/// [`killed_at_its_errors_deadline`] during a stop, which then ends with
/// code 0.
fn killed_when_its_error_said(sim: &mut Sim, stop: super::ClientId) {
    killed_at_its_errors_deadline(sim);
    assert_eq!(stopped_code(sim.final_answer(stop)), 0);
}

#[test]
fn a_stop_kills_a_child_that_reported_an_error_when_its_error_said_not_at_its_lameduck() {
    // Failed after its hello, with a lameduck of ten minutes, as a stop
    // comes: killed at its error's deadline, and the stop ends then.
    let mut sim = Sim::serving(settings());
    let reload = sim.reload("/bin/slow");
    sim.hello_as(2, NAME, Duration::from_secs(600), Duration::from_secs(600));
    sim.message(2, main_returned_an_error());
    let stop = sim.request(Request::Stop);
    let error = error_of(sim.final_answer(reload));
    assert!(error.ends_with("main returned an error"), "{error}");
    sim.exit(1, OK);
    killed_when_its_error_said(&mut sim, stop);
}

#[test]
fn a_child_that_reports_an_error_during_a_stop_after_its_hello_is_killed_soon() {
    // Its hello came before the stop, its error after: counted failed,
    // and killed at its error's deadline, not its lameduck of ten minutes.
    let mut sim = Sim::serving(settings());
    let reload = sim.reload("/bin/slow");
    sim.hello_as(2, NAME, Duration::from_secs(600), Duration::from_secs(600));
    let stop = sim.request(Request::Stop);
    assert_eq!(
        error_of(sim.final_answer(reload)),
        "the supervisor is stopping"
    );
    sim.exit(1, OK);
    sim.message(2, main_returned_an_error());
    assert!(sim.logged("main returned an error"), "{:?}", sim.logs());
    killed_when_its_error_said(&mut sim, stop);
}

#[test]
fn a_failed_child_that_does_not_die_of_its_kill_is_given_up_on_and_the_queue_goes_on() {
    // Killed for not saying hello, it never exits (stuck in the kernel):
    // its reload fails after a while, the reload queued behind it runs,
    // and its exit, should it come, is an old child's.
    let mut sim = Sim::serving(settings());
    let stuck = sim.reload("/bin/v2");
    let next = sim.reload("/bin/v3");
    sim.advance(HELLO_TIMEOUT);
    assert!(sim.process(2).killed);
    sim.advance(super::KILLED_EXIT_WAIT - MS);
    assert_eq!(sim.final_answer(stuck), None, "given no time to die");
    sim.advance(MS);
    let error = error_of(sim.final_answer(stuck));
    assert!(
        error.contains("is /bin/v2 a littleboss program?; killed, it has not exited within 5s"),
        "{error}"
    );
    assert_eq!(sim.starting_id(), Some(3));
    // `status` says it was given up on.
    let status = asked_status(&mut sim);
    let stuck: Vec<_> = (status.draining.iter())
        .map(|d| (d.child.pid, d.given_up))
        .collect();
    assert_eq!(stuck, [(Some(sim.pid(2)), true)]);
    sim.hello_and_ready(3);
    assert!(matches!(
        sim.final_answer(next),
        Some(Response::Reloaded { .. })
    ));
    assert_eq!(sim.serving_id(), Some(3));
    sim.exit(2, ChildExit::Signal(9));
    assert!(sim.logged(&format!(
        "old child pid {} was killed by SIGKILL",
        sim.pid(2)
    )));
    assert_eq!(sim.machine.state().failures, 1);
}

#[test]
fn a_stop_does_not_wait_for_a_child_that_does_not_die_of_its_kill() {
    // Past its lameduck timeout the serving child is killed, and stays
    // (stuck in the kernel): the stop ends without it, with the code its
    // death of the kill would have said.
    let mut sim = Sim::serving(settings());
    let stop = sim.request(Request::Stop);
    sim.advance(LAMEDUCK);
    assert!(sim.process(1).killed);
    sim.advance(super::KILLED_EXIT_WAIT - MS);
    assert_eq!(sim.exit_code, None, "given no time to die");
    sim.advance(MS);
    assert!(
        sim.logged("child pid 1001 has not exited 5s after it was killed (stuck in the kernel, on a file system that hangs?): not waited for"),
        "{:?}",
        sim.logs()
    );
    assert_eq!(stopped_code(sim.final_answer(stop)), 137);
    assert_eq!(sim.exit_code, Some(137));
}

#[test]
fn children_that_do_not_die_of_their_kills_are_not_restarted_without_end() {
    // With persist, each restart's child is silent, killed, and stuck:
    // given up on one by one, no more of them than spawns given up on may
    // be, and the restart limit ends the supervisor.
    let mut sim = Sim::serving(super::Settings {
        persist: true,
        restart_limit: (100, Duration::from_secs(3600)),
        ..settings()
    });
    sim.exit(1, ChildExit::Code(1));
    for _ in 0..100 {
        if sim.exit_code.is_some() {
            break;
        }
        sim.advance(Duration::from_secs(60));
    }
    let stuck = (sim.processes.values()).filter(|p| !p.exited).count();
    assert_eq!(
        stuck,
        super::MAX_SPAWNS_GIVEN_UP,
        "{:?}",
        sim.spawned_paths()
    );
    assert!(
        sim.logged("not starting /bin/v1: 4 children given up on"),
        "{:?}",
        sim.logs()
    );
    assert_eq!(sim.exit_code, Some(1), "{:?}", sim.logs());
}

#[test]
fn sighup_reloads_in_a_restarts_place_count_their_stuck_children() {
    // Nothing serves, a restart is due, and a reload hook's SIGHUP comes
    // each time: its reload takes the restart's place, and its children,
    // stuck, count as the restarts' would.
    let mut sim = Sim::serving(super::Settings {
        persist: true,
        restart_limit: (100, Duration::from_secs(3600)),
        ..settings()
    });
    sim.exit(1, ChildExit::Code(1));
    for _ in 0..super::MAX_SPAWNS_GIVEN_UP {
        sim.signal(Signal::Hup);
        // The SIGHUP's reload starts, in the restart's place.
        let super::Phase::Up(up) = &sim.machine.state().phase else {
            panic!("not up");
        };
        let why = up.starting.as_ref().map(|s| s.why);
        assert_eq!(why, Some(super::Why::Reload { client: None }));
        assert_eq!(up.restart_at, None);
        sim.advance(HELLO_TIMEOUT + super::KILLED_EXIT_WAIT);
    }
    sim.signal(Signal::Hup);
    let stuck = (sim.processes.values()).filter(|p| !p.exited).count();
    assert_eq!(stuck, super::MAX_SPAWNS_GIVEN_UP, "{:?}", sim.logs());
    assert!(
        sim.logged("not starting /bin/v1: 4 children given up on"),
        "{:?}",
        sim.logs()
    );
}

#[test]
fn a_reload_still_starts_beside_children_given_up_on_not_dead_of_their_kills() {
    // Four reloads to a binary whose children hang, each killed and given
    // up on: a person's next reload, to a binary that works, still runs.
    let mut sim = Sim::serving(settings());
    for _ in 0..super::MAX_SPAWNS_GIVEN_UP {
        let stuck = sim.reload("/bin/hangs");
        sim.advance(HELLO_TIMEOUT + super::KILLED_EXIT_WAIT);
        assert!(error_of(sim.final_answer(stuck)).contains("has not exited within 5s"));
    }
    let fixed = sim.reload("/bin/v2");
    let id = sim.starting_id().expect("the reload starts");
    sim.hello_and_ready(id);
    assert!(matches!(
        sim.final_answer(fixed),
        Some(Response::Reloaded { .. })
    ));
    assert_eq!(sim.serving_id(), Some(id));
    // Dead in its probation: the rollback runs, the reloads' stuck
    // children counting against none of the supervisor's own starts.
    sim.exit(id, ChildExit::Code(1));
    assert!(sim.logged("rolled back"), "{:?}", sim.logs());
    let rollback = sim.starting_id().expect("the rollback starts");
    sim.hello_and_ready(rollback);
    assert_eq!(sim.serving_id(), Some(rollback));
}

#[test]
fn a_first_child_that_cannot_start_ends_the_supervisor() {
    let sim = Sim::with_unstartable(settings(), &["/bin/v1"]);
    assert_eq!(sim.exit_code, Some(1));
    assert!(sim.logged("cannot start /bin/v1"));
}

#[test]
fn a_stopped_child_is_killed_after_its_lameduck_timeout() {
    let mut sim = Sim::serving(settings());
    let stop = sim.request(Request::Stop);
    sim.advance(LAMEDUCK);
    assert!(sim.process(1).killed);
    sim.exit(1, ChildExit::Signal(9));
    assert_eq!(stopped_code(sim.final_answer(stop)), 137);
    assert!(sim.logged("child pid 1001 was killed by SIGKILL"));
}

#[test]
fn the_state_serialises_and_reads_back() {
    let mut sim = Sim::serving(settings());
    sim.reload("/bin/v2");
    sim.hello(2);
    let json = serde_json::to_string(sim.machine.state()).unwrap();
    let back: super::State = serde_json::from_str(&json).unwrap();
    assert_eq!(serde_json::to_string(&back).unwrap(), json);
}

#[test]
fn an_event_naming_a_path_not_utf8_round_trips() {
    use std::os::unix::ffi::OsStrExt;
    let resolved = std::path::PathBuf::from(std::ffi::OsStr::from_bytes(b"/srv/caf\xe9"));
    let event = super::Event::Spawned {
        id: 1,
        pid: 2,
        binary: None,
        resolved: Some(resolved.clone()),
        path_replaced: false,
        by_pidfd: true,
        started_unix: None,
    };
    let json = serde_json::to_string(&event).unwrap();
    let back: super::Event = serde_json::from_str(&json).unwrap();
    assert!(
        matches!(&back, super::Event::Spawned { resolved: Some(r), .. } if *r == resolved),
        "{back:?}"
    );
}

// reload with new arguments and listeners (tests/tests/reload_args.rs)

fn reload_with(sim: &mut Sim, args: Option<&[&str]>, declared: &[(&str, &str)]) -> u64 {
    reload_asked(sim, None, args, declared)
}

/// A reload as `reload_with`, asked from the folder `dir`.
fn reload_from(sim: &mut Sim, dir: &str, args: Option<&[&str]>, declared: &[(&str, &str)]) -> u64 {
    reload_asked(sim, Some(dir), args, declared)
}

/// A reload of `/bin/v2`, declaring `declared`, with `args`, asked from
/// `dir` (`None`: not said, as by an older client).
fn reload_asked(
    sim: &mut Sim,
    dir: Option<&str>,
    args: Option<&[&str]>,
    declared: &[(&str, &str)],
) -> u64 {
    let declared = declared
        .iter()
        .map(|(name, spec)| crate::spec::ListenerSpec::parse(name, spec).unwrap())
        .collect();
    sim.request(Request::Reload {
        path: "/bin/v2".into(),
        argv0: None,
        args: args.map(|a| a.iter().map(Into::into).collect()),
        listeners: Some(declared),
        dir: dir.map(Into::into),
        dir_id: dir.map(super::sim::folder_id),
    })
}

/// A reload of `/bin/v3` with `args` and no listeners, as a request
/// written by hand may be.
fn args_only(sim: &mut Sim, args: &[&str]) -> u64 {
    sim.request(Request::Reload {
        path: "/bin/v3".into(),
        argv0: None,
        args: Some(args.iter().map(Into::into).collect()),
        listeners: None,
        dir: None,
        dir_id: None,
    })
}

#[test]
fn a_reload_with_arguments_and_no_listeners_applies_their_listener_flags() {
    // A request written by hand: the serving child's listeners, moved as
    // its flags say, the others kept; not a flag with no socket behind.
    let mut sim = Sim::serving(settings());
    let with_api = [
        ("http", "tcp:127.0.0.1:8080"),
        ("api", "tcp:127.0.0.1:9090"),
    ];
    reload_with(&mut sim, Some(&[]), &with_api);
    sim.hello_and_ready(2);
    let reload = args_only(&mut sim, &["-api=127.0.0.1:9091", "-verbose"]);
    sim.hello_and_ready(3);
    assert!(
        matches!(sim.final_answer(reload), Some(Response::Reloaded { .. })),
        "{:?}",
        sim.answers(reload)
    );
    let process = sim.process(3).clone();
    let key = |name: &str| {
        let listener = process.listeners.iter().find(|l| l.name == name).unwrap();
        listener.key.as_ref().map(|k| k.bind_address().to_owned())
    };
    assert_eq!(key("api").as_deref(), Some("127.0.0.1:9091"));
    assert_eq!(key("http").as_deref(), Some("127.0.0.1:8080"));
    assert_eq!(process.args, ["-api=127.0.0.1:9091", "-verbose"]);
    assert!(
        sim.answers(reload).iter().any(|r| matches!(r,
            Response::Reloading { changes, .. } if changes.iter().any(|c| c.contains("9091")))),
        "{:?}",
        sim.answers(reload)
    );
    // One its flags do not name keeps its very socket: `admin`'s, bound
    // on port 0 for `api` and kept by its port, is not bound anew.
    let with_admin = [("http", "tcp:127.0.0.1:8080"), ("admin", "tcp:127.0.0.1:0")];
    reload_with(&mut sim, Some(&["-admin=127.0.0.1:0"]), &with_admin);
    sim.hello_and_ready(4);
    let renamed = [("http", "tcp:127.0.0.1:8080"), ("api", "tcp:127.0.0.1:0")];
    reload_with(&mut sim, Some(&["-api=127.0.0.1:40004"]), &renamed);
    sim.hello_and_ready(5);
    let api = |sim: &mut Sim, id| {
        let process = sim.process(id).clone();
        let api = process.listeners.iter().find(|l| l.name == "api").cloned();
        api.and_then(|l| l.key).expect("api on")
    };
    let kept = api(&mut sim, 5);
    assert_eq!(kept.port_0_owner(), Some("admin"), "{kept:?}");
    let reload = args_only(&mut sim, &["-verbose"]);
    sim.hello_and_ready(6);
    assert!(matches!(
        sim.final_answer(reload),
        Some(Response::Reloaded { .. })
    ));
    assert_eq!(api(&mut sim, 6), kept);
    assert_eq!(
        sim.machine.status().listeners[1].address.as_deref(),
        Some("127.0.0.1:40004")
    );
}

#[test]
fn one_unix_socket_asked_for_relative_and_absolute_is_refused_as_one_where_it_is_bound() {
    let declared = [("api", "unix:"), ("admin", "unix:")];
    let args = ["-api=api.sock", "-admin=/srv/app/api.sock"];
    // From the supervisor's folder, or from one not said (an older
    // client): `api.sock` is /srv/app/api.sock, the one socket asked for
    // twice.
    let mut sim = Sim::serving(settings());
    let here = reload_from(&mut sim, WORKING_DIR, Some(&args), &declared);
    let said = error_of(sim.final_answer(here));
    assert!(said.contains("`api` and `admin`"), "{said}");
    assert!(said.contains("/srv/app/api.sock"), "{said}");
    let unsaid = reload_asked(&mut sim, None, Some(&args), &declared);
    assert_eq!(error_of(sim.final_answer(unsaid)), said);
    // From elsewhere, the relative path is the caller's file: refused as
    // relative, with the folder to reload from.
    let elsewhere = reload_from(&mut sim, "/home/ops", Some(&args), &declared);
    let said = error_of(sim.final_answer(elsewhere));
    assert!(said.contains("`api.sock` is relative"), "{said}");
    assert_eq!(sim.starting_id(), None);
}

#[test]
fn a_relative_unix_socket_is_bound_only_for_a_caller_in_the_supervisors_folder() {
    let mut sim = Sim::serving(settings());
    let api = [("http", "tcp:127.0.0.1:8080"), ("api", "unix:")];
    // From elsewhere, `run/api.sock` would land in the supervisor's
    // folder, not the caller's: refused, nothing started.
    let elsewhere = reload_from(&mut sim, "/home/ops", Some(&["-api=run/api.sock"]), &api);
    let Some(Response::Error { error, .. }) = sim.final_answer(elsewhere) else {
        panic!("refused: {:?}", sim.answers(elsewhere))
    };
    assert!(error.contains("`run/api.sock` is relative"), "{error}");
    assert!(error.contains("its own folder, /srv/app, not in this one, /home/ops"));
    assert_eq!(sim.starting_id(), None);
    // From the supervisor's folder it is what the caller means.
    let here = reload_from(&mut sim, WORKING_DIR, Some(&["-api=run/api.sock"]), &api);
    sim.finish_binds();
    sim.hello_and_ready(2);
    assert!(matches!(
        sim.final_answer(here),
        Some(Response::Reloaded { .. })
    ));
    // Held already, it is kept from anywhere: a plain reload binds nothing.
    let binds = |sim: &Sim| {
        sim.effects
            .iter()
            .filter(|e| matches!(e, super::Effect::Bind { .. }))
            .count()
    };
    let before = binds(&sim);
    let kept = reload_from(&mut sim, "/home/ops", None, &api);
    sim.hello_and_ready(3);
    assert!(matches!(
        sim.final_answer(kept),
        Some(Response::Reloaded { .. })
    ));
    assert_eq!(binds(&sim), before);
    // An absolute path is bound from anywhere.
    reload_from(&mut sim, "/home/ops", Some(&["-api=/run/api.sock"]), &api);
    assert_eq!(binds(&sim), before + 1);
    sim.finish_binds();
    sim.hello_and_ready(4);
    // A relative default the new binary declares is the program's, meant
    // for the service's folder: bound there, from anywhere.
    let admin = [("http", "tcp:127.0.0.1:8080"), ("admin", "unix:admin.sock")];
    let default = reload_from(&mut sim, "/home/ops", None, &admin);
    assert_eq!(binds(&sim), before + 2, "{:?}", sim.answers(default));
    sim.finish_binds();
    sim.hello_and_ready(5);
    // So with new arguments that leave it alone, once it is new again.
    let other = [("http", "tcp:127.0.0.1:8080"), ("admin", "unix:other.sock")];
    let args = reload_from(&mut sim, "/home/ops", Some(&["--verbose"]), &other);
    assert_eq!(binds(&sim), before + 3, "{:?}", sim.answers(args));
    sim.finish_binds();
    sim.hello_and_ready(6);
    // But the caller's own flag is the caller's words, even when it
    // repeats the default.
    let third = [("http", "tcp:127.0.0.1:8080"), ("admin", "unix:third.sock")];
    let typed = reload_from(&mut sim, "/home/ops", Some(&["-admin=third.sock"]), &third);
    assert!(
        matches!(sim.final_answer(typed), Some(Response::Error { error, .. }) if error.contains("`third.sock` is relative")),
        "{:?}",
        sim.answers(typed)
    );
    // A relative default naming a socket held under its absolute path is
    // that socket, whoever reloads from wherever: kept, not bound again
    // (which would find it in use, by this very service).
    let fourth = [
        ("http", "tcp:127.0.0.1:8080"),
        ("admin", "unix:fourth.sock"),
    ];
    let absolute = Some(&["-admin=/srv/app/fourth.sock"][..]);
    reload_from(&mut sim, WORKING_DIR, absolute, &fourth);
    sim.finish_binds();
    sim.hello_and_ready(7);
    let bound = binds(&sim);
    let same = reload_from(&mut sim, "/home/ops", Some(&["--verbose"]), &fourth);
    sim.hello_and_ready(8);
    assert!(
        matches!(sim.final_answer(same), Some(Response::Reloaded { .. })),
        "{:?}",
        sim.answers(same)
    );
    assert_eq!(binds(&sim), bound);
}

#[test]
fn new_arguments_from_another_folder_are_told_where_the_child_runs() {
    let mut sim = Sim::serving(settings());
    let http = [("http", "tcp:127.0.0.1:8080")];
    let note = "the new child runs in /srv/app (the supervisor's folder), not in /home/ops: relative paths in its arguments are taken from there";
    let told = |sim: &Sim, client| {
        matches!(
            sim.answers(client).first(),
            Some(Response::Reloading { changes, .. }) if changes.iter().any(|c| c == note)
        )
    };
    let args = reload_from(&mut sim, "/home/ops", Some(&["--config=app.toml"]), &http);
    assert!(told(&sim, args), "{:?}", sim.answers(args));
    assert!(sim.logged(note));
    sim.hello_and_ready(2);
    // No new arguments, or the same folder: nothing to say.
    let kept = reload_from(&mut sim, "/home/ops", None, &http);
    assert!(!told(&sim, kept));
    sim.hello_and_ready(3);
    let same = reload_from(&mut sim, WORKING_DIR, Some(&["--config=app.toml"]), &http);
    assert!(!told(&sim, same));
    sim.hello_and_ready(4);
    // No arguments at all (`--`): none to take from anywhere.
    let emptied = reload_from(&mut sim, "/home/ops", Some(&[]), &http);
    assert!(!told(&sim, emptied));
}

fn key(name: &str, address: &str) -> super::ListenerKey {
    super::ListenerKey::of(name, crate::spec::Network::Tcp, address)
}

#[test]
fn a_reload_replaces_keeps_or_empties_the_arguments() {
    let mut sim = Sim::serving(settings());
    let http = [("http", "tcp:127.0.0.1:8080")];
    reload_with(&mut sim, Some(&["--db=new", "x"]), &http);
    assert_eq!(sim.process(2).args, ["--db=new", "x"]);
    sim.hello_and_ready(2);
    reload_with(&mut sim, None, &http);
    assert_eq!(sim.process(3).args, ["--db=new", "x"], "kept");
    sim.hello_and_ready(3);
    reload_with(&mut sim, Some(&[]), &http);
    assert!(sim.process(4).args.is_empty(), "emptied");
    sim.hello_and_ready(4);
    sim.signal(Signal::Hup);
    assert!(
        sim.process(5).args.is_empty(),
        "SIGHUP keeps the serving child's"
    );
}

#[test]
fn a_failed_starts_socket_is_closed_before_the_next_start_binds() {
    // The driver binds on a thread of its own: a close after the bind in
    // one round could leave `[::]:9090` listening as `127.0.0.1:9090`
    // binds, and fail it with "address in use".
    let mut sim = Sim::serving(settings());
    let http = [("http", "tcp:127.0.0.1:8080")];
    reload_with(&mut sim, Some(&["-http=:9090"]), &http);
    reload_with(&mut sim, Some(&["-http=127.0.0.1:9090"]), &http);
    assert!(sim.logged("waits for child pid 1002"), "{:#?}", sim.logs());
    let round = sim.effects.len();
    sim.exit(2, ChildExit::Code(1));
    let effects = &sim.effects[round..];
    let closed = effects
        .iter()
        .position(|e| matches!(e, super::Effect::Close { key: k } if *k == key("http", ":9090")));
    let bound = effects.iter().position(|e| matches!(
        e,
        super::Effect::Bind { orders, .. } if orders.iter().any(|o| o.key == key("http", "127.0.0.1:9090"))
    ));
    assert!(
        closed.is_some() && bound.is_some() && closed < bound,
        "{effects:#?}"
    );
}

#[test]
fn a_kept_listener_is_the_same_socket_and_a_moved_one_closes_after_the_drain() {
    let mut sim = Sim::serving(settings());
    let http = [("http", "tcp:127.0.0.1:8080")];
    let client = reload_with(&mut sim, Some(&["-http=127.0.0.1:9090"]), &http);
    assert!(sim.effects.iter().any(|e| matches!(
        e,
        super::Effect::Bind { orders, .. } if orders.len() == 1 && orders[0].key == key("http", "127.0.0.1:9090")
    )));
    // The client and the log are told of the move.
    let moved = "listener `http`: tcp 127.0.0.1:8080 -> tcp 127.0.0.1:9090";
    assert_eq!(
        sim.answers(client),
        [Response::Reloading {
            pid: sim.pid(2),
            changes: vec![moved.to_owned()]
        }]
    );
    assert!(sim.logged(&format!("child pid {}: {moved}", sim.pid(2))));
    sim.hello_and_ready(2);
    assert!(matches!(
        sim.final_answer(client),
        Some(Response::Reloaded { .. })
    ));
    let status = sim.machine.status();
    assert_eq!(
        status.listeners[0].address.as_deref(),
        Some("127.0.0.1:9090")
    );
    assert_eq!(status.child.unwrap().args, ["-http=127.0.0.1:9090"]);
    // The old port stops listening as the new child takes over (the old
    // child drains on with the connections it took): new connections to
    // it are refused, not queued for nobody.
    let old = key("http", "127.0.0.1:8080");
    assert!(!sim.sockets.contains(&old));
    // What its queue held goes to the old child first, which drains: the
    // shut would reset it.
    let handed = super::Effect::HandQueued {
        key: old.clone(),
        to: 1,
        listener: "http".to_owned(),
    };
    let at = |e: &super::Effect| sim.effects.iter().position(|x| x == e);
    let shut = super::Effect::Shut { key: old };
    assert!(
        at(&handed).is_some() && at(&handed) < at(&shut),
        "{:?}",
        sim.effects
    );
    // And before its order to drain: handed over, they count for its grace.
    let drain = super::Effect::Lameduck {
        id: 1,
        refuse: false,
    };
    assert!(at(&handed) < at(&drain), "{:?}", sim.effects);
    assert!(sim.logged("no longer listening on tcp 127.0.0.1:8080: no child takes it over"));
    sim.exit(1, OK);
    // Kept: nothing is bound for a reload to the same address.
    let binds = sim
        .effects
        .iter()
        .filter(|e| matches!(e, super::Effect::Bind { .. }))
        .count();
    reload_with(&mut sim, None, &http);
    sim.hello_and_ready(3);
    let now = sim
        .effects
        .iter()
        .filter(|e| matches!(e, super::Effect::Bind { .. }))
        .count();
    assert_eq!(now, binds);
}

#[test]
fn a_new_version_with_one_more_listener_gets_it_bound() {
    let mut sim = Sim::serving(settings());
    reload_with(
        &mut sim,
        None,
        &[
            ("http", "tcp:127.0.0.1:8080"),
            ("admin", "tcp:127.0.0.1:8081"),
        ],
    );
    sim.hello_and_ready(2);
    let names: Vec<String> = sim
        .machine
        .status()
        .listeners
        .iter()
        .map(|l| l.name.clone())
        .collect();
    assert_eq!(names, ["http", "admin"]);
    assert!(sim.sockets.contains(&key("admin", "127.0.0.1:8081")));
    // A removed listener stops listening as the new child takes over,
    // though the old child still drains with it.
    reload_with(&mut sim, None, &[("http", "tcp:127.0.0.1:8080")]);
    sim.hello_and_ready(3);
    assert!(!sim.sockets.contains(&key("admin", "127.0.0.1:8081")));
    assert!(sim.effects.contains(&super::Effect::Shut {
        key: key("admin", "127.0.0.1:8081")
    }));
    assert!(sim.logged("no longer listening on tcp 127.0.0.1:8081: no child takes it over"));
}

#[test]
fn a_busy_port_refuses_the_reload_before_any_child_starts() {
    let mut sim = Sim::serving(settings());
    sim.busy.insert("127.0.0.1:81".to_owned());
    let client = reload_with(
        &mut sim,
        None,
        &[
            ("http", "tcp:127.0.0.1:8080"),
            ("free", "tcp:127.0.0.1:82"),
            ("admin", "tcp:127.0.0.1:81"),
        ],
    );
    let error = error_of(sim.final_answer(client));
    assert!(
        error.starts_with("-admin: cannot listen on tcp 127.0.0.1:81"),
        "{error}"
    );
    assert_eq!(sim.processes.len(), 1, "no child started");
    assert!(!sim.process(1).lameducked);
    assert_eq!(sim.sockets.len(), 1, "nothing half-bound is held");
}

#[test]
fn bad_listener_flags_in_a_reload_are_refused_with_the_flag_named() {
    let mut sim = Sim::serving(settings());
    let client = reload_with(
        &mut sim,
        Some(&["-http=nonsense"]),
        &[("http", "tcp:127.0.0.1:8080")],
    );
    let error = error_of(sim.final_answer(client));
    assert!(error.starts_with("-http: address `nonsense`"), "{error}");
    assert_eq!(sim.processes.len(), 1);
}

#[test]
fn a_rollback_after_an_argument_change_restores_the_old_arguments_and_listeners() {
    let mut sim = Sim::serving(settings());
    reload_with(
        &mut sim,
        Some(&["-http=127.0.0.1:9090", "--v2"]),
        &[("http", "tcp:127.0.0.1:8080")],
    );
    sim.hello_and_ready(2);
    sim.exit(1, OK);
    assert!(!sim.sockets.contains(&key("http", "127.0.0.1:8080")));
    sim.exit(2, ChildExit::Code(1));
    // Rolled back: the old binary with its own arguments, and its port
    // bound again.
    assert_eq!(sim.process(3).path, std::path::Path::new("/bin/v1"));
    assert_eq!(sim.process(3).args, ["-x"]);
    assert_eq!(sim.process(3).listeners, [super::sim::http()]);
    assert!(sim.sockets.contains(&key("http", "127.0.0.1:8080")));
}

#[test]
fn a_rollback_while_the_old_child_drains_binds_the_old_address_anew() {
    let mut sim = Sim::serving(settings());
    reload_with(
        &mut sim,
        Some(&["-http=127.0.0.1:9090"]),
        &[("http", "tcp:127.0.0.1:8080")],
    );
    sim.hello_and_ready(2);
    let old = key("http", "127.0.0.1:8080");
    assert!(!sim.sockets.contains(&old), "let go of, child 1 drains");
    // The new child dies in its probation while the old one still drains:
    // the rollback gets a listening socket at the old address.
    sim.exit(2, ChildExit::Code(1));
    let rebound = sim.effects.iter().any(|e| {
        matches!(
            e,
            super::Effect::Bind { orders, .. } if orders.iter().any(|o| o.key == old)
        )
    });
    assert!(rebound, "{:?}", sim.effects);
    assert!(sim.sockets.contains(&old));
    assert_eq!(sim.process(3).listeners, [super::sim::http()]);
    sim.hello_and_ready(3);
    assert_eq!(sim.serving_id(), Some(3));
}

#[test]
fn a_listener_on_port_0_or_udp_is_kept_until_its_last_child_exits() {
    // Bound anew, a port-0 listener would get another port, and a UDP
    // port is not freed by a shutdown: both stay held for the old child.
    let mut sim = Sim::serving(settings());
    let declared = [
        ("http", "tcp:127.0.0.1:8080"),
        ("admin", "tcp:127.0.0.1:0"),
        ("dns", "udp:127.0.0.1:5353"),
    ];
    reload_with(&mut sim, None, &declared);
    sim.hello_and_ready(2);
    reload_with(&mut sim, None, &[("http", "tcp:127.0.0.1:8080")]);
    sim.hello_and_ready(3);
    assert!(sim.sockets.contains(&key("admin", "127.0.0.1:0")));
    let dns = super::ListenerKey::of("dns", crate::spec::Network::Udp, "127.0.0.1:5353");
    assert!(sim.sockets.contains(&dns));
    assert!(
        !sim.effects
            .iter()
            .any(|e| matches!(e, super::Effect::Shut { .. }))
    );
    sim.exit(2, OK);
    // Until child 3's probation ends, a rollback to child 2's launch may
    // need them.
    assert!(sim.sockets.contains(&dns));
    sim.advance(PROBATION);
    assert!(!sim.sockets.contains(&dns));
    assert!(!sim.sockets.contains(&key("admin", "127.0.0.1:0")));
}

#[test]
fn a_rollback_gets_back_the_port_0_listener_its_launch_had() {
    // The launch rolled back to asks for `:0`: bound anew, it would get
    // another port, and its clients would be refused.
    let mut sim = Sim::serving(settings());
    let declared = [("http", "tcp:127.0.0.1:8080"), ("admin", "tcp:127.0.0.1:0")];
    reload_with(&mut sim, None, &declared);
    sim.hello_and_ready(2);
    sim.exit(1, OK);
    sim.advance(PROBATION + Duration::from_secs(1));
    reload_with(&mut sim, Some(&["-admin=127.0.0.1:9091"]), &declared);
    sim.hello_and_ready(3);
    sim.exit(2, OK);
    let zero = key("admin", "127.0.0.1:0");
    assert!(
        sim.sockets.contains(&zero),
        "closed while a rollback may need it"
    );
    sim.effects.clear();
    // Dies in its probation: back to child 2's launch, on the same socket.
    sim.exit(3, ChildExit::Code(1));
    assert!(!sim.effects.iter().any(|e| matches!(e,
        super::Effect::Bind { orders, .. } if orders.iter().any(|o| o.key == zero))));
    sim.hello_and_ready(4);
    assert_eq!(sim.serving_id(), Some(4));
    assert!(sim.sockets.contains(&zero));
}

#[test]
fn a_bind_that_never_ends_fails_its_reload_and_the_next_one_goes_on() {
    // Binding resolves host names off the loop; a dead resolver must not
    // hold the reload, and those behind it, for ever.
    let mut sim = Sim::serving(settings());
    sim.defer_binds = true;
    let declared = [
        ("http", "tcp:127.0.0.1:8080"),
        ("admin", "tcp:127.0.0.1:9091"),
    ];
    let ordered = sim.now;
    let stuck = reload_with(&mut sim, None, &declared);
    // The driver is told the deadline: what it looks up only after it, it
    // does not bind.
    let by = sim.effects.iter().rev().find_map(|e| match e {
        super::Effect::Bind { by, .. } => Some(*by),
        _ => None,
    });
    assert_eq!(by, Some(ordered + super::BIND_TIMEOUT));
    let next = sim.reload("/bin/v3");
    assert!(sim.final_answer(stuck).is_none());
    sim.advance(super::BIND_TIMEOUT);
    match sim.final_answer(stuck) {
        Some(Response::Error { error, .. }) => {
            assert!(error.contains("were not bound within 30s"), "{error}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sim.serving_id(), Some(1));
    // The queued reload starts; the late bind's socket goes unused.
    sim.defer_binds = false;
    sim.finish_binds();
    sim.hello_and_ready(3);
    assert!(matches!(
        sim.final_answer(next),
        Some(Response::Reloaded { .. })
    ));
    assert!(!sim.sockets.contains(&key("admin", "127.0.0.1:9091")));
}

#[test]
fn a_bind_ending_after_its_start_was_given_up_leaves_what_is_held_alone() {
    // Reload A's bind hangs and is given up; reload B binds `admin` on
    // port 0 and serves. A's bind then ends: B's socket stays (the driver
    // closes A's second one for that key), A's other new socket closes.
    let mut sim = Sim::serving(settings());
    sim.defer_binds = true;
    let zero = ("admin", "tcp:127.0.0.1:0");
    let a = [
        ("http", "tcp:127.0.0.1:8080"),
        zero,
        ("db", "tcp:127.0.0.1:9092"),
    ];
    reload_with(&mut sim, None, &a);
    sim.advance(super::BIND_TIMEOUT);
    sim.defer_binds = false;
    let b = reload_with(&mut sim, None, &[("http", "tcp:127.0.0.1:8080"), zero]);
    sim.hello_and_ready(3);
    assert!(matches!(
        sim.final_answer(b),
        Some(Response::Reloaded { .. })
    ));
    sim.effects.clear();
    sim.finish_binds();
    let admin = key("admin", "127.0.0.1:0");
    let db = key("db", "127.0.0.1:9092");
    let closed: Vec<_> = (sim.effects.iter())
        .filter_map(|e| match e {
            super::Effect::Close { key } => Some(key.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(closed, [db]);
    assert!(sim.machine.state().held.contains_key(&admin));
    assert!(sim.logged("closing listener tcp 127.0.0.1:9092: bound after its start was given up"));
    assert_eq!(sim.serving_id(), Some(3));
}

#[test]
fn a_stop_while_the_first_child_starts_names_it_as_a_second_stop_does() {
    let mut sim = Sim::new(settings());
    let first = sim.request(Request::Stop);
    let again = sim.request(Request::Stop);
    let starting = Some(sim.pid(1));
    for stop in [first, again] {
        assert!(
            matches!(sim.answers(stop), [Response::Stopping { pid, .. }] if *pid == starting),
            "{:?}",
            sim.answers(stop)
        );
    }
}

#[test]
fn a_second_stop_after_the_serving_child_exited_names_no_pid() {
    let mut sim = Sim::serving(settings());
    sim.reload("/bin/v2");
    sim.hello_and_ready(2);
    sim.request(Request::Stop);
    sim.exit(2, OK);
    let again = sim.request(Request::Stop);
    assert!(
        matches!(sim.answers(again), [Response::Stopping { pid: None, .. }]),
        "{:?}",
        sim.answers(again)
    );
}

#[test]
fn a_stop_has_its_children_refuse_new_connections_and_a_reload_not() {
    let mut sim = Sim::serving(settings());
    sim.reload("/bin/v2");
    sim.hello_and_ready(2);
    assert!(sim.process(1).lameducked && !sim.process(1).refusing);
    // A stop while another reload starts: the serving child refuses, after
    // taking what its sockets queued; the child starting and the old one
    // draining hold those very sockets, and their shutting first would
    // reset that queue: they wind down without refusing.
    sim.reload("/bin/v3");
    sim.hello(3);
    sim.request(Request::Stop);
    assert!(sim.process(2).refusing);
    assert!(sim.process(3).lameducked && !sim.process(3).refusing);
    assert!(sim.process(1).lameducked && !sim.process(1).refusing);
    // With no child serving (the first still starting), the one starting
    // refuses.
    let mut sim = Sim::new(settings());
    sim.hello(1);
    sim.request(Request::Stop);
    assert!(sim.process(1).refusing);
    // Not when a listener is the service manager's: it keeps it for the
    // next start.
    let mut sim = Sim::serving(settings());
    let http = key("http", "127.0.0.1:8080");
    sim.machine.state.held.get_mut(&http).unwrap().activated = true;
    // A socket of the supervisor's own beside it is shut by the
    // supervisor: the same socket its children hold.
    let admin = key("admin", "127.0.0.1:9");
    hold(&mut sim, &admin);
    // Not a UDP one: shut, it would still take datagrams, and its reader
    // would find it closed for ever.
    let dns = super::ListenerKey::of("dns", crate::spec::Network::Udp, "127.0.0.1:53");
    hold(&mut sim, &dns);
    sim.signal(Signal::Term);
    assert!(sim.process(1).lameducked && !sim.process(1).refusing);
    assert!(!sim.effects.contains(&super::Effect::Shut { key: dns }));
    assert!(
        sim.effects
            .contains(&super::Effect::Shut { key: admin.clone() })
    );
    assert!(!sim.sockets.contains(&admin));
    assert!(sim.sockets.contains(&http));
    assert!(!sim.effects.contains(&super::Effect::Shut { key: http }));
}

/// Has the supervisor hold a socket of its own for `key`, no child's.
fn hold(sim: &mut Sim, key: &super::ListenerKey) {
    let held = super::Held {
        address: key.bind_address().to_owned(),
        activated: false,
        lost: false,
        ipv6_only: false,
    };
    sim.machine.state.held.insert(key.clone(), held);
    sim.sockets.insert(key.clone());
}

#[test]
fn at_a_stop_the_sockets_the_serving_child_cannot_shut_are_shut_by_the_supervisor() {
    // One the serving child does not hold (an old child's on port 0, or a
    // reload's new one): the supervisor shuts it, as no child will.
    let mut sim = Sim::serving(settings());
    sim.reload("/bin/v2");
    sim.hello_and_ready(2);
    let http = key("http", "127.0.0.1:8080");
    let extra = key("extra", "127.0.0.1:0");
    hold(&mut sim, &extra);
    sim.request(Request::Stop);
    assert!(sim.effects.contains(&super::Effect::Shut { key: extra }));
    assert!(
        !sim.effects
            .contains(&super::Effect::Shut { key: http.clone() })
    );
    // The serving child, which was to shut the one it shares with the old
    // one, dies first: the supervisor shuts it.
    sim.exit(2, ChildExit::Signal(9));
    assert!(sim.effects.contains(&super::Effect::Shut { key: http }));
    assert!(sim.process(1).lameducked && !sim.process(1).refusing);
}

/// Serving, with a reload under way whose child, spawned, also declares
/// `admin` on a socket of its own.
fn reloading_with_admin() -> Sim {
    let mut sim = Sim::serving(settings());
    reload_with(
        &mut sim,
        None,
        &[
            ("http", "tcp:127.0.0.1:8080"),
            ("admin", "tcp:127.0.0.1:81"),
        ],
    );
    sim.finish_binds();
    sim
}

#[test]
fn beside_the_service_managers_sockets_a_stop_hands_the_queues_of_its_own_to_the_serving_child() {
    // The supervisor shuts its own sockets itself (the children are not
    // told to refuse, which would shut the manager's): what their queues
    // hold goes to the serving child first, as it is told to wind down.
    let mut sim = reloading_with_admin();
    sim.hello_and_ready(2);
    let http = key("http", "127.0.0.1:8080");
    let admin = key("admin", "127.0.0.1:81");
    sim.machine.state.held.get_mut(&http).unwrap().activated = true;
    sim.effects.clear();
    sim.request(Request::Stop);
    let at = |e: &super::Effect| sim.effects.iter().position(|x| x == e);
    let handed = super::Effect::HandQueued {
        key: admin.clone(),
        to: 2,
        listener: "admin".to_owned(),
    };
    let shut = super::Effect::Shut { key: admin };
    let drain = super::Effect::Lameduck {
        id: 2,
        refuse: false,
    };
    assert!(at(&handed).is_some(), "{:?}", sim.effects);
    assert!(
        at(&handed) < at(&shut) && at(&handed) < at(&drain),
        "{:?}",
        sim.effects
    );
    // Not the manager's: it stays listening, for the next start.
    assert!(
        !(sim.effects.iter())
            .any(|e| matches!(e, super::Effect::HandQueued { key, .. } if *key == http))
    );
}

#[test]
fn a_child_that_does_not_read_handed_connections_is_handed_none() {
    // An older littleboss's child says nothing of it in its hello: it
    // would read the message as a bad one, and close them.
    let mut sim = reloading_with_admin();
    sim.hello_and_ready(2);
    let http = key("http", "127.0.0.1:8080");
    sim.machine.state.held.get_mut(&http).unwrap().activated = true;
    sim.machine.state.children.get_mut(&2).unwrap().reads_queued = false;
    sim.effects.clear();
    sim.request(Request::Stop);
    assert!(
        !(sim.effects.iter()).any(|e| matches!(e, super::Effect::HandQueued { .. })),
        "{:?}",
        sim.effects
    );
    let admin = key("admin", "127.0.0.1:81");
    assert!(sim.effects.contains(&super::Effect::Shut { key: admin }));
}

#[test]
fn at_a_stop_a_reload_s_new_listener_is_shut_by_the_supervisor() {
    // The child starting holds a socket the serving one does not: it is
    // told not to refuse (it shares the other), so the supervisor shuts
    // that one.
    let mut sim = reloading_with_admin();
    sim.hello(2);
    sim.request(Request::Stop);
    let http = key("http", "127.0.0.1:8080");
    let admin = key("admin", "127.0.0.1:81");
    assert!(sim.effects.contains(&super::Effect::Shut { key: admin }));
    assert!(!sim.effects.contains(&super::Effect::Shut { key: http }));
    assert!(sim.process(1).refusing);
    assert!(sim.process(2).lameducked && !sim.process(2).refusing);
}

#[test]
fn an_exit_for_want_of_a_child_is_a_stop_to_the_old_ones_and_systemd() {
    let mut sim = Sim::serving(super::Settings {
        fallback: false,
        ..settings()
    });
    sim.reload("/bin/v2");
    sim.hello_and_ready(2);
    // The new child crashes (no rollback, no persist) while the old one
    // still drains: the supervisor is to exit.
    sim.exit(2, ChildExit::Code(1));
    assert!(
        sim.process(1).refusing,
        "the old child was not told to refuse"
    );
    let stopping = sim
        .effects
        .iter()
        .filter(|e| matches!(e, super::Effect::Notify(super::Notice::Stopping { .. })))
        .count();
    assert_eq!(stopping, 1);
    sim.exit(1, OK);
    assert_eq!(sim.exit_code, Some(1));
}

#[test]
fn a_stop_tells_the_service_manager_how_long_its_drains_may_take() {
    // The serving child's binary says 60 s of lameduck (a reload to a
    // build with a longer one than the unit's `TimeoutStopSec=` was
    // chosen for): the stop asks for that, the wait for a killed child's
    // exit and the supervisor's own slack (review 970).
    let mut sim = Sim::serving(settings());
    sim.reload("/bin/v2");
    sim.hello_as(2, NAME, Duration::from_secs(60), Duration::from_secs(30));
    sim.ready(2);
    sim.exit(1, OK);
    sim.effects.clear();
    sim.signal(Signal::Term);
    let told: Vec<_> = (sim.effects.iter())
        .filter_map(|e| match e {
            super::Effect::Notify(super::Notice::Stopping { within }) => Some(*within),
            _ => None,
        })
        .collect();
    let slack = super::KILLED_EXIT_WAIT + super::STOP_EXIT_SLACK;
    assert_eq!(told, [Some(Duration::from_secs(60) + slack)]);
}

#[test]
fn a_stop_with_only_a_killed_child_asks_for_its_exit_wait_once() {
    // The old child outlived its lameduck and was killed; the new one
    // crashes (no rollback, no persist), so the supervisor stops with the
    // killed child its last. Its wait for the kill's death is counted
    // once: what is left of it, and the supervisor's slack.
    let mut sim = Sim::serving(super::Settings {
        fallback: false,
        ..settings()
    });
    sim.reload("/bin/v2");
    sim.hello_and_ready(2);
    sim.advance(LAMEDUCK);
    assert!(sim.process(1).killed, "{:?}", sim.logs());
    sim.advance(Duration::from_secs(1));
    sim.effects.clear();
    sim.exit(2, ChildExit::Code(1));
    let told: Vec<_> = (sim.effects.iter())
        .filter_map(|e| match e {
            super::Effect::Notify(super::Notice::Stopping { within }) => Some(*within),
            _ => None,
        })
        .collect();
    let left = super::KILLED_EXIT_WAIT - Duration::from_secs(1);
    assert_eq!(told, [Some(left + super::STOP_EXIT_SLACK)]);
}

#[test]
fn an_orphan_may_refuse_connections_unless_a_listener_is_the_service_managers() {
    let mut sim = Sim::serving(settings());
    assert!(sim.process(1).refuses_when_orphaned);
    sim.reload("/bin/v2");
    assert!(sim.process(2).refuses_when_orphaned);
    // The manager's socket must outlive this supervisor, and its children.
    sim.activate_first_listener();
    sim.hello_and_ready(2);
    sim.reload("/bin/v3");
    assert!(!sim.process(3).refuses_when_orphaned);
    // Told which: an orphan of this version shuts only the others.
    assert!(sim.process(2).managers.is_empty());
    let first = sim.process(3).listeners[0].key.clone().unwrap();
    assert_eq!(sim.process(3).managers, vec![first]);
}

#[test]
fn usr1_and_usr2_are_passed_on_to_every_running_child() {
    let mut sim = Sim::serving(settings());
    sim.reload("/bin/v2");
    sim.hello_and_ready(2);
    // Child 1 drains, child 2 serves, child 3 starts.
    sim.reload("/bin/v3");
    sim.signal(Signal::Usr1);
    sim.signal(Signal::Usr2);
    for id in [1, 2, 3] {
        assert_eq!(
            sim.process(id).signals,
            [Signal::Usr1, Signal::Usr2],
            "child {id}"
        );
    }
    assert!(sim.logged("SIGUSR1 received: for child pid"));
    // Nothing else changes: no stop, no reload.
    assert_eq!(sim.serving_id(), Some(2));
    assert_eq!(sim.starting_id(), Some(3));
    assert_eq!(sim.machine.status().reloads, 1);
}

#[test]
fn a_socket_activated_listener_cannot_move() {
    let mut sim = Sim::serving(settings());
    let key = key("http", "127.0.0.1:8080");
    sim.machine.state.held.get_mut(&key).unwrap().activated = true;
    let client = reload_with(
        &mut sim,
        Some(&["-http=127.0.0.1:9"]),
        &[("http", "tcp:127.0.0.1:8080")],
    );
    let error = error_of(sim.final_answer(client));
    assert!(error.contains("is socket-activated"), "{error}");
    assert_eq!(sim.processes.len(), 1);
}

#[test]
fn a_new_default_does_not_move_a_socket_activated_listener() {
    // The new binary declares another default; the reload's arguments do
    // not name the listener: it stays on the service manager's socket.
    let mut sim = Sim::serving(settings());
    let key = key("http", "127.0.0.1:8080");
    sim.machine.state.held.get_mut(&key).unwrap().activated = true;
    for args in [None, Some(&["-v"][..])] {
        let client = reload_with(&mut sim, args, &[("http", "tcp:127.0.0.1:9")]);
        assert!(
            sim.final_answer(client).is_none(),
            "{:?}",
            sim.answers(client)
        );
        let id = sim.starting_id().unwrap();
        assert_eq!(sim.process(id).listeners[0].key, Some(key.clone()));
        assert_eq!(sim.sockets.len(), 1, "nothing else bound");
        sim.hello_and_ready(id);
    }
    // Moved by the reload's own words, or turned off: refused.
    let client = reload_with(&mut sim, Some(&["-http="]), &[("http", "tcp:127.0.0.1:9")]);
    let error = error_of(sim.final_answer(client));
    assert!(error.contains("cannot move to off"), "{error}");
    let client = reload_with(&mut sim, None, &[("http", "tcp:")]);
    let error = error_of(sim.final_answer(client));
    assert!(error.contains("cannot move to off"), "{error}");
}

/// Serving, `http` (declared at 127.0.0.1:8080) on the socket a socket
/// unit passed, at 127.0.0.1:9090.
fn serving_on_a_units_9090() -> Sim {
    let mut sim = Sim::serving(settings());
    let held = (sim.machine.state.held)
        .get_mut(&key("http", "127.0.0.1:8080"))
        .unwrap();
    held.activated = true;
    held.address = "127.0.0.1:9090".to_owned();
    sim
}

#[test]
fn a_reload_may_name_a_socket_activated_listener_by_its_real_address() {
    // Started with the declared :8080; the socket unit's socket is :9090.
    let mut sim = serving_on_a_units_9090();
    let key = key("http", "127.0.0.1:8080");
    let client = reload_with(
        &mut sim,
        Some(&["-http=127.0.0.1:9090"]),
        &[("http", "tcp:127.0.0.1:8080")],
    );
    assert!(
        sim.final_answer(client).is_none(),
        "{:?}",
        sim.answers(client)
    );
    assert_eq!(sim.process(2).listeners[0].key, Some(key.clone()));
    assert_eq!(sim.sockets.len(), 1, "nothing else bound");
    sim.hello_and_ready(2);
    // A move names the address the socket has, not the one declared.
    let client = reload_with(
        &mut sim,
        Some(&["-http=127.0.0.1:9091"]),
        &[("http", "tcp:127.0.0.1:8080")],
    );
    let error = error_of(sim.final_answer(client));
    assert!(
        error.contains(
            "(the service manager owns tcp 127.0.0.1:9090) and cannot move to 127.0.0.1:9091"
        ),
        "{error}"
    );
}

#[test]
fn a_reload_giving_a_socket_activated_listener_its_declared_address_is_told_where_it_stays() {
    // Given the binary's default, :8080, which the unit's socket is held
    // under: kept on 127.0.0.1:9090, and said, not silently.
    let mut sim = serving_on_a_units_9090();
    let client = reload_with(
        &mut sim,
        Some(&["-http=127.0.0.1:8080"]),
        &[("http", "tcp:127.0.0.1:8080")],
    );
    assert_eq!(sim.sockets.len(), 1, "nothing else bound");
    let note = "listener `http`: `127.0.0.1:8080` given, but it stays on the service manager's socket, tcp 127.0.0.1:9090, which no reload moves (change the socket unit to move it)";
    assert!(
        matches!(sim.answers(client), [Response::Reloading { changes, .. }] if changes == &[note]),
        "{:?}",
        sim.answers(client)
    );
    sim.hello_and_ready(2);
    // Named by the address it has, or not given at all: nothing to say.
    for args in [Some(&["-http=127.0.0.1:9090"][..]), None] {
        let client = reload_with(&mut sim, args, &[("http", "tcp:127.0.0.1:8080")]);
        let id = sim.starting_id().unwrap();
        assert!(
            matches!(sim.answers(client), [Response::Reloading { changes, .. }] if changes.is_empty()),
            "{args:?}: {:?}",
            sim.answers(client)
        );
        sim.hello_and_ready(id);
    }
}

#[test]
fn two_listeners_naming_one_held_socket_are_refused_in_the_words_they_were_asked_in() {
    // `admin` asks 127.0.0.1:9090, where the socket held for `http`
    // (under its declared :8080) really is: not "both ask for :8080".
    let mut sim = serving_on_a_units_9090();
    let client = reload_with(
        &mut sim,
        None,
        &[
            ("http", "tcp:127.0.0.1:8080"),
            ("admin", "tcp:127.0.0.1:9090"),
        ],
    );
    assert_eq!(
        error_of(sim.final_answer(client)),
        "listeners `http` (127.0.0.1:8080) and `admin` (127.0.0.1:9090) name one socket, tcp 127.0.0.1:9090 (held for 127.0.0.1:8080), which this service holds; give each its own address"
    );
    // Asked alike: the rules' words, as at a start.
    let client = reload_with(
        &mut sim,
        None,
        &[
            ("http", "tcp:127.0.0.1:8080"),
            ("admin", "tcp:127.0.0.1:8080"),
        ],
    );
    assert_eq!(
        error_of(sim.final_answer(client)),
        "listeners `http` and `admin` both ask for tcp 127.0.0.1:8080; give each its own address"
    );
    assert_eq!(sim.serving_id(), Some(1));
}

#[test]
fn a_reload_binds_a_listener_at_the_address_a_socket_activated_one_was_declared_at() {
    // http declared at 127.0.0.1:8080, handed the unit's 127.0.0.1:9090:
    // 8080 is free for a new listener, and that reload binds it.
    let mut sim = serving_on_a_units_9090();
    let client = reload_with(
        &mut sim,
        None,
        &[
            ("http", "tcp:127.0.0.1:8080"),
            ("admin", "tcp:0.0.0.0:8080"),
        ],
    );
    assert!(
        sim.final_answer(client).is_none(),
        "{:?}",
        sim.answers(client)
    );
    let admin = key("admin", "0.0.0.0:8080");
    assert!(sim.sockets.contains(&admin), "{:?}", sim.sockets);
    sim.hello_and_ready(2);
    assert!(matches!(
        sim.final_answer(client),
        Some(Response::Reloaded { .. })
    ));
}

#[test]
fn a_stop_while_a_reloads_listeners_are_bound_ends_without_that_child() {
    let mut sim = Sim::serving(settings());
    sim.defer_binds = true;
    let reload = reload_with(
        &mut sim,
        None,
        &[
            ("http", "tcp:127.0.0.1:8080"),
            ("admin", "tcp:127.0.0.1:81"),
        ],
    );
    let status = sim.machine.status();
    assert_eq!(status.binding.unwrap().why, "reload");
    let stop = sim.request(Request::Stop);
    // No child started for it: put off, nothing tried.
    assert_eq!(
        error_and_refused(sim.final_answer(reload)),
        ("the supervisor is stopping".to_owned(), true)
    );
    sim.finish_binds();
    assert!(
        !sim.sockets.contains(&key("admin", "127.0.0.1:81")),
        "closed: no child will use it"
    );
    sim.exit(1, OK);
    assert_eq!(stopped_code(sim.final_answer(stop)), 0);
    assert_eq!(sim.processes.len(), 1, "the reload's child never started");
}

#[test]
fn a_rollbacks_listener_bound_once_a_stop_began_is_closed() {
    let mut sim = Sim::serving(settings());
    let http = [("http", "tcp:127.0.0.1:8080")];
    reload_with(&mut sim, Some(&["-http=127.0.0.1:9090"]), &http);
    sim.hello_and_ready(2);
    let old = key("http", "127.0.0.1:8080");
    assert!(!sim.sockets.contains(&old), "moved away");
    // The new child dies in its probation, the old one draining still:
    // the rollback binds the old port again, and a stop comes before
    // that bind is done.
    sim.defer_binds = true;
    sim.exit(2, ChildExit::Code(1));
    let stop = sim.request(Request::Stop);
    sim.finish_binds();
    assert!(!sim.sockets.contains(&old), "listening for nobody");
    assert!(sim.logged("closing listener tcp 127.0.0.1:8080: bound after the stop began"));
    sim.exit(1, OK);
    assert!(sim.final_answer(stop).is_some());
}

#[test]
fn a_reload_waiting_on_one_still_binding_says_so_not_pid_0() {
    let mut sim = Sim::serving(settings());
    sim.defer_binds = true;
    reload_with(
        &mut sim,
        None,
        &[
            ("http", "tcp:127.0.0.1:8080"),
            ("admin", "tcp:127.0.0.1:81"),
        ],
    );
    let second = sim.reload("/bin/v1");
    // The bind's deadline, then the child's.
    let bound = super::BIND_TIMEOUT + super::HELLO_TIMEOUT + settings().ready_timeout;
    assert_eq!(
        sim.answers(second),
        [Response::Waiting {
            pid: 0,
            within_ms: Some(bound.as_millis() as u64)
        }]
    );
    assert!(sim.logged(
        "reload of /bin/v1 waits for the child under way (not spawned yet) to finish starting"
    ));
    let status = sim.machine.status();
    let shown = status.render();
    assert!(
        shown.contains(
            "starting   (no pid yet: binding its listeners, or its exec under way) (reload)"
        ),
        "{shown}"
    );
    // In JSON, not under `starting` (whose pid an older client needs)
    // but `binding`, without a pid: never a 0 (`kill 0` signals a group).
    let json = serde_json::to_value(&status).unwrap();
    assert_eq!(json["starting"], serde_json::Value::Null, "{json}");
    assert_eq!(json["binding"]["why"], "reload", "{json}");
    assert!(json["binding"].get("pid").is_none(), "{json}");
    // What an older client reads: its children's pids are plain numbers.
    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct OlderChild {
        pid: u32,
    }
    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct OlderStatus {
        child: Option<OlderChild>,
        starting: Option<OlderChild>,
        draining: Vec<OlderChild>,
    }
    serde_json::from_value::<OlderStatus>(json).expect("an older client reads it");
    sim.finish_binds();
    assert_eq!(sim.pid(2), 1002, "spawned once bound");
}

#[test]
fn status_during_a_stop_shows_the_children_winding_down() {
    let mut sim = Sim::serving(settings());
    sim.reload("/bin/slow");
    sim.request(Request::Stop);
    let status = sim.machine.status();
    assert_eq!(status.child.unwrap().pid, Some(sim.pid(1)));
    assert_eq!(status.starting.unwrap().child.pid, Some(sim.pid(2)));
}

#[test]
fn a_socket_activated_listener_is_never_closed() {
    let mut sim = Sim::serving(settings());
    let http = key("http", "127.0.0.1:8080");
    sim.machine.state.held.get_mut(&http).unwrap().activated = true;
    sim.machine.state.held.insert(
        key("old", "127.0.0.1:9"),
        super::Held {
            address: "127.0.0.1:9".to_owned(),
            activated: true,
            lost: false,
            ipv6_only: false,
        },
    );
    sim.sockets.insert(key("old", "127.0.0.1:9"));
    sim.reload("/bin/v2");
    sim.hello_and_ready(2);
    sim.exit(1, OK);
    assert!(sim.sockets.contains(&key("old", "127.0.0.1:9")));
    assert!(sim.sockets.contains(&http));
}

#[test]
fn a_crash_tells_the_service_manager_one_status_line_the_right_one() {
    // Not first "no child serving, failures 0" (true only halfway through
    // handling the crash), then the restart.
    let mut sim = Sim::serving(super::Settings {
        persist: true,
        restart_limit: (3, Duration::from_secs(60)),
        ..settings()
    });
    let before = status_lines(&sim).len();
    sim.exit(1, ChildExit::Code(3));
    let said = &status_lines(&sim)[before..];
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(
        said[0].starts_with("no child serving, restarting in "),
        "{said:?}"
    );
    assert!(said[0].ends_with("reloads 0, failures 1"), "{said:?}");
}

#[test]
fn a_rollback_tells_the_service_manager_its_failure_counted() {
    let mut sim = Sim::serving(settings());
    sim.reload("/bin/v2");
    sim.hello_and_ready(2);
    // Dies in its probation: the step's own line, before the rollback's
    // child is spawned, counts the failure and names no pid yet.
    let exit = super::Event::Exited {
        id: 2,
        exit: ChildExit::Code(1),
    };
    let effects = sim.machine.handle(exit, sim.now);
    let said: Vec<&str> = (effects.iter())
        .filter_map(|e| match e {
            super::Effect::Notify(super::Notice::Status(line)) => Some(line.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        said,
        ["no child serving, a child starting (rollback), reloads 1, failures 1"]
    );
}

#[test]
fn kept_arguments_for_a_listener_moved_to_another_network_refuse_the_reload() {
    // Started with `-api=127.0.0.1:9090` for a tcp listener; the new
    // binary declares `api` as unix, where `127.0.0.1:9090` would be a
    // relative path: a socket file of that name, and the port shut.
    let mut sim = Sim::serving(settings());
    let tcp = [("http", "tcp:127.0.0.1:8080"), ("api", "tcp:")];
    reload_with(&mut sim, Some(&["-api=127.0.0.1:9090"]), &tcp);
    sim.finish_binds();
    sim.hello_and_ready(2);
    let unix = [
        ("http", "tcp:127.0.0.1:8080"),
        ("api", "unix:/run/api.sock"),
    ];
    let kept = reload_with(&mut sim, None, &unix);
    let want = "`-api=127.0.0.1:9090`, kept from the serving child's arguments, was given for tcp, and the new binary declares `api` on unix; give the reload its arguments (with `-api=ADDR` for unix, or `--` to start it with none at all)";
    assert!(
        matches!(sim.final_answer(kept), Some(Response::Error { error, .. }) if error == want),
        "{:?}",
        sim.answers(kept)
    );
    assert_eq!(sim.serving_id(), Some(2));
    // The other way, a path kept for tcp: refused in the same words, not
    // as an address the caller never typed.
    let path = [("http", "tcp:127.0.0.1:8080"), ("api", "unix:")];
    reload_with(&mut sim, Some(&["-api=/run/api.sock"]), &path);
    sim.finish_binds();
    sim.hello_and_ready(3);
    let back = reload_with(&mut sim, None, &tcp);
    assert!(
        matches!(sim.final_answer(back), Some(Response::Error { error, .. })
            if error.starts_with("`-api=/run/api.sock`, kept from the serving child's arguments, was given for unix")),
        "{:?}",
        sim.answers(back)
    );
    // Given its arguments, or none, the reload goes on; and a listener
    // the kept arguments turn off is off on any network.
    let given = reload_with(&mut sim, Some(&["-api=127.0.0.1:9091"]), &tcp);
    sim.finish_binds();
    sim.hello_and_ready(4);
    assert!(matches!(
        sim.final_answer(given),
        Some(Response::Reloaded { .. })
    ));
    // Between IP networks the kept value means the same, and is checked
    // as any other: an IPv4 address refused for tcp6 says it was kept.
    let tcp6 = [("http", "tcp:127.0.0.1:8080"), ("api", "tcp6:")];
    let other_family = reload_with(&mut sim, None, &tcp6);
    let want = "-api: `127.0.0.1` is an IPv4 address, and this listener is declared tcp6, which listens on IPv6 only; give an IPv6 address, like `[::1]:9091`, or a host name (`:9091` for every address); `-api` was kept from the serving child's arguments: give the reload its arguments (with `-api=ADDR`, or `--` to start it with none at all)";
    assert!(
        matches!(sim.final_answer(other_family), Some(Response::Error { error, .. }) if error == want),
        "{:?}",
        sim.answers(other_family)
    );
    let tcp4 = [("http", "tcp:127.0.0.1:8080"), ("api", "tcp4:")];
    let narrowed = reload_with(&mut sim, None, &tcp4);
    sim.finish_binds();
    sim.hello_and_ready(5);
    assert!(
        matches!(sim.final_answer(narrowed), Some(Response::Reloaded { .. })),
        "{:?}",
        sim.answers(narrowed)
    );
    reload_with(&mut sim, Some(&["-api="]), &tcp);
    sim.hello_and_ready(6);
    let off = reload_with(&mut sim, None, &unix);
    sim.finish_binds();
    sim.hello_and_ready(7);
    assert!(
        matches!(sim.final_answer(off), Some(Response::Reloaded { .. })),
        "{:?}",
        sim.answers(off)
    );
}

#[test]
fn a_reload_whose_exec_hangs_past_its_deadline_fails_and_its_child_is_killed_once_it_runs() {
    // The binary sits on a file system that hangs: the exec does not
    // return, maybe ever. The reload fails at its deadline, the reload
    // queued behind it goes on, the serving child serves on, and the
    // late child is killed as soon as it runs.
    let mut sim = Sim::serving(settings());
    sim.defer_spawns = true;
    let hung = sim.reload("/bin/v2");
    let next = sim.reload("/bin/v3");
    sim.advance(HELLO_TIMEOUT);
    assert_eq!(
        error_of(sim.final_answer(hung)),
        "new child (/bin/v2) was not started within 10s: its exec had not returned (is /bin/v2 on a file system that hangs?); it is killed once it runs"
    );
    // Nothing was told to a child with no pid, but the process its spawn
    // forked is killed, which ends the hung exec; the next reload's spawn
    // is under way too.
    assert!(
        !(sim.effects.iter()).any(|e| matches!(e, super::Effect::Kill { id: 2 })),
        "{:?}",
        sim.effects
    );
    assert_eq!(sim.killed_spawning, [2]);
    assert_eq!(sim.spawning().collect::<Vec<_>>(), [2, 3]);
    sim.finish_spawns();
    assert!(sim.process(2).killed, "killed once it has a pid");
    assert!(!sim.process(2).lameducked);
    sim.exit(2, ChildExit::Signal(9));
    sim.hello_and_ready(3);
    assert!(matches!(
        sim.final_answer(next),
        Some(Response::Reloaded { .. })
    ));
    assert_eq!(sim.serving_id(), Some(3));
    assert_eq!(sim.machine.state().failures, 1);
}

#[test]
fn a_stop_while_a_spawn_is_under_way_winds_the_child_down_once_it_runs() {
    // The stop cannot tell a child with no pid yet: it waits for it, and
    // tells it to wind down as it comes.
    let mut sim = Sim::serving(settings());
    sim.defer_spawns = true;
    let reload = sim.reload("/bin/v2");
    let stop = sim.request(Request::Stop);
    assert_eq!(
        error_of(sim.final_answer(reload)),
        "the supervisor is stopping"
    );
    sim.exit(1, OK);
    assert_eq!(sim.exit_code, None, "a child is still to come");
    sim.finish_spawns();
    let child = sim.process(2).clone();
    assert!(child.lameducked && !child.killed, "{child:?}");
    sim.exit(2, OK);
    assert_eq!(stopped_code(sim.final_answer(stop)), 0);
    assert_eq!(sim.exit_code, Some(0));
}

#[test]
fn a_stop_does_not_wait_for_an_exec_that_never_returns() {
    // Past its lameduck timeout, a child with no pid is killed, which
    // cannot reach it: the supervisor exits without it.
    let mut sim = Sim::serving(settings());
    sim.defer_spawns = true;
    sim.reload("/bin/v2");
    let stop = sim.request(Request::Stop);
    sim.exit(1, OK);
    sim.advance(settings().lameduck);
    assert!(
        sim.logged("a child whose exec has not returned is past its lameduck timeout: not waited for, and killed should it run"),
        "{:?}",
        sim.logs()
    );
    assert_eq!(stopped_code(sim.final_answer(stop)), 0);
    assert_eq!(sim.exit_code, Some(0));
}

#[test]
fn a_spawn_that_fails_after_its_deadline_fails_the_reload_once() {
    // The exec hangs past the deadline, then fails: one failure, the
    // deadline's, told to the reload's client; the serving child serves
    // on.
    let mut sim = Sim::serving(settings());
    sim.defer_spawns = true;
    let reload = sim.reload("/bin/v2");
    sim.advance(HELLO_TIMEOUT);
    sim.unstartable.insert("/bin/v2".into());
    sim.finish_spawns();
    assert!(
        error_of(sim.final_answer(reload)).contains("its exec had not returned"),
        "{:?}",
        sim.answers(reload)
    );
    assert_eq!(sim.machine.state().failures, 1);
    assert_eq!(sim.serving_id(), Some(1));
    assert!(!sim.process(1).lameducked);
}

#[test]
fn a_spawn_that_fails_after_its_deadline_during_a_stop_is_counted_once() {
    // A reload whose exec hangs, then a stop, the serving child draining
    // past the hello deadline (a long lameduck): the start fails at the
    // deadline, and its exec failing later counts no second failure.
    let slow = Duration::from_secs(60);
    let mut slow_drain = settings();
    slow_drain.lameduck = slow;
    let mut sim = Sim::new(slow_drain);
    sim.hello_as(1, NAME, slow, Duration::from_secs(30));
    sim.ready(1);
    sim.defer_spawns = true;
    sim.reload("/bin/v2");
    let stop = sim.request(Request::Stop);
    sim.advance(HELLO_TIMEOUT);
    assert_eq!(sim.machine.state().failures, 1, "{:?}", sim.logs());
    let said = sim.machine.state().last_failure.clone();
    sim.unstartable.insert("/bin/v2".into());
    sim.finish_spawns();
    assert_eq!(sim.machine.state().failures, 1);
    assert_eq!(sim.machine.state().last_failure, said);
    assert!(sim.logged("cannot start /bin/v2"), "{:?}", sim.logs());
    sim.exit(1, OK);
    assert_eq!(stopped_code(sim.final_answer(stop)), 0);
}

#[test]
fn a_child_whose_exec_took_most_of_the_deadline_has_a_whole_hello_timeout() {
    // Spawned just before the hello deadline counted from the order: its
    // hello is due a whole timeout from its spawn, not at once.
    let mut sim = Sim::serving(settings());
    sim.defer_spawns = true;
    let reload = sim.reload("/bin/v2");
    sim.advance(HELLO_TIMEOUT - Duration::from_millis(1));
    sim.finish_spawns();
    sim.advance(HELLO_TIMEOUT - Duration::from_millis(1));
    assert!(!sim.process(2).killed);
    sim.hello_and_ready(2);
    assert!(matches!(
        sim.final_answer(reload),
        Some(Response::Reloaded { .. })
    ));
}

#[test]
fn a_start_given_up_on_keeps_none_of_the_sockets_bound_for_it() {
    // A reload that added a listener, whose exec then hung: the reload
    // fails, and its new socket goes (nobody would accept on it), though
    // the hung spawn may hold a copy (the driver shuts a shared one).
    let mut sim = Sim::serving(settings());
    sim.defer_spawns = true;
    let declared = [
        ("http", "tcp:127.0.0.1:8080"),
        ("admin", "tcp:127.0.0.1:9091"),
    ];
    let reload = reload_with(&mut sim, None, &declared);
    let admin = key("admin", "127.0.0.1:9091");
    assert!(sim.sockets.contains(&admin));
    sim.advance(HELLO_TIMEOUT);
    assert!(error_of(sim.final_answer(reload)).contains("its exec had not returned"));
    assert!(!sim.sockets.contains(&admin), "{:?}", sim.sockets);
    assert!(sim.sockets.contains(&key("http", "127.0.0.1:8080")));
    // Its binary stays held: the spawn may yet run it.
    assert!(sim.machine.binaries_kept().contains(&2));
}

#[test]
fn a_sighup_reload_refused_still_tells_systemd_it_began_and_ended() {
    // Under `Type=notify-reload` systemd waits for both, and would fail
    // `systemctl reload` at its timeout. Refused here by a launch path not
    // absolute, as a damaged handoff could carry.
    let mut sim = Sim::serving(settings());
    let mut state = serde_json::to_value(sim.machine.state()).unwrap();
    state["current"]["target"]["path"] = "v1".into();
    sim.machine = super::Machine::resume(serde_json::from_value(state).unwrap());
    let from = sim.effects.len();
    sim.signal(Signal::Hup);
    assert!(sim.logged("reload refused: the binary path v1 is not absolute"));
    assert_eq!(reload_notices(&sim, from), ["RELOADING", "READY"]);
    assert_eq!(sim.serving_id(), Some(1), "untouched");
    // While stopping, nothing: no READY after STOPPING.
    let stop = sim.request(Request::Stop);
    let from = sim.effects.len();
    sim.signal(Signal::Hup);
    assert!(sim.logged("reload refused: the supervisor is stopping"));
    assert_eq!(reload_notices(&sim, from), Vec::<&str>::new());
    sim.exit(1, OK);
    assert_eq!(stopped_code(sim.final_answer(stop)), 0);
}

#[test]
fn a_sighup_reload_refused_with_nothing_serving_still_tells_systemd_it_began() {
    // A restart is due when systemd's SIGHUP comes, and the reload is
    // refused: RELOADING=1 (stamped after the signal) lets the restarted
    // child's READY=1 end `systemctl reload`; a lone READY=1 would not.
    let mut sim = Sim::serving(super::Settings {
        persist: true,
        ..settings()
    });
    let mut state = serde_json::to_value(sim.machine.state()).unwrap();
    state["current"]["target"]["path"] = "v1".into();
    sim.machine = super::Machine::resume(serde_json::from_value(state).unwrap());
    sim.exit(1, ChildExit::Code(1));
    assert_eq!(sim.serving_id(), None, "a restart is due");
    let from = sim.effects.len();
    sim.signal(Signal::Hup);
    assert!(sim.logged("reload refused: the binary path v1 is not absolute"));
    assert_eq!(reload_notices(&sim, from), ["RELOADING"]);
}

#[test]
fn a_sighup_queued_behind_a_reload_is_answered_by_its_own_reload_only() {
    // systemd's SIGHUP (`Type=notify-reload`) waits behind a queued
    // control reload. Stamped, that reload's RELOADING=1 would be taken as
    // the SIGHUP's answer, and its READY=1 would end `systemctl reload`
    // before the SIGHUP's own reload ran. A SIGHUP's reload with another
    // SIGHUP behind it leaves the answer to that one's.
    let mut sim = Sim::serving(settings());
    sim.reload("/bin/v2");
    sim.hello(2);
    sim.reload("/bin/v3");
    let from = sim.effects.len();
    sim.signal(Signal::Hup);
    sim.reload("/bin/v4");
    sim.signal(Signal::Hup);
    sim.ready(2);
    sim.hello_and_ready(3);
    sim.hello_and_ready(4);
    sim.hello_and_ready(5);
    sim.hello_and_ready(6);
    assert_eq!(
        sim.spawned_paths(),
        [
            "/bin/v1", "/bin/v2", "/bin/v3", "/bin/v3", "/bin/v4", "/bin/v4"
        ]
    );
    assert_eq!(
        reload_notices(&sim, from),
        [
            "READY",
            "RELOADING unstamped", // v3, asked with a client
            "READY",
            "RELOADING unstamped", // the first SIGHUP's, another behind
            "READY",
            "RELOADING unstamped", // v4
            "READY",
            "RELOADING", // the second SIGHUP's
            "READY"
        ]
    );
}

#[test]
fn a_sighup_with_only_control_reloads_behind_it_answers_systemd() {
    let mut sim = Sim::serving(settings());
    sim.reload("/bin/v2");
    sim.hello(2);
    let from = sim.effects.len();
    sim.signal(Signal::Hup);
    sim.reload("/bin/v3");
    sim.ready(2);
    sim.hello_and_ready(3);
    sim.hello_and_ready(4);
    assert_eq!(
        sim.spawned_paths(),
        ["/bin/v1", "/bin/v2", "/bin/v2", "/bin/v3"]
    );
    assert_eq!(
        reload_notices(&sim, from),
        [
            "READY",
            "RELOADING", // the SIGHUP's
            "READY",
            "RELOADING unstamped", // v3
            "READY"
        ]
    );
}

#[test]
fn a_sighup_whose_neighbour_in_the_queue_is_dropped_answers_systemd() {
    // Two SIGHUPs a dropped reload stood between are one: the first's
    // reload answers, none waiting behind it any more.
    let mut sim = Sim::serving(settings());
    sim.reload("/bin/v2");
    sim.hello(2);
    let from = sim.effects.len();
    sim.signal(Signal::Hup);
    let dropped = sim.reload("/bin/v3");
    sim.signal(Signal::Hup);
    sim.handle(super::Event::ClientGone { client: dropped });
    sim.ready(2);
    sim.hello_and_ready(3);
    sim.advance(Duration::from_secs(1));
    assert_eq!(sim.spawned_paths(), ["/bin/v1", "/bin/v2", "/bin/v2"]);
    assert_eq!(reload_notices(&sim, from), ["READY", "RELOADING", "READY"]);
}

/// systemd's notices (READY, RELOADING) from effect `from` on.
fn reload_notices(sim: &Sim, from: usize) -> Vec<&'static str> {
    (sim.effects[from..].iter())
        .filter_map(|e| match e {
            super::Effect::Notify(super::Notice::Ready) => Some("READY"),
            super::Effect::Notify(super::Notice::Reloading {
                answers_signal: true,
            }) => Some("RELOADING"),
            super::Effect::Notify(super::Notice::Reloading {
                answers_signal: false,
            }) => Some("RELOADING unstamped"),
            _ => None,
        })
        .collect()
}

/// A serving service whose spawns hang, with as many given up on as it
/// allows.
fn serving_with_the_most_spawns_given_up() -> Sim {
    let mut sim = Sim::serving(settings());
    sim.defer_spawns = true;
    for _ in 0..super::MAX_SPAWNS_GIVEN_UP {
        sim.reload("/bin/v2");
        sim.advance(HELLO_TIMEOUT);
    }
    sim
}

#[test]
fn a_stop_whose_deciding_restart_was_given_up_exits_1_though_its_exec_returns_later() {
    // An old child still drains (a long lameduck) as the restart that
    // decides the stop's code is given up on; its exec returns after, and
    // it dies of the kill it gets then: still a failed start, 1, not 137.
    let mut sim = Sim::new(super::Settings {
        persist: true,
        ..settings()
    });
    sim.hello_as(1, NAME, Duration::from_secs(60), Duration::from_secs(30));
    sim.ready(1);
    sim.reload("/bin/v2");
    sim.hello_and_ready(2);
    sim.advance(PROBATION);
    sim.exit(2, ChildExit::Code(3));
    sim.defer_spawns = true;
    sim.advance(Duration::from_secs(1));
    let restart = sim.spawning().next().expect("a restart spawning");
    let stop = sim.request(Request::Stop);
    sim.advance(LAMEDUCK + HELLO_TIMEOUT);
    sim.finish_spawns();
    assert!(sim.process(restart).killed, "killed once it ran");
    sim.exit(restart, ChildExit::Signal(9));
    assert_eq!(sim.exit_code, None, "the old child still drains");
    sim.exit(1, OK);
    assert_eq!(stopped_code(sim.final_answer(stop)), 1, "{:?}", sim.logs());
}

#[test]
fn a_reload_refused_while_a_restart_is_due_leaves_that_restart_as_planned() {
    // Refused before it could replace the restart (too many execs hung):
    // the restart stands, counted once, at its time.
    let mut sim = Sim::serving(super::Settings {
        persist: true,
        ..settings()
    });
    sim.defer_spawns = true;
    for _ in 0..super::MAX_SPAWNS_GIVEN_UP {
        sim.reload("/bin/v2");
        sim.advance(HELLO_TIMEOUT);
    }
    sim.exit(1, OK);
    let planned = |sim: &Sim| {
        sim.logs()
            .iter()
            .filter(|l| l.starts_with("restarting in"))
            .count()
    };
    assert_eq!(planned(&sim), 1);
    let due = sim.machine.state().phase.clone();
    let refused = sim.reload("/bin/v3");
    assert!(error_of(sim.final_answer(refused)).contains("no child starts until one has"));
    assert_eq!(planned(&sim), 1, "{:?}", sim.logs());
    assert_eq!(sim.machine.state().restarts.len(), 1, "counted once");
    let restart_at = |phase: &super::state::Phase| match phase {
        super::state::Phase::Up(up) => up.restart_at,
        _ => None,
    };
    assert_eq!(restart_at(&sim.machine.state().phase), restart_at(&due));
}

#[test]
fn a_sighup_reload_that_fails_before_its_spawn_still_tells_systemd_it_began_and_ended() {
    // Under `Type=notify-reload`, systemd's SIGHUP waits for RELOADING=1
    // then READY=1; a lone READY=1 leaves `systemctl reload` hanging.
    let mut sim = serving_with_the_most_spawns_given_up();
    let from = sim.effects.len();
    sim.signal(Signal::Hup);
    assert!(sim.logged("no child starts until one has"));
    assert_eq!(reload_notices(&sim, from), ["RELOADING", "READY"]);
    assert_eq!(sim.serving_id(), Some(1));
}

#[test]
fn no_child_is_started_while_too_many_given_up_execs_have_not_returned() {
    // Each given-up spawn keeps a thread; past the bound, a start fails at
    // once, saying why, until one returns.
    let mut sim = serving_with_the_most_spawns_given_up();
    let refused = sim.reload("/bin/v3");
    assert_eq!(
        error_of(sim.final_answer(refused)),
        "not starting /bin/v3: 4 children given up on (their execs not returned, or not dead of SIGKILL) are still there (a file system that hangs?); no child starts until one has gone"
    );
    assert_eq!(sim.serving_id(), Some(1));
    // One returns (and is killed): a start goes ahead again.
    sim.finish_spawns();
    sim.exit(2, ChildExit::Signal(9));
    sim.defer_spawns = false;
    let next = sim.reload("/bin/v3");
    let started = sim.starting_id().unwrap();
    sim.hello_and_ready(started);
    assert!(matches!(
        sim.final_answer(next),
        Some(Response::Reloaded { .. })
    ));
}
