//! One use case, two front ends: the console offers (and the API's detail lists) exactly the
//! actions the domain accepts, and registers through the same idempotent use case as the API.

use bihuan_domain::lifecycle::Action;
use bihuan_store::AppealRef;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

const LOGINS: [&str; 12] = [
    "admin",
    "operator",
    "dispatcher",
    "visitor",
    "supervisor",
    "leader",
    "housing",
    "housing-lead",
    "transport",
    "water",
    "town",
    "grid",
];

/// The action names of the forms on a console page.
fn offered_on(page: &str) -> Vec<String> {
    let marker = "name=\"action\" value=\"";
    let mut out: Vec<String> = page
        .match_indices(marker)
        .map(|(i, _)| {
            let rest = &page[i + marker.len()..];
            rest[..rest.find('"').unwrap()].to_string()
        })
        .collect();
    out.sort();
    out
}

/// What the domain's guard allows `login` on the appeal now.
async fn domain_allows(app: &TestApp, login: &str, num: &str) -> Vec<String> {
    let store = &app.state.store;
    let a = store
        .appeal(AppealRef::Number(num.parse().unwrap()))
        .await
        .unwrap();
    let user = store.user_by_login(login).await.unwrap();
    let cat = store.catalog();
    let actor = cat.actor(&user);
    let now = bihuan_server::Clock::now(&*app.clock);
    let mut v: Vec<String> = a
        .available_actions(&actor, now, cat.ctx())
        .into_iter()
        .map(|x| x.name().to_string())
        .collect();
    v.sort();
    v
}

/// Every role, at every step of the loop: the detail page's forms are exactly the domain's list,
/// including what the console used to hide (a dispatcher's 更换首席服务官, a supervisor's redo,
/// an administrator closing a replied appeal) and nothing it used to offer in vain (an
/// administrator's redo).
pub async fn the_console_offers_exactly_what_the_domain_accepts(app: TestApp) {
    let mut browsers = Vec::new();
    for login in LOGINS {
        browsers.push((login, console_session(&app, login).await));
    }
    let num = n(&app.register(&new_appeal()).await);
    let steps = [
        None,
        Some(("dispatcher", json!({"action": "dispatch", "lead": TOWN}))),
        Some(("town", json!({"action": "sign"}))),
        Some((
            "town",
            json!({"action": "whistle", "units": [HOUSING], "matter": "联合整治"}),
        )),
        Some((
            "town",
            json!({"action": "reply", "result": "resolved", "text": "已修复"}),
        )),
        Some((
            "visitor",
            json!({"action": "return_visit", "contacted": true, "resolved": false, "rating": "unsatisfied", "comment": ""}),
        )),
        Some((
            "dispatcher",
            json!({"action": "close", "note": "群众同意办结"}),
        )),
    ];
    let mut compared = 0;
    let mut seen: std::collections::BTreeMap<(String, String), Vec<String>> = Default::default();
    for step in steps {
        if let Some((login, action)) = step {
            app.ok(login, &num, action).await;
        }
        let status = app.status_of(&num).await;
        for (login, browser) in &browsers {
            let r = browser
                .get(app.url(&format!("/appeals/{num}")))
                .send()
                .await
                .unwrap();
            let code = r.status();
            let page = r.text().await.unwrap();
            let expected = domain_allows(&app, login, &num).await;
            if code == StatusCode::FORBIDDEN {
                // Not this user's appeal: nothing is offered, and the domain's list is moot.
                assert!(offered_on(&page).is_empty());
                continue;
            }
            assert_eq!(code, StatusCode::OK, "{login} on {status}");
            assert_eq!(
                offered_on(&page),
                expected,
                "{login} on a {status} appeal: the console's forms against the domain's guard"
            );
            // The API's detail names the same actions for its caller.
            let (_, detail) = app.get(login, &format!("/api/v1/appeals/{num}")).await;
            let mut listed: Vec<String> = detail["actions"]
                .as_array()
                .unwrap_or_else(|| panic!("{login}: no actions in {detail}"))
                .iter()
                .map(|a| a.as_str().unwrap().to_string())
                .collect();
            listed.sort();
            assert_eq!(listed, expected, "{login} on {status}: the API's actions");
            seen.insert((status.clone(), login.to_string()), expected);
            compared += 1;
        }
    }
    assert!(compared >= 40, "{compared}");
    let has = |status: &str, login: &str, action: Action| {
        seen.get(&(status.to_string(), login.to_string()))
            .is_some_and(|v| v.iter().any(|a| a == action.name()))
    };
    assert!(has("in_progress", "dispatcher", Action::SetOwner));
    assert!(has("replied", "supervisor", Action::Redo));
    assert!(has("replied", "admin", Action::Close));
    assert!(!has("visited", "admin", Action::Redo));
    assert!(has("in_progress", "housing", Action::ReportIn));
    assert!(!has("closed", "dispatcher", Action::Close));
}

/// The form a user would send for a registration (with its one-time key).
async fn registration_form(browser: &reqwest::Client, app: &TestApp) -> Vec<(String, String)> {
    let page = page_text(browser, app.url("/appeals/new")).await;
    let marker = "name=\"submission\" value=\"";
    let i = page
        .find(marker)
        .expect("the form carries a submission key")
        + marker.len();
    let key = page[i..i + page[i..].find('"').unwrap()].to_string();
    [
        ("submission", key.as_str()),
        ("kind", "complaint"),
        ("channel", "hotline"),
        ("urgency", "normal"),
        ("category", "3"),
        ("title", "路灯不亮"),
        ("content", "东门路12号附近路灯连续一周不亮。"),
        ("township", "20"),
        ("address", "东门路12号"),
        ("citizen_name", "李四"),
        ("phone", "139 1234 5678"),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .to_vec()
}

/// A double click (the same form sent twice) registers one appeal and shows it both times; a
/// fresh form registers another.
pub async fn a_double_submitted_form_registers_one_appeal(app: TestApp) {
    let browser = console_session(&app, "operator").await;
    let count = || async {
        let (_, v) = app.get("admin", "/api/v1/appeals?limit=200").await;
        v["items"].as_array().unwrap().len()
    };
    let before = count().await;
    let form = registration_form(&browser, &app).await;
    let mut places = Vec::new();
    for _ in 0..2 {
        let r = browser
            .post(app.url("/appeals/new"))
            .header("origin", app.base.clone())
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        places.push(r.headers()["location"].to_str().unwrap().to_string());
    }
    assert_eq!(places[0], places[1], "both answers show the same appeal");
    assert_eq!(count().await, before + 1);
    let again = registration_form(&browser, &app).await;
    let r = browser
        .post(app.url("/appeals/new"))
        .header("origin", app.base.clone())
        .form(&again)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_ne!(r.headers()["location"].to_str().unwrap(), places[0]);
    assert_eq!(count().await, before + 2);
    // The console kept the number in one form, like the API.
    let num = places[0]
        .trim_start_matches("/appeals/")
        .split('?')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(stored_phone(&app, &num).await, "13912345678");
}

/// The phone as stored (every role sees it masked in an answer).
async fn stored_phone(app: &TestApp, num: &str) -> String {
    let a = app
        .state
        .store
        .appeal(AppealRef::Number(num.parse().unwrap()))
        .await
        .unwrap();
    a.citizen.phone.unwrap().expose().to_string()
}

/// A dispatcher changes the chief service officer from the console's form.
pub async fn the_owner_is_changed_from_the_console(app: TestApp) {
    let num = n(&app.register(&new_appeal()).await);
    app.ok(
        "dispatcher",
        &num,
        json!({"action": "dispatch", "lead": HOUSING}),
    )
    .await;
    app.ok("housing", &num, json!({"action": "sign"})).await;
    let lead = app.state.store.user_by_login("housing-lead").await.unwrap();
    let browser = console_session(&app, "dispatcher").await;
    let page = page_text(&browser, app.url(&format!("/appeals/{num}"))).await;
    assert!(page.contains("更换首席服务官"), "the form is offered");
    assert!(
        page.contains("housing-lead用户"),
        "with the lead unit's staff"
    );
    let (_, v) = app.get("admin", &format!("/api/v1/appeals/{num}")).await;
    let r = browser
        .post(app.url(&format!("/appeals/{num}/act")))
        .header("origin", app.base.clone())
        .form(&[
            ("action", "set_owner".to_string()),
            ("version", v["version"].to_string()),
            ("owner", lead.id.0.to_string()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "{}",
        r.text().await.unwrap()
    );
    let (_, v) = app.get("admin", &format!("/api/v1/appeals/{num}")).await;
    assert_eq!(v["owner"]["user"], lead.id.0, "{v}");
}

/// The chief service officer is a real, active account of the lead unit: a person object made up
/// by the client (any id, any name) is refused, as are unknown and disabled users; a user id of
/// the lead unit's staff is taken, with the name from the account.
pub async fn an_owner_must_be_an_active_account(app: TestApp) {
    let num = n(&app.register(&new_appeal()).await);
    app.ok(
        "dispatcher",
        &num,
        json!({"action": "dispatch", "lead": HOUSING}),
    )
    .await;
    let lead = app.state.store.user_by_login("housing-lead").await.unwrap();
    for (owner, code) in [
        (
            json!({"user": 99999, "name": "冒名顶替", "unit": HOUSING}),
            "invalid_body",
        ),
        (
            json!({"user": lead.id.0, "name": "改了名字", "unit": HOUSING}),
            "invalid_body",
        ),
        (json!(99999), "unknown_user"),
        (json!("5"), "invalid_body"),
        (json!(-1), "invalid_body"),
    ] {
        let (s, v) = app
            .act("housing", &num, json!({"action": "sign", "owner": owner}))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{owner}: {v}");
        assert_eq!(v["code"], code, "{owner}: {v}");
    }
    assert_eq!(
        app.status_of(&num).await,
        "dispatched",
        "nothing was signed"
    );
    let signed = app
        .ok(
            "housing",
            &num,
            json!({"action": "sign", "owner": lead.id.0}),
        )
        .await;
    assert_eq!(signed["owner"]["user"], lead.id.0);
    assert_eq!(signed["owner"]["name"], lead.name.as_str());
    // A disabled account cannot be made owner.
    let (s, _) = body(
        app.client
            .patch(app.url(&format!("/api/v1/users/{}", lead.id.0)))
            .bearer_auth(app.token("admin"))
            .json(&json!({"active": false}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = app
        .act(
            "dispatcher",
            &num,
            json!({"action": "set_owner", "owner": lead.id.0}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["code"], "unknown_user");
}

/// Phones sent to the API are kept in one form; what is not a phone number is refused with the
/// field named.
pub async fn the_api_keeps_phones_in_one_form(app: TestApp) {
    let mut a = new_appeal();
    a["citizen"]["phone"] = json!("+86 135-0000-6666");
    let num = n(&app.register(&a).await);
    assert_eq!(stored_phone(&app, &num).await, "13500006666");
    a["citizen"]["phone"] = json!("not-a-phone");
    let (s, v) = app.post("operator", "/api/v1/appeals", &a).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["field"], "citizen.phone", "{v}");
}

/// A grid member sees what it registered, in the list and in the detail alike: not an appeal of
/// its grid that someone else registered, and a console list asking for another user's
/// registrations shows nothing.
pub async fn a_grid_member_sees_its_own_registrations_in_list_and_detail(app: TestApp) {
    let mut in_grid = new_appeal();
    in_grid["place"] =
        json!({"address": "东门社区", "township": TOWN, "village": VILLAGE, "grid": GRID});
    let others = n(&app.register(&in_grid).await);
    let (s, v) = app.post("grid", "/api/v1/appeals", &in_grid).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let own = n(&v);
    let (s, _) = app.get("grid", &format!("/api/v1/appeals/{others}")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app.get("grid", &format!("/api/v1/appeals/{own}")).await;
    assert_eq!(s, StatusCode::OK);
    let (_, list) = app.get("grid", "/api/v1/appeals").await;
    let numbers: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, [own.as_str()]);
    let (s, v) = app
        .post(
            "grid",
            &format!("/api/v1/appeals/{others}/actions"),
            &json!({"action": "comment", "text": "看看", "version": 1}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let operator = app.state.store.user_by_login("operator").await.unwrap();
    let browser = console_session(&app, "grid").await;
    let page = page_text(
        &browser,
        app.url(&format!("/appeals?registered_by={}", operator.id.0)),
    )
    .await;
    assert!(
        !page.contains(&others),
        "another user's registration listed"
    );
    let page = browser
        .get(app.url(&format!("/appeals/{others}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
}

/// The property names a schema of the OpenAPI document gives an object (following `$ref` and
/// `allOf`), and those it requires.
fn schema_fields(
    doc: &serde_json::Value,
    schema: &serde_json::Value,
) -> (
    std::collections::BTreeSet<String>,
    std::collections::BTreeSet<String>,
) {
    let mut props = std::collections::BTreeSet::new();
    let mut required = std::collections::BTreeSet::new();
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.rsplit('/').next().unwrap();
        let target = &doc["components"]["schemas"][name];
        assert!(target.is_object(), "{r} is not in the document");
        return schema_fields(doc, target);
    }
    for part in schema["allOf"].as_array().into_iter().flatten() {
        let (p, r) = schema_fields(doc, part);
        props.extend(p);
        required.extend(r);
    }
    if let Some(obj) = schema["properties"].as_object() {
        props.extend(obj.keys().cloned());
    }
    for r in schema["required"].as_array().into_iter().flatten() {
        required.insert(r.as_str().unwrap().to_string());
    }
    (props, required)
}

/// Checks one answer object against a schema: it holds every required field and nothing the
/// schema does not name.
pub(crate) fn conforms(
    doc: &serde_json::Value,
    schema_name: &str,
    answer: &serde_json::Value,
) -> usize {
    let schema = json!({"$ref": format!("#/components/schemas/{schema_name}")});
    let (props, required) = schema_fields(doc, &schema);
    let obj = answer
        .as_object()
        .unwrap_or_else(|| panic!("{schema_name}: {answer}"));
    for k in obj.keys() {
        assert!(
            props.contains(k),
            "{schema_name}: the answer has `{k}`, the document does not name it"
        );
    }
    for r in &required {
        assert!(
            obj.contains_key(r),
            "{schema_name}: `{r}` is required by the document, missing from the answer"
        );
    }
    obj.len()
}

/// The OpenAPI document's schemas are derived from the answer types: real answers (a detail with
/// its timeline, list rows, an action's answer, a registration, units, users, categories,
/// policies, rules) carry exactly the fields their schemas name, and the document marks each
/// operation's answer with its schema.
pub async fn the_openapi_schemas_describe_the_answers(app: TestApp) {
    let (_, doc) = app.get("admin", "/api/v1/openapi.json").await;
    assert_eq!(doc["openapi"], "3.1.0");
    let registered = app.register(&new_appeal()).await;
    let mut checked = conforms(&doc, "Registration", &registered);
    let num = n(&registered);
    let acted = app
        .ok(
            "dispatcher",
            &num,
            json!({"action": "dispatch", "lead": HOUSING, "note": "请办理"}),
        )
        .await;
    checked += conforms(&doc, "AppealView", &acted);
    app.ok("housing", &num, json!({"action": "sign"})).await;
    for login in ["dispatcher", "water", "housing"] {
        let (s, detail) = app.get(login, &format!("/api/v1/appeals/{num}")).await;
        if s != StatusCode::OK {
            continue;
        }
        checked += conforms(&doc, "AppealView", &detail);
        for entry in detail["timeline"].as_array().unwrap() {
            checked += conforms(&doc, "TimelineEntry", entry);
        }
        let (_, list) = app.get(login, "/api/v1/appeals").await;
        for row in list["items"].as_array().unwrap() {
            checked += conforms(&doc, "AppealSummary", row);
        }
    }
    let (s, _) = body(
        app.client
            .put(app.url("/api/v1/dispatch-rules"))
            .bearer_auth(app.token("admin"))
            .json(&json!([{"unit": HOUSING, "keywords": ["路灯"], "note": "路灯归住建"}]))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    for (path, schema) in [
        ("/api/v1/units", "UnitView"),
        ("/api/v1/users", "UserView"),
        ("/api/v1/categories", "CategoryView"),
        ("/api/v1/policies", "DeadlinePolicy"),
        ("/api/v1/dispatch-rules", "Rule"),
    ] {
        let (s, v) = app.get("admin", path).await;
        assert_eq!(s, StatusCode::OK, "{path}");
        let items = v["items"].as_array().unwrap();
        assert!(!items.is_empty(), "{path}");
        for item in items {
            checked += conforms(&doc, schema, item);
        }
        let documented = &doc["paths"][path]["get"]["responses"]["200"]["content"]
            ["application/json"]["schema"]["properties"]["items"]["items"]["$ref"];
        assert_eq!(
            documented.as_str(),
            Some(format!("#/components/schemas/{schema}").as_str()),
            "{path}"
        );
    }
    let (_, me) = app.get("housing", "/api/v1/me").await;
    checked += conforms(&doc, "UserView", &me);
    let (s, created) = app
        .post(
            "admin",
            "/api/v1/tokens",
            &json!({"user": me["id"], "name": "对接测试", "expires_days": 30}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    checked += conforms(&doc, "TokenCreated", &created);
    for (path, schema) in [
        ("/api/v1/tokens", "TokenView"),
        ("/api/v1/calendar/years", "CalendarYear"),
    ] {
        let (_, v) = app.get("admin", path).await;
        let items = v["items"].as_array().unwrap();
        assert!(!items.is_empty(), "{path}");
        for item in items {
            checked += conforms(&doc, schema, item);
        }
    }
    let (_, page) = app.get("admin", "/api/v1/audit?limit=5").await;
    checked += conforms(&doc, "AuditPage", &page);
    for line in page["items"].as_array().unwrap() {
        checked += conforms(&doc, "AuditLine", line);
    }
    let (_, added) = app
        .get("admin", "/api/v1/calendar/add?date=2026-09-30&days=1")
        .await;
    checked += conforms(&doc, "WorkingDaysAdded", &added);
    assert_eq!(
        added["result"], "2026-10-08",
        "after the National Day holiday"
    );
    // Metrics, rates and smart dispatch.
    let (s, m) = app.get("leader", "/api/v1/metrics").await;
    assert_eq!(s, StatusCode::OK, "{m}");
    checked += conforms(&doc, "MetricsView", &m);
    checked += conforms(&doc, "RatesView", &m["headline"]);
    checked += conforms(&doc, "RateView", &m["headline"]["timely_acceptance"]);
    for g in m["groups"].as_array().unwrap() {
        checked += conforms(&doc, "GroupView", g);
    }
    let (_, r) = app.get("leader", "/api/v1/rates").await;
    checked += conforms(&doc, "FiveRatesView", &r);
    for f in r["five_rates"].as_array().unwrap() {
        checked += conforms(&doc, "FiveRate", f);
    }
    let (_, sugg) = app
        .post(
            "operator",
            "/api/v1/suggestions",
            &json!({"title": "路灯不亮", "content": "东街路灯不亮,晚上很黑"}),
        )
        .await;
    checked += conforms(&doc, "SuggestionsView", &sugg);
    for u in sugg["units"].as_array().unwrap() {
        checked += conforms(&doc, "UnitHint", u);
    }
    let (_, acc) = app.get("dispatcher", "/api/v1/suggestions/accuracy").await;
    checked += conforms(&doc, "AccuracyView", &acc);
    // Action bodies the API accepts match their variant of the derived `Action` schema.
    let variants = doc["components"]["schemas"]["Action"]["oneOf"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(
        variants.len(),
        25,
        "every command but link_duplicate and recompute_deadlines"
    );
    let variant_of = |action: &str| {
        variants
            .iter()
            .find(|v| {
                let (props, _) = schema_fields(&doc, v);
                props.contains("version")
                    && serde_json::to_string(v)
                        .unwrap()
                        .contains(&format!("\"enum\":[\"{action}\"]"))
            })
            .unwrap_or_else(|| panic!("no Action variant for {action}"))
            .clone()
    };
    let num2 = n(&app.register(&new_appeal()).await);
    let master = n(&app.register(&new_appeal()).await);
    let lead = app.state.store.user_by_login("housing-lead").await.unwrap();
    for (login, body) in [
        (
            "dispatcher",
            json!({"action": "dispatch", "lead": HOUSING, "assisting": [WATER], "note": "请办理"}),
        ),
        ("housing", json!({"action": "sign", "owner": lead.id.0})),
        (
            "water",
            json!({"action": "assist_opinion", "opinion": "本局配合处置"}),
        ),
        (
            "dispatcher",
            json!({"action": "set_owner", "owner": lead.id.0}),
        ),
        ("housing", json!({"action": "contact", "note": "已联系"})),
        (
            "housing",
            json!({"action": "reply", "result": "resolved", "text": "已修复"}),
        ),
        (
            "visitor",
            json!({"action": "return_visit", "contacted": true, "resolved": true, "rating": "satisfied", "comment": "满意"}),
        ),
        ("housing", json!({"action": "comment", "text": "备注"})),
    ] {
        let name = body["action"].as_str().unwrap().to_string();
        let sent = app.ok(login, &num2, body.clone()).await;
        assert!(sent["version"].is_u64());
        let mut with_version = body.clone();
        with_version["version"] = json!(1);
        let (props, required) = schema_fields(&doc, &variant_of(&name));
        for k in with_version.as_object().unwrap().keys() {
            assert!(
                props.contains(k),
                "{name}: `{k}` is not in its Action variant"
            );
        }
        for r in &required {
            assert!(
                with_version.get(r).is_some(),
                "{name}: `{r}` required, not sent"
            );
        }
        checked += 1;
    }
    let merge = json!({"action": "merge", "master": master, "version": 1});
    let (props, required) = schema_fields(&doc, &variant_of("merge"));
    assert!(
        props.contains("master") && !props.contains("into"),
        "{props:?}"
    );
    assert!(required.iter().all(|r| merge.get(r).is_some()));
    assert!(checked > 300, "{checked} fields checked");
    // The enums come from the types.
    let channels: Vec<&str> = doc["components"]["schemas"]["Channel"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        channels,
        bihuan_domain::Channel::ALL
            .iter()
            .map(|c| c.code())
            .collect::<Vec<_>>()
    );
    let statuses = doc["components"]["schemas"]["Status"]["enum"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(statuses, bihuan_domain::lifecycle::Status::ALL.len());
}
