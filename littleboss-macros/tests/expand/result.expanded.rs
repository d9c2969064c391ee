fn main() {
    async fn main(ctx: littleboss::Context) -> Result<(), Box<dyn std::error::Error>> {
        ctx.lameduck().await;
        Ok(())
    }
    ::littleboss::Littleboss::new("svc")
        .ready_timeout(::std::time::Duration::from_millis(250))
        .run(|__littleboss_ctx: ::littleboss::Context| main(__littleboss_ctx))
}
