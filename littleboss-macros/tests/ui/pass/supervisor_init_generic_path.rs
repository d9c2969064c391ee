// A `supervisor_init` path whose generics hold a comma is one key.
mod setup {
    pub fn init<A, B>() {}
}

#[littleboss::main(name = "svc", supervisor_init = setup::init::<u8, u16>)]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
