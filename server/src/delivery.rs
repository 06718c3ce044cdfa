//! The transports that carry mail, SMS and voice calls: SMTP, an HTTP SMS
//! gateway, an HTTP voice gateway (whose provider reads the code aloud), and
//! the dev outbox. Handlers never call them: they queue in the durable
//! outbox (`crate::outbox`), whose worker does, off the request path.

use std::path::PathBuf;

use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};

use crate::config::{DeliveryConfig, SmtpTls};

/// One message. Bodies hold codes: never printed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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
    /// A call whose provider reads `text` aloud, in `locale`.
    Call {
        to: String,
        text: String,
        locale: String,
    },
}

impl std::fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outgoing::Mail { subject, .. } => write!(f, "Mail {{ subject: {subject:?}, .. }}"),
            Outgoing::Sms { .. } => write!(f, "Sms {{ .. }}"),
            Outgoing::Call { locale, .. } => write!(f, "Call {{ locale: {locale:?}, .. }}"),
        }
    }
}

#[async_trait]
pub trait Transport: Send + Sync + std::fmt::Debug {
    /// Hands `msg` on. `id` is the outbox row's: the same for every try of
    /// one message (mail carries it as its Message-ID).
    async fn deliver(&self, msg: &Outgoing, id: &str) -> Result<(), String>;

    /// Whether a message could go out now, without sending one (readiness).
    /// `None`: this transport cannot tell without sending.
    async fn ready(&self) -> Option<Result<(), String>> {
        None
    }
}

/// The dev outbox: each message is a JSON line in `<dir>/mail.jsonl`,
/// `<dir>/sms.jsonl` or `<dir>/voice.jsonl`.
#[derive(Debug)]
pub struct DevOutbox {
    pub dir: PathBuf,
}

#[async_trait]
impl Transport for DevOutbox {
    async fn deliver(&self, msg: &Outgoing, id: &str) -> Result<(), String> {
        use tokio::io::AsyncWriteExt;
        let (file, line) = match msg {
            Outgoing::Mail { to, subject, body } => (
                "mail.jsonl",
                serde_json::json!({ "id": id, "to": to, "subject": subject, "body": body }),
            ),
            Outgoing::Sms { to, body } => (
                "sms.jsonl",
                serde_json::json!({ "id": id, "to": to, "body": body }),
            ),
            Outgoing::Call { .. } => ("voice.jsonl", call_body(msg, id)),
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
    async fn deliver(&self, msg: &Outgoing, id: &str) -> Result<(), String> {
        let Outgoing::Mail { to, subject, body } = msg else {
            return Err("SMTP carries mail only".into());
        };
        let domain = self.from.email.domain();
        let email = Message::builder()
            .message_id(Some(format!("<{id}@{domain}>")))
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
    /// Every try of one text carries the same `Idempotency-Key`, so a
    /// gateway that honours it sends a retried text once.
    async fn deliver(&self, msg: &Outgoing, id: &str) -> Result<(), String> {
        let Outgoing::Sms { to, body } = msg else {
            return Err("the SMS gateway carries texts only".into());
        };
        let mut req = self
            .client
            .post(&self.url)
            .header("Idempotency-Key", id)
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

/// The JSON a voice gateway (and the dev outbox's `voice.jsonl`) gets for a
/// call: the number, the text to read, the code's locale, and the outbox
/// row's id as an idempotency key. `Null` for anything but a call.
pub fn call_body(msg: &Outgoing, id: &str) -> serde_json::Value {
    match msg {
        Outgoing::Call { to, text, locale } => serde_json::json!({
            "to": to,
            "text": text,
            "locale": locale,
            "idempotency_key": id,
        }),
        _ => serde_json::Value::Null,
    }
}

/// A code as a speech engine should read it: digit by digit, with a pause
/// between each ("4, 8, 1, 5, 1, 6"), never as one large number.
pub fn spoken_digits(code: &str) -> String {
    let digits: Vec<String> = code.chars().map(String::from).collect();
    digits.join(", ")
}

/// Voice calls through an HTTP gateway whose provider reads the text aloud:
/// one JSON POST per call, 10 s timeout, as for SMS.
#[derive(Debug)]
pub struct HttpVoice {
    client: reqwest::Client,
    url: String,
    token: Option<crate::secret::Secret>,
}

impl HttpVoice {
    pub fn new(url: &str, token: Option<crate::secret::Secret>) -> Result<HttpVoice, String> {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        Ok(HttpVoice {
            client,
            url: url.to_string(),
            token,
        })
    }
}

#[async_trait]
impl Transport for HttpVoice {
    /// Every try of one call carries the same `Idempotency-Key` (header and
    /// body), so a gateway that honours it rings once.
    async fn deliver(&self, msg: &Outgoing, id: &str) -> Result<(), String> {
        if !matches!(msg, Outgoing::Call { .. }) {
            return Err("the voice gateway carries calls only".into());
        }
        let mut req = self
            .client
            .post(&self.url)
            .header("Idempotency-Key", id)
            .json(&call_body(msg, id));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t.expose());
        }
        let resp = req
            .send()
            .await
            .map_err(|e| format!("voice gateway unreachable: {e}"))?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(format!("voice gateway answered {}", resp.status()))
        }
    }
}

/// Where no voice delivery is configured: nothing queues a call then (no
/// option offers one), so a call that reaches it is a failed try.
#[derive(Debug)]
pub struct NoVoice;

#[async_trait]
impl Transport for NoVoice {
    async fn deliver(&self, _msg: &Outgoing, _id: &str) -> Result<(), String> {
        Err("no voice delivery is configured (delivery.voice)".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_read_digit_by_digit() {
        assert_eq!(spoken_digits("481516"), "4, 8, 1, 5, 1, 6");
    }

    #[test]
    fn calls_never_print_their_text() {
        let c = Outgoing::Call {
            to: "+15550100042".into(),
            text: "4, 8, 1".into(),
            locale: "de".into(),
        };
        let p = format!("{c:?}");
        assert!(!p.contains("4, 8") && !p.contains("0042"), "{p}");
        let b = call_body(&c, "row1");
        assert_eq!(b["to"], "+15550100042");
        assert_eq!(b["locale"], "de");
        assert_eq!(b["idempotency_key"], "row1");
    }
}
