//! A failure is logged with its whole cause chain, by the request log,
//! inside the request's span: the line names the request id the client got
//! back in `X-Request-Id`, and the body names nothing internal. Black-box:
//! the real binary, `log_format = "json"`, its stderr read back.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The binary, killed when the test ends however it ends.
struct Portal(Child);

impl Drop for Portal {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One HTTP/1.1 request; the raw answer (head and body).
fn request(port: u16, head: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        s,
        "{head}\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

fn header<'a>(answer: &'a str, name: &str) -> Option<&'a str> {
    let (head, _) = answer.split_once("\r\n\r\n")?;
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[tokio::test]
async fn a_store_failure_is_logged_with_its_cause_and_request_id_and_never_answered() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let db = dir.path().join("t.db");
    let config = dir.path().join("sspr.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nbind = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}\"\n\
             log_format = \"json\"\n\
             [store]\nurl = \"sqlite://{db}?mode=rwc\"\n\
             [directory]\ndemo_users = true\n\
             [secrets]\nkey_file = \"{key}\"\n\
             [delivery]\nmail = \"outbox\"\nsms = \"outbox\"\noutbox_dir = \"{outbox}\"\n",
            db = db.display(),
            key = dir.path().join("sspr.key").display(),
            outbox = dir.path().join("outbox").display(),
        ),
    )
    .unwrap();
    let mut portal = Portal(
        Command::new(env!("CARGO_BIN_EXE_sspr"))
            .arg("--config")
            .arg(&config)
            .arg("serve")
            .env("SSPR_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if TcpStream::connect(("127.0.0.1", port)).is_ok()
            && request(port, "GET /api/health HTTP/1.1").starts_with("HTTP/1.1 200")
        {
            break;
        }
        assert!(portal.0.try_wait().unwrap().is_none(), "the portal exited");
        assert!(Instant::now() < deadline, "the portal did not start");
        std::thread::sleep(Duration::from_millis(100));
    }

    // The store loses the sessions table under the running portal.
    let pool = sqlx::sqlite::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    sqlx::query("ALTER TABLE sessions RENAME TO sessions_gone")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;

    let token = "0badc0ffee0badc0ffee0badc0ffee00";
    let answer = request(
        port,
        &format!("GET /api/session HTTP/1.1\r\nCookie: __Host-sspr_session={token}"),
    );
    assert!(answer.starts_with("HTTP/1.1 500"), "{answer}");
    let id = header(&answer, "x-request-id").unwrap().to_string();
    let (_, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(body.contains("\"server.internal\""), "{body}");
    for leak in ["sessions", "table", "store", "database", "sqlx", "query"] {
        assert!(!body.contains(leak), "{leak} in {body}");
    }

    // Stop the portal and read everything it logged.
    portal.0.kill().unwrap();
    portal.0.wait().unwrap();
    let mut stderr = String::new();
    portal
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let of_request: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["span"]["id"] == id.as_str())
        .collect();
    let failed = of_request
        .iter()
        .find(|l| l["message"] == "request failed")
        .unwrap_or_else(|| panic!("no failure logged for {id}:\n{stderr}"));
    assert_eq!(failed["level"], "ERROR", "{failed}");
    assert_eq!(failed["status"], 500, "{failed}");
    assert_eq!(failed["span"]["route"], "/api/session", "{failed}");
    let cause = failed["cause"].as_str().unwrap();
    // The whole chain: what was done, then the database's own words.
    assert!(
        cause.starts_with("internal: store query failed: "),
        "{cause}"
    );
    assert!(cause.contains("no such table: sessions"), "{cause}");
    // The request's own closing line follows it, in the same span.
    let last = of_request.last().unwrap();
    assert_eq!(last["message"], "request", "{last}");
    assert_eq!(last["status"], 500, "{last}");
    // Every failure line belongs to a request, and no log line holds the
    // session token.
    for l in &lines {
        if l["message"] == "request failed" {
            assert!(l["span"]["id"].is_string(), "{l}");
        }
    }
    assert!(!stderr.contains(token), "{stderr}");
}
