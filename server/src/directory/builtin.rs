//! The built-in directory: users and nested groups in the store, passwords
//! hashed with argon2id (m = 19456 KiB, t = 2, p = 1).

use std::sync::Arc;

use async_trait::async_trait;
use sqlx::Row;

use super::{DirUser, Directory, DirectoryError};
use crate::clock::{Clock, Entropy};
use crate::hashing::HashPool;
use crate::secret::Secret;
use crate::store::Store;

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub mobile: Option<String>,
    pub password: Secret,
    pub is_admin: bool,
}

#[derive(Debug, Clone)]
pub struct Builtin {
    store: Store,
    clock: Arc<dyn Clock>,
    entropy: Arc<dyn Entropy>,
    hashes: HashPool,
}

/// A fresh salt and the pool's hash of `password`.
pub async fn hash_password(
    pool: &HashPool,
    password: &Secret,
    entropy: &dyn Entropy,
) -> Result<String, DirectoryError> {
    let mut salt = [0u8; 16];
    entropy.fill(&mut salt);
    Ok(pool.hash(password, salt).await?)
}

const USER_COLUMNS: &str =
    "id, username, display_name, email, mobile, is_admin, enabled, locked_until";

fn user_from_row(row: &sqlx::any::AnyRow) -> Result<DirUser, sqlx::Error> {
    Ok(DirUser {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        display_name: row.try_get("display_name")?,
        email: row.try_get("email")?,
        mobile: row.try_get("mobile")?,
        is_admin: row.try_get::<i64, _>("is_admin")? != 0,
        enabled: row.try_get::<i64, _>("enabled")? != 0,
        locked_until: row.try_get("locked_until")?,
    })
}

impl Builtin {
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        entropy: Arc<dyn Entropy>,
        hashes: HashPool,
    ) -> Self {
        Builtin {
            store,
            clock,
            entropy,
            hashes,
        }
    }

    pub async fn create_user(&self, new: NewUser) -> Result<DirUser, DirectoryError> {
        let id = self.entropy.hex_id(16);
        let hash = hash_password(&self.hashes, &new.password, self.entropy.as_ref()).await?;
        let now = self.clock.now();
        sqlx::query(
            "INSERT INTO users (id, username, display_name, email, mobile, password_hash, is_admin, \
             password_changed_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&id)
        .bind(new.username.to_lowercase())
        .bind(&new.display_name)
        .bind(new.email.as_ref().map(|e| e.to_lowercase()))
        .bind(&new.mobile)
        .bind(&hash)
        .bind(i64::from(new.is_admin))
        .bind(now)
        .bind(now)
        .execute(self.store.pool())
        .await?;
        self.user_by_id(&id)
            .await?
            .ok_or(DirectoryError::NoSuchUser)
    }

    pub async fn create_group(&self, name: &str) -> Result<String, DirectoryError> {
        let id = self.entropy.hex_id(16);
        sqlx::query("INSERT INTO dir_groups (id, name) VALUES ($1, $2)")
            .bind(&id)
            .bind(name)
            .execute(self.store.pool())
            .await?;
        Ok(id)
    }

    async fn group_id(&self, name: &str) -> Result<String, DirectoryError> {
        sqlx::query_scalar("SELECT id FROM dir_groups WHERE name = $1")
            .bind(name)
            .fetch_optional(self.store.pool())
            .await?
            .ok_or_else(|| DirectoryError::Unavailable(format!("no group named {name}")))
    }

    pub async fn add_user_to_group(
        &self,
        user: &DirUser,
        group: &str,
    ) -> Result<(), DirectoryError> {
        let gid = self.group_id(group).await?;
        sqlx::query("INSERT INTO dir_group_members (group_id, member_user) VALUES ($1, $2)")
            .bind(gid)
            .bind(&user.id)
            .execute(self.store.pool())
            .await?;
        Ok(())
    }

    /// Makes `child` a member of `parent`: members of `child` are members of `parent`.
    pub async fn add_group_to_group(
        &self,
        child: &str,
        parent: &str,
    ) -> Result<(), DirectoryError> {
        let (c, p) = (self.group_id(child).await?, self.group_id(parent).await?);
        sqlx::query("INSERT INTO dir_group_members (group_id, member_group) VALUES ($1, $2)")
            .bind(p)
            .bind(c)
            .execute(self.store.pool())
            .await?;
        Ok(())
    }

    pub async fn lock_until(&self, user: &DirUser, until: i64) -> Result<(), DirectoryError> {
        sqlx::query("UPDATE users SET locked_until = $1 WHERE id = $2")
            .bind(until)
            .bind(&user.id)
            .execute(self.store.pool())
            .await?;
        Ok(())
    }

    /// Creates the documented demo users and groups, once. Returns how many users it made.
    pub async fn seed_demo(&self) -> Result<usize, DirectoryError> {
        if self.find_user("alice").await?.is_some() {
            return Ok(0);
        }
        for g in ["staff", "finance", "it-admins"] {
            self.create_group(g).await?;
        }
        self.add_group_to_group("finance", "staff").await?;
        let mut made = 0;
        for &(username, name, email, mobile, password, admin, group) in DEMO_USERS {
            let user = self
                .create_user(NewUser {
                    username: username.into(),
                    display_name: name.into(),
                    email: Some(email.into()),
                    mobile: Some(mobile.into()),
                    password: Secret::new(password),
                    is_admin: admin,
                })
                .await?;
            self.add_user_to_group(&user, group).await?;
            made += 1;
        }
        Ok(made)
    }
}

/// The demo users, documented in the README. Never enabled outside `directory.demo_users`.
pub const DEMO_USERS: &[(&str, &str, &str, &str, &str, bool, &str)] = &[
    (
        "alice",
        "Alice Andersen",
        "alice@example.com",
        "+15550100001",
        "Alice-demo-2026!",
        false,
        "finance",
    ),
    (
        "bob",
        "Bob Brennan",
        "bob@example.com",
        "+15550100002",
        "Bob-demo-2026!",
        false,
        "staff",
    ),
    (
        "carol",
        "Carol Castillo",
        "carol@example.com",
        "+15550100003",
        "Carol-admin-2026!",
        true,
        "it-admins",
    ),
    // Registers nothing: the sign-in interrupt walks dave through it.
    (
        "dave",
        "Dave Dunn",
        "dave@example.com",
        "+15550100004",
        "Dave-demo-2026!",
        false,
        "staff",
    ),
];

#[async_trait]
impl Directory for Builtin {
    async fn find_user(&self, login: &str) -> Result<Option<DirUser>, DirectoryError> {
        let login = login.trim().to_lowercase();
        if login.is_empty() {
            return Ok(None);
        }
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE username = $1 OR email = $1"
        ))
        .bind(&login)
        .fetch_optional(self.store.pool())
        .await?;
        Ok(row.as_ref().map(user_from_row).transpose()?)
    }

    async fn user_by_id(&self, id: &str) -> Result<Option<DirUser>, DirectoryError> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.store.pool())
            .await?;
        Ok(row.as_ref().map(user_from_row).transpose()?)
    }

    async fn administrators(&self) -> Result<Vec<DirUser>, DirectoryError> {
        let rows = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE is_admin = 1 ORDER BY username"
        ))
        .fetch_all(self.store.pool())
        .await?;
        Ok(rows.iter().map(user_from_row).collect::<Result<_, _>>()?)
    }

    async fn verify_password(
        &self,
        user: &DirUser,
        password: &Secret,
    ) -> Result<bool, DirectoryError> {
        let hash: Option<String> =
            sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
                .bind(&user.id)
                .fetch_optional(self.store.pool())
                .await?;
        let hash = hash.ok_or(DirectoryError::NoSuchUser)?;
        Ok(self.hashes.verify(&hash, password).await?)
    }

    async fn burn(&self, password: &Secret) -> Result<(), DirectoryError> {
        // The query a real check makes, then the hash it runs.
        let _: Option<String> = sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
            .bind("-")
            .fetch_optional(self.store.pool())
            .await?;
        Ok(self.hashes.burn(password).await?)
    }

    async fn set_password(&self, user: &DirUser, password: &Secret) -> Result<(), DirectoryError> {
        let hash = hash_password(&self.hashes, password, self.entropy.as_ref()).await?;
        let done = sqlx::query(
            "UPDATE users SET password_hash = $1, password_changed_at = $2 WHERE id = $3",
        )
        .bind(hash)
        .bind(self.clock.now())
        .bind(&user.id)
        .execute(self.store.pool())
        .await?;
        if done.rows_affected() == 0 {
            return Err(DirectoryError::NoSuchUser);
        }
        Ok(())
    }

    async fn groups_of(&self, user: &DirUser) -> Result<Vec<String>, DirectoryError> {
        // UNION (not UNION ALL) makes a membership cycle terminate.
        let mut names: Vec<String> = sqlx::query_scalar(
            "WITH RECURSIVE g(id) AS ( \
                SELECT group_id FROM dir_group_members WHERE member_user = $1 \
                UNION \
                SELECT m.group_id FROM dir_group_members m JOIN g ON m.member_group = g.id \
             ) SELECT d.name FROM dir_groups d JOIN g ON d.id = g.id",
        )
        .bind(&user.id)
        .fetch_all(self.store.pool())
        .await?;
        names.sort();
        Ok(names)
    }

    async fn unlock(&self, user: &DirUser) -> Result<(), DirectoryError> {
        sqlx::query("UPDATE users SET locked_until = NULL, failed_logins = 0 WHERE id = $1")
            .bind(&user.id)
            .execute(self.store.pool())
            .await?;
        Ok(())
    }

    /// Every user of the store, by user name, in one query. Rows an LDAP
    /// connector left in the same store (no password of ours) are not users
    /// of this directory.
    async fn list_users(&self) -> Result<Option<Vec<DirUser>>, DirectoryError> {
        let rows = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE password_hash <> '!external' ORDER BY username"
        ))
        .fetch_all(self.store.pool())
        .await?;
        Ok(Some(
            rows.iter().map(user_from_row).collect::<Result<_, _>>()?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{ManualClock, OsEntropy};
    use crate::store::testing;

    fn dir(store: Store) -> Builtin {
        Builtin::new(
            store,
            Arc::new(ManualClock::at(1_800_000_000)),
            Arc::new(OsEntropy),
            HashPool::new(2, 16),
        )
    }

    #[tokio::test]
    async fn users_groups_passwords_and_lockout_on_every_backend() {
        for (store, _keep) in testing::all().await {
            let backend = store.backend();
            let d = dir(store.clone());
            assert_eq!(d.seed_demo().await.unwrap(), 4);
            assert_eq!(d.seed_demo().await.unwrap(), 0, "seeding twice is a no-op");

            // Found by user name or email, case-insensitively.
            let alice = d.find_user("ALICE").await.unwrap().expect("alice");
            assert_eq!(
                d.find_user("Alice@Example.com").await.unwrap().as_ref(),
                Some(&alice)
            );
            assert!(d.find_user("mallory").await.unwrap().is_none());
            assert!(d.find_user("  ").await.unwrap().is_none());
            assert!(!alice.is_admin);
            assert!(d.find_user("carol").await.unwrap().unwrap().is_admin);
            let admins: Vec<String> = d
                .administrators()
                .await
                .unwrap()
                .into_iter()
                .map(|u| u.username)
                .collect();
            assert_eq!(admins, ["carol"]);
            assert_eq!(
                d.user_by_id(&alice.id).await.unwrap().as_ref(),
                Some(&alice)
            );

            // Nested groups: finance is inside staff.
            assert_eq!(
                d.groups_of(&alice).await.unwrap(),
                ["finance", "staff"],
                "{backend:?}"
            );
            let bob = d.find_user("bob").await.unwrap().unwrap();
            assert_eq!(d.groups_of(&bob).await.unwrap(), ["staff"]);
            // A cycle does not loop forever.
            d.add_group_to_group("staff", "finance").await.unwrap();
            assert_eq!(d.groups_of(&bob).await.unwrap(), ["finance", "staff"]);

            // argon2id, never plaintext.
            let stored: String =
                sqlx::query_scalar("SELECT password_hash FROM users WHERE username = 'alice'")
                    .fetch_one(store.pool())
                    .await
                    .unwrap();
            assert!(
                stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
                "{stored}"
            );
            assert!(!stored.contains("Alice-demo-2026!"));
            assert!(
                d.verify_password(&alice, &Secret::new("Alice-demo-2026!"))
                    .await
                    .unwrap()
            );
            assert!(
                !d.verify_password(&alice, &Secret::new("alice-demo-2026!"))
                    .await
                    .unwrap()
            );

            d.set_password(&alice, &Secret::new("a brand new passphrase"))
                .await
                .unwrap();
            assert!(
                d.verify_password(&alice, &Secret::new("a brand new passphrase"))
                    .await
                    .unwrap()
            );
            assert!(
                !d.verify_password(&alice, &Secret::new("Alice-demo-2026!"))
                    .await
                    .unwrap()
            );

            // Lockout state.
            d.lock_until(&alice, 1_800_000_600).await.unwrap();
            let locked = d.find_user("alice").await.unwrap().unwrap();
            assert!(locked.is_locked(1_800_000_000));
            assert!(!locked.is_locked(1_800_000_601));
            d.unlock(&locked).await.unwrap();
            assert_eq!(
                d.find_user("alice").await.unwrap().unwrap().locked_until,
                None
            );

            // Names are unique whatever the case.
            let dup = d
                .create_user(NewUser {
                    username: "Alice".into(),
                    display_name: "Impostor".into(),
                    email: None,
                    mobile: None,
                    password: Secret::new("x".repeat(12)),
                    is_admin: false,
                })
                .await;
            assert!(dup.is_err(), "{backend:?}");
        }
    }
}
