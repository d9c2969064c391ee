fn main() {
    async fn main(ctx: lb::Context) {}
    lb::Littleboss::new("svc")
        .ready(lb::Ready::Manual)
        .flavor(lb::Flavor::CurrentThread)
        .run(|ctx: lb::Context| main(ctx))
}
