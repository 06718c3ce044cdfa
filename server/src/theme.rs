//! The theme file: validated at start-up and on every edit (hot reload), served
//! at `/theme.json`. An edit that breaks the theme is logged and the last good
//! theme keeps being served; start-up with a broken theme fails.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use sspr_proto::{HelpdeskLink, Theme};

/// WCAG AA: 4.5:1 for text, 3:1 for UI parts.
pub const TEXT_CONTRAST: f64 = 4.5;
pub const UI_CONTRAST: f64 = 3.0;

#[derive(Debug, Clone, PartialEq)]
pub struct ThemeError {
    pub path: PathBuf,
    pub line: Option<usize>,
    pub field: Option<String>,
    pub reason: String,
}

impl std::fmt::Display for ThemeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": field `{field}`")?;
        }
        write!(f, ": {}", self.reason)
    }
}

impl std::error::Error for ThemeError {}

/// Parses and validates theme JSON. `path` is only used in messages.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Theme, ThemeError> {
    let err = |line, field: Option<String>, reason: String| ThemeError {
        path: path.to_path_buf(),
        line,
        field,
        reason,
    };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let theme: Theme = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let field = Some(e.path().to_string()).filter(|p| p != ".");
        let inner = e.into_inner();
        let reason = inner.to_string();
        // serde_json appends " at line L column C"; keep the reason itself.
        let reason = reason
            .split(" at line ")
            .next()
            .unwrap_or(&reason)
            .to_string();
        err(Some(inner.line()), field, reason)
    })?;
    de.end().map_err(|e| {
        err(
            Some(e.line()),
            None,
            "trailing characters after the theme".into(),
        )
    })?;
    validate(&theme).map_err(|(field, reason)| err(None, Some(field.into()), reason))?;
    Ok(theme)
}

fn validate(t: &Theme) -> Result<(), (&'static str, String)> {
    let name = t.organisation.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(("organisation", "must be 1 to 100 characters".into()));
    }
    HelpdeskLink::parse(&t.helpdesk).map_err(|r| ("helpdesk", r.to_string()))?;
    for (field, value) in [
        ("logo", &t.logo),
        ("logo_dark", &t.logo_dark),
        ("favicon", &t.favicon),
    ] {
        if let Some(v) = value
            && (!v.starts_with('/') || v.starts_with("//") || v.contains(".."))
        {
            return Err((
                field,
                "must be a path on this portal such as /branding/logo.svg (no other origins)"
                    .into(),
            ));
        }
    }
    let c = &t.colors;
    for (field, value) in [
        ("colors.primary", &c.primary),
        ("colors.on_primary", &c.on_primary),
        ("colors.background", &c.background),
        ("colors.surface", &c.surface),
        ("colors.text", &c.text),
        ("colors.muted", &c.muted),
        ("colors.error", &c.error),
    ] {
        parse_hex(value).ok_or((
            field,
            format!("must be a colour like #1a2b3c, not {value:?}"),
        ))?;
    }
    let pairs: [(&'static str, &str, &str, f64); 6] = [
        ("colors.text", &c.text, &c.background, TEXT_CONTRAST),
        ("colors.text", &c.text, &c.surface, TEXT_CONTRAST),
        ("colors.muted", &c.muted, &c.surface, TEXT_CONTRAST),
        ("colors.error", &c.error, &c.surface, TEXT_CONTRAST),
        (
            "colors.on_primary",
            &c.on_primary,
            &c.primary,
            TEXT_CONTRAST,
        ),
        ("colors.primary", &c.primary, &c.surface, UI_CONTRAST),
    ];
    for (field, fg, bg, min) in pairs {
        let ratio = contrast(fg, bg).unwrap_or(0.0);
        if ratio < min {
            return Err((
                field,
                format!(
                    "contrast of {fg} on {bg} is {ratio:.2}:1, below the WCAG AA minimum of {min}:1"
                ),
            ));
        }
    }
    Ok(())
}

fn parse_hex(s: &str) -> Option<[u8; 3]> {
    let h = s.strip_prefix('#')?;
    if h.len() != 6 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let n = u32::from_str_radix(h, 16).ok()?;
    Some([(n >> 16) as u8, (n >> 8) as u8, n as u8])
}

fn luminance(rgb: [u8; 3]) -> f64 {
    let lin = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * lin(rgb[0]) + 0.7152 * lin(rgb[1]) + 0.0722 * lin(rgb[2])
}

/// The WCAG 2 contrast ratio of two `#rrggbb` colours.
pub fn contrast(a: &str, b: &str) -> Option<f64> {
    let (la, lb) = (luminance(parse_hex(a)?), luminance(parse_hex(b)?));
    let (hi, lo) = if la > lb { (la, lb) } else { (lb, la) };
    Some((hi + 0.05) / (lo + 0.05))
}

/// A theme file on disk, re-read when its modification time or size changes.
#[derive(Debug)]
pub struct ThemeFile {
    path: PathBuf,
    cache: Mutex<Cached>,
}

/// Modification time and size: a change in either means the file was edited.
type Stamp = Option<(SystemTime, u64)>;

#[derive(Debug, Clone)]
struct Cached {
    stamp: Stamp,
    body: Vec<u8>,
}

impl ThemeFile {
    /// Loads and validates; an invalid theme at start-up is an error.
    pub fn open(path: &Path) -> Result<ThemeFile, ThemeError> {
        Ok(ThemeFile {
            path: path.to_path_buf(),
            cache: Mutex::new(read_valid(path)?),
        })
    }

    pub fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }

    /// The current theme JSON. A broken edit keeps the last good theme.
    pub fn current(&self) -> Vec<u8> {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let now = stamp_of(&self.path);
        if now.is_some() && now != cache.stamp {
            match read_valid(&self.path) {
                Ok(fresh) => {
                    tracing::info!(path = %self.path.display(), "theme reloaded");
                    *cache = fresh;
                }
                Err(e) => {
                    tracing::error!(error = %e, "theme edit refused; still serving the last good theme");
                    cache.stamp = now; // report each bad edit once
                }
            }
        }
        cache.body.clone()
    }
}

fn stamp_of(path: &Path) -> Stamp {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

fn read_valid(path: &Path) -> Result<Cached, ThemeError> {
    let stamp = stamp_of(path);
    let bytes = std::fs::read(path).map_err(|e| ThemeError {
        path: path.to_path_buf(),
        line: None,
        field: None,
        reason: format!("cannot read the file: {e}"),
    })?;
    let theme = parse(path, &bytes)?;
    // Serve the normalised form: what was validated is exactly what is sent.
    let body = serde_json::to_vec(&theme).map_err(|e| ThemeError {
        path: path.to_path_buf(),
        line: None,
        field: None,
        reason: e.to_string(),
    })?;
    Ok(Cached { stamp, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(json: &str) -> Result<Theme, ThemeError> {
        parse(Path::new("theme.json"), json.as_bytes())
    }

    #[test]
    fn the_shipped_default_theme_is_valid() {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../public/theme.json");
        let t = parse(&p, &std::fs::read(&p).unwrap()).unwrap();
        assert!(!t.organisation.is_empty());
    }

    #[test]
    fn contrast_matches_wcag_reference_values() {
        assert!((contrast("#000000", "#ffffff").unwrap() - 21.0).abs() < 1e-9);
        assert!((contrast("#ffffff", "#ffffff").unwrap() - 1.0).abs() < 1e-9);
        // #767676 on white is the classic just-passing grey: 4.54:1.
        assert!((contrast("#767676", "#ffffff").unwrap() - 4.54).abs() < 0.01);
    }

    #[test]
    fn errors_name_line_field_and_reason() {
        let e = check("{\n  \"organisation\": \"X\",\n  \"helpdesk\": 42\n}").unwrap_err();
        assert_eq!(e.line, Some(3));
        assert_eq!(e.field.as_deref(), Some("helpdesk"));
        assert!(
            e.reason
                .starts_with("invalid type: integer `42`, expected a string"),
            "{}",
            e.reason
        );

        let e = check(r#"{"organisation":"X","helpdesk":"call us"}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("helpdesk"));

        let e =
            check(r#"{"organisation":"X","helpdesk":"a@b.co","logo":"https://cdn.example/x.svg"}"#)
                .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("logo"));

        let e = check(r#"{"organisation":"  ","helpdesk":"a@b.co"}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("organisation"));
    }

    #[test]
    fn low_contrast_is_refused_with_the_measured_ratio() {
        let json = r##"{"organisation":"X","helpdesk":"a@b.co","colors":{
            "primary":"#0b5cad","on_primary":"#ffffff","background":"#ffffff","surface":"#ffffff",
            "text":"#999999","muted":"#4d5661","error":"#b3261e"}}"##;
        let e = check(json).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("colors.text"));
        assert_eq!(
            e.reason,
            "contrast of #999999 on #ffffff is 2.85:1, below the WCAG AA minimum of 4.5:1"
        );
    }

    #[test]
    fn hot_reload_picks_up_good_edits_and_keeps_the_last_good_theme() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("theme.json");
        std::fs::write(&p, r#"{"organisation":"First","helpdesk":"a@b.co"}"#).unwrap();
        let tf = ThemeFile::open(&p).unwrap();
        assert!(String::from_utf8(tf.current()).unwrap().contains("First"));

        std::fs::write(&p, r#"{"organisation":"Second Org","helpdesk":"a@b.co"}"#).unwrap();
        assert!(
            String::from_utf8(tf.current())
                .unwrap()
                .contains("Second Org")
        );

        std::fs::write(&p, r#"{"organisation":"Broken","helpdesk":"#).unwrap();
        assert!(
            String::from_utf8(tf.current())
                .unwrap()
                .contains("Second Org")
        );

        std::fs::write(&p, "{oops").unwrap();
        let e = ThemeFile::open(&p).unwrap_err();
        assert_eq!(e.line, Some(1));
    }
}
