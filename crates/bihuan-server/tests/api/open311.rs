//! Open311 GeoReport v2 from the outside (issue 24): a plain HTTP client registers nothing but
//! speaks the protocol — discovery, services, a form-encoded request with an api_key, its
//! token, the public list and look-up without personal data, FixMyStreet's updates both ways —
//! in XML and JSON, with the protocol's error lists.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

async fn get(app: &TestApp, path: &str) -> (StatusCode, String) {
    let r = app.client.get(app.url(path)).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn get_json(app: &TestApp, path: &str) -> (StatusCode, Value) {
    let (s, t) = get(app, path).await;
    (
        s,
        serde_json::from_str(&t).unwrap_or_else(|_| panic!("not JSON ({s}): {t}")),
    )
}

async fn post_form(app: &TestApp, path: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
    // No Origin header, no cookie: an application's server posting.
    let r = app
        .client
        .post(app.url(path))
        .form(form)
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

pub async fn open311_speaks_georeport_v2_in_xml_and_json(app: TestApp) {
    // Keys are the administrators' to give.
    let (s, _) = app
        .post(
            "dispatcher",
            "/api/v1/open311/clients",
            &json!({"name": "城市通", "contact": "县大数据中心"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, c) = app
        .post(
            "admin",
            "/api/v1/open311/clients",
            &json!({"name": "城市通", "contact": "县大数据中心 0571-1234567"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let key = c["api_key"].as_str().unwrap().to_string();
    let client_id = c["id"].as_u64().unwrap();
    let (_, list) = app.get("admin", "/api/v1/open311/clients").await;
    assert!(
        !list.to_string().contains(&key),
        "the key is never shown again: {list}"
    );

    // Discovery and services, both formats.
    let (s, d) = get_json(&app, "/open311/v2/discovery.json").await;
    assert_eq!(s, StatusCode::OK);
    assert!(d["endpoints"][0]["url"]
        .as_str()
        .unwrap()
        .ends_with("/open311/v2"));
    let (_, dx) = get(&app, "/open311/v2/discovery.xml").await;
    assert!(
        dx.contains("<endpoints><endpoint>") && dx.contains("<format>application/json</format>"),
        "{dx}"
    );
    let (_, services) = get_json(&app, "/open311/v2/services.json").await;
    let lamp = services
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service_code"] == "3")
        .unwrap_or_else(|| panic!("{services}"));
    assert_eq!(
        (lamp["service_name"].as_str(), lamp["group"].as_str()),
        (Some("路灯"), Some("城乡建设"))
    );
    let (_, sx) = get(&app, "/open311/v2/services.xml").await;
    assert!(
        sx.starts_with("<?xml")
            && sx.contains("<service><service_code>1</service_code><service_name>"),
        "{sx}"
    );
    let (_, def) = get_json(&app, "/open311/v2/services/3.json").await;
    let kinds = def["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["code"] == "kind")
        .unwrap();
    assert!(kinds["values"].to_string().contains("complaint"), "{def}");
    let (s, e) = get_json(&app, "/open311/v2/services/99.json").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(e[0]["code"], 404, "the protocol's error list: {e}");
    let (s, ex) = get(&app, "/open311/v2/services/99.xml").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(
        ex.contains("<errors><error><code>404</code><description>"),
        "{ex}"
    );
    let (s, _) = get(&app, "/open311/v2/services.csv").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // Posting: a key is needed; every problem of a bad request is named.
    let form = [
        ("service_code", "3"),
        ("lat", "30.2741"),
        ("long", "120.1551"),
        ("address_string", "城关镇东门路12号"),
        (
            "description",
            "东门路路灯一周不亮，请联系我 13912345678。\n晚上很黑。",
        ),
        ("last_name", "李"),
        ("first_name", "四"),
        ("phone", "13912345678"),
        ("media_url", "https://img.example/lamp.jpg"),
        ("attribute[kind]", "complaint"),
        ("attribute[township]", "城关镇"),
    ];
    let (s, t) = post_form(&app, "/open311/v2/requests.json", &form).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{t}");
    let (s, t) = post_form(
        &app,
        "/open311/v2/requests.json",
        &[
            ("api_key", "o311_wrong"),
            ("service_code", "3"),
            ("description", "x"),
            ("lat", "1"),
            ("long", "1"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{t}");
    let (s, t) = post_form(
        &app,
        "/open311/v2/requests.xml",
        &[
            ("api_key", &key),
            ("service_code", "77"),
            ("lat", "100"),
            ("attribute[kind]", "report"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{t}");
    for part in [
        "service_code",
        "description",
        "lat「100」",
        "report",
        "complaint",
    ] {
        assert!(t.contains(part), "{part} named in {t}");
    }
    assert!(
        t.starts_with("<?xml") && t.contains("<code>400</code>"),
        "{t}"
    );

    let mut with_key = form.to_vec();
    with_key.push(("api_key", &key));
    let (s, t) = post_form(&app, "/open311/v2/requests.json", &with_key).await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    let posted: Value = serde_json::from_str(&t).unwrap();
    let id = posted[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_string();
    let token = posted[0]["token"].as_str().unwrap().to_string();
    // The same post again (a client that lost the answer) is the same request.
    let (_, again) = post_form(&app, "/open311/v2/requests.json", &with_key).await;
    let again: Value = serde_json::from_str(&again).unwrap();
    assert_eq!(again[0]["service_request_id"], id.as_str());
    let (_, tok) = get_json(&app, &format!("/open311/v2/tokens/{token}.json")).await;
    assert_eq!(tok[0]["service_request_id"], id.as_str(), "{tok}");
    let (s, _) = get(&app, "/open311/v2/tokens/00ff.json").await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Registered as an appeal of the app channel, with the citizen and the place.
    let (_, a) = app
        .get("dispatcher", &format!("/api/v1/appeals/{id}"))
        .await;
    assert_eq!(a["channel"], "app", "{a}");
    assert_eq!(a["kind"], "complaint");
    assert_eq!(a["place"]["township"], TOWN);
    assert!(a["content"]
        .as_str()
        .unwrap()
        .contains("https://img.example/lamp.jpg"));
    assert_eq!(a["place"]["coordinates"], json!([120.1551, 30.2741]));

    // The public sees no personal data: no name or phone, the township for the address, the
    // coordinates to 100 m.
    let (s, public) = get_json(&app, &format!("/open311/v2/requests/{id}.json")).await;
    assert_eq!(s, StatusCode::OK, "{public}");
    let text = public.to_string();
    for private in ["13912345678", "李四", "东门路12号", "晚上很黑"] {
        assert!(!text.contains(private), "{private} in {text}");
    }
    let r = &public[0];
    assert_eq!(
        (r["status"].as_str(), r["address"].as_str()),
        (Some("open"), Some("城关镇"))
    );
    assert_eq!(r["lat"].as_f64(), Some(30.274));
    assert!(
        r.get("expected_datetime").is_none(),
        "no reply is due before dispatch: {r}"
    );
    // The application that posted it sees its own text, numbers still masked.
    let (_, own) = get_json(
        &app,
        &format!("/open311/v2/requests/{id}.json?api_key={key}"),
    )
    .await;
    let own_text = own[0]["description"].as_str().unwrap();
    assert!(
        own_text.contains("晚上很黑") && !own_text.contains("13912345678"),
        "{own}"
    );
    // A petition is never listed.
    let mut petition = new_appeal();
    petition["kind"] = json!("petition_claim");
    let pet = n(&app.register(&petition).await);
    let (s, _) = get(&app, &format!("/open311/v2/requests/{pet}.json")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // The list with the spec's filters.
    let (_, open) = get_json(&app, "/open311/v2/requests.json?status=open&service_code=3").await;
    let ids: Vec<&str> = open
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["service_request_id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&id.as_str()), "{open}");
    assert!(!ids.contains(&pet.as_str()));
    let (_, closed) = get_json(&app, "/open311/v2/requests.json?status=closed").await;
    assert_eq!(closed, json!([]), "{closed}");
    let (s, e) = get_json(&app, "/open311/v2/requests.json?status=done").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(e[0]["description"]
        .as_str()
        .unwrap()
        .contains("open 或 closed"));
    let (s, _) = get_json(
        &app,
        "/open311/v2/requests.json?start_date=2026-01-01&end_date=2026-11-30",
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "a window over 90 days");
    let (_, by_id) = get(
        &app,
        &format!("/open311/v2/requests.xml?service_request_id={id},{pet}"),
    )
    .await;
    assert_eq!(
        by_id.matches("<request>").count(),
        1,
        "the petition is left out: {by_id}"
    );
    assert!(by_id.contains("<service_requests><request><service_request_id>"));

    // The loop runs; FixMyStreet reads its steps as updates.
    app.ok(
        "dispatcher",
        &id,
        json!({"action": "dispatch", "lead": HOUSING}),
    )
    .await;
    app.ok("housing", &id, json!({"action": "sign"})).await;
    let (_, signed) = get_json(&app, &format!("/open311/v2/requests/{id}.json")).await;
    assert!(signed[0]["expected_datetime"].is_string(), "{signed}");
    assert_eq!(signed[0]["agency_responsible"], "县住建局", "{signed}");
    app.ok("housing", &id, json!({"action": "reply", "result": "resolved", "text": "路灯已修复，如有问题请拨打 0571-7654321。"}))
        .await;
    let (_, ups) = get_json(&app, "/open311/v2/servicerequestupdates.json").await;
    let mine: Vec<&Value> = ups
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["service_request_id"] == id.as_str())
        .collect();
    let statuses: Vec<&str> = mine.iter().map(|u| u["status"].as_str().unwrap()).collect();
    assert_eq!(
        statuses,
        vec!["open", "investigating", "in_progress", "fixed"],
        "{ups}"
    );
    assert!(
        !mine[3]["description"].as_str().unwrap().contains("7654321"),
        "{ups}"
    );
    let (_, ux) = get(&app, "/open311/v2/servicerequestupdates.xml").await;
    assert!(ux.contains("<service_request_updates><request_update><update_id>"));

    // The citizen answers on the application: one comment, however often it is posted.
    let update = [
        ("api_key", key.as_str()),
        ("service_request_id", id.as_str()),
        ("update_id", "fms-77"),
        ("status", "OPEN"),
        ("description", "路灯还是不亮"),
        ("last_name", "李"),
        ("first_name", "四"),
    ];
    let (s, t) = post_form(&app, "/open311/v2/servicerequestupdates.json", &update).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let (_, t2) = post_form(&app, "/open311/v2/servicerequestupdates.json", &update).await;
    assert_eq!(t, t2, "the same update id twice is one update");
    let (_, shown) = app
        .get("dispatcher", &format!("/api/v1/appeals/{id}"))
        .await;
    let history = &shown["timeline"];
    let comments: Vec<String> = history
        .as_array()
        .unwrap_or_else(|| panic!("{shown}"))
        .iter()
        .filter(|e| e["event"]["type"] == "commented")
        .map(|e| e["event"]["text"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(comments.len(), 1, "{history}");
    assert!(
        comments[0].contains("仍未解决") && comments[0].contains("城市通"),
        "{comments:?}"
    );
    // Only for its own requests, and a bad status lists the good ones.
    let (s, _) = post_form(
        &app,
        "/open311/v2/servicerequestupdates.json",
        &[
            ("api_key", &key),
            ("service_request_id", &pet),
            ("status", "open"),
            ("description", "x"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, t) = post_form(
        &app,
        "/open311/v2/servicerequestupdates.json",
        &[
            ("api_key", &key),
            ("service_request_id", &id),
            ("status", "maybe"),
            ("description", "x"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(t.contains("reopen"), "{t}");

    // A revoked key posts nothing more.
    let (s, _) = app
        .post(
            "admin",
            &format!("/api/v1/open311/clients/{client_id}/revoke"),
            &json!({"reason": "应用停止服务"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = post_form(&app, "/open311/v2/requests.json", &with_key).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}
