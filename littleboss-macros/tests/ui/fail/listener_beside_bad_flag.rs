// One error for one mistake: the flag meant to free `littleboss` for a
// listener is refused; the listener is not said to clash with the default.
#[littleboss::main(name = "svc", flag = "lb!", listener(littleboss = "tcp::80"))]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
