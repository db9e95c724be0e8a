//! Every transition of the closed loop, legal and illegal.

mod common;

use bihuan_domain::appeal::Commitment;
use bihuan_domain::lifecycle::{
    Appeal, Command, Event, MasterRef, PetitionOutcome, Rating, RedoCause, Reply, ReplyResult,
    ReturnVisit, Role, Status, SuperviseReason,
};
use bihuan_domain::policy::{DeadlineState, Limit};
use bihuan_domain::time::format_local;
use bihuan_domain::{AppealId, AppealNumber, Kind, Urgency};
use chrono::NaiveDate;
use common::*;

fn dispatch(lead: bihuan_domain::org::UnitId) -> Command {
    Command::Dispatch {
        lead,
        assisting: vec![],
        note: String::new(),
    }
}
fn sign() -> Command {
    Command::Sign { owner: None }
}
fn reply_resolved() -> Command {
    Command::Reply(Reply {
        result: ReplyResult::Resolved,
        reason: None,
        text: "已更换灯泡,路灯恢复照明。".into(),
        petition_outcome: None,
        attachments: vec![],
    })
}
fn visit(rating: Rating) -> Command {
    Command::ReturnVisit(ReturnVisit {
        contacted: true,
        resolved: Some(rating != Rating::Unsatisfied),
        rating: Some(rating),
        comment: String::new(),
    })
}
fn close(note: &str) -> Command {
    Command::Close { note: note.into() }
}
fn ret(reason: &str) -> Command {
    Command::Return {
        reason: reason.into(),
    }
}
fn comment() -> Command {
    Command::Comment {
        text: "群众来电催办".into(),
    }
}

/// The full form with the empty fields taken out: what the stored form must be.
fn pruned(a: &bihuan_domain::lifecycle::Appeal) -> serde_json::Value {
    fn empty(key: &str, v: &serde_json::Value) -> bool {
        use serde_json::Value::*;
        match v {
            // `category` is written even when there is none.
            Null => key != "category",
            Array(items) => items.is_empty(),
            Bool(b) => !b,
            Number(n) => {
                n.as_u64() == Some(0) && (key.ends_with("_count") || key == "extensions_granted")
            }
            _ => false,
        }
    }
    let mut v = serde_json::to_value(a).unwrap();
    let obj = v.as_object_mut().unwrap();
    obj.retain(|k, v| !empty(k, v));
    obj["deadlines"]
        .as_object_mut()
        .unwrap()
        .retain(|_, v| !v.is_null());
    v
}

#[test]
fn the_stored_form_leaves_out_empty_fields_and_reads_back_the_same() {
    let mut w = World::new();
    let a = w.register(Kind::Complaint, nov(2, 9));
    let stored = a.to_stored_json().unwrap();
    let full = serde_json::to_string(&a).unwrap();
    assert!(
        !stored.contains("\"lead\"") && !stored.contains("\"whistles\""),
        "{stored}"
    );
    assert!(!stored.contains("\"return_count\"") && !stored.contains("null,\"sign\""));
    assert!(full.contains("\"lead\":null") && full.contains("\"whistles\":[]"));
    assert!(
        stored.len() * 10 < full.len() * 7,
        "{} vs {}",
        stored.len(),
        full.len()
    );
    let back: bihuan_domain::lifecycle::Appeal = serde_json::from_str(&stored).unwrap();
    assert_eq!(back, a);
    let stored_value: serde_json::Value = serde_json::from_str(&stored).unwrap();
    assert_eq!(stored_value, pruned(&a));
    // The full form is still written after a stored one, and both read back along the loop.
    assert_eq!(serde_json::to_string(&a).unwrap(), full);
    let mut a = w.step(&a, dispatch(HOUSING), &dispatcher(), nov(2, 10));
    for (cmd, actor, at) in [
        (sign(), housing(), nov(2, 11)),
        (reply_resolved(), housing(), nov(4, 16)),
        (visit(Rating::Satisfied), visitor(), nov(5, 10)),
    ] {
        a = w.step(&a, cmd, &actor, at);
        let back: bihuan_domain::lifecycle::Appeal =
            serde_json::from_str(&a.to_stored_json().unwrap()).unwrap();
        assert_eq!(back, a);
        let stored: serde_json::Value = serde_json::from_str(&a.to_stored_json().unwrap()).unwrap();
        assert_eq!(
            stored,
            pruned(&a),
            "the stored form is the full one less its empty fields"
        );
        let full: bihuan_domain::lifecycle::Appeal =
            serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
        assert_eq!(full, a);
    }
    assert!(a.to_stored_json().unwrap().contains("\"lead\""));
}

#[test]
fn the_whole_loop_register_dispatch_sign_reply_visit_close() {
    let mut w = World::new();
    // Monday 2026-11-02 09:00.
    let a = w.register(Kind::Complaint, nov(2, 9));
    assert_eq!(a.status, Status::PendingDispatch);
    assert_eq!(a.version, 1);
    assert_eq!(a.number.to_string(), "2026-11-000001");
    // Dispatch within one working day: end of Tuesday.
    assert_eq!(
        format_local(a.deadlines.dispatch.unwrap()),
        "2026-11-03 23:59:59"
    );

    let a = w.step(&a, dispatch(HOUSING), &dispatcher(), nov(2, 10));
    assert_eq!(a.status, Status::Dispatched);
    assert_eq!(a.lead, Some(HOUSING));
    let d = &a.deadlines;
    assert_eq!(format_local(d.sign.unwrap()), "2026-11-03 23:59:59");
    assert_eq!(format_local(d.return_by.unwrap()), "2026-11-04 23:59:59");
    // Five working days from Monday: Monday 2026-11-09 (the weekend is skipped).
    assert_eq!(format_local(d.reply.unwrap()), "2026-11-09 23:59:59");

    let a = w.step(&a, sign(), &housing(), nov(2, 11));
    assert_eq!(a.status, Status::InProgress);
    assert_eq!(a.owner.as_ref().unwrap().user, housing().user);

    let a = w.step(
        &a,
        Command::Contact {
            note: "已电话联系群众,约定明日现场查看".into(),
        },
        &housing(),
        nov(2, 14),
    );
    assert_eq!(a.first_contact_at, Some(nov(2, 14)));
    let a = w.step(
        &a,
        Command::Commit {
            commitment: Commitment {
                what: "三个工作日内修复路灯".into(),
                by: NaiveDate::from_ymd_opt(2026, 11, 5).unwrap(),
                citizen_part: Some("配合现场查看".into()),
            },
        },
        &housing(),
        nov(2, 14),
    );
    assert!(a.commitment.is_some());

    let a = w.step(&a, reply_resolved(), &housing(), nov(4, 16));
    assert_eq!(a.status, Status::Replied);
    let a = w.step(&a, visit(Rating::Satisfied), &visitor(), nov(5, 10));
    assert_eq!(a.status, Status::Visited);
    let (a, recs) = w.step_rec(&a, close(""), &dispatcher(), nov(5, 11));
    assert_eq!(a.status, Status::Closed);
    assert_eq!(a.version, 8);
    assert_eq!(recs[0].event.name(), "closed");
    assert_eq!(a.reply_rounds.len(), 1);
    assert_eq!(a.reply_rounds[0].replied_at, Some(nov(4, 16)));
    assert_eq!(
        DeadlineState::at(
            a.dispatched_at.unwrap(),
            a.deadlines.reply.unwrap(),
            a.replied_at,
            nov(20, 0),
            80
        ),
        DeadlineState::Met
    );
}

#[test]
fn history_replays_to_the_same_state() {
    let mut w = World::new();
    let (a, mut history) = w.register_with(new_appeal(Kind::Help), nov(2, 9));
    let mut cur = a;
    type Step = (Command, fn() -> bihuan_domain::Actor, u32);
    let steps: Vec<Step> = vec![
        (dispatch(TOWN), dispatcher, 10),
        (sign(), town, 11),
        (
            Command::Whistle {
                units: vec![HOUSING, WATER],
                matter: "管网抢修需部门到场".into(),
            },
            town,
            12,
        ),
        (reply_resolved(), town, 15),
        (visit(Rating::Unsatisfied), visitor, 16),
    ];
    for (cmd, who, hour) in steps {
        let (next, recs) = w.step_rec(&cur, cmd, &who(), nov(3, hour));
        history.extend(recs);
        cur = next;
    }
    let replayed = Appeal::from_history(&history).unwrap();
    assert_eq!(replayed, cur);
    // Events survive JSON, as the store will keep them.
    let json = serde_json::to_string(&history).unwrap();
    let back: Vec<bihuan_domain::EventRecord> = serde_json::from_str(&json).unwrap();
    assert_eq!(Appeal::from_history(&back).unwrap(), cur);
    // A gap or a foreign first event is refused.
    assert!(Appeal::from_history(&history[1..]).is_err());
    let mut gap = history.clone();
    gap.remove(2);
    assert!(Appeal::from_history(&gap).is_err());
    assert!(Appeal::from_history(&[]).is_err());
}

#[test]
fn answer_at_intake_closes_a_consultation_on_the_spot() {
    let mut w = World::new();
    let a = w.register(Kind::Consultation, nov(2, 9));
    let a = w.step(
        &a,
        Command::AnswerAtIntake {
            answer: "社保卡补办可在县政务服务中心一楼办理。".into(),
        },
        &operator(),
        nov(2, 9),
    );
    assert_eq!(a.status, Status::Replied);
    assert!(a.answered_at_intake && a.lead.is_none());
    let a = w.step(&a, visit(Rating::Satisfied), &visitor(), nov(3, 9));
    let a = w.step(&a, close(""), &dispatcher(), nov(3, 10));
    assert_eq!(a.status, Status::Closed);

    // Only consultations can be answered on the spot; a redo has no unit to go to.
    let b = w.register(Kind::Complaint, nov(2, 9));
    let cmd = Command::AnswerAtIntake { answer: "x".into() };
    assert_eq!(w.refuse(&b, cmd, &operator(), nov(2, 9)), "invalid_input");
    let c = w.register(Kind::Consultation, nov(2, 9));
    let c = w.step(
        &c,
        Command::AnswerAtIntake {
            answer: "答复".into(),
        },
        &operator(),
        nov(2, 9),
    );
    let redo = Command::Redo {
        cause: RedoCause::ReplyRejected,
        reason: "答复不准确".into(),
    };
    assert_eq!(
        w.refuse(&c, redo, &dispatcher(), nov(2, 10)),
        "invalid_input"
    );
}

#[test]
fn a_misrouted_order_is_returned_and_redispatched() {
    let mut w = World::new();
    let a = w.register(Kind::Complaint, nov(2, 9));
    let a = w.step(&a, dispatch(TRANSPORT), &dispatcher(), nov(2, 10));
    // Only the lead unit returns, with a reason.
    assert_eq!(
        w.refuse(&a, ret("不属于本单位职责"), &housing(), nov(2, 11)),
        "not_lead_unit"
    );
    assert_eq!(
        w.refuse(&a, ret("  "), &transport(), nov(2, 11)),
        "invalid_input"
    );
    let a = w.step(&a, ret("路灯归住建局管理"), &transport(), nov(2, 11));
    assert_eq!(a.status, Status::Returned);
    assert_eq!(a.return_count, 1);
    // While the return waits, the unit cannot act.
    assert_eq!(
        w.refuse(&a, sign(), &transport(), nov(2, 12)),
        "illegal_transition"
    );
    // The centre accepts and re-dispatches in one step.
    let a = w.step(
        &a,
        Command::DecideReturn {
            accept: true,
            note: "同意,改派住建局".into(),
            redispatch: Some((HOUSING, vec![TRANSPORT])),
        },
        &dispatcher(),
        nov(2, 14),
    );
    assert_eq!(a.status, Status::Dispatched);
    assert_eq!(a.lead, Some(HOUSING));
    assert_eq!(a.assisting, vec![TRANSPORT]);
    assert_eq!(a.dispatch_rounds.len(), 2);
    assert!(a.dispatch_rounds[0].returned);
    // The first unit's reply round is withdrawn; only the new lead's round counts.
    assert_eq!(a.reply_rounds.len(), 1);
    assert_eq!(a.reply_rounds[0].unit, HOUSING);

    // Accepting without a re-dispatch puts it back in the queue.
    let b = w.register(Kind::Complaint, nov(2, 9));
    let b = w.step(&b, dispatch(TRANSPORT), &dispatcher(), nov(2, 10));
    let b = w.step(&b, ret("不属于本单位"), &transport(), nov(2, 11));
    let b = w.step(
        &b,
        Command::DecideReturn {
            accept: true,
            note: String::new(),
            redispatch: None,
        },
        &dispatcher(),
        nov(2, 12),
    );
    assert_eq!(b.status, Status::PendingDispatch);
    assert_eq!(b.lead, None);
    assert!(b.deadlines.reply.is_none());
    let b = w.step(&b, dispatch(HOUSING), &dispatcher(), nov(2, 13));
    assert_eq!(b.status, Status::Dispatched);
}

#[test]
fn a_refused_return_confirms_the_unit_which_cannot_return_again() {
    let mut w = World::new();
    let a = w.register(Kind::Complaint, nov(2, 9));
    let a = w.step(&a, dispatch(HOUSING), &dispatcher(), nov(2, 10));
    let a = w.step(&a, sign(), &housing(), nov(2, 10));
    let a = w.step(&a, ret("应由交通局办理"), &housing(), nov(2, 11));
    // Refusing needs a reason and cannot re-dispatch.
    let refuse_empty = Command::DecideReturn {
        accept: false,
        note: String::new(),
        redispatch: None,
    };
    assert_eq!(
        w.refuse(&a, refuse_empty, &dispatcher(), nov(2, 12)),
        "invalid_input"
    );
    let refuse_move = Command::DecideReturn {
        accept: false,
        note: "x".into(),
        redispatch: Some((TRANSPORT, vec![])),
    };
    assert_eq!(
        w.refuse(&a, refuse_move, &dispatcher(), nov(2, 12)),
        "invalid_input"
    );
    let a = w.step(
        &a,
        Command::DecideReturn {
            accept: false,
            note: "路灯维护属住建局职责,请继续办理".into(),
            redispatch: None,
        },
        &dispatcher(),
        nov(2, 12),
    );
    // Back where it was before the return (signed), the unit confirmed.
    assert_eq!(a.status, Status::InProgress);
    assert_eq!(a.confirmed_units, vec![HOUSING]);
    assert_eq!(
        w.refuse(&a, ret("再次申请"), &housing(), nov(2, 13)),
        "unit_confirmed"
    );
    // Units cannot decide returns.
    let b = w.register(Kind::Complaint, nov(2, 9));
    let b = w.step(&b, dispatch(HOUSING), &dispatcher(), nov(2, 10));
    let b = w.step(&b, ret("不属于本单位"), &housing(), nov(2, 10));
    let decide = Command::DecideReturn {
        accept: true,
        note: String::new(),
        redispatch: None,
    };
    assert_eq!(
        w.refuse(&b, decide, &housing_leader(), nov(2, 11)),
        "role_forbidden"
    );
}

#[test]
fn the_return_window_closes_after_two_working_days() {
    let mut w = World::new();
    // Friday 2026-11-06: the window runs to the end of Tuesday 2026-11-10.
    let a = w.register(Kind::Complaint, nov(6, 9));
    let a = w.step(&a, dispatch(HOUSING), &dispatcher(), nov(6, 10));
    assert_eq!(
        format_local(a.deadlines.return_by.unwrap()),
        "2026-11-10 23:59:59"
    );
    let late = w.refuse(&a, ret("不属于本单位"), &housing(), nov(11, 9));
    assert_eq!(late, "return_window_passed");
    let ok = w.step(&a, ret("不属于本单位"), &housing(), nov(10, 23));
    assert_eq!(ok.status, Status::Returned);
}

#[test]
fn extensions_are_requested_decided_and_capped() {
    let mut w = World::new();
    let a = w.register(Kind::Complaint, nov(2, 9));
    let a = w.step(&a, dispatch(HOUSING), &dispatcher(), nov(2, 10));
    let req = |n| Command::RequestExtension {
        limit: Limit::WorkingDays(n),
        reason: "需协调供电公司更换线路".into(),
    };
    // Before signing: not signed.
    assert_eq!(w.refuse(&a, req(3), &housing(), nov(2, 11)), "not_signed");
    let a = w.step(&a, sign(), &housing(), nov(2, 11));
    // Past the longest extension (10 working days from 2026-11-09) is refused.
    assert_eq!(
        w.refuse(&a, req(11), &housing(), nov(3, 9)),
        "extension_too_long"
    );
    assert_eq!(w.refuse(&a, req(0), &housing(), nov(3, 9)), "invalid_input");
    let a = w.step(&a, req(3), &housing(), nov(3, 9));
    assert_eq!(
        format_local(a.extension.as_ref().unwrap().proposed_due),
        "2026-11-12 23:59:59"
    );
    assert_eq!(
        w.refuse(&a, req(1), &housing(), nov(3, 10)),
        "extension_pending"
    );
    // A hotline extension is the centre's decision, not the unit leader's.
    let approve = Command::DecideExtension {
        approve: true,
        note: String::new(),
    };
    assert_eq!(
        w.refuse(&a, approve.clone(), &housing_leader(), nov(3, 10)),
        "role_forbidden"
    );
    let a = w.step(&a, approve.clone(), &dispatcher(), nov(3, 10));
    assert_eq!(
        format_local(a.deadlines.reply.unwrap()),
        "2026-11-12 23:59:59"
    );
    assert_eq!(a.reply_rounds[0].due, a.deadlines.reply.unwrap());
    assert_eq!(a.extensions_granted, 1);
    assert_eq!(
        w.refuse(&a, approve, &dispatcher(), nov(3, 11)),
        "no_extension_pending"
    );
    // The cap counts from the original deadline (11-09 + 10 working days = 11-23): 7 more
    // from 11-12 reaches exactly 11-23, 8 more passes it.
    assert_eq!(
        w.refuse(&a, req(8), &housing(), nov(3, 12)),
        "extension_too_long"
    );
    let a = w.step(&a, req(5), &housing(), nov(3, 12));
    // Refusing needs a reason.
    let refuse = |note: &str| Command::DecideExtension {
        approve: false,
        note: note.into(),
    };
    assert_eq!(
        w.refuse(&a, refuse(""), &dispatcher(), nov(3, 13)),
        "invalid_input"
    );
    let a = w.step(&a, refuse("理由不充分"), &dispatcher(), nov(3, 13));
    assert!(a.extension.is_none());
    assert_eq!(
        format_local(a.deadlines.reply.unwrap()),
        "2026-11-12 23:59:59"
    );
    // A reply withdraws a pending request.
    let a = w.step(&a, req(2), &housing(), nov(3, 14));
    let (a, recs) = w.step_rec(&a, reply_resolved(), &housing(), nov(3, 15));
    assert!(a.extension.is_none());
    assert!(matches!(
        recs[0].event,
        Event::Replied {
            extension_withdrawn: true,
            late: false,
            ..
        }
    ));
}

#[test]
fn petitions_run_on_the_petition_regulation() {
    let mut w = World::new();
    let a = w.register(Kind::PetitionClaim, nov(2, 9));
    assert_eq!(a.regime, bihuan_domain::Regime::Petition);
    // Assigned within 15 days: 11-17.
    assert_eq!(
        format_local(a.deadlines.dispatch.unwrap()),
        "2026-11-17 23:59:59"
    );
    let a = w.step(&a, dispatch(HOUSING), &dispatcher(), nov(2, 10));
    // The reply clock starts at acceptance (signing), not at dispatch.
    assert!(a.deadlines.reply.is_none());
    assert_eq!(
        format_local(a.deadlines.first_contact.unwrap()),
        "2026-11-17 23:59:59"
    );
    // Objection within 5 working days.
    assert_eq!(
        format_local(a.deadlines.return_by.unwrap()),
        "2026-11-09 23:59:59"
    );
    // 60 days from 11-03 run into 2027, whose notice is not loaded: signing is not refused;
    // the deadline is provisional (weekends and predicted holidays), the same date here.
    let provisional = w.step(&a, sign(), &housing(), nov(3, 9));
    assert_eq!(
        format_local(provisional.deadlines.reply.unwrap()),
        "2027-01-04 23:59:59"
    );
    assert!(w
        .ctx()
        .calendar
        .is_provisional_at(provisional.deadlines.reply.unwrap()));
    w.load_test_2027();
    let a = w.step(&a, sign(), &housing(), nov(3, 9));
    assert!(!w
        .ctx()
        .calendar
        .is_provisional_at(a.deadlines.reply.unwrap()));
    // 60 days from 11-03 end on Saturday 2027-01-02, so on Monday 01-04 (民法典 Art 203).
    assert_eq!(
        format_local(a.deadlines.reply.unwrap()),
        "2027-01-04 23:59:59"
    );
    // At most 30 days of extension.
    let req = |n| Command::RequestExtension {
        limit: Limit::CalendarDays(n),
        reason: "需委托鉴定".into(),
    };
    assert_eq!(
        w.refuse(&a, req(31), &housing(), nov(4, 9)),
        "extension_too_long"
    );
    let a = w.step(&a, req(30), &housing(), nov(4, 9));
    assert_eq!(
        format_local(a.extension.as_ref().unwrap().proposed_due),
        "2027-02-03 23:59:59"
    );
    // A reply without the petition outcome is refused.
    let bare = Command::Reply(Reply {
        result: ReplyResult::Resolved,
        reason: None,
        text: "经核查,诉求合理,已落实。".into(),
        petition_outcome: None,
        attachments: vec![],
    });
    assert_eq!(w.refuse(&a, bare, &housing(), nov(4, 9)), "invalid_input");
    let full = Command::Reply(Reply {
        result: ReplyResult::Resolved,
        reason: None,
        text: "经核查,诉求合理,已落实。".into(),
        petition_outcome: Some(PetitionOutcome::Support),
        attachments: vec!["处理意见书.pdf".into()],
    });
    let a = w.step(&a, full, &housing(), nov(4, 9));
    assert_eq!(a.status, Status::Replied);
}

#[test]
fn petition_extension_is_approved_by_the_unit_head_within_thirty_days() {
    let mut w = World::new();
    w.load_test_2027();
    let a = w.register(Kind::PetitionOpinion, nov(2, 9));
    let a = w.step(&a, dispatch(HOUSING), &dispatcher(), nov(2, 10));
    let a = w.step(&a, sign(), &housing(), nov(2, 11));
    let a = w.step(
        &a,
        Command::RequestExtension {
            limit: Limit::CalendarDays(10),
            reason: "需调查取证".into(),
        },
        &housing(),
        nov(3, 9),
    );
    // Another unit's leader cannot approve.
    let other_leader = actor(
        31,
        Role::UnitLeader,
        TRANSPORT,
        bihuan_domain::org::UnitKind::Department,
    );
    let approve = Command::DecideExtension {
        approve: true,
        note: "同意".into(),
    };
    assert_eq!(
        w.refuse(&a, approve.clone(), &other_leader, nov(3, 10)),
        "not_lead_unit"
    );
    let a = w.step(&a, approve, &housing_leader(), nov(3, 10));
    assert_eq!(a.extensions_granted, 1);
}

#[test]
fn urgent_matters_are_counted_in_hours() {
    let mut w = World::new();
    let mut new = new_appeal(Kind::Help);
    new.urgency = Urgency::Critical;
    let (a, _) = w.register_with(new, nov(7, 22)); // a Saturday night
    assert_eq!(
        format_local(a.deadlines.dispatch.unwrap()),
        "2026-11-07 23:00:00"
    );
    let a = w.step(&a, dispatch(WATER), &dispatcher(), nov(7, 22));
    assert_eq!(
        format_local(a.deadlines.sign.unwrap()),
        "2026-11-07 23:00:00"
    );
    assert_eq!(
        format_local(a.deadlines.reply.unwrap()),
        "2026-11-08 10:00:00"
    );
    let mut new = new_appeal(Kind::Help);
    new.urgency = Urgency::Urgent;
    let (b, _) = w.register_with(new, nov(7, 22));
    let b = w.step(&b, dispatch(WATER), &dispatcher(), nov(7, 22));
    assert_eq!(
        format_local(b.deadlines.reply.unwrap()),
        "2026-11-08 22:00:00"
    );
}

#[test]
fn a_whistle_calls_units_which_report_in() {
    let mut w = World::new();
    let a = w.register(Kind::Help, nov(2, 9));
    let a = w.step(&a, dispatch(TOWN), &dispatcher(), nov(2, 9));
    let whistle = |units| Command::Whistle {
        units,
        matter: "东门路积水需住建、水务到场".into(),
    };
    assert_eq!(
        w.refuse(&a, whistle(vec![HOUSING]), &town(), nov(2, 10)),
        "not_signed"
    );
    let a = w.step(&a, sign(), &town(), nov(2, 10));
    assert_eq!(
        w.refuse(&a, whistle(vec![]), &town(), nov(2, 11)),
        "invalid_input"
    );
    assert_eq!(
        w.refuse(&a, whistle(vec![TOWN]), &town(), nov(2, 11)),
        "invalid_input"
    );
    assert_eq!(
        w.refuse(&a, whistle(vec![HOUSING, HOUSING]), &town(), nov(2, 11)),
        "invalid_input"
    );
    let a = w.step(&a, whistle(vec![HOUSING, WATER]), &town(), nov(2, 11));
    assert_eq!(a.whistles.len(), 1);
    // Report-in within one working day: end of Tuesday.
    assert_eq!(format_local(a.whistles[0].report_by), "2026-11-03 23:59:59");
    let report = |no| Command::ReportIn {
        whistle: no,
        note: "已派人到场".into(),
    };
    let (a, recs) = w.step_rec(&a, report(1), &housing(), nov(2, 15));
    assert!(matches!(
        recs[0].event,
        Event::ReportedIn { late: false, .. }
    ));
    assert_eq!(
        w.refuse(&a, report(1), &housing(), nov(2, 16)),
        "already_reported"
    );
    assert_eq!(
        w.refuse(&a, report(1), &transport(), nov(2, 16)),
        "not_whistle_target"
    );
    assert_eq!(
        w.refuse(&a, report(2), &water(), nov(2, 16)),
        "unknown_whistle"
    );
    let (a, recs) = w.step_rec(&a, report(1), &water(), nov(4, 9));
    assert!(matches!(
        recs[0].event,
        Event::ReportedIn { late: true, .. }
    ));
    assert!(a.whistles[0]
        .targets
        .iter()
        .all(|t| t.reported_at.is_some()));

    // A department leading an appeal cannot blow the whistle.
    let b = w.register(Kind::Help, nov(2, 9));
    let b = w.step(&b, dispatch(HOUSING), &dispatcher(), nov(2, 9));
    let b = w.step(&b, sign(), &housing(), nov(2, 10));
    assert_eq!(
        w.refuse(&b, whistle(vec![WATER]), &housing(), nov(2, 11)),
        "not_a_township"
    );
}

#[test]
fn an_unsatisfied_rating_sends_the_appeal_back_for_redo() {
    let mut w = World::new();
    let a = w.register(Kind::Complaint, nov(2, 9));
    let a = w.step(&a, dispatch(HOUSING), &dispatcher(), nov(2, 9));
    let a = w.step(&a, sign(), &housing(), nov(2, 10));
    let a = w.step(&a, reply_resolved(), &housing(), nov(3, 10));
    let redo = |cause| Command::Redo {
        cause,
        reason: "群众反映路灯仍不亮".into(),
    };
    // Not yet visited: no redo for dissatisfaction.
    assert_eq!(
        w.refuse(&a, redo(RedoCause::Unsatisfied), &visitor(), nov(3, 11)),
        "not_unsatisfied"
    );
    let a = w.step(&a, visit(Rating::Unsatisfied), &visitor(), nov(4, 10));
    // Closing over an unsatisfied rating needs a reason.
    assert_eq!(
        w.refuse(&a, close(""), &dispatcher(), nov(4, 11)),
        "invalid_input"
    );
    let a = w.step(&a, redo(RedoCause::Unsatisfied), &visitor(), nov(4, 11));
    assert_eq!(a.status, Status::InProgress);
    assert_eq!(a.redo_count, 1);
    assert!(a.visit.is_none());
    // The redo gives a fresh five working days: Wednesday 11-04 → Wednesday 11-11.
    assert_eq!(
        format_local(a.deadlines.reply.unwrap()),
        "2026-11-11 23:59:59"
    );
    assert_eq!(a.reply_rounds.len(), 2);
    let a = w.step(&a, reply_resolved(), &housing(), nov(5, 10));
    let a = w.step(&a, visit(Rating::Satisfied), &visitor(), nov(6, 10));
    // A satisfied visit gives no ground for a dissatisfaction redo.
    assert_eq!(
        w.refuse(&a, redo(RedoCause::Unsatisfied), &visitor(), nov(6, 11)),
        "not_unsatisfied"
    );
    let a = w.step(&a, close(""), &dispatcher(), nov(6, 11));
    assert_eq!(a.status, Status::Closed);
    assert_eq!(a.first_replied_at, Some(nov(3, 10)));
    assert_eq!(a.replied_at, Some(nov(5, 10)));
}

#[test]
fn the_centre_rejects_a_reply_and_orders_a_redo() {
    let mut w = World::new();
    let a = w.register(Kind::Complaint, nov(2, 9));
    let a = w.step(&a, dispatch(HOUSING), &dispatcher(), nov(2, 9));
    let a = w.step(&a, sign(), &housing(), nov(2, 10));
    let a = w.step(&a, reply_resolved(), &housing(), nov(3, 10));
    let redo = Command::Redo {
        cause: RedoCause::ReplyRejected,
        reason: "答复未说明处理结果".into(),
    };
    let a = w.step(&a, redo, &dispatcher(), nov(3, 11));
    assert_eq!(a.status, Status::InProgress);
    // Return visit staff cannot be skipped by a handler: closing is the centre's.
    let a = w.step(&a, reply_resolved(), &housing(), nov(4, 10));
    assert_eq!(
        w.refuse(&a, close("x"), &housing(), nov(4, 11)),
        "role_forbidden"
    );
    // Closing without a visit needs the reason.
    assert_eq!(
        w.refuse(&a, close(""), &dispatcher(), nov(4, 11)),
        "invalid_input"
    );
    let a = w.step(&a, close("群众要求不回访"), &dispatcher(), nov(4, 11));
    assert!(a.closed_without_visit);
}

#[test]
fn return_visits_must_be_complete_or_not_contacted() {
    let mut w = World::new();
    let a = w.register(Kind::Complaint, nov(2, 9));
    let a = w.step(&a, dispatch(HOUSING), &dispatcher(), nov(2, 9));
    let a = w.step(&a, sign(), &housing(), nov(2, 10));
    let a = w.step(&a, reply_resolved(), &housing(), nov(3, 10));
    let v = |contacted, resolved, rating| {
        Command::ReturnVisit(ReturnVisit {
            contacted,
            resolved,
            rating,
            comment: String::new(),
        })
    };
    for bad in [
        v(true, None, Some(Rating::Satisfied)),
        v(true, Some(true), None),
        v(false, Some(true), None),
        v(false, None, Some(Rating::Basic)),
    ] {
        assert_eq!(
            w.refuse(&a, bad, &visitor(), nov(3, 11)),
            "visit_incomplete"
        );
    }
    let a = w.step(&a, v(false, None, None), &visitor(), nov(3, 11));
    assert_eq!(a.status, Status::Visited);
    assert!(!a.visit.as_ref().unwrap().contacted);
}

#[test]
fn duplicates_merge_into_an_open_master() {
    let mut w = World::new();
    let master = w.register(Kind::Complaint, nov(2, 9));
    let dup = w.register(Kind::Complaint, nov(2, 10));
    let into = |a: &Appeal| MasterRef {
        id: a.id,
        number: a.number,
        status: a.status,
    };
    assert_eq!(
        w.refuse(
            &dup,
            Command::Merge { into: into(&dup) },
            &dispatcher(),
            nov(2, 11)
        ),
        "merge_into_self"
    );
    let mut closed_master = into(&master);
    closed_master.status = Status::Closed;
    assert_eq!(
        w.refuse(
            &dup,
            Command::Merge {
                into: closed_master
            },
            &dispatcher(),
            nov(2, 11)
        ),
        "master_not_open"
    );
    let merged = w.step(
        &dup,
        Command::Merge {
            into: into(&master),
        },
        &dispatcher(),
        nov(2, 11),
    );
    assert_eq!(merged.status, Status::Merged);
    assert_eq!(merged.merged_into, Some((master.id, master.number)));
    let master = w.step(
        &master,
        Command::LinkDuplicate {
            duplicate: merged.id,
            number: merged.number,
        },
        &dispatcher(),
        nov(2, 11),
    );
    assert_eq!(master.duplicates, vec![(merged.id, merged.number)]);
    // A merged appeal takes comments only.
    assert_eq!(
        w.refuse(&merged, dispatch(HOUSING), &dispatcher(), nov(2, 12)),
        "appeal_merged"
    );
    let merged = w.step(&merged, comment(), &operator(), nov(2, 12));
    assert_eq!(merged.status, Status::Merged);
}

#[test]
fn supervision_when_overdue_or_by_a_leaders_order() {
    let mut w = World::new();
    let a = w.register(Kind::Complaint, nov(2, 9));
    let a = w.step(&a, dispatch(HOUSING), &dispatcher(), nov(2, 9));
    let overdue = Command::Supervise {
        reason: SuperviseReason::Overdue,
        note: String::new(),
    };
    assert_eq!(
        w.refuse(&a, overdue.clone(), &system(), nov(3, 9)),
        "not_overdue"
    );
    // Not signed by the end of Tuesday: overdue on Wednesday.
    let a = w.step(&a, overdue.clone(), &system(), nov(4, 9));
    assert_eq!(a.supervision_count, 1);
    // The scanner running again changes nothing more.
    assert_eq!(
        w.refuse(&a, overdue.clone(), &system(), nov(4, 10)),
        "already_supervised"
    );
    // A leader's order needs words, and any time.
    let order = |note: &str| Command::Supervise {
        reason: SuperviseReason::LeaderOrder,
        note: note.into(),
    };
    assert_eq!(
        w.refuse(&a, order(""), &leader(), nov(4, 10)),
        "invalid_input"
    );
    let a = w.step(
        &a,
        order("请住建局今日内签收并联系群众"),
        &leader(),
        nov(4, 10),
    );
    assert_eq!(a.supervision_count, 2);
    assert_eq!(
        w.refuse(&a, order("x"), &housing(), nov(4, 10)),
        "role_forbidden"
    );
    // Once the reply deadline also runs out, that is a new overdue deadline to supervise.
    let a = w.step(&a, overdue.clone(), &system(), nov(10, 9));
    assert_eq!(a.supervision_count, 3);
    assert_eq!(a.overdue_deadlines(nov(10, 9)).len(), 3);
}

#[test]
fn wrong_unit_wrong_role_and_out_of_order() {
    let mut w = World::new();
    let a = w.register(Kind::Complaint, nov(2, 9));
    // Handlers do not dispatch; operators do not sign.
    assert_eq!(
        w.refuse(&a, dispatch(HOUSING), &housing(), nov(2, 9)),
        "role_forbidden"
    );
    let a = w.step(&a, dispatch(HOUSING), &dispatcher(), nov(2, 9));
    assert_eq!(
        w.refuse(&a, sign(), &operator(), nov(2, 10)),
        "role_forbidden"
    );
    assert_eq!(
        w.refuse(&a, sign(), &transport(), nov(2, 10)),
        "not_lead_unit"
    );
    // A reply before signing.
    assert_eq!(
        w.refuse(&a, reply_resolved(), &housing(), nov(2, 10)),
        "not_signed"
    );
    // Another unit replies.
    assert_eq!(
        w.refuse(&a, reply_resolved(), &transport(), nov(2, 10)),
        "not_lead_unit"
    );
    let a = w.step(&a, sign(), &housing(), nov(2, 10));
    assert_eq!(
        w.refuse(&a, sign(), &housing(), nov(2, 10)),
        "already_signed"
    );
    assert_eq!(
        w.refuse(&a, reply_resolved(), &transport(), nov(2, 10)),
        "not_lead_unit"
    );
    // A result short of resolved needs a reason.
    let partial = Command::Reply(Reply {
        result: ReplyResult::PartlyResolved,
        reason: None,
        text: "已部分修复".into(),
        petition_outcome: None,
        attachments: vec![],
    });
    assert_eq!(
        w.refuse(&a, partial, &housing(), nov(2, 11)),
        "invalid_input"
    );
    let cannot = Command::Reply(Reply {
        result: ReplyResult::Unresolvable,
        reason: Some("该路段属高速公路管理处,已告知群众".into()),
        text: "无法解决,已解释".into(),
        petition_outcome: None,
        attachments: vec![],
    });
    // A step dated before the last one is refused.
    assert_eq!(
        w.refuse(&a, cannot.clone(), &housing(), nov(2, 8)),
        "time_before_last_step"
    );
    let a = w.step(&a, cannot, &housing(), nov(2, 11));
    // A closed appeal cannot be dispatched again.
    let a = w.step(&a, visit(Rating::Basic), &visitor(), nov(3, 9));
    let a = w.step(&a, close(""), &dispatcher(), nov(3, 9));
    assert_eq!(
        w.refuse(&a, dispatch(TRANSPORT), &dispatcher(), nov(3, 10)),
        "appeal_closed"
    );
    let a = w.step(&a, comment(), &leader(), nov(3, 10));
    assert_eq!(a.status, Status::Closed);
}

#[test]
fn a_stale_version_is_a_conflict() {
    let mut w = World::new();
    let a = w.register(Kind::Complaint, nov(2, 9));
    let e = a
        .handle(
            &dispatch(HOUSING),
            &dispatcher(),
            nov(2, 9),
            Some(0),
            w.ctx(),
        )
        .unwrap_err();
    assert_eq!(e.code(), "version_conflict");
    assert_eq!(
        e,
        bihuan_domain::DomainError::VersionConflict {
            expected: 0,
            current: 1
        }
    );
    assert!(e.message_zh().contains("刷新"));
    // Messages name fields as the forms label them, in Chinese.
    let unresolved = Command::Reply(Reply {
        result: ReplyResult::Unresolvable,
        reason: None,
        text: "无法处理".into(),
        petition_outcome: None,
        attachments: vec![],
    });
    let signed = w.step(
        &w.step(&a, dispatch(HOUSING), &dispatcher(), nov(2, 9)),
        sign(),
        &housing(),
        nov(2, 10),
    );
    let refused = signed
        .handle(&unresolved, &housing(), nov(2, 11), None, w.ctx())
        .unwrap_err();
    assert_eq!(refused.message_zh(), "原因：未完全解决的，须说明原因");
    let (b, recs) = a
        .handle(
            &dispatch(HOUSING),
            &dispatcher(),
            nov(2, 9),
            Some(1),
            w.ctx(),
        )
        .unwrap();
    assert_eq!((b.version, recs[0].version), (2, 2));
}

#[test]
fn intake_is_validated() {
    let w = World::new();
    let reg = |new, who: &bihuan_domain::Actor| {
        Appeal::register(
            AppealId(99),
            AppealNumber::new(2026, 11, 99).unwrap(),
            new,
            who,
            nov(2, 9),
            w.ctx(),
        )
        .map(|_| ())
        .map_err(|e| e.code())
    };
    let mut empty = new_appeal(Kind::Help);
    empty.content = "  ".into();
    assert_eq!(reg(empty, &operator()), Err("invalid_input"));
    let mut long = new_appeal(Kind::Help);
    long.content = "长".repeat(10_001);
    assert_eq!(reg(long, &operator()), Err("invalid_input"));
    let mut control = new_appeal(Kind::Help);
    control.title = "路灯\u{0007}".into();
    assert_eq!(reg(control, &operator()), Err("invalid_input"));
    let mut bad_place = new_appeal(Kind::Help);
    bad_place.place.coordinates = Some((0.0, 100.0));
    assert_eq!(reg(bad_place, &operator()), Err("invalid_input"));
    assert_eq!(
        reg(new_appeal(Kind::Help), &housing()),
        Err("role_forbidden")
    );
    assert_eq!(reg(new_appeal(Kind::Help), &grid_member()), Ok(()));
    // Multi-line content with tabs is fine.
    let mut ok = new_appeal(Kind::Help);
    ok.content = "第一行\n第二行\t附注".into();
    assert_eq!(reg(ok, &operator()), Ok(()));
    // A registration in the year after the newest notice gets provisional deadlines; one
    // beyond the provisional years fails with the calendar's code.
    let r = Appeal::register(
        AppealId(100),
        AppealNumber::new(2027, 1, 1).unwrap(),
        new_appeal(Kind::Help),
        &operator(),
        bihuan_domain::time::local(2027, 1, 4, 9, 0, 0).unwrap(),
        w.ctx(),
    );
    let (a, _) = r.unwrap();
    assert!(w
        .ctx()
        .calendar
        .is_provisional_at(a.deadlines.dispatch.unwrap()));
    let r = Appeal::register(
        AppealId(101),
        AppealNumber::new(2029, 1, 1).unwrap(),
        new_appeal(Kind::Help),
        &operator(),
        bihuan_domain::time::local(2029, 1, 4, 9, 0, 0).unwrap(),
        w.ctx(),
    );
    assert_eq!(r.unwrap_err().code(), "calendar_year_not_loaded");
}

#[test]
fn commands_and_events_have_stable_json() {
    let cmd: Command = serde_json::from_str(
        r#"{"action": "dispatch", "lead": 10, "assisting": [11], "note": "请办理"}"#,
    )
    .unwrap();
    assert_eq!(
        cmd,
        Command::Dispatch {
            lead: HOUSING,
            assisting: vec![TRANSPORT],
            note: "请办理".into()
        }
    );
    let cmd: Command = serde_json::from_str(
        r#"{"action": "reply", "result": "resolved", "text": "已处理", "reason": null, "petition_outcome": null}"#,
    )
    .unwrap();
    assert_eq!(cmd.name(), "reply");
    assert!(serde_json::from_str::<Command>(r#"{"action": "fly"}"#).is_err());
    let e = Event::Commented { text: "x".into() };
    assert_eq!(
        serde_json::to_string(&e).unwrap(),
        r#"{"type":"commented","text":"x"}"#
    );
}

/// Builds one appeal in each status, with the township as lead so that every unit command has
/// a valid actor.
fn appeal_in(w: &mut World, status: Status) -> Appeal {
    let a = w.register(Kind::Consultation, nov(2, 9));
    let t = nov(2, 9);
    let dispatched = || w.step(&a, dispatch(TOWN), &dispatcher(), t);
    match status {
        Status::PendingDispatch => a,
        Status::Dispatched => dispatched(),
        Status::Returned => w.step(&dispatched(), ret("不属于本镇"), &town(), t),
        Status::InProgress => w.step(&dispatched(), sign(), &town(), t),
        Status::Replied => {
            let s = w.step(&dispatched(), sign(), &town(), t);
            w.step(&s, reply_resolved(), &town(), t)
        }
        Status::Visited => {
            let s = w.step(&dispatched(), sign(), &town(), t);
            let r = w.step(&s, reply_resolved(), &town(), t);
            w.step(&r, visit(Rating::Satisfied), &visitor(), t)
        }
        Status::Closed => {
            let s = w.step(&dispatched(), sign(), &town(), t);
            let r = w.step(&s, reply_resolved(), &town(), t);
            let v = w.step(&r, visit(Rating::Satisfied), &visitor(), t);
            w.step(&v, close(""), &dispatcher(), t)
        }
        Status::Merged => {
            let master = w.register(Kind::Consultation, t);
            w.step(
                &a,
                Command::Merge {
                    into: MasterRef {
                        id: master.id,
                        number: master.number,
                        status: master.status,
                    },
                },
                &dispatcher(),
                t,
            )
        }
    }
}

/// The full matrix: every command, with an actor entitled to it, against every status. A
/// command is accepted exactly in the statuses the table lists.
#[test]
fn every_command_in_every_status() {
    use Status::*;
    let mut w = World::new();
    let t = nov(3, 9);
    let master = MasterRef {
        id: AppealId(10_000),
        number: AppealNumber::new(2026, 11, 10_000).unwrap(),
        status: PendingDispatch,
    };
    let open = [
        PendingDispatch,
        Dispatched,
        Returned,
        InProgress,
        Replied,
        Visited,
    ];
    let table: Vec<(Command, bihuan_domain::Actor, Vec<Status>)> = vec![
        (
            Command::AnswerAtIntake {
                answer: "答复".into(),
            },
            operator(),
            vec![PendingDispatch],
        ),
        (dispatch(HOUSING), dispatcher(), vec![PendingDispatch]),
        (sign(), town(), vec![Dispatched]),
        (
            Command::SetOwner {
                owner: person(&town()),
            },
            dispatcher(),
            vec![InProgress, Replied, Visited],
        ),
        (
            Command::Commit {
                commitment: Commitment {
                    what: "一周内答复".into(),
                    by: NaiveDate::from_ymd_opt(2026, 11, 10).unwrap(),
                    citizen_part: None,
                },
            },
            town(),
            vec![InProgress],
        ),
        (
            Command::Contact {
                note: "已联系".into(),
            },
            town(),
            vec![InProgress],
        ),
        (ret("不属于本镇"), town(), vec![Dispatched, InProgress]),
        (
            Command::DecideReturn {
                accept: true,
                note: String::new(),
                redispatch: None,
            },
            dispatcher(),
            vec![Returned],
        ),
        (
            Command::RequestExtension {
                limit: Limit::WorkingDays(2),
                reason: "需现场勘查".into(),
            },
            town(),
            vec![InProgress],
        ),
        (
            Command::DecideExtension {
                approve: true,
                note: String::new(),
            },
            dispatcher(),
            vec![], // needs a pending request: covered by its own test
        ),
        (
            Command::Whistle {
                units: vec![HOUSING],
                matter: "需部门到场".into(),
            },
            town(),
            vec![InProgress],
        ),
        (
            Command::ReportIn {
                whistle: 1,
                note: String::new(),
            },
            housing(),
            vec![], // needs a whistle: covered by its own test
        ),
        (reply_resolved(), town(), vec![InProgress]),
        (visit(Rating::Satisfied), visitor(), vec![Replied]),
        (close("群众不需回访"), dispatcher(), vec![Replied, Visited]),
        (
            Command::Redo {
                cause: RedoCause::ReplyRejected,
                reason: "答复不完整".into(),
            },
            dispatcher(),
            vec![Replied, Visited],
        ),
        (
            Command::Merge {
                into: master.clone(),
            },
            dispatcher(),
            open.to_vec(),
        ),
        (
            Command::LinkDuplicate {
                duplicate: AppealId(10_001),
                number: AppealNumber::new(2026, 11, 10_001).unwrap(),
            },
            dispatcher(),
            open.to_vec(),
        ),
        (
            Command::Supervise {
                reason: SuperviseReason::LeaderOrder,
                note: "请加快办理".into(),
            },
            leader(),
            open.to_vec(),
        ),
        (comment(), operator(), Status::ALL.to_vec()),
    ];
    let mut checked = 0;
    for status in Status::ALL {
        let a = appeal_in(&mut w, *status);
        assert_eq!(a.status, *status);
        for (cmd, who, allowed) in &table {
            let result = a.handle(cmd, who, t, Some(a.version), w.ctx());
            let ok = allowed.contains(status);
            match (&result, ok) {
                (Ok(_), true) => {}
                (Err(e), false) => {
                    // Terminal states say so; others name the rule broken.
                    let code = e.code();
                    let expected: &[&str] = match status {
                        Closed => &["appeal_closed"],
                        Merged => &["appeal_merged"],
                        _ => &[
                            "illegal_transition",
                            "not_signed",
                            "already_signed",
                            "no_extension_pending",
                            "unknown_whistle",
                            "no_report_due",
                            "not_unsatisfied",
                        ],
                    };
                    assert!(
                        expected.contains(&code),
                        "{} in {status:?}: {code}",
                        cmd.name()
                    );
                }
                (Ok(_), false) => panic!("{} accepted in {status:?}", cmd.name()),
                (Err(e), true) => panic!("{} refused in {status:?}: {e}", cmd.name()),
            }
            checked += 1;
        }
    }
    assert_eq!(checked, table.len() * Status::ALL.len());
    // Every command the domain has is in the table.
    assert_eq!(table.len(), 20);
    // Eleven roles: the employer (就业之家) is entitled to no appeal command.
    assert!(Role::ALL.len() == 11);
}

#[test]
fn the_next_running_deadline_colours_the_appeal() {
    let mut w = World::new();
    let a = w.register(Kind::Complaint, nov(2, 9));
    // Waiting for dispatch: due end of Tuesday; yellow after 80 % of the time since 09:00 Monday.
    let (start, due) = a.next_deadline().unwrap();
    assert_eq!(
        (start, format_local(due)),
        (nov(2, 9), "2026-11-03 23:59:59".to_string())
    );
    assert_eq!(a.deadline_state(nov(2, 12)), Some(DeadlineState::Running));
    assert_eq!(a.deadline_state(nov(3, 20)), Some(DeadlineState::DueSoon));
    assert_eq!(a.deadline_state(nov(4, 0)), Some(DeadlineState::Overdue));
    assert!(a.due_soon_at().unwrap() > nov(3, 9) && a.due_soon_at().unwrap() < nov(3, 20));
    let a = w.step(&a, dispatch(HOUSING), &dispatcher(), nov(2, 10));
    let names: Vec<_> = a.running_deadlines().iter().map(|d| d.0).collect();
    assert_eq!(names, ["sign", "first_contact", "reply"]);
    let a = w.step(&a, sign(), &housing(), nov(2, 11));
    let a = w.step(
        &a,
        Command::Contact {
            note: "已联系".into(),
        },
        &housing(),
        nov(2, 12),
    );
    let names: Vec<_> = a.running_deadlines().iter().map(|d| d.0).collect();
    assert_eq!(names, ["reply"]);
    let a = w.step(&a, reply_resolved(), &housing(), nov(3, 9));
    assert!(a.next_deadline().is_none());
    assert_eq!(a.deadline_state(nov(30, 9)), None);
}

#[test]
fn the_search_text_holds_what_people_wrote_and_nothing_else() {
    let mut w = World::new();
    let (a, mut history) = w.register_with(common::new_appeal(Kind::Complaint), nov(2, 9));
    let mut a = a;
    for (cmd, who, at) in [
        (dispatch(HOUSING), dispatcher(), nov(2, 10)),
        (sign(), housing(), nov(2, 11)),
        (comment(), supervisor(), nov(2, 12)),
        (reply_resolved(), housing(), nov(3, 9)),
    ] {
        let (next, recs) = w.step_rec(&a, cmd, &who, at);
        history.extend(recs);
        a = next;
    }
    let text = a.search_text(&history);
    assert!(
        text.contains("路灯不亮") && text.contains("东门路12号"),
        "{text}"
    );
    assert!(text.contains("群众来电催办"), "the comment: {text}");
    assert!(text.contains("路灯恢复照明"), "the reply: {text}");
    // No event tags, codes, dates, numbers or names.
    for absent in [
        "commented",
        "replied",
        "resolved",
        "2026",
        "李四",
        "139",
        "用户",
    ] {
        assert!(!text.contains(absent), "{absent} in {text}");
    }
}

#[test]
fn assisting_units_give_opinions_by_their_own_deadline() {
    use bihuan_domain::metrics::{self, Period, Scope};
    let mut w = World::new();
    let a = w.register(Kind::Help, nov(2, 9));
    let with_help = Command::Dispatch {
        lead: TOWN,
        assisting: vec![HOUSING, WATER],
        note: String::new(),
    };
    let a = w.step(&a, with_help, &dispatcher(), nov(2, 9));
    // Three working days from Monday morning: the end of Thursday, before the 5-day reply.
    assert_eq!(a.assists.len(), 2);
    let due = a.assists[0].due;
    assert_eq!(format_local(due), "2026-11-05 23:59:59");
    let (what, _, mine) = a.deadline_for(HOUSING).unwrap();
    assert_eq!((what, mine), ("assist", due));
    // The lead's own deadline is its signing, and the appeal is coloured by the lead's clocks.
    assert_eq!(a.deadline_for(TOWN).unwrap().0, "sign");
    assert!(a.running_deadlines().iter().all(|(w, _, _)| *w != "assist"));
    let opinion = |t: &str| Command::AssistOpinion { opinion: t.into() };
    assert_eq!(
        w.refuse(&a, opinion("意见"), &transport(), nov(2, 10)),
        "not_assisting_unit"
    );
    assert_eq!(
        w.refuse(&a, opinion("意见"), &town(), nov(2, 10)),
        "not_assisting_unit"
    );
    assert_eq!(
        w.refuse(&a, opinion("  "), &housing(), nov(2, 10)),
        "invalid_input"
    );
    // An opinion can come before the lead signs.
    let (a, recs) = w.step_rec(
        &a,
        opinion("本局已核查该路段管网,建议属地牵头,本局派员配合。"),
        &housing(),
        nov(3, 10),
    );
    assert!(matches!(
        recs[0].event,
        Event::AssistOpinionGiven { late: false, .. }
    ));
    assert_eq!(
        w.refuse(&a, opinion("再补充"), &housing(), nov(3, 11)),
        "assist_opinion_given"
    );
    assert!(a.deadline_for(HOUSING).is_none());
    let a = w.step(&a, sign(), &town(), nov(3, 12));
    let a = w.step(
        &a,
        Command::Contact {
            note: "已联系".into(),
        },
        &town(),
        nov(3, 13),
    );
    // Water's opinion runs out: supervised like any deadline, without counting as the lead's
    // overdue.
    assert!(a.overdue_deadlines(nov(6, 9)).is_empty());
    assert_eq!(a.supervisable_overdue(nov(6, 9)), vec![due]);
    assert!(a.next_unsupervised_deadline().unwrap() <= due);
    let (a, recs) = w.step_rec(
        &a,
        Command::Supervise {
            reason: SuperviseReason::Overdue,
            note: String::new(),
        },
        &supervisor(),
        nov(6, 9),
    );
    assert!(matches!(
        recs[0].event,
        Event::Supervised {
            deadline: Some(d),
            ..
        } if d == due
    ));
    assert!(a.next_unsupervised_deadline().unwrap() > due);
    let november = Period::month(2026, 11).unwrap();
    let rate = |a: &Appeal, u, now| metrics::assist_on_time([a], Scope::Lead(u), &november, now);
    assert_eq!(rate(&a, HOUSING, nov(6, 9)), metrics::Rate::new(1, 1));
    assert_eq!(rate(&a, WATER, nov(6, 9)), metrics::Rate::new(0, 1));
    assert_eq!(rate(&a, WATER, nov(4, 9)), metrics::Rate::new(0, 0));
    // A late opinion is still taken, and marked late.
    let (a, recs) = w.step_rec(&a, opinion("同意属地处置意见。"), &water(), nov(6, 10));
    assert!(matches!(
        recs[0].event,
        Event::AssistOpinionGiven { late: true, .. }
    ));
    let a = w.step(&a, reply_resolved(), &town(), nov(6, 11));
    assert!(a.current_assists().all(|t| t.opinion.is_some()));

    // Redispatched after a return, the assisting unit is asked again, at the new dispatch.
    let b = w.register(Kind::Help, nov(2, 9));
    let b = w.step(
        &b,
        Command::Dispatch {
            lead: HOUSING,
            assisting: vec![WATER],
            note: String::new(),
        },
        &dispatcher(),
        nov(2, 9),
    );
    let b = w.step(&b, ret("属地事项"), &housing(), nov(2, 10));
    let b = w.step(
        &b,
        Command::DecideReturn {
            accept: true,
            note: String::new(),
            redispatch: Some((TOWN, vec![WATER])),
        },
        &dispatcher(),
        nov(2, 11),
    );
    assert_eq!(b.assisting, vec![WATER]);
    assert_eq!(b.assists.len(), 1, "the lapsed request is gone");
    assert_eq!(b.assists[0].asked_at, nov(2, 11));
    // A lead that replies before an opinion is due no longer waits for it; the request lapses.
    let b = w.step(&b, sign(), &town(), nov(2, 12));
    let b = w.step(&b, reply_resolved(), &town(), nov(2, 13));
    assert!(b.assists.is_empty());
    assert_eq!(
        w.refuse(&b, opinion("迟到的意见"), &water(), nov(2, 14)),
        "illegal_transition"
    );
}

/// When a year's notice is loaded, the provisional deadlines in it are computed again: working
/// days keep their count, calendar days their last day (moved off a new rest day), and nothing
/// moves into the time before the notice was loaded (issue 17, item 1).
#[test]
fn provisional_deadlines_are_recomputed_when_the_notice_is_loaded() {
    use bihuan_domain::time::local;
    let mut w = World::new();
    let at = |m, d, h| local(2026, m, d, h, 0, 0).unwrap();
    // A hotline appeal dispatched on the last working day of 2026: 5 working days to reply,
    // provisionally 01-04 … 01-08 (01-01 元旦 predicted), so due 2027-01-08.
    let hotline = w.register(Kind::Help, at(12, 30, 9));
    let hotline = w.step(&hotline, dispatch(HOUSING), &dispatcher(), at(12, 31, 9));
    assert_eq!(
        format_local(hotline.deadlines.reply.unwrap()),
        "2027-01-08 23:59:59"
    );
    // A petition signed on 2 December: 60 calendar days end on Sunday 2027-01-31, so 02-01.
    let petition = w.register(Kind::PetitionClaim, at(12, 1, 9));
    let petition = w.step(&petition, dispatch(HOUSING), &dispatcher(), at(12, 1, 10));
    let petition = w.step(&petition, sign(), &housing(), at(12, 2, 9));
    assert_eq!(
        format_local(petition.deadlines.reply.unwrap()),
        "2027-02-01 23:59:59"
    );
    // A test notice (not the official one): 01-04 a bridging rest day, Saturday 01-09 a make-up
    // working day, 02-01 a rest day.
    let old = w.cal.clone();
    w.cal
        .load_json(
            r#"{"year": 2027, "days": [
                {"name": "元旦", "date": "2027-01-01", "isOffDay": true},
                {"name": "元旦", "date": "2027-01-04", "isOffDay": true},
                {"name": "元旦", "date": "2027-01-09", "isOffDay": false},
                {"name": "春节", "date": "2027-02-01", "isOffDay": true}]}"#,
        )
        .unwrap();
    let loaded = at(12, 31, 15);
    let changes = hotline.recomputed_deadlines(&old, &w.cal, loaded);
    let reply: Vec<_> = changes.iter().filter(|c| c.deadline == "reply").collect();
    // Five working days from 12-31: 01-05, 06, 07, 08, (09 made a working day) → 01-09.
    assert_eq!(reply.len(), 1, "{changes:?}");
    assert_eq!(format_local(reply[0].after), "2027-01-09 23:59:59");
    let hotline = w.step(
        &hotline,
        Command::RecomputeDeadlines {
            year: 2027,
            changes: changes.clone(),
        },
        &system(),
        loaded,
    );
    assert_eq!(
        format_local(hotline.deadlines.reply.unwrap()),
        "2027-01-09 23:59:59"
    );
    assert_eq!(
        hotline.reply_rounds.last().unwrap().due,
        hotline.deadlines.reply.unwrap()
    );
    // Nothing more to move on the same calendar; a person cannot issue the command.
    assert!(hotline
        .recomputed_deadlines(&old, &w.cal, loaded)
        .iter()
        .all(|c| c.deadline != "reply"));
    let again = Command::RecomputeDeadlines {
        year: 2027,
        changes,
    };
    assert_eq!(
        w.refuse(&hotline, again.clone(), &dispatcher(), loaded),
        "role_forbidden"
    );
    assert_eq!(
        w.refuse(&hotline, again, &system(), loaded),
        "invalid_input"
    );

    // The petition's last day 02-01 became a rest day: 02-02.
    let changes = petition.recomputed_deadlines(&old, &w.cal, loaded);
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(format_local(changes[0].after), "2027-02-02 23:59:59");

    // Earlier, but not into the past: a notice that makes Saturday 01-02 a working day moves
    // the hotline reply to 01-07 — loaded on 01-07 it is due that evening; loaded on 01-08, it
    // stays on 01-08.
    let mut w2 = World::new();
    let a = w2.register(Kind::Help, at(12, 30, 9));
    let a = w2.step(&a, dispatch(HOUSING), &dispatcher(), at(12, 31, 9));
    let old = w2.cal.clone();
    w2.cal
        .load_json(
            r#"{"year": 2027, "days": [
                {"name": "元旦", "date": "2027-01-01", "isOffDay": true},
                {"name": "元旦", "date": "2027-01-02", "isOffDay": false}]}"#,
        )
        .unwrap();
    let on = |d| local(2027, 1, d, 15, 0, 0).unwrap();
    let reply_after = |t| {
        a.recomputed_deadlines(&old, &w2.cal, t)
            .into_iter()
            .find(|c| c.deadline == "reply")
            .map(|c| format_local(c.after))
    };
    assert_eq!(reply_after(on(5)).as_deref(), Some("2027-01-07 23:59:59"));
    assert_eq!(reply_after(on(7)).as_deref(), Some("2027-01-07 23:59:59"));
    assert_eq!(
        reply_after(on(8)),
        None,
        "already past on the provisional calendar: kept"
    );
}

/// A petition's notices (信访工作条例 Arts 23, 32, 34, 35): issued with the acceptance, the
/// extension and the reply; each carries the regulation's fields; the receipt date is recorded
/// once, not before the notice nor in the future; the 复查 window counts 30 days from it.
#[test]
fn a_petition_issues_its_notices_and_records_their_receipt() {
    use bihuan_domain::documents;
    let mut w = World::new();
    let (a, _) = w.register_with(new_appeal(Kind::PetitionClaim), nov(2, 9));
    let a = w.step(&a, dispatch(HOUSING), &dispatcher(), nov(2, 10));
    assert!(a.documents.is_empty());
    let (a, signed) = w.step_rec(&a, sign(), &housing(), nov(3, 9));
    assert_eq!(a.documents.len(), 1);
    let acceptance = a.documents[0].clone();
    assert_eq!(
        acceptance.kind,
        bihuan_domain::lifecycle::DocumentKind::Acceptance
    );
    let t = documents::text(
        &a,
        &acceptance,
        &signed[0].event,
        "李某",
        "县住房和城乡建设局",
        &w.cal,
    );
    assert_eq!(t.title, "受理告知书");
    let field = |t: &documents::DocumentText, name: &str| {
        t.fields
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no field {name}: {t:?}"))
    };
    assert!(field(&t, "依据").contains("第二十三条"));
    assert!(field(&t, "办理期限").contains("2027-01-04"), "{t:?}");
    assert!(field(&t, "信访请求").contains("路灯"));
    // Receipt: not before issue, not in the future, once.
    let receipt = |d: u32| Command::RecordReceipt {
        document: acceptance.version,
        received_on: NaiveDate::from_ymd_opt(2026, 11, d).unwrap(),
    };
    assert_eq!(
        w.refuse(&a, receipt(2), &housing(), nov(4, 9)),
        "invalid_input"
    );
    assert_eq!(
        w.refuse(&a, receipt(5), &housing(), nov(4, 9)),
        "invalid_input"
    );
    // Another unit's handler cannot record it; the lead unit (and the centre) can.
    assert_eq!(
        w.refuse(&a, receipt(4), &transport(), nov(4, 9)),
        "not_lead_unit"
    );
    let a = w.step(&a, receipt(4), &housing(), nov(4, 9));
    assert_eq!(
        a.documents[0].received_on,
        NaiveDate::from_ymd_opt(2026, 11, 4)
    );
    assert_eq!(
        w.refuse(&a, receipt(4), &housing(), nov(4, 10)),
        "invalid_input"
    );
    // The reply issues the 意见书; its 复查 window counts from the recorded receipt.
    let reply = Command::Reply(Reply {
        result: ReplyResult::PartlyResolved,
        reason: Some("涉及规划调整，需分步实施".into()),
        text: "经现场核查，东门路路灯线路老化，已更换主线，支线纳入明年改造计划。".into(),
        petition_outcome: Some(PetitionOutcome::Explain),
        attachments: vec![],
    });
    let (a, replied) = w.step_rec(&a, reply, &housing(), nov(10, 9));
    let opinion = a.documents.last().unwrap().clone();
    assert_eq!(
        opinion.kind,
        bihuan_domain::lifecycle::DocumentKind::Opinion
    );
    let t = documents::text(
        &a,
        &opinion,
        &replied[0].event,
        "李某",
        "县住房和城乡建设局",
        &w.cal,
    );
    assert_eq!(t.title, "信访处理意见书");
    assert!(field(&t, "处理意见").starts_with("解释说明"));
    assert!(field(&t, "事实和理由").contains("涉及规划调整"));
    assert!(field(&t, "复查途径和期限").contains("第三十五条"));
    assert!(field(&t, "复查途径和期限").contains("送达日期登记后"));
    let got = NaiveDate::from_ymd_opt(2026, 11, 12).unwrap();
    let a = w.step(
        &a,
        Command::RecordReceipt {
            document: opinion.version,
            received_on: got,
        },
        &housing(),
        nov(13, 9),
    );
    let t = documents::text(
        &a,
        a.documents.last().unwrap(),
        &replied[0].event,
        "李某",
        "县住房和城乡建设局",
        &w.cal,
    );
    // 30 days from 11-12 (the day itself not counted) end on 12-12, a Saturday: so 12-14.
    assert!(
        field(&t, "复查途径和期限").contains("2026-12-14 前"),
        "{t:?}"
    );
    // A hotline appeal issues no notices.
    let h = w.register(Kind::Help, nov(2, 9));
    let h = w.step(&h, dispatch(HOUSING), &dispatcher(), nov(2, 10));
    let h = w.step(&h, sign(), &housing(), nov(2, 11));
    assert!(h.documents.is_empty());
    assert_eq!(
        w.refuse(
            &h,
            Command::RecordReceipt {
                document: 3,
                received_on: got
            },
            &housing(),
            nov(13, 9)
        ),
        "invalid_input"
    );
}

/// 检举控告 (信访工作条例 Art 30): the accused unit never receives the matter — not as lead, not
/// as assisting unit, not by a redirect, not by a whistle; and only an accusation names one.
#[test]
fn an_accusation_never_goes_to_the_accused_unit() {
    let mut w = World::new();
    let mut new = new_appeal(Kind::PetitionAccusation);
    new.accused_units = vec![HOUSING];
    let (a, _) = w.register_with(new, nov(2, 9));
    assert_eq!(a.accused_units, vec![HOUSING]);
    assert_eq!(
        w.refuse(&a, dispatch(HOUSING), &dispatcher(), nov(2, 10)),
        "invalid_input"
    );
    let with_assist = Command::Dispatch {
        lead: TOWN,
        assisting: vec![HOUSING],
        note: String::new(),
    };
    assert_eq!(
        w.refuse(&a, with_assist, &dispatcher(), nov(2, 10)),
        "invalid_input"
    );
    let a = w.step(&a, dispatch(TOWN), &dispatcher(), nov(2, 10));
    let a = w.step(&a, sign(), &town(), nov(2, 11));
    let whistle = |units| Command::Whistle {
        units,
        matter: "需相关部门到场核实".into(),
    };
    assert_eq!(
        w.refuse(&a, whistle(vec![HOUSING]), &town(), nov(2, 12)),
        "invalid_input"
    );
    let a = w.step(&a, whistle(vec![WATER]), &town(), nov(2, 12));
    assert!(a.whistles[0].targets.iter().all(|t| t.unit != HOUSING));
    // A return accepted and redirected to the accused unit is refused too.
    let a = w.step(
        &a,
        Command::Return {
            reason: "不属本镇职责".into(),
        },
        &town(),
        nov(2, 13),
    );
    let redirect = Command::DecideReturn {
        accept: true,
        note: "改派".into(),
        redispatch: Some((HOUSING, vec![])),
    };
    assert_eq!(
        w.refuse(&a, redirect, &dispatcher(), nov(2, 14)),
        "invalid_input"
    );
    // Only an accusation names accused units.
    let mut wrong = new_appeal(Kind::Complaint);
    wrong.accused_units = vec![HOUSING];
    let r = Appeal::register(
        AppealId(90),
        AppealNumber::new(2026, 11, 90).unwrap(),
        wrong,
        &operator(),
        nov(2, 9),
        w.ctx(),
    );
    assert_eq!(r.unwrap_err().code(), "invalid_input");
}
