//! lifeline-sdk: a resilient client for the Lifeline API, for native (tokio) and the browser
//! (wasm32). Timeouts, a retry policy with a budget, a circuit breaker per API group, a
//! stale-if-error cache, an offline outbox of writes with idempotency keys, and sessions
//! that survive outages.

pub mod outbox;
pub mod policy;
pub mod storage;
