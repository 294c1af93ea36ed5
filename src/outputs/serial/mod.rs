//! The serial LED strip: protocol v1 codec, port discovery, and the worker thread that owns the port and
//! keeps the strip showing the latest frame ([`Device`]).
//!
//! The engine runs it through [`crate::outputs::StripOutput`]; the CLI uses [`list_ports`], [`probe`]
//! and [`test_pattern`] (which runs on a network strip too).

pub mod discovery;
pub mod link;
pub mod protocol;
pub mod worker;

use std::sync::Arc;

pub use crate::outputs::status::{DeviceStatus, NOT_FOUND_ADVICE, Search, Tried};
pub use crate::outputs::strip::{TestPatternError, test_pattern};
pub use discovery::{
    AutoDiscovery, ListError, PortKind, PortReport, ProbeOutcome, list_ports, probe,
};
pub use link::LinkError;
pub use protocol::ByeAction;
pub use worker::{DEFAULT_BAUD, Device, DeviceSettings};

/// Told each status the device worker reports (connected, searching, lost…).
pub type StatusSink = Arc<dyn Fn(DeviceStatus) + Send + Sync>;
