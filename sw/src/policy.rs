//! What the worker decides, kept free of browser types so it is tested natively: which
//! strategy answers a request, what the precache holds, which caches are stale.

use serde::Deserialize;

/// Every cache this worker owns starts with this prefix, so activation never deletes caches
/// that belong to someone else on the same origin.
pub const CACHE_PREFIX: &str = "lifeline-";

/// The cache for same-origin static files that are not in the precache (fetched once, then
/// served from the cache).
pub const RUNTIME_CACHE: &str = "lifeline-runtime-v1";

/// The background-sync tag under which the page registers "drain the outbox".
pub const OUTBOX_SYNC_TAG: &str = "lifeline-outbox";

/// How long a navigation waits for the network before the cached shell answers.
pub const NAVIGATION_TIMEOUT_MS: i32 = 3_000;

/// One precached file: its URL path and a revision that changes when its content changes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PrecacheEntry {
    /// Absolute path from the scope root, e.g. `/index.html`.
    pub url: String,
    /// A content hash; the manifest version is derived from all of them.
    pub revision: String,
}

/// The app-shell file list generated at build time and embedded in `sw.js`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PrecacheManifest {
    /// A hash over every entry's revision: a new build gets a new cache.
    pub version: String,
    /// The files of the app shell.
    pub entries: Vec<PrecacheEntry>,
}

/// The manifest could not be read.
#[derive(Debug, thiserror::Error)]
#[error("invalid precache manifest: {0}")]
pub struct ManifestError(#[from] serde_json::Error);

impl PrecacheManifest {
    /// Parses the JSON the build embeds in `sw.js`.
    ///
    /// # Errors
    /// Returns [`ManifestError`] when the JSON does not have the manifest's shape.
    pub fn from_json(json: &str) -> Result<Self, ManifestError> {
        Ok(serde_json::from_str(json)?)
    }

    /// The name of the cache holding this build's shell.
    pub fn cache_name(&self) -> String {
        format!("{CACHE_PREFIX}precache-{}", self.version)
    }

    /// Whether `path` is one of the precached files.
    pub fn contains(&self, path: &str) -> bool {
        self.entries.iter().any(|e| e.url == path)
    }

    /// The path that answers a navigation when the network does not: the shell's HTML.
    pub fn shell_url(&self) -> &str {
        if self.contains("/index.html") {
            "/index.html"
        } else {
            "/"
        }
    }
}

/// How the worker answers one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Not the worker's business: the browser fetches as if no worker were there. API calls
    /// take this path because the SDK owns their timeouts, retries and cache.
    Passthrough,
    /// Network first with a short timeout, then the cached shell.
    Navigation,
    /// A precached shell file: the cache first, the network only if the cache lost it.
    Precached,
    /// Another same-origin static file: the cache first, filled from the network once.
    RuntimeStatic,
}

/// The parts of a request the decision needs.
#[derive(Debug, Clone, Copy)]
pub struct RequestFacts<'a> {
    /// HTTP method, upper case.
    pub method: &'a str,
    /// Whether the request goes to the worker's own origin.
    pub same_origin: bool,
    /// Whether it is a top-level navigation (`request.mode == "navigate"`).
    pub navigate: bool,
    /// The URL path, without query.
    pub path: &'a str,
}

/// Paths the server answers dynamically; the worker never caches them.
const DYNAMIC_PREFIXES: &[&str] = &[
    "/api/",
    "/__",
    "/provider/",
    "/health",
    "/ready",
    "/openapi.json",
];

const STATIC_EXTENSIONS: &[&str] = &[
    ".js",
    ".wasm",
    ".css",
    ".png",
    ".svg",
    ".ico",
    ".webmanifest",
    ".woff2",
];

/// Chooses the strategy for a request.
pub fn classify(req: RequestFacts<'_>, manifest: &PrecacheManifest) -> Strategy {
    if req.method != "GET" || !req.same_origin {
        return Strategy::Passthrough;
    }
    if DYNAMIC_PREFIXES.iter().any(|p| req.path.starts_with(p)) {
        return Strategy::Passthrough;
    }
    if req.navigate {
        return Strategy::Navigation;
    }
    if manifest.contains(req.path) {
        return Strategy::Precached;
    }
    if STATIC_EXTENSIONS.iter().any(|ext| req.path.ends_with(ext)) {
        return Strategy::RuntimeStatic;
    }
    Strategy::Passthrough
}

/// Whether a navigation response is good enough to show, or the cached shell should answer.
/// A 5xx (a server in trouble) or a 404 (a server that does not know the client-side route)
/// is worse than the shell, which routes on the client.
pub fn navigation_needs_shell(status: u16) -> bool {
    !(200..400).contains(&status)
}

/// The caches to delete on activation: ours, but neither the current precache nor the runtime cache.
pub fn stale_caches<'a>(existing: impl IntoIterator<Item = &'a str>, current: &str) -> Vec<String> {
    existing
        .into_iter()
        .filter(|name| name.starts_with(CACHE_PREFIX) && *name != current && *name != RUNTIME_CACHE)
        .map(str::to_owned)
        .collect()
}

/// The IndexedDB database the page's SDK client keeps its cache, outbox and session in (see
/// `web/src/api.rs`). The worker opens the same one, so it drains the page's queue.
pub const STORE_NAME: &str = "lifeline";

/// How often a sync whose drain found the outbox busy (a page draining it right now) tries
/// again, one [`DRAIN_BUSY_WAIT_MS`] apart, before it gives up and lets the browser retry.
pub const DRAIN_BUSY_TRIES: u32 = 10;

/// The wait between two tries of a busy drain.
pub const DRAIN_BUSY_WAIT_MS: u64 = 1_000;

/// How long one sync may wait, in all, for queued writes to come due. A write that failed a
/// moment ago waits out its backoff (a second or two after the first failure) before the next
/// attempt, and the browser's next try of a failed sync comes minutes later; a sync event may
/// run for a few minutes, so it waits for the write instead, within this bound.
pub const SYNC_WAIT_BUDGET_MS: u64 = 60_000;

/// The most drains one sync runs while waiting for writes to come due.
pub const SYNC_MAX_DRAINS: u32 = 5;

/// When the next drain of a sync should run, in milliseconds from now, or `None` to stop.
/// `drains` is how many drains the sync has run so far.
///
/// A sync waits only while its drains have attempted nothing (every write of the user was
/// still backing off), only if the earliest of them comes due within the rest of
/// [`SYNC_WAIT_BUDGET_MS`], and for at most [`SYNC_MAX_DRAINS`] drains (a write due but not
/// sent, e.g. because the session ended meanwhile, would otherwise be tried in a loop). Once a
/// drain has attempted a write, the sync ends: a write that failed again waits for the
/// browser's next try, not for a tight loop in the worker.
pub fn wait_for_due(
    now_ms: u64,
    waited_ms: u64,
    drains: u32,
    attempted: bool,
    next_due_ms: Option<u64>,
) -> Option<u64> {
    if attempted || drains >= SYNC_MAX_DRAINS {
        return None;
    }
    let wait = next_due_ms?.saturating_sub(now_ms);
    (waited_ms.saturating_add(wait) <= SYNC_WAIT_BUDGET_MS).then_some(wait)
}

/// The earliest moment one of these entries may be sent: among the unsynced entries, given
/// as `(resource, unsynced, next_attempt_at_ms)` in enqueue order, only the first of each
/// resource can go (later ones wait for it), so the earliest of those firsts.
pub fn next_due_ms<'a>(entries: impl IntoIterator<Item = (&'a str, bool, u64)>) -> Option<u64> {
    let mut heads = std::collections::HashSet::new();
    entries
        .into_iter()
        .filter(|(_, unsynced, _)| *unsynced)
        .filter(|(resource, _, _)| heads.insert(*resource))
        .map(|(_, _, due)| due)
        .min()
}

/// The session the worker restored from the refresh cookie, as far as a sync cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncSession {
    /// Nobody is signed in on this device.
    Anonymous,
    /// The server refused the refresh (401): only a new sign-in can send the writes.
    Expired,
    /// The server could not be reached (offline, outage, 5xx) to confirm the session.
    Unreachable,
    /// The server confirmed the session: the worker can send.
    Active,
}

/// What a Background Sync of the outbox ended with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncVerdict {
    /// Nothing the signed-in user queued is left unsent: the sync succeeds.
    Done,
    /// Writes stay queued; the sync promise rejects with this reason so the browser tries
    /// again later. The entries themselves are untouched by the rejection.
    RetryLater(String),
}

/// How one sync went, in the terms the verdict needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncFacts {
    /// Unsynced entries (any user) when the sync started.
    pub unsynced_before: usize,
    /// The restored session; `None` when the queue was empty and no session was needed.
    pub session: Option<SyncSession>,
    /// Whether the drain ran; `false` when another context held the outbox every time.
    pub drained: bool,
    /// Unsynced entries of the signed-in user after the drain.
    pub unsynced_after: usize,
}

/// Whether the sync succeeded. An empty queue needs no session; otherwise only an active
/// session that drained everything of its user succeeds. Entries of other users wait for
/// their own sign-in, and retrying the sync cannot change that, so they do not fail it.
pub fn sync_verdict(facts: SyncFacts) -> SyncVerdict {
    if facts.unsynced_before == 0 {
        return SyncVerdict::Done;
    }
    let n = facts.unsynced_before;
    match facts.session {
        None | Some(SyncSession::Anonymous) => {
            SyncVerdict::RetryLater(format!("no session: {n} queued write(s) wait for sign-in"))
        }
        Some(SyncSession::Expired) => SyncVerdict::RetryLater(format!(
            "the session expired: {n} queued write(s) wait for the next sign-in"
        )),
        Some(SyncSession::Unreachable) => SyncVerdict::RetryLater(format!(
            "the server could not confirm the session: {n} queued write(s) kept"
        )),
        Some(SyncSession::Active) if !facts.drained => {
            SyncVerdict::RetryLater("another tab kept the outbox busy: try again later".to_owned())
        }
        Some(SyncSession::Active) if facts.unsynced_after > 0 => SyncVerdict::RetryLater(format!(
            "{} queued write(s) not delivered yet",
            facts.unsynced_after
        )),
        Some(SyncSession::Active) => SyncVerdict::Done,
    }
}

/// A message the page sends to the worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageMessage {
    /// Activate the waiting worker now (the user accepted the update).
    SkipWaiting,
    /// Anything else, ignored.
    Unknown,
}

impl PageMessage {
    /// Reads `"skip-waiting"` or `{"type": "skip-waiting"}`.
    pub fn parse(value: &serde_json::Value) -> Self {
        let kind = value
            .as_str()
            .or_else(|| value.get("type").and_then(serde_json::Value::as_str));
        match kind {
            Some("skip-waiting") => Self::SkipWaiting,
            _ => Self::Unknown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> PrecacheManifest {
        PrecacheManifest::from_json(
            r#"{"version":"abc123","entries":[
                {"url":"/index.html","revision":"1"},
                {"url":"/lifeline-web-9f.js","revision":"2"},
                {"url":"/style-1.css","revision":"3"}]}"#,
        )
        .unwrap()
    }

    fn get(path: &str) -> RequestFacts<'_> {
        RequestFacts {
            method: "GET",
            same_origin: true,
            navigate: false,
            path,
        }
    }

    #[test]
    fn api_and_dev_routes_pass_through() {
        let m = manifest();
        for path in [
            "/api/appointments",
            "/__chaos",
            "/provider/inline.js",
            "/health",
            "/openapi.json",
        ] {
            assert_eq!(classify(get(path), &m), Strategy::Passthrough, "{path}");
        }
        let nav_to_api = RequestFacts {
            navigate: true,
            ..get("/api/profile")
        };
        assert_eq!(classify(nav_to_api, &m), Strategy::Passthrough);
    }

    #[test]
    fn writes_and_cross_origin_pass_through() {
        let m = manifest();
        let post = RequestFacts {
            method: "POST",
            ..get("/index.html")
        };
        assert_eq!(classify(post, &m), Strategy::Passthrough);
        let foreign = RequestFacts {
            same_origin: false,
            ..get("/index.html")
        };
        assert_eq!(classify(foreign, &m), Strategy::Passthrough);
    }

    #[test]
    fn navigations_shell_files_and_other_static_files() {
        let m = manifest();
        let nav = RequestFacts {
            navigate: true,
            ..get("/book")
        };
        assert_eq!(classify(nav, &m), Strategy::Navigation);
        assert_eq!(
            classify(get("/lifeline-web-9f.js"), &m),
            Strategy::Precached
        );
        assert_eq!(
            classify(get("/icons/other.png"), &m),
            Strategy::RuntimeStatic
        );
        assert_eq!(classify(get("/some/data"), &m), Strategy::Passthrough);
    }

    #[test]
    fn cache_names_follow_the_version() {
        let m = manifest();
        assert_eq!(m.cache_name(), "lifeline-precache-abc123");
        assert_eq!(m.shell_url(), "/index.html");
        let stale = stale_caches(
            [
                "lifeline-precache-old",
                "lifeline-precache-abc123",
                RUNTIME_CACHE,
                "someone-elses-cache",
            ],
            &m.cache_name(),
        );
        assert_eq!(stale, vec!["lifeline-precache-old".to_owned()]);
    }

    #[test]
    fn bad_navigation_answers_fall_back_to_the_shell() {
        assert!(!navigation_needs_shell(200));
        assert!(!navigation_needs_shell(304));
        assert!(navigation_needs_shell(404));
        assert!(navigation_needs_shell(503));
    }

    #[test]
    fn page_messages() {
        assert_eq!(
            PageMessage::parse(&serde_json::json!("skip-waiting")),
            PageMessage::SkipWaiting
        );
        assert_eq!(
            PageMessage::parse(&serde_json::json!({"type": "skip-waiting"})),
            PageMessage::SkipWaiting
        );
        assert_eq!(
            PageMessage::parse(&serde_json::json!({"type": "x"})),
            PageMessage::Unknown
        );
    }

    fn facts(before: usize, session: SyncSession, drained: bool, after: usize) -> SyncFacts {
        SyncFacts {
            unsynced_before: before,
            session: Some(session),
            drained,
            unsynced_after: after,
        }
    }

    #[test]
    fn an_empty_queue_needs_no_session() {
        let empty = SyncFacts {
            unsynced_before: 0,
            session: None,
            drained: false,
            unsynced_after: 0,
        };
        assert_eq!(sync_verdict(empty), SyncVerdict::Done);
    }

    #[test]
    fn queued_writes_without_a_confirmed_session_retry_later() {
        for session in [
            SyncSession::Anonymous,
            SyncSession::Expired,
            SyncSession::Unreachable,
        ] {
            let verdict = sync_verdict(facts(2, session, false, 2));
            assert!(
                matches!(&verdict, SyncVerdict::RetryLater(r) if r.contains('2')),
                "{session:?}: {verdict:?}"
            );
        }
    }

    #[test]
    fn an_active_session_succeeds_only_once_its_writes_are_delivered() {
        assert_eq!(
            sync_verdict(facts(3, SyncSession::Active, true, 0)),
            SyncVerdict::Done
        );
        assert_eq!(
            sync_verdict(facts(3, SyncSession::Active, true, 1)),
            SyncVerdict::RetryLater("1 queued write(s) not delivered yet".into())
        );
        assert!(matches!(
            sync_verdict(facts(3, SyncSession::Active, false, 3)),
            SyncVerdict::RetryLater(r) if r.contains("busy")
        ));
    }

    #[test]
    fn a_sync_waits_for_writes_still_backing_off_within_its_budget() {
        // Nothing attempted yet, due in 800 ms: wait for it.
        assert_eq!(wait_for_due(10_000, 0, 1, false, Some(10_800)), Some(800));
        // Due by now: drain again at once.
        assert_eq!(wait_for_due(10_000, 0, 1, false, Some(9_000)), Some(0));
        // Due after the budget: stop and let the browser try again.
        assert_eq!(
            wait_for_due(0, 0, 1, false, Some(SYNC_WAIT_BUDGET_MS + 1)),
            None
        );
        assert_eq!(wait_for_due(0, 59_500, 1, false, Some(1_000)), None);
        // A drain attempted something, nothing is queued, or enough drains ran: stop.
        assert_eq!(wait_for_due(0, 0, 1, true, Some(10)), None);
        assert_eq!(wait_for_due(0, 0, 1, false, None), None);
        assert_eq!(wait_for_due(0, 0, SYNC_MAX_DRAINS, false, Some(0)), None);
    }

    #[test]
    fn only_the_first_unsynced_entry_of_each_resource_can_come_due() {
        let entries = [
            ("slot-1", false, 5),  // confirmed: ignored
            ("slot-1", true, 900), // first pending of slot-1
            ("slot-1", true, 100), // waits behind it
            ("kicks", true, 400),
        ];
        assert_eq!(next_due_ms(entries), Some(400));
        assert_eq!(next_due_ms([("a", false, 1)]), None);
    }

    #[test]
    fn invalid_manifest_is_an_error() {
        let err = PrecacheManifest::from_json("{}").unwrap_err();
        assert!(err.to_string().starts_with("invalid precache manifest"));
    }
}
