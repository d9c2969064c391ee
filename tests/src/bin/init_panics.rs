//! A program whose `supervisor_init` panics: the start fails with code 1,
//! leaving no control socket files behind, nor its unix listener's
//! (`-api=PATH`; off unless given).

fn init() {
    panic!("init cannot go on");
}

fn main() {
    littleboss::Littleboss::new("init_panics")
        .listener("addr", "tcp:127.0.0.1:0")
        .listener("api", "unix:")
        .supervisor_init(init)
        .run(|ctx: littleboss::Context| async move {
            ctx.lameduck().await;
        })
}
