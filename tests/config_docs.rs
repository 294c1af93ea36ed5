//! `docs/config.md` against the config parser, both ways: every key the parser accepts (its own list,
//! `ledtogo::config::known_keys`) is documented; every documented key parses with its example (and,
//! for `[[servers]]`, exactly for the kinds the docs name); each default written as a value gives the
//! same configuration as leaving the key out; every TOML block of the page is a valid config; and
//! `packaging/config.example.toml` parses and uses only documented keys, all of them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};

use ledtogo::config::{Config, EXAMPLE, known_keys};

const DOCS: &str = include_str!("../docs/config.md");
const KINDS: [&str; 5] = ["jenkins", "cctray", "github", "gitlab", "ledtogo"];
/// Keys of which an entry takes at most one.
const EXCLUSIVE: [&[&str]; 3] = [
    &["token_env", "token_file", "token_keyring"],
    &["job", "folder"],
    &["folder", "view"],
];

/// One row of a key table in the docs.
#[derive(Debug)]
struct Row {
    /// `""` for the top level, else the table's name (`servers`).
    table: String,
    /// How the table is written: `[strip]`, `[[servers]]`, or `""` for the top level.
    header: String,
    key: String,
    /// The kinds of server that take the key (`[[servers]]` only).
    kinds: Vec<&'static str>,
    default: String,
    example: String,
}

/// The text in the backticks a cell starts with.
fn code(cell: &str) -> Option<&str> {
    cell.strip_prefix('`')?.split('`').next()
}

/// The table a `## ` heading is about: the backticked `[name]`/`[[name]]`, or the top level.
fn heading_table(heading: &str) -> (String, String) {
    match code(heading) {
        Some(header) => (
            header.trim_matches(['[', ']']).to_owned(),
            header.to_owned(),
        ),
        None => (String::new(), String::new()),
    }
}

fn rows() -> Vec<Row> {
    let mut rows = Vec::new();
    let (mut table, mut header) = (None, String::new());
    let mut columns: Option<Vec<String>> = None;
    for line in DOCS.lines() {
        if let Some(heading) = line.strip_prefix("## ") {
            let (t, h) = heading_table(heading.trim());
            (table, header, columns) = (Some(t), h, None);
            continue;
        }
        let Some(inner) = line.trim().strip_prefix('|') else {
            columns = None;
            continue;
        };
        let cells: Vec<String> = inner
            .trim_end_matches('|')
            .split('|')
            .map(|c| c.trim().to_owned())
            .collect();
        let Some(cols) = &columns else {
            columns = Some(cells);
            continue;
        };
        if cells[0].starts_with("---") {
            continue;
        }
        let cell = |name: &str| {
            let i = cols.iter().position(|c| c == name);
            let i = i.unwrap_or_else(|| panic!("a key table without a {name:?} column: {line}"));
            cells[i].clone()
        };
        let kinds = match cols.iter().any(|c| c == "Kinds") {
            false => Vec::new(),
            true if cell("Kinds") == "all" => KINDS.to_vec(),
            true => cell("Kinds")
                .split(',')
                .map(|k| {
                    let k = k.trim();
                    *KINDS
                        .iter()
                        .find(|known| **known == k)
                        .unwrap_or_else(|| panic!("{line}: unknown kind {k:?}"))
                })
                .collect(),
        };
        rows.push(Row {
            table: table.clone().expect("a key table before any section"),
            header: header.clone(),
            key: code(&cell("Key")).expect("the key in backticks").to_owned(),
            kinds,
            default: cell("Default"),
            example: code(&cell("Example"))
                .unwrap_or_else(|| panic!("{line}: the example in backticks"))
                .to_owned(),
        });
    }
    rows
}

/// The documented sections: their table names.
fn sections() -> BTreeSet<String> {
    DOCS.lines()
        .filter_map(|l| l.strip_prefix("## "))
        .map(|h| heading_table(h.trim()).0)
        .collect()
}

/// A valid entry of `table` with the keys it needs (for `[[servers]]` one of `kind`), and what must
/// come before it.
fn base(table: &str, kind: &str) -> (&'static str, BTreeMap<String, String>) {
    let entry = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<BTreeMap<_, _>>()
    };
    match table {
        "servers" => {
            let mut e = entry(&[
                ("name", "\"s\""),
                ("url", "\"https://ci.example.com/\""),
                ("user", "\"base-user\""),
            ]);
            if kind != "jenkins" {
                e.insert("kind".into(), format!("{kind:?}"));
            }
            match kind {
                "github" => e.insert("repos".into(), "[\"base/repo\"]".into()),
                "gitlab" => e.insert("projects".into(), "[\"base/project\"]".into()),
                _ => None,
            };
            ("", e)
        }
        "slots" => (
            "[[servers]]\nname = \"office\"\nurl = \"https://ci.example.com/\"\n\n\
             [[servers]]\nname = \"home\"\nurl = \"https://home.example.com/\"\n\n",
            entry(&[("led", "0"), ("server", "\"home\"")]),
        ),
        "aggregate" => ("", entry(&[("leds", "[15]")])),
        "export" => (
            "",
            entry(&[
                ("listen", "\"127.0.0.1:8765\""),
                ("user", "\"reader\""),
                ("token_env", "\"T\""),
            ]),
        ),
        _ => ("", BTreeMap::new()),
    }
}

/// `base` with `key = value` instead of the keys it excludes.
fn with(mut entry: BTreeMap<String, String>, key: &str, value: &str) -> BTreeMap<String, String> {
    for group in EXCLUSIVE.iter().filter(|g| g.contains(&key)) {
        entry.retain(|k, _| !group.contains(&k.as_str()));
    }
    entry.insert(key.to_owned(), value.to_owned());
    entry
}

fn text(row: &Row, prelude: &str, entry: &BTreeMap<String, String>) -> String {
    let body: String = entry.iter().map(|(k, v)| format!("{k} = {v}\n")).collect();
    match row.header.as_str() {
        "" => format!("{prelude}{body}"),
        header => format!("{prelude}{header}\n{body}"),
    }
}

/// The kinds to try a `[[servers]]` key with (one plain case for other tables).
fn kinds_to_try(row: &Row) -> Vec<&'static str> {
    match (row.table.as_str(), row.key.as_str()) {
        ("servers", "kind") => vec!["jenkins"],
        ("servers", _) => KINDS.to_vec(),
        _ => vec!["jenkins"],
    }
}

#[test]
fn every_key_the_parser_accepts_is_documented_in_its_table() {
    let rows = rows();
    let sections = sections();
    let mut missing = Vec::new();
    for table in known_keys() {
        assert!(
            sections.contains(table.table),
            "docs/config.md has no section for [{}]",
            table.table
        );
        for key in table.keys {
            let documented = rows.iter().any(|r| r.table == table.table && r.key == *key)
                || (table.table.is_empty() && sections.contains(*key));
            if !documented {
                missing.push(format!("[{}] {key}", table.table));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "keys the parser accepts that docs/config.md does not document: {missing:?}"
    );
}

#[test]
fn every_documented_key_is_accepted_with_its_example_by_the_kinds_named() {
    let rows = rows();
    assert!(rows.len() > 40, "the key tables are read: {}", rows.len());
    let known = known_keys();
    for row in &rows {
        let table = known.iter().find(|t| t.table == row.table);
        let table = table.unwrap_or_else(|| panic!("docs section [{}] is no table", row.table));
        assert!(
            table.keys.contains(&row.key.as_str()),
            "docs/config.md documents [{}] {}, which the parser does not know",
            row.table,
            row.key
        );
        for kind in kinds_to_try(row) {
            let (prelude, entry) = base(&row.table, kind);
            let without = Config::parse(&text(row, prelude, &entry), None);
            let config = text(row, prelude, &with(entry, &row.key, &row.example));
            let parsed = Config::parse(&config, None);
            if row.kinds.is_empty() || row.kinds.contains(&kind) {
                let parsed = parsed.unwrap_or_else(|e| panic!("{config}: {e}"));
                if let Ok(without) = without {
                    assert_ne!(parsed, without, "{config}: the example changes nothing");
                }
            } else {
                let e = parsed.expect_err(&format!("{config}: accepted for kind {kind}"));
                assert!(e.to_string().contains(&row.key), "{config}: {e}");
            }
        }
    }
}

#[test]
fn documented_defaults_are_what_the_parser_takes_when_the_key_is_absent() {
    let (mut values, mut required) = (0, 0);
    for row in rows() {
        let kind = row.kinds.first().copied().unwrap_or("jenkins");
        let (prelude, entry) = base(&row.table, kind);
        let mut without_key = entry.clone();
        without_key.remove(&row.key);
        let absent = text(&row, prelude, &without_key);
        if let Some(default) = code(&row.default) {
            let given = text(&row, prelude, &with(entry, &row.key, default));
            assert_eq!(
                Config::parse(&given, None).unwrap_or_else(|e| panic!("{given}: {e}")),
                Config::parse(&absent, None).unwrap_or_else(|e| panic!("{absent}: {e}")),
                "[{}] {}: the documented default {default} is not the parser's",
                row.table,
                row.key
            );
            values += 1;
        } else if row.default.starts_with("required") {
            assert!(
                Config::parse(&absent, None).is_err(),
                "[{}] {} is documented as required, but this parses:\n{absent}",
                row.table,
                row.key
            );
            required += 1;
        }
    }
    assert!(
        values > 20 && required >= 5,
        "{values} defaults, {required} required keys"
    );
}

#[test]
fn every_toml_block_in_the_docs_is_a_valid_config() {
    let mut blocks = 0;
    let mut lines = DOCS.lines();
    while lines.by_ref().any(|l| l.trim() == "```toml") {
        let block: String = lines
            .by_ref()
            .take_while(|l| l.trim() != "```")
            .map(|l| format!("{l}\n"))
            .collect();
        Config::parse(&block, None).unwrap_or_else(|e| panic!("{block}: {e}"));
        blocks += 1;
    }
    assert!(blocks >= 7, "{blocks} blocks");
}

#[test]
fn the_example_config_parses_and_uses_only_documented_keys_and_all_of_them() {
    Config::parse(EXAMPLE, None).unwrap_or_else(|e| panic!("packaging/config.example.toml: {e}"));
    let rows = rows();
    let sections = sections();
    let documented: BTreeSet<(String, String)> = rows
        .iter()
        .map(|r| (r.table.clone(), r.key.clone()))
        .collect();
    let ident = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c == '_');
    let (mut table, mut mentioned, mut undocumented) = (String::new(), BTreeSet::new(), Vec::new());
    for (n, line) in EXAMPLE.lines().enumerate() {
        // Commented-out lines count too: they are the keys a user uncomments.
        let code = line.trim_start_matches(['#', ' ']);
        if code.starts_with('[') {
            let name = code.split(']').next().unwrap_or("").trim_matches('[');
            if sections.contains(name) {
                table = name.to_owned();
            }
            continue;
        }
        if let Some((key, _)) = code.split_once(" = ")
            && ident(key.trim())
            && !documented.contains(&(table.clone(), key.trim().to_owned()))
        {
            undocumented.push(format!("line {}: [{table}] {}", n + 1, key.trim()));
        }
        // Alternatives in comments ("# or: token_file = …") mention keys too.
        for (before, _) in line.match_indices(" = ").map(|(i, _)| line.split_at(i)) {
            let key = before.rsplit([' ', '#']).next().unwrap_or("");
            if ident(key) {
                mentioned.insert((table.clone(), key.to_owned()));
            }
        }
    }
    assert!(
        undocumented.is_empty(),
        "packaging/config.example.toml uses keys docs/config.md does not document: {undocumented:?}"
    );
    let absent: Vec<_> = documented.difference(&mentioned).collect();
    assert!(
        absent.is_empty(),
        "documented keys packaging/config.example.toml does not show: {absent:?}"
    );
}
