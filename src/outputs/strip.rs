//! The strip output: the one [`Output`] that follows `[strip] port` and runs whichever strip it names,
//! the serial device ([`Device`]) or a network strip over DDP ([`ddp::Sender`]), switching
//! when a reload changes the port. Exactly one of them runs and reports the published
//! [`DeviceStatus`]. Also the test pattern (`ledtogo test-pattern`), on either kind.

use std::time::{Duration, Instant};

use super::Output;
use super::ddp::{self, Target};
use super::serial::{ByeAction, Device, DeviceSettings, StatusSink};
use super::status::DeviceStatus;
use crate::color::{Correction, Rgb};
use crate::config::{Config, PortChoice};
use crate::frame::{Overlay, TEST_RAINBOW, TEST_STEP};

/// A running strip of either kind.
#[derive(Debug)]
enum Running {
    Serial(Device),
    Network(ddp::Sender),
}

impl Running {
    /// Starts the strip `settings.port` names (not `none`).
    fn spawn(
        settings: DeviceSettings,
        on_status: impl Fn(&DeviceStatus) + Send + 'static,
    ) -> Running {
        match Target::of(&settings.port) {
            Some(target) => Running::Network(ddp::Sender::spawn(target, settings.leds, on_status)),
            None => Running::Serial(Device::spawn(settings, on_status)),
        }
    }

    fn show(&self, frame: Vec<Rgb>) {
        match self {
            Running::Serial(d) => d.show(frame),
            Running::Network(s) => s.show(frame),
        }
    }

    fn status(&self) -> DeviceStatus {
        match self {
            Running::Serial(d) => d.status(),
            Running::Network(s) => s.status(),
        }
    }

    fn wait_status(
        &self,
        timeout: Duration,
        pred: impl Fn(&DeviceStatus) -> bool,
    ) -> Option<DeviceStatus> {
        match self {
            Running::Serial(d) => d.wait_status(timeout, pred),
            Running::Network(s) => s.wait_status(timeout, pred),
        }
    }

    fn wait_delivered(&self, timeout: Duration) -> bool {
        match self {
            Running::Serial(d) => d.wait_delivered(timeout),
            Running::Network(s) => s.wait_delivered(timeout),
        }
    }

    /// Stops the strip as when ledtogo quits: a serial device goes stale (BYE), a network strip goes
    /// silent (WLED falls back to its own effect).
    fn close(self) {
        match self {
            Running::Serial(d) => d.close(),
            Running::Network(s) => s.close(),
        }
    }

    /// Ends a test pattern: the strip stays dark.
    fn finish(self) {
        match self {
            Running::Serial(d) => d.close_with(ByeAction::Blank),
            Running::Network(s) => s.close(),
        }
    }

    /// Gives up without a word (a serial device that never connected).
    fn abandon(self) {
        match self {
            Running::Serial(d) => d.abandon(),
            Running::Network(s) => s.close(),
        }
    }
}

/// The strip as an output: runs the serial device or the DDP sender for the config's `[strip]`
/// settings, restarts it when they change, and stops it for `port = "none"`.
pub struct StripOutput {
    running: Option<(DeviceSettings, Running)>,
    on_status: StatusSink,
    last_frame: Option<Vec<Rgb>>,
}

impl std::fmt::Debug for StripOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripOutput")
            .field("settings", &self.running.as_ref().map(|(s, _)| s))
            .finish_non_exhaustive()
    }
}

impl StripOutput {
    /// No strip until the first [`Output::configure`]; `on_status` hears every status change.
    pub fn new(on_status: StatusSink) -> Self {
        Self {
            running: None,
            on_status,
            last_frame: None,
        }
    }
}

impl Output for StripOutput {
    fn show(&mut self, frame: &[Rgb]) {
        if let Some((_, running)) = &self.running {
            running.show(frame.to_vec());
        }
        self.last_frame = Some(frame.to_vec());
    }

    fn configure(&mut self, config: &Config) {
        let wanted = DeviceSettings::from(&config.strip);
        if self.running.as_ref().is_some_and(|(s, _)| *s == wanted) {
            return;
        }
        if let Some((_, old)) = self.running.take() {
            old.close();
        }
        if wanted.port == PortChoice::None {
            let status = DeviceStatus::Disabled;
            tracing::info!(%status, "LED device status");
            (self.on_status)(status);
            return;
        }
        // Each worker logs its status changes itself; here they are only passed on.
        let on_status = self.on_status.clone();
        let running = Running::spawn(wanted.clone(), move |status| on_status(status.clone()));
        if let Some(frame) = &self.last_frame {
            running.show(frame.clone());
        }
        self.running = Some((wanted, running));
    }
}

/// Errors of [`test_pattern`].
#[derive(Debug, thiserror::Error)]
pub enum TestPatternError {
    #[error("no LED device connected within {seconds} s: {status}")]
    NotConnected { seconds: u64, status: DeviceStatus },
    #[error("the device did not take the frame for step {step:?} within {seconds} s: {status}")]
    NotDelivered {
        step: String,
        seconds: u64,
        status: DeviceStatus,
    },
}

const PATTERN_CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
const PATTERN_FRAME_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs the test pattern ([`Overlay::TestPattern`]: each LED in turn, then a rainbow, through the
/// strip's `correction`) on the strip `settings.port` names, then turns the strip off (a serial device
/// ends the session with BYE(blank); a network strip gets the dark frame and then silence).
/// Reports each step through `on_step`. Returns the status the device had (who was tested).
pub fn test_pattern(
    settings: DeviceSettings,
    correction: Correction,
    mut on_step: impl FnMut(&str),
) -> Result<DeviceStatus, TestPatternError> {
    let wanted_leds = settings.leds;
    let device = Running::spawn(settings, |_| {});
    on_step("connecting");
    let Some(status) = device.wait_status(PATTERN_CONNECT_TIMEOUT, DeviceStatus::is_connected)
    else {
        let status = device.status();
        device.abandon();
        return Err(TestPatternError::NotConnected {
            seconds: PATTERN_CONNECT_TIMEOUT.as_secs(),
            status,
        });
    };
    on_step(&status.to_string());
    let leds = match (&status, wanted_leds) {
        (_, n) if n > 0 => n,
        (DeviceStatus::Connected { leds, .. }, _) => usize::from(*leds),
        (
            DeviceStatus::Streaming {
                wled: Some(info), ..
            },
            _,
        ) => info.leds.clamp(1, crate::config::MAX_LEDS),
        _ => 16,
    };
    let step = |device: &Running, name: &str, frame: Vec<Rgb>| {
        device.show(frame);
        if device.wait_delivered(PATTERN_FRAME_TIMEOUT) {
            Ok(())
        } else {
            Err(TestPatternError::NotDelivered {
                step: name.to_owned(),
                seconds: PATTERN_FRAME_TIMEOUT.as_secs(),
                status: device.status(),
            })
        }
    };
    let pattern = |at: Duration| {
        let mut frame = vec![Rgb::OFF; leds];
        Overlay::TestPattern.draw(&mut frame, at, correction);
        frame
    };
    let run = |on_step: &mut dyn FnMut(&str)| -> Result<(), TestPatternError> {
        let started = Instant::now();
        // The middle of each LED's step of the chase, then the rainbow at 25 frames a second.
        for i in 0..leds {
            let at = TEST_STEP.saturating_mul(u32::try_from(i).unwrap_or(u32::MAX)) + TEST_STEP / 2;
            sleep_until(started + at);
            let name = format!("LED {} of {leds}", i + 1);
            on_step(&name);
            step(&device, &name, pattern(at))?;
        }
        on_step("rainbow");
        let chase = Overlay::TestPattern.length(leds) - TEST_RAINBOW;
        let frames = 50;
        for k in 0..frames {
            let at = chase + TEST_RAINBOW * k / frames;
            sleep_until(started + at);
            step(&device, "rainbow", pattern(at))?;
        }
        on_step("off");
        step(&device, "off", vec![Rgb::OFF; leds])
    };
    let result = run(&mut on_step);
    device.finish();
    result.map(|()| status)
}

fn sleep_until(t: Instant) {
    if let Some(d) = t.checked_duration_since(Instant::now()) {
        std::thread::sleep(d);
    }
}
