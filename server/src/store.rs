//! The store: one sqlx pool over SQLite or PostgreSQL, with the same
//! migrations on both (portable SQL through sqlx's `Any` driver).

use std::str::FromStr;
use std::sync::Once;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

use crate::error::{ApiError, Cause};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
static DRIVERS: Once = Once::new();

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    /// One connection of its own for `/api/health`, so a flood that keeps
    /// every pooled connection busy does not make the portal look dead.
    health: AnyPool,
    backend: Backend,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the store: {0}")]
    Connect(sqlx::Error),
    #[error("cannot migrate the store: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("store query failed: {0}")]
    Query(#[from] sqlx::Error),
}

/// A store failure as the cause of a request's failure, its chain kept.
impl From<StoreError> for Cause {
    fn from(e: StoreError) -> Self {
        Cause::Store(Box::new(e))
    }
}

/// A store failure is a 500 through `?`.
impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::Internal(Cause::from(e))
    }
}

impl StoreError {
    /// A unique constraint said no (e.g. a name already taken).
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, StoreError::Query(sqlx::Error::Database(e)) if e.is_unique_violation())
    }
}

impl Store {
    /// Connects and brings the schema up to date.
    pub async fn open(url: &str, max_connections: u32) -> Result<Store, StoreError> {
        DRIVERS.call_once(sqlx::any::install_default_drivers);
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        };
        let options = AnyConnectOptions::from_str(url).map_err(StoreError::Connect)?;
        let health = AnyPoolOptions::new()
            .max_connections(1)
            .min_connections(0)
            .acquire_timeout(std::time::Duration::from_secs(5))
            .connect_lazy_with(options.clone());
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(std::time::Duration::from_secs(10))
            // A pooled connection is pinged before each use to find one a
            // server dropped. A SQLite connection is a file no server can
            // drop, and its ping is a round trip to the connection's thread:
            // measured, a sixth of what `/api/reset/state` cost.
            .test_before_acquire(backend == Backend::Postgres)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute("PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;")
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(StoreError::Connect)?;
        MIGRATOR.run(&pool).await?;
        Ok(Store {
            pool,
            health,
            backend,
        })
    }

    /// The pool every query uses. A statement with `RETURNING` must be read
    /// to its end (`fetch_all`): sqlx's SQLite driver leaves one read with
    /// `fetch_one` or `fetch_optional` unfinished, which holds its
    /// transaction and stops WAL checkpoints. Measured: a million per-IP
    /// hits left 14 GB of WAL that way, 5.8 MB per 20,000 read to the end.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A cheap round trip, for `/api/health`, on its own connection.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.health).await?;
        Ok(())
    }

    /// Whether a key's fingerprint is recorded: the store holds sealed data.
    pub async fn sealed(&self) -> Result<bool, StoreError> {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM store_meta WHERE name = 'key_fingerprint'")
                .fetch_one(&self.pool)
                .await?;
        Ok(n > 0)
    }

    /// Records `fingerprint` (of the master key) as the store's, or checks
    /// it is the one recorded: `false` when the store was sealed with
    /// another key.
    pub async fn same_key(&self, fingerprint: &str) -> Result<bool, StoreError> {
        sqlx::query(
            "INSERT INTO store_meta (name, value) VALUES ('key_fingerprint', $1) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(fingerprint)
        .execute(&self.pool)
        .await?;
        let recorded: String =
            sqlx::query_scalar("SELECT value FROM store_meta WHERE name = 'key_fingerprint'")
                .fetch_one(&self.pool)
                .await?;
        Ok(recorded == fingerprint)
    }
}

/// Stores for tests: a fresh SQLite file, and a fresh PostgreSQL database when
/// `SSPR_TEST_PG_URL` names a server. `SSPR_REQUIRE_PG=1` (set by `cargo xtask test`)
/// turns a missing server into a failure instead of a skip.
#[cfg(test)]
pub mod testing {
    use super::*;

    pub async fn sqlite() -> (Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        (Store::open(&url, 4).await.expect("open sqlite"), dir)
    }

    pub async fn postgres() -> Option<Store> {
        let Ok(admin_url) = std::env::var("SSPR_TEST_PG_URL") else {
            assert!(
                std::env::var("SSPR_REQUIRE_PG").is_err(),
                "SSPR_REQUIRE_PG is set but SSPR_TEST_PG_URL is not"
            );
            eprintln!("skipping the PostgreSQL half: SSPR_TEST_PG_URL is not set");
            return None;
        };
        DRIVERS.call_once(sqlx::any::install_default_drivers);
        let admin = sqlx::AnyPool::connect(&admin_url)
            .await
            .expect("connect to test postgres");
        let name = format!(
            "t_{}",
            crate::clock::Entropy::hex_id(&crate::clock::OsEntropy, 8)
        );
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&admin)
            .await
            .expect("create db");
        admin.close().await;
        let (base, _) = admin_url.rsplit_once('/').expect("url has a database");
        Some(
            Store::open(&format!("{base}/{name}"), 4)
                .await
                .expect("open postgres"),
        )
    }

    /// Every backend this machine can offer; PostgreSQL skipped only where allowed.
    pub async fn all() -> Vec<(Store, Option<tempfile::TempDir>)> {
        let (s, dir) = sqlite().await;
        let mut v = vec![(s, Some(dir))];
        if let Some(pg) = postgres().await {
            v.push((pg, None));
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn migrations_apply_on_every_backend_and_are_idempotent() {
        for (store, _dir) in testing::all().await {
            // Re-running the migrator on a migrated store is a no-op.
            MIGRATOR.run(store.pool()).await.unwrap();
            store.ping().await.unwrap();
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
                .fetch_one(store.pool())
                .await
                .unwrap();
            assert_eq!(n, 0, "{:?}", store.backend());
        }
    }

    #[tokio::test]
    async fn writes_that_return_rows_let_the_wal_checkpoint() {
        let (store, dir) = testing::sqlite().await;
        let limits = crate::limits::IpLimits::new(store.clone());
        for i in 0..3_000u32 {
            limits
                .hit(&format!("10.0.{}.{}", i / 256, i % 256), ("t", 5, 600), 0)
                .await
                .unwrap();
        }
        let wal = std::fs::metadata(dir.path().join("t.db-wal")).map_or(0, |m| m.len());
        // Checkpoints keep the WAL near its 1,000-page (4 MB) mark; an
        // unfinished RETURNING statement let it grow ~14 KB a write (42 MB here).
        assert!(wal < 16 << 20, "WAL at {} MB", wal >> 20);
    }

    #[tokio::test]
    async fn a_store_keeps_the_fingerprint_of_its_first_key() {
        for (store, _dir) in testing::all().await {
            let first = crate::keys::Keys::from_master(&[1; 32]).fingerprint();
            let other = crate::keys::Keys::from_master(&[2; 32]).fingerprint();
            assert_ne!(first, other);
            assert!(store.same_key(&first).await.unwrap());
            assert!(store.same_key(&first).await.unwrap());
            assert!(!store.same_key(&other).await.unwrap());
        }
    }

    #[tokio::test]
    async fn bad_urls_fail_cleanly() {
        let e = Store::open("sqlite:///nonexistent-dir/x.db", 1)
            .await
            .unwrap_err();
        assert!(matches!(e, StoreError::Connect(_)), "{e}");
    }
}
