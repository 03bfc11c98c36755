//! Resilience policies: small, runtime-free types that only decide; the client applies them.
//!
//! Each policy answers a question and returns plain values (`Duration`s, decisions,
//! transitions); none sleeps, spawns or reads a clock. Every time-dependent method takes
//! `now: Duration`, the time since an arbitrary monotonic origin the caller keeps, and every
//! random choice draws from a [`RandomSource`] the caller supplies. That keeps them
//! identical on native and `wasm32-unknown-unknown` (where `std::time::Instant` panics), and
//! testable with a [`testing::FakeClock`] and a seeded [`SplitMix64`].
//!
//! - [`Outcome`]: what one attempt ended with, and the one classification every policy uses.
//! - [`Backoff`]: capped exponential delays with full jitter.
//! - [`RetryPolicy`]: whether and when to retry an attempt.
//! - [`RetryBudget`]: a per-service token bucket that stops retries when most calls fail.
//! - [`CircuitBreaker`]: per API group, opens on failures, probes with one call.
//! - [`TimeoutPolicy`]: per-attempt timeouts inside an overall deadline.
//!
//! How a client combines them for one call:
//!
//! ```
//! use std::time::Duration;
//! use lifeline_sdk::policy::{
//!     CircuitBreaker, Idempotency, Outcome, RetryBudget, RetryDecision, RetryPolicy,
//!     SplitMix64, StopReason, TimeoutPolicy, testing::FakeClock,
//! };
//!
//! let clock = FakeClock::new();
//! let (retry, timeouts) = (RetryPolicy::default(), TimeoutPolicy::default());
//! let mut budget = RetryBudget::default();
//! let mut breaker = CircuitBreaker::with_seed(Default::default(), 1);
//! let mut rng = SplitMix64::new(1);
//!
//! // A service that fails once, then answers (two failures in a row would open the
//! // breaker with the defaults).
//! let mut answers = vec![Outcome::Success, Outcome::Network];
//! let started = clock.now();
//! let mut attempt = 0;
//! let result = loop {
//!     attempt += 1;
//!     let Some(_limit) = timeouts.attempt_timeout(clock.now(), started) else {
//!         break Err(StopReason::DeadlineExceeded);
//!     };
//!     let permit = breaker.try_acquire(clock.now()).expect("closed");
//!     let outcome = answers.pop().unwrap(); // send the request, racing `_limit`
//!     breaker.record(clock.now(), permit, &outcome);
//!     budget.record(&outcome);
//!     match retry.decide(attempt, &outcome, Idempotency::Idempotent, &mut rng) {
//!         RetryDecision::Stop(StopReason::Succeeded) => break Ok(attempt),
//!         RetryDecision::Stop(reason) => break Err(reason),
//!         RetryDecision::RetryAfter(delay) => {
//!             if !budget.allows_retry() {
//!                 break Err(StopReason::BudgetExhausted);
//!             }
//!             if !timeouts.allows_wait(clock.now(), started, delay) {
//!                 break Err(StopReason::DeadlineExceeded);
//!             }
//!             clock.advance(delay); // the client sleeps here
//!         }
//!     }
//! };
//! assert_eq!(result, Ok(2));
//! for transition in breaker.take_transitions() {
//!     // publish as a tracing event and on the client's event stream
//!     let _ = transition;
//! }
//! ```

mod backoff;
mod breaker;
mod budget;
mod millis;
mod outcome;
#[cfg(all(test, not(target_arch = "wasm32")))]
mod proptests;
mod retry;
mod rng;
pub mod testing;
mod timeout;

pub use backoff::{Backoff, BackoffError};
pub use breaker::{
    BreakCause, BreakerConfig, BreakerConfigBuilder, BreakerConfigError, BreakerState,
    BreakerTransition, CircuitBreaker, Permit, Rejected, TransitionReason,
};
pub use budget::{BudgetConfig, BudgetConfigError, RetryBudget};
pub use outcome::{parse_retry_after_secs, Outcome};
pub use retry::{Idempotency, RetryDecision, RetryPolicy, StopReason};
pub use rng::{RandomSource, SplitMix64};
pub use timeout::{TimeoutPolicy, TimeoutPolicyError};
