// A service name longer than a control socket's path holds: said on the
// name, at compile time rather than at the first start.
#[littleboss::main(name = "ssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss")]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
