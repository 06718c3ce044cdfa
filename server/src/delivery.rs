//! Mail and SMS, sent off the request path by a background worker. Handlers
//! only enqueue, so timing never depends on whether a message goes out.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::mpsc;

use crate::config::{DeliveryConfig, SmtpTls};

/// One message. Bodies hold codes: never printed.
#[derive(Clone)]
pub enum Outgoing {
    Mail {
        to: String,
        subject: String,
        body: String,
    },
    Sms {
        to: String,
        body: String,
    },
}

impl std::fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outgoing::Mail { subject, .. } => write!(f, "Mail {{ subject: {subject:?}, .. }}"),
            Outgoing::Sms { .. } => write!(f, "Sms {{ .. }}"),
        }
    }
}

#[async_trait]
pub trait Transport: Send + Sync + std::fmt::Debug {
    async fn deliver(&self, msg: &Outgoing) -> Result<(), String>;

    /// Whether a message could go out now, without sending one (readiness).
    /// `None`: this transport cannot tell without sending.
    async fn ready(&self) -> Option<Result<(), String>> {
        None
    }
}

/// The dev outbox: each message is a JSON line in `<dir>/mail.jsonl` or `<dir>/sms.jsonl`.
#[derive(Debug)]
pub struct DevOutbox {
    pub dir: PathBuf,
}

#[async_trait]
impl Transport for DevOutbox {
    async fn deliver(&self, msg: &Outgoing) -> Result<(), String> {
        use tokio::io::AsyncWriteExt;
        let (file, line) = match msg {
            Outgoing::Mail { to, subject, body } => (
                "mail.jsonl",
                serde_json::json!({ "to": to, "subject": subject, "body": body }),
            ),
            Outgoing::Sms { to, body } => {
                ("sms.jsonl", serde_json::json!({ "to": to, "body": body }))
            }
        };
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(|e| e.to_string())?;
        let mut f = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(file))
            .await
            .map_err(|e| e.to_string())?;
        f.write_all(format!("{line}\n").as_bytes())
            .await
            .map_err(|e| e.to_string())
    }

    async fn ready(&self) -> Option<Result<(), String>> {
        let r = tokio::fs::create_dir_all(&self.dir).await;
        Some(r.map_err(|e| e.to_string()))
    }
}

/// Mail over real SMTP.
#[derive(Debug)]
pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Smtp {
    pub fn new(cfg: &DeliveryConfig) -> Result<Smtp, String> {
        let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&cfg.smtp_host)
            .port(cfg.smtp_port)
            .timeout(Some(std::time::Duration::from_secs(10)));
        let params = || TlsParameters::new(cfg.smtp_host.clone()).map_err(|e| e.to_string());
        b = match cfg.smtp_tls {
            SmtpTls::None => b.tls(Tls::None),
            SmtpTls::Starttls => b.tls(Tls::Required(params()?)),
            SmtpTls::Tls => b.tls(Tls::Wrapper(params()?)),
        };
        if let (Some(user), Some(pass)) = (&cfg.smtp_user, &cfg.smtp_password) {
            b = b.credentials((user.clone(), pass.expose().to_string()).into());
        }
        let from = cfg
            .from
            .parse()
            .map_err(|e| format!("delivery.from: {e}"))?;
        Ok(Smtp {
            transport: b.build(),
            from,
        })
    }
}

#[async_trait]
impl Transport for Smtp {
    async fn deliver(&self, msg: &Outgoing) -> Result<(), String> {
        let Outgoing::Mail { to, subject, body } = msg else {
            return Err("SMTP carries mail only".into());
        };
        let email = Message::builder()
            .from(self.from.clone())
            .to(to.parse().map_err(|e| format!("recipient: {e}"))?)
            .subject(subject)
            .header(lettre::message::header::ContentType::TEXT_PLAIN)
            .body(body.clone())
            .map_err(|e| e.to_string())?;
        self.transport
            .send(email)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// Connects, greets, authenticates when configured, and says NOOP.
    async fn ready(&self) -> Option<Result<(), String>> {
        Some(match self.transport.test_connection().await {
            Ok(true) => Ok(()),
            Ok(false) => Err("the relay did not answer NOOP".into()),
            Err(e) => Err(e.to_string()),
        })
    }
}

/// SMS through an HTTP gateway: one JSON POST per message, 10 s timeout.
#[derive(Debug)]
pub struct HttpSms {
    client: reqwest::Client,
    url: String,
    token: Option<crate::secret::Secret>,
}

impl HttpSms {
    pub fn new(url: &str, token: Option<crate::secret::Secret>) -> Result<HttpSms, String> {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        Ok(HttpSms {
            client,
            url: url.to_string(),
            token,
        })
    }
}

#[async_trait]
impl Transport for HttpSms {
    async fn deliver(&self, msg: &Outgoing) -> Result<(), String> {
        let Outgoing::Sms { to, body } = msg else {
            return Err("the SMS gateway carries texts only".into());
        };
        let mut req = self
            .client
            .post(&self.url)
            .json(&serde_json::json!({ "to": to, "message": body }));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t.expose());
        }
        let resp = req
            .send()
            .await
            .map_err(|e| format!("SMS gateway unreachable: {e}"))?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(format!("SMS gateway answered {}", resp.status()))
        }
    }
}

/// What the worker takes: a message, or a request to say when every
/// message before it has been handled.
enum Item {
    Message(Outgoing),
    Flush(tokio::sync::oneshot::Sender<()>),
}

/// The queue handlers enqueue into.
#[derive(Debug, Clone)]
pub struct Outbox {
    tx: mpsc::UnboundedSender<Item>,
    mail: Arc<dyn Transport>,
    sms: Arc<dyn Transport>,
}

impl Outbox {
    /// Starts the worker. `mail` and `sms` may be the same transport.
    pub fn start(mail: Arc<dyn Transport>, sms: Arc<dyn Transport>) -> Outbox {
        let (tx, mut rx) = mpsc::unbounded_channel::<Item>();
        let transports = (mail.clone(), sms.clone());
        tokio::spawn(async move {
            while let Some(item) = rx.recv().await {
                let msg = match item {
                    Item::Message(m) => m,
                    Item::Flush(done) => {
                        let _ = done.send(());
                        continue;
                    }
                };
                let t = if matches!(msg, Outgoing::Mail { .. }) {
                    &mail
                } else {
                    &sms
                };
                // A few retries with backoff; a message is never logged with its body.
                let mut delay = std::time::Duration::from_millis(200);
                for attempt in 1..=3 {
                    match t.deliver(&msg).await {
                        Ok(()) => break,
                        Err(e) => {
                            tracing::warn!(?msg, attempt, error = %e, "delivery failed");
                            tokio::time::sleep(delay).await;
                            delay *= 4;
                        }
                    }
                }
            }
        });
        Outbox {
            tx,
            mail: transports.0,
            sms: transports.1,
        }
    }

    /// The mail and the SMS transport, for readiness.
    pub fn transports(&self) -> (&dyn Transport, &dyn Transport) {
        (self.mail.as_ref(), self.sms.as_ref())
    }

    pub fn send(&self, msg: Outgoing) {
        if self.tx.send(Item::Message(msg)).is_err() {
            tracing::error!("delivery worker is gone; message dropped");
        }
    }

    /// Waits until every message queued so far has been handled (delivered,
    /// or given up on): a command that exits right after queueing one.
    pub async fn flush(&self) {
        let (done, wait) = tokio::sync::oneshot::channel();
        if self.tx.send(Item::Flush(done)).is_ok() {
            let _ = wait.await;
        }
    }
}
