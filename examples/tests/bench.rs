//! The reload benchmark (`src/bin/bench.rs`), as the README runs it, at
//! its smallest: it starts the README's snippet supervised, reloads it
//! under each load, upgrades the supervisor in place, prints every table
//! under the command that produced it, and exits 0 when nothing failed.
//! (Its figures are read from a real run, never checked here.)

use tests::OutputInTime;

#[test]
fn the_reload_benchmark_runs_and_prints_its_tables() {
    let bench = env!("CARGO_BIN_EXE_bench");
    let json = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-smoke.json");
    let _ = std::fs::remove_file(&json);
    let args = [
        "--reloads=2",
        "--keepalive-reloads=2",
        "--upgrade-reloads=2",
        "--rounds=1",
        "--phase-ms=100",
    ];
    // A run of about 5 s; its own waits (30 s each) tell what failed
    // well within this deadline. Killed at it with the supervisors it
    // started (their children follow them).
    let out = tests::command(bench)
        .args(args)
        .arg("--bin")
        .arg(env!("CARGO_BIN_EXE_readme"))
        .arg("--json")
        .arg(&json)
        .output_within(std::time::Duration::from_secs(180));
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{:?}\n{stdout}\n{stderr}", out.status);
    let said = format!("`{bench} {}", args.join(" "));
    assert!(stdout.contains(&said), "{stdout}");
    for table in [
        "### Steady state: 1 rounds x 100 ms per load",
        "### 2 reloads under new-connection load",
        "### Supervisor footprint",
        "### 2 reloads under keep-alive load",
        "### Reloads that also upgrade the supervisor in place",
    ] {
        assert_eq!(stdout.matches(table).count(), 1, "{table} in:\n{stdout}");
    }
    // The figures the README quotes, written out too: a footprint row at
    // the start and one after the last reload, and the supervisor
    // upgraded at every third of the 9 reloads its part runs (3 idle,
    // then 6 under load).
    let figures: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    std::fs::remove_file(&json).unwrap();
    assert_eq!(figures["footprint"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        figures["upgrades"]["upgrades"], 3,
        "{}",
        figures["upgrades"]
    );
}
