//! The serial LED device: protocol v1 codec, port discovery, and the worker thread that owns
//! the port and keeps the strip showing the latest frame.
//!
//! The engine uses [`Device`] (spawn, `show`, `identify`, `status`, `close`); the CLI uses
//! [`list_ports`], [`probe`] and [`test_pattern`]. [`emulator`] is test and diagnostic tooling.

pub mod discovery;
pub mod emulator;
pub mod link;
pub mod protocol;
pub mod worker;

pub use discovery::{ListError, PortKind, PortReport, ProbeOutcome, list_ports, probe};
pub use link::LinkError;
pub use protocol::ByeAction;
pub use worker::{
    DEFAULT_BAUD, Device, DeviceSettings, DeviceStatus, PortChoice, TestPatternError, test_pattern,
};
