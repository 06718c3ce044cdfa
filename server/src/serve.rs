//! The HTTP listener, with the limits a public service needs:
//!
//! - a cap on open connections, in all and per client address (past it a
//!   new connection is closed at once; trusted proxies have no per-address cap);
//! - a header-read timeout: a request whose headers are not all in within it
//!   is dropped (slowloris), a connection that sends nothing at all is closed
//!   after the same time, and so is a keep-alive connection waiting for its
//!   next request;
//! - an idle timeout: a connection on which no byte moves for that long is
//!   closed (a body trickled in byte by byte, a silent HTTP/2 peer);
//! - the request timeout lives in [`crate::deadline`], per request.
//!
//! On SIGTERM or Ctrl-C the listener stops accepting and open connections
//! finish what they are doing.

use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;
use tower::ServiceExt;

/// The connection limits, from `[server]`.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_connections: usize,
    /// Open connections per client address (IPv6 per /64); trusted proxies
    /// are exempt, since every client behind them shares their address.
    pub per_client: usize,
    pub trusted: Vec<crate::client_ip::Cidr>,
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
}

/// Open connections per client address. Holds an entry per address with an
/// open connection, so no more than the connection cap.
#[derive(Debug, Default)]
struct PerClient(std::sync::Mutex<std::collections::HashMap<String, usize>>);

impl PerClient {
    fn take(&self, key: &str, max: usize) -> bool {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = m.entry(key.to_string()).or_insert(0);
        if *n >= max {
            return false;
        }
        *n += 1;
        true
    }

    fn give(&self, key: &str) {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = m.get_mut(key) {
            *n -= 1;
            if *n == 0 {
                m.remove(key);
            }
        }
    }
}

/// Serves `app` on `listener` until `shutdown` resolves.
pub async fn run(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let per_client = Arc::new(PerClient::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = pin!(shutdown);
    let mut refused_at: Option<Instant> = None;
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait, don't spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let client = crate::client_ip::ClientIp(Some(peer.ip()));
        let exempt = limits.trusted.iter().any(|c| c.contains(peer.ip()));
        let key = client.limit_key();
        if !exempt && !per_client.take(&key, limits.per_client) {
            drop(stream);
            continue;
        }
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            if !exempt {
                per_client.give(&key);
            }
            // Closed at once rather than left waiting in the backlog.
            if refused_at.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
                tracing::warn!(
                    max = limits.max_connections,
                    "connection cap reached: refusing new connections"
                );
                refused_at = Some(Instant::now());
            }
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let mut stop = stop_rx.clone();
        let (limits, per_client) = (limits.clone(), per_client.clone());
        tokio::spawn(async move {
            let _slot = slot;
            serve_connection(stream, peer, app, &limits, &mut stop).await;
            if !exempt {
                per_client.give(&key);
            }
        });
    }
    // Open connections finish their requests, then close.
    let _ = stop_tx.send(true);
    let deadline = Instant::now() + Duration::from_secs(30);
    while slots.available_permits() < limits.max_connections && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    limits: &Limits,
    stop: &mut watch::Receiver<bool>,
) {
    let started = Instant::now();
    let activity = Arc::new(AtomicU64::new(0));
    let read_any = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let io = TokioIo::new(Tracked {
        inner: stream,
        activity: activity.clone(),
        read_any: read_any.clone(),
        started,
    });
    let service = app.map_request(move |mut req: Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        req.map(Body::new)
    });
    // HTTP/1.1 only: the portal sits behind a TLS proxy, which speaks
    // HTTP/1.1 to it; HTTP/2 in clear (prior knowledge) would only add
    // surface, and its pings keep a connection that sends no request alive.
    let mut builder = Builder::new(TokioExecutor::new()).http1_only();
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(64 * 1024);
    let mut conn = pin!(builder.serve_connection(io, TowerToHyperService::new(service)));
    let tick = (limits.idle_timeout.min(limits.header_timeout) / 4).max(Duration::from_millis(100));
    let mut stopping = *stop.borrow();
    if stopping {
        conn.as_mut().graceful_shutdown();
    }
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, %peer, "connection ended");
                }
                return;
            }
            changed = stop.changed(), if !stopping => {
                if changed.is_err() || *stop.borrow() {
                    stopping = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
            () = tokio::time::sleep(tick) => {
                // A connection that has sent nothing at all gets the header
                // timeout, not the idle one: opening sockets and staying
                // silent must not hold slots.
                if !read_any.load(Ordering::Relaxed) && started.elapsed() >= limits.header_timeout {
                    tracing::debug!(%peer, "silent connection closed");
                    return;
                }
                let last = Duration::from_millis(activity.load(Ordering::Relaxed));
                if started.elapsed().saturating_sub(last) >= limits.idle_timeout {
                    tracing::debug!(%peer, "idle connection closed");
                    return;
                }
            }
        }
    }
}

/// A socket that notes when a byte last moved.
struct Tracked {
    inner: TcpStream,
    /// Milliseconds after `started` of the last read or write.
    activity: Arc<AtomicU64>,
    /// Whether the client has sent a byte yet.
    read_any: Arc<std::sync::atomic::AtomicBool>,
    started: Instant,
}

impl Tracked {
    fn touch(&self) {
        let ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.activity.store(ms, Ordering::Relaxed);
    }
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.read_any.store(true, Ordering::Relaxed);
            self.touch();
        }
        r
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
