//! Breached-password check with k-anonymity, in the format of the public
//! Pwned Passwords range data: SHA-1 the password, and look its 35-character
//! suffix up among the `SUFFIX:COUNT` lines of the range for its 5-character
//! prefix. The range comes from a local directory of range files
//! (`<dir>/<PREFIX>` or `<dir>/<PREFIX>.txt`) or from a range API
//! (`GET <url><PREFIX>`); only the prefix ever leaves the server.

use std::path::PathBuf;
use std::sync::OnceLock;

use sha1::{Digest, Sha1};

use crate::config::PasswordConfig;
use crate::secret::Secret;

#[derive(Debug, thiserror::Error)]
pub enum BreachError {
    #[error("breached-password range {prefix} unavailable: {reason}")]
    Unavailable { prefix: String, reason: String },
}

/// Where ranges come from.
#[derive(Debug, Clone)]
pub enum Source {
    Dir(PathBuf),
    Api(String),
}

impl Source {
    pub fn from_config(cfg: &PasswordConfig) -> Option<Source> {
        match (&cfg.breached_range_dir, &cfg.breached_range_url) {
            (Some(dir), _) => Some(Source::Dir(dir.clone())),
            (None, Some(url)) => Some(Source::Api(url.clone())),
            (None, None) => None,
        }
    }
}

/// The uppercase hex SHA-1, split into the 5-character prefix that may be
/// sent and the 35-character suffix that never is.
pub fn split_hash(password: &Secret) -> (String, String) {
    let hex = hex::encode_upper(Sha1::digest(password.expose().as_bytes()));
    let (prefix, suffix) = hex.split_at(5);
    (prefix.to_string(), suffix.to_string())
}

fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default()
    })
}

async fn range(source: &Source, prefix: &str) -> Result<String, BreachError> {
    let fail = |reason: String| BreachError::Unavailable {
        prefix: prefix.to_string(),
        reason,
    };
    match source {
        Source::Dir(dir) => {
            for name in [prefix.to_string(), format!("{prefix}.txt")] {
                match tokio::fs::read_to_string(dir.join(&name)).await {
                    Ok(text) => return Ok(text),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(fail(e.to_string())),
                }
            }
            // A range nobody has published holds no breached password.
            Ok(String::new())
        }
        Source::Api(url) => {
            let r = client()
                .get(format!("{url}{prefix}"))
                .header("Add-Padding", "true")
                .send()
                .await
                .map_err(|e| fail(e.to_string()))?;
            if !r.status().is_success() {
                return Err(fail(format!("HTTP {}", r.status())));
            }
            r.text().await.map_err(|e| fail(e.to_string()))
        }
    }
}

/// How many times the password appears in the breach data (0 if never).
pub async fn count(source: &Source, password: &Secret) -> Result<u64, BreachError> {
    let (prefix, suffix) = split_hash(password);
    let text = range(source, &prefix).await?;
    Ok(text
        .lines()
        .filter_map(|l| l.trim().split_once(':'))
        .find(|(s, _)| s.eq_ignore_ascii_case(&suffix))
        .and_then(|(_, n)| n.trim().parse().ok())
        .unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_splits_into_the_public_prefix_and_the_private_suffix() {
        // SHA-1("password") = 5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8
        let (p, s) = split_hash(&Secret::new("password"));
        assert_eq!(p, "5BAA6");
        assert_eq!(s, "1E4C9B93F3F0682250B6CF8331B7EE68FD8");
    }

    #[tokio::test]
    async fn a_local_range_file_answers_with_the_count() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("5BAA6"),
            "0018A45C4D1DEF81644B54AB7F969B88D65:1\r\n1E4C9B93F3F0682250B6CF8331B7EE68FD8:9545824\r\n",
        )
        .unwrap();
        let src = Source::Dir(dir.path().to_path_buf());
        assert_eq!(
            count(&src, &Secret::new("password")).await.unwrap(),
            9_545_824
        );
        assert_eq!(
            count(&src, &Secret::new("Tangerine-Vortex-Quill-88"))
                .await
                .unwrap(),
            0
        );
    }
}
