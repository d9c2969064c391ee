//! `main` declared without a body: said so, at the `;`, and nothing else (no "free function without a body", nor "`main` function is not allowed to be `async`", which it is under the attribute).

#[littleboss::main(name = "svc")]
async fn main(ctx: littleboss::Context);
