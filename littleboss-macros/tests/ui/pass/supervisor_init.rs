mod setup {
    pub fn init() {
        eprintln!("only the supervisor runs this");
    }
}

#[littleboss::main(name = "svc", supervisor_init = crate::setup::init)]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
