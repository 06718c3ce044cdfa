//! Password writeback to OpenLDAP and Active Directory (or a Samba DC).
//!
//! One connector, two dialects. Both search with a pooled service account over
//! verified TLS, escape every DN and filter value (RFC 4514/4515), and bound
//! every operation by the configured timeout. They differ in how a password is
//! written (RFC 3062 password modify with the ppolicy control, or AD's
//! `unicodePwd` with the policy-hints control), how a lockout is read and
//! cleared, and where the password policy lives.

pub mod codes;
pub mod pool;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use ldap3::controls::RawControl;
use ldap3::exop::PasswordModify;
use ldap3::{LdapResult, Mod, Scope, SearchEntry, SearchOptions, ldap_escape};

use self::codes::Policy;
use self::pool::{Endpoint, Pool, unavailable};
use super::{DirUser, Directory, DirectoryError, DirectoryRules, Rejection};
use crate::clock::{Clock, UnixTime};
use crate::config::{DirectoryKind, LdapConfig};
use crate::secret::Secret;
use crate::store::Store;

/// Which server the connector talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    OpenLdap,
    ActiveDirectory,
}

impl Flavor {
    fn id_prefix(self) -> &'static str {
        match self {
            Flavor::OpenLdap => "ldap:",
            Flavor::ActiveDirectory => "ad:",
        }
    }
    fn id_attr(self) -> &'static str {
        match self {
            Flavor::OpenLdap => "entryUUID",
            Flavor::ActiveDirectory => "objectGUID",
        }
    }
    fn username_attr(self) -> &'static str {
        match self {
            Flavor::OpenLdap => "uid",
            Flavor::ActiveDirectory => "sAMAccountName",
        }
    }
    fn default_filter(self) -> &'static str {
        match self {
            Flavor::OpenLdap => "(objectClass=person)",
            Flavor::ActiveDirectory => "(&(objectCategory=person)(objectClass=user))",
        }
    }
    fn default_logins(self) -> Vec<String> {
        let v: &[&str] = match self {
            Flavor::OpenLdap => &["uid", "mail"],
            Flavor::ActiveDirectory => &["sAMAccountName", "userPrincipalName", "mail"],
        };
        v.iter().map(|s| s.to_string()).collect()
    }
    fn user_attrs(self) -> Vec<&'static str> {
        let mut a = vec![
            self.id_attr(),
            self.username_attr(),
            "displayName",
            "cn",
            "mail",
            "mobile",
        ];
        match self {
            Flavor::OpenLdap => a.extend(["pwdAccountLockedTime", "pwdPolicySubentry"]),
            Flavor::ActiveDirectory => a.extend([
                "userAccountControl",
                "lockoutTime",
                "msDS-ResultantPSO",
                "adminCount",
            ]),
        }
        a
    }
}

/// Policies are re-read after this long, so an edit reaches the checklist.
const POLICY_TTL: i64 = 300;
/// How deep nested groups are followed where the server cannot do it.
const MAX_NESTING: usize = 16;

#[derive(Debug)]
pub struct LdapDirectory {
    flavor: Flavor,
    cfg: LdapConfig,
    pool: Pool,
    store: Store,
    clock: Arc<dyn Clock>,
    /// Policy entry DN (or "" for the AD domain) -> (read at, policy).
    policies: Mutex<HashMap<String, (UnixTime, Policy)>>,
    /// AD: which policy-hints control the DC announces (None: not asked yet).
    hints: tokio::sync::OnceCell<Option<&'static str>>,
}

fn attr<'a>(e: &'a SearchEntry, name: &str) -> Option<&'a str> {
    e.attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.first())
        .map(String::as_str)
        .filter(|s| !s.is_empty())
}

fn bin_attr(e: &SearchEntry, name: &str) -> Option<Vec<u8>> {
    e.bin_attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.first().cloned())
        .or_else(|| attr(e, name).map(|s| s.as_bytes().to_vec()))
}

/// The `DC=` tail of a DN: the naming context users live in.
fn naming_context(dn: &str) -> String {
    let parts: Vec<&str> = dn.split(',').map(str::trim).collect();
    let start = parts
        .iter()
        .position(|p| p.to_ascii_lowercase().starts_with("dc="))
        .unwrap_or(0);
    parts[start..].join(",")
}

fn same_dn(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.split(',')
            .map(|p| p.trim().to_ascii_lowercase())
            .collect::<Vec<_>>()
    };
    norm(a) == norm(b)
}

impl LdapDirectory {
    pub fn new(
        kind: DirectoryKind,
        cfg: LdapConfig,
        store: Store,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, DirectoryError> {
        let flavor = match kind {
            DirectoryKind::ActiveDirectory => Flavor::ActiveDirectory,
            _ => Flavor::OpenLdap,
        };
        let endpoint = Endpoint::new(&cfg, clock.clone())?;
        if cfg.admin_group.is_none() {
            tracing::warn!(
                "directory.ldap.admin_group is unset: {}",
                match flavor {
                    Flavor::ActiveDirectory =>
                        "only protected accounts (adminCount=1) get the administrators' two-gate reset",
                    Flavor::OpenLdap => "no user is treated as an administrator",
                }
            );
        }
        Ok(LdapDirectory {
            flavor,
            pool: Pool::new(endpoint, &cfg),
            cfg,
            store,
            clock,
            policies: Mutex::new(HashMap::new()),
            hints: tokio::sync::OnceCell::new(),
        })
    }

    /// Connects and binds the service account once: start-up fails loudly on a typo.
    pub async fn check(&self) -> Result<(), DirectoryError> {
        self.pool.get().await.map(drop)
    }

    /// Connects and binds on every configured server in turn, so a
    /// failover target that would not work shows before it is needed.
    pub async fn check_each(&self) -> Vec<(String, Result<(), DirectoryError>)> {
        let mut out = Vec::new();
        for (i, s) in self.pool.endpoint().states().into_iter().enumerate() {
            let r = self.pool.bind_service(Some(i)).await.map(drop);
            out.push((s.url, r));
        }
        out
    }

    /// Every server and whether it is passed over after a failure.
    pub fn servers(&self) -> Vec<pool::ServerState> {
        self.pool.endpoint().states()
    }

    fn user_filter(&self) -> String {
        self.cfg
            .user_filter
            .clone()
            .unwrap_or_else(|| self.flavor.default_filter().to_string())
    }

    fn group_base(&self) -> String {
        self.cfg
            .group_base
            .clone()
            .unwrap_or_else(|| naming_context(&self.cfg.user_base))
    }

    /// Runs a search on a pooled connection; transport failures retire it.
    async fn search(
        &self,
        base: &str,
        scope: Scope,
        filter: &str,
        attrs: &[&str],
        limit: i32,
    ) -> Result<(Vec<SearchEntry>, bool), DirectoryError> {
        // A search is safe to repeat: when its connection breaks (its server
        // went away), it runs once more on a fresh one, which fails over.
        let mut retried = false;
        let res = loop {
            let mut conn = self.pool.get().await?;
            let res = conn
                .op()
                .with_search_options(SearchOptions::new().sizelimit(limit))
                .search(base, scope, filter, attrs.to_vec())
                .await;
            match res {
                Ok(r) => break r,
                Err(e) => {
                    let timed_out = matches!(e, ldap3::LdapError::Timeout { .. });
                    let err = conn.fail("searching", e);
                    if retried || timed_out {
                        return Err(err);
                    }
                    retried = true;
                }
            }
        };
        let (entries, result) = (res.0, res.1);
        // 4: size limit exceeded, 32: no such object (an empty base).
        let truncated = result.rc == 4;
        if !matches!(result.rc, 0 | 4 | 32) {
            return Err(unavailable(
                "searching",
                format!("result code {}: {}", result.rc, result.text),
            ));
        }
        Ok((
            entries.into_iter().map(SearchEntry::construct).collect(),
            truncated,
        ))
    }

    async fn one_user(&self, filter: String) -> Result<Option<DirUser>, DirectoryError> {
        let filter = format!("(&{}{filter})", self.user_filter());
        let (mut entries, truncated) = self
            .search(
                &self.cfg.user_base,
                Scope::Subtree,
                &filter,
                &self.flavor.user_attrs(),
                2,
            )
            .await?;
        if truncated || entries.len() > 1 {
            tracing::warn!("an identifier matched more than one directory entry: refused");
            return Ok(None);
        }
        match entries.pop() {
            Some(e) => self.to_user(e).await.map(Some),
            None => Ok(None),
        }
    }

    async fn to_user(&self, e: SearchEntry) -> Result<DirUser, DirectoryError> {
        let id = match self.flavor {
            Flavor::OpenLdap => attr(&e, "entryUUID").map(str::to_string),
            Flavor::ActiveDirectory => {
                bin_attr(&e, "objectGUID").and_then(|b| codes::guid_text(&b))
            }
        }
        .ok_or_else(|| unavailable("reading a user", format!("{} has no stable id", e.dn)))?;
        let username = attr(&e, self.flavor.username_attr())
            .ok_or_else(|| unavailable("reading a user", format!("{} has no user name", e.dn)))?
            .to_string();
        let policy = self.policy_for(&e).await?;
        let now = self.clock.now();
        let until = |t: UnixTime| {
            if policy.lockout_secs == 0 {
                UnixTime::MAX
            } else {
                t.saturating_add(policy.lockout_secs)
            }
        };
        let (enabled, locked_until) = match self.flavor {
            Flavor::OpenLdap => match attr(&e, "pwdAccountLockedTime") {
                // ppolicy's "locked by an administrator" value.
                Some("000001010000Z") => (false, None),
                Some(t) => (true, codes::generalized_time(t).map(until)),
                None => (true, None),
            },
            Flavor::ActiveDirectory => {
                let uac: u32 = attr(&e, "userAccountControl")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                let locked = attr(&e, "lockoutTime")
                    .and_then(codes::filetime_to_unix)
                    .map(until);
                (uac & 0x2 == 0, locked)
            }
        };
        let (groups, in_protected_group) = self.memberships(&e.dn).await?;
        // Members of AD's protected groups (Domain Admins, Account Operators...),
        // and accounts AD has marked adminCount=1, need two gates whatever the config.
        let protected = in_protected_group
            || (self.flavor == Flavor::ActiveDirectory && attr(&e, "adminCount") == Some("1"));
        let is_admin = protected
            || self
                .cfg
                .admin_group
                .as_deref()
                .is_some_and(|admin| groups.iter().any(|(dn, _)| same_dn(dn, admin)));
        let user = DirUser {
            id: format!("{}{id}", self.flavor.id_prefix()),
            username,
            display_name: attr(&e, "displayName")
                .or_else(|| attr(&e, "cn"))
                .unwrap_or_default()
                .to_string(),
            email: attr(&e, "mail").map(str::to_lowercase),
            mobile: attr(&e, "mobile").map(str::to_string),
            is_admin,
            enabled,
            locked_until: locked_until.filter(|t| *t > now),
        };
        self.anchor(&user).await?;
        Ok(user)
    }

    /// Flows, sessions and methods refer to users by id; a directory user
    /// gets a row (no password, never a sign-in name) for those references.
    async fn anchor(&self, user: &DirUser) -> Result<(), DirectoryError> {
        sqlx::query(
            "INSERT INTO users (id, username, display_name, password_hash, enabled, \
             password_changed_at, created_at) VALUES ($1, $1, $2, '!external', 0, 0, $3) \
             ON CONFLICT (id) DO UPDATE SET display_name = excluded.display_name",
        )
        .bind(&user.id)
        .bind(&user.display_name)
        .bind(self.clock.now())
        .execute(self.store.pool())
        .await?;
        Ok(())
    }

    /// The search filter for one of our user ids, if it is one of ours.
    fn id_filter(&self, id: &str) -> Option<String> {
        let raw = id.strip_prefix(self.flavor.id_prefix())?;
        Some(match self.flavor {
            Flavor::OpenLdap => format!("(entryUUID={})", ldap_escape(raw)),
            Flavor::ActiveDirectory => format!("(objectGUID={})", codes::guid_filter_value(raw)?),
        })
    }

    /// Just the user's entry with `attrs`: no groups, policy or store write,
    /// for the operations that only need the DN or one attribute.
    async fn entry_of(
        &self,
        user: &DirUser,
        attrs: &[&str],
    ) -> Result<SearchEntry, DirectoryError> {
        let filter = self.id_filter(&user.id).ok_or(DirectoryError::NoSuchUser)?;
        let filter = format!("(&{}{filter})", self.user_filter());
        let (mut entries, _) = self
            .search(&self.cfg.user_base, Scope::Subtree, &filter, attrs, 1)
            .await?;
        entries.pop().ok_or(DirectoryError::NoSuchUser)
    }

    async fn dn_of(&self, user: &DirUser) -> Result<String, DirectoryError> {
        // "1.1": no attributes (RFC 4511).
        Ok(self.entry_of(user, &["1.1"]).await?.dn)
    }

    /// Every group the entry belongs to (nested included) as (DN, cn), and
    /// on AD whether one of them is a protected group (found by SID over the
    /// whole domain, wherever `group_base` points).
    async fn memberships(&self, dn: &str) -> Result<(Vec<(String, String)>, bool), DirectoryError> {
        let base = self.group_base();
        if self.flavor == Flavor::ActiveDirectory {
            let filter = format!("(member:{}:={})", codes::AD_IN_CHAIN, ldap_escape(dn));
            let domain = naming_context(&self.cfg.user_base);
            let (entries, _) = self
                .search(&domain, Scope::Subtree, &filter, &["cn", "objectSid"], 1000)
                .await?;
            let protected = entries
                .iter()
                .any(|g| bin_attr(g, "objectSid").is_some_and(|s| codes::sid_is_protected(&s)));
            let base_lc = base.to_ascii_lowercase().replace(", ", ",");
            let groups = entries
                .into_iter()
                .filter(|g| {
                    g.dn.to_ascii_lowercase()
                        .replace(", ", ",")
                        .ends_with(&base_lc)
                })
                .map(|g| {
                    let cn = attr(&g, "cn").unwrap_or_default().to_string();
                    (g.dn, cn)
                })
                .collect();
            return Ok((groups, protected));
        }
        let mut seen: HashSet<String> = HashSet::new();
        let mut out = Vec::new();
        let mut queue = VecDeque::from([(dn.to_string(), 0usize)]);
        while let Some((member, depth)) = queue.pop_front() {
            if depth >= MAX_NESTING {
                continue;
            }
            let v = ldap_escape(&member);
            let filter = format!("(|(member={v})(uniqueMember={v}))");
            let (entries, _) = self
                .search(&base, Scope::Subtree, &filter, &["cn"], 1000)
                .await?;
            for g in entries {
                if seen.insert(g.dn.to_ascii_lowercase()) {
                    let cn = attr(&g, "cn").unwrap_or_default().to_string();
                    queue.push_back((g.dn.clone(), depth + 1));
                    out.push((g.dn, cn));
                }
            }
        }
        Ok((out, false))
    }

    /// The password policy that governs this entry, cached for [`POLICY_TTL`].
    async fn policy_for(&self, e: &SearchEntry) -> Result<Policy, DirectoryError> {
        let key = match self.flavor {
            Flavor::OpenLdap => attr(e, "pwdPolicySubentry")
                .map(str::to_string)
                .or_else(|| self.cfg.password_policy_dn.clone()),
            Flavor::ActiveDirectory => Some(
                attr(e, "msDS-ResultantPSO")
                    .map(str::to_string)
                    .unwrap_or_default(),
            ),
        };
        let Some(key) = key else {
            return Ok(Policy::default());
        };
        let now = self.clock.now();
        if let Some((at, p)) = self
            .policies
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            && now - at < POLICY_TTL
        {
            return Ok(*p);
        }
        let policy = self.read_policy(&key).await?;
        self.policies
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, (now, policy));
        Ok(policy)
    }

    async fn read_policy(&self, key: &str) -> Result<Policy, DirectoryError> {
        let num = |e: &SearchEntry, a: &str| attr(e, a).and_then(|v| v.parse::<i64>().ok());
        let read = |dn: String, attrs: &'static [&'static str]| async move {
            let (mut entries, _) = self
                .search(&dn, Scope::Base, "(objectClass=*)", attrs, 1)
                .await?;
            Ok::<_, DirectoryError>(entries.pop())
        };
        let clamp = |v: Option<i64>| v.unwrap_or(0).clamp(0, i64::from(u16::MAX)) as u16;
        match self.flavor {
            Flavor::OpenLdap => {
                let Some(e) = read(
                    key.to_string(),
                    &["pwdMinLength", "pwdLockoutDuration", "pwdCheckQuality"],
                )
                .await?
                else {
                    tracing::warn!(policy = key, "the password policy entry is missing");
                    return Ok(Policy::default());
                };
                // pwdMinLength only binds when quality checking is on.
                let checked = num(&e, "pwdCheckQuality").unwrap_or(0) > 0;
                Ok(Policy {
                    min_length: if checked {
                        clamp(num(&e, "pwdMinLength"))
                    } else {
                        0
                    },
                    complexity: false,
                    lockout_secs: num(&e, "pwdLockoutDuration").unwrap_or(0),
                })
            }
            Flavor::ActiveDirectory if !key.is_empty() => {
                // A fine-grained password settings object.
                let Some(e) = read(
                    key.to_string(),
                    &[
                        "msDS-MinimumPasswordLength",
                        "msDS-PasswordComplexityEnabled",
                        "msDS-LockoutDuration",
                    ],
                )
                .await?
                .filter(|e| attr(e, "msDS-MinimumPasswordLength").is_some()) else {
                    // Readable by administrators only, unless granted: say so and
                    // show the domain's rules rather than none.
                    tracing::warn!(
                        pso = key,
                        "cannot read this fine-grained password policy: grant the service \
                         account read access to the Password Settings Container"
                    );
                    return Box::pin(self.read_policy("")).await;
                };
                Ok(Policy {
                    min_length: clamp(num(&e, "msDS-MinimumPasswordLength")),
                    complexity: attr(&e, "msDS-PasswordComplexityEnabled")
                        .is_some_and(|v| v.eq_ignore_ascii_case("TRUE")),
                    lockout_secs: attr(&e, "msDS-LockoutDuration")
                        .and_then(codes::ad_interval_secs)
                        .unwrap_or(0),
                })
            }
            Flavor::ActiveDirectory => {
                let domain = naming_context(&self.cfg.user_base);
                let Some(e) = read(
                    domain,
                    &["minPwdLength", "pwdProperties", "lockoutDuration"],
                )
                .await?
                else {
                    return Ok(Policy::default());
                };
                Ok(Policy {
                    min_length: clamp(num(&e, "minPwdLength")),
                    // DOMAIN_PASSWORD_COMPLEX
                    complexity: num(&e, "pwdProperties").unwrap_or(0) & 1 == 1,
                    lockout_secs: attr(&e, "lockoutDuration")
                        .and_then(codes::ad_interval_secs)
                        .unwrap_or(0),
                })
            }
        }
    }

    async fn policy_of(&self, user: &DirUser) -> Result<Policy, DirectoryError> {
        let e = self
            .entry_of(user, &["pwdPolicySubentry", "msDS-ResultantPSO"])
            .await?;
        self.policy_for(&e).await
    }

    /// Turns a refused password write into its reason; anything else is an outage.
    async fn refusal(
        &self,
        what: &str,
        res: &LdapResult,
        user: &DirUser,
        password: &Secret,
    ) -> DirectoryError {
        // The directory's own words stay in the log for the administrator.
        tracing::info!(rc = res.rc, text = %res.text, "{what}: the directory refused");
        match self.flavor {
            Flavor::OpenLdap => {
                let code = res
                    .ctrls
                    .iter()
                    .find(|c| c.1.ctype == codes::PPOLICY_OID)
                    .and_then(|c| c.1.val.as_deref())
                    .and_then(codes::ppolicy_error);
                match (res.rc, code) {
                    (_, Some(c)) if c >= 5 => {
                        DirectoryError::PasswordRejected(codes::ppolicy_rejection(c))
                    }
                    (19, _) => DirectoryError::PasswordRejected(Rejection::Other),
                    // invalidCredentials / unwillingToPerform on a wrong old password.
                    (49, _) => DirectoryError::WrongPassword,
                    (rc, _) => unavailable(what, format!("result code {rc}: {}", res.text)),
                }
            }
            Flavor::ActiveDirectory => {
                let code = codes::ad_code(&res.text);
                match code {
                    Some(c) if codes::ad_is_password_restriction(c) => {
                        let policy = self.policy_of(user).await.unwrap_or_default();
                        DirectoryError::PasswordRejected(codes::ad_rejection(
                            &res.text,
                            &policy,
                            password.expose().chars().count(),
                        ))
                    }
                    Some(0x56) => DirectoryError::WrongPassword,
                    Some(c) => unavailable(
                        what,
                        format!("{} ({c:08X}: {})", codes::ad_code_meaning(c), res.text),
                    ),
                    None if res.rc == 19 => DirectoryError::PasswordRejected(Rejection::Other),
                    None => unavailable(what, format!("result code {}: {}", res.rc, res.text)),
                }
            }
        }
    }

    fn ppolicy_control() -> RawControl {
        RawControl {
            ctype: codes::PPOLICY_OID.to_string(),
            crit: false,
            val: None,
        }
    }

    /// The policy-hints control this DC supports, from its root DSE. Without
    /// one (Samba before 4.21, say) an admin reset skips password history and
    /// minimum age: logged once as a warning.
    async fn policy_hints(&self) -> Result<Option<&'static str>, DirectoryError> {
        self.hints
            .get_or_try_init(|| async {
                let (entries, _) = self
                    .search("", Scope::Base, "(objectClass=*)", &["supportedControl"], 1)
                    .await?;
                let supported: Vec<&str> = entries
                    .iter()
                    .flat_map(|e| e.attrs.iter())
                    .filter(|(k, _)| k.eq_ignore_ascii_case("supportedControl"))
                    .flat_map(|(_, v)| v.iter().map(String::as_str))
                    .collect();
                let oid = [
                    codes::AD_POLICY_HINTS_OID,
                    codes::AD_POLICY_HINTS_DEPRECATED_OID,
                ]
                .into_iter()
                .find(|o| supported.contains(o));
                if oid.is_none() {
                    tracing::warn!(
                        "the domain controller supports no password policy-hints control: \
                         a self-service reset will not be checked against password history"
                    );
                }
                Ok(oid)
            })
            .await
            .copied()
    }

    /// Whether an admin reset on this directory honours history and minimum age.
    pub async fn reset_honours_history(&self) -> Result<bool, DirectoryError> {
        Ok(match self.flavor {
            Flavor::OpenLdap => true,
            Flavor::ActiveDirectory => self.policy_hints().await?.is_some(),
        })
    }
}

#[async_trait]
impl Directory for LdapDirectory {
    /// Reads the root DSE on a pooled connection: the server answers a search.
    async fn ready(&self) -> Result<(), DirectoryError> {
        self.search("", Scope::Base, "(objectClass=*)", &["1.1"], 1)
            .await
            .map(drop)
    }

    async fn find_user(&self, login: &str) -> Result<Option<DirUser>, DirectoryError> {
        let login = login.trim();
        if login.is_empty() || login.len() > 256 {
            return Ok(None);
        }
        let v = ldap_escape(login);
        let attrs = self
            .cfg
            .login_attributes
            .clone()
            .unwrap_or_else(|| self.flavor.default_logins());
        let any: String = attrs.iter().map(|a| format!("({a}={v})")).collect();
        self.one_user(format!("(|{any})")).await
    }

    async fn user_by_id(&self, id: &str) -> Result<Option<DirUser>, DirectoryError> {
        // The user's entry again, by the stable id a flow or session stored.
        match self.id_filter(id) {
            Some(filter) => self.one_user(filter).await,
            None => Ok(None),
        }
    }

    async fn administrators(&self) -> Result<Vec<DirUser>, DirectoryError> {
        let mut users = Vec::new();
        if self.flavor == Flavor::ActiveDirectory {
            // Marked accounts, and (nested) members of the protected groups.
            let domain = naming_context(&self.cfg.user_base);
            let (root, _) = self
                .search(&domain, Scope::Base, "(objectClass=*)", &["objectSid"], 1)
                .await?;
            let sid_filter = root
                .first()
                .and_then(|e| bin_attr(e, "objectSid"))
                .and_then(|sid| codes::protected_sid_filter(&sid))
                .ok_or_else(|| unavailable("reading the domain", "no domain objectSid"))?;
            let (groups, _) = self
                .search(&domain, Scope::Subtree, &sid_filter, &["cn"], 16)
                .await?;
            let members: String = groups
                .iter()
                .map(|g| format!("(memberOf:{}:={})", codes::AD_IN_CHAIN, ldap_escape(&g.dn)))
                .collect();
            let filter = format!("(&{}(|(adminCount=1){members}))", self.user_filter());
            let (entries, _) = self
                .search(
                    &self.cfg.user_base,
                    Scope::Subtree,
                    &filter,
                    &self.flavor.user_attrs(),
                    1000,
                )
                .await?;
            for e in entries {
                users.push(self.to_user(e).await?);
            }
        }
        let Some(group) = self.cfg.admin_group.clone() else {
            return Ok(users);
        };
        let mut seen = HashSet::new();
        let mut queue = VecDeque::from([(group, 0usize)]);
        while let Some((dn, depth)) = queue.pop_front() {
            if depth >= MAX_NESTING || !seen.insert(dn.to_ascii_lowercase()) {
                continue;
            }
            let (entries, _) = self
                .search(
                    &dn,
                    Scope::Base,
                    "(objectClass=*)",
                    &["member", "uniqueMember"],
                    1,
                )
                .await?;
            let members: Vec<String> = entries
                .iter()
                .flat_map(|e| {
                    e.attrs
                        .iter()
                        .filter(|(k, _)| {
                            k.eq_ignore_ascii_case("member")
                                || k.eq_ignore_ascii_case("uniqueMember")
                        })
                        .flat_map(|(_, v)| v.clone())
                })
                .collect();
            for m in members {
                // A member is a user if the user search finds it at its own DN.
                let filter = self.user_filter();
                let (mut found, _) = self
                    .search(&m, Scope::Base, &filter, &self.flavor.user_attrs(), 1)
                    .await?;
                match found.pop() {
                    Some(e) => {
                        let u = self.to_user(e).await?;
                        if !users.iter().any(|x| x.id == u.id) {
                            users.push(u);
                        }
                    }
                    None => queue.push_back((m, depth + 1)),
                }
            }
        }
        Ok(users)
    }

    async fn verify_password(
        &self,
        user: &DirUser,
        password: &Secret,
    ) -> Result<bool, DirectoryError> {
        let dn = match self.dn_of(user).await {
            Ok(dn) => dn,
            Err(DirectoryError::NoSuchUser) => return Ok(false),
            Err(e) => return Err(e),
        };
        match self.pool.endpoint().bind(&dn, password).await? {
            Some(mut ldap) => {
                let _ = ldap.unbind().await;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn set_password(&self, user: &DirUser, password: &Secret) -> Result<(), DirectoryError> {
        let dn = self.dn_of(user).await?;
        let hints = match self.flavor {
            Flavor::ActiveDirectory => self.policy_hints().await?,
            Flavor::OpenLdap => None,
        };
        let mut conn = self.pool.get().await?;
        let res = match self.flavor {
            Flavor::OpenLdap => conn
                .op()
                .with_controls(Self::ppolicy_control())
                .extended(PasswordModify {
                    user_id: Some(&dn),
                    old_pass: None,
                    new_pass: Some(password.expose()),
                })
                .await
                .map(|r| r.1),
            Flavor::ActiveDirectory => {
                let value = codes::unicode_pwd(password.expose());
                let controls: Vec<RawControl> = hints
                    .map(|oid| RawControl {
                        ctype: oid.to_string(),
                        crit: true,
                        val: Some(codes::AD_POLICY_HINTS_ON.to_vec()),
                    })
                    .into_iter()
                    .collect();
                conn.op()
                    .with_controls(controls)
                    .modify(
                        &dn,
                        vec![Mod::Replace(b"unicodePwd".to_vec(), HashSet::from([value]))],
                    )
                    .await
            }
        };
        let res = res.map_err(|e| conn.fail("setting the password", e))?;
        drop(conn);
        if res.rc == 0 {
            Ok(())
        } else {
            Err(self
                .refusal("setting the password", &res, user, password)
                .await)
        }
    }

    async fn change_password(
        &self,
        user: &DirUser,
        old: &Secret,
        new: &Secret,
    ) -> Result<(), DirectoryError> {
        let dn = self.dn_of(user).await?;
        let Some(mut ldap) = self.pool.endpoint().bind(&dn, old).await? else {
            return Err(DirectoryError::WrongPassword);
        };
        let timeout = self.pool.endpoint().timeout;
        let res = match self.flavor {
            Flavor::OpenLdap => ldap
                .with_timeout(timeout)
                .with_controls(Self::ppolicy_control())
                .extended(PasswordModify {
                    user_id: None,
                    old_pass: Some(old.expose()),
                    new_pass: Some(new.expose()),
                })
                .await
                .map(|r| r.1),
            Flavor::ActiveDirectory => {
                ldap.with_timeout(timeout)
                    .modify(
                        &dn,
                        vec![
                            Mod::Delete(
                                b"unicodePwd".to_vec(),
                                HashSet::from([codes::unicode_pwd(old.expose())]),
                            ),
                            Mod::Add(
                                b"unicodePwd".to_vec(),
                                HashSet::from([codes::unicode_pwd(new.expose())]),
                            ),
                        ],
                    )
                    .await
            }
        }
        .map_err(|e| unavailable("changing the password", e))?;
        let _ = ldap.unbind().await;
        if res.rc == 0 {
            Ok(())
        } else {
            Err(self.refusal("changing the password", &res, user, new).await)
        }
    }

    async fn groups_of(&self, user: &DirUser) -> Result<Vec<String>, DirectoryError> {
        let dn = self.dn_of(user).await?;
        Ok(self
            .memberships(&dn)
            .await?
            .0
            .into_iter()
            .map(|(_, cn)| cn)
            .filter(|cn| !cn.is_empty())
            .collect())
    }

    async fn unlock(&self, user: &DirUser) -> Result<(), DirectoryError> {
        let dn = self.dn_of(user).await?;
        let mut conn = self.pool.get().await?;
        let change: Vec<Mod<Vec<u8>>> = match self.flavor {
            Flavor::OpenLdap => vec![Mod::Delete(
                b"pwdAccountLockedTime".to_vec(),
                HashSet::new(),
            )],
            Flavor::ActiveDirectory => vec![Mod::Replace(
                b"lockoutTime".to_vec(),
                HashSet::from([b"0".to_vec()]),
            )],
        };
        let res = conn
            .op()
            .modify(&dn, change)
            .await
            .map_err(|e| conn.fail("unlocking", e))?;
        match res.rc {
            // 16: noSuchAttribute, i.e. it was not locked.
            0 | 16 => Ok(()),
            rc => Err(unavailable(
                "unlocking",
                format!("result code {rc}: {}", res.text),
            )),
        }
    }

    async fn password_rules(&self, user: &DirUser) -> Result<DirectoryRules, DirectoryError> {
        let p = self.policy_of(user).await?;
        Ok(DirectoryRules {
            min_length: (p.min_length > 0).then_some(p.min_length),
            complexity: p.complexity,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn naming_contexts_and_dn_comparison() {
        assert_eq!(
            naming_context("ou=people, dc=example,dc=org"),
            "dc=example,dc=org"
        );
        assert_eq!(
            naming_context("CN=Users,DC=sspr,DC=test"),
            "DC=sspr,DC=test"
        );
        assert!(same_dn(
            "CN=Admins, OU=Groups,DC=x",
            "cn=admins,ou=groups,dc=x"
        ));
        assert!(!same_dn("cn=admins,dc=x", "cn=admin,dc=x"));
    }

    #[test]
    fn filter_and_dn_values_are_escaped() {
        // RFC 4515: the characters that change a filter's meaning.
        assert_eq!(ldap_escape("*)(uid=*"), "\\2a\\29\\28uid=\\2a");
        assert_eq!(ldap_escape("a\\b\0"), "a\\5cb\\00");
        // A DN used as a filter value (group membership) is escaped the same way.
        assert_eq!(
            ldap_escape("uid=o\\2Bbrien\\2C jr,dc=x"),
            "uid=o\\5c2Bbrien\\5c2C jr,dc=x"
        );
    }
}
