//! The reload benchmark's in-place upgrade row: reloads to another file
//! of the same program, each of which also makes the supervisor
//! re-execute itself from the new file, each paired with a reload of the
//! same binary just before it.
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

/// A reload's wall time and whether it succeeded.
pub type Wall = (Duration, bool);

/// One part's reloads in threes, as [`binary_for`] orders them: one of
/// the same binary right after an upgrade (the first in a new image but
/// for the idle part's first, left out of the pairs, shown on its own),
/// one of the same binary, then an upgrading one, so that each upgrading
/// reload is measured beside a plain one that, like it, follows a plain
/// reload; with the supervisor's log meanwhile.
#[derive(Debug)]
pub struct Reloads<'a> {
    /// The first in each three: not in the pairs (see above).
    pub after_upgrade: Vec<Wall>,
    pub same: Vec<Wall>,
    pub upgrading: Vec<Wall>,
    pub log: &'a [(Duration, String)],
}

impl<'a> Reloads<'a> {
    /// A part's wall times, in the order [`binary_for`] gave them, and
    /// the log meanwhile.
    pub fn of(walls: &[Wall], log: &'a [(Duration, String)]) -> Self {
        let nth = |k: usize| walls.iter().skip(k).step_by(3).copied().collect();
        Reloads {
            after_upgrade: nth(0),
            same: nth(1),
            upgrading: nth(2),
            log,
        }
    }
}

/// Whether the `i`-th reload of a part, as [`binary_for`] orders them,
/// upgrades the supervisor.
///
/// ```
/// let upgrading: Vec<usize> = (0..7).filter(|&i| examples::upgrades::upgrades_at(i)).collect();
/// assert_eq!(upgrading, [2, 5]);
/// ```
pub fn upgrades_at(i: usize) -> bool {
    i % 3 == 2
}

/// Which file the `i`-th reload of a part goes to, from `first` (the one
/// the supervisor runs before it) and `other`: in threes, the same
/// binary twice, then the other (an upgrade), so that the reloads at
/// `i % 3 == 2` upgrade and the others do not.
///
/// ```
/// let files: Vec<&str> = (0..7).map(|i| *examples::upgrades::binary_for(i, &"a", &"b")).collect();
/// assert_eq!(files, ["a", "a", "b", "b", "b", "a", "a"]);
/// ```
pub fn binary_for<'a, T>(i: usize, first: &'a T, other: &'a T) -> &'a T {
    match i % 6 {
        2..=4 => other,
        _ => first,
    }
}

/// What the row reports. Wall times and pauses are median and max, ms;
/// what an upgrade adds is the median over pairs of its wall time less
/// that of the same-binary reload just before it, ms.
#[derive(Debug, Serialize, Default)]
pub struct UpgradeFigures {
    /// Without load: upgrading reloads (as many timed of the same binary
    /// before them, and as many more after them, each the first in a new
    /// image but for the part's first).
    pub idle_reloads: usize,
    pub idle_after_upgrade_wall_ms: [f64; 2],
    pub idle_same_wall_ms: [f64; 2],
    pub idle_wall_ms: [f64; 2],
    pub idle_added_ms: f64,
    pub idle_pause_ms: [f64; 2],
    /// Under new-connection load: as without.
    pub reloads: usize,
    pub after_upgrade_wall_ms: [f64; 2],
    pub same_wall_ms: [f64; 2],
    pub wall_ms: [f64; 2],
    pub added_ms: f64,
    pub pause_ms: [f64; 2],
    /// Upgrades the supervisor reported done, in both parts.
    pub upgrades: usize,
    /// Upgrading reloads that succeeded, in both parts: each should have
    /// upgraded (a reload that succeeds without is counted a failure).
    pub upgrades_expected: usize,
    pub reloads_failed: usize,
    pub requests: usize,
    pub failed: std::collections::BTreeMap<&'static str, usize>,
    /// Latency under load: p50, p99, p99.9, max, µs.
    pub latency_us: [u64; 4],
}

impl UpgradeFigures {
    /// The figures of a run: the part without load, the part under load,
    /// and that load's samples.
    pub fn of(idle: &Reloads<'_>, loaded: &Reloads<'_>, samples: &[Sample]) -> Self {
        let idle_pauses = pauses(idle.log);
        let loaded_pauses = pauses(loaded.log);
        let (p50, p99, p999, max) = percentiles(samples);
        let failed_reloads = |walls: &[Wall]| walls.iter().filter(|(_, ok)| !ok).count();
        let succeeded = |walls: &[Wall]| walls.len() - failed_reloads(walls);
        // Of those that succeeded: one that failed may have skipped its
        // work (an upgrade that ran on from the old binary, say).
        let walls = |walls: &[Wall]| spread(walls.iter().filter(|(_, ok)| *ok).map(|(w, _)| *w));
        UpgradeFigures {
            idle_reloads: idle.upgrading.len(),
            idle_after_upgrade_wall_ms: walls(&idle.after_upgrade),
            idle_same_wall_ms: walls(&idle.same),
            idle_wall_ms: walls(&idle.upgrading),
            idle_added_ms: added(idle),
            idle_pause_ms: spread(idle_pauses.iter().copied()),
            reloads: loaded.upgrading.len(),
            after_upgrade_wall_ms: walls(&loaded.after_upgrade),
            same_wall_ms: walls(&loaded.same),
            wall_ms: walls(&loaded.upgrading),
            added_ms: added(loaded),
            pause_ms: spread(loaded_pauses.iter().copied()),
            upgrades: idle_pauses.len() + loaded_pauses.len(),
            upgrades_expected: succeeded(&idle.upgrading) + succeeded(&loaded.upgrading),
            reloads_failed: [idle, loaded]
                .into_iter()
                .flat_map(|part| [&part.after_upgrade, &part.same, &part.upgrading])
                .map(|walls| failed_reloads(walls))
                .sum(),
            requests: samples.len(),
            failed: failures(samples),
            latency_us: [p50, p99, p999, max],
        }
    }

    /// How far the upgrades the supervisor said it made are from the
    /// upgrading reloads that succeeded: one missing, or one made by a
    /// reload of the same binary (after an upgrade that did not happen),
    /// is a failure of the row.
    pub fn mismatched(&self) -> usize {
        self.upgrades_expected.abs_diff(self.upgrades)
    }

    /// The row as markdown, under a heading.
    pub fn markdown(&self, interval_ms: u64) -> String {
        let [p50, p99, p999, max] = self.latency_us.map(crate::load::ms);
        let pair = |[median, max]: [f64; 2]| match median.is_nan() {
            true => "-".to_owned(),
            false => format!("{median:.1} / {max:.1}"),
        };
        let added = |ms: f64| match ms.is_nan() {
            true => "-".to_owned(),
            false => format!("{ms:.1}"),
        };
        format!(
            "\n### Reloads that also upgrade the supervisor in place ({interval_ms} ms apart)\n\n\
             | figure | without load | under new-connection load |\n|---|---|---|\n\
             | reloads: upgrading, and of the same binary just before each (and as many more right after each upgrade, in the row of their own below) | {} and {} | {} and {} |\n\
             | `reload` wall time of the same binary, median / max ms | {} | {} |\n\
             | `reload` wall time of the same binary right after an upgrade (the first in the new image; without load, the part's first is not), median / max ms | {} | {} |\n\
             | `reload` wall time when it upgrades, median / max ms | {} | {} |\n\
             | what an upgrade adds to a reload (upgrading less the same-binary one before it), median of the pairs, ms | {} | {} |\n\
             | supervisor's pause, from deciding to upgrade to the new image running (as it says), median / max ms | {} | {} |\n\
             | upgrades done (of reloads that should have) / failed reloads | {} ({}) / {} (both parts) | |\n\
             | requests / failed | | {} / {} |\n\
             | latency p50 / p99 / p99.9 / max ms | | {p50} / {p99} / {p999} / {max} |\n",
            self.idle_reloads,
            self.idle_reloads,
            self.reloads,
            self.reloads,
            pair(self.idle_same_wall_ms),
            pair(self.same_wall_ms),
            pair(self.idle_after_upgrade_wall_ms),
            pair(self.after_upgrade_wall_ms),
            pair(self.idle_wall_ms),
            pair(self.wall_ms),
            added(self.idle_added_ms),
            added(self.added_ms),
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

/// The median, over pairs, of an upgrading reload's wall time less that
/// of the same-binary reload before it, in ms (pairs where either failed
/// are left out); NaN with no pair.
fn added(part: &Reloads<'_>) -> f64 {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let differences: Vec<f64> = (part.same.iter().zip(&part.upgrading))
        .filter(|((_, same_ok), (_, upgrading_ok))| *same_ok && *upgrading_ok)
        .map(|((same, _), (upgrading, _))| ms(*upgrading) - ms(*same))
        .collect();
    match differences.is_empty() {
        true => f64::NAN,
        false => crate::median(&differences),
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

/// Median and max of `durations`, in ms; NaN for none.
fn spread(durations: impl Iterator<Item = Duration>) -> [f64; 2] {
    let ms: Vec<f64> = durations.map(|d| d.as_secs_f64() * 1e3).collect();
    if ms.is_empty() {
        return [f64::NAN; 2];
    }
    let max = ms.iter().copied().fold(0.0, f64::max);
    [crate::median(&ms), max]
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[test]
    fn what_an_upgrade_adds_is_the_median_over_pairs_that_both_succeeded() {
        let ms = Duration::from_millis;
        // Reloads in threes as `binary_for` orders them: after an
        // upgrade (not in the pairs), same, upgrading.
        let walls = [
            (ms(50), true),
            (ms(5), true),
            (ms(8), true),
            (ms(50), true),
            (ms(6), true),
            (ms(10), true),
            (ms(50), true),
            (ms(4), true),
            // A failed upgrading reload: its pair is left out.
            (ms(1), false),
            (ms(50), false),
            (ms(7), true),
            (ms(9), true),
        ];
        let part = super::Reloads::of(&walls, &[]);
        assert_eq!(part.after_upgrade.len(), 4);
        assert_eq!(part.same.len(), 4);
        assert_eq!(part.upgrading.len(), 4);
        // Pairs: +3, +4, (left out), +2: the median of 2, 3, 4.
        assert!((super::added(&part) - 3.0).abs() < 1e-9);
        let none = super::Reloads::of(&[], &[]);
        assert!(super::added(&none).is_nan());
        // Every failure counts, the left-out reloads' too.
        let figures = super::UpgradeFigures::of(&part, &none, &[]);
        assert_eq!(figures.reloads_failed, 2);
    }

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
