//! Another ledtogo as a source (`kind = "ledtogo"`): a desk reads the office relay's rich feed
//! (`GET /api/json` of its `[export]`) instead of polling the CI servers itself. The feed's format, both
//! the writing and the reading side, is [`feed`]; the desk's source reading it is [`client`].

pub mod client;
pub mod feed;

pub use client::{Client, Settings};
