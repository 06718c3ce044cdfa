//! One table of policy cases, run twice: natively (`cargo test`, the code
//! the server enforces with) and in headless Chromium through the worker's
//! own message handler (`cargo test --target wasm32-unknown-unknown`). Both
//! runs assert the same expected verdicts, so a wasm/native divergence in
//! NFKC, folding, fuzzy matching or zxcvbn fails one of them.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use sspr_proto::ErrorId;
use sspr_proto::config::{BannedContext, PasswordContext, PasswordRules};
use sspr_proto::strength::{WorkerReply, WorkerRequest};
use sspr_strength::Checker;

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::*;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test_configure!(run_in_browser);

#[derive(Clone, Copy)]
enum Policy {
    /// Defaults, the banned list enforced, organisation "Northgate", custom term "kayak".
    Enforced,
    /// The same with AD's complexity rule from the directory.
    Complex,
    /// Audit mode: the banned list is not part of the verdict.
    Audit,
}

fn context(policy: Policy) -> PasswordContext {
    PasswordContext {
        rules: PasswordRules {
            min_length: 8,
            max_length: 64,
            min_score: 3,
            complexity: matches!(policy, Policy::Complex),
        },
        username: "alice".into(),
        display_name: "Alice Andersen".into(),
        email: Some("alice@example.com".into()),
        banned: (!matches!(policy, Policy::Audit)).then(|| BannedContext {
            organisation: "Northgate".into(),
            custom: vec!["Kayak".into()],
        }),
        year: 2026,
    }
}

use ErrorId::*;
use Policy::*;

const OK: Result<(), ErrorId> = Ok(());

/// (policy, password, verdict)
const CASES: &[(Policy, &str, Result<(), ErrorId>)] = &[
    // Length: code points after NFKC, no truncation.
    (Enforced, "", Err(PasswordTooShort)),
    (Enforced, "Qz7!kd", Err(PasswordTooShort)),
    (Enforced, "éé🔑🔑xq7", Err(PasswordTooShort)),
    // Four ligatures are eight letters after NFKC: long enough, but weak.
    (Enforced, "ﬀﬀﬀﬀ", Err(PasswordTooWeak)),
    (
        Enforced,
        "Tangerine-Vortex-Quill-88-Tangerine-Vortex-Quill-88-Tangerine-VQ",
        OK,
    ),
    (
        Enforced,
        "Tangerine-Vortex-Quill-88-Tangerine-Vortex-Quill-88-Tangerine-VQ8",
        Err(PasswordTooLong),
    ),
    // The user's names, through case and Entra's character swaps.
    (Enforced, "AliceAndersen1", Err(PasswordContainsName)),
    (Enforced, "@1ice-harbour-77", Err(PasswordContainsName)),
    (Enforced, "ANDER$EN-quiver-9", Err(PasswordContainsName)),
    // The organisation's name and the banned lists (global and custom), folded and fuzzy.
    (Enforced, "Northgate2026!", Err(PasswordBanned)),
    (Enforced, "N0rthg@te2026", Err(PasswordBanned)),
    (Enforced, "P@ssw0rd2026!", Err(PasswordBanned)),
    // "passwerd" is one edit from "password": 1 point, plus 2 for "26".
    (Enforced, "Passwerd26", Err(PasswordBanned)),
    // A year is a term too: passwerd + 2026 + "!" is 3 points.
    (Enforced, "Passwerd2026!", Err(PasswordBanned)),
    // 1 point plus 5 characters of one's own clears the 5 points Entra needs.
    (Enforced, "Passwerd-Xq7!v", OK),
    (Enforced, "kayak2025!!", Err(PasswordBanned)),
    (Enforced, "Kayak-Tangerine-Vortex-Quill", OK),
    // zxcvbn.
    (Enforced, "zzzzzzzzzzzz", Err(PasswordTooWeak)),
    (Enforced, "abcdefgh12345678", Err(PasswordTooWeak)),
    (Enforced, "correct horse battery staple", OK),
    (Enforced, "Tangerine-Vortex-Quill-88", OK),
    // Complexity, when the directory asks for it.
    (Complex, "tangerine vortex quill", Err(PasswordNotComplex)),
    (Complex, "Tangerine vortex quill", OK),
    (Enforced, "tangerine vortex quill", OK),
    // Audit mode: the banned list no longer decides.
    (Audit, "Northgate2026!", OK),
    (Audit, "KayakNorthgate!", OK),
    (Enforced, "KayakNorthgate!", Err(PasswordBanned)),
];

/// Every case through the worker's message handler, as the page uses it.
fn through_the_worker() -> Vec<Result<(), ErrorId>> {
    let mut workers = [Enforced, Complex, Audit].map(|p| {
        let mut c = Checker::default();
        let setup = serde_json::to_string(&WorkerRequest::Setup(context(p))).unwrap();
        assert_eq!(c.handle_json(&setup), None);
        c
    });
    CASES
        .iter()
        .enumerate()
        .map(|(i, (policy, password, _))| {
            let request = WorkerRequest::Check {
                id: i as u32,
                password: password.to_string(),
            };
            let reply = workers[*policy as usize]
                .handle_json(&serde_json::to_string(&request).unwrap())
                .unwrap();
            match serde_json::from_str(&reply).unwrap() {
                WorkerReply::Report { id, report } => {
                    assert_eq!(id, i as u32);
                    report.verdict()
                }
                other => panic!("case {i}: {other:?}"),
            }
        })
        .collect()
}

fn assert_table(got: &[Result<(), ErrorId>]) {
    let wrong: Vec<String> = CASES
        .iter()
        .zip(got)
        .filter(|((_, _, want), got)| want != *got)
        .map(|((_, pw, want), got)| format!("{pw:?}: want {want:?}, got {got:?}"))
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn the_worker_gives_the_tabled_verdicts() {
    assert_table(&through_the_worker());
}

/// Natively, also straight through the function the server enforces with.
#[cfg(not(target_arch = "wasm32"))]
#[test]
fn the_servers_verdict_matches_the_table() {
    use sspr_policy::{Banned, OwnerOf, verdict};
    let got: Vec<_> = CASES
        .iter()
        .map(|(policy, password, _)| {
            let ctx = context(*policy);
            let terms = sspr_policy::banned::terms_from(
                sspr_policy::banned::GLOBAL_LIST.lines().chain(["kayak"]),
            );
            let banned = ctx.banned.as_ref().map(|b| Banned {
                terms: &terms,
                organisation: &b.organisation,
            });
            verdict(password, &ctx.rules, &ctx.owner(), banned.as_ref(), 2026)
        })
        .collect();
    assert_table(&got);
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn a_check_before_setup_or_a_garbled_message_is_an_error_not_a_pass() {
    let mut c = Checker::default();
    let check = serde_json::to_string(&WorkerRequest::Check {
        id: 1,
        password: "x".into(),
    })
    .unwrap();
    assert_eq!(c.handle_json(&check).as_deref(), Some("\"error\""));
    assert_eq!(c.handle_json("{not json").as_deref(), Some("\"error\""));
}
