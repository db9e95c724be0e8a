//! Smart dispatch over HTTP: search, suggestions, the catalogue, duplicates and models.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;
use bihuan_server::Clock;

/// Brings the search and duplicate indexes up to date (the background task does this every
/// second; tests do it at once so that they never wait on a timer).
async fn index(app: &TestApp) {
    app.state
        .smart
        .catch_up(&app.state.store, app.clock.now())
        .await
        .unwrap();
}

fn numbers(v: &Value) -> Vec<String> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["number"].as_str().unwrap().to_string())
        .collect()
}

async fn put_rules(app: &TestApp, login: &str, rules: Value) -> (StatusCode, Value) {
    body(
        app.client
            .put(app.url("/api/v1/dispatch-rules"))
            .bearer_auth(app.token(login))
            .json(&rules)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// A new appeal about `title`, saying `content`.
fn about(title: &str, content: &str) -> Value {
    let mut a = new_appeal();
    a["title"] = json!(title);
    a["content"] = json!(content);
    a
}

/// Takes an appeal to a reply by the housing bureau whose words are in no appeal's text.
async fn dispatch_sign_reply(app: &TestApp, number: &str) {
    app.ok(
        "dispatcher",
        number,
        json!({"action": "dispatch", "lead": HOUSING}),
    )
    .await;
    app.ok("housing", number, json!({"action": "sign"})).await;
    app.ok(
        "housing",
        number,
        json!({"action": "reply", "result": "resolved", "text": "已协调舞队降低音量并提前结束"}),
    )
    .await;
}

/// The indexer takes appeals this server has just registered from memory, but never an older
/// state than the changes it applies: an appeal acted on after its registration is read again,
/// with its history.
async fn indexer_handoffs(app: TestApp) {
    // No background indexer (it would race with the counts below); this test runs the indexer
    // itself, as the background task does, with handoffs accepted.
    app.state.smart.accept_handoffs();
    let lamp = app.register(&new_appeal()).await;
    let noise = app
        .register(&about(
            "广场舞噪音扰民",
            "每晚广场舞音响太吵,影响老人休息。",
        ))
        .await;
    assert_eq!(app.state.smart.handoffs(), (0, 2));
    dispatch_sign_reply(&app, &n(&noise)).await;
    index(&app).await;
    // The lamp appeal was taken as handed over; the other had moved on and was read.
    assert_eq!(app.state.smart.handoffs(), (1, 0));
    let (_, v) = app.get("dispatcher", "/api/v1/appeals?q=路灯").await;
    assert_eq!(numbers(&v), vec![n(&lamp)]);
    // The reply, which the registered state did not hold, is searchable.
    let (_, v) = app.get("dispatcher", "/api/v1/appeals?q=降低音量").await;
    assert_eq!(numbers(&v), vec![n(&noise)]);
    // Registered after the indexer ran: handed over at the next run.
    let pipe = app
        .register(&about("自来水管爆裂", "人民路自来水管爆裂,水漫到马路上。"))
        .await;
    index(&app).await;
    assert_eq!(app.state.smart.handoffs(), (2, 0));
    let (_, v) = app.get("dispatcher", "/api/v1/appeals?q=爆裂").await;
    assert_eq!(numbers(&v), vec![n(&pipe)]);
}

#[tokio::test]
async fn the_indexer_uses_handed_over_appeals_only_while_current_on_sqlite() {
    let app = spawn_app_with(Backend::Sqlite, |c| c.index_interval_secs = 0).await;
    indexer_handoffs(app.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_indexer_uses_handed_over_appeals_only_while_current_on_postgres() {
    match spawn_app_with(Backend::Postgres, |c| c.index_interval_secs = 0).await {
        Some(app) => indexer_handoffs(app).await,
        None => eprintln!("PostgreSQL skipped"),
    }
}

pub async fn search_finds_content_and_replies_within_the_filters_and_scope(app: TestApp) {
    let lamp = app.register(&new_appeal()).await;
    let noise = app
        .register(&about(
            "广场舞噪音扰民",
            "每晚广场舞音响太吵,影响老人休息。",
        ))
        .await;
    let pipe = app
        .register(&about("自来水管爆裂", "人民路自来水管爆裂,水漫到马路上。"))
        .await;
    dispatch_sign_reply(&app, &n(&noise)).await;
    index(&app).await;

    let (s, v) = app.get("dispatcher", "/api/v1/appeals?q=路灯").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(numbers(&v), vec![n(&lamp)]);
    assert_eq!(v["search"]["matches"], 1);
    // Words that are only in the unit's reply.
    let (_, v) = app.get("dispatcher", "/api/v1/appeals?q=降低音量").await;
    assert_eq!(numbers(&v), vec![n(&noise)]);
    // Every word must match; jieba's cut of the text does not matter (character pairs).
    let (_, v) = app
        .get("dispatcher", "/api/v1/appeals?q=附近路灯 东门")
        .await;
    assert_eq!(numbers(&v), vec![n(&lamp)]);
    let (_, v) = app.get("dispatcher", "/api/v1/appeals?q=路灯 水管").await;
    assert!(numbers(&v).is_empty());
    // Combined with the list filters.
    let (_, v) = app
        .get(
            "dispatcher",
            "/api/v1/appeals?q=人民路&status=pending_dispatch",
        )
        .await;
    assert_eq!(numbers(&v), vec![n(&pipe)]);
    let (_, v) = app
        .get("dispatcher", "/api/v1/appeals?q=人民路&status=replied")
        .await;
    assert!(numbers(&v).is_empty());
    // Scope: the housing handler finds its own appeal, not the others.
    let (_, v) = app.get("housing", "/api/v1/appeals?q=广场舞").await;
    assert_eq!(numbers(&v), vec![n(&noise)]);
    let (_, v) = app.get("housing", "/api/v1/appeals?q=路灯").await;
    assert!(numbers(&v).is_empty());
    // … and is not told that the others exist: the match count is within its scope.
    assert_eq!(v["search"]["matches"], 0, "{v}");
    let (_, v) = app.get("housing", "/api/v1/appeals?q=广场舞").await;
    assert_eq!(v["search"]["matches"], 1, "{v}");
    // Event tags are not words of the appeal: a comment is found by its text, not by "commented".
    app.ok(
        "supervisor",
        &n(&lamp),
        json!({"action": "comment", "text": "群众多次来电催办"}),
    )
    .await;
    index(&app).await;
    let (_, v) = app.get("dispatcher", "/api/v1/appeals?q=commented").await;
    assert!(numbers(&v).is_empty(), "{v}");
    let (_, v) = app.get("dispatcher", "/api/v1/appeals?q=来电催办").await;
    assert_eq!(numbers(&v), vec![n(&lamp)]);
    // The citizen's name and phone are not searchable.
    let (_, v) = app.get("dispatcher", "/api/v1/appeals?q=李四").await;
    assert!(numbers(&v).is_empty());
    // Clear errors.
    let long = "路".repeat(101);
    let (s, v) = app
        .get("dispatcher", &format!("/api/v1/appeals?q={long}"))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["code"], "bad_query");
    // Only punctuation: nothing to search for, nothing found.
    let (s, v) = app.get("dispatcher", "/api/v1/appeals?q=%EF%BC%8C").await;
    assert_eq!(s, StatusCode::OK);
    assert!(numbers(&v).is_empty());
    // The console list searches too.
    let html = app
        .client
        .get(app.url("/appeals?q=降低音量"))
        .bearer_auth(app.token("dispatcher"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(&n(&noise)) && !html.contains(&n(&lamp)),
        "{html}"
    );
}

pub async fn suggestions_come_from_the_catalogue_and_place_and_are_recorded(app: TestApp) {
    // The catalogue: only administrators change it, every rule is checked.
    let (s, v) = put_rules(&app, "dispatcher", json!([])).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let (s, v) = put_rules(&app, "admin", json!([{"unit": COUNTY, "category": 1}])).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["code"], "invalid_rule");
    let (s, v) = put_rules(&app, "admin", json!([{"unit": HOUSING}])).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = put_rules(
        &app,
        "admin",
        json!([{"unit": HOUSING, "category": 1, "bogus": 1}]),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["code"], "invalid_body");
    let (s, v) = put_rules(
        &app,
        "admin",
        json!([
            {"unit": HOUSING, "category": 1, "note": "城乡建设归住建"},
            {"unit": WATER, "keywords": ["水管", "停水"]}
        ]),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["items"][0]["id"], 1);
    assert_eq!(v["items"][1]["id"], 2);
    let (_, v) = app.get("leader", "/api/v1/dispatch-rules").await;
    assert_eq!(v["items"].as_array().unwrap().len(), 2);

    // Before registration: a keyword rule and the place.
    let (s, v) = app
        .post(
            "operator",
            "/api/v1/suggestions",
            &json!({"content": "家门口自来水管爆裂了", "address": "城关镇东门社区"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["units"][0]["unit"], WATER, "{v}");
    assert!((v["units"][0]["confidence"].as_f64().unwrap() - 0.8).abs() < 1e-6);
    assert_eq!(v["units"][0]["direct"], false);
    assert_eq!(v["place"]["township"], TOWN);
    assert_eq!(v["place"]["village"], VILLAGE);
    // The township the address names is a (weak) candidate too.
    assert!(v["units"]
        .as_array()
        .unwrap()
        .iter()
        .any(|u| u["unit"] == TOWN));
    let (s, v) = app
        .post("operator", "/api/v1/suggestions", &json!({"content": "  "}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["code"], "content_required");
    let (s, _) = app
        .post(
            "operator",
            "/api/v1/suggestions",
            &json!({"content": "路灯", "category": 999}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    // A township must be a township.
    let (s, v) = app
        .post(
            "operator",
            "/api/v1/suggestions",
            &json!({"content": "路灯", "township": HOUSING}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["code"], "unknown_township");
    let (s, _) = app
        .post(
            "housing",
            "/api/v1/suggestions",
            &json!({"content": "路灯"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // At dispatch: the category rule (路灯 is under 城乡建设), recorded beside the choice.
    let a = app.register(&new_appeal()).await;
    let (s, v) = app
        .get(
            "dispatcher",
            &format!("/api/v1/appeals/{}/suggestions", n(&a)),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["units"][0]["unit"], HOUSING, "{v}");
    assert!((v["units"][0]["confidence"].as_f64().unwrap() - 0.7).abs() < 1e-6);
    assert!(v["units"][0]["reasons"][0]
        .as_str()
        .unwrap()
        .contains("派单目录"));
    let (s, _) = app
        .get("water", &format!("/api/v1/appeals/{}/suggestions", n(&a)))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    app.ok(
        "dispatcher",
        &n(&a),
        json!({"action": "dispatch", "lead": HOUSING}),
    )
    .await;

    let (s, v) = app.get("leader", "/api/v1/suggestions/accuracy").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let stages = v["stages"].as_array().unwrap();
    let dispatch = stages.iter().find(|s| s["stage"] == "dispatch").unwrap();
    assert_eq!(dispatch["suggested"], 1);
    assert_eq!(dispatch["judged"], 1);
    assert_eq!(dispatch["unit_top1"], 1);
    assert_eq!(dispatch["direct"], 0);
    let (s, _) = app.get("housing", "/api/v1/suggestions/accuracy").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = app
        .get("leader", "/api/v1/suggestions/accuracy?from=2026-13-01")
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["code"], "bad_query");

    // The console shows the panel to the dispatcher.
    let mut second = new_appeal();
    second["content"] = json!("路灯又坏了");
    let b = app.register(&second).await;
    let html = app
        .client
        .get(app.url(&format!("/appeals/{}", n(&b))))
        .bearer_auth(app.token("dispatcher"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("智能派单建议") && html.contains("县住建局"),
        "{html}"
    );
}

pub async fn duplicates_are_shown_while_open_and_within_the_window(app: TestApp) {
    let mut pipe = new_appeal();
    pipe["title"] = json!("自来水管爆裂");
    pipe["content"] = json!("人民路与建设路交叉口自来水管爆裂,水漫到马路上,已经两个小时了。");
    let first = app.register(&pipe).await;
    index(&app).await;
    let probe = json!({
        "title": "水管爆裂",
        "content": "人民路建设路交叉口的自来水管爆裂了,水漫到马路上",
        "address": "城关镇人民路"
    });
    let (s, v) = app.post("operator", "/api/v1/suggestions", &probe).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let dups = v["duplicates"].as_array().unwrap();
    assert_eq!(dups.len(), 1, "{v}");
    assert_eq!(dups[0]["number"], first["number"]);
    assert!(dups[0]["similarity"].as_f64().unwrap() >= 0.5);
    assert_eq!(dups[0]["same_township"], true);
    assert_eq!(dups[0]["same_caller"], false);
    // The same caller again on the same matter: marked (it counts against 一次性化解率).
    let mut again = probe.clone();
    again["phone"] = json!("139 1234 5678");
    let (_, v) = app.post("operator", "/api/v1/suggestions", &again).await;
    assert_eq!(v["duplicates"][0]["same_caller"], true, "{v}");
    again["phone"] = json!("电话号码");
    let (s, v) = app.post("operator", "/api/v1/suggestions", &again).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["code"], "bad_phone");
    // Something else: no duplicate.
    let (_, v) = app
        .post(
            "operator",
            "/api/v1/suggestions",
            &json!({"content": "楼下KTV每天唱到凌晨两点"}),
        )
        .await;
    assert!(v["duplicates"].as_array().unwrap().is_empty(), "{v}");
    // An appeal's own suggestions never list itself.
    let (_, v) = app
        .get(
            "dispatcher",
            &format!("/api/v1/appeals/{}/suggestions", n(&first)),
        )
        .await;
    assert!(v["duplicates"].as_array().unwrap().is_empty(), "{v}");
    // Out of the window (30 days), no longer shown.
    app.clock.advance(chrono::Duration::days(31));
    let (_, v) = app.post("operator", "/api/v1/suggestions", &probe).await;
    assert!(v["duplicates"].as_array().unwrap().is_empty(), "{v}");
}

async fn close_one(app: &TestApp, title: &str, content: &str, lead: u32, handler: &str) {
    let mut a = new_appeal();
    a["title"] = json!(title);
    a["content"] = json!(content);
    let num = n(&app.register(&a).await);
    app.ok(
        "dispatcher",
        &num,
        json!({"action": "dispatch", "lead": lead}),
    )
    .await;
    app.ok(handler, &num, json!({"action": "sign"})).await;
    app.ok(
        handler,
        &num,
        json!({"action": "contact", "note": "已联系"}),
    )
    .await;
    app.ok(
        handler,
        &num,
        json!({"action": "reply", "result": "resolved", "text": "已处理"}),
    )
    .await;
    app.ok("visitor", &num, json!({"action": "return_visit", "contacted": true, "resolved": true, "rating": "satisfied", "comment": "满意"}))
        .await;
    app.ok("dispatcher", &num, json!({"action": "close"})).await;
}

pub async fn training_stores_versioned_models_that_suggest(app: TestApp) {
    // Nothing to learn from yet: a clear answer, no model.
    let (s, v) = app.post("admin", "/api/v1/models/train", &json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["unit"].is_null());
    let roads = [
        "公路坑洼不平",
        "道路塌陷",
        "桥梁护栏损坏",
        "公交站台破损",
        "路面积水结冰",
        "乡道开裂",
    ];
    let water = [
        "水库渗漏",
        "灌溉渠道堵塞",
        "河道淤积",
        "山塘漏水",
        "堤坝裂缝",
        "泵站停转",
    ];
    for (r, w) in roads.iter().zip(water) {
        close_one(
            &app,
            r,
            &format!("{r},车辆通行困难"),
            TRANSPORT,
            "transport",
        )
        .await;
        close_one(&app, w, &format!("{w},影响农田灌溉"), WATER, "water").await;
    }
    let (s, v) = app
        .post("housing", "/api/v1/models/train", &json!({}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let (s, v) = app.post("admin", "/api/v1/models/train", &json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["unit"]["classes"], 2, "{v}");
    let unit_version = v["unit"]["version"].as_u64().unwrap();
    let (_, models) = app.get("leader", "/api/v1/models").await;
    let items = models["items"].as_array().unwrap();
    assert!(items
        .iter()
        .any(|m| m["kind"] == "unit" && m["version"] == unit_version));
    assert!(items.iter().all(|m| m["bytes"].as_u64().unwrap() > 0));
    let (_, v) = app
        .post(
            "operator",
            "/api/v1/suggestions",
            &json!({"content": "村里的灌溉渠道又堵塞了,河道也淤积"}),
        )
        .await;
    assert_eq!(v["units"][0]["unit"], WATER, "{v}");
    assert!(
        v["units"][0]["reasons"][0]
            .as_str()
            .unwrap()
            .contains("历史办理模型"),
        "{v}"
    );
    let (_, v) = app
        .post(
            "operator",
            "/api/v1/suggestions",
            &json!({"content": "公路坑洼,道路塌陷"}),
        )
        .await;
    assert_eq!(v["units"][0]["unit"], TRANSPORT, "{v}");
    // Retraining makes a new version; the old one is kept.
    let (_, v) = app.post("admin", "/api/v1/models/train", &json!({})).await;
    assert!(v["unit"]["version"].as_u64().unwrap() > unit_version);
    let (_, models) = app.get("leader", "/api/v1/models").await;
    // Two unit models; no category model (every appeal here has the same category).
    let kinds: Vec<&str> = models["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["unit", "unit"]);
    assert!(v["category"].is_null(), "{v}");
}
