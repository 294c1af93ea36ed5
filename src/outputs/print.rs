//! `--print-frames`: each frame as one line of hex colours on a writer (stdout).

use std::io::Write;

use super::Output;
use crate::color::{Rgb, hex_line};

/// Prints each frame as one line of hex colours (`ff0000 00ff00 …`).
#[derive(Debug)]
pub struct PrintFrames<W: Write + Send> {
    out: W,
    failed: bool,
}

impl<W: Write + Send> PrintFrames<W> {
    pub fn new(out: W) -> Self {
        Self { out, failed: false }
    }
}

impl<W: Write + Send> Output for PrintFrames<W> {
    fn show(&mut self, frame: &[Rgb]) {
        if self.failed {
            return;
        }
        let line = hex_line(frame);
        if let Err(e) = writeln!(self.out, "{line}").and_then(|()| self.out.flush()) {
            // stdout closed (e.g. piped into `head`): stop printing, keep running.
            tracing::info!("frame output closed ({e}); no longer printing frames");
            self.failed = true;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn print_frames_writes_one_hex_line_per_frame() {
        let mut buf = Vec::new();
        {
            let mut p = PrintFrames::new(&mut buf);
            p.show(&[Rgb::new(255, 0, 0), Rgb::new(0, 255, 0)]);
            p.show(&[Rgb::OFF, Rgb::new(1, 2, 3)]);
        }
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "ff0000 00ff00\n000000 010203\n"
        );
    }
}
