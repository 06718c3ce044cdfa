//! The one place directory calls are measured: a [`Directory`] around any
//! other, timing each operation into `sspr_directory_seconds{op}` and
//! counting the ones the directory could not answer into
//! `sspr_directory_errors_total{op}`. Installed where the directory is
//! built, so no connector knows about metrics.
//!
//! An error is [`DirectoryError::is_unavailable`] (down, timed out,
//! misconfigured, the built-in directory's store failing). A refused password, a wrong current password or a
//! missing user is an answer, not an error; a full argon2 queue is counted
//! by `sspr_hash_busy_total`.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;

use super::{DirUser, Directory, DirectoryError, DirectoryRules};
use crate::metrics::Metrics;
use crate::secret::Secret;

pub struct Instrumented {
    inner: Arc<dyn Directory>,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for Instrumented {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Instrumented").field(&self.inner).finish()
    }
}

impl Instrumented {
    /// `inner`, measured into `metrics`.
    pub fn wrap(inner: Arc<dyn Directory>, metrics: Arc<Metrics>) -> Arc<dyn Directory> {
        Arc::new(Instrumented { inner, metrics })
    }

    async fn timed<T>(
        &self,
        op: &'static str,
        call: impl Future<Output = Result<T, DirectoryError>> + Send,
    ) -> Result<T, DirectoryError> {
        let started = Instant::now();
        let result = call.await;
        let failed = result.as_ref().is_err_and(DirectoryError::is_unavailable);
        self.metrics.directory_call(op, started.elapsed(), failed);
        result
    }
}

#[async_trait]
impl Directory for Instrumented {
    async fn find_user(&self, login: &str) -> Result<Option<DirUser>, DirectoryError> {
        self.timed("find_user", self.inner.find_user(login)).await
    }

    async fn user_by_id(&self, id: &str) -> Result<Option<DirUser>, DirectoryError> {
        self.timed("user_by_id", self.inner.user_by_id(id)).await
    }

    async fn ready(&self) -> Result<(), DirectoryError> {
        self.timed("ready", self.inner.ready()).await
    }

    async fn administrators(&self) -> Result<Vec<DirUser>, DirectoryError> {
        self.timed("administrators", self.inner.administrators())
            .await
    }

    async fn verify_password(
        &self,
        user: &DirUser,
        password: &Secret,
    ) -> Result<bool, DirectoryError> {
        self.timed(
            "verify_password",
            self.inner.verify_password(user, password),
        )
        .await
    }

    async fn burn(&self, password: &Secret) -> Result<(), DirectoryError> {
        self.timed("burn", self.inner.burn(password)).await
    }

    async fn set_password(&self, user: &DirUser, password: &Secret) -> Result<(), DirectoryError> {
        self.timed("set_password", self.inner.set_password(user, password))
            .await
    }

    async fn change_password(
        &self,
        user: &DirUser,
        old: &Secret,
        new: &Secret,
    ) -> Result<(), DirectoryError> {
        self.timed(
            "change_password",
            self.inner.change_password(user, old, new),
        )
        .await
    }

    async fn groups_of(&self, user: &DirUser) -> Result<Vec<String>, DirectoryError> {
        self.timed("groups_of", self.inner.groups_of(user)).await
    }

    async fn unlock(&self, user: &DirUser) -> Result<(), DirectoryError> {
        self.timed("unlock", self.inner.unlock(user)).await
    }

    async fn password_rules(&self, user: &DirUser) -> Result<DirectoryRules, DirectoryError> {
        self.timed("password_rules", self.inner.password_rules(user))
            .await
    }

    async fn list_users(&self) -> Result<Option<Vec<DirUser>>, DirectoryError> {
        self.timed("list_users", self.inner.list_users()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory that is down for every call.
    #[derive(Debug)]
    struct Down;

    #[async_trait]
    impl Directory for Down {
        async fn find_user(&self, _: &str) -> Result<Option<DirUser>, DirectoryError> {
            Err(DirectoryError::Unavailable("connection refused".into()))
        }
        async fn user_by_id(&self, _: &str) -> Result<Option<DirUser>, DirectoryError> {
            Ok(None)
        }
        async fn administrators(&self) -> Result<Vec<DirUser>, DirectoryError> {
            Ok(Vec::new())
        }
        async fn verify_password(&self, _: &DirUser, _: &Secret) -> Result<bool, DirectoryError> {
            Ok(false)
        }
        async fn set_password(&self, _: &DirUser, _: &Secret) -> Result<(), DirectoryError> {
            Err(DirectoryError::PasswordRejected(
                super::super::Rejection::TooShort,
            ))
        }
        async fn groups_of(&self, _: &DirUser) -> Result<Vec<String>, DirectoryError> {
            Ok(Vec::new())
        }
        async fn unlock(&self, _: &DirUser) -> Result<(), DirectoryError> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn every_call_is_timed_and_only_unavailability_is_an_error() {
        let metrics = Arc::new(Metrics::new("0"));
        let dir = Instrumented::wrap(Arc::new(Down), metrics.clone());
        let user = DirUser {
            id: "1".into(),
            username: "u".into(),
            display_name: "U".into(),
            email: None,
            mobile: None,
            is_admin: false,
            enabled: true,
            locked_until: None,
        };
        assert!(dir.find_user("someone@example.com").await.is_err());
        assert!(dir.set_password(&user, &Secret::new("x")).await.is_err());
        // A default method of the trait goes through the wrapped one's.
        assert_eq!(
            dir.password_rules(&user).await.unwrap(),
            DirectoryRules::default()
        );
        assert_eq!(dir.list_users().await.unwrap(), None);
        let t = metrics.encode().unwrap();
        for (series, want) in [
            ("sspr_directory_seconds_count{op=\"find_user\"} ", "1"),
            ("sspr_directory_errors_total{op=\"find_user\"} ", "1"),
            ("sspr_directory_seconds_count{op=\"set_password\"} ", "1"),
            ("sspr_directory_errors_total{op=\"set_password\"} ", "0"),
            ("sspr_directory_seconds_count{op=\"password_rules\"} ", "1"),
            ("sspr_directory_seconds_count{op=\"list_users\"} ", "1"),
        ] {
            assert!(t.contains(&format!("{series}{want}\n")), "{series} in\n{t}");
        }
        // What was looked up never shows.
        assert!(!t.contains("someone"));
    }
}
