//! Passkeys over HTTP, against a software authenticator written here from
//! the WebAuthn and CTAP2 formats (P-256, `none` attestation, CBOR by
//! hand), never from the product's code: registration in security info,
//! signing in with a passkey alone, a passkey as a reset gate, and what
//! must be refused (another origin, another relying party id, a counter
//! that goes back, a challenge used twice). A reset's challenge must look
//! the same for an account and for a decoy.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod common;

use axum::http::{StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use common::*;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const ALICE: (&str, &str) = ("alice", "Alice-demo-2026!");
const RP_ID: &str = "sspr.example.com";
const ON: &str = "[policy]\npasskeys = true\n";

/// A software authenticator holding one discoverable credential.
struct SoftKey {
    key: SigningKey,
    cred_id: Vec<u8>,
    user_handle: Vec<u8>,
    counter: u32,
}

fn b64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

fn cbor_bytes(out: &mut Vec<u8>, b: &[u8]) {
    match b.len() {
        n if n < 24 => out.push(0x40 | n as u8),
        n if n < 256 => out.extend([0x58, n as u8]),
        n => out.extend([0x59, (n >> 8) as u8, n as u8]),
    }
    out.extend_from_slice(b);
}

fn cbor_text(out: &mut Vec<u8>, s: &str) {
    assert!(s.len() < 24);
    out.push(0x60 | s.len() as u8);
    out.extend_from_slice(s.as_bytes());
}

fn challenge_of(options: &Value) -> String {
    options["publicKey"]["challenge"]
        .as_str()
        .unwrap()
        .to_string()
}

fn client_data(kind: &str, challenge: &str, origin: &str) -> Vec<u8> {
    json!({ "type": kind, "challenge": challenge, "origin": origin, "crossOrigin": false })
        .to_string()
        .into_bytes()
}

impl SoftKey {
    fn new(seed: u8) -> SoftKey {
        SoftKey {
            key: SigningKey::from_slice(&[seed; 32]).unwrap(),
            cred_id: vec![seed; 16],
            user_handle: Vec::new(),
            counter: 0,
        }
    }

    /// The COSE_Key of the public key: {1: 2 (EC2), 3: -7 (ES256), -1: 1
    /// (P-256), -2: x, -3: y}.
    fn cose_key(&self) -> Vec<u8> {
        let point = self.key.verifying_key().to_sec1_bytes();
        assert_eq!(point.len(), 65, "uncompressed");
        let mut out = vec![0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21];
        cbor_bytes(&mut out, &point[1..33]);
        out.push(0x22);
        cbor_bytes(&mut out, &point[33..65]);
        out
    }

    /// Answers `navigator.credentials.create` for `origin`, claiming `rp_id`.
    fn create(&mut self, options: &str, origin: &str, rp_id: &str) -> String {
        let options: Value = serde_json::from_str(options).unwrap();
        self.user_handle = B64
            .decode(options["publicKey"]["user"]["id"].as_str().unwrap())
            .unwrap();
        let mut auth = Sha256::digest(rp_id.as_bytes()).to_vec();
        auth.push(0x01 | 0x04 | 0x40); // user present, verified, attested data
        auth.extend(self.counter.to_be_bytes());
        auth.extend([0u8; 16]); // AAGUID
        auth.extend((self.cred_id.len() as u16).to_be_bytes());
        auth.extend(&self.cred_id);
        auth.extend(self.cose_key());
        // {"fmt": "none", "attStmt": {}, "authData": ...}
        let mut att = vec![0xa3];
        cbor_text(&mut att, "fmt");
        cbor_text(&mut att, "none");
        cbor_text(&mut att, "attStmt");
        att.push(0xa0);
        cbor_text(&mut att, "authData");
        cbor_bytes(&mut att, &auth);
        let cd = client_data("webauthn.create", &challenge_of(&options), origin);
        json!({
            "id": b64(&self.cred_id),
            "rawId": b64(&self.cred_id),
            "type": "public-key",
            "response": { "attestationObject": b64(&att), "clientDataJSON": b64(&cd) },
            "clientExtensionResults": {},
        })
        .to_string()
    }

    /// Answers `navigator.credentials.get` with counter `counter`.
    fn get_with(&self, options: &str, origin: &str, rp_id: &str, counter: u32) -> String {
        let options: Value = serde_json::from_str(options).unwrap();
        let mut auth = Sha256::digest(rp_id.as_bytes()).to_vec();
        auth.push(0x01 | 0x04);
        auth.extend(counter.to_be_bytes());
        let cd = client_data("webauthn.get", &challenge_of(&options), origin);
        let mut signed = auth.clone();
        signed.extend(Sha256::digest(&cd));
        let sig: Signature = self.key.sign(&signed);
        json!({
            "id": b64(&self.cred_id),
            "rawId": b64(&self.cred_id),
            "type": "public-key",
            "response": {
                "authenticatorData": b64(&auth),
                "clientDataJSON": b64(&cd),
                "signature": b64(&sig.to_der().to_bytes()),
                "userHandle": b64(&self.user_handle),
            },
            "clientExtensionResults": {},
        })
        .to_string()
    }

    /// A genuine answer: the counter moves on.
    fn get(&mut self, options: &str) -> String {
        self.counter += 1;
        self.get_with(options, PUBLIC_URL, RP_ID, self.counter)
    }
}

async fn call(h: &Harness, cookie: &str, path: &str, body: Value) -> (StatusCode, Value) {
    status_json(post_as(&h.app, cookie, path, &body).await).await
}

async fn signed_in_stepped_up(h: &Harness) -> String {
    let cookie = signed_in(h, ALICE.0, ALICE.1).await;
    let code = totp_now(h, sspr_server::methods::DEMO_TOTP[0].1);
    step_up_with(h, &cookie, "authenticator", &code).await;
    cookie
}

/// Registers `key` for the signed-in user under `name`: the view after.
async fn register(h: &Harness, cookie: &str, key: &mut SoftKey, name: &str) -> Value {
    let (s, ch) = call(h, cookie, "/api/security-info/passkeys/begin", json!({})).await;
    assert_eq!(s, StatusCode::OK, "{ch}");
    let credential = key.create(ch["options"].as_str().unwrap(), PUBLIC_URL, RP_ID);
    let (s, v) = call(
        h,
        cookie,
        "/api/security-info/passkeys",
        json!({ "ceremony": ch["ceremony"], "name": name, "credential": credential }),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

fn passkeys_in(view: &Value) -> Vec<(String, String)> {
    view["methods"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "passkey")
        .map(|m| {
            (
                m["id"].as_str().unwrap().to_string(),
                m["target"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Begins a sign-in ceremony: the options and the cookie it is bound to.
async fn sign_in_begin(h: &Harness) -> (Value, String) {
    let r = post(&h.app, "/api/session/passkey/begin", &json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let cookie = r.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    assert!(cookie.starts_with("__Host-sspr_passkey="), "{cookie}");
    (json(r).await, cookie)
}

async fn sign_in_finish(
    h: &Harness,
    cookie: &str,
    ch: &Value,
    credential: &str,
) -> axum::response::Response {
    post_as(
        &h.app,
        cookie,
        "/api/session/passkey",
        &json!({ "ceremony": ch["ceremony"], "credential": credential }),
    )
    .await
}

#[tokio::test]
async fn passkeys_are_added_named_renamed_and_removed() {
    let h = harness_with(false, ON).await;
    let cookie = signed_in(&h, ALICE.0, ALICE.1).await;
    // Alice has methods: adding one needs a fresh proof of one of them.
    let (s, v) = call(&h, &cookie, "/api/security-info/passkeys/begin", json!({})).await;
    assert_eq!(
        (s, v["error"]["id"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("session.stepup_required"))
    );
    let cookie = signed_in_stepped_up(&h).await;

    let (s, ch) = call(&h, &cookie, "/api/security-info/passkeys/begin", json!({})).await;
    assert_eq!(s, StatusCode::OK, "{ch}");
    let options: Value = serde_json::from_str(ch["options"].as_str().unwrap()).unwrap();
    let pk = &options["publicKey"];
    assert_eq!(
        pk["rp"]["id"], RP_ID,
        "the relying party is server.public_url's host"
    );
    assert_eq!(pk["authenticatorSelection"]["residentKey"], "required");
    assert_eq!(pk["authenticatorSelection"]["userVerification"], "required");
    assert_eq!(pk["user"]["name"], "alice");
    assert_ne!(
        pk["user"]["id"],
        json!(b64(b"alice")),
        "the handle is not the name"
    );

    let mut laptop = SoftKey::new(1);
    let credential = laptop.create(ch["options"].as_str().unwrap(), PUBLIC_URL, RP_ID);
    let body = json!({ "ceremony": ch["ceremony"], "name": "  ", "credential": credential });
    let (s, v) = call(&h, &cookie, "/api/security-info/passkeys", body).await;
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("name"))
    );
    let body = json!({ "ceremony": ch["ceremony"], "name": " Laptop ", "credential": credential });
    let (s, v) = call(&h, &cookie, "/api/security-info/passkeys", body.clone()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let mine = passkeys_in(&v);
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].1, "Laptop");
    // The ceremony was used up.
    let (s, v) = call(&h, &cookie, "/api/security-info/passkeys", body).await;
    assert_eq!(
        (s, v["error"]["id"].as_str()),
        (StatusCode::GONE, Some("passkey.expired"))
    );

    // A second one; the same credential again is refused: the browser is
    // told which it has, and the relying party refuses those.
    let v = register(&h, &cookie, &mut SoftKey::new(2), "Phone").await;
    assert_eq!(passkeys_in(&v).len(), 2);
    let (_, ch) = call(&h, &cookie, "/api/security-info/passkeys/begin", json!({})).await;
    let options: Value = serde_json::from_str(ch["options"].as_str().unwrap()).unwrap();
    let excluded = options["publicKey"]["excludeCredentials"]
        .as_array()
        .unwrap();
    assert_eq!(excluded.len(), 2);
    let again = SoftKey::new(1).create(ch["options"].as_str().unwrap(), PUBLIC_URL, RP_ID);
    let (s, v) = call(
        &h,
        &cookie,
        "/api/security-info/passkeys",
        json!({ "ceremony": ch["ceremony"], "name": "Copy", "credential": again }),
    )
    .await;
    assert_eq!(
        (s, v["error"]["id"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("passkey.refused"))
    );
    // Another account presenting alice's credential id: one account each.
    let bob = signed_in(&h, "bob", "Bob-demo-2026!").await;
    step_up(&h, &bob).await;
    let (_, ch) = call(&h, &bob, "/api/security-info/passkeys/begin", json!({})).await;
    let copy = SoftKey::new(1).create(ch["options"].as_str().unwrap(), PUBLIC_URL, RP_ID);
    let (s, v) = call(
        &h,
        &bob,
        "/api/security-info/passkeys",
        json!({ "ceremony": ch["ceremony"], "name": "Copy", "credential": copy }),
    )
    .await;
    assert_eq!(
        (s, v["error"]["id"].as_str()),
        (StatusCode::CONFLICT, Some("passkey.already_registered"))
    );
    let (_, v) = status_json(get_as(&h.app, &bob, "/api/security-info").await).await;
    assert!(passkeys_in(&v).is_empty(), "nothing half-stored: {v}");

    let (s, v) = call(
        &h,
        &cookie,
        "/api/security-info/passkeys/rename",
        json!({ "method": mine[0].0, "name": "Work laptop" }),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(passkeys_in(&v).iter().any(|(_, n)| n == "Work laptop"));

    let (s, v) = call(
        &h,
        &cookie,
        "/api/security-info/methods/remove",
        json!({ "method": mine[0].0 }),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(passkeys_in(&v).len(), 1);
}

#[tokio::test]
async fn a_passkey_alone_signs_in_to_security_info() {
    let h = harness_with(false, ON).await;
    let cookie = signed_in_stepped_up(&h).await;
    let mut key = SoftKey::new(3);
    register(&h, &cookie, &mut key, "Laptop").await;

    let (ch, bound) = sign_in_begin(&h).await;
    let options = ch["options"].as_str().unwrap();
    let parsed: Value = serde_json::from_str(options).unwrap();
    assert!(
        parsed["publicKey"]["allowCredentials"]
            .as_array()
            .is_none_or(Vec::is_empty),
        "usernameless: no credential named"
    );
    assert!(parsed.get("mediation").is_none(), "a modal request");
    let credential = key.get(options);

    // Without the cookie the ceremony was begun with, nothing.
    let r = sign_in_finish(&h, "", &ch, &credential).await;
    assert_eq!(r.status(), StatusCode::GONE);
    let r = sign_in_finish(&h, &bound, &ch, &credential).await;
    assert_eq!(r.status(), StatusCode::OK);
    let session = r
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string())
        .find(|c| c.starts_with("__Host-sspr_session="))
        .unwrap();
    let v = json(r).await;
    assert_eq!(v["username"], "alice");

    let (s, v) = status_json(get_as(&h.app, &session, "/api/security-info").await).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["signed_in_with"], "passkey");
    // A passkey is a proof: this session may add a method at once.
    let (s, v) = call(&h, &session, "/api/security-info/passkeys/begin", json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");

    // The same answer again: its challenge is used up.
    let r = sign_in_finish(&h, &bound, &ch, &credential).await;
    let (s, v) = status_json(r).await;
    assert_eq!(
        (s, v["error"]["id"].as_str()),
        (StatusCode::GONE, Some("passkey.expired"))
    );
}

#[tokio::test]
async fn another_origin_or_relying_party_is_refused() {
    let h = harness_with(false, ON).await;
    let cookie = signed_in_stepped_up(&h).await;

    // Registration: a credential made on another site.
    let (_, ch) = call(&h, &cookie, "/api/security-info/passkeys/begin", json!({})).await;
    let mut key = SoftKey::new(4);
    let evil = key.create(
        ch["options"].as_str().unwrap(),
        "https://sspr.example.com.evil.test",
        RP_ID,
    );
    let (s, v) = call(
        &h,
        &cookie,
        "/api/security-info/passkeys",
        json!({ "ceremony": ch["ceremony"], "name": "x", "credential": evil }),
    )
    .await;
    assert_eq!(
        (s, v["error"]["id"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("passkey.refused"))
    );
    let (_, ch) = call(&h, &cookie, "/api/security-info/passkeys/begin", json!({})).await;
    let other_rp = key.create(ch["options"].as_str().unwrap(), PUBLIC_URL, "example.com");
    let (s, v) = call(
        &h,
        &cookie,
        "/api/security-info/passkeys",
        json!({ "ceremony": ch["ceremony"], "name": "x", "credential": other_rp }),
    )
    .await;
    assert_eq!(
        (s, v["error"]["id"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("passkey.refused"))
    );

    register(&h, &cookie, &mut key, "Laptop").await;
    for (origin, rp_id) in [
        ("https://phish.example.net", RP_ID),
        ("http://sspr.example.com", RP_ID),
        (PUBLIC_URL, "example.com"),
    ] {
        let (ch, bound) = sign_in_begin(&h).await;
        let answer = key.get_with(ch["options"].as_str().unwrap(), origin, rp_id, 7);
        let (s, v) = status_json(sign_in_finish(&h, &bound, &ch, &answer).await).await;
        assert_eq!(
            (s, v["error"]["id"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("passkey.refused")),
            "{origin} {rp_id}"
        );
    }
    // Refusals leave the passkey as it was: a genuine answer still works.
    let (ch, bound) = sign_in_begin(&h).await;
    let answer = key.get(ch["options"].as_str().unwrap());
    assert_eq!(
        sign_in_finish(&h, &bound, &ch, &answer).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_counter_that_goes_back_flags_the_passkey() {
    let h = harness_with(false, ON).await;
    let cookie = signed_in_stepped_up(&h).await;
    let mut key = SoftKey::new(5);
    register(&h, &cookie, &mut key, "Laptop").await;
    for _ in 0..2 {
        let (ch, bound) = sign_in_begin(&h).await;
        let answer = key.get(ch["options"].as_str().unwrap());
        assert_eq!(
            sign_in_finish(&h, &bound, &ch, &answer).await.status(),
            StatusCode::OK
        );
    }
    // A copy of the key answers a fresh challenge with an old counter.
    let (ch, bound) = sign_in_begin(&h).await;
    let replayed = key.get_with(ch["options"].as_str().unwrap(), PUBLIC_URL, RP_ID, 1);
    let (s, v) = status_json(sign_in_finish(&h, &bound, &ch, &replayed).await).await;
    assert_eq!(
        (s, v["error"]["id"].as_str()),
        (StatusCode::FORBIDDEN, Some("passkey.cloned"))
    );
    // Flagged: refused from now on, even with a counter that moved on.
    let (ch, bound) = sign_in_begin(&h).await;
    let answer = key.get(ch["options"].as_str().unwrap());
    let (s, v) = status_json(sign_in_finish(&h, &bound, &ch, &answer).await).await;
    assert_eq!(
        (s, v["error"]["id"].as_str()),
        (StatusCode::FORBIDDEN, Some("passkey.cloned"))
    );
    let flagged: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE activity = $1 AND actor = 'alice' AND result = 'failure'",
    )
    .bind(sspr_server::methods::passkey::CLONED)
    .fetch_one(h.state.store.pool())
    .await
    .unwrap();
    assert_eq!(flagged, 1, "audited once, when it was flagged");
}

/// Starts a reset for `identifier` and picks its passkey option: the flow.
async fn at_passkey_gate(h: &Harness, identifier: &str) -> Option<Value> {
    let flow = start(h, identifier).await;
    if !offered_kinds(&flow).iter().any(|k| k == "passkey") {
        return None;
    }
    let v = choose(h, &flow, "passkey").await;
    assert_eq!(shown(&v)["step"], "enter_code", "{v}");
    Some(flow)
}

async fn reset_begin(h: &Harness, flow: &Value) -> Value {
    let (s, ch) = step(
        h,
        "/api/reset/passkey/begin",
        json!({ "flow": flow["flow"] }),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{ch}");
    ch
}

/// The options without their challenge, which is all that differs.
fn shape(ch: &Value) -> Value {
    let mut o: Value = serde_json::from_str(ch["options"].as_str().unwrap()).unwrap();
    o["publicKey"]["challenge"] = Value::Null;
    o
}

#[tokio::test]
async fn a_passkey_is_a_reset_gate_whose_challenge_says_nothing() {
    let h = harness_with(false, "[policy]\npasskeys = true\nmethods_required = 2\n").await;
    let cookie = signed_in_stepped_up(&h).await;
    let mut key = SoftKey::new(6);
    register(&h, &cookie, &mut key, "Laptop").await;

    let flow = at_passkey_gate(&h, "alice")
        .await
        .expect("alice offers her passkey");
    let ch = reset_begin(&h, &flow).await;
    let text = ch["options"].as_str().unwrap();
    assert!(
        !text.contains("alice") && !text.contains(&b64(&key.cred_id)),
        "{text}"
    );

    // A decoy (an identifier of no account) at its passkey option: the same options.
    let mut found = None;
    for i in 0..200 {
        if let Some(f) = at_passkey_gate(&h, &format!("nobody-{i}")).await {
            found = Some(f);
            break;
        }
    }
    let decoy_flow = found.expect("some decoys offer a passkey");
    let decoy_ch = reset_begin(&h, &decoy_flow).await;
    assert_eq!(shape(&decoy_ch), shape(&ch));
    assert_ne!(
        challenge_of(&serde_json::from_str(decoy_ch["options"].as_str().unwrap()).unwrap()),
        challenge_of(&serde_json::from_str(text).unwrap())
    );
    // Alice's passkey does not open a decoy's gate.
    let answer = key.get(decoy_ch["options"].as_str().unwrap());
    let (s, v) = step(
        &h,
        "/api/reset/passkey",
        json!({ "flow": decoy_flow["flow"], "ceremony": decoy_ch["ceremony"], "credential": answer }),
    )
    .await;
    assert_eq!(
        (s, v["error"]["id"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("reset.code_invalid"))
    );

    // Alice's gate: the ceremony of another flow does not count.
    let answer = key.get(text);
    let (s, v) = step(
        &h,
        "/api/reset/passkey",
        json!({ "flow": decoy_flow["flow"], "ceremony": ch["ceremony"], "credential": answer }),
    )
    .await;
    assert_eq!(
        (s, v["error"]["id"].as_str()),
        (StatusCode::GONE, Some("passkey.expired"))
    );
    let ch = reset_begin(&h, &flow).await;
    let answer = key.get(ch["options"].as_str().unwrap());
    let (s, v) = step(
        &h,
        "/api/reset/passkey",
        json!({ "flow": flow["flow"], "ceremony": ch["ceremony"], "credential": answer }),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let gate2 = shown(&v);
    assert_eq!(
        (gate2["step"].as_str(), gate2["gate"].as_u64()),
        (Some("choose_method"), Some(2)),
        "{v}"
    );
    assert!(
        !offered_kinds(&v).contains(&"passkey".to_string()),
        "one kind, one gate"
    );

    // The second gate with the authenticator app: a new password next.
    let mut v2 = v.clone();
    v2["flow"] = flow["flow"].clone();
    choose(&h, &v2, "authenticator").await;
    // The step-up used the current step; the next one is fresh.
    h.clock.advance(30);
    let code = totp_now(&h, sspr_server::methods::DEMO_TOTP[0].1);
    let (s, v) = step(
        &h,
        "/api/reset/verify",
        json!({ "flow": flow["flow"], "code": code }),
    )
    .await;
    assert_eq!(
        (s, shown(&v)["step"].as_str()),
        (StatusCode::OK, Some("new_password")),
        "{v}"
    );
}

/// Under `admins_require_phishing_resistant`, an administrator with no
/// passkey (carol: email, SMS and an app) is asked for one by the
/// registration interrupt, which offers nothing else until she has one; a
/// user who is not an administrator is not asked.
#[tokio::test]
async fn an_administrator_without_a_passkey_is_asked_for_one() {
    let h = harness_with(
        false,
        "[policy]\npasskeys = true\nadmins_require_phishing_resistant = true\n",
    )
    .await;
    let view = |cookie: String| {
        let app = h.app.clone();
        async move { status_json(get_as(&app, &cookie, "/api/security-info").await).await }
    };
    let carol = signed_in(&h, "carol", "Carol-admin-2026!").await;
    let (s, v) = view(carol.clone()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v["interrupt"],
        json!({ "register": { "needed": 1 } }),
        "{v}"
    );
    assert_eq!(v["can_add"], json!(["passkey"]), "{v}");
    // The interrupt cannot be waved away as a review.
    let (s, _) = call(&h, &carol, "/api/security-info/review", json!({})).await;
    assert_ne!(s, StatusCode::OK);

    let code = totp_now(&h, sspr_server::methods::DEMO_TOTP[1].1);
    step_up_with(&h, &carol, "authenticator", &code).await;
    let v = register(&h, &carol, &mut SoftKey::new(9), "Carol's key").await;
    assert_eq!(v["interrupt"], Value::Null, "{v}");
    assert!(v["can_add"].as_array().unwrap().len() > 1, "{v}");

    // alice is no administrator: nothing is asked of her.
    let alice = signed_in(&h, ALICE.0, ALICE.1).await;
    let (_, v) = view(alice).await;
    assert_eq!(v["interrupt"], Value::Null, "{v}");
}
