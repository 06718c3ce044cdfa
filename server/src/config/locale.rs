//! `server.default_locale`: a language the portal ships, checked while the
//! file is read so that a wrong one is refused at its line and column.

use serde::Deserialize;

/// A shipped locale code (`"de"` for `de-CH`), as `sspr_proto::i18n::supported` finds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Locale(&'static str);

impl Locale {
    /// The shipped locale `tag` names, or why it is none.
    pub fn new(tag: &str) -> Result<Self, String> {
        sspr_proto::i18n::supported(tag).map(Locale).ok_or_else(|| {
            let shipped: Vec<&str> = sspr_proto::i18n::LOCALES.iter().map(|(c, _)| *c).collect();
            format!(
                "{tag:?} is not a language the portal ships: one of {}",
                shipped.join(", ")
            )
        })
    }

    /// The locale code, e.g. `en`.
    pub const fn get(self) -> &'static str {
        self.0
    }
}

impl Default for Locale {
    fn default() -> Self {
        Locale(sspr_proto::i18n::DEFAULT)
    }
}

impl<'de> Deserialize<'de> for Locale {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let tag = String::deserialize(d)?;
        Locale::new(&tag).map_err(serde::de::Error::custom)
    }
}
