//! A strip that only remembers: the latest frame and how many frames it was shown (tests, embedders).

use std::sync::Arc;

use parking_lot::Mutex;

use super::Output;
use crate::color::Rgb;

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

    fn lock(&self) -> parking_lot::MutexGuard<'_, (Vec<Rgb>, u64)> {
        self.inner.lock()
    }
}

impl Output for VirtualStrip {
    fn show(&mut self, frame: &[Rgb]) {
        let mut g = self.lock();
        g.0 = frame.to_vec();
        g.1 += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
