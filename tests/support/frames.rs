//! `ledtogo --headless --print-frames`, end to end: the child process, its frames line by line, and the
//! colours the default strip settings show.

use std::cell::RefCell;
use std::process::Stdio;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use ledtogo::color::{Correction, Rgb};

use super::{KillOnDrop, ledtogo, lines_of};

/// One printed frame: the LEDs' colours as hex.
pub fn parse_frame(line: &str) -> Vec<Rgb> {
    line.split(' ')
        .map(|h| Rgb::parse_hex(h).unwrap_or_else(|| panic!("bad frame line {line:?}")))
        .collect()
}

/// A colour as the default strip settings show it (brightness 0.5, gamma 2.2).
pub fn shown(rgb: Rgb) -> Rgb {
    Correction {
        brightness: 0.5,
        gamma: 2.2,
    }
    .apply(rgb)
}

/// `ledtogo --headless --print-frames --config PATH`, its frames read line by line; killed on drop.
pub struct Frames {
    lines: Receiver<String>,
    last: RefCell<String>,
    _child: KillOnDrop,
}

impl Frames {
    pub fn start(config: &std::path::Path) -> Frames {
        Frames::start_with(config, &[])
    }

    /// With these environment variables set (a token).
    pub fn start_with(config: &std::path::Path, env: &[(&str, &str)]) -> Frames {
        let mut cmd = ledtogo();
        cmd.args(["--headless", "--print-frames", "--config"])
            .arg(config)
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let lines = lines_of(&mut child);
        Frames {
            lines,
            last: RefCell::new(String::new()),
            _child: KillOnDrop(child),
        }
    }

    /// Waits (up to 20 s) for a frame that is `want`.
    pub fn wait_for(&self, want: &[Rgb]) -> bool {
        let end = Instant::now() + Duration::from_secs(20);
        while let Some(left) = end.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) if parse_frame(&line) == want => return true,
                Ok(line) => *self.last.borrow_mut() = line,
                Err(_) => return false,
            }
        }
        false
    }

    /// Waits (up to 20 s) for a frame that `want` accepts, and returns it.
    pub fn wait_until(&self, mut want: impl FnMut(&[Rgb]) -> bool) -> Option<Vec<Rgb>> {
        let end = Instant::now() + Duration::from_secs(20);
        while let Some(left) = end.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let frame = parse_frame(&line);
                    if want(&frame) {
                        return Some(frame);
                    }
                    *self.last.borrow_mut() = line;
                }
                Err(_) => return None,
            }
        }
        None
    }

    /// The last frame line that was not the one waited for.
    pub fn last(&self) -> String {
        self.last.borrow().clone()
    }
}
