//! The window, headless (egui_kittest): a real engine polling a simulated Jenkins on loopback and a real
//! config file; drags, clicks and keys go through egui's input like a user's. Checks what the file holds
//! after each gesture, and what the mirror paints.
#![cfg(feature = "gui")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use egui::{Pos2, Rect, Vec2};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use ledtogo::autostart::Autostart;
use ledtogo::config::Config;
use ledtogo::gui::desk::FRAME_INTERVAL;
use ledtogo::gui::{App, ConfigPlace, look, start_desk};
use ledtogo::model::Target;
use ledtogo::model::{JobId, JobState};
use ledtogo::sim::{SimItem, SimJenkins, SimJob};
use ledtogo::state::Files;

mod support;
use support::wait_until;
#[path = "support/mdns.rs"]
mod mdns;

const LIMIT: Duration = Duration::from_secs(20);

struct Setup {
    sim: SimJenkins,
    _dir: tempfile::TempDir,
    path: PathBuf,
    opened: Arc<Mutex<Vec<String>>>,
    harness: Harness<'static, App>,
}

fn jobs() -> Vec<SimItem> {
    vec![
        SimJob::new("api", Some(JobState::Success)).into(),
        SimJob::new("web", Some(JobState::Failure)).into(),
        SimItem::folder(
            "team",
            vec![SimJob::new("deploy", Some(JobState::Unstable)).into()],
        ),
    ]
}

fn setup(slots: &str) -> Setup {
    setup_sized(slots, Vec2::new(1000.0, 700.0))
}

fn setup_sized(slots: &str, size: Vec2) -> Setup {
    setup_full(
        SimJenkins::start(jobs()).unwrap(),
        "",
        "brightness = 1.0\ngamma = 1.0\n",
        slots,
        size,
    )
}

/// The window on a config whose server `ci` is `sim`, with `server` as more lines of its entry.
fn setup_with(sim: SimJenkins, server: &str, slots: &str, size: Vec2) -> Setup {
    setup_full(sim, server, "brightness = 1.0\ngamma = 1.0\n", slots, size)
}

/// A window on a strip with `strip` settings (brightness, gamma) and `slots`.
fn setup_strip(strip: &str, slots: &str, size: Vec2) -> Setup {
    setup_full(SimJenkins::start(jobs()).unwrap(), "", strip, slots, size)
}

/// The window on a config whose server `ci` is `sim` (with `server` as more lines of its entry), with
/// `strip` settings and `slots`.
fn setup_full(sim: SimJenkins, server: &str, strip: &str, slots: &str, size: Vec2) -> Setup {
    setup_app(sim, server, strip, slots, size, |app| app)
}

/// [`setup_full`] with `wrap` finishing the window's state (e.g. giving it an autostart folder).
fn setup_app(
    sim: SimJenkins,
    server: &str,
    strip: &str,
    slots: &str,
    size: Vec2,
    wrap: impl FnOnce(App) -> App + 'static,
) -> Setup {
    setup_remembering(sim, server, strip, slots, size, wrap, None)
}

/// [`setup_app`] with `flaky` as the flaky-job history the desk starts from (its `flaky.json`, in the
/// test's folder; `None`: kept in memory).
fn setup_remembering(
    sim: SimJenkins,
    server: &str,
    strip: &str,
    slots: &str,
    size: Vec2,
    wrap: impl FnOnce(App) -> App + 'static,
    flaky: Option<&str>,
) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let flaky_file = flaky.map(|text| {
        let file = dir.path().join("flaky.json");
        std::fs::write(&file, text).unwrap();
        file
    });
    let path = dir.path().join("config.toml");
    let text = format!(
        "poll_seconds = 1\n\n[[servers]]\nname = \"ci\"\nurl = \"{}\"\n{server}\n[strip]\nport = \"none\"\nleds = 6\n\
         {strip}{slots}",
        sim.url()
    );
    if server.contains("ci.token") {
        std::fs::write(dir.path().join("ci.token"), "good\n").unwrap();
    }
    std::fs::write(&path, text).unwrap();
    let initial = Config::load(&path).unwrap();
    let opened = Arc::new(Mutex::new(Vec::new()));
    let record = opened.clone();
    // Acknowledgements and flaky history next to the config: never the state folder of whoever runs
    // the tests.
    let desk = start_desk(
        ConfigPlace::User(path.clone()),
        initial,
        Vec::new(),
        Box::new(move |url| record.lock().unwrap().push(url.to_owned())),
        None,
        Files {
            acks: Some(dir.path().join("acks.json")),
            flaky: flaky_file,
        },
    )
    .unwrap();
    let harness = Harness::builder()
        .with_size(size)
        .with_step_dt(0.05)
        .build_eframe(move |cc| wrap(App::new(&cc.egui_ctx, desk)));
    let mut s = Setup {
        sim,
        _dir: dir,
        path,
        opened,
        harness,
    };
    // The first poll: the tree lists the jobs.
    assert!(s.pump_until(|h| h.query_by_label("deploy").is_some()));
    s
}

impl Setup {
    /// Steps the window until `cond` holds (the engine and the editor work on their own threads).
    fn pump_until(&mut self, mut cond: impl FnMut(&Harness<'static, App>) -> bool) -> bool {
        let h = &mut self.harness;
        wait_until(LIMIT, || {
            h.step();
            cond(h)
        })
    }

    fn config(&self) -> Config {
        Config::load(&self.path).unwrap()
    }

    /// Waits until the saved file satisfies `cond` and the window shows that config.
    fn saved(&mut self, cond: impl Fn(&Config) -> bool) -> Config {
        let path = self.path.clone();
        let ok = self.pump_until(|h| {
            Config::load(&path).is_ok_and(|c| cond(&c)) && cond(&h.state().published().config)
        });
        let config = self.config();
        assert!(
            ok,
            "the file never got there: {config:#?}\n{}",
            self.harness
                .state()
                .desk()
                .editor
                .state()
                .last_error
                .unwrap_or_default()
        );
        config
    }

    /// Hovers `at` until a tooltip containing `text` shows; false when none does.
    fn tooltip_at(&mut self, at: Pos2, text: &str) -> bool {
        self.harness.hover_at(at);
        self.pump_until(|h| h.query_by_label_contains(text).is_some())
    }

    /// The colour painted at the centre of the widget labelled `label`.
    fn painted(&mut self, label: &str) -> [u8; 3] {
        let image = self
            .harness
            .render()
            .expect("a software wgpu adapter renders the window");
        let scale = image.width() as f32 / self.harness.ctx.content_rect().width();
        let center = self.harness.get_by_label(label).rect().center();
        let px = image.get_pixel((center.x * scale) as u32, (center.y * scale) as u32);
        [px[0], px[1], px[2]]
    }

    /// Where a widget labelled `label` is; `left` picks the one in the job tree when the strip shows it too.
    fn center(&self, label: &str, left: bool) -> Pos2 {
        let rects: Vec<Rect> = self
            .harness
            .query_all_by_label(label)
            .map(|n| n.rect())
            .collect();
        let rect = rects
            .iter()
            .copied()
            .find(|r| (r.center().x < 280.0) == left)
            .unwrap_or_else(|| {
                panic!(
                    "no {label:?} on the {} side: {rects:?}",
                    if left { "left" } else { "right" }
                )
            });
        rect.center()
    }

    /// A mouse drag from `from` to `to`, in small moves like a hand.
    fn drag(&mut self, from: Pos2, to: Pos2) {
        let h = &mut self.harness;
        h.hover_at(from);
        h.step();
        h.drag_at(from);
        h.step();
        for i in 1..=6 {
            let t = i as f32 / 6.0;
            h.hover_at(from + (to - from) * t);
            h.step();
        }
        h.drop_at(to);
        h.step();
        h.step();
    }

    /// Replaces the text of the field labelled `label`, as select-all and typing would.
    fn replace_text(&mut self, label: &str, text: &str) {
        self.harness.get_by_label(label).click();
        self.harness.step();
        self.harness
            .key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
        self.harness.step();
        self.harness.get_by_label(label).type_text(text);
        self.harness.step();
        self.harness.step();
    }

    fn slot_center(&self, led: usize) -> Pos2 {
        let prefix = format!("LED {led}: ");
        let node = self
            .harness
            .query_all(
                egui_kittest::kittest::By::new()
                    .predicate(move |n| n.label().is_some_and(|l| l.starts_with(&prefix))),
            )
            .next()
            .unwrap_or_else(|| panic!("no slot for LED {led}"));
        node.rect().center()
    }
}

fn job(path: &str) -> Target {
    Target::Job(JobId::new("ci", path))
}

fn target_of(config: &Config, led: usize) -> Option<Target> {
    config.slot(led).map(|s| s.target.clone())
}

fn file_text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn dragging_a_job_onto_an_led_maps_it_in_the_config_file() {
    let mut s = setup("");
    let from = s.center("web", true);
    let to = s.slot_center(3);
    s.drag(from, to);
    let config = s.saved(|c| c.slot(3).is_some());
    assert_eq!(target_of(&config, 3), Some(job("web")));
    assert!(file_text(&s.path).contains("job = \"web\""));
    // The slot now shows the job's name and its live colour.
    assert!(s.pump_until(|h| h.query_by_label("LED 3: web").is_some()));
}

#[test]
fn dropping_a_folder_makes_an_aggregate_led() {
    let mut s = setup("");
    let from = s.center("All of team/", true);
    let to = s.slot_center(1);
    s.drag(from, to);
    let config = s.saved(|c| c.slot(1).is_some());
    assert_eq!(
        target_of(&config, 1),
        Some(Target::Folder {
            server: "ci".into(),
            path: vec!["team".into()]
        })
    );
}

#[test]
fn dragging_an_led_onto_a_free_one_moves_it_and_onto_a_mapped_one_swaps() {
    let mut s = setup("\n[[slots]]\nled = 0\njob = \"api\"\n\n[[slots]]\nled = 1\njob = \"web\"\n");
    let (from, to) = (s.slot_center(0), s.slot_center(4));
    s.drag(from, to);
    let config = s.saved(|c| c.slot(4).is_some());
    assert_eq!(target_of(&config, 0), None);
    assert_eq!(target_of(&config, 4), Some(job("api")));

    let (from, to) = (s.slot_center(4), s.slot_center(1));
    s.drag(from, to);
    let config = s.saved(|c| c.slot(4).is_some_and(|x| x.target == job("web")));
    assert_eq!(target_of(&config, 1), Some(job("api")));
}

#[test]
fn an_led_dragged_out_of_the_strip_is_cleared() {
    let mut s = setup("\n[[slots]]\nled = 2\njob = \"api\"\n");
    let from = s.slot_center(2);
    s.drag(from, Pos2::new(150.0, 650.0));
    let config = s.saved(|c| c.slot(2).is_none());
    assert!(config.slots.is_empty());
}

#[test]
fn the_delete_key_clears_the_selected_led() {
    let mut s = setup("\n[[slots]]\nled = 5\njob = \"api\"\n");
    s.harness.get_by_label("LED 5: api").click();
    s.harness.step();
    s.harness.key_press(egui::Key::Delete);
    s.harness.step();
    let config = s.saved(|c| c.slot(5).is_none());
    assert!(config.slots.is_empty());
}

#[test]
fn double_clicking_a_mapped_led_opens_the_job_page() {
    let mut s = setup("\n[[slots]]\nled = 0\njob = \"web\"\n");
    assert!(s.pump_until(|h| h.query_by_label("LED 0: web").is_some()));
    let at = s.slot_center(0);
    s.harness.hover_at(at);
    s.harness.step();
    // Two clicks 50 ms apart (one harness step).
    for _ in 0..2 {
        for pressed in [true, false] {
            s.harness.event(egui::Event::PointerButton {
                pos: at,
                button: egui::PointerButton::Primary,
                pressed,
                modifiers: egui::Modifiers::NONE,
            });
        }
        s.harness.step();
    }
    let opened = s.opened.lock().unwrap().clone();
    assert_eq!(opened.len(), 1, "{opened:?}");
    assert!(opened[0].ends_with("/job/web/"), "{opened:?}");
}

#[test]
fn the_mirror_paints_the_engines_frame_as_the_eye_sees_the_strip_and_says_each_leds_state() {
    // The default brightness and gamma: the strip is sent dim values, the mirror shows what the eye sees.
    let mut s = setup_strip(
        "brightness = 0.5\ngamma = 2.2\n",
        "\n[[slots]]\nled = 0\njob = \"api\"\n\n[[slots]]\nled = 1\njob = \"web\"\n\n\
         [[slots]]\nled = 2\nfolder = \"team\"\n",
        Vec2::new(1000.0, 700.0),
    );
    // Wait until the frame shows the three states (green, red, amber) and the mirror says so.
    assert!(s.pump_until(|h| {
        let p = h.state().published();
        let strip = p.config.strip.correction();
        let colors = &p.config.colors;
        p.frame[..3]
            == [
                strip.apply(colors.success),
                strip.apply(colors.failure),
                strip.apply(colors.unstable),
            ]
            && h.query_by_label("mirror LED 1: web — failure").is_some()
    }));
    for label in [
        "mirror LED 0: api — success",
        "mirror LED 2: team/ — unstable",
        "mirror LED 5: free",
    ] {
        assert!(s.harness.query_by_label(label).is_some(), "{label}");
    }
    s.harness.step();
    let published = s.harness.state().published().clone();
    let strip = published.config.strip.correction();
    assert!(
        published.frame[0].g < 60,
        "the device gets {}",
        published.frame[0]
    );
    let image = s
        .harness
        .render()
        .expect("a software wgpu adapter renders the window");
    let scale = image.width() as f32 / 1000.0;
    let painted = |i: usize| {
        let label = format!("mirror LED {i}:");
        let center = s.harness.get_by_label_contains(&label).rect().center();
        let px = image.get_pixel((center.x * scale) as u32, (center.y * scale) as u32);
        [px[0], px[1], px[2]]
    };
    for (i, sent) in published.frame.iter().enumerate() {
        let want = look::perceived(strip, *sent);
        let got = painted(i);
        let close = got
            .iter()
            .zip([want.r(), want.g(), want.b()])
            .all(|(g, w)| g.abs_diff(w) <= 2);
        assert!(
            close,
            "mirror LED {i}: painted {got:?}, the eye sees {want:?} of {sent}"
        );
    }
    let [r, g, b] = painted(0);
    assert!(
        g >= 150 && r < 20 && b < 50,
        "a clearly green LED 0: {r} {g} {b}"
    );
    assert_eq!(painted(5), [0, 0, 0], "a free LED is off");
}

/// Records every repaint request made of `harness`'s context from now on: when, and with what delay.
fn record_repaints(harness: &Harness<'static, App>) -> Arc<Mutex<Vec<(Instant, Duration)>>> {
    let requests = Arc::new(Mutex::new(Vec::new()));
    let record = requests.clone();
    harness.ctx.set_repaint_observer(move |info| {
        record.lock().unwrap().push((Instant::now(), info.delay));
    });
    requests
}

/// Waits `time` without drawing, counting the distinct frames the engine publishes meanwhile.
fn frames_during(s: &Setup, time: Duration) -> usize {
    let engine = &s.harness.state().desk().engine;
    let end = Instant::now() + time;
    let mut last = engine.frame();
    let mut frames = 0;
    while Instant::now() < end {
        std::thread::sleep(Duration::from_millis(4));
        let frame = engine.frame();
        if frame != last {
            frames += 1;
            last = frame;
        }
    }
    frames
}

fn building_api() -> Setup {
    let mut s = setup("\n[[slots]]\nled = 0\njob = \"api\"\n");
    assert!(s.sim.start_build("api"));
    assert!(s.pump_until(|h| {
        h.query_by_label("mirror LED 0: api — success, building")
            .is_some()
    }));
    s
}

#[test]
fn a_building_job_repaints_the_window_a_dozen_times_a_second_while_the_strip_gets_every_frame() {
    let s = building_api();
    let requests = record_repaints(&s.harness);
    let frames = frames_during(&s, Duration::from_secs(2));
    // Zero delays are state changes (the simulator's finished builds get a new timestamp each poll).
    let (states, animation): (Vec<_>, Vec<_>) = requests
        .lock()
        .unwrap()
        .iter()
        .partition(|(_, delay)| delay.is_zero());
    assert!(
        frames >= 30,
        "the engine animates at its own rate: {frames} frames in 2 s"
    );
    assert!(
        states.len() <= 4,
        "a state change per poll at most: {states:?}"
    );
    assert!(
        (10..=27).contains(&animation.len()),
        "{} repaints in 2 s for {frames} frames: {animation:?}",
        animation.len()
    );
    let mut due: Vec<Instant> = animation.iter().map(|(at, delay)| *at + *delay).collect();
    due.sort();
    for pair in due.windows(2) {
        assert!(
            pair[1] - pair[0] >= FRAME_INTERVAL - Duration::from_millis(15),
            "two repaints {:?} apart",
            pair[1] - pair[0]
        );
    }
}

#[test]
fn a_minimised_window_is_not_repainted_for_the_pulse_but_follows_state_changes() {
    let mut s = building_api();
    let minimise = |h: &mut Harness<'static, App>, minimized: bool| {
        h.input_mut()
            .viewports
            .entry(egui::ViewportId::ROOT)
            .or_default()
            .minimized = Some(minimized);
        h.step();
    };
    minimise(&mut s.harness, true);
    let requests = record_repaints(&s.harness);
    let frames = frames_during(&s, Duration::from_secs(1));
    assert!(frames >= 10, "the strip still animates: {frames} frames");
    let seen = requests.lock().unwrap().clone();
    assert!(
        seen.len() <= 3 && seen.iter().all(|(_, delay)| delay.is_zero()),
        "only state changes (a poll a second) wake a minimised window: {seen:?}"
    );
    requests.lock().unwrap().clear();
    // The build fails: the window hears it at once (its title and task bar icon show it).
    assert!(s.sim.finish_build("api", JobState::Failure));
    assert!(wait_until(LIMIT, || requests
        .lock()
        .unwrap()
        .iter()
        .any(|(_, delay)| delay.is_zero())));
    // Shown again, the pulse repaints again.
    assert!(s.sim.start_build("api"));
    minimise(&mut s.harness, false);
    requests.lock().unwrap().clear();
    assert!(wait_until(LIMIT, || requests
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, delay)| !delay.is_zero())
        .count()
        >= 5));
}

#[test]
fn the_server_form_checks_the_url_and_tests_the_connection() {
    let mut s = setup("");
    s.harness.get_by_label("Servers").click();
    s.harness.step();
    s.harness.get_by_label("Add a server").click();
    s.harness.step();
    s.replace_text("URL", "ci.example.com");
    assert!(
        s.harness
            .query_by_label_contains("must start with http:// or https://")
            .is_some(),
        "the form explains what is wrong with the URL"
    );
    assert!(
        s.harness
            .get_by_label("Save")
            .accesskit_node()
            .is_disabled(),
        "an invalid URL cannot be saved"
    );

    // A valid URL: the connection test shows the Jenkins version and the job count.
    let url = s.sim.url().to_owned();
    s.replace_text("URL", &url);
    assert!(
        !s.harness
            .get_by_label("Save")
            .accesskit_node()
            .is_disabled(),
        "a valid URL can be saved"
    );
    s.harness.get_by_label("Test connection").click();
    assert!(s.pump_until(|h| {
        h.query_by_label_contains("Jenkins 2.500-sim, 3 jobs")
            .is_some()
    }));
    s.harness.get_by_label("Save").click();
    s.harness.step();
    let config = s.saved(|c| c.servers.len() == 2);
    assert_eq!(config.servers[1].name, "jenkins");
    assert_eq!(config.servers[1].url, url);
}

#[test]
fn closing_the_window_hides_it_when_there_is_a_tray_and_quits_without_one() {
    let mut s = setup("");
    let close = |h: &mut Harness<'static, App>| {
        h.input_mut()
            .viewports
            .entry(egui::ViewportId::ROOT)
            .or_default()
            .events
            .push(egui::ViewportEvent::Close);
        h.step();
        h.output().viewport_output[&egui::ViewportId::ROOT]
            .commands
            .clone()
    };
    let commands = close(&mut s.harness);
    assert!(
        !commands.contains(&egui::ViewportCommand::CancelClose),
        "without a tray, closing quits: {commands:?}"
    );
    s.harness.state().desk().pretend_tray(true);
    let commands = close(&mut s.harness);
    assert!(
        commands.contains(&egui::ViewportCommand::CancelClose),
        "{commands:?}"
    );
    assert!(
        commands.contains(&egui::ViewportCommand::Visible(false)),
        "{commands:?}"
    );
    let desk = s.harness.state().desk().clone();
    assert!(
        desk.waker.is_hidden(),
        "a hidden window is not redrawn for every frame"
    );

    // "Open ledtogo" in the tray brings it back.
    ledtogo::gui::on_tray_action(&desk, ledtogo::tray::TrayAction::Open);
    s.harness.step();
    let commands = &s.harness.output().viewport_output[&egui::ViewportId::ROOT].commands;
    assert!(
        commands.contains(&egui::ViewportCommand::Visible(true)),
        "{commands:?}"
    );
    assert!(!desk.waker.is_hidden());
}

#[test]
fn alert_switches_and_quiet_hours_are_written_to_the_file() {
    let mut s = setup("");
    s.harness.get_by_label("Alerts").click();
    s.harness.step();
    s.harness
        .get_by_label("Play a sound on break and fix")
        .click();
    s.harness.step();
    let config = s.saved(|c| !c.alerts.sounds);
    assert!(config.alerts.notifications, "only the sound switch changed");

    s.replace_text("Time range", "25:00-07:00");
    s.harness.key_press(egui::Key::Enter);
    s.harness.step();
    s.harness.step();
    assert!(
        s.harness.query_by_label_contains("25:00").is_some(),
        "a bad range is explained, not saved"
    );
    assert!(s.config().alerts.quiet_hours.is_none());
    s.replace_text("Time range", "22:30-07:00");
    s.harness.key_press(egui::Key::Enter);
    s.harness.step();
    let config = s.saved(|c| c.alerts.quiet_hours.is_some());
    assert_eq!(
        config.alerts.quiet_hours.unwrap().to_string(),
        "22:30-07:00"
    );
}

#[test]
fn a_sound_path_relative_to_the_config_folder_is_accepted_and_saved_as_typed() {
    let mut s = setup("");
    let dir = s.path.parent().unwrap().to_path_buf();
    std::fs::write(dir.join("broke.wav"), support::wav()).unwrap();
    assert!(
        !Path::new("broke.wav").exists(),
        "the test's working folder must not have one"
    );
    s.harness.get_by_label("Alerts").click();
    s.harness.step();
    s.replace_text("Broke sound", "broke.wav");
    s.harness.key_press(egui::Key::Enter);
    s.harness.step();
    let config = s.saved(|c| c.alerts.sound_broke.is_some());
    assert_eq!(config.alerts.sound_broke, Some(dir.join("broke.wav")));
    let text = std::fs::read_to_string(&s.path).unwrap();
    assert!(
        text.contains("sound_broke = \"broke.wav\""),
        "saved as typed, resolved on load: {text}"
    );
}

#[test]
fn at_800_by_500_every_led_slot_and_the_job_tree_fit_in_the_window() {
    let mut s = setup_sized("", Vec2::new(800.0, 500.0));
    s.harness.step();
    for led in 0..6 {
        let rect = s.harness.get_by_label(&format!("LED {led}: —")).rect();
        assert!(
            rect.right() <= 800.0 && rect.bottom() <= 500.0,
            "LED {led} at {rect:?}"
        );
        assert!(
            rect.left() >= 180.0,
            "LED {led} overlaps the job tree: {rect:?}"
        );
    }
    let api = s.center("api", true);
    assert!(api.y < 500.0, "the job tree shows the jobs: {api:?}");
}

#[test]
fn a_quick_double_mute_from_the_tray_ends_where_it_started() {
    use ledtogo::gui::on_tray_action;
    use ledtogo::tray::TrayAction;
    let mut s = setup("");
    let desk = s.harness.state().desk().clone();
    assert!(s.config().alerts.sounds);
    // Both before the first save is reloaded.
    on_tray_action(&desk, TrayAction::ToggleMute);
    on_tray_action(&desk, TrayAction::ToggleMute);
    assert!(s.pump_until(|_| desk.editor.state().saved == 2));
    assert!(
        s.config().alerts.sounds,
        "two toggles are no toggle: {}",
        std::fs::read_to_string(&s.path).unwrap()
    );
}

#[test]
fn tray_menu_actions_reach_the_config_and_the_window() {
    use ledtogo::gui::on_tray_action;
    use ledtogo::tray::TrayAction;
    let mut s = setup("");
    let desk = s.harness.state().desk().clone();

    on_tray_action(&desk, TrayAction::ToggleMute);
    let config = s.saved(|c| !c.alerts.sounds);
    assert!(
        !config.alerts.sounds,
        "Mute sounds is the `sounds` switch in the file"
    );
    on_tray_action(&desk, TrayAction::ToggleMute);
    s.saved(|c| c.alerts.sounds);

    on_tray_action(&desk, TrayAction::OpenUrl("http://ci/job/api/".into()));
    assert_eq!(*s.opened.lock().unwrap(), ["http://ci/job/api/"]);

    // The tray's model follows the engine: the failing job is in the menu, with its page.
    let model = ledtogo::gui::tray_model(&desk);
    assert_eq!(model.view.state, ledtogo::tray::TrayState::Failure);
    assert!(
        model
            .view
            .problems
            .iter()
            .any(|p| p.url.ends_with("/job/web/")),
        "{model:?}"
    );

    on_tray_action(&desk, TrayAction::Quit);
    assert!(desk.is_quitting());
    s.harness.step();
    let commands = &s.harness.output().viewport_output[&egui::ViewportId::ROOT].commands;
    assert!(
        commands.contains(&egui::ViewportCommand::Close),
        "{commands:?}"
    );
}

#[test]
fn an_invalid_config_file_is_shown_with_its_position_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let broken = "[strip]\nleds = \"many\"\n";
    std::fs::write(&path, broken).unwrap();
    let defaults = Config::parse("", Some(&path)).unwrap();
    let desk = start_desk(
        ConfigPlace::User(path.clone()),
        defaults,
        Vec::new(),
        Box::new(|_| {}),
        None,
        Files::default(),
    )
    .unwrap();
    let mut h = Harness::builder()
        .with_size(Vec2::new(1000.0, 700.0))
        .build_eframe(move |cc| App::new(&cc.egui_ctx, desk));
    h.step();
    h.step();
    let where_ = format!("{}:2:8", path.display());
    assert!(
        h.query_by_label_contains(&where_).is_some(),
        "the window names the file, line and column"
    );
    // An edit is refused rather than overwriting the user's file.
    h.state().desk().edit(ledtogo::settings::Edit::ClearSlot(0));
    assert!(wait_until(LIMIT, || {
        h.step();
        h.state().desk().editor.state().last_error.is_some()
    }));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), broken);
}

#[test]
fn the_window_icon_follows_the_overall_state() {
    let mut s = setup("\n[[slots]]\nled = 0\njob = \"api\"\n");
    // Only "api" is mapped; when it breaks, the window icon becomes the tray's failure icon.
    s.sim.finish_build("api", JobState::Failure);
    let want = ledtogo::gui::window_icon(ledtogo::tray::TrayState::Failure);
    let mut seen = false;
    assert!(s.pump_until(|h| {
        seen |= h.output().viewport_output[&egui::ViewportId::ROOT]
            .commands
            .iter()
            .any(|c| matches!(c, egui::ViewportCommand::Icon(Some(i)) if **i == want));
        seen
    }));
}

/// The rect of the one widget labelled exactly `label`.
fn rect_of(h: &Harness<'static, App>, label: &str) -> Rect {
    h.get_by_label(label).rect()
}

#[test]
fn at_800_by_500_a_long_status_text_is_cut_and_overlaps_nothing_in_the_header() {
    let mut s = setup_sized("", Vec2::new(800.0, 500.0));
    for n in 1..=4 {
        let name = format!("a-rather-long-failing-job-name-number-{n}-of-the-nightly-suite");
        s.sim
            .state()
            .items
            .push(SimJob::new(&name, Some(JobState::Failure)).into());
    }
    assert!(s.pump_until(|h| h.query_by_label_contains("5 failing").is_some()));
    s.harness.step();
    let status = s.harness.get_by_label_contains("5 failing");
    let full = status.value().unwrap_or_default();
    assert!(full.ends_with("1 unstable: deploy"), "{full:?}");
    let status = status.rect();
    let window = Rect::from_min_size(Pos2::ZERO, Vec2::new(800.0, 500.0));
    let device = rect_of(&s.harness, "no device (mirror only)");
    let mirror = rect_of(&s.harness, "Mirror window");
    let refresh = rect_of(&s.harness, "Refresh");
    for (name, rect) in [
        ("status", status),
        ("device", device),
        ("Mirror window", mirror),
        ("Refresh", refresh),
    ] {
        assert!(
            window.contains_rect(rect),
            "{name} at {rect:?} is outside the window"
        );
    }
    for (name, rect) in [
        ("device", device),
        ("Mirror window", mirror),
        ("Refresh", refresh),
    ] {
        assert!(
            !status.intersects(rect),
            "the status text {status:?} overlaps {name} {rect:?}"
        );
    }
    assert!(!device.intersects(mirror), "{device:?} {mirror:?}");

    // The cut text shows in full on hover.
    s.harness.hover_at(status.center());
    assert!(
        s.pump_until(|h| h
            .query_all_by_label_contains("1 unstable: deploy")
            .any(|n| !status.contains_rect(n.rect()))),
        "hovering the status text shows it in full"
    );
}

/// The rect of the text (a label, not the row around it) that contains `text`.
fn text_rect(h: &Harness<'static, App>, text: &str) -> Rect {
    h.query_all_by_label_contains(text)
        .find(|n| n.accesskit_node().role() == egui::accesskit::Role::Label)
        .unwrap_or_else(|| panic!("no text {text:?}"))
        .rect()
}

/// The right edge of the job panel's filter field (it fills the panel's width).
fn jobs_panel_right(h: &Harness<'static, App>) -> f32 {
    rect_of(h, "Filter").right()
}

#[test]
fn a_long_job_name_is_cut_to_the_job_panel_and_never_widens_it() {
    let mut s = setup("");
    let before = jobs_panel_right(&s.harness);
    let long = format!("nightly-{}", "x".repeat(192));
    assert_eq!(long.len(), 200);
    s.sim
        .state()
        .items
        .push(SimJob::new(&long, Some(JobState::Success)).into());
    assert!(s.pump_until(|h| {
        h.query_all_by_label_contains("nightly-xxxx")
            .next()
            .is_some()
    }));
    s.harness.step();
    let row = text_rect(&s.harness, "nightly-xxxx");
    let right = jobs_panel_right(&s.harness);
    assert!(
        (right - before).abs() <= 1.0,
        "the panel widened from {before} to {right}"
    );
    assert!(
        row.right() <= right + 1.0,
        "the name {row:?} is cut inside the panel"
    );

    s.sim.state().items.retain(|i| i.name() != long);
    assert!(s.pump_until(|h| {
        h.query_all_by_label_contains("nightly-xxxx")
            .next()
            .is_none()
    }));
    s.harness.step();
    let after = jobs_panel_right(&s.harness);
    assert!(
        (after - before).abs() <= 1.0,
        "the panel is {after} wide after the job went, {before} before it came"
    );
}

#[test]
fn a_new_server_form_shows_no_error_until_typed_in_or_saved() {
    let mut s = setup("");
    s.harness.get_by_label("Servers").click();
    s.harness.step();
    s.harness.get_by_label("Add a server").click();
    s.harness.step();
    s.harness.step();
    assert!(
        s.harness.query_by_label_contains("url \"").is_none(),
        "no error before anything is typed"
    );

    // Save with the URL still untouched: the form says what is missing and saves nothing.
    s.harness.get_by_label("Save").click();
    s.harness.step();
    s.harness.step();
    assert!(
        s.harness
            .query_by_label_contains("url \"https://\" has no host name")
            .is_some(),
        "Save explains what is wrong"
    );
    assert_eq!(s.config().servers.len(), 1);
    assert_eq!(s.harness.state().desk().editor.state().pending, 0);

    // Typing an invalid URL shows its error straight away.
    s.replace_text("URL", "ci.example.com");
    assert!(
        s.harness
            .query_by_label_contains("url \"ci.example.com\" must start with http:// or https://")
            .is_some()
    );
}

#[test]
fn an_empty_quiet_hours_field_shows_an_example_not_a_value() {
    let mut s = setup("");
    s.harness.get_by_label("Alerts").click();
    s.harness.step();
    let field = s.harness.get_by_label("Time range");
    assert_eq!(
        field.value().unwrap_or_default(),
        "",
        "no quiet hours are set"
    );
    let hint = field
        .accesskit_node()
        .placeholder()
        .unwrap_or_default()
        .to_owned();
    assert!(
        hint.starts_with("e.g. ") && hint.contains("22:00-07:00"),
        "the hint reads as an example: {hint:?}"
    );
}

#[test]
fn right_clicking_an_led_selects_it_and_opens_its_menu() {
    let mut s = setup("\n[[slots]]\nled = 2\njob = \"api\"\n");
    assert_eq!(s.harness.state().selected, None);
    s.harness.get_by_label("LED 2: api").click_secondary();
    s.harness.step();
    s.harness.step();
    assert_eq!(s.harness.state().selected, Some(2));
    assert!(
        s.harness.query_by_label("Identify on the strip").is_some(),
        "the context menu is open"
    );
    // The details below the strip are LED 2's.
    let below = rect_of(&s.harness, "Identify").top();
    assert!(
        s.harness
            .query_all_by_label("LED 2")
            .any(|n| (n.rect().center().y - below).abs() < 40.0),
        "\"LED 2\" heads the details"
    );
}

#[test]
fn im_on_it_from_an_leds_menu_acknowledges_the_failing_job_and_the_tree_offers_to_let_go() {
    let mut s = setup("\n[[slots]]\nled = 2\njob = \"web\"\n[[slots]]\nled = 3\njob = \"api\"\n");
    assert!(s.pump_until(|h| h.query_by_label("LED 2: web").is_some()));
    // A job that is fine offers nothing.
    s.harness.get_by_label("LED 3: api").click_secondary();
    s.harness.step();
    s.harness.step();
    assert!(s.harness.query_by_label("Identify on the strip").is_some());
    assert!(s.harness.query_by_label("I'm on it…").is_none());
    s.harness.key_press(egui::Key::Escape);
    s.harness.step();

    s.harness.get_by_label("LED 2: web").click_secondary();
    s.harness.step();
    s.harness.step();
    s.harness.get_by_label("I'm on it…").click();
    s.harness.step();
    s.harness.step();
    s.harness.get_by_label("Note").click();
    s.harness.step();
    s.harness
        .get_by_label("Note")
        .type_text("looking at the flaky test");
    s.harness.step();
    s.harness.get_by_label("1 h").click();
    s.harness.step();
    s.harness.get_by_label("I'm on it").click();
    let web = JobId::new("ci", "web");
    assert!(
        s.pump_until(|h| h.state().published().snapshot.acks.get(&web).is_some()),
        "the engine has it"
    );
    let ack = s
        .harness
        .state()
        .published()
        .snapshot
        .acks
        .get(&web)
        .cloned()
        .unwrap();
    assert_eq!(ack.by, ledtogo::ack::default_by());
    assert_eq!(ack.note.as_deref(), Some("looking at the flaky test"));
    assert_eq!(ack.until - ack.made_at, 3600);
    assert!(
        s.harness.query_by_label("Acknowledge a failure").is_none(),
        "the form closed"
    );
    assert!(
        std::fs::read_to_string(s._dir.path().join("acks.json"))
            .unwrap()
            .contains("looking at the flaky test"),
        "kept in the state file"
    );

    // The tree says who is on it, and its menu lets go.
    let row = format!("web  ({})", ack.on_it());
    assert!(s.pump_until(|h| h.query_by_label(&row).is_some()));
    s.harness.get_by_label(&row).click_secondary();
    s.harness.step();
    s.harness.step();
    s.harness.get_by_label("Not on it any more").click();
    assert!(
        s.pump_until(|h| h.state().published().snapshot.acks.is_empty()),
        "nobody is on it any more"
    );
}

#[test]
fn dropping_a_job_onto_a_mapped_led_replaces_it_and_undo_brings_it_back() {
    let mut s = setup("\n[[slots]]\nled = 3\njob = \"api\"\n");
    assert!(s.pump_until(|h| h.query_by_label("LED 3: api").is_some()));
    let from = s.center("web", true);
    let to = s.slot_center(3);
    s.drag(from, to);
    let config = s.saved(|c| target_of(c, 3) == Some(job("web")));
    assert_eq!(config.slots.len(), 1);
    assert!(
        s.harness
            .query_by_label_contains("Replaced api on LED 3")
            .is_some(),
        "the window says what the drop replaced"
    );
    s.harness.get_by_label("Undo").click();
    s.harness.step();
    let config = s.saved(|c| target_of(c, 3) == Some(job("api")));
    assert_eq!(config.slots.len(), 1);
    s.harness.step();
    assert!(
        s.harness
            .query_by_label_contains("Replaced api on LED 3")
            .is_none(),
        "the note goes once undone"
    );
}

#[test]
fn ctrl_z_restores_an_led_that_was_cleared() {
    let mut s = setup("\n[[slots]]\nled = 5\njob = \"api\"\n");
    s.harness.get_by_label("LED 5: api").click();
    s.harness.step();
    s.harness.key_press(egui::Key::Delete);
    s.harness.step();
    s.saved(|c| c.slot(5).is_none());
    assert!(
        s.harness
            .query_by_label_contains("Cleared api from LED 5")
            .is_some()
    );
    s.harness
        .key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    s.harness.step();
    let config = s.saved(|c| c.slot(5).is_some());
    assert_eq!(target_of(&config, 5), Some(job("api")));
}

#[test]
fn create_my_config_switches_to_it_in_this_process_and_stops_the_demo() {
    let sim = SimJenkins::start(jobs()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let scratch = dir.path().join("demo.toml");
    let user = dir.path().join("home").join("ledtogo").join("config.toml");
    std::fs::write(
        &scratch,
        format!(
            "poll_seconds = 1\n\n[[servers]]\nname = \"demo\"\nurl = \"{}\"\n\n[strip]\nport = \"none\"\n\
             leds = 4\n\n[[slots]]\nled = 0\njob = \"demo/api\"\n",
            sim.url()
        ),
    )
    .unwrap();
    let desk = start_desk(
        ConfigPlace::Demo {
            scratch: scratch.clone(),
            user: user.clone(),
        },
        Config::load(&scratch).unwrap(),
        Vec::new(),
        Box::new(|_| {}),
        None,
        Files::default(),
    )
    .unwrap();
    let demo = Arc::downgrade(&desk);
    let current = desk.current();
    let mut harness = Harness::builder()
        .with_size(Vec2::new(1000.0, 700.0))
        .with_step_dt(0.05)
        .build_eframe(move |cc| App::new(&cc.egui_ctx, desk));
    let pump = |h: &mut Harness<'static, App>, cond: &dyn Fn(&Harness<'static, App>) -> bool| {
        wait_until(LIMIT, || {
            h.step();
            cond(h)
        })
    };
    assert!(pump(&mut harness, &|h| h.query_all_by_label("api").count() > 0));
    harness.get_by_label("Create my config").click();

    // The same process goes on with the user's new file: no restart, the demo's desk stops.
    assert!(
        pump(&mut harness, &|h| h.state().desk().place
            == ConfigPlace::User(user.clone())),
        "the window switched to the user's config"
    );
    assert_eq!(
        std::fs::read_to_string(&user).unwrap(),
        ledtogo::config::STARTER
    );
    assert!(
        pump(&mut harness, &|_| demo.upgrade().is_none()),
        "the demo's desk (engine, simulator) stopped"
    );
    assert!(
        pump(&mut harness, &|h| h.query_all_by_label("api").count() == 0),
        "the demo's jobs are gone with it"
    );
    assert!(
        harness
            .query_by_label_contains("the demo's LED mappings were not carried over")
            .is_some(),
        "the window says the mappings stayed behind"
    );
    assert!(
        current
            .get()
            .is_some_and(|d| d.place == ConfigPlace::User(user.clone())),
        "the tray and the lock now act on the user's desk"
    );
    // The window edits the new file: a mapping made now lands in it.
    harness
        .state()
        .desk()
        .edit(ledtogo::settings::Edit::SetTube { led: 2, on: true });
    assert!(pump(&mut harness, &|_| Config::load(&user)
        .is_ok_and(|c| c.aggregate.leds.contains(&2))));
    assert!(
        std::fs::read_to_string(&scratch)
            .unwrap()
            .contains("demo/api"),
        "the demo's scratch file was not written to"
    );
}

#[test]
fn without_a_tray_on_the_desktop_the_window_says_once_that_closing_quits() {
    let mut s = setup("");
    assert!(
        s.harness
            .query_by_label_contains("closing this window quits")
            .is_none(),
        "no tray was asked for (as with --no-tray): nothing to say"
    );
    // A tray icon was asked for, but no panel shows one.
    s.harness
        .state()
        .desk()
        .attach_tray(ledtogo::tray::Tray::disabled());
    s.harness.step();
    assert!(
        s.harness
            .query_by_label_contains("No tray icon: nothing shows ledtogo's icon")
            .is_some()
    );
    s.harness.get_by_label("Dismiss").click();
    s.harness.step();
    s.harness.step();
    assert!(
        s.harness
            .query_by_label_contains("closing this window quits")
            .is_none(),
        "said once"
    );
}

/// True when `painted` is `want` give or take rounding.
fn close_to(painted: [u8; 3], want: ledtogo::color::Rgb) -> bool {
    painted
        .iter()
        .zip([want.r, want.g, want.b])
        .all(|(p, w)| p.abs_diff(w) <= 2)
}

#[test]
fn folder_and_server_rows_show_the_state_their_led_would_show() {
    let mut s = setup("");
    s.harness.step();
    let colors = s.harness.state().published().config.colors.clone();
    let team = s.painted("dot of All of team/");
    assert!(
        close_to(team, colors.unstable),
        "team/ holds an unstable job: {team:?}"
    );
    let all = s.painted("dot of All of ci");
    assert!(
        close_to(all, colors.failure),
        "ci holds a failing job: {all:?}"
    );
    let web = s.painted("dot of web");
    assert!(close_to(web, colors.failure), "{web:?}");
}

#[test]
fn while_the_token_is_rejected_the_tree_keeps_its_jobs_stale_and_the_leds_say_why() {
    let sim = SimJenkins::start(jobs()).unwrap();
    sim.set_auth("alice", "good");
    let mut s = setup_with(
        sim,
        "user = \"alice\"\ntoken_file = \"ci.token\"\n",
        "\n[[slots]]\nled = 0\njob = \"web\"\n\n[[slots]]\nled = 1\njob = \"gone\"\n\n\
         [[slots]]\nled = 2\nfolder = \"team\"\n",
        Vec2::new(1000.0, 700.0),
    );
    s.sim.set_auth("alice", "rotated");
    assert!(s.pump_until(|h| {
        h.query_by_label_contains(
            "token rejected (check the user name and API token) — 3 jobs, last known",
        )
        .is_some()
    }));
    assert!(
        s.harness.query_by_label("deploy").is_some(),
        "the tree keeps the jobs"
    );
    let colors = s.harness.state().published().config.colors.clone();
    let deploy = s.painted("dot of deploy");
    assert!(
        close_to(deploy, colors.stale),
        "a stale job's dot: {deploy:?}"
    );
    let team = s.painted("dot of All of team/");
    assert!(close_to(team, colors.stale), "{team:?}");

    let web = s.slot_center(0);
    assert!(
        s.tooltip_at(web, "last known state; server: token rejected"),
        "the LED of a listed job says its state is the last known and why"
    );
    let gone = s.slot_center(1);
    assert!(
        s.tooltip_at(
            gone,
            "ci:gone: not listed when the server last answered; now token rejected"
        ),
        "the LED of a job that is not listed says why, not \"not listed (yet)\""
    );
    let team = s.slot_center(2);
    assert!(s.tooltip_at(
        team,
        "folder ci:team/\nlast known state; server: token rejected"
    ));
}

#[test]
fn the_device_tab_says_when_it_listed_the_ports_and_that_a_pattern_without_device_is_mirror_only() {
    let mut s = setup("");
    s.harness.get_by_label("Device").click();
    s.harness.step();
    assert!(
        s.pump_until(|h| h.query_by_label_contains("Ports listed at ").is_some()),
        "the first listing says when it ran and what it found"
    );
    let first = s
        .harness
        .get_by_label_contains("Ports listed at ")
        .value()
        .unwrap_or_default();
    std::thread::sleep(Duration::from_millis(1100));
    s.harness.get_by_label("Rescan").click();
    assert!(
        s.pump_until(|h| h
            .query_by_label_contains("Ports listed at ")
            .is_some_and(|n| n.value().is_some_and(|l| l != first))),
        "Rescan shows that it ran again: {first}"
    );

    s.harness.get_by_label("Test pattern").click();
    s.harness.step();
    s.harness.step();
    assert!(
        s.harness
            .query_by_label_contains("the pattern runs in the mirror only")
            .is_some(),
        "port = \"none\": the pattern is only in the mirror, and the tab says so"
    );
}

#[test]
fn the_device_tab_lists_a_wifi_strip_announced_on_the_network_and_choosing_it_sets_the_port() {
    let responder = mdns::Responder::start();
    let strip = responder.announce("gui", 80);
    let mut s = setup("");
    s.harness.get_by_label("Device").click();
    let row = format!("{} · {}", strip.name, strip.host);
    assert!(
        s.pump_until(|h| h.query_by_label(&row).is_some()),
        "the announced strip is listed by its name and host"
    );
    s.harness.get_by_label(&row).click();
    let target = format!("wled://{}", strip.host);
    s.saved(|c| c.strip.port.to_string() == target);
    assert!(
        file_text(&s.path).contains(&format!("port = \"{target}\"")),
        "{}",
        file_text(&s.path)
    );

    responder.withdraw(&strip);
    assert!(
        s.pump_until(|h| h.query_by_label(&row).is_none()),
        "a strip that says goodbye leaves the list"
    );
}

#[test]
fn the_device_tab_takes_a_wled_board_as_the_port_and_shows_who_it_is() {
    use support::wled::{DdpReceiver, InfoAnswer, WledHttp};
    let ip = "127.0.0.28";
    let receiver = DdpReceiver::start(ip, 4048);
    let api = WledHttp::start(ip, InfoAnswer::wled("desk", 6));
    let mut s = setup("");
    s.harness.get_by_label("Device").click();
    s.harness.step();

    s.replace_text("Other port", "xyz://desk");
    assert!(
        s.harness
            .query_by_label_contains("unknown scheme \"xyz://\"")
            .is_some(),
        "a port the config would refuse is explained as it is typed"
    );

    let port = format!("wled://{ip}:{}", api.port);
    s.replace_text("Other port", &port);
    assert!(
        s.harness
            .query_by_label_contains("unknown scheme")
            .is_none()
    );
    s.harness.get_by_label("Use").click();
    let path = s.path.clone();
    assert!(
        s.pump_until(|_| file_text(&path).contains(&format!("port = \"{port}\""))),
        "{}",
        file_text(&path)
    );
    assert!(
        s.pump_until(|h| h
            .query_by_label_contains(
                "WLED 0.15.0 'desk', 6 LEDs; streaming to 127.0.0.28:4048 (DDP)"
            )
            .is_some()),
        "the Device tab shows the board and where the frames go"
    );
    assert!(wait_until(LIMIT, || !receiver.frames().is_empty()));
}

#[test]
fn an_empty_or_unplayable_sound_file_is_refused_with_the_reason() {
    let mut s = setup("");
    let dir = s.path.parent().unwrap().to_path_buf();
    std::fs::write(dir.join("empty.wav"), b"").unwrap();
    std::fs::write(dir.join("garbage.ogg"), b"not a sound at all\n".repeat(40)).unwrap();
    s.harness.get_by_label("Alerts").click();
    s.harness.step();

    s.replace_text("Broke sound", "empty.wav");
    s.harness.key_press(egui::Key::Enter);
    assert!(
        s.pump_until(|h| h
            .query_by_label_contains("empty.wav): the file is empty")
            .is_some()),
        "a 0-byte file is refused and the tab says why"
    );
    #[cfg(feature = "sound")]
    {
        s.replace_text("Fixed sound", "garbage.ogg");
        s.harness.key_press(egui::Key::Enter);
        assert!(
            s.pump_until(|h| h
                .query_by_label_contains("garbage.ogg): not a sound file rodio can decode")
                .is_some()),
            "a file that does not decode is refused and the tab says why"
        );
    }
    for _ in 0..10 {
        s.harness.step();
    }
    let config = s.config();
    assert_eq!(config.alerts.sound_broke, None, "nothing saved");
    assert_eq!(config.alerts.sound_fixed, None, "nothing saved");
}

#[test]
fn a_server_of_another_kind_is_added_with_its_own_fields_and_tested() {
    let feed = support::feed::Feed::start(
        "<Projects><Project name=\"deploy :: prod\" activity=\"Sleeping\" lastBuildStatus=\"Success\" \
         lastBuildLabel=\"3\"/><Project name=\"deploy :: staging\" activity=\"Building\" \
         lastBuildStatus=\"Failure\" lastBuildLabel=\"9\"/></Projects>",
        "application/xml",
    );
    let mut s = setup("");
    s.harness.get_by_label("Servers").click();
    s.harness.step();
    s.harness.get_by_label("Add a server").click();
    s.harness.step();

    // GitHub: the repositories field appears, with the API's address filled in.
    s.harness.get_by_label("Kind").click();
    s.harness.step();
    s.harness.step();
    s.harness.step();
    s.harness.get_by_label("GitHub Actions").click();
    s.harness.step();
    s.harness.step();
    assert_eq!(
        s.harness.get_by_label("URL").value().as_deref(),
        Some("https://api.github.com/")
    );
    s.replace_text("Repositories", "acme");
    assert!(
        s.harness.query_by_label_contains("OWNER/REPO").is_some(),
        "a repository without its owner is refused"
    );
    s.replace_text("Repositories", "acme/api, acme/web");
    assert!(s.harness.query_by_label_contains("OWNER/REPO").is_none());

    // cctray: no list; the connection test answers in the kind's terms.
    s.harness.get_by_label("Kind").click();
    s.harness.step();
    s.harness.step();
    s.harness.step();
    s.harness.get_by_label("cctray feed").click();
    s.harness.step();
    assert!(s.harness.query_by_label("Repositories").is_none());
    s.replace_text("URL", &feed.url);
    s.harness.get_by_label("Test connection").click();
    assert!(s.pump_until(|h| {
        h.query_by_label_contains("cctray feed, 2 projects")
            .is_some()
    }));
    s.harness.get_by_label("Save").click();
    s.harness.step();
    let config = s.saved(|c| c.servers.len() == 2);
    assert_eq!(config.servers[1].kind, ledtogo::config::ServerKind::Cctray);
    assert_eq!(config.servers[1].url, feed.url);
    assert!(file_text(&s.path).contains("kind = \"cctray\""));
    // Its jobs come into the tree with the feed's levels.
    assert!(s.pump_until(|h| h.query_all_by_label_contains("staging").count() > 0));
}

#[test]
fn a_ledtogo_relay_is_added_with_its_upstream_and_the_test_names_the_relays_servers() {
    let jenkins = SimJenkins::start(jobs()).unwrap();
    let relay = support::relay::FakeRelay::start(&support::relay::snapshot(vec![
        (
            "office",
            ledtogo::model::ServerState::Ok,
            support::relay::jenkins_jobs("office", jenkins.url()),
        ),
        (
            "lab",
            ledtogo::model::ServerState::Unreachable("connection refused".into()),
            Vec::new(),
        ),
    ]));
    let mut s = setup("");
    s.harness.get_by_label("Servers").click();
    s.harness.step();
    s.harness.get_by_label("Add a server").click();
    s.harness.step();
    s.harness.get_by_label("Kind").click();
    s.harness.step();
    s.harness.step();
    s.harness.step();
    s.harness.get_by_label("ledtogo relay").click();
    s.harness.step();
    s.harness.step();
    assert!(s.harness.query_by_label("Repositories").is_none());
    s.replace_text("URL", relay.url());
    s.harness.get_by_label("Test connection").click();
    let jobs = support::relay::jenkins_jobs("office", jenkins.url()).len();
    let line = format!("ledtogo relay: 2 servers (lab: unreachable, office: {jobs} jobs)");
    assert!(
        s.pump_until(|h| h.query_by_label_contains(&line).is_some()),
        "{line}"
    );

    s.replace_text("Upstream", "office");
    s.harness.get_by_label("Save").click();
    s.harness.step();
    let config = s.saved(|c| c.servers.len() == 2);
    assert_eq!(
        config.servers[1].kind,
        ledtogo::config::ServerKind::Ledtogo {
            upstream: Some("office".into())
        }
    );
    let text = file_text(&s.path);
    assert!(
        text.contains("kind = \"ledtogo\"") && text.contains("upstream = \"office\""),
        "{text}"
    );
    // Edited again, the form shows the upstream in its own field.
    s.harness.get_all_by_label("Edit").nth(1).unwrap().click();
    s.harness.step();
    assert_eq!(
        s.harness.get_by_label("Upstream").value().as_deref(),
        Some("office")
    );
}

#[test]
fn a_github_server_says_how_often_its_budget_lets_it_poll_and_edits_keep_its_repos() {
    let sim = SimJenkins::start(jobs()).unwrap();
    let mut s = setup_with(
        sim,
        "\n[[servers]]\nname = \"gh\"\nkind = \"github\"\nurl = \"http://127.0.0.1:9/\"\n\
         repos = [\"acme/api\", \"acme/web\"]\n",
        "[[slots]]\nled = 0\nserver = \"ci\"\njob = \"api\"\n",
        Vec2::new(1000.0, 700.0),
    );
    s.harness.get_by_label("Servers").click();
    s.harness.step();
    assert!(
        s.harness
            .query_by_label_contains("at most one poll every 2 s")
            .is_some(),
        "two repositories: one poll every 2 s at most"
    );
    s.harness.get_all_by_label("Edit").nth(1).unwrap().click();
    s.harness.step();
    assert_eq!(
        s.harness.get_by_label("Repositories").value().as_deref(),
        Some("acme/api, acme/web")
    );
    s.replace_text("Repositories", "acme/api acme/web acme/docs");
    s.harness.get_by_label("Save").click();
    s.harness.step();
    let config = s.saved(|c| {
        c.servers[1].kind
            == ledtogo::config::ServerKind::GitHub {
                repos: vec!["acme/api".into(), "acme/web".into(), "acme/docs".into()],
            }
    });
    assert_eq!(config.servers[1].url, "http://127.0.0.1:9/");
}

#[test]
fn a_window_hidden_in_the_tray_is_not_repainted_unless_the_mirror_window_shows_the_strip() {
    let mut s = building_api();
    s.harness.state().desk().pretend_tray(true);
    s.harness
        .input_mut()
        .viewports
        .entry(egui::ViewportId::ROOT)
        .or_default()
        .events
        .push(egui::ViewportEvent::Close);
    s.harness.step();
    assert!(s.harness.state().desk().waker.is_hidden());
    let requests = record_repaints(&s.harness);
    let frames = frames_during(&s, Duration::from_secs(1));
    assert!(frames >= 10, "the strip still animates: {frames} frames");
    assert!(
        requests.lock().unwrap().is_empty(),
        "{:?}",
        requests.lock().unwrap()
    );
    // The always-on-top mirror window stays on screen: it keeps pulsing.
    s.harness.state_mut().mirror_window = true;
    s.harness.step();
    frames_during(&s, Duration::from_secs(1));
    let animation = requests
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, delay)| !delay.is_zero())
        .count();
    assert!((5..=14).contains(&animation), "{animation} repaints in 1 s");
}

/// The window with its autostart folder in `folder` (not created yet), on the Alerts tab.
fn setup_login(folder: &Path) -> Setup {
    let autostart = Autostart::in_folder(folder.join("autostart"));
    let mut s = setup_app(
        SimJenkins::start(jobs()).unwrap(),
        "",
        "brightness = 1.0\ngamma = 1.0\n",
        "",
        Vec2::new(1000.0, 900.0),
        move |app| app.with_autostart(Ok(autostart)),
    );
    s.harness.get_by_label("Alerts").click();
    s.harness.step();
    s
}

fn login_box(h: &Harness<'static, App>) -> Option<(bool, bool)> {
    let node = h.query_by_label("Start ledtogo at login")?;
    let node = node.accesskit_node();
    let on = node.toggled() == Some(egui::accesskit::Toggled::True);
    Some((on, !node.is_disabled()))
}

#[test]
fn start_at_login_writes_the_autostart_entry_for_this_binary_and_config_and_unticking_removes_it() {
    let folder = tempfile::tempdir().unwrap();
    let entry = folder.path().join("autostart/ledtogo.desktop");
    let mut s = setup_login(folder.path());
    // Read at start: nothing there, so unticked and usable.
    assert!(s.pump_until(|h| login_box(h) == Some((false, true))));

    s.harness.get_by_label("Start ledtogo at login").click();
    assert!(s.pump_until(|h| entry.exists() && login_box(h) == Some((true, true))));
    let text = file_text(&entry);
    // This process's binary, and the config it runs on (not the default one).
    let exe = std::env::current_exe().unwrap();
    assert!(
        text.contains(&format!(
            "\nExec={} --in-tray --config {}\n",
            exe.display(),
            s.path.display()
        )),
        "{text}"
    );
    assert!(text.contains("\nX-ledtogo-Autostart=1\n"), "{text}");

    s.harness.get_by_label("Start ledtogo at login").click();
    assert!(
        s.pump_until(|h| !entry.exists() && login_box(h) == Some((false, true))),
        "unticking removes the entry"
    );
}

#[test]
fn an_autostart_entry_ledtogo_did_not_write_is_left_alone_and_the_window_says_so() {
    let folder = tempfile::tempdir().unwrap();
    let entry = folder.path().join("autostart/ledtogo.desktop");
    std::fs::create_dir_all(entry.parent().unwrap()).unwrap();
    let theirs = "[Desktop Entry]\nType=Application\nName=ledtogo\nExec=ledtogo --demo\n";
    std::fs::write(&entry, theirs).unwrap();
    let mut s = setup_login(folder.path());
    assert!(s.pump_until(|h| {
        h.query_by_label_contains("ledtogo.desktop was not written by ledtogo")
            .is_some()
    }));
    assert_eq!(
        login_box(&s.harness),
        Some((false, false)),
        "unticked and not usable"
    );
    s.harness.get_by_label("Start ledtogo at login").click();
    s.harness.step();
    assert_eq!(file_text(&entry), theirs);
}

#[test]
fn an_autostart_folder_that_cannot_be_read_is_explained_under_the_checkbox() {
    let folder = tempfile::tempdir().unwrap();
    // A file where the autostart folder should be.
    std::fs::write(folder.path().join("autostart"), "").unwrap();
    let mut s = setup_login(folder.path());
    let entry = folder.path().join("autostart/ledtogo.desktop");
    let said = format!("cannot read {}: ", entry.display());
    assert!(s.pump_until(|h| h.query_by_label_contains(&said).is_some()));
    assert_eq!(
        login_box(&s.harness),
        Some((false, false)),
        "not usable until it can be read"
    );
}

#[test]
fn print_labels_writes_the_sheet_next_to_the_config_with_the_mapped_names_and_opens_it() {
    let opened: Arc<Mutex<Vec<PathBuf>>> = Arc::default();
    let record = opened.clone();
    let mut s = setup_app(
        SimJenkins::start(jobs()).unwrap(),
        "",
        "brightness = 1.0\ngamma = 1.0\n",
        "\n[[slots]]\nled = 0\njob = \"api\"\n[[slots]]\nled = 1\nfolder = \"team\"\n\
         [[slots]]\nled = 2\n[[slots]]\nled = 3\njob = \"web\"\n[aggregate]\nleds = [5]\n",
        Vec2::new(1000.0, 700.0),
        move |app| {
            app.with_file_opener(Arc::new(move |path: &Path| {
                record.lock().unwrap().push(path.to_owned());
            }))
        },
    );
    let sheet = s.path.parent().unwrap().join("ledtogo-labels.svg");
    // The strip's density: 30 LEDs per metre.
    let combo = s.harness.get_by_role(egui::accesskit::Role::ComboBox);
    assert_eq!(combo.accesskit_node().value().as_deref(), Some("60 LEDs/m"));
    combo.click();
    assert!(s.pump_until(|h| h.query_by_label("30 LEDs/m").is_some()));
    s.harness.get_by_label("30 LEDs/m").click();
    s.harness.step();
    s.harness.get_by_label("Print labels…").click();
    let said = format!("Labels written to {}", sheet.display());
    assert!(s.pump_until(|h| h.query_by_label(&said).is_some()));
    let svg = file_text(&sheet);
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let cells: Vec<(String, f64, Option<String>)> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("cell"))
        .map(|cell| {
            let x = cell
                .children()
                .find(|n| n.has_tag_name("rect"))
                .and_then(|r| r.attribute("x"))
                .unwrap()
                .parse()
                .unwrap();
            let name = cell
                .children()
                .find(|n| n.attribute("class") == Some("name"))
                .map(|n| n.text().unwrap_or_default().to_owned());
            (cell.attribute("data-led").unwrap().to_owned(), x, name)
        })
        .collect();
    let names: Vec<Option<&str>> = cells.iter().map(|(_, _, n)| n.as_deref()).collect();
    assert_eq!(
        names,
        [
            Some("api"),
            Some("team/"),
            Some("ci"),
            Some("web"),
            None,
            Some("tube")
        ]
    );
    for (i, (led, x, _)) in cells.iter().enumerate() {
        assert_eq!(led, &i.to_string());
        assert!(
            (x - i as f64 * 1000.0 / 30.0).abs() < 0.01,
            "LED {i} at {x}"
        );
    }
    s.harness.get_by_label("Open").click();
    s.harness.step();
    assert_eq!(*opened.lock().unwrap(), [sheet]);
}

/// A `flaky.json` in which `ci:web` is flaky: builds 1–4 passed, failed, passed, failed, the last an hour ago.
fn web_flaky_history() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let hour = 3_600_000;
    let builds: Vec<String> = ["passed", "failed", "passed", "failed"]
        .iter()
        .enumerate()
        .map(|(i, outcome)| {
            let at = now - (4 - i as i64) * hour;
            format!(
                "{{\"number\":{},\"at_ms\":{at},\"outcome\":\"{outcome}\"}}",
                i + 1
            )
        })
        .collect();
    format!(
        "{{\"version\":1,\"jobs\":[{{\"server\":\"ci\",\"path\":[\"web\"],\"flaky\":true,\"builds\":[{}]}}]}}",
        builds.join(",")
    )
}

#[test]
fn the_flaky_jobs_list_shows_each_flaky_job_with_its_flips_and_last_builds() {
    let history = web_flaky_history();
    let mut s = setup_remembering(
        SimJenkins::start(jobs()).unwrap(),
        "",
        "brightness = 1.0\ngamma = 1.0\n",
        "",
        Vec2::new(1000.0, 700.0),
        |app| app,
        Some(&history),
    );
    assert!(s.pump_until(|h| h.query_by_label("Flaky jobs (1)").is_some()));
    s.harness.get_by_label("Flaky jobs (1)").click();
    assert!(s.pump_until(|h| h.query_by_label("web on ci — 3 flips").is_some()));
    assert!(
        s.harness
            .query_by_label("#4 failed, #3 passed, #2 failed, #1 passed")
            .is_some(),
        "the last builds, newest first"
    );
    assert!(
        s.harness.query_by_label("web  (flaky)").is_some(),
        "the job tree marks it too"
    );
}

#[test]
fn with_no_flaky_job_the_list_says_what_makes_a_job_flaky() {
    let mut s = setup("");
    s.harness.get_by_label("Flaky jobs (0)").click();
    assert!(s.pump_until(|h| {
        h.query_by_label(
            "No flaky jobs. A job is flaky when its builds flip between failure and success 3 times \
             within 24h.",
        )
        .is_some()
    }));
}

#[test]
fn an_leds_own_sound_is_set_from_its_menu_and_cleared_again() {
    let mut s = setup("\n[[slots]]\nled = 2\njob = \"api\"\n");
    let dir = s.path.parent().unwrap().to_path_buf();
    std::fs::write(dir.join("api.wav"), support::wav()).unwrap();
    s.harness.get_by_label("LED 2: api").click_secondary();
    s.harness.step();
    s.harness.step();
    s.harness.get_by_label("Sounds of this LED…").click();
    assert!(s.pump_until(|h| h.query_by_label("LED 2 broke sound").is_some()));
    s.replace_text("LED 2 broke sound", "api.wav");
    s.harness.key_press(egui::Key::Enter);
    s.harness.step();
    let config = s.saved(|c| c.slot(2).is_some_and(|slot| slot.sound_broke.is_some()));
    assert_eq!(
        config.slot(2).unwrap().sound_broke,
        Some(dir.join("api.wav")),
        "checked, then saved in the slot"
    );
    assert_eq!(
        config.alerts.sound_broke, None,
        "the global one is untouched"
    );
    assert!(s.pump_until(|h| h.query_by_label("Sounds per LED (1 set)").is_some()));

    s.harness.get_by_label("Strip").click();
    s.harness.step();
    s.harness.get_by_label("LED 2: api").click_secondary();
    s.harness.step();
    s.harness.step();
    s.harness.get_by_label("Use the usual sounds").click();
    let config = s.saved(|c| c.slot(2).is_some_and(|slot| slot.sound_broke.is_none()));
    assert_eq!(
        config.slot(2).unwrap().target,
        job("api"),
        "the mapping stays"
    );
}

#[test]
fn the_flaky_rule_typed_in_the_alerts_tab_is_written_to_the_file_and_a_bad_one_refused() {
    let mut s = setup("");
    s.harness.get_by_label("Alerts").click();
    s.harness.step();
    s.replace_text("Within", "2d");
    s.harness.key_press(egui::Key::Enter);
    s.harness.step();
    let config = s.saved(|c| c.alerts.flaky_window.0 == Duration::from_secs(2 * 86_400));
    assert_eq!(config.alerts.flaky_flips.0, 3);
    assert!(file_text(&s.path).contains("flaky_window = \"2d\""));
    s.replace_text("Flips", "1");
    s.harness.key_press(egui::Key::Enter);
    s.harness.step();
    s.harness.step();
    assert!(
        s.harness
            .query_by_label("flaky_flips = 1 is out of range: between 2 and 100")
            .is_some()
    );
}
