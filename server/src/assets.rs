//! The built SPA: embedded in release builds, or read from a directory.
//! Files are served pre-compressed (brotli, gzip) when the browser accepts it;
//! hashed file names are cached forever, everything else revalidates.

use std::borrow::Cow;
use std::path::PathBuf;

use axum::body::Body;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

// Relative to this crate's manifest. (A `$CARGO_MANIFEST_DIR` prefix would be
// taken literally without rust-embed's interpolation feature, and with
// `allow_missing` that silently embeds nothing: `cargo xtask test` checks the
// release binary really serves the SPA.)
#[derive(rust_embed::RustEmbed)]
#[folder = "../dist"]
#[allow_missing = true]
struct Embedded;

#[derive(Debug, Clone)]
pub enum Assets {
    /// Files under a directory (e.g. `dist/` during development).
    Dir(PathBuf),
    /// The `dist/` built into this binary (read from disk in debug builds).
    Embedded,
}

impl Assets {
    pub fn get(&self, path: &str) -> Option<Cow<'static, [u8]>> {
        if !is_safe(path) {
            return None;
        }
        match self {
            Assets::Dir(root) => {
                let p = root.join(path);
                if !p.is_file() {
                    return None;
                }
                std::fs::read(p).ok().map(Cow::Owned)
            }
            Assets::Embedded => Embedded::get(path).map(|f| f.data),
        }
    }

    /// Whether an SPA build is present at all.
    pub fn has_index(&self) -> bool {
        self.get("index.html").is_some()
    }
}

/// Relative, no `..`, no hidden or odd segments.
fn is_safe(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && path.split('/').all(|seg| {
            !seg.is_empty()
                && !seg.starts_with('.')
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        })
}

/// What `/branding/` may serve: images and fonts, each with a fixed type.
const BRANDING_TYPES: &[(&str, &str)] = &[
    ("svg", "image/svg+xml; charset=utf-8"),
    ("png", "image/png"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("gif", "image/gif"),
    ("webp", "image/webp"),
    ("avif", "image/avif"),
    ("ico", "image/x-icon"),
    ("woff2", "font/woff2"),
    ("woff", "font/woff"),
    ("ttf", "font/ttf"),
    ("otf", "font/otf"),
];

/// The policy of a branding file opened on its own: no script, no fetches.
pub const BRANDING_CSP: &str =
    "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; font-src 'self'; sandbox";

/// The content type of a branding file name, or `None` when `/branding/`
/// must not serve it (a key, a database, a config: anything not an image or a font).
pub fn branding_type(name: &str) -> Option<&'static str> {
    if !is_safe(name) || name.contains('/') {
        return None;
    }
    let (_, ext) = name.rsplit_once('.')?;
    BRANDING_TYPES
        .iter()
        .find(|(e, _)| e.eq_ignore_ascii_case(ext))
        .map(|(_, t)| *t)
}

/// Reads `name` from the operator's branding folder, if it is a regular file
/// that really lies inside it: a symlink out of the folder is refused, and
/// so is a file with more than one hard link, which could be the key or the
/// store under an image's name.
pub fn branding_file(dir: &std::path::Path, name: &str) -> Option<Vec<u8>> {
    branding_type(name)?;
    let root = std::fs::canonicalize(dir).ok()?;
    let real = std::fs::canonicalize(root.join(name)).ok()?;
    if !real.starts_with(&root) || !real.is_file() || hard_linked(&real) {
        return None;
    }
    std::fs::read(real).ok()
}

#[cfg(unix)]
fn hard_linked(path: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).map_or(true, |m| m.nlink() > 1)
}

#[cfg(not(unix))]
fn hard_linked(_path: &std::path::Path) -> bool {
    false
}

/// `name-0123456789abcdef.ext` or `name-0123456789abcdef_bg.wasm`: trunk's content hash.
pub fn is_hashed(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let stem = name.split('.').next().unwrap_or(name);
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    stem.rsplit_once('-')
        .is_some_and(|(_, h)| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Brotli,
    Gzip,
}

/// The encodings the client accepts, best first (q=0 means refused).
fn accepted(headers: &HeaderMap) -> Vec<Encoding> {
    let raw = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let ok = |name: &str| {
        raw.split(',').any(|part| {
            let mut it = part.split(';');
            let token = it.next().unwrap_or("").trim();
            let q = it
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            token.eq_ignore_ascii_case(name) && q > 0.0
        })
    };
    let mut v = Vec::new();
    if ok("br") {
        v.push(Encoding::Brotli);
    }
    if ok("gzip") {
        v.push(Encoding::Gzip);
    }
    v
}

/// Serves one file; `None` when it does not exist. A pre-compressed copy the
/// client accepts is preferred.
pub fn serve(
    assets: &Assets,
    path: &str,
    method: &Method,
    headers: &HeaderMap,
) -> Option<Response> {
    let identity = assets.get(path)?;
    let encoded = accepted(headers).into_iter().find_map(|enc| {
        let ext = match enc {
            Encoding::Brotli => "br",
            Encoding::Gzip => "gz",
        };
        assets.get(&format!("{path}.{ext}")).map(|b| (enc, b))
    });
    Some(respond(path, identity, encoded, method, headers))
}

/// The response for a file's bytes: content type from `path`, immutable caching
/// for hashed names, an ETag and 304s for the rest, and HEAD without a body.
pub fn respond(
    path: &str,
    identity: Cow<'static, [u8]>,
    encoded: Option<(Encoding, Cow<'static, [u8]>)>,
    method: &Method,
    headers: &HeaderMap,
) -> Response {
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    let textual = mime.type_() == mime_guess::mime::TEXT
        || matches!(mime.subtype().as_str(), "javascript" | "json" | "svg");
    let content_type = if textual && mime.get_param("charset").is_none() {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_string()
    };
    respond_as(&content_type, path, identity, encoded, method, headers)
}

/// As [`respond`], with the content type given.
pub fn respond_as(
    content_type: &str,
    path: &str,
    identity: Cow<'static, [u8]>,
    encoded: Option<(Encoding, Cow<'static, [u8]>)>,
    method: &Method,
    headers: &HeaderMap,
) -> Response {
    let hashed = is_hashed(path);
    let etag = (!hashed).then(|| format!("\"{}\"", hex::encode(&Sha256::digest(&identity)[..12])));
    if let Some(tag) = &etag
        && headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            == Some(tag.as_str())
    {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, tag.clone())]).into_response();
    }
    let (encoding, body) = match encoded {
        Some((enc, b)) => (Some(enc), b),
        None => (None, identity),
    };
    let mut resp = Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::VARY, "Accept-Encoding")
        .header(
            header::CACHE_CONTROL,
            if hashed {
                "public, max-age=31536000, immutable"
            } else {
                "no-cache"
            },
        )
        .header(header::CONTENT_LENGTH, body.len());
    if let Some(enc) = encoding {
        resp = resp.header(
            header::CONTENT_ENCODING,
            if enc == Encoding::Brotli {
                "br"
            } else {
                "gzip"
            },
        );
    }
    if let Some(tag) = etag {
        resp = resp.header(header::ETAG, tag);
    }
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        Body::from(body.into_owned())
    };
    resp.body(body)
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_trunk_hashes() {
        assert!(is_hashed("sspr-web-0a1b2c3d4e5f6a7b.js"));
        assert!(is_hashed("sspr-web-0a1b2c3d4e5f6a7b_bg.wasm"));
        assert!(is_hashed("main-0a1b2c3d4e5f6a7b.css"));
        assert!(!is_hashed("index.html"));
        assert!(!is_hashed("theme.json"));
        assert!(!is_hashed("logo-light.svg"));
    }

    #[test]
    fn refuses_traversal_and_hidden_files() {
        for bad in [
            "../etc/passwd",
            "a/../b",
            ".env",
            "a//b",
            "/abs",
            "a\\b",
            "x%2e%2e",
        ] {
            assert!(!is_safe(bad), "{bad}");
        }
        assert!(is_safe("index.html"));
        assert!(is_safe("snippets/x-1/inline0.js"));
    }

    #[test]
    fn negotiates_encodings_with_q_values() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(
                header::ACCEPT_ENCODING,
                axum::http::HeaderValue::from_str(v).unwrap(),
            );
            accepted(&m)
        };
        assert_eq!(
            h("gzip, deflate, br, zstd"),
            [Encoding::Brotli, Encoding::Gzip]
        );
        assert_eq!(h("br;q=0, gzip"), [Encoding::Gzip]);
        assert_eq!(h("identity"), []);
    }
}
