#[littleboss::main(name = "svc")]
async fn main<T: Default>(ctx: littleboss::Context) {
    let _ = (ctx, T::default());
}
