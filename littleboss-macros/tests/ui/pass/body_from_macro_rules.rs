//! The body of `main` handed in as a `$body:block` fragment, which arrives
//! wrapped in an invisible group around its braces.

macro_rules! service {
    ($ctx:ident, $body:block) => {
        #[littleboss::main(name = "svc")]
        async fn main($ctx: littleboss::Context) $body
    };
}

service!(ctx, {
    assert!(ctx.args().len() <= 1);
});
