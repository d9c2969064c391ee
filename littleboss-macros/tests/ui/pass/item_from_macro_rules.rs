//! The attribute written in a `macro_rules!`, the function handed in by
//! its caller: the parameter's name and the generated call to it live in
//! different hygiene contexts, and must still meet.

macro_rules! service {
    ($($item:tt)*) => {
        #[littleboss::main(name = "svc")]
        $($item)*
    };
}

service! {
    async fn main(ctx: littleboss::Context) {
        assert!(ctx.args().len() <= 1);
    }
}
