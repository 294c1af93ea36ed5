//! A free X display number for a test's own Xvfb: one no live X server holds. A killed Xvfb leaves its
//! lock file (`/tmp/.X<n>-lock`, holding its pid) and socket behind; those are stale once the pid is gone,
//! and are cleared, so killed servers never use the numbers up. Included with `#[path]` by the tests that
//! start Xvfb (cargo runs test binaries one after another; within one, callers pick one at a time).

use std::path::Path;

/// The first number in `range` that is free or only stale (its leftovers are removed).
pub fn free_display(range: std::ops::Range<u32>) -> Option<u32> {
    range.into_iter().find(|&n| claimable(n))
}

fn claimable(n: u32) -> bool {
    let lock = format!("/tmp/.X{n}-lock");
    let socket = format!("/tmp/.X11-unix/X{n}");
    match std::fs::read_to_string(&lock) {
        Ok(text) => {
            let alive = text
                .trim()
                .parse::<u32>()
                .map_or(true, |pid| Path::new(&format!("/proc/{pid}")).exists());
            !alive
                && std::fs::remove_file(&lock).is_ok()
                && (std::fs::remove_file(&socket).is_ok() || !Path::new(&socket).exists())
        }
        Err(_) => !Path::new(&socket).exists(),
    }
}
