//! Every metric on a hand-built month whose answers are worked out by hand below.

mod common;

use bihuan_domain::appeal::Phone;
use bihuan_domain::category::CategoryId;
use bihuan_domain::lifecycle::{
    Appeal, Command, Rating, RedoCause, Reply, ReplyResult, ReturnVisit,
};
use bihuan_domain::metrics::{self, Period, Rate, Scope, ScoreWeights};
use bihuan_domain::org::UnitId;
use bihuan_domain::time::{format_local, local};
use bihuan_domain::Kind;
use common::*;

fn new_from(w: &mut World, kind: Kind, phone: &str, cat: u32, day: u32, hour: u32) -> Appeal {
    let mut n = new_appeal(kind);
    n.citizen.phone = Some(Phone::parse(phone).unwrap());
    n.category = Some(CategoryId(cat));
    w.register_with(n, nov(day, hour)).0
}

fn dispatch(lead: UnitId) -> Command {
    Command::Dispatch {
        lead,
        assisting: vec![],
        note: String::new(),
    }
}
fn sign() -> Command {
    Command::Sign { owner: None }
}
fn reply() -> Command {
    Command::Reply(Reply {
        result: ReplyResult::Resolved,
        reason: None,
        text: "已处理".into(),
        petition_outcome: None,
        attachments: vec![],
    })
}
fn visit(rating: Option<Rating>) -> Command {
    Command::ReturnVisit(ReturnVisit {
        contacted: rating.is_some(),
        resolved: rating.map(|r| r != Rating::Unsatisfied),
        rating,
        comment: String::new(),
    })
}
fn close() -> Command {
    Command::Close {
        note: "办结".into(),
    }
}

/// The month (all November 2026; the 2nd is a Monday):
///
/// | | story |
/// |---|---|
/// | A1 | P1/cat 7. Dispatched Mon 2nd 10:00 to housing, signed 11:00, replied Wed 4th 16:00, visited satisfied Thu 5th, closed. |
/// | A2 | P2/cat 7. Dispatched 2nd 10:00, signed Wed 4th 09:00 (due end of 3rd: late), replied Tue 10th 10:00 (due end of 9th: late), visited basically satisfied 11th, closed. |
/// | A3 | P3/cat 7. Dispatched Tue 3rd 10:00 to transport, returned, accepted and re-dispatched 14:00 to housing, signed 15:00, replied Thu 5th 10:00 (due 10th), visited unsatisfied Fri 6th 09:00, redo 10:00 (due 13th), replied Mon 9th, visited satisfied Tue 10th, closed. |
/// | A4 | P4/cat 7. Dispatched Wed 4th 10:00 to housing; nothing since (sign due 5th, reply due 11th). |
/// | A5 | P5/cat 8. A consultation answered at intake Thu 5th; the visit on the 6th reached nobody; closed. |
/// | A6 | P1/cat 7, registered Fri 20th: the same person and matter as A1, 15 days after A1 closed. |
/// | A7 | P2/cat 8, registered Sat 21st: the same person as A2, another matter. |
///
/// "Now" is Monday 23rd 12:00.
fn the_month() -> (World, Vec<Appeal>) {
    let mut w = World::new();
    let d = dispatcher();
    let h = housing();
    let v = visitor();

    let a1 = new_from(&mut w, Kind::Complaint, "13900000001", 7, 2, 9);
    let a1 = w.step(&a1, dispatch(HOUSING), &d, nov(2, 10));
    let a1 = w.step(&a1, sign(), &h, nov(2, 11));
    let a1 = w.step(&a1, reply(), &h, nov(4, 16));
    let a1 = w.step(&a1, visit(Some(Rating::Satisfied)), &v, nov(5, 9));
    let a1 = w.step(&a1, close(), &d, nov(5, 10));

    let a2 = new_from(&mut w, Kind::Complaint, "13900000002", 7, 2, 9);
    let a2 = w.step(&a2, dispatch(HOUSING), &d, nov(2, 10));
    let a2 = w.step(&a2, sign(), &h, nov(4, 9));
    let a2 = w.step(&a2, reply(), &h, nov(10, 10));
    let a2 = w.step(&a2, visit(Some(Rating::Basic)), &v, nov(11, 9));
    let a2 = w.step(&a2, close(), &d, nov(11, 10));

    let a3 = new_from(&mut w, Kind::Complaint, "13900000003", 7, 3, 9);
    let a3 = w.step(&a3, dispatch(TRANSPORT), &d, nov(3, 10));
    let a3 = w.step(
        &a3,
        Command::Return {
            reason: "不属于本单位".into(),
        },
        &transport(),
        nov(3, 11),
    );
    let a3 = w.step(
        &a3,
        Command::DecideReturn {
            accept: true,
            note: String::new(),
            redispatch: Some((HOUSING, vec![])),
        },
        &d,
        nov(3, 14),
    );
    let a3 = w.step(&a3, sign(), &h, nov(3, 15));
    let a3 = w.step(&a3, reply(), &h, nov(5, 10));
    let a3 = w.step(&a3, visit(Some(Rating::Unsatisfied)), &v, nov(6, 9));
    let a3 = w.step(
        &a3,
        Command::Redo {
            cause: RedoCause::Unsatisfied,
            reason: "群众不满意".into(),
        },
        &v,
        nov(6, 10),
    );
    let a3 = w.step(&a3, reply(), &h, nov(9, 10));
    let a3 = w.step(&a3, visit(Some(Rating::Satisfied)), &v, nov(10, 9));
    let a3 = w.step(&a3, close(), &d, nov(10, 10));

    let a4 = new_from(&mut w, Kind::Complaint, "13900000004", 7, 4, 9);
    let a4 = w.step(&a4, dispatch(HOUSING), &d, nov(4, 10));

    let a5 = new_from(&mut w, Kind::Consultation, "13900000005", 8, 5, 9);
    let a5 = w.step(
        &a5,
        Command::AnswerAtIntake {
            answer: "已当场解答".into(),
        },
        &operator(),
        nov(5, 9),
    );
    let a5 = w.step(&a5, visit(None), &v, nov(6, 9));
    let a5 = w.step(&a5, close(), &d, nov(6, 10));

    let a6 = new_from(&mut w, Kind::Complaint, "13900000001", 7, 20, 9);
    let a7 = new_from(&mut w, Kind::Complaint, "13900000002", 8, 21, 9);
    (w, vec![a1, a2, a3, a4, a5, a6, a7])
}

fn now() -> bihuan_domain::time::Instant {
    nov(23, 12)
}

fn november() -> Period {
    Period::month(2026, 11).unwrap()
}

#[test]
fn deadlines_of_the_month_are_as_worked_out() {
    let (_, a) = the_month();
    let due = |i: usize, r: usize| format_local(a[i].reply_rounds[r].due);
    assert_eq!(due(0, 0), "2026-11-09 23:59:59");
    assert_eq!(due(1, 0), "2026-11-09 23:59:59");
    assert_eq!(due(2, 0), "2026-11-10 23:59:59");
    assert_eq!(due(2, 1), "2026-11-13 23:59:59");
    assert_eq!(due(3, 0), "2026-11-11 23:59:59");
    assert_eq!(
        a[2].reply_rounds.len(),
        2,
        "the returned unit's round is gone"
    );
}

#[test]
fn timely_acceptance() {
    let (_, a) = the_month();
    // A1 on time, A2 late, A3's return left out and its second dispatch on time, A4 never signed
    // and past due: 2 of 4.
    assert_eq!(
        metrics::timely_acceptance(&a, Scope::All, &november(), now()),
        Rate::new(2, 4)
    );
    assert_eq!(
        metrics::timely_acceptance(&a, Scope::Lead(HOUSING), &november(), now()),
        Rate::new(2, 4)
    );
    assert_eq!(
        metrics::timely_acceptance(&a, Scope::Lead(TRANSPORT), &november(), now()),
        Rate::new(0, 0)
    );
    assert_eq!(Rate::new(0, 0).value(), None);
    // At noon on the 5th A4's signing deadline (end of the 5th) has not run out: A4 is not
    // yet judged, 2 of 3.
    assert_eq!(
        metrics::timely_acceptance(&a, Scope::All, &november(), nov(5, 12)),
        Rate::new(2, 3)
    );
}

#[test]
fn on_time_completion() {
    let (_, a) = the_month();
    // A1 met, A2 missed, A3 met both rounds, A4 past due unanswered: 3 of 5.
    assert_eq!(
        metrics::on_time_completion(&a, Scope::All, &november(), now()),
        Rate::new(3, 5)
    );
    // Before A4's deadline (11th) it is not yet counted: 3 of 4.
    assert_eq!(
        metrics::on_time_completion(&a, Scope::All, &november(), nov(11, 12)),
        Rate::new(3, 4)
    );
}

#[test]
fn closed_loop() {
    let (_, a) = the_month();
    // Replies in November: A1, A2, A3 (closed after a completed visit) and A5 (closed after a
    // visit that reached nobody): 3 of 4.
    assert_eq!(
        metrics::closed_loop(&a, Scope::All, &november()),
        Rate::new(3, 4)
    );
    assert_eq!(
        metrics::closed_loop(&a, Scope::Lead(HOUSING), &november()),
        Rate::new(3, 3)
    );
}

#[test]
fn one_shot_resolution() {
    let (_, a) = the_month();
    // Closed in November: A1 (repeated by A6 within 90 days), A2 (A7 is another matter), A3
    // (redone), A5: 2 of 4.
    assert_eq!(
        metrics::one_shot_resolution(&a, Scope::All, &november(), 90),
        Rate::new(2, 4)
    );
    // With a 10-day window A6 (15 days later) is no longer a repeat: 3 of 4.
    assert_eq!(
        metrics::one_shot_resolution(&a, Scope::All, &november(), 10),
        Rate::new(3, 4)
    );
}

#[test]
fn the_three_rates_and_the_composite_score() {
    let (_, a) = the_month();
    let c = metrics::visit_counts(&a, Scope::All, &november());
    // Current visits: A1 satisfied, A2 basic, A3 satisfied (after the redo), A5 not reached.
    assert_eq!(
        (c.visited, c.contacted, c.resolved, c.satisfied, c.basic),
        (4, 3, 3, 2, 1)
    );
    assert_eq!(c.response(), Some(0.75));
    assert_eq!(c.resolution(), Some(0.75));
    // (2 + 0.9 × 1) / 4 = 0.725.
    assert!((c.satisfaction(0.9).unwrap() - 0.725).abs() < 1e-12);
    // 100 × (0.1 × 0.75 + 0.5 × 0.75 + 0.4 × 0.725) = 74.
    let score = c.composite(&ScoreWeights::default()).unwrap();
    assert!((score - 74.0).abs() < 1e-9, "{score}");
    // Other weights: equal thirds, basic counted fully → 100 × (0.75 + 0.75 + 0.75) / 3 = 75.
    let w = ScoreWeights {
        response: 1.0 / 3.0,
        resolution: 1.0 / 3.0,
        satisfaction: 1.0 / 3.0,
        basic_weight: 1.0,
        ..ScoreWeights::default()
    };
    assert!(w.validate().is_ok());
    assert!((c.composite(&w).unwrap() - 75.0).abs() < 1e-9);
    let bad = ScoreWeights {
        response: 0.5,
        ..ScoreWeights::default()
    };
    assert!(bad.validate().is_err());
    assert_eq!(
        metrics::VisitCounts::default().composite(&ScoreWeights::default()),
        None
    );
}

#[test]
fn returns_redos_overdue_volume() {
    let (_, a) = the_month();
    let p = november();
    // First dispatched in November: A1–A4; A3 was returned: 1 of 4.
    assert_eq!(metrics::return_rate(&a, Scope::All, &p), Rate::new(1, 4));
    assert_eq!(
        metrics::return_rate(&a, Scope::Lead(TRANSPORT), &p),
        Rate::new(1, 1)
    );
    assert_eq!(
        metrics::return_rate(&a, Scope::Lead(HOUSING), &p),
        Rate::new(0, 4)
    );
    // First replies in November: A1, A2, A3, A5; A3 was redone: 1 of 4.
    assert_eq!(metrics::redo_rate(&a, Scope::All, &p), Rate::new(1, 4));
    // Overdue now: only A4. A6 (registered Friday) and A7 (registered Saturday) must both be
    // dispatched by the end of today, Monday; tomorrow all three are overdue.
    assert_eq!(metrics::overdue_count(&a, Scope::All, now()), 1);
    assert_eq!(metrics::overdue_count(&a, Scope::All, nov(24, 9)), 3);
    assert_eq!(metrics::volume(&a, &p), 7);
    assert_eq!(metrics::volume(&a, &Period::month(2026, 10).unwrap()), 0);
}

#[test]
fn average_handling_time_in_working_days() {
    let (w, a) = the_month();
    // A1: Mon 10:00 → Wed 16:00 = 14/24 + 1 + 16/24 = 2.25.
    // A2: Mon 2nd 10:00 → Tue 10th 10:00 = 14/24 + 5 + 10/24 = 6 (the weekend skipped).
    // A3: Tue 3rd 10:00 (first dispatch) → Thu 5th 10:00 = 14/24 + 1 + 10/24 = 2.
    // A5 was answered at intake and is left out. (2.25 + 6 + 2) / 3 = 3.41666…
    let avg = metrics::average_handling_days(&a, Scope::All, &november(), &w.cal)
        .unwrap()
        .unwrap();
    assert!((avg - 41.0 / 12.0).abs() < 1e-9, "{avg}");
    let none =
        metrics::average_handling_days(&a, Scope::All, &Period::month(2026, 10).unwrap(), &w.cal);
    assert_eq!(none.unwrap(), None);
}

#[test]
fn year_on_year_change() {
    // The seed: 210 petitions, down 49.5 % year on year, from 416.
    let c = metrics::change(210.0, 416.0).unwrap();
    assert!((c - (-0.495_192)).abs() < 1e-6);
    assert_eq!(metrics::change(5.0, 0.0), None);
    assert_eq!(metrics::change(0.0, 4.0), Some(-1.0));
}

#[test]
fn merged_duplicates_count_in_volume_only() {
    let (w, mut a) = the_month();
    let master = a[3].clone();
    let dup = a[6].clone();
    let merged = w.step(
        &dup,
        Command::Merge {
            into: bihuan_domain::lifecycle::MasterRef {
                id: master.id,
                number: master.number,
                status: master.status,
            },
        },
        &dispatcher(),
        nov(23, 9),
    );
    a[6] = merged;
    // Still a call in the volume, no longer overdue work of its own.
    assert_eq!(metrics::volume(&a, &november()), 7);
    assert_eq!(metrics::overdue_count(&a, Scope::All, nov(24, 9)), 2);
}

#[test]
fn periods() {
    let p = Period::assessment_month(2026, 11, 19).unwrap();
    assert_eq!(format_local(p.start), "2026-10-19 00:00:00");
    assert_eq!(format_local(p.end), "2026-11-19 00:00:00");
    assert!(p.contains(local(2026, 11, 18, 23, 59, 59).unwrap()));
    assert!(!p.contains(local(2026, 11, 19, 0, 0, 0).unwrap()));
    assert_eq!(
        Period::assessment_month(2026, 1, 19)
            .map(|p| format_local(p.start))
            .unwrap(),
        "2025-12-19 00:00:00"
    );
    assert!(Period::assessment_month(2026, 11, 30).is_none());
    assert_eq!(
        Period::assessment_month(2026, 11, 1),
        Period::month(2026, 11)
    );

    let q = Period::quarter(2026, 4).unwrap();
    assert_eq!(
        (format_local(q.start), format_local(q.end)),
        ("2026-10-01 00:00:00".into(), "2027-01-01 00:00:00".into())
    );
    assert!(Period::quarter(2026, 5).is_none());
    let h = Period::half(2026, 1).unwrap();
    assert_eq!(format_local(h.end), "2026-07-01 00:00:00");
    let y = Period::year(2026).unwrap();
    assert_eq!(format_local(y.start), "2026-01-01 00:00:00");

    // Period on period: March compares with February, a custom week with the week before.
    let m = Period::month(2026, 3).unwrap().previous();
    assert_eq!(m, Period::month(2026, 2).unwrap());
    let wk = Period::days(
        chrono::NaiveDate::from_ymd_opt(2026, 11, 16).unwrap(),
        chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap(),
    )
    .unwrap();
    assert_eq!(format_local(wk.previous().start), "2026-11-09 00:00:00");
    assert_eq!(
        Period::quarter(2026, 1).unwrap().previous(),
        Period::quarter(2025, 4).unwrap()
    );
    // Year on year.
    assert_eq!(
        Period::month(2026, 11).unwrap().year_earlier(),
        Period::month(2025, 11).unwrap()
    );
    assert!(Period::days(
        chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap(),
        chrono::NaiveDate::from_ymd_opt(2026, 11, 16).unwrap()
    )
    .is_none());
}

#[test]
fn a_running_period_is_compared_on_the_days_it_has_had() {
    let nov = Period::month(2026, 11).unwrap();
    let now = bihuan_domain::time::local(2026, 11, 2, 9, 0, 0).unwrap();
    assert_eq!(nov.days_begun(now), Some(2));
    assert_eq!(Period::month(2026, 10).unwrap().days_begun(now), None);
    let before = nov.previous().first_days(2);
    assert_eq!(before.start, Period::month(2026, 10).unwrap().start);
    assert_eq!(
        before.end,
        bihuan_domain::time::local(2026, 10, 3, 0, 0, 0).unwrap()
    );
    // Never past the period's own end: 31 days of February are February.
    let feb = Period::month(2026, 2).unwrap();
    assert_eq!(feb.first_days(31), feb);
    assert_eq!(
        nov.year_earlier().first_days(2).start,
        Period::month(2025, 11).unwrap().start
    );
}
