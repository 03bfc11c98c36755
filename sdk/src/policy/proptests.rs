//! Property tests over random operation sequences and configurations.

use std::time::Duration;

use proptest::prelude::*;

use super::testing::FakeClock;
use super::*;

#[derive(Debug, Clone)]
enum Op {
    Advance(u64),
    Acquire,
    Record(usize, Outcome),
    Cancel(usize),
}

fn outcome() -> impl Strategy<Value = Outcome> {
    prop_oneof![
        Just(Outcome::Success),
        Just(Outcome::Network),
        Just(Outcome::Timeout),
        (400u16..600, proptest::option::of(0u64..120))
            .prop_map(|(code, ra)| { Outcome::from_response(code, ra.map(Duration::from_secs)) }),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u64..20_000).prop_map(Op::Advance),
        4 => Just(Op::Acquire),
        4 => (any::<usize>(), outcome()).prop_map(|(i, o)| Op::Record(i, o)),
        1 => any::<usize>().prop_map(Op::Cancel),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever happens, half-open never has two probes in flight, probes are granted only
    /// half-open, ordinary permits only closed, rejections never say "retry in 0" while
    /// the break is running, and a closed breaker refuses only for the probe timeout at most.
    #[test]
    fn breaker_never_lets_two_probes_through(
        ops in proptest::collection::vec(op(), 1..400),
        seed in any::<u64>(),
        min_throughput in 1u32..8,
        consecutive in 0u32..6,
    ) {
        let config = BreakerConfig::builder()
            .min_throughput(min_throughput)
            .consecutive_failures(consecutive)
            .probe_timeout(Duration::from_secs(8))
            .build()
            .unwrap();
        let mut b = CircuitBreaker::with_seed(config, seed);
        let clock = FakeClock::new();
        // Outstanding permits, and which of them is the live probe.
        let mut held: Vec<Option<Permit>> = Vec::new();
        let mut live_probe: Option<usize> = None;
        for op in ops {
            match op {
                Op::Advance(ms) => clock.advance(Duration::from_millis(ms)),
                Op::Acquire => {
                    let before = b.state(clock.now());
                    match b.try_acquire(clock.now()) {
                        Ok(permit) => {
                            if !b.take_transitions().is_empty() {
                                live_probe = None;
                            }
                            if permit.is_probe() {
                                prop_assert_eq!(before, BreakerState::HalfOpen);
                                prop_assert!(live_probe.is_none(), "second probe while one is in flight");
                                live_probe = Some(held.len());
                            } else {
                                prop_assert_eq!(before, BreakerState::Closed);
                            }
                            held.push(Some(permit));
                        }
                        Err(rejected) => {
                            if !b.take_transitions().is_empty() {
                                live_probe = None;
                            }
                            if b.state(clock.now()).is_closed() {
                                // Refused during a failure run: only while a call let through
                                // in the run is in flight, for at most the probe timeout.
                                prop_assert!(consecutive > 0 || b.config().consecutive_network_failures() > 0);
                                prop_assert!(!rejected.retry_in.is_zero());
                                prop_assert!(rejected.retry_in <= b.config().probe_timeout());
                            }
                            prop_assert!(rejected.retry_in <= b.config().max_break_duration());
                        }
                    }
                }
                Op::Record(i, outcome) if !held.is_empty() => {
                    let i = i % held.len();
                    if let Some(permit) = held[i].take() {
                        b.record(clock.now(), permit, &outcome);
                        if live_probe == Some(i) {
                            live_probe = None;
                        }
                    }
                }
                Op::Cancel(i) if !held.is_empty() => {
                    let i = i % held.len();
                    if let Some(permit) = held[i].take() {
                        b.cancel(clock.now(), permit);
                        if live_probe == Some(i) {
                            live_probe = None;
                        }
                    }
                }
                Op::Record(..) | Op::Cancel(_) => {}
            }
            if !b.take_transitions().is_empty() {
                live_probe = None;
            }
            if let BreakerState::Open { until } = b.state(clock.now()) {
                // Never longer than the maximum break (Retry-After is capped too).
                prop_assert!(until <= clock.now() + b.config().max_break_duration());
            }
        }
    }

    /// Every backoff delay lies in [0, min(cap, base·2^n)].
    #[test]
    fn backoff_delays_stay_within_zero_and_cap(
        base_ms in 1u64..10_000,
        extra_ms in 0u64..120_000,
        retry in any::<u32>(),
        seed in any::<u64>(),
    ) {
        let cap = Duration::from_millis(base_ms + extra_ms);
        let backoff = Backoff::new(Duration::from_millis(base_ms), cap).unwrap();
        let mut rng = SplitMix64::new(seed);
        for n in [retry, retry % 64, 0] {
            let d = backoff.delay(n, &mut rng);
            prop_assert!(d <= cap);
            prop_assert!(d <= backoff.ceiling(n));
        }
    }

    /// A retry decision never waits longer than the larger of the backoff cap and the
    /// Retry-After cap, and never retries what must not be retried.
    #[test]
    fn retry_decisions_respect_caps_and_classification(
        attempt in 0u32..10,
        outcome in outcome(),
        idempotent in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let policy = RetryPolicy::default().with_max_retry_after(Duration::from_secs(20));
        let mut rng = SplitMix64::new(seed);
        match policy.decide(attempt, &outcome, idempotent, &mut rng) {
            RetryDecision::RetryAfter(d) => {
                prop_assert!(outcome.is_retryable() && idempotent);
                prop_assert!(attempt.max(1) <= policy.max_retries());
                prop_assert!(d <= Duration::from_secs(30));
                if let Some(ra) = outcome.retry_after() {
                    prop_assert!(d >= ra.min(Duration::from_secs(20)));
                }
            }
            RetryDecision::Stop(_) => {}
        }
    }
}
