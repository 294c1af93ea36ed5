//! ledtogo: CI job states on a USB LED strip, a tray icon and a window.
//!
//! Data flows one way: [`sources`] → [`model`] → [`frame`] → [`outputs`] (and the mirror); alerts hang
//! off the model's [`model::Transition`]s. The [`engine`] is the worker that ties them together.

pub mod ack;
pub mod alerts;
pub mod autostart;
pub mod backoff;
pub mod cli;
pub mod clock;
pub mod color;
pub mod config;
pub mod demo;
pub mod desktop_env;
pub mod engine;
pub mod export;
pub mod flaky;
pub mod flash;
pub mod frame;
#[cfg(feature = "gui")]
pub mod gui;
pub mod instance;
pub mod labels;
pub mod logging;
pub mod model;
pub mod outputs;
pub mod poller;
pub mod settings;
pub mod sim;
pub mod sources;
pub mod state;
#[cfg(test)]
pub(crate) mod test_fixtures;
pub mod text;
pub mod tray;
pub mod weburl;
