//! `idempotency::begin`/`finish` and `run` directly: what is stored, what is rolled back,
//! expiry, a duplicate waiting for the first, and claims left without an outcome.

use std::time::Duration;

use axum::http::StatusCode;
use axum::response::Response;
use backend_mock::idempotency::{self, begin, Begun, IdempotencyKey};
use backend_mock::{test_state, AppError, AppState};
use uuid::Uuid;

fn key(k: &str) -> IdempotencyKey {
    IdempotencyKey(Some(k.to_string()))
}

async fn scratch_rows(state: &AppState) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM scratch")
        .fetch_one(&state.db)
        .await
        .unwrap()
}

async fn stored_keys(state: &AppState) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM idempotency_keys")
        .fetch_one(&state.db)
        .await
        .unwrap()
}

/// Runs a write through `idempotency::run` that adds a scratch row, waits `pause` and answers
/// `result`.
async fn write_with(
    state: &AppState,
    user: Uuid,
    key: &IdempotencyKey,
    required: bool,
    pause: Duration,
    result: Result<(StatusCode, &'static str), AppError>,
) -> Result<Response, AppError> {
    idempotency::run(state, user, key, required, &"body", async |conn| {
        sqlx::query("INSERT INTO scratch (n) VALUES (1)")
            .execute(conn)
            .await
            .unwrap();
        tokio::time::sleep(pause).await;
        result
    })
    .await
}

/// [`write_with`] under the required key `k`, at once.
async fn write_once(
    state: &AppState,
    user: Uuid,
    k: &str,
    result: Result<(StatusCode, &'static str), AppError>,
) -> Result<Response, AppError> {
    write_with(state, user, &key(k), true, Duration::ZERO, result).await
}

async fn add_scratch(state: AppState) -> AppState {
    sqlx::query("CREATE TABLE scratch (n INTEGER)")
        .execute(&state.db)
        .await
        .unwrap();
    state
}

async fn scratch_state() -> AppState {
    add_scratch(test_state().await).await
}

/// [`write_once`] answering 201: its status, and whether it was replayed.
async fn create(state: &AppState, user: Uuid, k: &str) -> (StatusCode, bool) {
    let res = write_once(state, user, k, Ok((StatusCode::CREATED, "made"))).await;
    let res = res.unwrap();
    (res.status(), replayed(&res))
}

fn replayed(res: &Response) -> bool {
    res.headers()
        .get("idempotent-replayed")
        .is_some_and(|v| v == "true")
}

#[tokio::test]
async fn server_errors_are_not_stored_so_a_retry_runs_again() {
    let state = scratch_state().await;
    let user = Uuid::new_v4();
    let first = write_once(
        &state,
        user,
        "k",
        Err(AppError::internal("database went away")),
    )
    .await;
    assert_eq!(first.unwrap_err().status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        create(&state, user, "k").await,
        (StatusCode::CREATED, false)
    );
    assert_eq!(create(&state, user, "k").await, (StatusCode::CREATED, true));
    assert_eq!(
        scratch_rows(&state).await,
        1,
        "the retry ran once, the replay not"
    );
}

#[tokio::test]
async fn client_errors_are_stored_and_replayed() {
    let state = scratch_state().await;
    let user = Uuid::new_v4();
    for _ in 0..3 {
        let res = write_once(
            &state,
            user,
            "k",
            Err(AppError::conflict("slot_taken", "taken")),
        )
        .await;
        match res {
            Err(err) => assert_eq!(err.code, "slot_taken"),
            Ok(replay) => {
                assert_eq!(replay.status(), StatusCode::CONFLICT);
                assert!(replayed(&replay));
            }
        }
    }
    assert_eq!(scratch_rows(&state).await, 1);
}

#[tokio::test]
async fn keys_are_per_user_and_expire() {
    let state = scratch_state().await;
    let run = |user: Uuid| {
        let state = state.clone();
        async move {
            write_once(&state, user, "shared", Ok((StatusCode::OK, "done")))
                .await
                .unwrap()
        }
    };
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    run(a).await;
    run(b).await;
    run(a).await;
    assert_eq!(scratch_rows(&state).await, 2, "one run per user");
    sqlx::query("UPDATE idempotency_keys SET expires_at = '2000-01-01T00:00:00Z'")
        .execute(&state.db)
        .await
        .unwrap();
    let res = run(a).await;
    assert!(!replayed(&res));
    assert_eq!(scratch_rows(&state).await, 3, "an expired key runs again");
    assert_eq!(idempotency::purge_expired(&state).await.unwrap(), 1);
}

/// On a database file with a pool of several connections, as the server runs: a duplicate
/// arriving while the first request runs waits for the write lock the first holds, then
/// replays the first's outcome instead of running again.
#[tokio::test]
async fn a_duplicate_waits_for_the_running_request_then_replays_its_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lifeline.db");
    let db = backend_mock::db::connect(path.to_str().unwrap())
        .await
        .unwrap();
    let config = backend_mock::Config::for_tests();
    let state = add_scratch(AppState::new(db, config).await.unwrap()).await;
    let user = Uuid::new_v4();
    let first = {
        let state = state.clone();
        tokio::spawn(async move {
            let pause = Duration::from_millis(500);
            let ok = Ok((StatusCode::CREATED, "first"));
            write_with(&state, user, &key("k"), true, pause, ok).await
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let dup = write_once(&state, user, "k", Ok((StatusCode::CREATED, "second")))
        .await
        .unwrap();
    let first = first.await.unwrap().unwrap();
    assert!(!replayed(&first));
    assert_eq!(dup.status(), StatusCode::CREATED);
    assert!(replayed(&dup));
    let body = axum::body::to_bytes(dup.into_body(), 1024).await.unwrap();
    assert_eq!(&body[..], b"\"first\"");
    assert_eq!(scratch_rows(&state).await, 1);
}

#[tokio::test]
async fn without_a_key_optional_runs_every_time_and_required_refuses() {
    let state = scratch_state().await;
    let none = IdempotencyKey(None);
    for _ in 0..2 {
        let ok = Ok((StatusCode::OK, "done"));
        let res = write_with(&state, Uuid::new_v4(), &none, false, Duration::ZERO, ok).await;
        assert!(!replayed(&res.unwrap()));
    }
    assert_eq!(
        (scratch_rows(&state).await, stored_keys(&state).await),
        (2, 0)
    );
    let ok = Ok((StatusCode::OK, "done"));
    let err = write_with(&state, Uuid::new_v4(), &none, true, Duration::ZERO, ok)
        .await
        .unwrap_err();
    assert_eq!(err.code, "idempotency_key_required");
    assert_eq!(scratch_rows(&state).await, 2);
}

#[tokio::test]
async fn a_write_dropped_before_finish_leaves_neither_its_rows_nor_its_key() {
    let state = scratch_state().await;
    let user = Uuid::new_v4();
    let Begun::Run(mut pending) = begin(&state, user, &key("k"), true, &"body").await.unwrap()
    else {
        panic!("a fresh key runs");
    };
    sqlx::query("INSERT INTO scratch (n) VALUES (1)")
        .execute(pending.conn())
        .await
        .unwrap();
    drop(pending);
    assert_eq!(
        (scratch_rows(&state).await, stored_keys(&state).await),
        (0, 0)
    );

    // The retry runs afresh, then replays.
    assert_eq!(
        create(&state, user, "k").await,
        (StatusCode::CREATED, false)
    );
    assert_eq!(create(&state, user, "k").await, (StatusCode::CREATED, true));
    assert_eq!(
        (scratch_rows(&state).await, stored_keys(&state).await),
        (1, 1)
    );
}

#[tokio::test]
async fn transactional_server_errors_roll_back_and_client_errors_commit_with_the_outcome() {
    let state = scratch_state().await;
    let user = Uuid::new_v4();
    let failed = write_once(&state, user, "k", Err(AppError::internal("disk"))).await;
    assert_eq!(
        failed.unwrap_err().status,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(
        (scratch_rows(&state).await, stored_keys(&state).await),
        (0, 0)
    );

    let refused = write_once(
        &state,
        user,
        "k",
        Err(AppError::conflict("slot_taken", "x")),
    )
    .await;
    assert_eq!(refused.unwrap_err().code, "slot_taken");
    let replay = write_once(&state, user, "k", Ok((StatusCode::CREATED, "late")))
        .await
        .unwrap();
    assert_eq!(replay.status(), StatusCode::CONFLICT);
    assert!(replayed(&replay));
    assert_eq!(
        (scratch_rows(&state).await, stored_keys(&state).await),
        (1, 1)
    );

    let reused = begin(&state, user, &key("k"), true, &"other body").await;
    assert_eq!(reused.err().unwrap().code, "idempotency_key_reused");
    let missing = begin(&state, user, &IdempotencyKey(None), true, &"body").await;
    assert_eq!(missing.err().unwrap().code, "idempotency_key_required");
}

/// A row without an outcome, as an older server left when its request died between claiming
/// the key and storing the outcome (even one claimed a moment ago, with another fingerprint), is
/// taken over: the write runs, and its outcome replaces the claim.
#[tokio::test]
async fn a_claim_left_without_an_outcome_is_taken_over() {
    let state = scratch_state().await;
    let user = Uuid::new_v4();
    let now = backend_mock::db::now();
    let ts = backend_mock::db::ts;
    sqlx::query(
        "INSERT INTO idempotency_keys (user_id, idem_key, fingerprint, created_at, expires_at) \
         VALUES (?, 'k', 'an older request', ?, ?)",
    )
    .bind(user.to_string())
    .bind(ts(now))
    .bind(ts(now + idempotency::KEY_TTL))
    .execute(&state.db)
    .await
    .unwrap();

    assert_eq!(
        create(&state, user, "k").await,
        (StatusCode::CREATED, false)
    );
    assert_eq!(create(&state, user, "k").await, (StatusCode::CREATED, true));
    let stored: Option<i64> = sqlx::query_scalar("SELECT status FROM idempotency_keys")
        .fetch_one(&state.db)
        .await
        .unwrap();
    assert_eq!(stored, Some(201));
    assert_eq!(scratch_rows(&state).await, 1);
}
