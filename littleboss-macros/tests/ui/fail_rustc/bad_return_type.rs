#[littleboss::main(name = "svc")]
async fn main(ctx: littleboss::Context) -> i32 {
    let _ = ctx;
    0
}
