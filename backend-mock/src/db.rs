//! Database connection and migrations. SQLite by default; the SQL is kept portable.

use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

/// Opens (creating if needed) and migrates the database at `path`; `:memory:` for tests.
pub async fn connect(path: &str) -> Result<SqlitePool, sqlx::Error> {
    let memory = path == ":memory:";
    let url = if memory {
        "sqlite::memory:".to_string()
    } else {
        format!("sqlite://{path}")
    };
    let opts = SqliteConnectOptions::from_str(&url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(std::time::Duration::from_secs(5));
    let pool = SqlitePoolOptions::new()
        // An in-memory database lives in one connection.
        .max_connections(if memory { 1 } else { 8 })
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(opts)
        .await?;
    sqlx::migrate!("./migrations").run(&pool).await?;
    Ok(pool)
}

/// Parses a UUID read from a TEXT column; a malformed one (never written by this server)
/// reads as the nil UUID rather than failing a whole list.
pub fn uuid(text: &str) -> uuid::Uuid {
    uuid::Uuid::parse_str(text).unwrap_or_default()
}

/// Now in UTC, to the second: stored timestamps have one format, so they sort as text.
pub fn now() -> time::OffsetDateTime {
    let now = time::OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap_or(now)
}

/// RFC 3339 UTC text of a time, as stored and sent (`2026-01-31T09:30:00Z`).
pub fn ts(at: time::OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    let at = at.replace_nanosecond(0).unwrap_or(at);
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Parses RFC 3339 text.
pub fn parse_ts(text: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()
}

/// Whether an error is the database refusing a duplicate of a unique key.
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// Whether an error means the database was too busy to serve the request in time: SQLite's
/// write lock not obtained within the busy timeout (`SQLITE_BUSY` and its extended codes), or
/// no pooled connection free within the pool's timeout. Worth retrying shortly, unlike other
/// database errors.
pub fn is_busy(err: &sqlx::Error) -> bool {
    const SQLITE_BUSY: i32 = 5;
    match err {
        sqlx::Error::PoolTimedOut => true,
        sqlx::Error::Database(db) => db
            .code()
            .and_then(|code| code.parse::<i32>().ok())
            .is_some_and(|code| code & 0xff == SQLITE_BUSY),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use sqlx::{Connection, SqliteConnection};

    use super::*;

    #[tokio::test]
    async fn a_write_lock_not_obtained_in_time_is_busy_and_other_errors_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("busy.db");
        let pool = connect(path.to_str().unwrap()).await.unwrap();
        let mut holder = pool.acquire().await.unwrap();
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut *holder)
            .await
            .unwrap();

        let opts = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
            .unwrap()
            .busy_timeout(std::time::Duration::from_millis(50));
        let mut other = SqliteConnection::connect_with(&opts).await.unwrap();
        let err = sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut other)
            .await
            .unwrap_err();
        assert!(is_busy(&err), "{err:?}");
        let answer = crate::AppError::from(err);
        assert_eq!(answer.status, axum::http::StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!((answer.code, answer.retry_after), ("busy", Some(1)));

        let err = sqlx::query("SELECT * FROM no_such_table")
            .execute(&mut other)
            .await
            .unwrap_err();
        assert!(!is_busy(&err), "{err:?}");
        assert_eq!(crate::AppError::from(err).status.as_u16(), 500);
        assert!(is_busy(&sqlx::Error::PoolTimedOut));
    }
}
