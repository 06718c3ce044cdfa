//! Who needs how many gates and which kinds count: written once, for reset
//! and for security info alike.
//!
//! - Administrators need two gates, whatever the policy asks of others.
//! - Administrators never use security questions.
//! - A kind that does not prove who the user is alone (security questions)
//!   is offered only where two gates are asked for, and never counts alone.

use sspr_proto::reset::MethodKind;

use super::{distinct_kinds, of};

/// Gates a reset needs for this user.
pub fn required(policy_required: u8, is_admin: bool) -> u8 {
    if is_admin { 2 } else { policy_required }
}

/// Whether this user may use `kind` at all (the policy aside).
pub fn allowed(kind: MethodKind, is_admin: bool) -> bool {
    !is_admin || of(kind).for_administrators()
}

/// Whether a reset of `gates` gates offers `kind` to this user.
pub fn offered_at_reset(kind: MethodKind, gates: u8, is_admin: bool) -> bool {
    (of(kind).proves_alone() || gates >= 2) && allowed(kind, is_admin)
}

/// Distinct kinds among `kinds` that the reset wizard would offer this user,
/// where `available` says what the policy offers: two emails are still one
/// gate, and kinds that do not prove alone count for nothing without
/// another.
pub fn usable_kinds(
    kinds: impl Iterator<Item = MethodKind> + Clone,
    is_admin: bool,
    available: impl Fn(MethodKind) -> bool,
) -> usize {
    let usable = || {
        kinds
            .clone()
            .filter(|k| available(*k) && allowed(*k, is_admin))
    };
    if usable().all(|k| !of(k).proves_alone()) {
        return 0;
    }
    distinct_kinds(usable())
}

#[cfg(test)]
mod tests {
    use super::*;

    const Q: MethodKind = MethodKind::SecurityQuestions;
    const E: MethodKind = MethodKind::Email;
    const S: MethodKind = MethodKind::Sms;

    #[test]
    fn administrators_need_two_gates() {
        assert_eq!(required(1, true), 2);
        assert_eq!(required(1, false), 1);
        assert_eq!(required(2, false), 2);
    }

    #[test]
    fn no_questions_for_administrators_and_never_alone() {
        assert!(!allowed(Q, true));
        assert!(allowed(Q, false));
        assert!(allowed(E, true));
        assert!(!offered_at_reset(Q, 1, false));
        assert!(offered_at_reset(Q, 2, false));
        assert!(!offered_at_reset(Q, 2, true));
        assert!(offered_at_reset(E, 1, false));
    }

    #[test]
    fn usable_kinds_count_distinct_kinds_that_prove() {
        let all = |_| true;
        assert_eq!(usable_kinds([Q].into_iter(), false, all), 0);
        assert_eq!(usable_kinds([E, E].into_iter(), false, all), 1);
        assert_eq!(usable_kinds([E, Q].into_iter(), false, all), 2);
        assert_eq!(usable_kinds([E, Q].into_iter(), true, all), 1);
        assert_eq!(usable_kinds([E, S].into_iter(), false, |k| k != S), 1);
        assert_eq!(usable_kinds([].into_iter(), false, all), 0);
    }
}
