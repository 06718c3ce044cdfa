//! The audit trail: events appended, read back in time order.

use async_trait::async_trait;

use crate::clock::UnixTime;
use crate::store::{Store, StoreError};

/// One event to append. Its id and time come from the caller (entropy and
/// clock are parameters); `flow` is already cut to its short prefix.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct NewAuditEvent<'a> {
    pub id: &'a str,
    pub at: UnixTime,
    pub activity: &'a str,
    pub actor: &'a str,
    pub target: Option<&'a str>,
    pub method: Option<&'a str>,
    pub success: bool,
    pub ip: &'a str,
    pub flow: Option<&'a str>,
    pub detail: Option<&'a str>,
}

/// One stored event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    pub id: String,
    pub at: UnixTime,
    pub activity: String,
    pub actor: String,
    pub target: Option<String>,
    pub method: Option<String>,
    pub success: bool,
    pub ip: String,
    pub flow: Option<String>,
    pub detail: Option<String>,
}

/// Which events to read: every condition given must hold.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct AuditFilter<'a> {
    pub activity: Option<&'a str>,
    pub target: Option<&'a str>,
    /// Events at or after this time.
    pub since: Option<UnixTime>,
    /// At most this many, the oldest first.
    pub limit: i64,
}

#[async_trait]
pub trait AuditStore: Send + Sync + std::fmt::Debug {
    /// Appends one event. An id already stored is refused.
    async fn append_audit(&self, e: &NewAuditEvent<'_>) -> Result<(), StoreError>;

    /// The events `filter` selects, by time (ties by id).
    async fn audit_events(&self, filter: &AuditFilter<'_>) -> Result<Vec<AuditRow>, StoreError>;

    /// The distinct actors of the events of `activity` on `target` at or
    /// after `since` (in no particular order).
    async fn audit_actors(
        &self,
        activity: &str,
        target: &str,
        since: UnixTime,
    ) -> Result<Vec<String>, StoreError>;
}

type Row = (
    String,
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    String,
    Option<String>,
    Option<String>,
);

#[async_trait]
impl AuditStore for Store {
    async fn append_audit(&self, e: &NewAuditEvent<'_>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO audit_events (id, at, activity, actor, target, method, result, ip, flow, detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(e.id)
        .bind(e.at)
        .bind(e.activity)
        .bind(e.actor)
        .bind(e.target)
        .bind(e.method)
        .bind(if e.success { "success" } else { "failure" })
        .bind(e.ip)
        .bind(e.flow)
        .bind(e.detail)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn audit_events(&self, f: &AuditFilter<'_>) -> Result<Vec<AuditRow>, StoreError> {
        // A condition not given is an empty text or the oldest time: true for every row.
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, at, activity, actor, target, method, result, ip, flow, detail \
             FROM audit_events \
             WHERE ($1 = '' OR activity = $1) AND ($2 = '' OR target = $2) AND at >= $3 \
             ORDER BY at, id LIMIT $4",
        )
        .bind(f.activity.unwrap_or(""))
        .bind(f.target.unwrap_or(""))
        .bind(f.since.unwrap_or(i64::MIN))
        .bind(f.limit)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(id, at, activity, actor, target, method, result, ip, flow, detail)| AuditRow {
                    id,
                    at,
                    activity,
                    actor,
                    target,
                    method,
                    success: result == "success",
                    ip,
                    flow,
                    detail,
                },
            )
            .collect())
    }

    async fn audit_actors(
        &self,
        activity: &str,
        target: &str,
        since: UnixTime,
    ) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT actor FROM audit_events WHERE activity = $1 AND target = $2 AND at >= $3",
        )
        .bind(activity)
        .bind(target)
        .bind(since)
        .fetch_all(self.pool())
        .await?)
    }
}
