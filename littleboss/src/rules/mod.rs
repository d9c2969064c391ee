//! The rules of a littleboss configuration, written once: names, durations,
//! listener declarations (`NET:ADDR`) and the checks across settings.
//!
//! Both crates compile these files: the runtime for the builder and the
//! command line, and `littleboss-macros` (through the symlink
//! `littleboss-macros/src/rules`) for compile errors. So a mistake gets the
//! same verdict, in the same words, from `#[littleboss::main]` and from
//! the builder `Littleboss`. The code here uses `std` only and
//! refers to nothing outside this folder (`super::` paths only).

mod address;
mod duration;
mod error;
mod name;
mod settings;
mod socket;
pub(crate) mod typo;

pub use error::{NameKind, RuleError, SpecProblem};

pub(crate) use address::{
    MAX_UNIX_PATH, NETWORK_NAMES, NETWORKS, address, host_port, listener_spec,
};
pub(crate) use duration::{duration_fits, duration_millis, restart_limit};
pub(crate) use name::{flag_name, listener_name, listener_name_chars, service_name};
pub(crate) use settings::{
    DEFAULT_FLAG, DEFAULT_LAMEDUCK_MS, MAX_LISTENERS, Settings, nonzero_ready_timeout,
    nonzero_restart_window, nonzero_worker_threads, some_restarts, worker_threads_written,
};
pub(crate) use socket::{
    binds_alike, clean_path, normalise_host_port, socket_conflicts, socket_of,
};
pub(crate) use typo::{edits, is_typo};
