//! `main` returning `Result`: with the argument `fail` it returns an error
//! once under way; otherwise it waits for lameduck and returns `Ok`.

#[littleboss::main(name = "result_main")]
async fn main(ctx: littleboss::Context) -> Result<(), String> {
    tokio::task::yield_now().await;
    if ctx.args().iter().any(|a| a == "fail") {
        return Err("boom: could not open the database".to_owned());
    }
    println!("serving pid={}", std::process::id());
    ctx.lameduck().await;
    Ok(())
}
