//! The built-in alert sounds, synthesized in code (no audio files): a falling two-tone for "broke" and a
//! rising bell arpeggio for "fixed". Mono `f32` samples at [`SAMPLE_RATE`], under a second each, peaking at
//! [`PEAK`] and fading in and out so they never click.

use std::f32::consts::TAU;

use super::policy::SoundKind;

/// Samples per second of the built-in sounds.
pub const SAMPLE_RATE: u32 = 44_100;

/// The loudest sample of a built-in sound (about −3 dBFS): loud enough, never clipping.
pub const PEAK: f32 = 0.7;

#[derive(Debug, Clone, Copy)]
enum Voice {
    /// A warm, sustained tone (odd harmonics) with a short fade in and out.
    Tone,
    /// A struck bell: a sine plus a faster-decaying octave, decaying exponentially.
    Bell,
}

#[derive(Debug, Clone, Copy)]
struct Note {
    /// Seconds from the start of the sound.
    start: f32,
    hz: f32,
    /// Seconds.
    length: f32,
}

const fn note(start: f32, hz: f32, length: f32) -> Note {
    Note { start, hz, length }
}

/// The samples of a built-in sound.
pub fn samples(kind: SoundKind) -> Vec<f32> {
    match kind {
        // E5 then A4: a falling fifth, "uh-oh".
        SoundKind::Broke => render(
            Voice::Tone,
            &[note(0.0, 659.25, 0.19), note(0.21, 440.0, 0.40)],
        ),
        // C5 E5 G5 C6: a quick rising major arpeggio.
        SoundKind::Fixed => render(
            Voice::Bell,
            &[
                note(0.0, 523.25, 0.45),
                note(0.08, 659.25, 0.45),
                note(0.16, 783.99, 0.45),
                note(0.24, 1046.50, 0.55),
            ],
        ),
    }
}

fn render(voice: Voice, notes: &[Note]) -> Vec<f32> {
    let rate = SAMPLE_RATE as f32;
    let end = notes
        .iter()
        .map(|n| n.start + n.length)
        .fold(0.0_f32, f32::max);
    // Whole samples; the sounds are well under a second, so the cast cannot overflow.
    let mut out = vec![0.0_f32; (end * rate).ceil() as usize];
    for n in notes {
        let first = (n.start * rate) as usize;
        let count = (n.length * rate) as usize;
        for (i, sample) in out.iter_mut().skip(first).take(count).enumerate() {
            let t = i as f32 / rate;
            *sample += envelope(voice, t, n.length) * wave(voice, n.hz, t);
        }
    }
    let peak = out.iter().fold(0.0_f32, |m, s| m.max(s.abs()));
    if peak > 0.0 {
        let gain = PEAK / peak;
        out.iter_mut().for_each(|s| *s *= gain);
    }
    out
}

fn wave(voice: Voice, hz: f32, t: f32) -> f32 {
    let phase = TAU * hz * t;
    match voice {
        Voice::Tone => phase.sin() + 0.3 * (3.0 * phase).sin() + 0.12 * (5.0 * phase).sin(),
        Voice::Bell => phase.sin() + 0.35 * (-t / 0.05).exp() * (2.0 * phase).sin(),
    }
}

fn envelope(voice: Voice, t: f32, length: f32) -> f32 {
    let (attack, release) = match voice {
        Voice::Tone => (0.012, 0.06),
        Voice::Bell => (0.004, 0.08),
    };
    let fade = (t / attack).min(1.0) * ((length - t) / release).clamp(0.0, 1.0);
    match voice {
        Voice::Tone => fade * (1.0 - 0.4 * t / length),
        Voice::Bell => fade * (-t / 0.14).exp(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    /// Power of `hz` in `samples` (Goertzel).
    fn power(samples: &[f32], hz: f32) -> f32 {
        let k = 2.0 * (TAU * hz / SAMPLE_RATE as f32).cos();
        let (mut s1, mut s2) = (0.0_f32, 0.0_f32);
        for x in samples {
            let s0 = x + k * s1 - s2;
            s2 = s1;
            s1 = s0;
        }
        (s1 * s1 + s2 * s2 - k * s1 * s2) / samples.len() as f32
    }

    fn seconds(samples: &[f32], from: f32, to: f32) -> &[f32] {
        let r = SAMPLE_RATE as f32;
        &samples[(from * r) as usize..(to * r) as usize]
    }

    #[test]
    fn the_sounds_are_short_loud_enough_and_never_clip() {
        for kind in [SoundKind::Broke, SoundKind::Fixed] {
            let s = samples(kind);
            let secs = s.len() as f32 / SAMPLE_RATE as f32;
            assert!((0.3..1.0).contains(&secs), "{kind:?}: {secs} s");
            let peak = s.iter().fold(0.0_f32, |m, x| m.max(x.abs()));
            assert!((peak - PEAK).abs() < 1e-4, "{kind:?}: peak {peak}");
            assert!(s.iter().all(|x| x.is_finite() && x.abs() < 1.0));
            let rms = (s.iter().map(|x| x * x).sum::<f32>() / s.len() as f32).sqrt();
            assert!(rms > 0.08, "{kind:?}: rms {rms}");
            // Fades: no click at either end.
            assert!(s[0].abs() < 0.01 && s[s.len() - 1].abs() < 0.01, "{kind:?}");
        }
    }

    #[test]
    fn the_two_sounds_are_distinct() {
        let (b, f) = (samples(SoundKind::Broke), samples(SoundKind::Fixed));
        assert_ne!(b.len(), f.len());
        let n = b.len().min(f.len());
        let diff: f32 = b[..n].iter().zip(&f[..n]).map(|(x, y)| (x - y).abs()).sum();
        assert!(diff / n as f32 > 0.05);
    }

    #[test]
    fn broke_falls_and_fixed_rises() {
        let b = samples(SoundKind::Broke);
        let (early, late) = (seconds(&b, 0.02, 0.17), seconds(&b, 0.25, 0.55));
        assert!(power(early, 659.25) > 10.0 * power(early, 440.0));
        assert!(power(late, 440.0) > 10.0 * power(late, 659.25));

        let f = samples(SoundKind::Fixed);
        let (early, late) = (seconds(&f, 0.0, 0.07), seconds(&f, 0.3, 0.6));
        assert!(power(early, 523.25) > 5.0 * power(early, 1046.5));
        assert!(power(late, 1046.5) > power(late, 523.25));
    }
}
