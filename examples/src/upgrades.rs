//! The reload benchmark's in-place upgrade row: reloads that alternate
//! between two files of the same program, so that each one also makes the
//! supervisor re-execute itself from the new file.
//!
//! The supervisor's pause is what the new image says in its log ("the
//! supervisor runs ... now ...; paused X ms"): from the decision to
//! upgrade to the new image running its machine, on the supervisor's own
//! clock, which the new image keeps. (From an image that does not say
//! it: from the line before the exec to the new image's first, as they
//! arrive.)

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::load::{Sample, failures, percentiles};

/// The reloads without load: as many of the same binary and upgrading
/// ones, side by side, with the supervisor's log of the upgrading ones.
#[derive(Debug)]
pub struct Idle<'a> {
    pub same: &'a [(Duration, bool)],
    pub upgrading: &'a [(Duration, bool)],
    pub log: &'a [(Duration, String)],
}

/// What the row reports. Wall times and pauses are median and max, ms.
#[derive(Debug, Serialize, Default)]
pub struct UpgradeFigures {
    /// Without load: reloads of the same binary, then upgrading ones.
    pub idle_reloads: usize,
    pub idle_same_wall_ms: [f64; 2],
    pub idle_wall_ms: [f64; 2],
    pub idle_pause_ms: [f64; 2],
    /// Under new-connection load.
    pub reloads: usize,
    /// Upgrades the supervisor reported done, in both parts.
    pub upgrades: usize,
    /// Upgrading reloads that succeeded, in both parts: each should have
    /// upgraded (a reload that succeeds without is counted a failure).
    pub upgrades_expected: usize,
    pub reloads_failed: usize,
    pub requests: usize,
    pub failed: std::collections::BTreeMap<&'static str, usize>,
    pub wall_ms: [f64; 2],
    pub pause_ms: [f64; 2],
    /// Latency under load: p50, p99, p99.9, max, µs.
    pub latency_us: [u64; 4],
}

impl UpgradeFigures {
    /// The figures of a run: the idle part; each loaded reload's wall
    /// time and whether it succeeded, the supervisor's timestamped log
    /// meanwhile, the load's samples.
    pub fn of(
        idle: &Idle<'_>,
        loaded: &[(Duration, bool)],
        log: &[(Duration, String)],
        samples: &[Sample],
    ) -> Self {
        let idle_pauses = pauses(idle.log);
        let loaded_pauses = pauses(log);
        let (p50, p99, p999, max) = percentiles(samples);
        let failed_reloads =
            |walls: &[(Duration, bool)]| walls.iter().filter(|(_, ok)| !ok).count();
        let succeeded = |walls: &[(Duration, bool)]| walls.len() - failed_reloads(walls);
        UpgradeFigures {
            idle_reloads: idle.upgrading.len(),
            idle_same_wall_ms: spread(idle.same.iter().map(|(w, _)| *w)),
            idle_wall_ms: spread(idle.upgrading.iter().map(|(w, _)| *w)),
            idle_pause_ms: spread(idle_pauses.iter().copied()),
            reloads: loaded.len(),
            upgrades: idle_pauses.len() + loaded_pauses.len(),
            upgrades_expected: succeeded(idle.upgrading) + succeeded(loaded),
            reloads_failed: failed_reloads(idle.same)
                + failed_reloads(idle.upgrading)
                + failed_reloads(loaded),
            requests: samples.len(),
            failed: failures(samples),
            wall_ms: spread(loaded.iter().map(|(w, _)| *w)),
            pause_ms: spread(loaded_pauses.iter().copied()),
            latency_us: [p50, p99, p999, max],
        }
    }

    /// Upgrading reloads that succeeded without the supervisor saying it
    /// upgraded: each is a failure of the row.
    pub fn missing(&self) -> usize {
        self.upgrades_expected.saturating_sub(self.upgrades)
    }

    /// The row as markdown, under a heading.
    pub fn markdown(&self, interval_ms: u64) -> String {
        let [p50, p99, p999, max] = self.latency_us.map(crate::load::ms);
        let pair = |[median, max]: [f64; 2]| format!("{median:.1} / {max:.1}");
        format!(
            "\n### Reloads that also upgrade the supervisor in place ({interval_ms} ms apart)\n\n\
             | figure | without load | under new-connection load |\n|---|---|---|\n\
             | reloads | {} upgrading (and {} of the same binary) | {} upgrading |\n\
             | `reload` wall time of the same binary, median / max ms | {} | (above) |\n\
             | `reload` wall time when it upgrades, median / max ms | {} | {} |\n\
             | supervisor's pause, from deciding to upgrade to the new image running (as it says), median / max ms | {} | {} |\n\
             | upgrades done (of reloads that should have) / failed reloads | {} ({}) / {} (both parts) | |\n\
             | requests / failed | | {} / {} |\n\
             | latency p50 / p99 / p99.9 / max ms | | {p50} / {p99} / {p999} / {max} |\n",
            self.idle_reloads,
            self.idle_reloads,
            self.reloads,
            pair(self.idle_same_wall_ms),
            pair(self.idle_wall_ms),
            pair(self.wall_ms),
            pair(self.idle_pause_ms),
            pair(self.pause_ms),
            self.upgrades,
            self.upgrades_expected,
            self.reloads_failed,
            self.requests,
            crate::failures(&self.failed),
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
    // Written by `cp`, not by this process: a process forked meanwhile
    // (a reload's) would inherit a descriptor open for writing until its
    // exec, and executing the copy then fails with "Text file busy".
    let copied = std::process::Command::new("cp")
        .arg(bin)
        .arg(&copy)
        .status()?;
    if !copied.success() {
        return Err(std::io::Error::other(format!("cp failed: {copied}")));
    }
    Ok(copy)
}

/// Each upgrade's pause, as the new image says it ("; paused X ms": from
/// the decision to upgrade to the new image running, on the supervisor's
/// own clock); from an image that does not say it, from the supervisor's
/// line before the exec to the new image's first, as they arrived (which
/// also times the way out of their log queue).
fn pauses(log: &[(Duration, String)]) -> Vec<Duration> {
    let mut pauses = Vec::new();
    let mut began = None;
    for (at, line) in log {
        if line.starts_with("littleboss: upgrading the supervisor in place") {
            began = Some(*at);
        } else if line.starts_with("littleboss: the supervisor runs ") {
            // The pause said counts even if the line before the exec was
            // lost (its queue waits 100 ms at most).
            let said = line
                .rsplit_once("; paused ")
                .and_then(|(_, ms)| ms.strip_suffix(" ms")?.parse::<f64>().ok());
            match (said, began.take()) {
                (Some(ms), _) => pauses.push(Duration::from_secs_f64(ms / 1e3)),
                (None, Some(began)) => pauses.push(at.saturating_sub(began)),
                (None, None) => {}
            }
        }
    }
    pauses
}

/// Median and max of `durations`, in ms.
fn spread(durations: impl Iterator<Item = Duration>) -> [f64; 2] {
    let mut ms: Vec<f64> = durations.map(|d| d.as_secs_f64() * 1e3).collect();
    ms.sort_by(f64::total_cmp);
    let median = ms.get(ms.len() / 2).copied().unwrap_or(0.0);
    [median, ms.last().copied().unwrap_or(0.0)]
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
            (
                ms(20),
                "littleboss: upgrading the supervisor in place to /b".to_owned(),
            ),
            (
                ms(29),
                "littleboss: the supervisor runs /b now (pid 1, in-place upgrade 3); paused 2.5 ms"
                    .to_owned(),
            ),
            // The line before this exec lost (a full stderr).
            (
                ms(40),
                "littleboss: the supervisor runs /a now (pid 1, in-place upgrade 4); paused 1.0 ms"
                    .to_owned(),
            ),
        ];
        // The pause the new image says, where it says one.
        assert_eq!(
            super::pauses(&log),
            [ms(3), ms(3), Duration::from_micros(2500), ms(1)]
        );
    }
}
