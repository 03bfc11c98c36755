//! Resilience policies: small, runtime-free types that only decide; the client applies them.
