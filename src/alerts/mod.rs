//! Alerts: desktop notifications and sounds when jobs break or are fixed and when servers drop out.
//!
//! - [`policy`] decides, purely, what a batch of [`Transition`](crate::model::Transition)s alerts
//!   (batching, flapping limit, switches, pause, quiet hours).
//! - [`Notifier`] and [`SoundSink`] are the platform calls: the desktop ones (`notify-rust`, feature `gui`;
//!   `rodio`, feature `sound`) or, when a feature is off, ones that only log what they would have done.
//! - [`AlertWorker`] runs it all off the caller's threads: the engine sends batches into a channel and
//!   never waits for a notification daemon or an audio device.
//! - [`synth`] makes the built-in sounds.

use std::path::{Path, PathBuf};

use thiserror::Error;

#[cfg(feature = "gui")]
pub mod notify;
pub mod policy;
#[cfg(feature = "sound")]
pub mod sound;
pub mod synth;
mod worker;

pub use policy::{Alert, AlertKind, AlertPolicy, Decision, Moment, RateLimit, SoundKind};
pub use worker::{AlertHandle, AlertStats, AlertStatus, AlertWorker, Listen};

/// Desktop notifications could not be shown.
#[derive(Debug, Error)]
pub enum NotifyError {
    #[error("desktop notifications are unavailable: {0}")]
    Unavailable(String),
}

/// A sound could not be played.
#[derive(Debug, Error)]
pub enum SoundError {
    #[error("no audio output: {0}")]
    NoDevice(String),
    /// The user's sound file could not be used; the built-in sound was played instead.
    #[error("cannot play sound file {}: {reason} (playing the built-in sound instead)", path.display())]
    BadFile { path: PathBuf, reason: String },
}

/// Shows one notification. Called on the alert worker's own thread; may block.
pub trait Notifier: Send {
    fn show(&mut self, alert: &Alert) -> Result<(), NotifyError>;
}

/// Plays one sound: the user's file when `custom` is given, else the built-in sound of `kind`. Called
/// on the alert worker's sound thread; must not wait for the sound to finish.
pub trait SoundSink: Send {
    fn play(&mut self, kind: SoundKind, custom: Option<&Path>) -> Result<(), SoundError>;
}

/// The notifier for a build without desktop notifications (no `gui` feature): logs, at debug level, what
/// would have been shown.
#[derive(Debug, Default, Clone, Copy)]
pub struct LogNotifier;

impl Notifier for LogNotifier {
    fn show(&mut self, alert: &Alert) -> Result<(), NotifyError> {
        tracing::debug!(
            "notification (no desktop notifications in this build): {}: {}",
            alert.title,
            alert.body
        );
        Ok(())
    }
}

/// The sound sink for a build without sound (no `sound` feature): logs, at debug level, what would have
/// been played.
#[derive(Debug, Default, Clone, Copy)]
pub struct LogSound;

impl SoundSink for LogSound {
    fn play(&mut self, kind: SoundKind, custom: Option<&Path>) -> Result<(), SoundError> {
        match custom {
            Some(path) => tracing::debug!(
                "sound (no sound in this build): {kind:?} from {}",
                path.display()
            ),
            None => tracing::debug!("sound (no sound in this build): built-in {kind:?}"),
        }
        Ok(())
    }
}

/// Whether `path` is a sound file the alerts can play: it is a file, not empty, and (built with sound)
/// rodio decodes it. Reads and decodes the file: call it off the UI thread.
pub fn check_sound_file(path: &Path) -> Result<(), String> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| format!("{shown}: {e}"))?;
    if !meta.is_file() {
        return Err(format!("{shown}: not a file"));
    }
    if meta.len() == 0 {
        return Err(format!("{shown}: the file is empty"));
    }
    #[cfg(feature = "sound")]
    if let Err(SoundError::BadFile { reason, .. } | SoundError::NoDevice(reason)) =
        sound::load_file(path)
    {
        return Err(format!("{shown}: {reason}"));
    }
    Ok(())
}

/// The desktop notifier when built with `gui`, else [`LogNotifier`].
pub fn default_notifier() -> Box<dyn Notifier> {
    #[cfg(feature = "gui")]
    {
        Box::new(notify::DesktopNotifier::new())
    }
    #[cfg(not(feature = "gui"))]
    {
        Box::new(LogNotifier)
    }
}

/// The audio device sink when built with `sound` (opened lazily, on the first sound), else [`LogSound`].
pub fn default_sound() -> Box<dyn SoundSink> {
    #[cfg(feature = "sound")]
    {
        Box::new(sound::DeviceSound::new())
    }
    #[cfg(not(feature = "sound"))]
    {
        Box::new(LogSound)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    /// A short mono 16-bit PCM WAV file (a click).
    fn wav() -> Vec<u8> {
        let samples: Vec<i16> = (0..800)
            .map(|i| if i % 40 < 20 { 8000 } else { -8000 })
            .collect();
        let data: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
        let mut out = Vec::new();
        out.extend_from_slice(b"RIFF");
        out.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
        out.extend_from_slice(b"WAVEfmt ");
        out.extend_from_slice(&16u32.to_le_bytes());
        out.extend_from_slice(&1u16.to_le_bytes()); // PCM
        out.extend_from_slice(&1u16.to_le_bytes()); // mono
        out.extend_from_slice(&8000u32.to_le_bytes());
        out.extend_from_slice(&16000u32.to_le_bytes());
        out.extend_from_slice(&2u16.to_le_bytes());
        out.extend_from_slice(&16u16.to_le_bytes());
        out.extend_from_slice(b"data");
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(&data);
        out
    }

    #[test]
    fn a_sound_file_is_refused_when_missing_empty_or_not_audio() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.wav");
        std::fs::write(&good, wav()).unwrap();
        assert_eq!(check_sound_file(&good), Ok(()));

        let empty = dir.path().join("empty.wav");
        std::fs::write(&empty, b"").unwrap();
        let e = check_sound_file(&empty).unwrap_err();
        assert!(e.ends_with("empty.wav: the file is empty"), "{e}");

        let missing = dir.path().join("missing.wav");
        let e = check_sound_file(&missing).unwrap_err();
        assert!(e.contains("missing.wav: No such file"), "{e}");

        let e = check_sound_file(dir.path()).unwrap_err();
        assert!(e.ends_with(": not a file"), "{e}");

        #[cfg(feature = "sound")]
        {
            let garbage = dir.path().join("garbage.ogg");
            std::fs::write(&garbage, b"this is no sound, just text\n".repeat(50)).unwrap();
            let e = check_sound_file(&garbage).unwrap_err();
            assert!(
                e.contains("garbage.ogg: not a sound file rodio can decode"),
                "{e}"
            );
        }
    }
    use std::time::{Duration, Instant};

    fn alert() -> Alert {
        Alert {
            kind: AlertKind::Broke,
            title: "api broke".into(),
            body: "Build #3 of api on ci: failure".into(),
            url: Some("http://ci/job/api/3/".into()),
            notify: true,
            sound: Some(SoundKind::Broke),
            jobs: Vec::new(),
        }
    }

    #[test]
    fn the_log_only_implementations_succeed() {
        assert!(LogNotifier.show(&alert()).is_ok());
        assert!(LogSound.play(SoundKind::Fixed, None).is_ok());
        assert!(
            LogSound
                .play(SoundKind::Broke, Some(Path::new("/x.wav")))
                .is_ok()
        );
    }

    /// Without a session bus (this machine, CI) notify-rust fails fast with an error, no panic. (Skipped
    /// on a desktop, where it would pop a real notification.)
    #[test]
    fn the_default_notifier_fails_fast_without_a_desktop() {
        let bus = std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some()
            || std::env::var_os("XDG_RUNTIME_DIR")
                .is_some_and(|d| Path::new(&d).join("bus").exists());
        if bus {
            return;
        }
        let started = Instant::now();
        let result = default_notifier().show(&alert());
        if cfg!(all(feature = "gui", target_os = "linux")) {
            let e = result.unwrap_err();
            assert!(e.to_string().contains("unavailable"), "{e}");
            assert!(started.elapsed() < Duration::from_secs(5));
        } else {
            assert!(result.is_ok());
        }
    }

    /// Without a sound card `open_default_sink()` fails in milliseconds: an error, no panic. (Skipped
    /// where there is a sound card, where it would beep.)
    #[test]
    fn the_default_sound_fails_fast_without_a_sound_card() {
        let asoundrc =
            std::env::var_os("HOME").is_some_and(|h| Path::new(&h).join(".asoundrc").exists());
        if !cfg!(target_os = "linux") || Path::new("/dev/snd").exists() || asoundrc {
            return;
        }
        let result = default_sound().play(SoundKind::Broke, None);
        if cfg!(feature = "sound") {
            assert!(matches!(result, Err(SoundError::NoDevice(_))), "{result:?}");
        } else {
            assert!(result.is_ok());
        }
    }

    #[test]
    fn a_bad_file_error_names_the_file() {
        let e = SoundError::BadFile {
            path: PathBuf::from("/home/me/broke.ogg"),
            reason: "no such file".into(),
        };
        assert_eq!(
            e.to_string(),
            "cannot play sound file /home/me/broke.ogg: no such file (playing the built-in sound instead)"
        );
    }
}
