//! lifeline-web: the Lifeline patient app, a Leptos client-side app over lifeline-sdk.
//!
//! Rendering lives in the browser-only modules ([`app`], `routes`, `api`); the decisions
//! behind it (booking drafts, banner texts, form validation, chart scaling) live in
//! [`state`] as plain structs, tested natively with `cargo test -p lifeline-web`.

pub mod state;

#[cfg(target_arch = "wasm32")]
pub mod app;

/// Mounts the app on `<body>`.
#[cfg(target_arch = "wasm32")]
pub fn start() {
    leptos::mount::mount_to_body(app::App);
}
