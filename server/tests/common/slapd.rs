//! A real OpenLDAP `slapd` on loopback for the connector tests: a throwaway
//! CA and server certificate, the ppolicy overlay with a default policy, a
//! service account that may reset passwords (but not bypass the policy), and
//! a few people and nested groups. Started and stopped by the tests.
#![allow(clippy::unwrap_used, dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const SUFFIX: &str = "dc=example,dc=org";
pub const SERVICE_DN: &str = "cn=sspr,ou=services,dc=example,dc=org";
pub const SERVICE_PW: &str = "service-Secret-4471";
pub const ALICE_DN: &str = "uid=alice,ou=people,dc=example,dc=org";
pub const ALICE_PW: &str = "Correct-Horse-Battery-1";
pub const POLICY_DN: &str = "cn=default,ou=policies,dc=example,dc=org";
/// dave's own policy (`pwdPolicySubentry`): longer, and a minimum age.
pub const STRICT_DN: &str = "cn=strict,ou=policies,dc=example,dc=org";
pub const STRICT_MIN: usize = 12;
pub const DAVE_DN: &str = "uid=dave,ou=people,dc=example,dc=org";
pub const DAVE_PW: &str = "Dave-Strong-Pass-3141";
pub const ADMINS_DN: &str = "cn=helpdesk-admins,ou=groups,dc=example,dc=org";
/// The default policy's minimum length (the portal's own is 8).
pub const PPOLICY_MIN: usize = 10;

pub struct Slapd {
    pub dir: tempfile::TempDir,
    pub ldap_port: u16,
    pub ldaps_port: u16,
    child: Option<Child>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs a setup command that must succeed: its standard output.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether a server a test needs can run here. When it cannot, a run that
/// sets `require` (as `cargo xtask test` does) fails; any other says why it
/// skipped.
pub fn can_run(found: bool, require: &str, why: &str) -> bool {
    if !found {
        assert!(
            std::env::var_os(require).is_none(),
            "{require} is set but {why}"
        );
        eprintln!("skipped: {why} (cargo xtask test installs it)");
    }
    found
}

/// Stops a server the tests started (SIGTERM, then reaps it).
pub fn stop_child(child: &mut Option<Child>) {
    if let Some(mut c) = child.take() {
        let _ = Command::new("kill").arg(c.id().to_string()).status();
        let _ = c.wait();
    }
}

pub fn slapd_available() -> bool {
    can_run(
        Path::new("/usr/sbin/slapd").exists() && Path::new("/usr/bin/ldapwhoami").exists(),
        "SSPR_REQUIRE_SLAPD",
        "slapd/ldap-utils are not installed",
    )
}

/// A CA and a server certificate for 127.0.0.1 in `dir`.
pub fn make_certs(dir: &Path, ca_name: &str) {
    let openssl = |args: &[&str]| run(Command::new("openssl").current_dir(dir).args(args));
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-days",
        "2",
        "-subj",
        &format!("/CN={ca_name}"),
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    ]);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
        "-out",
        "server.pem",
    ]);
}

impl Slapd {
    pub fn start() -> Slapd {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        make_certs(d, "sspr test CA");
        std::fs::create_dir_all(d.join("cfg")).unwrap();
        std::fs::create_dir_all(d.join("db")).unwrap();
        let p = |name: &str| d.join(name).display().to_string();
        let config = format!(
            "dn: cn=config\nobjectClass: olcGlobal\ncn: config\nolcPidFile: {pid}\n\
             olcTLSCACertificateFile: {ca}\nolcTLSCertificateFile: {cert}\nolcTLSCertificateKeyFile: {key}\n\n\
             dn: cn=module{{0}},cn=config\nobjectClass: olcModuleList\ncn: module{{0}}\n\
             olcModulePath: /usr/lib/ldap\nolcModuleLoad: back_mdb\nolcModuleLoad: ppolicy\n\n\
             dn: cn=schema,cn=config\nobjectClass: olcSchemaConfig\ncn: schema\n\n\
             include: file:///etc/ldap/schema/core.ldif\n\n\
             include: file:///etc/ldap/schema/cosine.ldif\n\n\
             include: file:///etc/ldap/schema/inetorgperson.ldif\n\n\
             dn: olcDatabase={{-1}}frontend,cn=config\nobjectClass: olcDatabaseConfig\n\
             objectClass: olcFrontendConfig\nolcDatabase: {{-1}}frontend\n\n\
             dn: olcDatabase={{0}}config,cn=config\nobjectClass: olcDatabaseConfig\n\
             olcDatabase: {{0}}config\nolcAccess: {{0}}to * by * none\n\n\
             dn: olcDatabase={{1}}mdb,cn=config\nobjectClass: olcDatabaseConfig\nobjectClass: olcMdbConfig\n\
             olcDatabase: {{1}}mdb\nolcSuffix: {SUFFIX}\nolcRootDN: cn=admin,{SUFFIX}\n\
             olcRootPW: root-{SERVICE_PW}\nolcDbDirectory: {db}\nolcDbMaxSize: 104857600\n\
             olcSecurity: tls=1\n\
             olcAccess: {{0}}to attrs=userPassword by dn.exact=\"{SERVICE_DN}\" write by self write by anonymous auth by * none\n\
             olcAccess: {{1}}to attrs=pwdAccountLockedTime by dn.exact=\"{SERVICE_DN}\" manage by * none\n\
             olcAccess: {{2}}to * by dn.exact=\"{SERVICE_DN}\" read by self read by * none\n\n\
             dn: olcOverlay={{0}}ppolicy,olcDatabase={{1}}mdb,cn=config\nobjectClass: olcOverlayConfig\n\
             objectClass: olcPPolicyConfig\nolcOverlay: {{0}}ppolicy\nolcPPolicyDefault: {POLICY_DN}\n\
             olcPPolicyUseLockout: TRUE\n",
            pid = p("slapd.pid"),
            ca = p("ca.pem"),
            cert = p("server.pem"),
            key = p("server.key"),
            db = p("db"),
        );
        std::fs::write(d.join("config.ldif"), config).unwrap();
        let entry = |dn: &str, lines: &[&str]| format!("dn: {dn}\n{}\n", lines.join("\n"));
        let data = [
            entry(
                SUFFIX,
                &[
                    "objectClass: dcObject",
                    "objectClass: organization",
                    "o: Example",
                    "dc: example",
                ],
            ),
            entry(
                &format!("ou=people,{SUFFIX}"),
                &["objectClass: organizationalUnit", "ou: people"],
            ),
            entry(
                &format!("ou=groups,{SUFFIX}"),
                &["objectClass: organizationalUnit", "ou: groups"],
            ),
            entry(
                &format!("ou=services,{SUFFIX}"),
                &["objectClass: organizationalUnit", "ou: services"],
            ),
            entry(
                &format!("ou=policies,{SUFFIX}"),
                &["objectClass: organizationalUnit", "ou: policies"],
            ),
            entry(
                POLICY_DN,
                &[
                    "objectClass: person",
                    "objectClass: pwdPolicy",
                    "cn: default",
                    "sn: policy",
                    "pwdAttribute: userPassword",
                    &format!("pwdMinLength: {PPOLICY_MIN}"),
                    "pwdCheckQuality: 2",
                    "pwdInHistory: 3",
                    "pwdLockout: TRUE",
                    "pwdMaxFailure: 3",
                    "pwdLockoutDuration: 0",
                    "pwdAllowUserChange: TRUE",
                ],
            ),
            entry(
                SERVICE_DN,
                &[
                    "objectClass: person",
                    "cn: sspr",
                    "sn: service",
                    &format!("userPassword: {SERVICE_PW}"),
                ],
            ),
            entry(
                ALICE_DN,
                &[
                    "objectClass: inetOrgPerson",
                    "uid: alice",
                    "cn: Alice Archer",
                    "sn: Archer",
                    "displayName: Alice Archer",
                    "mail: alice@example.org",
                    "mobile: +15551230001",
                    &format!("userPassword: {ALICE_PW}"),
                ],
            ),
            entry(
                &format!("uid=carol,ou=people,{SUFFIX}"),
                &[
                    "objectClass: inetOrgPerson",
                    "uid: carol",
                    "cn: Carol Chen",
                    "sn: Chen",
                    "mail: carol@example.org",
                    "userPassword: Carol-Strong-Pass-77",
                ],
            ),
            // A name with characters that must be escaped in DNs and filters.
            entry(
                &format!("uid=o\\2Bbrien\\2C jr,ou=people,{SUFFIX}"),
                &[
                    "objectClass: inetOrgPerson",
                    "uid: o+brien, jr",
                    "cn: Pat O'Brien",
                    "sn: O'Brien",
                    "userPassword: Obrien-Strong-Pass-55",
                ],
            ),
            entry(
                &format!("cn=staff,ou=groups,{SUFFIX}"),
                &[
                    "objectClass: groupOfNames",
                    "cn: staff",
                    &format!("member: {ALICE_DN}"),
                ],
            ),
            entry(
                &format!("cn=everyone,ou=groups,{SUFFIX}"),
                &[
                    "objectClass: groupOfNames",
                    "cn: everyone",
                    &format!("member: cn=staff,ou=groups,{SUFFIX}"),
                ],
            ),
            entry(
                STRICT_DN,
                &[
                    "objectClass: person",
                    "objectClass: pwdPolicy",
                    "cn: strict",
                    "sn: policy",
                    "pwdAttribute: userPassword",
                    &format!("pwdMinLength: {STRICT_MIN}"),
                    "pwdCheckQuality: 2",
                    "pwdInHistory: 3",
                    "pwdMinAge: 3600",
                    "pwdAllowUserChange: TRUE",
                ],
            ),
            entry(
                DAVE_DN,
                &[
                    "objectClass: inetOrgPerson",
                    "uid: dave",
                    "cn: Dave Dunn",
                    "sn: Dunn",
                    &format!("userPassword: {DAVE_PW}"),
                    &format!("pwdPolicySubentry: {STRICT_DN}"),
                ],
            ),
            // carol is an admin through a nested group.
            entry(
                &format!("cn=tier2,ou=groups,{SUFFIX}"),
                &[
                    "objectClass: groupOfNames",
                    "cn: tier2",
                    &format!("member: uid=carol,ou=people,{SUFFIX}"),
                ],
            ),
            entry(
                ADMINS_DN,
                &[
                    "objectClass: groupOfNames",
                    "cn: helpdesk-admins",
                    &format!("member: cn=tier2,ou=groups,{SUFFIX}"),
                ],
            ),
        ]
        .join("\n");
        std::fs::write(d.join("data.ldif"), data).unwrap();
        run(Command::new("/usr/sbin/slapadd")
            .args(["-n0", "-F"])
            .arg(d.join("cfg"))
            .arg("-l")
            .arg(d.join("config.ldif")));
        run(Command::new("/usr/sbin/slapadd")
            .args(["-n1", "-F"])
            .arg(d.join("cfg"))
            .arg("-l")
            .arg(d.join("data.ldif")));
        let mut s = Slapd {
            dir,
            ldap_port: free_port(),
            ldaps_port: free_port(),
            child: None,
        };
        s.resume();
        s
    }

    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    pub fn ldaps_url(&self) -> String {
        format!("ldaps://127.0.0.1:{}", self.ldaps_port)
    }

    pub fn ldap_url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.ldap_port)
    }

    /// Starts (again) on the same ports and database.
    pub fn resume(&mut self) {
        let log = std::fs::File::create(self.dir.path().join("slapd.log")).unwrap();
        let urls = format!("{}/ {}/", self.ldap_url(), self.ldaps_url());
        let child = Command::new("/usr/sbin/slapd")
            .args(["-d", "0", "-h", &urls, "-F"])
            .arg(self.dir.path().join("cfg"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.whoami(SERVICE_DN, SERVICE_PW) {
            assert!(
                Instant::now() < deadline,
                "slapd did not start: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server, as an outage would.
    pub fn stop(&mut self) {
        stop_child(&mut self.child);
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("slapd.log")).unwrap_or_default()
    }

    /// `ldapwhoami` over LDAPS, verifying the certificate: does this bind work?
    pub fn whoami(&self, dn: &str, password: &str) -> bool {
        Command::new("/usr/bin/ldapwhoami")
            .args(["-x", "-H", &self.ldaps_url(), "-D", dn, "-w", password])
            .env("LDAPTLS_CACERT", self.ca_file())
            .env("LDAPTLS_REQCERT", "demand")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// The `[directory]` config for this server.
    pub fn config(&self, starttls: bool) -> String {
        let url = if starttls {
            self.ldap_url()
        } else {
            self.ldaps_url()
        };
        format!(
            "[directory]\nkind = \"ldap\"\n[directory.ldap]\nurl = \"{url}\"\nstarttls = {starttls}\n\
             ca_file = \"{ca}\"\nbind_dn = \"{SERVICE_DN}\"\nbind_password = \"{SERVICE_PW}\"\n\
             user_base = \"ou=people,{SUFFIX}\"\ngroup_base = \"ou=groups,{SUFFIX}\"\n\
             admin_group = \"{ADMINS_DN}\"\npassword_policy_dn = \"{POLICY_DN}\"\ntimeout_secs = 3\n",
            ca = self.ca_file().display()
        )
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        self.stop();
    }
}
