//! The password policy engine, shared by the server (which enforces it) and
//! the SPA's strength worker (which shows it live), so the two cannot
//! disagree. Its inputs and its report are wire types from `sspr-proto`;
//! this crate holds the rules themselves.
//!
//! Modules, each depending only on those above it:
//!
//! - [`normalise`]: NFKC and Entra's fold (the leaf).
//! - [`owner`]: whose password it is, and their names.
//! - [`banned`]: Entra's banned-password rule.
//! - [`strength`]: zxcvbn's assessment, as the wire [`Strength`](sspr_proto::strength::Strength).
//! - [`verdict`]: every rule's outcome ([`report`]) and the first one broken ([`verdict()`]).
//! - [`answers`]: how security-question answers compare.

pub mod answers;
pub mod banned;
pub mod normalise;
pub mod owner;
pub mod strength;
pub mod verdict;

pub use banned::Banned;
pub use normalise::normalise;
pub use owner::{Owner, OwnerOf};
pub use verdict::{report, verdict};
