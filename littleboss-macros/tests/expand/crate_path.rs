#[littleboss::main(name = "svc", crate = "lb", ready = "manual", flavor = "current_thread")]
async fn main(ctx: lb::Context) {}
