//! Test helpers: a clock that moves only when told to.
//!
//! Policies take `now: Duration`, so tests never sleep: they keep a [`FakeClock`], advance it
//! and pass `clock.now()`. Clones share the same time, so a test can hand one to the code
//! under test and advance it from outside.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A manual monotonic clock, starting at zero. Clones share one time.
///
/// Resolution is one nanosecond; the clock saturates after about 584 years.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use lifeline_sdk::policy::testing::FakeClock;
///
/// let clock = FakeClock::new();
/// let shared = clock.clone();
/// clock.advance(Duration::from_secs(5));
/// assert_eq!(shared.now(), Duration::from_secs(5));
/// ```
#[derive(Debug, Clone, Default)]
pub struct FakeClock {
    nanos: Arc<AtomicU64>,
}

impl FakeClock {
    /// A clock at zero.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use lifeline_sdk::policy::testing::FakeClock;
    ///
    /// assert_eq!(FakeClock::new().now(), Duration::ZERO);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// A clock at `start`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use lifeline_sdk::policy::testing::FakeClock;
    ///
    /// assert_eq!(FakeClock::starting_at(Duration::from_secs(9)).now(), Duration::from_secs(9));
    /// ```
    pub fn starting_at(start: Duration) -> Self {
        let clock = Self::new();
        clock.set(start);
        clock
    }

    /// The current time.
    ///
    /// # Examples
    ///
    /// ```
    /// use lifeline_sdk::policy::testing::FakeClock;
    ///
    /// let _ = FakeClock::new().now();
    /// ```
    pub fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::SeqCst))
    }

    /// Moves the clock forward by `by`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use lifeline_sdk::policy::testing::FakeClock;
    ///
    /// let c = FakeClock::new();
    /// c.advance(Duration::from_millis(250));
    /// assert_eq!(c.now(), Duration::from_millis(250));
    /// ```
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        let _ = self
            .nanos
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                Some(n.saturating_add(by))
            });
    }

    /// Sets the time; a monotonic clock never goes back, so an earlier `to` is ignored.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use lifeline_sdk::policy::testing::FakeClock;
    ///
    /// let c = FakeClock::new();
    /// c.set(Duration::from_secs(3));
    /// c.set(Duration::from_secs(1));
    /// assert_eq!(c.now(), Duration::from_secs(3));
    /// ```
    pub fn set(&self, to: Duration) {
        let to = u64::try_from(to.as_nanos()).unwrap_or(u64::MAX);
        self.nanos.fetch_max(to, Ordering::SeqCst);
    }
}
