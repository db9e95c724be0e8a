//! The petition regulation's clocks and notices (信访工作条例 2022), each test naming its article.

mod common;

use bihuan_domain::documents;
use bihuan_domain::lifecycle::{
    Appeal, Command, DeclineGround, DocumentKind, PetitionOutcome, Reply, ReplyResult,
    ReviewRequest, ReviewStage, Status,
};
use bihuan_domain::time::{format_local, local, local_date, Instant};
use bihuan_domain::{AppealId, AppealNumber, Kind};
use chrono::NaiveDate;
use common::*;

fn at(m: u32, d: u32, h: u32) -> Instant {
    local(2026, m, d, h, 0, 0).unwrap()
}

fn day(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, m, d).unwrap()
}

fn dispatch(lead: bihuan_domain::org::UnitId) -> Command {
    Command::Dispatch {
        lead,
        assisting: vec![],
        note: String::new(),
    }
}

fn reply(outcome: PetitionOutcome) -> Command {
    Command::Reply(Reply {
        result: ReplyResult::PartlyResolved,
        reason: Some("部分请求缺乏政策依据".into()),
        text: "经调查核实，已按政策给予补助，其余请求不予支持。".into(),
        petition_outcome: Some(outcome),
        attachments: vec![],
    })
}

/// A petition decided by HOUSING: accepted 11-03, 意见书 issued 11-10 and received 11-12.
fn decided(w: &mut World) -> Appeal {
    let a = w.register(Kind::PetitionClaim, at(11, 2, 9));
    let a = w.step(&a, dispatch(HOUSING), &dispatcher(), at(11, 2, 10));
    let a = w.step(&a, Command::Sign { owner: None }, &housing(), at(11, 3, 9));
    let a = w.step(
        &a,
        reply(PetitionOutcome::NotSupported),
        &housing(),
        at(11, 10, 9),
    );
    let opinion = a
        .documents
        .iter()
        .find(|d| d.kind == DocumentKind::Opinion)
        .expect("the reply issued the 意见书")
        .version;
    w.step(
        &a,
        Command::RecordReceipt {
            document: opinion,
            received_on: day(11, 12),
        },
        &dispatcher(),
        at(11, 12, 15),
    )
}

/// The value of a notice's field `name` (empty when it has none).
fn field_of(t: &documents::DocumentText, name: &str) -> String {
    t.fields
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

fn request(on: NaiveDate) -> ReviewRequest {
    ReviewRequest {
        request: "对处理意见不服，请求复查。".into(),
        requested_on: on,
        reviewer: None,
    }
}

/// Runs a review request that must succeed; returns the reviewed case and the review case.
fn review(
    w: &World,
    a: &Appeal,
    on: NaiveDate,
    reviewer: bihuan_domain::org::UnitId,
    now: Instant,
) -> (Appeal, Appeal) {
    let p = a
        .prepare_review(
            &request(on),
            reviewer,
            &dispatcher(),
            now,
            Some(a.version),
            w.ctx(),
        )
        .unwrap_or_else(|e| panic!("review refused: {e}"));
    let id = AppealId(900 + a.id.0);
    let out = p.complete(id, AppealNumber::new(2026, 12, id.0 as u32).unwrap());
    (out.original.0, out.review.0)
}

#[test]
fn art_35_a_recheck_may_be_asked_on_day_30_after_receipt_and_not_on_day_31() {
    let mut w = World::new();
    w.load_test_2027();
    let a = decided(&mut w);
    // Received 11-12: 30 days end on 12-12, a Saturday — the period runs to Monday 12-14
    // (民法典 Art 203: a period whose last day is a holiday ends on the next working day).
    let (_, _, closes) = a.review_window(w.ctx().calendar).unwrap();
    assert_eq!(closes, day(12, 14));
    // Day 30 (12-12) and the rolled last day 12-14 are inside.
    for on in [day(12, 12), day(12, 14)] {
        let (orig, rev) = review(&w, &a, on, TOWN, at(12, 15, 9));
        assert_eq!(rev.review.as_ref().unwrap().stage, ReviewStage::Recheck);
        assert_eq!(orig.reviews.len(), 1);
        assert_eq!(orig.reviews[0].review, rev.id);
    }
    // Day 33 (12-15) is outside: refused with the date the window closed.
    let err = a
        .prepare_review(
            &request(day(12, 15)),
            TOWN,
            &dispatcher(),
            at(12, 15, 9),
            None,
            w.ctx(),
        )
        .unwrap_err();
    assert_eq!(err.code(), "review_window_closed");
    assert!(
        err.message_zh().contains("2026-12-14"),
        "{}",
        err.message_zh()
    );
}

#[test]
fn art_35_day_31_after_a_weekday_receipt_is_refused() {
    let mut w = World::new();
    w.load_test_2027();
    let a = decided(&mut w);
    // The receipt again, on Tuesday 11-10 (a corrected notice would be its own document):
    // build it by hand on a case received on a day whose 30th day is a working day.
    let mut b = a.clone();
    b.documents.last_mut().unwrap().received_on = Some(day(11, 10));
    let (_, _, closes) = b.review_window(w.ctx().calendar).unwrap();
    // 11-10 + 30 days = Thursday 12-10, a working day: the window closes that day.
    assert_eq!(closes, day(12, 10));
    review(&w, &b, day(12, 10), TOWN, at(12, 11, 9));
    let err = b
        .prepare_review(
            &request(day(12, 11)),
            TOWN,
            &dispatcher(),
            at(12, 11, 9),
            None,
            w.ctx(),
        )
        .unwrap_err();
    assert_eq!(err.code(), "review_window_closed");
    assert!(err.message_zh().contains("2026-12-10"));
}

#[test]
fn art_35_no_window_before_the_opinion_is_received_nor_for_the_deciding_unit() {
    let mut w = World::new();
    w.load_test_2027();
    let a = w.register(Kind::PetitionClaim, at(11, 2, 9));
    let a = w.step(&a, dispatch(HOUSING), &dispatcher(), at(11, 2, 10));
    let a = w.step(&a, Command::Sign { owner: None }, &housing(), at(11, 3, 9));
    let a = w.step(
        &a,
        reply(PetitionOutcome::Support),
        &housing(),
        at(11, 10, 9),
    );
    // Not yet received: the window has no start.
    let err = a.review_window(w.ctx().calendar).unwrap_err();
    assert!(
        err.message_zh().contains("送达日期"),
        "{}",
        err.message_zh()
    );
    let a = decided(&mut w);
    // The unit that decided cannot review itself.
    let err = a
        .prepare_review(
            &request(day(11, 20)),
            HOUSING,
            &dispatcher(),
            at(11, 20, 9),
            None,
            w.ctx(),
        )
        .unwrap_err();
    assert_eq!(err.code(), "invalid_input");
    // A request dated before the receipt, or in the future, is refused.
    for on in [day(11, 11), day(11, 21)] {
        let err = a
            .prepare_review(
                &request(on),
                TOWN,
                &dispatcher(),
                at(11, 20, 9),
                None,
                w.ctx(),
            )
            .unwrap_err();
        assert_eq!(err.code(), "invalid_input", "{on}");
    }
    // Only one 复查 per opinion.
    let (orig, _) = review(&w, &a, day(11, 20), TOWN, at(11, 20, 9));
    let err = orig
        .prepare_review(
            &request(day(11, 21)),
            TOWN,
            &dispatcher(),
            at(11, 21, 9),
            None,
            w.ctx(),
        )
        .unwrap_err();
    assert!(
        err.message_zh().contains("不能重复"),
        "{}",
        err.message_zh()
    );
    // A hotline appeal has no review.
    let h = w.register(Kind::Complaint, at(11, 2, 9));
    assert!(h.review_window(w.ctx().calendar).is_err());
}

/// A 复查 by TOWN asked on 11-20, answered 12-01 and received 12-02.
fn rechecked(w: &mut World) -> (Appeal, Appeal) {
    let a = decided(w);
    let (orig, rev) = review(w, &a, day(11, 20), TOWN, at(11, 20, 9));
    // Art 35: answered within 30 days of receiving the request: 11-20 + 30 = 12-20, a
    // Sunday, so Monday 12-21. The clock runs from the receipt, not from signing.
    assert_eq!(
        format_local(rev.deadlines.reply.unwrap()),
        "2026-12-21 23:59:59"
    );
    assert_eq!(rev.status, Status::Dispatched);
    assert_eq!(rev.lead, Some(TOWN));
    let rev = w.step(&rev, Command::Sign { owner: None }, &town(), at(11, 23, 9));
    assert_eq!(
        format_local(rev.deadlines.reply.unwrap()),
        "2026-12-21 23:59:59"
    );
    // A review has no acceptance notice and no extension (Arts 35–36).
    assert!(rev.documents.is_empty());
    let ext = Command::RequestExtension {
        limit: bihuan_domain::Limit::CalendarDays(10),
        reason: "情况复杂".into(),
    };
    assert_eq!(w.refuse(&rev, ext, &town(), at(11, 24, 9)), "invalid_input");
    let rev = w.step(
        &rev,
        reply(PetitionOutcome::NotSupported),
        &town(),
        at(12, 1, 9),
    );
    let doc = rev.documents.last().unwrap().clone();
    assert_eq!(doc.kind, DocumentKind::RecheckOpinion);
    let rev = w.step(
        &rev,
        Command::RecordReceipt {
            document: doc.version,
            received_on: day(12, 2),
        },
        &town(),
        at(12, 2, 15),
    );
    (orig, rev)
}

#[test]
fn art_36_a_hearing_pauses_the_rereview_clock() {
    let mut w = World::new();
    w.load_test_2027();
    let (_, recheck) = rechecked(&mut w);
    // A 复核 of the township's 复查 by HOUSING? No: never by a unit that gave an opinion.
    let err = recheck
        .prepare_review(
            &request(day(12, 3)),
            HOUSING,
            &dispatcher(),
            at(12, 3, 9),
            None,
            w.ctx(),
        )
        .unwrap_err();
    assert_eq!(err.code(), "invalid_input");
    let (recheck, rr) = review(&w, &recheck, day(12, 3), TRANSPORT, at(12, 3, 9));
    assert_eq!(recheck.reviews[0].stage, ReviewStage::Rereview);
    assert_eq!(rr.review.as_ref().unwrap().stage, ReviewStage::Rereview);
    // 12-03 + 30 days = 2027-01-02, a Saturday: Monday 2027-01-04.
    assert_eq!(
        format_local(rr.deadlines.reply.unwrap()),
        "2027-01-04 23:59:59"
    );
    let rr = w.step(
        &rr,
        Command::Sign { owner: None },
        &transport(),
        at(12, 4, 9),
    );
    // A 复查 case cannot hold a hearing; the 复核 can.
    let hearing = Command::StartHearing {
        reason: "事实认定存在争议，公开听证".into(),
    };
    let rr = w.step(&rr, hearing.clone(), &transport(), at(12, 14, 9));
    // While the hearing runs the reply clock stands still: no running reply deadline, not
    // overdue even past the old date, and no reply can be given.
    assert!(rr.running_deadlines().iter().all(|(n, _, _)| *n != "reply"));
    let old_due = rr.deadlines.reply.unwrap();
    assert!(!rr
        .overdue_deadlines(local(2027, 1, 5, 9, 0, 0).unwrap())
        .contains(&old_due));
    assert_eq!(
        w.refuse(
            &rr,
            reply(PetitionOutcome::Explain),
            &transport(),
            at(12, 15, 9)
        ),
        "invalid_input"
    );
    assert_eq!(
        w.refuse(&rr, hearing, &transport(), at(12, 15, 9)),
        "invalid_input"
    );
    // Ends 12-16: three hearing days (14, 15, 16) are not counted; the deadline moves by three.
    let rr = w.step(
        &rr,
        Command::EndHearing {
            note: "听证会已举行，形成听证报告".into(),
        },
        &transport(),
        at(12, 16, 17),
    );
    assert_eq!(rr.hearings[0].days, 3);
    assert_eq!(
        format_local(rr.deadlines.reply.unwrap()),
        "2027-01-07 23:59:59"
    );
    assert_eq!(
        rr.reply_rounds.last().unwrap().due,
        rr.deadlines.reply.unwrap()
    );
    let rr = w.step(
        &rr,
        reply(PetitionOutcome::NotSupported),
        &transport(),
        at(12, 28, 9),
    );
    let doc = rr.documents.last().unwrap().clone();
    assert_eq!(doc.kind, DocumentKind::RereviewOpinion);
    // The 复核意见书 says it is final and names the hearing days.
    let event = bihuan_domain::Event::Replied {
        reply: rr.reply.clone().unwrap(),
        late: false,
        extension_withdrawn: false,
    };
    let t = documents::text(&rr, &doc, &event, "李四", "县交通局", w.ctx().calendar);
    let get = |k: &str| {
        t.fields
            .iter()
            .find(|(f, _)| *f == k)
            .map(|(_, v)| v.clone())
    };
    assert!(get("终结说明").unwrap().contains("不再受理"));
    assert!(get("听证").unwrap().contains("共3日"), "{:?}", get("听证"));
    assert!(get("复核途径和期限").is_none());
    // After the 复核 nothing more: the window is closed for good (Art 36).
    let rr_received = w.step(
        &rr,
        Command::RecordReceipt {
            document: doc.version,
            received_on: day(12, 29),
        },
        &transport(),
        at(12, 29, 9),
    );
    let err = rr_received.review_window(w.ctx().calendar).unwrap_err();
    assert_eq!(err.code(), "review_final");
}

#[test]
fn art_36_only_a_rereview_holds_a_hearing() {
    let mut w = World::new();
    w.load_test_2027();
    let a = decided(&mut w);
    let (_, rev) = review(&w, &a, day(11, 20), TOWN, at(11, 20, 9));
    let rev = w.step(&rev, Command::Sign { owner: None }, &town(), at(11, 23, 9));
    let hearing = Command::StartHearing {
        reason: "公开听证".into(),
    };
    assert_eq!(
        w.refuse(&rev, hearing, &town(), at(11, 24, 9)),
        "invalid_input"
    );
}

#[test]
fn art_23_a_petition_not_accepted_ends_with_its_notice() {
    let mut w = World::new();
    w.load_test_2027();
    let a = w.register(Kind::PetitionClaim, at(11, 2, 9));
    let a = w.step(&a, dispatch(HOUSING), &dispatcher(), at(11, 2, 10));
    let decline = |ground, prior| Command::Decline {
        ground,
        reason: "该请求系对法院生效判决不服".into(),
        route: "请依照《民事诉讼法》向作出判决的人民法院申请再审".into(),
        prior,
    };
    // Only the lead unit decides, before signing; the 复核 ground needs the prior number.
    assert_eq!(
        w.refuse(
            &a,
            decline(DeclineGround::StatutoryRoute, None),
            &town(),
            at(11, 3, 9)
        ),
        "not_lead_unit"
    );
    assert_eq!(
        w.refuse(
            &a,
            decline(DeclineGround::FinalAfterReview, None),
            &housing(),
            at(11, 3, 9)
        ),
        "invalid_input"
    );
    let (a, records) = w.step_rec(
        &a,
        decline(DeclineGround::StatutoryRoute, None),
        &housing(),
        at(11, 3, 9),
    );
    assert_eq!(a.status, Status::Closed);
    assert_eq!(
        a.declined.as_ref().unwrap().ground,
        DeclineGround::StatutoryRoute
    );
    // The decision counts as taken in time for 及时受理 (within the signing deadline).
    assert!(a.dispatch_rounds[0].signed_at.is_some());
    let doc = a.documents.last().unwrap();
    assert_eq!(doc.kind, DocumentKind::NonAcceptance);
    let t = documents::text(
        &a,
        doc,
        &records[0].event,
        "李四",
        "县住建局",
        w.ctx().calendar,
    );
    let fields: Vec<&str> = t.fields.iter().map(|(k, _)| *k).collect();
    for f in [
        "信访请求",
        "不予受理决定",
        "理由",
        "告知途径",
        "依据",
        "出具单位",
        "出具日期",
    ] {
        assert!(fields.contains(&f), "{f} missing: {fields:?}");
    }
    let basis = &t.fields.iter().find(|(k, _)| *k == "依据").unwrap().1;
    assert!(basis.contains("第三十一条"), "{basis}");
    assert!(t.title.contains("不予受理告知书"));
    // A hotline appeal is not declined this way.
    let h = w.register(Kind::Complaint, at(11, 2, 9));
    let h = w.step(&h, dispatch(HOUSING), &dispatcher(), at(11, 2, 10));
    assert_eq!(
        w.refuse(
            &h,
            decline(DeclineGround::NotOurRemit, None),
            &housing(),
            at(11, 3, 9)
        ),
        "invalid_input"
    );
}

#[test]
fn arts_32_to_36_every_opinion_names_its_review_route() {
    let mut w = World::new();
    w.load_test_2027();
    let (orig, recheck) = rechecked(&mut w);
    let fields = |a: &Appeal, kind| {
        let doc = a.documents.iter().find(|d| d.kind == kind).unwrap();
        // The step that issued it, rebuilt from the state: the reply.
        let event = bihuan_domain::Event::Replied {
            reply: a.reply.clone().unwrap(),
            late: false,
            extension_withdrawn: false,
        };
        documents::text(a, doc, &event, "李四", "单位", w.ctx().calendar).fields
    };
    let o = fields(&orig, DocumentKind::Opinion);
    let route = &o.iter().find(|(k, _)| *k == "复查途径和期限").unwrap().1;
    assert!(route.contains("2026-12-14"), "{route}");
    let r = fields(&recheck, DocumentKind::RecheckOpinion);
    let route = &r.iter().find(|(k, _)| *k == "复核途径和期限").unwrap().1;
    // Received 12-02: the 复核 request is due by 2027-01-01, a holiday, so 01-04 (the test
    // calendar's 2027 has New Year's Day only; the 2nd and 3rd are a weekend).
    assert!(route.contains("2027-01-04"), "{route}");
    assert!(r
        .iter()
        .any(|(k, v)| *k == "原信访事项" && v.contains(&orig.number.to_string())));
    assert_eq!(local_date(recheck.registered_at), day(11, 20));
}

#[test]
fn a_first_petition_with_a_review_is_not_resolved_at_once_and_reviews_are_not_first_petitions() {
    use bihuan_domain::metrics::{counts_for_one_shot, resolved_once};
    let mut w = World::new();
    w.load_test_2027();
    let a = decided(&mut w);
    assert!(counts_for_one_shot(&a) && resolved_once(&a, false));
    let (orig, rev) = review(&w, &a, day(11, 20), TOWN, at(11, 20, 9));
    // 初次信访一次性化解: a 复查 asked for means the first handling did not settle it.
    assert!(!resolved_once(&orig, false));
    // The review case itself is not a first petition.
    assert!(!counts_for_one_shot(&rev));
    // A petition not accepted resolved nothing.
    let p = w.register(Kind::PetitionClaim, at(11, 2, 9));
    let p = w.step(&p, dispatch(HOUSING), &dispatcher(), at(11, 2, 10));
    let p = w.step(
        &p,
        Command::Decline {
            ground: DeclineGround::NotOurRemit,
            reason: "属于邻县管辖".into(),
            route: "请向邻县人民政府提出".into(),
            prior: None,
        },
        &housing(),
        at(11, 3, 9),
    );
    assert!(!counts_for_one_shot(&p));
}

#[test]
fn art_41_the_annual_report_counts_from_the_petitions() {
    use bihuan_domain::petition_report::annual;
    let mut w = World::new();
    w.load_test_2027();
    // One decided and rechecked (upheld) petition; the same person on the same matter again
    // (a repeat), declined; a hotline appeal that is no petition at all.
    let a = decided(&mut w);
    // Closed without a visit; a review may still be asked for a closed case.
    let a = w.step(
        &a,
        Command::Close {
            note: "意见书已送达".into(),
        },
        &dispatcher(),
        at(11, 13, 9),
    );
    let (orig, rev) = review(&w, &a, day(11, 20), TOWN, at(11, 20, 9));
    let rev = w.step(&rev, Command::Sign { owner: None }, &town(), at(11, 23, 9));
    let rev = w.step(
        &rev,
        reply(PetitionOutcome::NotSupported),
        &town(),
        at(12, 1, 9),
    );
    // Linked at registration to the accepted petition, as the registration use case links it.
    let mut new = new_appeal(Kind::PetitionClaim);
    new.repeat_of =
        bihuan_domain::lifecycle::repeated_petition(&new, at(12, 2, 9), [&orig]).map(|e| {
            bihuan_domain::lifecycle::RepeatOf {
                earlier: Some(e.number),
                elsewhere: None,
            }
        });
    assert!(
        new.repeat_of.is_some(),
        "the same person, the same matter, accepted"
    );
    let (again, _) = w.register_with(new, at(12, 2, 9));
    let again = w.step(&again, dispatch(HOUSING), &dispatcher(), at(12, 2, 10));
    let again = w.step(
        &again,
        Command::Decline {
            ground: DeclineGround::AlreadyHandled,
            reason: "同一事项已经处理".into(),
            route: "可请求复查".into(),
            prior: None,
        },
        &housing(),
        at(12, 3, 9),
    );
    let hotline = w.register(Kind::Complaint, at(11, 5, 9));
    let now = at(12, 10, 9);
    let r = annual(2026, &[orig, rev, again, hotline], now).unwrap();
    // Two first petitions and one review request.
    assert_eq!(r.volume, 3);
    assert_eq!(r.previous_volume, 0);
    assert_eq!(r.change, None);
    assert_eq!(r.by_kind[0].key, "petition_claim");
    assert_eq!(r.by_kind[0].count, 2);
    assert_eq!(r.by_month[10], 2, "November: the petition and its 复查");
    assert_eq!(r.by_month[11], 1);
    assert_eq!(r.accepted, 1);
    assert_eq!(r.declined.len(), 1);
    assert_eq!(r.declined[0].label, "已经或者正在依法处理");
    assert_eq!(r.repeat_petitions, 1);
    assert_eq!(r.recheck.requested, 1);
    assert_eq!(r.recheck.decided, 1);
    assert_eq!(r.recheck.upheld, 1);
    assert_eq!(r.recheck.on_time, 1);
    assert_eq!(r.rereview.requested, 0);
    // The first petition asked for a 复查: not settled at once; the decline is not counted.
    assert_eq!(r.first_one_shot.den, 1);
    assert_eq!(r.first_one_shot.num, 0);
    // Acceptance decisions: the first petition signed in time, the decline in time.
    assert_eq!(r.timely_acceptance.den, 3, "{:?}", r.timely_acceptance);
    assert_eq!(r.open_at_end, 0);
}

#[test]
fn art_41_the_change_compares_the_same_span_and_not_a_partial_year() {
    use bihuan_domain::petition_report::annual;
    let mut w = World::new();
    let on = |y, m, d| local(y, m, d, 10, 0, 0).unwrap();
    // 2025: two in January, one in March, one in September; 2026: one in March, by 30 June.
    let all: Vec<Appeal> = [
        on(2025, 1, 6),
        on(2025, 1, 8),
        on(2025, 3, 3),
        on(2025, 9, 1),
        on(2026, 3, 2),
    ]
    .into_iter()
    .map(|t| w.register(Kind::PetitionOpinion, t))
    .collect();
    let r = annual(2026, &all, on(2026, 6, 30)).unwrap();
    // 1 January to 30 June 2025: three; one this year: −66.7 %.
    assert_eq!((r.volume, r.previous_volume), (1, 3));
    assert!(
        (r.change.unwrap() + 2.0 / 3.0).abs() < 1e-9,
        "{:?}",
        r.change
    );
    assert_eq!(r.previous_from, None);
    // Records of 2025 that begin in March: no change is given, and the report says why.
    let r = annual(2026, &all[2..], on(2026, 6, 30)).unwrap();
    assert_eq!(r.change, None);
    assert_eq!(
        r.previous_from,
        Some(NaiveDate::from_ymd_opt(2025, 3, 3).unwrap())
    );
}

#[test]
fn art_20_a_group_visit_sends_at_most_five_representatives() {
    use bihuan_domain::lifecycle::GroupVisit;
    let mut w = World::new();
    let group = |people, reps: usize| {
        let mut n = new_appeal(Kind::PetitionClaim);
        n.channel = bihuan_domain::Channel::InPerson;
        n.group = Some(GroupVisit {
            people,
            representatives: (0..reps).map(|i| format!("代表{i}")).collect(),
        });
        n
    };
    let refused = |w: &World, n| {
        Appeal::prepare_registration(n, &operator(), at(11, 2, 9), w.ctx())
            .err()
            .map(|e| e.message_zh())
            .unwrap_or_default()
    };
    assert!(refused(&w, group(30, 6)).contains("第二十条"));
    assert!(refused(&w, group(30, 0)).contains("第二十条"));
    assert!(refused(&w, group(1, 1)).contains("2人以上"));
    assert!(refused(&w, group(3, 4)).contains("不能多于"));
    let mut hotline = group(30, 2);
    hotline.kind = Kind::Complaint;
    assert!(refused(&w, hotline).contains("信访"));
    let (a, _) = w.register_with(group(30, 5), at(11, 2, 9));
    assert_eq!(a.group.as_ref().unwrap().representatives.len(), 5);
    // A reader without the right to personal data sees the representatives masked.
    use bihuan_domain::redact::Redact;
    let masked = a.redacted();
    assert!(masked
        .group
        .unwrap()
        .representatives
        .iter()
        .all(|n| n.contains('*')));
}

#[test]
fn art_19_a_repeat_petition_is_recognised_linked_and_counted() {
    use bihuan_domain::lifecycle::{repeated_petition, ForwardedFrom, RepeatOf};
    use bihuan_domain::metrics::{self, Period, Scope};
    use bihuan_domain::rollup::{self, Metric};
    let mut w = World::new();
    // Accepted on 11-03 (signed for) by HOUSING.
    let accepted = decided(&mut w);
    // Registered but never signed for: not accepted, so not what a later petition repeats.
    let unsigned = w.register(Kind::PetitionClaim, at(11, 4, 9));
    let mut declined = w.register(Kind::PetitionClaim, at(11, 4, 10));
    declined = w.step(&declined, dispatch(HOUSING), &dispatcher(), at(11, 4, 11));
    declined = w.step(
        &declined,
        Command::Decline {
            ground: DeclineGround::NotOurRemit,
            reason: "属于诉讼渠道".into(),
            route: "请向人民法院起诉".into(),
            prior: None,
        },
        &housing(),
        at(11, 4, 15),
    );
    let pool = [accepted.clone(), unsigned.clone(), declined.clone()];
    let again = new_appeal(Kind::PetitionClaim);
    let found = repeated_petition(&again, at(11, 20, 9), &pool).map(|a| a.id);
    assert_eq!(
        found,
        Some(accepted.id),
        "the accepted petition, not the others"
    );
    // Another person, another matter, a hotline call, or a year and a day later: no repeat.
    let mut other = again.clone();
    other.citizen.phone = Some(bihuan_domain::Phone::parse("13900000000").unwrap());
    assert!(repeated_petition(&other, at(11, 20, 9), &pool).is_none());
    let mut matter = again.clone();
    matter.category = Some(bihuan_domain::category::CategoryId(999));
    assert!(repeated_petition(&matter, at(11, 20, 9), &pool).is_none());
    let mut call = again.clone();
    call.kind = Kind::Complaint;
    assert!(repeated_petition(&call, at(11, 20, 9), &pool).is_none());
    let late = accepted.registered_at + chrono::Duration::days(366);
    assert!(repeated_petition(&again, late, &pool).is_none());
    // Before the earlier one was registered it repeats nothing.
    assert!(repeated_petition(&again, at(11, 1, 9), &pool).is_none());

    // Linked, it is counted once in its registration period for its lead unit, and so is an
    // over-level one; the facts agree with the formula.
    let mut linked = again.clone();
    linked.repeat_of = Some(RepeatOf {
        earlier: Some(accepted.number),
        elsewhere: None,
    });
    linked.forwarded_from = Some(ForwardedFrom::Province);
    let (r, _) = w.register_with(linked, at(11, 20, 9));
    let r = w.step(&r, dispatch(HOUSING), &dispatcher(), at(11, 20, 10));
    assert!(r.is_repeat() && r.is_over_level());
    let nov = Period::month(2026, 11).unwrap();
    let all = [accepted.clone(), unsigned, declined, r.clone()];
    assert_eq!(metrics::repeat_petitions(&all, Scope::All, &nov), 1);
    assert_eq!(
        metrics::repeat_petitions(&all, Scope::Lead(HOUSING), &nov),
        1
    );
    assert_eq!(
        metrics::repeat_petitions(&all, Scope::Lead(TRANSPORT), &nov),
        0
    );
    assert_eq!(metrics::over_level_petitions(&all, Scope::All, &nov), 1);
    let dec = Period::month(2026, 12).unwrap();
    assert_eq!(metrics::repeat_petitions(&all, Scope::All, &dec), 0);
    let facts: Vec<_> = all
        .iter()
        .flat_map(|a| rollup::facts(a, false, &w.cal))
        .filter(|f| matches!(f.metric, Metric::Repeat | Metric::OverLevel))
        .collect();
    assert_eq!(facts.len(), 2, "{facts:?}");
    assert!(facts
        .iter()
        .all(|f| f.unit == Some(HOUSING) && f.day == day(11, 20)));

    // Neither half of the link may be blank, nor may a hotline appeal carry one.
    let refused = |n: bihuan_domain::lifecycle::NewAppeal| {
        Appeal::prepare_registration(n, &operator(), at(11, 20, 9), w.ctx())
            .err()
            .map(|e| e.message_zh())
            .unwrap_or_default()
    };
    let mut empty = again.clone();
    empty.repeat_of = Some(RepeatOf {
        earlier: None,
        elsewhere: None,
    });
    assert!(refused(empty).contains("编号或受理机关"));
    let mut blank = again.clone();
    blank.repeat_of = Some(RepeatOf {
        earlier: None,
        elsewhere: Some("  ".into()),
    });
    assert!(refused(blank).contains("不能为空"));
    let mut hotline = again;
    hotline.kind = Kind::Complaint;
    hotline.repeat_of = Some(RepeatOf {
        earlier: None,
        elsewhere: Some("市信访局".into()),
    });
    assert!(refused(hotline).contains("信访"));
}

#[test]
fn art_23_a_misrouting_objection_is_written_within_5_working_days() {
    let mut w = World::new();
    // Dispatched on Monday 11-02: five working days run to Monday 11-09.
    let a = w.register(Kind::PetitionClaim, at(11, 2, 9));
    let a = w.step(&a, dispatch(HOUSING), &dispatcher(), at(11, 2, 10));
    let objection = Command::Return {
        reason: "该事项属于县人力资源和社会保障局职权范围".into(),
    };
    // Day 6 (Tuesday 11-10): the window has closed.
    let late = w.refuse(&a, objection.clone(), &housing(), at(11, 10, 9));
    assert_eq!(late, "return_window_passed");
    // Within it: the return is the written objection, a document of the case.
    let (r, records) = w.step_rec(&a, objection, &housing(), at(11, 9, 15));
    let doc = r
        .documents
        .iter()
        .find(|d| d.kind == DocumentKind::MisroutingObjection)
        .expect("the return issued the 交办异议书");
    let text = documents::text(
        &r,
        doc,
        &records[0].event,
        "张三",
        "县住房和城乡建设局",
        &w.cal,
    );
    let field = |name: &str| field_of(&text, name);
    assert_eq!(text.title, "交办异议书");
    assert!(field("理由").contains("人力资源和社会保障局"));
    assert!(field("依据").contains("第二十三条") && field("依据").contains("5个工作日"));
    assert!(field("异议").contains("不属于本机关职权范围"));
    // A hotline return issues no petition document.
    let h = w.register(Kind::Complaint, at(11, 2, 9));
    let h = w.step(&h, dispatch(HOUSING), &dispatcher(), at(11, 2, 10));
    let h = w.step(
        &h,
        Command::Return {
            reason: "不属于本单位".into(),
        },
        &housing(),
        at(11, 2, 15),
    );
    assert!(h.documents.is_empty());
}

#[test]
fn art_33_a_claim_settled_by_agreement_has_its_agreement_document() {
    use bihuan_domain::lifecycle::AgreementKind;
    let mut w = World::new();
    let a = w.register(Kind::PetitionClaim, at(11, 2, 9));
    let a = w.step(&a, dispatch(HOUSING), &dispatcher(), at(11, 2, 10));
    let agree = |agreement, parties: &str, terms: &str| Command::RecordAgreement {
        agreement,
        parties: parties.into(),
        terms: terms.into(),
    };
    let mediation = agree(
        AgreementKind::Mediation,
        "信访人张三；被申请人县某建筑公司",
        "建筑公司于2026年12月31日前一次性支付拖欠工资人民币两万元。",
    );
    // Signed for first; only the lead unit; not with blank parties.
    assert_eq!(
        w.refuse(&a, mediation.clone(), &housing(), at(11, 2, 11)),
        "not_signed"
    );
    let a = w.step(&a, Command::Sign { owner: None }, &housing(), at(11, 3, 9));
    assert_eq!(
        w.refuse(&a, mediation.clone(), &transport(), at(11, 3, 10)),
        "not_lead_unit"
    );
    assert_eq!(
        w.refuse(
            &a,
            agree(AgreementKind::Mediation, " ", "支付"),
            &housing(),
            at(11, 3, 10)
        ),
        "invalid_input"
    );
    let (a, records) = w.step_rec(&a, mediation, &housing(), at(11, 5, 15));
    let doc = a.documents.last().unwrap();
    assert_eq!(doc.kind, DocumentKind::MediationAgreement);
    let t = documents::text(
        &a,
        doc,
        &records[0].event,
        "张三",
        "县住房和城乡建设局",
        &w.cal,
    );
    let field = |name: &str| field_of(&t, name);
    assert_eq!(t.title, "调解协议书");
    assert!(field("当事人").contains("建筑公司"));
    assert!(field("协议内容").contains("两万元"));
    assert!(field("依据").contains("第三十三条"));
    // Still in progress: the opinion follows the agreement.
    assert_eq!(a.status, Status::InProgress);
    // Only 申诉求决: a suggestion petition has no parties to agree.
    let s = w.register(Kind::PetitionOpinion, at(11, 2, 9));
    let s = w.step(&s, dispatch(HOUSING), &dispatcher(), at(11, 2, 10));
    let s = w.step(&s, Command::Sign { owner: None }, &housing(), at(11, 3, 9));
    assert_eq!(
        w.refuse(
            &s,
            agree(AgreementKind::Settlement, "甲；乙", "和解"),
            &housing(),
            at(11, 3, 10)
        ),
        "invalid_input"
    );
}
