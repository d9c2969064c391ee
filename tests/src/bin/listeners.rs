//! The listener matrix (Go's `listener` program): defaults, empty defaults,
//! overrides, disabling, and UDP, printed one per line; the rest of the
//! command line is printed too, and the child channel's environment
//! variable, which must not be visible. Given `--take-undeclared` or
//! `--take-wrong-kind` first, it asks for a listener not declared, or one
//! of another kind, which panics.

#[littleboss::main(
    name = "listener",
    listener(
        addr0 = "tcp:127.0.0.1:0",
        addr1 = "tcp:127.0.0.1:0",
        addr2 = "tcp:127.0.0.1:0",
        addr3 = "tcp:",
        addr4 = "tcp:",
        addr5 = "tcp:",
        addr6 = "udp:",
        addr7 = "udp4:127.0.0.1:0",
        addr8 = "unix:",
    )
)]
async fn main(ctx: littleboss::Context) {
    match ctx.args().get(1).map(String::as_str) {
        Some("--take-undeclared") => drop(ctx.tcp("nope")),
        Some("--take-wrong-kind") => drop(ctx.udp("addr0")),
        _ => {}
    }
    for name in ["addr0", "addr1", "addr2", "addr3", "addr4", "addr5"] {
        let addr = ctx.tcp(name).map(|l| l.local_addr().unwrap().to_string());
        println!("{name}= {}", addr.as_deref().unwrap_or("nil"));
    }
    for name in ["addr6", "addr7"] {
        let addr = ctx.udp(name).map(|s| s.local_addr().unwrap().to_string());
        println!("{name}= {}", addr.as_deref().unwrap_or("nil"));
    }
    let path = ctx.unix("addr8").map(|l| {
        let addr = l.local_addr().unwrap();
        addr.as_pathname().unwrap().display().to_string()
    });
    println!("addr8= {}", path.as_deref().unwrap_or("nil"));
    println!("args= {}", ctx.args()[1..].join(" "));
    // The child channel's marker never reaches the program.
    println!(
        "channel env= {:?}",
        std::env::var_os("LITTLEBOSS_CHANNEL_FD")
    );
    tokio::task::yield_now().await;
}
