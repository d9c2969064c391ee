//! The control plane: a unix socket per service through which the
//! `reload`, `stop` and `status` commands talk to the supervisor.

mod acl;
pub(crate) mod client;
pub(crate) mod connection;
pub(crate) mod dir;
pub(crate) mod holder;
pub(crate) mod protocol;
#[cfg(test)]
mod protocol_props;
pub(crate) mod server;
pub(crate) mod status;
pub(crate) mod watch;
