//! backend-mock started in process for a benchmark: release build, file-backed SQLite in a fresh
//! temporary directory, dev mode (demo data seeded) with no chaos rules, on 127.0.0.1:0.
//!
//! The server gets its own tokio runtime so its worker threads are separate from the load
//! generator's; the two still share the machine's cores, which the reports say.

use std::net::SocketAddr;
use std::path::PathBuf;

use backend_mock::{AppState, Config};

use crate::BenchResult;

/// A running backend-mock; stopped and its database removed on drop.
pub struct BackendServer {
    addr: SocketAddr,
    state: AppState,
    dir: PathBuf,
    runtime: Option<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for BackendServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackendServer")
            .field("addr", &self.addr)
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl BackendServer {
    /// Starts the server with `worker_threads` runtime workers and backend-mock's own database
    /// pool.
    ///
    /// # Errors
    ///
    /// When the database, the demo data or the socket cannot be set up.
    pub fn start(worker_threads: usize) -> BenchResult<Self> {
        Self::start_with_pool(worker_threads, None)
    }

    /// Like [`BackendServer::start`]; with `Some(n)`, the server runs on a pool of `n` SQLite
    /// connections (same pragmas as backend-mock's) instead of its own, to measure how the pool
    /// size affects write contention.
    ///
    /// # Errors
    ///
    /// When the database, the demo data or the socket cannot be set up.
    pub fn start_with_pool(worker_threads: usize, db_pool: Option<u32>) -> BenchResult<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(worker_threads)
            .thread_name("server")
            .enable_all()
            .build()?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_nanos();
        let dir =
            std::env::temp_dir().join(format!("lifeline-bench-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let db_path = dir.join("bench.sqlite");
        let db_path = db_path.to_str().ok_or("temporary path is not utf-8")?;
        let (addr, state) = runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            let config = Config {
                dev: true,
                public_url: format!("http://{addr}"),
                ..Config::for_tests()
            };
            let mut db = backend_mock::db::connect(db_path).await?;
            if let Some(size) = db_pool {
                db.close().await;
                db = pool_of(db_path, size).await?;
            }
            let state = AppState::new(db, config).await?;
            backend_mock::seed::seed(&state).await?;
            let app = backend_mock::app(state.clone());
            tokio::spawn(async move {
                if let Err(err) = axum::serve(listener, app).await {
                    eprintln!("benchmark server stopped: {err}");
                }
            });
            BenchResult::Ok((addr, state))
        })?;
        Ok(Self {
            addr,
            state,
            dir,
            runtime: Some(runtime),
        })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server's state (database pool, chaos control), for set-up steps that bypass HTTP.
    pub fn state(&self) -> &AppState {
        &self.state
    }
}

/// A pool of `size` connections to the (already migrated) database at `path`, with the pragmas
/// backend-mock uses.
async fn pool_of(path: &str, size: u32) -> BenchResult<sqlx::SqlitePool> {
    use sqlx::sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
    };
    let options = SqliteConnectOptions::new()
        .filename(path)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(std::time::Duration::from_secs(5));
    Ok(SqlitePoolOptions::new()
        .max_connections(size)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(options)
        .await?)
}

impl Drop for BackendServer {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
