// `Self` in items of `main`'s own, which have their own: not taken for
// an `impl`'s around `main`.
#[littleboss::main(name = "svc")]
async fn main(ctx: littleboss::Context) {
    struct Node {
        next: Option<Box<Self>>,
    }
    impl Node {
        fn new() -> Self {
            Self { next: None }
        }
    }
    trait Made {
        fn made() -> Self;
    }
    macro_rules! made {
        () => {
            Self::new()
        };
    }
    impl Made for Node {
        fn made() -> Self {
            made!()
        }
    }
    let _ = (ctx, Node::made().next.is_none());
}
