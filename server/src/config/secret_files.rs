//! Secrets from files: every secret field `x` also takes `x_file`, a file
//! holding the value, and systemd credentials work with no setting at all.
//!
//! - `x_file = "/etc/sspr/ldap.pw"`: the file's text, one trailing newline
//!   dropped. A file others can read is refused, like the key file.
//! - `x_file = "%d/ldap"` (or `$CREDENTIALS_DIRECTORY/ldap`): inside the
//!   service's credentials directory (`LoadCredential=ldap:/etc/sspr/ldap.pw`).
//! - Neither set: a credential named after the field
//!   (`LoadCredential=directory.ldap.bind_password:...`) is used if present.

use std::path::{Path, PathBuf};

use crate::secret::Secret;

/// The environment variable systemd sets to the service's credentials.
pub const CREDENTIALS_DIRECTORY: &str = "CREDENTIALS_DIRECTORY";

/// Secret files are small: refuse to read a large file by mistake.
const MAX_SECRET_BYTES: u64 = 64 * 1024;

/// One secret field and its `_file` twin, as found in the config.
#[derive(Debug)]
pub struct SecretField<'a> {
    /// The field's dotted name, e.g. `directory.ldap.bind_password`.
    pub name: &'static str,
    pub value: &'a mut Option<Secret>,
    pub file: &'a mut Option<PathBuf>,
}

/// Expands `%d/` and `$CREDENTIALS_DIRECTORY/` at the start of a path.
/// Before relative paths are resolved against the config file's folder.
pub fn expand(path: &mut PathBuf, credentials: Option<&Path>) -> Result<(), String> {
    let text = path.to_string_lossy().into_owned();
    let rest = [
        "%d/",
        "$CREDENTIALS_DIRECTORY/",
        "${CREDENTIALS_DIRECTORY}/",
    ]
    .iter()
    .find_map(|p| text.strip_prefix(p));
    if let Some(rest) = rest {
        let dir = credentials.ok_or_else(|| {
            format!(
                "names a systemd credential ({text}), but {CREDENTIALS_DIRECTORY} is not set: \
                 add LoadCredential= to the unit, or give a path"
            )
        })?;
        *path = dir.join(rest);
    }
    Ok(())
}

/// Fills `value` from `file`, or from the credential named after the field.
pub fn read(field: SecretField<'_>, credentials: Option<&Path>) -> Result<(), (String, String)> {
    let file_field = format!("{}_file", field.name);
    let blame = |f: &str, r: String| Err((f.to_string(), r));
    let path = match (field.value.is_some(), field.file.as_ref()) {
        (true, Some(_)) => {
            return blame(
                &file_field,
                format!(
                    "cannot be set together with `{}`: give the value or the file",
                    field.name
                ),
            );
        }
        (false, Some(p)) => p.clone(),
        (true, None) => return Ok(()),
        (false, None) => match credentials.map(|d| d.join(field.name)) {
            Some(p) if p.is_file() => p,
            _ => return Ok(()),
        },
    };
    match read_file(&path) {
        Ok(s) => {
            *field.value = Some(Secret::new(s));
            *field.file = Some(path);
            Ok(())
        }
        Err(reason) => blame(&file_field, format!("{}: {reason}", path.display())),
    }
}

fn read_file(path: &Path) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read it: {e}"))?;
    if !meta.is_file() {
        return Err("is not a file".into());
    }
    if meta.len() > MAX_SECRET_BYTES {
        return Err(format!("is over {MAX_SECRET_BYTES} bytes"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode();
        if mode & 0o004 != 0 {
            return Err(format!(
                "others can read it (mode {:o}): chmod o-rwx it",
                mode & 0o777
            ));
        }
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read it: {e}"))?;
    let value = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(&text);
    if value.is_empty() {
        return Err("is empty".into());
    }
    if value.contains('\n') {
        return Err("holds more than one line".into());
    }
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str, mode: u32) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    fn take(
        value: Option<&str>,
        file: Option<PathBuf>,
        creds: Option<&Path>,
    ) -> Result<Option<String>, (String, String)> {
        let mut value = value.map(Secret::new);
        let mut file = file;
        read(
            SecretField {
                name: "delivery.smtp_password",
                value: &mut value,
                file: &mut file,
            },
            creds,
        )?;
        Ok(value.map(|s| s.expose().to_string()))
    }

    #[test]
    fn a_file_gives_the_value_without_its_newline() {
        let d = tempfile::tempdir().unwrap();
        let p = write(d.path(), "pw", "s3cret pass\n", 0o600);
        assert_eq!(
            take(None, Some(p), None).unwrap().as_deref(),
            Some("s3cret pass")
        );
        let p = write(d.path(), "crlf", "x\r\n", 0o640);
        assert_eq!(take(None, Some(p), None).unwrap().as_deref(), Some("x"));
    }

    #[test]
    fn bad_files_are_refused_with_the_field_and_why() {
        let d = tempfile::tempdir().unwrap();
        let cases = [
            (
                write(d.path(), "open", "x\n", 0o644),
                "others can read it (mode 644)",
            ),
            (write(d.path(), "empty", "\n", 0o600), "is empty"),
            (
                write(d.path(), "two", "a\nb\n", 0o600),
                "more than one line",
            ),
            (d.path().join("missing"), "cannot read it"),
        ];
        for (p, why) in cases {
            let (field, reason) = take(None, Some(p.clone()), None).unwrap_err();
            assert_eq!(field, "delivery.smtp_password_file");
            assert!(
                reason.contains(why) && reason.contains(&p.display().to_string()),
                "{reason}"
            );
        }
        let p = write(d.path(), "ok", "x", 0o600);
        let (field, reason) = take(Some("inline"), Some(p), None).unwrap_err();
        assert_eq!(field, "delivery.smtp_password_file");
        assert!(
            reason.contains("together with `delivery.smtp_password`"),
            "{reason}"
        );
    }

    #[test]
    fn systemd_credentials_by_specifier_or_by_the_fields_name() {
        let d = tempfile::tempdir().unwrap();
        write(d.path(), "delivery.smtp_password", "by-name", 0o400);
        write(d.path(), "smtp", "by-specifier", 0o400);
        // Nothing set: the credential named after the field.
        assert_eq!(
            take(None, None, Some(d.path())).unwrap().as_deref(),
            Some("by-name")
        );
        // An inline value wins over a credential nobody named.
        assert_eq!(
            take(Some("inline"), None, Some(d.path()))
                .unwrap()
                .as_deref(),
            Some("inline")
        );
        for spec in [
            "%d/smtp",
            "$CREDENTIALS_DIRECTORY/smtp",
            "${CREDENTIALS_DIRECTORY}/smtp",
        ] {
            let mut p = PathBuf::from(spec);
            expand(&mut p, Some(d.path())).unwrap();
            assert_eq!(p, d.path().join("smtp"));
            assert_eq!(
                take(None, Some(p), None).unwrap().as_deref(),
                Some("by-specifier")
            );
        }
        let mut p = PathBuf::from("%d/smtp");
        let e = expand(&mut p, None).unwrap_err();
        assert!(e.contains("CREDENTIALS_DIRECTORY is not set"), "{e}");
        // No credentials directory and nothing set: still nothing.
        assert_eq!(take(None, None, None).unwrap(), None);
    }
}
