//! Tokens in the OS keyring, end to end on Linux: a token typed in the window's Servers tab goes through
//! the settings worker into a real Secret Service (`gnome-keyring-daemon`, unlocked on a private
//! `dbus-run-session` bus, in a throw-away home), comes back through `credentials::lookup`, follows the
//! server to a new URL and leaves with it; with no Secret Service it goes to a private token file and the
//! editor says so. Each test runs its body again in a child process of this test binary, so the bus and
//! the environment are the child's alone. Without `dbus-run-session` and `gnome-keyring-daemon` (Debian
//! `dbus`, `gnome-keyring`) the keyring test prints SKIPPED and passes; `./dev test` installs them.
#![cfg(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "android"))
))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use ledtogo::config::{Config, ServerEntry, TokenSetting, TokenSource};
use ledtogo::settings::{Edit, Editor};
use ledtogo::sources::credentials::{self, Credentials, KeyringError};

/// Set in the child process to the name of the test whose body it runs.
const CHILD: &str = "LEDTOGO_KEYRING_TEST_CHILD";

const CONFIG: &str = "# my servers\n[[servers]]\nname = \"office\"\nurl = \"http://127.0.0.1:1/ci\"\n\n\
                      [strip]\nport = \"none\"\nleds = 4\n";

const TOKEN: &str = "s3cret-typed-in-the-window";

/// Whether this process is the child that runs the body of `test`.
fn is_child(test: &str) -> bool {
    std::env::var(CHILD).is_ok_and(|t| t == test)
}

/// Whether `tool` is on the PATH.
fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs the body of `test` in a child process: `prefix` (a command that runs the rest, or nothing) then
/// this test binary with only that test, in a fresh home; asserts that it passed.
fn run_child(test: &str, prefix: &[&str], bus: Option<&str>) {
    let home = tempfile::tempdir().unwrap();
    let runtime = tempfile::tempdir().unwrap(); // mode 700, as gnome-keyring wants it
    let exe = std::env::current_exe().unwrap();
    let (program, args) = match prefix.split_first() {
        Some((program, rest)) => {
            let mut args: Vec<String> = rest.iter().map(|s| (*s).to_owned()).collect();
            args.push(exe.display().to_string());
            (PathBuf::from(program), args)
        }
        None => (exe, Vec::new()),
    };
    let mut cmd = Command::new(program);
    cmd.args(args)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, test)
        .env("HOME", home.path())
        .env("XDG_DATA_HOME", home.path().join(".local/share"))
        .env("XDG_CONFIG_HOME", home.path().join(".config"))
        .env("XDG_RUNTIME_DIR", runtime.path())
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env("RUST_LOG", "debug");
    match bus {
        Some(address) => cmd.env("DBUS_SESSION_BUS_ADDRESS", address),
        None => cmd.env_remove("DBUS_SESSION_BUS_ADDRESS"),
    };
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "the child run of {test} failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
}

/// A config folder holding [`CONFIG`] and an editor on it that reports each edit on the channel.
fn editor_on_config() -> (tempfile::TempDir, PathBuf, Editor, mpsc::Receiver<bool>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, CONFIG).unwrap();
    let (tx, rx) = mpsc::channel();
    let editor = Editor::spawn(path.clone(), move |ok| tx.send(ok).unwrap()).unwrap();
    (dir, path, editor, rx)
}

/// Sends `edit` and waits until it is saved.
fn save(editor: &Editor, rx: &mpsc::Receiver<bool>, edit: Edit) {
    editor.send(edit);
    let ok = rx.recv_timeout(Duration::from_secs(60)).unwrap();
    assert!(ok, "not saved: {:?}", editor.state().last_error);
}

/// The server form's Save: `url` and user `alice`, with `token` typed (or none).
fn save_office(url: &str, token: Option<&str>) -> Edit {
    Edit::SaveServer {
        old_name: Some("office".into()),
        entry: ServerEntry {
            name: "office".into(),
            kind: ledtogo::config::ServerKind::Jenkins,
            url: url.into(),
            user: Some("alice".into()),
            token: TokenSetting::Keep,
        },
        token: token.map(ledtogo::sources::Secret::new),
    }
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_typed_token_goes_to_the_secret_service_follows_the_server_and_leaves_with_it() {
    const TEST: &str =
        "a_typed_token_goes_to_the_secret_service_follows_the_server_and_leaves_with_it";
    if !is_child(TEST) {
        let missing: Vec<_> = ["dbus-run-session", "gnome-keyring-daemon"]
            .into_iter()
            .filter(|t| !have(t))
            .collect();
        if missing.is_empty() {
            // The daemon's `--unlock` creates the login keyring with this password, unlocked.
            let script = "echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null \
                          && exec \"$@\"";
            run_child(
                TEST,
                &["dbus-run-session", "--", "sh", "-c", script, "sh"],
                None,
            );
        } else {
            eprintln!("SKIPPED: {missing:?} not installed (./dev test installs them)");
        }
        return;
    }

    let (dir, path, editor, rx) = editor_on_config();
    save(
        &editor,
        &rx,
        save_office("http://127.0.0.1:1/ci", Some(TOKEN)),
    );
    let state = editor.state();
    assert_eq!(
        state.last_notice, None,
        "the keyring answered: nothing to say"
    );

    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("token_keyring = true"), "{text}");
    assert!(text.contains("# my servers"), "comments kept: {text}");
    assert!(
        !text.contains(TOKEN),
        "the config never holds the token: {text}"
    );
    assert_eq!(names(dir.path()), ["config.toml"], "no token file");
    let config = Config::load(&path).unwrap();
    assert_eq!(config.servers[0].token, TokenSource::Keyring);
    assert_eq!(
        credentials::lookup(&config.servers[0]).unwrap(),
        Some(Credentials::new("alice", TOKEN))
    );
    let check = ledtogo::cli::check(&path).unwrap();
    assert!(
        check.contains("user alice, token from the keyring (found)"),
        "{check}"
    );
    // Keyed by service "ledtogo" and user@URL (with a trailing slash).
    assert_eq!(
        credentials::keyring_account("http://127.0.0.1:1/ci", "alice"),
        "alice@http://127.0.0.1:1/ci/"
    );

    // A new URL, no new token: the token moves with the server.
    save(&editor, &rx, save_office("http://127.0.0.1:2/ci/", None));
    let config = Config::load(&path).unwrap();
    assert_eq!(
        credentials::lookup(&config.servers[0]).unwrap(),
        Some(Credentials::new("alice", TOKEN))
    );
    assert_eq!(
        credentials::keyring_read("http://127.0.0.1:1/ci", "alice").unwrap_err(),
        KeyringError::NoEntry {
            account: "alice@http://127.0.0.1:1/ci/".into()
        },
        "the old entry is gone"
    );

    // Removing the server removes its keyring entry.
    save(&editor, &rx, Edit::RemoveServer("office".into()));
    assert!(matches!(
        credentials::keyring_read("http://127.0.0.1:2/ci/", "alice"),
        Err(KeyringError::NoEntry { .. })
    ));
    assert_eq!(editor.state().last_notice, None);

    // A config naming a keyring entry that is not there: `check` says so, `lookup` names the account.
    std::fs::write(
        &path,
        "[[servers]]\nname = \"office\"\nurl = \"http://127.0.0.1:1/ci\"\nuser = \"bob\"\n\
         token_keyring = true\n",
    )
    .unwrap();
    let config = Config::load(&path).unwrap();
    let check = ledtogo::cli::check(&path).unwrap();
    assert!(
        check.contains("user bob, token from the keyring (MISSING)"),
        "{check}"
    );
    let e = credentials::lookup(&config.servers[0])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("\"office\"") && e.contains("bob@http://127.0.0.1:1/ci/"),
        "{e}"
    );
}

#[test]
fn without_a_secret_service_a_typed_token_goes_to_a_private_file_and_the_editor_says_so() {
    const TEST: &str =
        "without_a_secret_service_a_typed_token_goes_to_a_private_file_and_the_editor_says_so";
    if !is_child(TEST) {
        let nowhere = tempfile::tempdir().unwrap();
        let bus = format!("unix:path={}", nowhere.path().join("no-bus").display());
        run_child(TEST, &[], Some(&bus));
        return;
    }

    let (dir, path, editor, rx) = editor_on_config();
    save(
        &editor,
        &rx,
        save_office("http://127.0.0.1:1/ci", Some(TOKEN)),
    );
    let file = dir.path().join("office.token");
    let notice = editor.state().last_notice.expect("the fallback is told");
    assert!(
        notice.contains("no keyring service answers")
            && notice.contains(&file.display().to_string()),
        "{notice}"
    );

    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("token_keyring"), "{text}");
    assert!(!text.contains(TOKEN), "{text}");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        format!("{TOKEN}\n")
    );
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let config = Config::load(&path).unwrap();
    assert_eq!(config.servers[0].token, TokenSource::File(file.clone()));
    assert_eq!(
        credentials::lookup(&config.servers[0]).unwrap(),
        Some(Credentials::new("alice", TOKEN))
    );

    // Removing the server removes the token file the window made for it.
    save(&editor, &rx, Edit::RemoveServer("office".into()));
    assert_eq!(names(dir.path()), ["config.toml"]);
}
