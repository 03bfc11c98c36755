//! Health-tracking sync: last writer wins by `updated_at` (ties keep the server's copy),
//! tombstones, `since=` cursors, validation, batch limits, per-user isolation.

mod domain_common;

use axum::http::StatusCode;
use backend_mock::auth::Role;
use domain_common::{Answer, Api, User};
use serde_json::{json, Value};
use uuid::Uuid;

fn kick(id: Uuid, updated_at: &str, kicks: i64) -> Value {
    json!({
        "id": id,
        "updated_at": updated_at,
        "data": { "started_at": "2026-03-01T09:00:00Z", "kicks": kicks }
    })
}

async fn upload(api: &Api, user: &User, kind: &str, key: &str, items: Vec<Value>) -> Answer {
    api.post(
        &format!("/api/health-tracking/{kind}"),
        Some(user),
        Some(key),
        json!({ "items": items }),
    )
    .await
}

#[tokio::test]
async fn the_newer_updated_at_wins_and_ties_keep_the_server_copy() {
    let api = Api::new().await;
    let user = api.demo_patient().await;
    let id = Uuid::new_v4();

    let first = upload(
        &api,
        &user,
        "kick-sessions",
        "k1",
        vec![kick(id, "2026-03-01T10:00:00Z", 5)],
    )
    .await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    assert_eq!(first.body["results"][0]["applied"], true);

    let newer = upload(
        &api,
        &user,
        "kick-sessions",
        "k2",
        vec![kick(id, "2026-03-01T11:00:00Z", 8)],
    )
    .await;
    assert_eq!(newer.body["results"][0]["applied"], true);
    assert_eq!(newer.body["results"][0]["item"]["data"]["kicks"], 8);

    // An older edit from an offline device loses, and gets the server's copy back.
    let older = upload(
        &api,
        &user,
        "kick-sessions",
        "k3",
        vec![kick(id, "2026-03-01T10:30:00Z", 2)],
    )
    .await;
    assert_eq!(older.body["results"][0]["applied"], false);
    assert_eq!(older.body["results"][0]["item"]["data"]["kicks"], 8);

    // Same time, other content: the server keeps its copy.
    let tie = upload(
        &api,
        &user,
        "kick-sessions",
        "k4",
        vec![kick(id, "2026-03-01T12:00:00+01:00", 99)],
    )
    .await;
    assert_eq!(tie.body["results"][0]["applied"], false);
    assert_eq!(tie.body["results"][0]["item"]["data"]["kicks"], 8);

    let all = api
        .get("/api/health-tracking/kick-sessions", Some(&user))
        .await;
    let items = all.body["items"].as_array().expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["data"]["kicks"], 8);
    assert_eq!(items[0]["updated_at"], "2026-03-01T11:00:00Z");
}

#[tokio::test]
async fn tombstones_and_since_cursors() {
    let api = Api::new().await;
    let user = api.demo_patient().await;
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let res = upload(
        &api,
        &user,
        "contractions",
        "k1",
        vec![
            json!({ "id": a, "updated_at": "2026-03-01T10:00:00Z", "data": { "started_at": "2026-03-01T10:00:00Z", "duration_seconds": 45, "intensity": 6 } }),
            json!({ "id": b, "updated_at": "2026-03-01T10:05:00Z", "data": { "started_at": "2026-03-01T10:05:00Z", "duration_seconds": 50 } }),
        ],
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{:?}", res.body);
    let page = api
        .get("/api/health-tracking/contractions", Some(&user))
        .await;
    assert_eq!(page.body["items"].as_array().expect("items").len(), 2);
    let cursor = page.body["cursor"].as_i64().expect("cursor");
    assert_eq!(cursor, res.body["cursor"].as_i64().expect("cursor"));

    // Nothing new since the cursor.
    let empty = api
        .get(
            &format!("/api/health-tracking/contractions?since={cursor}"),
            Some(&user),
        )
        .await;
    assert_eq!(empty.body["items"], json!([]));
    assert_eq!(empty.body["cursor"], cursor);

    // Deleting is a newer tombstone; it shows up after the cursor with no data.
    let del = upload(
        &api,
        &user,
        "contractions",
        "k2",
        vec![json!({ "id": a, "updated_at": "2026-03-01T10:10:00Z", "deleted": true })],
    )
    .await;
    assert_eq!(del.body["results"][0]["applied"], true);
    let changes = api
        .get(
            &format!("/api/health-tracking/contractions?since={cursor}"),
            Some(&user),
        )
        .await;
    let items = changes.body["items"].as_array().expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], json!(a));
    assert_eq!(items[0]["deleted"], true);
    assert_eq!(items[0]["data"], Value::Null);
    assert!(changes.body["cursor"].as_i64().expect("cursor") > cursor);

    // An older edit cannot resurrect the deleted item.
    let stale = upload(
        &api,
        &user,
        "contractions",
        "k3",
        vec![json!({ "id": a, "updated_at": "2026-03-01T10:01:00Z", "data": { "started_at": "2026-03-01T10:00:00Z", "duration_seconds": 40 } })],
    )
    .await;
    assert_eq!(stale.body["results"][0]["applied"], false);
    assert_eq!(stale.body["results"][0]["item"]["deleted"], true);

    // `since` as a time: items updated after it.
    let by_time = api
        .get(
            "/api/health-tracking/contractions?since=2026-03-01T10:06:00Z",
            Some(&user),
        )
        .await;
    assert_eq!(by_time.body["items"].as_array().expect("items").len(), 1);

    // Paging with `limit`.
    let first = api
        .get("/api/health-tracking/contractions?limit=1", Some(&user))
        .await;
    assert_eq!(first.body["has_more"], true);
    let next_cursor = first.body["cursor"].as_i64().expect("cursor");
    let second = api
        .get(
            &format!("/api/health-tracking/contractions?limit=1&since={next_cursor}"),
            Some(&user),
        )
        .await;
    assert_eq!(second.body["has_more"], false);
    assert_ne!(first.body["items"][0]["id"], second.body["items"][0]["id"]);

    // Another user sees none of it, and may use the same client id independently.
    let other = api.new_user(Role::Patient).await;
    let theirs = api
        .get("/api/health-tracking/contractions", Some(&other))
        .await;
    assert_eq!(theirs.body["items"], json!([]));
}

#[tokio::test]
async fn uploads_are_validated_limited_and_need_a_key() {
    let api = Api::new().await;
    let user = api.demo_patient().await;
    let id = Uuid::new_v4();

    let res = api
        .post(
            "/api/health-tracking/kick-sessions",
            Some(&user),
            None,
            json!({ "items": [kick(id, "2026-03-01T10:00:00Z", 1)] }),
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert_eq!(res.code(), "idempotency_key_required");

    let negative = upload(
        &api,
        &user,
        "kick-sessions",
        "k1",
        vec![kick(id, "2026-03-01T10:00:00Z", -1)],
    )
    .await;
    assert_eq!(negative.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(negative.body["error"]["details"]["index"], 0);

    let cases = [
        (
            "kick-sessions",
            json!({ "id": id, "updated_at": "yesterday", "data": { "started_at": "2026-03-01T09:00:00Z", "kicks": 1 } }),
        ),
        (
            "kick-sessions",
            json!({ "id": id, "updated_at": "2099-01-01T00:00:00Z", "data": { "started_at": "2026-03-01T09:00:00Z", "kicks": 1 } }),
        ),
        (
            "kick-sessions",
            json!({ "id": id, "updated_at": "2026-03-01T10:00:00Z", "data": { "started_at": "2026-03-01T09:00:00Z", "kicks": 1, "extra": true } }),
        ),
        (
            "cycles",
            json!({ "id": id, "updated_at": "2026-03-01T10:00:00Z", "data": { "start_date": "2026-03-05", "end_date": "2026-03-01" } }),
        ),
        (
            "cycles",
            json!({ "id": id, "updated_at": "2026-03-01T10:00:00Z", "data": { "start_date": "2026-03-05", "flow": "torrential" } }),
        ),
        (
            "contractions",
            json!({ "id": id, "updated_at": "2026-03-01T10:00:00Z", "data": { "started_at": "2026-03-01T10:00:00Z", "duration_seconds": 0 } }),
        ),
    ];
    for (index, (kind, item)) in cases.into_iter().enumerate() {
        let res = upload(&api, &user, kind, &format!("v{index}"), vec![item]).await;
        assert_eq!(
            res.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "case {index}: {:?}",
            res.body
        );
    }
    let dup = upload(
        &api,
        &user,
        "kick-sessions",
        "dup",
        vec![
            kick(id, "2026-03-01T10:00:00Z", 1),
            kick(id, "2026-03-01T10:01:00Z", 2),
        ],
    )
    .await;
    assert_eq!(dup.status, StatusCode::UNPROCESSABLE_ENTITY);

    let cycle = upload(
        &api,
        &user,
        "cycles",
        "ok",
        vec![json!({ "id": id, "updated_at": "2026-03-01T10:00:00Z", "data": { "start_date": "2026-03-01", "end_date": "2026-03-05", "flow": "medium", "symptoms": ["cramps"] } })],
    )
    .await;
    assert_eq!(cycle.status, StatusCode::OK, "{:?}", cycle.body);

    let too_many: Vec<Value> = (0..501)
        .map(|_| kick(Uuid::new_v4(), "2026-03-01T10:00:00Z", 1))
        .collect();
    let big = upload(&api, &user, "kick-sessions", "big", too_many).await;
    assert_eq!(big.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(big.code(), "batch_too_large");
    let stored: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM tracking_items WHERE kind = 'kick-sessions'")
            .fetch_one(&api.state.db)
            .await
            .expect("count");
    assert_eq!(stored, 0, "nothing of a refused batch is stored");

    let unknown = api.get("/api/health-tracking/moods", Some(&user)).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let bad_since = api
        .get("/api/health-tracking/cycles?since=last-week", Some(&user))
        .await;
    assert_eq!(bad_since.status, StatusCode::BAD_REQUEST);
    let anonymous = api.get("/api/health-tracking/cycles", None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_replayed_upload_returns_the_first_answer() {
    let api = Api::new().await;
    let user = api.demo_patient().await;
    let id = Uuid::new_v4();
    let items = vec![kick(id, "2026-03-01T10:00:00Z", 3)];
    let first = upload(&api, &user, "kick-sessions", "same", items.clone()).await;
    let again = upload(&api, &user, "kick-sessions", "same", items).await;
    assert_eq!(again.body, first.body);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    let reused = upload(
        &api,
        &user,
        "kick-sessions",
        "same",
        vec![kick(id, "2026-03-01T11:00:00Z", 4)],
    )
    .await;
    assert_eq!(reused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reused.code(), "idempotency_key_reused");
}
