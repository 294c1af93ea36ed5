//! `ledtogo flash` end to end with the real binary: avrdude missing from PATH, a stand-in `avrdude`
//! on PATH that fails like the real one when no bootloader answers or that "uploads", a port some
//! process holds, `--dry-run`; after a successful upload the handshake talks to an emulated ledtogo
//! device on a real pty.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Output;

mod support;

use support::emulator::{Emulator, EmulatorOptions};

/// avrdude 7.1's words when the Uno's bootloader does not answer.
const NOT_IN_SYNC: &str = "avrdude: stk500_recv(): programmer is not responding\n\
avrdude: stk500_getsync() attempt 1 of 10: not in sync: resp=0x00\n\
avrdude: stk500_recv(): programmer is not responding\n\
avrdude: stk500_getsync() attempt 10 of 10: not in sync: resp=0x00\n\
\n\
avrdude done.  Thank you.\n";

/// A folder for one test: `bin/` (the whole PATH), a firmware image, a config folder of its own.
struct Bench {
    dir: tempfile::TempDir,
}

impl Bench {
    fn new() -> Bench {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("bin")).unwrap();
        std::fs::create_dir(dir.path().join("config")).unwrap();
        std::fs::write(
            dir.path().join("ledtogo.hex"),
            ":100000000C9434000C9446000C9446000C9446006A\n:00000001FF\n",
        )
        .unwrap();
        Bench { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Puts an `avrdude` shell script on this bench's PATH.
    fn avrdude(&self, script: &str) {
        let program = self.path("bin/avrdude");
        std::fs::write(&program, format!("#!/bin/sh\n{script}")).unwrap();
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn flash(&self, port: &Path, extra: &[&str]) -> Output {
        support::ledtogo()
            .env("PATH", self.path("bin"))
            .env("XDG_CONFIG_HOME", self.path("config"))
            .env("RECORD", self.path("avrdude-args"))
            .arg("flash")
            .arg("--port")
            .arg(port)
            .arg("--hex")
            .arg(self.path("ledtogo.hex"))
            .args(extra)
            .output()
            .unwrap()
    }

    /// The arguments the stand-in avrdude was run with, one a line.
    fn recorded(&self) -> Option<String> {
        std::fs::read_to_string(self.path("avrdude-args")).ok()
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn emulated_uno(bench: &Bench) -> Emulator {
    Emulator::start(bench.path("ttyACM0"), EmulatorOptions::default()).unwrap()
}

#[test]
fn without_avrdude_on_path_flash_says_how_to_install_it() {
    let bench = Bench::new();
    let out = bench.flash(&bench.path("ttyACM0"), &[]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("avrdude is not installed") && err.contains("sudo apt install avrdude"),
        "{err}"
    );
}

#[test]
fn a_board_without_bootloader_answer_is_reported_with_avrdudes_own_words() {
    let bench = Bench::new();
    bench.avrdude(&format!("printf '%s' '{NOT_IN_SYNC}' >&2\nexit 1\n"));
    let emu = emulated_uno(&bench);
    let out = bench.flash(emu.path(), &[]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "no bootloader answered on {}: is it an Uno",
            emu.path().display()
        )),
        "{err}"
    );
    assert!(err.contains("press the board's reset button"), "{err}");
    assert!(
        err.contains("stk500_getsync() attempt 10 of 10: not in sync: resp=0x00"),
        "{err}"
    );
}

#[test]
fn avrdudes_control_characters_are_escaped_in_its_failure() {
    let bench = Bench::new();
    bench.avrdude("printf 'avrdude: odd \\033[2J failure\\n' >&2\nexit 2\n");
    let emu = emulated_uno(&bench);
    let out = bench.flash(emu.path(), &[]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("avrdude failed (exit status: 2)"), "{err}");
    assert!(err.contains("avrdude: odd"), "{err}");
    assert!(!err.contains('\x1b'), "{err:?}");
}

#[test]
fn a_successful_upload_ends_with_the_handshake_of_the_new_firmware() {
    let bench = Bench::new();
    bench.avrdude("printf '%s\\n' \"$@\" > \"$RECORD\"\n");
    let emu = emulated_uno(&bench);
    let out = bench.flash(emu.path(), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!(
            "ledtogo firmware 1.0.0 on {}, 16 LEDs\n",
            emu.path().display()
        )
    );
    let expected: Vec<String> = [
        "-p",
        "atmega328p",
        "-c",
        "arduino",
        "-P",
        &emu.path().display().to_string(),
        "-b",
        "115200",
        "-D",
        "-U",
        &format!("flash:w:{}:i", bench.path("ledtogo.hex").display()),
    ]
    .iter()
    .map(|s| format!("{s}\n"))
    .collect();
    assert_eq!(bench.recorded().unwrap(), expected.concat());
    assert!(emu.state().hellos >= 1, "{:?}", emu.state());
}

#[test]
fn a_port_held_by_another_process_is_refused_naming_the_process() {
    let bench = Bench::new();
    bench.avrdude("printf '%s\\n' \"$@\" > \"$RECORD\"\n");
    let emu = emulated_uno(&bench);
    let _held = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(emu.path())
        .unwrap();
    let out = bench.flash(emu.path(), &[]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains(&format!("the port {} is in use by", emu.path().display()))
            && err.contains(&format!("(process {})", std::process::id()))
            && err.contains("stop it first"),
        "{err}"
    );
    assert_eq!(bench.recorded(), None, "avrdude ran on a held port");
}

#[test]
fn a_port_that_is_not_there_is_named() {
    let bench = Bench::new();
    bench.avrdude("printf '%s\\n' \"$@\" > \"$RECORD\"\n");
    let out = bench.flash(&bench.path("ttyACM9"), &[]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "the port {} does not exist",
            bench.path("ttyACM9").display()
        )),
        "{err}"
    );
    assert_eq!(bench.recorded(), None);
}

#[test]
fn dry_run_prints_the_avrdude_command_line_without_running_it() {
    let bench = Bench::new();
    bench.avrdude("printf '%s\\n' \"$@\" > \"$RECORD\"\n");
    let out = bench.flash(Path::new("/dev/ttyACM0"), &["--dry-run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!(
            "{} -p atmega328p -c arduino -P /dev/ttyACM0 -b 115200 -D -U flash:w:{}:i\n",
            bench.path("bin/avrdude").display(),
            bench.path("ledtogo.hex").display()
        )
    );
    assert_eq!(bench.recorded(), None);
}

#[test]
fn a_missing_hex_file_is_named() {
    let bench = Bench::new();
    let out = support::ledtogo()
        .env("XDG_CONFIG_HOME", bench.path("config"))
        .args(["flash", "--dry-run", "--port", "/dev/ttyACM0", "--hex"])
        .arg(bench.path("nowhere.hex"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "cannot use --hex {}",
            bench.path("nowhere.hex").display()
        )),
        "{err}"
    );
}

/// The real firmware in simavr behind a pty (as tests/device_firmware_sim.rs runs it): the Uno that
/// the stand-in avrdude "flashed".
struct SimUno {
    child: std::process::Child,
    _stdin: std::process::ChildStdin,
    link: PathBuf,
}

impl SimUno {
    fn start(link: PathBuf) -> SimUno {
        let fw = Path::new(env!("CARGO_MANIFEST_DIR")).join("firmware");
        let built = std::process::Command::new("make")
            .arg("-C")
            .arg(&fw)
            .args(["all", "sim"])
            .output()
            .expect("cannot run make (is it installed?)");
        assert!(
            built.status.success(),
            "`make -C firmware all sim` failed; it needs gcc-avr, avr-libc, arduino-core-avr and \
             libsimavr-dev\n{}",
            String::from_utf8_lossy(&built.stderr)
        );
        let mut child = std::process::Command::new(fw.join("build/ledtogo-sim"))
            .arg(fw.join("build/ledtogo.elf"))
            .arg("--link")
            .arg(&link)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("cannot start firmware/build/ledtogo-sim");
        let stdin = child.stdin.take().unwrap();
        let lines = support::lines_of(&mut child);
        let ready = lines
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("the harness prints READY");
        assert_eq!(ready, format!("READY {}", link.display()));
        SimUno {
            child,
            _stdin: stdin,
            link,
        }
    }
}

impl Drop for SimUno {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

#[test]
fn after_flashing_the_repos_image_the_real_firmware_in_the_simulator_answers_the_handshake() {
    let bench = Bench::new();
    bench.avrdude("printf '%s\\n' \"$@\" > \"$RECORD\"\n");
    let uno = SimUno::start(bench.path("ttyACM0"));
    // No --hex: the installed image if there is one, else the one `make -C firmware` just built.
    let out = support::ledtogo()
        .env("PATH", bench.path("bin"))
        .env("XDG_CONFIG_HOME", bench.path("config"))
        .env("RECORD", bench.path("avrdude-args"))
        .arg("flash")
        .arg("--port")
        .arg(&uno.link)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!(
            "ledtogo firmware 1.0.0 on {}, 16 LEDs\n",
            uno.link.display()
        )
    );
    let image = ledtogo::flash::default_images()
        .into_iter()
        .find(|p| p.is_file())
        .unwrap();
    let recorded = bench.recorded().unwrap();
    assert!(
        recorded.ends_with(&format!("-U\nflash:w:{}:i\n", image.display())),
        "{recorded}"
    );
}
