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
    littleboss::Littleboss::new("chroots")
        .listener("addr", "tcp:127.0.0.1:0")
        .supervisor_init(init)
        .run(|ctx: littleboss::Context| async move {
            let listener = ctx.tcp("addr").expect("addr listener");
            let addr = listener.local_addr().expect("an address");
            println!("pid={} addr={addr}", std::process::id());
            let greeting = "jailed".to_owned();
            tests::fixture::serve_greetings(listener, greeting, ctx.lameduck()).await;
        })
}
