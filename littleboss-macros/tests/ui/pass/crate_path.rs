//! `crate = "..."`: the runtime crate reached through a re-export, as a
//! framework that bundles littleboss would offer it.

mod framework {
    pub use littleboss as lb;
}

#[littleboss::main(name = "ui-crate-path", crate = "framework::lb")]
async fn main(ctx: framework::lb::Context) {
    let _ = ctx;
}
