//! Desktop notifications through `notify-rust` (feature `gui`).
//!
//! On Linux and the BSDs (freedesktop notifications over D-Bus) a notification with a URL gets a
//! "default" action ("Open build"): a click opens the build page in the browser. Waiting for the click
//! happens on a thread of its own per notification (at most [`MAX_CLICK_WAITERS`] at a time; beyond that
//! notifications are shown without the action). Elsewhere notifications are shown without an action.
//!
//! The text ([`notification_text`]): the summary is plain text by the specification (daemons that put it
//! into markup escape it themselves, dunst for one), so it goes as it is; the body is read as markup by
//! daemons that advertise `body-markup` (asked once, [`body_markup`]), so there it is markup-escaped
//! ([`text::escape_markup`]): a job named `<a href=…>` or `<img src=…>` is shown as those characters.
//! Both are plain, bounded text already ([`super::policy`] cuts the names); hidden controls are made
//! visible here once more for alerts built elsewhere.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{Alert, AlertKind, Notifier, NotifyError};
use crate::text;

/// Notifications whose click is awaited at the same time, at most.
pub const MAX_CLICK_WAITERS: usize = 8;

/// Shows notifications on the desktop.
#[derive(Debug, Default)]
pub struct DesktopNotifier {
    waiters: Arc<AtomicUsize>,
    /// Whether the daemon renders markup in the body, once it answered.
    body_markup: Option<bool>,
}

impl DesktopNotifier {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Notifier for DesktopNotifier {
    fn show(&mut self, alert: &Alert) -> Result<(), NotifyError> {
        let markup = match self.body_markup {
            Some(markup) => markup,
            None => {
                let asked = body_markup();
                self.body_markup = asked;
                asked.unwrap_or(true)
            }
        };
        let (summary, body) = notification_text(alert, markup);
        let mut n = notify_rust::Notification::new();
        n.appname("ledtogo")
            .summary(&summary)
            .body(&body)
            .icon(match alert.kind {
                AlertKind::Broke | AlertKind::StillFailing => "dialog-error",
                AlertKind::ServerLost => "network-error",
                AlertKind::FlakyDigest => "dialog-warning",
                AlertKind::Fixed | AlertKind::ServerRecovered => "dialog-information",
            });
        #[cfg(all(unix, not(target_os = "macos")))]
        {
            let url = alert
                .url
                .as_deref()
                .filter(|u| crate::weburl::is_web_url(u));
            let waiter = url.and_then(|_| Waiter::claim(&self.waiters));
            if waiter.is_some() {
                n.action("default", "Open build");
            }
            let handle = n
                .show()
                .map_err(|e| NotifyError::Unavailable(e.to_string()))?;
            if let (Some(url), Some(waiter)) = (url, waiter) {
                let url = url.to_owned();
                let spawned = std::thread::Builder::new()
                    .name("notify-click".into())
                    .spawn(move || {
                        let _waiter = waiter;
                        handle.wait_for_action(|action| {
                            if action == "default" {
                                open_url(&url);
                            }
                        });
                    });
                if let Err(e) = spawned {
                    tracing::debug!("cannot wait for a click on the notification: {e}");
                }
            }
        }
        #[cfg(not(all(unix, not(target_os = "macos"))))]
        {
            n.show()
                .map_err(|e| NotifyError::Unavailable(e.to_string()))?;
        }
        Ok(())
    }
}

/// The summary and the body handed to the daemon for `alert`: hidden controls made visible in both, the
/// body markup-escaped when the daemon renders markup in it (`markup`).
pub fn notification_text(alert: &Alert, markup: bool) -> (String, String) {
    let summary = text::visible(&alert.title).into_owned();
    let body = text::visible(&alert.body);
    let body = if markup {
        text::escape_markup(&body).into_owned()
    } else {
        body.into_owned()
    };
    (summary, body)
}

/// Whether the notification daemon advertises `body-markup`; `None` when it cannot be asked (then the body
/// is escaped anyway: `&lt;` shown literally is better than markup rendered).
pub fn body_markup() -> Option<bool> {
    #[cfg(all(unix, not(target_os = "macos")))]
    {
        match notify_rust::get_capabilities() {
            Ok(caps) => Some(caps.iter().any(|c| c == "body-markup")),
            Err(e) => {
                tracing::debug!("cannot ask the notification daemon what it renders: {e}");
                None
            }
        }
    }
    #[cfg(not(all(unix, not(target_os = "macos"))))]
    {
        // macOS and Windows show the body as plain text.
        Some(false)
    }
}

/// A claimed slot among the [`MAX_CLICK_WAITERS`]; released when dropped.
#[derive(Debug)]
struct Waiter(Arc<AtomicUsize>);

impl Waiter {
    fn claim(count: &Arc<AtomicUsize>) -> Option<Waiter> {
        count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < MAX_CLICK_WAITERS).then_some(n + 1)
            })
            .ok()
            .map(|_| Waiter(Arc::clone(count)))
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Opens `url` in the default browser and waits for the opener (on the caller's thread, which is a
/// click-waiting thread). Failures are logged: there is no one else to tell.
pub fn open_url(url: &str) {
    if !crate::weburl::is_web_url(url) {
        tracing::warn!("not opening {url:?}: not an http(s) address");
        return;
    }
    launch(std::ffi::OsStr::new(url), &text::visible(url));
}

/// Opens a file ledtogo wrote (the printable labels) in the desktop's viewer for its type, the same way
/// as [`open_url`] opens pages, and waits for the opener (call it on a thread of its own).
pub fn open_file(path: &std::path::Path) {
    launch(path.as_os_str(), &path.display().to_string());
}

/// Runs the desktop's opener (`xdg-open`, macOS `open`, Windows' URL handler) on `target`; failures are
/// logged with `shown`.
fn launch(target: &std::ffi::OsStr, shown: &str) {
    #[cfg(target_os = "macos")]
    let mut cmd = {
        let mut c = std::process::Command::new("open");
        c.arg(target);
        c
    };
    #[cfg(windows)]
    let mut cmd = {
        let mut c = std::process::Command::new("rundll32");
        c.arg("url.dll,FileProtocolHandler").arg(target);
        c
    };
    #[cfg(not(any(target_os = "macos", windows)))]
    let mut cmd = {
        let mut c = std::process::Command::new("xdg-open");
        c.arg(target);
        c
    };
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    match cmd.spawn().and_then(|mut child| child.wait()) {
        Ok(status) if status.success() => {}
        Ok(status) => tracing::warn!("opening {shown} failed: {cmd:?} exited with {status}"),
        Err(e) => tracing::warn!("cannot open {shown}: {cmd:?}: {e}"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn broke_alert(name: &str) -> Alert {
        let mut policy = super::super::AlertPolicy::default();
        let at = super::super::Moment {
            now: std::time::Instant::now(),
            minute_of_day: 12 * 60,
            paused_until: None,
        };
        let t = crate::model::Transition::Broke {
            job: crate::model::JobId::new("ci", name),
            display_name: name.to_owned(),
            state: crate::model::JobState::Failure,
            build: Some(4),
            url: None,
            blame: None,
        };
        let mut d = policy.decide(&[t], &at, &crate::config::Alerts::default());
        d.alerts.remove(0)
    }

    #[test]
    fn the_body_for_a_job_named_with_markup_is_escaped_for_a_markup_daemon() {
        let (summary, body) = notification_text(&broke_alert("<b>x</b>"), true);
        assert_eq!(body, "Build #4 of &lt;b&gt;x&lt;/b&gt; on ci: failure");
        assert_eq!(summary, "<b>x</b> broke", "the summary is plain text");
        let (_, body) = notification_text(&broke_alert("<img src=x>"), true);
        assert!(
            !body.contains('<') && body.contains("&lt;img src=x&gt;"),
            "{body}"
        );
        let (_, body) = notification_text(&broke_alert("<a href=\"evil.example\">R&D</a>"), true);
        assert_eq!(
            body,
            "Build #4 of &lt;a href=&quot;evil.example&quot;&gt;R&amp;D&lt;/a&gt; on ci: failure"
        );
    }

    #[test]
    fn who_broke_it_is_escaped_for_a_markup_daemon_like_the_job_name() {
        let mut policy = super::super::AlertPolicy::default();
        let at = super::super::Moment {
            now: std::time::Instant::now(),
            minute_of_day: 12 * 60,
            paused_until: None,
        };
        let t = crate::model::Transition::Broke {
            job: crate::model::JobId::new("ci", "api"),
            display_name: "api".into(),
            state: crate::model::JobState::Failure,
            build: Some(4),
            url: None,
            blame: Some(crate::model::Blame {
                who: "<b>Mona</b>".into(),
                what: Some("Fix <a href=\"evil.example\">R&D</a>".into()),
            }),
        };
        let alert = policy
            .decide(&[t], &at, &crate::config::Alerts::default())
            .alerts
            .remove(0);
        let (_, body) = notification_text(&alert, true);
        assert_eq!(
            body,
            "Build #4 of api on ci: failure — &lt;b&gt;Mona&lt;/b&gt;: \
             Fix &lt;a href=&quot;evil.example&quot;&gt;R&amp;D&lt;/a&gt;"
        );
    }

    #[test]
    fn a_daemon_without_markup_gets_the_plain_text() {
        let (summary, body) = notification_text(&broke_alert("<b>x</b>"), false);
        assert_eq!(summary, "<b>x</b> broke");
        assert_eq!(body, "Build #4 of <b>x</b> on ci: failure");
    }

    #[test]
    fn an_alert_built_elsewhere_still_loses_its_control_characters() {
        let alert = Alert {
            title: "\x1b]0;evil\x07 broke".into(),
            body: "line\none \u{202E}".into(),
            ..broke_alert("x")
        };
        let (summary, body) = notification_text(&alert, true);
        assert_eq!(summary, "\u{FFFD}]0;evil\u{FFFD} broke");
        assert_eq!(body, "line\u{FFFD}one \u{FFFD}");
    }

    #[test]
    fn click_waiters_are_capped_and_released() {
        let count = Arc::new(AtomicUsize::new(0));
        let claimed: Vec<_> = (0..MAX_CLICK_WAITERS)
            .map(|_| Waiter::claim(&count).unwrap())
            .collect();
        assert!(Waiter::claim(&count).is_none());
        drop(claimed);
        assert_eq!(count.load(Ordering::Acquire), 0);
        assert!(Waiter::claim(&count).is_some());
    }

    #[test]
    fn only_web_urls_are_opened() {
        assert!(crate::weburl::is_web_url("https://ci/job/a/1/"));
        assert!(crate::weburl::is_web_url("http://ci/job/a/1/"));
        assert!(!crate::weburl::is_web_url("file:///etc/passwd"));
        assert!(!crate::weburl::is_web_url("--help"));
        // Refused before anything is spawned.
        open_url("file:///etc/passwd");
    }
}
