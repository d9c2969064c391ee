//! Who may write to a folder by its POSIX access ACL (acl(5)), which its
//! mode does not tell: once a folder has one, the mode's group bits are
//! the ACL's mask, and the owning group's own rights, and those of every
//! user and group the ACL names, are in its entries. A folder of mode 775
//! and of our own group may so still be one another user may change
//! (`setfacl -m u:bob:rwx`).

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// The extended attribute the kernel keeps a file's access ACL in.
const ACCESS_ACL: &std::ffi::CStr = c"system.posix_acl_access";

/// The version `posix_acl_xattr_header` carries.
const XATTR_VERSION: u32 = 2;
const ACL_USER_OBJ: u16 = 0x01;
const ACL_USER: u16 = 0x02;
const ACL_GROUP_OBJ: u16 = 0x04;
const ACL_GROUP: u16 = 0x08;
const ACL_MASK: u16 = 0x10;
const ACL_OTHER: u16 = 0x20;
const ACL_WRITE: u16 = 0x02;

/// One an ACL lets write, besides the file's owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Writer {
    /// A user it names.
    User(u32),
    /// A group: the owning one (by its own entry, under the mask), or one
    /// it names.
    Group(u32),
}

/// The access ACL of `path` (links followed) as the kernel stores it, or
/// `None` if it has none, or its file system keeps no POSIX ACLs. (NFSv4's
/// and SMB's ACLs, `system.nfs4_acl` and `cifsacl`, are not read: there
/// the mode alone is judged.)
pub(crate) fn read_access(path: &Path) -> io::Result<Option<Vec<u8>>> {
    let path = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL in the path"))?;
    // Asked for its size first, then read; asked again if it grew between.
    for _ in 0..4 {
        // SAFETY: both strings are NUL-terminated and outlive the call; a
        // size of 0 with a null buffer only asks for the value's size.
        let size = unsafe {
            nix::libc::getxattr(path.as_ptr(), ACCESS_ACL.as_ptr(), std::ptr::null_mut(), 0)
        };
        let size = match usize::try_from(size) {
            Ok(size) => size,
            Err(_) => return absent_if_none(io::Error::last_os_error()),
        };
        let mut value = vec![0u8; size];
        // SAFETY: `value` is writable for `value.len()` bytes, the length
        // passed; the strings are as above.
        let read = unsafe {
            nix::libc::getxattr(
                path.as_ptr(),
                ACCESS_ACL.as_ptr(),
                value.as_mut_ptr().cast(),
                value.len(),
            )
        };
        match usize::try_from(read) {
            Ok(read) => {
                value.truncate(read);
                return Ok(Some(value));
            }
            Err(_) => match io::Error::last_os_error() {
                grew if grew.raw_os_error() == Some(nix::libc::ERANGE) => continue,
                error => return absent_if_none(error),
            },
        }
    }
    Err(io::Error::new(
        io::ErrorKind::Interrupted,
        "its ACL kept changing while read",
    ))
}

/// `Ok(None)` for the errors that mean "no ACL": none set, or a file
/// system without them.
fn absent_if_none(error: io::Error) -> io::Result<Option<Vec<u8>>> {
    match error.raw_os_error() {
        Some(nix::libc::ENODATA | nix::libc::EOPNOTSUPP) => Ok(None),
        _ => Err(error),
    }
}

/// Every one besides the owner that the ACL `acl` (as stored, see
/// [`read_access`]) lets write, the owning group given as `owning_group`;
/// `None` if `acl` is not one the kernel stores.
///
/// A named entry's rights, and the owning group's, count under the mask
/// (without one, the owning group's entry counts as it is). "Other" is
/// left out: it is the mode's, which the caller judges.
pub(crate) fn writers(acl: &[u8], owning_group: u32) -> Option<Vec<Writer>> {
    let (header, entries) = acl.split_first_chunk::<4>()?;
    if u32::from_le_bytes(*header) != XATTR_VERSION || entries.len() % 8 != 0 {
        return None;
    }
    let entries: Vec<(u16, u16, u32)> = entries
        .chunks_exact(8)
        .map(|entry| {
            let tag = u16::from_le_bytes([entry[0], entry[1]]);
            let perm = u16::from_le_bytes([entry[2], entry[3]]);
            let id = u32::from_le_bytes([entry[4], entry[5], entry[6], entry[7]]);
            (tag, perm, id)
        })
        .collect();
    let known = [
        ACL_USER_OBJ,
        ACL_USER,
        ACL_GROUP_OBJ,
        ACL_GROUP,
        ACL_MASK,
        ACL_OTHER,
    ];
    if entries.iter().any(|(tag, _, _)| !known.contains(tag)) {
        return None;
    }
    let mask = entries
        .iter()
        .find(|(tag, _, _)| *tag == ACL_MASK)
        .map_or(u16::MAX, |(_, perm, _)| *perm);
    let writes = |perm: u16| perm & mask & ACL_WRITE != 0;
    let writers = entries
        .iter()
        .filter(|(_, perm, _)| writes(*perm))
        .filter_map(|(tag, _, id)| match *tag {
            ACL_USER => Some(Writer::User(*id)),
            ACL_GROUP => Some(Writer::Group(*id)),
            ACL_GROUP_OBJ => Some(Writer::Group(owning_group)),
            _ => None,
        })
        .collect();
    Some(writers)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An ACL as the kernel stores it, of `(tag, perm, id)` entries.
    pub(crate) fn stored(entries: &[(u16, u16, u32)]) -> Vec<u8> {
        let mut acl = XATTR_VERSION.to_le_bytes().to_vec();
        for (tag, perm, id) in entries {
            acl.extend(tag.to_le_bytes());
            acl.extend(perm.to_le_bytes());
            acl.extend(id.to_le_bytes());
        }
        acl
    }

    /// `setfacl`'s minimal ACL of mode 775 plus `extra`, with a mask of
    /// `mask`: in the order the kernel requires, by tag, then by id.
    pub(crate) fn mode_775_with(extra: &[(u16, u16, u32)], mask: u16) -> Vec<u8> {
        let mut entries = vec![(ACL_USER_OBJ, 7, u32::MAX), (ACL_GROUP_OBJ, 5, u32::MAX)];
        entries.extend(extra);
        entries.extend([(ACL_MASK, mask, u32::MAX), (ACL_OTHER, 5, u32::MAX)]);
        entries.sort_by_key(|(tag, _, id)| (*tag, *id));
        entries.dedup_by_key(|(tag, _, id)| (*tag, *id));
        stored(&entries)
    }

    /// Sets `path`'s access ACL to `acl` (as stored): the kernel sets its
    /// mode's group bits to the mask.
    pub(crate) fn set_access(path: &Path, acl: &[u8]) -> io::Result<()> {
        let path = CString::new(path.as_os_str().as_bytes()).unwrap();
        // SAFETY: both strings are NUL-terminated and `acl` is readable
        // for its length, all outliving the call.
        let set = unsafe {
            nix::libc::setxattr(
                path.as_ptr(),
                ACCESS_ACL.as_ptr(),
                acl.as_ptr().cast(),
                acl.len(),
                0,
            )
        };
        match set {
            0 => Ok(()),
            _ => Err(io::Error::last_os_error()),
        }
    }

    /// A named user's entry with `perm`.
    pub(crate) fn user(id: u32, perm: u16) -> (u16, u16, u32) {
        (ACL_USER, perm, id)
    }

    /// A named group's entry with `perm`.
    pub(crate) fn group(id: u32, perm: u16) -> (u16, u16, u32) {
        (ACL_GROUP, perm, id)
    }

    #[test]
    fn a_named_user_or_group_that_may_write_is_a_writer_under_the_mask() {
        let acl = mode_775_with(&[user(54321, 7), group(777, 6), user(4242, 5)], 7);
        assert_eq!(
            writers(&acl, 100),
            Some(vec![Writer::User(54321), Writer::Group(777)])
        );
        // A mask without write (`chmod g-w`) takes it from every one.
        let acl = mode_775_with(&[user(54321, 7), group(777, 6)], 5);
        assert_eq!(writers(&acl, 100), Some(vec![]));
    }

    #[test]
    fn the_owning_group_writes_by_its_own_entry_not_by_the_mask() {
        let acl = stored(&[
            (ACL_USER_OBJ, 7, 0),
            (ACL_GROUP_OBJ, 7, 0),
            (ACL_USER, 5, 1),
            (ACL_MASK, 7, 0),
            (ACL_OTHER, 5, 0),
        ]);
        assert_eq!(writers(&acl, 100), Some(vec![Writer::Group(100)]));
        // Its entry without write: the mask's write (a mode of 775) is
        // not the group's.
        let acl = mode_775_with(&[user(4242, 5)], 7);
        assert_eq!(writers(&acl, 100), Some(vec![]));
        // No mask (a minimal ACL): its entry as it is.
        let acl = stored(&[
            (ACL_USER_OBJ, 7, 0),
            (ACL_GROUP_OBJ, 7, 0),
            (ACL_OTHER, 5, 0),
        ]);
        assert_eq!(writers(&acl, 100), Some(vec![Writer::Group(100)]));
    }

    #[test]
    fn what_the_kernel_does_not_store_is_not_read_as_an_acl() {
        assert_eq!(writers(&[], 0), None);
        assert_eq!(writers(&[2, 0, 0], 0), None);
        let mut acl = mode_775_with(&[], 7);
        acl[0] = 1;
        assert_eq!(writers(&acl, 0), None, "another version");
        let mut acl = mode_775_with(&[], 7);
        acl.push(0);
        assert_eq!(writers(&acl, 0), None, "a part of an entry");
        let acl = stored(&[(0x40, 7, 0)]);
        assert_eq!(writers(&acl, 0), None, "a tag it does not know");
        assert_eq!(writers(&stored(&[]), 0), Some(vec![]));
    }
}
