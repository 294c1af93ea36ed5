//! Desktop notifications through `notify-rust` (feature `gui`).
//!
//! On Linux and the BSDs (freedesktop notifications over D-Bus) a notification with a URL gets a
//! "default" action ("Open build"): a click opens the build page in the browser. Waiting for the click
//! happens on a thread of its own per notification (at most [`MAX_CLICK_WAITERS`] at a time; beyond that
//! notifications are shown without the action). Elsewhere notifications are shown without an action.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{Alert, AlertKind, Notifier, NotifyError};

/// Notifications whose click is awaited at the same time, at most.
pub const MAX_CLICK_WAITERS: usize = 8;

/// Shows notifications on the desktop.
#[derive(Debug, Default)]
pub struct DesktopNotifier {
    waiters: Arc<AtomicUsize>,
}

impl DesktopNotifier {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Notifier for DesktopNotifier {
    fn show(&mut self, alert: &Alert) -> Result<(), NotifyError> {
        let mut n = notify_rust::Notification::new();
        n.appname("ledtogo")
            .summary(&alert.title)
            .body(&alert.body)
            .icon(match alert.kind {
                AlertKind::Broke | AlertKind::StillFailing => "dialog-error",
                AlertKind::ServerLost => "network-error",
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
    #[cfg(target_os = "macos")]
    let mut cmd = {
        let mut c = std::process::Command::new("open");
        c.arg(url);
        c
    };
    #[cfg(windows)]
    let mut cmd = {
        let mut c = std::process::Command::new("rundll32");
        c.args(["url.dll,FileProtocolHandler", url]);
        c
    };
    #[cfg(not(any(target_os = "macos", windows)))]
    let mut cmd = {
        let mut c = std::process::Command::new("xdg-open");
        c.arg(url);
        c
    };
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    match cmd.spawn().and_then(|mut child| child.wait()) {
        Ok(status) if status.success() => {}
        Ok(status) => tracing::warn!("opening {url} failed: {cmd:?} exited with {status}"),
        Err(e) => tracing::warn!("cannot open {url}: {cmd:?}: {e}"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

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
