//! The reload benchmark's in-place upgrade row: reloads that alternate
//! between two files of the same program, so that each one also makes the
//! supervisor re-execute itself from the new file.
//!
//! The supervisor's pause is read off its own log: from the line it writes
//! just before the exec ("upgrading the supervisor in place") to the line
//! the new image writes once it serves the control socket again ("the
//! supervisor runs ... now"), both timestamped as they arrive.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::load::{Sample, failures, percentiles};

/// What the row reports.
#[derive(Debug, Serialize, Default)]
pub struct UpgradeFigures {
    pub reloads: usize,
    /// Upgrades the supervisor reported done.
    pub upgrades: usize,
    pub reloads_failed: usize,
    pub requests: usize,
    pub failed: std::collections::BTreeMap<&'static str, usize>,
    /// The `reload` command's wall time: median and max, ms.
    pub wall_ms: [f64; 2],
    /// The supervisor's pause per upgrade: median and max, ms.
    pub pause_ms: [f64; 2],
    /// Latency during the row: p50, p99, p99.9, max, µs.
    pub latency_us: [u64; 4],
}

impl UpgradeFigures {
    /// The figures of a run: each reload's wall time and whether it
    /// succeeded, the supervisor's timestamped log, the load's samples.
    pub fn of(walls: &[(Duration, bool)], log: &[(Duration, String)], samples: &[Sample]) -> Self {
        let pauses = pauses(log);
        let wall: Vec<f64> = walls.iter().map(|(w, _)| ms(*w)).collect();
        let pause: Vec<f64> = pauses.iter().map(|p| ms(*p)).collect();
        let (p50, p99, p999, max) = percentiles(samples);
        UpgradeFigures {
            reloads: walls.len(),
            upgrades: pauses.len(),
            reloads_failed: walls.iter().filter(|(_, ok)| !ok).count(),
            requests: samples.len(),
            failed: failures(samples),
            wall_ms: [median(&wall), max_of(&wall)],
            pause_ms: [median(&pause), max_of(&pause)],
            latency_us: [p50, p99, p999, max],
        }
    }

    /// The row as markdown, under a heading.
    pub fn markdown(&self, interval_ms: u64) -> String {
        let [p50, p99, p999, max] = self.latency_us.map(|us| us as f64 / 1000.0);
        format!(
            "\n### {} reloads that also upgrade the supervisor in place ({interval_ms} ms apart, new-connection load)\n\n\
             | figure | value |\n|---|---|\n\
             | upgrades done | {} |\n\
             | failed reloads | {} |\n\
             | requests | {} |\n\
             | failed requests | {} {:?} |\n\
             | `reload` command wall time median / max ms | {:.1} / {:.1} |\n\
             | supervisor's pause, exec to serving control requests again, median / max ms | {:.2} / {:.2} |\n\
             | latency p50 / p99 / p99.9 / max ms | {p50:.2} / {p99:.2} / {p999:.2} / {max:.2} |\n",
            self.reloads,
            self.upgrades,
            self.reloads_failed,
            self.requests,
            self.failed.values().sum::<usize>(),
            self.failed,
            self.wall_ms[0],
            self.wall_ms[1],
            self.pause_ms[0],
            self.pause_ms[1],
        )
    }
}

/// A copy of `bin` next to it: the same program in another file, so that
/// a reload to it is a reload to another binary.
pub fn second_file(bin: &Path) -> std::io::Result<PathBuf> {
    let mut name = bin.file_name().unwrap_or_default().to_owned();
    name.push("-upgrade-copy");
    let copy = bin.with_file_name(name);
    let _ = std::fs::remove_file(&copy);
    std::fs::copy(bin, &copy)?;
    Ok(copy)
}

/// Each upgrade's pause: from the supervisor's line before the exec to
/// the new image's first.
fn pauses(log: &[(Duration, String)]) -> Vec<Duration> {
    let mut pauses = Vec::new();
    let mut began = None;
    for (at, line) in log {
        if line.starts_with("littleboss: upgrading the supervisor in place") {
            began = Some(*at);
        } else if line.starts_with("littleboss: the supervisor runs ")
            && let Some(began) = began.take()
        {
            pauses.push(at.saturating_sub(began));
        }
    }
    pauses
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(0.0)
}

fn max_of(values: &[f64]) -> f64 {
    values.iter().copied().fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[test]
    fn pauses_pair_the_line_before_the_exec_with_the_next_image_s() {
        let ms = Duration::from_millis;
        let log = [
            (
                ms(1),
                "littleboss: upgrading the supervisor in place to /b".to_owned(),
            ),
            (ms(2), "http: pid 5 drained, exiting".to_owned()),
            (
                ms(4),
                "littleboss: the supervisor runs /b now (pid 1, in-place upgrade 1)".to_owned(),
            ),
            (
                ms(9),
                "littleboss: upgrading the supervisor in place to /a".to_owned(),
            ),
            (
                ms(12),
                "littleboss: the supervisor runs /a now (pid 1, in-place upgrade 2)".to_owned(),
            ),
        ];
        assert_eq!(super::pauses(&log), [ms(3), ms(3)]);
    }
}
