/// Serves the blog.
#[allow(unused_variables)]
#[littleboss::main(name = "svc")]
#[inline(never)]
#[cfg_attr(debug_assertions, allow(dead_code))]
#[cfg_attr(feature = "trace", tracing::instrument(skip(ctx)))]
async fn main(ctx: littleboss::Context) {}
