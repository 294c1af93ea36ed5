//! The serial LED device: protocol v1 codec, port discovery, and the worker thread that owns
//! the port and keeps the strip showing the latest frame.

pub mod discovery;
pub mod emulator;
pub mod link;
pub mod protocol;
pub mod worker;

pub use discovery::{PortKind, PortReport, ProbeOutcome, list_ports, probe};
pub use worker::{
    Device, DeviceSettings, DeviceStatus, PortChoice, TestPatternError, test_pattern,
};
