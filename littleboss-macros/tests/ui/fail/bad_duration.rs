#[littleboss::main(name = "svc", lameduck = "2 sec")]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
