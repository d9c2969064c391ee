//! As `self_in_associated_main`, with an `impl Trait` in `main`'s return
//! type: a type's `impl`, not an item whose `Self` is its own.

struct App;

impl App {
    fn setup() {}

    #[littleboss::main(name = "svc")]
    async fn main(ctx: littleboss::Context) -> Result<(), impl std::fmt::Display> {
        let _ = ctx;
        Self::setup();
        Ok::<(), String>(())
    }
}

fn main() {
    let _ = App;
}
