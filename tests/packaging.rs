//! The packaging sources in `packaging/` and the `[package.metadata.deb]` table agree with the code: the
//! udev rule grants exactly the USB serial chips the port search knows, the desktop entry is valid, every
//! packaged file exists and every app icon size is packaged. The built packages themselves are inspected by
//! `packaging/check-debs` (run by `./dev package`, in CI).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use ledtogo::outputs::serial::discovery::KNOWN_USB_SERIAL;
use ledtogo::tray::icon::APP_ICON_SIZES;

fn repo(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// The value of `KEY=="VALUE"` in a udev rule line.
fn udev_match<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let start = line.find(&format!("{key}==\""))? + key.len() + 3;
    let len = line[start..].find('"')?;
    Some(&line[start..start + len])
}

#[test]
fn the_udev_rule_grants_the_logged_in_user_exactly_the_usb_serial_chips_auto_probes() {
    let rules = std::fs::read_to_string(repo("packaging/linux/70-ledtogo.rules")).unwrap();
    let mut granted = BTreeSet::new();
    for line in rules.lines().filter(|l| l.contains("idVendor")) {
        assert!(line.contains("TAG+=\"uaccess\""), "no uaccess: {line}");
        assert!(
            line.contains("ENV{ID_MM_DEVICE_IGNORE}=\"1\""),
            "ModemManager may probe: {line}"
        );
        let vid = u16::from_str_radix(udev_match(line, "ATTRS{idVendor}").unwrap(), 16).unwrap();
        let pid = udev_match(line, "ATTRS{idProduct}").map(|p| u16::from_str_radix(p, 16).unwrap());
        granted.insert((vid, pid));
    }
    let known: BTreeSet<_> = KNOWN_USB_SERIAL.iter().map(|k| (k.vid, k.pid)).collect();
    assert_eq!(granted, known);
    assert!(
        rules.contains("SUBSYSTEM!=\"tty\", GOTO=\"ledtogo_end\""),
        "the rule is not limited to tty devices"
    );
}

#[test]
fn the_desktop_entry_is_valid_and_starts_ledtogo_with_its_icon() {
    let entry = repo("packaging/linux/ledtogo.desktop");
    let out = Command::new("desktop-file-validate")
        .arg(&entry)
        .output()
        .unwrap();
    assert!(out.status.success() && out.stdout.is_empty(), "{out:?}");
    let text = std::fs::read_to_string(&entry).unwrap();
    assert!(text.lines().any(|l| l == "Exec=ledtogo"), "{text}");
    assert!(text.lines().any(|l| l == "Icon=ledtogo"), "{text}");
}

/// The `assets` of the deb metadata, or of one of its variants: (source, destination, mode).
fn assets(variant: Option<&str>) -> Vec<(String, String, String)> {
    let manifest: toml::Table = std::fs::read_to_string(repo("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let deb = &manifest["package"]["metadata"]["deb"];
    let table = variant.map_or(deb, |v| &deb["variants"][v]);
    table["assets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let a = a.as_array().unwrap();
            let s = |i: usize| a[i].as_str().unwrap().to_owned();
            (s(0), s(1), s(2))
        })
        .collect()
}

#[test]
fn every_file_the_packages_carry_is_in_the_repository() {
    for variant in [None, Some("headless")] {
        for (source, _, mode) in assets(variant) {
            assert!(
                matches!(mode.as_str(), "644" | "755" | "600"),
                "{source}: mode {mode}"
            );
            // Built by the package build: the binary by cargo, the firmware image by make.
            if source.starts_with("target/release/") || source.starts_with("firmware/build/") {
                continue;
            }
            let pattern = repo(&source);
            let found = match source.split_once('*') {
                Some((dir, _)) => {
                    std::fs::read_dir(repo(dir)).is_ok_and(|mut d| d.next().is_some())
                }
                None => pattern.is_file(),
            };
            assert!(
                found,
                "{variant:?}: {source} is packaged but not in the repository"
            );
        }
    }
}

#[test]
fn the_desktop_package_carries_the_app_icon_in_every_size_and_the_headless_one_none() {
    let desktop = assets(None);
    for size in APP_ICON_SIZES {
        let source = format!("assets/icons/hicolor/{size}x{size}/apps/ledtogo.png");
        let dest = format!("usr/share/icons/hicolor/{size}x{size}/apps/");
        assert!(
            desktop.iter().any(|(s, d, _)| *s == source && *d == dest),
            "{source}"
        );
    }
    assert!(
        !assets(Some("headless"))
            .iter()
            .any(|(_, d, _)| d.contains("icons") || d.contains("applications"))
    );
}
