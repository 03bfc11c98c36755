//! Native clocks: `std::time::Instant` and tokio timers.

use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

/// Monotonic time since a process-wide origin.
pub fn now() -> Duration {
    origin().elapsed()
}

/// Milliseconds since the Unix epoch (wall clock).
pub fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Waits for `d` on the tokio timer.
pub async fn sleep(d: Duration) {
    tokio::time::sleep(d).await
}
