//! Issue 18: Usage & insights shows the whole audit trail and who is not
//! registered, so it must be the server, not the page, that keeps everyone
//! but an administrator with two proven methods out; its CSV export must
//! not be reachable from another site or without a session; and what it
//! shows must hold no secret.
#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};
use sspr_security::*;

const CAROL_TOTP: &str = "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU";
const PAGES: [&str; 4] = [
    "/api/insights",
    "/api/insights/events",
    "/api/insights/export.csv?what=events",
    "/api/insights/export.csv?what=not_registered",
];

async fn get_as(portal: &Portal, cookie: &str, path: &str) -> (StatusCode, Value) {
    let (s, body, _) = portal.get(path, &[("cookie", cookie)]).await;
    (s, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// carol with an emailed code and her authenticator proved in this session.
async fn carol_with_two_proofs(portal: &Portal) -> String {
    let carol = portal.sign_in(CAROL.0, CAROL.1).await.unwrap();
    portal.step_up_by_email(&carol).await;
    let info = portal.security_info(&carol).await;
    let app = first_method(&info, "authenticator");
    let (s, v) = portal
        .post_as(
            &carol,
            "/api/session/stepup",
            &json!({ "method": app["id"] }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = portal
        .post_as(
            &carol,
            "/api/session/stepup/verify",
            &json!({ "code": oathtool(CAROL_TOTP) }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["proven"].as_array().unwrap().len(), 2, "{v}");
    carol
}

#[tokio::test]
async fn the_server_refuses_a_user_and_an_administrator_with_one_proof() {
    let portal = Portal::start(Options::default()).await;
    // bob is no administrator. A proof of his own changes nothing.
    let bob = portal.sign_in(BOB.0, BOB.1).await.unwrap();
    portal.step_up_by_email(&bob).await;
    for path in PAGES {
        let (s, v) = get_as(&portal, &bob, path).await;
        assert_eq!(
            (s, error_id(&v)),
            (StatusCode::FORBIDDEN, "insights.forbidden"),
            "{path}: {v}"
        );
    }
    // carol is, but one proof is not two.
    let carol = portal.sign_in(CAROL.0, CAROL.1).await.unwrap();
    portal.step_up_by_email(&carol).await;
    for path in PAGES {
        let (s, v) = get_as(&portal, &carol, path).await;
        assert_eq!(
            (s, error_id(&v)),
            (StatusCode::UNAUTHORIZED, "insights.two_methods_required"),
            "{path}: {v}"
        );
        assert!(v.get("events").is_none() && v.get("coverage").is_none());
    }
    // The session says what is missing; the page may show it, the server decides.
    let (_, me) = get_as(&portal, &carol, "/api/session").await;
    assert_eq!(me["is_admin"], true);
    assert_eq!(me["proven"], json!(["email"]));
}

#[tokio::test]
async fn the_export_needs_a_session_and_the_portals_own_origin() {
    let portal = Portal::start(Options::default()).await;
    let carol = carol_with_two_proofs(&portal).await;
    let path = "/api/insights/export.csv?what=events";
    let (s, body, h) = portal.get(path, &[("cookie", &carol)]).await;
    assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(h["content-type"], "text/csv; charset=utf-8");
    assert!(
        h["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"sspr-audit-events-")
    );
    assert_eq!(h["cache-control"], "no-store");
    assert!(h.get("access-control-allow-origin").is_none());

    // No session: nothing, whatever else the request says.
    let (s, body, _) = portal.get(path, &[]).await;
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (s, error_id(&v)),
        (StatusCode::UNAUTHORIZED, "session.required")
    );
    let (s, _, _) = portal
        .get(path, &[("cookie", "__Host-sspr_session=00ff00ff")])
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // From another site, with carol's cookie (as a browser that sent it
    // anyway would): refused before anything is read.
    for headers in [
        [
            ("origin", "https://evil.example"),
            ("cookie", carol.as_str()),
        ],
        [("sec-fetch-site", "cross-site"), ("cookie", carol.as_str())],
        [("sec-fetch-site", "same-site"), ("cookie", carol.as_str())],
        [
            ("referer", "https://evil.example/x"),
            ("cookie", carol.as_str()),
        ],
    ] {
        let (s, body, h) = portal.get(path, &headers).await;
        let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        assert_eq!(
            (s, error_id(&v)),
            (StatusCode::FORBIDDEN, "request.cross_origin"),
            "{headers:?}"
        );
        assert!(h.get("access-control-allow-origin").is_none());
    }
    // A preflight opens nothing either.
    let r = portal
        .client()
        .request(reqwest::Method::OPTIONS, format!("{}{path}", portal.url))
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
    assert_ne!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn nothing_secret_reaches_the_events_or_their_export() {
    let portal = Portal::start(Options::default()).await;
    // People paste passwords into the identifier field.
    let pasted = "Tr0ub4dor&3-pasted";
    let decoy = portal.start_flow(pasted).await;
    let (kind, _) = options(&decoy)[0].clone();
    portal.choose(&decoy, &kind).await;
    portal.verify(&decoy, "00000000").await;
    // alice resets with an emailed code, after one wrong one.
    let flow = portal.start_flow(ALICE.0).await;
    portal.choose(&flow, "email").await;
    let code = portal.mailed_code("alice@example.com", 0).await;
    portal.verify(&flow, "00000000").await;
    let (s, v) = portal.verify(&flow, &code).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let new_password = "Juniper-Canyon-Oboe-61";
    let (s, v, _) = portal
        .post(
            "/api/reset/password",
            &json!({ "flow": flow["flow"], "password": new_password }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let _ = portal.sign_in(BOB.0, "Wr0ng-Passw0rd!").await;
    let carol = carol_with_two_proofs(&portal).await;
    let token = carol.split_once('=').unwrap().1.to_string();
    // A filter with a password in it is not kept either.
    let (s, _) = get_as(&portal, &carol, "/api/insights/events?user=Wr0ng-Passw0rd!").await;
    assert_eq!(s, StatusCode::OK);

    let (s, body, _) = portal
        .get("/api/insights/events", &[("cookie", &carol)])
        .await;
    assert_eq!(s, StatusCode::OK);
    let events = String::from_utf8(body).unwrap();
    let (s, body, _) = portal
        .get(
            "/api/insights/export.csv?what=events&days=1",
            &[("cookie", &carol)],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let csv = String::from_utf8(body).unwrap();
    assert!(csv.contains("Reset password (self-service)"), "{csv}");
    assert!(events.contains("(no account)"), "{events}");
    for secret in [
        pasted,
        code.as_str(),
        new_password,
        ALICE.1,
        CAROL.1,
        "Wr0ng-Passw0rd!",
        decoy["flow"].as_str().unwrap(),
        flow["flow"].as_str().unwrap(),
        token.as_str(),
    ] {
        assert!(!events.contains(secret), "the events hold {secret:?}");
        assert!(!csv.contains(secret), "the export holds {secret:?}");
    }
}
