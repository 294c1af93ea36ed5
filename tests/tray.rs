//! The tray shell in real processes: no display → a no-op tray; under Xvfb with an XEmbed tray (`trayer`)
//! the icon appears and its colour follows the state (checked on `import` screenshots); on a private
//! session bus with a StatusNotifierWatcher written here (it records each `RegisterStatusNotifierItem`)
//! and a dbusmenu client (`GetLayout`, `Event`), the item registers once, keeps its menu ids over many
//! updates, and the tray knows whether a host shows it.
//!
//! GTK is per process and the environment is process-global, so each scenario runs in a child process: this
//! test binary re-runs itself with `LEDTOGO_TRAY_CHILD` set, and the `child` test then plays the tray.
#![cfg(feature = "gui")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use gtk::gio;
use gtk::glib;
use gtk::glib::ToVariant as _;
use ledtogo::model::JobState;
use ledtogo::tray::{ProblemJob, Tray, TrayModel, TrayState, TrayView};
use std::sync::{Arc, Mutex};

#[path = "support/xdisplay.rs"]
mod xdisplay;

const CHILD: &str = "LEDTOGO_TRAY_CHILD";

fn model(state: TrayState) -> TrayModel {
    TrayModel {
        view: TrayView {
            state,
            tooltip: state.label().to_owned(),
            problems: vec![],
        },
        muted: false,
        paused: false,
    }
}

/// The child side: does nothing in a normal test run.
#[test]
fn child() {
    let Ok(mode) = std::env::var(CHILD) else {
        return;
    };
    let tray = Tray::spawn(|action| println!("ACTION {action:?}"));
    match mode.as_str() {
        "no-display" => {
            assert!(!tray.available(), "no display, yet a tray");
            tray.update(model(TrayState::Failure));
            tray.stop();
            tray.update(model(TrayState::Success));
            println!("CHILD-OK");
        }
        "show" => {
            assert!(tray.available(), "a display and a tray, yet no icon");
            println!("READY");
            let mut broken = model(TrayState::Failure);
            broken.view.problems = vec![problem("api")];
            for line in std::io::stdin().lock().lines() {
                let line = line.unwrap();
                let mut words = line.split_whitespace();
                match words.next().unwrap_or_default() {
                    "failure" => tray.update(model(TrayState::Failure)),
                    "success" => tray.update(model(TrayState::Success)),
                    "host" => println!("HOST {}", tray.host_present()),
                    // The summary alone changes (the menu's first line).
                    "summary" => {
                        broken.view.tooltip =
                            format!("1 failing: api (update {})", words.next().unwrap());
                        tray.update(broken.clone());
                    }
                    // The job's own line changes text.
                    "building" => {
                        broken.view.problems[0].building = true;
                        tray.update(broken.clone());
                    }
                    // A second job breaks: a line comes in.
                    "second" => {
                        broken.view.problems.push(problem("web"));
                        tray.update(broken.clone());
                    }
                    "quit" => break,
                    other => panic!("unknown command {other:?}"),
                }
                println!("DONE {}", line.trim());
            }
            tray.stop();
            println!("CHILD-OK");
        }
        other => panic!("unknown mode {other:?}"),
    }
}

fn problem(label: &str) -> ProblemJob {
    ProblemJob {
        label: label.into(),
        url: format!("http://ci.example/job/{label}/"),
        state: JobState::Failure,
        building: false,
        blame: None,
        job: ledtogo::model::JobId::new("ci", label),
        on_it: None,
        flaky: false,
        progress: None,
    }
}

fn child_command(mode: &str) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, mode)
        .env("RUST_BACKTRACE", "0");
    cmd
}

#[test]
fn without_a_display_the_tray_is_a_quiet_no_op() {
    let out = child_command("no-display")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("CHILD-OK"),
        "child failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Kills what it holds when the test ends, pass or fail.
struct Reaper(Vec<Child>);

impl Drop for Reaper {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn have(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
}

fn free_display() -> Option<u32> {
    xdisplay::free_display(90..190)
}

fn wait_for(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

const W: usize = 300;
const H: usize = 120;

/// Red-ish and green-ish pixel counts in the screen's bottom 50 rows (where trayer sits).
fn tray_colours(display: &str) -> (usize, usize) {
    let out = Command::new("import")
        .args([
            "-display", display, "-window", "root", "-depth", "8", "rgb:-",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "import failed");
    assert_eq!(out.stdout.len(), W * H * 3, "unexpected screenshot size");
    let mut red = 0;
    let mut green = 0;
    for p in out.stdout[(H - 50) * W * 3..].chunks_exact(3) {
        let [r, g, b] = [p[0], p[1], p[2]].map(i32::from);
        if r > 170 && g < 100 && b < 100 {
            red += 1;
        }
        if g > 120 && r < 100 && b < 110 && g > r + 50 {
            green += 1;
        }
    }
    (red, green)
}

struct Talk {
    stdin: ChildStdin,
    lines: Receiver<String>,
}

impl Talk {
    fn expect(&self, marker: &str) {
        self.next_line(|line| line.ends_with(marker), marker);
    }

    /// The next line `ok` accepts (others are skipped), within 20 s.
    fn next_line(&self, ok: impl Fn(&str) -> bool, what: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("child never said {what:?}"));
            if ok(line.trim()) {
                return line.trim().to_owned();
            }
        }
    }

    /// Asks the child whether a tray host shows its icon.
    fn host(&mut self) -> bool {
        writeln!(self.stdin, "host").unwrap();
        self.stdin.flush().unwrap();
        let line = self.next_line(|l| l.starts_with("HOST "), "HOST");
        self.expect("DONE host");
        line == "HOST true"
    }

    /// Waits up to `limit` for the child's host answer to be `want`.
    fn wait_host(&mut self, want: bool, limit: Duration) {
        let start = Instant::now();
        while self.host() != want {
            assert!(
                start.elapsed() < limit,
                "the tray never saw host_present() == {want}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn say(&mut self, cmd: &str) {
        writeln!(self.stdin, "{cmd}").unwrap();
        self.stdin.flush().unwrap();
        self.expect(&format!("DONE {cmd}"));
    }
}

#[test]
fn under_xvfb_with_an_xembed_tray_the_icon_follows_the_state() {
    for tool in ["Xvfb", "trayer", "import"] {
        if !have(tool) {
            eprintln!("skipped: {tool} is not installed");
            return;
        }
    }
    if !Path::new("/usr/lib/x86_64-linux-gnu/libayatana-appindicator3.so.1").exists()
        && !Path::new("/lib/x86_64-linux-gnu/libayatana-appindicator3.so.1").exists()
    {
        eprintln!("skipped: libayatana-appindicator3-1 is not installed");
        return;
    }
    let mut reaper = Reaper(Vec::new());
    let display = start_xvfb(&mut reaper, &format!("{W}x{H}x24"));
    reaper.0.push(
        Command::new("trayer")
            .args([
                "--edge",
                "bottom",
                "--align",
                "left",
                "--widthtype",
                "pixel",
                "--width",
                "200",
                "--height",
                "40",
                "--SetDockType",
                "true",
                "--transparent",
                "false",
                "--tint",
                "0xffffff",
            ])
            .env("DISPLAY", &display)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_millis(1500));

    let mut child = child_command("show")
        .env("DISPLAY", &display)
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    reaper.0.push(child);
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut talk = Talk { stdin, lines };
    talk.expect("READY");
    // No StatusNotifierWatcher on the (autolaunched) bus: trayer, the XEmbed tray, is the host.
    talk.wait_host(true, Duration::from_secs(10));

    // Poll the screen: the icon shows up (and repaints) within a few seconds.
    let settle = |want_red: bool| {
        let start = Instant::now();
        loop {
            let (red, green) = tray_colours(&display);
            let ok = if want_red {
                red > 20 && green < 5
            } else {
                green > 20 && red < 5
            };
            if ok {
                return (red, green);
            }
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "tray never turned {}: red {red}, green {green}",
                if want_red { "red" } else { "green" }
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    talk.say("failure");
    let (red, _) = settle(true);
    talk.say("success");
    let (_, green) = settle(false);
    eprintln!("tray pixels: {red} red after failure, {green} green after success");
    writeln!(talk.stdin, "quit").unwrap();
    talk.expect("CHILD-OK");
}

// ---------------------------------------------------------------------------------------------------
// StatusNotifierItem: a private session bus, a watcher written here, a dbusmenu client.

const WATCHER: &str = "org.kde.StatusNotifierWatcher";
const WATCHER_PATH: &str = "/StatusNotifierWatcher";
const ITEM: &str = "org.kde.StatusNotifierItem";
const DBUSMENU: &str = "com.canonical.dbusmenu";

const WATCHER_XML: &str = r#"<node>
  <interface name="org.kde.StatusNotifierWatcher">
    <method name="RegisterStatusNotifierItem"><arg name="service" type="s" direction="in"/></method>
    <method name="RegisterStatusNotifierHost"><arg name="service" type="s" direction="in"/></method>
    <property name="RegisteredStatusNotifierItems" type="as" access="read"/>
    <property name="IsStatusNotifierHostRegistered" type="b" access="read"/>
    <property name="ProtocolVersion" type="i" access="read"/>
    <signal name="StatusNotifierItemRegistered"><arg type="s"/></signal>
    <signal name="StatusNotifierHostRegistered"/>
  </interface>
</node>"#;

/// The libraries and tools the bus tests need, or why they are skipped.
fn sni_prerequisites() -> bool {
    for tool in ["Xvfb", "dbus-daemon"] {
        if !have(tool) {
            eprintln!("skipped: {tool} is not installed");
            return false;
        }
    }
    if !Path::new("/usr/lib/x86_64-linux-gnu/libayatana-appindicator3.so.1").exists()
        && !Path::new("/lib/x86_64-linux-gnu/libayatana-appindicator3.so.1").exists()
    {
        eprintln!("skipped: libayatana-appindicator3-1 is not installed");
        return false;
    }
    true
}

/// Starts Xvfb with `screen` ("WxHxD"; no tray on it) and returns its display name.
fn start_xvfb(reaper: &mut Reaper, screen: &str) -> String {
    // Tests run side by side: one picks a display number and waits for its socket at a time.
    static PICK: Mutex<()> = Mutex::new(());
    let _one = PICK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let n = free_display().expect("no free X display number");
    let display = format!(":{n}");
    reaper.0.push(
        Command::new("Xvfb")
            .args([&display, "-screen", "0", screen, "-nolisten", "tcp"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for("Xvfb", Duration::from_secs(10), || {
        Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
    });
    display
}

/// A private session bus; returns its address.
fn start_bus(reaper: &mut Reaper) -> String {
    let mut bus = Command::new("dbus-daemon")
        .args(["--session", "--nofork", "--print-address"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut address = String::new();
    BufReader::new(bus.stdout.take().unwrap())
        .read_line(&mut address)
        .unwrap();
    reaper.0.push(bus);
    assert!(!address.trim().is_empty(), "dbus-daemon printed no address");
    address.trim().to_owned()
}

fn connect(address: &str) -> gio::DBusConnection {
    gio::DBusConnection::for_address_sync(
        address,
        gio::DBusConnectionFlags::AUTHENTICATION_CLIENT
            | gio::DBusConnectionFlags::MESSAGE_BUS_CONNECTION,
        None,
        None::<&gio::Cancellable>,
    )
    .unwrap()
}

/// A StatusNotifierWatcher on its own thread and connection: records who registers which item.
struct Watcher {
    /// (sender, the item's object path) of every `RegisterStatusNotifierItem`.
    registrations: Arc<Mutex<Vec<(String, String)>>>,
    main_loop: glib::MainLoop,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watcher {
    fn start(address: &str, host_registered: bool) -> Watcher {
        let registrations = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&registrations);
        let address = address.to_owned();
        let (ready, started) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            let context = glib::MainContext::new();
            context
                .with_thread_default(|| {
                    let conn = connect(&address);
                    let node = gio::DBusNodeInfo::for_xml(WATCHER_XML).unwrap();
                    let interface = node.lookup_interface(WATCHER).unwrap();
                    let items = Arc::clone(&seen);
                    let _registration = conn
                        .register_object(
                            WATCHER_PATH,
                            &interface,
                            move |conn, sender, _path, _iface, method, params, invocation| {
                                if method == "RegisterStatusNotifierItem" {
                                    let path = params.child_value(0).str().unwrap().to_owned();
                                    items
                                        .lock()
                                        .unwrap()
                                        .push((sender.to_owned(), path.clone()));
                                    let _ = conn.emit_signal(
                                        None,
                                        WATCHER_PATH,
                                        WATCHER,
                                        "StatusNotifierItemRegistered",
                                        Some(&(format!("{sender}{path}"),).to_variant()),
                                    );
                                }
                                invocation.return_value(None);
                            },
                            move |_conn, _sender, _path, _iface, property| match property {
                                "IsStatusNotifierHostRegistered" => host_registered.to_variant(),
                                "ProtocolVersion" => 0i32.to_variant(),
                                _ => Vec::<String>::new().to_variant(),
                            },
                            |_, _, _, _, _, _| false,
                        )
                        .unwrap();
                    conn.call_sync(
                        Some("org.freedesktop.DBus"),
                        "/org/freedesktop/DBus",
                        "org.freedesktop.DBus",
                        "RequestName",
                        Some(&(WATCHER, 4u32).to_variant()),
                        None,
                        gio::DBusCallFlags::NONE,
                        5000,
                        None::<&gio::Cancellable>,
                    )
                    .unwrap();
                    let main_loop = glib::MainLoop::new(Some(&context), false);
                    ready.send(main_loop.clone()).unwrap();
                    main_loop.run();
                    let _ = conn.close_sync(None::<&gio::Cancellable>);
                })
                .unwrap();
        });
        let main_loop = started.recv_timeout(Duration::from_secs(10)).unwrap();
        Watcher {
            registrations,
            main_loop,
            thread: Some(thread),
        }
    }

    fn registrations(&self) -> Vec<(String, String)> {
        self.registrations.lock().unwrap().clone()
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.main_loop.quit();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn get_property(
    bus: &gio::DBusConnection,
    (name, path): &(String, String),
    property: &str,
) -> glib::Variant {
    bus.call_sync(
        Some(name),
        path,
        "org.freedesktop.DBus.Properties",
        "Get",
        Some(&(ITEM, property).to_variant()),
        glib::VariantTy::new("(v)").ok(),
        gio::DBusCallFlags::NONE,
        5000,
        None::<&gio::Cancellable>,
    )
    .unwrap()
    .child_value(0)
    .as_variant()
    .unwrap()
}

/// The top level of the item's dbusmenu: (id, label) per line, separators as "-".
fn layout(bus: &gio::DBusConnection, name: &str, menu: &str) -> Vec<(i32, String)> {
    let reply = bus
        .call_sync(
            Some(name),
            menu,
            DBUSMENU,
            "GetLayout",
            Some(&(0i32, -1i32, Vec::<String>::new()).to_variant()),
            glib::VariantTy::new("(u(ia{sv}av))").ok(),
            gio::DBusCallFlags::NONE,
            5000,
            None::<&gio::Cancellable>,
        )
        .unwrap();
    let root = reply.child_value(1);
    let children = root.child_value(2);
    (0..children.n_children())
        .map(|i| {
            let child = children.child_value(i).as_variant().unwrap();
            let id = child.child_value(0).get::<i32>().unwrap();
            let props = glib::VariantDict::new(Some(&child.child_value(1)));
            let kind = props.lookup::<String>("type").ok().flatten();
            let label = if kind.as_deref() == Some("separator") {
                "-".to_owned()
            } else {
                props
                    .lookup::<String>("label")
                    .ok()
                    .flatten()
                    .unwrap_or_default()
            };
            (id, label)
        })
        .collect()
}

fn click(bus: &gio::DBusConnection, name: &str, menu: &str, id: i32) {
    bus.call_sync(
        Some(name),
        menu,
        DBUSMENU,
        "Event",
        Some(&(id, "clicked", 0i32.to_variant(), 0u32).to_variant()),
        None,
        gio::DBusCallFlags::NONE,
        5000,
        None::<&gio::Cancellable>,
    )
    .unwrap();
}

fn id_of(lines: &[(i32, String)], label: &str) -> i32 {
    lines
        .iter()
        .find(|(_, l)| l == label)
        .unwrap_or_else(|| panic!("no {label:?} in {lines:?}"))
        .0
}

/// The tray child on `display` and `bus`, its runtime folder `runtime`.
fn sni_child(display: &str, bus: &str, runtime: &Path, reaper: &mut Reaper) -> (Talk, u32) {
    let mut child = child_command("show")
        .env("DISPLAY", display)
        .env("DBUS_SESSION_BUS_ADDRESS", bus)
        .env("XDG_RUNTIME_DIR", runtime)
        .env_remove("WAYLAND_DISPLAY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    reaper.0.push(child);
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let talk = Talk { stdin, lines };
    talk.expect("READY");
    (talk, pid)
}

fn private_runtime() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("tray-runtime-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap()
}

#[test]
fn with_a_status_notifier_host_the_item_registers_once_and_keeps_its_menu_ids() {
    if !sni_prerequisites() {
        return;
    }
    let mut reaper = Reaper(Vec::new());
    let display = start_xvfb(&mut reaper, "320x200x24");
    let address = start_bus(&mut reaper);
    let watcher = Watcher::start(&address, true);
    let runtime = private_runtime();
    let (mut talk, pid) = sni_child(&display, &address, runtime.path(), &mut reaper);
    talk.say("summary 0");

    wait_for("the item's registration", Duration::from_secs(10), || {
        !watcher.registrations().is_empty()
    });
    talk.wait_host(true, Duration::from_secs(10));
    let item = watcher.registrations()[0].clone();
    let client = connect(&address);
    let menu = get_property(&client, &item, "Menu")
        .str()
        .unwrap()
        .to_owned();
    assert_eq!(get_property(&client, &item, "Title").str(), Some("ledtogo"));

    // The icon file is in this process's private folder under the runtime dir.
    let icon = PathBuf::from(get_property(&client, &item, "IconName").str().unwrap());
    let folder = icon.parent().unwrap().to_path_buf();
    assert!(icon.is_file(), "{}", icon.display());
    assert_eq!(
        folder.parent(),
        Some(runtime.path().join("ledtogo").as_path())
    );
    let folder_name = folder.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        folder_name.starts_with(&format!("tray-{pid}-")),
        "{folder_name}"
    );

    wait_for("the job's line", Duration::from_secs(5), || {
        layout(&client, &item.0, &menu)
            .iter()
            .any(|(_, l)| l == "api (failing)")
    });
    let before = layout(&client, &item.0, &menu);
    let refresh = id_of(&before, "Refresh now");
    let job = id_of(&before, "api (failing)");

    for i in 1..=30 {
        talk.say(&format!("summary {i}"));
    }
    let last = "1 failing: api (update 30)";
    wait_for("the summary line to follow", Duration::from_secs(5), || {
        layout(&client, &item.0, &menu)[0].1 == last
    });
    let after = layout(&client, &item.0, &menu);
    let ids = |lines: &[(i32, String)]| lines.iter().map(|l| l.0).collect::<Vec<_>>();
    assert_eq!(ids(&after), ids(&before), "{before:?} → {after:?}");

    // The job's own text changes in place too.
    talk.say("building");
    wait_for("the job line to follow", Duration::from_secs(5), || {
        layout(&client, &item.0, &menu)
            .iter()
            .any(|(id, l)| *id == job && l == "api (failing, building)")
    });

    // A click on an id read before all those updates is the action it was.
    click(&client, &item.0, &menu, refresh);
    talk.expect("ACTION Refresh");

    // A second broken job: its line and its "I'm on it" line (and only they) come in; the others keep
    // their ids.
    talk.say("second");
    wait_for("the new job line", Duration::from_secs(5), || {
        layout(&client, &item.0, &menu)
            .iter()
            .any(|(_, l)| l == "web (failing)")
    });
    let grown = layout(&client, &item.0, &menu);
    assert_eq!(grown.len(), after.len() + 2, "{grown:?}");
    assert_eq!(id_of(&grown, "Refresh now"), refresh);
    assert_eq!(id_of(&grown, "api (failing, building)"), job);

    // A new state is a new icon file (NewIcon), still no new registration.
    talk.say("success");
    wait_for("the new icon", Duration::from_secs(5), || {
        icon != Path::new(get_property(&client, &item, "IconName").str().unwrap())
    });
    assert!(!icon.exists(), "the old icon file stays");
    assert_eq!(
        watcher.registrations().len(),
        1,
        "re-registered: {:?}",
        watcher.registrations()
    );

    writeln!(talk.stdin, "quit").unwrap();
    talk.stdin.flush().unwrap();
    talk.expect("CHILD-OK");
    assert!(!folder.exists(), "{} outlived the icon", folder.display());
}

#[test]
fn without_a_tray_host_the_tray_says_so_and_notices_one_that_comes_later() {
    if !sni_prerequisites() {
        return;
    }
    let mut reaper = Reaper(Vec::new());
    // Xvfb with no XEmbed tray, a bus with no watcher.
    let display = start_xvfb(&mut reaper, "320x200x24");
    let address = start_bus(&mut reaper);
    let runtime = private_runtime();
    let (mut talk, _) = sni_child(&display, &address, runtime.path(), &mut reaper);
    // Longer than a check period: the answer is a checked "no", not "not yet looked".
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(3) {
        assert!(!talk.host(), "a host with no watcher and no XEmbed tray");
        std::thread::sleep(Duration::from_millis(300));
    }

    // A watcher with no host yet: still nobody shows the icon.
    let lonely = Watcher::start(&address, false);
    wait_for("the item's registration", Duration::from_secs(10), || {
        !lonely.registrations().is_empty()
    });
    std::thread::sleep(Duration::from_millis(500));
    assert!(!talk.host(), "a watcher without a host shows nothing");
    drop(lonely);

    // A desktop whose tray comes up later.
    let watcher = Watcher::start(&address, true);
    talk.wait_host(true, Duration::from_secs(10));
    wait_for("the item's registration", Duration::from_secs(10), || {
        !watcher.registrations().is_empty()
    });
    writeln!(talk.stdin, "quit").unwrap();
    talk.stdin.flush().unwrap();
    talk.expect("CHILD-OK");
}

/// Main windows of ledtogo (titled "ledtogo — …"; the tray's GTK windows are called "ledtogo" too) that
/// are mapped on `display`.
fn visible_main_windows(display: &str) -> usize {
    let out = Command::new("xdotool")
        .args(["search", "--onlyvisible", "--name", "^ledtogo ."])
        .env("DISPLAY", display)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).lines().count()
}

/// The real app on `display` with no config (the demo) in a private home; `args` after the binary.
fn app_on(display: &str, home: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ledtogo"));
    cmd.args(args)
        .env("DISPLAY", display)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_RUNTIME_DIR", home.join("runtime"))
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

fn private_home() -> tempfile::TempDir {
    let home = private_runtime();
    std::fs::create_dir(home.path().join("runtime")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(
            home.path().join("runtime"),
            std::fs::Permissions::from_mode(0o700),
        )
        .unwrap();
    }
    home
}

#[test]
fn in_tray_the_window_starts_hidden_where_a_panel_shows_the_icon_and_a_second_start_shows_it() {
    for tool in ["Xvfb", "trayer", "xdotool"] {
        if !have(tool) {
            eprintln!("skipped: {tool} is not installed");
            return;
        }
    }
    let mut reaper = Reaper(Vec::new());
    let display = start_xvfb(&mut reaper, "1280x800x24");
    reaper.0.push(
        Command::new("trayer")
            .args([
                "--edge",
                "bottom",
                "--widthtype",
                "request",
                "--SetDockType",
                "true",
            ])
            .env("DISPLAY", &display)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_secs(1));
    let home = private_home();
    reaper.0.push(
        app_on(&display, home.path(), &["--in-tray"])
            .spawn()
            .unwrap(),
    );
    // The window exists (its first frame is painted) but is not mapped.
    wait_for(
        "the main window to be created",
        Duration::from_secs(60),
        || {
            let out = Command::new("xdotool")
                .args(["search", "--name", "^ledtogo ."])
                .env("DISPLAY", &display)
                .output()
                .unwrap();
            !out.stdout.is_empty()
        },
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        visible_main_windows(&display),
        0,
        "--in-tray showed the window under a tray"
    );
    // Starting ledtogo again (the menu entry) brings the running one's window up.
    let second = app_on(&display, home.path(), &[]).status().unwrap();
    assert!(second.success(), "{second}");
    wait_for("the window to be shown", Duration::from_secs(20), || {
        visible_main_windows(&display) == 1
    });
}

#[test]
fn in_tray_without_any_tray_the_window_opens_as_the_only_way_in() {
    for tool in ["Xvfb", "xdotool"] {
        if !have(tool) {
            eprintln!("skipped: {tool} is not installed");
            return;
        }
    }
    let mut reaper = Reaper(Vec::new());
    let display = start_xvfb(&mut reaper, "1280x800x24");
    let home = private_home();
    reaper.0.push(
        app_on(&display, home.path(), &["--in-tray"])
            .spawn()
            .unwrap(),
    );
    wait_for("the window to open", Duration::from_secs(60), || {
        visible_main_windows(&display) == 1
    });
}
