//! Runnable littleboss examples (in `src/bin/`) and the tools that measure
//! them: [`load`], the load generator of the reload benchmark
//! (`src/bin/bench.rs`); [`traffic`] and [`reloading`], the loads and the
//! harness of the drain benchmark (`src/bin/drain_bench.rs`); [`app`], the
//! axum application the `http` and `readme` examples serve.

pub mod app;
pub mod load;
pub mod reloading;
pub mod traffic;
