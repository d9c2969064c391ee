//! Giving the heap's freed pages back to the system once a child is gone.
//!
//! A reload allocates and frees (the request, the spawn, the old child's
//! watcher), and glibc keeps freed pages as long as less than 128 KiB is
//! free at the top of the heap, which in a supervisor whose whole heap is
//! about that size is always. `malloc_trim` returns every free page, from
//! the middle of the heap too; it walks a heap this small in microseconds,
//! once per child that ends.

/// Returns the heap's free pages to the system.
pub(super) fn give_back_freed() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only releases pages that malloc holds free; it
    // takes the allocator's own lock and touches no live allocation.
    unsafe {
        nix::libc::malloc_trim(0);
    }
}
