//! 一件事一次办 (issue 19) through the API: a package of matters of two units under one
//! promise (the joint-handling cap refused), an application checked once (the main material
//! cannot be waived, the one-time notice only once), a deemed acceptance by the scan, parallel
//! tasks decided in any order with a 补正 stopping one clock, the results issued together,
//! scoping by unit, and the efficiency figures.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

fn matter(code: &str, unit: u32, promised: u32, materials: Value) -> Value {
    json!({"code": code, "name": format!("{code}许可"), "unit": unit, "statutory_days": 20,
           "promised_days": promised, "materials": materials,
           "fields": [{"key": "site", "label": "生产经营地址", "required": true}]})
}

fn first17_uscc() -> String {
    let head = "91330100MA2B3C4D5";
    format!(
        "{head}{}",
        bihuan_domain::approvals::uscc_check(head).unwrap()
    )
}

async fn apply(app: &TestApp, package: u64, materials: &[&str]) -> Value {
    let (s, a) = app
        .post(
            "operator",
            "/api/v1/applications",
            &json!({"package": package,
                    "applicant": {"kind": "enterprise", "name": "渥江香料有限公司",
                                  "credit_code": first17_uscc(), "contact": "陈晓明",
                                  "phone": "13800001111"},
                    "fields": {"site": "渥江镇工业园3号"},
                    "materials": materials.iter().map(|c| json!({"code": c, "file": format!("{c}.pdf")})).collect::<Vec<_>>()}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    a
}

pub async fn a_package_is_applied_for_once_and_approved_in_parallel(app: TestApp) {
    // The catalogue: a department may not keep it; the centre does.
    let m1 = matter(
        "SP-01",
        HOUSING,
        10,
        json!([{"code": "licence", "name": "营业执照", "shared_from": "市场监管"},
               {"code": "plan", "name": "车间平面图", "waivable": true}]),
    );
    let (s, _) = app.post("housing", "/api/v1/matters", &m1).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, a) = app.post("dispatcher", "/api/v1/matters", &m1).await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    let (s, e) = app.post("dispatcher", "/api/v1/matters", &m1).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "the code once: {e}");
    let (s, e) = app
        .post(
            "dispatcher",
            "/api/v1/matters",
            &matter("SP-09", WATER, 25, json!([])),
        )
        .await;
    assert_eq!(
        (s, e["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("promised_days")),
        "a promise past the statutory limit: {e}"
    );
    let (_, b) = app
        .post(
            "dispatcher",
            "/api/v1/matters",
            &matter(
                "SP-02",
                WATER,
                12,
                json!([{"code": "plan", "name": "车间平面图", "waivable": true},
                       {"code": "eia", "name": "环评批复"}]),
            ),
        )
        .await;
    let (ma, mb) = (a["id"].as_u64().unwrap(), b["id"].as_u64().unwrap());
    // A package over the joint-handling cap is refused; 15 working days is accepted.
    let spec = |days: u32| {
        json!({"name": "香精香料产业链一件事", "lead": COUNTY, "promised_days": days,
               "matters": [ma, mb]})
    };
    let (s, e) = app.post("dispatcher", "/api/v1/packages", &spec(46)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(e["message"].as_str().unwrap().contains("45"), "{e}");
    let (s, p) = app.post("dispatcher", "/api/v1/packages", &spec(15)).await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    let package = p["id"].as_u64().unwrap();
    let codes: Vec<&str> = p["materials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, vec!["licence", "plan", "eia"], "one list: {p}");
    assert_eq!(p["serial_statutory_days"], 40);

    // An application with a bad credit code, a missing required field, or a shared material
    // handed in again is refused with what to do.
    let (s, e) = app
        .post(
            "operator",
            "/api/v1/applications",
            &json!({"package": package,
                    "applicant": {"kind": "enterprise", "name": "某公司", "credit_code": "91330100MA2B3C4D50",
                                  "contact": "陈", "phone": "13800001111"},
                    "fields": {"site": "x"}}),
        )
        .await;
    assert_eq!(
        (s, e["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("credit_code")),
        "{e}"
    );
    let (s, e) = app
        .post(
            "operator",
            "/api/v1/applications",
            &json!({"package": package,
                    "applicant": {"kind": "person", "name": "陈晓明", "contact": "陈晓明", "phone": "13800001111"},
                    "materials": [{"code": "licence", "file": "执照.pdf"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let a1 = apply(&app, package, &["plan"]).await;
    let id1 = a1["id"].as_u64().unwrap();
    // The query code is in the submission's answer only, and only its digest is kept.
    let code = a1["query_code"].as_str().unwrap().to_string();
    assert_eq!(code.len(), 8, "{a1}");
    assert!(a1.get("query_digest").is_none(), "{a1}");
    assert_eq!(
        a1["check_due"], "2026-11-09",
        "five working days after Monday 2 November"
    );
    assert_eq!(
        a1["missing_codes"],
        json!(["eia"]),
        "the shared licence is not asked for"
    );
    // The environmental approval is a main material: it cannot be waived.
    let (s, e) = app
        .post(
            "operator",
            &format!("/api/v1/applications/{id1}/accept"),
            &json!({"waive": [{"code": "eia", "days": 5}], "commitment": "承诺补交"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(e["message"].as_str().unwrap().contains("主要材料"), "{e}");
    // The one-time notice, once; then the applicant hands it in and the window accepts.
    let notice = json!({"missing": [{"code": "eia", "note": "请提交环评批复原件扫描件"}]});
    let (s, n) = app
        .post(
            "operator",
            &format!("/api/v1/applications/{id1}/notice"),
            &notice,
        )
        .await;
    assert_eq!(
        (s, n["status"].as_str()),
        (StatusCode::OK, Some("noticed")),
        "{n}"
    );
    let (s, _) = app
        .post(
            "operator",
            &format!("/api/v1/applications/{id1}/notice"),
            &notice,
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "once");
    app.clock.advance(chrono::Duration::days(1));
    let (s, h) = app
        .post(
            "operator",
            &format!("/api/v1/applications/{id1}/materials"),
            &json!({"materials": [{"code": "eia", "file": "环评批复.pdf"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{h}");
    let (s, acc) = app
        .post(
            "operator",
            &format!("/api/v1/applications/{id1}/accept"),
            &json!({}),
        )
        .await;
    assert_eq!(
        (s, acc["status"].as_str()),
        (StatusCode::OK, Some("accepted")),
        "{acc}"
    );
    // Accepted Tuesday 3 November: the package's 15 working days end on 24 November.
    assert_eq!(acc["due"], "2026-11-24", "{acc}");

    // Scoped by unit: housing and water see it, transport does not; lists mask the contact.
    let (_, list) = app.get("water", "/api/v1/applications").await;
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert!(!list.to_string().contains("13800001111"), "{list}");
    let (_, list) = app.get("transport", "/api/v1/applications").await;
    assert_eq!(list, json!([]));
    let (s, _) = app
        .get("transport", &format!("/api/v1/applications/{id1}"))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app.get("grid", "/api/v1/applications").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, mine) = app
        .get("water", &format!("/api/v1/applications/{id1}"))
        .await;
    assert_eq!(
        mine["applicant"]["phone"], "13800001111",
        "the task's unit calls: {mine}"
    );

    // Parallel: water asks for a correction (its clock stops), housing decides first; only a
    // task's own unit acts on it.
    let task = |m: u64, what: &str| format!("/api/v1/applications/{id1}/tasks/{m}/{what}");
    let (s, _) = app
        .post(
            "housing",
            &task(mb, "stop"),
            &json!({"kind": "correction", "reason": "补正排污口位置图"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "not housing's task");
    let (s, st) = app
        .post(
            "water",
            &task(mb, "stop"),
            &json!({"kind": "correction", "reason": "补正排污口位置图"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{st}");
    let (s, _) = app
        .post(
            "water",
            &task(mb, "decide"),
            &json!({"decision": "approve", "result": "取水许可证 001号"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "stopped: resume first");
    let (s, d) = app
        .post(
            "housing",
            &task(ma, "decide"),
            &json!({"decision": "approve", "result": "许可证 2026-018号"}),
        )
        .await;
    assert_eq!(
        (s, d["status"].as_str()),
        (StatusCode::OK, Some("accepted")),
        "{d}"
    );
    app.clock.advance(chrono::Duration::days(2)); // Thursday 5 November
    let (_, r) = app.post("water", &task(mb, "resume"), &json!({})).await;
    assert_eq!(r["clocks"][1]["stopped_days"], 2, "{r}");
    assert_eq!(
        r["due"], "2026-11-26",
        "the package's promise moved on by two: {r}"
    );
    let (s, d) = app
        .post(
            "water",
            &task(mb, "decide"),
            &json!({"decision": "approve", "result": "取水许可证 001号"}),
        )
        .await;
    assert_eq!(
        (s, d["status"].as_str()),
        (StatusCode::OK, Some("decided")),
        "{d}"
    );
    let (s, i) = app
        .post(
            "operator",
            &format!("/api/v1/applications/{id1}/issue"),
            &json!({}),
        )
        .await;
    assert_eq!(
        (s, i["status"].as_str()),
        (StatusCode::OK, Some("issued")),
        "{i}"
    );
    let (_, detail) = app
        .get("operator", &format!("/api/v1/applications/{id1}"))
        .await;
    let whats: Vec<&str> = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["what"].as_str().unwrap())
        .collect();
    assert_eq!(whats.len(), 9, "one timeline: {whats:?}");
    assert!(whats[1].starts_with("一次性告知"), "{whats:?}");
    assert!(whats.last().unwrap().contains("统一出证"), "{whats:?}");

    // The applicant looks it up on the portal with the number and the code; a wrong code is
    // refused, and a new code (a reprinted receipt) replaces the old one.
    let track = |code: String| {
        let form = [("number", id1.to_string()), ("code", code)];
        let req = app
            .client
            .post(app.url("/portal/approvals/track"))
            .header("origin", app.base.clone())
            .form(&form);
        async move {
            let r = req.send().await.unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };
    let (s, page) = track(code.clone()).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(
        page.contains("已出证") && page.contains("取水许可证 001号"),
        "{page}"
    );
    assert!(
        !page.contains("13800001111") && !page.contains("water用户"),
        "no contact, no officer"
    );
    let wrong = if code == "00000000" {
        "00000001"
    } else {
        "00000000"
    };
    let (s, _) = track(wrong.to_string()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, fresh) = app
        .post(
            "operator",
            &format!("/api/v1/applications/{id1}/query-code"),
            &json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{fresh}");
    let new_code = fresh["query_code"].as_str().unwrap().to_string();
    let (s, _) = track(code.clone()).await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the old code stops working"
    );
    let (s, _) = track(new_code).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app
        .post(
            "water",
            &format!("/api/v1/applications/{id1}/query-code"),
            &json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "the window gives codes");

    // Another, left unchecked past its five working days: the scan accepts it as of receipt.
    let a2 = apply(&app, package, &["plan", "eia"]).await;
    let id2 = a2["id"].as_u64().unwrap();
    assert_eq!(a2["check_due"], "2026-11-12");
    app.clock.advance(chrono::Duration::days(8)); // Friday 13 November
    let n = bihuan_server::approvals::scan(&app.state, app.state.clock.now())
        .await
        .unwrap();
    assert_eq!(n, 1);
    let (_, d2) = app
        .get("operator", &format!("/api/v1/applications/{id2}"))
        .await;
    assert_eq!(d2["accepted_how"], "deemed", "{d2}");
    assert_eq!(d2["accepted_at"], d2["received_at"], "{d2}");
    // 延期 (Art 42): the unit's leader, not its handler, up to 10 working days, once.
    let ext = json!({"matter": ma, "days": 5, "reason": "需现场核查生产场所"});
    let (s, _) = app
        .post(
            "housing",
            &format!("/api/v1/applications/{id2}/extend"),
            &ext,
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, x) = app
        .post(
            "housing-lead",
            &format!("/api/v1/applications/{id2}/extend"),
            &ext,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{x}");
    assert_eq!(x["tasks"][0]["extension_days"], 5, "{x}");
    let (s, e) = app
        .post(
            "operator",
            &format!("/api/v1/applications/{id2}/notice"),
            &notice,
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");

    // The figures for November: one decided on time; two checks, one in time.
    let (s, eff) = app
        .get("leader", "/api/v1/approval-efficiency?period=month:2026-11")
        .await;
    assert_eq!(s, StatusCode::OK, "{eff}");
    assert_eq!(
        (eff["decided"].as_u64(), eff["on_time"].as_u64()),
        (Some(1), Some(1)),
        "{eff}"
    );
    assert_eq!(eff["on_time_rate"], 1.0);
    assert_eq!(
        (eff["checked"].as_u64(), eff["checked_in_time"].as_u64()),
        (Some(2), Some(1)),
        "{eff}"
    );
    // Housing decided on 3 November, the day of acceptance: 0 working days.
    let housing = eff["matters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["code"] == "SP-01")
        .unwrap();
    assert_eq!(housing["average_days"], 0.0, "{housing}");
    let (_, rates) = app
        .get("leader", "/api/v1/rates?period=month:2026-11")
        .await;
    let ae = rates["five_rates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "approval_efficiency")
        .cloned()
        .unwrap();
    assert_eq!(
        (ae["value"].as_f64(), ae["entered"].as_bool()),
        (Some(1.0), Some(false)),
        "{ae}"
    );

    // The answers carry exactly what the OpenAPI document says.
    let (_, doc) = app.get("admin", "/api/v1/openapi.json").await;
    crate::usecases::conforms(&doc, "ApplicationDetail", &detail);
    for step in detail["timeline"].as_array().unwrap() {
        crate::usecases::conforms(&doc, "ApplicationStep", step);
    }
    crate::usecases::conforms(&doc, "PackageView", &p);
    crate::usecases::conforms(&doc, "MatterView", &a);
    crate::usecases::conforms(&doc, "EfficiencyView", &eff);
}

/// A small PDF (the header and the end-of-file marker a PDF's upload is checked by).
fn pdf(text: &str) -> Vec<u8> {
    format!("%PDF-1.4\n% {text}\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
        .into_bytes()
}

fn part(name: &str, data: Vec<u8>) -> reqwest::multipart::Part {
    reqwest::multipart::Part::bytes(data).file_name(name.to_string())
}

/// Materials are uploaded once with the one form (stored with the application in the same
/// transaction: a file that is not what its name says refuses the whole application), read
/// back only by those who may see the application, and the one-time notice is answered by
/// the applicant online with the number and query code.
pub async fn materials_are_uploaded_once_and_answered_online(app: TestApp) {
    let spec = matter(
        "SP-11",
        WATER,
        10,
        json!([{"code": "plan", "name": "车间平面图"}, {"code": "eia", "name": "环评批复"}]),
    );
    let (s, m) = app.post("dispatcher", "/api/v1/matters", &spec).await;
    assert_eq!(s, StatusCode::CREATED, "{m}");
    let (_, m2) = app
        .post(
            "dispatcher",
            "/api/v1/matters",
            &matter(
                "SP-12",
                HOUSING,
                8,
                json!([{"code": "plan", "name": "车间平面图"}]),
            ),
        )
        .await;
    let (s, p) = app
        .post(
            "dispatcher",
            "/api/v1/packages",
            &json!({"name": "取水一件事", "lead": COUNTY, "promised_days": 10,
                    "matters": [m["id"], m2["id"]]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    let application = json!({"package": p["id"],
        "applicant": {"kind": "person", "name": "陈晓明", "contact": "陈晓明", "phone": "13800001111"},
        "fields": {"site": "渥江镇工业园3号"}});
    let submit = |files: Vec<(&'static str, &'static str, Vec<u8>)>| {
        let mut form = reqwest::multipart::Form::new().text("application", application.to_string());
        for (code, name, data) in files {
            form = form.part(format!("material:{code}"), part(name, data));
        }
        app.client
            .post(app.url("/api/v1/applications"))
            .bearer_auth(app.token("operator"))
            .multipart(form)
            .send()
    };
    // A "PDF" that is a web page refuses the application: none is made, no file kept.
    let r = submit(vec![("plan", "平面图.pdf", b"<html>x</html>".to_vec())])
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let (_, list) = app.get("operator", "/api/v1/applications").await;
    assert_eq!(list, json!([]));
    let plan = pdf("plan");
    let r = submit(vec![("plan", "车间平面图.pdf", plan.clone())])
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let a: Value = r.json().await.unwrap();
    let id = a["id"].as_u64().unwrap();
    let code = a["query_code"].as_str().unwrap().to_string();
    let handed = &a["handed"][0];
    assert_eq!(
        (handed["code"].as_str(), handed["file"].as_str()),
        (Some("plan"), Some("车间平面图.pdf")),
        "{a}"
    );
    assert_eq!(handed["size"], plan.len());
    assert_eq!(handed["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(a["missing_codes"], json!(["eia"]));
    // Read back by the window and the task's unit, not by another unit; a material without a
    // file is not found.
    let file = |login: &'static str, code: &'static str| {
        app.client
            .get(app.url(&format!("/api/v1/applications/{id}/materials/{code}")))
            .bearer_auth(app.token(login))
            .send()
    };
    let r = file("water", "plan").await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    assert_eq!(r.bytes().await.unwrap().to_vec(), plan);
    assert_eq!(
        file("transport", "plan").await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        file("operator", "eia").await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    // A multipart body without its application part says what is missing.
    let r = app
        .client
        .post(app.url("/api/v1/applications"))
        .bearer_auth(app.token("operator"))
        .multipart(reqwest::multipart::Form::new().part("material:plan", part("a.pdf", pdf("a"))))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["code"], "bad_multipart", "{e}");

    // The one-time notice, answered online by the applicant with the receipt's number and code.
    let (s, n) = app
        .post(
            "operator",
            &format!("/api/v1/applications/{id}/notice"),
            &json!({"missing": [{"code": "eia", "note": "请上传盖章的环评批复"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{n}");
    let answer = |code: String, data: Vec<u8>| {
        let form = reqwest::multipart::Form::new()
            .text("number", id.to_string())
            .text("code", code)
            .part("material:eia", part("环评批复.pdf", data));
        app.client
            .post(app.url("/portal/approvals/answer"))
            .header("origin", app.base.clone())
            .multipart(form)
            .send()
    };
    let wrong = if code == "00000000" {
        "11111111"
    } else {
        "00000000"
    };
    let r = answer(wrong.to_string(), pdf("eia")).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("查询码不对"));
    let r = answer(code.clone(), b"not a pdf".to_vec()).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(page.contains("网上补交材料"), "the form again: {page}");
    let eia = pdf("eia");
    let r = answer(code.clone(), eia.clone()).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    assert!(page.contains("已收到补交的 1 项材料"), "{page}");
    assert!(
        !page.contains("网上补交材料"),
        "nothing more to hand in: {page}"
    );
    // The same page sent again: its file is not silently dropped, the applicant is told.
    let r = answer(code.clone(), pdf("again")).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("页面已过期"));
    let (_, d) = app
        .get("operator", &format!("/api/v1/applications/{id}"))
        .await;
    assert_eq!(d["missing_codes"], json!([]), "{d}");
    assert_eq!(
        d["timeline"].as_array().unwrap().last().unwrap()["by"],
        "申请人网上补交",
        "{d}"
    );
    let r = file("operator", "eia").await.unwrap();
    assert_eq!(r.bytes().await.unwrap().to_vec(), eia);
}
