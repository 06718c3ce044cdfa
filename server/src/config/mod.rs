//! `sspr.toml`: the operator's configuration, with `SSPR__SECTION__FIELD`
//! environment overrides. Every error names where it came from (file, line and column,
//! or the environment variable), the field, and the reason. Types, ranges and
//! enumerations are checked by serde as the file is read ([`ranges`],
//! [`Locale`], `policy.methods_available`), so their errors carry the span.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sspr_proto::{PublicConfig, SsprAvailability, config::PasswordRules};

mod error;
mod locale;
mod methods;
mod ranges;
mod secret_files;
pub use error::{ConfigError, Source};
pub use locale::Locale;
pub use ranges::{
    AlertThreshold, ConnectionLimit, ConnectionsPerClient, HashQueue, HashWorkers,
    HeaderTimeoutSecs, IdentifyFloorMs, IdentifyPerIp, IdleTimeoutSecs, LdapPoolSize,
    LdapTimeoutSecs, MaxConnections, MethodsRequired, MinLength, MinScore, PowDifficulty,
    QueueLimit, ReconfirmDays, RequestTimeoutSecs, RetentionDays, RetryFirstSecs, RetryHours,
    StepsPerIp,
};
pub use secret_files::CREDENTIALS_DIRECTORY;
use secret_files::SecretField;
pub use sspr_proto::reset::MethodKind;

/// Prefix of environment overrides: `SSPR__SERVER__BIND=0.0.0.0:8080`.
pub const ENV_PREFIX: &str = "SSPR__";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub store: StoreConfig,
    #[serde(default)]
    pub directory: DirectoryConfig,
    #[serde(default)]
    pub theme: ThemeConfig,
    #[serde(default)]
    pub policy: PolicyConfig,
    #[serde(default)]
    pub password: PasswordConfig,
    #[serde(default)]
    pub reset: ResetConfig,
    #[serde(default)]
    pub secrets: SecretsConfig,
    #[serde(default)]
    pub delivery: DeliveryConfig,
    #[serde(default)]
    pub alerts: AlertsConfig,
    #[serde(default)]
    pub audit: AuditConfig,
}

/// Spike alerts: a mail to every administrator, at most once an hour per
/// kind, when the last hour reaches a threshold. 0 turns a kind off.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsConfig {
    /// Completed self-service password resets in the last hour.
    #[serde(default)]
    pub resets_per_hour: AlertThreshold,
    /// Accounts blocked from self-service reset in the last hour.
    #[serde(default)]
    pub blocks_per_hour: AlertThreshold,
}

/// How long the audit trail keeps events.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    /// Every audit event is deleted this many days after it happened (30 to 3650).
    #[serde(default)]
    pub retention_days: RetentionDays,
    /// The step-by-step "Self-service password reset flow activity progress"
    /// events go sooner: 7 days to `retention_days`.
    #[serde(default = "default_progress_retention_days")]
    pub progress_retention_days: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResetConfig {
    /// Leading zero bits the proof-of-work CAPTCHA demands (8 to 28). Each bit doubles the work.
    #[serde(default)]
    pub pow_difficulty: PowDifficulty,
    /// Domain shown in decoy email masks for identifiers that are not email addresses.
    #[serde(default = "default_decoy_domain")]
    pub decoy_email_domain: String,
    /// Identify always takes at least this long, so known and unknown accounts answer alike.
    #[serde(default)]
    pub identify_floor_ms: IdentifyFloorMs,
    /// Identify attempts (CAPTCHA challenges) per client address per 10 minutes.
    /// An office behind one NAT address shares it; the per-account limits do the real work.
    #[serde(default)]
    pub identify_per_ip: IdentifyPerIp,
    /// Other reset requests per client address per 10 minutes.
    #[serde(default)]
    pub steps_per_ip: StepsPerIp,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretsConfig {
    /// The master key (64 hex characters), kept outside the database. Created on first start.
    #[serde(default = "default_key_file")]
    pub key_file: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailKind {
    /// Append to `<outbox_dir>/mail.jsonl` (development and the demo).
    Outbox,
    Smtp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmsKind {
    /// Append to `<outbox_dir>/sms.jsonl` (development and the demo).
    Outbox,
    /// POST `{"to": "+15550100042", "message": "..."}` as JSON to `sms_http_url`.
    Http,
}

/// How codes are read aloud by a call (`delivery.voice`); unset, no calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VoiceKind {
    /// Append to `<outbox_dir>/voice.jsonl` (development and the demo).
    Outbox,
    /// POST `{"to", "text", "locale", "idempotency_key"}` as JSON to `voice_http_url`.
    Http,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    None,
    Starttls,
    Tls,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryConfig {
    #[serde(default = "default_mail_kind")]
    pub mail: MailKind,
    #[serde(default = "default_sms_kind")]
    pub sms: SmsKind,
    #[serde(default = "default_outbox_dir")]
    pub outbox_dir: PathBuf,
    #[serde(default = "default_smtp_host")]
    pub smtp_host: String,
    #[serde(default = "default_smtp_port")]
    pub smtp_port: u16,
    #[serde(default = "default_smtp_tls")]
    pub smtp_tls: SmtpTls,
    #[serde(default)]
    pub smtp_user: Option<String>,
    #[serde(default)]
    pub smtp_password: Option<crate::secret::Secret>,
    /// A file holding `smtp_password` (or `%d/name`, a systemd credential).
    #[serde(default)]
    pub smtp_password_file: Option<PathBuf>,
    /// The From: of every mail, e.g. `IT Helpdesk <no-reply@contoso.com>`.
    #[serde(default = "default_from")]
    pub from: String,
    /// The SMS gateway's endpoint, when `sms = "http"`. https unless loopback.
    #[serde(default)]
    pub sms_http_url: Option<String>,
    /// Sent as `Authorization: Bearer <token>` to the SMS gateway.
    #[serde(default)]
    pub sms_http_token: Option<crate::secret::Secret>,
    /// A file holding `sms_http_token` (or `%d/name`, a systemd credential).
    #[serde(default)]
    pub sms_http_token_file: Option<PathBuf>,
    /// Voice calls that read codes aloud: unset (no calls), `outbox` or
    /// `http`. With it a mobile phone is offered "Call me" beside "Text me
    /// a code", and office phones (`office_phone`) may be listed in
    /// `policy.methods_available`.
    #[serde(default)]
    pub voice: Option<VoiceKind>,
    /// The voice gateway's endpoint, when `voice = "http"`. https unless loopback.
    #[serde(default)]
    pub voice_http_url: Option<String>,
    /// Sent as `Authorization: Bearer <token>` to the voice gateway.
    #[serde(default)]
    pub voice_http_token: Option<crate::secret::Secret>,
    /// A file holding `voice_http_token` (or `%d/name`, a systemd credential).
    #[serde(default)]
    pub voice_http_token_file: Option<PathBuf>,
    /// The durable outbox: the first wait after a failed try, in seconds;
    /// each later wait doubles, up to an hour.
    #[serde(default)]
    pub retry_first_secs: RetryFirstSecs,
    /// How long a message is retried before it is given up (audited).
    #[serde(default)]
    pub retry_hours: RetryHours,
    /// Messages the outbox may hold; past it a new one is refused (audited).
    #[serde(default)]
    pub queue_limit: QueueLimit,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on.
    #[serde(default = "default_bind")]
    pub bind: SocketAddr,
    /// The portal's public address. Links in mail use it, never the Host header,
    /// and state-changing requests must come from its origin.
    #[serde(default = "default_public_url")]
    pub public_url: String,
    /// Serve the SPA from this directory instead of the copy built into the binary.
    #[serde(default)]
    pub assets_dir: Option<PathBuf>,
    /// The language for readers none of whose languages the portal ships,
    /// and for mail to other administrators, whose language is unknown.
    #[serde(default)]
    pub default_locale: Locale,
    /// Reverse proxies and load balancers (addresses or CIDRs) whose
    /// forwarded header names the client. Empty: the TCP peer is the client.
    #[serde(default)]
    pub trusted_proxies: Vec<crate::client_ip::Cidr>,
    /// The header those proxies write: `x-forwarded-for` or `forwarded` (RFC 7239).
    #[serde(default)]
    pub forwarded_header: crate::client_ip::ForwardedHeader,
    /// Open connections at most; past it a new connection is closed at once.
    #[serde(default)]
    pub connection_limit: ConnectionLimit,
    /// Open connections per client address (IPv6 per /64); not applied to
    /// `trusted_proxies`.
    #[serde(default)]
    pub connection_limit_per_client: ConnectionsPerClient,
    /// A request's headers must be in within this; also how long an idle
    /// keep-alive connection waits for its next request.
    #[serde(default)]
    pub header_timeout_secs: HeaderTimeoutSecs,
    /// A request (its body and its answer) must be done within this.
    #[serde(default)]
    pub request_timeout_secs: RequestTimeoutSecs,
    /// A connection on which no byte moves for this long is closed.
    #[serde(default)]
    pub idle_timeout_secs: IdleTimeoutSecs,
    /// `text` (for people) or `json` (one object per line, for a log
    /// pipeline). What is logged is set by `SSPR_LOG`.
    #[serde(default)]
    pub log_format: LogFormat,
    /// Threads for argon2 (sign-in, password changes, security answers);
    /// 0 = one per core. Each holds 19 MiB.
    #[serde(default)]
    pub hash_workers: HashWorkers,
    /// Password checks that may wait for a thread; past it the answer is
    /// `503 server.busy` with Retry-After.
    #[serde(default)]
    pub hash_queue: HashQueue,
    /// A second listener that serves `GET /metrics` (Prometheus) and nothing
    /// else. Unset: no metrics listener. `/metrics` is never served on `bind`.
    #[serde(default)]
    pub metrics_bind: Option<SocketAddr>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// `sqlite://path?mode=rwc` or `postgres://user@host/db`.
    #[serde(default = "default_store_url")]
    pub url: String,
    #[serde(default)]
    pub max_connections: MaxConnections,
    /// PostgreSQL: a file holding the password, kept out of `url`
    /// (or `%d/name`, a systemd credential).
    #[serde(default)]
    pub password_file: Option<PathBuf>,
}

impl fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreConfig")
            .field("url", &redact_url_password(&self.url))
            .field("max_connections", &self.max_connections)
            .field("password_file", &self.password_file)
            .finish()
    }
}

/// A URL as it may be printed: any password replaced.
pub fn redact_url_password(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("redacted"));
            u.to_string()
        }
        _ => raw.to_string(),
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryConfig {
    #[serde(default)]
    pub kind: DirectoryKind,
    /// Create the documented demo users at start-up (built-in directory only).
    #[serde(default)]
    pub demo_users: bool,
    /// The connection, when `kind` is `ldap` or `active_directory`.
    #[serde(default)]
    pub ldap: Option<LdapConfig>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DirectoryKind {
    #[default]
    Builtin,
    /// OpenLDAP (or another RFC 3062 server), with the ppolicy overlay if present.
    Ldap,
    /// Active Directory or a Samba AD domain controller, over LDAPS only.
    ActiveDirectory,
}

/// `[directory.ldap]`: how the portal reaches an LDAP directory or AD.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LdapConfig {
    /// `ldaps://host:636`, or `ldap://host:389` with `starttls = true`; or a
    /// list of them, tried in order: a server that fails is skipped for
    /// 30 seconds, then tried first again.
    pub url: LdapUrls,
    #[serde(default)]
    pub starttls: bool,
    /// PEM file of the CA(s) that sign the directory's certificate. Unset: the system's roots.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// The portal's service account, allowed to read users and reset passwords.
    pub bind_dn: String,
    /// Required; best given as `SSPR__DIRECTORY__LDAP__BIND_PASSWORD`.
    #[serde(default)]
    pub bind_password: Option<crate::secret::Secret>,
    /// A file holding `bind_password` (or `%d/name`, a systemd credential).
    #[serde(default)]
    pub bind_password_file: Option<PathBuf>,
    /// Where users live, searched with subtree scope.
    pub user_base: String,
    /// Narrows the user search, e.g. `(objectClass=inetOrgPerson)`. Default per directory kind.
    #[serde(default)]
    pub user_filter: Option<String>,
    /// Attributes a user may type to identify themselves. Default: `uid`, `mail`
    /// (LDAP); `sAMAccountName`, `userPrincipalName`, `mail` (AD).
    #[serde(default)]
    pub login_attributes: Option<Vec<String>>,
    /// Where groups live (default: the directory's naming context, from `user_base`).
    #[serde(default)]
    pub group_base: Option<String>,
    /// DN of the group whose members (nested included) are administrators.
    #[serde(default)]
    pub admin_group: Option<String>,
    /// OpenLDAP: the default ppolicy entry, for users without `pwdPolicySubentry`.
    #[serde(default)]
    pub password_policy_dn: Option<String>,
    /// Per-operation and connect timeout, 1 to 10 seconds.
    #[serde(default)]
    pub timeout_secs: LdapTimeoutSecs,
    /// Pooled service connections, 1 to 64.
    #[serde(default)]
    pub pool_size: LdapPoolSize,
}

/// One LDAP URL or several, in the order they are preferred.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LdapUrls(pub Vec<String>);

impl LdapUrls {
    /// The preferred one.
    pub fn first(&self) -> &str {
        self.0.first().map_or("", String::as_str)
    }
}

impl fmt::Display for LdapUrls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(", "))
    }
}

impl<'de> Deserialize<'de> for LdapUrls {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(String),
            Many(Vec<String>),
        }
        let urls = match OneOrMany::deserialize(d)
            .map_err(|_| serde::de::Error::custom("must be a URL or a list of URLs"))?
        {
            OneOrMany::One(u) => vec![u],
            OneOrMany::Many(v) => v,
        };
        if urls.is_empty() {
            return Err(serde::de::Error::custom("needs at least one URL"));
        }
        if urls.len() > 16 {
            return Err(serde::de::Error::custom("takes at most 16 URLs"));
        }
        Ok(LdapUrls(urls))
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThemeConfig {
    /// A theme file read at runtime and re-read when it changes. Unset: the
    /// theme built into the portal.
    #[serde(default)]
    pub file: Option<PathBuf>,
    /// The folder served under `/branding/`: images and fonts only, nothing
    /// else in it is ever served. Default: `branding/` beside the theme file.
    /// The key, the store and the config file may never lie inside it.
    #[serde(default)]
    pub branding_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SsprEnabled {
    None,
    All,
    Group,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    #[serde(default = "default_sspr_enabled")]
    pub sspr_enabled: SsprEnabled,
    /// The group whose members (nested groups resolved) may reset, when `sspr_enabled = "group"`.
    #[serde(default)]
    pub sspr_group: Option<String>,
    /// Methods a user must prove to reset: 1 or 2. Administrators always need 2.
    #[serde(default)]
    pub methods_required: MethodsRequired,
    /// Kinds a user may register and prove: at least one of `authenticator`,
    /// `email`, `sms` (recovery codes and questions have switches of their own).
    #[serde(
        default = "methods::default_available",
        deserialize_with = "methods::available"
    )]
    pub methods_available: Vec<MethodKind>,
    /// Security questions as an extra (never sole) method. Off by default.
    #[serde(default)]
    pub security_questions: bool,
    /// The questions users choose 3 from, when security questions are on.
    #[serde(default = "default_questions")]
    pub questions: Vec<String>,
    /// Single-use recovery codes as a method (10 per set). On by default.
    #[serde(default = "default_true")]
    pub recovery_codes: bool,
    /// Passkeys (WebAuthn) as a method: a reset gate, and a way to sign in
    /// with no password. Off by default; needs a domain name (not an IP
    /// address) in `server.public_url`, the relying party's id.
    #[serde(default)]
    pub passkeys: bool,
    /// When true, one of an administrator's two reset gates must be a
    /// passkey (phishing resistant).
    #[serde(default)]
    pub admins_require_phishing_resistant: bool,
    /// Days before users reconfirm their security info; 0 = never, at most 730.
    #[serde(default)]
    pub reconfirm_days: ReconfirmDays,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordConfig {
    /// In Unicode code points. At least 8.
    #[serde(default)]
    pub min_length: MinLength,
    #[serde(default = "default_max_length")]
    pub max_length: u16,
    /// Minimum zxcvbn score, 0 to 4.
    #[serde(default)]
    pub min_score: MinScore,
    /// Active Directory's complexity rule (three kinds of character). An AD
    /// connector turns it on from the domain policy; set it here to require
    /// it of any directory.
    #[serde(default)]
    pub complexity: bool,
    /// The organisation's own banned terms (up to 1,000, 4 to 64 characters),
    /// on top of the global list.
    #[serde(default)]
    pub banned_custom: Vec<String>,
    /// `enforce` refuses banned passwords; `audit` only records would-be
    /// refusals (see `sspr policy report`).
    #[serde(default)]
    pub banned_mode: BannedMode,
    /// A directory of Pwned Passwords range files (`<PREFIX>` or
    /// `<PREFIX>.txt`, lines `SUFFIX:COUNT`) to check new passwords against.
    #[serde(default)]
    pub breached_range_dir: Option<PathBuf>,
    /// Or a range API, e.g. `https://api.pwnedpasswords.com/range/`; only the
    /// 5-character SHA-1 prefix is sent.
    #[serde(default)]
    pub breached_range_url: Option<String>,
    /// The folded global and custom terms, built once.
    #[serde(skip)]
    banned_terms: std::sync::OnceLock<Vec<String>>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BannedMode {
    #[default]
    Enforce,
    Audit,
}

impl PasswordConfig {
    /// The configured rules, before the directory adds its own.
    pub fn rules(&self) -> PasswordRules {
        PasswordRules {
            min_length: self.min_length.get(),
            max_length: self.max_length,
            min_score: self.min_score.get(),
            complexity: self.complexity,
        }
    }

    /// The global list plus the custom terms, folded, sorted, deduplicated.
    pub fn banned_terms(&self) -> &[String] {
        self.banned_terms.get_or_init(|| {
            sspr_policy::banned::terms_from(
                sspr_policy::banned::GLOBAL_LIST
                    .lines()
                    .chain(self.banned_custom.iter().map(String::as_str)),
            )
        })
    }
}

fn default_progress_retention_days() -> u32 {
    90
}
fn default_decoy_domain() -> String {
    "example.com".into()
}
fn default_key_file() -> PathBuf {
    "sspr.key".into()
}
fn default_mail_kind() -> MailKind {
    MailKind::Outbox
}
fn default_sms_kind() -> SmsKind {
    SmsKind::Outbox
}
fn default_outbox_dir() -> PathBuf {
    "outbox".into()
}
fn default_smtp_host() -> String {
    "localhost".into()
}
fn default_smtp_port() -> u16 {
    25
}
fn default_smtp_tls() -> SmtpTls {
    SmtpTls::Starttls
}
fn default_from() -> String {
    "Password reset <no-reply@localhost>".into()
}

fn default_bind() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}
fn default_public_url() -> String {
    "http://127.0.0.1:8080".into()
}
fn default_store_url() -> String {
    "sqlite://sspr.db?mode=rwc".into()
}
fn default_sspr_enabled() -> SsprEnabled {
    SsprEnabled::All
}
fn default_questions() -> Vec<String> {
    [
        "What was the name of your first pet?",
        "In what city were you born?",
        "What was the first concert you went to?",
        "What was the make of your first car?",
        "What is the name of the street you grew up on?",
        "What was the name of your first school?",
        "What is your oldest cousin's first name?",
        "In what city did your parents meet?",
        "What was your childhood nickname?",
        "What was the first film you saw in a cinema?",
    ]
    .map(String::from)
    .to_vec()
}
fn default_true() -> bool {
    true
}
fn default_max_length() -> u16 {
    256
}

macro_rules! default_from_serde {
    ($($t:ty),*) => {$(
        impl Default for $t {
            fn default() -> Self {
                // An empty table takes every field's documented default.
                toml::from_str("").expect("defaults deserialize")
            }
        }
    )*};
}
default_from_serde!(
    ServerConfig,
    StoreConfig,
    DirectoryConfig,
    PolicyConfig,
    PasswordConfig,
    ResetConfig,
    SecretsConfig,
    DeliveryConfig,
    AlertsConfig,
    AuditConfig
);

impl Config {
    /// Reads `path`, applies overrides from `env` (`(name, value)` pairs), validates.
    pub fn load(
        path: &Path,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::in_file(path, "", None, None, format!("cannot read the file: {e}"))
        })?;
        Self::from_str_at(&text, path, env)
    }

    /// As [`Config::load`], with the file's text given.
    pub fn from_str_at(
        text: &str,
        path: &Path,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        // Pass 1: the file alone, so errors carry the value's span: every
        // type, range and enumeration is checked here, by serde.
        let de = toml::de::Deserializer::new(text);
        let mut config: Config = serde_path_to_error::deserialize(de).map_err(|e| {
            let field = Some(e.path().to_string()).filter(|p| p != "." && !p.is_empty());
            let inner = e.into_inner();
            ConfigError::in_file(
                path,
                text,
                inner.span(),
                field,
                inner.message().trim().to_string(),
            )
        })?;

        // Pass 2: environment overrides on top, blamed on their variable.
        let env: Vec<(String, String)> = env.into_iter().collect();
        let credentials = env
            .iter()
            .find(|(k, v)| k == CREDENTIALS_DIRECTORY && !v.is_empty())
            .map(|(_, v)| PathBuf::from(v));
        let overrides: Vec<(String, Vec<String>, toml::Value)> = env
            .into_iter()
            .filter_map(|(name, value)| {
                let rest = name.strip_prefix(ENV_PREFIX)?;
                let keys: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
                Some((name, keys, env_value(&value)))
            })
            .collect();
        if !overrides.is_empty() {
            let mut tree: toml::Value = toml::from_str(text).map_err(|e| {
                ConfigError::in_file(path, text, e.span(), None, e.message().to_string())
            })?;
            for (name, keys, value) in &overrides {
                set_path(&mut tree, keys, value.clone()).map_err(|reason| {
                    ConfigError::elsewhere(Source::Env(name.clone()), Some(keys.join(".")), reason)
                })?;
            }
            config = serde_path_to_error::deserialize(tree).map_err(|e| {
                let field = e.path().to_string();
                let blamed = overrides
                    .iter()
                    .find(|(_, keys, _)| field.starts_with(&keys.join(".")))
                    .map(|(n, _, _)| Source::Env(n.clone()))
                    .unwrap_or(Source::File {
                        path: path.to_path_buf(),
                        line: None,
                        column: None,
                    });
                let reason = e.into_inner().message().trim().to_string();
                ConfigError::elsewhere(blamed, Some(field), reason)
            })?;
        }

        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let base = std::path::absolute(dir).unwrap_or_default();
        let config_file = base.join(path.file_name().unwrap_or_default());
        config
            .expand_credentials(credentials.as_deref())
            .and_then(|()| {
                config.resolve_paths(&base);
                config.read_secret_files(credentials.as_deref())
            })
            .and_then(|()| config.validate())
            .and_then(|()| config.check_layout(&config_file))
            .map_err(|(field, reason)| {
                match overrides
                    .iter()
                    .find(|(_, keys, _)| keys.join(".") == field)
                {
                    Some((name, _, _)) => {
                        ConfigError::elsewhere(Source::Env(name.clone()), Some(field), reason)
                    }
                    None => {
                        let span = find_value_span(text, &field);
                        ConfigError::in_file(path, text, span, Some(field), reason)
                    }
                }
            })?;
        Ok(config)
    }

    /// Every secret field with its `_file` twin.
    fn secret_fields(&mut self) -> Vec<SecretField<'_>> {
        let d = &mut self.delivery;
        let mut out = vec![
            SecretField {
                name: "delivery.smtp_password",
                value: &mut d.smtp_password,
                file: &mut d.smtp_password_file,
            },
            SecretField {
                name: "delivery.sms_http_token",
                value: &mut d.sms_http_token,
                file: &mut d.sms_http_token_file,
            },
            SecretField {
                name: "delivery.voice_http_token",
                value: &mut d.voice_http_token,
                file: &mut d.voice_http_token_file,
            },
        ];
        if let Some(l) = self.directory.ldap.as_mut() {
            out.push(SecretField {
                name: "directory.ldap.bind_password",
                value: &mut l.bind_password,
                file: &mut l.bind_password_file,
            });
        }
        out
    }

    /// `%d/` and `$CREDENTIALS_DIRECTORY/` in secret file paths.
    fn expand_credentials(&mut self, credentials: Option<&Path>) -> Result<(), (String, String)> {
        for f in self.secret_fields() {
            if let Some(p) = f.file.as_mut() {
                secret_files::expand(p, credentials)
                    .map_err(|r| (format!("{}_file", f.name), r))?;
            }
        }
        if let Some(p) = self.store.password_file.as_mut() {
            secret_files::expand(p, credentials).map_err(|r| ("store.password_file".into(), r))?;
        }
        Ok(())
    }

    /// Reads every `_file` secret (relative to the config file's folder),
    /// and the systemd credentials named after unset secret fields.
    fn read_secret_files(&mut self, credentials: Option<&Path>) -> Result<(), (String, String)> {
        for f in self.secret_fields() {
            secret_files::read(f, credentials)?;
        }
        let mut password = None;
        secret_files::read(
            SecretField {
                name: "store.password",
                value: &mut password,
                file: &mut self.store.password_file,
            },
            credentials,
        )?;
        let Some(password) = password else {
            return Ok(());
        };
        let field = "store.password_file";
        let mut url = url::Url::parse(&self.store.url)
            .ok()
            .filter(|u| matches!(u.scheme(), "postgres" | "postgresql"))
            .ok_or_else(|| {
                (
                    field.to_string(),
                    "is only read for a postgres:// store.url".into(),
                )
            })?;
        if url.password().is_some() {
            return Err((
                field.into(),
                "cannot be set while store.url holds a password: keep it in one place".into(),
            ));
        }
        url.set_password(Some(password.expose())).map_err(|()| {
            (
                field.to_string(),
                "store.url needs a user for a password".into(),
            )
        })?;
        self.store.url = url.into();
        Ok(())
    }

    /// Relative paths are relative to the config file, not the working directory.
    fn resolve_paths(&mut self, base: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        if let Some(p) = self.server.assets_dir.as_mut() {
            fix(p);
        }
        if let Some(p) = self.theme.file.as_mut() {
            fix(p);
        }
        if let Some(p) = self.theme.branding_dir.as_mut() {
            fix(p);
        }
        if self.theme.branding_dir.is_none() {
            self.theme.branding_dir = self
                .theme
                .file
                .as_deref()
                .and_then(Path::parent)
                .map(|d| d.join("branding"));
        }
        fix(&mut self.secrets.key_file);
        fix(&mut self.delivery.outbox_dir);
        for f in self.secret_fields() {
            if let Some(p) = f.file {
                fix(p);
            }
        }
        if let Some(p) = self.store.password_file.as_mut() {
            fix(p);
        }
        if let Some(p) = self.password.breached_range_dir.as_mut() {
            fix(p);
        }
        if let Some(p) = self
            .directory
            .ldap
            .as_mut()
            .and_then(|l| l.ca_file.as_mut())
        {
            fix(p);
        }
        if let Some(rest) = self.store.url.strip_prefix("sqlite://") {
            let (file, query) = rest.split_once('?').unwrap_or((rest, ""));
            if !file.is_empty() && !file.starts_with(':') && Path::new(file).is_relative() {
                let abs = base.join(file);
                let q = if query.is_empty() {
                    String::new()
                } else {
                    format!("?{query}")
                };
                self.store.url = format!("sqlite://{}{q}", abs.display());
            }
        }
    }

    /// The directory connection: never cleartext, AD over LDAPS only, and a
    /// timeout short enough that a dead directory fails a request clearly.
    fn check_directory(&self) -> Result<(), (String, String)> {
        let err = |f: &str, r: String| Err((f.to_string(), r));
        let d = &self.directory;
        let Some(l) = &d.ldap else {
            if d.kind != DirectoryKind::Builtin {
                return err(
                    "directory.ldap",
                    "is required when directory.kind is ldap or active_directory".into(),
                );
            }
            return Ok(());
        };
        if d.kind == DirectoryKind::Builtin {
            return err(
                "directory.ldap",
                "is only read when directory.kind is ldap or active_directory".into(),
            );
        }
        for u in &l.url.0 {
            let scheme = url::Url::parse(u)
                .ok()
                .filter(|u| u.host().is_some())
                .map(|u| u.scheme().to_string());
            match (scheme.as_deref(), l.starttls, d.kind) {
                (Some("ldaps"), false, _) => {}
                (Some("ldap"), true, DirectoryKind::Ldap) => {}
                (Some("ldaps"), true, _) => {
                    return err(
                        "directory.ldap.starttls",
                        "cannot be combined with an ldaps:// URL".into(),
                    );
                }
                (Some("ldap"), _, DirectoryKind::ActiveDirectory) => {
                    return err(
                        "directory.ldap.url",
                        format!("must be ldaps:// for Active Directory, not {:?}", u),
                    );
                }
                (Some("ldap"), false, _) => {
                    return err(
                        "directory.ldap.url",
                        format!(
                            "sends passwords in clear: use ldaps:// or set starttls = true, not {:?}",
                            u
                        ),
                    );
                }
                _ => {
                    return err(
                        "directory.ldap.url",
                        format!(
                            "must be an ldaps:// or ldap:// URL with a host, not {:?}",
                            u
                        ),
                    );
                }
            }
        }
        let mut seen = std::collections::HashSet::new();
        if let Some(dup) = l.url.0.iter().find(|u| !seen.insert(u.as_str())) {
            return err("directory.ldap.url", format!("lists {dup:?} twice"));
        }
        if l.bind_password
            .as_ref()
            .is_none_or(|p| p.expose().is_empty())
        {
            return err(
                "directory.ldap.bind_password",
                "is required (in the file or as SSPR__DIRECTORY__LDAP__BIND_PASSWORD)".into(),
            );
        }
        if d.demo_users {
            return err(
                "directory.demo_users",
                "only applies to the built-in directory".into(),
            );
        }
        Ok(())
    }

    /// The folders the portal serves files from, by the field that names them.
    pub fn served_folders(&self) -> Vec<(&'static str, &Path)> {
        let mut out = Vec::new();
        if let Some(d) = &self.theme.branding_dir {
            out.push(("theme.branding_dir", d.as_path()));
        }
        if let Some(d) = &self.server.assets_dir {
            out.push(("server.assets_dir", d.as_path()));
        }
        out
    }

    /// The SQLite database file, when the store is SQLite on disk.
    /// The path as SQLite will open it: percent-encoding decoded, as sqlx
    /// decodes it (`branding%2Fs.db` is `branding/s.db`).
    pub fn sqlite_file(&self) -> Option<PathBuf> {
        let rest = self.store.url.strip_prefix("sqlite:")?;
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        let file = percent_decode(rest.split('?').next().unwrap_or(rest));
        (!file.is_empty() && !file.starts_with(':')).then(|| PathBuf::from(file))
    }

    /// Secrets never lie inside a folder the portal serves: the master key,
    /// the store, the dev outbox (it holds codes) and this file itself. A
    /// symlink does not hide one: paths are compared as written and resolved.
    fn check_layout(&self, config_file: &Path) -> Result<(), (String, String)> {
        let mut secrets: Vec<(&str, PathBuf)> = vec![
            ("secrets.key_file", self.secrets.key_file.clone()),
            ("delivery.outbox_dir", self.delivery.outbox_dir.clone()),
        ];
        if let Some(db) = self.sqlite_file() {
            secrets.push(("store.url", db));
        }
        let files = [
            (
                "delivery.smtp_password_file",
                &self.delivery.smtp_password_file,
            ),
            (
                "delivery.sms_http_token_file",
                &self.delivery.sms_http_token_file,
            ),
            (
                "delivery.voice_http_token_file",
                &self.delivery.voice_http_token_file,
            ),
            ("store.password_file", &self.store.password_file),
        ];
        let ldap = self.directory.ldap.as_ref();
        let ldap_file = ldap.and_then(|l| l.bind_password_file.clone());
        for (field, file) in files {
            if let Some(f) = file {
                secrets.push((field, f.clone()));
            }
        }
        if let Some(f) = ldap_file {
            secrets.push(("directory.ldap.bind_password_file", f));
        }
        secrets.push(("", config_file.to_path_buf()));
        for (served_field, served) in self.served_folders() {
            for (field, secret) in &secrets {
                if !is_within(secret, served) {
                    continue;
                }
                let what = if field.is_empty() {
                    "the configuration file".to_string()
                } else {
                    format!("`{field}`")
                };
                let blamed = if field.is_empty() {
                    served_field
                } else {
                    field
                };
                return Err((
                    blamed.to_string(),
                    format!(
                        "{what} ({}) is inside `{served_field}` ({}), which the portal serves over HTTP: \
                         keep keys, stores and configuration outside every served folder",
                        secret.display(),
                        served.display()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Rules serde cannot express. Returns `(field, reason)`.
    fn validate(&self) -> Result<(), (String, String)> {
        let err = |f: &str, r: String| Err((f.to_string(), r));
        match url::Url::parse(&self.server.public_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
                if u.scheme() == "http" && !is_loopback_host(&u) {
                    return err(
                        "server.public_url",
                        "must use https unless the host is loopback".into(),
                    );
                }
            }
            Ok(_) => {
                return err(
                    "server.public_url",
                    "must be an http(s) URL with a host".into(),
                );
            }
            Err(e) => return err("server.public_url", format!("is not a URL: {e}")),
        }
        let srv = &self.server;
        if let Some(m) = srv.metrics_bind {
            let b = srv.bind;
            let same_ip = m.ip() == b.ip() || m.ip().is_unspecified() || b.ip().is_unspecified();
            if m.port() != 0 && m.port() == b.port() && same_ip {
                return err(
                    "server.metrics_bind",
                    format!(
                        "must not be server.bind's address ({b}): metrics have a listener of their own"
                    ),
                );
            }
        }
        if !(self.store.url.starts_with("sqlite:")
            || self.store.url.starts_with("postgres://")
            || self.store.url.starts_with("postgresql://"))
        {
            return err(
                "store.url",
                "must start with sqlite:, postgres:// or postgresql://".into(),
            );
        }
        let p = &self.policy;
        if p.sspr_enabled == SsprEnabled::Group
            && p.sspr_group.as_deref().unwrap_or("").trim().is_empty()
        {
            return err(
                "policy.sspr_group",
                "must name a group when sspr_enabled = \"group\"".into(),
            );
        }
        let mut seen = std::collections::HashSet::new();
        for q in &p.questions {
            let n = q.trim().chars().count();
            if !(5..=200).contains(&n) {
                return err(
                    "policy.questions",
                    format!("each question needs 5 to 200 characters: {q:?}"),
                );
            }
            if !seen.insert(q.trim().to_lowercase()) {
                return err("policy.questions", format!("{q:?} is listed twice"));
            }
        }
        if (p.passkeys || p.admins_require_phishing_resistant)
            && url::Url::parse(&self.server.public_url)
                .ok()
                .and_then(|u| u.domain().map(str::to_string))
                .is_none()
        {
            return err(
                "policy.passkeys",
                "passkeys need a domain name in server.public_url (an IP address cannot be a \
                 WebAuthn relying party; `localhost` works for trials)"
                    .to_string(),
            );
        }
        if p.admins_require_phishing_resistant && !p.passkeys {
            return err(
                "policy.admins_require_phishing_resistant",
                "needs passkeys = true".to_string(),
            );
        }
        if p.security_questions && p.questions.len() < sspr_proto::security_info::QUESTIONS {
            return err(
                "policy.questions",
                format!(
                    "list at least {} questions when security_questions = true",
                    sspr_proto::security_info::QUESTIONS
                ),
            );
        }
        let a = &self.audit;
        if !(7..=a.retention_days.get()).contains(&a.progress_retention_days) {
            return err(
                "audit.progress_retention_days",
                format!(
                    "must be 7 to audit.retention_days ({}), not {}",
                    a.retention_days, a.progress_retention_days
                ),
            );
        }
        let r = &self.reset;
        if !r.decoy_email_domain.contains('.') || r.decoy_email_domain.contains('@') {
            return err(
                "reset.decoy_email_domain",
                "must be a domain such as example.com".into(),
            );
        }
        if self.delivery.voice == Some(VoiceKind::Http) {
            match self.delivery.voice_http_url.as_deref().map(url::Url::parse) {
                Some(Ok(u))
                    if u.scheme() == "https" || (u.scheme() == "http" && is_loopback_host(&u)) => {}
                Some(Ok(_)) => {
                    return err(
                        "delivery.voice_http_url",
                        "must use https unless the host is loopback".into(),
                    );
                }
                Some(Err(e)) => {
                    return err("delivery.voice_http_url", format!("is not a URL: {e}"));
                }
                None => {
                    return err(
                        "delivery.voice_http_url",
                        "is required when delivery.voice = \"http\"".into(),
                    );
                }
            }
        }
        if self.delivery.voice.is_none()
            && self
                .policy
                .methods_available
                .contains(&MethodKind::OfficePhone)
        {
            return err(
                "policy.methods_available",
                "lists office_phone, whose codes come by a call: set delivery.voice".into(),
            );
        }
        if self.delivery.sms == SmsKind::Http {
            match self.delivery.sms_http_url.as_deref().map(url::Url::parse) {
                Some(Ok(u))
                    if u.scheme() == "https" || (u.scheme() == "http" && is_loopback_host(&u)) => {}
                Some(Ok(_)) => {
                    return err(
                        "delivery.sms_http_url",
                        "must use https unless the host is loopback".into(),
                    );
                }
                Some(Err(e)) => return err("delivery.sms_http_url", format!("is not a URL: {e}")),
                None => {
                    return err(
                        "delivery.sms_http_url",
                        "is required when delivery.sms = \"http\"".into(),
                    );
                }
            }
        }
        if self.delivery.mail == MailKind::Smtp
            && self.delivery.smtp_tls == SmtpTls::None
            && !is_loopback_name(&self.delivery.smtp_host)
        {
            return err(
                "delivery.smtp_tls",
                format!(
                    "\"none\" sends codes in clear: it is only allowed for a relay on loopback, not {:?}; use \"starttls\" or \"tls\"",
                    self.delivery.smtp_host
                ),
            );
        }
        if self
            .delivery
            .from
            .parse::<lettre::message::Mailbox>()
            .is_err()
        {
            return err(
                "delivery.from",
                format!("is not a mailbox: {:?}", self.delivery.from),
            );
        }
        self.check_directory()?;
        let pw = &self.password;
        if pw.max_length < pw.min_length.get() || pw.max_length > 1024 {
            return err(
                "password.max_length",
                format!(
                    "must be between min_length ({}) and 1024, not {}",
                    pw.min_length, pw.max_length
                ),
            );
        }
        if let Some(u) = &pw.breached_range_url {
            let ok = url::Url::parse(u)
                .is_ok_and(|p| (p.scheme() == "https" || is_loopback_host(&p)) && u.ends_with('/'));
            if !ok {
                return err(
                    "password.breached_range_url",
                    format!("must be an https URL ending in / (the prefix is appended), not {u:?}"),
                );
            }
        }
        if pw.banned_custom.len() > sspr_policy::banned::MAX_CUSTOM_TERMS {
            return err(
                "password.banned_custom",
                format!(
                    "at most {} terms, not {}",
                    sspr_policy::banned::MAX_CUSTOM_TERMS,
                    pw.banned_custom.len()
                ),
            );
        }
        if let Some(t) = pw
            .banned_custom
            .iter()
            .find(|t| !(sspr_policy::banned::MIN_TERM..=64).contains(&t.trim().chars().count()))
        {
            return err(
                "password.banned_custom",
                format!("each term needs 4 to 64 characters: {t:?}"),
            );
        }
        Ok(())
    }

    /// The origin (`scheme://host[:port]`) state-changing requests must come from.
    pub fn public_origin(&self) -> String {
        url::Url::parse(&self.server.public_url)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_default()
    }

    /// The shipped locale `server.default_locale` names (validated at load).
    pub fn default_locale(&self) -> &'static str {
        self.server.default_locale.get()
    }

    /// What `/api/config` tells the SPA.
    pub fn public_summary(&self) -> PublicConfig {
        PublicConfig {
            sspr: match self.policy.sspr_enabled {
                SsprEnabled::None => SsprAvailability::None,
                SsprEnabled::All => SsprAvailability::All,
                SsprEnabled::Group => SsprAvailability::Group,
            },
            methods_required: self.policy.methods_required.get(),
            methods_available: self
                .policy
                .methods_available
                .iter()
                .map(|m| methods::name(*m).to_string())
                .collect(),
            password: self.password.rules(),
            reconfirm_days: self.policy.reconfirm_days.get(),
            default_locale: self.default_locale().into(),
            passkeys: self.policy.passkeys,
        }
    }
}

/// `%2F` and friends decoded; anything that is not a valid escape stays.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push(u8::try_from(h * 16 + l).unwrap_or(b'%'));
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether `path` is `folder` or lies below it: compared lexically (`..`
/// folded), and as the operating system resolves them (symlinks followed
/// before `..`, as `open` does), where they exist.
pub fn is_within(path: &Path, folder: &Path) -> bool {
    let lexical = |p: &Path| {
        let mut out = PathBuf::new();
        for c in std::path::absolute(p)
            .unwrap_or_else(|_| p.to_path_buf())
            .components()
        {
            match c {
                std::path::Component::ParentDir => {
                    out.pop();
                }
                std::path::Component::CurDir => {}
                other => out.push(other),
            }
        }
        out
    };
    lexical(path).starts_with(lexical(folder)) || resolved(path).starts_with(resolved(folder))
}

/// `p` as `open` would find it: the longest prefix of the path *as written*
/// that exists is resolved by the system (so `link/..` is the parent of the
/// link's target, not of the link), and the rest, which does not exist and
/// so holds no symlink, is folded lexically. A file that does not exist yet
/// (a key created on first start) resolves through its folder.
fn resolved(p: &Path) -> PathBuf {
    let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let parts: Vec<std::path::Component> = abs.components().collect();
    for keep in (1..=parts.len()).rev() {
        let prefix: PathBuf = parts[..keep].iter().collect();
        if let Ok(mut real) = std::fs::canonicalize(&prefix) {
            for c in &parts[keep..] {
                match c {
                    std::path::Component::ParentDir => {
                        real.pop();
                    }
                    std::path::Component::CurDir => {}
                    other => real.push(other),
                }
            }
            return real;
        }
    }
    abs
}

/// `localhost`, `127.0.0.1`, `::1` and the rest of the loopback ranges.
fn is_loopback_name(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn is_loopback_host(u: &url::Url) -> bool {
    match u.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Best effort: the span of the value `section.key` is set to in the file
/// (for rules that compare fields, checked after serde).
fn find_value_span(text: &str, field: &str) -> Option<std::ops::Range<usize>> {
    let (section, key) = field.rsplit_once('.')?;
    let mut in_section = false;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let here = offset;
        offset += line.len();
        let t = line.trim();
        if t.starts_with('[') {
            in_section = t.trim_matches(|c| c == '[' || c == ']').trim() == section;
        } else if in_section
            && let Some((k, v)) = line.split_once('=')
            && k.trim() == key
        {
            let value = v.trim();
            let start = here + k.len() + 1 + (v.len() - v.trim_start().len());
            return Some(start..start + value.len());
        }
    }
    None
}

/// An environment value is read as a TOML value when it is one (`8080`, `true`,
/// `["email"]`), else as a plain string.
fn env_value(raw: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_string()))
}

fn set_path(tree: &mut toml::Value, keys: &[String], value: toml::Value) -> Result<(), String> {
    let Some((last, parents)) = keys.split_last() else {
        return Err("names no field".into());
    };
    let mut node = tree;
    for k in parents {
        let table = node
            .as_table_mut()
            .ok_or_else(|| format!("`{k}` is not a table"))?;
        node = table
            .entry(k.clone())
            .or_insert_with(|| toml::Value::Table(Default::default()));
    }
    node.as_table_mut()
        .ok_or_else(|| format!("cannot set `{last}` inside a non-table value"))?
        .insert(last.clone(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_str_at(
            text,
            Path::new("/etc/sspr/sspr.toml"),
            env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )
    }

    #[test]
    fn the_default_language_is_a_shipped_one() {
        assert_eq!(load("", &[]).unwrap().default_locale(), "en");
        let c = load("[server]\ndefault_locale = \"de-CH\"", &[]).unwrap();
        assert_eq!(c.default_locale(), "de");
        // 0 is not "no limit": it would refuse every client.
        for (toml, at) in [
            (
                "[reset]\nidentify_per_ip = 0\n",
                "2:19: field `reset.identify_per_ip`",
            ),
            (
                "[reset]\nsteps_per_ip = 0\n",
                "2:16: field `reset.steps_per_ip`",
            ),
            (
                "[server]\nconnection_limit_per_client = 0\n",
                "2:31: field `server.connection_limit_per_client`",
            ),
        ] {
            let e = load(toml, &[]).unwrap_err().to_string();
            assert!(
                e.starts_with(&format!("/etc/sspr/sspr.toml:{at}: must be")),
                "{e}"
            );
            assert!(e.ends_with("(0 would refuse every client), not 0"), "{e}");
        }
        let e = load("[server]\ndefault_locale = \"cy\"", &[]).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("server.default_locale"));
        assert!(
            e.reason
                .starts_with("\"cy\" is not a language the portal ships: one of ar, de, en,"),
            "{}",
            e.reason
        );
    }

    #[test]
    fn secrets_inside_a_served_folder_stop_the_start() {
        // The old layout: branding served from the folder that holds the key.
        let e = load(
            "[theme]\nfile = \"theme.json\"\nbranding_dir = \".\"\n",
            &[],
        )
        .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("secrets.key_file"));
        assert!(
            e.reason.starts_with(
                "`secrets.key_file` (/etc/sspr/sspr.key) is inside `theme.branding_dir` (/etc/sspr/.), which the portal serves over HTTP"
            ),
            "{e}"
        );
        // The default branding folder is its own subfolder: fine.
        let c = load("[theme]\nfile = \"theme.json\"\n", &[]).unwrap();
        assert_eq!(
            c.theme.branding_dir.as_deref(),
            Some(Path::new("/etc/sspr/branding"))
        );
        let elsewhere = "[secrets]\nkey_file = \"/var/lib/sspr/sspr.key\"\n\
                         [store]\nurl = \"sqlite:///var/lib/sspr/sspr.db?mode=rwc\"\n";
        let field = |extra: &str| {
            load(&format!("{elsewhere}{extra}"), &[])
                .unwrap_err()
                .field
                .unwrap_or_default()
        };
        assert_eq!(
            field("[server]\nassets_dir = \"/var/lib\"\n"),
            "secrets.key_file"
        );
        assert_eq!(
            field(
                "[delivery]\noutbox_dir = \"/srv/www/outbox\"\n[server]\nassets_dir = \"/srv/www\"\n"
            ),
            "delivery.outbox_dir"
        );
        // The config file itself, served: blamed on the folder.
        assert_eq!(
            field(
                "[delivery]\noutbox_dir = \"/var/lib/sspr/outbox\"\n[theme]\nbranding_dir = \"/etc/sspr/../sspr\"\n"
            ),
            "theme.branding_dir"
        );
        let db = load(
            "[store]\nurl = \"sqlite:///srv/www/sspr.db\"\n[server]\nassets_dir = \"/srv/www\"\n",
            &[],
        )
        .unwrap_err();
        assert_eq!(db.field.as_deref(), Some("store.url"));
        // Percent-encoding does not hide the store's folder.
        let encoded = load(
            "[store]\nurl = \"sqlite://www%2Fsspr.db?mode=rwc\"\n[server]\nassets_dir = \"www\"\n",
            &[],
        )
        .unwrap_err();
        assert_eq!(encoded.field.as_deref(), Some("store.url"), "{encoded}");
        assert!(
            db.to_string()
                .starts_with("/etc/sspr/sspr.toml:2:7: field `store.url`"),
            "{db}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_path_through_a_symlink_and_back_does_not_hide_the_key() {
        // other/bs -> ../branding/sub: other/bs/../key.png is branding/key.png.
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("branding/sub")).unwrap();
        std::fs::create_dir_all(dir.path().join("other")).unwrap();
        std::os::unix::fs::symlink("../branding/sub", dir.path().join("other/bs")).unwrap();
        std::fs::write(dir.path().join("theme.json"), "{}").unwrap();
        let cfg = dir.path().join("sspr.toml");
        let text =
            "[theme]\nfile = \"theme.json\"\n[secrets]\nkey_file = \"other/bs/../key2.png\"\n";
        let e = Config::from_str_at(text, &cfg, []).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("secrets.key_file"), "{e}");
        // The served folder written that way is caught too.
        std::os::unix::fs::symlink("../branding", dir.path().join("other/br")).unwrap();
        let text = "[theme]\nfile = \"theme.json\"\nbranding_dir = \"other/br/..\"\n";
        let e = Config::from_str_at(text, &cfg, []).unwrap_err();
        assert!(e.to_string().contains("theme.branding_dir"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_branding_folder_does_not_hide_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let etc = dir.path().join("etc");
        std::fs::create_dir_all(&etc).unwrap();
        std::os::unix::fs::symlink(&etc, dir.path().join("public")).unwrap();
        let cfg = etc.join("sspr.toml");
        let text = format!(
            "[theme]\nbranding_dir = \"{}\"\n[delivery]\noutbox_dir = \"{}\"\n",
            dir.path().join("public").display(),
            dir.path().join("outbox").display()
        );
        let e = Config::from_str_at(&text, &cfg, []).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("secrets.key_file"), "{e}");
    }

    #[test]
    fn smtp_without_tls_is_for_loopback_relays_only() {
        let smtp = |host: &str| {
            load(
                &format!(
                    "[delivery]\nmail = \"smtp\"\nsmtp_tls = \"none\"\nsmtp_host = \"{host}\"\n"
                ),
                &[],
            )
        };
        let e = smtp("smtp.example.com").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("delivery.smtp_tls"));
        assert!(
            e.reason.contains("only allowed for a relay on loopback"),
            "{e}"
        );
        assert!(smtp("10.0.0.5").is_err());
        for host in ["127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.53"] {
            assert!(smtp(host).is_ok(), "{host}");
        }
    }

    #[test]
    fn empty_file_takes_documented_defaults() {
        let c = load("", &[]).unwrap();
        assert_eq!(c.server.bind, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(c.policy.methods_required, 1);
        assert_eq!(c.policy.reconfirm_days, 180);
        assert_eq!(
            (
                c.password.min_length.get(),
                c.password.max_length,
                c.password.min_score.get()
            ),
            (8, 256, 3)
        );
        assert_eq!(
            c.store.url, "sqlite:///etc/sspr/sspr.db?mode=rwc",
            "relative to the config file"
        );
    }

    #[test]
    fn the_committed_example_config_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/sspr.example.toml");
        Config::load(&path, []).unwrap();
        let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/demo.toml");
        Config::load(&demo, []).unwrap();
    }

    #[test]
    fn directory_connections_are_checked_before_any_is_tried() {
        let ldap = |kind: &str, url: &str, extra: &str| {
            format!(
                "[directory]\nkind = \"{kind}\"\n[directory.ldap]\nurl = \"{url}\"\n\
                 bind_dn = \"cn=s\"\nbind_password = \"p\"\nuser_base = \"dc=x\"\n{extra}"
            )
        };
        let field = |text: &str| load(text, &[]).unwrap_err().field;
        load(&ldap("ldap", "ldaps://dir.example.org", ""), &[]).unwrap();
        load(
            &ldap("ldap", "ldap://dir.example.org", "starttls = true\n"),
            &[],
        )
        .unwrap();
        load(
            &ldap("active_directory", "ldaps://dc1.corp.example:636", ""),
            &[],
        )
        .unwrap();
        let cases = [
            (
                ldap("ldap", "ldap://dir.example.org", ""),
                "directory.ldap.url",
            ),
            (
                ldap("active_directory", "ldap://dc1", "starttls = true\n"),
                "directory.ldap.url",
            ),
            (
                ldap("ldap", "ldaps://dir", "starttls = true\n"),
                "directory.ldap.starttls",
            ),
            (ldap("ldap", "https://dir", ""), "directory.ldap.url"),
            (
                ldap("ldap", "ldaps://dir", "timeout_secs = 30\n"),
                "directory.ldap.timeout_secs",
            ),
            (
                ldap("ldap", "ldaps://dir", "pool_size = 0\n"),
                "directory.ldap.pool_size",
            ),
            (
                ldap("ldap", "ldaps://dir", "").replace("bind_password = \"p\"\n", ""),
                "directory.ldap.bind_password",
            ),
            (ldap("builtin", "ldaps://dir", ""), "directory.ldap"),
            (
                "[directory]\nkind = \"ldap\"\n".to_string(),
                "directory.ldap",
            ),
            (
                ldap("ldap", "ldaps://dir", "")
                    .replace("[directory]\n", "[directory]\ndemo_users = true\n"),
                "directory.demo_users",
            ),
        ];
        for (text, f) in cases {
            assert_eq!(field(&text).as_deref(), Some(f), "{text}");
        }
        // The service password can come from the environment, and never prints.
        let c = load(
            &ldap("ldap", "ldaps://dir", "").replace("bind_password = \"p\"\n", ""),
            &[("SSPR__DIRECTORY__LDAP__BIND_PASSWORD", "from-env-Secret")],
        )
        .unwrap();
        let l = c.directory.ldap.unwrap();
        assert_eq!(
            l.bind_password.as_ref().unwrap().expose(),
            "from-env-Secret"
        );
        assert!(!format!("{l:?}").contains("from-env-Secret"));
    }

    #[test]
    fn secret_fields_take_files_and_systemd_credentials() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let secret = |name: &str, text: &str| {
            let p = d.path().join(name);
            std::fs::write(&p, text).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        };
        secret("ldap.pw", "from-a-file\n");
        secret("pg.pw", "p@ss/word\n");
        let creds = d.path().join("creds");
        std::fs::create_dir(&creds).unwrap();
        secret("creds/delivery.smtp_password", "from-credential");
        secret("creds/sms", "token-by-specifier");
        let text = "[store]\nurl = \"postgres://sspr@db.internal/sspr\"\npassword_file = \"pg.pw\"\n\
                    [delivery]\nsms_http_token_file = \"%d/sms\"\n\
                    [directory]\nkind = \"ldap\"\n[directory.ldap]\nurl = \"ldaps://dir\"\n\
                    bind_dn = \"cn=s\"\nbind_password_file = \"ldap.pw\"\nuser_base = \"dc=x\"\n";
        let at = d.path().join("sspr.toml");
        let env = |extra: &[(&str, &str)]| {
            let mut v = vec![(
                CREDENTIALS_DIRECTORY.to_string(),
                creds.display().to_string(),
            )];
            v.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
            v
        };
        let c = Config::from_str_at(text, &at, env(&[])).unwrap();
        let l = c.directory.ldap.as_ref().unwrap();
        assert_eq!(l.bind_password.as_ref().unwrap().expose(), "from-a-file");
        let dl = &c.delivery;
        assert_eq!(
            dl.smtp_password.as_ref().unwrap().expose(),
            "from-credential"
        );
        assert_eq!(
            dl.sms_http_token.as_ref().unwrap().expose(),
            "token-by-specifier"
        );
        // The password joins the URL encoded, and never prints.
        assert_eq!(
            c.store.url,
            "postgres://sspr:p%40ss%2Fword@db.internal/sspr"
        );
        let printed = format!("{c:?}");
        for s in [
            "from-a-file",
            "p%40ss",
            "from-credential",
            "token-by-specifier",
        ] {
            assert!(!printed.contains(s), "{s} printed");
        }

        // The `_file` form works as an environment override too, and the
        // error names the variable, the field and the file.
        let e = Config::from_str_at(
            text,
            &at,
            env(&[("SSPR__DIRECTORY__LDAP__BIND_PASSWORD_FILE", "missing.pw")]),
        )
        .unwrap_err();
        assert_eq!(
            e.source,
            Source::Env("SSPR__DIRECTORY__LDAP__BIND_PASSWORD_FILE".into())
        );
        assert_eq!(
            e.field.as_deref(),
            Some("directory.ldap.bind_password_file")
        );
        assert!(e.reason.contains("missing.pw: cannot read it"), "{e}");
        // A credential the unit does not load is a clear error, on its line.
        let e = Config::from_str_at(text, &at, []).unwrap_err();
        assert_eq!(
            e.field.as_deref(),
            Some("delivery.sms_http_token_file"),
            "{e}"
        );
        assert!(e.to_string().contains("sspr.toml:5:"), "{e}");
        assert!(e.reason.contains("CREDENTIALS_DIRECTORY is not set"), "{e}");
        // A password in the URL and in a file: one place only.
        let both = text.replace("sspr@db", "sspr:inline@db");
        let e = Config::from_str_at(&both, &at, env(&[])).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("store.password_file"), "{e}");
        // A readable secret file is refused.
        std::fs::set_permissions(
            d.path().join("ldap.pw"),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        let e = Config::from_str_at(text, &at, env(&[])).unwrap_err();
        assert!(e.reason.contains("others can read it"), "{e}");
        // A secret file inside a served folder stops the start.
        std::fs::create_dir(d.path().join("www")).unwrap();
        secret("www/smtp.pw", "x");
        let served = "[server]\nassets_dir = \"www\"\n[delivery]\nsmtp_password_file = \"www/smtp.pw\"\n\
                      [secrets]\nkey_file = \"/var/lib/sspr/sspr.key\"\n\
                      [store]\nurl = \"sqlite:///var/lib/sspr/sspr.db\"\n";
        let e = Config::from_str_at(served, &at, []).unwrap_err();
        assert_eq!(
            e.field.as_deref(),
            Some("delivery.smtp_password_file"),
            "{e}"
        );
    }

    #[test]
    fn the_example_directory_section_loads_when_uncommented() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/sspr.example.toml");
        let text = std::fs::read_to_string(path).unwrap();
        let mut in_ldap = false;
        let uncommented: String = text
            .lines()
            .map(|l| {
                if l.starts_with("# [directory.ldap]") {
                    in_ldap = true;
                    return "[directory.ldap]".to_string();
                }
                if l.starts_with('[') {
                    in_ldap = false;
                }
                match l.strip_prefix("# ") {
                    Some(kv)
                        if in_ldap
                            && kv.split_once(" = ").is_some_and(|(k, _)| {
                                k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                            }) =>
                    {
                        kv.to_string()
                    }
                    _ => l.to_string(),
                }
            })
            .map(|l| l.replace("kind = \"builtin\"", "kind = \"ldap\""))
            .collect::<Vec<_>>()
            .join("\n");
        let c = load(&uncommented, &[]).unwrap();
        let l = c.directory.ldap.unwrap();
        assert_eq!((l.timeout_secs.get(), l.pool_size.get()), (10, 4));
        assert_eq!(l.login_attributes.unwrap(), ["uid", "mail"]);
    }

    #[test]
    fn type_errors_name_file_line_field_and_reason() {
        let e = load(
            "[server]\nbind = \"127.0.0.1:8080\"\n\n[policy]\nmethods_required = \"two\"\n",
            &[],
        )
        .unwrap_err();
        assert_eq!(
            e.source,
            Source::File {
                path: "/etc/sspr/sspr.toml".into(),
                line: Some(5),
                column: Some(20)
            }
        );
        assert_eq!(e.field.as_deref(), Some("policy.methods_required"));
        assert!(
            e.reason
                .contains("invalid type: string \"two\", expected u8"),
            "{}",
            e.reason
        );
        assert_eq!(
            e.to_string(),
            format!(
                "/etc/sspr/sspr.toml:5:20: field `policy.methods_required`: {}",
                e.reason
            )
        );
    }

    #[test]
    fn unknown_fields_are_refused_not_ignored() {
        let e = load("[policy]\nmethod_required = 2\n", &[]).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("policy.method_required"));
        assert!(e.reason.contains("unknown field `method_required`"), "{e}");
        assert!(e.to_string().starts_with("/etc/sspr/sspr.toml:2:"), "{e}");
    }

    #[test]
    fn syntax_errors_carry_the_line() {
        let e = load("[server]\nbind = \n", &[]).unwrap_err();
        assert!(
            matches!(e.source, Source::File { line: Some(2), .. }),
            "{e}"
        );
    }

    #[test]
    fn alerts_and_audit_retention_have_defaults_and_bounds() {
        let c = load("", &[]).unwrap();
        assert_eq!(
            (
                c.alerts.resets_per_hour.get(),
                c.alerts.blocks_per_hour.get()
            ),
            (10, 10)
        );
        assert_eq!(
            (
                c.audit.retention_days.get(),
                c.audit.progress_retention_days
            ),
            (365, 90)
        );
        let c = load(
            "[alerts]\nresets_per_hour = 0\n[audit]\nretention_days = 30\nprogress_retention_days = 30\n",
            &[],
        )
        .unwrap();
        assert_eq!(c.alerts.resets_per_hour, 0);
        for (text, field) in [
            ("[audit]\nretention_days = 29\n", "audit.retention_days"),
            ("[audit]\nretention_days = 3651\n", "audit.retention_days"),
            (
                "[audit]\nretention_days = 60\nprogress_retention_days = 61\n",
                "audit.progress_retention_days",
            ),
            (
                "[audit]\nprogress_retention_days = 6\n",
                "audit.progress_retention_days",
            ),
            (
                "[alerts]\nblocks_per_hour = 1000001\n",
                "alerts.blocks_per_hour",
            ),
        ] {
            let e = load(text, &[]).unwrap_err();
            assert_eq!(e.field.as_deref(), Some(field), "{text}: {e}");
        }
    }

    #[test]
    fn metrics_bind_is_off_by_default_and_never_the_public_listener() {
        assert_eq!(load("", &[]).unwrap().server.metrics_bind, None);
        let c = load("[server]\nmetrics_bind = \"127.0.0.1:9100\"\n", &[]).unwrap();
        assert_eq!(
            c.server.metrics_bind,
            Some("127.0.0.1:9100".parse().unwrap())
        );
        // Another address on the same port is another listener: fine.
        assert!(
            load(
                "[server]\nbind = \"127.0.0.1:8080\"\nmetrics_bind = \"10.0.0.5:8080\"\n",
                &[]
            )
            .is_ok()
        );
        for (bind, metrics) in [
            ("127.0.0.1:8080", "127.0.0.1:8080"),
            ("0.0.0.0:8080", "127.0.0.1:8080"),
            ("127.0.0.1:8080", "[::]:8080"),
        ] {
            let e = load(
                &format!("[server]\nbind = \"{bind}\"\nmetrics_bind = \"{metrics}\"\n"),
                &[],
            )
            .unwrap_err();
            assert_eq!(e.field.as_deref(), Some("server.metrics_bind"), "{e}");
            assert!(e.reason.contains("listener of their own"), "{e}");
        }
        let e = load("", &[("SSPR__SERVER__METRICS_BIND", "not-an-address")]).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("server.metrics_bind"), "{e}");
    }

    #[test]
    fn range_rules_name_the_field_and_line() {
        let e = load("[policy]\nmethods_required = 3\n", &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "/etc/sspr/sspr.toml:2:20: field `policy.methods_required`: must be 1 or 2, not 3"
        );
        let e = load("[policy]\nreconfirm_days = 731\n", &[]).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("policy.reconfirm_days"));
        let e = load("[password]\nmin_length = 6\n", &[]).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("password.min_length"));
        let e = load("[policy]\nsspr_enabled = \"group\"\n", &[]).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("policy.sspr_group"));
        let e = load(
            "[policy]\nsecurity_questions = true\nquestions = [\"Who?\", \"Where were you?\"]\n",
            &[],
        )
        .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("policy.questions"));
        assert!(load("[policy]\nsecurity_questions = true\n", &[]).is_ok());
        let e = load("[delivery]\nsms = \"http\"\n", &[]).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("delivery.sms_http_url"));
        let e = load(
            "[delivery]\nsms = \"http\"\nsms_http_url = \"http://sms.example.com/send\"\n",
            &[],
        )
        .unwrap_err();
        assert_eq!(e.reason, "must use https unless the host is loopback");
        let e = load("[server]\npublic_url = \"http://sspr.example.com\"\n", &[]).unwrap_err();
        assert_eq!(e.reason, "must use https unless the host is loopback");
    }

    #[test]
    fn serde_checks_ranges_and_kinds_at_the_value_s_span() {
        let e = load("[policy]\nmethods_required = 3\n", &[]).unwrap_err();
        assert_eq!(
            e.excerpt(),
            Some("2 | methods_required = 3\n  |                    ^")
        );
        let e = load("[policy]\nmethods_available = [\"email\", \"fax\"]\n", &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "/etc/sspr/sspr.toml:2:31: field `policy.methods_available[1]`: \
             unknown variant `fax`, expected one of `authenticator`, `email`, `sms`, `office_phone`"
        );
        assert_eq!(
            e.excerpt(),
            Some(
                "2 | methods_available = [\"email\", \"fax\"]\n  |                               ^^^^^"
            )
        );
        // The wire knows recovery codes and questions; this list does not.
        let e = load("[policy]\nmethods_available = [\"recovery_code\"]\n", &[]).unwrap_err();
        assert!(
            e.reason.starts_with("unknown variant `recovery_code`"),
            "{e}"
        );
        let e = load("[policy]\nmethods_available = []\n", &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "/etc/sspr/sspr.toml:2:21: field `policy.methods_available`: must list at least one method"
        );
        let e = load("\n[reset]\npow_difficulty = 30 # too slow\n", &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "/etc/sspr/sspr.toml:3:18: field `reset.pow_difficulty`: must be 8 to 28, not 30"
        );
        assert_eq!(
            e.excerpt(),
            Some("3 | pow_difficulty = 30 # too slow\n  |                  ^^")
        );
        let e = load("[server]\ndefault_locale = \"cy\"", &[]).unwrap_err();
        assert!(
            e.to_string().starts_with(
                "/etc/sspr/sspr.toml:2:18: field `server.default_locale`: \"cy\" is not"
            ),
            "{e}"
        );
        // A rule that compares two fields is checked after serde, and still
        // finds its value in the file.
        let e = load("[password]\nmin_length = 12\nmax_length = 10\n", &[]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("/etc/sspr/sspr.toml:3:14: field `password.max_length`"),
            "{e}"
        );
        assert_eq!(
            e.excerpt(),
            Some("3 | max_length = 10\n  |              ^^")
        );
    }

    #[test]
    fn environment_overrides_win_and_are_blamed_by_name() {
        let c = load(
            "[server]\nbind = \"127.0.0.1:8080\"\n",
            &[
                ("SSPR__SERVER__BIND", "127.0.0.1:9191"),
                ("SSPR__POLICY__METHODS_REQUIRED", "2"),
                ("SSPR__POLICY__METHODS_AVAILABLE", "[\"email\"]"),
                ("UNRELATED", "x"),
            ],
        )
        .unwrap();
        assert_eq!(c.server.bind.port(), 9191);
        assert_eq!(c.policy.methods_required, 2);
        assert_eq!(c.policy.methods_available, vec![MethodKind::Email]);

        let e = load("", &[("SSPR__SERVER__BIND", "not-an-address")]).unwrap_err();
        assert_eq!(e.source, Source::Env("SSPR__SERVER__BIND".into()));
        assert_eq!(e.field.as_deref(), Some("server.bind"));

        let e = load("", &[("SSPR__POLICY__METHODS_REQUIRED", "0")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "environment variable SSPR__POLICY__METHODS_REQUIRED: field `policy.methods_required`: must be 1 or 2, not 0"
        );
    }

    #[test]
    fn missing_file_is_a_clear_error() {
        let e = Config::load(Path::new("/nonexistent/sspr.toml"), []).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("/nonexistent/sspr.toml: cannot read the file"),
            "{e}"
        );
    }

    #[test]
    fn public_summary_hides_the_group_name() {
        let c = load(
            "[policy]\nsspr_enabled = \"group\"\nsspr_group = \"Secret Pilot\"\n",
            &[],
        )
        .unwrap();
        let json = serde_json::to_string(&c.public_summary()).unwrap();
        assert!(!json.contains("Secret Pilot"));
        assert!(json.contains(r#""sspr":"group""#));
    }
}
