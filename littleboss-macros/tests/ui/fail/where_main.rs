#[littleboss::main(name = "svc")]
async fn main()
where
    (): Sized,
{
}
