//! The browser side of the worker: the event handlers `sw.js` hands over, reaching the Cache
//! API and `fetch` through the worker's global scope. Decisions come from [`crate::policy`].

use std::cell::RefCell;

use js_sys::Array;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AbortController, Cache, CacheStorage, Request, RequestCache, RequestInit, Response,
    ResponseType, ServiceWorkerGlobalScope,
};

use crate::policy::{
    classify, navigation_needs_shell, stale_caches, PageMessage, PrecacheManifest, RequestFacts,
    Strategy, NAVIGATION_TIMEOUT_MS, OUTBOX_SYNC_TAG, RUNTIME_CACHE,
};

thread_local! {
    static MANIFEST: RefCell<Option<PrecacheManifest>> = const { RefCell::new(None) };
}

fn scope() -> ServiceWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

fn manifest() -> Result<PrecacheManifest, JsValue> {
    MANIFEST
        .with(|m| m.borrow().clone())
        .ok_or_else(|| JsValue::from_str("service worker used before configure"))
}

fn caches() -> Result<CacheStorage, JsValue> {
    scope().caches()
}

async fn open_cache(name: &str) -> Result<Cache, JsValue> {
    Ok(JsFuture::from(caches()?.open(name)).await?.unchecked_into())
}

async fn cached(cache: &Cache, url: &str) -> Result<Option<Response>, JsValue> {
    let found = JsFuture::from(cache.match_with_str(url)).await?;
    Ok(found.dyn_into::<Response>().ok())
}

/// Reads the precache manifest `sw.js` embeds; called once, before any other handler.
///
/// # Errors
/// Fails when the manifest is not valid JSON of the expected shape.
#[wasm_bindgen]
pub fn configure(manifest_json: &str) -> Result<(), JsValue> {
    let parsed = PrecacheManifest::from_json(manifest_json)
        .map_err(|e| JsValue::from_str(&e.to_string()))?;
    MANIFEST.with(|m| *m.borrow_mut() = Some(parsed));
    Ok(())
}

/// `install`: downloads every shell file into this build's cache, all or nothing, bypassing
/// the HTTP cache so a stale copy never lands in the precache.
///
/// # Errors
/// Fails (and the browser retries the install later) when any shell file cannot be fetched.
#[wasm_bindgen]
pub async fn handle_install() -> Result<(), JsValue> {
    let m = manifest()?;
    let cache = open_cache(&m.cache_name()).await?;
    let requests = Array::new();
    for entry in &m.entries {
        let init = RequestInit::new();
        init.set_cache(RequestCache::Reload);
        let request = Request::new_with_str_and_init(&entry.url, &init)?;
        requests.push(&request);
    }
    JsFuture::from(cache.add_all_with_request_sequence(&requests)).await?;
    Ok(())
}

/// `activate`: deletes the caches of earlier builds and takes control of open pages.
///
/// # Errors
/// Fails when the Cache API or `clients.claim()` fails.
#[wasm_bindgen]
pub async fn handle_activate() -> Result<(), JsValue> {
    let m = manifest()?;
    let storage = caches()?;
    let keys: Array = JsFuture::from(storage.keys()).await?.unchecked_into();
    let names: Vec<String> = keys.iter().filter_map(|k| k.as_string()).collect();
    for name in stale_caches(names.iter().map(String::as_str), &m.cache_name()) {
        JsFuture::from(storage.delete(&name)).await?;
    }
    JsFuture::from(scope().clients().claim()).await?;
    Ok(())
}

fn facts_strategy(request: &Request, m: &PrecacheManifest) -> Result<Strategy, JsValue> {
    let url = web_sys::Url::new(&request.url())?;
    let origin = scope().location().origin();
    let method = request.method();
    let path = url.pathname();
    let facts = RequestFacts {
        method: &method,
        same_origin: url.origin() == origin,
        navigate: request.mode() == web_sys::RequestMode::Navigate,
        path: &path,
    };
    Ok(classify(facts, m))
}

/// Whether the worker answers this request; `sw.js` asks once the module is ready so that
/// pass-through requests never wait on the worker.
#[wasm_bindgen]
pub fn handles(request: &Request) -> bool {
    manifest()
        .and_then(|m| facts_strategy(request, &m))
        .map(|s| s != Strategy::Passthrough)
        .unwrap_or(false)
}

/// `fetch`: answers a request with the strategy [`classify`] picks.
///
/// # Errors
/// Fails like `fetch` does when neither the network nor a cache can answer.
#[wasm_bindgen]
pub async fn handle_fetch(request: Request) -> Result<Response, JsValue> {
    let m = manifest()?;
    match facts_strategy(&request, &m)? {
        Strategy::Passthrough => network(&request).await,
        Strategy::Navigation => navigation(&request, &m).await,
        Strategy::Precached => {
            let url = web_sys::Url::new(&request.url())?.pathname();
            let cache = open_cache(&m.cache_name()).await?;
            match cached(&cache, &url).await? {
                Some(hit) => Ok(hit),
                None => network(&request).await,
            }
        }
        Strategy::RuntimeStatic => {
            let cache = open_cache(RUNTIME_CACHE).await?;
            if let Some(hit) = cached(&cache, &request.url()).await? {
                return Ok(hit);
            }
            let response = network(&request).await?;
            if response.ok() {
                JsFuture::from(cache.put_with_request(&request, &response.clone()?)).await?;
            }
            Ok(response)
        }
    }
}

async fn network(request: &Request) -> Result<Response, JsValue> {
    Ok(JsFuture::from(scope().fetch_with_request(request))
        .await?
        .unchecked_into())
}

/// Network first, but never longer than [`NAVIGATION_TIMEOUT_MS`]: a hung server must not
/// leave the patient looking at a blank page when the shell is in the cache.
async fn navigation(request: &Request, m: &PrecacheManifest) -> Result<Response, JsValue> {
    let controller = AbortController::new()?;
    let init = RequestInit::new();
    init.set_signal(Some(&controller.signal()));
    let abort = Closure::once_into_js(move || controller.abort());
    let timer = scope().set_timeout_with_callback_and_timeout_and_arguments_0(
        abort.unchecked_ref(),
        NAVIGATION_TIMEOUT_MS,
    )?;
    let outcome = JsFuture::from(scope().fetch_with_request_and_init(request, &init)).await;
    // The headers arrived (or the fetch failed): aborting now would cut the body short.
    scope().clear_timeout_with_handle(timer);
    let fresh = match outcome {
        Ok(value) => {
            let response: Response = value.unchecked_into();
            if response.type_() == ResponseType::Opaqueredirect
                || !navigation_needs_shell(response.status())
            {
                return Ok(response);
            }
            Ok(response)
        }
        Err(err) => Err(err),
    };
    let cache = open_cache(&m.cache_name()).await?;
    match cached(&cache, m.shell_url()).await? {
        Some(shell) => Ok(shell),
        None => fresh,
    }
}

/// `sync`: the tag [`OUTBOX_SYNC_TAG`] drains the SDK's outbox here, in the worker (see
/// [`crate::outbox`]). Open pages learn each entry's outcome from the outbox's broadcast
/// channel; they are not asked to drain as well: a sync the worker could not finish (offline,
/// no session) would fail the same way in a page, and only cost attempts and open its
/// breakers.
///
/// # Errors
/// Fails, so the browser retries the sync later, when queued writes could not all be sent:
/// no session, the server unreachable or still failing, or the store unreadable.
#[wasm_bindgen]
pub async fn handle_sync(tag: String) -> Result<(), JsValue> {
    if tag != OUTBOX_SYNC_TAG {
        return Ok(());
    }
    let outcome = crate::outbox::sync(scope().location().origin()).await;
    match &outcome {
        Ok(()) => web_sys::console::info_1(&"lifeline outbox sync: nothing left to send".into()),
        Err(reason) => {
            web_sys::console::warn_2(&"lifeline outbox sync: retry later:".into(), reason);
        }
    }
    outcome
}

/// `message`: `"skip-waiting"` activates a waiting worker once the user accepted the update.
///
/// # Errors
/// Fails when `skipWaiting()` fails.
#[wasm_bindgen]
pub async fn handle_message(data: JsValue) -> Result<(), JsValue> {
    let text = js_sys::JSON::stringify(&data)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_default();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    if PageMessage::parse(&value) == PageMessage::SkipWaiting {
        JsFuture::from(scope().skip_waiting()?).await?;
    }
    Ok(())
}
