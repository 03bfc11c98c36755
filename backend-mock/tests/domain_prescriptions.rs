//! Prescriptions and pharmacies: reading, ordering once through the one canonical endpoint,
//! doctors issuing, distance search and the one nominated pharmacy.

mod domain_common;

use axum::http::StatusCode;
use backend_mock::auth::Role;
use domain_common::Api;
use serde_json::{json, Value};

fn medicine() -> Value {
    json!({
        "name": "Metformin 500 mg tablets",
        "dosage": "1 tablet",
        "duration": "30 days",
        "instructions": "Twice a day with meals"
    })
}

#[tokio::test]
async fn patients_read_their_own_prescriptions_only() {
    let api = Api::new().await;
    let patient = api.demo_patient().await;
    let list = api.get("/api/prescriptions", Some(&patient)).await;
    assert_eq!(list.status, StatusCode::OK);
    let items = list.body.as_array().expect("array");
    assert!(items.len() >= 3);
    let id = items[0]["id"].as_str().expect("id").to_string();
    assert_eq!(items[0]["status"], "active");
    assert!(items[0]["issued_at"].as_str() >= items[1]["issued_at"].as_str());

    let one = api
        .get(&format!("/api/prescriptions/{id}"), Some(&patient))
        .await;
    assert_eq!(one.status, StatusCode::OK);
    assert!(!one.body["medicines"]
        .as_array()
        .expect("medicines")
        .is_empty());

    let other = api.new_user(Role::Patient).await;
    let res = api
        .get(&format!("/api/prescriptions/{id}"), Some(&other))
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(res.code(), "not_found");
    assert_eq!(
        api.get("/api/prescriptions", Some(&other)).await.body,
        json!([])
    );
    let res = api
        .post(
            &format!("/api/prescriptions/{id}/order"),
            Some(&other),
            Some("k"),
            json!({}),
        )
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(
        api.get("/api/prescriptions", None).await.status,
        StatusCode::UNAUTHORIZED
    );
    let res = api
        .get(
            &format!("/api/prescriptions/{}", uuid::Uuid::new_v4()),
            Some(&patient),
        )
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn ordering_is_once_per_prescription_and_replays_per_key() {
    let api = Api::new().await;
    let patient = api.demo_patient().await;
    let list = api.get("/api/prescriptions", Some(&patient)).await;
    let id = list.body[0]["id"].as_str().expect("id").to_string();
    let path = format!("/api/prescriptions/{id}/order");

    let res = api.post(&path, Some(&patient), None, json!({})).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert_eq!(res.code(), "idempotency_key_required");
    // No pharmacy named and none nominated.
    let res = api.post(&path, Some(&patient), Some("k0"), json!({})).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.code(), "no_pharmacy");

    let pharmacies = api.get("/api/pharmacies", None).await;
    let pharmacy = pharmacies.body[0]["id"].as_str().expect("id").to_string();
    let nominate = api
        .post(
            &format!("/api/pharmacies/{pharmacy}/nominate"),
            Some(&patient),
            None,
            json!({}),
        )
        .await;
    assert_eq!(nominate.status, StatusCode::OK);

    let first = api.post(&path, Some(&patient), Some("k1"), json!({})).await;
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
    assert_eq!(first.body["status"], "ordered");
    assert_eq!(first.body["order"]["pharmacy_id"], pharmacy.as_str());

    let replay = api.post(&path, Some(&patient), Some("k1"), json!({})).await;
    assert_eq!(replay.status, StatusCode::CREATED);
    assert_eq!(replay.body, first.body);
    assert_eq!(replay.headers["idempotent-replayed"], "true");

    let twice = api.post(&path, Some(&patient), Some("k2"), json!({})).await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    assert_eq!(twice.code(), "already_ordered");
    assert_eq!(
        twice.body["error"]["details"]["order_id"],
        first.body["order"]["id"]
    );

    let orders: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM prescription_orders")
        .fetch_one(&api.state.db)
        .await
        .expect("count");
    assert_eq!(orders, 1);

    // Naming an unknown pharmacy on another prescription is 404.
    let other_id = list.body[1]["id"].as_str().expect("id");
    let res = api
        .post(
            &format!("/api/prescriptions/{other_id}/order"),
            Some(&patient),
            Some("k3"),
            json!({ "pharmacy_id": uuid::Uuid::new_v4() }),
        )
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn doctors_issue_validated_prescriptions() {
    let api = Api::new().await;
    let doctor = api.demo_doctor().await;
    let patient = api.demo_patient().await;

    let res = api
        .post(
            "/api/prescriptions",
            Some(&patient),
            None,
            json!({ "patient_id": patient.id, "medicines": [medicine()] }),
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);

    for medicines in [
        json!([]),
        json!([{ "name": " ", "dosage": "1", "duration": "1 day", "instructions": "x" }]),
    ] {
        let res = api
            .post(
                "/api/prescriptions",
                Some(&doctor),
                None,
                json!({ "patient_id": patient.id, "medicines": medicines }),
            )
            .await;
        assert_eq!(
            res.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{:?}",
            res.body
        );
    }
    let res = api
        .post(
            "/api/prescriptions",
            Some(&doctor),
            None,
            json!({ "patient_id": uuid::Uuid::new_v4(), "medicines": [medicine()] }),
        )
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);

    let created = api
        .post(
            "/api/prescriptions",
            Some(&doctor),
            Some("rx-1"),
            json!({ "patient_id": patient.id, "medicines": [medicine()], "notes": "Review in a month" }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    assert_eq!(created.body["doctor_id"], json!(doctor.id));
    let id = created.body["id"].as_str().expect("id");
    let seen = api
        .get(&format!("/api/prescriptions/{id}"), Some(&patient))
        .await;
    assert_eq!(seen.status, StatusCode::OK);
    assert_eq!(
        seen.body["medicines"][0]["name"],
        "Metformin 500 mg tablets"
    );
    assert_eq!(seen.body["notes"], "Review in a month");
}

#[tokio::test]
async fn pharmacies_search_by_text_and_distance() {
    let api = Api::new().await;
    let all = api.get("/api/pharmacies", None).await;
    assert_eq!(all.status, StatusCode::OK);
    assert!(all.body.as_array().expect("array").len() >= 10);

    let abuja = api.get("/api/pharmacies?q=abuja", None).await;
    let names: Vec<&str> = abuja
        .body
        .as_array()
        .expect("array")
        .iter()
        .map(|p| p["city"].as_str().expect("city"))
        .collect();
    assert!(
        !names.is_empty() && names.iter().all(|c| *c == "Abuja"),
        "{names:?}"
    );

    // Near Lagos Island, nearest first, with distances.
    let near = api.get("/api/pharmacies?near=6.4541,3.3947", None).await;
    let list = near.body.as_array().expect("array");
    let distances: Vec<f64> = list
        .iter()
        .map(|p| p["distance_km"].as_f64().expect("distance"))
        .collect();
    assert!(distances.windows(2).all(|w| w[0] <= w[1]), "{distances:?}");
    assert_eq!(list[0]["name"], "Marina Care Pharmacy");
    assert_eq!(list.last().expect("last")["city"], "Abuja");

    let bad = api.get("/api/pharmacies?near=lagos", None).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let none = api.get("/api/pharmacies?q=no-such-pharmacy", None).await;
    assert_eq!(none.body, json!([]));
}

#[tokio::test]
async fn one_nominated_pharmacy_per_user_and_nominating_is_idempotent() {
    let api = Api::new().await;
    let user = api.new_user(Role::Patient).await;
    let res = api.get("/api/pharmacies/nominated", Some(&user)).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(res.code(), "no_nominated_pharmacy");

    let all = api.get("/api/pharmacies", None).await;
    let first = all.body[0]["id"].as_str().expect("id").to_string();
    let second = all.body[1]["id"].as_str().expect("id").to_string();

    let a = api
        .post(
            &format!("/api/pharmacies/{first}/nominate"),
            Some(&user),
            None,
            json!({}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    let again = api
        .post(
            &format!("/api/pharmacies/{first}/nominate"),
            Some(&user),
            None,
            json!({}),
        )
        .await;
    assert_eq!(again.body, a.body, "nominating again changes nothing");

    api.post(
        &format!("/api/pharmacies/{second}/nominate"),
        Some(&user),
        None,
        json!({}),
    )
    .await;
    let now = api.get("/api/pharmacies/nominated", Some(&user)).await;
    assert_eq!(now.body["pharmacy"]["id"], second.as_str());
    let rows: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM pharmacy_nominations WHERE user_id = ?")
            .bind(user.id.to_string())
            .fetch_one(&api.state.db)
            .await
            .expect("count");
    assert_eq!(rows, 1);

    let unknown = api
        .post(
            &format!("/api/pharmacies/{}/nominate", uuid::Uuid::new_v4()),
            Some(&user),
            None,
            json!({}),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let anonymous = api
        .post(
            &format!("/api/pharmacies/{first}/nominate"),
            None,
            None,
            json!({}),
        )
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}
