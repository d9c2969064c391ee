//! `main` declared without a body: said so, at the `;` (rustc adds its own errors about the item, put back as written).

#[littleboss::main(name = "svc")]
async fn main(ctx: littleboss::Context);
