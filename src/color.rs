//! Colours: [`Rgb`], the strip's brightness and gamma correction and its inverse, and the colour wheel.
//! Pure; the frame decides which colour an LED gets, this module only how colours are computed.

use std::fmt;

/// One LED colour, 8 bits per channel, in wire order (R, G, B).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Rgb {
    pub r: u8,
    pub g: u8,
    pub b: u8,
}

impl Rgb {
    pub const OFF: Rgb = Rgb { r: 0, g: 0, b: 0 };
    pub const WHITE: Rgb = Rgb {
        r: 255,
        g: 255,
        b: 255,
    };

    pub const fn new(r: u8, g: u8, b: u8) -> Self {
        Self { r, g, b }
    }

    /// Parses `#rrggbb` or `rrggbb`.
    pub fn parse_hex(s: &str) -> Option<Rgb> {
        let hex = s.trim().strip_prefix('#').unwrap_or(s.trim());
        if hex.len() != 6 || !hex.is_ascii() {
            return None;
        }
        let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
        Some(Rgb::new(byte(0)?, byte(2)?, byte(4)?))
    }

    /// Each channel times `factor` (saturating at 0 and 255).
    pub fn scaled(self, factor: f64) -> Rgb {
        self.map(|c| f64::from(c) * factor)
    }

    fn map(self, f: impl Fn(u8) -> f64) -> Rgb {
        let channel = |c: u8| f(c).round().clamp(0.0, 255.0) as u8;
        Rgb::new(channel(self.r), channel(self.g), channel(self.b))
    }
}

impl fmt::Display for Rgb {
    /// `rrggbb`, the `--print-frames` format.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02x}{:02x}{:02x}", self.r, self.g, self.b)
    }
}

/// A frame as one line of hex colours: `ff0000 00ff00 …`.
pub fn hex_line(frame: &[Rgb]) -> String {
    frame
        .iter()
        .map(Rgb::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The strip's colour correction: brightness, then gamma, applied once to every colour a strip gets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Correction {
    /// 0.0–1.0.
    pub brightness: f64,
    pub gamma: f64,
}

impl Correction {
    /// No change: brightness 1, gamma 1.
    pub const NONE: Correction = Correction {
        brightness: 1.0,
        gamma: 1.0,
    };

    /// `out = 255 · (brightness · c/255)^gamma`.
    pub fn apply(self, color: Rgb) -> Rgb {
        color.map(|c| (f64::from(c) / 255.0 * self.brightness).powf(self.gamma) * 255.0)
    }

    /// The inverse of [`Correction::apply`]: how a corrected colour looks to the eye, so a dimmed strip
    /// still reads as the state's colour on screen. A zero brightness or gamma cannot be undone: the
    /// colour is returned as it is.
    pub fn undo(self, shown: Rgb) -> Rgb {
        if self.brightness <= 0.0 || self.gamma <= 0.0 {
            return shown;
        }
        shown.map(|c| (f64::from(c) / 255.0).powf(1.0 / self.gamma) / self.brightness * 255.0)
    }
}

/// A fully saturated colour at `hue` (0..1 around the colour wheel: red, green, blue, back to red).
pub fn wheel(hue: f64) -> Rgb {
    let h = hue.rem_euclid(1.0) * 6.0;
    let x = ((1.0 - (h % 2.0 - 1.0).abs()) * 255.0).round() as u8;
    match h as u8 {
        0 => Rgb::new(255, x, 0),
        1 => Rgb::new(x, 255, 0),
        2 => Rgb::new(0, 255, x),
        3 => Rgb::new(0, x, 255),
        4 => Rgb::new(x, 0, 255),
        _ => Rgb::new(255, 0, x),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brightness_and_gamma_are_applied_once() {
        let none = Correction::NONE;
        assert_eq!(none.apply(Rgb::new(255, 128, 0)), Rgb::new(255, 128, 0));
        let half = Correction {
            brightness: 0.5,
            gamma: 1.0,
        };
        assert_eq!(half.apply(Rgb::WHITE), Rgb::new(128, 128, 128));
        // Gamma 2: half input is a quarter output.
        let square = Correction {
            brightness: 1.0,
            gamma: 2.0,
        };
        assert_eq!(square.apply(Rgb::new(255, 128, 0)), Rgb::new(255, 64, 0));
    }

    #[test]
    fn undo_reverses_brightness_and_gamma() {
        let strip = Correction {
            brightness: 0.5,
            gamma: 2.2,
        };
        let base = Rgb::new(255, 160, 0);
        let seen = strip.undo(strip.apply(base));
        assert!(
            seen.r.abs_diff(base.r) <= 3 && seen.g.abs_diff(base.g) <= 3,
            "{seen}"
        );
        assert_eq!(seen.b, 0);
        let dark = Correction {
            brightness: 0.0,
            gamma: 2.2,
        };
        assert_eq!(dark.undo(Rgb::new(1, 2, 3)), Rgb::new(1, 2, 3));
    }

    #[test]
    fn the_colour_wheel_is_saturated_and_wraps() {
        assert_eq!(wheel(0.0), Rgb::new(255, 0, 0));
        assert_eq!(wheel(1.0 / 3.0), Rgb::new(0, 255, 0));
        assert_eq!(wheel(2.0 / 3.0), Rgb::new(0, 0, 255));
        assert_eq!(wheel(1.0), wheel(0.0));
        assert_eq!(wheel(-0.25), wheel(0.75));
        for i in 0..=100 {
            let c = wheel(f64::from(i) / 100.0);
            assert_eq!(c.r.max(c.g).max(c.b), 255, "hue {i}: {c}");
            assert_eq!(c.r.min(c.g).min(c.b), 0, "hue {i}: {c}");
        }
    }

    #[test]
    fn colours_parse_and_print_as_hex() {
        assert_eq!(
            hex_line(&[Rgb::new(255, 0, 0), Rgb::new(0, 0x10, 0xab)]),
            "ff0000 0010ab"
        );
        assert_eq!(Rgb::parse_hex("#00ff7f"), Some(Rgb::new(0, 255, 127)));
        assert_eq!(Rgb::parse_hex("00ff7"), None);
    }
}
