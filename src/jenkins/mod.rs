//! Jenkins: the polling client, the response parser and the embedded simulator (demo mode and tests).

pub mod client;
pub mod parse;
pub mod sim;
pub mod tree;

pub use client::{Client, Credentials, FetchError, Fetched, Root, Source};
