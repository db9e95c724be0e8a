//! The guard is exact, and histories fold back to the state.
//!
//! Random legal walks through the loop, each step taken by a random actor. At every step, for
//! every actor and every action: [`Appeal::available_actions`] lists the action if and only if
//! some payload of it is accepted. (A listed action that no payload can make succeed would be a
//! form the console offers in vain; an accepted action not listed would be one it hides.) After
//! the walk, the history folds back to the state reached, and the stored form reads back to it.

mod common;

use bihuan_domain::appeal::{Commitment, Person};
use bihuan_domain::lifecycle::{
    Action, Actor, Appeal, Command, DeclineGround, EventRecord, MasterRef, PetitionOutcome, Rating,
    RedoCause, Reply, ReplyResult, ReturnVisit, ReviewRequest, Role, Status, SuperviseReason,
};
use bihuan_domain::org::UnitKind;
use bihuan_domain::policy::Limit;
use bihuan_domain::time::{local_date, Instant};
use bihuan_domain::{AppealId, AppealNumber, Kind, UserId};
use common::*;
use proptest::prelude::*;

fn actors() -> Vec<Actor> {
    vec![
        operator(),
        dispatcher(),
        visitor(),
        supervisor(),
        leader(),
        admin(),
        system(),
        housing(),
        housing_leader(),
        transport(),
        water(),
        town(),
        actor(22, Role::UnitLeader, TOWN, UnitKind::Township),
        grid_member(),
    ]
}

/// Payloads worth trying for an action: between them they cover every way it can succeed.
fn candidates(action: Action, a: &Appeal, actor: &Actor, at: Instant) -> Vec<Command> {
    let note = || "已核实情况".to_string();
    match action {
        Action::AnswerAtIntake => vec![Command::AnswerAtIntake {
            answer: "已当场解答相关政策。".into(),
        }],
        Action::Dispatch => vec![
            Command::Dispatch {
                lead: HOUSING,
                assisting: vec![],
                note: String::new(),
            },
            Command::Dispatch {
                lead: TOWN,
                assisting: vec![WATER],
                note: String::new(),
            },
        ],
        Action::Sign => vec![Command::Sign { owner: None }],
        Action::SetOwner => vec![Command::SetOwner {
            owner: Person {
                user: UserId(99),
                name: "王五".into(),
                unit: a.lead.unwrap_or(actor.unit),
            },
        }],
        Action::Commit => vec![Command::Commit {
            commitment: Commitment {
                what: "三个工作日内修复".into(),
                by: local_date(at) + chrono::Duration::days(3),
                citizen_part: None,
            },
        }],
        Action::Contact => vec![Command::Contact { note: note() }],
        Action::Return => vec![Command::Return {
            reason: "不属于本单位职责".into(),
        }],
        Action::DecideReturn => [true, false]
            .map(|accept| Command::DecideReturn {
                accept,
                note: note(),
                redispatch: None,
            })
            .to_vec(),
        Action::RequestExtension => [Limit::WorkingDays(1), Limit::Hours(1)]
            .map(|limit| Command::RequestExtension {
                limit,
                reason: "需现场勘验".into(),
            })
            .to_vec(),
        Action::DecideExtension => [true, false]
            .map(|approve| Command::DecideExtension {
                approve,
                note: note(),
            })
            .to_vec(),
        Action::Whistle => [HOUSING, TRANSPORT]
            .map(|u| Command::Whistle {
                units: vec![u],
                matter: "需联合执法".into(),
            })
            .to_vec(),
        Action::ReportIn => a
            .whistles
            .iter()
            .map(|w| Command::ReportIn {
                whistle: w.no,
                note: String::new(),
            })
            .collect(),
        Action::AssistOpinion => vec![Command::AssistOpinion {
            opinion: "本单位配合处置。".into(),
        }],
        Action::Reply => vec![Command::Reply(Reply {
            result: ReplyResult::Resolved,
            reason: None,
            text: "已处理完毕。".into(),
            petition_outcome: Some(PetitionOutcome::Support),
            attachments: vec![],
        })],
        Action::ReturnVisit => vec![
            Command::ReturnVisit(ReturnVisit {
                contacted: true,
                resolved: Some(true),
                rating: Some(Rating::Satisfied),
                comment: String::new(),
            }),
            Command::ReturnVisit(ReturnVisit {
                contacted: true,
                resolved: Some(false),
                rating: Some(Rating::Unsatisfied),
                comment: String::new(),
            }),
        ],
        Action::Close => vec![Command::Close {
            note: "群众同意办结".into(),
        }],
        Action::Redo => [RedoCause::ReplyRejected, RedoCause::Unsatisfied]
            .map(|cause| Command::Redo {
                cause,
                reason: "答复未解决问题".into(),
            })
            .to_vec(),
        Action::Merge => vec![Command::Merge {
            into: MasterRef {
                id: AppealId(9_999),
                number: AppealNumber::new(2026, 11, 9_999).unwrap(),
                status: Status::InProgress,
            },
        }],
        Action::LinkDuplicate => vec![Command::LinkDuplicate {
            duplicate: AppealId(9_998),
            number: AppealNumber::new(2026, 11, 9_998).unwrap(),
        }],
        Action::Supervise => [SuperviseReason::LeaderOrder, SuperviseReason::Overdue]
            .map(|reason| Command::Supervise {
                reason,
                note: "请加快办理".into(),
            })
            .to_vec(),
        Action::Comment => vec![Command::Comment {
            text: "群众来电催办".into(),
        }],
        // The receipt, today, of each notice not yet received.
        Action::RecordReceipt => a
            .documents
            .iter()
            .filter(|d| d.received_on.is_none())
            .map(|d| Command::RecordReceipt {
                document: d.version,
                received_on: bihuan_domain::time::local_date(at),
            })
            .collect(),
        Action::Decline => vec![
            Command::Decline {
                ground: DeclineGround::NotOurRemit,
                reason: "该事项属于司法机关职权范围".into(),
                route: "请向县人民法院提出".into(),
                prior: None,
            },
            Command::Decline {
                ground: DeclineGround::FinalAfterReview,
                reason: "同一事实和理由已经复核终结".into(),
                route: "不再受理".into(),
                prior: Some(AppealNumber::new(2026, 10, 1).unwrap()),
            },
        ],
        Action::RecordAgreement => vec![Command::RecordAgreement {
            agreement: bihuan_domain::lifecycle::AgreementKind::Mediation,
            parties: "信访人李四；被申请人某物业公司".into(),
            terms: "物业公司于30日内退还多收的物业费".into(),
        }],
        Action::StartHearing => vec![Command::StartHearing {
            reason: "事实争议较大".into(),
        }],
        Action::EndHearing => vec![Command::EndHearing {
            note: String::new(),
        }],
        // Not a command: checked through `prepare_review` in the walk.
        Action::RequestReview => vec![],
        // A notice moving the running deadline that runs out first by a day.
        Action::RecomputeDeadlines => a
            .running_deadlines()
            .first()
            .map(|(name, _, due)| Command::RecomputeDeadlines {
                year: 2027,
                changes: vec![bihuan_domain::lifecycle::DeadlineChange {
                    deadline: name.to_string(),
                    before: *due,
                    after: *due + chrono::Duration::days(1),
                }],
            })
            .into_iter()
            .collect(),
    }
}

/// Walks one appeal: `choices` picks the gap before each step and the step among those accepted.
fn walk(kind: Kind, choices: &[u32]) {
    let mut w = World::new();
    w.load_test_2027();
    let start = nov(2, 9);
    let (mut a, mut history) = w.register_with(new_appeal(kind), start);
    let mut at = start;
    let actors = actors();
    let mut steps = 0;
    for &c in choices {
        at += chrono::Duration::minutes(i64::from(c % (36 * 60)) + 1);
        let mut accepted: Vec<(Actor, Command)> = Vec::new();
        for actor in &actors {
            let offered = a.available_actions(actor, at, w.ctx());
            for action in Action::ALL.iter().copied().filter(|x| !x.is_internal()) {
                let ok: Vec<Command> = candidates(action, &a, actor, at)
                    .into_iter()
                    .filter(|cmd| a.handle(cmd, actor, at, Some(a.version), w.ctx()).is_ok())
                    .collect();
                let review_ok = action == Action::RequestReview
                    && [HOUSING, TOWN].into_iter().any(|reviewer| {
                        let req = ReviewRequest {
                            request: "对处理意见不服，请求复查".into(),
                            requested_on: local_date(at),
                            reviewer: Some(reviewer),
                        };
                        a.prepare_review(&req, reviewer, actor, at, Some(a.version), w.ctx())
                            .is_ok()
                    });
                let guard = a.guard(action, actor, at, w.ctx());
                assert_eq!(
                    offered.contains(&action),
                    !ok.is_empty() || review_ok,
                    "{:?} by {:?} of unit {:?} on a {:?} appeal in {:?} (v{}): offered {:?}, \
                     guard {:?}, accepted payloads {}",
                    action,
                    actor.role,
                    actor.unit,
                    kind,
                    a.status,
                    a.version,
                    offered,
                    guard.as_ref().err().map(|e| e.code()),
                    ok.len()
                );
                accepted.extend(ok.into_iter().map(|cmd| (actor.clone(), cmd)));
            }
        }
        // Every appeal, even a closed one, takes a comment from someone.
        assert!(!accepted.is_empty(), "nothing possible in {:?}", a.status);
        // Prefer steps that move the loop on over comments and supervision, so walks get far.
        let moving: Vec<&(Actor, Command)> = accepted
            .iter()
            .filter(|(_, cmd)| {
                !matches!(
                    cmd.action(),
                    Action::Comment | Action::Supervise | Action::Merge
                )
            })
            .collect();
        let pool: Vec<&(Actor, Command)> = if !moving.is_empty() && c % 10 != 0 {
            moving
        } else {
            accepted.iter().collect()
        };
        let (actor, cmd) = pool[(c / 7) as usize % pool.len()];
        let (next, records): (Appeal, Vec<EventRecord>) = a
            .handle(cmd, actor, at, Some(a.version), w.ctx())
            .expect("an accepted command is accepted again");
        history.extend(records);
        a = next;
        steps += 1;
    }
    let folded = Appeal::from_history(&history).expect("the history folds");
    assert_eq!(folded, a, "the state folded from {steps} steps of history");
    let stored: Appeal = serde_json::from_str(&a.to_stored_json().unwrap()).unwrap();
    assert_eq!(stored, a, "the stored form reads back");
    let full: Appeal = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
    assert_eq!(full, a, "the full form reads back");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn the_guard_offers_exactly_what_the_domain_accepts(
        kind in prop::sample::select(Kind::ALL.to_vec()),
        choices in prop::collection::vec(any::<u32>(), 1..30),
    ) {
        walk(kind, &choices);
    }
}

/// CI found this walk: an opinion received, the case redone and sent back to the centre, and a
/// review offered of an opinion that no longer stood.
#[test]
fn no_review_is_offered_while_the_opinion_is_being_redone() {
    walk(
        Kind::PetitionOpinion,
        &[
            2_834_969_242,
            813_607_341,
            140_826_911,
            1_784_749_071,
            1_273_434_929,
            2_664_104_752,
            2_394_684_966,
            2_068_118_722,
            4_252_262_434,
            760_549_107,
        ],
    );
}

#[test]
fn every_status_is_reached_by_some_walk() {
    // The walks above must not stop at registration: a fixed set of seeds reaches every status.
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..200u32 {
        let mut w = World::new();
        w.load_test_2027();
        let kind = Kind::ALL[seed as usize % Kind::ALL.len()];
        let (mut a, _) = w.register_with(new_appeal(kind), nov(2, 9));
        let mut at = nov(2, 9);
        let mut x = seed.wrapping_mul(2_654_435_761).max(1);
        for _ in 0..25 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            at += chrono::Duration::minutes(i64::from(x % 600) + 1);
            seen.insert(a.status);
            let mut options = Vec::new();
            for actor in actors() {
                for action in a.available_actions(&actor, at, w.ctx()) {
                    if matches!(action, Action::Comment | Action::Supervise) {
                        continue;
                    }
                    for cmd in candidates(action, &a, &actor, at) {
                        if let Ok((next, _)) = a.handle(&cmd, &actor, at, Some(a.version), w.ctx())
                        {
                            options.push(next);
                        }
                    }
                }
            }
            if options.is_empty() {
                break;
            }
            a = options.swap_remove(x as usize % options.len());
        }
        seen.insert(a.status);
    }
    for s in Status::ALL {
        assert!(seen.contains(s), "no walk reached {s:?}: {seen:?}");
    }
}

#[test]
fn no_extension_is_offered_once_the_longest_allowed_is_reached() {
    let mut w = World::new();
    w.load_test_2027();
    let a = w.register(Kind::Complaint, nov(2, 9));
    let a = w.step(
        &a,
        Command::Dispatch {
            lead: HOUSING,
            assisting: vec![],
            note: String::new(),
        },
        &dispatcher(),
        nov(2, 10),
    );
    let mut a = w.step(&a, Command::Sign { owner: None }, &housing(), nov(2, 11));
    let mut at = nov(2, 12);
    let mut granted = 0;
    while a
        .available_actions(&housing(), at, w.ctx())
        .contains(&Action::RequestExtension)
    {
        assert!(
            granted < 400,
            "the extensions never reach the longest allowed"
        );
        // The longest step that still fits: a working day, else an hour.
        let request = [Limit::WorkingDays(1), Limit::Hours(1)]
            .into_iter()
            .map(|limit| Command::RequestExtension {
                limit,
                reason: "需现场勘验".into(),
            })
            .find(|cmd| a.handle(cmd, &housing(), at, None, w.ctx()).is_ok())
            .expect("an offered extension has a payload that is accepted");
        a = w.step(&a, request, &housing(), at);
        at += chrono::Duration::minutes(1);
        a = w.step(
            &a,
            Command::DecideExtension {
                approve: true,
                note: String::new(),
            },
            &dispatcher(),
            at,
        );
        at += chrono::Duration::minutes(1);
        granted += 1;
    }
    assert!(granted >= 1);
    let refused = a
        .guard(Action::RequestExtension, &housing(), at, w.ctx())
        .unwrap_err();
    assert_eq!(refused.code(), "extension_too_long");
    assert_eq!(
        w.refuse(
            &a,
            Command::RequestExtension {
                limit: Limit::Hours(1),
                reason: "再延一小时".into(),
            },
            &housing(),
            at,
        ),
        "extension_too_long"
    );
}
