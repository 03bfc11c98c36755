//! The professional registry: search, licence verification and statistics.

mod domain_common;

use axum::http::StatusCode;
use domain_common::Api;

#[tokio::test]
async fn search_finds_seeded_professionals() {
    let api = Api::new().await;
    let all = api.get("/api/registry/search", None).await;
    assert_eq!(all.status, StatusCode::OK);
    assert!(all.body.as_array().expect("array").len() >= 30);

    let nurses = api.get("/api/registry/search?q=nurse", None).await;
    let list = nurses.body.as_array().expect("array");
    assert!(!list.is_empty());
    assert!(list.iter().all(|e| e["profession"] == "Nurse"));

    let by_license = list[0]["license_number"].as_str().expect("licence");
    let found = api
        .get(&format!("/api/registry/search?q={by_license}"), None)
        .await;
    assert_eq!(found.body.as_array().expect("array").len(), 1);

    // LIKE wildcards are literal.
    let none = api.get("/api/registry/search?q=%25%25", None).await;
    assert_eq!(none.body.as_array().expect("array").len(), 0);
}

#[tokio::test]
async fn verify_reports_each_status_and_404_for_unknown() {
    let api = Api::new().await;
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT license_number, status, expires_on FROM registry_entries")
            .fetch_all(&api.state.db)
            .await
            .expect("rows");
    let mut seen = std::collections::BTreeSet::new();
    for (license, _, _) in &rows {
        let res = api
            .get(&format!("/api/registry/verify/{license}"), None)
            .await;
        assert_eq!(res.status, StatusCode::OK);
        let status = res.body["status"].as_str().expect("status").to_string();
        assert_eq!(res.body["valid"], status == "active");
        seen.insert(status);
    }
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        ["active", "expired", "suspended"],
        "the seed covers every status"
    );

    // Case and spacing do not matter.
    let lower = rows[0].0.to_lowercase();
    let res = api
        .get(&format!("/api/registry/verify/{lower}"), None)
        .await;
    assert_eq!(res.status, StatusCode::OK);

    // An active licence past its date reads as expired.
    sqlx::query("UPDATE registry_entries SET status = 'active', expires_on = '2001-01-01' WHERE license_number = ?")
        .bind(&rows[0].0)
        .execute(&api.state.db)
        .await
        .expect("update");
    let res = api
        .get(&format!("/api/registry/verify/{}", rows[0].0), None)
        .await;
    assert_eq!(res.body["status"], "expired");
    assert_eq!(res.body["valid"], false);

    let unknown = api
        .get("/api/registry/verify/PHB-MED-1999-99999", None)
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.code(), "not_found");
}

#[tokio::test]
async fn statistics_add_up() {
    let api = Api::new().await;
    let res = api.get("/api/registry/statistics", None).await;
    assert_eq!(res.status, StatusCode::OK);
    let b = &res.body;
    let total = b["total"].as_u64().expect("total");
    assert!(total >= 30);
    assert_eq!(
        b["active"].as_u64().expect("n")
            + b["suspended"].as_u64().expect("n")
            + b["expired"].as_u64().expect("n"),
        total
    );
    let by_profession: u64 = b["by_profession"]
        .as_object()
        .expect("map")
        .values()
        .map(|v| v.as_u64().expect("n"))
        .sum();
    assert_eq!(by_profession, total);
}
