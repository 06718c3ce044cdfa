//! Sign-in to the portal.

use serde::{Deserialize, Serialize};

use crate::reset::MethodKind;

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignInRequest {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for SignInRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInRequest")
            .field("username", &self.username)
            .field("password", &"[redacted]")
            .finish()
    }
}

/// Who is signed in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    pub username: String,
    pub display_name: String,
    /// An administrator: two gates at reset, and Usage & insights (`/insights`)
    /// once [`SessionView::proven`] holds two different kinds.
    #[serde(default)]
    pub is_admin: bool,
    /// The method kinds this session proved with a step-up
    /// (`POST /api/session/stepup`, then `/stepup/verify`) within the last
    /// 10 minutes, most recent first, each once. Security questions never
    /// count. Empty in the answer to a sign-in.
    #[serde(default)]
    pub proven: Vec<MethodKind>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn older_answers_without_the_admin_fields_still_read() {
        let v: SessionView =
            serde_json::from_str(r#"{"username":"bob","display_name":"Bob"}"#).unwrap();
        assert!(!v.is_admin);
        assert!(v.proven.is_empty());
        let v: SessionView = serde_json::from_str(
            r#"{"username":"carol","display_name":"Carol","is_admin":true,"proven":["authenticator","email"]}"#,
        )
        .unwrap();
        assert_eq!(v.proven, vec![MethodKind::Authenticator, MethodKind::Email]);
    }
}
