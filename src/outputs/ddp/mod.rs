//! Network strips over DDP: WLED (ESP8266/ESP32), ESPixelStick, xLights receivers. `port =
//! "ddp://HOST[:PORT]"` streams each frame as DDP packets over UDP (port 4048 by default);
//! `port = "wled://HOST"` first asks WLED's JSON API who the board is, then streams the same way.
//!
//! - [`codec`]: the packets (pure, unit-tested against the spec's bytes);
//! - [`wled`]: `GET /json/info` (name, version, LED count), read as hostile;
//! - [`sender`]: the thread that owns the socket, sends each new frame at once and re-sends the last
//!   one while nothing changes, so WLED never leaves realtime mode while ledtogo runs. When ledtogo
//!   goes silent, WLED goes back to its own effect after its timeout (2.5 s): the Wi-Fi watchdog.
//!
//! The frame sent is the engine's frame, brightness and gamma applied (the mirror shows the same).

pub mod codec;
pub mod sender;
pub mod wled;

pub use sender::{Sender, Target};

/// `ledtogo ports --probe ddp://…|wled://…`: what can be known about a network strip without
/// lighting it. A WLED board says who it is (`WLED 0.15.0 'desk', 60 LEDs`); a DDP receiver sends no
/// answer, so only the name lookup can be checked.
pub fn probe(target: &Target) -> Result<String, String> {
    match target {
        Target::Wled { host, http_port } => match wled::ask(host, *http_port) {
            Ok(info) => Ok(info.to_string()),
            Err(e) => Err(format!("{e}; {}", wled::advice(&e))),
        },
        Target::Ddp { host, port } => {
            let addr = sender::resolve(host, *port)?;
            Ok(format!(
                "DDP to {addr}: the name resolves; DDP sends no answer, so only the strip shows \
                 whether something listens (`ledtogo test-pattern --port {}` lights it)",
                target.label()
            ))
        }
    }
}
