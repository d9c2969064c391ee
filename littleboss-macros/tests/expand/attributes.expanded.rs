/// Serves the blog.
#[allow(unused_variables)]
fn main() {
    #[inline(never)]
    async fn main(ctx: littleboss::Context) {}
    ::littleboss::Littleboss::new("svc").run(|ctx: ::littleboss::Context| main(ctx))
}
