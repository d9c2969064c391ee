fn main() {
    async fn main() {}
    ::littleboss::Littleboss::new("svc").run(|_: ::littleboss::Context| main())
}
