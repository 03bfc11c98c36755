//! `idempotency::once` directly: what is stored, what is released, expiry and waiting.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use backend_mock::idempotency::{once, IdempotencyKey};
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

#[tokio::test]
async fn a_duplicate_of_a_slow_request_gets_409_in_progress() {
    let state = test_state().await;
    let user = Uuid::new_v4();
    let slow_state = state.clone();
    let slow = tokio::spawn(async move {
        once(&slow_state, user, &key("slow"), true, &"body", || async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok((StatusCode::OK, "late"))
        })
        .await
        .map(|r| r.status())
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
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
