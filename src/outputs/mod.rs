//! Where frames go, behind one trait: the strip ([`strip`]: the serial device of [`serial`] or a network
//! strip over DDP of [`ddp`], whichever `[strip] port` names, reporting a [`status::DeviceStatus`]), the
//! `--print-frames` printer ([`mod@print`]) and a strip that only remembers ([`virtual_strip`], tests and
//! embedders). The engine hands
//! every new frame to each output and each (re)loaded config to each output; it knows no output by kind.
//! [`mdns`] finds Wi-Fi strips (WLED) on the network for the Device tab and `ledtogo ports`.
//!
//! A new kind of strip is one new module here implementing [`Output`].

pub mod ddp;
pub mod mailbox;
pub mod mdns;
pub mod print;
pub mod serial;
pub mod status;
pub mod strip;
pub mod virtual_strip;

use crate::color::Rgb;
use crate::config::Config;

pub use print::PrintFrames;
pub use status::DeviceStatus;
pub use strip::StripOutput;
pub use virtual_strip::VirtualStrip;

/// A sink for frames.
pub trait Output: Send {
    /// Called with every new frame (only when it changed). Must not block for long: an output that
    /// does I/O hands the frame to its own worker.
    fn show(&mut self, frame: &[Rgb]);

    /// Called with the config at start and after every reload; an output configured by the file (the
    /// strip follows `[strip]`) restarts itself when its settings changed. The frame shown
    /// last is re-sent by the engine afterwards.
    fn configure(&mut self, _config: &Config) {}
}
