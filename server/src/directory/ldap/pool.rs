//! Verified TLS and a small pool of bound service connections.
//!
//! Every connection is TLS (LDAPS or StartTLS) with the server certificate
//! checked against the configured CA file or the system roots. The pool keeps
//! up to `pool_size` service connections; a connection that saw an I/O error
//! or timed out is dropped, never handed out again.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, StdStream};
use rustls::ClientConfig;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::clock::{Clock, UnixTime};
use crate::config::LdapConfig;
use crate::directory::DirectoryError;
use crate::secret::Secret;

/// How long a server that failed is passed over before it is tried first again.
pub const DOWN_SECS: i64 = 30;

/// One directory server of the configured list.
#[derive(Debug, Clone)]
struct Server {
    url: String,
    host: String,
    port: u16,
}

/// Where and how to connect, shared by the pool and user binds: the servers
/// in the order they are preferred, and which of them failed lately.
pub struct Endpoint {
    servers: Vec<Server>,
    /// Per server: until when it is passed over (0: up).
    down_until: Mutex<Vec<UnixTime>>,
    clock: Arc<dyn Clock>,
    starttls: bool,
    tls: Arc<ClientConfig>,
    pub timeout: Duration,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let urls: Vec<&str> = self.servers.iter().map(|s| s.url.as_str()).collect();
        f.debug_struct("Endpoint")
            .field("urls", &urls)
            .field("starttls", &self.starttls)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

pub fn unavailable(what: &str, e: impl std::fmt::Display) -> DirectoryError {
    DirectoryError::Unavailable(format!("{what}: {e}"))
}

/// One server's state, for `directory check` and readiness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerState {
    pub url: String,
    /// Passed over until this time, after a failure.
    pub down_until: Option<UnixTime>,
}

impl Endpoint {
    pub fn new(cfg: &LdapConfig, clock: Arc<dyn Clock>) -> Result<Self, DirectoryError> {
        let mut roots = rustls::RootCertStore::empty();
        match &cfg.ca_file {
            Some(path) => {
                let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                    .and_then(|it| it.collect())
                    .map_err(|e| unavailable(&format!("reading {}", path.display()), e))?;
                if certs.is_empty() {
                    return Err(unavailable(
                        &format!("reading {}", path.display()),
                        "no PEM certificates in the file",
                    ));
                }
                for c in certs {
                    roots
                        .add(c)
                        .map_err(|e| unavailable("a CA certificate", e))?;
                }
            }
            None => {
                for c in rustls_native_certs::load_native_certs().certs {
                    let _ = roots.add(c);
                }
            }
        }
        let tls =
            ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(|e| unavailable("TLS", e))?
                .with_root_certificates(roots)
                .with_no_client_auth();
        let servers = cfg
            .url
            .0
            .iter()
            .map(|raw| {
                let parsed =
                    url::Url::parse(raw).map_err(|e| unavailable("directory.ldap.url", e))?;
                let host = parsed
                    .host_str()
                    .map(|h| h.trim_start_matches('[').trim_end_matches(']').to_string())
                    .ok_or_else(|| unavailable("directory.ldap.url", "no host"))?;
                let port =
                    parsed
                        .port()
                        .unwrap_or(if parsed.scheme() == "ldaps" { 636 } else { 389 });
                Ok(Server {
                    url: raw.clone(),
                    host,
                    port,
                })
            })
            .collect::<Result<Vec<_>, DirectoryError>>()?;
        Ok(Endpoint {
            down_until: Mutex::new(vec![0; servers.len()]),
            servers,
            clock,
            starttls: cfg.starttls,
            tls: Arc::new(tls),
            timeout: Duration::from_secs(cfg.timeout_secs.get()),
        })
    }

    /// Every server and whether it is passed over now.
    pub fn states(&self) -> Vec<ServerState> {
        let now = self.clock.now();
        let down = self.down_until.lock().unwrap_or_else(|p| p.into_inner());
        self.servers
            .iter()
            .zip(down.iter())
            .map(|(s, &until)| ServerState {
                url: s.url.clone(),
                down_until: (until > now).then_some(until),
            })
            .collect()
    }

    /// The servers to try, best first: those up in configured order, then
    /// those passed over (a last resort beats no directory).
    fn order(&self) -> Vec<usize> {
        let now = self.clock.now();
        let down = self.down_until.lock().unwrap_or_else(|p| p.into_inner());
        let (mut up, passed): (Vec<usize>, Vec<usize>) =
            (0..self.servers.len()).partition(|&i| down[i] <= now);
        up.extend(passed);
        up
    }

    /// The server a new connection would go to now.
    pub fn preferred(&self) -> usize {
        self.order().first().copied().unwrap_or(0)
    }

    fn mark(&self, i: usize, ok: bool, why: &DirectoryError) {
        let mut down = self.down_until.lock().unwrap_or_else(|p| p.into_inner());
        let url = &self.servers[i].url;
        if ok {
            if down[i] != 0 {
                tracing::info!(%url, "directory server is back");
            }
            down[i] = 0;
        } else {
            if down[i] == 0 {
                tracing::warn!(%url, error = %why, "directory server failed; the next one is tried");
            }
            down[i] = self.clock.now() + DOWN_SECS;
        }
    }

    /// A fresh TLS connection, not yet bound, to the best server that
    /// answers, and which one it is.
    pub async fn connect(&self) -> Result<(Ldap, usize), DirectoryError> {
        let mut last = unavailable("connecting", "no directory server configured");
        for i in self.order() {
            match self.connect_to(i).await {
                Ok(l) => {
                    self.mark(i, true, &last);
                    return Ok((l, i));
                }
                Err(e) => {
                    self.mark(i, false, &e);
                    last = e;
                }
            }
        }
        Err(last)
    }

    /// Connects to one server, whatever its state (`directory check`).
    pub async fn connect_to(&self, i: usize) -> Result<Ldap, DirectoryError> {
        let server = &self.servers[i];
        let settings = LdapConnSettings::new()
            .set_conn_timeout(self.timeout)
            .set_starttls(self.starttls)
            .set_config(self.tls.clone());
        let (conn, ldap) = tokio::time::timeout(self.timeout, async {
            // Our own socket, with Nagle off: LDAP's small request/response
            // exchanges otherwise meet delayed ACKs and wait 40 ms each.
            let tcp = tokio::net::TcpStream::connect((server.host.as_str(), server.port))
                .await
                .map_err(|e| unavailable("connecting", e))?;
            tcp.set_nodelay(true)
                .map_err(|e| unavailable("connecting", e))?;
            let std = tcp.into_std().map_err(|e| unavailable("connecting", e))?;
            LdapConnAsync::with_settings(settings.set_std_stream(StdStream::Tcp(std)), &server.url)
                .await
                .map_err(|e| unavailable("connecting", e))
        })
        .await
        .map_err(|_| unavailable("connecting", "timed out"))??;
        ldap3::drive!(conn);
        Ok(ldap)
    }

    /// Connects and binds: the bound connection, or `None` when the directory
    /// says the credentials are wrong.
    pub async fn bind(&self, dn: &str, password: &Secret) -> Result<Option<Ldap>, DirectoryError> {
        // An empty password would be an unauthenticated bind, which "succeeds".
        if password.expose().is_empty() || dn.is_empty() {
            return Ok(None);
        }
        let (ldap, _) = self.bind_at(None, dn, password).await?;
        Ok(ldap)
    }

    /// Binds on the best server (`None`) or on one (`Some(i)`): the bound
    /// connection, or `None` when the credentials are wrong, and the server.
    pub async fn bind_at(
        &self,
        server: Option<usize>,
        dn: &str,
        password: &Secret,
    ) -> Result<(Option<Ldap>, usize), DirectoryError> {
        if password.expose().is_empty() || dn.is_empty() {
            return Ok((None, server.unwrap_or(0)));
        }
        let (mut ldap, i) = match server {
            Some(i) => (self.connect_to(i).await?, i),
            None => self.connect().await?,
        };
        let res = ldap
            .with_timeout(self.timeout)
            .simple_bind(dn, password.expose())
            .await
            .map_err(|e| unavailable("binding", e))?;
        match res.rc {
            0 => Ok((Some(ldap), i)),
            49 => Ok((None, i)),
            rc => Err(unavailable(
                "binding",
                format!("result code {rc}: {}", res.text),
            )),
        }
    }
}

/// Bound service connections.
#[derive(Debug)]
pub struct Pool {
    endpoint: Endpoint,
    bind_dn: String,
    bind_password: Secret,
    /// Idle bound connections and the server each is on.
    idle: Mutex<Vec<(Ldap, usize)>>,
    permits: Arc<Semaphore>,
}

/// A service connection on loan; returned to the pool on drop unless broken.
pub struct Pooled<'a> {
    pool: &'a Pool,
    ldap: Option<Ldap>,
    server: usize,
    broken: bool,
    _permit: OwnedSemaphorePermit,
}

impl Pool {
    pub fn new(endpoint: Endpoint, cfg: &LdapConfig) -> Self {
        Pool {
            endpoint,
            bind_dn: cfg.bind_dn.clone(),
            bind_password: cfg.bind_password.clone().unwrap_or_else(|| Secret::new("")),
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(cfg.pool_size.get())),
        }
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    pub async fn get(&self) -> Result<Pooled<'_>, DirectoryError> {
        let permit =
            tokio::time::timeout(self.endpoint.timeout, self.permits.clone().acquire_owned())
                .await
                .map_err(|_| unavailable("waiting for a pooled connection", "timed out"))?
                .map_err(|e| unavailable("pool", e))?;
        // A connection on a less preferred server than the one a new
        // connection would reach is let go, so a server that came back
        // gets its share again.
        let best = self.endpoint.preferred();
        let reused = {
            let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
            let mut found = None;
            while let Some((mut l, i)) = idle.pop() {
                if !l.is_closed() && i <= best {
                    found = Some((l, i));
                    break;
                }
            }
            found
        };
        let (ldap, server) = match reused {
            Some(found) => found,
            None => self.bind_service(None).await?,
        };
        Ok(Pooled {
            pool: self,
            ldap: Some(ldap),
            server,
            broken: false,
            _permit: permit,
        })
    }

    /// A new service connection, on the best server or on one.
    pub async fn bind_service(
        &self,
        server: Option<usize>,
    ) -> Result<(Ldap, usize), DirectoryError> {
        match self
            .endpoint
            .bind_at(server, &self.bind_dn, &self.bind_password)
            .await?
        {
            (Some(l), i) => Ok((l, i)),
            (None, _) => Err(unavailable(
                "binding the service account",
                "the directory refused bind_dn and bind_password",
            )),
        }
    }

    /// Drops every idle connection (after the directory went away, say).
    pub fn clear(&self) {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

impl std::fmt::Debug for Pooled<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pooled")
            .field("broken", &self.broken)
            .finish_non_exhaustive()
    }
}

impl Pooled<'_> {
    /// The connection, with the per-operation timeout armed.
    pub fn op(&mut self) -> &mut Ldap {
        let timeout = self.pool.endpoint.timeout;
        let ldap = self.ldap.as_mut().expect("present until drop");
        ldap.with_timeout(timeout)
    }

    /// Which configured server this connection is on.
    pub fn server(&self) -> usize {
        self.server
    }

    /// Marks the connection unusable after a transport error or timeout.
    pub fn fail(&mut self, what: &str, e: impl std::fmt::Display) -> DirectoryError {
        self.broken = true;
        self.pool.clear();
        unavailable(what, e)
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        if let Some(mut l) = self.ldap.take()
            && !self.broken
            && !l.is_closed()
        {
            self.pool
                .idle
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((l, self.server));
        }
    }
}
