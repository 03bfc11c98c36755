//! End-to-end and cross-crate tests live in tests/.
