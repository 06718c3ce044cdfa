//! Registered methods (`auth_methods`). Authenticator secrets are sealed with
//! a key kept outside the database; email and phone targets are needed in
//! clear to deliver codes.

use sqlx::Row;
use sspr_proto::reset::MethodKind;

use crate::AppState;
use crate::directory::DirUser;
use crate::error::ApiError;

#[derive(Clone)]
pub struct StoredMethod {
    pub id: String,
    pub kind: MethodKind,
    pub target: Option<String>,
    pub secret_sealed: Option<String>,
    pub is_default: bool,
    pub created_at: i64,
}

impl std::fmt::Debug for StoredMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredMethod")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

pub fn kind_str(k: MethodKind) -> &'static str {
    match k {
        MethodKind::Email => "email",
        MethodKind::Sms => "sms",
        MethodKind::Authenticator => "authenticator",
        MethodKind::RecoveryCode => "recovery_code",
        MethodKind::SecurityQuestions => "security_questions",
    }
}

pub fn parse_kind(s: &str) -> Option<MethodKind> {
    match s {
        "email" => Some(MethodKind::Email),
        "sms" => Some(MethodKind::Sms),
        "authenticator" => Some(MethodKind::Authenticator),
        "recovery_code" => Some(MethodKind::RecoveryCode),
        "security_questions" => Some(MethodKind::SecurityQuestions),
        _ => None,
    }
}

/// Whether the policy offers this kind, for registration and for reset.
pub fn kind_available(state: &AppState, k: MethodKind) -> bool {
    let p = &state.config.policy;
    match k {
        MethodKind::RecoveryCode => p.recovery_codes,
        MethodKind::SecurityQuestions => p.security_questions,
        other => p.methods_available.contains(&other),
    }
}

/// How many different kinds are among `kinds`: two emails are still one way
/// to prove who you are.
pub fn distinct_kinds(kinds: impl IntoIterator<Item = MethodKind>) -> usize {
    let mut seen: Vec<MethodKind> = Vec::new();
    for k in kinds {
        if !seen.contains(&k) {
            seen.push(k);
        }
    }
    seen.len()
}

/// A code as people type or paste it: spaces and dashes dropped.
pub fn typed_code(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect()
}

/// The user's methods, oldest first. With `user_id = None` the same query runs
/// against an id that cannot exist, so decoys cost what real look-ups cost.
pub async fn for_user(
    state: &AppState,
    user_id: Option<&str>,
) -> Result<Vec<StoredMethod>, ApiError> {
    let rows = sqlx::query(
        "SELECT id, kind, target, secret_sealed, is_default, created_at FROM auth_methods \
         WHERE user_id = $1 ORDER BY created_at, id",
    )
    .bind(user_id.unwrap_or("-"))
    .fetch_all(state.store.pool())
    .await
    .map_err(ApiError::internal)?;
    rows.iter()
        .filter_map(|r| {
            let kind: String = r.try_get("kind").ok()?;
            Some(Ok(StoredMethod {
                id: r.try_get("id").ok()?,
                kind: parse_kind(&kind)?,
                target: r.try_get("target").ok()?,
                secret_sealed: r.try_get("secret_sealed").ok()?,
                is_default: r.try_get::<i64, _>("is_default").ok()? != 0,
                created_at: r.try_get("created_at").ok()?,
            }))
        })
        .collect()
}

/// A method about to be stored.
pub struct NewMethod<'a> {
    pub kind: MethodKind,
    pub target: Option<&'a str>,
    /// An authenticator's secret, sealed before it is stored.
    pub secret: Option<&'a [u8]>,
    /// The TOTP step that confirmed an authenticator: never accepted again.
    pub used_step: Option<i64>,
}

impl std::fmt::Debug for NewMethod<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewMethod")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// Opens a transaction for a change to `user`'s methods. With
/// `first_only` (a session that has not proved a method) the change may
/// only be a first registration: the user's row is locked for the rest of
/// the transaction and the change refused with `StepUpRequired` if a method
/// that can prove who they are already exists. So two sessions racing to
/// register "first" serialise, and the second sees the first's method.
pub async fn begin_change<'t>(
    state: &'t AppState,
    user: &DirUser,
    first_only: bool,
) -> Result<sqlx::Transaction<'t, sqlx::Any>, ApiError> {
    let mut tx = state
        .store
        .pool()
        .begin()
        .await
        .map_err(ApiError::internal)?;
    if first_only {
        sqlx::query("UPDATE users SET enabled = enabled WHERE id = $1")
            .bind(&user.id)
            .execute(&mut *tx)
            .await
            .map_err(ApiError::internal)?;
        let proofs: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM auth_methods WHERE user_id = $1 AND kind <> 'security_questions'",
        )
        .bind(&user.id)
        .fetch_one(&mut *tx)
        .await
        .map_err(ApiError::internal)?;
        if proofs > 0 {
            return Err(ApiError::StepUpRequired);
        }
    }
    Ok(tx)
}

/// Stores a confirmed method on `tx` (from [`begin_change`]); the caller
/// commits it with what else the change writes. The user's first method
/// becomes the default.
pub async fn add(
    tx: &mut sqlx::AnyConnection,
    state: &AppState,
    user: &DirUser,
    m: NewMethod<'_>,
) -> Result<String, ApiError> {
    let id = state.entropy.hex_id(16);
    let sealed = m.secret.map(|s| state.keys.seal(s, state.entropy.as_ref()));
    let now = state.clock.now();
    sqlx::query(
        "INSERT INTO auth_methods (id, user_id, kind, target, secret_sealed, totp_last_step, is_default, created_at, confirmed_at) \
         VALUES ($1, $2, $3, $4, $5, $6, \
                 CASE WHEN EXISTS (SELECT 1 FROM auth_methods WHERE user_id = $2) THEN 0 ELSE 1 END, $7, $7)",
    )
    .bind(&id)
    .bind(&user.id)
    .bind(kind_str(m.kind))
    .bind(m.target)
    .bind(sealed)
    .bind(m.used_step)
    .bind(now)
    .execute(&mut *tx)
    .await
    .map_err(ApiError::internal)?;
    Ok(id)
}

/// Accepts TOTP `step` for a method only if it is newer than every step
/// accepted before: one atomic update, so a code can never be replayed.
pub async fn consume_totp_step(
    state: &AppState,
    method_id: &str,
    step: i64,
) -> Result<bool, ApiError> {
    let done = sqlx::query(
        "UPDATE auth_methods SET totp_last_step = $1 WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)",
    )
    .bind(step)
    .bind(method_id)
    .execute(state.store.pool())
    .await
    .map_err(ApiError::internal)?;
    Ok(done.rows_affected() == 1)
}

/// The demo users' authenticator secrets (base32), documented in the README so
/// anyone can add them to an authenticator app or compute codes with oathtool.
pub const DEMO_TOTP: &[(&str, &str)] = &[
    ("alice", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"),
    ("carol", "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU"),
];

/// Registers the demo users' methods once: alice email + authenticator,
/// bob email + SMS, carol (admin) email + SMS + authenticator.
pub async fn seed_demo(state: &AppState) -> Result<(), ApiError> {
    for name in ["alice", "bob", "carol"] {
        let Some(user) = state
            .directory
            .find_user(name)
            .await
            .map_err(ApiError::internal)?
        else {
            continue;
        };
        // Holds the user's row, so nodes starting together seed once.
        let mut tx = state.store.pool().begin().await?;
        sqlx::query("UPDATE users SET enabled = enabled WHERE id = $1")
            .bind(&user.id)
            .execute(&mut *tx)
            .await?;
        let has: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM auth_methods WHERE user_id = $1")
            .bind(&user.id)
            .fetch_one(&mut *tx)
            .await?;
        if has > 0 {
            continue;
        }
        let plain = |kind, target| NewMethod {
            kind,
            target,
            secret: None,
            used_step: None,
        };
        if let Some(email) = &user.email {
            add(&mut tx, state, &user, plain(MethodKind::Email, Some(email))).await?;
        }
        if name != "alice"
            && let Some(mobile) = &user.mobile
        {
            add(&mut tx, state, &user, plain(MethodKind::Sms, Some(mobile))).await?;
        }
        if let Some((_, b32)) = DEMO_TOTP.iter().find(|(u, _)| *u == name) {
            let secret = base32::decode(base32::Alphabet::Rfc4648 { padding: false }, b32)
                .expect("valid base32");
            let m = NewMethod {
                secret: Some(&secret),
                ..plain(MethodKind::Authenticator, None)
            };
            add(&mut tx, state, &user, m).await?;
        }
        tx.commit().await?;
        crate::security_info::mark_reviewed(state, &user.id).await?;
    }
    Ok(())
}
