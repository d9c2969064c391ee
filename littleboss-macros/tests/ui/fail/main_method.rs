// On a method named `main`: the error says `main` cannot take `self`, and
// the method stays as written (a trait's method keeps its receiver; no
// "method has a `&self` declaration in the trait" on top, nor one on its
// `Self`).
trait Serve {
    async fn main(&self);
}

struct Server;

impl Serve for Server {
    #[littleboss::main(name = "svc")]
    async fn main(&self) {
        let _: &Self = self;
    }
}

fn main() {
    let _ = Server;
}
