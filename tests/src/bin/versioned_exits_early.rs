//! A `versioned` builder program whose code before `run` exits 3 when its
//! command line has `-littleboss=start` (as one that parses its own flags
//! there might, finding one it no longer knows): its child serves
//! (`exits_early PID`), but an in-place upgrade's new image of it exits
//! before littleboss can take the state over. It says so on stderr unless
//! `EXITS_EARLY_QUIETLY` is set (a test whose stderr is full).

fn main() {
    if std::env::args().any(|arg| arg == "-littleboss=start") {
        if std::env::var_os("EXITS_EARLY_QUIETLY").is_none() {
            eprintln!("versioned_exits_early: exiting before run");
        }
        std::process::exit(3);
    }
    littleboss::Littleboss::new("versioned")
        .listener("addr", "tcp:127.0.0.1:0")
        .run(|ctx: littleboss::Context| async move {
            let listener = ctx.tcp("addr").expect("addr listener");
            let pid = std::process::id();
            tests::fixture::serve_greetings(listener, format!("exits_early {pid}"), ctx.lameduck())
                .await;
        })
}
