//! ledtogo: Jenkins job states on a USB LED strip.
//!
//! Data flows one way: [`jenkins`] → [`model`] → [`frame`] → [`strip`] (device or mirror).

pub mod device;
pub mod frame;
