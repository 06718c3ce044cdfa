//! Key material kept outside the database. One 32-byte master key in a file
//! (created 0600 on first start); purpose-bound subkeys are derived from it
//! with HMAC-SHA256, so a stolen database alone reveals no code, no TOTP
//! secret, and cannot tell decoy accounts from real ones.

use std::path::Path;

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::clock::Entropy;

type HmacSha256 = Hmac<Sha256>;

#[derive(Clone)]
pub struct Keys {
    code_pepper: [u8; 32],
    decoy: [u8; 32],
    sealing: [u8; 32],
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys([redacted])")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{path}: {reason}")]
    File { path: String, reason: String },
    #[error("cannot decrypt: wrong key or damaged value")]
    Decrypt,
}

fn derive(master: &[u8; 32], label: &str) -> [u8; 32] {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(master).expect("any key length");
    mac.update(label.as_bytes());
    mac.finalize().into_bytes().into()
}

impl Keys {
    pub fn from_master(master: &[u8; 32]) -> Keys {
        Keys {
            code_pepper: derive(master, "sspr/v1/code-pepper"),
            decoy: derive(master, "sspr/v1/decoy"),
            sealing: derive(master, "sspr/v1/sealing"),
        }
    }

    /// Reads the master key (64 hex characters), creating it if the file is missing.
    pub fn load_or_create(path: &Path, entropy: &dyn Entropy) -> Result<Keys, KeyError> {
        let err = |reason: String| KeyError::File {
            path: path.display().to_string(),
            reason,
        };
        if !path.exists() {
            let mut master = [0u8; 32];
            entropy.fill(&mut master);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
            }
            write_private(path, hex::encode(master).as_bytes()).map_err(|e| err(e.to_string()))?;
            tracing::warn!(path = %path.display(), "created a new master key: back it up, losing it loses every registered authenticator");
        }
        refuse_shared(path).map_err(err)?;
        let text =
            std::fs::read_to_string(path).map_err(|e| err(format!("cannot read the key: {e}")))?;
        let bytes =
            hex::decode(text.trim()).map_err(|_| err("must hold 64 hex characters".into()))?;
        let master: [u8; 32] = bytes
            .try_into()
            .map_err(|_| err("must hold 64 hex characters".into()))?;
        Ok(Keys::from_master(&master))
    }

    /// A one-way digest of the key, recorded in the store: every node of
    /// one store must hold the same key.
    pub fn fingerprint(&self) -> String {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.sealing).expect("any key length");
        mac.update(b"sspr/v1/fingerprint");
        hex::encode(&mac.finalize().into_bytes()[..16])
    }

    /// Keyed hash of a one-time code, bound to its flow: a code from one flow
    /// can never match in another, and the database alone cannot brute-force it.
    pub fn code_hash(&self, flow_hash: &str, code: &str) -> String {
        let mut mac =
            <HmacSha256 as Mac>::new_from_slice(&self.code_pepper).expect("any key length");
        mac.update(flow_hash.as_bytes());
        mac.update(&[0]);
        mac.update(code.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Deterministic bytes for an identifier that matches no usable account,
    /// so repeated look-ups show the same decoy methods.
    pub fn decoy_seed(&self, identifier: &str) -> [u8; 32] {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.decoy).expect("any key length");
        mac.update(identifier.trim().to_lowercase().as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Encrypts a secret for storage: `v1:` + hex(nonce ‖ ciphertext).
    pub fn seal(&self, plaintext: &[u8], entropy: &dyn Entropy) -> String {
        let cipher = XChaCha20Poly1305::new((&self.sealing).into());
        let mut nonce = [0u8; 24];
        entropy.fill(&mut nonce);
        let ct = cipher
            .encrypt(XNonce::from_slice(&nonce), plaintext)
            .expect("encryption cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        format!("v1:{}", hex::encode(out))
    }

    pub fn open(&self, sealed: &str) -> Result<Vec<u8>, KeyError> {
        let raw = sealed
            .strip_prefix("v1:")
            .and_then(|h| hex::decode(h).ok())
            .ok_or(KeyError::Decrypt)?;
        if raw.len() < 24 {
            return Err(KeyError::Decrypt);
        }
        let (nonce, ct) = raw.split_at(24);
        XChaCha20Poly1305::new((&self.sealing).into())
            .decrypt(XNonce::from_slice(nonce), ct)
            .map_err(|_| KeyError::Decrypt)
    }
}

/// A key file that its group or others may read (or write) is refused, as
/// ssh refuses a shared private key: the key decrypts every secret at rest.
#[cfg(unix)]
fn refuse_shared(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|e| format!("cannot read the key: {e}"))?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "is readable by others (mode {mode:03o}); it must be private to the portal's user: chmod 600 {}",
            path.display()
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn refuse_shared(_path: &Path) -> Result<(), String> {
    Ok(())
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::OsEntropy;

    #[test]
    fn sealed_secrets_open_only_with_the_right_key() {
        let a = Keys::from_master(&[1; 32]);
        let b = Keys::from_master(&[2; 32]);
        let sealed = a.seal(b"totp secret bytes", &OsEntropy);
        assert!(!sealed.contains(&hex::encode(b"totp secret bytes")));
        assert_eq!(a.open(&sealed).unwrap(), b"totp secret bytes");
        assert!(matches!(b.open(&sealed), Err(KeyError::Decrypt)));
        // Tampering is detected.
        let mut bad = sealed.clone();
        bad.pop();
        bad.push(if sealed.ends_with('0') { '1' } else { '0' });
        assert!(a.open(&bad).is_err());
    }

    #[test]
    fn code_hashes_are_bound_to_their_flow() {
        let k = Keys::from_master(&[3; 32]);
        assert_eq!(
            k.code_hash("flowA", "12345678"),
            k.code_hash("flowA", "12345678")
        );
        assert_ne!(
            k.code_hash("flowA", "12345678"),
            k.code_hash("flowB", "12345678")
        );
    }

    #[test]
    fn key_file_is_created_private_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("keys/sspr.key");
        let k1 = Keys::load_or_create(&p, &OsEntropy).unwrap();
        let k2 = Keys::load_or_create(&p, &OsEntropy).unwrap();
        assert_eq!(k1.code_hash("f", "1"), k2.code_hash("f", "1"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
            let e = Keys::load_or_create(&p, &OsEntropy)
                .unwrap_err()
                .to_string();
            assert!(e.contains("readable by others (mode 644)"), "{e}");
            assert!(e.contains("chmod 600"), "{e}");
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        std::fs::write(&p, "short").unwrap();
        assert!(
            Keys::load_or_create(&p, &OsEntropy)
                .unwrap_err()
                .to_string()
                .contains("64 hex")
        );
    }
}
