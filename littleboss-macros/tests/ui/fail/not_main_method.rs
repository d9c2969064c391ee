// On a method: the error says where the attribute goes, and nothing else
// (no module or import, which an `impl` block cannot hold, and nothing
// of `main`'s rules, such as its `Self`).
struct Server;

impl Server {
    #[littleboss::main(name = "svc")]
    async fn run(&self) {}

    #[littleboss::main(name = "svc")]
    fn new() -> Self {
        Self
    }
}

fn main() {
    let _ = Server;
}
