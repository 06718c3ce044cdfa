//! Decoy methods for an identifier that matches no usable account. They are
//! drawn from the shapes real accounts have (no email, two emails, two
//! phones, an app, recovery codes...), by a keyed hash of the identifier, so
//! the same identifier always shows the same methods and no shape is one
//! that only decoys (or only real accounts) could have.

use sspr_proto::reset::MethodKind;

use super::{Candidate, KIND_ORDER};
use crate::AppState;
use crate::methods;

/// Kinds drawn, one seed byte each per draw.
const KINDS: usize = KIND_ORDER.len();

/// Draws tried before the fallback shape.
const ATTEMPTS: usize = 4;

/// The kinds whose bytes come from the shape seed: six a draw, bytes 0 to
/// 23 (the masks read 25 to 31, so no byte decides two things). Kinds
/// after them (the passkey) read a second keyed hash of the same basis,
/// four bytes each, one per draw: every byte is uniform and used once, so
/// each kind's odds are its own and the first six draw as they did before
/// passkeys.
const SEED_KINDS: usize = 6;
const _: () = assert!(SEED_KINDS * ATTEMPTS <= 25 && (KINDS - SEED_KINDS) * ATTEMPTS <= 32);

/// The bytes of draw `attempt`.
fn draw_bytes(seed: &[u8; 32], more: &[u8; 32], attempt: usize) -> [u8; KINDS] {
    std::array::from_fn(|i| {
        if i < SEED_KINDS {
            seed[SEED_KINDS * attempt + i]
        } else {
            more[(i - SEED_KINDS) * ATTEMPTS + attempt]
        }
    })
}

/// How many of each kind one draw gives, from one byte per kind (each
/// method's [`decoy_count`](methods::Method::decoy_count)).
/// Roughly: email 0/1/2 at 15/75/10 %, phone 0/1/2 at 40/54/6 %, an office
/// phone 12 %, an app 45 %, recovery codes 20 %, questions (two-gate
/// policies only) 30 %, a passkey 10 %.
fn draw(bytes: &[u8; KINDS], gates: u8) -> [(MethodKind, usize); KINDS] {
    std::array::from_fn(|i| {
        let k = KIND_ORDER[i];
        (k, methods::of(k).decoy_count(bytes[i], gates))
    })
}

/// What a decoy's methods are drawn from: the identifier, or for an address
/// its local part. A real account shows the same methods whichever of its
/// names is typed, so `zed` and `zed@example.com` must show the same decoy
/// (the usual pairing, user name = local part; an organisation whose names
/// and addresses differ should set `reset.decoy_email_domain` to its own).
pub(super) fn seed(state: &AppState, identifier: &str) -> [u8; 32] {
    let ident = identifier.trim().to_lowercase();
    let basis = ident
        .rsplit_once('@')
        .map_or(ident.as_str(), |(local, _)| local);
    state.keys.decoy_seed(&format!("decoy-shape:{basis}"))
}

/// The second keyed hash the draws of the kinds after [`SEED_KINDS`] read.
fn more_seed(state: &AppState, identifier: &str) -> [u8; 32] {
    let ident = identifier.trim().to_lowercase();
    let basis = ident
        .rsplit_once('@')
        .map_or(ident.as_str(), |(local, _)| local);
    state.keys.decoy_seed(&format!("decoy-shape-more:{basis}"))
}

/// The decoy's options for `gates` gates under this portal's policy.
pub(super) fn options(state: &AppState, identifier: &str, gates: u8) -> Vec<Candidate> {
    let seed = seed(state, identifier);
    let more = more_seed(state, identifier);
    let available = |k: MethodKind| methods::kind_available(state, k);
    let usable = |shape: &[(MethodKind, usize)]| {
        methods::distinct_kinds(
            shape
                .iter()
                .filter(|(k, n)| *n > 0 && available(*k) && methods::of(*k).proves_alone())
                .map(|(k, _)| *k),
        )
    };
    // Up to four draws (see [`draw_bytes`]) until one is a shape a real
    // account of this policy could have (enough kinds for its gates).
    let mut shape = None;
    for attempt in 0..ATTEMPTS {
        let bytes = draw_bytes(&seed, &more, attempt);
        let s = draw(&bytes, gates);
        if usable(&s) >= usize::from(gates) {
            shape = Some(s);
            break;
        }
    }
    // Every draw fell short: the commonest real shapes, email first.
    let shape = shape.unwrap_or_else(|| {
        let mut s = draw(&[100, 150, 0, 0, 255, 255, 255], gates);
        for (k, n) in &mut s {
            if *n == 0 && available(*k) && usable(&[(*k, 1)]) == 1 {
                *n = 1;
            }
        }
        s
    });

    let ident = identifier.trim().to_lowercase();
    let basis = ident
        .rsplit_once('@')
        .map_or(ident.as_str(), |(local, _)| local);
    let mut out = Vec::new();
    for k in KIND_ORDER {
        let n = shape.iter().find(|(s, _)| *s == k).map_or(0, |(_, n)| *n);
        if n == 0 || !available(k) {
            continue;
        }
        let method = methods::of(k);
        for i in 0..n {
            let domain = &state.config.reset.decoy_email_domain;
            out.push((k, method.decoy_mask(&seed, i, basis, domain), None));
            // One option for all apps, for all codes, for the questions.
            if !method.option_per_target() {
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every draw byte is read once: the shape seed's first 24 for the six
    /// first kinds, as before passkeys, and the second hash's four for a
    /// passkey, one per draw.
    #[test]
    fn each_draw_reads_its_own_bytes() {
        let seed: [u8; 32] = std::array::from_fn(|i| i as u8);
        let more: [u8; 32] = std::array::from_fn(|i| 100 + i as u8);
        let mut seen = Vec::new();
        for attempt in 0..ATTEMPTS {
            let b = draw_bytes(&seed, &more, attempt);
            assert_eq!(b[..6], seed[6 * attempt..6 * attempt + 6]);
            seen.extend(b);
        }
        assert!(seen.iter().all(|b| *b < 24 || (100..104).contains(b)));
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), KINDS * ATTEMPTS);
    }

    #[test]
    fn draws_cover_every_real_shape() {
        let mut no_email = false;
        let mut two_emails = false;
        let mut two_phones = false;
        let mut app = false;
        let mut office = false;
        let mut passkey = false;
        for a in 0..=255u8 {
            for b in [0u8, 120, 245] {
                let s = draw(&[a, b, a, a, a, a, a], 2);
                no_email |= s[0].1 == 0;
                two_emails |= s[0].1 == 2;
                two_phones |= s[1].1 == 2;
                office |= s[2].1 == 1;
                app |= s[3].1 == 1;
                passkey |= s[6].1 == 1;
            }
        }
        assert!(no_email && two_emails && two_phones && office && app && passkey);
        // Questions only where two gates are asked for.
        assert!((0..=255u8).all(|a| draw(&[a; KINDS], 1)[5].1 == 0));
    }
}
