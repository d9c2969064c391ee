//! On a `main` inside an `impl`: the attribute's own `fn main` around it
//! hides the `impl`'s type, so its `Self` would name none.

struct App;

impl App {
    fn setup() {}

    #[littleboss::main(name = "svc")]
    async fn main(ctx: littleboss::Context) {
        let _ = ctx;
        Self::setup();
    }
}

fn main() {
    let _ = App;
}
