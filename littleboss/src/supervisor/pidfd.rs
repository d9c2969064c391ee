//! Children watched through pidfds (Linux 5.4+).
//!
//! A pidfd names one process for as long as the fd is open, so it can be
//! waited on and signalled without the pid-reuse race, and it can be made
//! again from a pid after the supervisor re-executes itself: a child that
//! has not been reaped still has its pid, and only its parent (still us,
//! same pid) can reap it.

use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};

use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid};
use tokio::io::unix::AsyncFd;

use super::machine::ChildExit;

/// A child process, by pidfd.
#[derive(Debug)]
pub(crate) struct Process {
    pub pid: u32,
    fd: AsyncFd<OwnedFd>,
}

impl Process {
    /// Opens a pidfd for our child `pid`, which must not have been reaped.
    /// Needs a tokio runtime.
    ///
    /// ```ignore
    /// let process = Process::open(child.id())?;
    /// let exit = process.wait().await;
    /// ```
    pub fn open(pid: u32) -> io::Result<Process> {
        // SAFETY: pidfd_open takes a pid and flags and returns a new fd (or
        // -1); no memory is passed.
        let raw = unsafe { nix::libc::syscall(nix::libc::SYS_pidfd_open, pid as i32, 0) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the syscall just returned this fd, owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw as i32) };
        nix::fcntl::fcntl(
            &fd,
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
        )?;
        // SAFETY: the AsyncFd owns `fd` outright, so it stays open and the
        // same pidfd for the AsyncFd's whole life.
        let fd = unsafe { AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE)? };
        Ok(Process { pid, fd })
    }

    /// Waits for it to end and reaps it.
    pub async fn wait(&self) -> io::Result<ChildExit> {
        loop {
            let mut ready = self.fd.readable().await?;
            let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG;
            match waitid(Id::PIDFd(self.fd.get_ref().as_fd()), flags) {
                Ok(WaitStatus::Exited(_, code)) => return Ok(ChildExit::Code(code)),
                Ok(WaitStatus::Signaled(_, signal, _)) => {
                    return Ok(ChildExit::Signal(signal as i32));
                }
                Ok(_) => ready.clear_ready(),
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Sends SIGKILL, unless it has ended already.
    pub fn kill(&self) -> io::Result<()> {
        let fd = self.fd.get_ref().as_raw_fd();
        // SAFETY: pidfd_send_signal takes our pidfd, a signal number and a
        // null siginfo (meaning: as kill(2) would send it).
        let sent = unsafe {
            nix::libc::syscall(
                nix::libc::SYS_pidfd_send_signal,
                fd,
                nix::libc::SIGKILL,
                std::ptr::null::<nix::libc::siginfo_t>(),
                0,
            )
        };
        if sent < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Process;
    use crate::supervisor::machine::ChildExit;

    #[tokio::test]
    async fn waits_for_and_kills_a_child() {
        // Reaped through the pidfd, not the std handle.
        let pid = std::process::Command::new("sh")
            .args(["-c", "exit 3"])
            .spawn()
            .unwrap()
            .id();
        let process = Process::open(pid).unwrap();
        assert_eq!(process.wait().await.unwrap(), ChildExit::Code(3));

        let pid = std::process::Command::new("sleep")
            .arg("60")
            .spawn()
            .unwrap()
            .id();
        let process = Process::open(pid).unwrap();
        process.kill().unwrap();
        assert_eq!(process.wait().await.unwrap(), ChildExit::Signal(9));
    }
}
