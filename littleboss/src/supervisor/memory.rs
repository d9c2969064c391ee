//! Keeping the supervisor small between reloads.
//!
//! The supervisor is the program's own binary, so starting it maps much of
//! that binary's code and libc's: the dynamic linker, argument parsing and
//! the runtime's start-up touch code all over them, and the kernel maps 64
//! KiB around every page a fault brings in. Between reloads the supervisor
//! runs almost none of it. So once one child has served alone for a
//! second with nothing else happening (`REST`), it hands back:
//!
//! - the heap's free pages (`malloc_trim`), since a burst of reloads has
//!   several children draining at once;
//! - its page-table entries for the read-only file mappings it started
//!   with (`MADV_DONTNEED`): the code it goes on running faults back in,
//!   the rest stays out.
//!
//! Dropping page-table entries frees little on the machine by itself: the
//! pages stay in the page cache, shared with the child that runs the same
//! binary. What it changes is that the supervisor's RSS says what it really
//! uses, and that start-up code nobody runs any more becomes reclaimable.

use std::ptr::NonNull;
use std::sync::OnceLock;

/// The mappings present at start, listed once by [`list_mappings`]: only
/// these are ever dropped.
static AT_START: OnceLock<Vec<FileMapping>> = OnceLock::new();

/// A read-only, file-backed mapping with no private (copied) pages: its
/// every page can be dropped and faulted back, identical, from the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileMapping {
    start: usize,
    len: usize,
}

/// Lists the mappings [`release`] may drop: those of the binary and its
/// libraries as they are when the supervisor starts, before any program
/// code (`supervisor_init`) could map files of its own.
pub(crate) fn list_mappings() {
    AT_START.get_or_init(droppable_now);
}

/// The candidates as `/proc/self/smaps` shows them at this moment.
fn droppable_now() -> Vec<FileMapping> {
    std::fs::read_to_string("/proc/self/smaps")
        .map(|smaps| parse_smaps(&smaps))
        .unwrap_or_default()
}

/// Picks from `/proc/self/smaps` text the private, read-only mappings of a
/// file that hold no copied pages. A relocated (RELRO) segment is read-only
/// too but holds copied pages: dropping those would undo the relocations.
/// A copied page shows under `Anonymous:` while in memory and under `Swap:`
/// once swapped out, so both must say 0.
fn parse_smaps(smaps: &str) -> Vec<FileMapping> {
    let mut found = Vec::new();
    // The candidate being read, and how many of its two counts said 0.
    let mut candidate: Option<(FileMapping, u8)> = None;
    let mut settle = |candidate: Option<(FileMapping, u8)>| {
        if let Some((mapping, 2)) = candidate {
            found.push(mapping);
        }
    };
    for line in smaps.lines() {
        if let Some(mapping) = header(line) {
            settle(candidate.take());
            candidate = mapping.map(|m| (m, 0));
        } else if let Some((_, zeros)) = &mut candidate {
            let count = line
                .strip_prefix("Anonymous:")
                .or_else(|| line.strip_prefix("Swap:"));
            match count.map(|kb| kb.trim().strip_suffix("kB").map(str::trim)) {
                Some(Some("0")) => *zeros += 1,
                // Copied pages, or a line we cannot read: leave it alone.
                Some(_) => candidate = None,
                None => {}
            }
        }
    }
    settle(candidate);
    found
}

/// Reads a mapping's header line (`start-end perms offset dev inode path`):
/// `Some(None)` for a mapping that is not a candidate, `None` for a line
/// that is not a header at all.
fn header(line: &str) -> Option<Option<FileMapping>> {
    let mut fields = line.split_whitespace();
    let range = fields.next()?;
    let (start, end) = range.split_once('-')?;
    let start = usize::from_str_radix(start, 16).ok()?;
    let end = usize::from_str_radix(end, 16).ok()?;
    let perms = fields.next()?;
    if perms.len() != 4 {
        return None;
    }
    let path = fields.nth(3).unwrap_or("");
    let read_only_private =
        perms.starts_with('r') && perms.as_bytes()[1] == b'-' && perms.ends_with('p');
    let candidate = read_only_private && path.starts_with('/') && end > start;
    Some(candidate.then_some(FileMapping {
        start,
        len: end - start,
    }))
}

/// Hands back what the supervisor holds but does not use: free heap pages,
/// and its page-table entries for the mappings [`list_mappings`] found.
pub(crate) fn release() {
    if let Some(at_start) = AT_START.get() {
        // Checked afresh: a mapping that has gained copied pages since (a
        // debugger's breakpoint, say) is left alone.
        for mapping in droppable_now().iter().filter(|m| at_start.contains(m)) {
            let Some(start) = NonNull::new(mapping.start as *mut std::ffi::c_void) else {
                continue;
            };
            let dont_need = nix::sys::mman::MmapAdvise::MADV_DONTNEED;
            // SAFETY: the range is a whole private, read-only file mapping
            // that held no copied pages, in memory or swapped out, just now,
            // and no code of ours writes to a read-only mapping in between;
            // dropping its pages only makes the next access fault them back,
            // identical, from the file.
            let _ = unsafe { nix::sys::mman::madvise(start, mapping.len, dont_need) };
        }
    }
    // Last, so that it also returns what reading smaps took.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory to the kernel; it reads
    // and writes nothing the program owns.
    unsafe {
        nix::libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMAPS: &str = "\
5600aa000000-5600aa100000 r--p 00000000 08:01 123 /usr/bin/prog
Size:               1024 kB
Anonymous:             0 kB
Swap:                  0 kB
5600aa100000-5600aa400000 r-xp 00100000 08:01 123 /usr/bin/prog (deleted)
Size:               3072 kB
Anonymous:             0 kB
Swap:                  0 kB
VmFlags: rd ex mr mw me
5600aa400000-5600aa420000 r--p 00400000 08:01 123 /usr/bin/prog
Size:                128 kB
Anonymous:           128 kB
Swap:                  0 kB
5600aa420000-5600aa430000 r--p 00420000 08:01 77 /usr/lib/libfoo.so
Anonymous:             0 kB
Swap:                 64 kB
5600aa430000-5600aa431000 r--p 00430000 08:01 78 /usr/lib/libbar.so
Anonymous:             0 kB
5600aa440000-5600aa441000 rw-p 00420000 08:01 123 /usr/bin/prog
Anonymous:             4 kB
Swap:                  0 kB
5600ab000000-5600ab021000 rw-p 00000000 00:00 0 [heap]
Anonymous:            16 kB
Swap:                  0 kB
7f0000000000-7f0000010000 r--s 00000000 08:01 9 /dev/shm/x
Anonymous:             0 kB
Swap:                  0 kB
7fff00000000-7fff00001000 r-xp 00000000 00:00 0 [vdso]
Anonymous:             0 kB
Swap:                  0 kB
";

    #[test]
    fn picks_read_only_private_file_mappings_without_copied_pages() {
        // Not the RELRO segment (copied pages), the library whose copied
        // pages are swapped out, the one whose Swap line is missing, the
        // writable, shared and pathless ones.
        assert_eq!(
            parse_smaps(SMAPS),
            vec![
                FileMapping {
                    start: 0x5600aa000000,
                    len: 0x100000
                },
                FileMapping {
                    start: 0x5600aa100000,
                    len: 0x300000
                },
            ]
        );
    }

    #[test]
    fn this_process_has_droppable_code_and_survives_dropping_it() {
        list_mappings();
        assert!(
            !AT_START.get().unwrap().is_empty(),
            "no read-only file mappings found"
        );
        release();
        // Code runs on after its pages were dropped: they fault back.
        assert_eq!(format!("{}", 6 * 7), "42");
    }
}
