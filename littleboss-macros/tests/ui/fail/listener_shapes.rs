// Listener lists of the wrong shape: each said where it is written, all
// in one build.
#[littleboss::main(
    name = "svc",
    listener(a::b = "tcp::1", listener(c = "tcp::2")),
    listener[d = "tcp::3"]
)]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
