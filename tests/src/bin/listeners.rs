//! The listener matrix (Go's `listener` program): defaults, empty defaults,
//! overrides, disabling, and UDP, printed one per line; the rest of the
//! command line is printed too.

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
    )
)]
async fn main(ctx: littleboss::Context) {
    for name in ["addr0", "addr1", "addr2", "addr3", "addr4", "addr5"] {
        let addr = ctx.tcp(name).map(|l| l.local_addr().unwrap().to_string());
        println!("{name}= {}", addr.as_deref().unwrap_or("nil"));
    }
    for name in ["addr6", "addr7"] {
        let addr = ctx.udp(name).map(|s| s.local_addr().unwrap().to_string());
        println!("{name}= {}", addr.as_deref().unwrap_or("nil"));
    }
    println!("args= {}", ctx.args()[1..].join(" "));
    tokio::task::yield_now().await;
}
