//! The theme file (`theme.json`): IT's branding, read by the SPA at runtime.
//!
//! The server validates it; the SPA only reads it. Unknown fields are refused
//! so a typo is reported, not silently ignored.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Theme {
    /// The organisation's name, shown in the header and the page title.
    pub organisation: String,
    /// Logo for light backgrounds: a path served by the portal, e.g. `/branding/logo.svg`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo: Option<String>,
    /// Logo for dark backgrounds; falls back to `logo`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_dark: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub favicon: Option<String>,
    /// Where a locked-out person gets human help: an `https://` URL, an email
    /// address (becomes `mailto:`), or a phone number (becomes `tel:`).
    pub helpdesk: String,
    /// The link text for the helpdesk; defaults to "Contact your helpdesk".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helpdesk_label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signin_intro: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset_intro: Option<String>,
    /// The palette for light mode.
    #[serde(default)]
    pub colors: ThemeColors,
    /// The palette when the browser prefers a dark colour scheme.
    #[serde(default = "ThemeColors::dark")]
    pub colors_dark: ThemeColors,
    /// Font files served by the portal itself (beside the theme file, under
    /// `/branding/`); no third-party origins.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fonts: Vec<ThemeFont>,
    /// The CSS font family for all text: one of `fonts`' families or a
    /// generic family. Unset: the system's UI font.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub font_family: Option<String>,
    /// Per-locale overrides of the theme's texts, keyed by language tag
    /// (`fr`, `pt-BR`); a tag's base language is tried after the full tag.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub locales: BTreeMap<String, ThemeTexts>,
}

/// One `@font-face`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThemeFont {
    pub family: String,
    /// A path on this portal, e.g. `/branding/inter.woff2`.
    pub src: String,
    /// A CSS weight (`400`) or range (`100 900`).
    #[serde(default = "ThemeFont::normal_weight")]
    pub weight: String,
    /// `normal` or `italic`.
    #[serde(default = "ThemeFont::normal_style")]
    pub style: String,
}

impl ThemeFont {
    fn normal_weight() -> String {
        "400".into()
    }
    fn normal_style() -> String {
        "normal".into()
    }
}

/// The texts a locale may override; unset ones fall back to the theme's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThemeTexts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helpdesk_label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signin_intro: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset_intro: Option<String>,
}

/// CSS colours as `#rrggbb`. Each becomes a `--color-*` custom property.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThemeColors {
    pub primary: String,
    pub on_primary: String,
    pub background: String,
    pub surface: String,
    pub text: String,
    pub muted: String,
    pub error: String,
}

impl Default for ThemeColors {
    fn default() -> Self {
        ThemeColors {
            primary: "#0b5cad".into(),
            on_primary: "#ffffff".into(),
            background: "#f4f6f9".into(),
            surface: "#ffffff".into(),
            text: "#1b1f24".into(),
            muted: "#4d5661".into(),
            error: "#b3261e".into(),
        }
    }
}

impl ThemeColors {
    /// The built-in dark palette (every pair above WCAG AA).
    pub fn dark() -> Self {
        ThemeColors {
            primary: "#8ab4f8".into(),
            on_primary: "#0b1a2e".into(),
            background: "#121417".into(),
            surface: "#1c1f24".into(),
            text: "#e8eaed".into(),
            muted: "#b0b7c1".into(),
            error: "#f2b8b5".into(),
        }
    }

    /// `(role, value)` pairs, in a fixed order. The SPA sets each as
    /// `--light-<role>` or `--dark-<role>`; the stylesheet picks one set by
    /// `prefers-color-scheme` into `--color-<role>`.
    pub fn roles(&self) -> [(&'static str, &str); 7] {
        [
            ("primary", &self.primary),
            ("on-primary", &self.on_primary),
            ("background", &self.background),
            ("surface", &self.surface),
            ("text", &self.text),
            ("muted", &self.muted),
            ("error", &self.error),
        ]
    }
}

/// What the helpdesk value turns into on the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HelpdeskLink {
    Url(String),
    Email(String),
    Phone(String),
}

impl HelpdeskLink {
    /// Classifies a helpdesk value, or says why it is not usable.
    pub fn parse(value: &str) -> Result<HelpdeskLink, &'static str> {
        let v = value.trim();
        if v.is_empty() {
            return Err("is empty");
        }
        if let Some(rest) = v
            .strip_prefix("https://")
            .or_else(|| v.strip_prefix("http://"))
        {
            if rest.is_empty() || rest.starts_with('/') || v.chars().any(char::is_whitespace) {
                return Err("is not a valid URL");
            }
            return Ok(HelpdeskLink::Url(v.to_string()));
        }
        if let Some(addr) = v
            .strip_prefix("mailto:")
            .or(Some(v))
            .filter(|a| a.contains('@'))
        {
            let (local, domain) = addr.split_once('@').unwrap_or_default();
            let ok = !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !addr
                    .chars()
                    .any(|c| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '?'));
            return if ok {
                Ok(HelpdeskLink::Email(addr.to_string()))
            } else {
                Err("is not a valid email address")
            };
        }
        let phone = v.strip_prefix("tel:").unwrap_or(v);
        let digits = phone.chars().filter(char::is_ascii_digit).count();
        if digits >= 3
            && phone
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')'))
        {
            return Ok(HelpdeskLink::Phone(phone.to_string()));
        }
        Err("must be an http(s) URL, an email address or a phone number")
    }

    /// The `href` for an `<a>`.
    pub fn href(&self) -> String {
        match self {
            HelpdeskLink::Url(u) => u.clone(),
            HelpdeskLink::Email(e) => format!("mailto:{e}"),
            HelpdeskLink::Phone(p) => {
                let compact: String = p
                    .chars()
                    .filter(|c| c.is_ascii_digit() || *c == '+')
                    .collect();
                format!("tel:{compact}")
            }
        }
    }
}

impl Theme {
    /// The theme with `lang`'s overrides applied: the full tag first
    /// (`pt-BR`), then its base language (`pt`), matched without case.
    pub fn localised(mut self, lang: &str) -> Theme {
        let lang = lang.to_ascii_lowercase();
        let base = lang.split('-').next().unwrap_or_default().to_string();
        for tag in [base, lang] {
            let found = self
                .locales
                .iter()
                .find(|(k, _)| k.to_ascii_lowercase() == tag)
                .map(|(_, t)| t.clone());
            if let Some(t) = found {
                let set = |slot: &mut Option<String>, v: Option<String>| {
                    if v.is_some() {
                        *slot = v;
                    }
                };
                if let Some(o) = t.organisation {
                    self.organisation = o;
                }
                set(&mut self.helpdesk_label, t.helpdesk_label);
                set(&mut self.signin_intro, t.signin_intro);
                set(&mut self.reset_intro, t.reset_intro);
            }
        }
        self
    }

    pub fn helpdesk_link(&self) -> Option<HelpdeskLink> {
        HelpdeskLink::parse(&self.helpdesk).ok()
    }

    pub fn helpdesk_text(&self) -> &str {
        self.helpdesk_label
            .as_deref()
            .unwrap_or("Contact your helpdesk")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpdesk_values_become_the_right_links() {
        let cases = [
            (
                "https://help.example.com/sspr",
                Ok("https://help.example.com/sspr"),
            ),
            ("helpdesk@example.com", Ok("mailto:helpdesk@example.com")),
            ("mailto:it@example.org", Ok("mailto:it@example.org")),
            ("+44 20 7946 0000", Ok("tel:+442079460000")),
            ("tel:+1 (555) 010-0000", Ok("tel:+15550100000")),
            ("javascript:alert(1)", Err(())),
            ("ftp://x", Err(())),
            ("https://", Err(())),
            ("bob@", Err(())),
            ("bob@localhost", Err(())),
            ("a@b.c?subject=x", Err(())),
            ("", Err(())),
        ];
        for (input, want) in cases {
            let got = HelpdeskLink::parse(input).map(|l| l.href()).map_err(|_| ());
            assert_eq!(got.as_deref().map_err(|_| ()), want, "{input}");
        }
    }

    #[test]
    fn locale_overrides_apply_by_full_tag_then_base_language() {
        let theme: Theme = serde_json::from_str(
            r#"{"organisation":"Harbour","helpdesk":"a@b.co","reset_intro":"Reset here.",
                "helpdesk_label":"Help",
                "locales":{"pt":{"reset_intro":"Redefina aqui.","helpdesk_label":"Ajuda"},
                           "pt-BR":{"helpdesk_label":"Suporte"},"fr":{"organisation":"Port"}}}"#,
        )
        .unwrap();
        let br = theme.clone().localised("pt-br");
        assert_eq!(br.helpdesk_label.as_deref(), Some("Suporte"));
        assert_eq!(br.reset_intro.as_deref(), Some("Redefina aqui."));
        let pt = theme.clone().localised("pt-PT");
        assert_eq!(pt.helpdesk_label.as_deref(), Some("Ajuda"));
        assert_eq!(theme.clone().localised("fr-CA").organisation, "Port");
        assert_eq!(theme.clone().localised("de"), theme);
        // Absent dark palette: the built-in one.
        assert_eq!(theme.colors_dark, ThemeColors::dark());
    }

    #[test]
    fn theme_rejects_unknown_fields() {
        let err = serde_json::from_str::<Theme>(
            r#"{"organisation":"X","helpdesk":"a@b.co","colour":{}}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("unknown field `colour`"), "{err}");
    }
}
