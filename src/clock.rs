//! The wall clock, read in one place: epoch milliseconds for the times servers send (build starts,
//! progress, "3 min ago"), the flaky history and acknowledgements. Everything that computes with the
//! time takes it as an argument; only the edges (engine, window, tray, CLI) call [`epoch_ms`].

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, epoch milliseconds (0 for a clock before 1970, `i64::MAX` far beyond it: never panics).
pub fn epoch_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_reads_after_this_code_was_written() {
        // 2026-01-01T00:00:00Z: a clock reading earlier is broken (or the function is).
        assert!(epoch_ms() > 1_767_225_600_000);
    }
}
