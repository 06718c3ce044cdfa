//! Usage & insights for administrators (issue 18): who is in scope,
//! registered and capable, which methods people register and prove, reset
//! and block activity by UTC day, who is blocked now, and the audit trail.
//!
//! One set of functions serves `GET /api/insights` ([`http`]) and
//! `sspr report usage` (main.rs), so the page and the command always agree.
//! Figures come from the store and the directory only:
//!
//! - **In scope**: users `policy.sspr_enabled` lets reset (all, none, or
//!   members of `policy.sspr_group`, nested groups resolved), enabled
//!   accounts only. The built-in directory lists every user
//!   ([`Scope::AllUsers`]); LDAP and Active Directory count the users the
//!   portal has seen, its rows in `users` ([`Scope::SeenUsers`]). A decoy
//!   flow has no row and no directory entry, so it is never a user here.
//! - **Registered**: at least one method. **Capable**: enough different
//!   usable kinds for what a reset needs of them
//!   ([`security_info::required`](crate::security_info::required)).
//! - **Activity**: audit events by UTC day: completed resets, unlocks,
//!   blocks, registrations, and proofs at reset gates (passed and wrong) by
//!   method. Decoy flows' proofs are left out.
//! - **Blocked now**: accounts with a live self-service block.

pub mod alerts;
pub mod csv;
pub mod http;
pub mod retention;

use std::collections::HashMap;

use sspr_proto::insights::{
    AuditEvent, Coverage, DayActivity, EventFilter, EventPage, EventResult, Insights, MethodCount,
    ProofCount, Scope, UserRef,
};
use sspr_proto::reset::MethodKind;
use sspr_proto::security_info::SignedInWith;

use crate::AppState;
use crate::audit;
use crate::clock::UnixTime;
use crate::directory::DirUser;
use crate::error::ApiError;
use crate::methods;
use crate::ports::{ActivityQuery, After, AuditRow, EventQuery, InsightsStore};
use crate::reset;
use crate::security_info;
use crate::session::{self, Session};

pub use sspr_proto::insights::{DEFAULT_DAYS, EVENTS_PAGE};

/// An administrator looked at the figures or the audit trail.
pub const VIEWED: &str = "Admin viewed usage and insights";
/// An administrator exported audit events (or another table of the page).
pub const EXPORTED: &str = "Admin exported audit events";
/// The most days the figures cover.
pub const MAX_DAYS: u16 = 90;
/// Different method kinds an administrator's session must have proved.
pub const KINDS_NEEDED: usize = 2;

const DAY: i64 = 86_400;

/// Who may see Usage & insights: an administrator whose session proved two
/// different method kinds with a step-up within the step-up window
/// ([`session::RECENT_AUTH`]). A Temporary Access Pass session never may,
/// whatever it proved.
pub async fn authorize(state: &AppState, s: &Session) -> Result<(), ApiError> {
    if !s.user.is_admin {
        return Err(ApiError::InsightsForbidden);
    }
    if s.via == SignedInWith::TemporaryAccessPass {
        return Err(ApiError::PassRestricted);
    }
    if session::proven_kinds(state, &s.hash).await?.len() < KINDS_NEEDED {
        return Err(ApiError::TwoMethodsRequired);
    }
    Ok(())
}

/// The UTC day (days since the epoch) of `t`.
pub fn day_of(t: UnixTime) -> i64 {
    t.div_euclid(DAY)
}

/// `YYYY-MM-DD` of a UTC day.
pub fn date_of_day(day: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(day * DAY).map_or_else(
        |_| day.to_string(),
        |d| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day()),
    )
}

/// RFC 3339 (UTC) of a time.
pub fn rfc3339(t: UnixTime) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| t.to_string())
}

/// Where `days` days of figures start: midnight (UTC) of the first of
/// them, today being the last.
pub fn window_start(now: UnixTime, days: u16) -> UnixTime {
    (day_of(now) - i64::from(days) + 1) * DAY
}

/// `--since` of `sspr report usage`: `30d` or `30`, 1 to [`MAX_DAYS`] days.
pub fn parse_days(text: &str) -> Result<u16, String> {
    let t = text.trim();
    t.strip_suffix('d')
        .unwrap_or(t)
        .parse::<u16>()
        .ok()
        .filter(|n| (1..=MAX_DAYS).contains(n))
        .ok_or_else(|| format!("must be 1d to {MAX_DAYS}d"))
}

/// Which end of a range a time is for: a bare date means its first second
/// as a start and its whole day as an end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    Since,
    Until,
}

/// `YYYY-MM-DD`.
fn parse_date(t: &str) -> Option<time::Date> {
    let mut parts = t.splitn(3, '-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let month = time::Month::try_from(m.parse::<u8>().ok()?).ok()?;
    time::Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?).ok()
}

/// A time for `sspr audit export --since/--until`: `30d` (30 days before
/// `now`; `12h` works too), a UTC date `2026-11-01`, or an RFC 3339 time.
/// As a [`Bound::Until`] a date takes in its whole day. The range is
/// `[since, until)`.
pub fn parse_time(text: &str, bound: Bound, now: UnixTime) -> Result<UnixTime, String> {
    let t = text.trim();
    let ago = |unit: i64, n: &str| {
        n.parse::<i64>()
            .ok()
            .filter(|n| (0..=36_500 * DAY / unit).contains(n))
            .map(|n| now - n * unit)
    };
    if let Some(n) = t.strip_suffix('d').and_then(|n| ago(DAY, n)) {
        return Ok(n);
    }
    if let Some(n) = t.strip_suffix('h').and_then(|n| ago(3600, n)) {
        return Ok(n);
    }
    if let Some(d) = parse_date(t) {
        let start = d.midnight().assume_utc().unix_timestamp();
        return Ok(match bound {
            Bound::Since => start,
            Bound::Until => start + DAY,
        });
    }
    time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
        .map(|d| d.unix_timestamp())
        .map_err(|_| {
            format!("{t:?} is not 30d, 12h, a date such as 2026-11-01, or an RFC 3339 time")
        })
}

/// The figures for the last `days` days (1 to [`MAX_DAYS`], today included).
pub async fn compute(state: &AppState, days: u16) -> Result<Insights, ApiError> {
    let days = days.clamp(1, MAX_DAYS);
    let now = state.clock.now();
    let (coverage, methods) = coverage(state).await?;
    Ok(Insights {
        generated_at: now,
        days,
        coverage,
        methods,
        activity: activity(state, days, now).await?,
        blocked_now: blocked_now(state, now).await?,
    })
}

/// The users self-service reset is enabled for, and what "users" means for
/// this directory.
pub async fn users_in_scope(state: &AppState) -> Result<(Scope, Vec<DirUser>), ApiError> {
    let (scope, users) = match state.directory.list_users().await? {
        Some(all) => (Scope::AllUsers, all),
        None => (Scope::SeenUsers, seen_users(state).await?),
    };
    let mut in_scope = Vec::with_capacity(users.len());
    for u in users {
        if reset::enabled_for(state, &u).await? {
            in_scope.push(u);
        }
    }
    Ok((scope, in_scope))
}

/// The directory's users behind the store's rows: everyone who signed in,
/// was identified at reset or registered. Gone from the directory, gone here.
async fn seen_users(state: &AppState) -> Result<Vec<DirUser>, ApiError> {
    let ids = state.store.user_ids().await?;
    let mut users: Vec<DirUser> = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(u) = state.directory.user_by_id(&id).await?
            && !users.iter().any(|x| x.id == u.id)
        {
            users.push(u);
        }
    }
    Ok(users)
}

fn user_ref(u: &DirUser) -> UserRef {
    UserRef {
        username: u.username.clone(),
        display_name: u.display_name.clone(),
    }
}

/// The kinds the policy offers, in the wizard's order.
fn offered_kinds(state: &AppState) -> Vec<MethodKind> {
    reset::KIND_ORDER
        .into_iter()
        .filter(|k| methods::kind_available(state, *k))
        .collect()
}

/// Coverage, and users per method kind the policy offers.
pub async fn coverage(state: &AppState) -> Result<(Coverage, Vec<MethodCount>), ApiError> {
    let (scope, users) = users_in_scope(state).await?;
    let rows = state.store.method_kinds().await?;
    let mut kinds_of: HashMap<String, Vec<MethodKind>> = HashMap::new();
    for (user, kind) in rows {
        if let Some(k) = methods::parse_kind(&kind) {
            kinds_of.entry(user).or_default().push(k);
        }
    }
    let offered = offered_kinds(state);
    let mut per_kind = vec![0u32; offered.len()];
    let (mut registered, mut capable) = (0u32, 0u32);
    let mut not_registered = Vec::new();
    for u in &users {
        let kinds = kinds_of.get(&u.id).map_or(&[][..], Vec::as_slice);
        if kinds.is_empty() {
            not_registered.push(user_ref(u));
        } else {
            registered += 1;
        }
        let needed = usize::from(security_info::required(state, u));
        if security_info::usable_kinds_of(state, u, kinds.iter().copied()) >= needed {
            capable += 1;
        }
        for (n, k) in per_kind.iter_mut().zip(&offered) {
            if kinds.contains(k) {
                *n += 1;
            }
        }
    }
    not_registered.sort();
    let coverage = Coverage {
        scope,
        in_scope: u32::try_from(users.len()).unwrap_or(u32::MAX),
        registered,
        capable,
        not_registered,
    };
    let methods = offered
        .into_iter()
        .zip(per_kind)
        .map(|(kind, users)| MethodCount { kind, users })
        .collect();
    Ok((coverage, methods))
}

/// Activity by UTC day, oldest first, `days` of them ending today.
pub async fn activity(
    state: &AppState,
    days: u16,
    now: UnixTime,
) -> Result<Vec<DayActivity>, ApiError> {
    let today = day_of(now);
    let first = today - i64::from(days) + 1;
    let counted = state
        .store
        .activity_by_day(&ActivityQuery {
            since: first * DAY,
            until: (today + 1) * DAY,
            skip_actor: reset::NO_ACCOUNT,
            completed: &[
                audit::RESET_COMPLETED,
                audit::UNLOCK,
                audit::USER_BLOCKED,
                security_info::REGISTERED,
            ],
            progress: audit::FLOW_PROGRESS,
            passed: reset::PROOF_PASSED,
            failed: reset::PROOF_FAILED,
        })
        .await?;
    // Every kind the policy offers, and any other a proof was made with
    // (the policy may have changed within the window).
    let mut kinds = offered_kinds(state);
    for c in &counted {
        if let Some(k) = c.method.as_deref().and_then(methods::parse_kind)
            && c.activity == audit::FLOW_PROGRESS
            && !kinds.contains(&k)
        {
            kinds.push(k);
        }
    }
    kinds.sort_by_key(|k| reset::KIND_ORDER.iter().position(|o| o == k));
    let mut out: Vec<DayActivity> = (first..=today)
        .map(|day| DayActivity {
            date: date_of_day(day),
            resets: 0,
            unlocks: 0,
            blocks: 0,
            registrations: 0,
            proofs: kinds
                .iter()
                .map(|&kind| ProofCount {
                    kind,
                    passed: 0,
                    failed: 0,
                })
                .collect(),
        })
        .collect();
    for c in counted {
        let Some(d) = usize::try_from(c.day - first)
            .ok()
            .and_then(|i| out.get_mut(i))
        else {
            continue;
        };
        let n = u32::try_from(c.n).unwrap_or(u32::MAX);
        let add = |x: &mut u32| *x = x.saturating_add(n);
        match c.activity.as_str() {
            a if a == audit::RESET_COMPLETED => add(&mut d.resets),
            a if a == audit::UNLOCK => add(&mut d.unlocks),
            a if a == audit::USER_BLOCKED => add(&mut d.blocks),
            a if a == security_info::REGISTERED => add(&mut d.registrations),
            _ => {
                let kind = c.method.as_deref().and_then(methods::parse_kind);
                if let Some(p) = d.proofs.iter_mut().find(|p| Some(p.kind) == kind) {
                    add(if c.success {
                        &mut p.passed
                    } else {
                        &mut p.failed
                    });
                }
            }
        }
    }
    Ok(out)
}

/// Accounts blocked from self-service reset now, by user name. Only
/// accounts: a block of an identifier as typed names nobody.
pub async fn blocked_now(state: &AppState, now: UnixTime) -> Result<Vec<UserRef>, ApiError> {
    let subjects = state.store.blocked_subjects("u:", now).await?;
    let mut users = Vec::with_capacity(subjects.len());
    for s in subjects {
        let Some(id) = s.strip_prefix("u:") else {
            continue;
        };
        if let Some(u) = state.directory.user_by_id(id).await? {
            users.push(user_ref(&u));
        }
    }
    users.sort();
    users.dedup();
    Ok(users)
}

/// A filter as the port's query.
fn query_of(f: &EventFilter) -> EventQuery<'_> {
    EventQuery {
        user: f.user.as_deref(),
        activity: f.activity.as_deref(),
        success: f.result.map(|r| r == EventResult::Success),
    }
}

fn result_str(r: EventResult) -> &'static str {
    match r {
        EventResult::Success => "success",
        EventResult::Failure => "failure",
    }
}

fn result_of(success: bool) -> EventResult {
    if success {
        EventResult::Success
    } else {
        EventResult::Failure
    }
}

/// Every activity in the audit trail, for the filter.
pub async fn activities(state: &AppState) -> Result<Vec<String>, ApiError> {
    Ok(state.store.audit_activities().await?)
}

/// The newest [`EVENTS_PAGE`] events that match `f`, newest first.
pub async fn events(state: &AppState, f: &EventFilter) -> Result<EventPage, ApiError> {
    let rows = state
        .store
        .newest_events(&query_of(f), EVENTS_PAGE as i64)
        .await?;
    let events = rows
        .into_iter()
        .map(|r: AuditRow| AuditEvent {
            at: r.at,
            activity: r.activity,
            actor: r.actor,
            target: r.target,
            method: r.method,
            result: result_of(r.success),
            ip: r.ip,
            detail: r.detail,
        })
        .collect();
    Ok(EventPage {
        events,
        activities: activities(state).await?,
    })
}

/// One audit event as exports write it: every stored column (none holds a
/// secret; `flow` is a short prefix of the flow's hash).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExportedEvent {
    pub id: String,
    /// Unix seconds.
    pub at: i64,
    /// The same time, RFC 3339 (UTC).
    pub time: String,
    pub activity: String,
    pub actor: String,
    pub target: Option<String>,
    pub method: Option<String>,
    pub result: EventResult,
    pub ip: String,
    pub flow: Option<String>,
    pub detail: Option<String>,
}

/// Events a page of an export reads at a time.
pub const EXPORT_PAGE: i64 = 500;

/// Every event that matches `f` from `since` (included) to `until`
/// (excluded), oldest first, handed to `each` a page at a time, so an
/// export of years never sits in memory. Returns how many there were.
pub async fn export_events(
    state: &AppState,
    f: &EventFilter,
    since: UnixTime,
    until: UnixTime,
    mut each: impl FnMut(&ExportedEvent) -> Result<(), ApiError>,
) -> Result<u64, ApiError> {
    let mut cursor = EventCursor::from(since);
    let mut n = 0u64;
    loop {
        let page = events_page(state, f, &mut cursor, until).await?;
        for e in &page {
            each(e)?;
            n += 1;
        }
        if (page.len() as i64) < EXPORT_PAGE {
            return Ok(n);
        }
    }
}

/// Where the next page of an export starts: after this time and id.
#[derive(Debug, Clone)]
pub struct EventCursor {
    at: UnixTime,
    id: String,
}

impl From<UnixTime> for EventCursor {
    fn from(since: UnixTime) -> Self {
        EventCursor {
            at: since,
            id: String::new(),
        }
    }
}

/// The next page (at most 500) of the events matching `f` before `until`,
/// after `cursor`, which it moves on. A page shorter than 500 is the last.
pub async fn events_page(
    state: &AppState,
    f: &EventFilter,
    cursor: &mut EventCursor,
    until: UnixTime,
) -> Result<Vec<ExportedEvent>, ApiError> {
    let after = After {
        at: cursor.at,
        id: &cursor.id,
    };
    let rows = state
        .store
        .events_after(&query_of(f), after, until, EXPORT_PAGE)
        .await?;
    let mut page = Vec::with_capacity(rows.len());
    for r in rows {
        let e = ExportedEvent {
            time: rfc3339(r.at),
            result: result_of(r.success),
            id: r.id,
            at: r.at,
            activity: r.activity,
            actor: r.actor,
            target: r.target,
            method: r.method,
            ip: r.ip,
            flow: r.flow,
            detail: r.detail,
        };
        (cursor.at, cursor.id) = (e.at, e.id.clone());
        page.push(e);
    }
    Ok(page)
}

/// Records that `actor` looked at or exported something: never what they
/// saw, and a user filter only when it names an account.
pub async fn record(
    state: &AppState,
    activity: &str,
    actor: &str,
    target: Option<&str>,
    ip: &str,
    detail: &str,
) {
    audit::record(
        state,
        audit::Event {
            activity,
            actor,
            target,
            success: true,
            ip,
            detail: Some(detail),
            ..Default::default()
        },
    )
    .await;
}

/// Records a signed-in user refused at Usage & insights (not an
/// administrator, or a pass session).
pub async fn record_refusal(state: &AppState, s: &Session, ip: &str, why: &ApiError) {
    let detail = match why {
        ApiError::InsightsForbidden => "refused: not an administrator",
        ApiError::PassRestricted => "refused: a Temporary Access Pass session",
        _ => "refused",
    };
    audit::record(
        state,
        audit::Event {
            activity: VIEWED,
            actor: &s.user.username,
            success: false,
            ip,
            detail: Some(detail),
            ..Default::default()
        },
    )
    .await;
}

/// What an audit record may say of a filter: the account a user filter
/// names (never the text, if it names none: people paste passwords into
/// fields), the activity when it is one the trail holds, and the result.
pub async fn describe_filter(state: &AppState, f: &EventFilter) -> (Option<String>, String) {
    let mut parts = Vec::new();
    let mut target = None;
    if let Some(user) = &f.user {
        match state.directory.find_user(user).await {
            Ok(Some(u)) => {
                parts.push(format!("user {}", u.username));
                target = Some(u.username);
            }
            _ => parts.push("user (no account)".to_string()),
        }
    }
    if let Some(a) = &f.activity {
        let known = activities(state).await.unwrap_or_default();
        if known.contains(a) {
            parts.push(format!("activity {a:?}"));
        } else {
            parts.push("activity (none recorded)".to_string());
        }
    }
    if let Some(r) = f.result {
        parts.push(format!("result {}", result_str(r)));
    }
    let text = if parts.is_empty() {
        "no filter".to_string()
    } else {
        parts.join(", ")
    };
    (target, text)
}

/// The figures as text, for `sspr report usage --format table`.
pub fn table(i: &Insights) -> String {
    use std::fmt::Write;
    let mut t = String::new();
    let pct = |n: u32| {
        if i.coverage.in_scope == 0 {
            "-".to_string()
        } else {
            format!("{}%", u64::from(n) * 100 / u64::from(i.coverage.in_scope))
        }
    };
    let (first, last) = (
        i.activity.first().map_or("-", |d| d.date.as_str()),
        i.activity.last().map_or("-", |d| d.date.as_str()),
    );
    let _ = writeln!(
        t,
        "Usage & insights: {} day(s), {first} to {last} (UTC); read {}",
        i.days,
        rfc3339(i.generated_at)
    );
    let _ = writeln!(
        t,
        "\nUsers in scope ({})",
        match i.coverage.scope {
            Scope::AllUsers => "every user of the directory",
            Scope::SeenUsers => "the users the portal has seen",
        }
    );
    let c = &i.coverage;
    let _ = writeln!(t, "  in scope        {:>6}", c.in_scope);
    let _ = writeln!(
        t,
        "  registered      {:>6}  {}",
        c.registered,
        pct(c.registered)
    );
    let _ = writeln!(t, "  capable         {:>6}  {}", c.capable, pct(c.capable));
    let _ = writeln!(t, "  not registered  {:>6}", c.not_registered.len());
    for u in &c.not_registered {
        let _ = writeln!(t, "    {} ({})", u.username, u.display_name);
    }
    let _ = writeln!(t, "\nUsers with a method of each kind");
    for m in &i.methods {
        let _ = writeln!(t, "  {:<18}{:>6}", methods::kind_str(m.kind), m.users);
    }
    let _ = writeln!(
        t,
        "\nBlocked from self-service reset now: {}",
        i.blocked_now.len()
    );
    for u in &i.blocked_now {
        let _ = writeln!(t, "  {} ({})", u.username, u.display_name);
    }
    let kinds: Vec<MethodKind> = i
        .activity
        .first()
        .map(|d| d.proofs.iter().map(|p| p.kind).collect())
        .unwrap_or_default();
    let _ = write!(
        t,
        "\nActivity by day (UTC); proofs at reset gates as passed/wrong\n{:<10}  {:>6} {:>7} {:>6} {:>13}",
        "date", "resets", "unlocks", "blocks", "registrations"
    );
    for k in &kinds {
        let _ = write!(t, " {:>18}", methods::kind_str(*k));
    }
    t.push('\n');
    for d in &i.activity {
        let _ = write!(
            t,
            "{:<10}  {:>6} {:>7} {:>6} {:>13}",
            d.date, d.resets, d.unlocks, d.blocks, d.registrations
        );
        for p in &d.proofs {
            let _ = write!(t, " {:>18}", format!("{}/{}", p.passed, p.failed));
        }
        t.push('\n');
    }
    let sum = |f: fn(&DayActivity) -> u32| i.activity.iter().map(f).sum::<u32>();
    let _ = writeln!(
        t,
        "{:<10}  {:>6} {:>7} {:>6} {:>13}",
        "total",
        sum(|d| d.resets),
        sum(|d| d.unlocks),
        sum(|d| d.blocks),
        sum(|d| d.registrations)
    );
    t
}

/// The background work of Usage & insights on every node: the spike
/// alerts every minute (the first a minute after start), the audit
/// retention five minutes after start and then every hour. What they count
/// and delete is decided by `state.clock`.
pub fn spawn_watch(state: AppState) -> tokio::task::JoinHandle<()> {
    const EVERY: std::time::Duration = std::time::Duration::from_secs(60);
    let retention_ticks = u64::try_from(retention::EVERY / 60).unwrap_or(60);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + EVERY, EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut ticks: u64 = 0;
        loop {
            tick.tick().await;
            ticks += 1;
            if let Err(e) = alerts::check(&state).await {
                tracing::warn!(error = %e, "spike alerts could not be checked; will retry");
            }
            if ticks % retention_ticks == 5 % retention_ticks
                && let Err(e) = retention::apply(&state).await
            {
                tracing::warn!(error = %e, "audit retention failed; will retry next hour");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_dates_are_utc() {
        assert_eq!(date_of_day(0), "1970-01-01");
        // 2026-12-03T23:59:59Z and the next second.
        let t = 1_796_342_399;
        assert_eq!(date_of_day(day_of(t)), "2026-12-03");
        assert_eq!(date_of_day(day_of(t + 1)), "2026-12-04");
        assert_eq!(window_start(t, 1), t + 1 - DAY);
        assert_eq!(window_start(t, 30), t + 1 - 30 * DAY);
        assert_eq!(rfc3339(t), "2026-12-03T23:59:59Z");
    }

    #[test]
    fn command_line_times() {
        assert_eq!(parse_days("30d"), Ok(30));
        assert_eq!(parse_days("7"), Ok(7));
        for bad in ["0d", "91d", "d", "1w", ""] {
            assert!(parse_days(bad).is_err(), "{bad}");
        }
        let now = 1_796_342_399; // 2026-12-03T23:59:59Z
        assert_eq!(parse_time("30d", Bound::Since, now), Ok(now - 30 * DAY));
        assert_eq!(parse_time("2h", Bound::Until, now), Ok(now - 7200));
        let dec3 = now + 1 - DAY;
        assert_eq!(parse_time("2026-12-03", Bound::Since, now), Ok(dec3));
        assert_eq!(parse_time("2026-12-03", Bound::Until, now), Ok(dec3 + DAY));
        assert_eq!(
            parse_time("2026-12-03T12:00:00Z", Bound::Since, now),
            Ok(dec3 + 12 * 3600)
        );
        for bad in ["yesterday", "2026-13-01", "-1d", ""] {
            assert!(parse_time(bad, Bound::Since, now).is_err(), "{bad}");
        }
    }
}
