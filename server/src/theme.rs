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
    validate(&theme).map_err(|(field, reason)| err(None, Some(field), reason))?;
    Ok(theme)
}

/// One colour pair the theme must keep readable, with its measured ratio.
#[derive(Debug, Clone, PartialEq)]
pub struct ContrastCheck {
    /// The field that is too faint when the check fails, e.g. `colors_dark.muted`.
    pub field: String,
    pub what: &'static str,
    pub foreground: String,
    pub background: String,
    pub ratio: f64,
    pub minimum: f64,
}

impl ContrastCheck {
    pub fn passes(&self) -> bool {
        self.ratio >= self.minimum
    }
}

/// Every colour pair of both palettes, measured: the checks `sspr` applies on
/// load and `sspr theme check` prints.
pub fn contrast_checks(t: &Theme) -> Vec<ContrastCheck> {
    let mut out = Vec::new();
    for (palette, c) in [("colors", &t.colors), ("colors_dark", &t.colors_dark)] {
        let pairs: [(&str, &'static str, &str, &str, f64); 6] = [
            (
                "text",
                "text on background",
                &c.text,
                &c.background,
                TEXT_CONTRAST,
            ),
            (
                "text",
                "text on surface",
                &c.text,
                &c.surface,
                TEXT_CONTRAST,
            ),
            (
                "muted",
                "muted text on surface",
                &c.muted,
                &c.surface,
                TEXT_CONTRAST,
            ),
            (
                "error",
                "error text on surface",
                &c.error,
                &c.surface,
                TEXT_CONTRAST,
            ),
            (
                "on_primary",
                "button text on primary",
                &c.on_primary,
                &c.primary,
                TEXT_CONTRAST,
            ),
            (
                "primary",
                "primary (controls) on surface",
                &c.primary,
                &c.surface,
                UI_CONTRAST,
            ),
        ];
        for (role, what, fg, bg, minimum) in pairs {
            out.push(ContrastCheck {
                field: format!("{palette}.{role}"),
                what,
                foreground: fg.to_string(),
                background: bg.to_string(),
                ratio: contrast(fg, bg).unwrap_or(0.0),
                minimum,
            });
        }
    }
    out
}

/// A path this portal serves, such as `/branding/logo.svg`.
fn on_portal(v: &str) -> bool {
    v.starts_with('/') && !v.starts_with("//") && !v.contains("..") && !v.contains('\\')
}

const GENERIC_FAMILIES: &[&str] = &[
    "serif",
    "sans-serif",
    "monospace",
    "cursive",
    "system-ui",
    "ui-sans-serif",
    "ui-serif",
    "ui-monospace",
    "ui-rounded",
];

/// `en`, `pt-BR`, `zh-Hant`, `es-419`: a language and optional subtags.
fn is_language_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let lang = parts.next().unwrap_or_default();
    (2..=3).contains(&lang.len())
        && lang.bytes().all(|b| b.is_ascii_alphabetic())
        && parts.all(|p| (2..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

fn text_ok(v: &str, max: usize) -> bool {
    let n = v.trim().chars().count();
    n > 0 && n <= max && !v.chars().any(char::is_control)
}

fn validate(t: &Theme) -> Result<(), (String, String)> {
    let fail = |field: &str, reason: &str| Err((field.to_string(), reason.to_string()));
    if !text_ok(&t.organisation, 100) {
        return fail("organisation", "must be 1 to 100 characters");
    }
    HelpdeskLink::parse(&t.helpdesk).map_err(|r| ("helpdesk".to_string(), r.to_string()))?;
    for (field, value, max) in [
        ("helpdesk_label", &t.helpdesk_label, 100),
        ("signin_intro", &t.signin_intro, 500),
        ("reset_intro", &t.reset_intro, 500),
    ] {
        if value.as_deref().is_some_and(|v| !text_ok(v, max)) {
            return fail(field, &format!("must be 1 to {max} characters"));
        }
    }
    for (field, value) in [
        ("logo", &t.logo),
        ("logo_dark", &t.logo_dark),
        ("favicon", &t.favicon),
    ] {
        if value.as_deref().is_some_and(|v| !on_portal(v)) {
            return fail(
                field,
                "must be a path on this portal such as /branding/logo.svg (no other origins)",
            );
        }
    }
    for (palette, c) in [("colors", &t.colors), ("colors_dark", &t.colors_dark)] {
        for (role, value) in [
            ("primary", &c.primary),
            ("on_primary", &c.on_primary),
            ("background", &c.background),
            ("surface", &c.surface),
            ("text", &c.text),
            ("muted", &c.muted),
            ("error", &c.error),
        ] {
            if parse_hex(value).is_none() {
                return Err((
                    format!("{palette}.{role}"),
                    format!("must be a colour like #1a2b3c, not {value:?}"),
                ));
            }
        }
    }
    if let Some(c) = contrast_checks(t).into_iter().find(|c| !c.passes()) {
        return Err((
            c.field,
            format!(
                "contrast of {} on {} is {:.2}:1, below the WCAG AA minimum of {}:1",
                c.foreground, c.background, c.ratio, c.minimum
            ),
        ));
    }
    for (i, f) in t.fonts.iter().enumerate() {
        let field = |name: &str| format!("fonts[{i}].{name}");
        let family_ok = text_ok(&f.family, 64)
            && f.family
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'));
        if !family_ok {
            return Err((
                field("family"),
                "must be 1 to 64 letters, digits, spaces, - or _".into(),
            ));
        }
        let ext_ok = [".woff2", ".woff", ".ttf", ".otf"]
            .iter()
            .any(|e| f.src.to_ascii_lowercase().ends_with(e));
        if !on_portal(&f.src) || !ext_ok {
            return Err((
                field("src"),
                "must be a .woff2, .woff, .ttf or .otf file on this portal such as /branding/inter.woff2 (no other origins)"
                    .into(),
            ));
        }
        let weight_ok = {
            let w: Vec<&str> = f.weight.split_whitespace().collect();
            (1..=2).contains(&w.len())
                && w.iter()
                    .all(|x| x.parse::<u16>().is_ok_and(|n| (1..=1000).contains(&n)))
        };
        if !weight_ok {
            return Err((
                field("weight"),
                "must be a weight 1 to 1000, or a range such as \"100 900\"".into(),
            ));
        }
        if !matches!(f.style.as_str(), "normal" | "italic" | "oblique") {
            return Err((field("style"), "must be normal, italic or oblique".into()));
        }
    }
    if let Some(family) = &t.font_family
        && !GENERIC_FAMILIES.contains(&family.as_str())
        && !t.fonts.iter().any(|f| &f.family == family)
    {
        return fail(
            "font_family",
            "must be the family of one of `fonts`, or a generic family such as sans-serif",
        );
    }
    for (tag, texts) in &t.locales {
        if !is_language_tag(tag) {
            return Err((
                format!("locales.{tag}"),
                "is not a language tag such as fr or pt-BR".into(),
            ));
        }
        if sspr_proto::i18n::supported(tag).is_none() {
            let shipped: Vec<&str> = sspr_proto::i18n::LOCALES.iter().map(|(c, _)| *c).collect();
            return Err((
                format!("locales.{tag}"),
                format!(
                    "is a language the portal is not translated into (it ships {})",
                    shipped.join(", ")
                ),
            ));
        }
        for (name, value, max) in [
            ("organisation", &texts.organisation, 100),
            ("helpdesk_label", &texts.helpdesk_label, 100),
            ("signin_intro", &texts.signin_intro, 500),
            ("reset_intro", &texts.reset_intro, 500),
        ] {
            if value.as_deref().is_some_and(|v| !text_ok(v, max)) {
                return Err((
                    format!("locales.{tag}.{name}"),
                    format!("must be 1 to {max} characters"),
                ));
            }
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

/// Reads and validates a theme file.
fn load(path: &Path) -> Result<Theme, ThemeError> {
    let bytes = std::fs::read(path).map_err(|e| ThemeError {
        path: path.to_path_buf(),
        line: None,
        field: None,
        reason: format!("cannot read the file: {e}"),
    })?;
    parse(path, &bytes)
}

/// Built-in files a theme may refer to without shipping its own.
const BUILT_IN_BRANDING: &[&str] = &["logo.svg", "favicon.svg"];

/// `sspr theme check FILE`: the validation the portal applies on load (the
/// same error, naming the field), then every contrast ratio of both
/// palettes and whether each `/branding/` file the theme names is in the
/// branding folder (`branding/` beside the theme unless given) and of a type
/// the portal serves there (a missing one is a warning: the page would show
/// a broken image).
pub fn check_report(path: &Path, branding: Option<&Path>) -> Result<String, ThemeError> {
    use std::fmt::Write;
    let t = load(path)?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: valid theme for {:?}",
        path.display(),
        t.organisation
    );
    let _ = writeln!(
        out,
        "contrast (WCAG AA: {TEXT_CONTRAST}:1 text, {UI_CONTRAST}:1 controls)"
    );
    for c in contrast_checks(&t) {
        let _ = writeln!(
            out,
            "  {:<24} {:<32} {} on {}  {:>5.2}:1  ok",
            c.field, c.what, c.foreground, c.background, c.ratio
        );
    }
    let dir = branding.map_or_else(
        || path.parent().unwrap_or(Path::new(".")).join("branding"),
        Path::to_path_buf,
    );
    let mut files: Vec<(String, &str)> = [
        ("logo", &t.logo),
        ("logo_dark", &t.logo_dark),
        ("favicon", &t.favicon),
    ]
    .into_iter()
    .filter_map(|(f, v)| v.as_deref().map(|v| (f.to_string(), v)))
    .collect();
    files.extend(
        t.fonts
            .iter()
            .enumerate()
            .map(|(i, f)| (format!("fonts[{i}].src"), f.src.as_str())),
    );
    if !files.is_empty() {
        let _ = writeln!(out, "files");
    }
    for (field, url) in files {
        let name = url.strip_prefix("/branding/").filter(|n| !n.contains('/'));
        let status = match name {
            Some(n) if crate::assets::branding_type(n).is_none() => {
                "warning: not an image or font type, so never served".to_string()
            }
            Some(n) if dir.join(n).is_file() => {
                format!("found in {}", dir.display())
            }
            Some(n) if BUILT_IN_BRANDING.contains(&n) => "built into the portal".to_string(),
            Some(_) => format!("warning: missing from {}", dir.display()),
            None => {
                "warning: not under /branding/, so served only if the portal has it".to_string()
            }
        };
        let _ = writeln!(out, "  {field:<24} {url}  {status}");
    }
    if !t.locales.is_empty() {
        let tags: Vec<&str> = t.locales.keys().map(String::as_str).collect();
        let _ = writeln!(out, "text overrides for: {}", tags.join(", "));
    }
    Ok(out)
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
    let theme = load(path)?;
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
    fn the_dark_palette_fonts_and_locales_are_checked_by_field() {
        let with = |extra: &str| {
            check(&format!(
                r#"{{"organisation":"X","helpdesk":"a@b.co"{extra}}}"#
            ))
        };
        let dark = r##","colors_dark":{"primary":"#8ab4f8","on_primary":"#0b1a2e","background":"#121417",
            "surface":"#1c1f24","text":"#e8eaed","muted":"#555555","error":"#f2b8b5"}"##;
        let e = with(dark).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("colors_dark.muted"));
        assert!(
            e.reason.starts_with("contrast of #555555 on #1c1f24 is 2."),
            "{}",
            e.reason
        );

        let cases = [
            (
                r#","fonts":[{"family":"Inter","src":"https://fonts.example.com/inter.woff2"}]"#,
                "fonts[0].src",
            ),
            (
                r#","fonts":[{"family":"Inter","src":"/branding/inter.exe"}]"#,
                "fonts[0].src",
            ),
            (
                r#","fonts":[{"family":"Inter;}","src":"/branding/inter.woff2"}]"#,
                "fonts[0].family",
            ),
            (
                r#","fonts":[{"family":"Inter","src":"/branding/inter.woff2","weight":"bold"}]"#,
                "fonts[0].weight",
            ),
            (r#","font_family":"Comic Sans""#, "font_family"),
            (
                r#","locales":{"english":{"reset_intro":"x"}}"#,
                "locales.english",
            ),
            (
                r#","locales":{"fr":{"reset_intro":" "}}"#,
                "locales.fr.reset_intro",
            ),
            (
                r#","locales":{"cy":{"reset_intro":"Croeso"}}"#,
                "locales.cy",
            ),
            (r#","reset_intro":"""#, "reset_intro"),
        ];
        for (extra, field) in cases {
            let e = with(extra).unwrap_err();
            assert_eq!(e.field.as_deref(), Some(field), "{extra}: {e}");
        }
        let ok = with(
            r#","fonts":[{"family":"Inter","src":"/branding/inter.woff2","weight":"100 900"}],
                "font_family":"Inter","locales":{"pt-BR":{"helpdesk_label":"Suporte"}}"#,
        );
        assert!(ok.is_ok(), "{ok:?}");
        assert!(with(r#","font_family":"sans-serif""#).is_ok());
    }

    #[test]
    fn the_example_themes_are_valid_and_report_every_pair() {
        let themes = Path::new(env!("CARGO_MANIFEST_DIR")).join("../themes");
        let mut seen = 0;
        for dir in std::fs::read_dir(&themes).unwrap().flatten() {
            let file = dir.path().join("theme.json");
            if !file.is_file() {
                continue;
            }
            let report = check_report(&file, None).unwrap();
            // Six pairs per palette, both palettes, all passing.
            assert_eq!(report.matches(":1  ok").count(), 12, "{report}");
            assert!(report.contains("logo_dark"), "{report}");
            seen += 1;
        }
        assert_eq!(seen, 2, "two example themes ship in themes/");
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
