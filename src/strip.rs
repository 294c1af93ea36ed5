//! Where frames go: the `Strip` sink abstraction, a virtual strip that keeps the latest frame (tests, the
//! mirror), and a printer for `--print-frames`. The serial device is driven by the engine itself.

use std::io::Write;
use std::sync::{Arc, Mutex};

use crate::frame::{Rgb, hex_line};

/// A sink for frames. `show` is called with every new frame (only when it changed) and must not block
/// for long: a real device hands the frame to its own worker.
pub trait Strip: Send {
    fn show(&mut self, frame: &[Rgb]);
}

/// A strip that only remembers: the latest frame and how many frames it was shown.
#[derive(Debug, Clone, Default)]
pub struct VirtualStrip {
    inner: Arc<Mutex<(Vec<Rgb>, u64)>>,
}

impl VirtualStrip {
    pub fn new() -> Self {
        Self::default()
    }

    /// The latest frame (empty before the first).
    pub fn latest(&self) -> Vec<Rgb> {
        self.lock().0.clone()
    }

    /// How many frames were shown.
    pub fn frames(&self) -> u64 {
        self.lock().1
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (Vec<Rgb>, u64)> {
        match self.inner.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

impl Strip for VirtualStrip {
    fn show(&mut self, frame: &[Rgb]) {
        let mut g = self.lock();
        g.0 = frame.to_vec();
        g.1 += 1;
    }
}

/// Prints each frame as one line of hex colours (`ff0000 00ff00 …`).
#[derive(Debug)]
pub struct PrintStrip<W: Write + Send> {
    out: W,
    failed: bool,
}

impl<W: Write + Send> PrintStrip<W> {
    pub fn new(out: W) -> Self {
        Self { out, failed: false }
    }
}

impl<W: Write + Send> Strip for PrintStrip<W> {
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
    fn the_print_strip_writes_one_hex_line_per_frame() {
        let mut buf = Vec::new();
        {
            let mut p = PrintStrip::new(&mut buf);
            p.show(&[Rgb::new(255, 0, 0), Rgb::new(0, 255, 0)]);
            p.show(&[Rgb::OFF, Rgb::new(1, 2, 3)]);
        }
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "ff0000 00ff00\n000000 010203\n"
        );
    }

    #[test]
    fn the_virtual_strip_keeps_the_latest_frame() {
        let v = VirtualStrip::new();
        let mut sink = v.clone();
        sink.show(&[Rgb::new(1, 1, 1)]);
        sink.show(&[Rgb::new(2, 2, 2)]);
        assert_eq!(v.latest(), vec![Rgb::new(2, 2, 2)]);
        assert_eq!(v.frames(), 2);
    }
}
