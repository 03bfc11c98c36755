//! `backend-mock --addr 127.0.0.1:8080 --database PATH [--dev] [--static-dir DIR] [--seed N]`

use std::net::SocketAddr;
use std::path::PathBuf;

use backend_mock::{app, db, seed, AppState, Config};
use clap::Parser;
use tracing_subscriber::EnvFilter;

/// The Lifeline API server: SQLite storage, real auth, and in dev mode demo data and chaos control.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// SQLite database file (created with its parent directory when missing), or `:memory:`.
    #[arg(long, default_value = "data/lifeline.db")]
    database: String,
    /// Dev mode: demo accounts and data, chaos control at /__chaos, dev mailbox.
    #[arg(long)]
    dev: bool,
    /// Serve this built web app for paths outside the API, falling back to its index.html.
    #[arg(long)]
    static_dir: Option<PathBuf>,
    /// Seed for generated ids, demo data and chaos, so runs repeat.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Base URL clients reach the server at (default: http://ADDR).
    #[arg(long)]
    public_url: Option<String>,
}

/// A secret from the environment, or (dev mode) a fixed one, or a random one per process.
fn secret(var: &str, dev: bool) -> Vec<u8> {
    match std::env::var(var) {
        Ok(value) if value.len() >= 32 => value.into_bytes(),
        Ok(_) => {
            tracing::warn!(var, "secret shorter than 32 bytes ignored");
            secret_default(var, dev)
        }
        Err(_) => secret_default(var, dev),
    }
}

fn secret_default(var: &str, dev: bool) -> Vec<u8> {
    if dev {
        // Stable across restarts in dev mode, so tokens survive a restart of the demo server.
        format!("lifeline-dev-only-{var}-not-for-production").into_bytes()
    } else {
        let bytes: [u8; 32] = rand::random();
        bytes.to_vec()
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn")),
        )
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
    let args = Args::parse();

    if args.database != ":memory:" {
        if let Some(parent) = PathBuf::from(&args.database).parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent)?;
            }
        }
    }
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", args.addr));
    let config = Config {
        dev: args.dev,
        jwt_secret: secret("LIFELINE_JWT_SECRET", args.dev),
        provider_secret: secret("LIFELINE_PROVIDER_SECRET", args.dev),
        seed: args.seed,
        public_url: public_url.clone(),
        static_dir: args.static_dir.clone(),
    };
    let pool = db::connect(&args.database).await?;
    let state = AppState::new(pool, config).await?;
    seed::seed(&state).await?;

    let listener = tokio::net::TcpListener::bind(args.addr).await?;
    let local = listener.local_addr()?;
    tracing::info!(url = %format!("http://{local}"), dev = args.dev, database = %args.database, "listening");
    if args.dev {
        tracing::info!(
            patient = %format!("{} / {}", seed::DEMO_PATIENT_EMAIL, seed::DEMO_PATIENT_PASSWORD),
            doctor = %format!("{} / {}", seed::DEMO_DOCTOR_EMAIL, seed::DEMO_DOCTOR_PASSWORD),
            "demo logins"
        );
    }
    let db = state.db.clone();
    // Heals "paid but no appointment": settles provider-side charges the API never confirmed.
    backend_mock::reconciler::spawn(state.clone());
    let purge_state = state.clone();
    tokio::spawn(async move {
        // Replays are kept 24 hours and refresh tokens 30 days; what has expired is dropped
        // hourly so the tables stay small.
        let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            every.tick().await;
            let keys = backend_mock::idempotency::purge_expired(&purge_state).await;
            log_purge("idempotency keys", keys);
            let tokens =
                backend_mock::routes::auth::purge_expired_refresh_tokens(&purge_state).await;
            log_purge("refresh tokens", tokens);
        }
    });
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    db.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Logs what an hourly purge of expired rows did.
fn log_purge(what: &str, result: backend_mock::AppResult<u64>) {
    match result {
        Ok(0) => {}
        Ok(n) => tracing::info!(purged = n, what, "expired rows removed"),
        Err(err) => tracing::warn!(error = %err, what, "purge of expired rows failed"),
    }
}

/// Resolves on SIGINT or SIGTERM; the server then finishes in-flight requests and exits.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down, finishing in-flight requests");
}
