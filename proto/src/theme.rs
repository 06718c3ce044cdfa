//! The theme file (`theme.json`): IT's branding, read by the SPA at runtime.
//!
//! The server validates it; the SPA only reads it. Unknown fields are refused
//! so a typo is reported, not silently ignored.

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
    #[serde(default)]
    pub colors: ThemeColors,
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
    /// `(css custom property, value)` pairs, in a fixed order.
    pub fn css_properties(&self) -> [(&'static str, &str); 7] {
        [
            ("--color-primary", &self.primary),
            ("--color-on-primary", &self.on_primary),
            ("--color-background", &self.background),
            ("--color-surface", &self.surface),
            ("--color-text", &self.text),
            ("--color-muted", &self.muted),
            ("--color-error", &self.error),
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
    fn theme_rejects_unknown_fields() {
        let err = serde_json::from_str::<Theme>(
            r#"{"organisation":"X","helpdesk":"a@b.co","colour":{}}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("unknown field `colour`"), "{err}");
    }
}
