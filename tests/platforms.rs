//! The parts for other platforms and the login session that can be checked here: the macOS bundle that
//! `packaging/macos/bundle.sh` assembles (around the Linux binary), and the autostart entry as a real
//! desktop launcher (GLib's, which GNOME's session uses) reads it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use ledtogo::autostart::Autostart;

mod support;
use support::{have, wait_until};

fn bundle_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/macos/bundle.sh")
}

/// Info.plist as JSON, read by Python's plistlib (a parser of the real format, not a grep).
fn plist_json(path: &Path) -> serde_json::Value {
    let out = Command::new("python3")
        .args([
            "-c",
            "import json, plistlib, sys; print(json.dumps(plistlib.load(open(sys.argv[1], 'rb'))))",
        ])
        .arg(path)
        .output()
        .expect("python3 runs (in ./dev TEST_PKGS)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_macos_bundle_holds_the_given_binary_and_a_menu_bar_app_plist_with_the_crate_version() {
    let out_dir = tempfile::tempdir().unwrap();
    let binary = env!("CARGO_BIN_EXE_ledtogo");
    let out = Command::new(bundle_script())
        .args(["--binary", binary, "--out"])
        .arg(out_dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let app = out_dir.path().join("ledtogo.app");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        app.to_string_lossy(),
        "it prints where the bundle is"
    );

    let plist = plist_json(&app.join("Contents/Info.plist"));
    assert_eq!(plist["LSUIElement"], true, "{plist}");
    assert_eq!(plist["NSHighResolutionCapable"], true, "{plist}");
    assert_eq!(plist["CFBundleExecutable"], "ledtogo", "{plist}");
    assert_eq!(plist["CFBundleName"], "ledtogo", "{plist}");
    assert_eq!(plist["CFBundlePackageType"], "APPL", "{plist}");
    assert_eq!(
        plist["CFBundleIdentifier"], "org.ledtogo.ledtogo",
        "{plist}"
    );
    let version = env!("CARGO_PKG_VERSION");
    let numeric = version.split(['-', '+']).next().unwrap();
    assert_eq!(plist["CFBundleShortVersionString"], numeric, "{plist}");
    assert_eq!(plist["CFBundleVersion"], numeric, "{plist}");

    // The executable CFBundleExecutable names is the binary given, runnable.
    let exe = app.join("Contents/MacOS/ledtogo");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&exe).unwrap().permissions().mode();
        assert_eq!(mode & 0o111, 0o111, "executable: {mode:o}");
    }
    assert_eq!(std::fs::read(&exe).unwrap(), std::fs::read(binary).unwrap());
    let said = Command::new(&exe).arg("--version").output().unwrap();
    assert!(
        String::from_utf8_lossy(&said.stdout).contains(version),
        "{}",
        String::from_utf8_lossy(&said.stdout)
    );

    // No iconutil off macOS: no icon, and the script says so.
    if !have("iconutil") {
        assert!(
            stderr.contains("no iconutil (it comes with macOS): the bundle gets no icon"),
            "{stderr}"
        );
        assert!(plist.get("CFBundleIconFile").is_none(), "{plist}");
        assert!(!app.join("Contents/Resources/ledtogo.icns").exists());
    }
}

#[test]
fn the_bundle_script_refuses_a_binary_that_is_not_there_and_says_what_to_do() {
    let out_dir = tempfile::tempdir().unwrap();
    let missing = out_dir.path().join("no-such-ledtogo");
    let out = Command::new(bundle_script())
        .arg("--binary")
        .arg(&missing)
        .arg("--out")
        .arg(out_dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.trim(),
        format!(
            "bundle.sh: {} is not an executable file; build it or pass --binary PATH",
            missing.display()
        )
    );
    assert!(!out_dir.path().join("ledtogo.app").exists());
}

#[test]
fn the_desktop_launches_the_autostart_entry_with_exactly_the_binary_and_config_paths() {
    if !have("gio") {
        eprintln!("SKIPPED: no gio (Debian package libglib2.0-bin, in ./dev TEST_PKGS)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // A program in a folder whose name needs every quoting rule (GLib looks the program up before it
    // expands `%%`, so `%` goes in the config path only).
    let folder = dir.path().join(r#"my "ci" $tools \x it's"#);
    std::fs::create_dir(&folder).unwrap();
    let program = folder.join("run me");
    let seen = dir.path().join("argv");
    std::fs::write(
        &program,
        format!(
            "#!/bin/sh\nfor a in \"$0\" \"$@\"; do printf '%s\\n' \"$a\"; done > '{0}.tmp' && mv '{0}.tmp' '{0}'\n",
            seen.display()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let config = dir.path().join("100% `sure` (ci) <a|b>;&.toml");

    let autostart = Autostart::in_folder(dir.path().join("autostart"));
    autostart.enable(&program, Some(&config)).unwrap();
    let out = Command::new("gio")
        .arg("launch")
        .arg(autostart.file())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(autostart.file()).unwrap()
    );
    assert!(
        wait_until(Duration::from_secs(10), || seen.exists()),
        "the program never ran"
    );
    let argv = std::fs::read_to_string(&seen).unwrap();
    assert_eq!(
        argv,
        format!(
            "{}\n--in-tray\n--config\n{}\n",
            program.display(),
            config.display()
        )
    );
}
