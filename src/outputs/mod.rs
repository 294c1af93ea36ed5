//! Where frames go, behind one trait: the serial strip ([`serial`]), the `--print-frames` printer
//! ([`mod@print`]) and a strip that only remembers ([`virtual_strip`], tests and embedders). The engine hands
//! every new frame to each output and each (re)loaded config to each output; it knows no output by kind.
//! [`mdns`] finds Wi-Fi strips (WLED) on the network for the Device tab and `ledtogo ports`.
//!
//! A new kind of strip is one new module here implementing [`Output`].

pub mod mdns;
pub mod print;
pub mod serial;
pub mod virtual_strip;

use crate::color::Rgb;
use crate::config::Config;

pub use print::PrintFrames;
pub use serial::SerialOutput;
pub use virtual_strip::VirtualStrip;

/// A sink for frames.
pub trait Output: Send {
    /// Called with every new frame (only when it changed). Must not block for long: an output that
    /// does I/O hands the frame to its own worker.
    fn show(&mut self, frame: &[Rgb]);

    /// Called with the config at start and after every reload; an output configured by the file (the
    /// serial strip follows `[strip]`) restarts itself when its settings changed. The frame shown
    /// last is re-sent by the engine afterwards.
    fn configure(&mut self, _config: &Config) {}
}
