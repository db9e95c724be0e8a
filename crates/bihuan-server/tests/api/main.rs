//! Whole loops over HTTP against the real server on port 0, a fresh database per test.

mod helpers;

use bihuan_server::Clock;

use helpers::*;
use hostile::{every_endpoint_survives_hostile_input, stored_markup_comes_back_escaped};

mod approvals;
mod campaigns;
mod enterprises;
mod hardening;
mod hostile;
mod hotline;
mod households;
mod jobs;
mod notices;
mod open311;
mod portal;
mod smart;
mod surveys;
mod usecases;
mod visits;
use approvals::{
    a_package_is_applied_for_once_and_approved_in_parallel,
    materials_are_uploaded_once_and_answered_online,
};
use campaigns::a_campaign_is_valued_from_evidence_and_its_evaluation_frozen;
use enterprises::{
    buildings_and_enterprises_are_imported_with_their_bad_rows,
    enterprises_are_served_by_teams_and_their_demands_close_the_loop,
    policies_are_matched_to_enterprises_by_rule_and_date,
};
use hardening::{
    a_dead_worker_makes_healthz_unhealthy,
    a_password_change_needs_the_current_one_and_ends_other_sessions,
    api_tokens_expire_are_listed_and_revoked, cross_origin_posts_change_nothing,
    dates_outside_the_range_are_client_errors, extreme_limits_are_refused_and_writes_go_on,
    extreme_policy_limits_are_refused, login_redirects_stay_on_this_site,
    long_names_are_refused_and_exports_hold, personal_numbers_in_free_text_are_masked,
    responses_carry_the_security_headers, the_audit_log_records_access_and_changes,
    the_dispatch_preview_is_for_dispatchers_only, wrong_passwords_are_throttled,
};
use hotline::{
    a_group_visit_is_registered_with_at_most_five_representatives,
    a_leader_receives_petitions_and_takes_a_case,
    a_notice_loaded_after_its_year_began_recounts_the_rollups,
    a_petition_is_signed_when_its_deadline_runs_into_an_unloaded_year,
    a_petition_issues_printable_notices_with_their_receipt,
    a_repeat_petition_is_linked_and_counted, an_accusation_never_reaches_the_accused_person,
    an_accusation_never_reaches_the_accused_unit, any_period_of_sibi_can_be_chosen,
    assisting_units_see_their_work_and_give_opinions, both_sides_of_a_whistle_are_measured,
    comparisons_are_fair_and_the_board_explains_itself,
    loading_a_notice_recomputes_the_provisional_deadlines,
    reviews_run_as_linked_cases_with_their_own_clocks, saved_filters_are_each_users_own,
    several_appeals_are_dispatched_and_supervised_at_once,
    the_console_offers_the_loops_remaining_actions, the_list_has_a_total_pages_and_countdowns,
    the_seeds_half_year_petition_figure_is_reproduced,
    the_volume_and_overdue_figures_open_their_appeals, work_orders_print_one_or_a_filtered_list,
};
use households::households_are_imported_scoped_masked_and_moved_with_their_history;
use jobs::{
    a_township_posts_jobs_refers_seekers_and_follows_placements,
    an_employer_posts_and_sees_only_its_own_jobs,
};
use notices::{
    a_sender_that_always_fails_gives_up, notices_go_out_once_and_a_failing_sender_is_retried,
};
use open311::open311_speaks_georeport_v2_in_xml_and_json;
use portal::a_citizen_submits_tracks_and_rates_on_the_portal;
use reqwest::StatusCode;
use serde_json::{json, Value};
use smart::{
    duplicates_are_shown_while_open_and_within_the_window,
    search_finds_content_and_replies_within_the_filters_and_scope,
    suggestions_come_from_the_catalogue_and_place_and_are_recorded,
    training_stores_versioned_models_that_suggest,
};
use surveys::{a_survey_is_sampled_called_and_measured, survey_frames_quotas_and_raised_appeals};
use usecases::{
    a_double_submitted_form_registers_one_appeal,
    a_grid_member_sees_its_own_registrations_in_list_and_detail,
    an_owner_must_be_an_active_account, the_api_keeps_phones_in_one_form,
    the_console_offers_exactly_what_the_domain_accepts, the_openapi_schemas_describe_the_answers,
    the_owner_is_changed_from_the_console,
};
use visits::{
    a_campaign_covers_its_frozen_households_and_needs_run_through_the_loop,
    a_launch_cut_short_resumes_without_a_duplicate_task,
};

async fn the_whole_loop_over_http(app: TestApp) {
    let a = app.register(&new_appeal()).await;
    assert_eq!(a["status"], "pending_dispatch");
    assert_eq!(a["version"], 1);
    assert!(a["deadlines"]["dispatch"].is_string());
    let num = n(&a);
    assert!(num.len() == 14 && num.ends_with("000001"), "{num}");

    let d = app
        .ok(
            "dispatcher",
            &num,
            json!({"action": "dispatch", "lead": HOUSING, "assisting": [WATER], "note": "请办理"}),
        )
        .await;
    assert_eq!(d["status"], "dispatched");
    assert!(d["deadlines"]["reply"].is_string());
    app.ok("housing", &num, json!({"action": "sign"})).await;
    app.ok(
        "housing",
        &num,
        json!({"action": "contact", "note": "已联系群众"}),
    )
    .await;
    app.ok(
        "housing",
        &num,
        json!({"action": "reply", "result": "resolved", "text": "已修复路灯"}),
    )
    .await;
    app.ok("visitor", &num, json!({"action": "return_visit", "contacted": true, "resolved": true, "rating": "satisfied", "comment": "满意"})).await;
    let closed = app.ok("dispatcher", &num, json!({"action": "close"})).await;
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["status_label"], "已办结");

    let (s, full) = app
        .get("dispatcher", &format!("/api/v1/appeals/{num}"))
        .await;
    assert_eq!(s, StatusCode::OK);
    let types: Vec<&str> = full["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "registered",
            "dispatched",
            "signed",
            "contacted",
            "replied",
            "visited",
            "closed"
        ]
    );
    assert_eq!(full["timeline"][2]["actor"]["name"], "housing用户");
    // By id too.
    let (s, by_id) = app
        .get("dispatcher", &format!("/api/v1/appeals/{}", a["id"]))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(by_id["number"], num.as_str());
    // The assisting unit sees it; an uninvolved unit does not.
    assert_eq!(
        app.get("water", &format!("/api/v1/appeals/{num}")).await.0,
        StatusCode::OK
    );
    let (s, e) = app
        .get("transport", &format!("/api/v1/appeals/{num}"))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(e["code"], "not_your_unit");
}

async fn a_misrouted_order_is_returned_and_redispatched(app: TestApp) {
    let num = n(&app.register(&new_appeal()).await);
    app.ok(
        "dispatcher",
        &num,
        json!({"action": "dispatch", "lead": TRANSPORT}),
    )
    .await;
    let r = app
        .ok(
            "transport",
            &num,
            json!({"action": "return", "reason": "路灯归住建局管理"}),
        )
        .await;
    assert_eq!(r["status"], "returned");
    let r = app
        .ok("dispatcher", &num, json!({"action": "decide_return", "accept": true, "note": "改派住建局", "redispatch": [HOUSING, []]}))
        .await;
    assert_eq!(r["status"], "dispatched");
    assert_eq!(r["lead"], HOUSING);
    app.ok("housing", &num, json!({"action": "sign"})).await;
    assert_eq!(app.status_of(&num).await, "in_progress");
    // The first unit can still read what it once held; it can no longer act.
    let (s, e) = app
        .act(
            "transport",
            &num,
            json!({"action": "reply", "result": "resolved", "text": "x"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    assert_eq!(e["code"], "not_lead_unit");
}

async fn a_refused_return_confirms_the_unit(app: TestApp) {
    let num = n(&app.register(&new_appeal()).await);
    app.ok(
        "dispatcher",
        &num,
        json!({"action": "dispatch", "lead": HOUSING}),
    )
    .await;
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
    let (s, e) = app
        .act(
            "housing",
            &num,
            json!({"action": "return", "reason": "再次退回"}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(e["code"], "unit_confirmed");
}

async fn an_extension_is_requested_and_approved(app: TestApp) {
    let num = n(&app.register(&new_appeal()).await);
    let d = app
        .ok(
            "dispatcher",
            &num,
            json!({"action": "dispatch", "lead": HOUSING}),
        )
        .await;
    let before = d["deadlines"]["reply"].as_str().unwrap().to_string();
    app.ok("housing", &num, json!({"action": "sign"})).await;
    let (s, e) = app.act("housing", &num, json!({"action": "request_extension", "limit": {"working_days": 30}, "reason": "需协调"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["code"], "extension_too_long");
    app.ok("housing", &num, json!({"action": "request_extension", "limit": {"working_days": 3}, "reason": "需协调供电公司"})).await;
    let (s, e) = app
        .act(
            "housing-lead",
            &num,
            json!({"action": "decide_extension", "approve": true}),
        )
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("role_forbidden"))
    );
    let a = app
        .ok(
            "dispatcher",
            &num,
            json!({"action": "decide_extension", "approve": true}),
        )
        .await;
    let after = a["deadlines"]["reply"].as_str().unwrap();
    assert!(after > before.as_str(), "{before} → {after}");
    assert_eq!(a["extensions_granted"], 1);
}

async fn a_whistle_with_two_units_reporting_in(app: TestApp) {
    let num = n(&app.register(&new_appeal()).await);
    app.ok(
        "dispatcher",
        &num,
        json!({"action": "dispatch", "lead": TOWN}),
    )
    .await;
    app.ok("town", &num, json!({"action": "sign"})).await;
    let w = app
        .ok(
            "town",
            &num,
            json!({"action": "whistle", "units": [HOUSING, WATER], "matter": "积水需部门到场"}),
        )
        .await;
    assert_eq!(w["whistles"][0]["targets"].as_array().unwrap().len(), 2);
    // Called units see the appeal and report in; others cannot.
    app.ok(
        "housing",
        &num,
        json!({"action": "report_in", "whistle": 1, "note": "已到场"}),
    )
    .await;
    app.ok(
        "water",
        &num,
        json!({"action": "report_in", "whistle": 1, "note": "已到场"}),
    )
    .await;
    let (s, _) = app
        .act(
            "transport",
            &num,
            json!({"action": "report_in", "whistle": 1}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, e) = app
        .act(
            "housing",
            &num,
            json!({"action": "report_in", "whistle": 1}),
        )
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::CONFLICT, Some("already_reported"))
    );
    let (_, full) = app.get("town", &format!("/api/v1/appeals/{num}")).await;
    assert!(full["whistles"][0]["targets"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["reported_at"].is_string()));
    // A department cannot blow the whistle.
    let num2 = n(&app.register(&new_appeal()).await);
    app.ok(
        "dispatcher",
        &num2,
        json!({"action": "dispatch", "lead": HOUSING}),
    )
    .await;
    app.ok("housing", &num2, json!({"action": "sign"})).await;
    let (s, e) = app
        .act(
            "housing",
            &num2,
            json!({"action": "whistle", "units": [WATER], "matter": "x"}),
        )
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::CONFLICT, Some("not_a_township"))
    );
}

async fn unsatisfied_visit_redo_and_close(app: TestApp) {
    let num = n(&app.register(&new_appeal()).await);
    app.ok(
        "dispatcher",
        &num,
        json!({"action": "dispatch", "lead": HOUSING}),
    )
    .await;
    app.ok("housing", &num, json!({"action": "sign"})).await;
    app.ok(
        "housing",
        &num,
        json!({"action": "reply", "result": "resolved", "text": "已修复"}),
    )
    .await;
    app.ok("visitor", &num, json!({"action": "return_visit", "contacted": true, "resolved": false, "rating": "unsatisfied", "comment": "仍不亮"})).await;
    let r = app
        .ok(
            "visitor",
            &num,
            json!({"action": "redo", "cause": "unsatisfied", "reason": "群众反映仍未修复"}),
        )
        .await;
    assert_eq!(r["status"], "in_progress");
    assert_eq!(r["redo_count"], 1);
    app.ok(
        "housing",
        &num,
        json!({"action": "reply", "result": "resolved", "text": "已更换线路"}),
    )
    .await;
    app.ok("visitor", &num, json!({"action": "return_visit", "contacted": true, "resolved": true, "rating": "satisfied", "comment": ""})).await;
    let c = app.ok("dispatcher", &num, json!({"action": "close"})).await;
    assert_eq!(c["status"], "closed");
}

async fn duplicates_merge_into_a_master(app: TestApp) {
    let master = n(&app.register(&new_appeal()).await);
    let dup = n(&app.register(&new_appeal()).await);
    let m = app
        .ok(
            "dispatcher",
            &dup,
            json!({"action": "merge", "master": master}),
        )
        .await;
    assert_eq!(m["status"], "merged");
    let (_, full) = app
        .get("dispatcher", &format!("/api/v1/appeals/{master}"))
        .await;
    assert_eq!(full["duplicates"][0][1], dup.as_str());
    assert_eq!(
        full["timeline"].as_array().unwrap().last().unwrap()["type"],
        "duplicate_linked"
    );
    let (s, e) = app
        .act(
            "dispatcher",
            &dup,
            json!({"action": "dispatch", "lead": HOUSING}),
        )
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::CONFLICT, Some("appeal_merged"))
    );
    let (s, e) = app
        .act(
            "dispatcher",
            &master,
            json!({"action": "merge", "master": master}),
        )
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("merge_into_self"))
    );
    let (s, e) = app
        .act(
            "dispatcher",
            &master,
            json!({"action": "link_duplicate", "duplicate": 2, "number": dup}),
        )
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_action"))
    );
}

async fn wrong_unit_and_wrong_role_are_403(app: TestApp) {
    let num = n(&app.register(&new_appeal()).await);
    // A handler cannot dispatch.
    let (s, e) = app
        .act(
            "housing",
            &num,
            json!({"action": "dispatch", "lead": HOUSING}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    app.ok(
        "dispatcher",
        &num,
        json!({"action": "dispatch", "lead": HOUSING}),
    )
    .await;
    // Another unit neither sees nor acts.
    let (s, e) = app.act("transport", &num, json!({"action": "sign"})).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("not_your_unit"))
    );
    // A handler lists only its unit's work.
    let other = n(&app.register(&new_appeal()).await);
    app.ok(
        "dispatcher",
        &other,
        json!({"action": "dispatch", "lead": TRANSPORT}),
    )
    .await;
    let (_, list) = app.get("housing", "/api/v1/appeals").await;
    let numbers: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, [num.as_str()]);
    // Admin-only endpoints.
    let (s, _) = app.post("dispatcher", "/api/v1/users", &json!({"login": "x1", "name": "x", "role": "operator", "unit": 1, "password": "abc12345x"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // No credentials at all.
    let r = app
        .client
        .get(app.url("/api/v1/appeals"))
        .send()
        .await
        .unwrap();
    let (s, e) = body(r).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthenticated"))
    );
    let r = app
        .client
        .get(app.url("/api/v1/appeals"))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

async fn a_stale_version_is_409_with_the_current_version(app: TestApp) {
    let num = n(&app.register(&new_appeal()).await);
    let path = format!("/api/v1/appeals/{num}/actions");
    let (s, _) = app
        .post(
            "dispatcher",
            &path,
            &json!({"action": "dispatch", "lead": HOUSING, "version": 1}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, e) = app
        .post(
            "dispatcher",
            &path,
            &json!({"action": "comment", "text": "x", "version": 1}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(e["code"], "version_conflict");
    assert_eq!(e["current_version"], 2);
    let (s, e) = app
        .post(
            "dispatcher",
            &path,
            &json!({"action": "comment", "text": "x"}),
        )
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("version_required"))
    );
}

async fn bad_bodies_get_json_errors_never_500(app: TestApp) {
    let url = app.url("/api/v1/appeals");
    let tok = app.token("operator").to_string();
    let send = |b: Vec<u8>, ct: &'static str| {
        app.client
            .post(&url)
            .bearer_auth(&tok)
            .header("content-type", ct)
            .body(b)
            .send()
    };
    let (s, e) = body(
        send(b"{not json".to_vec(), "application/json")
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("malformed_json"))
    );
    let mut wrong_type = new_appeal();
    wrong_type["title"] = json!(5);
    let (s, e) = body(
        send(wrong_type.to_string().into_bytes(), "application/json")
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_body"))
    );
    // A wrong type where an enum is expected reads as malformed JSON to the parser: still 400.
    let (s, e) = body(
        send(br#"{"channel": 5}"#.to_vec(), "application/json")
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("malformed_json"))
    );
    let (s, e) = body(send(b"{}".to_vec(), "text/plain").await.unwrap()).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("json_required"))
    );
    let big = format!(r#"{{"title": "{}"}}"#, "x".repeat(2 * 1024 * 1024));
    // On a connection of its own: the server refuses before reading the whole body and closes
    // the connection, which a pooled client could otherwise pick for the next request.
    let once = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let (s, e) = body(
        once.post(&url)
            .bearer_auth(&tok)
            .header("content-type", "application/json")
            .body(big.into_bytes())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("body_too_large"))
    );
    let (s, e) = body(
        send(vec![0xff, 0xfe, b'{'], "application/json")
            .await
            .unwrap(),
    )
    .await;
    assert!(s.is_client_error(), "{s}");
    assert!(e["code"].is_string());
    // Unknown fields are refused rather than silently dropped.
    let mut extra = new_appeal();
    extra["colour"] = json!("red");
    let (s, e) = app.post("operator", "/api/v1/appeals", &extra).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_body"))
    );
    // Domain validation: an empty content, an unknown category, control characters.
    let mut empty = new_appeal();
    empty["content"] = json!("   ");
    let (s, e) = app.post("operator", "/api/v1/appeals", &empty).await;
    assert_eq!(
        (s, e["code"].as_str(), e["field"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("invalid_input"),
            Some("content")
        )
    );
    let mut cat = new_appeal();
    cat["category"] = json!(999);
    let (s, e) = app.post("operator", "/api/v1/appeals", &cat).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_category"))
    );
    // Unknown actions and malformed action bodies.
    let num = n(&app.register(&new_appeal()).await);
    let (s, e) = app.act("dispatcher", &num, json!({"action": "fly"})).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_action"))
    );
    let (s, e) = app
        .act(
            "dispatcher",
            &num,
            json!({"action": "dispatch", "lead": "housing"}),
        )
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_body"))
    );
    let (s, e) = app
        .act(
            "dispatcher",
            &num,
            json!({"action": "dispatch", "lead": 999}),
        )
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_unit"))
    );
    let (s, e) = app
        .act(
            "dispatcher",
            &num,
            json!({"action": "dispatch", "lead": GRID}),
        )
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unit_cannot_handle"))
    );
    // Bad paths and routes.
    let (s, e) = app
        .get("dispatcher", "/api/v1/appeals/2026-13-000001")
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_appeal_key"))
    );
    let (s, e) = app.get("dispatcher", "/api/v1/appeals/9999").await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (s, e) = app.get("dispatcher", "/api/v1/nothing").await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (s, e) = app.get("dispatcher", "/api/v1/appeals?status=flying").await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_query"))
    );
    let (s, _) = app.get("dispatcher", "/api/v1/appeals?limit=0").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, e) = app.get("dispatcher", "/api/v1/appeals?cursor=zzz").await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("bad_cursor"))
    );
    let r = app
        .client
        .delete(app.url("/api/v1/appeals"))
        .bearer_auth(app.token("admin"))
        .send()
        .await
        .unwrap();
    let (s, e) = body(r).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed"))
    );
    // The server is still up.
    assert_eq!(
        app.client
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

async fn an_idempotency_key_never_creates_a_second_appeal(app: TestApp) {
    let send = || {
        app.client
            .post(app.url("/api/v1/appeals"))
            .bearer_auth(app.token("operator"))
            .header("idempotency-key", "call-20261127-0001")
            .json(&new_appeal())
            .send()
    };
    let (s1, a1) = body(send().await.unwrap()).await;
    let (s2, a2) = body(send().await.unwrap()).await;
    assert_eq!((s1, s2), (StatusCode::CREATED, StatusCode::OK));
    assert_eq!(a1["number"], a2["number"]);
    let (_, list) = app.get("dispatcher", "/api/v1/appeals").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

async fn lists_filter_paginate_and_mask_phones(app: TestApp) {
    let mut numbers = Vec::new();
    for i in 0..7 {
        let mut b = new_appeal();
        if i % 2 == 0 {
            b["kind"] = json!("help");
            b["category"] = json!(4);
        }
        numbers.push(n(&app.register(&b).await));
    }
    app.ok(
        "dispatcher",
        &numbers[0],
        json!({"action": "dispatch", "lead": HOUSING}),
    )
    .await;
    // Cursor pagination, newest first, no repeats.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = match &cursor {
            Some(c) => format!("/api/v1/appeals?limit=3&cursor={c}"),
            None => "/api/v1/appeals?limit=3".into(),
        };
        let (s, page) = app.get("dispatcher", &q).await;
        assert_eq!(s, StatusCode::OK);
        for a in page["items"].as_array().unwrap() {
            seen.push(a["number"].as_str().unwrap().to_string());
            // Lists mask the phone for the dispatch centre.
            assert_eq!(a["citizen"]["phone"], "139****5678");
            assert_eq!(a["citizen"]["name"], "李*");
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    let mut expected = numbers.clone();
    expected.reverse();
    assert_eq!(seen, expected);
    // Filters.
    let count = |v: &Value| v["items"].as_array().unwrap().len();
    assert_eq!(
        count(&app.get("dispatcher", "/api/v1/appeals?kind=help").await.1),
        4
    );
    assert_eq!(
        count(&app.get("dispatcher", "/api/v1/appeals?kind=投诉").await.1),
        3
    );
    assert_eq!(
        count(&app.get("dispatcher", "/api/v1/appeals?category=1").await.1),
        3,
        "a parent category includes its children"
    );
    assert_eq!(
        count(
            &app.get("dispatcher", "/api/v1/appeals?status=dispatched")
                .await
                .1
        ),
        1
    );
    assert_eq!(
        count(
            &app.get("dispatcher", &format!("/api/v1/appeals?unit={HOUSING}"))
                .await
                .1
        ),
        1
    );
    assert_eq!(
        count(
            &app.get("dispatcher", &format!("/api/v1/appeals?township={TOWN}"))
                .await
                .1
        ),
        7
    );
    assert_eq!(
        count(
            &app.get("dispatcher", "/api/v1/appeals?overdue=true")
                .await
                .1
        ),
        0
    );
    assert_eq!(
        count(&app.get("dispatcher", "/api/v1/appeals?channel=web").await.1),
        0
    );
    assert_eq!(
        count(
            &app.get(
                "dispatcher",
                "/api/v1/appeals?from=2000-01-01&to=2000-01-02"
            )
            .await
            .1
        ),
        0
    );
    assert_eq!(
        count(
            &app.get("dispatcher", "/api/v1/appeals?sort=due&limit=500")
                .await
                .1
        ),
        7
    );
    // The caller's earlier appeals, by phone, for the operator.
    assert_eq!(
        count(
            &app.get("operator", "/api/v1/appeals?phone=13912345678")
                .await
                .1
        ),
        7
    );
    assert_eq!(
        count(
            &app.get("operator", "/api/v1/appeals?phone=13900000000")
                .await
                .1
        ),
        0
    );
    assert_eq!(
        app.get("leader", "/api/v1/appeals?phone=13912345678")
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    // Detail: full phone for the operator and the lead unit, masked for a leader.
    let (_, d) = app
        .get("operator", &format!("/api/v1/appeals/{}", numbers[0]))
        .await;
    assert_eq!(d["citizen"]["phone"], "13912345678");
    let (_, d) = app
        .get("housing", &format!("/api/v1/appeals/{}", numbers[0]))
        .await;
    assert_eq!(d["citizen"]["phone"], "13912345678");
    let (_, d) = app
        .get("leader", &format!("/api/v1/appeals/{}", numbers[0]))
        .await;
    assert_eq!(d["citizen"]["phone"], "139****5678");
    assert_eq!(
        d["timeline"][0]["event"]["appeal"]["citizen"]["phone"],
        "139****5678"
    );
}

async fn concurrent_registrations_all_land_with_unique_numbers(app: TestApp) {
    let app = std::sync::Arc::new(app);
    let mut handles = Vec::new();
    for _ in 0..40 {
        let app = app.clone();
        handles.push(tokio::spawn(async move {
            app.register(&new_appeal()).await["number"]
                .as_str()
                .unwrap()
                .to_string()
        }));
    }
    let mut numbers = Vec::new();
    for h in handles {
        numbers.push(h.await.unwrap());
    }
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), 40);
    let (_, list) = app.get("dispatcher", "/api/v1/appeals?limit=500").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 40);
}

async fn login_with_a_password_sets_a_session_cookie(app: TestApp) {
    let r = app
        .client
        .post(app.url("/api/v1/login"))
        .json(&json!({"login": "housing", "password": "wrong"}))
        .send()
        .await
        .unwrap();
    let (s, e) = body(r).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("bad_credentials"))
    );
    let r = app
        .client
        .post(app.url("/api/v1/login"))
        .json(&json!({"login": "nobody", "password": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = app
        .client
        .post(app.url("/api/v1/login"))
        .json(&json!({"login": "housing", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let cookie = r
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    // The client's cookie store carries the session.
    let (s, me) = body(app.client.get(app.url("/api/v1/me")).send().await.unwrap()).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me["login"], "housing");
    assert_eq!(me["role_label"], "承办人");
    // A browser's logout names its origin (the console's own).
    let r = app
        .client
        .post(app.url("/api/v1/logout"))
        .header("origin", app.base.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.client
            .get(app.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

async fn admins_manage_users_units_policies_and_calendar_years(app: TestApp) {
    let (s, u) = app.post("admin", "/api/v1/users", &json!({"login": "new-op", "name": "新受理员", "role": "operator", "unit": COUNTY, "password": "abc12345x"})).await;
    assert_eq!(s, StatusCode::CREATED, "{u}");
    let (s, e) = app.post("admin", "/api/v1/users", &json!({"login": "new-op", "name": "重名", "role": "operator", "unit": COUNTY, "password": "abc12345x"})).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::CONFLICT, Some("login_taken"))
    );
    let (s, e) = app.post("admin", "/api/v1/users", &json!({"login": "weak", "name": "x", "role": "operator", "unit": COUNTY, "password": "12345678"})).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("weak_password"))
    );
    let (s, e) = app.post("admin", "/api/v1/users", &json!({"login": "nounit", "name": "x", "role": "operator", "unit": 999, "password": "abc12345x"})).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_unit"))
    );
    // Disable the account: its tokens stop working at once.
    let id = u["id"].as_u64().unwrap();
    let r = app
        .client
        .patch(app.url(&format!("/api/v1/users/{id}")))
        .bearer_auth(app.token("admin"))
        .json(&json!({"active": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .client
        .post(app.url("/api/v1/login"))
        .json(&json!({"login": "new-op", "password": "abc12345x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // A cached credential stops working as soon as its account is disabled.
    let (s, me) = app.get("housing", "/api/v1/me").await;
    assert_eq!(s, StatusCode::OK);
    let housing_id = me["id"].as_u64().unwrap();
    let r = app
        .client
        .patch(app.url(&format!("/api/v1/users/{housing_id}")))
        .bearer_auth(app.token("admin"))
        .json(&json!({"active": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        app.get("housing", "/api/v1/me").await.0,
        StatusCode::UNAUTHORIZED
    );
    // Units: an invalid tree is refused with the reason.
    let (s, e) = app
        .post(
            "admin",
            "/api/v1/units",
            &json!({"id": 30, "name": "孤村", "kind": "village", "parent": HOUSING}),
        )
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("org_wrong_parent_kind")
        )
    );
    let r = app.client.post(app.url("/api/v1/units")).bearer_auth(app.token("admin")).json(&json!({"id": 30, "name": "西门社区", "kind": "village", "parent": TOWN, "aliases": ["西门"]})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (_, units) = app.get("water", "/api/v1/units").await;
    assert!(units["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|u| u["name"] == "西门社区" && u["path"] == "城关镇 / 西门社区"));
    // Policies: invalid tables are refused; a valid change applies to new appeals.
    let (_, p) = app.get("admin", "/api/v1/policies").await;
    let mut rows = p["items"].clone();
    rows[0]["due_soon_percent"] = json!(150);
    let r = app
        .client
        .put(app.url("/api/v1/policies"))
        .bearer_auth(app.token("admin"))
        .json(&rows)
        .send()
        .await
        .unwrap();
    let (s, e) = body(r).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("policy_bad_share"))
    );
    rows[0]["due_soon_percent"] = json!(50);
    rows[0]["dispatch"] = json!({"hours": 4});
    let r = app
        .client
        .put(app.url("/api/v1/policies"))
        .bearer_auth(app.token("admin"))
        .json(&rows)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let a = app.register(&new_appeal()).await;
    assert_eq!(a["policy"]["dispatch"], json!({"hours": 4}));
    // Calendar years: until an administrator loads 2027's notice, 2027 is answered
    // provisionally (weekends and predicted holidays) and says so; 2029 is past even that.
    let (s, v) = app
        .get("operator", "/api/v1/calendar/add?date=2027-01-04&days=1")
        .await;
    assert_eq!(
        (s, v["result"].as_str(), v["provisional"].as_bool()),
        (StatusCode::OK, Some("2027-01-05"), Some(true))
    );
    let (s, e) = app
        .get("operator", "/api/v1/calendar/add?date=2029-01-04&days=1")
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("calendar_year_not_loaded")
        )
    );
    let (s, _) = app.post("admin", "/api/v1/calendar/years", &json!({"year": 2027, "papers": [], "days": [{"name": "元旦", "date": "2027-01-01", "isOffDay": true}]})).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, v) = app
        .get("operator", "/api/v1/calendar/add?date=2026-12-31&days=1")
        .await;
    assert_eq!(
        (s, v["result"].as_str()),
        (StatusCode::OK, Some("2027-01-04"))
    );
    let (s, e) = app
        .post(
            "admin",
            "/api/v1/calendar/years",
            &json!({"year": 2028, "days": [{"name": "x", "date": "bad", "isOffDay": true}]}),
        )
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("calendar_bad_file"))
    );
    // An API token for an integration, shown once.
    let (s, t) = app
        .post(
            "admin",
            "/api/v1/tokens",
            &json!({"user": 2, "name": "12345 话务系统"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let token = t["token"].as_str().unwrap();
    let r = app
        .client
        .get(app.url("/api/v1/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

async fn the_calendar_endpoint_answers_like_the_cli(app: TestApp) {
    let r = app
        .client
        .get(app.url("/api/v1/calendar/add?date=2026-09-28&days=15"))
        .send()
        .await
        .unwrap();
    let (s, v) = body(r).await;
    assert_eq!(
        (s, v["result"].as_str()),
        (StatusCode::OK, Some("2026-10-23"))
    );
    let r = app
        .client
        .get(app.url("/api/v1/calendar/add?date=2026-09-28"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

async fn operations_endpoints(app: TestApp) {
    app.register(&new_appeal()).await;
    let r = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // Operations figures are for administrators unless `public_metrics` is set.
    let r = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth(app.token("housing"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let text = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth(app.token("admin"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("bihuan_appeals{status=\"pending_dispatch\"} 1"),
        "{text}"
    );
    assert!(text.contains("bihuan_http_requests_total{method=\"POST\",route=\"/api/v1/appeals\",status=\"201\"} 1"), "{text}");
    assert!(text.contains("bihuan_actions_total{action=\"register\"} 1"));
    // The gauge is there; background work (the search indexer recording intake suggestions)
    // may have a write queued at this instant.
    let depth: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("bihuan_write_queue_depth "))
        .and_then(|v| v.trim().parse().ok())
        .expect("a write queue depth gauge");
    assert!(depth <= 2, "{depth}");
    assert!(!text.contains("13912345678"));
    let (s, doc) = body(
        app.client
            .get(app.url("/api/v1/openapi.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/api/v1/appeals/{key}/actions"]["post"].is_object());
    for path in [
        "/api/v1/login",
        "/api/v1/appeals",
        "/api/v1/appeals/{key}",
        "/api/v1/units",
        "/api/v1/users/{id}",
        "/api/v1/policies",
        "/api/v1/calendar/years",
        "/api/v1/calendar/add",
        "/api/v1/appeals/{key}/attachments",
        "/api/v1/attachments/{id}",
        "/api/v1/metrics",
        "/api/v1/rates",
        "/api/v1/score-weights",
        "/api/v1/export/appeals.{format}",
        "/api/v1/export/ranking.{format}",
        "/api/v1/tokens",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is not documented");
    }
    let home = app
        .client
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(home.contains("闭环"));
}

async fn the_deadline_scanner_supervises_once_per_deadline(app: TestApp) {
    let num = n(&app.register(&new_appeal()).await);
    let state = app.state.clone();
    // A week later the dispatch deadline (one working day) has long passed.
    let later = app.clock.now() + chrono::Duration::days(7);
    let first = bihuan_server::scanner::scan_once(&state, later)
        .await
        .unwrap();
    assert_eq!(first, 1);
    let second = bihuan_server::scanner::scan_once(&state, later + chrono::Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(second, 0, "running twice changes nothing more");
    let (_, full) = app
        .get("dispatcher", &format!("/api/v1/appeals/{num}"))
        .await;
    assert_eq!(full["supervision_count"], 1);
    assert_eq!(
        full["timeline"].as_array().unwrap().last().unwrap()["actor"]["role"],
        "system"
    );
}

/// A 1×1 PNG, whole.
fn png() -> Vec<u8> {
    vec![
        0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F,
        0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0A, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00,
        0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49,
        0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
    ]
}

async fn upload(
    app: &TestApp,
    login: &str,
    num: &str,
    name: &str,
    data: Vec<u8>,
) -> (StatusCode, Value) {
    let part = reqwest::multipart::Part::bytes(data).file_name(name.to_string());
    let form = reqwest::multipart::Form::new().part("file", part);
    let r = app
        .client
        .post(app.url(&format!("/api/v1/appeals/{num}/attachments")))
        .bearer_auth(app.token(login))
        .multipart(form)
        .send()
        .await
        .unwrap();
    body(r).await
}

async fn attachments_are_type_checked_size_limited_and_scoped(app: TestApp) {
    let num = n(&app.register(&new_appeal()).await);
    app.ok(
        "dispatcher",
        &num,
        json!({"action": "dispatch", "lead": HOUSING}),
    )
    .await;
    app.ok("housing", &num, json!({"action": "sign"})).await;
    let (s, v) = upload(&app, "housing", &num, "现场照片.png", png()).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["items"][0]["id"].as_u64().unwrap();
    assert_eq!(v["items"][0]["mime"], "image/png");
    // The content decides, not the name.
    let (s, e) = upload(
        &app,
        "housing",
        &num,
        "伪装.png",
        b"<html>not an image</html>".to_vec(),
    )
    .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("file_type_not_allowed")
        )
    );
    // A GIF's first bytes named as a web page; a PNG cut short; a zip that is no Word document.
    let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec();
    let (s, e) = upload(&app, "housing", &num, "x.html", gif).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("file_type_not_allowed")
        ),
        "{e}"
    );
    let mut cut = png();
    cut.truncate(40);
    let (s, e) = upload(&app, "housing", &num, "半张.png", cut).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("file_damaged")),
        "{e}"
    );
    let (s, e) = upload(
        &app,
        "housing",
        &num,
        "a.docx",
        b"PK\x03\x04 any zip at all".to_vec(),
    )
    .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("file_damaged")),
        "{e}"
    );
    let (s, e) = upload(&app, "housing", &num, "photo\u{202E}gnp.exe.png", png()).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("bad_file_name")),
        "{e}"
    );
    let (s, e) = upload(&app, "housing", &num, "空.pdf", vec![]).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("empty_file"))
    );
    let mut big = b"%PDF-1.7\n".to_vec();
    big.resize(11 * 1024 * 1024, b'x');
    let (s, e) = upload(&app, "housing", &num, "大文件.pdf", big).await;
    assert!(
        s == StatusCode::PAYLOAD_TOO_LARGE || s == StatusCode::UNPROCESSABLE_ENTITY,
        "{s} {e}"
    );
    assert!(
        e["code"] == "file_too_large" || e["code"] == "body_too_large",
        "{e}"
    );
    // Another unit can neither upload nor download.
    let (s, _) = upload(&app, "transport", &num, "x.png", png()).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let r = app
        .client
        .get(app.url(&format!("/api/v1/attachments/{id}")))
        .bearer_auth(app.token("transport"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // The lead unit and the centre get the file back as it was.
    let r = app
        .client
        .get(app.url(&format!("/api/v1/attachments/{id}")))
        .bearer_auth(app.token("dispatcher"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment;"));
    assert_eq!(r.bytes().await.unwrap().to_vec(), png());
    let (_, full) = app.get("housing", &format!("/api/v1/appeals/{num}")).await;
    assert_eq!(full["attachments"][0]["name"], "现场照片.png");
    // The reply names its attachments.
    let r = app
        .ok("housing", &num, json!({"action": "reply", "result": "resolved", "text": "已修复,见照片", "attachments": [format!("#{id} 现场照片.png")]}))
        .await;
    assert_eq!(r["reply"]["attachments"][0], format!("#{id} 现场照片.png"));
    let r = app
        .client
        .get(app.url("/api/v1/attachments/999"))
        .bearer_auth(app.token("dispatcher"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

async fn metrics_over_the_api_with_rankings_and_a_public_board(app: TestApp) {
    // Two appeals through the loop in November: one satisfied, one basically satisfied.
    for rating in ["satisfied", "basic"] {
        let num = n(&app.register(&new_appeal()).await);
        app.ok(
            "dispatcher",
            &num,
            json!({"action": "dispatch", "lead": HOUSING}),
        )
        .await;
        app.ok("housing", &num, json!({"action": "sign"})).await;
        app.ok(
            "housing",
            &num,
            json!({"action": "reply", "result": "resolved", "text": "已修复"}),
        )
        .await;
        app.ok("visitor", &num, json!({"action": "return_visit", "contacted": true, "resolved": true, "rating": rating, "comment": ""})).await;
        app.ok("dispatcher", &num, json!({"action": "close"})).await;
    }
    // And one still waiting for dispatch.
    app.register(&new_appeal()).await;
    let (s, m) = app
        .get(
            "leader",
            "/api/v1/metrics?period=month:2026-11&by=unit&min_volume=1",
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{m}");
    let h = &m["headline"];
    assert_eq!(h["volume"], 3);
    assert_eq!(h["closed_loop"]["num"], 2);
    assert_eq!(h["closed_loop"]["den"], 2);
    // (1 + 0.9) / 2 = 0.95; composite = 100 × (0.1 + 0.5 + 0.4 × 0.95) = 98.
    assert!((h["satisfaction"].as_f64().unwrap() - 0.95).abs() < 1e-9);
    assert!((h["composite"].as_f64().unwrap() - 98.0).abs() < 1e-9);
    let housing = m["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"].as_str() == Some(&*HOUSING.to_string()))
        .unwrap();
    assert_eq!(housing["rank"], 1);
    assert_eq!(m["ranking"]["red"][0]["name"], "县住建局");
    // Below the minimum volume a unit is listed but not ranked, and on no board.
    let (_, m) = app
        .get(
            "leader",
            "/api/v1/metrics?period=month:2026-11&by=unit&min_volume=5",
        )
        .await;
    assert!(m["ranking"]["red"].as_array().unwrap().is_empty());
    let housing = m["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"].as_str() == Some(&*HOUSING.to_string()))
        .unwrap();
    assert!(housing["rank"].is_null());
    // Other breakdowns and periods.
    let (s, m) = app
        .get(
            "leader",
            "/api/v1/metrics?period=quarter:2026-4&by=township",
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(m["groups"][0]["name"], "城关镇");
    let (s, e) = app
        .get("leader", "/api/v1/metrics?period=month:2026-13")
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_period"))
    );
    let (s, e) = app.get("leader", "/api/v1/metrics?by=colour").await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_query"))
    );
    // Units do not read the county's figures.
    assert_eq!(
        app.get("housing", "/api/v1/metrics").await.0,
        StatusCode::FORBIDDEN
    );
    // The public board needs no login and shows no personal data.
    let page = app
        .client
        .get(app.url("/board?period=month:2026-11&min_volume=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let text = page.text().await.unwrap();
    assert!(text.contains("红榜") && text.contains("县住建局"));
    assert!(!text.contains("13912345678") && !text.contains("李四"));
}

async fn lists_and_rankings_export_to_csv_and_xlsx(app: TestApp) {
    let mut b = new_appeal();
    b["title"] = json!("=HYPERLINK(\"x\")");
    app.register(&b).await;
    app.register(&new_appeal()).await;
    let r = app
        .client
        .get(app.url("/api/v1/export/appeals.csv"))
        .bearer_auth(app.token("dispatcher"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains(".csv"));
    let bytes = r.bytes().await.unwrap();
    assert!(bytes.starts_with("\u{feff}".as_bytes()));
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    assert_eq!(text.lines().count(), 3);
    assert!(text.contains("139****5678") && !text.contains("13912345678"));
    // A cell that a spreadsheet would run as a formula stays text.
    assert!(text.contains("'=HYPERLINK"), "{text}");
    let r = app
        .client
        .get(app.url("/api/v1/export/appeals.xlsx?kind=complaint"))
        .bearer_auth(app.token("dispatcher"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.bytes().await.unwrap().starts_with(b"PK\x03\x04"));
    let r = app
        .client
        .get(app.url("/api/v1/export/ranking.xlsx?period=month:2026-11&by=township"))
        .bearer_auth(app.token("leader"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .client
        .get(app.url("/api/v1/export/appeals.pdf"))
        .bearer_auth(app.token("dispatcher"))
        .send()
        .await
        .unwrap();
    let (s, e) = body(r).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_format"))
    );
    // A unit exports only its own appeals: none here.
    let r = app
        .client
        .get(app.url("/api/v1/export/appeals.csv"))
        .bearer_auth(app.token("housing"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        String::from_utf8(r.bytes().await.unwrap().to_vec())
            .unwrap()
            .lines()
            .count(),
        1
    );
}

async fn the_five_headline_rates_show_entered_values_as_entered(app: TestApp) {
    let (s, v) = app
        .get("leader", "/api/v1/rates?period=month:2026-11")
        .await;
    assert_eq!(s, StatusCode::OK);
    let five = v["five_rates"].as_array().unwrap();
    assert_eq!(five.len(), 5);
    assert_eq!(five[2]["label"], "诉求办理闭环率");
    assert!(five[3]["value"].is_null() && five[3]["entered"] == false);
    let rate = json!({"period": "month:2026-11", "name": "safety_satisfaction", "value": 0.9959, "source": "第三方AI测评,1232个完整测评电话"});
    assert_eq!(
        app.post("leader", "/api/v1/rates", &rate).await.0,
        StatusCode::FORBIDDEN
    );
    let (s, _) = app.post("admin", "/api/v1/rates", &rate).await;
    assert_eq!(s, StatusCode::CREATED);
    // A correction: the latest entry is shown, every entry is kept.
    let mut fixed = rate.clone();
    fixed["value"] = json!(0.9961);
    app.post("admin", "/api/v1/rates", &fixed).await;
    let (_, v) = app
        .get("leader", "/api/v1/rates?period=month:2026-11")
        .await;
    assert_eq!(v["five_rates"][3]["value"], 0.9961);
    assert_eq!(
        v["five_rates"][3]["source"],
        "第三方AI测评,1232个完整测评电话"
    );
    for (bad, code) in [
        (
            json!({"period": "month:2026-11", "name": "happiness", "value": 0.5, "source": "x"}),
            "unknown_rate",
        ),
        (
            json!({"period": "month:2026-11", "name": "cadre_approval", "value": 99.5, "source": "x"}),
            "invalid_input",
        ),
        (
            json!({"period": "month:2026-11", "name": "cadre_approval", "value": 0.9, "source": " "}),
            "invalid_input",
        ),
        (
            json!({"period": "someday", "name": "cadre_approval", "value": 0.9, "source": "x"}),
            "bad_period",
        ),
    ] {
        let (s, e) = app.post("admin", "/api/v1/rates", &bad).await;
        assert!(s.is_client_error(), "{bad}");
        assert_eq!(e["code"], code, "{bad}");
    }
}

async fn composite_weights_are_configurable(app: TestApp) {
    let num = n(&app.register(&new_appeal()).await);
    app.ok(
        "dispatcher",
        &num,
        json!({"action": "dispatch", "lead": HOUSING}),
    )
    .await;
    app.ok("housing", &num, json!({"action": "sign"})).await;
    app.ok(
        "housing",
        &num,
        json!({"action": "reply", "result": "resolved", "text": "已修复"}),
    )
    .await;
    app.ok("visitor", &num, json!({"action": "return_visit", "contacted": true, "resolved": false, "rating": "basic", "comment": ""})).await;
    // Default 10/50/40 with 基本满意 at 0.9: 100 × (0.1 + 0 + 0.4 × 0.9) = 46.
    let (_, m) = app
        .get("leader", "/api/v1/metrics?period=month:2026-11")
        .await;
    assert!((m["headline"]["composite"].as_f64().unwrap() - 46.0).abs() < 1e-9);
    let bad = json!({"response": 0.5, "resolution": 0.5, "satisfaction": 0.5, "basic_weight": 0.9});
    let r = app
        .client
        .put(app.url("/api/v1/score-weights"))
        .bearer_auth(app.token("admin"))
        .json(&bad)
        .send()
        .await
        .unwrap();
    let (s, e) = body(r).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_weights"))
    );
    let good =
        json!({"response": 0.2, "resolution": 0.4, "satisfaction": 0.4, "basic_weight": 1.0});
    let r = app
        .client
        .put(app.url("/api/v1/score-weights"))
        .bearer_auth(app.token("leader"))
        .json(&good)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app
        .client
        .put(app.url("/api/v1/score-weights"))
        .bearer_auth(app.token("admin"))
        .json(&good)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    // 100 × (0.2 + 0 + 0.4 × 1.0) = 60.
    let (_, m) = app
        .get("leader", "/api/v1/metrics?period=month:2026-11")
        .await;
    assert!(
        (m["headline"]["composite"].as_f64().unwrap() - 60.0).abs() < 1e-9,
        "{}",
        m["headline"]
    );
    assert_eq!(
        app.get("leader", "/api/v1/score-weights").await.1["response"],
        0.2
    );
}

async fn an_exported_ranking_reads_back_as_the_api_figures(app: TestApp) {
    use calamine::{Reader, Xlsx};
    for (lead, rating) in [
        (HOUSING, "satisfied"),
        (HOUSING, "unsatisfied"),
        (WATER, "basic"),
    ] {
        let num = n(&app.register(&new_appeal()).await);
        app.ok(
            "dispatcher",
            &num,
            json!({"action": "dispatch", "lead": lead}),
        )
        .await;
        let handler = if lead == HOUSING { "housing" } else { "water" };
        app.ok(handler, &num, json!({"action": "sign"})).await;
        app.ok(
            handler,
            &num,
            json!({"action": "reply", "result": "resolved", "text": "已处理"}),
        )
        .await;
        let resolved = rating != "unsatisfied";
        app.ok("visitor", &num, json!({"action": "return_visit", "contacted": true, "resolved": resolved, "rating": rating, "comment": ""})).await;
    }
    let q = "period=month:2026-11&by=unit&min_volume=1";
    let (_, m) = app.get("leader", &format!("/api/v1/metrics?{q}")).await;
    let r = app
        .client
        .get(app.url(&format!("/api/v1/export/ranking.xlsx?{q}")))
        .bearer_auth(app.token("leader"))
        .send()
        .await
        .unwrap();
    let bytes = r.bytes().await.unwrap().to_vec();
    let mut wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(
        wb.sheet_names(),
        ["排名 2026-11-01至2026-11-30"],
        "the sheet is named by its dates"
    );
    let sheet = wb.worksheet_range_at(0).unwrap().unwrap();
    let rows: Vec<Vec<calamine::Data>> = sheet.rows().map(|r| r.to_vec()).collect();
    assert_eq!(rows[0][1], calamine::Data::String("名称".into()));
    let num = |d: &calamine::Data| match d {
        calamine::Data::Float(f) => *f,
        calamine::Data::Int(i) => *i as f64,
        other => panic!("a number, not {other:?}"),
    };
    for g in m["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["rates"]["visits"]["visited"].as_u64().unwrap() > 0)
    {
        let name = g["name"].as_str().unwrap();
        let row = rows
            .iter()
            .find(|r| r[1] == calamine::Data::String(name.into()))
            .unwrap_or_else(|| panic!("{name} not exported"));
        // Numbers are numbers and rates are shares (formatted as percentages), not text.
        assert_eq!(num(&row[0]), g["rank"].as_f64().unwrap());
        assert_eq!(
            num(&row[3]),
            g["rates"]["visits"]["visited"].as_f64().unwrap()
        );
        assert!((num(&row[4]) - g["rates"]["composite"].as_f64().unwrap()).abs() < 1e-9);
        assert!((num(&row[7]) - g["rates"]["satisfaction"].as_f64().unwrap()).abs() < 1e-9);
    }
    // The water bureau (one basic visit: 100 × (0.1 + 0.5 + 0.36) = 96) ranks above housing
    // (two visits, one unsatisfied: 100 × (0.1 + 0.25 + 0.2) = 55).
    let find = |n: &str| {
        rows.iter()
            .find(|r| r[1] == calamine::Data::String(n.into()))
            .unwrap()
    };
    let (water, housing) = (find("县水利局"), find("县住建局"));
    assert_eq!((num(&water[0]), num(&water[4])), (1.0, 96.0));
    assert_eq!(num(&housing[0]), 2.0);
    assert!((num(&housing[4]) - 55.0).abs() < 1e-9);
    // The appeals export: dates are dates, and the report's columns are there.
    let r = app
        .client
        .get(app.url("/api/v1/export/appeals.xlsx"))
        .bearer_auth(app.token("leader"))
        .send()
        .await
        .unwrap();
    let mut wb: Xlsx<_> =
        Xlsx::new(std::io::Cursor::new(r.bytes().await.unwrap().to_vec())).unwrap();
    let sheet = wb.worksheet_range_at(0).unwrap().unwrap();
    let rows: Vec<Vec<calamine::Data>> = sheet.rows().map(|r| r.to_vec()).collect();
    let col = |h: &str| {
        rows[0]
            .iter()
            .position(|c| *c == calamine::Data::String(h.into()))
            .unwrap_or_else(|| panic!("no column {h}"))
    };
    for h in [
        "协办单位",
        "办理结果",
        "答复内容",
        "是否超期答复",
        "签收期限",
        "答复期限",
    ] {
        col(h);
    }
    let first = &rows[1];
    assert!(
        matches!(first[col("登记时间")], calamine::Data::DateTime(_)),
        "{:?}",
        first[col("登记时间")]
    );
    assert_eq!(
        first[col("办理结果")],
        calamine::Data::String("已解决".into())
    );
}

/// Every test above, once on each store: the same suite on SQLite and on PostgreSQL.
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let app = crate::helpers::spawn_app_on(crate::helpers::Backend::Sqlite)
                        .await
                        .unwrap();
                    super::$name(app).await;
                }
            )*
        }
        mod on_postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    match crate::helpers::spawn_app_on(crate::helpers::Backend::Postgres).await {
                        Some(app) => super::$name(app).await,
                        None => eprintln!("{}: PostgreSQL skipped", stringify!($name)),
                    }
                }
            )*
        }
    };
}

#[tokio::test]
async fn the_portal_limits_each_address() {
    portal::the_portal_limits_each_address(Backend::Sqlite).await;
}

on_both_stores!(
    open311_speaks_georeport_v2_in_xml_and_json,
    a_campaign_is_valued_from_evidence_and_its_evaluation_frozen,
    a_survey_is_sampled_called_and_measured,
    survey_frames_quotas_and_raised_appeals,
    enterprises_are_served_by_teams_and_their_demands_close_the_loop,
    policies_are_matched_to_enterprises_by_rule_and_date,
    buildings_and_enterprises_are_imported_with_their_bad_rows,
    a_township_posts_jobs_refers_seekers_and_follows_placements,
    an_employer_posts_and_sees_only_its_own_jobs,
    a_citizen_submits_tracks_and_rates_on_the_portal,
    notices_go_out_once_and_a_failing_sender_is_retried,
    a_sender_that_always_fails_gives_up,
    assisting_units_see_their_work_and_give_opinions,
    both_sides_of_a_whistle_are_measured,
    work_orders_print_one_or_a_filtered_list,
    the_console_offers_the_loops_remaining_actions,
    comparisons_are_fair_and_the_board_explains_itself,
    the_list_has_a_total_pages_and_countdowns,
    several_appeals_are_dispatched_and_supervised_at_once,
    saved_filters_are_each_users_own,
    a_petition_is_signed_when_its_deadline_runs_into_an_unloaded_year,
    loading_a_notice_recomputes_the_provisional_deadlines,
    a_notice_loaded_after_its_year_began_recounts_the_rollups,
    a_petition_issues_printable_notices_with_their_receipt,
    reviews_run_as_linked_cases_with_their_own_clocks,
    a_group_visit_is_registered_with_at_most_five_representatives,
    a_repeat_petition_is_linked_and_counted,
    a_leader_receives_petitions_and_takes_a_case,
    an_accusation_never_reaches_the_accused_person,
    households_are_imported_scoped_masked_and_moved_with_their_history,
    a_package_is_applied_for_once_and_approved_in_parallel,
    materials_are_uploaded_once_and_answered_online,
    a_campaign_covers_its_frozen_households_and_needs_run_through_the_loop,
    a_launch_cut_short_resumes_without_a_duplicate_task,
    the_seeds_half_year_petition_figure_is_reproduced,
    an_accusation_never_reaches_the_accused_unit,
    any_period_of_sibi_can_be_chosen,
    the_volume_and_overdue_figures_open_their_appeals,
    the_console_offers_exactly_what_the_domain_accepts,
    the_openapi_schemas_describe_the_answers,
    an_owner_must_be_an_active_account,
    long_names_are_refused_and_exports_hold,
    a_double_submitted_form_registers_one_appeal,
    the_owner_is_changed_from_the_console,
    the_api_keeps_phones_in_one_form,
    a_grid_member_sees_its_own_registrations_in_list_and_detail,
    api_tokens_expire_are_listed_and_revoked,
    the_audit_log_records_access_and_changes,
    extreme_limits_are_refused_and_writes_go_on,
    extreme_policy_limits_are_refused,
    dates_outside_the_range_are_client_errors,
    login_redirects_stay_on_this_site,
    a_dead_worker_makes_healthz_unhealthy,
    cross_origin_posts_change_nothing,
    responses_carry_the_security_headers,
    wrong_passwords_are_throttled,
    a_password_change_needs_the_current_one_and_ends_other_sessions,
    personal_numbers_in_free_text_are_masked,
    the_dispatch_preview_is_for_dispatchers_only,
    every_endpoint_survives_hostile_input,
    stored_markup_comes_back_escaped,
    the_whole_loop_over_http,
    a_misrouted_order_is_returned_and_redispatched,
    a_refused_return_confirms_the_unit,
    an_extension_is_requested_and_approved,
    a_whistle_with_two_units_reporting_in,
    unsatisfied_visit_redo_and_close,
    duplicates_merge_into_a_master,
    wrong_unit_and_wrong_role_are_403,
    a_stale_version_is_409_with_the_current_version,
    bad_bodies_get_json_errors_never_500,
    an_idempotency_key_never_creates_a_second_appeal,
    lists_filter_paginate_and_mask_phones,
    login_with_a_password_sets_a_session_cookie,
    admins_manage_users_units_policies_and_calendar_years,
    the_calendar_endpoint_answers_like_the_cli,
    operations_endpoints,
    the_deadline_scanner_supervises_once_per_deadline,
    attachments_are_type_checked_size_limited_and_scoped,
    metrics_over_the_api_with_rankings_and_a_public_board,
    lists_and_rankings_export_to_csv_and_xlsx,
    the_five_headline_rates_show_entered_values_as_entered,
    composite_weights_are_configurable,
    an_exported_ranking_reads_back_as_the_api_figures,
    concurrent_registrations_all_land_with_unique_numbers,
    search_finds_content_and_replies_within_the_filters_and_scope,
    suggestions_come_from_the_catalogue_and_place_and_are_recorded,
    duplicates_are_shown_while_open_and_within_the_window,
    training_stores_versioned_models_that_suggest,
);
