//! The `Directory` trait: where users, groups and passwords live. The built-in
//! directory keeps them in the store; the LDAP connector writes them back to
//! OpenLDAP or Active Directory.

pub mod builtin;
pub mod instrumented;
pub mod ldap;

use async_trait::async_trait;

use crate::clock::UnixTime;
use crate::error::ApiError;
use crate::secret::Secret;

/// A user as the portal sees them. Carries no password material.
#[derive(Clone, PartialEq, Eq)]
pub struct DirUser {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub mobile: Option<String>,
    pub is_admin: bool,
    pub enabled: bool,
    /// Locked out until this time (Unix seconds), if locked.
    pub locked_until: Option<UnixTime>,
}

/// Addresses and numbers are personal data: logs show who, not where.
impl std::fmt::Debug for DirUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirUser")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("is_admin", &self.is_admin)
            .field("enabled", &self.enabled)
            .field("locked_until", &self.locked_until)
            .finish_non_exhaustive()
    }
}

impl DirUser {
    pub fn is_locked(&self, now: UnixTime) -> bool {
        self.locked_until.is_some_and(|t| t > now)
    }
}

/// Why a directory refused a new password, in terms the user can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    TooShort,
    NotComplex,
    InHistory,
    TooYoung,
    /// Refused for a reason the directory did not name.
    Other,
}

impl Rejection {
    /// The stable message id the SPA shows.
    pub fn message_id(self) -> sspr_proto::ErrorId {
        use sspr_proto::ErrorId;
        match self {
            Rejection::TooShort => ErrorId::PasswordTooShort,
            Rejection::NotComplex => ErrorId::PasswordNotComplex,
            Rejection::InHistory => ErrorId::PasswordInHistory,
            Rejection::TooYoung => ErrorId::PasswordTooYoung,
            Rejection::Other => ErrorId::PasswordRejectedByDirectory,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// The directory refused the new password for this reason.
    #[error("password rejected: {0:?}")]
    PasswordRejected(Rejection),
    /// A change as the user: the old password was wrong.
    #[error("wrong current password")]
    WrongPassword,
    #[error("no such user")]
    NoSuchUser,
    /// Down, unreachable, timed out or misconfigured. The cause is logged, never shown.
    #[error("directory unavailable: {0}")]
    Unavailable(String),
    /// The built-in directory's store failed; unavailable like the above,
    /// the store's error kept as the cause.
    #[error("directory unavailable: {0}")]
    Store(#[source] crate::store::StoreError),
    /// The built-in directory's hashing failed (not a full queue).
    #[error("directory unavailable: {0}")]
    Hash(#[source] crate::hashing::HashError),
    /// The password hashing queue is full (built-in directory): try again shortly.
    #[error("password hashing is busy")]
    Busy,
}

impl DirectoryError {
    /// The directory could not answer (down, timed out, misconfigured, or
    /// the built-in directory's store or hashing failed), as opposed to an
    /// answer (a refusal, a wrong password, no such user) or a full queue.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            DirectoryError::Unavailable(_) | DirectoryError::Store(_) | DirectoryError::Hash(_)
        )
    }
}

/// What a request answers when the directory fails it: a refusal, a wrong
/// current password, a busy queue, or (the cause kept) unavailable.
impl From<DirectoryError> for ApiError {
    fn from(e: DirectoryError) -> Self {
        use DirectoryError as D;
        match e {
            D::PasswordRejected(r) => ApiError::PasswordRejected(r.message_id()),
            D::WrongPassword => ApiError::InvalidField {
                field: "current".into(),
                reason: "not your current password".into(),
            },
            D::Busy => ApiError::ServerBusy { retry_after: 1 },
            other => ApiError::DirectoryUnavailable(Box::new(other)),
        }
    }
}

impl From<crate::hashing::HashError> for DirectoryError {
    fn from(e: crate::hashing::HashError) -> Self {
        match e {
            crate::hashing::HashError::Busy => DirectoryError::Busy,
            other => DirectoryError::Hash(other),
        }
    }
}

impl From<crate::store::StoreError> for DirectoryError {
    fn from(e: crate::store::StoreError) -> Self {
        DirectoryError::Store(e)
    }
}

impl From<sqlx::Error> for DirectoryError {
    fn from(e: sqlx::Error) -> Self {
        DirectoryError::Store(e.into())
    }
}

#[async_trait]
pub trait Directory: Send + Sync + std::fmt::Debug {
    /// Finds a user by user name or email address (case-insensitive).
    async fn find_user(&self, login: &str) -> Result<Option<DirUser>, DirectoryError>;

    /// Finds a user by the directory's own stable id (as stored in a flow).
    async fn user_by_id(&self, id: &str) -> Result<Option<DirUser>, DirectoryError>;

    /// Whether the directory answers now (readiness). The built-in one lives
    /// in the store, which readiness checks on its own.
    async fn ready(&self) -> Result<(), DirectoryError> {
        Ok(())
    }

    /// Every administrator, for notifications.
    async fn administrators(&self) -> Result<Vec<DirUser>, DirectoryError>;

    /// Checks a password, as a bind would. Constant work whether or not it matches.
    async fn verify_password(
        &self,
        user: &DirUser,
        password: &Secret,
    ) -> Result<bool, DirectoryError>;

    /// The work `verify_password` does, for a name that matches nobody, so
    /// the answer takes as long as a wrong password for a real account. The
    /// built-in directory runs the same argon2; a remote directory, whose
    /// binds cost the portal nothing, does nothing (the sign-in pacing evens
    /// out the rest).
    async fn burn(&self, _password: &Secret) -> Result<(), DirectoryError> {
        Ok(())
    }

    /// Sets a password as an administrator would (reset).
    async fn set_password(&self, user: &DirUser, password: &Secret) -> Result<(), DirectoryError>;

    /// Changes a password as the user would. The caller has already checked
    /// `old` (with sign-in throttling); a directory with its own user-change
    /// rules (minimum age, history) proves `old` to it again, as the user.
    /// The built-in directory has none, so by default this is a set.
    async fn change_password(
        &self,
        user: &DirUser,
        _old: &Secret,
        new: &Secret,
    ) -> Result<(), DirectoryError> {
        self.set_password(user, new).await
    }

    /// Names of every group the user belongs to, nested groups resolved.
    async fn groups_of(&self, user: &DirUser) -> Result<Vec<String>, DirectoryError>;

    /// Clears a lockout.
    async fn unlock(&self, user: &DirUser) -> Result<(), DirectoryError>;

    /// Every user, where the directory can list them cheaply (the built-in
    /// one), for Usage & insights. `None` (the default) when listing a whole
    /// directory on every view is not cheap (LDAP, Active Directory): the
    /// figures then count the users the portal has seen.
    async fn list_users(&self) -> Result<Option<Vec<DirUser>>, DirectoryError> {
        Ok(None)
    }

    /// The password rules the directory itself enforces for this user (an
    /// AD domain or fine-grained policy), so the checklist shows them before
    /// the user submits. The built-in directory adds none.
    async fn password_rules(&self, _user: &DirUser) -> Result<DirectoryRules, DirectoryError> {
        Ok(DirectoryRules::default())
    }
}

/// Rules a directory enforces on top of the portal's own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DirectoryRules {
    pub min_length: Option<u16>,
    pub complexity: bool,
}

impl DirectoryRules {
    /// The stricter of the portal's rules and the directory's.
    pub fn apply(
        self,
        mut rules: sspr_proto::config::PasswordRules,
    ) -> sspr_proto::config::PasswordRules {
        if let Some(n) = self.min_length {
            rules.min_length = rules.min_length.max(n);
            rules.max_length = rules.max_length.max(rules.min_length);
        }
        rules.complexity |= self.complexity;
        rules
    }
}
