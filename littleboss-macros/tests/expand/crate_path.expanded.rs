fn main() {
    async fn main(ctx: lb::Context) {}
    lb::Littleboss::new("svc")
        .ready(lb::Ready::Manual)
        .flavor(lb::Flavor::CurrentThread)
        .run(|__littleboss_ctx: lb::Context| main(__littleboss_ctx))
}
