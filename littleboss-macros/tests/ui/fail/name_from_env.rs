// `env!` is not expanded inside an attribute: said, on the macro call.
#[littleboss::main(name = env!("CARGO_PKG_NAME"))]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
