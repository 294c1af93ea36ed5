//! The serial LED device: protocol v1 codec, port discovery, and the worker thread that owns
//! the port and keeps the strip showing the latest frame.

pub mod protocol;
