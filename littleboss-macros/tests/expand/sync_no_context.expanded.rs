fn main() {
    fn main() -> Result<(), String> {
        Err("nothing to do".to_owned())
    }
    ::littleboss::Littleboss::new("svc").run_sync(|_: ::littleboss::Context| main())
}
