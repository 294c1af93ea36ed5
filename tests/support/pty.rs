//! Pseudo-terminals for the emulated serial devices, opened close-on-exec.
//!
//! `serialport`'s `TTYPort::pair` opens both sides without `O_CLOEXEC`: a child that another test
//! thread spawns meanwhile (the tests run in parallel, and many run `ledtogo`) inherits them, and then
//! holds the "serial port" open for its whole life, so `ledtogo flash` (which refuses a port in use)
//! or a device test sees a stranger on its port. Here the master is opened with `O_CLOEXEC` from the
//! start and the slave is opened only by `std` (always close-on-exec), once, to set it raw.

use std::io::{self, Read, Write};
use std::os::fd::AsRawFd as _;
use std::path::PathBuf;
use std::time::Duration;

use nix::fcntl::OFlag;
use nix::poll::{PollFd, PollFlags, poll};
use nix::pty::{PtyMaster, grantpt, posix_openpt, ptsname_r, unlockpt};
use nix::sys::termios::{SetArg, cfmakeraw, tcgetattr, tcsetattr};

/// The device side of a pty: reads wait at most [`Master::TIMEOUT`] (then `TimedOut`), as a serial
/// port's would; a read with no process holding the slave fails (EIO).
#[derive(Debug)]
pub struct Master {
    pty: PtyMaster,
}

impl Master {
    pub const TIMEOUT: Duration = Duration::from_millis(10);
}

/// A new pty: its master and the path of its slave (`/dev/pts/N`), set raw (no echo, no line editing).
pub fn open() -> io::Result<(Master, PathBuf)> {
    let pty = posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)?;
    grantpt(&pty)?;
    unlockpt(&pty)?;
    let path = PathBuf::from(ptsname_r(&pty)?);
    let slave = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)?;
    let mut termios = tcgetattr(slave.as_raw_fd())?;
    cfmakeraw(&mut termios);
    tcsetattr(slave.as_raw_fd(), SetArg::TCSANOW, &termios)?;
    drop(slave);
    Ok((Master { pty }, path))
}

impl Read for Master {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut fds = [PollFd::new(self.pty.as_raw_fd(), PollFlags::POLLIN)];
        let millis = i32::try_from(Self::TIMEOUT.as_millis()).unwrap_or(i32::MAX);
        if poll(&mut fds, millis)? == 0 {
            return Err(io::ErrorKind::TimedOut.into());
        }
        self.pty.read(buf)
    }
}

impl Write for Master {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pty.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.pty.flush()
    }
}
