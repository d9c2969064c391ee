//! Runnable littleboss examples: see `src/bin/`.
