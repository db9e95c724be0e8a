//! 入户听诉 at the door (issue 18, items 2–6): cadres' assignments, a campaign with a frozen
//! denominator and a known coverage answer (a household added mid-campaign does not change
//! it), a need becoming an appeal that closes the loop, a draft sent twice recorded once, a
//! launch cut short resumed without a duplicate, and scoping per role.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

async fn household(app: &TestApp, grid: u32, address: &str, tags: &[&str]) -> u64 {
    let (s, h) = app
        .post(
            "town",
            "/api/v1/households",
            &json!({"grid": grid, "address": address, "head": format!("{address}户主"),
                    "phone": "13912340001", "members": 2, "tags": tags}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{h}");
    h["id"].as_u64().unwrap()
}

fn plan(name: &str) -> Value {
    json!({
        "name": name,
        "starts": "2026-11-02",
        "ends": "2026-12-31",
        "townships": [TOWN],
        "rules": [
            {"cadence": "once", "within": 10},
            {"tag": "独居老人", "cadence": "monthly"}
        ],
        "topics": ["听民声", "听民意", "听民需", "听民盼"]
    })
}

fn cov(row: &Value) -> (u64, u64, u64, u64) {
    let g = |k: &str| row[k].as_u64().unwrap_or(u64::MAX);
    (
        g("households"),
        g("visited"),
        g("added"),
        g("added_visited"),
    )
}

fn row(t: &Value, id: u64) -> &Value {
    t["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no row {id} in {t}"))
}

pub async fn a_campaign_covers_its_frozen_households_and_needs_run_through_the_loop(app: TestApp) {
    // A second grid in the village, where nobody is assigned.
    let r = app
        .client
        .post(app.url("/api/v1/units"))
        .bearer_auth(app.token("admin"))
        .json(&json!({"id": 23, "name": "东门社区第二网格", "kind": "grid", "parent": VILLAGE}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let h1 = household(&app, GRID, "东门社区1栋1号", &["独居老人"]).await;
    let h2 = household(&app, GRID, "东门社区1栋2号", &[]).await;
    let h3 = household(&app, GRID, "东门社区1栋3号", &[]).await;
    let h4 = household(&app, 23, "东门社区2栋1号", &[]).await;

    // 三包: the housing bureau's cadre carries h1 by name, the grid member the whole grid.
    let housing = app.user_id("housing").await;
    let grid = app.user_id("grid").await;
    let (s, e) = app
        .post(
            "grid",
            "/api/v1/cadres",
            &json!({"cadre": grid, "grids": [GRID]}),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "a grid member does not assign: {e}"
    );
    let (s, a) = app
        .post(
            "town",
            "/api/v1/cadres",
            &json!({"cadre": housing, "party_member": true, "households": [h1]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{a}");
    let (s, _) = app
        .post(
            "town",
            "/api/v1/cadres",
            &json!({"cadre": grid, "grids": [GRID]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, cadres) = app.get("town", "/api/v1/cadres").await;
    assert_eq!(cadres.as_array().unwrap().len(), 2, "{cadres}");

    // A department does not organise campaigns; the township plans one in its own area.
    let (s, _) = app
        .post("housing", "/api/v1/visit-campaigns", &plan("住建局活动"))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let mut bad = plan("无主题");
    bad["topics"] = json!([]);
    let (s, e) = app.post("town", "/api/v1/visit-campaigns", &bad).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["code"], "invalid_input", "{e}");
    let (s, c) = app
        .post("town", "/api/v1/visit-campaigns", &plan("2026年入户听诉"))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    assert_eq!(c["status"], "draft");
    let id = c["id"].as_u64().unwrap();
    let (s, c) = app
        .post(
            "town",
            &format!("/api/v1/visit-campaigns/{id}/launch"),
            &json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(
        (c["status"].as_str(), c["frozen"].as_u64()),
        (Some("running"), Some(4))
    );
    let (s, _) = app
        .post(
            "town",
            &format!("/api/v1/visit-campaigns/{id}/launch"),
            &json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "launched once only");

    // A household registered after the launch is visited too, and counted apart.
    let h5 = household(&app, GRID, "东门社区1栋5号", &[]).await;

    // Each cadre's task list: the housing cadre has h1 (monthly: 独居老人), with the head in
    // full; the grid member the rest of the grid, h5 included.
    let (s, mine) = app.get("housing", "/api/v1/visits/tasks").await;
    assert_eq!(s, StatusCode::OK, "{mine}");
    let mine = mine.as_array().unwrap();
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(mine[0]["household"], h1);
    assert_eq!(mine[0]["head"], "东门社区1栋1号户主");
    // Ten working days after Monday 2 November 2026: Monday the 16th; then each month's last
    // working day (30 November, 31 December).
    let dues: Vec<&str> = mine[0]["rounds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["due"].as_str().unwrap())
        .collect();
    assert_eq!(dues, vec!["2026-11-16", "2026-11-30", "2026-12-31"]);
    let (_, theirs) = app.get("grid", "/api/v1/visits/tasks").await;
    let mut hs: Vec<u64> = theirs
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["household"].as_u64().unwrap())
        .collect();
    hs.sort();
    assert_eq!(hs, vec![h2, h3, h5], "{theirs}");
    let (s, _) = app
        .get("grid", &format!("/api/v1/visits/tasks?cadre={housing}"))
        .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "only organisers see another cadre's list"
    );

    // Scoping: the cadre sees the household they carry, in full, but does not keep it; another
    // department sees none of it.
    let (s, h) = app
        .get("housing", &format!("/api/v1/households/{h1}"))
        .await;
    assert_eq!(s, StatusCode::OK, "{h}");
    assert_eq!(h["phone_full"], true);
    let (s, _) = app
        .get("housing", &format!("/api/v1/households/{h2}"))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app
        .post(
            "housing",
            &format!("/api/v1/households/{h1}/remove"),
            &json!({"reason": "试图删除"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app
        .get("water", &format!("/api/v1/visits?household={h1}"))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Visits: not at home first (not covered), then met with two needs.
    let visit = |h: u64, outcome: &str, draft: &str, needs: Value| {
        json!({"household": h, "outcome": outcome, "heard": ["听民声"], "note": "",
               "needs": needs, "draft": draft})
    };
    let (s, v) = app
        .post(
            "grid",
            "/api/v1/visits",
            &visit(h2, "not_home", "g-1", json!([])),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let needs = json!([
        {"text": "楼道灯坏了三个月", "handling": "appeal", "class": "timed"},
        {"text": "医保怎么续缴", "handling": "on_spot", "answer": "已告知线上续缴办法"}
    ]);
    let body = visit(h2, "met", "g-2", needs);
    let (s, v) = app.post("grid", "/api/v1/visits", &body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let number = v["needs"][0]["appeal"]["number"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(v["needs"][1]["appeal"].is_null());
    // The same draft again (a phone back online): the same visit, no second appeal.
    let (s, again) = app.post("grid", "/api/v1/visits", &body).await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert_eq!(
        (again["id"].clone(), again["duplicate"].clone()),
        (v["id"].clone(), json!(true))
    );
    let (_, page) = app
        .get("grid", &format!("/api/v1/visits?household={h2}"))
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2, "{page}");
    // A photo of the need (optional): by the cadre who visited, images only, stored with the
    // need's appeal; an answered need has no appeal to carry one.
    let photo = |login: &'static str, need: u32, name: &'static str, data: &'static [u8]| {
        let url = app.url(&format!("/api/v1/visits/{}/needs/{need}/photos", v["id"]));
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(data.to_vec()).file_name(name),
        );
        let req = app
            .client
            .post(url)
            .bearer_auth(app.token(login))
            .multipart(form);
        async move {
            let r = req.send().await.unwrap();
            let s = r.status();
            (s, r.json::<Value>().await.unwrap())
        }
    };
    const GIF: &[u8] = b"GIF89a\x01\0\x01\0\0\0\0;";
    let (s, e) = photo("grid", 1, "楼道.pdf", b"%PDF-1.7\n1 0 obj\n%%EOF\n").await;
    assert_eq!(
        (s, e["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("file_type_not_allowed")
        ),
        "{e}"
    );
    let (s, e) = photo("grid", 2, "x.gif", GIF).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(e["message"].as_str().unwrap().contains("当场解答"), "{e}");
    let (s, _) = photo("grid", 9, "x.gif", GIF).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, e) = photo("town", 1, "x.gif", GIF).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("upload_forbidden")),
        "{e}"
    );
    let (s, p) = photo("grid", 1, "楼道.gif", GIF).await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    let (_, with_photo) = app
        .get("dispatcher", &format!("/api/v1/appeals/{number}"))
        .await;
    assert_eq!(
        with_photo["attachments"][0]["name"], "楼道.gif",
        "{with_photo}"
    );
    let (_, appeal) = app
        .get("dispatcher", &format!("/api/v1/appeals/{number}"))
        .await;
    assert_eq!(appeal["channel"], "household_visit", "{appeal}");
    assert_eq!(
        appeal["urgency"], "urgent",
        "限时办 runs on the urgent deadlines"
    );
    // A wrong need is refused with what to do, and nothing is recorded.
    let (s, e) = app
        .post(
            "grid",
            "/api/v1/visits",
            &visit(
                h3,
                "not_home",
                "g-3",
                json!([{"text": "x", "handling": "appeal", "class": "timed"}]),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(e["message"].as_str().unwrap().contains("未见面"), "{e}");
    // The housing cadre meets h1 and raises a need (a department's cadre: the server
    // registers it on their behalf); the grid member meets the added h5.
    let (s, v1) = app
        .post(
            "housing",
            "/api/v1/visits",
            &visit(
                h1,
                "met",
                "h-1",
                json!([{"text": "屋顶漏雨", "handling": "appeal", "class": "coordinated"}]),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v1}");
    assert!(v1["needs"][0]["appeal"]["number"].is_string(), "{v1}");
    let (s, _) = app
        .post(
            "grid",
            "/api/v1/visits",
            &visit(h5, "met", "g-5", json!([])),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    // Nobody may record a visit to a household outside their reach.
    let (s, _) = app
        .post(
            "water",
            "/api/v1/visits",
            &visit(h4, "met", "w-1", json!([])),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // The known answer. Frozen: h1–h4 (4); met: h1, h2 (2); added: h5, met.
    let path = |level: &str| format!("/api/v1/visit-campaigns/{id}/coverage?level={level}");
    let (s, t) = app.get("leader", &path("township")).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    assert_eq!(cov(&t["total"]), (4, 2, 1, 1), "{t}");
    assert_eq!(t["total"]["rate"], 50.0);
    assert_eq!(
        (
            t["total"]["needs"].as_u64(),
            t["total"]["answered"].as_u64(),
            t["total"]["raised"].as_u64()
        ),
        (Some(3), Some(1), Some(2))
    );
    assert_eq!(cov(row(&t, TOWN as u64)), (4, 2, 1, 1));
    let (_, g) = app.get("leader", &path("grid")).await;
    assert_eq!(cov(row(&g, GRID as u64)), (3, 2, 1, 1), "{g}");
    assert_eq!(cov(row(&g, 23)), (1, 0, 0, 0), "{g}");
    let (_, c) = app.get("leader", &path("cadre")).await;
    assert_eq!(cov(row(&c, grid)), (2, 1, 1, 1), "{c}");
    assert_eq!(cov(row(&c, housing)), (1, 1, 0, 0), "{c}");
    assert_eq!(
        cov(row(&c, 0)),
        (1, 0, 0, 0),
        "h4: nobody carries grid 23: {c}"
    );
    // The township reads its own table; a department none.
    let (s, _) = app.get("town", &path("village")).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app.get("housing", &path("grid")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Drill-down: the households behind "not visited", with their cadre.
    let drill = |unit: &str| format!("/api/v1/visit-campaigns/{id}/households?unit={unit}");
    let (_, d) = app.get("leader", &drill(&format!("g{GRID}"))).await;
    let items = d["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{d}");
    assert_eq!(
        (
            items[0]["household"].as_u64(),
            items[0]["cadre_name"].as_str()
        ),
        (Some(h3), Some("grid用户"))
    );
    assert_eq!(
        items[0]["head"], "东*********",
        "masked in a drill-down: {d}"
    );
    let (_, d) = app.get("leader", &drill("a")).await;
    let mut not_visited: Vec<u64> = d["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["household"].as_u64().unwrap())
        .collect();
    not_visited.sort();
    assert_eq!(not_visited, vec![h3, h4]);
    let (s, e) = app.get("leader", &drill("x1")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    // A unit starting with a character of several bytes is refused the same way, not a panic.
    let (s, e) = app.get("leader", &drill("%E7%BD%911")).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_query")),
        "{e}"
    );

    // The need's appeal runs the whole loop; the table's resolution rate follows it.
    assert_eq!(
        (t["appeals"].as_u64(), t["appeals_closed"].as_u64()),
        (Some(2), Some(0))
    );
    app.ok(
        "dispatcher",
        &number,
        json!({"action": "dispatch", "lead": HOUSING, "note": "请办理"}),
    )
    .await;
    app.ok("housing", &number, json!({"action": "sign"})).await;
    app.ok(
        "housing",
        &number,
        json!({"action": "contact", "note": "已联系"}),
    )
    .await;
    app.ok(
        "housing",
        &number,
        json!({"action": "reply", "result": "resolved", "text": "已换灯"}),
    )
    .await;
    app.ok("visitor", &number, json!({"action": "return_visit", "contacted": true, "resolved": true, "rating": "satisfied", "comment": ""})).await;
    app.ok("dispatcher", &number, json!({"action": "close"}))
        .await;
    let (_, t) = app.get("leader", &path("township")).await;
    assert_eq!(
        (t["appeals"].as_u64(), t["appeals_closed"].as_u64()),
        (Some(2), Some(1)),
        "{t}"
    );
    assert_eq!(t["appeals_closed_rate"], 50.0);

    // 回访办: h1's appeal, once replied, is return-visited at the next visit to h1.
    let second = v1["needs"][0]["appeal"]["number"]
        .as_str()
        .unwrap()
        .to_string();
    app.ok(
        "dispatcher",
        &second,
        json!({"action": "dispatch", "lead": HOUSING, "note": "请办理"}),
    )
    .await;
    app.ok("housing", &second, json!({"action": "sign"})).await;
    app.ok(
        "housing",
        &second,
        json!({"action": "contact", "note": "已联系"}),
    )
    .await;
    app.ok(
        "housing",
        &second,
        json!({"action": "reply", "result": "resolved", "text": "已修缮屋顶"}),
    )
    .await;
    let again = |draft: &str, outcome: &str, appeal: &str| {
        json!({"household": h1, "outcome": outcome, "draft": draft,
               "return_visits": [{"appeal": appeal, "resolved": true, "rating": "satisfied", "comment": "屋顶不漏了"}]})
    };
    // Not another household's appeal, and not without meeting the household.
    let (s, e) = app
        .post("housing", "/api/v1/visits", &again("h-2", "met", &number))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let (s, _) = app
        .post(
            "housing",
            "/api/v1/visits",
            &again("h-3", "not_home", &second),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, rv) = app
        .post("housing", "/api/v1/visits", &again("h-4", "met", &second))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{rv}");
    assert_eq!(rv["return_visits"][0]["appeal"]["number"], second.as_str());
    let (_, a) = app
        .get("dispatcher", &format!("/api/v1/appeals/{second}"))
        .await;
    assert_eq!(a["status"], "visited", "the appeal's own return visit: {a}");
    assert_eq!(a["visit"]["rating"], "satisfied", "{a}");
    app.ok("dispatcher", &second, json!({"action": "close"}))
        .await;
}

pub async fn a_launch_cut_short_resumes_without_a_duplicate_task(app: TestApp) {
    use bihuan_domain::visits::{
        Campaign, CampaignCommand, Progress, Round, VisitTask, VisitTaskCommand,
    };
    use bihuan_store::aggregates;
    let h1 = household(&app, GRID, "西门1号", &[]).await;
    let h2 = household(&app, GRID, "西门2号", &[]).await;
    let (_, c) = app
        .post("town", "/api/v1/visit-campaigns", &plan("中断的活动"))
        .await;
    let id = c["id"].as_u64().unwrap();
    // As if a launch wrote h1's task and stopped before recording its batch.
    let store = app.state.store.as_ref();
    let town = bihuan_domain::Actor {
        user: bihuan_domain::UserId(app.user_id("town").await as u32),
        name: "town用户".into(),
        role: bihuan_domain::Role::Handler,
        unit: bihuan_domain::org::UnitId(TOWN),
        unit_kind: bihuan_domain::org::UnitKind::Township,
    };
    let at = bihuan_server::Clock::now(app.clock.as_ref());
    let home = aggregates::load::<bihuan_domain::household::Household>(store, h1)
        .await
        .unwrap();
    aggregates::execute::<VisitTask>(
        store,
        None,
        VisitTaskCommand::Generate(Box::new(VisitTask {
            campaign: id,
            household: h1,
            at: home.state.at,
            cadre: None,
            frozen: true,
            rounds: vec![Round {
                due: chrono::NaiveDate::from_ymd_opt(2026, 11, 16).unwrap(),
                visit: None,
            }],
            met: false,
            refused: false,
            attempts: 0,
        })),
        town.clone(),
        at,
        Some(0),
    )
    .await
    .unwrap();
    // A progress record from before that batch (nothing taken yet) is what a restart sees.
    aggregates::execute::<Campaign>(
        store,
        Some(id),
        CampaignCommand::Generated(Progress::default()),
        town,
        at,
        None,
    )
    .await
    .unwrap();
    let (s, c) = app
        .post(
            "town",
            &format!("/api/v1/visit-campaigns/{id}/launch"),
            &json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(c["frozen"], 2, "{c}");
    let tasks = aggregates::find::<VisitTask>(store, "campaign", &id.to_string(), 0, 100)
        .await
        .unwrap();
    let mut hs: Vec<u64> = tasks.iter().map(|t| t.state.household).collect();
    hs.sort();
    assert_eq!(hs, vec![h1, h2], "one task per household");
}
