//! The hardening issue, item by item: limits and dates that once panicked the writer or a
//! handler, a worker that dies, and where a login may send the browser afterwards.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

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
    let (s, r) = body(app.client.get(app.url("/readyz")).send().await.unwrap()).await;
    assert_eq!(
        (s, r["status"].as_str(), r["version"].as_str()),
        (
            StatusCode::OK,
            Some("ready"),
            Some(env!("CARGO_PKG_VERSION"))
        ),
        "{r}"
    );
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
            .header("origin", app.base.clone())
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

async fn timeline_len(app: &TestApp, num: &str) -> usize {
    let (_, v) = app.get("admin", &format!("/api/v1/appeals/{num}")).await;
    v["timeline"].as_array().unwrap().len()
}

/// State-changing console requests riding on the session cookie succeed only from the console's
/// own origin: a page on another port or subdomain (same site, so the cookie goes along), a
/// sandboxed frame (`Origin: null`) or a request naming no origin at all changes nothing.
pub async fn cross_origin_posts_change_nothing(app: TestApp) {
    let num = n(&app.register(&new_appeal()).await);
    let browser = console_session(&app, "supervisor").await;
    let port: u16 = app.base.rsplit(':').next().unwrap().parse().unwrap();
    let foreign = [
        Some(format!("http://127.0.0.1:{}", port + 1)),
        Some(format!("http://evil.127.0.0.1:{port}")),
        Some(format!("http://localhost:{port}")),
        Some("null".to_string()),
        None,
    ];
    let before = timeline_len(&app, &num).await;
    let mut refused = 0;
    for origin in &foreign {
        let (_, cur) = app.get("admin", &format!("/api/v1/appeals/{num}")).await;
        let mut req = browser
            .post(app.url(&format!("/appeals/{num}/act")))
            .form(&[
                ("action", "comment"),
                ("version", &cur["version"].to_string()),
                ("text", "伪造的备注"),
            ]);
        if let Some(o) = origin {
            req = req.header("origin", o.as_str());
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{origin:?}");
        assert!(r.text().await.unwrap().contains("请求被拒绝"));
        refused += 1;
        // The same from a registration form.
        let mut reg = browser
            .post(app.url("/appeals/new"))
            .form(&[("title", "伪造的诉求"), ("content", "伪造")]);
        if let Some(o) = origin {
            reg = reg.header("origin", o.as_str());
        }
        assert_eq!(reg.send().await.unwrap().status(), StatusCode::FORBIDDEN);
        // And an API upload with the cookie (multipart is a plain form's encoding).
        let part = reqwest::multipart::Part::bytes(b"GIF89a....".to_vec()).file_name("x.gif");
        let mut up = browser
            .post(app.url(&format!("/api/v1/appeals/{num}/attachments")))
            .multipart(reqwest::multipart::Form::new().part("file", part));
        if let Some(o) = origin {
            up = up.header("origin", o.as_str());
        }
        let r = up.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "upload from {origin:?}");
        let (_, e) = body(r).await;
        assert_eq!(e["code"], "cross_origin_refused");
    }
    assert_eq!(refused, foreign.len());
    assert_eq!(
        timeline_len(&app, &num).await,
        before,
        "nothing was recorded"
    );
    let (_, list) = app.get("admin", "/api/v1/appeals").await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        1,
        "nothing registered"
    );
    // From the console's own origin (Origin, or Referer when Origin is absent) it works.
    for header in ["origin", "referer"] {
        let (_, cur) = app.get("admin", &format!("/api/v1/appeals/{num}")).await;
        let value = if header == "origin" {
            app.base.clone()
        } else {
            app.url(&format!("/appeals/{num}"))
        };
        let r = browser
            .post(app.url(&format!("/appeals/{num}/act")))
            .header(header, value)
            .form(&[
                ("action", "comment"),
                ("version", &cur["version"].to_string()),
                ("text", "真实的备注"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{header}");
    }
    assert_eq!(timeline_len(&app, &num).await, before + 2);
    // A forged login (signing the victim in as the attacker) is refused too.
    let r = reqwest::Client::new()
        .post(app.url("/login"))
        .header("origin", format!("http://127.0.0.1:{}", port + 1))
        .form(&[("login", "admin"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Integrations with a bearer token need no origin.
    app.ok(
        "supervisor",
        &num,
        json!({"action": "comment", "text": "接口备注"}),
    )
    .await;
}

/// Pages forbid framing and foreign scripts; nothing with personal data is cached; the
/// embedded assets may be.
pub async fn responses_carry_the_security_headers(app: TestApp) {
    let num = n(&app.register(&new_appeal()).await);
    let browser = console_session(&app, "dispatcher").await;
    for path in [
        "/".to_string(),
        format!("/appeals/{num}"),
        "/appeals".into(),
        "/dashboard".into(),
    ] {
        let r = browser.get(app.url(&path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        let h = r.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "same-origin");
        assert_eq!(h["cache-control"], "no-store", "{path}");
        // No inline script or style attribute for the policy to break.
        let page = r.text().await.unwrap();
        assert!(!page.contains(" style=\""), "{path} has an inline style");
        assert!(!page.contains(" onclick="), "{path}");
    }
    let r = app
        .client
        .get(app.url(&format!("/api/v1/appeals/{num}")))
        .bearer_auth(app.token("dispatcher"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    let r = app
        .client
        .get(app.url("/assets/app.js"))
        .send()
        .await
        .unwrap();
    assert_ne!(
        r.headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap()),
        Some("no-store")
    );
    // The session cookie: HttpOnly and SameSite always; Secure when the proxy says HTTPS.
    let r = reqwest::Client::new()
        .post(app.url("/api/v1/login"))
        .header("x-forwarded-proto", "https")
        .json(&json!({"login": "admin", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(cookie.contains("Secure"), "{cookie}");
    let r = reqwest::Client::new()
        .post(app.url("/api/v1/login"))
        .json(&json!({"login": "admin", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert!(!r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Secure"));
}

/// Wrong passwords are throttled per login after the configured count (429 with when to retry),
/// other accounts and other addresses are not affected, the answer for an unknown login is the
/// same as for a known one, and the right password works again after the window.
pub async fn wrong_passwords_are_throttled(app: TestApp) {
    let limit = app.state.config.login_max_failures;
    let try_login = |login: &'static str, password: &'static str| {
        let url = app.url("/api/v1/login");
        async move {
            reqwest::Client::new()
                .post(url)
                .json(&json!({"login": login, "password": password}))
                .send()
                .await
                .unwrap()
        }
    };
    let mut statuses = Vec::new();
    for _ in 0..limit + 3 {
        statuses.push(try_login("operator", "wrong-password-1").await.status());
    }
    let unauthorized = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    assert_eq!(unauthorized, limit as usize, "{statuses:?}");
    assert!(statuses[limit as usize..]
        .iter()
        .all(|s| *s == StatusCode::TOO_MANY_REQUESTS));
    // The right password is refused too while the throttle lasts, saying when to come back.
    let r = try_login("operator", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= app.state.config.login_window_mins * 60);
    let (_, e) = body(r).await;
    assert_eq!(e["code"], "login_throttled");
    assert!(e["message"].as_str().unwrap().contains("分钟后再试"));
    // Other accounts still log in.
    assert_eq!(try_login("admin", PASSWORD).await.status(), StatusCode::OK);
    // An unknown login answers exactly as a wrong password does.
    let r = try_login("no-such-user", "wrong-password-1").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let (_, unknown) = body(r).await;
    let (_, wrong) = body(try_login("admin", "wrong-password-1").await).await;
    assert_eq!(unknown, wrong);
}

/// Changing one's own password needs the current one, and ends the user's other console
/// sessions; the browser that changed it gets a new session.
pub async fn a_password_change_needs_the_current_one_and_ends_other_sessions(app: TestApp) {
    let other = console_session(&app, "housing").await;
    let this = console_session(&app, "housing").await;
    assert_eq!(
        other
            .get(app.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let (_, me) = body(this.get(app.url("/api/v1/me")).send().await.unwrap()).await;
    let id = me["id"].as_u64().unwrap();
    let change = |current: Option<&str>| {
        let mut b = json!({"password": "new-pass-2027x"});
        if let Some(c) = current {
            b["current_password"] = json!(c);
        }
        this.patch(app.url(&format!("/api/v1/users/{id}")))
            .header("origin", app.base.clone())
            .json(&b)
            .send()
    };
    let r = change(None).await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(body(r).await.1["code"], "wrong_current_password");
    let r = change(Some("not-the-password")).await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = change(Some(PASSWORD)).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers().contains_key("set-cookie"),
        "a fresh session for this browser"
    );
    assert_eq!(
        other
            .get(app.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED,
        "the other session ended"
    );
    assert_eq!(
        this.get(app.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    // An administrator resets someone else's password without knowing it.
    let (s, _) = body(
        app.client
            .patch(app.url(&format!("/api/v1/users/{id}")))
            .bearer_auth(app.token("admin"))
            .json(&json!({"password": "reset-pass-2027y"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
}

/// A phone or ID number typed into the content is masked wherever the citizen's own fields are:
/// in lists for everyone but return-visit staff, in details for units that are not the lead, and
/// always in CSV; the lead unit and the centre still see it in the detail.
pub async fn personal_numbers_in_free_text_are_masked(app: TestApp) {
    let mut b = new_appeal();
    b["content"] = json!("路灯不亮,请回电13812345678,身份证36010219900101123X。");
    let num = n(&app.register(&b).await);
    app.ok(
        "dispatcher",
        &num,
        json!({"action": "dispatch", "lead": HOUSING, "assisting": [WATER]}),
    )
    .await;
    app.ok(
        "housing",
        &num,
        json!({"action": "comment", "text": "已致电13812345678"}),
    )
    .await;
    let masked = "路灯不亮,请回电138****5678,身份证360***********123X。";
    // The assisting unit and the leader: masked in detail, timeline and list.
    for login in ["water", "leader"] {
        let (s, v) = app.get(login, &format!("/api/v1/appeals/{num}")).await;
        assert_eq!(s, StatusCode::OK, "{login}");
        assert_eq!(v["content"], masked, "{login}");
        let text = v.to_string();
        assert!(!text.contains("13812345678"), "{login}: {text}");
        assert!(!text.contains("36010219900101123X"), "{login}");
        let (_, list) = app.get(login, "/api/v1/appeals").await;
        assert!(!list.to_string().contains("13812345678"), "{login} list");
    }
    // The lead unit and the dispatcher see what was typed in the detail.
    for login in ["housing", "dispatcher"] {
        let (_, v) = app.get(login, &format!("/api/v1/appeals/{num}")).await;
        assert!(
            v["content"].as_str().unwrap().contains("13812345678"),
            "{login}"
        );
    }
    // CSV leaves the system: always masked.
    let csv = app
        .client
        .get(app.url("/api/v1/export/appeals.csv"))
        .bearer_auth(app.token("dispatcher"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.contains("138****5678"), "{csv}");
    assert!(!csv.contains("13812345678") && !csv.contains("36010219900101123X"));
    // The console pages as well.
    let browser = console_session(&app, "water").await;
    let page = browser
        .get(app.url(&format!("/appeals/{num}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("138****5678"), "the content is shown, masked");
    assert!(!page.contains("13812345678") && !page.contains("36010219900101123X"));
}

/// The console's dispatch preview answers only those who dispatch (it once answered any
/// signed-in user, for any appeal).
pub async fn the_dispatch_preview_is_for_dispatchers_only(app: TestApp) {
    let num = n(&app.register(&new_appeal()).await);
    let path = format!("/appeals/{num}/preview?lead={HOUSING}");
    let mut denied = 0;
    let foreign = [
        "housing",
        "water",
        "town",
        "grid",
        "visitor",
        "leader",
        "supervisor",
        "operator",
    ];
    for login in foreign {
        let r = console_session(&app, login)
            .await
            .get(app.url(&path))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{login}");
        assert!(!r.text().await.unwrap().contains("签收期限"), "{login}");
        denied += 1;
    }
    assert_eq!(denied, foreign.len());
    let r = console_session(&app, "dispatcher")
        .await
        .get(app.url(&path))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("签收期限"));
}

/// Connections that send nothing, headers sent a byte at a time, bodies sent a byte at a time,
/// and connections past the cap: each is ended by the server, and it keeps answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_slow_and_surplus_connections_are_ended() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.max_connections = 4;
        c.header_timeout_secs = 1;
        c.request_timeout_secs = 2;
    })
    .await
    .unwrap();
    let addr = app.base.trim_start_matches("http://").to_string();
    let wait = std::time::Duration::from_secs(20);
    let read_all = |mut s: TcpStream| async move {
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out).await;
        String::from_utf8_lossy(&out).to_string()
    };

    // Four connections that send nothing fill the server; a fifth is told so at once.
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(TcpStream::connect(&addr).await.unwrap());
    }
    let mut answered = None;
    for _ in 0..50 {
        let mut fifth = TcpStream::connect(&addr).await.unwrap();
        let _ = fifth
            .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
            .await;
        let text = tokio::time::timeout(wait, read_all(fifth)).await.unwrap();
        if text.starts_with("HTTP/1.1 503") {
            answered = Some(text);
            break;
        }
        // The server had not taken all four yet; try again.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let refused = answered.expect("a connection past the cap is refused");
    assert!(
        refused.contains("\"code\":\"busy\"") && refused.contains("retry-after"),
        "{refused}"
    );
    // The idle ones are closed by the header timeout (no request came), and the server answers.
    for s in idle {
        tokio::time::timeout(wait, read_all(s))
            .await
            .expect("an idle connection is closed");
    }
    healthy(&app).await;

    // Headers a byte at a time: the connection is closed before the request is complete.
    let request = b"GET /healthz HTTP/1.1\r\nhost: x\r\nx-padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let slow = TcpStream::connect(&addr).await.unwrap();
    let (mut rd, mut wr) = slow.into_split();
    let writer = tokio::spawn(async move {
        for b in request.iter() {
            if wr.write_all(&[*b]).await.is_err() {
                return false;
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
        true
    });
    let mut out = Vec::new();
    tokio::time::timeout(wait, rd.read_to_end(&mut out))
        .await
        .expect("a slow header is cut off")
        .ok();
    assert!(
        !String::from_utf8_lossy(&out).contains(" 200 "),
        "answered a slow header"
    );
    writer.abort();

    // A body a byte at a time: 408 request_timeout before it is complete.
    let mut slow = TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /api/v1/appeals HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\n\
         content-type: application/json\r\ncontent-length: 400\r\n\r\n{{",
        app.token("operator")
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    let (mut rd, mut wr) = slow.into_split();
    let writer = tokio::spawn(async move {
        for _ in 0..399 {
            if wr.write_all(b" ").await.is_err() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
    });
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(wait, rd.read(&mut buf))
        .await
        .expect("a slow body is answered")
        .unwrap();
    let text = String::from_utf8_lossy(&buf[..n]).to_string();
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("request_timeout"), "{text}");
    writer.abort();
    healthy(&app).await;
    let m = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth(app.token("admin"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let refused_total: u64 = m
        .lines()
        .find_map(|l| l.strip_prefix("bihuan_connections_refused_total "))
        .and_then(|v| v.trim().parse().ok())
        .expect("the refusal counter in /metrics");
    assert!(refused_total >= 1, "{m}");
    // Latency by method and route, with buckets past the slowest export; build and process.
    assert!(
        m.contains("bihuan_http_request_duration_seconds_bucket{method=\"GET\",route=\"/healthz\",le=\"30\"}"),
        "{m}"
    );
    for name in [
        "bihuan_build_info{version=",
        "process_start_time_seconds ",
        "process_resident_memory_bytes ",
        "process_cpu_seconds_total ",
        "process_open_fds ",
        "bihuan_exports_total ",
        "bihuan_export_rows_total ",
    ] {
        assert!(m.contains(name), "{name} in {m}");
    }
}

/// `/metrics` and the working-day calculator answer without a login only where the settings say.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_endpoints_are_settings() {
    let closed = spawn_app_with(Backend::Sqlite, |c| c.public_calendar = false)
        .await
        .unwrap();
    let get = |app: &TestApp, path: &str| app.client.get(app.url(path)).send();
    let add = "/api/v1/calendar/add?date=2026-09-28&days=5";
    assert_eq!(
        get(&closed, "/metrics").await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get(&closed, add).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let (s, _) = closed.get("housing", add).await;
    assert_eq!(s, StatusCode::OK);
    let open = spawn_app_with(Backend::Sqlite, |c| c.public_metrics = true)
        .await
        .unwrap();
    assert_eq!(
        get(&open, "/metrics").await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(get(&open, add).await.unwrap().status(), StatusCode::OK);
}

/// API tokens expire, are listed for administrators without the token itself, and are revoked
/// at once.
pub async fn api_tokens_expire_are_listed_and_revoked(app: TestApp) {
    let water = app.state.store.user_by_login("water").await.unwrap();
    let make =
        |days: Value| json!({"user": water.id.0, "name": "水务系统对接", "expires_days": days});
    for bad in [json!(0), json!(3651)] {
        let (s, v) = app.post("admin", "/api/v1/tokens", &make(bad)).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    }
    let (s, v) = app
        .post("housing", "/api/v1/tokens", &make(json!(30)))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let (s, first) = app.post("admin", "/api/v1/tokens", &make(json!(30))).await;
    assert_eq!(s, StatusCode::CREATED, "{first}");
    let (s, second) = app.post("admin", "/api/v1/tokens", &make(json!(1))).await;
    assert_eq!(s, StatusCode::CREATED, "{second}");
    let token = first["token"].as_str().unwrap().to_string();
    let id = first["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 12);
    let with = |t: &str, path: &str| {
        app.client
            .get(app.url(path))
            .bearer_auth(t.to_string())
            .send()
    };
    assert_eq!(
        with(&token, "/api/v1/appeals").await.unwrap().status(),
        StatusCode::OK
    );
    // The list: ids, users and expiry, never a token.
    let (s, list) = app.get("admin", "/api/v1/tokens").await;
    assert_eq!(s, StatusCode::OK);
    let text = list.to_string();
    assert!(!text.contains(&token) && !text.contains(second["token"].as_str().unwrap()));
    let mine: Vec<&Value> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["login"] == "water" && t["name"] == "水务系统对接")
        .collect();
    assert_eq!(mine.len(), 2, "{list}");
    assert!(mine
        .iter()
        .all(|t| t["expired"] == false && t["expires_at"].is_string()));
    let (s, _) = app.get("housing", "/api/v1/tokens").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // A day and a half later the one-day token no longer works; the other does.
    app.clock.advance(chrono::Duration::hours(36));
    let second_token = second["token"].as_str().unwrap();
    assert_eq!(
        with(second_token, "/api/v1/appeals")
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let (_, list) = app.get("admin", "/api/v1/tokens").await;
    assert!(list["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["id"] == second["id"] && t["expired"] == true));
    // Revoked: refused at once (the server's cache is emptied), and gone from the list.
    let del = |login: &str, id: &str| {
        app.client
            .delete(app.url(&format!("/api/v1/tokens/{id}")))
            .bearer_auth(app.token(login))
            .send()
    };
    assert_eq!(
        del("housing", &id).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        del("admin", &id).await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        with(&token, "/api/v1/appeals").await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        del("admin", &id).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        del("admin", "not-an-id").await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
    let (_, list) = app.get("admin", "/api/v1/tokens").await;
    assert!(!list.to_string().contains(&id));
}

/// The audit log keeps logins, failed logins, views of unmasked personal data, exports and
/// administrative changes — for administrators only, and without the personal data itself.
pub async fn the_audit_log_records_access_and_changes(app: TestApp) {
    let login = |password: &'static str| {
        app.client
            .post(app.url("/api/v1/login"))
            .json(&json!({"login": "housing", "password": password}))
            .send()
    };
    assert_eq!(
        login("wrong-password").await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(login(PASSWORD).await.unwrap().status(), StatusCode::OK);
    let num = n(&app.register(&new_appeal()).await);
    let (s, _) = app
        .get("dispatcher", &format!("/api/v1/appeals/{num}"))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app
        .get("transport", &format!("/api/v1/appeals/{num}"))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let r = app
        .client
        .get(app.url("/api/v1/export/appeals.csv"))
        .bearer_auth(app.token("admin"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let water = app.state.store.user_by_login("water").await.unwrap();
    let (s, _) = app
        .post(
            "admin",
            "/api/v1/tokens",
            &json!({"user": water.id.0, "name": "对接", "expires_days": 30}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);

    let (s, _) = app.get("housing", "/api/v1/audit").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = app.get("admin", "/api/v1/audit?limit=200").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let items = v["items"].as_array().unwrap();
    let has = |action: &str, login: &str, target: &str| {
        items.iter().any(|e| {
            e["action"] == action
                && e["login"] == login
                && e["target"].as_str().unwrap().contains(target)
        })
    };
    assert!(has("login_failed", "housing", ""), "{v}");
    assert!(has("login", "housing", ""), "{v}");
    assert!(has("view_personal", "dispatcher", &num), "{v}");
    assert!(
        !has("view_personal", "transport", ""),
        "a refused view is not a view: {v}"
    );
    assert!(has("export", "admin", "appeals"), "{v}");
    assert!(has("admin_change", "admin", "/api/v1/tokens"), "{v}");
    // The log names appeals by number, never the citizen's phone or name.
    let text = v.to_string();
    assert!(
        !text.contains("13912345678") && !text.contains("李四"),
        "{text}"
    );
    // Filters and pages.
    let (_, only) = app.get("admin", "/api/v1/audit?action=login_failed").await;
    let only = only["items"].as_array().unwrap();
    assert!(!only.is_empty() && only.iter().all(|e| e["action"] == "login_failed"));
    let (_, first) = app.get("admin", "/api/v1/audit?limit=1").await;
    let before = first["next_before"].as_u64().expect("a next page");
    let (_, second) = app
        .get("admin", &format!("/api/v1/audit?limit=1&before={before}"))
        .await;
    assert!(second["items"][0]["id"].as_u64().unwrap() < before);
    let (s, _) = app.get("admin", "/api/v1/audit?limit=0").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

/// Names of units and categories are bounded where they enter (a 100,000-character category
/// name once made every XLSX export fail), and an export never fails on a long cell.
pub async fn long_names_are_refused_and_exports_hold(app: TestApp) {
    for (path, body) in [
        (
            "/api/v1/categories",
            json!({"id": 900, "name": "长".repeat(101)}),
        ),
        (
            "/api/v1/categories",
            json!({"id": 901, "name": "控制\u{0007}字符"}),
        ),
        (
            "/api/v1/units",
            json!({"id": 900, "name": "长".repeat(101), "kind": "department", "parent": 1}),
        ),
        (
            "/api/v1/units",
            json!({"id": 901, "name": "新部门", "kind": "department", "parent": 1, "aliases": ["别".repeat(101)]}),
        ),
    ] {
        let (s, v) = app.post("admin", path, &body).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {v}");
        assert_eq!(v["code"], "name_too_long", "{path}: {v}");
        assert!(v["message"].as_str().unwrap().contains("100字"), "{v}");
    }
    let r = app
        .client
        .post(app.url("/api/v1/categories"))
        .bearer_auth(app.token("admin"))
        .json(&json!({"id": 902, "name": "长".repeat(100)}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::NO_CONTENT,
        "100 characters are allowed"
    );
    let mut b = new_appeal();
    b["content"] = json!("内".repeat(10_000));
    app.register(&b).await;
    for path in [
        "/api/v1/export/appeals.xlsx",
        "/api/v1/export/ranking.xlsx?by=category",
    ] {
        let r = app
            .client
            .get(app.url(path))
            .bearer_auth(app.token("leader"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        assert!(r.bytes().await.unwrap().starts_with(b"PK"), "{path}");
    }
}

#[test]
fn an_xlsx_cell_longer_than_excel_allows_is_cut_not_refused() {
    let t = bihuan_server::export::Table {
        title: "测试".into(),
        headers: vec!["内容".into()],
        rows: vec![vec!["字".repeat(40_000).into()]],
    };
    let bytes = bihuan_server::export::to_xlsx(&t).expect("a workbook");
    assert!(bytes.starts_with(b"PK"));
}
