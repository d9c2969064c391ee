//! `main` returning `Result`: with the argument `fail` it returns an error
//! once under way (ready: it has waited); with `fail-at-once`, before it
//! waits on anything (not ready), and with `panic-at-once` it panics
//! then; otherwise it waits for lameduck and returns `Ok`.

#[littleboss::main(name = "result_main")]
async fn main(ctx: littleboss::Context) -> Result<(), String> {
    if ctx.args().iter().any(|a| a == "fail-at-once") {
        return Err("boom: no config at /etc/result_main.toml".to_owned());
    }
    if ctx.args().iter().any(|a| a == "panic-at-once") {
        let path = "/etc/result_main.toml";
        panic!("boom: the config at {path} is not TOML");
    }
    tokio::task::yield_now().await;
    if ctx.args().iter().any(|a| a == "fail") {
        return Err("boom: could not open the database".to_owned());
    }
    println!("serving pid={}", std::process::id());
    ctx.lameduck().await;
    Ok(())
}
