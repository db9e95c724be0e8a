//! The hotline loop's remaining parts (issue 15): assisting units at work, 双考核, the console's
//! forms that keep what was typed.

use super::*;

/// Dispatched with assisting units, each finds the appeal in its inbox with its own deadline,
/// gives an opinion the lead reads in its reply form, and is measured on it.
pub async fn assisting_units_see_their_work_and_give_opinions(app: TestApp) {
    let num = n(&app.register(&new_appeal()).await);
    let d = app
        .ok(
            "dispatcher",
            &num,
            json!({"action": "dispatch", "lead": TOWN, "assisting": [HOUSING, WATER]}),
        )
        .await;
    let assists = d["assists"].as_array().unwrap();
    assert_eq!(assists.len(), 2);
    // Monday 09:00 + 3 working days.
    assert!(
        assists[0]["due"]
            .as_str()
            .unwrap()
            .starts_with("2026-11-05T"),
        "{}",
        assists[0]["due"]
    );
    // The assisting unit's inbox lists it under its own section, with the opinion deadline.
    let housing = console_session(&app, "housing").await;
    let inbox = page_text(&housing, app.url("/queue/inbox")).await;
    let section = inbox
        .split("协办待提交意见")
        .nth(1)
        .expect("the assisting section");
    let section = section.split("吹哨待报到").next().unwrap();
    assert!(section.contains(&num), "{section}");
    assert!(section.contains("协办意见 2026-11-05"), "{section}");
    // Its detail page offers the opinion form.
    let detail = page_text(&housing, app.url(&format!("/appeals/{num}"))).await;
    assert!(detail.contains("提交协办意见"), "{detail}");
    // Others cannot give one; the lead is not an assisting unit.
    let (s, e) = app
        .act(
            "transport",
            &num,
            json!({"action": "assist_opinion", "opinion": "意见"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    let (s, e) = app
        .act(
            "town",
            &num,
            json!({"action": "assist_opinion", "opinion": "意见"}),
        )
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("not_assisting_unit"))
    );
    let a = app
        .ok(
            "housing",
            &num,
            json!({"action": "assist_opinion", "opinion": "本局已核查该路段管网，建议属地牵头处置。"}),
        )
        .await;
    assert!(a["assists"][0]["given_at"].is_string());
    let (s, e) = app
        .act(
            "housing",
            &num,
            json!({"action": "assist_opinion", "opinion": "再补充"}),
        )
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::CONFLICT, Some("assist_opinion_given"))
    );
    let inbox = page_text(&housing, app.url("/queue/inbox")).await;
    let section = inbox.split("协办待提交意见").nth(1).unwrap();
    assert!(
        !section.split("吹哨待报到").next().unwrap().contains(&num),
        "given: no longer owed"
    );
    // The lead reads the opinion, and the missing one, in its reply form.
    app.ok("town", &num, json!({"action": "sign"})).await;
    let town = console_session(&app, "town").await;
    let detail = page_text(&town, app.url(&format!("/appeals/{num}"))).await;
    let reply_form = detail
        .split("<summary>答复</summary>")
        .nth(1)
        .expect("the reply form");
    assert!(reply_form.contains("本局已核查该路段管网"), "{reply_form}");
    assert!(reply_form.contains("尚未提交"), "{reply_form}");

    // A refused form keeps what was typed and names the field in Chinese.
    let version = app.get("town", &format!("/api/v1/appeals/{num}")).await.1["version"]
        .as_u64()
        .unwrap()
        .to_string();
    let r = town
        .post(app.url(&format!("/appeals/{num}/act")))
        .header("origin", app.base.clone())
        .form(&[
            ("action", "reply"),
            ("version", version.as_str()),
            ("result", "partly_resolved"),
            ("reason", ""),
            ("text", "已组织住建、水务现场疏通，剩余路段纳入改造计划。"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(page.contains("原因"), "the field, in Chinese: {page}");
    let form = page.split("<summary>答复</summary>").nth(1).unwrap();
    assert!(
        form.contains("已组织住建、水务现场疏通，剩余路段纳入改造计划。"),
        "the typed reply is kept: {form}"
    );
    assert!(
        form.contains(r#"<option value="partly_resolved" selected>"#),
        "the chosen result is kept: {form}"
    );

    // Water's opinion runs out: its inbox row shows the overdue opinion deadline, the scanner
    // supervises it, and the 双考核 figures count it.
    app.clock.advance(chrono::Duration::days(4));
    let water = console_session(&app, "water").await;
    let inbox = page_text(&water, app.url("/queue/inbox")).await;
    let section = inbox.split("协办待提交意见").nth(1).unwrap();
    assert!(section.contains("超期"), "{section}");
    let raised = bihuan_server::scanner::scan_once(&app.state, app.clock.now())
        .await
        .unwrap();
    assert!(raised >= 1);
    let (_, full) = app.get("town", &format!("/api/v1/appeals/{num}")).await;
    assert!(full["supervision_count"].as_u64().unwrap() >= 1);
    let inbox = page_text(&water, app.url("/queue/inbox")).await;
    assert!(inbox.contains(">督办<"), "the supervised row is marked");
    let (_, m) = app
        .get("leader", "/api/v1/metrics?period=month:2026-11&by=unit")
        .await;
    let group = |u: u32| {
        m["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["key"].as_str().and_then(|k| k.parse().ok()) == Some(u))
            .unwrap()
            .clone()
    };
    assert_eq!(group(HOUSING)["rates"]["assist"]["num"], 1);
    assert_eq!(group(HOUSING)["rates"]["assist"]["den"], 1);
    assert_eq!(group(WATER)["rates"]["assist"]["num"], 0);
    assert_eq!(group(WATER)["rates"]["assist"]["den"], 1);
    assert_eq!(m["headline"]["assist"]["den"], 2);
}

/// Report-ins and whistle outcomes are measured for both sides (双考核), ranked with weights the
/// administrator sets, and the called unit's inbox shows the report-in deadline.
pub async fn both_sides_of_a_whistle_are_measured(app: TestApp) {
    let num = n(&app.register(&new_appeal()).await);
    app.ok(
        "dispatcher",
        &num,
        json!({"action": "dispatch", "lead": TOWN}),
    )
    .await;
    app.ok("town", &num, json!({"action": "sign"})).await;
    app.ok(
        "town",
        &num,
        json!({"action": "whistle", "units": [HOUSING, WATER], "matter": "积水需部门到场"}),
    )
    .await;
    let water = console_session(&app, "water").await;
    let inbox = page_text(&water, app.url("/queue/inbox")).await;
    let calls = inbox.split("吹哨待报到").nth(1).unwrap();
    assert!(calls.contains(&num));
    assert!(
        calls.contains("报到 2026-11-03"),
        "report-in, not reply: {calls}"
    );
    app.ok(
        "housing",
        &num,
        json!({"action": "report_in", "whistle": 1, "note": "已到场"}),
    )
    .await;
    app.clock.advance(chrono::Duration::days(2));
    app.ok(
        "water",
        &num,
        json!({"action": "report_in", "whistle": 1, "note": "迟到"}),
    )
    .await;
    app.ok(
        "town",
        &num,
        json!({"action": "reply", "result": "resolved", "text": "已联合处置，积水排除。"}),
    )
    .await;
    let (_, m) = app
        .get(
            "leader",
            "/api/v1/metrics?period=month:2026-11&by=unit&coordination_min_volume=1&board=1",
        )
        .await;
    let group = |u: u32| {
        m["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["key"].as_str().and_then(|k| k.parse().ok()) == Some(u))
            .unwrap()
            .clone()
    };
    assert_eq!(group(HOUSING)["rates"]["report_in"]["num"], 1);
    assert_eq!(group(HOUSING)["rates"]["report_in"]["den"], 1);
    assert_eq!(group(WATER)["rates"]["report_in"]["num"], 0);
    assert_eq!(group(WATER)["rates"]["report_in"]["den"], 1);
    assert_eq!(group(TOWN)["rates"]["whistle"]["num"], 1);
    assert_eq!(group(TOWN)["rates"]["whistle"]["den"], 1);
    // Scores: housing 100 (report-ins only), water 0, town 100 (whistle only).
    assert_eq!(group(HOUSING)["rates"]["coordination"], 100.0);
    assert_eq!(group(WATER)["rates"]["coordination"], 0.0);
    assert_eq!(group(WATER)["coordination_rank"], 3);
    let grey: Vec<&str> = m["coordination_ranking"]["grey"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["key"].as_str().unwrap())
        .collect();
    assert_eq!(grey.first(), Some(&WATER.to_string().as_str()));
    // With a share of the ranking score, a visit-less unit still ranks on its composite only;
    // the weights are refused unless they add up.
    let r = app
        .client
        .put(app.url("/api/v1/score-weights"))
        .bearer_auth(app.token("admin"))
        .json(&json!({"response": 0.1, "resolution": 0.5, "satisfaction": 0.4, "basic_weight": 0.9,
            "coordination": {"report_in": 0.5, "assist": 0.5, "whistle": 0.5}, "coordination_share": 0.2}))
        .send()
        .await
        .unwrap();
    let (s, e) = body(r).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_weights"))
    );
    assert!(
        e["message"].as_str().unwrap().contains("双考核")
            || e["message"].as_str().unwrap().contains("报到"),
        "{e}"
    );
    app.ok(
        "visitor",
        &num,
        json!({"action": "return_visit", "contacted": true, "resolved": true, "rating": "satisfied", "comment": ""}),
    )
    .await;
    let r = app
        .client
        .put(app.url("/api/v1/score-weights"))
        .bearer_auth(app.token("admin"))
        .json(&json!({"response": 0.1, "resolution": 0.5, "satisfaction": 0.4, "basic_weight": 0.9,
            "coordination": {"report_in": 0.4, "assist": 0.3, "whistle": 0.3}, "coordination_share": 0.5}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (_, m) = app
        .get(
            "leader",
            "/api/v1/metrics?period=month:2026-11&by=unit&min_volume=1",
        )
        .await;
    let town = m["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"].as_str().and_then(|k| k.parse().ok()) == Some(TOWN))
        .unwrap()
        .clone();
    // Composite 100 (reached, resolved, satisfied), 双考核 100: ranking score 100.
    assert_eq!(town["rates"]["composite"], 100.0);
    assert_eq!(town["rates"]["ranking_score"], 100.0);
    // The dashboard shows the 双考核 boards.
    let leader = console_session(&app, "leader").await;
    let dash = page_text(&leader, app.url("/dashboard?period=month:2026-11")).await;
    assert!(dash.contains("双考核（吹哨报到）"), "{dash}");
    assert!(dash.contains("报到及时率"));
}

/// A printable work order from the detail page and, for a filtered list, in bulk; personal data
/// as the reader may see it, masked in bulk.
pub async fn work_orders_print_one_or_a_filtered_list(app: TestApp) {
    let num = n(&app.register(&new_appeal()).await);
    let other = n(&app.register(&new_appeal()).await);
    app.ok(
        "dispatcher",
        &num,
        json!({"action": "dispatch", "lead": HOUSING, "assisting": [WATER]}),
    )
    .await;
    app.ok("housing", &num, json!({"action": "sign"})).await;
    let housing = console_session(&app, "housing").await;
    let r = housing
        .get(app.url(&format!("/appeals/{num}/print")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    for part in [
        num.as_str(),
        "路灯不亮",
        "东门路12号附近路灯连续一周不亮。",
        "县住建局",
        "县水利局",
        "答复期限",
        "承办人签字",
        "单位负责人签字",
        "办理过程",
        "/assets/print.css",
    ] {
        assert!(page.contains(part), "{part} missing: {page}");
    }
    // The lead unit contacts the citizen: its print has the number (and the access is logged);
    // an assisting unit's is masked and says so.
    assert!(page.contains("13912345678") && !page.contains("个人信息已脱敏"));
    let water = console_session(&app, "water").await;
    let page = page_text(&water, app.url(&format!("/appeals/{num}/print"))).await;
    assert!(page.contains("139****5678") && !page.contains("13912345678"));
    assert!(page.contains("个人信息已脱敏"));
    // Another unit cannot print it.
    let transport = console_session(&app, "transport").await;
    let r = transport
        .get(app.url(&format!("/appeals/{num}/print")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // In bulk from the list's filters: both appeals, one work order each, masked.
    let dispatcher = console_session(&app, "dispatcher").await;
    let page = page_text(&dispatcher, app.url("/appeals/print?sort=newest")).await;
    assert!(page.contains(&num) && page.contains(&other));
    assert_eq!(page.matches(r#"<section class="workorder">"#).count(), 2);
    assert!(!page.contains("13912345678"));
    let page = page_text(
        &dispatcher,
        app.url("/appeals/print?status=dispatched,in_progress"),
    )
    .await;
    assert_eq!(
        page.matches(r#"<section class="workorder">"#).count(),
        1,
        "{page}"
    );
    let css = page_text(&dispatcher, app.url("/assets/print.css")).await;
    assert!(css.contains("size: A4"));
}

/// The console offers every allowed action and only those: no second return for a unit the
/// centre confirmed, a redo for supervisors, closing a replied appeal without a visit with a
/// reason.
pub async fn the_console_offers_the_loops_remaining_actions(app: TestApp) {
    let num = n(&app.register(&new_appeal()).await);
    app.ok(
        "dispatcher",
        &num,
        json!({"action": "dispatch", "lead": HOUSING}),
    )
    .await;
    let housing = console_session(&app, "housing").await;
    let page = page_text(&housing, app.url(&format!("/appeals/{num}"))).await;
    assert!(page.contains("<summary>申请退单</summary>"));
    app.ok(
        "housing",
        &num,
        json!({"action": "return", "reason": "不属于本单位"}),
    )
    .await;
    app.ok(
        "dispatcher",
        &num,
        json!({"action": "decide_return", "accept": false, "note": "属本单位职责"}),
    )
    .await;
    let page = page_text(&housing, app.url(&format!("/appeals/{num}"))).await;
    assert!(page.contains("<summary>签收</summary>"), "{page}");
    assert!(
        !page.contains("<summary>申请退单</summary>"),
        "a confirmed unit is not offered a return"
    );
    app.ok("housing", &num, json!({"action": "sign"})).await;
    app.ok(
        "housing",
        &num,
        json!({"action": "reply", "result": "resolved", "text": "已修复"}),
    )
    .await;
    let supervisor = console_session(&app, "supervisor").await;
    let page = page_text(&supervisor, app.url(&format!("/appeals/{num}"))).await;
    assert!(page.contains("<summary>退回重办</summary>"), "{page}");
    let dispatcher = console_session(&app, "dispatcher").await;
    let page = page_text(&dispatcher, app.url(&format!("/appeals/{num}"))).await;
    let close = page.split("<summary>办结</summary>").nth(1).unwrap();
    assert!(close.contains("未回访直接办结时必填"));
    assert!(close.split("</form>").next().unwrap().contains("required"));
}

/// A running period is compared with the same days before, and says so; the public board
/// defaults to the last complete month, explains its scoring and why a unit is not ranked, and
/// has boards for townships too (issue 16, items 2 and 5).
pub async fn comparisons_are_fair_and_the_board_explains_itself(app: TestApp) {
    // The clock: Monday 2 November 09:00; November has begun two days ago.
    let (_, m) = app
        .get("leader", "/api/v1/metrics?period=month:2026-11")
        .await;
    assert_eq!(m["change"]["basis"], "same_span");
    assert!(
        m["change"]["previous"]["start"]
            .as_str()
            .unwrap()
            .starts_with("2026-09-30T16:00:00"),
        "{}",
        m["change"]["previous"]
    );
    assert!(
        m["change"]["previous"]["end"]
            .as_str()
            .unwrap()
            .starts_with("2026-10-02T16:00:00"),
        "1 to 2 October: {}",
        m["change"]["previous"]
    );
    assert!(m["change"]["year_earlier"]["end"]
        .as_str()
        .unwrap()
        .starts_with("2025-11-02T16:00:00"));
    let (_, m) = app
        .get("leader", "/api/v1/metrics?period=month:2026-10")
        .await;
    assert_eq!(m["change"]["basis"], "whole");
    assert!(m["change"]["previous"]["end"]
        .as_str()
        .unwrap()
        .starts_with("2026-09-30T16:00:00"));
    let leader = console_session(&app, "leader").await;
    let dash = page_text(&leader, app.url("/dashboard?period=month:2026-11")).await;
    assert!(dash.contains("本期尚未结束（已过 2 天）"), "{dash}");
    assert!(dash.contains("2026-10-01 至 2026-10-02"));
    // The board, without a login.
    let r = app.client.get(app.url("/board")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let board = r.text().await.unwrap();
    assert!(
        board.contains("2026-10-01 至 2026-10-31"),
        "last complete month: {board}"
    );
    assert!(board.contains("乡镇（街道）红榜") && board.contains("部门和乡镇灰榜"));
    assert!(board.contains("回访量少于 10 件的单位只列示、不排名"));
    assert!(
        board.contains("本期没有回访，不排名"),
        "why a unit is not ranked"
    );
    assert!(board.contains(r#"<option value="month:2026-10" selected>"#));
    assert!(board.contains("打印张贴"));
    let board = page_text(&app.client, app.url("/board?period=month:2026-11")).await;
    assert!(board.contains("本期尚未结束"));
    let r = app
        .client
        .get(app.url("/board?period=month:2026-13"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

/// The list a centre works from: its total equals the count, pages are numbered, the page size
/// can be chosen, the lead-unit filter offers only units that can lead, and each row counts down
/// to its deadline in working days (issue 16, item 6 in part).
pub async fn the_list_has_a_total_pages_and_countdowns(app: TestApp) {
    let mut numbers = Vec::new();
    for _ in 0..25 {
        numbers.push(n(&app.register(&new_appeal()).await));
    }
    let dispatcher = console_session(&app, "dispatcher").await;
    let page = page_text(&dispatcher, app.url("/appeals?size=20")).await;
    assert!(
        page.contains(r#"共 <strong id="list-total">25</strong> 件，第 1 / 2 页，每页 20 件"#),
        "{page}"
    );
    assert_eq!(page.matches("<tr class=").count(), 20, "twenty rows");
    let next = page
        .split("href=\"/appeals?")
        .find(|s| s.contains("cursor="))
        .and_then(|s| s.split('"').next())
        .unwrap()
        .replace("&amp;", "&");
    let second = page_text(&dispatcher, app.url(&format!("/appeals?{next}"))).await;
    assert!(second.contains("第 2 / 2 页"), "{second}");
    assert!(second.contains(">首页<"));
    assert_eq!(second.matches("<tr class=").count(), 5);
    // A filter narrows the total to exactly what it counts.
    app.ok(
        "dispatcher",
        &numbers[0],
        json!({"action": "dispatch", "lead": HOUSING}),
    )
    .await;
    let page = page_text(&dispatcher, app.url("/appeals?status=dispatched")).await;
    assert!(
        page.contains(r#"<strong id="list-total">1</strong>"#),
        "{page}"
    );
    // The countdown of the next deadline, in working days (signing: one working day).
    assert!(page.contains("剩 ") && page.contains("个工作日"), "{page}");
    // The lead-unit filter: departments and townships, not the village.
    let unit_filter = page
        .split(r#"name="unit""#)
        .nth(1)
        .unwrap()
        .split("</select>")
        .next()
        .unwrap();
    assert!(unit_filter.contains("县住建局") && unit_filter.contains("城关镇"));
    assert!(
        !unit_filter.contains(&format!(r#"value="{VILLAGE}""#)),
        "{unit_filter}"
    );
    // A nonsense page size reads as the default.
    let page = page_text(&dispatcher, app.url("/appeals?size=abc&p=x")).await;
    assert!(page.contains("每页 50 件"));
}

/// Any period of 四比 can be chosen, a custom range too, on the dashboard, the board and the API
/// (issue 16, item 1).
pub async fn any_period_of_sibi_can_be_chosen(app: TestApp) {
    let leader = console_session(&app, "leader").await;
    let dash = page_text(&leader, app.url("/dashboard")).await;
    for choice in [
        r#"value="month:2025-01""#,
        r#"value="assess:2026-01""#,
        r#"value="quarter:2025-1""#,
        r#"value="half:2025-1""#,
        r#"value="year:2024""#,
    ] {
        assert!(dash.contains(choice), "{choice} offered");
    }
    let dash = page_text(
        &leader,
        app.url("/dashboard?period=month:2026-11&from=2026-10-05&to=2026-10-20"),
    )
    .await;
    assert!(
        dash.contains("领导驾驶舱 · 2026-10-05 至 2026-10-20"),
        "the custom range wins"
    );
    assert!(
        dash.contains(r#"value="2026-10-05""#),
        "and is shown in the form"
    );
    let (s, m) = app
        .get("leader", "/api/v1/metrics?from=2026-10-05&to=2026-10-20")
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(m["period"]["spec"], "days:2026-10-05:2026-10-20");
    let (s, e) = app
        .get("leader", "/api/v1/metrics?from=2026-10-20&to=2026-10-05")
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_period"))
    );
    let board = page_text(&app.client, app.url("/board?period=quarter:2026-3")).await;
    assert!(board.contains("2026-07-01 至 2026-09-30"));
}

/// The dashboard's volume and overdue figures open the appeals they count: the list's total
/// equals the figure (issue 16, item 4, for these two).
pub async fn the_volume_and_overdue_figures_open_their_appeals(app: TestApp) {
    let mut numbers = Vec::new();
    for _ in 0..7 {
        numbers.push(n(&app.register(&new_appeal()).await));
    }
    for num in &numbers[..4] {
        app.ok(
            "dispatcher",
            num,
            json!({"action": "dispatch", "lead": HOUSING}),
        )
        .await;
    }
    app.ok("housing", &numbers[0], json!({"action": "sign"}))
        .await;
    // Three days on: the unsigned dispatches and the undispatched appeals are overdue.
    app.clock.advance(chrono::Duration::days(3));
    let (_, m) = app
        .get("leader", "/api/v1/metrics?period=month:2026-11")
        .await;
    let volume = m["headline"]["volume"].as_u64().unwrap();
    let overdue = m["headline"]["overdue"].as_u64().unwrap();
    assert_eq!(volume, 7);
    assert!(overdue >= 6, "{overdue}");
    let leader = console_session(&app, "leader").await;
    let dash = page_text(&leader, app.url("/dashboard?period=month:2026-11")).await;
    let total = |page: &str| -> u64 {
        page.split(r#"<strong id="list-total">"#)
            .nth(1)
            .and_then(|s| s.split('<').next())
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no total in {page}"))
    };
    // Follow the dashboard's own links.
    let link_of = |label: &str| -> String {
        let at = dash
            .find(&format!(r#"<div class="l">{label}</div>"#))
            .unwrap();
        let start = dash[..at].rfind("href=\"").unwrap() + 6;
        dash[start..]
            .split('"')
            .next()
            .unwrap()
            .replace("&amp;", "&")
    };
    let page = page_text(&leader, app.url(&link_of("受理量"))).await;
    assert_eq!(total(&page), volume, "受理量 opens exactly its appeals");
    let page = page_text(&leader, app.url(&link_of("当前超期"))).await;
    assert_eq!(total(&page), overdue, "当前超期 opens exactly its appeals");
    // A rate opens its denominator, and the count under it its numerator.
    let tas = &m["headline"]["timely_acceptance"];
    assert_eq!(tas["den"].as_u64(), Some(4), "{tas}");
    let page = page_text(&leader, app.url(&link_of("及时受理率"))).await;
    assert_eq!(total(&page), 4, "及时受理率 opens its denominator");
    assert!(
        page.contains("及时受理率 · 分母"),
        "the list says what it holds"
    );
    let num_link = |code: &str| -> String {
        let at = dash.find(&format!(r#"data-metric="{code}""#)).unwrap();
        let start = at + dash[at..].find(r#"class="num" href=""#).unwrap() + 18;
        dash[start..]
            .split('"')
            .next()
            .unwrap()
            .replace("&amp;", "&")
    };
    let page = page_text(&leader, app.url(&num_link("timely_acceptance"))).await;
    assert_eq!(
        total(&page),
        tas["num"].as_u64().unwrap(),
        "及时受理率's numerator"
    );
    assert_eq!(total(&page), 1, "one dispatch was signed in time");

    // In December, November is over: its overdue count is the one at its end — the housing
    // bureau's reply that ran out unanswered — and opens exactly those appeals.
    app.clock.advance(chrono::Duration::days(40));
    let (_, m) = app
        .get("leader", "/api/v1/metrics?period=month:2026-11")
        .await;
    let at_end = m["headline"]["overdue"].as_u64().unwrap();
    let dash = page_text(&leader, app.url("/dashboard?period=month:2026-11")).await;
    assert!(
        dash.contains("期末超期"),
        "a past period shows the count at its end"
    );
    let at = dash.find(r#"id="overdue-card""#).unwrap();
    let start = at + dash[at..].find("href=\"").unwrap() + 6;
    let link = dash[start..]
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    let page = page_text(&leader, app.url(&link)).await;
    assert!(at_end >= 1, "{at_end}");
    assert_eq!(total(&page), at_end, "期末超期 opens exactly its appeals");
    let bad = app
        .get("leader", "/api/v1/appeals?metric=closed_loop")
        .await;
    assert_eq!(bad.0, StatusCode::BAD_REQUEST, "a metric needs a period");
    assert_eq!(bad.1["code"], "bad_query");
    let (_, list) = app
        .get(
            "leader",
            "/api/v1/appeals?metric=timely_acceptance&period=month:2026-11",
        )
        .await;
    assert_eq!(list["drill"]["facts"], 4);
}

/// Several appeals dispatched to one unit, then supervised, in one request each; every appeal
/// is still decided on its own (a stale version or another role's act is refused for that one
/// only), and the console's list does the same through the same use case (issue 16, item 6).
pub async fn several_appeals_are_dispatched_and_supervised_at_once(app: TestApp) {
    let mut numbers = Vec::new();
    for _ in 0..5 {
        numbers.push(n(&app.register(&new_appeal()).await));
    }
    let version = |v: &Value| v["version"].as_u64().unwrap();
    let mut items = Vec::new();
    for num in &numbers[..4] {
        let v = version(&app.get("admin", &format!("/api/v1/appeals/{num}")).await.1);
        items.push(json!({"key": num, "version": v}));
    }
    // The fourth was changed after it was listed: its version no longer holds.
    app.ok(
        "operator",
        &numbers[3],
        json!({"action": "comment", "text": "来电补充：夜间更严重"}),
    )
    .await;
    let (s, r) = app
        .post(
            "dispatcher",
            "/api/v1/appeals/bulk-actions",
            &json!({"action": "dispatch", "lead": HOUSING, "note": "集中交办", "appeals": items}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(
        (r["done"].as_u64(), r["refused"].as_u64()),
        (Some(3), Some(1)),
        "{r}"
    );
    assert_eq!(r["results"][3]["code"], "version_conflict", "{r}");
    for (i, num) in numbers[..3].iter().enumerate() {
        assert_eq!(r["results"][i]["status"], "dispatched");
        assert_eq!(app.status_of(num).await, "dispatched");
    }
    assert_eq!(app.status_of(&numbers[3]).await, "pending_dispatch");

    // A role that may not dispatch is refused appeal by appeal; nothing changes.
    let v4 = version(
        &app.get("admin", &format!("/api/v1/appeals/{}", numbers[4]))
            .await
            .1,
    );
    let (s, r) = app
        .post(
            "supervisor",
            "/api/v1/appeals/bulk-actions",
            &json!({"action": "dispatch", "lead": HOUSING, "appeals": [{"key": numbers[4], "version": v4}]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["done"], 0, "{r}");
    assert_eq!(r["results"][0]["code"], "role_forbidden", "{r}");
    assert_eq!(app.status_of(&numbers[4]).await, "pending_dispatch");

    // Supervise the three dispatched ones at once.
    let mut items = Vec::new();
    for num in &numbers[..3] {
        let v = version(&app.get("admin", &format!("/api/v1/appeals/{num}")).await.1);
        items.push(json!({"key": num, "version": v}));
    }
    let (s, r) = app
        .post(
            "supervisor",
            "/api/v1/appeals/bulk-actions",
            &json!({"action": "supervise", "reason": "leader_order", "note": "县领导批示：本周内答复", "appeals": items}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["done"], 3, "{r}");
    for num in &numbers[..3] {
        let (_, a) = app.get("admin", &format!("/api/v1/appeals/{num}")).await;
        assert_eq!(a["supervision_count"], 1, "{a}");
    }

    // Requests that cannot be a bulk action are refused whole, with a code that says why.
    let one = json!([{"key": numbers[4], "version": v4}]);
    let cases = [
        (
            json!({"action": "close", "appeals": one}),
            "bulk_action_not_allowed",
        ),
        (
            json!({"action": "dispatch", "lead": HOUSING, "appeals": []}),
            "invalid_body",
        ),
        (
            json!({"action": "dispatch", "lead": HOUSING}),
            "invalid_body",
        ),
        (
            json!({"action": "dispatch", "lead": HOUSING, "version": 1, "appeals": one}),
            "invalid_body",
        ),
        (
            json!({"action": "dispatch", "lead": HOUSING, "appeals": [{"key": numbers[4]}]}),
            "invalid_body",
        ),
        (
            json!({"action": "dispatch", "lead": HOUSING,
                "appeals": (0..201).map(|_| json!({"key": numbers[4], "version": v4})).collect::<Vec<_>>()}),
            "bulk_too_many",
        ),
    ];
    for (body, code) in cases {
        let (s, r) = app
            .post("dispatcher", "/api/v1/appeals/bulk-actions", &body)
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {r}");
        assert_eq!(r["code"], code, "{body}: {r}");
    }
    assert_eq!(app.status_of(&numbers[4]).await, "pending_dispatch");

    // The console: the list offers a checkbox for each appeal the dispatcher may dispatch now
    // (the two still waiting), and the form dispatches through the same use case.
    let dispatcher = console_session(&app, "dispatcher").await;
    let page = page_text(&dispatcher, app.url("/appeals?status=pending_dispatch")).await;
    assert_eq!(page.matches(r#"name="pick""#).count(), 2, "{page}");
    assert!(
        page.contains("批量交办") && !page.contains("批量督办"),
        "{page}"
    );
    let pick = format!("{}:{v4}", numbers[4]);
    let r = console_post(
        &dispatcher,
        &app,
        "/appeals/bulk",
        &[
            ("back", "/appeals?status=pending_dispatch"),
            ("pick", pick.as_str()),
            ("lead", &HOUSING.to_string()),
            ("note", ""),
            ("action", "dispatch"),
        ],
    )
    .await;
    let text = r.text().await.unwrap();
    assert!(text.contains("已交办 <strong>1</strong> 件"), "{text}");
    assert_eq!(app.status_of(&numbers[4]).await, "dispatched");
    // No unit chosen: nothing runs, and the page says what to do.
    let r = console_post(
        &dispatcher,
        &app,
        "/appeals/bulk",
        &[
            ("pick", pick.as_str()),
            ("lead", ""),
            ("action", "dispatch"),
        ],
    )
    .await;
    let text = r.text().await.unwrap();
    assert!(text.contains("请选择交办给哪个主办单位"), "{text}");
}

/// Each user's saved filters: saved from the list, opened as links, kept apart from other users',
/// removed with their history kept; clear refusals for bad names and keys (issue 16, item 6).
pub async fn saved_filters_are_each_users_own(app: TestApp) {
    let (s, v) = app
        .post(
            "dispatcher",
            "/api/v1/me/filters",
            &json!({"name": "城关镇超期", "query": "?overdue=true&township=3&cursor=abc&p=2"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        v["query"], "overdue=true&township=3",
        "paging is not kept: {v}"
    );
    assert_eq!(v["href"], "/appeals?overdue=true&township=3");
    let id = v["id"].as_u64().unwrap();
    let (_, mine) = app.get("dispatcher", "/api/v1/me/filters").await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1, "{mine}");
    // Another user sees none of them and cannot remove or change them.
    let (_, theirs) = app.get("operator", "/api/v1/me/filters").await;
    assert_eq!(theirs["items"], json!([]), "{theirs}");
    let (s, _) = app
        .post(
            "operator",
            "/api/v1/me/filters",
            &json!({"id": id, "name": "改名", "query": ""}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let r = app
        .client
        .delete(app.url(&format!("/api/v1/me/filters/{id}")))
        .bearer_auth(app.token("operator"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // Refusals that say what to do.
    for (body, code) in [
        (
            json!({"name": "  ", "query": "status=closed"}),
            "invalid_input",
        ),
        (json!({"name": "x", "query": "colour=red"}), "invalid_body"),
        (
            json!({"name": "长".repeat(31), "query": ""}),
            "invalid_input",
        ),
        (json!({"query": "status=closed"}), "invalid_body"),
    ] {
        let (s, e) = app.post("dispatcher", "/api/v1/me/filters", &body).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {e}");
        assert_eq!(e["code"], code, "{body}: {e}");
    }

    // The console lists it as a link, saves the page's own filter, keeps a refused name typed.
    let dispatcher = console_session(&app, "dispatcher").await;
    let page = page_text(&dispatcher, app.url("/appeals?status=dispatched")).await;
    assert!(
        page.contains(r#"href="/appeals?overdue=true&amp;township=3""#),
        "{page}"
    );
    assert!(
        page.contains(r#"name="query" value="status=dispatched""#),
        "{page}"
    );
    let r = console_post(
        &dispatcher,
        &app,
        "/appeals/filters",
        &[("query", "status=dispatched"), ("name", "已交办")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert!(
        to.starts_with("/appeals?status=dispatched&filter_done="),
        "{to}"
    );
    let page = page_text(&dispatcher, app.url(&to)).await;
    assert!(
        page.contains("已保存筛选「已交办」") && page.contains(">已交办</a>"),
        "{page}"
    );
    let r = console_post(
        &dispatcher,
        &app,
        "/appeals/filters",
        &[
            ("query", "status=closed"),
            ("name", &"很长的名字".repeat(7)),
        ],
    )
    .await;
    let to = r.headers()["location"].to_str().unwrap().to_string();
    let page = page_text(&dispatcher, app.url(&to)).await;
    assert!(page.contains("名称最多 30 个字"), "{page}");
    assert!(
        page.contains(&"很长的名字".repeat(7)),
        "the typed name is kept: {page}"
    );

    // Removed: gone from the list, its history kept.
    let r = console_post(
        &dispatcher,
        &app,
        &format!("/appeals/filters/{id}/remove"),
        &[],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, mine) = app.get("dispatcher", "/api/v1/me/filters").await;
    let names: Vec<_> = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].clone())
        .collect();
    assert_eq!(names, vec![json!("已交办")], "{mine}");
    let history = bihuan_store::aggregates::history::<bihuan_domain::saved_filter::SavedFilter>(
        app.state.store.as_ref(),
        id,
    )
    .await
    .unwrap();
    assert_eq!(history.len(), 2);
}

/// On 2 December a petition's 60-day limit runs into 2027, whose holiday notice is not loaded:
/// the unit still signs it, the deadline is provisional and every view says 预计 (issue 17,
/// item 1).
pub async fn a_petition_is_signed_when_its_deadline_runs_into_an_unloaded_year(app: TestApp) {
    app.clock
        .set(bihuan_domain::time::local(2026, 12, 2, 9, 0, 0).unwrap());
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
    assert_eq!(a["status"], "in_progress", "{a}");
    // 60 days from 12-02 end on Sunday 2027-01-31, so on Monday 02-01 (民法典 Art 203).
    assert!(
        a["deadlines"]["reply"]
            .as_str()
            .unwrap()
            .starts_with("2027-02-01"),
        "{a}"
    );
    assert_eq!(a["provisional"], json!(["reply"]), "{a}");
    let (_, list) = app
        .get("dispatcher", "/api/v1/appeals?status=in_progress")
        .await;
    let row = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["number"] == num.as_str())
        .unwrap();
    assert_eq!(row["provisional"], json!(["reply"]));
    let housing = console_session(&app, "housing").await;
    let page = page_text(&housing, app.url(&format!("/appeals/{num}"))).await;
    assert!(
        page.contains(r#"class="badge provisional""#) && page.contains("预计"),
        "{page}"
    );
    let print = page_text(&housing, app.url(&format!("/appeals/{num}/print"))).await;
    assert!(print.contains("（预计）"), "{print}");
}

/// Loading 2027's notice computes the open appeals' provisional deadlines again: each moved
/// appeal gets a timeline step, the API says how many moved, nothing is 预计 any more, and the
/// rollups kept in the writes equal a rebuild (issue 17, item 1).
pub async fn loading_a_notice_recomputes_the_provisional_deadlines(app: TestApp) {
    app.clock
        .set(bihuan_domain::time::local(2026, 12, 30, 9, 0, 0).unwrap());
    let mut numbers = Vec::new();
    for _ in 0..3 {
        let num = n(&app.register(&new_appeal()).await);
        app.ok(
            "dispatcher",
            &num,
            json!({"action": "dispatch", "lead": HOUSING}),
        )
        .await;
        numbers.push(num);
    }
    let before = app
        .get("admin", &format!("/api/v1/appeals/{}", numbers[0]))
        .await
        .1;
    assert!(
        before["provisional"]
            .as_array()
            .unwrap()
            .contains(&json!("reply")),
        "{before}"
    );
    // 5 working days from 12-30 (01-01 元旦 predicted): 12-31, 01-04, 05, 06, 07.
    assert_eq!(
        before["deadlines"]["reply"].as_str().unwrap()[..10],
        *"2027-01-07"
    );
    app.clock.advance(chrono::Duration::hours(6));
    // A test notice (not the official one): 01-04 a bridging rest day.
    let (s, v) = app
        .post(
            "admin",
            "/api/v1/calendar/years",
            &json!({"year": 2027, "papers": ["test"], "days": [
                {"name": "元旦", "date": "2027-01-01", "isOffDay": true},
                {"name": "元旦", "date": "2027-01-04", "isOffDay": true}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    // The reply deadlines only: signing and first contact are due on 12-31, a known day.
    assert_eq!(v["recomputed_appeals"], 3, "{v}");
    assert_eq!(v["recomputed_deadlines"], 3, "{v}");
    let after = app
        .get("admin", &format!("/api/v1/appeals/{}", numbers[0]))
        .await
        .1;
    // With 01-04 a rest day: 12-31, 01-05, 06, 07, 08.
    assert_eq!(
        after["deadlines"]["reply"].as_str().unwrap()[..10],
        *"2027-01-08"
    );
    assert_eq!(after["provisional"], json!([]), "{after}");
    let step = after["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"]["type"] == "deadlines_recomputed")
        .unwrap_or_else(|| panic!("no recompute step: {after}"));
    assert_eq!(step["event"]["year"], 2027);
    // Loading the same notice again moves nothing.
    let (_, v) = app
        .post(
            "admin",
            "/api/v1/calendar/years",
            &json!({"year": 2027, "papers": ["test"], "days": [
                {"name": "元旦", "date": "2027-01-01", "isOffDay": true},
                {"name": "元旦", "date": "2027-01-04", "isOffDay": true}]}),
        )
        .await;
    assert_eq!(v["recomputed_appeals"], 0, "{v}");
    // The console's timeline says what moved.
    let admin = console_session(&app, "dispatcher").await;
    let page = page_text(&admin, app.url(&format!("/appeals/{}", numbers[0]))).await;
    assert!(
        page.contains("2027 年放假通知导入后，预计期限按通知重算"),
        "{page}"
    );
    // The rollups kept in the writes are what a rebuild makes.
    let kept = app.state.store.rollup_dump().await.unwrap();
    app.state.store.rebuild_rollups().await.unwrap();
    let rebuilt = app.state.store.rollup_dump().await.unwrap();
    assert!(
        kept == rebuilt,
        "rollups kept in the writes differ from a rebuild"
    );
}

/// A petition's notices over the API and the console: the acceptance notice is issued at
/// signing, its receipt is recorded, the 意见书 comes with the reply and its 复查 deadline counts
/// from the receipt; another unit cannot open them (issue 17, item 3).
pub async fn a_petition_issues_printable_notices_with_their_receipt(app: TestApp) {
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
    let docs = a["documents"].as_array().unwrap().clone();
    assert_eq!(docs.len(), 1, "{a}");
    assert_eq!(docs[0]["kind"], "acceptance");
    let v = docs[0]["version"].as_u64().unwrap();
    // The receipt: not in the future; then once.
    let (s, e) = app
        .act(
            "housing",
            &num,
            json!({"action": "record_receipt", "document": v, "received_on": "2026-11-09"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let a = app
        .ok(
            "housing",
            &num,
            json!({"action": "record_receipt", "document": v, "received_on": "2026-11-02"}),
        )
        .await;
    assert_eq!(a["documents"][0]["received_on"], "2026-11-02");
    let a = app
        .ok("housing", &num, json!({"action": "reply", "result": "resolved", "text": "经核查，路灯线路已更换，恢复照明。", "petition_outcome": "support"}))
        .await;
    let opinion = a["documents"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(opinion["kind"], "opinion", "{a}");
    let ov = opinion["version"].as_u64().unwrap();
    app.ok(
        "housing",
        &num,
        json!({"action": "record_receipt", "document": ov, "received_on": "2026-11-02"}),
    )
    .await;
    let housing = console_session(&app, "housing").await;
    let detail = page_text(&housing, app.url(&format!("/appeals/{num}"))).await;
    assert!(
        detail.contains("信访文书") && detail.contains("信访处理意见书"),
        "{detail}"
    );
    // A date the form cannot read is refused with what to type, not a parser's message.
    let version = app
        .get("housing", &format!("/api/v1/appeals/{num}"))
        .await
        .1["version"]
        .to_string();
    let r = console_post(
        &housing,
        &app,
        &format!("/appeals/{num}/act"),
        &[
            ("action", "record_receipt"),
            ("version", &version),
            ("document", &ov.to_string()),
            ("received_on", "昨天"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("请填写信访人收到文书的日期（年-月-日）"));
    let page = page_text(&housing, app.url(&format!("/appeals/{num}/documents/{ov}"))).await;
    assert!(page.contains("<h1>信访处理意见书</h1>"), "{page}");
    for field in [
        "信访请求",
        "事实和理由",
        "处理意见",
        "依据",
        "复查途径和期限",
        "第三十五条",
    ] {
        assert!(page.contains(field), "{field}: {page}");
    }
    // 30 days from 11-02 end on Wednesday 12-02.
    assert!(page.contains("复查请求须于 2026-12-02 前"), "{page}");
    let acceptance = page_text(&housing, app.url(&format!("/appeals/{num}/documents/{v}"))).await;
    assert!(
        acceptance.contains("<h1>受理告知书</h1>") && acceptance.contains("第二十三条"),
        "{acceptance}"
    );
    // No such notice; another unit's appeal.
    let r = housing
        .get(app.url(&format!("/appeals/{num}/documents/999")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let transport = console_session(&app, "transport").await;
    let r = transport
        .get(app.url(&format!("/appeals/{num}/documents/{ov}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let text = r.text().await.unwrap();
    assert!(!text.contains("事实和理由"), "{text}");
}

/// 检举控告 (信访工作条例 Art 30): the accused unit is refused as the handler, and nothing of the
/// matter reaches it — not its list, inbox, detail, work order, notices, export or the API — while
/// the unit that handles it sees it (issue 17, item 5).
pub async fn an_accusation_never_reaches_the_accused_unit(app: TestApp) {
    let mut accusation = new_appeal();
    accusation["kind"] = json!("petition_accusation");
    accusation["title"] = json!("举报某局工作人员违规收费");
    accusation["content"] = json!("县住建局某科室工作人员办理业务时违规收取费用，有收据为证。");
    accusation["accused_units"] = json!([HOUSING]);
    let a = app.register(&accusation).await;
    let num = n(&a);
    let (s, e) = app
        .act(
            "dispatcher",
            &num,
            json!({"action": "dispatch", "lead": HOUSING}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(e["message"].as_str().unwrap().contains("第三十条"), "{e}");
    let (s, e) = app
        .act(
            "dispatcher",
            &num,
            json!({"action": "dispatch", "lead": TRANSPORT, "assisting": [HOUSING]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    app.ok(
        "dispatcher",
        &num,
        json!({"action": "dispatch", "lead": TRANSPORT}),
    )
    .await;
    // The handling unit sees it; the accused unit sees nothing of it anywhere.
    let (s, _) = app
        .get("transport", &format!("/api/v1/appeals/{num}"))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app.get("housing", &format!("/api/v1/appeals/{num}")).await;
    assert!(
        s == StatusCode::FORBIDDEN || s == StatusCode::NOT_FOUND,
        "{s}"
    );
    let (_, list) = app.get("housing", "/api/v1/appeals?limit=500").await;
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["number"] != num.as_str()),
        "{list}"
    );
    let csv = app.text("housing", "/api/v1/export/appeals.csv").await;
    assert!(
        !csv.contains(&num) && !csv.contains("违规收取费用"),
        "{csv}"
    );
    let housing = console_session(&app, "housing").await;
    for path in [
        "/queue/inbox".to_string(),
        "/appeals".to_string(),
        "/notices".to_string(),
        format!("/appeals/{num}"),
        format!("/appeals/{num}/print"),
    ] {
        let page = page_text(&housing, app.url(&path)).await;
        assert!(
            !page.contains("违规收取费用")
                && !page.contains("13912345678")
                && !page.contains("139****5678"),
            "{path}: {page}"
        );
    }
    let transport = console_session(&app, "transport").await;
    let page = page_text(&transport, app.url(&format!("/appeals/{num}"))).await;
    assert!(page.contains("违规收取费用"), "{page}");
    // The dispatcher's form for a new accusation does not offer the accused unit at all.
    let second = n(&app.register(&accusation).await);
    let dispatcher = console_session(&app, "dispatcher").await;
    let page = page_text(&dispatcher, app.url(&format!("/appeals/{second}"))).await;
    let lead = page
        .split(r#"name="lead""#)
        .nth(1)
        .and_then(|s| s.split("</select>").next())
        .unwrap_or_else(|| panic!("no dispatch form: {page}"));
    assert!(lead.contains(&format!(r#"value="{TRANSPORT}""#)), "{lead}");
    assert!(!lead.contains(&format!(r#"value="{HOUSING}""#)), "{lead}");
}

/// A notice loaded after its year began: the handling times already counted on the provisional
/// calendar are counted again on the notice, so the kept rollups equal a rebuild.
pub async fn a_notice_loaded_after_its_year_began_recounts_the_rollups(app: TestApp) {
    let at = |d, h| bihuan_domain::time::local(2027, 1, d, h, 0, 0).unwrap();
    app.clock.set(at(4, 9));
    let num = n(&app.register(&new_appeal()).await);
    app.ok(
        "dispatcher",
        &num,
        json!({"action": "dispatch", "lead": HOUSING}),
    )
    .await;
    app.clock.set(at(4, 10));
    app.ok("housing", &num, json!({"action": "sign"})).await;
    app.clock.set(at(6, 15));
    app.ok(
        "housing",
        &num,
        json!({"action": "reply", "result": "resolved", "text": "已修复路灯。"}),
    )
    .await;
    app.clock.set(at(7, 9));
    // A test notice (not the official one): 01-05 a rest day, so the handling time changes.
    let (s, v) = app
        .post(
            "admin",
            "/api/v1/calendar/years",
            &json!({"year": 2027, "papers": ["test"], "days": [
                {"name": "元旦", "date": "2027-01-01", "isOffDay": true},
                {"name": "元旦", "date": "2027-01-05", "isOffDay": true}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let kept = app.state.store.rollup_dump().await.unwrap();
    app.state.store.rebuild_rollups().await.unwrap();
    let rebuilt = app.state.store.rollup_dump().await.unwrap();
    assert!(
        kept == rebuilt,
        "the rollups kept differ from a rebuild on the notice"
    );
}

/// 复查 and 复核 as linked cases over the API and the console (信访工作条例 Arts 35–36): a
/// request outside its window is refused with the date it closed; the review is answered by the
/// unit one level up within 30 days of the request; a 复核 hearing stops its clock; after the
/// 复核 a new petition on the same matter is offered 不再受理 and declined with its notice; the
/// rollups kept in the writes equal a rebuild (issue 17, items 2 and 4).
pub async fn reviews_run_as_linked_cases_with_their_own_clocks(app: TestApp) {
    let mut petition = new_appeal();
    petition["kind"] = json!("petition_claim");
    petition["category"] = json!(3);
    let num = n(&app.register(&petition).await);
    app.ok(
        "dispatcher",
        &num,
        json!({"action": "dispatch", "lead": TOWN}),
    )
    .await;
    app.ok("town", &num, json!({"action": "sign"})).await;
    let a = app
        .ok("town", &num, json!({"action": "reply", "result": "unresolvable", "reason": "缺乏政策依据", "text": "经调查，所提补偿请求缺乏政策依据。", "petition_outcome": "not_supported"}))
        .await;
    let ov = a["documents"].as_array().unwrap().last().unwrap()["version"]
        .as_u64()
        .unwrap();
    let post_review = |body: Value| {
        let app = &app;
        let num = num.clone();
        async move {
            let (_, cur) = app.get("admin", &format!("/api/v1/appeals/{num}")).await;
            let mut body = body;
            body["version"] = cur["version"].clone();
            app.post(
                "dispatcher",
                &format!("/api/v1/appeals/{num}/reviews"),
                &body,
            )
            .await
        }
    };
    // Before the receipt there is no window.
    let (s, e) = post_review(
        json!({"request": "请求复查", "requested_on": "2026-11-02", "reviewer": WATER}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(e["message"].as_str().unwrap().contains("送达日期"), "{e}");
    app.ok(
        "town",
        &num,
        json!({"action": "record_receipt", "document": ov, "received_on": "2026-11-02"}),
    )
    .await;
    // 30 days from 11-02 end on 12-02: a request received on 12-03 is refused with that date.
    app.clock.advance(chrono::Duration::days(31));
    let (s, e) = post_review(
        json!({"request": "请求复查", "requested_on": "2026-12-03", "reviewer": WATER}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["code"], "review_window_closed", "{e}");
    assert!(e["message"].as_str().unwrap().contains("2026-12-02"), "{e}");
    // Received on 12-02, the last day: accepted. Without a reviewer and with no review unit
    // configured the township's superior is the county itself: the request must name one.
    let (s, e) = post_review(json!({"request": "请求复查", "requested_on": "2026-12-02"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(
        e["message"].as_str().unwrap().contains("review_unit"),
        "{e}"
    );
    let (s, v) = post_review(json!({"request": "对不予支持的意见不服，请求复查。", "requested_on": "2026-12-02", "reviewer": WATER})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let recheck = v["review"]["number"].as_str().unwrap().to_string();
    assert_eq!(v["review"]["review"]["stage"], "recheck");
    assert_eq!(v["review"]["lead"], WATER);
    assert_eq!(v["review"]["status"], "dispatched");
    // 12-02 + 30 days = 2027-01-01 (New Year's Day, predicted): the next working day.
    assert_eq!(
        v["review"]["deadlines"]["reply"].as_str().unwrap()[..10],
        *"2027-01-04",
        "{v}"
    );
    assert_eq!(v["reviewed"]["reviews"][0]["number"], recheck.as_str());
    // The reviewing unit reads the reviewed file (and finds it in its lists); others do not.
    assert_eq!(
        app.get("water", &format!("/api/v1/appeals/{num}")).await.0,
        StatusCode::OK
    );
    assert_eq!(
        app.get("housing", &format!("/api/v1/appeals/{num}"))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let listed = app.get("water", "/api/v1/appeals?regime=petition").await.1;
    let numbers: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["number"].as_str().unwrap())
        .collect();
    assert!(
        numbers.contains(&num.as_str()) && numbers.contains(&recheck.as_str()),
        "{numbers:?}"
    );
    // A second request for the same opinion is refused.
    let (s, _) = post_review(
        json!({"request": "再次请求复查", "requested_on": "2026-12-03", "reviewer": HOUSING}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    // The review through the loop: signed, answered, received.
    app.ok("water", &recheck, json!({"action": "sign"})).await;
    let r = app
        .ok("water", &recheck, json!({"action": "reply", "result": "unresolvable", "reason": "原意见正确", "text": "经复查，维持原处理意见。", "petition_outcome": "not_supported"}))
        .await;
    let doc = r["documents"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(doc["kind"], "recheck_opinion", "{r}");
    let rv = doc["version"].as_u64().unwrap();
    app.ok(
        "water",
        &recheck,
        json!({"action": "record_receipt", "document": rv, "received_on": "2026-12-03"}),
    )
    .await;
    // 复核 by TRANSPORT, through the console's form.
    let dispatcher = console_session(&app, "dispatcher").await;
    let version = app
        .get("admin", &format!("/api/v1/appeals/{recheck}"))
        .await
        .1["version"]
        .to_string();
    let r = console_post(
        &dispatcher,
        &app,
        &format!("/appeals/{recheck}/act"),
        &[
            ("action", "request_review"),
            ("version", &version),
            ("request", "对复查意见不服，请求复核。"),
            ("requested_on", "2026-12-03"),
            ("reviewer", &TRANSPORT.to_string()),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // To the new review case, which says what it reviews.
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert!(to.ends_with("?ok=request_review"), "{to}");
    let page = page_text(&dispatcher, app.url(&to)).await;
    assert!(
        page.contains("本案为") && page.contains("复核") && page.contains(&recheck),
        "{page}"
    );
    let listed = app
        .get("admin", &format!("/api/v1/appeals/{recheck}"))
        .await
        .1;
    let rereview = listed["reviews"][0]["number"].as_str().unwrap().to_string();
    assert_eq!(listed["reviews"][0]["stage"], "rereview");
    app.ok("transport", &rereview, json!({"action": "sign"}))
        .await;
    let before = app
        .get("admin", &format!("/api/v1/appeals/{rereview}"))
        .await
        .1["deadlines"]["reply"]
        .as_str()
        .unwrap()
        .to_string();
    app.ok(
        "transport",
        &rereview,
        json!({"action": "start_hearing", "reason": "事实认定有争议，公开听证"}),
    )
    .await;
    let (s, e) = app
        .act("transport", &rereview, json!({"action": "reply", "result": "resolved", "text": "维持", "petition_outcome": "not_supported"}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    app.clock.advance(chrono::Duration::days(2));
    let h = app
        .ok(
            "transport",
            &rereview,
            json!({"action": "end_hearing", "note": "形成听证报告"}),
        )
        .await;
    // 12-03 to 12-05: three hearing days, not counted.
    assert_eq!(h["hearings"][0]["days"], 3, "{h}");
    let after = h["deadlines"]["reply"].as_str().unwrap();
    let parse = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap();
    assert_eq!(parse(after) - parse(&before), chrono::Duration::days(3));
    let f = app
        .ok("transport", &rereview, json!({"action": "reply", "result": "unresolvable", "reason": "原意见正确", "text": "经复核，维持复查意见。", "petition_outcome": "not_supported"}))
        .await;
    let fdoc = f["documents"].as_array().unwrap().last().unwrap()["version"]
        .as_u64()
        .unwrap();
    let transport = console_session(&app, "transport").await;
    let print = page_text(
        &transport,
        app.url(&format!("/appeals/{rereview}/documents/{fdoc}")),
    )
    .await;
    assert!(
        print.contains("<h1>复核意见书</h1>")
            && print.contains("不再受理")
            && print.contains("共3日"),
        "{print}"
    );
    // The same petitioner writes again on the same matter: the township is offered 不再受理.
    let again = n(&app.register(&petition).await);
    app.ok(
        "dispatcher",
        &again,
        json!({"action": "dispatch", "lead": TOWN}),
    )
    .await;
    let town = console_session(&app, "town").await;
    let page = page_text(&town, app.url(&format!("/appeals/{again}"))).await;
    assert!(
        page.contains("已复核终结") && page.contains(&rereview),
        "{page}"
    );
    // A prior that is not a final 复核 of this petitioner is refused; the right one is taken.
    let (s, e) = app
        .act("town", &again, json!({"action": "decline", "ground": "final_after_review", "reason": "同一事实和理由", "route": "不再受理", "prior": num}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let d = app
        .ok("town", &again, json!({"action": "decline", "ground": "final_after_review", "reason": "同一事实和理由，已复核终结", "route": "不再受理；可通过其他法定途径主张权利", "prior": rereview}))
        .await;
    assert_eq!(d["status"], "closed");
    assert_eq!(d["documents"][0]["kind"], "non_acceptance", "{d}");
    let dv = d["documents"][0]["version"].as_u64().unwrap();
    let notice = page_text(&town, app.url(&format!("/appeals/{again}/documents/{dv}"))).await;
    assert!(
        notice.contains("<h1>不予受理告知书</h1>") && notice.contains("第三十六条"),
        "{notice}"
    );
    // The annual report (Art 41) counts them: two first petitions, a 复查 and a 复核 request,
    // one repeat declined; the township may not read the county's report.
    let (s, r) = app.get("leader", "/api/v1/reports/petitions/2026").await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["volume"], 4, "{r}");
    assert_eq!(r["recheck"]["requested"], 1);
    assert_eq!(r["rereview"]["requested"], 1);
    assert_eq!(r["rereview"]["hearings"], 1);
    assert_eq!(r["repeat_petitions"], 1);
    assert_eq!(r["declined"][0]["key"], "final_after_review");
    assert_eq!(
        app.get("town", "/api/v1/reports/petitions/2026").await.0,
        StatusCode::FORBIDDEN
    );
    let leader = console_session(&app, "leader").await;
    let page = page_text(&leader, app.url("/reports/petitions/2026")).await;
    assert!(
        page.contains("2026年信访工作年度报告") && page.contains("第四十一条"),
        "{page}"
    );
    // Rollups kept in the writes are what a rebuild makes.
    let kept = app.state.store.rollup_dump().await.unwrap();
    app.state.store.rebuild_rollups().await.unwrap();
    assert!(
        kept == app.state.store.rollup_dump().await.unwrap(),
        "rollups differ from a rebuild"
    );
}

/// 集体访 (信访工作条例 Art 20) through the API and the intake form: more than five
/// representatives is refused with the article and the form keeps what was typed; the
/// representatives are personal data, masked for readers without the right.
pub async fn a_group_visit_is_registered_with_at_most_five_representatives(app: TestApp) {
    let mut p = new_appeal();
    p["kind"] = json!("petition_claim");
    p["channel"] = json!("in_person");
    p["group"] = json!({"people": 40, "representatives": ["张建国", "李秀英", "王志强", "刘桂兰", "陈国栋", "赵丽华"]});
    let (s, e) = app.post("operator", "/api/v1/appeals", &p).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["field"], "group.representatives", "{e}");
    assert!(e["message"].as_str().unwrap().contains("第二十条"), "{e}");
    p["group"]["representatives"] = json!(["张建国", "李秀英", "王志强"]);
    // Lodged with the province first (越级, Art 19) and forwarded down.
    p["forwarded_from"] = json!("province");
    let num = n(&app.register(&p).await);
    let (_, r) = app.get("leader", "/api/v1/reports/petitions/2026").await;
    assert_eq!(
        (r["forwarded"].as_u64(), r["over_level"].as_u64()),
        (Some(1), Some(1)),
        "{r}"
    );
    assert_eq!(
        (r["group_visits"].as_u64(), r["group_people"].as_u64()),
        (Some(1), Some(40)),
        "{r}"
    );
    let mut hotline = new_appeal();
    hotline["forwarded_from"] = json!("city");
    let (s, e) = app.post("operator", "/api/v1/appeals", &hotline).await;
    assert_eq!(
        (s, e["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("forwarded_from")),
        "{e}"
    );
    let (_, a) = app
        .get("dispatcher", &format!("/api/v1/appeals/{num}"))
        .await;
    assert_eq!(a["group"]["people"], 40, "{a}");
    assert_eq!(a["group"]["representatives"][0], "张建国");
    // The list shows them masked (lists mask personal data for all but return-visit staff).
    let (_, list) = app.get("leader", "/api/v1/appeals?regime=petition").await;
    let item = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["number"] == num.as_str())
        .unwrap()
        .clone();
    assert!(!item.to_string().contains("张建国"), "{item}");
    // The intake form: six names refused, the form filled in again with them.
    let operator = console_session(&app, "operator").await;
    let r = console_post(
        &operator,
        &app,
        "/appeals/new",
        &[
            ("channel", "in_person"),
            ("kind", "petition_claim"),
            ("urgency", "normal"),
            ("title", "征地补偿款发放"),
            ("content", "村民集体反映征地补偿款迟迟未发放到位。"),
            ("group_people", "25"),
            (
                "group_representatives",
                "张一、李二、王三、刘四、陈五、赵六",
            ),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("代表人数不超过5人") && page.contains("张一、李二、王三、刘四、陈五、赵六"),
        "{page}"
    );
}

/// 重复信访 (信访工作条例 Art 19): a petition by the same petitioner on a matter accepted before
/// is linked to it at registration; one named by number is checked; one accepted elsewhere is
/// recorded; each is counted for the period and its unit, and the count opens its appeals.
pub async fn a_repeat_petition_is_linked_and_counted(app: TestApp) {
    let mut petition = new_appeal();
    petition["kind"] = json!("petition_claim");
    petition["channel"] = json!("letter");
    let repeat_of = |num: String| {
        let app = &app;
        async move {
            let (_, a) = app
                .get("dispatcher", &format!("/api/v1/appeals/{num}"))
                .await;
            a["repeat_of"].clone()
        }
    };
    let first = n(&app.register(&petition).await);
    // Not accepted yet: a second letter is not a repeat of it.
    let early = n(&app.register(&petition).await);
    assert!(repeat_of(early).await.is_null());
    app.ok(
        "dispatcher",
        &first,
        json!({"action": "dispatch", "lead": TOWN}),
    )
    .await;
    app.ok("town", &first, json!({"action": "sign"})).await;
    app.clock.advance(chrono::Duration::days(3));
    let again = n(&app.register(&petition).await);
    assert_eq!(repeat_of(again.clone()).await["earlier"], first.as_str());
    // A hotline call by the same person is never a repeat petition.
    let call = app.register(&new_appeal()).await;
    assert!(repeat_of(n(&call)).await.is_null());
    // A number that is not this petitioner's petition is refused on its field.
    let mut named = petition.clone();
    named["citizen"]["phone"] = json!("13700001111");
    named["repeat_of"] = json!({"earlier": n(&call)});
    let (s, e) = app.post("operator", "/api/v1/appeals", &named).await;
    assert_eq!(
        (s, e["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("repeat_of.earlier")),
        "{e}"
    );
    // Accepted by the city before: recorded as told, nothing here to link.
    named["repeat_of"] = json!({"elsewhere": "市信访局（2026年5月）"});
    let elsewhere = n(&app.register(&named).await);
    assert_eq!(
        repeat_of(elsewhere.clone()).await,
        json!({"elsewhere": "市信访局（2026年5月）"})
    );
    app.ok(
        "dispatcher",
        &elsewhere,
        json!({"action": "dispatch", "lead": TOWN}),
    )
    .await;
    // Counted in the month for the county and for the township that has it.
    let (_, list) = app
        .get(
            "leader",
            "/api/v1/appeals?metric=repeat&part=den&period=month:2026-11",
        )
        .await;
    let mut got: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["number"].as_str().unwrap())
        .collect();
    got.sort_unstable();
    let mut want = vec![again.as_str(), elsewhere.as_str()];
    want.sort_unstable();
    assert_eq!(got, want, "{list}");
    assert_eq!(list["drill"]["facts"], 2, "{list}");
    let (_, town) = app
        .get(
            "leader",
            &format!(
                "/api/v1/appeals?metric=repeat&part=den&period=month:2026-11&counted_unit={TOWN}"
            ),
        )
        .await;
    assert_eq!(town["drill"]["facts"], 1, "only the dispatched one: {town}");
    // The dashboard shows the count beside the petition rates and the detail links back.
    let leader = console_session(&app, "leader").await;
    let dash = page_text(&leader, app.url("/dashboard?period=month:2026-11")).await;
    assert!(dash.contains("重复信访（件）"), "{dash}");
    assert!(dash.contains("metric=repeat"), "{dash}");
    let dispatcher = console_session(&app, "dispatcher").await;
    let page = page_text(&dispatcher, app.url(&format!("/appeals/{again}"))).await;
    assert!(
        page.contains("重复信访") && page.contains(&format!("/appeals/{first}")),
        "{page}"
    );
    // The intake form keeps what was typed when the number is malformed.
    let operator = console_session(&app, "operator").await;
    let r = console_post(
        &operator,
        &app,
        "/appeals/new",
        &[
            ("channel", "letter"),
            ("kind", "petition_claim"),
            ("urgency", "normal"),
            ("title", "征地补偿款发放"),
            ("content", "再次反映征地补偿款未发放。"),
            ("repeat_earlier", "2026-11-12"),
            ("repeat_elsewhere", "县人民政府"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("编号应形如") && page.contains("2026-11-12") && page.contains("县人民政府"),
        "{page}"
    );
}

/// 领导接访 and 包案 (信访工作条例 Art 18): a reception day is scheduled, a petition received
/// at it, a leader takes it personally, records what was done, and the ledger shows it with its
/// state; refusals keep their codes and the console's forms keep what was typed.
pub async fn a_leader_receives_petitions_and_takes_a_case(app: TestApp) {
    let leader_id = app.user_id("leader").await;
    let schedule = json!({"leader": leader_id, "post": "县委副书记", "on": "2026-11-02",
        "place": "县信访局接待大厅", "topics": "征地拆迁"});
    // A handler may not schedule; a day in the past is refused on its field.
    let (s, _) = app.post("town", "/api/v1/receptions", &schedule).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let mut past = schedule.clone();
    past["on"] = json!("2026-10-30");
    let (s, e) = app.post("dispatcher", "/api/v1/receptions", &past).await;
    assert_eq!(
        (s, e["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("on")),
        "{e}"
    );
    let mut not_leader = schedule.clone();
    not_leader["leader"] = json!(app.user_id("dispatcher").await);
    let (s, e) = app
        .post("dispatcher", "/api/v1/receptions", &not_leader)
        .await;
    assert_eq!(
        (s, e["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("leader")),
        "{e}"
    );
    let (s, r) = app
        .post("dispatcher", "/api/v1/receptions", &schedule)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let rid = r["id"].as_u64().unwrap();
    assert_eq!(r["status"], "scheduled");
    // A petition registered at the reception; a hotline call is not one.
    let mut petition = new_appeal();
    petition["kind"] = json!("petition_claim");
    petition["channel"] = json!("in_person");
    let num = n(&app.register(&petition).await);
    let call = n(&app.register(&new_appeal()).await);
    let path = format!("/api/v1/receptions/{rid}/petitions");
    let (s, e) = app
        .post("dispatcher", &path, &json!({"appeal": call}))
        .await;
    assert_eq!(
        (s, e["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("appeal")),
        "{e}"
    );
    let (s, r) = app.post("dispatcher", &path, &json!({"appeal": num})).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["received"][0]["number"], num.as_str());
    let (s, _) = app.post("dispatcher", &path, &json!({"appeal": num})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "twice");
    // The leader takes it; a second leader's take or a dispatcher's is refused.
    let take = format!("/api/v1/appeals/{num}/leader-case");
    let (s, _) = app
        .post("dispatcher", &take, &json!({"plan": "协调解决"}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, e) = app.post("leader", &take, &json!({"plan": "  "})).await;
    assert_eq!(
        (s, e["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("plan")),
        "{e}"
    );
    let (s, k) = app
        .post(
            "leader",
            &take,
            &json!({"plan": "约见信访人，协调城关镇一周内拿出方案", "reception": rid}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{k}");
    let kid = k["id"].as_u64().unwrap();
    let (s, e) = app
        .post("leader", &take, &json!({"plan": "再包一次"}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(e["message"].as_str().unwrap().contains("已由"), "{e}");
    let (s, k) = app
        .post(
            "leader",
            &format!("/api/v1/leader-cases/{kid}/notes"),
            &json!({"text": "现场办公，明确补偿标准"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{k}");
    // The ledger follows the petition's own state.
    app.ok(
        "dispatcher",
        &num,
        json!({"action": "dispatch", "lead": TOWN}),
    )
    .await;
    let (_, l) = app.get("supervisor", "/api/v1/leader-cases").await;
    let item = &l["items"][0];
    assert_eq!(item["number"], num.as_str(), "{l}");
    assert_eq!(item["status"], "dispatched", "{l}");
    assert_eq!(item["entries"][0]["text"], "现场办公，明确补偿标准");
    let (s, _) = app.get("town", "/api/v1/leader-cases").await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "a unit does not read the county's ledger"
    );
    // Closed with its summary; then only an administrator adds a petition it missed.
    let (s, r) = app
        .post(
            "leader",
            &format!("/api/v1/receptions/{rid}/close"),
            &json!({"text": "接待群众2批5人次，当场包案1件"}),
        )
        .await;
    assert_eq!(
        (s, r["status"].as_str()),
        (StatusCode::OK, Some("held")),
        "{r}"
    );
    // The console: the ledger and the day, the case on the petition's page, and a refused
    // note that keeps what was typed.
    let leader = console_session(&app, "leader").await;
    let page = page_text(&leader, app.url("/leaders")).await;
    assert!(
        page.contains("包案台账") && page.contains(&num) && page.contains("已接访"),
        "{page}"
    );
    let detail = page_text(&leader, app.url(&format!("/appeals/{num}"))).await;
    assert!(
        detail.contains("包案领导") && detail.contains("约见信访人"),
        "{detail}"
    );
    let long = "很".repeat(2001);
    let r = console_post(
        &leader,
        &app,
        &format!("/leaders/cases/{kid}/notes"),
        &[("text", long.as_str())],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("最多 2000 个字") && page.contains(&long),
        "the note stays typed"
    );
    // Handed back: off the ledger, history kept.
    let (s, _) = app
        .post(
            "leader",
            &format!("/api/v1/leader-cases/{kid}/release"),
            &json!({"text": "工作调整"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, l) = app.get("leader", "/api/v1/leader-cases").await;
    assert_eq!(l["items"].as_array().unwrap().len(), 0, "{l}");
}

/// The seed's own figure (今年上半年，全县信访总量210件次，同比下降49.5%): with 416 petitions
/// registered in the first half of 2025 and 210 in the first half of 2026, the dashboard's
/// petition section for half:2026-1 shows 210 件次 and 同比 ↓49.5%, and the volume opens the
/// 210 petitions.
pub async fn the_seeds_half_year_petition_figure_is_reproduced(app: TestApp) {
    use bihuan_domain::lifecycle::NewAppeal;
    let store = app.state.store.clone();
    let users = store.users().await.unwrap();
    let operator = users.iter().find(|u| u.login == "operator").unwrap();
    let actor = store.catalog().actor(operator);
    let mut petition = new_appeal();
    petition["kind"] = json!("petition_claim");
    petition["channel"] = json!("letter");
    let new: NewAppeal = serde_json::from_value(petition).unwrap();
    // Spread over each half-year's 181 days, from 09:00 China time.
    for (year, count) in [(2025, 416u32), (2026, 210)] {
        let start = bihuan_domain::time::local(year, 1, 1, 9, 0, 0).unwrap();
        for i in 0..count {
            let at =
                start + chrono::Duration::minutes(i64::from(i) * 181 * 24 * 60 / i64::from(count));
            store
                .register(new.clone(), actor.clone(), at, None)
                .await
                .unwrap();
        }
    }
    let leader = console_session(&app, "leader").await;
    let dash = page_text(&leader, app.url("/dashboard?period=half:2026-1")).await;
    let at = dash
        .find(r#"id="petition-cards""#)
        .expect("the petition section");
    let section = &dash[at..at + dash[at..].find("</div></a>").unwrap_or(600).max(600)];
    assert!(section.contains(">210<"), "{section}");
    assert!(section.contains("同比 ↓49.5%"), "{section}");
    let (_, list) = app
        .get(
            "leader",
            "/api/v1/appeals?metric=volume&part=den&period=half:2026-1&regime=petition",
        )
        .await;
    assert_eq!(list["drill"]["facts"], 210, "{}", list["drill"]);
}

/// 检举控告 (信访工作条例 Art 30): an accusation naming a person — here the county's supervisor,
/// who otherwise sees every appeal, and a handler of 县水利局 — never reaches them in any view,
/// list, count, search or export; the handler's unit is accused with them; everyone else who
/// may see it still does.
pub async fn an_accusation_never_reaches_the_accused_person(app: TestApp) {
    let mut accusation = new_appeal();
    accusation["kind"] = json!("petition_accusation");
    accusation["title"] = json!("举报督查人员收受礼品");
    accusation["content"] = json!("督查人员在检查期间收受被检查单位礼品，另有水利局工作人员陪同。");
    let (supervisor, water) = (app.user_id("supervisor").await, app.user_id("water").await);
    accusation["accused_persons"] = json!([supervisor, water, 99_999]);
    let (s, e) = app.post("operator", "/api/v1/appeals", &accusation).await;
    assert_eq!(
        (s, e["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("accused_persons")),
        "an account that does not exist: {e}"
    );
    let mut hotline = new_appeal();
    hotline["accused_persons"] = json!([water]);
    let (s, e) = app.post("operator", "/api/v1/appeals", &hotline).await;
    assert_eq!(
        (s, e["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("accused_persons")),
        "{e}"
    );
    accusation["accused_persons"] = json!([supervisor, water]);
    let num = n(&app.register(&accusation).await);
    // The handler's unit is accused with the handler.
    let (s, e) = app
        .act(
            "dispatcher",
            &num,
            json!({"action": "dispatch", "lead": WATER}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    app.ok(
        "dispatcher",
        &num,
        json!({"action": "dispatch", "lead": TRANSPORT}),
    )
    .await;
    // Overdue, so the supervision queue would list it.
    app.clock.advance(chrono::Duration::days(5));
    let words = "收受被检查单位礼品";
    for login in ["supervisor", "water"] {
        let (s, _) = app.get(login, &format!("/api/v1/appeals/{num}")).await;
        assert!(
            s == StatusCode::FORBIDDEN || s == StatusCode::NOT_FOUND,
            "{login}: {s}"
        );
        let (_, list) = app.get(login, "/api/v1/appeals?limit=500").await;
        assert!(!list.to_string().contains(&num), "{login}: {list}");
        let (_, found) = app
            .get(login, &format!("/api/v1/appeals?q={}", urlencode_q("礼品")))
            .await;
        assert!(!found.to_string().contains(&num), "{login}: {found}");
        let csv = app.text(login, "/api/v1/export/appeals.csv").await;
        assert!(
            !csv.contains(&num) && !csv.contains(words),
            "{login}: {csv}"
        );
        let console = console_session(&app, login).await;
        for path in [
            "/".to_string(),
            "/appeals".to_string(),
            "/appeals?regime=petition".to_string(),
            "/queue/supervision".to_string(),
            "/queue/inbox".to_string(),
            format!("/appeals/{num}"),
            format!("/appeals/{num}/print"),
        ] {
            let page = page_text(&console, app.url(&path)).await;
            assert!(
                !page.contains(words) && !page.contains(&num),
                "{login} {path}: {page}"
            );
        }
    }
    // The supervisor's list count leaves it out; the leader's has it.
    let count = |v: &Value| v["items"].as_array().unwrap().len();
    let (_, sup) = app
        .get("supervisor", "/api/v1/appeals?regime=petition&limit=500")
        .await;
    let (_, lead) = app
        .get("leader", "/api/v1/appeals?regime=petition&limit=500")
        .await;
    assert_eq!(count(&lead), count(&sup) + 1, "{sup} {lead}");
    // The figure's own drill-down count (counted in the facts alone) leaves it out too.
    let drill = "/api/v1/appeals?metric=volume&part=den&period=month:2026-11";
    let (_, sup) = app.get("supervisor", drill).await;
    let (_, lead) = app.get("leader", drill).await;
    assert_eq!(
        lead["drill"]["appeals"].as_u64().unwrap(),
        sup["drill"]["appeals"].as_u64().unwrap() + 1,
        "{sup} {lead}"
    );
    let (s, a) = app.get("leader", &format!("/api/v1/appeals/{num}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(a.to_string().contains(words));
    let transport = console_session(&app, "transport").await;
    let page = page_text(&transport, app.url(&format!("/appeals/{num}"))).await;
    assert!(page.contains(words), "the handling unit sees it");
}

fn urlencode_q(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}
