//! 就业之家 (issue 23) through the API: the wording check keeps a discriminatory posting from
//! publication until it is fixed, the public list shows open postings and nothing personal, a
//! seeker is referred (only with consent), hired and followed up, loans beyond the caps are
//! flagged, and the figures count it all.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

fn posting(title: &str, requirements: &str) -> Value {
    json!({"title": title, "employer": "城关精密机械有限公司", "headcount": 5,
           "requirements": requirements, "duties": "操作数控车床，加工零件",
           "address": "城关镇工业园8号", "pay_min": 4500, "pay_max": 6500,
           "hours": "两班倒，每班8小时", "expires_on": "2026-12-31"})
}

pub async fn a_township_posts_jobs_refers_seekers_and_follows_placements(app: TestApp) {
    let (s, _) = app
        .post("housing", "/api/v1/jobs", &posting("x", "y"))
        .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "departments do not run the service"
    );
    let (s, p) = app
        .post(
            "town",
            "/api/v1/jobs",
            &posting("数控车床操作工", "有车床操作经验，限男性，35岁以下"),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    let id = p["id"].as_u64().unwrap();
    let (_, p) = app
        .post("town", &format!("/api/v1/jobs/{id}/submit"), &json!({}))
        .await;
    assert_eq!(p["status"], "pending");
    let flags: Vec<&str> = p["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["found"].as_str().unwrap())
        .collect();
    assert_eq!(flags, vec!["限男", "35岁以下"], "{p}");
    let (s, e) = app
        .post(
            "town",
            &format!("/api/v1/jobs/{id}/review"),
            &json!({"approve": true}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(e["message"].as_str().unwrap().contains("歧视性表述"), "{e}");
    let (_, public) = app.get("town", "/api/v1/jobs/public").await;
    assert_eq!(
        public.as_array().unwrap().len(),
        0,
        "not public before review"
    );
    app.post(
        "town",
        &format!("/api/v1/jobs/{id}/review"),
        &json!({"approve": false, "note": "请删去性别和年龄限制"}),
    )
    .await;
    let (s, p) = app
        .post(
            "town",
            &format!("/api/v1/jobs/{id}/edit"),
            &posting("数控车床操作工", "有车床操作经验，持电工证优先"),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    app.post("town", &format!("/api/v1/jobs/{id}/submit"), &json!({}))
        .await;
    let (s, p) = app
        .post(
            "town",
            &format!("/api/v1/jobs/{id}/review"),
            &json!({"approve": true}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(p["status"], "published");

    // Two seekers: one consents to referral, one does not.
    let (s, vet) = app
        .post(
            "town",
            "/api/v1/job-seekers",
            &json!({"name": "李强", "phone": "13900001111",
            "skills": ["车床", "电工"], "wishes": ["操作工"], "near_home": true,
            "tags": ["退役军人"], "consent": {"referral": true, "share_phone": true}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{vet}");
    let vet = vet["id"].as_u64().unwrap();
    let (_, shy) = app
        .post(
            "town",
            "/api/v1/job-seekers",
            &json!({"name": "王芳", "skills": ["车床"],
            "consent": {"referral": false, "share_phone": false}}),
        )
        .await;
    let shy = shy["id"].as_u64().unwrap();
    let (s, e) = app
        .post(
            "town",
            "/api/v1/job-seekers",
            &json!({"name": "赵六", "consent": {"referral": false, "share_phone": true}}),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "sharing a phone needs consent to referral: {e}"
    );
    let (_, detail) = app.get("town", &format!("/api/v1/jobs/{id}")).await;
    let suggested: Vec<u64> = detail["suggested"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["seeker"].as_u64().unwrap())
        .collect();
    assert_eq!(suggested, vec![vet], "only with consent: {detail}");
    assert!(
        detail["suggested"][0]["reasons"][0]
            .as_str()
            .unwrap()
            .contains("车床"),
        "{detail}"
    );
    let (s, _) = app
        .post(
            "town",
            "/api/v1/referrals",
            &json!({"posting": id, "seeker": shy}),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "no consent, no referral"
    );
    let (s, r) = app
        .post(
            "town",
            "/api/v1/referrals",
            &json!({"posting": id, "seeker": vet}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    assert_eq!(r["seeker_phone"], "13900001111", "shared with consent");
    let rid = r["id"].as_u64().unwrap();
    let step = |b: Value| {
        let app = &app;
        async move {
            app.post("town", &format!("/api/v1/referrals/{rid}/steps"), &b)
                .await
        }
    };
    let (s, _) = step(json!({"step": "interview", "note": "面试通过"})).await;
    assert_eq!(s, StatusCode::OK);
    let (s, r) = step(json!({"step": "hire"})).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["stage"], "hired");
    let (s, e) = step(json!({"step": "follow_up", "months": 1, "employed": true})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "not due yet: {e}");
    app.clock.advance(chrono::Duration::days(31));
    let (_, r) = app.get("town", "/api/v1/referrals").await;
    assert_eq!(r[0]["follow_ups_due"], json!([1]), "{r}");
    let (s, r) =
        step(json!({"step": "follow_up", "months": 1, "employed": true, "note": "适应良好"})).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let (_, s2) = app.get("town", &format!("/api/v1/job-seekers/{vet}")).await;
    assert!(
        s2["closed"].as_str().unwrap().contains("录用"),
        "placed: {s2}"
    );
    let (_, detail) = app.get("town", &format!("/api/v1/jobs/{id}")).await;
    assert_eq!(detail["hired"], 1);
    assert!(
        detail["suggested"].as_array().unwrap().is_empty(),
        "a placed seeker is not suggested again"
    );

    // Loans: beyond the individual cap, flagged; granted, counted.
    let (s, l) = app
        .post(
            "town",
            "/api/v1/loans",
            &json!({"borrower": "individual", "applicant": "李强", "seeker": vet,
            "amount": 250000, "months": 36, "bank": "县农商银行", "tags": ["退役军人"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{l}");
    assert!(
        l["warnings"][0].as_str().unwrap().contains("20 万元"),
        "{l}"
    );
    let (s, _) = app
        .post(
            "town",
            &format!("/api/v1/loans/{}/decision", l["id"]),
            &json!({"granted": true}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);

    // The public page: the posting, and nothing personal.
    let r = app
        .client
        .get(app.url("/api/v1/jobs/public"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "no login needed");
    let text = r.text().await.unwrap();
    assert!(text.contains("数控车床操作工"), "{text}");
    for personal in ["李强", "13900001111", "王芳"] {
        assert!(!text.contains(personal), "{personal} in {text}");
    }

    let (_, f) = app
        .get(
            "leader",
            "/api/v1/job-figures?from=2026-01-01&to=2026-12-31",
        )
        .await;
    let total = f.as_array().unwrap().last().unwrap();
    assert_eq!(
        (total["published"].as_u64(), total["headcount"].as_u64()),
        (Some(1), Some(5)),
        "{f}"
    );
    assert_eq!(
        (total["referrals"].as_u64(), total["placements"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(
        (total["loans"].as_u64(), total["loan_amount"].as_u64()),
        (Some(1), Some(250000))
    );
    assert_eq!(total["placed_by_tag"]["退役军人"], 1);
    let (_, seekers) = app.get("leader", "/api/v1/job-seekers").await;
    assert!(
        seekers
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["name"].as_str().unwrap().contains('*')),
        "masked outside the township: {seekers}"
    );
}

/// An employer's account posts its own jobs (under its name, in its township), sees only them
/// and who was referred to them, cannot review, and sees none of the villagers' register.
pub async fn an_employer_posts_and_sees_only_its_own_jobs(app: TestApp) {
    use bihuan_server::auth;
    use bihuan_store::{CredentialKind, NewUser};
    let store = app.state.store.clone();
    let user = store
        .create_user(NewUser {
            login: "employer".into(),
            name: "城关精密机械（用人单位）".into(),
            role: bihuan_domain::lifecycle::Role::Employer,
            unit: bihuan_domain::org::UnitId(COUNTY),
            password_hash: String::new(),
        })
        .await
        .unwrap();
    let (token, hash) = auth::new_token();
    store
        .put_credential(hash, user.id, CredentialKind::ApiToken, None, "test".into())
        .await
        .unwrap();
    let as_employer = |path: &str, payload: Option<Value>| {
        let req = match &payload {
            Some(b) => app.client.post(app.url(path)).json(b),
            None => app.client.get(app.url(path)),
        };
        let req = req.bearer_auth(token.clone());
        async move { body(req.send().await.unwrap()).await }
    };
    // Not linked yet: told to ask the township.
    let (s, e) = as_employer("/api/v1/jobs", None).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    assert!(
        e["message"].as_str().unwrap().contains("尚未关联企业"),
        "{e}"
    );
    let (_, firm) = app
        .post("dispatcher", "/api/v1/enterprises", &json!({"code": "91350100M000100Y43", "name": "城关精密机械有限公司",
            "industry": "制造业", "size": "小型", "founded": "2020-05-01", "contact": "周经理", "grid": GRID}))
        .await;
    let (s, e) = app
        .post(
            "dispatcher",
            &format!("/api/v1/enterprises/{}/accounts", firm["id"]),
            &json!({"user": app.user_id("town").await}),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "only an employer's account: {e}"
    );
    let (s, _) = app
        .post(
            "dispatcher",
            &format!("/api/v1/enterprises/{}/accounts", firm["id"]),
            &json!({"user": user.id.0}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    // The township's own posting, and the employer's.
    let (_, theirs) = app
        .post("town", "/api/v1/jobs", &posting("仓库管理员", "会使用电脑"))
        .await;
    let mut mine = posting("数控车床操作工", "有车床操作经验");
    mine["employer"] = json!("随便写的名字");
    let (s, p) = as_employer("/api/v1/jobs", Some(mine)).await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    assert_eq!(
        p["employer"], "城关精密机械有限公司",
        "under its registered name"
    );
    assert_eq!(p["township"], TOWN);
    let id = p["id"].as_u64().unwrap();
    let (_, list) = as_employer("/api/v1/jobs", None).await;
    let titles: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, vec!["数控车床操作工"], "only its own");
    let (s, _) = as_employer(&format!("/api/v1/jobs/{}", theirs["id"]), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    as_employer(&format!("/api/v1/jobs/{id}/submit"), Some(json!({}))).await;
    let (s, _) = as_employer(
        &format!("/api/v1/jobs/{id}/review"),
        Some(json!({"approve": true})),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "the township reviews");
    for path in [
        "/api/v1/job-seekers",
        "/api/v1/referrals",
        "/api/v1/loans",
        "/api/v1/job-figures",
        "/api/v1/enterprises",
        "/api/v1/households",
        "/api/v1/appeals",
    ] {
        let (s, v) = as_employer(path, None).await;
        let empty = v.as_array().is_some_and(|a| a.is_empty())
            || v["items"].as_array().is_some_and(|a| a.is_empty());
        assert!(
            s == StatusCode::FORBIDDEN || (s == StatusCode::OK && empty),
            "{path}: {s} {v}"
        );
    }
    let (s, p) = app
        .post(
            "town",
            &format!("/api/v1/jobs/{id}/review"),
            &json!({"approve": true}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    let (_, d) = as_employer(&format!("/api/v1/jobs/{id}"), None).await;
    assert_eq!(d["suggested"], json!([]), "not the register");
}
