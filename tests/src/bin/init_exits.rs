//! A program whose `supervisor_init` exits with code 3 at once, as one
//! whose own check failed would.

fn init() {
    std::process::exit(3);
}

fn main() {
    littleboss::Littleboss::new("init_exits")
        .listener("addr", "tcp:127.0.0.1:0")
        .supervisor_init(init)
        .run(|ctx: littleboss::Context| async move {
            ctx.lameduck().await;
        })
}
