//! Sounds through `rodio` (feature `sound`): the default audio device, opened lazily on the first sound
//! and kept open; when there is none, opening is retried at most every [`RETRY_OPEN`].
//!
//! Playing only hands the sound to the device's mixer: it never waits for the sound to end. A user's
//! sound file is decoded up front (at most [`MAX_FILE_SECONDS`]), so a broken file is an error naming it,
//! and the built-in sound plays instead.

use std::num::NonZero;
use std::path::Path;
use std::time::{Duration, Instant};

use rodio::Source as _;
use rodio::buffer::SamplesBuffer;

use super::policy::SoundKind;
use super::{SoundError, SoundSink, synth};

/// How long to wait before trying to open a missing audio device again.
pub const RETRY_OPEN: Duration = Duration::from_secs(60);

/// The longest part of a user's sound file that is played.
pub const MAX_FILE_SECONDS: u32 = 10;

const MONO: NonZero<u16> = NonZero::<u16>::MIN;
const RATE: NonZero<u32> = match NonZero::new(synth::SAMPLE_RATE) {
    Some(r) => r,
    None => panic!("the sample rate is not zero"),
};

/// A built-in sound as a rodio source.
pub fn builtin(kind: SoundKind) -> SamplesBuffer {
    SamplesBuffer::new(MONO, RATE, synth::samples(kind))
}

/// Decodes a user's sound file (wav, ogg, flac, mp3), at most [`MAX_FILE_SECONDS`] of it.
pub fn load_file(path: &Path) -> Result<SamplesBuffer, SoundError> {
    let bad = |reason: String| SoundError::BadFile {
        path: path.to_path_buf(),
        reason,
    };
    let file = std::fs::File::open(path).map_err(|e| bad(e.to_string()))?;
    let decoder = rodio::Decoder::try_from(file)
        .map_err(|e| bad(format!("not a sound file rodio can decode ({e})")))?;
    let (channels, rate) = (decoder.channels(), decoder.sample_rate());
    let limit = usize::from(channels.get())
        .saturating_mul(usize::try_from(rate.get()).unwrap_or(usize::MAX))
        .saturating_mul(MAX_FILE_SECONDS as usize);
    let samples: Vec<rodio::Sample> = decoder.take(limit).collect();
    if samples.is_empty() {
        return Err(bad("it contains no sound".into()));
    }
    Ok(SamplesBuffer::new(channels, rate, samples))
}

/// Plays on the default audio device.
#[derive(Debug, Default)]
pub struct DeviceSound {
    sink: Option<rodio::MixerDeviceSink>,
    /// When opening last failed, and why.
    failed: Option<(Instant, String)>,
    /// How many times opening the device was tried.
    opened: u32,
}

impl DeviceSound {
    pub fn new() -> Self {
        Self::default()
    }

    /// The open device: opened now if needed (unless that failed less than [`RETRY_OPEN`] ago).
    fn mixer(&mut self) -> Result<&rodio::mixer::Mixer, SoundError> {
        if self.sink.is_none() {
            if let Some((at, reason)) = &self.failed
                && at.elapsed() < RETRY_OPEN
            {
                return Err(SoundError::NoDevice(reason.clone()));
            }
            self.opened += 1;
            match rodio::DeviceSinkBuilder::open_default_sink() {
                Ok(mut sink) => {
                    sink.log_on_drop(false);
                    self.sink = Some(sink);
                    self.failed = None;
                }
                Err(e) => {
                    let reason = e.to_string();
                    self.failed = Some((Instant::now(), reason.clone()));
                    return Err(SoundError::NoDevice(reason));
                }
            }
        }
        self.sink
            .as_ref()
            .map(rodio::MixerDeviceSink::mixer)
            .ok_or_else(|| SoundError::NoDevice("the audio device was just closed".into()))
    }
}

impl SoundSink for DeviceSound {
    fn play(&mut self, kind: SoundKind, custom: Option<&Path>) -> Result<(), SoundError> {
        let mixer = self.mixer()?;
        match custom.map(load_file).transpose() {
            Ok(Some(source)) => mixer.add(source),
            Ok(None) => mixer.add(builtin(kind)),
            Err(e) => {
                mixer.add(builtin(kind));
                return Err(e);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn wav(kind: SoundKind) -> Vec<u8> {
        let mut out = std::io::Cursor::new(Vec::new());
        rodio::wav_to_writer(builtin(kind), &mut out).unwrap();
        out.into_inner()
    }

    #[test]
    fn the_builtin_sounds_render_without_a_device() {
        for kind in [SoundKind::Broke, SoundKind::Fixed] {
            let bytes = wav(kind);
            assert_eq!(&bytes[..4], b"RIFF");
            assert_eq!(&bytes[8..12], b"WAVE");
            // 32-bit float mono: 4 bytes a sample, plus a small header.
            let samples = synth::samples(kind).len();
            assert!(bytes.len() >= samples * 4 && bytes.len() < samples * 4 + 100);
            let duration = builtin(kind).total_duration().unwrap();
            assert!(duration < Duration::from_secs(1), "{duration:?}");
        }
        assert_ne!(wav(SoundKind::Broke), wav(SoundKind::Fixed));
    }

    #[test]
    fn a_sound_file_round_trips_and_bad_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("fixed.wav");
        rodio::wav_to_file(builtin(SoundKind::Fixed), &good).unwrap();
        let loaded = load_file(&good).unwrap();
        assert_eq!(loaded.channels().get(), 1);
        assert_eq!(loaded.sample_rate().get(), synth::SAMPLE_RATE);
        assert_eq!(loaded.count(), synth::samples(SoundKind::Fixed).len());

        let missing = dir.path().join("missing.ogg");
        let e = load_file(&missing).unwrap_err().to_string();
        assert!(e.contains(&missing.display().to_string()), "{e}");
        assert!(e.contains("No such file"), "{e}");

        let text = dir.path().join("notes.wav");
        std::fs::write(&text, "these are not the sounds you are looking for").unwrap();
        let e = load_file(&text).unwrap_err().to_string();
        assert!(e.contains(&text.display().to_string()), "{e}");
        assert!(e.contains("not a sound file"), "{e}");
    }

    /// This machine has no sound card: the first sound fails fast, and the device is not tried again
    /// for a minute. (Skipped where a device opens.)
    #[test]
    fn a_missing_device_is_retried_at_most_once_a_minute() {
        let mut sound = DeviceSound::new();
        let started = Instant::now();
        if sound.play(SoundKind::Broke, None).is_ok() {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(5));
        for _ in 0..5 {
            assert!(matches!(
                sound.play(SoundKind::Fixed, None),
                Err(SoundError::NoDevice(_))
            ));
        }
        assert_eq!(sound.opened, 1);
        // Pretend the minute has passed.
        if let Some((at, _)) = &mut sound.failed {
            *at = Instant::now().checked_sub(RETRY_OPEN).unwrap();
        }
        assert!(sound.play(SoundKind::Fixed, None).is_err());
        assert_eq!(sound.opened, 2);
    }

    #[test]
    fn the_device_sink_can_move_to_the_sound_thread() {
        fn is_send<T: Send>() {}
        is_send::<DeviceSound>();
    }
}
