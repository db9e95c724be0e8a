//! 战役化推进 and 四比 (issue 20) through the API: a 问题清仓 item valued from hand-built
//! appeals (overdue when the campaign began, closed since), a self-report counted only once a
//! leader confirms it, its file read back, a checklist imported with every bad row reported,
//! and an evaluation whose score is worked out by hand, whose minimum volume leaves units
//! unranked, and whose published snapshot does not move when the data and the formula change.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;
use bihuan_server::Clock;

fn pdf(text: &str) -> Vec<u8> {
    format!("%PDF-1.4\n% {text}\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
        .into_bytes()
}

fn item(c: &Value, no: u64) -> &Value {
    c["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["no"] == no)
        .unwrap_or_else(|| panic!("no item {no} in {c}"))
}

async fn dispatched_to_housing(app: &TestApp) -> (String, String) {
    let num = n(&app.register(&new_appeal()).await);
    app.ok(
        "dispatcher",
        &num,
        json!({"action": "dispatch", "lead": HOUSING}),
    )
    .await;
    let a = app.ok("housing", &num, json!({"action": "sign"})).await;
    let reply_due = a["deadlines"]["reply"].as_str().unwrap().to_string();
    (num, reply_due)
}

pub async fn a_campaign_is_valued_from_evidence_and_its_evaluation_frozen(app: TestApp) {
    // Two appeals of the housing bureau run past their reply deadline.
    let (a1, due) = dispatched_to_housing(&app).await;
    let (_a2, _) = dispatched_to_housing(&app).await;
    let due: chrono::DateTime<chrono::Utc> = due.parse().unwrap();
    app.clock.set(due + chrono::Duration::days(2));
    let today = bihuan_domain::time::local_date(app.clock.now()).to_string();
    // One registered after the campaign began is no backlog of it.
    app.clock.advance(chrono::Duration::hours(1));
    let (_later, _) = dispatched_to_housing(&app).await;

    let (s, e) = app
        .post(
            "housing",
            "/api/v1/campaigns",
            &json!({"name": "三大会战", "kind": "battle", "starts": today, "ends": "2026-12-31",
                    "lead": "县委副书记", "battles": [{"name": "问题清仓", "leader": "李四"}]}),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "units do not set up campaigns: {e}"
    );
    let (s, c) = app
        .post(
            "dispatcher",
            "/api/v1/campaigns",
            &json!({"name": "三大会战", "kind": "battle", "starts": today, "ends": "2026-12-31",
                    "lead": "县委副书记", "battles": [{"name": "问题清仓", "leader": "李四"},
                                                  {"name": "民生实事", "leader": "王五"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let id = c["id"].as_u64().unwrap();
    let items = |v: Value| (format!("/api/v1/campaigns/{id}/items"), v);
    // A dispute count belongs to a township; a bad row says which.
    let (path, body) = items(json!([
        {"battle": 1, "title": "住建超期清仓", "owner": HOUSING, "leader": "李四",
         "due": {"date": "2026-12-20"}, "measure": {"kind": "backlog"}, "target": 100.0},
        {"battle": 1, "title": "住建纠纷", "owner": HOUSING, "leader": "李四",
         "due": {"date": "2026-12-20"}, "measure": {"kind": "disputes"}, "target": 95.0}
    ]));
    let (s, e) = app.post("dispatcher", &path, &body).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(e["message"].as_str().unwrap().contains("第 2 条"), "{e}");
    let (path, body) = items(json!([
        {"battle": 1, "title": "住建超期清仓", "owner": HOUSING, "leader": "李四",
         "due": {"date": "2026-12-20"}, "measure": {"kind": "backlog"}, "target": 100.0},
        {"battle": 2, "title": "新建口袋公园", "owner": HOUSING, "leader": "王五",
         "due": {"working_days": 20}, "measure": {"kind": "reported"}, "unit": "个",
         "baseline": 0.0, "target": 10.0},
        {"battle": 2, "title": "县乡公路改造", "owner": TRANSPORT, "leader": "王五",
         "due": {"date": "2026-12-31"}, "measure": {"kind": "reported"}, "unit": "公里",
         "baseline": 0.0, "target": 5.0}
    ]));
    let (s, c) = app.post("dispatcher", &path, &body).await;
    assert_eq!(s, StatusCode::OK, "{c}");
    // The backlog is the two appeals overdue when it began; nothing cleared yet.
    let backlog = item(&c, 1);
    assert_eq!(
        backlog["evidence"],
        json!({"of": 2, "done": 0}),
        "{backlog}"
    );
    assert_eq!(backlog["actual"], json!(0.0));
    assert_eq!(backlog["self_reported"], json!(false));

    // One of them is closed: half of the backlog.
    app.ok(
        "housing",
        &a1,
        json!({"action": "contact", "note": "已联系"}),
    )
    .await;
    app.ok(
        "housing",
        &a1,
        json!({"action": "reply", "result": "resolved", "text": "已修复"}),
    )
    .await;
    app.ok("visitor", &a1, json!({"action": "return_visit", "contacted": true, "resolved": true, "rating": "satisfied", "comment": "满意"}))
        .await;
    app.ok("dispatcher", &a1, json!({"action": "close"})).await;
    let (_, c) = app.get("leader", &format!("/api/v1/campaigns/{id}")).await;
    let backlog = item(&c, 1);
    assert_eq!(
        backlog["evidence"],
        json!({"of": 2, "done": 1}),
        "{backlog}"
    );
    assert_eq!(backlog["actual"], json!(50.0));
    assert_eq!(backlog["status"], "active");
    // A computed item takes no report (减负: the platform knows).
    let (s, e) = app
        .post(
            "housing",
            &format!("/api/v1/campaigns/{id}/items/1/reports"),
            &json!({"value": 100.0}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");

    // A self-report: another unit may not make it; the owner's counts once confirmed.
    let (s, _) = app
        .post(
            "transport",
            &format!("/api/v1/campaigns/{id}/items/2/reports"),
            &json!({"value": 4.0}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let scan = pdf("验收单");
    let form = reqwest::multipart::Form::new()
        .text(
            "report",
            json!({"value": 4.0, "note": "已建成4个"}).to_string(),
        )
        .part(
            "file",
            reqwest::multipart::Part::bytes(scan.clone()).file_name("验收单.pdf"),
        );
    let r = app
        .client
        .post(app.url(&format!("/api/v1/campaigns/{id}/items/2/reports")))
        .bearer_auth(app.token("housing"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let c: Value = r.json().await.unwrap();
    let park = item(&c, 2);
    assert_eq!(park["actual"], Value::Null, "not confirmed yet: {park}");
    assert_eq!(park["pending"], 1);
    let sha = park["reports"][0]["files"][0]["sha256"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, _) = app
        .post(
            "housing",
            &format!("/api/v1/campaigns/{id}/items/2/reports/1/review"),
            &json!({"confirmed": true}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "an owner does not confirm itself");
    let (s, c) = app
        .post(
            "leader",
            &format!("/api/v1/campaigns/{id}/items/2/reports/1/review"),
            &json!({"confirmed": true}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(item(&c, 2)["actual"], json!(4.0));
    assert_eq!(item(&c, 2)["self_reported"], json!(true));
    let r = app
        .client
        .get(app.url(&format!("/api/v1/campaigns/{id}/items/2/files/{sha}")))
        .bearer_auth(app.token("leader"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.bytes().await.unwrap().to_vec(), scan);

    // An import: every bad row with its line and all its problems; a dry run writes nothing.
    let csv = "战役,事项,责任单位,责任领导,完成时限,计量方式,计量单位,基数,目标值,节点\n\
               民生实事,新建公厕,县水利局,王五,2026-12-20,自报,座,0,5,\n\
               民生实事,修缮祠堂,县不存在局,王五,2026-12-20,自报,座,0,2,\n\
               问题清仓,乱填一行,县交通局,王五,2026-13-01,瞎报,,x,,\n";
    let import = |dry: bool| {
        app.client
            .post(app.url(&format!(
                "/api/v1/campaigns/{id}/items/import?dry_run={dry}"
            )))
            .bearer_auth(app.token("dispatcher"))
            .body(csv.as_bytes().to_vec())
            .send()
    };
    let r: Value = import(true).await.unwrap().json().await.unwrap();
    assert_eq!(r["imported"], 1, "{r}");
    assert_eq!(r["dry_run"], true);
    let bad = r["bad_rows"].as_array().unwrap();
    assert_eq!(
        bad.iter()
            .map(|b| b["line"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        vec![3, 4],
        "{r}"
    );
    assert!(bad[0]["reason"].as_str().unwrap().contains("县不存在局"));
    let why = bad[1]["reason"].as_str().unwrap();
    for part in ["2026-13-01", "瞎报", "基数"] {
        assert!(why.contains(part), "every problem of the row: {why}");
    }
    let (_, c) = app.get("leader", &format!("/api/v1/campaigns/{id}")).await;
    assert_eq!(
        c["items"].as_array().unwrap().len(),
        3,
        "a dry run writes nothing"
    );
    let r: Value = import(false).await.unwrap().json().await.unwrap();
    assert_eq!(r["imported"], 1, "{r}");
    let r: Value = import(false).await.unwrap().json().await.unwrap();
    assert_eq!(r["imported"], 0, "the same row twice is refused: {r}");
    assert!(r["bad_rows"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("已有"));
    // A county's own workbook: a deadline typed as an Excel date, numbers as numbers,
    // milestones in one cell.
    let mut wb = rust_xlsxwriter::Workbook::new();
    let sheet = wb.add_worksheet();
    for (c, h) in [
        "战役",
        "事项",
        "责任单位",
        "责任领导",
        "完成时限",
        "计量方式",
        "节点",
    ]
    .iter()
    .enumerate()
    {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    sheet.write_string(1, 0, "民生实事").unwrap();
    sheet.write_string(1, 1, "城东菜市场改造").unwrap();
    sheet.write_string(1, 2, "城关镇").unwrap();
    sheet.write_string(1, 3, "王五").unwrap();
    let date = rust_xlsxwriter::ExcelDateTime::from_ymd(2026, 12, 28).unwrap();
    let fmt = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
    sheet.write_datetime_with_format(1, 4, &date, &fmt).unwrap();
    sheet.write_string(1, 5, "节点").unwrap();
    sheet
        .write_string(1, 6, "完成设计:2026-12-10；竣工:2026-12-28")
        .unwrap();
    let r: Value = app
        .client
        .post(app.url(&format!("/api/v1/campaigns/{id}/items/import")))
        .bearer_auth(app.token("dispatcher"))
        .body(wb.save_to_buffer().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            r["imported"].as_u64(),
            r["bad_rows"].as_array().map(Vec::len)
        ),
        (Some(1), Some(0)),
        "{r}"
    );
    let (_, c) = app.get("leader", &format!("/api/v1/campaigns/{id}")).await;
    let market = item(&c, 5);
    assert_eq!(market["due"], "2026-12-28", "{market}");
    assert_eq!(market["milestones"].as_array().unwrap().len(), 2);
    assert_eq!(market["goal"], 2.0);
    let (s, w) = app
        .get("leader", &format!("/api/v1/campaigns/{id}/weekly"))
        .await;
    assert_eq!(s, StatusCode::OK, "{w}");

    // 四比: a monthly scheme of one indicator with a minimum volume of two items.
    let formula = json!({"terms": [{"indicator": "campaign_progress", "weight": 1.0, "min_volume": 2}],
                         "red": 1, "grey": 0});
    let (s, _) = app
        .post(
            "housing",
            "/api/v1/evaluations/schemes",
            &json!({"name": "月度调研提示", "cadence": "monthly", "formula": formula}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, scheme) = app
        .post(
            "dispatcher",
            "/api/v1/evaluations/schemes",
            &json!({"name": "月度调研提示", "cadence": "monthly", "formula": formula}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{scheme}");
    let open = json!({"scheme": scheme["id"], "first": "2026-11-01"});
    let (s, e) = app.post("dispatcher", "/api/v1/evaluations", &open).await;
    assert_eq!(s, StatusCode::CREATED, "{e}");
    let (s, dup) = app.post("dispatcher", "/api/v1/evaluations", &open).await;
    assert_eq!(
        (s, dup["code"].as_str()),
        (StatusCode::CONFLICT, Some("evaluation_exists"))
    );
    let eid = e["id"].as_u64().unwrap();
    let standing = |e: &Value, unit: u32| -> Value {
        e["standings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["unit"] == unit)
            .cloned()
            .unwrap_or_else(|| panic!("no unit {unit} in {e}"))
    };
    // By hand: the backlog is half cleared (0.5), the parks 4 of 10 (0.4): 45.00. Transport,
    // water and the township have one item each, under the minimum of two: not ranked.
    assert_eq!(e["live"], true);
    let h = standing(&e, HOUSING);
    assert_eq!(
        (h["score"].as_f64(), h["rank"].as_u64()),
        (Some(45.0), Some(1)),
        "{h}"
    );
    assert_eq!(h["board"], "red");
    for unit in [TRANSPORT, WATER, TOWN] {
        let s = standing(&e, unit);
        assert_eq!(s["score"], Value::Null, "{s}");
        assert!(s["note"].as_str().unwrap().contains("样本不足"), "{s}");
    }
    assert_eq!(standing(&e, TRANSPORT)["terms"][0]["volume"], 1);
    let (s, _) = app.get("housing", "/api/v1/evaluations").await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "drafts are not the units' to read"
    );
    // Not before the month is over.
    let (s, _) = app
        .post(
            "dispatcher",
            &format!("/api/v1/evaluations/{eid}/publish"),
            &json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    app.clock.set(
        bihuan_domain::time::start_of_day(chrono::NaiveDate::from_ymd_opt(2026, 12, 2).unwrap())
            + chrono::Duration::hours(2),
    );
    let (s, p) = app
        .post(
            "dispatcher",
            &format!("/api/v1/evaluations/{eid}/publish"),
            &json!({"note": "公开晾晒"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(p["live"], false);
    assert_eq!(standing(&p, HOUSING)["score"].as_f64(), Some(45.0));

    // Later: the parks' target doubles and the formula gets a second version. A live
    // evaluation of the same month moves; the published one does not.
    let (s, r) = app
        .post(
            "dispatcher",
            &format!("/api/v1/campaigns/{id}/items/2/revise"),
            &json!({"target": 20.0, "reason": "扩大建设规模"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let v2 = json!({"terms": [{"indicator": "campaign_progress", "weight": 1.0, "min_volume": 2},
                              {"indicator": "on_time_completion", "weight": 1.0, "min_volume": 1}],
                    "red": 1, "grey": 0});
    let (s, sv) = app
        .post(
            "dispatcher",
            &format!("/api/v1/evaluations/schemes/{}/formula", scheme["id"]),
            &v2,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{sv}");
    assert_eq!(sv["formula"]["version"], 2);
    let (_, other) = app
        .post(
            "dispatcher",
            "/api/v1/evaluations/schemes",
            &json!({"name": "对照方案", "cadence": "monthly", "formula": formula}),
        )
        .await;
    let (_, live) = app
        .post(
            "dispatcher",
            "/api/v1/evaluations",
            &json!({"scheme": other["id"], "first": "2026-11-01"}),
        )
        .await;
    assert_eq!(
        standing(&live, HOUSING)["score"].as_f64(),
        Some(35.0),
        "(0.5 + 4/20) / 2, live: {live}"
    );
    let (_, frozen) = app
        .get("leader", &format!("/api/v1/evaluations/{eid}"))
        .await;
    assert_eq!(frozen["published"], true);
    assert_eq!(standing(&frozen, HOUSING)["score"].as_f64(), Some(45.0));
    assert_eq!(frozen["formula"]["version"], 1, "{frozen}");
    let (s, _) = app
        .post(
            "dispatcher",
            &format!("/api/v1/evaluations/{eid}/publish"),
            &json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "published once");
    // The public board: no login, the frozen figures, no person's name.
    let r = app
        .client
        .get(app.url("/api/v1/evaluations/published"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let text = r.text().await.unwrap();
    let public: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(public.as_array().unwrap().len(), 1, "{public}");
    assert_eq!(public[0]["formula_version"], 1);
    assert_eq!(standing(&public[0], HOUSING)["score"].as_f64(), Some(45.0));
    assert!(!text.contains("dispatcher用户"), "{text}");
    let board = app
        .client
        .get(app.url(&format!("/board/evaluations/{eid}")))
        .send()
        .await
        .unwrap();
    assert_eq!(board.status(), StatusCode::OK);
    let html = board.text().await.unwrap();
    assert!(
        html.contains("县住建局") && html.contains("45.00"),
        "{html}"
    );
    assert!(!html.contains("dispatcher用户"));
}
