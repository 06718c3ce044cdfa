//! A real Samba AD domain controller on loopback for the Active Directory
//! tests: `samba-tool domain provision` into a temporary directory, LDAPS with
//! a throwaway CA, a service account granted only the Reset Password right
//! and write access to `lockoutTime` on the People OU, and a domain policy
//! with a minimum length, complexity, history and lockout.
//!
//! Samba's LDAP server always listens on 389/636, so one domain controller
//! runs at a time; it needs root (the test command runs as root).
#![allow(clippy::unwrap_used, dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::slapd::{can_run, run, stop_child};

pub const BASE: &str = "DC=sspr,DC=test";
pub const PEOPLE: &str = "OU=People,DC=sspr,DC=test";
pub const SERVICE_UPN: &str = "sspr-svc@sspr.test";
pub const SERVICE_PW: &str = "Service-Pass-4471!";
pub const ALICE_DN: &str = "CN=Alice Archer,OU=People,DC=sspr,DC=test";
pub const ALICE_PW: &str = "Alice-Initial-Pass-1";
pub const CAROL_DN: &str = "CN=Carol Chen,OU=People,DC=sspr,DC=test";
pub const CAROL_PW: &str = "Carol-Initial-Pass-7";
pub const ADMINS_DN: &str = "CN=Helpdesk Admins,CN=Users,DC=sspr,DC=test";
/// The domain's minimum length (the portal's own is 8).
pub const DOMAIN_MIN: usize = 10;
/// carol's fine-grained policy's minimum length.
pub const PSO_MIN: usize = 14;

pub struct SambaDc {
    pub dir: tempfile::TempDir,
    child: Option<Child>,
    grant_pso_read: [String; 2],
}

/// False (with a note) when a Samba DC cannot run here and the run does not
/// demand one; `cargo xtask test` sets SSPR_REQUIRE_SAMBA=1 and installs it.
pub fn samba_available() -> bool {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    can_run(
        root && Path::new("/usr/sbin/samba").exists()
            && Path::new("/usr/bin/samba-tool").exists()
            && Path::new("/usr/bin/ldapsearch").exists(),
        "SSPR_REQUIRE_SAMBA",
        "a Samba AD DC needs root and samba-ad-dc/ldap-utils",
    )
}

impl SambaDc {
    pub fn start() -> SambaDc {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_path_buf();
        super::slapd::make_certs(&d, "sspr AD test CA");
        let conf = d.join("etc/smb.conf");
        run(Command::new("samba-tool").args([
            "domain",
            "provision",
            "--realm=SSPR.TEST",
            "--domain=SSPR",
            "--server-role=dc",
            "--dns-backend=NONE",
            "--adminpass=Admin-Pass-123!",
            "--host-ip=127.0.0.1",
            "--option=interfaces=lo",
            "--option=bind interfaces only=yes",
            &format!("--targetdir={}", d.display()),
        ]));
        // LDAP only, our certificate, logs in the temporary directory, and no
        // grace period in which the previous password still authenticates
        // (AD's OldPasswordAllowedPeriod, 60 minutes by default, for NTLM).
        let smb = std::fs::read_to_string(&conf).unwrap().replacen(
            "[global]\n",
            &format!(
                "[global]\n\ttls enabled = yes\n\ttls certfile = {d}/server.pem\n\ttls keyfile = {d}/server.key\n\
                 \ttls cafile = {d}/ca.pem\n\tlog file = {d}/samba.log\n\
                 \told password allowed period = 0\n",
                d = d.display()
            ),
            1,
        );
        let smb = smb
            .lines()
            .map(|l| {
                if l.trim_start().starts_with("server services") {
                    "\tserver services = ldap".to_string()
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        std::fs::write(&conf, smb + "\n").unwrap();
        let tool = |args: &[&str]| {
            run(Command::new("samba-tool")
                .args(args)
                .arg("-s")
                .arg(&conf)
                .arg("-H")
                .arg(d.join("private/sam.ldb")))
        };
        tool(&["ou", "create", PEOPLE]);
        tool(&[
            "user",
            "create",
            "alice",
            ALICE_PW,
            "--given-name=Alice",
            "--surname=Archer",
            "--mail-address=alice@sspr.test",
            "--telephone-number=+15551230001",
            "--userou=OU=People",
        ]);
        tool(&[
            "user",
            "create",
            "carol",
            CAROL_PW,
            "--given-name=Carol",
            "--surname=Chen",
            "--mail-address=carol@sspr.test",
            "--userou=OU=People",
        ]);
        tool(&["user", "create", "sspr-svc", SERVICE_PW]);
        // A domain admin among the people: AD marks them adminCount=1.
        tool(&[
            "user",
            "create",
            "erin",
            "Erin-Initial-Pass-5",
            "--given-name=Erin",
            "--surname=Evans",
            "--userou=OU=People",
        ]);
        tool(&["group", "addmembers", "Domain Admins", "erin"]);
        tool(&["group", "add", "Staff"]);
        tool(&["group", "add", "All Staff"]);
        tool(&["group", "addmembers", "Staff", "alice"]);
        tool(&["group", "addmembers", "All Staff", "Staff"]);
        tool(&["group", "add", "Tier2"]);
        tool(&["group", "add", "Helpdesk Admins"]);
        tool(&["group", "addmembers", "Tier2", "carol"]);
        tool(&["group", "addmembers", "Helpdesk Admins", "Tier2"]);
        tool(&[
            "domain",
            "passwordsettings",
            "set",
            &format!("--min-pwd-length={DOMAIN_MIN}"),
            "--history-length=3",
            "--complexity=on",
            "--min-pwd-age=0",
            "--account-lockout-threshold=3",
            "--account-lockout-duration=0",
            "--reset-account-lockout-after=30",
        ]);
        // A fine-grained policy for carol, stricter than the domain's.
        tool(&[
            "domain",
            "passwordsettings",
            "pso",
            "create",
            "Strict Admins",
            "1",
            &format!("--min-pwd-length={PSO_MIN}"),
            "--complexity=on",
            "--history-length=5",
            "--min-pwd-age=0",
            "--account-lockout-threshold=3",
            "--account-lockout-duration=0",
            "--reset-account-lockout-after=30",
        ]);
        tool(&[
            "domain",
            "passwordsettings",
            "pso",
            "apply",
            "Strict Admins",
            "carol",
        ]);
        let sid = tool(&["user", "show", "sspr-svc"])
            .lines()
            .find_map(|l| l.strip_prefix("objectSid: ").map(str::to_string))
            .unwrap();
        // Least privilege: Reset Password on users, and write lockoutTime.
        const USER_CLASS: &str = "bf967aba-0de6-11d0-a285-00aa003049e2";
        const RESET_PASSWORD: &str = "00299570-246d-11d0-a768-00aa006e0529";
        const LOCKOUT_TIME: &str = "28630ebf-41d5-11d1-a9c1-0000f80367c1";
        for ace in [
            format!("(OA;CI;CR;{RESET_PASSWORD};{USER_CLASS};{sid})"),
            format!("(OA;CI;WP;{LOCKOUT_TIME};{USER_CLASS};{sid})"),
        ] {
            tool(&[
                "dsacl",
                "set",
                &format!("--objectdn={PEOPLE}"),
                &format!("--sddl={ace}"),
            ]);
        }
        // Until granted, fine-grained policies are unreadable and the connector
        // falls back to the domain's rules (the test checks both).
        let grant_pso_read = [
            format!("--objectdn=CN=Password Settings Container,CN=System,{BASE}"),
            format!("--sddl=(A;CI;RPLCLORC;;;{sid})"),
        ];
        let mut dc = SambaDc {
            dir,
            child: None,
            grant_pso_read,
        };
        dc.resume();
        dc
    }

    pub fn resume(&mut self) {
        let conf = self.dir.path().join("etc/smb.conf");
        let child = Command::new("/usr/sbin/samba")
            .args(["-i", "-s"])
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.binds(SERVICE_UPN, SERVICE_PW) {
            assert!(Instant::now() < deadline, "samba did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn stop(&mut self) {
        stop_child(&mut self.child);
    }

    /// Lets the service account read fine-grained password policies.
    pub fn grant_pso_read(&self) {
        let d = self.dir.path();
        run(Command::new("samba-tool")
            .args([
                "dsacl",
                "set",
                &self.grant_pso_read[0],
                &self.grant_pso_read[1],
            ])
            .arg("-s")
            .arg(d.join("etc/smb.conf"))
            .arg("-H")
            .arg(d.join("private/sam.ldb")));
    }

    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// A simple bind over LDAPS with the certificate verified (Samba has no
    /// WhoAmI operation, so a base search of the root DSE stands in).
    pub fn binds(&self, who: &str, password: &str) -> bool {
        Command::new("/usr/bin/ldapsearch")
            .args([
                "-x",
                "-H",
                "ldaps://127.0.0.1:636",
                "-D",
                who,
                "-w",
                password,
            ])
            .args(["-b", "", "-s", "base", "(objectClass=*)", "dnsHostName"])
            .env("LDAPTLS_CACERT", self.ca_file())
            .env("LDAPTLS_REQCERT", "demand")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    pub fn config(&self) -> String {
        format!(
            "[directory]\nkind = \"active_directory\"\n[directory.ldap]\nurl = \"ldaps://127.0.0.1:636\"\n\
             ca_file = \"{ca}\"\nbind_dn = \"{SERVICE_UPN}\"\nbind_password = \"{SERVICE_PW}\"\n\
             user_base = \"{PEOPLE}\"\ngroup_base = \"{BASE}\"\nadmin_group = \"{ADMINS_DN}\"\ntimeout_secs = 5\n",
            ca = self.ca_file().display()
        )
    }
}

impl Drop for SambaDc {
    fn drop(&mut self) {
        self.stop();
    }
}
