//! How fresh a value is: what a UI needs to say "saved 12 minutes ago".

use std::time::Duration;

/// Whether a value came from the server just now or from the local cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// The server answered this call (a 200, or a 304 confirming the cached copy).
    Fresh,
    /// The server could not be reached or failed; this is the last good value, received
    /// `age` ago.
    Stale {
        /// Time since the server last sent or confirmed this value.
        age: Duration,
    },
}

impl Freshness {
    /// True for [`Freshness::Stale`].
    pub fn is_stale(&self) -> bool {
        matches!(self, Freshness::Stale { .. })
    }

    /// The value's age when stale.
    pub fn age(&self) -> Option<Duration> {
        match self {
            Freshness::Fresh => None,
            Freshness::Stale { age } => Some(*age),
        }
    }
}

/// A value read through the cache, with its [`Freshness`].
///
/// # Examples
///
/// ```
/// use lifeline_sdk::{Fetched, Freshness};
/// use std::time::Duration;
///
/// let f = Fetched { value: 3, freshness: Freshness::Stale { age: Duration::from_secs(720) } };
/// if let Some(age) = f.freshness.age() {
///     assert_eq!(age.as_secs() / 60, 12); // "saved 12 minutes ago"
/// }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Fetched<T> {
    /// The value.
    pub value: T,
    /// Whether it is fresh from the server or the last good cached copy.
    pub freshness: Freshness,
}

impl<T> Fetched<T> {
    /// Transforms the value, keeping its freshness.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Fetched<U> {
        Fetched {
            value: f(self.value),
            freshness: self.freshness,
        }
    }

    /// True when the value is the cached copy.
    pub fn is_stale(&self) -> bool {
        self.freshness.is_stale()
    }
}
