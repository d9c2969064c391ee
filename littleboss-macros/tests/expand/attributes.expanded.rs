/// Serves the blog.
#[allow(unused_variables)]
#[cfg_attr(debug_assertions, allow(dead_code))]
fn main() {
    #[inline(never)]
    #[cfg_attr(feature = "trace", tracing::instrument(skip(ctx)))]
    async fn main(ctx: littleboss::Context) {}
    ::littleboss::Littleboss::new("svc")
        .run(|__littleboss_ctx: ::littleboss::Context| main(__littleboss_ctx))
}
