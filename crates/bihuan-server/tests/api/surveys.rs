//! 双提升 surveys (issue 21) through the API: a survey with its approval read at the opening, a
//! frame imported with its bad rows and a sample drawn reproducibly from a seed, callers given
//! the next due number (the only answer that shows it whole), AAPOR outcomes and indicator
//! results computed from hand-coded calls, a signed AI-platform result applied once when it is
//! delivered twice, and the headline rates computed from the survey.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

fn new_survey(name: &str) -> Value {
    json!({
        "name": name, "conducted_by": "某某第三方测评公司",
        "approval": {"table_no": "测评01表", "issuer": "测试县统计局",
                     "approval_no": "测统函〔2026〕8号", "valid_until": "2027-12-31"},
        "opening": "您好，我们受县委县政府委托开展群众安全感调查。",
        "questions": [
            {"code": "Q1", "text": "您是否在本县居住满半年？", "kind": "single",
             "options": ["是", "否"], "skip": {"answer": "否", "to": "end"}},
            {"code": "Q2", "text": "您觉得本地治安怎么样？", "kind": "single",
             "options": ["很安全", "比较安全", "不太安全", "很不安全"],
             "indicator": "safety", "favourable": ["很安全", "比较安全"]},
            {"code": "Q3", "text": "您是否知道12345热线？", "kind": "single",
             "options": ["知道", "不知道"], "indicator": "policy_awareness", "favourable": ["知道"]}
        ],
        "strata": [{"code": "t1", "name": "城关镇"}, {"code": "t2", "name": "东乡"}],
        "target": 10
    })
}

const FRAME: &str = "电话,层\n13800000001,t1\n13800000002,t1\n13800000003,t1\n13800000004,城关镇\n\
13800000005,t1\n13800000006,t1\n13900000001,t2\n13900000002,t2\n13900000003,东乡\n13900000004,t2\n\
12,t1\n13700000000,西镇\n13800000001,t1\n";

async fn sampled(app: &TestApp, name: &str, seed: u64) -> (u64, Value) {
    let (s, v) = app
        .post("dispatcher", "/api/v1/surveys", &new_survey(name))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_u64().unwrap();
    let r = app
        .client
        .post(app.url(&format!("/api/v1/surveys/{id}/sample?size=5&seed={seed}")))
        .bearer_auth(app.token("dispatcher"))
        .body(FRAME)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    (id, r.json().await.unwrap())
}

fn answers(list: &[(&str, &str)]) -> Value {
    Value::Array(
        list.iter()
            .map(|(q, a)| json!({"question": q, "value": a}))
            .collect(),
    )
}

pub async fn a_survey_is_sampled_called_and_measured(app: TestApp) {
    let (s, _) = app
        .post("housing", "/api/v1/surveys", &new_survey("x"))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "units do not run surveys");
    let (id, drawn) = sampled(&app, "2026年双提升测评", 7).await;
    // Ten numbers in the frame (a repeat is one number), two bad rows named by their line.
    assert_eq!(
        (drawn["frame"].as_u64(), drawn["drawn"].as_u64()),
        (Some(10), Some(5)),
        "{drawn}"
    );
    let lines: Vec<u64> = drawn["bad_rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, vec![12, 13], "{drawn}");
    // The same frame and seed draw the same numbers (per stratum 3 and 2: 6 : 4 of 5).
    let (other, _) = sampled(&app, "对照调查", 7).await;
    let phones = |v: &Value| -> Vec<(String, String)> {
        let mut p: Vec<(String, String)> = v["cases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["stratum"].as_str().unwrap().into(),
                    c["phone"].as_str().unwrap().into(),
                )
            })
            .collect();
        p.sort();
        p
    };
    let (_, a) = app
        .get("dispatcher", &format!("/api/v1/surveys/{id}"))
        .await;
    let (_, b) = app
        .get("dispatcher", &format!("/api/v1/surveys/{other}"))
        .await;
    assert_eq!(phones(&a), phones(&b));
    assert_eq!(a["strata"][0]["drawn"], 3);
    assert_eq!(a["strata"][1]["drawn"], 2);
    // Masked in every list.
    assert!(
        a["cases"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["phone"].as_str().unwrap().contains('*')),
        "{a}"
    );

    let (s, _) = app
        .post("visitor", &format!("/api/v1/surveys/{id}/next"), &json!({}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "not fielded yet");
    // Before fielding the questionnaire may change: a new version.
    let mut revised = new_survey("x");
    revised["questions"][2]["text"] = json!("您是否知道12345政务服务便民热线？");
    let (s, r) = app
        .post(
            "dispatcher",
            &format!("/api/v1/surveys/{id}/questionnaire"),
            &json!({"opening": revised["opening"], "questions": revised["questions"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["questionnaires"].as_array().unwrap().len(), 2);
    let (s, f) = app
        .post(
            "dispatcher",
            &format!("/api/v1/surveys/{id}/field"),
            &json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{f}");
    assert!(
        f["opening"].as_str().unwrap().contains("测统函〔2026〕8号"),
        "the approval is read out"
    );

    // The caller's current case shows the number whole.
    let next = || async {
        let (s, c) = app
            .post("visitor", &format!("/api/v1/surveys/{id}/next"), &json!({}))
            .await;
        assert_eq!(s, StatusCode::OK, "{c}");
        c
    };
    let call = |case: u64, body: Value| {
        let app = &app;
        async move {
            app.post(
                "visitor",
                &format!("/api/v1/surveys/{id}/cases/{case}/attempts"),
                &body,
            )
            .await
        }
    };
    let c1 = next().await;
    assert_eq!(c1["phone"].as_str().unwrap().len(), 11, "{c1}");
    assert!(!c1["phone"].as_str().unwrap().contains('*'));
    let c1 = c1["case"].as_u64().unwrap();
    // A complete must answer its path; 否 to Q1 ends it there.
    let (s, e) = call(
        c1,
        json!({"disposition": "complete", "answers": answers(&[("Q1", "是")])}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(e["message"].as_str().unwrap().contains("Q2"), "{e}");
    let (s, e) = call(c1, json!({"disposition": "完成", "answers": []})).await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "an unknown code lists the codes: {e}"
    );
    assert!(e["message"].as_str().unwrap().contains("1.1 完成访问"));
    let (s, v) = call(
        c1,
        json!({"disposition": "complete",
        "answers": answers(&[("Q1", "是"), ("Q2", "很安全"), ("Q3", "知道")])}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Another caller is given another number, and holds it: nobody else may record it.
    let (_, theirs) = app
        .post(
            "dispatcher",
            &format!("/api/v1/surveys/{id}/next"),
            &json!({}),
        )
        .await;
    let c2 = theirs["case"].as_u64().unwrap();
    assert_ne!(c2, c1);
    let (s, e) = call(c2, json!({"disposition": "3.13"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(e["message"].as_str().unwrap().contains("其他访员"), "{e}");
    let (s, _) = app
        .post(
            "dispatcher",
            &format!("/api/v1/surveys/{id}/cases/{c2}/attempts"),
            &json!({"disposition": "3.13"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let c3 = next().await["case"].as_u64().unwrap();
    assert_ne!(c3, c2, "a number not answered waits three hours");
    let (s, _) = call(
        c3,
        json!({"disposition": "complete", "answers": answers(&[("Q1", "否")])}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "a skip ends the interview");
    let c4 = next().await["case"].as_u64().unwrap();
    call(c4, json!({"disposition": "non_working"})).await;
    let c5 = next().await["case"].as_u64().unwrap();
    // The AI platform's result, signed, delivered twice: applied once.
    let result =
        json!([{"result_id": "ai-0001", "survey": id, "case": c5, "disposition": "complete",
        "answers": answers(&[("Q1", "是"), ("Q2", "不太安全"), ("Q3", "不知道")])}])
        .to_string();
    let post = |sig: String| {
        app.client
            .post(app.url("/api/v1/survey-results"))
            .header("content-type", "application/json")
            .header("x-bihuan-signature", sig)
            .body(result.clone())
            .send()
    };
    let r = post("sha256=00".into()).await.unwrap();
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "a wrong signature is refused"
    );
    let sig = format!(
        "sha256={}",
        bihuan_server::surveys::sign(WEBHOOK_SECRET.as_bytes(), result.as_bytes())
    );
    for _ in 0..2 {
        let r = post(sig.clone()).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    // The platform's results file: the same result again changes nothing, a bad row is named.
    let file = format!(
        "结果编号,样本编号,结果代码,回答\nai-0001,{c5},complete,Q1=是;Q2=不太安全;Q3=不知道\nai-0009,abc,complete,\nai-0010,{c4},no_answer,\n"
    );
    let r: Value = app
        .client
        .post(app.url(&format!("/api/v1/surveys/{id}/results/import")))
        .bearer_auth(app.token("dispatcher"))
        .body(file)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bad: Vec<u64> = r["bad_rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["line"].as_u64().unwrap())
        .collect();
    // Line 2 is the result already applied (no change); 3 has no case; 4 calls a number that is
    // finished (not eligible).
    assert_eq!((r["applied"].as_u64(), bad), (Some(1), vec![3, 4]), "{r}");
    // Three hours after c2's no-answer is noon, between the calling windows: not yet.
    app.clock.advance(chrono::Duration::hours(3));
    let (_, none) = app
        .post("visitor", &format!("/api/v1/surveys/{id}/next"), &json!({}))
        .await;
    assert_eq!(none, Value::Null, "{none}");
    // At two the afternoon window opens: c2 again, a refusal.
    app.clock.advance(chrono::Duration::hours(2));
    let again = next().await["case"].as_u64().unwrap();
    assert_eq!(again, c2);
    call(c2, json!({"disposition": "refusal"})).await;
    let (_, done) = app
        .post("visitor", &format!("/api/v1/surveys/{id}/next"), &json!({}))
        .await;
    assert_eq!(done, Value::Null, "every number finished");

    let (_, r) = app.get("leader", &format!("/api/v1/surveys/{id}")).await;
    let ai = r["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == c5)
        .unwrap();
    assert_eq!(
        ai["attempts"], 1,
        "the result delivered twice counts once: {ai}"
    );
    // By hand: I = 3 (c1, c3, c5), R = 1 (c2), NE = 1 (c4): RR1 = 3 / 4, e = 4 / 5.
    assert_eq!(
        r["outcomes"],
        json!({"i": 3, "p": 0, "r": 1, "nc": 0, "o": 0, "uh": 0, "uo": 0, "ne": 1})
    );
    assert_eq!(r["aapor"]["rr1"].as_f64(), Some(0.75));
    assert_eq!(r["aapor"]["e"].as_f64(), Some(0.8));
    assert_eq!(r["completes"], 3);
    // 安全感: c1 yes, c5 no, c3 skipped: 1 of 2, with its Wilson interval.
    let safety = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["indicator"] == "safety")
        .unwrap();
    assert_eq!(
        (safety["favourable"].as_u64(), safety["answered"].as_u64()),
        (Some(1), Some(2)),
        "{safety}"
    );
    let w = bihuan_domain::survey::wilson(1, 2).unwrap();
    assert_eq!(safety["unweighted"]["low"].as_f64(), Some(w.low));
    assert!(r["methods"].as_str().unwrap().contains("RR3"), "{r}");

    // The headline: computed from the survey, not entered.
    let (_, rates) = app
        .get("leader", "/api/v1/rates?period=month:2026-11")
        .await;
    let five = rates["five_rates"].as_array().unwrap();
    let safety = five
        .iter()
        .find(|f| f["name"] == "safety_satisfaction")
        .unwrap();
    assert_eq!(safety["entered"], false, "{safety}");
    assert!(
        safety["source"].as_str().unwrap().contains("平台调查计算"),
        "{safety}"
    );
    let v = safety["value"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&v));
    let cadre = five.iter().find(|f| f["name"] == "cadre_approval").unwrap();
    assert_eq!(
        cadre["value"],
        Value::Null,
        "not asked: still to be entered: {cadre}"
    );

    // 四比 reads the same survey by township (t1 is 城关镇; 东乡 is no township of the county)
    // and the petitions by the unit that held them. By hand from the cases: c1 answered 很安全,
    // c5 不太安全; the township's figure is those of them drawn in t1.
    let in_t1 = |case: u64| {
        r["cases"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == case && c["stratum"] == "t1")
    };
    let (yes, asked) = (
        u64::from(in_t1(c1)),
        u64::from(in_t1(c1)) + u64::from(in_t1(c5)),
    );
    let mut petition = new_appeal();
    petition["kind"] = json!("petition_claim");
    let num = n(&app.register(&petition).await);
    app.ok(
        "dispatcher",
        &num,
        json!({"action": "dispatch", "lead": HOUSING}),
    )
    .await;
    let a = app.ok("housing", &num, json!({"action": "sign"})).await;
    let due = chrono::DateTime::parse_from_rfc3339(a["deadlines"]["reply"].as_str().unwrap())
        .unwrap()
        .date_naive();
    // Not replied by its deadline: the month it fell due in counts it late.
    app.clock.advance(chrono::Duration::days(75));
    let formula = json!({"terms": [
        {"indicator": "public_safety", "weight": 1.0, "min_volume": 1},
        {"indicator": "petition_on_time", "weight": 1.0, "min_volume": 1}], "red": 1, "grey": 0});
    let (s, scheme) = app
        .post(
            "dispatcher",
            "/api/v1/evaluations/schemes",
            &json!({"name": "月度调研提示", "cadence": "monthly", "formula": formula}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{scheme}");
    let first = chrono::Datelike::with_day(&due, 1).unwrap().to_string();
    let (s, e) = app
        .post(
            "dispatcher",
            "/api/v1/evaluations",
            &json!({"scheme": scheme["id"], "first": first}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{e}");
    let term = |unit: u32, ind: &str| -> Option<Value> {
        e["standings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["unit"] == unit)?["terms"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["indicator"] == ind)
            .cloned()
    };
    let town = term(TOWN, "public_safety").unwrap();
    assert_eq!(town["volume"].as_u64(), Some(asked), "{e}");
    assert!(asked > 0, "seed 7 draws a complete in t1: {r}");
    assert_eq!(
        town["value"].as_f64(),
        Some(yes as f64 / asked as f64),
        "{e}"
    );
    let housing = term(HOUSING, "petition_on_time").unwrap();
    assert_eq!(
        (housing["value"].as_f64(), housing["volume"].as_u64()),
        (Some(0.0), Some(1)),
        "{e}"
    );
    assert_eq!(
        term(TRANSPORT, "petition_on_time").unwrap()["volume"],
        0,
        "a unit that held no petition has none: {e}"
    );
}

async fn sample_from(app: &TestApp, id: u64, query: &str, body: &str) -> (StatusCode, Value) {
    let r = app
        .client
        .post(app.url(&format!("/api/v1/surveys/{id}/sample?{query}")))
        .bearer_auth(app.token("dispatcher"))
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let s = r.status();
    (s, r.json().await.unwrap())
}

/// Frames from the household registry and from the citizens who appealed, a quota that stops
/// the calls, and a 不满意 answer with consent that becomes an appeal in the normal loop.
pub async fn survey_frames_quotas_and_raised_appeals(app: TestApp) {
    // Three households, one without a phone; two appeals by one citizen, one by another.
    let r = app
        .client
        .post(app.url("/api/v1/households/import"))
        .bearer_auth(app.token("grid"))
        .header("content-type", "text/csv")
        .body(
            "网格,住址,户主,电话,人口,标签\n东门社区第一网格,东门社区1栋101,王秀英,13912340001,1,\n\
             东门社区第一网格,东门社区1栋102,李建国,13912340002,3,\n东门社区第一网格,东门社区1栋103,赵六,,2,\n",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    app.register(&new_appeal()).await;
    app.register(&new_appeal()).await;
    let mut other = new_appeal();
    other["citizen"]["phone"] = json!("13712345678");
    app.register(&other).await;

    let mut survey = new_survey("入户回访满意度测评");
    survey["questions"][1]["raises"] = json!(["不太安全", "很不安全"]);
    survey["strata"] = json!([{"code": "t1", "name": "城关镇"}]);
    survey["target"] = json!(1);
    let mut wrong = survey.clone();
    wrong["strata"][0]["township"] = json!(HOUSING);
    let (s, e) = app.post("dispatcher", "/api/v1/surveys", &wrong).await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a department is no township: {e}"
    );
    let mut bad_raise = survey.clone();
    bad_raise["questions"][1]["raises"] = json!(["不满意"]);
    let (s, e) = app.post("dispatcher", "/api/v1/surveys", &bad_raise).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "not an option: {e}");
    let (_, v) = app.post("dispatcher", "/api/v1/surveys", &survey).await;
    let id = v["id"].as_u64().unwrap();
    assert_eq!(v["strata"][0]["township"], TOWN, "matched by name: {v}");

    let (s, e) = sample_from(&app, id, "size=1&seed=1&frame=phonebook", "").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(e["message"].as_str().unwrap().contains("households"), "{e}");
    let (s, e) = sample_from(&app, id, "size=1&seed=1&frame=appellants", "").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "dates needed: {e}");
    // The appellants of November: two numbers (one citizen appealed twice).
    let mut second = survey.clone();
    second["name"] = json!("诉求人满意度测评");
    let (_, v2) = app.post("dispatcher", "/api/v1/surveys", &second).await;
    let (s, a) = sample_from(
        &app,
        v2["id"].as_u64().unwrap(),
        "size=2&seed=3&frame=appellants&from=2026-11-01&to=2026-11-30",
        "",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{a}");
    assert_eq!(
        (a["frame"].as_u64(), a["drawn"].as_u64()),
        (Some(2), Some(2)),
        "{a}"
    );
    assert!(a["left_out"][0].as_str().unwrap().contains("重复"), "{a}");
    // The registry: two households with a phone, the third named as left out.
    let (s, h) = sample_from(&app, id, "size=2&seed=5&frame=households", "").await;
    assert_eq!(s, StatusCode::OK, "{h}");
    assert_eq!(h["frame"], 2, "{h}");
    assert!(
        h["left_out"][0]
            .as_str()
            .unwrap()
            .contains("1 个住户没有电话"),
        "{h}"
    );
    app.post(
        "dispatcher",
        &format!("/api/v1/surveys/{id}/field"),
        &json!({}),
    )
    .await;

    // The respondent feels unsafe and agrees to be called back: an appeal, channel 满意度测评.
    let (_, c) = app
        .post("visitor", &format!("/api/v1/surveys/{id}/next"), &json!({}))
        .await;
    let case = c["case"].as_u64().unwrap();
    let (s, v) = app
        .post(
            "visitor",
            &format!("/api/v1/surveys/{id}/cases/{case}/attempts"),
            &json!({"disposition": "complete", "consent": true,
                    "answers": answers(&[("Q1", "是"), ("Q2", "很不安全"), ("Q3", "不知道")])}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let number = v["appeal"]
        .as_str()
        .expect("an appeal was opened")
        .to_string();
    let (_, appeal) = app
        .get("dispatcher", &format!("/api/v1/appeals/{number}"))
        .await;
    assert_eq!(appeal["channel"], "survey", "{appeal}");
    assert_eq!(appeal["status"], "pending_dispatch", "{appeal}");
    assert_eq!(appeal["place"]["township"], TOWN, "{appeal}");
    let content = appeal["content"].as_str().unwrap();
    assert!(content.contains("很不安全"), "{content}");
    assert!(
        !content.contains("不知道"),
        "answers that raised nothing stay confidential: {content}"
    );
    // It goes on through the loop like any appeal.
    app.ok(
        "dispatcher",
        &number,
        json!({"action": "dispatch", "lead": TOWN}),
    )
    .await;

    // The quota (one complete) is met: the other number is called no more.
    let (_, none) = app
        .post("visitor", &format!("/api/v1/surveys/{id}/next"), &json!({}))
        .await;
    assert_eq!(none, Value::Null, "{none}");
    let (_, s) = app.get("leader", &format!("/api/v1/surveys/{id}")).await;
    assert_eq!(s["progress"][0]["completes"], 1, "{s}");
    assert_eq!(s["progress"][0]["quota_met"], true, "{s}");
    assert_eq!(s["cases"].as_array().unwrap().len(), 2);
}
