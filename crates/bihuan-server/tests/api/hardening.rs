//! The hardening issue, item by item: limits and dates that once panicked the writer or a
//! handler, a worker that dies, and where a login may send the browser afterwards.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

fn n(v: &Value) -> String {
    v["number"].as_str().unwrap().to_string()
}

/// A registered appeal led by the township and signed for, ready for an extension request.
async fn signed_by_town(app: &TestApp) -> String {
    let a = app.register(&new_appeal()).await;
    let num = n(&a);
    app.ok(
        "dispatcher",
        &num,
        json!({"action": "dispatch", "lead": TOWN}),
    )
    .await;
    app.ok("town", &num, json!({"action": "sign"})).await;
    num
}

async fn healthy(app: &TestApp) -> Value {
    let r = app.client.get(app.url("/healthz")).send().await.unwrap();
    let (s, v) = body(r).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "ok");
    v
}

/// Extension limits beyond any real period are refused with 422 and the allowed range, and
/// the writer takes the next registration (each of these once panicked the SQLite writer and
/// left every later write answering 500).
pub async fn extreme_limits_are_refused_and_writes_go_on(app: TestApp) {
    let num = signed_by_town(&app).await;
    for limit in [
        json!({"hours": 4294967295u32}),
        json!({"calendar_days": 2147483647u32}),
        json!({"working_days": 4294967295u32}),
        json!({"working_days": 251}),
        json!({"hours": 8785}),
    ] {
        let (s, e) = app
            .act(
                "town",
                &num,
                json!({"action": "request_extension", "limit": limit, "reason": "延期"}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{limit}: {e}");
        assert_eq!(e["code"], "invalid_input", "{e}");
        assert!(
            e["message"].as_str().unwrap().contains("250"),
            "the message names the range: {e}"
        );
        // Nothing was recorded and the appeal still takes a sensible request.
        assert_eq!(app.status_of(&num).await, "in_progress");
    }
    // Negative or non-integer limits are refused by the body's types, also with 422.
    let (s, e) = app
        .act(
            "town",
            &num,
            json!({"action": "request_extension", "limit": {"hours": -1}, "reason": "延期"}),
        )
        .await;
    assert!(s.is_client_error(), "{s} {e}");
    // The writer is alive: the same request with a real limit lands, and so do registrations.
    app.ok(
        "town",
        &num,
        json!({"action": "request_extension", "limit": {"working_days": 3}, "reason": "需协调"}),
    )
    .await;
    app.register(&new_appeal()).await;
    healthy(&app).await;
}

/// A policy table with a limit beyond the range is refused whole with 422 and a Chinese
/// message; registrations go on under the table in force.
pub async fn extreme_policy_limits_are_refused(app: TestApp) {
    let (_, current) = app.get("admin", "/api/v1/policies").await;
    let rows = current["items"].clone();
    for (field, limit) in [
        ("reply", json!({"hours": 4294967295u32})),
        ("sign", json!({"working_days": 4294967295u32})),
        ("dispatch", json!({"calendar_days": 2147483647u32})),
        ("max_extension", json!({"calendar_days": 367})),
    ] {
        let mut bad = rows.clone();
        bad[0][field] = limit.clone();
        let r = app
            .client
            .put(app.url("/api/v1/policies"))
            .bearer_auth(app.token("admin"))
            .json(&bad)
            .send()
            .await
            .unwrap();
        let (s, e) = body(r).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{field} {limit}: {e}");
        assert_eq!(e["code"], "limit_out_of_range", "{e}");
        assert!(
            e["message"].as_str().unwrap().contains(field),
            "names the field: {e}"
        );
    }
    let (_, after) = app.get("admin", "/api/v1/policies").await;
    assert_eq!(after["items"], rows, "the table in force is unchanged");
    let a = app.register(&new_appeal()).await;
    assert!(a["deadlines"]["dispatch"].is_string());
    healthy(&app).await;
}

/// Dates the parser accepts but arithmetic cannot handle are refused with 400 wherever a date or
/// a period is typed, on the API, the exports, the dashboard and the anonymous board.
pub async fn dates_outside_the_range_are_client_errors(app: TestApp) {
    app.register(&new_appeal()).await;
    for path in [
        "/api/v1/appeals?from=-262143-01-01",
        "/api/v1/appeals?to=+262142-12-31",
        "/api/v1/appeals?from=1969-12-31",
        "/api/v1/export/appeals.csv?from=-262143-01-01",
        "/api/v1/suggestions/accuracy?from=-262143-01-01",
        "/api/v1/calendar/add?date=-262143-01-01&days=1",
        "/api/v1/metrics?period=year:-262143",
        "/api/v1/metrics?period=month:262142-12",
        "/api/v1/metrics?period=days:-262143-01-01:2026-01-01",
        "/api/v1/export/ranking.csv?period=year:-262143&by=unit",
        "/api/v1/export/ranking.xlsx?period=year:2200&by=unit",
    ] {
        let r = app
            .client
            .get(app.url(path))
            .bearer_auth(app.token("dispatcher"))
            .send()
            .await
            .unwrap();
        let (s, e) = body(r).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{path}: {e}");
        assert!(e["code"].is_string() && e["message"].is_string(), "{e}");
    }
    for path in ["/board?period=year:-262143", "/board?period=year:99999"] {
        let r = app.client.get(app.url(path)).send().await.unwrap();
        assert!(r.status().is_client_error(), "{path}: {}", r.status());
    }
    let r = app
        .client
        .get(app.url("/dashboard?period=year:-262143"))
        .bearer_auth(app.token("leader"))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error(), "dashboard: {}", r.status());
    // In range still works.
    let (s, _) = app
        .get(
            "dispatcher",
            "/api/v1/appeals?from=2026-01-01&to=2026-12-31",
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    healthy(&app).await;
}

/// After login the browser goes only to a path of this site: never another host, and a control
/// character in `next` is not a 500.
pub async fn login_redirects_stay_on_this_site(app: TestApp) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for (next, expected) in [
        ("/appeals?status=dispatched", "/appeals?status=dispatched"),
        ("/\n", "/"),
        ("/\t/example.invalid/phish", "/"),
        ("//example.invalid", "/"),
        ("/\\example.invalid", "/"),
        ("https://example.invalid/", "/"),
        ("/\r\nSet-Cookie: x=1", "/"),
        (" /appeals", "/"),
    ] {
        let r = client
            .post(app.url("/login"))
            .form(&[("login", "admin"), ("password", PASSWORD), ("next", next)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{next:?}");
        assert_eq!(
            r.headers()["location"].to_str().unwrap(),
            expected,
            "{next:?}"
        );
    }
    // The login page keeps only a safe `next` in its form.
    let page = client
        .get(app.url("/login?next=/%09/example.invalid/phish"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("example.invalid"), "{page}");
}

/// A background worker that panics is reported by `/healthz` as down (503, which worker) while
/// it waits to start again.
pub async fn a_dead_worker_makes_healthz_unhealthy(app: TestApp) {
    healthy(&app).await;
    bihuan_server::ops::supervise(&app.state, "test-worker", |_| async {
        panic!("a deliberate panic in a background worker")
    });
    let mut last = Value::Null;
    for _ in 0..50 {
        let r = app.client.get(app.url("/healthz")).send().await.unwrap();
        let (s, v) = body(r).await;
        if s == StatusCode::SERVICE_UNAVAILABLE {
            assert_eq!(v["code"], "worker_down", "{v}");
            assert_eq!(v["workers"]["test-worker"]["running"], false, "{v}");
            assert!(v["message"].as_str().unwrap().contains("test-worker"));
            return;
        }
        last = v;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("healthz never reported the dead worker: {last}");
}
