//! Line echo fixture (Go's `echo_server`): prints its address, echoes one
//! line per connection, says when it enters lameduck, and then finishes the
//! connections it has accepted before returning.

fn init() {
    println!("SupervisorInit called");
    // A file it opens for itself, left inheritable (as C libraries do),
    // beside the control folder: children must not get it.
    if let Some(dir) = std::env::var_os("LITTLEBOSS_DIR") {
        let beside = std::path::Path::new(&dir).with_file_name("init-held");
        let held = std::fs::File::create(beside).unwrap();
        let inheritable = nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty());
        nix::fcntl::fcntl(&held, inheritable).unwrap();
        std::mem::forget(held);
    }
    // What supervisor_init starts must not take itself for a child, nor
    // see what littleboss keeps for itself.
    for (name, value) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("LITTLEBOSS_") && name != "LITTLEBOSS_DIR" {
            println!("supervisor_init sees {name}={value:?}");
        }
    }
}

#[littleboss::main(name = "echo_server", listener(addr = "tcp:127.0.0.1:0"), supervisor_init = init)]
async fn main(ctx: littleboss::Context) {
    let listener = ctx.tcp("addr").expect("addr listener");
    println!(
        "addr={} pid={}",
        listener.local_addr().unwrap(),
        std::process::id()
    );
    let lameduck = ctx.lameduck();
    tokio::pin!(lameduck);
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut lameduck => {
                println!("entering lameduck mode");
                drop(listener);
                connections.join_all().await;
                return;
            }
            accepted = listener.accept() => {
                let Ok((conn, _)) = accepted else { continue };
                connections.spawn(tests::fixture::echo_line(conn));
            }
        }
    }
}
