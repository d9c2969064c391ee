//! Runnable littleboss examples (in `src/bin/`) and the tools that measure
//! them: [`load`], the load generator of the reload benchmark
//! (`src/bin/bench.rs`).

pub mod load;
