//! `sspr`: run the portal, or check its configuration.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};
use sspr_server::assets::Assets;
use sspr_server::clock::{OsEntropy, SystemClock};
use sspr_server::config::DirectoryKind;
use sspr_server::config::{Config, MailKind, SmsKind, VoiceKind};
use sspr_server::delivery::{DevOutbox, HttpSms, HttpVoice, Smtp, Transport};
use sspr_server::directory::Directory;
use sspr_server::directory::builtin::Builtin;
use sspr_server::directory::instrumented::Instrumented;
use sspr_server::directory::ldap::LdapDirectory;
use sspr_server::hashing::HashPool;
use sspr_server::keys::Keys;
use sspr_server::limits::IpLimits;
use sspr_server::metrics::Metrics;
use sspr_server::outbox::{Outbox, Policy};
use sspr_server::pacing::Paces;
use sspr_server::ports::InsightsStore;
use sspr_server::ports::{EnrolmentStore, FlowStore, SessionStore, into_sqlx};
use sspr_server::store::Store;
use sspr_server::theme::ThemeFile;
use sspr_server::{AppParts, AppState, app};

#[derive(Debug, Parser)]
#[command(name = "sspr", version, about = "Self-service password reset portal")]
struct Cli {
    /// The configuration file (TOML). Fields can be overridden with SSPR__SECTION__FIELD.
    #[arg(
        long,
        short,
        env = "SSPR_CONFIG",
        default_value = "sspr.toml",
        global = true
    )]
    config: PathBuf,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the portal (the default).
    Serve,
    /// Validate the configuration and theme, then exit.
    CheckConfig,
    /// The password policy's audit-mode findings.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Temporary Access Passes for users who must register methods.
    Tap {
        #[command(subcommand)]
        command: TapCommand,
    },
    /// The directory connection.
    Directory {
        #[command(subcommand)]
        command: DirectoryCommand,
    },
    /// The theme file.
    Theme {
        #[command(subcommand)]
        command: ThemeCommand,
    },
    /// Usage & insights from the command line.
    Report {
        #[command(subcommand)]
        command: ReportCommand,
    },
    /// One account: clear its self-service block, end its sessions.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// The audit trail.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Debug, Subcommand)]
enum ReportCommand {
    /// The figures of Usage & insights, the same as `GET /api/insights`:
    /// coverage, methods, activity by UTC day, accounts blocked now.
    Usage {
        /// Days of activity, today (UTC) included: 1d to 90d.
        #[arg(long, default_value = "30d")]
        since: String,
        /// `table` to read, `json` as the API answers, `csv` the activity by day.
        #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
        format: ReportFormat,
        /// Who reads it, for the audit trail (default: the login running the command).
        #[arg(long)]
        by: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ReportFormat {
    Table,
    Json,
    Csv,
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Clear the account's self-service password reset block and proof
    /// budget, under every name of the account.
    Unblock {
        /// The user's name or email address.
        #[arg(long)]
        user: String,
        /// Who does it, for the audit trail (default: the login running the command).
        #[arg(long)]
        by: Option<String>,
    },
    /// The account's portal sessions.
    Sessions {
        #[command(subcommand)]
        command: SessionsCommand,
    },
}

#[derive(Debug, Subcommand)]
enum SessionsCommand {
    /// End every session of the account, as a reset does.
    Revoke {
        /// The user's name or email address.
        #[arg(long)]
        user: String,
        /// Who does it, for the audit trail (default: the login running the command).
        #[arg(long)]
        by: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Every audit event from --since to --until, oldest first, to stdout.
    Export {
        /// `30d`, `12h`, a UTC date (`2026-11-01`) or an RFC 3339 time
        /// (default: the first event).
        #[arg(long)]
        since: Option<String>,
        /// As --since; a date includes its whole day (default: now).
        #[arg(long)]
        until: Option<String>,
        /// One JSON object a line, or CSV (RFC 4180, formulas defused).
        #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
        format: ExportFormat,
        /// Who exports it, for the audit trail (default: the login running the command).
        #[arg(long)]
        by: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ExportFormat {
    Jsonl,
    Csv,
}

#[derive(Debug, Subcommand)]
enum ThemeCommand {
    /// Validate a theme file as the portal does on load, and print every
    /// contrast ratio and the files it refers to. Needs no configuration.
    Check {
        file: PathBuf,
        /// The branding folder the portal serves; default `branding/` beside the theme.
        #[arg(long)]
        branding: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum DirectoryCommand {
    /// Connect over TLS, bind the service account and print what the portal
    /// sees; with --user, also that user's entry, groups, lockout and policy.
    Check {
        #[arg(long)]
        user: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum PolicyCommand {
    /// How many resets and changes the banned list would have refused while
    /// it ran in audit mode.
    Report,
}

#[derive(Debug, Subcommand)]
enum TapCommand {
    /// Issue a pass and print it, voiding any live one; the user is mailed
    /// that a pass was issued. Give it to the user over a trusted channel.
    Issue {
        /// The user's name or email address.
        #[arg(long)]
        user: String,
        /// 10m to 30d, e.g. 1h, 90m, 7d.
        #[arg(long, default_value = "1h")]
        lifetime: String,
        /// The pass works for one sign-in only.
        #[arg(long)]
        one_time: bool,
        /// Characters in the pass, 8 to 48.
        #[arg(long, default_value_t = sspr_server::tap::MIN_LENGTH)]
        length: usize,
        /// Who issues it, for the audit trail (default: the login running the command).
        #[arg(long)]
        by: Option<String>,
    },
    /// List live passes (never the passes themselves).
    List {
        /// Only this user's.
        #[arg(long)]
        user: Option<String>,
    },
    /// Revoke a user's live passes, or one of them by its id.
    Revoke {
        #[arg(long)]
        user: String,
        /// One pass, as `tap list` shows its id.
        #[arg(long)]
        id: Option<String>,
        /// Who revokes them, for the audit trail (default: the login running the command).
        #[arg(long)]
        by: Option<String>,
    },
}

/// The operator for the audit trail: `--by`, else the login behind sudo,
/// else the login running the command.
fn operator(by: Option<String>) -> String {
    by.filter(|b| !b.trim().is_empty())
        .or_else(|| std::env::var("SUDO_USER").ok())
        .or_else(|| std::env::var("USER").ok())
        .or_else(|| std::env::var("LOGNAME").ok())
        .map_or_else(|| "unknown operator".to_string(), |b| b.trim().to_string())
}

/// Logs go to stderr, filtered by `SSPR_LOG` (`info,sqlx=warn` unless set),
/// as text or as one JSON object per line.
fn init_logging(format: sspr_server::config::LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SSPR_LOG")
        .unwrap_or_else(|_| "info,sqlx=warn".into());
    // Colours only for a person at a terminal: journald and container logs
    // would keep the escape codes.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none();
    let base = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    match format {
        sspr_server::config::LogFormat::Text => base.init(),
        sspr_server::config::LogFormat::Json => base
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
}

fn main() -> ExitCode {
    // Files the portal makes are its own: the store and its journal hold
    // method targets and password hashes, the dev outbox holds codes.
    #[cfg(unix)]
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    let cli = Cli::parse();
    if let Some(Command::Theme {
        command: ThemeCommand::Check { file, branding },
    }) = &cli.command
    {
        return match sspr_server::theme::check_report(file, branding.as_deref()) {
            Ok(report) => {
                print!("{report}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("sspr: theme error: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let config = match Config::load(&cli.config, std::env::vars()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("sspr: configuration error: {e}");
            if let Some(excerpt) = e.excerpt() {
                eprintln!("{excerpt}");
            }
            return ExitCode::from(2);
        }
    };
    init_logging(config.server.log_format);
    let theme = match config
        .theme
        .file
        .as_deref()
        .map(ThemeFile::open)
        .transpose()
    {
        Ok(t) => t,
        Err(e) => {
            eprintln!("sspr: theme error: {e}");
            return ExitCode::from(2);
        }
    };
    match cli.command.unwrap_or(Command::Serve) {
        Command::CheckConfig => {
            println!("{}: ok", cli.config.display());
            ExitCode::SUCCESS
        }
        Command::Tap {
            command:
                TapCommand::Issue {
                    user,
                    lifetime,
                    one_time,
                    length,
                    by,
                },
        } => {
            let lifetime = match sspr_server::tap::parse_lifetime(&lifetime) {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("sspr: --lifetime {lifetime:?}: {e}");
                    return ExitCode::from(2);
                }
            };
            let by = operator(by);
            block_on(tap_issue(
                config, theme, &user, lifetime, one_time, length, &by,
            ))
        }
        Command::Tap {
            command: TapCommand::List { user },
        } => block_on(tap_list(config, theme, user)),
        Command::Tap {
            command: TapCommand::Revoke { user, id, by },
        } => {
            let by = operator(by);
            block_on(tap_revoke(config, theme, user, id, by))
        }
        Command::Policy {
            command: PolicyCommand::Report,
        } => block_on(policy_report(config)),
        Command::Directory {
            command: DirectoryCommand::Check { user },
        } => block_on(directory_check(config, user)),
        Command::Report {
            command: ReportCommand::Usage { since, format, by },
        } => {
            let days = match sspr_server::insights::parse_days(&since) {
                Ok(d) => d,
                Err(e) => {
                    eprintln!("sspr: --since {since:?}: {e}");
                    return ExitCode::from(2);
                }
            };
            block_on(report_usage(config, theme, days, format, operator(by)))
        }
        Command::User {
            command: UserCommand::Unblock { user, by },
        } => block_on(user_unblock(config, theme, user, operator(by))),
        Command::User {
            command:
                UserCommand::Sessions {
                    command: SessionsCommand::Revoke { user, by },
                },
        } => block_on(user_sessions_revoke(config, theme, user, operator(by))),
        Command::Audit {
            command:
                AuditCommand::Export {
                    since,
                    until,
                    format,
                    by,
                },
        } => {
            use sspr_server::insights::{Bound, parse_time};
            let now = sspr_server::clock::Clock::now(&SystemClock);
            let parse = |text: &Option<String>, bound, default: i64| match text {
                None => Ok(default),
                Some(t) => parse_time(t, bound, now),
            };
            let range = parse(&since, Bound::Since, i64::MIN)
                .map_err(|e| format!("--since: {e}"))
                .and_then(|s| {
                    parse(&until, Bound::Until, now + 1)
                        .map(|u| (s, u))
                        .map_err(|e| format!("--until: {e}"))
                });
            match range {
                Ok((since, until)) => block_on(audit_export(
                    config,
                    theme,
                    since,
                    until,
                    format,
                    operator(by),
                )),
                Err(e) => {
                    eprintln!("sspr: {e}");
                    ExitCode::from(2)
                }
            }
        }
        // Handled before the configuration is read.
        Command::Theme { .. } => ExitCode::SUCCESS,
        Command::Serve => block_on(serve(config, theme)),
    }
}

async fn directory_check(config: Config, user: Option<String>) -> anyhow::Result<()> {
    let Some(ldap) = config.directory.ldap.clone() else {
        println!("directory: built-in (users and passwords in the store)");
        return Ok(());
    };
    let store = Store::open(&config.store.url, 1).await?;
    let kind = config.directory.kind;
    let dir = LdapDirectory::new(kind, ldap.clone(), store, Arc::new(SystemClock))
        .map_err(|e| anyhow::anyhow!("directory.ldap: {e}"))?;
    // Every server of a failover list must work, or failing over would not.
    let mut failed = Vec::new();
    for (url, r) in dir.check_each().await {
        match r {
            Ok(()) => println!(
                "directory: {kind:?} at {url} (TLS verified), bound as {}",
                ldap.bind_dn
            ),
            Err(e) => failed.push(format!("{url}: {e}")),
        }
    }
    if !failed.is_empty() {
        anyhow::bail!("{}", failed.join("; "));
    }
    println!(
        "a reset honours password history: {}",
        if dir.reset_honours_history().await? {
            "yes"
        } else {
            "no (the DC has no policy-hints control)"
        }
    );
    let Some(login) = user else {
        return Ok(());
    };
    let u = dir
        .find_user(&login)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no single user matches {login:?}"))?;
    let groups = dir.groups_of(&u).await?;
    let rules = dir.password_rules(&u).await?;
    let now = sspr_server::clock::Clock::now(&SystemClock);
    println!("user: {} ({}), id {}", u.username, u.display_name, u.id);
    println!(
        "  email {}, mobile {}",
        u.email.as_deref().unwrap_or("-"),
        u.mobile.as_deref().unwrap_or("-")
    );
    println!(
        "  enabled {}, locked {}, administrator {}",
        u.enabled,
        u.is_locked(now),
        u.is_admin
    );
    println!("  groups (nested included): {}", groups.join(", "));
    println!(
        "  directory password rules: minimum length {}, complexity {}",
        rules.min_length.map_or("-".to_string(), |n| n.to_string()),
        rules.complexity
    );
    Ok(())
}

/// Runs a command's future on a fresh runtime: exit 0, or 1 with the error.
fn block_on(work: impl std::future::Future<Output = anyhow::Result<()>>) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("sspr: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(work) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sspr: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn tap_issue(
    config: Config,
    theme: Option<ThemeFile>,
    user: &str,
    lifetime: i64,
    one_time: bool,
    length: usize,
    by: &str,
) -> anyhow::Result<()> {
    let state = build_state(config, theme).await?;
    let (pass, expires) =
        sspr_server::tap::issue(&state, user, lifetime, one_time, length, by).await?;
    // The user's notice is in the outbox; a running portal sends it. Try
    // once from here too, so a portal that is down does not hold it up.
    if let Err(e) = sspr_server::outbox::run_once(&state, Arc::new(sspr_server::resolvers())).await
    {
        tracing::warn!(error = %e, "the notice stays queued for the portal to send");
    }
    let until = time::OffsetDateTime::from_unix_timestamp(expires)?
        .format(&time::format_description::well_known::Rfc3339)?;
    println!("{}", pass.expose());
    eprintln!(
        "Temporary Access Pass for {user}: valid until {until}{}. It lets them sign in and add security info only.",
        if one_time { ", for one sign-in" } else { "" }
    );
    Ok(())
}

fn rfc3339(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| t.to_string())
}

async fn tap_list(
    config: Config,
    theme: Option<ThemeFile>,
    user: Option<String>,
) -> anyhow::Result<()> {
    let state = build_state(config, theme).await?;
    let passes = sspr_server::tap::list(&state, user.as_deref()).await?;
    if passes.is_empty() {
        eprintln!("no live Temporary Access Passes");
        return Ok(());
    }
    println!("id\tuser\tkind\tissued\texpires\tissued by\tused");
    for p in passes {
        println!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}",
            p.id,
            p.username,
            if p.one_time { "one-time" } else { "multi-use" },
            rfc3339(p.created_at),
            rfc3339(p.expires_at),
            p.issued_by.as_deref().unwrap_or("-"),
            p.used_at.map_or_else(|| "-".to_string(), rfc3339),
        );
    }
    Ok(())
}

async fn tap_revoke(
    config: Config,
    theme: Option<ThemeFile>,
    user: String,
    id: Option<String>,
    by: String,
) -> anyhow::Result<()> {
    let state = build_state(config, theme).await?;
    let n = sspr_server::tap::revoke(&state, &user, id.as_deref(), &by).await?;
    if n == 0 {
        anyhow::bail!(
            "{user} has no live pass{}",
            id.map(|i| format!(" with id {i}")).unwrap_or_default()
        );
    }
    println!("revoked {n} pass(es) of {user}");
    Ok(())
}

async fn report_usage(
    config: Config,
    theme: Option<ThemeFile>,
    days: u16,
    format: ReportFormat,
    by: String,
) -> anyhow::Result<()> {
    use sspr_server::insights;
    let state = build_state(config, theme).await?;
    let figures = insights::compute(&state, days).await?;
    let out = match format {
        ReportFormat::Table => insights::table(&figures),
        ReportFormat::Json => format!("{}\n", serde_json::to_string_pretty(&figures)?),
        ReportFormat::Csv => insights::csv::activity(&figures.activity),
    };
    print!("{out}");
    let detail = format!("sspr report usage: figures for {days} day(s)");
    insights::record(&state, insights::VIEWED, &by, None, "local", &detail).await;
    Ok(())
}

async fn user_unblock(
    config: Config,
    theme: Option<ThemeFile>,
    user: String,
    by: String,
) -> anyhow::Result<()> {
    let state = build_state(config, theme).await?;
    let done = sspr_server::admin::unblock(&state, &user, &by).await?;
    println!(
        "{}: cleared {} self-service block(s) and {} proof budget(s)",
        done.username, done.blocks, done.budgets
    );
    Ok(())
}

async fn user_sessions_revoke(
    config: Config,
    theme: Option<ThemeFile>,
    user: String,
    by: String,
) -> anyhow::Result<()> {
    let state = build_state(config, theme).await?;
    let (username, ended) = sspr_server::admin::revoke_sessions(&state, &user, &by).await?;
    println!("{username}: ended {ended} session(s)");
    Ok(())
}

async fn audit_export(
    config: Config,
    theme: Option<ThemeFile>,
    since: i64,
    until: i64,
    format: ExportFormat,
    by: String,
) -> anyhow::Result<()> {
    use sspr_server::error::ApiError;
    use sspr_server::insights;
    use std::io::Write;
    let state = build_state(config, theme).await?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if format == ExportFormat::Csv {
        out.write_all(insights::csv::events_header().as_bytes())?;
    }
    let filter = sspr_proto::insights::EventFilter::default();
    let n = insights::export_events(&state, &filter, since, until, |e| {
        let line = match format {
            ExportFormat::Jsonl => {
                let mut l = serde_json::to_string(e)?;
                l.push('\n');
                l
            }
            ExportFormat::Csv => insights::csv::event_row(e),
        };
        out.write_all(line.as_bytes()).map_err(ApiError::from)
    })
    .await?;
    out.flush()?;
    drop(out);
    let bound = |t: i64| {
        if t == i64::MIN {
            "the first event".to_string()
        } else {
            insights::rfc3339(t)
        }
    };
    let detail = format!(
        "sspr audit export: {n} event(s) from {} to {} as {}",
        bound(since),
        bound(until),
        if format == ExportFormat::Csv {
            "csv"
        } else {
            "jsonl"
        }
    );
    insights::record(&state, insights::EXPORTED, &by, None, "local", &detail).await;
    eprintln!("{n} audit event(s) exported");
    Ok(())
}

async fn policy_report(config: Config) -> anyhow::Result<()> {
    let store = Store::open(&config.store.url, 1).await?;
    let rows = store
        .count_by_detail(sspr_server::password::WOULD_REJECT)
        .await?;
    let count = |what: &str| {
        rows.iter()
            .find(|(d, _)| d.as_deref() == Some(what))
            .map_or(0, |r| r.1)
    };
    println!(
        "banned password list, mode {:?}: {} password resets and {} password changes would have been refused",
        config.password.banned_mode,
        count("reset"),
        count("change"),
    );
    Ok(())
}

async fn serve(config: Config, theme: Option<ThemeFile>) -> anyhow::Result<()> {
    let state = build_state(config, theme).await?;
    let srv = &state.config.server;
    let bind = srv.bind;
    let public_url = srv.public_url.clone();
    let limits = sspr_server::serve::Limits {
        max_connections: srv.connection_limit.get(),
        per_client: srv.connection_limit_per_client.get(),
        trusted: srv.trusted_proxies.clone(),
        header_timeout: std::time::Duration::from_secs(srv.header_timeout_secs.get()),
        idle_timeout: std::time::Duration::from_secs(srv.idle_timeout_secs.get()),
    };
    if srv.trusted_proxies.is_empty() {
        tracing::info!("no server.trusted_proxies: every client is its TCP peer");
    }
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {bind}: {e}"))?;
    let local = listener.local_addr()?;
    // The metrics listener, if any, is up before the portal says it listens.
    if let Some(addr) = srv.metrics_bind {
        let metrics_listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {addr} (server.metrics_bind): {e}"))?;
        let at = metrics_listener.local_addr()?;
        tracing::info!(%at, "metrics at /metrics");
        println!("metrics on http://{at}/metrics");
        let limits = sspr_server::serve::Limits {
            max_connections: 16,
            per_client: 16,
            trusted: Vec::new(),
            ..limits.clone()
        };
        let app = sspr_server::metrics::router(state.metrics.clone());
        tokio::spawn(async move {
            if let Err(e) = sspr_server::serve::run(metrics_listener, app, limits, shutdown()).await
            {
                tracing::error!(error = %e, "the metrics listener stopped");
            }
        });
    }
    tracing::info!(%local, %public_url, "sspr listening");
    println!("sspr listening on http://{local}  (public URL {public_url})");
    tokio::spawn(housekeeping(state.clone()));
    sspr_server::start_workers(&state);
    sspr_server::serve::run(listener, app(state), limits, shutdown()).await?;
    Ok(())
}

/// Every minute: expired per-IP windows, proof budgets, blocks, flows and
/// challenges go, so the store holds what is live and no more.
async fn housekeeping(state: AppState) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        tick.tick().await;
        let now = state.clock.now();
        let swept = async {
            state.limits.sweep(now).await?;
            sspr_server::methods::throttle::sweep(&state, now).await?;
            let store = &state.store;
            store.purge_expired_flows(now).await.map_err(into_sqlx)?;
            store.purge_expired_pow(now).await.map_err(into_sqlx)?;
            store.sweep_enrolments(now).await.map_err(into_sqlx)?;
            store.sweep_sessions(now).await.map_err(into_sqlx)?;
            Ok::<(), sqlx::Error>(())
        }
        .await;
        if let Err(e) = swept {
            tracing::warn!(error = %e, "housekeeping failed; will retry");
        }
    }
}

/// The state every command shares: store (migrated), keys, directory (seeded
/// in demo mode), delivery.
async fn build_state(config: Config, theme: Option<ThemeFile>) -> anyhow::Result<AppState> {
    let store = Store::open(&config.store.url, config.store.max_connections.get()).await?;
    let clock = Arc::new(SystemClock);
    let entropy = Arc::new(OsEntropy);
    let metrics = Arc::new(Metrics::new(env!("CARGO_PKG_VERSION")));
    let hashes = HashPool::with_metrics(
        config.server.hash_workers.get(),
        config.server.hash_queue.get(),
        metrics.clone(),
    );
    // A store sealed with a key whose file is gone (a restore without it, a
    // second node not given it): say so, rather than make a new key.
    if !config.secrets.key_file.exists() && store.sealed().await? {
        anyhow::bail!(
            "secrets.key_file: {} is missing, and this store was sealed with a key: restore \
             the key file (or copy it from another node) rather than start with a new one",
            config.secrets.key_file.display()
        );
    }
    let keys = Keys::load_or_create(&config.secrets.key_file, entropy.as_ref())?;
    if !store.same_key(&keys.fingerprint()).await? {
        anyhow::bail!(
            "secrets.key_file: {} is not the key this store was sealed with. Every node of one \
             store needs the same key: copy the first node's key file (0600) to this one",
            config.secrets.key_file.display()
        );
    }
    let outbox_dir: Arc<dyn Transport> = Arc::new(DevOutbox {
        dir: config.delivery.outbox_dir.clone(),
    });
    let mail: Arc<dyn Transport> = match config.delivery.mail {
        MailKind::Outbox => outbox_dir.clone(),
        MailKind::Smtp => {
            Arc::new(Smtp::new(&config.delivery).map_err(|e| anyhow::anyhow!("delivery: {e}"))?)
        }
    };
    let sms: Arc<dyn Transport> = match config.delivery.sms {
        SmsKind::Outbox => outbox_dir.clone(),
        SmsKind::Http => Arc::new(
            HttpSms::new(
                config.delivery.sms_http_url.as_deref().unwrap_or_default(),
                config.delivery.sms_http_token.clone(),
            )
            .map_err(|e| anyhow::anyhow!("delivery: {e}"))?,
        ),
    };
    let mut outbox = Outbox::new(mail, sms, Policy::from(&config.delivery));
    match config.delivery.voice {
        None => {}
        Some(VoiceKind::Outbox) => outbox = outbox.with_voice(outbox_dir.clone()),
        Some(VoiceKind::Http) => {
            let voice = HttpVoice::new(
                config
                    .delivery
                    .voice_http_url
                    .as_deref()
                    .unwrap_or_default(),
                config.delivery.voice_http_token.clone(),
            )
            .map_err(|e| anyhow::anyhow!("delivery: {e}"))?;
            outbox = outbox.with_voice(Arc::new(voice));
        }
    }
    let demo = config.directory.demo_users;
    let directory: Arc<dyn Directory> = match (config.directory.kind, &config.directory.ldap) {
        (DirectoryKind::Builtin, _) | (_, None) => {
            let builtin = Builtin::new(
                store.clone(),
                clock.clone(),
                entropy.clone(),
                hashes.clone(),
            );
            if demo {
                let made = builtin.seed_demo().await?;
                if made > 0 {
                    tracing::warn!(
                        users = made,
                        "created demo users: never enable directory.demo_users in production"
                    );
                }
            }
            Arc::new(builtin)
        }
        (kind, Some(ldap)) => {
            let url = ldap.url.to_string();
            let dir = LdapDirectory::new(kind, ldap.clone(), store.clone(), clock.clone())
                .map_err(|e| anyhow::anyhow!("directory.ldap: {e}"))?;
            // A wrong URL, certificate or service password shows now, not at the first reset.
            match dir.check().await {
                Ok(()) => tracing::info!(%url, ?kind, "directory reachable"),
                Err(e) => {
                    tracing::error!(%url, error = %e, "directory not reachable yet; requests will retry")
                }
            }
            Arc::new(dir)
        }
    };
    // Every directory call, whichever the connector, is measured here.
    let directory = Instrumented::wrap(directory, metrics.clone());
    let assets = match &config.server.assets_dir {
        Some(dir) => Assets::Dir(dir.clone()),
        None => Assets::Embedded,
    };
    if !assets.has_index() {
        tracing::warn!(
            "no built SPA found: API only. Build it with `cargo xtask demo` or set server.assets_dir"
        );
    }
    let paces = Arc::new(Paces::new(std::time::Duration::from_millis(
        config.reset.identify_floor_ms.get(),
    )));
    let state = AppState::from(AppParts {
        public_origin: config.public_origin(),
        config: Arc::new(config),
        limits: IpLimits::new(store.clone()),
        store,
        directory,
        clock,
        entropy,
        assets: Arc::new(assets),
        theme: theme.map(Arc::new),
        keys: Arc::new(keys),
        outbox,
        hashes,
        paces,
        ready: Default::default(),
        metrics,
    });
    if demo {
        sspr_server::methods::seed_demo(&state)
            .await
            .map_err(|e| anyhow::anyhow!("seeding demo methods: {e}"))?;
    }
    Ok(state)
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
    tracing::info!("shutting down");
}
