// `#[tokio::main]` above littleboss's attribute expands first: littleboss
// sees a plain `fn main` that builds a runtime and blocks on it, which
// would panic inside littleboss's own runtime.
#[tokio::main]
#[littleboss::main(name = "svc")]
async fn main() {
    println!("hello");
}
