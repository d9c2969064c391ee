//! The whole handoff as version 1 writes it, pinned (`handoff_v1.json`):
//! with a pending event of every kind, every message a child sends and
//! every control request, since all of them cross an upgrade in place
//! when they arrive before the exec. `state_v1.json` pins the state alone.
//!
//! Every build of `STATE_VERSION` 1 must read this file event for event. A
//! field added since needs `#[serde(default)]`; a change a version-1 image
//! could not read (a new variant of an event, a message or a request, a
//! required field) needs a new `STATE_VERSION`, so that no older image is
//! executed with it, and the pin made again for it (`handoff_v2.json`, as
//! [`print_a_handoff_with_every_event`] says), read here in place of this
//! one: a build of a later version refuses a version-1 handoff, so nothing
//! reads this file then. [`every_kind`] stops the test build at a new
//! variant, until it is matched there: a reminder, with the comment at
//! its arm, to list it in [`with_every_event`] (the machine's
//! `every_state_kind` does the same for the enums inside the state).

use std::path::PathBuf;

use super::handoff::{HandedSocket, Handoff};
use super::machine::{ChildExit, Event, FileId, STATE_VERSION, Signal, serving_state};
use crate::control::protocol::Request;
use crate::link::FromChild;
use crate::socket_key::ListenerKey;
use crate::spec::{ListenerSpec, Network};

/// Nothing but a match with no catch-all: a variant added to an event,
/// a child's message, a request or a signal stops the test build here,
/// until matched: a reminder to list it in [`with_every_event`] and pin
/// a new version.
#[allow(dead_code)]
fn every_kind(event: &Event) {
    match event {
        Event::Bound { .. }
        | Event::BindFailed { .. }
        | Event::Spawned { .. }
        | Event::SpawnFailed { .. }
        | Event::Exited { .. }
        | Event::ClientGone { .. }
        | Event::Tick
        | Event::Upgraded
        | Event::UpgradeFailed { .. } => {}
        // A new image's own, handled right after its first event, while
        // no upgrade can be due: never handed over (see `resume`), so
        // neither listed nor pinned.
        Event::ChildLost { .. } | Event::ListenerLost { .. } => {}
        // The driver's own, queued and handled before anything else,
        // while no upgrade can be due: never handed over either.
        Event::UnixFileRemoved { .. } => {}
        Event::Message { message, .. } => match message {
            FromChild::Hello { .. }
            | FromChild::Ready
            | FromChild::Error { .. }
            | FromChild::Finished { .. } => {}
        },
        Event::Control { request, .. } => match request {
            Request::Status | Request::Reload { .. } | Request::Stop => {}
        },
        Event::Signal(signal) => match signal {
            Signal::Term
            | Signal::Int
            | Signal::Hup
            | Signal::Chld
            | Signal::Usr1
            | Signal::Usr2 => {}
        },
    }
    if let Event::Exited { exit, .. } = event {
        match exit {
            ChildExit::Code(_) | ChildExit::Signal(_) => {}
        }
    }
}

/// A handoff with one pending event of every kind.
fn with_every_event() -> Handoff {
    let key = ListenerKey {
        network: Network::Tcp,
        address: "127.0.0.1:8080".to_owned(),
    };
    let message = |message| Event::Message { id: 2, message };
    let control = |client, request| Event::Control { client, request };
    let pending = vec![
        Event::Bound {
            id: 2,
            bound: vec![(key.clone(), "127.0.0.1:8080".to_owned())],
        },
        Event::BindFailed {
            id: 3,
            error: "address in use".to_owned(),
        },
        Event::Spawned {
            id: 2,
            pid: 1002,
            binary: Some(FileId { dev: 1, ino: 2 }),
            resolved: Some(PathBuf::from("/bin/v2")),
            path_replaced: true,
            // Version 1 as first pinned had no such field: read so.
            by_pidfd: true,
            // Nor this one: read as unknown.
            started_unix: None,
        },
        Event::SpawnFailed {
            id: 4,
            error: "No such file or directory".to_owned(),
        },
        message(FromChild::Hello {
            name: "svc".to_owned(),
            lameduck_ms: 5000,
            ready_timeout_ms: 10000,
            takes_over: Some(1),
            reads_queued: true,
            // Version 1 as first pinned had no such field: read so.
            reads_alone: false,
        }),
        message(FromChild::Ready),
        message(FromChild::Error {
            error: "cannot open the database".to_owned(),
        }),
        message(FromChild::Finished { code: 3 }),
        Event::Exited {
            id: 1,
            exit: ChildExit::Code(0),
        },
        Event::Exited {
            id: 3,
            exit: ChildExit::Signal(9),
        },
        Event::Signal(Signal::Term),
        Event::Signal(Signal::Int),
        Event::Signal(Signal::Hup),
        Event::Signal(Signal::Chld),
        Event::Signal(Signal::Usr1),
        Event::Signal(Signal::Usr2),
        control(5, Request::Status),
        control(
            6,
            Request::Reload {
                path: PathBuf::from("/bin/v3"),
                argv0: Some(PathBuf::from("svc")),
                args: Some(vec!["-port".into(), "8080".into()]),
                listeners: Some(vec![ListenerSpec {
                    name: "http".to_owned(),
                    network: Network::Tcp,
                    address: Some(":8080".to_owned()),
                }]),
                dir: Some(PathBuf::from("/srv")),
                dir_id: Some([1, 3]),
            },
        ),
        control(7, Request::Stop),
        Event::ClientGone { client: 7 },
        Event::Tick,
        Event::Upgraded,
        Event::UpgradeFailed {
            error: "exec failed: Permission denied".to_owned(),
            refuse: true,
        },
    ];
    Handoff {
        version: STATE_VERSION,
        state: serving_state(),
        pending,
        refused: vec![],
        origin_ns: 123_456_789,
        sockets: vec![HandedSocket {
            key,
            fd: 5,
            unix_path: None,
            unix_id: None,
            unix_folder: None,
        }],
        children: vec![(2, 6)],
        clients: vec![(6, 7)],
        idle: vec![8],
        unread: vec![(8, b"{\"v\":".to_vec())],
        unsent: vec![(7, b"{\"type\":\"reloading\"".to_vec())],
        binaries: vec![(2, 9)],
        next_client: 8,
        control: 3,
        control_path: PathBuf::from("/run/svc/svc.sock"),
        control_id: Some([1, 4]),
        lock: 4,
        lock_id: None,
        lock_path: PathBuf::from("/run/svc/svc.lock"),
        watch: Some(10),
        notify: Some(("/run/systemd/notify".into(), Some(30_000_000))),
        notify_fd: None,
        made_at_start: vec![],
        control_out_of_sight: false,
    }
}

/// Prints the handoff to pin: how `handoff_v1.json` was made (`cargo
/// test -p littleboss --lib print_a_handoff_with_every_event -- --ignored
/// --nocapture`).
#[test]
#[ignore = "prints the handoff to pin"]
fn print_a_handoff_with_every_event() {
    println!(
        "{}",
        serde_json::to_string_pretty(&with_every_event()).unwrap()
    );
}

#[test]
fn a_handoff_written_by_version_1_is_read_event_for_event() {
    let pinned = include_bytes!("handoff_v1.json");
    assert_eq!(
        STATE_VERSION, 1,
        "a new state version: pin its handoff and read that here (see this file's doc)"
    );
    let read = Handoff::decode(pinned, STATE_VERSION).expect("version 1's handoff reads");
    let now = with_every_event();
    assert_eq!(read.pending.len(), now.pending.len());
    assert!(read.refused.is_empty(), "{:?}", read.refused);
    // Event has no equality of its own: its debug form says everything.
    for (read, now) in read.pending.iter().zip(&now.pending) {
        assert_eq!(format!("{read:?}"), format!("{now:?}"));
    }
    assert_eq!(read.fds(), now.fds(), "every descriptor is named");
    assert_eq!((read.unread, read.unsent), (now.unread, now.unsent));
    assert_eq!(
        (read.origin_ns, read.next_client),
        (now.origin_ns, now.next_client)
    );
    assert_eq!(
        (read.control_path, read.lock_path),
        (now.control_path, now.lock_path)
    );
    assert_eq!((read.control_id, read.notify), (now.control_id, now.notify));
    assert_eq!(read.sockets[0].key, now.sockets[0].key);
    // A field added since reads as absent: none made at start.
    assert!(read.made_at_start.is_empty(), "{:?}", read.made_at_start);
    // The state half too: all that version 1 wrote survives this build's
    // reading and writing it (a field renamed or dropped would be lost
    // to the next image). Compared with the pin itself, not with what
    // the sim makes today, which may change with the sim.
    let pinned: serde_json::Value = serde_json::from_slice(pinned).unwrap();
    let rewritten = serde_json::to_value(&read.state).unwrap();
    kept(&pinned["state"], &rewritten, "state");
}

#[test]
fn a_handoff_whose_state_names_a_child_it_lacks_is_corrupt() {
    let pinned: serde_json::Value =
        serde_json::from_slice(include_bytes!("handoff_v1.json")).unwrap();
    let edited = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut handoff = pinned.clone();
        edit(&mut handoff["state"]);
        let e = Handoff::decode(&serde_json::to_vec(&handoff).unwrap(), STATE_VERSION)
            .expect_err("read as sound");
        assert!(e.blames_the_reader(), "{e}");
        e.to_string()
    };
    let said = edited(&|state| state["phase"]["Up"]["serving"] = 7.into());
    assert_eq!(
        said,
        "the handed-over state is corrupt: the serving child, 7, is not among its children"
    );
    let said = edited(&|state| state["next_id"] = 1.into());
    assert!(
        said.ends_with("child 1 is numbered at or past the next number, 1"),
        "{said}"
    );
    // A restart delay past this build's bound (an image built with a
    // longer one handing its state back) is brought within it.
    let mut handoff = pinned.clone();
    handoff["state"]["restart_delay"]["secs"] = u64::MAX.into();
    let read = Handoff::decode(&serde_json::to_vec(&handoff).unwrap(), STATE_VERSION).unwrap();
    assert_eq!(
        read.state.restart_delay,
        crate::supervisor::machine::RESTART_MAX
    );
}

/// Asserts that everything in `pinned` is in `rewritten` (which may hold
/// more: fields added since). Only a `null` may be left out (serde reads
/// a missing `Option` as `None`); a `false` or an empty list left out
/// would fail an older image that requires the field.
fn kept(pinned: &serde_json::Value, rewritten: &serde_json::Value, at: &str) {
    use serde_json::Value;
    match (pinned, rewritten) {
        (Value::Object(pinned), Value::Object(rewritten)) => {
            for (key, value) in pinned {
                match rewritten.get(key) {
                    Some(now) => kept(value, now, &format!("{at}.{key}")),
                    None => assert!(value.is_null(), "{at}.{key} ({value}) is lost"),
                }
            }
        }
        (Value::Array(pinned), Value::Array(rewritten)) => {
            assert_eq!(pinned.len(), rewritten.len(), "{at}");
            for (i, (value, now)) in pinned.iter().zip(rewritten).enumerate() {
                kept(value, now, &format!("{at}[{i}]"));
            }
        }
        _ => assert_eq!(pinned, rewritten, "{at}"),
    }
}
