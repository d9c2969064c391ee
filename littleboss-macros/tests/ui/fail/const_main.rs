#[littleboss::main(name = "svc")]
const fn main(ctx: littleboss::Context) {
    ctx.args();
}
