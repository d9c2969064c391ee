// `Self` in items of `main`'s own, which have their own, or in a macro's
// input: not taken for an `impl`'s around `main`.
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
    // Braces in generics, and a macro's input, are no `Self` of `main`'s.
    struct Grid<const N: usize>;
    impl Grid<{ 2 }> {
        fn new() -> Self {
            Grid
        }
    }
    let named = stringify!(Self);
    // An `impl` right after a macro called with braces: an item too.
    macro_rules! unit {
        ($name:ident) => {
            struct $name;
        };
    }
    unit! { Probe }
    impl Probe {
        fn new() -> Self {
            Probe
        }
    }
    let _ = (ctx, Node::made().next.is_none(), Grid::new(), named, Probe::new());
}
