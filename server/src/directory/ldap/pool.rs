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

use crate::config::LdapConfig;
use crate::directory::DirectoryError;
use crate::secret::Secret;

/// Where and how to connect, shared by the pool and user binds.
#[derive(Clone)]
pub struct Endpoint {
    url: String,
    host: String,
    port: u16,
    starttls: bool,
    tls: Arc<ClientConfig>,
    pub timeout: Duration,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("url", &self.url)
            .field("starttls", &self.starttls)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

pub fn unavailable(what: &str, e: impl std::fmt::Display) -> DirectoryError {
    DirectoryError::Unavailable(format!("{what}: {e}"))
}

impl Endpoint {
    pub fn new(cfg: &LdapConfig) -> Result<Self, DirectoryError> {
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
        let parsed = url::Url::parse(&cfg.url).map_err(|e| unavailable("directory.ldap.url", e))?;
        let host = parsed
            .host_str()
            .map(|h| h.trim_start_matches('[').trim_end_matches(']').to_string())
            .ok_or_else(|| unavailable("directory.ldap.url", "no host"))?;
        let port = parsed
            .port()
            .unwrap_or(if parsed.scheme() == "ldaps" { 636 } else { 389 });
        Ok(Endpoint {
            url: cfg.url.clone(),
            host,
            port,
            starttls: cfg.starttls,
            tls: Arc::new(tls),
            timeout: Duration::from_secs(cfg.timeout_secs),
        })
    }

    /// A fresh TLS connection, not yet bound.
    pub async fn connect(&self) -> Result<Ldap, DirectoryError> {
        let settings = LdapConnSettings::new()
            .set_conn_timeout(self.timeout)
            .set_starttls(self.starttls)
            .set_config(self.tls.clone());
        let (conn, ldap) = tokio::time::timeout(self.timeout, async {
            // Our own socket, with Nagle off: LDAP's small request/response
            // exchanges otherwise meet delayed ACKs and wait 40 ms each.
            let tcp = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
                .await
                .map_err(|e| unavailable("connecting", e))?;
            tcp.set_nodelay(true)
                .map_err(|e| unavailable("connecting", e))?;
            let std = tcp.into_std().map_err(|e| unavailable("connecting", e))?;
            LdapConnAsync::with_settings(settings.set_std_stream(StdStream::Tcp(std)), &self.url)
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
        let mut ldap = self.connect().await?;
        let res = ldap
            .with_timeout(self.timeout)
            .simple_bind(dn, password.expose())
            .await
            .map_err(|e| unavailable("binding", e))?;
        match res.rc {
            0 => Ok(Some(ldap)),
            49 => Ok(None),
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
    idle: Mutex<Vec<Ldap>>,
    permits: Arc<Semaphore>,
}

/// A service connection on loan; returned to the pool on drop unless broken.
pub struct Pooled<'a> {
    pool: &'a Pool,
    ldap: Option<Ldap>,
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
            permits: Arc::new(Semaphore::new(cfg.pool_size)),
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
        let reused = {
            let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
            let mut found = None;
            while let Some(mut l) = idle.pop() {
                if !l.is_closed() {
                    found = Some(l);
                    break;
                }
            }
            found
        };
        let ldap = match reused {
            Some(l) => l,
            None => self
                .endpoint
                .bind(&self.bind_dn, &self.bind_password)
                .await?
                .ok_or_else(|| {
                    unavailable(
                        "binding the service account",
                        "the directory refused bind_dn and bind_password",
                    )
                })?,
        };
        Ok(Pooled {
            pool: self,
            ldap: Some(ldap),
            broken: false,
            _permit: permit,
        })
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
                .push(l);
        }
    }
}
