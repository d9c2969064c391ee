//! Properties of the control protocol's reading, over inputs no one
//! wrote by hand: whatever bytes a client sends, the supervisor answers
//! with a short error rather than panicking, and every request the client
//! can write is read back as it was.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;

use proptest::prelude::*;

use super::protocol::{Request, decode_request, encode};
use crate::spec::ListenerSpec;

/// The longest error the supervisor sends back for a request it cannot
/// read: serde's words, and whatever of the request they quote, cut.
const LONGEST_ANSWER: usize = 300;

/// Bytes with no NUL (which no path or argument holds), not empty.
fn bytes_without_nul(most: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(1u8..=255, 1..most)
}

fn listeners() -> impl Strategy<Value = Vec<ListenerSpec>> {
    let one = (0usize..4, 1u16..=65535, any::<bool>()).prop_map(|(n, port, on)| {
        let spec = match on {
            true => format!("tcp:127.0.0.1:{port}"),
            false => "tcp:".to_owned(),
        };
        ListenerSpec::parse(&format!("l{n}"), &spec).expect("a valid spec")
    });
    prop::collection::vec(one, 0..4).prop_map(|mut all| {
        // One of each name, as a binary declares them.
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all.dedup_by(|a, b| a.name == b.name);
        all
    })
}

fn requests() -> impl Strategy<Value = Request> {
    let reload = (
        bytes_without_nul(64),
        prop::option::of(bytes_without_nul(64)),
        prop::option::of(prop::collection::vec(bytes_without_nul(32), 0..6)),
        prop::option::of(listeners()),
        prop::option::of(bytes_without_nul(64)),
        prop::option::of(any::<[u64; 2]>()),
    )
        .prop_map(|(binary, argv0, args, listeners, dir, dir_id)| {
            let path = |bytes: Vec<u8>| PathBuf::from(OsString::from_vec(bytes));
            Request::Reload {
                path: path(path_bytes(binary)),
                argv0: argv0.map(path),
                listeners,
                args: args.map(|args| args.into_iter().map(OsString::from_vec).collect()),
                dir: dir.map(path),
                dir_id,
            }
        });
    prop_oneof![Just(Request::Status), Just(Request::Stop), reload]
}

/// A reload's path is absolute (the client makes it so).
fn path_bytes(mut bytes: Vec<u8>) -> Vec<u8> {
    bytes.insert(0, b'/');
    bytes
}

fn answer_is_short(line: &[u8]) -> Result<(), TestCaseError> {
    if let Err(e) = decode_request(line) {
        let said = e.to_string();
        prop_assert!(!said.is_empty());
        prop_assert!(
            said.chars().count() <= LONGEST_ANSWER,
            "{} chars: {said}",
            said.chars().count()
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(crate::repeatable::config(2_000, 0x0c07_7201))]

    #[test]
    fn every_request_the_client_writes_is_read_as_written(request in requests()) {
        let line = encode(&request);
        prop_assert_eq!(decode_request(&line).map_err(|e| e.to_string()), Ok(request));
    }

    #[test]
    fn any_bytes_get_a_short_answer(line in prop::collection::vec(any::<u8>(), 0..512)) {
        answer_is_short(&line)?;
    }

    #[test]
    fn a_request_cut_or_changed_gets_a_short_answer(
        request in requests(),
        cut in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let line = encode(&request);
        let mut changed = line.clone();
        let i = at.index(changed.len());
        changed[i] = byte;
        answer_is_short(&changed)?;
        answer_is_short(&line[..cut.index(line.len())])?;
    }
}
