//! The LDAP connector's latency against a real slapd on loopback (verified
//! TLS, ppolicy): a pooled lookup (search, nested groups, cached policy), a
//! user bind on a fresh TLS connection, and a password reset through the
//! pool. Prints median and p99 per operation. Needs Debian's slapd.
//!
//! `cargo bench -p sspr-server --bench directory`
#![allow(clippy::unwrap_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::slapd::*;
use sspr_server::config::Config;
use sspr_server::directory::Directory;
use sspr_server::directory::ldap::LdapDirectory;
use sspr_server::secret::Secret;
use sspr_server::store::Store;

const N: usize = 200;

fn report(name: &str, mut t: Vec<Duration>) {
    t.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name:<44} median {:>7.2} ms   p99 {:>7.2} ms   (n = {})",
        ms(t[t.len() / 2]),
        ms(t[t.len() * 99 / 100]),
        t.len()
    );
}

#[tokio::main]
async fn main() {
    if !slapd_available() {
        return;
    }
    let slapd = Slapd::start();
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", tmp.path().join("b.db").display());
    let store = Store::open(&url, 4).await.unwrap();
    for (label, starttls) in [("LDAPS", false), ("StartTLS", true)] {
        let text = format!(
            "[server]\npublic_url = \"http://localhost\"\n{}",
            slapd.config(starttls)
        );
        let c = Config::from_str_at(&text, std::path::Path::new("/b/sspr.toml"), []).unwrap();
        let clock = Arc::new(sspr_server::clock::ManualClock::at(common::T0));
        let dir = LdapDirectory::new(
            c.directory.kind,
            c.directory.ldap.unwrap(),
            store.clone(),
            clock,
        )
        .unwrap();
        let alice = dir.find_user("alice").await.unwrap().unwrap();

        let mut t = Vec::new();
        for _ in 0..N {
            let s = Instant::now();
            dir.find_user("alice").await.unwrap().unwrap();
            t.push(s.elapsed());
        }
        report(&format!("{label}: find_user (pooled, groups, policy)"), t);

        let pw = Secret::new(format!("Bench-Start-{label}-Pass"));
        dir.set_password(&alice, &pw).await.unwrap();
        let mut t = Vec::new();
        for _ in 0..N {
            let s = Instant::now();
            assert!(dir.verify_password(&alice, &pw).await.unwrap());
            t.push(s.elapsed());
        }
        report(
            &format!("{label}: verify_password (new TLS conn + bind)"),
            t,
        );

        let mut t = Vec::new();
        for i in 0..N / 4 {
            let p = Secret::new(format!("Bench-Password-{label}-{i:04}"));
            let s = Instant::now();
            dir.set_password(&alice, &p).await.unwrap();
            t.push(s.elapsed());
        }
        report(&format!("{label}: set_password (ppolicy exop)"), t);
    }
}
