#[littleboss::main(name = "svc")]
unsafe fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
