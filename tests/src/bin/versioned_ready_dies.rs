//! A `versioned` binary that says it is ready and dies at once (a panic in
//! its first task, say): the supervisor must not become it.

#[littleboss::main(
    name = "versioned",
    listener(addr = "tcp:127.0.0.1:0"),
    ready = "manual"
)]
async fn main(ctx: littleboss::Context) {
    println!("version 6 ready and dying pid={}", std::process::id());
    ctx.ready();
    std::process::exit(1);
}
