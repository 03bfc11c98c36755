//! Profile and hospital routes: read, validated partial update, reference lists, primary hospital.

mod core_support;

use axum::http::{Method, StatusCode};
use backend_mock::{app, test_state};
use core_support::{call, get, patient_token, post};
use serde_json::json;

#[tokio::test]
async fn profile_reads_and_updates_fields() {
    let app = app(test_state().await);
    let token = patient_token(&app).await;
    let profile = get(&app, "/api/profile", Some(&token)).await;
    assert_eq!(profile.status, StatusCode::OK);
    assert_eq!(profile.body["name"], "Ada Okafor");
    assert_eq!(profile.body["role"], "patient");

    let update = json!({"name": "Ada N. Okafor", "phone": "+234 803 555 0101",
        "date_of_birth": "1990-04-12", "gender": "Female", "address": "3 Allen Avenue, Ikeja"});
    let patched = call(
        &app,
        Method::PATCH,
        "/api/profile",
        Some(&token),
        Some(update),
        &[],
    )
    .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(patched.body["name"], "Ada N. Okafor");
    assert_eq!(patched.body["gender"], "female");
    assert_eq!(patched.body["date_of_birth"], "1990-04-12");

    // An empty string clears an optional field; absent fields stay.
    let cleared = call(
        &app,
        Method::PATCH,
        "/api/profile",
        Some(&token),
        Some(json!({"phone": ""})),
        &[],
    )
    .await;
    assert_eq!(cleared.status, StatusCode::OK);
    assert!(cleared.body["phone"].is_null());
    assert_eq!(cleared.body["address"], "3 Allen Avenue, Ikeja");
}

#[tokio::test]
async fn invalid_profile_update_is_422_and_writes_nothing() {
    let app = app(test_state().await);
    let token = patient_token(&app).await;
    let before = get(&app, "/api/profile", Some(&token)).await.body;
    for (body, field) in [
        (
            json!({"name": "Changed", "date_of_birth": "2999-01-01"}),
            "date_of_birth",
        ),
        (
            json!({"name": "Changed", "date_of_birth": "12/04/1990"}),
            "date_of_birth",
        ),
        (json!({"name": "Changed", "phone": "call me"}), "phone"),
        (json!({"name": "Changed", "gender": "robot"}), "gender"),
        (json!({"name": ""}), "name"),
    ] {
        let reply = call(
            &app,
            Method::PATCH,
            "/api/profile",
            Some(&token),
            Some(body),
            &[],
        )
        .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            reply.body
        );
        assert_eq!(reply.body["error"]["details"]["field"], field);
        let message = reply.body["error"]["message"].as_str().unwrap();
        assert!(message.starts_with(field), "{message}");
    }
    let unknown = call(
        &app,
        Method::PATCH,
        "/api/profile",
        Some(&token),
        Some(json!({"role": "admin"})),
        &[],
    )
    .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unknown.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("role"));
    let after = get(&app, "/api/profile", Some(&token)).await.body;
    assert_eq!(before, after);
}

#[tokio::test]
async fn hospitals_departments_and_doctors_are_listed_and_filtered() {
    let state = test_state().await;
    let app = app(state);
    let hospitals = get(&app, "/api/hospitals", None).await;
    assert_eq!(hospitals.status, StatusCode::OK);
    let hospitals = hospitals.body.as_array().unwrap().clone();
    assert!(hospitals.len() >= 2);

    let all = get(&app, "/api/departments", None).await.body;
    assert!(all.as_array().unwrap().len() >= 6);
    let hospital = hospitals[0]["id"].as_str().unwrap();
    let departments = get(
        &app,
        &format!("/api/departments?hospital_id={hospital}"),
        None,
    )
    .await;
    assert_eq!(departments.status, StatusCode::OK);
    let departments = departments.body.as_array().unwrap().clone();
    assert!(!departments.is_empty());
    assert!(departments.iter().all(|d| d["hospital_id"] == hospital));
    assert!(departments.iter().any(|d| d["fee_minor"] == 0));
    assert!(departments
        .iter()
        .any(|d| d["fee_minor"].as_i64().unwrap() > 0));

    let doctors = get(&app, "/api/doctors", None).await.body;
    assert!(doctors.as_array().unwrap().len() >= 20);
    let department = departments[0]["id"].as_str().unwrap();
    let doctors = get(
        &app,
        &format!("/api/doctors?department_id={department}"),
        None,
    )
    .await
    .body;
    let doctors = doctors.as_array().unwrap();
    assert!(!doctors.is_empty());
    assert!(doctors.iter().all(|d| d["department_id"] == department));

    let unknown = get(
        &app,
        &format!("/api/departments?hospital_id={}", uuid::Uuid::new_v4()),
        None,
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let malformed = get(&app, "/api/doctors?department_id=nope", None).await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert_eq!(malformed.code(), "bad_request");
}

#[tokio::test]
async fn primary_hospital_is_chosen_and_unknown_is_404() {
    let app = app(test_state().await);
    let token = core_support::register(&app, "fresh@example.com").await;
    let none = get(&app, "/api/user/primary-hospital", Some(&token)).await;
    assert_eq!(none.status, StatusCode::OK);
    assert!(none.body["hospital"].is_null());

    let hospitals = get(&app, "/api/hospitals", None).await.body;
    let id = hospitals[1]["id"].as_str().unwrap();
    let set = post(
        &app,
        "/api/user/primary-hospital",
        Some(&token),
        json!({"hospital_id": id}),
    )
    .await;
    assert_eq!(set.status, StatusCode::OK);
    assert_eq!(set.body["hospital"]["id"], id);
    let now = get(&app, "/api/user/primary-hospital", Some(&token)).await;
    assert_eq!(now.body["hospital"]["id"], id);
    let profile = get(&app, "/api/profile", Some(&token)).await;
    assert_eq!(profile.body["primary_hospital_id"], id);

    let unknown = post(
        &app,
        "/api/user/primary-hospital",
        Some(&token),
        json!({"hospital_id": uuid::Uuid::new_v4()}),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(
        get(&app, "/api/user/primary-hospital", Some(&token))
            .await
            .body["hospital"]["id"],
        id
    );
}

#[tokio::test]
async fn production_mode_has_reference_data_but_no_demo_accounts() {
    let config = backend_mock::Config {
        dev: false,
        ..backend_mock::Config::for_tests()
    };
    let app = app(backend_mock::test_state_with(config).await);
    assert!(
        get(&app, "/api/doctors", None)
            .await
            .body
            .as_array()
            .unwrap()
            .len()
            >= 20
    );
    let demo = core_support::login_reply(
        &app,
        backend_mock::seed::DEMO_PATIENT_EMAIL,
        backend_mock::seed::DEMO_PATIENT_PASSWORD,
    )
    .await;
    assert_eq!(demo.status, StatusCode::UNAUTHORIZED);
}
