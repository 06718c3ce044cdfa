//! What Usage & insights reads and keeps: the rows its figures count, the
//! audit trail page by page, the spike alerts' once-an-hour stamp, and the
//! retention's purge. Which activities count, the windows, the thresholds
//! and the retention periods stay in [`crate::insights`]; this port only
//! reads, stamps and deletes.

use async_trait::async_trait;
use sqlx::AnyConnection;

use crate::clock::UnixTime;
use crate::ports::AuditRow;
use crate::store::{Store, StoreError};

/// What the day-by-day activity counts: events in `[since, until)` not by
/// `skip_actor`, of which the successes of `completed`, and the events of
/// `progress` whose detail is `passed` (successes) or `failed` (failures).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActivityQuery<'a> {
    pub since: UnixTime,
    pub until: UnixTime,
    pub skip_actor: &'a str,
    pub completed: &'a [&'a str],
    pub progress: &'a str,
    pub passed: &'a str,
    pub failed: &'a str,
}

/// How many events of one UTC day, activity, method and result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayCount {
    /// Days since the epoch.
    pub day: i64,
    pub activity: String,
    pub method: Option<String>,
    pub success: bool,
    pub n: i64,
}

/// Which audit events to list: every condition given must hold. A user
/// matches the actor or the target, whatever the letter case.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct EventQuery<'a> {
    pub user: Option<&'a str>,
    pub activity: Option<&'a str>,
    pub success: Option<bool>,
}

/// Where a page of events starts: after this time and, at that time, this id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct After<'a> {
    pub at: UnixTime,
    pub id: &'a str,
}

#[async_trait]
pub trait InsightsStore: Send + Sync + std::fmt::Debug {
    /// The id of every user the store has a row for, in order.
    async fn user_ids(&self) -> Result<Vec<String>, StoreError>;

    /// Every registered method as (user id, kind).
    async fn method_kinds(&self) -> Result<Vec<(String, String)>, StoreError>;

    /// Events counted by UTC day (`at / 86400`), activity, method and result.
    async fn activity_by_day(&self, q: &ActivityQuery<'_>) -> Result<Vec<DayCount>, StoreError>;

    /// The subjects starting with `prefix` blocked after `now`, in order.
    async fn blocked_subjects(
        &self,
        prefix: &str,
        now: UnixTime,
    ) -> Result<Vec<String>, StoreError>;

    /// Every activity the audit trail holds, in order.
    async fn audit_activities(&self) -> Result<Vec<String>, StoreError>;

    /// The newest `limit` events `q` selects, newest first (ties by id).
    async fn newest_events(
        &self,
        q: &EventQuery<'_>,
        limit: i64,
    ) -> Result<Vec<AuditRow>, StoreError>;

    /// The first `limit` events `q` selects after `after` and before
    /// `until`, oldest first (ties by id).
    async fn events_after(
        &self,
        q: &EventQuery<'_>,
        after: After<'_>,
        until: UnixTime,
        limit: i64,
    ) -> Result<Vec<AuditRow>, StoreError>;

    /// How many successful events of `activity` fall in `(after, up_to]`.
    async fn successes_between(
        &self,
        activity: &str,
        after: UnixTime,
        up_to: UnixTime,
    ) -> Result<i64, StoreError>;

    /// How many events of `activity` carry each detail, by detail.
    async fn count_by_detail(
        &self,
        activity: &str,
    ) -> Result<Vec<(Option<String>, i64)>, StoreError>;

    /// When the alert of `kind` was last stamped, if ever.
    async fn alert_sent_at(&self, kind: &str) -> Result<Option<UnixTime>, StoreError>;

    /// Deletes at most `limit` events before `before` (of `activity` only,
    /// when given). Returns how many.
    async fn purge_audit(
        &self,
        before: UnixTime,
        activity: Option<&str>,
        limit: i64,
    ) -> Result<u64, StoreError>;
}

/// The stamp, in the transaction that queues the alert's mail.
#[async_trait]
pub trait AlertTx: Send {
    /// Stamps the alert of `kind` at `now` unless it was stamped after
    /// `since`: whether this call stamped it. Of concurrent callers, one.
    async fn stamp_alert(
        &mut self,
        kind: &str,
        now: UnixTime,
        since: UnixTime,
    ) -> Result<bool, StoreError>;
}

#[async_trait]
impl AlertTx for AnyConnection {
    async fn stamp_alert(
        &mut self,
        kind: &str,
        now: UnixTime,
        since: UnixTime,
    ) -> Result<bool, StoreError> {
        // Of two nodes here at once, one moves the row; the other's statement
        // waits for that commit and then finds nothing to move.
        let done = sqlx::query(
            "INSERT INTO alerts_sent (kind, sent_at) VALUES ($1, $2) \
             ON CONFLICT (kind) DO UPDATE SET sent_at = excluded.sent_at \
             WHERE alerts_sent.sent_at <= $3",
        )
        .bind(kind)
        .bind(now)
        .bind(since)
        .execute(&mut *self)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

#[async_trait]
impl AlertTx for sqlx::Transaction<'_, sqlx::Any> {
    async fn stamp_alert(
        &mut self,
        kind: &str,
        now: UnixTime,
        since: UnixTime,
    ) -> Result<bool, StoreError> {
        (**self).stamp_alert(kind, now, since).await
    }
}

/// `q` as SQL conditions on `audit_events`, with their values, numbered
/// from `$first`.
pub(crate) fn event_conditions(q: &EventQuery<'_>, first: usize) -> (String, Vec<String>) {
    let mut sql = String::new();
    let mut values = Vec::new();
    if let Some(user) = q.user {
        let n = first + values.len();
        // Names are matched as people type them: `Bob` finds bob.
        sql.push_str(&format!(
            " AND (LOWER(actor) = LOWER(${n}) OR LOWER(target) = LOWER(${n}))"
        ));
        values.push(user.to_string());
    }
    if let Some(activity) = q.activity {
        sql.push_str(&format!(" AND activity = ${}", first + values.len()));
        values.push(activity.to_string());
    }
    if let Some(success) = q.success {
        sql.push_str(&format!(" AND result = ${}", first + values.len()));
        values.push(if success { "success" } else { "failure" }.to_string());
    }
    (sql, values)
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

fn audit_row(r: Row) -> AuditRow {
    let (id, at, activity, actor, target, method, result, ip, flow, detail) = r;
    AuditRow {
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
    }
}

const EVENT_COLUMNS: &str = "id, at, activity, actor, target, method, result, ip, flow, detail";

#[async_trait]
impl InsightsStore for Store {
    async fn user_ids(&self) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT id FROM users ORDER BY id")
            .fetch_all(self.pool())
            .await?)
    }

    async fn method_kinds(&self) -> Result<Vec<(String, String)>, StoreError> {
        Ok(sqlx::query_as("SELECT user_id, kind FROM auth_methods")
            .fetch_all(self.pool())
            .await?)
    }

    async fn activity_by_day(&self, q: &ActivityQuery<'_>) -> Result<Vec<DayCount>, StoreError> {
        // $1 to $3, then one for each completed activity, then the three
        // of the proofs.
        let completed: Vec<String> = (0..q.completed.len())
            .map(|i| format!("${}", 4 + i))
            .collect();
        let next = 4 + q.completed.len();
        let completed = if completed.is_empty() {
            "FALSE".to_string()
        } else {
            format!(
                "(activity IN ({}) AND result = 'success')",
                completed.join(", ")
            )
        };
        let sql = format!(
            "SELECT at / 86400 AS d, activity, method, result, COUNT(*) AS n FROM audit_events \
             WHERE at >= $1 AND at < $2 AND actor <> $3 AND ( \
               {completed} \
               OR (activity = ${} AND ((result = 'success' AND detail = ${}) \
                                      OR (result = 'failure' AND detail = ${})))) \
             GROUP BY 1, 2, 3, 4",
            next,
            next + 1,
            next + 2
        );
        let mut query = sqlx::query_as::<_, (i64, String, Option<String>, String, i64)>(&sql)
            .bind(q.since)
            .bind(q.until)
            .bind(q.skip_actor);
        for a in q.completed {
            query = query.bind(*a);
        }
        let rows = query
            .bind(q.progress)
            .bind(q.passed)
            .bind(q.failed)
            .fetch_all(self.pool())
            .await?;
        Ok(rows
            .into_iter()
            .map(|(day, activity, method, result, n)| DayCount {
                day,
                activity,
                method,
                success: result == "success",
                n,
            })
            .collect())
    }

    async fn blocked_subjects(
        &self,
        prefix: &str,
        now: UnixTime,
    ) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT subject FROM sspr_blocks WHERE until > $1 AND subject LIKE $2 ORDER BY subject",
        )
        .bind(now)
        .bind(format!("{prefix}%"))
        .fetch_all(self.pool())
        .await?)
    }

    async fn audit_activities(&self) -> Result<Vec<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT DISTINCT activity FROM audit_events ORDER BY activity")
                .fetch_all(self.pool())
                .await?,
        )
    }

    async fn newest_events(
        &self,
        q: &EventQuery<'_>,
        limit: i64,
    ) -> Result<Vec<AuditRow>, StoreError> {
        let (cond, values) = event_conditions(q, 2);
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM audit_events \
             WHERE 1 = 1{cond} ORDER BY at DESC, id DESC LIMIT $1"
        );
        let mut query = sqlx::query_as::<_, Row>(&sql).bind(limit);
        for v in &values {
            query = query.bind(v);
        }
        let rows = query.fetch_all(self.pool()).await?;
        Ok(rows.into_iter().map(audit_row).collect())
    }

    async fn events_after(
        &self,
        q: &EventQuery<'_>,
        after: After<'_>,
        until: UnixTime,
        limit: i64,
    ) -> Result<Vec<AuditRow>, StoreError> {
        let (cond, values) = event_conditions(q, 5);
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM audit_events \
             WHERE (at > $1 OR (at = $1 AND id > $2)) AND at < $3{cond} ORDER BY at, id LIMIT $4"
        );
        let mut query = sqlx::query_as::<_, Row>(&sql)
            .bind(after.at)
            .bind(after.id)
            .bind(until)
            .bind(limit);
        for v in &values {
            query = query.bind(v);
        }
        let rows = query.fetch_all(self.pool()).await?;
        Ok(rows.into_iter().map(audit_row).collect())
    }

    async fn successes_between(
        &self,
        activity: &str,
        after: UnixTime,
        up_to: UnixTime,
    ) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit_events WHERE activity = $1 AND result = 'success' \
             AND at > $2 AND at <= $3",
        )
        .bind(activity)
        .bind(after)
        .bind(up_to)
        .fetch_one(self.pool())
        .await?)
    }

    async fn count_by_detail(
        &self,
        activity: &str,
    ) -> Result<Vec<(Option<String>, i64)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT detail, COUNT(*) FROM audit_events WHERE activity = $1 GROUP BY detail ORDER BY detail",
        )
        .bind(activity)
        .fetch_all(self.pool())
        .await?)
    }

    async fn alert_sent_at(&self, kind: &str) -> Result<Option<UnixTime>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT sent_at FROM alerts_sent WHERE kind = $1")
                .bind(kind)
                .fetch_optional(self.pool())
                .await?,
        )
    }

    async fn purge_audit(
        &self,
        before: UnixTime,
        activity: Option<&str>,
        limit: i64,
    ) -> Result<u64, StoreError> {
        let done = match activity {
            None => {
                sqlx::query(
                    "DELETE FROM audit_events WHERE id IN \
                     (SELECT id FROM audit_events WHERE at < $1 LIMIT $2)",
                )
                .bind(before)
                .bind(limit)
                .execute(self.pool())
                .await?
            }
            Some(activity) => {
                sqlx::query(
                    "DELETE FROM audit_events WHERE id IN \
                     (SELECT id FROM audit_events WHERE activity = $1 AND at < $2 LIMIT $3)",
                )
                .bind(activity)
                .bind(before)
                .bind(limit)
                .execute(self.pool())
                .await?
            }
        };
        Ok(done.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_become_numbered_conditions() {
        let q = EventQuery {
            user: Some("bob"),
            activity: None,
            success: Some(false),
        };
        let (sql, values) = event_conditions(&q, 2);
        assert_eq!(
            sql,
            " AND (LOWER(actor) = LOWER($2) OR LOWER(target) = LOWER($2)) AND result = $3"
        );
        assert_eq!(values, ["bob", "failure"]);
        assert_eq!(event_conditions(&EventQuery::default(), 5).0, "");
    }
}
