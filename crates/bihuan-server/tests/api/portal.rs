//! The citizen portal (issue 15 item 3): submit without an account, get a number and a query
//! code, look up progress, rate the reply — recorded as a return visit the centre sees.

use super::*;

fn between<'a>(page: &'a str, start: &str, end: &str) -> &'a str {
    let from = page
        .find(start)
        .map(|i| i + start.len())
        .unwrap_or_else(|| panic!("no {start} in {page}"));
    let rest = &page[from..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

/// The form's token and the answer a person would give to its question.
async fn portal_form(app: &TestApp) -> (String, String) {
    let r = app.client.get(app.url("/portal")).send().await.unwrap();
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert_eq!(r.headers()["cache-control"], "no-store");
    let page = r.text().await.unwrap();
    let token = between(&page, r#"name="token" value=""#, "\"").to_string();
    let q = between(&page, "验证：", "等于几");
    let digit = |s: &str| {
        ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"]
            .iter()
            .position(|d| *d == s)
            .unwrap()
    };
    let (a, b) = q.split_once('加').unwrap();
    (token, (digit(a) + digit(b)).to_string())
}

async fn post_form(app: &TestApp, path: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
    let r = app
        .client
        .post(app.url(path))
        .header("origin", app.base.clone())
        .form(form)
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

pub async fn a_citizen_submits_tracks_and_rates_on_the_portal(app: TestApp) {
    let before = app.state.store.count(Default::default()).await.unwrap();
    // Sent the moment the form was served (the server's clock has not moved): too fast.
    let (fast, right) = portal_form(&app).await;
    let (s, page) = post_form(
        &app,
        "/portal/submit",
        &[
            ("token", &fast),
            ("answer", &right),
            ("kind", "help"),
            ("title", "路灯"),
            ("content", "路灯不亮。"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("提交太快了"), "{page}");
    let (token, answer) = portal_form(&app).await;
    let mut form = vec![
        ("token", token.as_str()),
        ("kind", "complaint"),
        ("title", "东门路路灯连续一周不亮"),
        ("content", "东门路12号附近路灯不亮，夜里行人看不清路。"),
        ("township", "20"),
        ("address", "东门路12号"),
        ("name", "李四"),
        ("phone", "13912345678"),
        ("answer", "99"),
    ];
    // A wrong answer, a robot's hidden field, a bad phone: refused, what was typed kept.
    app.clock.advance(chrono::Duration::seconds(10));
    let (s, page) = post_form(&app, "/portal/submit", &form).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("验证问题回答不对"), "{page}");
    assert!(
        page.contains("东门路12号附近路灯不亮，夜里行人看不清路。"),
        "content kept"
    );
    assert!(
        page.contains(r#"value="东门路路灯连续一周不亮""#),
        "title kept"
    );
    form.retain(|(k, _)| *k != "answer");
    form.push(("answer", answer.as_str()));
    let mut robot = form.clone();
    robot.push(("website", "http://spam.example"));
    let (s, _) = post_form(&app, "/portal/submit", &robot).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let mut bad_phone = form.clone();
    bad_phone.retain(|(k, _)| *k != "phone");
    bad_phone.push(("phone", "12ab"));
    let (s, page) = post_form(&app, "/portal/submit", &bad_phone).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("手机号码格式不对"), "{page}");
    assert_eq!(
        app.state.store.count(Default::default()).await.unwrap(),
        before
    );

    let (s, page) = post_form(&app, "/portal/submit", &form).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let number = between(&page, r#"id="receipt-number">"#, "<").to_string();
    let code = between(&page, r#"id="receipt-code">"#, "<").to_string();
    assert_eq!(code.len(), 8);
    // Sent twice (a double tap, a reload): one appeal, the same code.
    let (_, again) = post_form(&app, "/portal/submit", &form).await;
    assert!(again.contains(&number) && again.contains(&code) && again.contains("未重复登记"));
    assert_eq!(
        app.state.store.count(Default::default()).await.unwrap(),
        before + 1
    );
    let (_, a) = app
        .get("dispatcher", &format!("/api/v1/appeals/{number}"))
        .await;
    assert_eq!(a["channel"], "web");
    assert_eq!(a["place"]["township"], TOWN);

    // Looking up: a wrong code says nothing about the number.
    let (s, page) = post_form(
        &app,
        "/portal/track",
        &[("number", &number), ("code", "00000000")],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("编号或查询码不对"));
    let (s, page) = post_form(
        &app,
        "/portal/track",
        &[("number", "2026-11-999999"), ("code", "00000000")],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("编号或查询码不对"));
    let (s, page) = post_form(
        &app,
        "/portal/track",
        &[("number", &number), ("code", &code)],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains("待交办") && page.contains("东门路路灯连续一周不亮"),
        "{page}"
    );

    // The centre handles it; the citizen sees the unit and the reply, never an officer.
    app.ok(
        "dispatcher",
        &number,
        json!({"action": "dispatch", "lead": HOUSING}),
    )
    .await;
    app.ok("housing", &number, json!({"action": "sign"})).await;
    app.ok(
        "housing",
        &number,
        json!({"action": "reply", "result": "resolved", "text": "已更换灯泡，路灯恢复照明。"}),
    )
    .await;
    let (_, page) = post_form(
        &app,
        "/portal/track",
        &[("number", &number), ("code", &code)],
    )
    .await;
    assert!(
        page.contains("已更换灯泡，路灯恢复照明。") && page.contains("县住建局"),
        "{page}"
    );
    assert!(
        !page.contains("housing用户") && !page.contains("dispatcher用户"),
        "no officer names"
    );
    assert!(!page.contains("13912345678"), "no phone");
    assert!(page.contains("评价答复"));
    // Rating without choosing: refused, nothing recorded.
    let (s, _) = post_form(
        &app,
        "/portal/rate",
        &[("number", &number), ("code", &code)],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, page) = post_form(
        &app,
        "/portal/rate",
        &[
            ("number", &number),
            ("code", &code),
            ("resolved", "yes"),
            ("rating", "basic"),
            ("comment", "修得挺快"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(page.contains("感谢您的评价"));
    // The same domain command: a return visit, in the centre's queue and in the figures.
    let (_, a) = app
        .get("visitor", &format!("/api/v1/appeals/{number}"))
        .await;
    assert_eq!(a["status"], "visited");
    assert_eq!(a["visit"]["rating"], "basic");
    assert!(a["visit"]["comment"].as_str().unwrap().contains("修得挺快"));
    let visitor = console_session(&app, "visitor").await;
    let queue = page_text(&visitor, app.url("/queue/visits")).await;
    assert!(
        queue.contains(&number),
        "the centre sees the visit to close"
    );
    let (s, page) = post_form(
        &app,
        "/portal/rate",
        &[
            ("number", &number),
            ("code", &code),
            ("resolved", "yes"),
            ("rating", "satisfied"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(page.contains("不能评价"));
}

pub async fn the_portal_limits_each_address(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |c| {
        c.portal_lookups_per_10min = 3;
        c.portal_submissions_per_hour = 1;
    })
    .await
    else {
        return;
    };
    for _ in 0..3 {
        let (s, _) = post_form(
            &app,
            "/portal/track",
            &[("number", "2026-11-000001"), ("code", "12345678")],
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let r = app
        .client
        .post(app.url("/portal/track"))
        .header("origin", app.base.clone())
        .form(&[("number", "2026-11-000001"), ("code", "12345678")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().get("retry-after").is_some());
    assert!(r.text().await.unwrap().contains("分钟后再试"));
    let submit = |title: &'static str| {
        let app = &app;
        async move {
            let (token, answer) = portal_form(app).await;
            app.clock.advance(chrono::Duration::seconds(10));
            post_form(
                app,
                "/portal/submit",
                &[
                    ("token", &token),
                    ("answer", &answer),
                    ("kind", "help"),
                    ("title", title),
                    ("content", "请帮忙。"),
                ],
            )
            .await
            .0
        }
    };
    assert_eq!(submit("第一件").await, StatusCode::OK);
    assert_eq!(submit("第二件").await, StatusCode::TOO_MANY_REQUESTS);
}
