fn main() {
    async fn main(ctx: littleboss::Context) {
        let https = ctx.tcp("https").expect("https listener enabled");
        let _ = https;
        ctx.lameduck().await;
    }
    ::littleboss::Littleboss::new("myblog")
        .listener("https", "tcp::443")
        .listener("admin", "tcp:")
        .lameduck(::std::time::Duration::from_millis(5000))
        .run(|__littleboss_ctx: ::littleboss::Context| main(__littleboss_ctx))
}
