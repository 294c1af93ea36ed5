//! The serial LED strip: protocol v1 codec, port discovery, the worker thread that owns the port and
//! keeps the strip showing the latest frame, and [`SerialOutput`], the [`Output`] that follows `[strip]`.
//!
//! The engine sees only [`SerialOutput`]; the CLI uses [`list_ports`], [`probe`] and [`test_pattern`].

pub mod discovery;
pub mod link;
pub mod protocol;
pub mod worker;

use std::sync::Arc;

use super::Output;
use crate::color::Rgb;
use crate::config::{Config, PortChoice};

pub use discovery::{
    AutoDiscovery, ListError, PortKind, PortReport, ProbeOutcome, list_ports, probe,
};
pub use link::LinkError;
pub use protocol::ByeAction;
pub use worker::{
    DEFAULT_BAUD, Device, DeviceSettings, DeviceStatus, NOT_FOUND_ADVICE, Search, TestPatternError,
    Tried, test_pattern,
};

/// Told each status the device worker reports (connected, searching, lost…).
pub type StatusSink = Arc<dyn Fn(DeviceStatus) + Send + Sync>;

/// The serial strip as an output: runs a [`Device`] for the config's `[strip]` settings, restarts it
/// when they change, and stops it for `port = "none"`.
pub struct SerialOutput {
    device: Option<(DeviceSettings, Device)>,
    on_status: StatusSink,
    last_frame: Option<Vec<Rgb>>,
}

impl std::fmt::Debug for SerialOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SerialOutput")
            .field("settings", &self.device.as_ref().map(|(s, _)| s))
            .finish_non_exhaustive()
    }
}

impl SerialOutput {
    /// No device until the first [`Output::configure`]; `on_status` hears every status change.
    pub fn new(on_status: StatusSink) -> Self {
        Self {
            device: None,
            on_status,
            last_frame: None,
        }
    }
}

impl Output for SerialOutput {
    fn show(&mut self, frame: &[Rgb]) {
        if let Some((_, device)) = &self.device {
            device.show(frame.to_vec());
        }
        self.last_frame = Some(frame.to_vec());
    }

    fn configure(&mut self, config: &Config) {
        let wanted = DeviceSettings::from(&config.strip);
        if self.device.as_ref().is_some_and(|(s, _)| *s == wanted) {
            return;
        }
        if let Some((_, old)) = self.device.take() {
            old.close();
        }
        if wanted.port == PortChoice::None {
            (self.on_status)(DeviceStatus::Disabled);
            return;
        }
        // The device worker logs its status changes itself; here they are only passed on.
        let on_status = self.on_status.clone();
        let device = Device::spawn(wanted.clone(), move |status| on_status(status.clone()));
        if let Some(frame) = &self.last_frame {
            device.show(frame.clone());
        }
        self.device = Some((wanted, device));
    }
}
