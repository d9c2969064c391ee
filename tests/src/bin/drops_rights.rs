//! A program started as root whose `supervisor_init` drops root's rights
//! (to `nobody`, uid and gid 65534), as one binding port 80 would: its
//! control folder, root's, is out of the supervisor's reach from then
//! on. Answers each connection on `addr` with `uid UID` until lameduck.

use nix::unistd::{Gid, Uid, setgroups, setresgid, setresuid};

fn init() {
    let nobody = 65534;
    setgroups(&[]).expect("setgroups");
    let gid = Gid::from_raw(nobody);
    setresgid(gid, gid, gid).expect("setresgid");
    let uid = Uid::from_raw(nobody);
    setresuid(uid, uid, uid).expect("setresuid");
}

fn main() {
    tests::fixture::run_after_init("drops_rights", init, || {
        format!("uid {}", nix::unistd::geteuid())
    })
}
