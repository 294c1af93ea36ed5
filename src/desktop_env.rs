//! What the environment says about the desktop: whether there is a display to open a window or a tray
//! icon on. Built in every configuration (the headless build decides with it too).

use std::ffi::OsStr;

/// True when a display server is named (X11's `DISPLAY` or `WAYLAND_DISPLAY`, non-empty).
pub fn display_present(display: Option<&OsStr>, wayland: Option<&OsStr>) -> bool {
    display.is_some_and(|d| !d.is_empty()) || wayland.is_some_and(|w| !w.is_empty())
}

/// [`display_present`] for this process's environment.
pub fn display_in_env() -> bool {
    display_present(
        std::env::var_os("DISPLAY").as_deref(),
        std::env::var_os("WAYLAND_DISPLAY").as_deref(),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn a_display_is_needed() {
        assert!(!display_present(None, None));
        assert!(!display_present(Some(OsStr::new("")), None));
        assert!(display_present(Some(OsStr::new(":0")), None));
        assert!(display_present(None, Some(OsStr::new("wayland-0"))));
    }
}
