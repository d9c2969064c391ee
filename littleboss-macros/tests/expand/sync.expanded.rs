fn main() {
    #[allow(clippy::needless_pass_by_value)]
    fn main(ctx: littleboss::Context) {
        println!("{:?}", ctx.args());
    }
    ::littleboss::Littleboss::new("svc")
        .listener("http", "tcp:127.0.0.1:8080")
        .flavor(::littleboss::Flavor::CurrentThread)
        .run_sync(|__littleboss_ctx: ::littleboss::Context| main(__littleboss_ctx))
}
