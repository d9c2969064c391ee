//! A program whose `supervisor_init` enters a chroot at `$JAIL` (as one
//! confining itself would): its control folder is out of its sight from
//! then on, where the jail has no such folder, though the files are
//! where they were. Answers each connection on `addr` with `jailed`
//! until lameduck.

fn init() {
    let jail = std::env::var_os("JAIL").expect("$JAIL");
    nix::unistd::chroot(jail.as_os_str()).expect("chroot");
    std::env::set_current_dir("/").expect("chdir /");
}

fn main() {
    tests::fixture::run_after_init("chroots", init, || "jailed".to_owned())
}
