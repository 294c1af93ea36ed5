//! Jenkins: the one-request `tree=` client, the response parser, the URL/tree query builder and the
//! "who broke it" follow-up for a build that broke.

pub mod blame;
pub mod client;
pub(crate) mod lenient;
pub mod parse;
pub mod tree;

pub use client::{Client, Settings};
