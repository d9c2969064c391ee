//! Misspellings: the macro's suggestions for misspelt keys, and the
//! runtime's misspelt switches.

/// Whether `word` looks like a misspelling of `key`: at most one edit for
/// short keys, two for longer ones, an edit being an inserted, deleted or
/// replaced character or two adjacent ones swapped.
pub(crate) fn is_typo(word: &str, key: &str) -> bool {
    let limit = if key.chars().count() <= 4 { 1 } else { 2 };
    within_edits(word, key, limit)
}

/// Whether `word` is at most `limit` [`edits`] from `key`: lengths
/// further apart are not measured (a word may be an argument of 128 KiB).
pub(crate) fn within_edits(word: &str, key: &str, limit: usize) -> bool {
    word.chars().count().abs_diff(key.chars().count()) <= limit && edits(word, key) <= limit
}

/// The edits from `word` to `key`: inserted, deleted or replaced
/// characters, or two adjacent ones swapped (`mdoe` is one from `mode`).
pub(crate) fn edits(word: &str, key: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (word.chars().collect(), key.chars().collect());
    // d[i][j]: the edits from the first i characters of `word` to the first
    // j of `key` (optimal string alignment distance).
    let mut d = vec![vec![0; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos() {
        assert!(is_typo("nmae", "name"));
        assert!(!is_typo("nmea", "name"));
        assert!(is_typo("nam", "name"));
        assert!(is_typo("names", "name"));
        assert!(is_typo("listeners", "listener"));
        assert!(is_typo("lame_duck", "lameduck"));
        assert!(is_typo("worker_thread", "worker_threads"));
        assert!(is_typo("readytimeout", "ready_timeout"));
        assert!(!is_typo("foo", "flag"));
        assert!(!is_typo("help", "name"));
        assert!(!is_typo("flavour_x", "flavor"));
    }

    #[test]
    fn a_swap_is_one_edit() {
        assert_eq!(edits("mdoe", "mode"), 1);
        assert_eq!(edits("littelboss", "littleboss"), 1);
        assert_eq!(edits("littlebos", "littleboss"), 1);
        assert_eq!(edits("kitten", "sitting"), 3);
        assert_eq!(edits("", "abc"), 3);
    }
}
