//! `idempotency::once` and `begin`/`finish` directly: what is stored, what is released or
//! rolled back, expiry and waiting.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use backend_mock::idempotency::{begin, once, Begun, IdempotencyKey};
use backend_mock::{test_state, AppError};
use uuid::Uuid;

fn key(k: &str) -> IdempotencyKey {
    IdempotencyKey(Some(k.to_string()))
}

#[tokio::test]
async fn server_errors_are_not_stored_so_a_retry_runs_again() {
    let state = test_state().await;
    let user = Uuid::new_v4();
    let runs = AtomicUsize::new(0);
    let attempt = |fail: bool| {
        let runs = &runs;
        let state = &state;
        async move {
            once(state, user, &key("k"), true, &"body", || async move {
                runs.fetch_add(1, Ordering::SeqCst);
                if fail {
                    Err(AppError::internal("database went away"))
                } else {
                    Ok((StatusCode::CREATED, serde_json::json!({"n": 1})))
                }
            })
            .await
        }
    };
    let first = attempt(true).await;
    assert_eq!(first.unwrap_err().status, StatusCode::INTERNAL_SERVER_ERROR);
    let second = attempt(false).await.unwrap();
    assert_eq!(second.status(), StatusCode::CREATED);
    let third = attempt(false).await.unwrap();
    assert_eq!(third.status(), StatusCode::CREATED);
    assert_eq!(third.headers()["idempotent-replayed"], "true");
    assert_eq!(runs.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn client_errors_are_stored_and_replayed() {
    let state = test_state().await;
    let user = Uuid::new_v4();
    let runs = AtomicUsize::new(0);
    for _ in 0..3 {
        let res = once(&state, user, &key("k"), true, &"body", || async {
            runs.fetch_add(1, Ordering::SeqCst);
            Err::<(StatusCode, ()), _>(AppError::conflict("slot_taken", "taken"))
        })
        .await;
        match res {
            Err(err) => assert_eq!(err.code, "slot_taken"),
            Ok(replay) => {
                assert_eq!(replay.status(), StatusCode::CONFLICT);
                assert_eq!(replay.headers()["idempotent-replayed"], "true");
            }
        }
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn keys_are_per_user_and_expire() {
    let state = test_state().await;
    let runs = Arc::new(AtomicUsize::new(0));
    let run = |user: Uuid| {
        let runs = runs.clone();
        let state = state.clone();
        async move {
            once(&state, user, &key("shared"), true, &"body", || async move {
                runs.fetch_add(1, Ordering::SeqCst);
                Ok((StatusCode::OK, "done"))
            })
            .await
            .unwrap()
        }
    };
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    run(a).await;
    run(b).await;
    run(a).await;
    assert_eq!(runs.load(Ordering::SeqCst), 2, "one run per user");
    sqlx::query("UPDATE idempotency_keys SET expires_at = '2000-01-01T00:00:00Z'")
        .execute(&state.db)
        .await
        .unwrap();
    let res = run(a).await;
    assert!(res.headers().get("idempotent-replayed").is_none());
    assert_eq!(runs.load(Ordering::SeqCst), 3, "an expired key runs again");
    assert_eq!(
        backend_mock::idempotency::purge_expired(&state)
            .await
            .unwrap(),
        1
    );
}

/// A request through `once` whose action takes 5 s, running (its key claimed) when this returns;
/// the handle answers its status.
async fn slow_request(
    state: &backend_mock::AppState,
    user: Uuid,
    k: &'static str,
) -> tokio::task::JoinHandle<Result<StatusCode, AppError>> {
    let state = state.clone();
    let slow = tokio::spawn(async move {
        once(&state, user, &key(k), true, &"body", || async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok((StatusCode::OK, "late"))
        })
        .await
        .map(|r| r.status())
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    slow
}

#[tokio::test]
async fn a_duplicate_of_a_slow_request_gets_409_in_progress() {
    let state = test_state().await;
    let user = Uuid::new_v4();
    let slow = slow_request(&state, user, "slow").await;
    let dup = once(&state, user, &key("slow"), true, &"body", || async {
        Ok((StatusCode::OK, "twice"))
    })
    .await
    .unwrap_err();
    assert_eq!(dup.status, StatusCode::CONFLICT);
    assert_eq!(dup.code, "idempotency_in_progress");
    assert_eq!(dup.retry_after, Some(1));
    assert_eq!(slow.await.unwrap().unwrap(), StatusCode::OK);
}

#[tokio::test]
async fn without_a_key_optional_runs_every_time_and_required_refuses() {
    let state = test_state().await;
    let runs = AtomicUsize::new(0);
    for _ in 0..2 {
        once(
            &state,
            Uuid::new_v4(),
            &IdempotencyKey(None),
            false,
            &"b",
            || async {
                runs.fetch_add(1, Ordering::SeqCst);
                Ok((StatusCode::OK, ()))
            },
        )
        .await
        .unwrap();
    }
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    let err = once(
        &state,
        Uuid::new_v4(),
        &IdempotencyKey(None),
        true,
        &"b",
        || async { Ok((StatusCode::OK, ())) },
    )
    .await
    .unwrap_err();
    assert_eq!(err.code, "idempotency_key_required");
}

async fn scratch_rows(state: &backend_mock::AppState) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM scratch")
        .fetch_one(&state.db)
        .await
        .unwrap()
}

async fn stored_keys(state: &backend_mock::AppState) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM idempotency_keys")
        .fetch_one(&state.db)
        .await
        .unwrap()
}

/// Runs a transactional write that adds a scratch row and answers `result`.
async fn write_once(
    state: &backend_mock::AppState,
    user: Uuid,
    k: &str,
    result: Result<(StatusCode, &'static str), AppError>,
) -> Result<axum::response::Response, AppError> {
    let mut pending = match begin(state, user, &key(k), true, &"body").await? {
        Begun::Replay(answer) => return Ok(answer),
        Begun::Run(pending) => pending,
    };
    sqlx::query("INSERT INTO scratch (n) VALUES (1)")
        .execute(pending.conn())
        .await
        .unwrap();
    pending.finish(result).await
}

async fn scratch_state() -> backend_mock::AppState {
    let state = test_state().await;
    sqlx::query("CREATE TABLE scratch (n INTEGER)")
        .execute(&state.db)
        .await
        .unwrap();
    state
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
    let first = write_once(&state, user, "k", Ok((StatusCode::CREATED, "made"))).await;
    assert_eq!(first.unwrap().status(), StatusCode::CREATED);
    let again = write_once(&state, user, "k", Ok((StatusCode::CREATED, "made"))).await;
    let again = again.unwrap();
    assert_eq!(again.headers()["idempotent-replayed"], "true");
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
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(
        (scratch_rows(&state).await, stored_keys(&state).await),
        (1, 1)
    );

    let reused = begin(&state, user, &key("k"), true, &"other body").await;
    assert_eq!(reused.err().unwrap().code, "idempotency_key_reused");
    let missing = begin(&state, user, &IdempotencyKey(None), true, &"body").await;
    assert_eq!(missing.err().unwrap().code, "idempotency_key_required");
}

#[tokio::test]
async fn a_transactional_write_waits_out_a_running_claim_then_answers_in_progress() {
    let state = test_state().await;
    let user = Uuid::new_v4();
    let slow = slow_request(&state, user, "k").await;
    let dup = begin(&state, user, &key("k"), true, &"body").await;
    let dup = dup.err().unwrap();
    assert_eq!(
        (dup.code, dup.retry_after),
        ("idempotency_in_progress", Some(1))
    );
    assert_eq!(slow.await.unwrap().unwrap(), StatusCode::OK);
    let Begun::Replay(replay) = begin(&state, user, &key("k"), true, &"body").await.unwrap() else {
        panic!("the finished claim replays");
    };
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
}
