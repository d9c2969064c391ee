//! A program whose `supervisor_init` daemonizes the classic way: it forks,
//! the parent exits 0, and the copy goes on as if it were the supervisor.
//! The copy must not run as one (it has none of the supervisor's threads):
//! it says so, removes the control socket's files and exits 1. With
//! `INIT_FORKS_PARENT_GOES_ON` set, the parent returns too (a helper's
//! fork that fell through): the copy exits 1, leaving the files to the
//! supervisor, which serves; with `INIT_FORKS_TWICE` too, the copy forks
//! again and both return (a double fork that falls through): the
//! grandchild, whose parent is not the supervisor, leaves them too. With
//! `INIT_FORKS_COPY_PANICS` set, the copy panics: its message must reach
//! stderr, though the log's writer thread stayed in the parent.

fn init() {
    // SAFETY: the copy goes on with this thread alone, and only returns
    // to littleboss's code, which checks for it first thing.
    match unsafe { nix::unistd::fork() }.expect("fork") {
        nix::unistd::ForkResult::Parent { child } => {
            println!("forked pid={child}");
            if std::env::var_os("INIT_FORKS_PARENT_GOES_ON").is_none() {
                std::process::exit(0);
            }
        }
        nix::unistd::ForkResult::Child => {
            if std::env::var_os("INIT_FORKS_COPY_PANICS").is_some() {
                panic!("the copy's own trouble");
            }
            if std::env::var_os("INIT_FORKS_TWICE").is_some() {
                // SAFETY: as above, one thread on either side.
                let forked = unsafe { nix::unistd::fork() }.expect("fork");
                if let nix::unistd::ForkResult::Parent { child } = forked {
                    println!("forked again pid={child}");
                }
            }
        }
    }
}

fn main() {
    littleboss::Littleboss::new("init_forks")
        .listener("addr", "tcp:127.0.0.1:0")
        .supervisor_init(init)
        .run(|ctx: littleboss::Context| async move {
            println!("main ran");
            ctx.lameduck().await;
        })
}
