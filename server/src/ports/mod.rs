//! Ports for storage: one trait per store concern, each owning all of that
//! concern's SQL. The domain says *what* it needs (reserve a proof, count a
//! hit, append an event) and keeps its policy (limits, windows); the port says
//! *how* the store does it, on SQLite and PostgreSQL alike. Time is always a
//! parameter: no port reads a clock.
//!
//! [`crate::store::Store`] implements every trait. One conformance suite
//! (`server/tests/ports.rs`) holds each trait to its contract on both
//! backends, so a new implementation is checked by running it there.

pub mod audit;
pub mod change;
pub mod enrolments;
pub mod flows;
pub mod insights;
pub mod ip_window;
pub mod methods;
pub mod outbox;
pub mod passkeys;
pub mod session;
pub mod sign_in_lock;
pub mod tap;
pub mod throttle;

pub use audit::{AuditFilter, AuditRow, AuditStore, NewAuditEvent};
pub use change::{Change, ChangeStore};
pub use enrolments::{EnrolmentStore, NewEnrolment, PendingEnrolment};
pub use flows::{FlowRow, FlowSave, FlowStore, FlowTx, NewCode, NewFlow, NewPow};
pub use insights::{ActivityQuery, After, AlertTx, DayCount, EventQuery, InsightsStore};
pub use ip_window::{IpWindow, IpWindowStore};
pub use methods::{ChangeGuard, MethodRow, MethodStore, NewMethodRow};
pub use outbox::{ClaimedRow, NewOutboxRow, OutboxDepth, OutboxStore, OutboxTx};
pub use passkeys::{Ceremony, NewCeremony, NewPasskey, PasskeyStore, Purpose, StoredPasskey};
pub use session::{LiveSession, NewSession, NewStepUp, SessionStore, Stamp, StepUp};
pub use sign_in_lock::SignInLockStore;
pub use tap::{NewPass, PassRow, RedeemedPass, TapStore};
pub use throttle::{Claim, ProofWindow, ThrottleHorizons, ThrottleStore};

use crate::store::StoreError;

/// The sqlx error inside a store error, for callers whose signature speaks
/// sqlx (the housekeeping task). Nothing is lost: each variant holds one.
pub fn into_sqlx(e: StoreError) -> sqlx::Error {
    match e {
        StoreError::Connect(e) | StoreError::Query(e) => e,
        StoreError::Migrate(e) => sqlx::Error::Migrate(Box::new(e)),
    }
}
