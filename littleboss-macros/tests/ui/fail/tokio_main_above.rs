// `#[tokio::main]` above littleboss's attribute expands first: littleboss
// sees a plain `fn main` that builds a second runtime and blocks on it,
// beside the one littleboss sets up.
#[tokio::main]
#[littleboss::main(name = "svc")]
async fn main() {
    println!("hello");
}
