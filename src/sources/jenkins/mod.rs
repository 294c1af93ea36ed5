//! Jenkins: the one-request `tree=` client, the response parser and the URL/tree query builder.

pub mod client;
mod lenient;
pub mod parse;
pub mod tree;

pub use client::{Client, Settings};
