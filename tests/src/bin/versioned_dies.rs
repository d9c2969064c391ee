//! A `versioned` binary that serves, then dies 300 ms later: a reload to it
//! succeeds and fallback must bring version 1 back. While a file
//! `die_gate` exists beside its control folder
//! (`$LITTLEBOSS_DIR/../die_gate`), it serves until the test removes it
//! (20 s at most) instead: a test that needs it to die at a given step is
//! then not racing a timer.

use std::path::PathBuf;
use std::time::Duration;

#[littleboss::main(name = "versioned", listener(addr = "tcp:127.0.0.1:0"))]
async fn main(ctx: littleboss::Context) {
    let listener = ctx.tcp("addr").expect("addr listener");
    let pid = std::process::id();
    println!("running version 3 pid={pid}");
    let gate = std::env::var_os("LITTLEBOSS_DIR")
        .map(|dir| PathBuf::from(dir).join("../die_gate"))
        .filter(|gate| gate.exists());
    let dying = async move {
        match gate {
            Some(gate) => {
                let until = tokio::time::Instant::now() + Duration::from_secs(20);
                while gate.exists() && tokio::time::Instant::now() < until {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
            None => tokio::time::sleep(Duration::from_millis(300)).await,
        }
    };
    tests::fixture::serve_greetings(listener, format!("v3 {pid}"), dying).await;
    println!("version 3 dying");
    std::process::exit(1);
}
