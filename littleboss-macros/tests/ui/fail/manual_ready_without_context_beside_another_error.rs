// Two independent mistakes, both said at once: a bad `lameduck`, and
// `ready = "manual"` with no `Context` to call `ready()` on.
#[littleboss::main(name = "svc", ready = "manual", lameduck = "5")]
async fn main() {}
