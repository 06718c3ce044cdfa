//! Code lengths both sides must agree on: the server makes and checks the
//! codes, the SPA sizes its code boxes for them.

/// Digits in an emailed or texted code.
pub const CODE_DIGITS: usize = 8;
/// Digits in an authenticator app's code (RFC 6238 as every app runs it).
pub const AUTHENTICATOR_DIGITS: usize = 6;
/// Characters in a recovery code, separators aside: 80 bits as base32.
pub const RECOVERY_CODE_CHARS: usize = 16;
/// A recovery code is shown in dash-separated groups of this many characters.
pub const RECOVERY_CODE_GROUP: usize = 4;
