trait Init {
    fn init();
}

struct Setup;

impl Init for Setup {
    fn init() {
        eprintln!("only the supervisor runs this");
    }
}

// A qualified path, as `.supervisor_init(<Setup as Init>::init)` takes.
#[littleboss::main(name = "svc", supervisor_init = <Setup as Init>::init)]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
