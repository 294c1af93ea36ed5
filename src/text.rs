//! Text from a server is hostile: the rules for showing job, folder, view and server names (and anything
//! else a server sends) to people. Each rule is here, once; callers pick the one their medium needs.
//!
//! | Where the text goes | Rule |
//! |---|---|
//! | the terminal (`ledtogo jobs`, `ledtogo check`), log lines, the window (labels, hover texts) | [`visible`] |
//! | the tray menu and tooltip, the window title, notification titles | [`short`] ([`visible`], then [`truncate`] to [`MAX_NAME`]) |
//! | a notification body on a daemon that renders markup | [`escape_markup`], after [`short`] on each name |
//! | `ledtogo jobs --json` | [`json_escape_hidden`] (the exact strings, escaped) |
//! | XML: the relay's cctray feed, the printable labels' SVG | [`xml_attr`] (after [`visible`] on labels) |
//!
//! Nothing is changed where the exact text is the point: the config file, matching and URLs, and
//! `ledtogo jobs --json`, whose strings parse back to the exact names ([`json_escape_hidden`] only writes
//! the hidden controls as `\uXXXX` escapes).
//!
//! - **Hidden controls** ([`is_hidden_control`]): C0 (U+0000–U+001F, including tab, CR and newline), DEL
//!   and C1 (U+007F–U+009F), the bidirectional controls (U+061C, U+200E, U+200F, U+202A–U+202E,
//!   U+2066–U+2069) and the line and paragraph separators (U+2028, U+2029). In a terminal they start
//!   escape sequences (`ESC ]0;title BEL` retitles the window, others move the cursor or rewrite what is
//!   already printed), in a log they forge lines, anywhere they reorder what follows (`U+202E` shows
//!   `exe.txt` as `txt.exe`). [`visible`] replaces each with [`REPLACEMENT`] (U+FFFD, "�"): the name
//!   stays recognisable and something visibly odd is there.
//! - **Long names** are cut to [`MAX_NAME`] characters, the last of them an ellipsis ("…"), at a
//!   grapheme boundary (an `é` written as `e` plus a combining accent, a flag or an emoji sequence is kept
//!   whole or dropped whole). Only a single grapheme longer than the whole limit is cut inside.
//! - **Markup**: freedesktop notification daemons that advertise `body-markup` read the body as a
//!   Pango/HTML subset (`<b>`, `<a href>`, `<img>`), so `&`, `<`, `>`, `"` and `'` become entities. The
//!   summary is plain text by the specification (dunst, for one, escapes it itself), so it is not
//!   escaped: that would show `&lt;`.

use std::borrow::Cow;

use unicode_segmentation::UnicodeSegmentation;

/// What a hidden control character is shown as: U+FFFD REPLACEMENT CHARACTER ("�").
pub const REPLACEMENT: char = '\u{FFFD}';

/// The most characters (Unicode scalar values, the ellipsis included) a name keeps in the tray menu and
/// tooltip, the window title and notifications.
pub const MAX_NAME: usize = 60;

/// What ends a cut name.
pub const ELLIPSIS: char = '…';

/// Whether `c` is a control character that must not reach a terminal, a log line or a label as it is:
/// C0, DEL, C1, the bidirectional controls, the line and paragraph separators.
pub fn is_hidden_control(c: char) -> bool {
    matches!(
        c,
        '\u{0}'..='\u{1f}'
            | '\u{7f}'..='\u{9f}'
            | '\u{061c}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
            | '\u{2028}'
            | '\u{2029}'
    )
}

/// `text` with every hidden control ([`is_hidden_control`]) replaced by [`REPLACEMENT`]; borrowed when
/// there is none. For the terminal, log lines and the window.
pub fn visible(text: &str) -> Cow<'_, str> {
    // Printable ASCII (most names and links) is checked a byte at a time, without decoding.
    if text.bytes().all(|b| (b' '..=b'~').contains(&b)) || !text.chars().any(is_hidden_control) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| if is_hidden_control(c) { REPLACEMENT } else { c })
            .collect(),
    )
}

/// `text` cut to at most `max` characters, the last an [`ELLIPSIS`], at a grapheme boundary (trailing
/// white space before the ellipsis dropped); borrowed when it fits.
pub fn truncate(text: &str, max: usize) -> Cow<'_, str> {
    if text.chars().count() <= max {
        return Cow::Borrowed(text);
    }
    let Some(keep) = max.checked_sub(1) else {
        return Cow::Borrowed("");
    };
    // The byte offset after `keep` characters, then back to the grapheme boundary at or before it.
    let limit = text.char_indices().nth(keep).map_or(text.len(), |(i, _)| i);
    // `limit` < `text.len()` here, so the last grapheme start at or before it is the cut.
    let mut cut = text
        .grapheme_indices(true)
        .map(|(i, _)| i)
        .take_while(|&i| i <= limit)
        .last()
        .unwrap_or(0);
    if cut == 0 {
        // One grapheme longer than the whole limit (a letter with hundreds of combining marks).
        cut = limit;
    }
    let mut out = text[..cut].trim_end().to_owned();
    out.push(ELLIPSIS);
    Cow::Owned(out)
}

/// A name for the tray, the window title and notifications: [`visible`], then [`truncate`]d to
/// [`MAX_NAME`].
pub fn short(text: &str) -> String {
    truncate(&visible(text), MAX_NAME).into_owned()
}

/// `text` with the markup characters `&`, `<`, `>`, `"` and `'` as entities (`&amp;`, `&lt;`, `&gt;`,
/// `&quot;`, `&#39;`: valid in Pango markup and HTML alike). For notification bodies.
pub fn escape_markup(text: &str) -> Cow<'_, str> {
    if !text.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// `text` as an XML 1.0 attribute value (between double quotes): `&`, `<`, `>`, `"` and `'` as entities,
/// tab, newline and carriage return as character references (a parser would turn them into spaces), and
/// the characters XML 1.0 forbids (the other C0 controls, U+FFFE, U+FFFF) dropped. For the relay's cctray
/// feed, and (valid as element text too) the names on the printable labels' SVG.
pub fn xml_attr(text: &str) -> Cow<'_, str> {
    let plain =
        |c: char| !matches!(c, '&' | '<' | '>' | '"' | '\'' | '\u{FFFE}' | '\u{FFFF}') && c >= ' ';
    if text.chars().all(plain) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if c < ' ' || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// JSON text (as `serde_json` writes it) with the hidden controls it leaves raw (DEL, C1, the bidi
/// controls, the separators; it escapes C0 itself) written as `\uXXXX` escapes: the same strings once
/// parsed, no hidden controls in the bytes. Outside strings JSON has only ASCII, so every such character
/// is inside a string.
pub fn json_escape_hidden(json: &str) -> Cow<'_, str> {
    let raw = |c: char| is_hidden_control(c) && c >= '\u{7f}';
    if !json.chars().any(raw) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if raw(c) {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn xml_attribute_values_escape_markup_keep_white_space_and_drop_what_xml_forbids() {
        assert_eq!(xml_attr("team-a/web"), "team-a/web");
        assert_eq!(
            xml_attr("a&b <c> \"d\" 'e'"),
            "a&amp;b &lt;c&gt; &quot;d&quot; &apos;e&apos;"
        );
        assert_eq!(xml_attr("x\ty\nz\r"), "x&#9;y&#10;z&#13;");
        assert_eq!(xml_attr("a\u{0}b\u{1b}c\u{FFFE}d\u{FFFF}"), "abcd");
        assert_eq!(
            xml_attr("Dokumentation Ü \u{1F600}"),
            "Dokumentation Ü \u{1F600}"
        );
    }

    #[test]
    fn a_terminal_title_escape_loses_its_esc_and_bel() {
        assert_eq!(visible("\x1b]0;evil\x07api"), "\u{FFFD}]0;evil\u{FFFD}api");
    }

    #[test]
    fn every_c0_c1_and_del_character_is_replaced() {
        for c in (0u32..0x20).chain(0x7f..0xa0).filter_map(char::from_u32) {
            let shown = visible(&format!("a{c}b")).into_owned();
            assert_eq!(shown, "a\u{FFFD}b", "U+{:04X}", c as u32);
        }
        assert_eq!(
            visible("line one\nline two\r\t"),
            "line one\u{FFFD}line two\u{FFFD}\u{FFFD}"
        );
    }

    #[test]
    fn bidi_overrides_isolates_and_marks_are_replaced() {
        assert_eq!(visible("invoice\u{202E}fdp.exe"), "invoice\u{FFFD}fdp.exe");
        for c in [
            '\u{061C}', '\u{200E}', '\u{200F}', '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}',
            '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}', '\u{2028}', '\u{2029}',
        ] {
            assert!(is_hidden_control(c), "U+{:04X}", c as u32);
            assert_eq!(visible(&c.to_string()), "\u{FFFD}");
        }
    }

    #[test]
    fn ordinary_names_are_borrowed_unchanged() {
        for name in [
            "api",
            "team/web-app",
            "Größe ✓ 日本語",
            "feature/x (1)",
            "a&b <c>",
        ] {
            assert!(
                matches!(visible(name), Cow::Borrowed(n) if n == name),
                "{name}"
            );
            assert!(matches!(truncate(name, MAX_NAME), Cow::Borrowed(n) if n == name));
        }
    }

    #[test]
    fn a_500_character_name_is_cut_to_the_limit_with_an_ellipsis() {
        let name = "x".repeat(500);
        let cut = short(&name);
        assert_eq!(cut.chars().count(), MAX_NAME);
        assert_eq!(cut, format!("{}…", "x".repeat(MAX_NAME - 1)));
        // Exactly at the limit: kept whole.
        let fits = "y".repeat(MAX_NAME);
        assert_eq!(short(&fits), fits);
    }

    #[test]
    fn multi_byte_characters_at_the_cut_are_kept_whole() {
        // 58 ASCII, then three-byte and four-byte characters around the cut.
        let name = format!("{}日本語😀😀", "a".repeat(58));
        let cut = truncate(&name, MAX_NAME);
        assert_eq!(cut, format!("{}日…", "a".repeat(58)));
        let emoji = "😀".repeat(100);
        let cut = truncate(&emoji, 10);
        assert_eq!(cut, format!("{}…", "😀".repeat(9)));
    }

    #[test]
    fn a_grapheme_is_never_split_at_the_cut() {
        // "e" + combining acute accent straddling the cut: dropped whole, not left as a bare "e".
        let name = format!("{}e\u{301}tail", "a".repeat(8));
        assert_eq!(truncate(&name, 10), format!("{}…", "a".repeat(8)));
        // A flag (two regional indicators) straddling the cut.
        let flag = format!("{}🇩🇪rest", "a".repeat(8));
        assert_eq!(truncate(&flag, 10), format!("{}…", "a".repeat(8)));
        // A grapheme fits whole right before the ellipsis.
        let fits = format!("{}e\u{301}tail", "a".repeat(7));
        assert_eq!(truncate(&fits, 10), format!("{}e\u{301}…", "a".repeat(7)));
    }

    #[test]
    fn a_single_grapheme_longer_than_the_limit_is_still_bounded() {
        let zalgo = format!("z{}", "\u{301}".repeat(500));
        let cut = truncate(&zalgo, MAX_NAME);
        assert_eq!(cut.chars().count(), MAX_NAME);
        assert!(cut.ends_with(ELLIPSIS));
    }

    #[test]
    fn white_space_before_the_ellipsis_is_dropped_and_tiny_limits_work() {
        assert_eq!(truncate("abc   defgh", 6), "abc…");
        assert_eq!(truncate("abc", 1), "…");
        assert_eq!(truncate("abc", 0), "");
    }

    #[test]
    fn short_replaces_controls_before_counting() {
        let hostile = format!("\x1b[2J\u{202E}{}", "n".repeat(500));
        let cut = short(&hostile);
        assert!(cut.starts_with("\u{FFFD}[2J\u{FFFD}nnn"), "{cut}");
        assert_eq!(cut.chars().count(), MAX_NAME);
        assert!(!cut.chars().any(is_hidden_control));
    }

    #[test]
    fn markup_is_escaped_into_entities() {
        assert_eq!(
            escape_markup("<img src=x onerror='a'>"),
            "&lt;img src=x onerror=&#39;a&#39;&gt;"
        );
        assert_eq!(
            escape_markup("<a href=\"http://evil\">R&D</a>"),
            "&lt;a href=&quot;http://evil&quot;&gt;R&amp;D&lt;/a&gt;"
        );
        assert_eq!(
            escape_markup("&amp;"),
            "&amp;amp;",
            "entities are not trusted either"
        );
        assert!(matches!(escape_markup("plain name"), Cow::Borrowed(_)));
    }

    #[test]
    fn json_keeps_the_exact_name_but_no_hidden_control_in_its_bytes() {
        let name = "\x1b]0;evil\x07 \u{202E}gpj.exe \u{9b}2J \u{7f}";
        let json = serde_json::to_string_pretty(&serde_json::json!({ "path": name })).unwrap();
        let safe = json_escape_hidden(&json);
        assert!(
            !safe.chars().any(|c| is_hidden_control(c) && c != '\n'),
            "{safe:?}"
        );
        assert!(safe.contains("\\u202e") && safe.contains("\\u009b") && safe.contains("\\u007f"));
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back["path"], name);
        assert!(matches!(
            json_escape_hidden("{\"a\": \"b\"}"),
            Cow::Borrowed(_)
        ));
    }
}
