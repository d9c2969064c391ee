/// Serves the blog.
#[allow(unused_variables)]
#[littleboss::main(name = "svc")]
#[inline(never)]
async fn main(ctx: littleboss::Context) {}
