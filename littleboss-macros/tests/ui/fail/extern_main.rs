#[littleboss::main(name = "svc")]
extern "C" fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
