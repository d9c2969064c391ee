//! Stretches of a benchmark run when a reload was at work, and which
//! requests they touched.

use std::time::Duration;

/// Stretches of time, from the start of a run, merged where they overlap:
/// when a `reload` command ran, say, or an old child drained. A request
/// in flight during one of them is a reload's, however long the quiet
/// between them; the percentiles of those requests are what a reload
/// costs, undiluted by the steady load around it.
///
/// ```
/// use std::time::Duration;
/// let ms = Duration::from_millis;
/// let busy = examples::spans::Spans::of([(ms(200), ms(215)), (ms(100), ms(110))]);
/// assert!(busy.touch(ms(105), ms(120)));
/// assert!(!busy.touch(ms(111), ms(199)));
/// ```
#[derive(Debug, Default, Clone)]
pub struct Spans {
    /// In order, none overlapping or touching another.
    merged: Vec<(Duration, Duration)>,
}

impl Spans {
    /// The stretches `from..to`, in any order; an empty one counts for
    /// nothing.
    pub fn of(spans: impl IntoIterator<Item = (Duration, Duration)>) -> Spans {
        let mut spans: Vec<_> = spans.into_iter().filter(|(from, to)| from < to).collect();
        spans.sort_unstable();
        let mut merged: Vec<(Duration, Duration)> = Vec::with_capacity(spans.len());
        for (from, to) in spans {
            match merged.last_mut() {
                Some(last) if from <= last.1 => last.1 = last.1.max(to),
                _ => merged.push((from, to)),
            }
        }
        Spans { merged }
    }

    /// Whether a request from `began` to `ended` was in flight during one
    /// of the stretches: the last to begin before it ended had not yet
    /// ended when it began.
    pub fn touch(&self, began: Duration, ended: Duration) -> bool {
        let before_its_end = self.merged.partition_point(|(from, _)| *from < ended);
        before_its_end > 0 && self.merged[before_its_end - 1].1 > began
    }
}

#[cfg(test)]
mod tests {
    use super::Spans;
    use std::time::Duration;

    #[test]
    fn a_request_counts_if_it_overlaps_a_stretch() {
        let ms = Duration::from_millis;
        // 100 to 110 and 200 to 215, given out of order.
        let busy = Spans::of([(ms(200), ms(215)), (ms(100), ms(110))]);
        let during = |began, ended| busy.touch(ms(began), ms(ended));
        assert!(!during(0, 50), "before any");
        assert!(during(90, 101), "into one");
        assert!(during(105, 107), "within one");
        assert!(during(109, 150), "out of one");
        assert!(!during(111, 199), "between two");
        assert!(during(50, 250), "across both");
        assert!(!during(216, 300), "after the last");
        assert!(!during(90, 100), "ended as it began");
        assert!(!during(110, 150), "began as it ended");
        assert!(!Spans::default().touch(ms(0), ms(1000)), "none");
    }

    #[test]
    fn overlapping_stretches_merge() {
        let ms = Duration::from_millis;
        // A command (100 to 110), the drain it began (105 to 300), and a
        // third (120 to 130) inside the drain: one stretch, 100 to 300.
        let busy = Spans::of([(ms(105), ms(300)), (ms(100), ms(110)), (ms(120), ms(130))]);
        assert!(busy.touch(ms(250), ms(260)), "late in the drain");
        assert!(!busy.touch(ms(300), ms(310)), "after it");
        // An empty stretch is none.
        assert!(!Spans::of([(ms(5), ms(5))]).touch(ms(0), ms(10)));
    }
}
