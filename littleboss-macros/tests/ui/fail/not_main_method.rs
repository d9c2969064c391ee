// On a method: the error says where the attribute goes, and nothing else
// (no module or import, which an `impl` block cannot hold).
struct Server;

impl Server {
    #[littleboss::main(name = "svc")]
    async fn run(&self) {}
}

fn main() {
    let _ = Server;
}
