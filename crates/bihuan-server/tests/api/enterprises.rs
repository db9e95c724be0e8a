//! 楼格格 + e见帮办 (issue 22) through the API: a credit code checked by its check character,
//! buildings and enterprises scoped by team, a demand found on a visit carried through the loop
//! and counted as solved only when the enterprise is satisfied, a payment complaint on its
//! statutory clocks, policies matched by rule and dates, financing totals.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

async fn building(app: &TestApp, name: &str) -> u64 {
    let (s, v) = app
        .post(
            "dispatcher",
            "/api/v1/buildings",
            &json!({"name": name, "address": format!("城关镇东门路{name}"), "grid": GRID, "floors": 20,
                    "units": ["1201", "1202", "0305"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["id"].as_u64().unwrap()
}

fn enterprise(code: &str, name: &str, building: u64) -> Value {
    json!({"code": code, "name": name, "industry": "制造业", "size": "小型", "founded": "2024-03-15",
           "contact": "李建华", "phone": "13911112222", "building": building, "unit": "1201",
           "since": "2024-04-01"})
}

async fn close_satisfied(app: &TestApp, number: &str, rating: &str) {
    app.ok(
        "dispatcher",
        number,
        json!({"action": "dispatch", "lead": TOWN}),
    )
    .await;
    app.ok("town", number, json!({"action": "sign"})).await;
    app.ok(
        "town",
        number,
        json!({"action": "contact", "note": "已联系企业"}),
    )
    .await;
    app.ok(
        "town",
        number,
        json!({"action": "reply", "result": "resolved", "text": "已对接县农商银行"}),
    )
    .await;
    app.ok("visitor", number, json!({"action": "return_visit", "contacted": true, "resolved": true, "rating": rating, "comment": "回访"}))
        .await;
    let (s, v) = app
        .act(
            "dispatcher",
            number,
            json!({"action": "close", "note": "企业不满意，已说明情况"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

pub async fn enterprises_are_served_by_teams_and_their_demands_close_the_loop(app: TestApp) {
    let b1 = building(&app, "创业大厦").await;
    let b2 = building(&app, "金融中心").await;
    // The credit code is checked by its check character.
    let (s, e) = app
        .post(
            "dispatcher",
            "/api/v1/enterprises",
            &enterprise("91350100M000100Y44", "坏码公司", b1),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(e["message"].as_str().unwrap().contains("校验位"), "{e}");
    let (s, e) = app
        .post("dispatcher", "/api/v1/enterprises", &json!({"code": "91350100M000100Y43", "name": "x", "industry": "制造业", "size": "巨型", "founded": "2024-03-15", "contact": "李"}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("微型、小型、中型、大型"),
        "{e}"
    );
    let (s, e1) = app
        .post(
            "dispatcher",
            "/api/v1/enterprises",
            &enterprise("91350100M000100Y43", "云溪智造科技有限公司", b1),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{e1}");
    let e1 = e1["id"].as_u64().unwrap();
    let (s, again) = app
        .post(
            "dispatcher",
            "/api/v1/enterprises",
            &enterprise("91350100m000100y43", "重复登记", b2),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "one code, one enterprise: {again}"
    );
    let (_, e2) = app
        .post(
            "dispatcher",
            "/api/v1/enterprises",
            &enterprise("91110000802100433B", "金桥商贸有限公司", b2),
        )
        .await;
    let e2 = e2["id"].as_u64().unwrap();

    // Two teams: a department's cadre serves the first building, another the second.
    let housing = app.user_id("housing").await;
    let transport = app.user_id("transport").await;
    let (s, t1) = app
        .post(
            "dispatcher",
            "/api/v1/service-teams",
            &json!({"name": "楼格格第一服务队", "unit": TOWN, "members": [{"user": housing, "duty": "干部"}], "buildings": [b1]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t1}");
    let t1 = t1["id"].as_u64().unwrap();
    let (_, t2) = app
        .post(
            "dispatcher",
            "/api/v1/service-teams",
            &json!({"name": "楼格格第二服务队", "unit": TOWN, "members": [{"user": transport, "duty": "干部"}], "buildings": [b2]}),
        )
        .await;
    let t2 = t2["id"].as_u64().unwrap();
    let (s, _) = app
        .post(
            "grid",
            "/api/v1/service-teams",
            &json!({"name": "x", "unit": TOWN, "members": [{"user": housing, "duty": "干部"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "grid members do not set up teams");

    // Scoping per team: each cadre sees their team's building and its enterprises only.
    let names = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, mine) = app.get("housing", "/api/v1/enterprises").await;
    assert_eq!(names(&mine), vec!["云溪智造科技有限公司"]);
    assert_eq!(mine[0]["phone"], "13911112222", "its team sees the contact");
    let (_, theirs) = app.get("transport", "/api/v1/enterprises").await;
    assert_eq!(names(&theirs), vec!["金桥商贸有限公司"]);
    let (s, _) = app
        .get("housing", &format!("/api/v1/enterprises/{e2}"))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "another team's enterprise");
    let (_, bs) = app.get("housing", "/api/v1/buildings").await;
    assert_eq!(bs.as_array().unwrap().len(), 1, "{bs}");
    let (_, all) = app.get("town", "/api/v1/enterprises").await;
    assert_eq!(
        all.as_array().unwrap().len(),
        2,
        "the township sees its area"
    );
    let (_, county) = app.get("leader", "/api/v1/enterprises").await;
    assert_eq!(county.as_array().unwrap().len(), 2);
    assert!(
        county[0]["phone"].as_str().unwrap().contains('*'),
        "masked for a reader who does not serve it: {county}"
    );
    let (s, _) = app
        .post(
            "transport",
            "/api/v1/service-visits",
            &json!({"team": t1, "building": b1, "on": "2026-11-02"}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "not their team");

    // A visit finds a financing demand: an appeal of channel 企业服务 with the enterprise.
    let (s, visit) = app
        .post(
            "housing",
            "/api/v1/service-visits",
            &json!({"team": t1, "building": b1, "on": "2026-11-02"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{visit}");
    assert_eq!(
        visit["enterprises"],
        json!([e1]),
        "the building's enterprises"
    );
    let vid = visit["id"].as_u64().unwrap();
    let (s, e) = app
        .post(
            "housing",
            &format!("/api/v1/service-visits/{vid}"),
            &json!({"offered": ["上门慰问"]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        e["message"].as_str().unwrap().contains("政策宣讲"),
        "lists the types: {e}"
    );
    let (s, done) = app
        .post(
            "housing",
            &format!("/api/v1/service-visits/{vid}"),
            &json!({"offered": ["政策宣讲", "融资对接"],
                    "demands": [{"enterprise": e1, "kind": "融资", "text": "申请流动资金贷款50万元"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{done}");
    let number = done["demands"][0]["appeal"].as_str().unwrap().to_string();
    let (_, appeal) = app
        .get("dispatcher", &format!("/api/v1/appeals/{number}"))
        .await;
    assert_eq!(appeal["channel"], "enterprise_service", "{appeal}");
    assert_eq!(appeal["citizen"]["organisation"], "云溪智造科技有限公司");
    assert_eq!(appeal["place"]["township"], TOWN);

    // A second demand, sent directly: the enterprise is satisfied with neither yet.
    let (s, direct) = app
        .post(
            "housing",
            &format!("/api/v1/enterprises/{e1}/demands"),
            &json!({"kind": "labour", "text": "急需招聘焊工10名"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{direct}");
    let second = direct["appeal"].as_str().unwrap().to_string();
    let figures = |login: &'static str| {
        let app = &app;
        async move {
            let (s, f) = app
                .get(
                    login,
                    "/api/v1/enterprise-figures?from=2026-01-01&to=2026-12-31",
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{f}");
            f
        }
    };
    let f = figures("dispatcher").await;
    assert_eq!(
        (
            f["total"]["demands"].as_u64(),
            f["total"]["solved"].as_u64()
        ),
        (Some(2), Some(0)),
        "{f}"
    );
    assert_eq!(f["total"]["buildings"], 2);
    assert_eq!(f["total"]["buildings_covered"], 2);
    assert_eq!(f["total"]["visited"], 1);

    // Closed with 满意: solved. Closed over 不满意: closed, not solved.
    close_satisfied(&app, &number, "satisfied").await;
    close_satisfied(&app, &second, "unsatisfied").await;
    let f = figures("dispatcher").await;
    assert_eq!(f["total"]["solved"], 1, "{f}");
    assert_eq!(
        (
            f["total"]["satisfied"].as_u64(),
            f["total"]["rated"].as_u64()
        ),
        (Some(1), Some(2))
    );
    assert_eq!(f["total"]["by_kind"]["融资"], json!([1, 1]));
    assert_eq!(f["total"]["by_kind"]["用工"], json!([1, 0]));
    let team = |f: &Value, id: u64| -> Value {
        f["teams"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["key"].as_str() == Some(id.to_string().as_str()))
            .unwrap()
            .clone()
    };
    assert_eq!(team(&f, t1)["demands"], 2, "{f}");
    assert_eq!(team(&f, t2)["demands"], 0);
    let (_, detail) = app
        .get("housing", &format!("/api/v1/enterprises/{e1}"))
        .await;
    let states: Vec<&str> = detail["demands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, vec!["solved", "closed_unsatisfied"], "{detail}");

    // A payment complaint runs on Art 25's clocks: forwarded within 10 working days.
    let (_, pay) = app
        .post(
            "housing",
            &format!("/api/v1/enterprises/{e1}/demands"),
            &json!({"kind": "payment", "text": "县某单位拖欠工程款38万元，逾期已三个月"}),
        )
        .await;
    let (_, appeal) = app
        .get(
            "dispatcher",
            &format!("/api/v1/appeals/{}", pay["appeal"].as_str().unwrap()),
        )
        .await;
    assert_eq!(appeal["kind"], "payment_complaint", "{appeal}");
    assert_eq!(appeal["policy"]["dispatch"], json!({"working_days": 10}));
    assert_eq!(appeal["policy"]["reply"], json!({"calendar_days": 30}));

    // Financing facilitated, by the team, counted once granted.
    let (s, f1) = app
        .post(
            "housing",
            &format!("/api/v1/enterprises/{e1}/financing"),
            &json!({"bank": "县农商银行", "asked": 500000, "team": t1, "on": "2026-11-02"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{f1}");
    let (s, _) = app
        .post(
            "housing",
            &format!("/api/v1/enterprises/{e1}/financing/0"),
            &json!({"granted": 400000, "on": "2026-11-02"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let f = figures("housing").await;
    assert_eq!(
        (
            f["total"]["financed"].as_u64(),
            f["total"]["financed_amount"].as_u64()
        ),
        (Some(1), Some(400000)),
        "{f}"
    );
    assert_eq!(team(&f, t1)["financed_amount"], 400000);
    assert_eq!(
        f["teams"].as_array().unwrap().len(),
        1,
        "a cadre's figures are their team's"
    );

    // Moving keeps the history.
    let (s, moved) = app
        .post(
            "dispatcher",
            &format!("/api/v1/enterprises/{e1}/move"),
            &json!({"direction": "in", "building": b2, "unit": "0305", "on": "2026-11-01", "reason": "扩大经营"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{moved}");
    assert_eq!(moved["stays"].as_array().unwrap().len(), 2);
    let (_, mine) = app.get("housing", "/api/v1/enterprises").await;
    assert_eq!(
        mine.as_array().unwrap().len(),
        0,
        "moved out of the team's building"
    );
}

pub async fn policies_are_matched_to_enterprises_by_rule_and_date(app: TestApp) {
    let policy = json!({
        "name": "小微企业首贷贴息", "source": "测试县促进中小企业发展若干措施（测政发〔2026〕3号）",
        "benefit": "首笔贷款贴息50%，最高5万元", "how_to_apply": "向县中小企业服务中心申请",
        "rule": {"industries": ["制造业"], "sizes": ["micro", "small"], "townships": [TOWN], "min_age_months": 6},
        "from": "2026-01-01", "until": "2026-12-31"
    });
    let (s, _) = app
        .post("grid", "/api/v1/policies-for-enterprises", &policy)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "the centre publishes policies");
    let (s, p) = app
        .post("dispatcher", "/api/v1/policies-for-enterprises", &policy)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    let mut later = policy.clone();
    later["name"] = json!("2027年技改补助");
    later["from"] = json!("2027-01-01");
    later["until"] = Value::Null;
    app.post("dispatcher", "/api/v1/policies-for-enterprises", &later)
        .await;
    // Anyone may ask, without logging in, what an enterprise like theirs may apply for.
    let ask = |q: &str| {
        let url = app.url(&format!("/api/v1/policies-for-enterprises/match?{q}"));
        let client = app.client.clone();
        async move {
            let r = client.get(url).send().await.unwrap();
            let s = r.status();
            (s, r.json::<Value>().await.unwrap())
        }
    };
    let (s, m) = ask(&format!(
        "industry=制造业&size=small&township={TOWN}&founded=2025-01-10"
    ))
    .await;
    assert_eq!(s, StatusCode::OK, "{m}");
    assert_eq!(
        m.as_array().unwrap().len(),
        1,
        "the 2027 policy is not in force yet: {m}"
    );
    assert_eq!(m[0]["eligible"], true, "{m}");
    let (_, young) = ask(&format!(
        "industry=制造业&size=small&township={TOWN}&founded=2026-09-01"
    ))
    .await;
    assert_eq!(young[0]["eligible"], false);
    let why: Vec<&str> = young[0]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r[0] == false)
        .map(|r| r[1].as_str().unwrap())
        .collect();
    assert!(why[0].contains("6 个月"), "{why:?}");
    let (s, e) = ask("industry=制造业&size=huge&founded=2025-01-10").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    // An enterprise that does not qualify cannot apply; one that does can, once.
    let b = building(&app, "科创园").await;
    let mut trade = enterprise("91440300708461136T", "百货商行", b);
    trade["industry"] = json!("批发和零售业");
    let (_, shop) = app.post("dispatcher", "/api/v1/enterprises", &trade).await;
    let (_, maker) = app
        .post(
            "dispatcher",
            "/api/v1/enterprises",
            &enterprise("91350100M000100Y43", "云溪智造", b),
        )
        .await;
    let pid = p["id"].as_u64().unwrap();
    let (s, e) = app
        .post(
            "dispatcher",
            &format!("/api/v1/enterprises/{}/applications", shop["id"]),
            &json!({"policy": pid}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(e["message"].as_str().unwrap().contains("行业"), "{e}");
    let path = format!("/api/v1/enterprises/{}/applications", maker["id"]);
    let (s, v) = app.post("dispatcher", &path, &json!({"policy": pid})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, _) = app.post("dispatcher", &path, &json!({"policy": pid})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "applied once");
    let (s, v) = app
        .post(
            "dispatcher",
            &format!("{path}/0"),
            &json!({"granted": true, "amount": 32000}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["applications"][0]["amount"], 32000);
    // The enterprise's page lists the policies with whether it qualifies.
    let (_, d) = app
        .get(
            "dispatcher",
            &format!("/api/v1/enterprises/{}", maker["id"]),
        )
        .await;
    assert_eq!(d["policies"][0]["eligible"], true, "{d}");
    // The policy ends: withdrawn, it matches no one.
    let (s, _) = app
        .post("dispatcher", &format!("/api/v1/policies-for-enterprises/{pid}"), &json!({"withdraw": "已并入新政策", "name": "x", "source": "x", "benefit": "x", "from": "2026-01-01"}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, m) = ask(&format!(
        "industry=制造业&size=small&township={TOWN}&founded=2025-01-10"
    ))
    .await;
    assert_eq!(m.as_array().unwrap().len(), 0, "{m}");
}

async fn import(app: &TestApp, path: &str, csv: &str) -> Value {
    let r = app
        .client
        .post(app.url(path))
        .bearer_auth(app.token("dispatcher"))
        .header("content-type", "text/csv")
        .body(csv.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

fn bad_lines(v: &Value) -> Vec<(u64, String)> {
    v["bad_rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["line"].as_u64().unwrap(),
                b["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Buildings and enterprises come from the spreadsheets a subdistrict keeps, with every bad
/// row named by its line and every problem of the row.
pub async fn buildings_and_enterprises_are_imported_with_their_bad_rows(app: TestApp) {
    let b = import(
        &app,
        "/api/v1/buildings/import",
        "楼宇名称,地址,网格,楼层,房号\n创业大厦,东门路1号,东门社区第一网格,20,1201、1202\n\
         金融中心,东门路3号,22,十八,\n无名楼,东门路5号,西门网格,6,\n创业大厦,东门路1号,22,20,\n",
    )
    .await;
    assert_eq!(
        (b["imported"].as_u64(), b["duplicates"].as_u64()),
        (Some(1), Some(1)),
        "{b}"
    );
    let lines: Vec<u64> = bad_lines(&b).iter().map(|x| x.0).collect();
    assert_eq!(lines, vec![3, 4], "{b}");
    let (_, list) = app.get("dispatcher", "/api/v1/buildings").await;
    assert_eq!(list[0]["units"], json!(["1201", "1202"]));
    let e = import(
        &app,
        "/api/v1/enterprises/import",
        "统一社会信用代码,企业名称,行业,规模,成立日期,联系人,电话,楼宇,房号\n\
         91350100M000100Y43,云溪智造科技有限公司,制造业,小型,2024-03-15,李建华,13911112222,创业大厦,1201\n\
         91350100M000100Y44,坏码公司,制造业,巨型,2024-13-01,王,12,没有这栋楼,\n\
         91350100M000100Y43,重复公司,制造业,小型,2024-03-15,张,,创业大厦,1202\n\
         91110000802100433B,金桥商贸有限公司,批发和零售业,微型,2023-01-01,赵,,创业大厦,1202\n",
    )
    .await;
    assert_eq!(
        (e["imported"].as_u64(), e["duplicates"].as_u64()),
        (Some(2), Some(1)),
        "{e}"
    );
    let bad = bad_lines(&e);
    assert_eq!(bad.len(), 1, "{e}");
    assert_eq!(bad[0].0, 3);
    for part in ["校验位", "巨型", "成立日期", "电话", "没有楼宇"] {
        assert!(
            bad[0].1.contains(part),
            "every problem of the row: {part} in {}",
            bad[0].1
        );
    }
}
