//! `ledtogo labels` end to end: the real binary on a real config writes the label sheet, which is parsed
//! back as XML: every LED's cell is at x = index × pitch in the row it belongs to, with its short name.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;

mod support;
use support::ledtogo;

/// 20 LEDs: a job, a folder, the whole server, a name with markup characters, a long name, the tube.
const CONFIG: &str = r#"
[[servers]]
name = "ci"
url = "http://127.0.0.1:9/"

[strip]
port = "none"
leds = 20

[[slots]]
led = 0
job = "team-a/api"

[[slots]]
led = 1
folder = "team-a"

[[slots]]
led = 2

[[slots]]
led = 3
job = "R&D <tools>"

[[slots]]
led = 16
job = "integration-tests-nightly"

[aggregate]
leds = [17, 18]
"#;

/// One LED's cell as the sheet has it.
#[derive(Debug)]
struct Cell {
    /// The `data-first` of the row it is in.
    row_first: usize,
    /// Its box's x in the row (mm, in LED coordinates).
    x: f64,
    /// Where the row puts LED coordinates on the page (the row's `translate` x, mm).
    row_shift: f64,
    name: Option<String>,
    rotated: bool,
    index: String,
}

fn cells(svg: &str) -> BTreeMap<usize, Cell> {
    let doc = roxmltree::Document::parse(svg).unwrap();
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    let mut cells = BTreeMap::new();
    for row in doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("row"))
    {
        let row_first: usize = row.attribute("data-first").unwrap().parse().unwrap();
        let shift = row.attribute("transform").unwrap();
        let row_shift: f64 = shift
            .strip_prefix("translate(")
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        for cell in row
            .children()
            .filter(|n| n.attribute("class") == Some("cell"))
        {
            let led: usize = cell.attribute("data-led").unwrap().parse().unwrap();
            let rect = cell.children().find(|n| n.has_tag_name("rect")).unwrap();
            let text_of = |class: &str| {
                cell.children()
                    .find(|n| n.attribute("class") == Some(class))
            };
            let name = text_of("name");
            let found = Cell {
                row_first,
                x: rect.attribute("x").unwrap().parse().unwrap(),
                row_shift,
                name: name.map(|n| n.text().unwrap_or_default().to_owned()),
                rotated: name
                    .and_then(|n| n.attribute("transform"))
                    .is_some_and(|t| t.starts_with("rotate(-90")),
                index: text_of("index").unwrap().text().unwrap().to_owned(),
            };
            assert!(cells.insert(led, found).is_none(), "LED {led} twice");
        }
    }
    cells
}

fn write_config(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("config.toml");
    std::fs::write(&path, CONFIG).unwrap();
    path
}

/// `ledtogo labels --config CONFIG ARGS…`, run in `dir`.
fn labels(dir: &Path, config: &Path, args: &[&str]) -> std::process::Output {
    ledtogo()
        .current_dir(dir)
        .arg("labels")
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn labels_put_every_mapped_name_in_its_cell_at_the_strips_pitch() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let out = dir.path().join("sheet.svg");
    let run = labels(
        dir.path(),
        &config,
        &["--pitch", "16.6mm", "--out", out.to_str().unwrap()],
    );
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let said = String::from_utf8(run.stdout).unwrap();
    assert!(said.contains("20 LEDs 16.60 mm apart, 2 rows"), "{said}");
    let svg = std::fs::read_to_string(&out).unwrap();
    // True size on an A4 landscape page.
    assert!(svg.contains("width=\"297mm\""), "{svg}");
    assert!(svg.contains("viewBox=\"0 0 297 "), "{svg}");
    let cells = cells(&svg);
    let pitch = 16.6;
    // 277 mm / 16.6 mm: 16 cells to a row.
    assert_eq!(
        cells.keys().copied().collect::<Vec<_>>(),
        (0..20).collect::<Vec<_>>()
    );
    for (&led, cell) in &cells {
        assert!(
            (cell.x - led as f64 * pitch).abs() < 0.01,
            "LED {led}: {cell:?}"
        );
        assert_eq!(cell.row_first, led / 16 * 16, "LED {led}: {cell:?}");
        assert_eq!(cell.index, led.to_string());
        // Each row starts at the page's 10 mm margin.
        assert!(
            (cell.row_shift + cell.row_first as f64 * pitch - 10.0).abs() < 0.01,
            "{cell:?}"
        );
    }
    let name = |led: usize| cells[&led].name.as_deref();
    assert_eq!(name(0), Some("api"));
    assert_eq!(name(1), Some("team-a/"));
    assert_eq!(name(2), Some("ci"));
    assert_eq!(name(3), Some("R&D <tools>"));
    assert_eq!(name(17), Some("tube"));
    assert_eq!(name(18), Some("tube"));
    assert!(!cells[&0].rotated);
    // Too long to run across a 16.6 mm cell or along the 30 mm label: rotated, cut with an ellipsis.
    let long = name(16).unwrap();
    assert!(cells[&16].rotated, "{:?}", cells[&16]);
    assert!(
        long.starts_with("integration") && long.ends_with('…'),
        "{long}"
    );
    for free in [4, 5, 15, 19] {
        assert_eq!(name(free), None, "LED {free}");
    }
    // The raw name never reaches the markup.
    assert!(svg.contains("R&amp;D &lt;tools&gt;") && !svg.contains("R&D"));
}

#[test]
fn labels_at_144_per_metre_go_to_standard_output_and_by_default_to_labels_svg() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let run = labels(dir.path(), &config, &["--density", "144", "--out", "-"]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let cells = cells(&String::from_utf8(run.stdout).unwrap());
    let pitch = 1000.0 / 144.0;
    // 39 cells of 6.94 mm fit a row: one row for 20 LEDs, every name rotated in the narrow cells.
    for (&led, cell) in &cells {
        assert!(
            (cell.x - led as f64 * pitch).abs() < 0.01,
            "LED {led}: {cell:?}"
        );
        assert_eq!(cell.row_first, 0);
    }
    assert!(cells[&0].rotated);
    assert_eq!(cells[&0].name.as_deref(), Some("api"));

    // No --out: labels.svg in the current folder.
    let run = labels(dir.path(), &config, &[]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let svg = std::fs::read_to_string(dir.path().join("labels.svg")).unwrap();
    let cells = self::cells(&svg);
    assert!(
        (cells[&3].x - 3.0 * 1000.0 / 60.0).abs() < 0.01,
        "{:?}",
        cells[&3]
    );
}

#[test]
fn a_bad_pitch_is_refused_naming_the_argument_and_the_accepted_forms() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    for (pitch, says) in [
        ("16,6cm", "16.6mm or 16.6"),
        ("2mm", "between 3 and 200 mm"),
        ("250", "between 3 and 200 mm"),
    ] {
        let run = labels(dir.path(), &config, &["--pitch", pitch]);
        assert!(!run.status.success(), "--pitch {pitch} was accepted");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(stderr.contains("--pitch"), "{stderr}");
        assert!(stderr.contains(says), "--pitch {pitch}: {stderr}");
    }
    let run = labels(dir.path(), &config, &["--density", "50"]);
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("--density") && stderr.contains("60, 30 or 144"),
        "{stderr}"
    );
    assert!(!dir.path().join("labels.svg").exists());

    // An --out in a folder that is not there is refused, not created.
    let missing = dir.path().join("no-such-folder/labels.svg");
    let run = labels(dir.path(), &config, &["--out", missing.to_str().unwrap()]);
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("there is no folder"), "{stderr}");
    assert!(!missing.parent().unwrap().exists());
}
