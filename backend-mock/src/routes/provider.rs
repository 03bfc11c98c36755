//! The built-in payment provider: a small Paystack-like service living in the same process, so
//! the whole payment flow (checkout page, card charge, signed webhook, verification) runs
//! without the internet.
//!
//! It keeps its own ledger (`provider_transactions`), apart from the API's `payments`, as a
//! real provider would: the API learns of a charge through the signed webhook, through
//! verification, or through the reconciler comparing the two ledgers. A successful charge
//! sends `charge.success` to `{public_url}/api/payments/webhook`, signed with HMAC-SHA512 of the
//! raw body (hex, `x-provider-signature`), retrying with exponential backoff while the API
//! does not answer 2xx.

use std::sync::OnceLock;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use hmac::{Hmac, Mac};
use lifeline_types::payments::{
    PaymentStatus, ProviderChargeRequest, ProviderChargeResponse, ProviderWebhookData,
    ProviderWebhookEvent,
};
use lifeline_types::ErrorBody;
use sha2::Sha512;
use sqlx::{SqliteExecutor, SqlitePool};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::{AppError, AppResult, AppState};

/// The header carrying the webhook signature.
pub const SIGNATURE_HEADER: &str = "x-provider-signature";
/// Test card that is always charged successfully.
pub const SUCCESS_CARD: &str = "4084084084084081";
/// Test card that is always declined.
pub const DECLINED_CARD: &str = "4000000000000002";
/// Webhook deliveries tried before leaving the charge to the reconciler.
pub const WEBHOOK_MAX_ATTEMPTS: u32 = 8;

/// A transaction as the provider holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderTransaction {
    pub reference: String,
    pub amount_minor: i64,
    pub currency: String,
    pub status: PaymentStatus,
    pub paid_at: Option<String>,
}

/// Routes of the provider side: the inline script, the checkout page and the charge.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(inline_js))
        .routes(routes!(checkout_page))
        .routes(routes!(charge))
}

/// Opens a provider transaction for `reference` (the provider's "initialize").
///
/// # Errors
/// Database failures, including a duplicate reference or access code.
pub async fn open_transaction<'c>(
    db: impl SqliteExecutor<'c>,
    reference: &str,
    access_code: &str,
    amount_minor: i64,
    currency: &str,
    email: &str,
) -> AppResult<()> {
    sqlx::query(
        "INSERT INTO provider_transactions \
         (reference, access_code, amount_minor, currency, email, status, created_at) \
         VALUES (?, ?, ?, ?, ?, 'pending', ?)",
    )
    .bind(reference)
    .bind(access_code)
    .bind(amount_minor)
    .bind(currency)
    .bind(email)
    .bind(crate::db::ts(crate::db::now()))
    .execute(db)
    .await?;
    Ok(())
}

/// The provider's view of a transaction (the provider's "verify"); `None` when unknown.
///
/// # Errors
/// Database failures.
pub async fn transaction<'c>(
    db: impl SqliteExecutor<'c>,
    reference: &str,
) -> AppResult<Option<ProviderTransaction>> {
    let row: Option<(String, i64, String, String, Option<String>)> = sqlx::query_as(
        "SELECT reference, amount_minor, currency, status, paid_at FROM provider_transactions \
         WHERE reference = ?",
    )
    .bind(reference)
    .fetch_optional(db)
    .await?;
    Ok(row.map(
        |(reference, amount_minor, currency, status, paid_at)| ProviderTransaction {
            reference,
            amount_minor,
            currency,
            status: PaymentStatus::parse(&status).unwrap_or(PaymentStatus::Pending),
            paid_at,
        },
    ))
}

/// Whether the provider's ledger answers.
pub async fn reachable(db: &SqlitePool) -> bool {
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM provider_transactions WHERE 0")
        .fetch_one(db)
        .await
        .is_ok()
}

/// Hex HMAC-SHA512 of `body` under `secret`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha512>::new_from_slice(secret).expect("hmac takes keys of any length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Checks a hex signature of `body` in constant time.
pub fn signature_matches(secret: &[u8], body: &[u8], signature_hex: &str) -> bool {
    let Ok(signature) = hex::decode(signature_hex.trim()) else {
        return false;
    };
    let mut mac = Hmac::<Sha512>::new_from_slice(secret).expect("hmac takes keys of any length");
    mac.update(body);
    mac.verify_slice(&signature).is_ok()
}

/// Wait before webhook attempt `attempt + 1` (attempt counts from 1): 250 ms doubling up to
/// 30 s, or `None` once [`WEBHOOK_MAX_ATTEMPTS`] were made.
pub fn webhook_backoff(attempt: u32) -> Option<Duration> {
    if attempt >= WEBHOOK_MAX_ATTEMPTS {
        return None;
    }
    let millis = 250u64.saturating_mul(1 << attempt.saturating_sub(1).min(16));
    Some(Duration::from_millis(millis.min(30_000)))
}

/// The `charge.success` body for a transaction.
pub fn webhook_body(tx: &ProviderTransaction) -> Vec<u8> {
    let event = ProviderWebhookEvent {
        event: "charge.success".into(),
        data: ProviderWebhookData {
            reference: tx.reference.clone(),
            amount: tx.amount_minor,
            currency: tx.currency.clone(),
            status: tx.status,
            paid_at: tx.paid_at.clone(),
        },
    };
    serde_json::to_vec(&event).unwrap_or_default()
}

fn http_client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default()
    })
}

/// Sends the `charge.success` webhook for `reference` in a background task, retrying with
/// [`webhook_backoff`] until the API answers 2xx or the attempts run out.
pub fn spawn_webhook(state: AppState, reference: String) -> tokio::task::JoinHandle<bool> {
    tokio::spawn(async move {
        let delivered = deliver_webhook(&state, &reference).await;
        if !delivered {
            tracing::warn!(
                reference,
                "webhook not delivered; the reconciler will settle the charge"
            );
        }
        delivered
    })
}

async fn deliver_webhook(state: &AppState, reference: &str) -> bool {
    let url = format!(
        "{}/api/payments/webhook",
        state.config.public_url.trim_end_matches('/')
    );
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        match attempt_webhook(state, reference, &url).await {
            Ok(()) => {
                let marked = sqlx::query(
                    "UPDATE provider_transactions SET webhook_attempts = ?, \
                     webhook_delivered_at = ? WHERE reference = ?",
                )
                .bind(i64::from(attempt))
                .bind(crate::db::ts(crate::db::now()))
                .bind(reference)
                .execute(&state.db)
                .await;
                if let Err(err) = marked {
                    tracing::warn!(error = %err, reference, "could not record webhook delivery");
                }
                tracing::info!(reference, attempt, "webhook delivered");
                return true;
            }
            Err(reason) => {
                let _ = sqlx::query(
                    "UPDATE provider_transactions SET webhook_attempts = ? WHERE reference = ?",
                )
                .bind(i64::from(attempt))
                .bind(reference)
                .execute(&state.db)
                .await;
                let Some(wait) = webhook_backoff(attempt) else {
                    return false;
                };
                tracing::info!(
                    reference,
                    attempt,
                    reason,
                    retry_in_ms = wait.as_millis() as u64,
                    "webhook delivery failed"
                );
                tokio::time::sleep(wait).await;
            }
        }
    }
}

async fn attempt_webhook(state: &AppState, reference: &str, url: &str) -> Result<(), String> {
    let tx = transaction(&state.db, reference)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "transaction vanished".to_string())?;
    let body = webhook_body(&tx);
    let signature = sign(&state.config.provider_secret, &body);
    let res = http_client()
        .post(url)
        .header(header::CONTENT_TYPE, "application/json")
        .header(SIGNATURE_HEADER, signature)
        .body(body)
        .send()
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    if res.status().is_success() {
        Ok(())
    } else {
        Err(format!("status {}", res.status().as_u16()))
    }
}

/// The inline checkout script: `LifelinePay.setup({key, reference, onSuccess, onClose}).openIframe()`.
#[utoipa::path(
    get,
    path = "/provider/inline.js",
    tag = "provider",
    responses((status = 200, description = "The inline checkout script", content_type = "application/javascript", body = String))
)]
async fn inline_js() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                "application/javascript; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        INLINE_JS,
    )
        .into_response()
}

/// The checkout page of a transaction: amount, a card field and a Pay button.
#[utoipa::path(
    get,
    path = "/provider/checkout/{reference}",
    tag = "provider",
    params(("reference" = String, Path, description = "Payment reference")),
    responses(
        (status = 200, description = "Checkout page", content_type = "text/html", body = String),
        (status = 404, description = "Unknown reference", body = ErrorBody)
    )
)]
async fn checkout_page(
    State(state): State<AppState>,
    Path(reference): Path<String>,
) -> AppResult<Response> {
    let tx = transaction(&state.db, &reference)
        .await?
        .ok_or_else(|| AppError::not_found("transaction"))?;
    let amount = format!(
        "{} {}.{:02}",
        html_escape(&tx.currency),
        tx.amount_minor / 100,
        tx.amount_minor % 100
    );
    let page = CHECKOUT_HTML
        .replace("{{reference}}", &html_escape(&tx.reference))
        .replace("{{amount}}", &amount)
        .replace("{{status}}", tx.status.as_str())
        .replace("{{card}}", SUCCESS_CARD);
    Ok(([(header::CACHE_CONTROL, "no-store")], Html(page)).into_response())
}

/// Charges a test card for a transaction. Charging a transaction that already succeeded
/// answers its success again and charges nothing.
#[utoipa::path(
    post,
    path = "/provider/charge",
    tag = "provider",
    request_body = ProviderChargeRequest,
    responses(
        (status = 200, description = "Charged (or already charged)", body = ProviderChargeResponse),
        (status = 402, description = "Card declined (`card_declined`)", body = ErrorBody),
        (status = 404, description = "Unknown reference", body = ErrorBody),
        (status = 422, description = "Not a test card (`unsupported_card`)", body = ErrorBody)
    )
)]
async fn charge(
    State(state): State<AppState>,
    Json(req): Json<ProviderChargeRequest>,
) -> AppResult<Json<ProviderChargeResponse>> {
    let tx = transaction(&state.db, &req.reference)
        .await?
        .ok_or_else(|| AppError::not_found("transaction"))?;
    let answer = |tx: ProviderTransaction| ProviderChargeResponse {
        reference: tx.reference,
        status: tx.status,
        amount: tx.amount_minor,
        paid_at: tx.paid_at,
    };
    if tx.status == PaymentStatus::Success {
        return Ok(Json(answer(tx)));
    }
    let card: String = req.card.chars().filter(|c| !c.is_whitespace()).collect();
    let last4: String = card.chars().skip(card.len().saturating_sub(4)).collect();
    match card.as_str() {
        SUCCESS_CARD => {
            let now = crate::db::ts(crate::db::now());
            let charged = sqlx::query(
                "UPDATE provider_transactions SET status = 'success', paid_at = ?, \
                 card_last4 = ?, failure_reason = NULL WHERE reference = ? AND status <> 'success'",
            )
            .bind(&now)
            .bind(&last4)
            .bind(&tx.reference)
            .execute(&state.db)
            .await?
            .rows_affected()
                == 1;
            if charged {
                tracing::info!(reference = %tx.reference, amount = tx.amount_minor, "charge succeeded");
                spawn_webhook(state.clone(), tx.reference.clone());
            }
            let tx = transaction(&state.db, &tx.reference)
                .await?
                .ok_or_else(|| AppError::not_found("transaction"))?;
            Ok(Json(answer(tx)))
        }
        DECLINED_CARD => {
            sqlx::query(
                "UPDATE provider_transactions SET status = 'failed', card_last4 = ?, \
                 failure_reason = 'declined' WHERE reference = ? AND status <> 'success'",
            )
            .bind(&last4)
            .bind(&tx.reference)
            .execute(&state.db)
            .await?;
            tracing::info!(reference = %tx.reference, "charge declined");
            Err(AppError::new(
                StatusCode::PAYMENT_REQUIRED,
                "card_declined",
                "the card was declined",
            ))
        }
        _ => Err(AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unsupported_card",
            format!("use test card {SUCCESS_CARD} (succeeds) or {DECLINED_CARD} (declined)"),
        )),
    }
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

const INLINE_JS: &str = r#"/* LifelinePay inline checkout: the built-in test provider of backend-mock.
   LifelinePay.setup({ key, reference, onSuccess, onClose }).openIframe() */
(function (global) {
  'use strict';
  var current = document.currentScript;
  var origin = current && current.src ? new URL(current.src).origin : global.location.origin;

  function setup(options) {
    if (!options || typeof options.reference !== 'string' || !options.reference) {
      throw new Error('LifelinePay.setup needs a reference');
    }
    var overlay = null;
    var done = false;

    function cleanup() {
      global.removeEventListener('message', onMessage);
      if (overlay && overlay.parentNode) { overlay.parentNode.removeChild(overlay); }
      overlay = null;
    }

    function onMessage(event) {
      if (event.origin !== origin) { return; }
      var data = event.data || {};
      if (data.source !== 'lifelinepay' || data.reference !== options.reference) { return; }
      if (data.event === 'success' && !done) {
        done = true;
        cleanup();
        if (typeof options.onSuccess === 'function') {
          options.onSuccess({ reference: data.reference, status: 'success' });
        }
      } else if (data.event === 'close') {
        cleanup();
        if (!done && typeof options.onClose === 'function') { options.onClose(); }
      }
    }

    return {
      openIframe: function () {
        if (overlay) { return; }
        overlay = document.createElement('div');
        overlay.setAttribute('role', 'dialog');
        overlay.setAttribute('aria-label', 'Payment');
        overlay.style.cssText = 'position:fixed;inset:0;background:rgba(0,0,0,.45);z-index:2147483647;' +
          'display:flex;align-items:center;justify-content:center';
        var frame = document.createElement('iframe');
        frame.title = 'LifelinePay checkout';
        frame.src = origin + '/provider/checkout/' + encodeURIComponent(options.reference) +
          (options.key ? '?key=' + encodeURIComponent(options.key) : '');
        frame.style.cssText = 'width:min(420px,95vw);height:min(520px,90vh);border:0;border-radius:8px;background:#fff';
        overlay.appendChild(frame);
        document.body.appendChild(overlay);
        global.addEventListener('message', onMessage);
      },
      close: function () {
        cleanup();
        if (!done && typeof options.onClose === 'function') { options.onClose(); }
      }
    };
  }

  global.LifelinePay = { setup: setup };
})(window);
"#;

const CHECKOUT_HTML: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>LifelinePay checkout</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 0; padding: 24px; color: #1b1b1b; }
  h1 { font-size: 1.2rem; margin: 0 0 16px; }
  .amount { font-size: 1.6rem; font-weight: 600; margin: 8px 0 20px; }
  label { display: block; margin-bottom: 6px; }
  input { width: 100%; box-sizing: border-box; padding: 10px; font-size: 1rem; margin-bottom: 16px; }
  button { padding: 12px 18px; font-size: 1rem; border: 0; border-radius: 6px; cursor: pointer; }
  #pay { background: #0a7d45; color: #fff; }
  #cancel { background: #e4e4e4; margin-left: 8px; }
  #message { margin-top: 16px; min-height: 1.5em; }
  small { color: #555; }
</style>
</head>
<body>
<h1>LifelinePay test checkout</h1>
<div>Reference <code id="reference">{{reference}}</code></div>
<div class="amount">{{amount}}</div>
<form id="form">
  <label for="card">Card number</label>
  <input id="card" name="card" inputmode="numeric" autocomplete="off" value="{{card}}">
  <small>Test cards: 4084084084084081 succeeds, 4000000000000002 is declined.</small>
  <div style="margin-top:16px">
    <button id="pay" type="submit">Pay</button>
    <button id="cancel" type="button">Cancel</button>
  </div>
</form>
<div id="message" role="status" aria-live="polite" data-status="{{status}}"></div>
<script>
(function () {
  var reference = document.getElementById('reference').textContent;
  var message = document.getElementById('message');
  var pay = document.getElementById('pay');
  function notify(event) {
    if (window.parent !== window) {
      window.parent.postMessage({ source: 'lifelinepay', event: event, reference: reference }, '*');
    }
  }
  if (message.dataset.status === 'success') { message.textContent = 'This payment is already complete.'; pay.disabled = true; }
  document.getElementById('cancel').addEventListener('click', function () { notify('close'); });
  document.getElementById('form').addEventListener('submit', function (e) {
    e.preventDefault();
    pay.disabled = true;
    message.textContent = 'Charging…';
    fetch('/provider/charge', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ reference: reference, card: document.getElementById('card').value })
    }).then(function (res) {
      return res.json().then(function (body) { return { ok: res.ok, body: body }; });
    }).then(function (r) {
      if (r.ok && r.body.status === 'success') {
        message.textContent = 'Payment successful.';
        message.dataset.status = 'success';
        notify('success');
      } else {
        message.textContent = (r.body.error && r.body.error.message) || 'The payment failed.';
        message.dataset.status = 'failed';
        pay.disabled = false;
      }
    }).catch(function () {
      message.textContent = 'Could not reach the payment service; try again.';
      pay.disabled = false;
    });
  });
})();
</script>
</body>
</html>
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_reject_tampering() {
        let sig = sign(b"secret", b"{\"a\":1}");
        assert_eq!(sig.len(), 128);
        assert!(signature_matches(b"secret", b"{\"a\":1}", &sig));
        assert!(!signature_matches(b"secret", b"{\"a\":2}", &sig));
        assert!(!signature_matches(b"other", b"{\"a\":1}", &sig));
        assert!(!signature_matches(b"secret", b"{\"a\":1}", "not hex"));
    }

    #[test]
    fn backoff_doubles_caps_and_stops() {
        assert_eq!(webhook_backoff(1), Some(Duration::from_millis(250)));
        assert_eq!(webhook_backoff(2), Some(Duration::from_millis(500)));
        assert_eq!(webhook_backoff(7), Some(Duration::from_millis(16_000)));
        assert_eq!(webhook_backoff(WEBHOOK_MAX_ATTEMPTS), None);
    }
}
