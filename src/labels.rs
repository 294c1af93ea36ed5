//! Printable labels for the strip (`ledtogo labels`, *Print labels…* in the window): the config in, an SVG
//! out, with each LED's short name in a cell as wide as the strip's LED pitch, so a label strip cut from
//! the sheet can be stuck under the LEDs. Pure: no files, no clock.
//!
//! - **Names** ([`led_name`], the one rule, which the window's LED slots use too): a job's last path
//!   segment (percent-decoded: `repo/feature%2Fx` → `feature/x`), a folder as its path and a slash
//!   (`team/`), a whole server as its name, the tube's LEDs as `tube`, an unmapped LED empty.
//! - **Cells**: one per LED of `[strip] leds`, in LED order, [`HEIGHT_MM`] high, the LED index small at
//!   the bottom. A name wider than the cell runs along the label's height (rotated 90°); one longer than
//!   that is cut with an ellipsis at a grapheme boundary ([`text::truncate`]). Every name goes through
//!   [`text::visible`] and [`text::xml_attr`]: no raw name reaches the markup.
//! - **Cut marks** at both ends of a row and between every two cells (outside the label, above and
//!   below it), and at the row's top and bottom edges.
//! - **True size**: `width`/`height` in mm and a `viewBox` in mm; rows of at most [`A4_USABLE_MM`] (the
//!   width of an A4 landscape page less 10 mm margins), each headed by its first LED's index. In the
//!   markup each row is a `<g class="row" data-first="N">` whose cells (`<g class="cell"
//!   data-led="I">`) have their `<rect>` at x = I × pitch: the row's `transform` moves it to the page.

use std::fmt::Write as _;
use std::str::FromStr;

use crate::config::Config;
use crate::model::Target;
use crate::text;

/// The width of an A4 landscape page less two 10 mm margins: the longest row.
pub const A4_USABLE_MM: f64 = 277.0;
/// The page margin left and right (and above the first row).
pub const MARGIN_MM: f64 = 10.0;
/// The height of the label strip (a cell).
pub const HEIGHT_MM: f64 = 30.0;
/// The smallest and the largest pitch accepted.
pub const MIN_PITCH_MM: f64 = 3.0;
pub const MAX_PITCH_MM: f64 = 200.0;

/// The name's font size, and the most it gets in a narrow cell (rotated names need the cell's width).
const FONT_MM: f64 = 3.2;
/// The smallest font a long rotated name is set in before it is cut (about 7 pt).
const MIN_FONT_MM: f64 = 2.4;
/// The LED index's font size, and the band at the bottom of the cell it sits in.
const INDEX_FONT_MM: f64 = 2.0;
const INDEX_BAND_MM: f64 = 5.0;
/// The space kept free around a name inside its cell.
const PAD_MM: f64 = 1.0;
/// The width of an average character of a sans-serif font, in ems (a deliberately wide guess: a name
/// judged to fit does fit).
const CHAR_EM: f64 = 0.62;
/// How far the cut marks reach, from how far outside the label.
const MARK_MM: f64 = 3.0;
const MARK_GAP_MM: f64 = 1.0;
/// Room for the row heading above the marks, and between rows.
const HEADING_MM: f64 = 5.0;
const ROW_GAP_MM: f64 = 6.0;

/// The LED pitch of a strip: the distance between two LEDs' centres, in mm.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pitch(f64);

/// A `--pitch` or `--density` that is not one.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PitchError {
    #[error(
        "{0:?} is not a pitch: give millimetres as a number, with or without \"mm\" (16.6mm or 16.6)"
    )]
    NotMillimetres(String),
    #[error(
        "a pitch of {0} mm is out of range: it must be between {MIN_PITCH_MM} and {MAX_PITCH_MM} mm"
    )]
    OutOfRange(f64),
    #[error("{0:?} is not a strip density: give 60, 30 or 144 (LEDs per metre)")]
    Density(String),
}

impl Pitch {
    /// A pitch of `mm` millimetres, between [`MIN_PITCH_MM`] and [`MAX_PITCH_MM`].
    pub fn mm(mm: f64) -> Result<Pitch, PitchError> {
        if !(MIN_PITCH_MM..=MAX_PITCH_MM).contains(&mm) {
            return Err(PitchError::OutOfRange(mm));
        }
        Ok(Pitch(mm))
    }

    /// The pitch of a strip with `per_metre` LEDs per metre: 60 (16.67 mm), 30 (33.33 mm) or 144
    /// (6.94 mm).
    pub fn density(per_metre: &str) -> Result<Pitch, PitchError> {
        match per_metre.trim() {
            "60" => Ok(Pitch(1000.0 / 60.0)),
            "30" => Ok(Pitch(1000.0 / 30.0)),
            "144" => Ok(Pitch(1000.0 / 144.0)),
            other => Err(PitchError::Density(other.to_owned())),
        }
    }

    /// The pitch in mm.
    pub fn as_mm(self) -> f64 {
        self.0
    }
}

impl Default for Pitch {
    /// 60 LEDs per metre, the commonest WS2812 strip.
    fn default() -> Self {
        Pitch(1000.0 / 60.0)
    }
}

impl FromStr for Pitch {
    type Err = PitchError;

    /// `16.6mm`, `16.6 mm` or `16.6`.
    fn from_str(s: &str) -> Result<Pitch, PitchError> {
        let t = s.trim();
        let number = t.strip_suffix("mm").unwrap_or(t).trim_end();
        let mm: f64 = number
            .parse()
            .map_err(|_| PitchError::NotMillimetres(s.to_owned()))?;
        if !mm.is_finite() {
            return Err(PitchError::NotMillimetres(s.to_owned()));
        }
        Pitch::mm(mm)
    }
}

/// The short name of what LED `led` shows, as labels and the window's LED slots name it: `tube` for
/// the tube's LEDs, a job's last path segment (percent-decoded), a folder's path and `/`, a whole
/// server's name, and an empty string for an unmapped LED. The exact text of the config: callers show it
/// with the rule their medium needs.
pub fn led_name(config: &Config, led: usize) -> String {
    if config.aggregate.leds.contains(&led) {
        return "tube".to_owned();
    }
    match config.slot(led).map(|s| &s.target) {
        None => String::new(),
        Some(Target::Job(id)) => id.path.last().map_or_else(String::new, |last| {
            percent_encoding::percent_decode_str(last)
                .decode_utf8_lossy()
                .into_owned()
        }),
        Some(Target::Folder { path, .. }) => format!("{}/", path.join("/")),
        Some(Target::Server(server)) => server.clone(),
    }
}

/// How a name sits in its cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Placed {
    /// What is printed (control characters made visible, cut if too long; not yet escaped).
    pub text: String,
    /// Runs along the label's height.
    pub rotated: bool,
    /// The font size in mm.
    pub font_mm: f64,
}

/// Where `name` goes in a cell `pitch` wide: across when it fits, else rotated, cut with an ellipsis
/// to the label's height when it does not fit that either.
pub fn place(name: &str, pitch: Pitch) -> Placed {
    let shown = text::visible(name);
    let width = |chars: usize, font: f64| chars as f64 * CHAR_EM * font;
    let count = graphemes(&shown);
    let across = pitch.as_mm() - 2.0 * PAD_MM;
    if width(count, FONT_MM) <= across {
        return Placed {
            text: shown.into_owned(),
            rotated: false,
            font_mm: FONT_MM,
        };
    }
    // Rotated, the font may be no taller than the cell is wide; a long name gets a smaller one (down to
    // MIN_FONT_MM) before it is cut.
    let along = HEIGHT_MM - INDEX_BAND_MM - 2.0 * PAD_MM;
    let cap = FONT_MM.min(across).max(1.0);
    let font_mm = (along / (count as f64 * CHAR_EM))
        .min(cap)
        .max(MIN_FONT_MM.min(cap));
    let fits = (along / (CHAR_EM * font_mm) + 1e-9).floor().max(1.0) as usize;
    let text = if count <= fits {
        shown.into_owned()
    } else {
        // `truncate` counts characters; a name of graphemes made of several is cut shorter, never longer.
        text::truncate(&shown, fits).into_owned()
    };
    Placed {
        text,
        rotated: true,
        font_mm,
    }
}

fn graphemes(s: &str) -> usize {
    use unicode_segmentation::UnicodeSegmentation as _;
    s.graphemes(true).count()
}

/// How many cells a row holds at `pitch`: as many as fit [`A4_USABLE_MM`], at least one.
pub fn per_row(pitch: Pitch) -> usize {
    // A hair of tolerance: 277 / 27.7 is 10 cells, not 9 for a rounding error.
    (((A4_USABLE_MM + 1e-9) / pitch.as_mm()).floor() as usize).max(1)
}

/// The LEDs `0..leds` in rows of [`per_row`].
pub fn rows(leds: usize, pitch: Pitch) -> Vec<std::ops::Range<usize>> {
    let n = per_row(pitch);
    (0..leds)
        .step_by(n)
        .map(|first| first..(first + n).min(leds))
        .collect()
}

/// A length in mm for the markup: three decimals, trailing zeros dropped.
fn mm(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

/// The label sheet for `config`'s strip at `pitch`, as an SVG document.
pub fn svg(config: &Config, pitch: Pitch) -> String {
    let p = pitch.as_mm();
    let rows = rows(config.strip.leds, pitch);
    let row_step = HEADING_MM + 2.0 * (MARK_GAP_MM + MARK_MM) + HEIGHT_MM + ROW_GAP_MM;
    let width = 2.0 * MARGIN_MM + A4_USABLE_MM;
    let height = 2.0 * MARGIN_MM + row_step * rows.len() as f64;
    let mut out = String::new();
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}mm\" height=\"{h}mm\" viewBox=\"0 0 {w} {h}\" \
         font-family=\"DejaVu Sans, Liberation Sans, Arial, sans-serif\" data-pitch-mm=\"{p}\">",
        w = mm(width),
        h = mm(height),
        p = mm(p),
    )
    .ok();
    writeln!(
        out,
        "<title>ledtogo labels: {} LEDs, {} mm apart</title>",
        config.strip.leds,
        mm(p)
    )
    .ok();
    for (r, range) in rows.iter().enumerate() {
        let top = MARGIN_MM + HEADING_MM + MARK_GAP_MM + MARK_MM + row_step * r as f64;
        let start = range.start as f64 * p;
        let end = range.end as f64 * p;
        writeln!(
            out,
            "<g class=\"row\" data-first=\"{}\" transform=\"translate({} {})\">",
            range.start,
            mm(MARGIN_MM - start),
            mm(top)
        )
        .ok();
        writeln!(
            out,
            "<text class=\"row-start\" x=\"{}\" y=\"{}\" font-size=\"2.5\">from LED {}</text>",
            mm(start),
            mm(-(MARK_GAP_MM + MARK_MM + 1.0)),
            range.start
        )
        .ok();
        writeln!(
            out,
            "<rect class=\"outline\" x=\"{}\" y=\"0\" width=\"{}\" height=\"{}\" fill=\"none\" \
             stroke=\"#c8c8c8\" stroke-width=\"0.1\"/>",
            mm(start),
            mm(end - start),
            mm(HEIGHT_MM)
        )
        .ok();
        out.push_str(&cut_marks(start, end, p));
        for led in range.clone() {
            out.push_str(&cell(config, led, pitch));
        }
        out.push_str("</g>\n");
    }
    out.push_str("</svg>\n");
    out
}

/// The cut marks of a row from `start` to `end` (mm): a short vertical line above and below the label at
/// every cell boundary, and a short horizontal one outside both ends at the top and the bottom edge.
fn cut_marks(start: f64, end: f64, p: f64) -> String {
    let mut d = String::new();
    let cells = ((end - start) / p).round() as usize;
    for i in 0..=cells {
        let x = mm(start + i as f64 * p);
        write!(
            d,
            "M{x} {} V{} M{x} {} V{} ",
            mm(-(MARK_GAP_MM + MARK_MM)),
            mm(-MARK_GAP_MM),
            mm(HEIGHT_MM + MARK_GAP_MM),
            mm(HEIGHT_MM + MARK_GAP_MM + MARK_MM)
        )
        .ok();
    }
    for y in [0.0, HEIGHT_MM] {
        let y = mm(y);
        write!(
            d,
            "M{} {y} H{} M{} {y} H{} ",
            mm(start - MARK_GAP_MM - MARK_MM),
            mm(start - MARK_GAP_MM),
            mm(end + MARK_GAP_MM),
            mm(end + MARK_GAP_MM + MARK_MM)
        )
        .ok();
    }
    format!(
        "<path class=\"cut\" d=\"{}\" fill=\"none\" stroke=\"#000\" stroke-width=\"0.2\"/>\n",
        d.trim_end()
    )
}

/// One LED's cell: its box, its name (across or rotated), its index.
fn cell(config: &Config, led: usize, pitch: Pitch) -> String {
    let p = pitch.as_mm();
    let x = led as f64 * p;
    let cx = mm(x + p / 2.0);
    let name_mid = mm((HEIGHT_MM - INDEX_BAND_MM) / 2.0);
    let mut out = format!(
        "<g class=\"cell\" data-led=\"{led}\">\n<rect x=\"{}\" y=\"0\" width=\"{}\" height=\"{}\" fill=\"none\"/>\n",
        mm(x),
        mm(p),
        mm(HEIGHT_MM)
    );
    let name = led_name(config, led);
    if !name.is_empty() {
        let placed = place(&name, pitch);
        let rotate = if placed.rotated {
            format!(" transform=\"rotate(-90 {cx} {name_mid})\"")
        } else {
            String::new()
        };
        writeln!(
            out,
            "<text class=\"name\" x=\"{cx}\" y=\"{name_mid}\" font-size=\"{}\" text-anchor=\"middle\" \
             dominant-baseline=\"central\"{rotate}>{}</text>",
            mm(placed.font_mm),
            text::xml_attr(&placed.text)
        )
        .ok();
    }
    writeln!(
        out,
        "<text class=\"index\" x=\"{cx}\" y=\"{}\" font-size=\"{}\" text-anchor=\"middle\" \
         fill=\"#555\">{led}</text>\n</g>",
        mm(HEIGHT_MM - 1.5),
        mm(INDEX_FONT_MM)
    )
    .ok();
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn config(slots: &str, leds: usize) -> Config {
        let text = format!(
            "[[servers]]\nname = \"ci\"\nurl = \"http://127.0.0.1:9/\"\n\n[strip]\nport = \"none\"\n\
             leds = {leds}\n{slots}"
        );
        Config::parse(&text, None).unwrap()
    }

    #[test]
    fn each_kind_of_led_gets_its_short_name() {
        let c = config(
            "[[slots]]\nled = 0\njob = \"team-a/api\"\n\
             [[slots]]\nled = 1\nfolder = \"team-a\"\n\
             [[slots]]\nled = 2\n\
             [[slots]]\nled = 3\njob = \"repo/feature%2Flogin\"\n\
             [aggregate]\nleds = [5]\n",
            6,
        );
        let names: Vec<String> = (0..6).map(|l| led_name(&c, l)).collect();
        assert_eq!(names, ["api", "team-a/", "ci", "feature/login", "", "tube"]);
    }

    #[test]
    fn a_short_name_runs_across_and_a_long_one_is_rotated_and_cut() {
        let pitch = Pitch::density("60").unwrap();
        let api = place("api", pitch);
        assert_eq!((api.text.as_str(), api.rotated), ("api", false));
        let long = place("integration-tests-nightly", pitch);
        assert!(long.rotated, "{long:?}");
        assert!(long.text.ends_with(text::ELLIPSIS), "{long:?}");
        assert!(long.text.starts_with("integration-"), "{long:?}");
        assert!(
            long.font_mm >= MIN_FONT_MM && long.font_mm < FONT_MM,
            "{long:?}"
        );
        // One that fits the height in a smaller font is not cut.
        let smaller = place("deploy-staging", pitch);
        assert!(
            smaller.rotated && smaller.text == "deploy-staging",
            "{smaller:?}"
        );
        // The cut name fits the label's height at its font size.
        let along = long.text.chars().count() as f64 * CHAR_EM * long.font_mm;
        assert!(along <= HEIGHT_MM - INDEX_BAND_MM - 2.0 * PAD_MM, "{along}");
        // At 30 LEDs/m the same name of eight letters fits across.
        let wide = place("database", Pitch::density("30").unwrap());
        assert!(!wide.rotated);
        // At 144 LEDs/m even "api" is rotated, in a font no taller than the cell is wide.
        let narrow = place("api", Pitch::density("144").unwrap());
        assert!(narrow.rotated && narrow.font_mm <= 1000.0 / 144.0 - 2.0 * PAD_MM);
    }

    #[test]
    fn markup_in_a_name_is_escaped_and_controls_made_visible() {
        let c = config(
            "[[slots]]\nled = 0\njob = \"R&D <\\\"x\\\">\\u001b]0\"\n",
            1,
        );
        let svg = svg(&c, Pitch::density("30").unwrap());
        assert!(
            svg.contains("R&amp;D &lt;&quot;x&quot;&gt;\u{FFFD}]0"),
            "{svg}"
        );
        assert!(!svg.contains("R&D") && !svg.contains('\u{1b}'));
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let name = doc
            .descendants()
            .find(|n| n.attribute("class") == Some("name"))
            .unwrap();
        assert_eq!(name.text(), Some("R&D <\"x\">\u{FFFD}]0"));
    }

    #[test]
    fn a_long_strip_is_split_into_rows_that_fit_an_a4_page() {
        // 144 LEDs at 60/m are 2.4 m: 16 cells (266.7 mm) to a row, 9 rows.
        let pitch = Pitch::density("60").unwrap();
        assert_eq!(per_row(pitch), 16);
        let rows = rows(144, pitch);
        assert_eq!(rows.len(), 9);
        assert_eq!(rows[0], 0..16);
        assert_eq!(rows[8], 128..144);
        // An uneven count leaves a short last row.
        assert_eq!(super::rows(20, pitch), [0..16, 16..20]);
        // 144/m: 39 cells to a row; 30/m: 8; 200 mm: one.
        assert_eq!(per_row(Pitch::density("144").unwrap()), 39);
        assert_eq!(per_row(Pitch::density("30").unwrap()), 8);
        assert_eq!(per_row(Pitch::mm(200.0).unwrap()), 1);
        for pitch in [16.0, 6.94, 33.3, 100.0] {
            let pitch = Pitch::mm(pitch).unwrap();
            assert!(per_row(pitch) as f64 * pitch.as_mm() <= A4_USABLE_MM);
        }
        let svg = svg(&config("", 20), pitch);
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let firsts: Vec<&str> = doc
            .descendants()
            .filter(|n| n.attribute("class") == Some("row"))
            .filter_map(|n| n.attribute("data-first"))
            .collect();
        assert_eq!(firsts, ["0", "16"]);
        assert!(svg.contains("width=\"297mm\""), "{svg}");
    }

    #[test]
    fn pitches_parse_with_or_without_mm_and_bad_ones_say_what_is_accepted() {
        assert_eq!("16.6mm".parse::<Pitch>().unwrap().as_mm(), 16.6);
        assert_eq!(" 16.6 mm ".parse::<Pitch>().unwrap().as_mm(), 16.6);
        assert_eq!("7".parse::<Pitch>().unwrap().as_mm(), 7.0);
        let bad = "16,6cm".parse::<Pitch>().unwrap_err().to_string();
        assert!(bad.contains("16.6mm or 16.6"), "{bad}");
        assert!(matches!(
            "NaN".parse::<Pitch>(),
            Err(PitchError::NotMillimetres(_))
        ));
        assert_eq!("2.9".parse::<Pitch>(), Err(PitchError::OutOfRange(2.9)));
        assert_eq!("201mm".parse::<Pitch>(), Err(PitchError::OutOfRange(201.0)));
        assert!((Pitch::density("144").unwrap().as_mm() - 6.94).abs() < 0.01);
        assert!((Pitch::density("30").unwrap().as_mm() - 33.33).abs() < 0.01);
        let bad = Pitch::density("50").unwrap_err().to_string();
        assert!(bad.contains("60, 30 or 144"), "{bad}");
    }
}
