//! Payments end to end: initialise, the built-in provider's checkout and charge, the signed
//! webhook (over real TCP), verification, and self-healing when the webhook never arrives.

mod domain_common;

use std::time::Duration;

use axum::http::StatusCode;
use backend_mock::chaos::{ChaosConfig, Rule};
use backend_mock::routes::provider::{sign, DECLINED_CARD, SUCCESS_CARD};
use backend_mock::{AppState, Config};
use domain_common::{Api, User};
use serde_json::{json, Value};

async fn pending_appointment(state: &AppState, user: &User) -> String {
    sqlx::query_scalar(
        "SELECT id FROM appointments WHERE user_id = ? AND status = 'pending_payment' LIMIT 1",
    )
    .bind(user.id.to_string())
    .fetch_one(&state.db)
    .await
    .expect("the demo patient has an appointment awaiting payment")
}

async fn appointment_status(state: &AppState, id: &str) -> String {
    sqlx::query_scalar("SELECT status FROM appointments WHERE id = ?")
        .bind(id)
        .fetch_one(&state.db)
        .await
        .expect("appointment exists")
}

async fn confirmations(state: &AppState, reference: &str) -> i64 {
    sqlx::query_scalar("SELECT confirmations FROM payments WHERE reference = ?")
        .bind(reference)
        .fetch_one(&state.db)
        .await
        .expect("payment exists")
}

async fn initialize(api: &Api, user: &User, appointment: &str, key: &str) -> Value {
    let res = api
        .post(
            "/api/payments/initialize",
            Some(user),
            Some(key),
            json!({ "appointment_id": appointment }),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{:?}", res.body);
    res.body
}

/// A server on 127.0.0.1:0 whose `public_url` is its own address, so webhooks reach it.
async fn serve() -> (String, AppState) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind port 0");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let state = backend_mock::test_state_with(Config {
        public_url: base.clone(),
        ..Config::for_tests()
    })
    .await;
    let app = backend_mock::app(state.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.expect("server runs") });
    (base, state)
}

async fn wait_for_status(state: &AppState, appointment: &str, want: &str) -> bool {
    for _ in 0..200 {
        if appointment_status(state, appointment).await == want {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    false
}

#[tokio::test]
async fn status_reports_payments_enabled_when_the_provider_answers() {
    let api = Api::new().await;
    let res = api.get("/api/payments/status", None).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(
        res.body,
        json!({ "payments_enabled": true, "provider_reachable": true })
    );
}

#[tokio::test]
async fn status_is_never_enabled_when_the_check_fails() {
    let api = Api::new().await;
    api.state.db.close().await;
    let res = api.get("/api/payments/status", None).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.body["payments_enabled"], false);
    assert_eq!(res.body["provider_reachable"], false);
}

#[tokio::test]
async fn full_flow_over_tcp_initialize_checkout_charge_webhook_verify() {
    let (base, state) = serve().await;
    let api = Api::with_state(state.clone());
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let patient = api.demo_patient().await;
    let appointment = pending_appointment(&state, &patient).await;

    let init = http
        .post(format!("{base}/api/payments/initialize"))
        .bearer_auth(&patient.token)
        .header("idempotency-key", "pay-1")
        .json(&json!({ "appointment_id": appointment }))
        .send()
        .await
        .expect("initialize answers");
    assert_eq!(init.status(), StatusCode::CREATED);
    let init: Value = init.json().await.expect("json");
    let reference = init["reference"].as_str().expect("reference").to_string();
    let fee: i64 = sqlx::query_scalar("SELECT fee_minor FROM appointments WHERE id = ?")
        .bind(&appointment)
        .fetch_one(&state.db)
        .await
        .expect("fee");
    assert_eq!(init["amount"], fee);
    let checkout_url = init["authorization_url"].as_str().expect("url").to_string();
    assert_eq!(
        checkout_url,
        format!("{base}/provider/checkout/{reference}")
    );

    let script = http
        .get(format!("{base}/provider/inline.js"))
        .send()
        .await
        .expect("script answers");
    assert_eq!(script.status(), StatusCode::OK);
    assert!(script.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .starts_with("application/javascript"));
    let script = script.text().await.expect("text");
    assert!(script.contains("LifelinePay") && script.contains("openIframe"));

    let page = http.get(&checkout_url).send().await.expect("page answers");
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.expect("html");
    assert!(
        page.contains(&reference) && page.contains(">Pay<"),
        "{page}"
    );

    let charge = http
        .post(format!("{base}/provider/charge"))
        .json(&json!({ "reference": reference, "card": SUCCESS_CARD }))
        .send()
        .await
        .expect("charge answers");
    assert_eq!(charge.status(), StatusCode::OK);
    let charge: Value = charge.json().await.expect("json");
    assert_eq!(charge["status"], "success");

    // The webhook, sent over TCP to this same server, confirms the appointment by itself.
    assert!(
        wait_for_status(&state, &appointment, "confirmed").await,
        "webhook confirmed the appointment"
    );
    let delivered: Option<String> = sqlx::query_scalar(
        "SELECT webhook_delivered_at FROM provider_transactions WHERE reference = ?",
    )
    .bind(&reference)
    .fetch_one(&state.db)
    .await
    .expect("provider row");
    assert!(delivered.is_some());

    let verify = http
        .post(format!("{base}/api/payments/verify/{reference}"))
        .bearer_auth(&patient.token)
        .send()
        .await
        .expect("verify answers");
    assert_eq!(verify.status(), StatusCode::OK);
    let verify: Value = verify.json().await.expect("json");
    assert_eq!(verify["status"], "success");
    assert_eq!(verify["appointment_status"], "confirmed");
    assert_eq!(verify["appointment_id"], appointment.as_str());
    assert_eq!(confirmations(&state, &reference).await, 1);

    let history = api.get("/api/payments/history", Some(&patient)).await;
    assert_eq!(history.status, StatusCode::OK);
    assert_eq!(history.body[0]["reference"], reference.as_str());
    assert_eq!(history.body[0]["status"], "success");
    assert!(history.body[0]["paid_at"].is_string());
}

#[tokio::test]
async fn webhook_delivery_retries_until_the_api_accepts_it() {
    let (base, state) = serve().await;
    let api = Api::with_state(state.clone());
    let patient = api.demo_patient().await;
    let appointment = pending_appointment(&state, &patient).await;
    let reference = initialize(&api, &patient, &appointment, "k").await["reference"]
        .as_str()
        .expect("reference")
        .to_string();
    // The API fails the first two webhook deliveries.
    state
        .chaos
        .set(ChaosConfig {
            seed: None,
            rules: vec![Rule {
                prefix: "/api/payments/webhook".into(),
                error_rate: Some(1.0),
                status: Some(503),
                remaining: Some(2),
                ..Rule::default()
            }],
        })
        .expect("rule accepted");
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let charge = http
        .post(format!("{base}/provider/charge"))
        .json(&json!({ "reference": reference, "card": SUCCESS_CARD }))
        .send()
        .await
        .expect("charge answers");
    assert_eq!(charge.status(), StatusCode::OK);

    assert!(wait_for_status(&state, &appointment, "confirmed").await);
    let attempts: i64 = sqlx::query_scalar(
        "SELECT webhook_attempts FROM provider_transactions WHERE reference = ?",
    )
    .bind(&reference)
    .fetch_one(&state.db)
    .await
    .expect("provider row");
    assert_eq!(attempts, 3, "two failed deliveries, then one accepted");
    assert_eq!(confirmations(&state, &reference).await, 1);
}

#[tokio::test]
async fn paid_but_unconfirmed_heals_through_the_reconciler_exactly_once() {
    // `public_url` of the test configuration is port 0: every webhook delivery fails.
    let api = Api::new().await;
    let patient = api.demo_patient().await;
    let appointment = pending_appointment(&api.state, &patient).await;
    let reference = initialize(&api, &patient, &appointment, "k").await["reference"]
        .as_str()
        .expect("reference")
        .to_string();
    let charge = api
        .post(
            "/provider/charge",
            None,
            None,
            json!({ "reference": reference, "card": SUCCESS_CARD }),
        )
        .await;
    assert_eq!(charge.status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Paid at the provider, but the API never heard of it.
    assert_eq!(
        appointment_status(&api.state, &appointment).await,
        "pending_payment"
    );
    let attempts: i64 = sqlx::query_scalar(
        "SELECT webhook_attempts FROM provider_transactions WHERE reference = ?",
    )
    .bind(&reference)
    .fetch_one(&api.state.db)
    .await
    .expect("provider row");
    assert!(attempts >= 1, "the webhook was tried");

    assert_eq!(
        backend_mock::reconciler::reconcile_once(&api.state)
            .await
            .expect("round"),
        1
    );
    assert_eq!(
        appointment_status(&api.state, &appointment).await,
        "confirmed"
    );
    assert_eq!(
        backend_mock::reconciler::reconcile_once(&api.state)
            .await
            .expect("round"),
        0
    );

    for _ in 0..2 {
        let verify = api
            .post(
                &format!("/api/payments/verify/{reference}"),
                Some(&patient),
                None,
                json!({}),
            )
            .await;
        assert_eq!(verify.status, StatusCode::OK);
        assert_eq!(verify.body["status"], "success");
        assert_eq!(verify.body["appointment_status"], "confirmed");
    }
    assert_eq!(confirmations(&api.state, &reference).await, 1);
    // Initialising again cannot start a second charge.
    let again = api
        .post(
            "/api/payments/initialize",
            Some(&patient),
            Some("k2"),
            json!({ "appointment_id": appointment }),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.code(), "already_paid");
}

#[tokio::test]
async fn verify_alone_confirms_once_without_webhook_or_reconciler() {
    let api = Api::new().await;
    let patient = api.demo_patient().await;
    let appointment = pending_appointment(&api.state, &patient).await;
    let reference = initialize(&api, &patient, &appointment, "k").await["reference"]
        .as_str()
        .expect("reference")
        .to_string();
    let before = api
        .post(
            &format!("/api/payments/verify/{reference}"),
            Some(&patient),
            None,
            json!({}),
        )
        .await;
    assert_eq!(before.body["status"], "pending");
    assert_eq!(before.body["appointment_status"], "pending_payment");
    api.post(
        "/provider/charge",
        None,
        None,
        json!({ "reference": reference, "card": SUCCESS_CARD }),
    )
    .await;
    let path = format!("/api/payments/verify/{reference}");
    let (a, b) = tokio::join!(
        api.post(&path, Some(&patient), None, json!({})),
        api.post(&path, Some(&patient), None, json!({})),
    );
    for v in [a, b] {
        assert_eq!(v.status, StatusCode::OK);
        assert_eq!(v.body["appointment_status"], "confirmed");
    }
    assert_eq!(confirmations(&api.state, &reference).await, 1);
}

#[tokio::test]
async fn webhook_with_a_wrong_signature_is_refused_and_changes_nothing() {
    let api = Api::new().await;
    let patient = api.demo_patient().await;
    let appointment = pending_appointment(&api.state, &patient).await;
    let reference = initialize(&api, &patient, &appointment, "k").await["reference"]
        .as_str()
        .expect("reference")
        .to_string();
    api.post(
        "/provider/charge",
        None,
        None,
        json!({ "reference": reference, "card": SUCCESS_CARD }),
    )
    .await;
    let body = json!({
        "event": "charge.success",
        "data": { "reference": reference, "amount": 1, "currency": "NGN", "status": "success" }
    })
    .to_string();
    let forged = sign(b"not-the-provider-secret", body.as_bytes());
    for signature in [forged.as_str(), "", "zz"] {
        let res = api
            .call(
                axum::http::Method::POST,
                "/api/payments/webhook",
                None,
                &[
                    ("x-provider-signature", signature),
                    ("content-type", "application/json"),
                ],
                None,
            )
            .await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    }
    let res = webhook(&api, &body, &forged).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(res.code(), "invalid_signature");
    assert_eq!(
        appointment_status(&api.state, &appointment).await,
        "pending_payment"
    );
    let status: String = sqlx::query_scalar("SELECT status FROM payments WHERE reference = ?")
        .bind(&reference)
        .fetch_one(&api.state.db)
        .await
        .expect("payment");
    assert_eq!(status, "pending");

    // Signed with the provider's key, the same event confirms the appointment.
    let signature = sign(&api.state.config.provider_secret, body.as_bytes());
    let res = webhook(&api, &body, &signature).await;
    assert_eq!(res.status, StatusCode::OK, "{:?}", res.body);
    assert_eq!(
        appointment_status(&api.state, &appointment).await,
        "confirmed"
    );
    let res = webhook(&api, &body, &signature).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(confirmations(&api.state, &reference).await, 1);
}

async fn webhook(api: &Api, body: &str, signature: &str) -> domain_common::Answer {
    let req = axum::http::Request::builder()
        .method("POST")
        .uri("/api/payments/webhook")
        .header("content-type", "application/json")
        .header("x-provider-signature", signature)
        .body(axum::body::Body::from(body.to_string()))
        .expect("request");
    api.raw(req).await
}

#[tokio::test]
async fn a_signed_webhook_for_an_unpaid_charge_changes_nothing() {
    let api = Api::new().await;
    let patient = api.demo_patient().await;
    let appointment = pending_appointment(&api.state, &patient).await;
    let reference = initialize(&api, &patient, &appointment, "k").await["reference"]
        .as_str()
        .expect("reference")
        .to_string();
    let body = json!({
        "event": "charge.success",
        "data": { "reference": reference, "amount": 1, "currency": "NGN", "status": "success" }
    })
    .to_string();
    let signature = sign(&api.state.config.provider_secret, body.as_bytes());
    let res = webhook(&api, &body, &signature).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(
        appointment_status(&api.state, &appointment).await,
        "pending_payment"
    );
}

#[tokio::test]
async fn declined_card_fails_then_a_good_card_pays_the_same_reference() {
    let api = Api::new().await;
    let patient = api.demo_patient().await;
    let appointment = pending_appointment(&api.state, &patient).await;
    let reference = initialize(&api, &patient, &appointment, "k").await["reference"]
        .as_str()
        .expect("reference")
        .to_string();
    let declined = api
        .post(
            "/provider/charge",
            None,
            None,
            json!({ "reference": reference, "card": DECLINED_CARD }),
        )
        .await;
    assert_eq!(declined.status, StatusCode::PAYMENT_REQUIRED);
    assert_eq!(declined.code(), "card_declined");
    let verify = api
        .post(
            &format!("/api/payments/verify/{reference}"),
            Some(&patient),
            None,
            json!({}),
        )
        .await;
    assert_eq!(verify.body["status"], "failed");
    assert_eq!(verify.body["appointment_status"], "pending_payment");

    // Initialising again resumes the same reference: one appointment, one charge.
    let again = api
        .post(
            "/api/payments/initialize",
            Some(&patient),
            Some("k2"),
            json!({ "appointment_id": appointment }),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body["reference"], reference.as_str());

    let unknown_card = api
        .post(
            "/provider/charge",
            None,
            None,
            json!({ "reference": reference, "card": "1234" }),
        )
        .await;
    assert_eq!(unknown_card.status, StatusCode::UNPROCESSABLE_ENTITY);
    let ok = api
        .post(
            "/provider/charge",
            None,
            None,
            json!({ "reference": reference, "card": SUCCESS_CARD }),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    let verify = api
        .post(
            &format!("/api/payments/verify/{reference}"),
            Some(&patient),
            None,
            json!({}),
        )
        .await;
    assert_eq!(verify.body["status"], "success");
    assert_eq!(verify.body["appointment_status"], "confirmed");
}

#[tokio::test]
async fn initialize_failures() {
    let api = Api::new().await;
    let patient = api.demo_patient().await;
    let other = api.new_user(backend_mock::auth::Role::Patient).await;
    let appointment = pending_appointment(&api.state, &patient).await;
    let body = json!({ "appointment_id": appointment });

    let res = api
        .post("/api/payments/initialize", None, Some("k"), body.clone())
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    let res = api
        .post(
            "/api/payments/initialize",
            Some(&patient),
            None,
            body.clone(),
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert_eq!(res.code(), "idempotency_key_required");
    // Another user's appointment does not exist for them.
    let res = api
        .post(
            "/api/payments/initialize",
            Some(&other),
            Some("k"),
            body.clone(),
        )
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    // A confirmed appointment awaits no payment.
    let confirmed: String = sqlx::query_scalar(
        "SELECT id FROM appointments WHERE user_id = ? AND status = 'confirmed' LIMIT 1",
    )
    .bind(patient.id.to_string())
    .fetch_one(&api.state.db)
    .await
    .expect("the demo patient has a confirmed appointment");
    let res = api
        .post(
            "/api/payments/initialize",
            Some(&patient),
            Some("k3"),
            json!({ "appointment_id": confirmed }),
        )
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert_eq!(res.code(), "not_payable");

    // The same key replays the first answer.
    let first = initialize(&api, &patient, &appointment, "same").await;
    let replay = api
        .post(
            "/api/payments/initialize",
            Some(&patient),
            Some("same"),
            body.clone(),
        )
        .await;
    assert_eq!(replay.status, StatusCode::CREATED);
    assert_eq!(replay.body, first);
    assert_eq!(replay.headers["idempotent-replayed"], "true");

    // Another user cannot verify or see it.
    let reference = first["reference"].as_str().expect("reference");
    let res = api
        .post(
            &format!("/api/payments/verify/{reference}"),
            Some(&other),
            None,
            json!({}),
        )
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    let res = api.get("/api/payments/history", Some(&other)).await;
    assert_eq!(res.body, json!([]));
    let res = api.get("/provider/checkout/LL-unknown", None).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn concurrent_initializes_with_different_keys_share_one_payment() {
    let api = Api::new().await;
    let patient = api.demo_patient().await;
    let appointment = pending_appointment(&api.state, &patient).await;
    let body = json!({ "appointment_id": appointment });
    let (a, b) = tokio::join!(
        api.post(
            "/api/payments/initialize",
            Some(&patient),
            Some("a"),
            body.clone()
        ),
        api.post(
            "/api/payments/initialize",
            Some(&patient),
            Some("b"),
            body.clone()
        ),
    );
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 201], "{:?} {:?}", a.body, b.body);
    assert_eq!(a.body["reference"], b.body["reference"]);
    let open: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM provider_transactions")
        .fetch_one(&api.state.db)
        .await
        .expect("count");
    assert_eq!(open, 1, "one provider transaction per appointment");
}
