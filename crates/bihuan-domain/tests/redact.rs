//! Redaction: every free text of every event, and the citizen, come out masked; nothing else
//! changes.

use bihuan_domain::appeal::{
    AppealId, AppealNumber, Citizen, Commitment, Person, Phone, Place, UserId,
};
use bihuan_domain::lifecycle::{
    DeclineGround, Declined, Event, NewAppeal, RedoCause, Reply, ReplyResult, ReturnVisit,
    ReviewLink, ReviewStage, SuperviseReason,
};
use bihuan_domain::org::UnitId;
use bihuan_domain::policy::{Limit, PolicyTable};
use bihuan_domain::redact::Redact;
use bihuan_domain::time::local;
use bihuan_domain::{Channel, Kind, Regime, Urgency};

const MOBILE: &str = "13812345678";
const SAID: &str = "请回电13812345678";

/// One event of every kind, each of its texts holding a mobile number.
fn every_event() -> Vec<Event> {
    let at = local(2026, 11, 2, 9, 0, 0).unwrap();
    let person = Person {
        user: UserId(7),
        name: "李四".into(),
        unit: UnitId(3),
    };
    let new = NewAppeal {
        accused_units: vec![],
        accused_persons: vec![],
        group: None,
        forwarded_from: None,
        repeat_of: None,
        channel: Channel::Hotline,
        kind: Kind::Complaint,
        urgency: Urgency::Normal,
        category: None,
        title: SAID.into(),
        content: SAID.into(),
        place: Place {
            address: format!("幸福路1号,{SAID}"),
            ..Place::default()
        },
        citizen: Citizen {
            name: Some("张三丰".into()),
            phone: Some(Phone::parse(MOBILE).unwrap()),
            organisation: None,
        },
    };
    let policy = PolicyTable::defaults().rows()[0].clone();
    let number = AppealNumber::new(2026, 11, 1).unwrap();
    vec![
        Event::Registered {
            number,
            appeal: Box::new(new),
            regime: Regime::Hotline,
            policy: Box::new(policy),
            dispatch_due: at,
            review: None,
        },
        Event::AnsweredAtIntake {
            answer: SAID.into(),
        },
        Event::Dispatched {
            lead: UnitId(3),
            assisting: vec![UnitId(4)],
            note: SAID.into(),
            sign_due: at,
            first_contact_due: at,
            return_by: at,
            reply_due: Some(at),
            assist_due: Some(at),
        },
        Event::Signed {
            owner: person.clone(),
            reply_due: None,
        },
        Event::OwnerChanged { owner: person },
        Event::Committed {
            commitment: Commitment {
                what: SAID.into(),
                by: at.date_naive(),
                citizen_part: Some(SAID.into()),
            },
        },
        Event::Contacted { note: SAID.into() },
        Event::ReturnRequested {
            unit: UnitId(3),
            reason: SAID.into(),
        },
        Event::ReturnAccepted { note: SAID.into() },
        Event::ReturnRefused { note: SAID.into() },
        Event::ExtensionRequested {
            limit: Limit::WorkingDays(5),
            reason: SAID.into(),
            proposed_due: at,
        },
        Event::ExtensionApproved {
            note: SAID.into(),
            new_due: at,
        },
        Event::ExtensionRefused { note: SAID.into() },
        Event::Whistled {
            no: 1,
            units: vec![UnitId(4)],
            matter: SAID.into(),
            report_by: at,
        },
        Event::ReportedIn {
            no: 1,
            unit: UnitId(4),
            note: SAID.into(),
            late: false,
        },
        Event::AssistOpinionGiven {
            unit: UnitId(4),
            opinion: SAID.into(),
            late: false,
        },
        Event::Replied {
            reply: Reply {
                result: ReplyResult::PartlyResolved,
                reason: Some(SAID.into()),
                text: SAID.into(),
                petition_outcome: None,
                attachments: vec![format!("{MOBILE}.png")],
            },
            late: false,
            extension_withdrawn: false,
        },
        Event::Visited {
            visit: ReturnVisit {
                contacted: true,
                resolved: Some(true),
                rating: None,
                comment: SAID.into(),
            },
        },
        Event::Closed {
            note: SAID.into(),
            without_visit: false,
        },
        Event::RedoOrdered {
            cause: RedoCause::Unsatisfied,
            reason: SAID.into(),
            reply_due: at,
        },
        Event::MergedInto {
            master: AppealId(2),
            number,
        },
        Event::DuplicateLinked {
            duplicate: AppealId(3),
            number,
        },
        Event::Supervised {
            reason: SuperviseReason::LeaderOrder,
            note: SAID.into(),
            deadline: None,
        },
        Event::Commented { text: SAID.into() },
        Event::Declined {
            declined: Declined {
                ground: DeclineGround::StatutoryRoute,
                reason: SAID.into(),
                route: SAID.into(),
                prior: None,
            },
        },
        Event::ReviewRequested {
            link: ReviewLink {
                stage: ReviewStage::Recheck,
                review: AppealId(5),
                number,
                reviewer: UnitId(4),
                requested_on: at.date_naive(),
            },
            request: SAID.into(),
        },
        Event::HearingStarted {
            reason: SAID.into(),
        },
        Event::HearingEnded {
            note: SAID.into(),
            days: 2,
            reply_due: Some(at),
        },
        Event::AgreementRecorded {
            agreement: bihuan_domain::lifecycle::AgreementKind::Settlement,
            parties: SAID.into(),
            terms: SAID.into(),
        },
    ]
}

#[test]
fn every_text_of_every_event_is_masked_and_nothing_else_changes() {
    let events = every_event();
    let mut names: Vec<&str> = events.iter().map(Event::name).collect();
    names.dedup();
    assert_eq!(names.len(), 29, "one of each kind of event");
    let mut with_text = 0;
    for e in &events {
        let before = serde_json::to_string(e).unwrap();
        let after = serde_json::to_string(&e.redacted()).unwrap();
        assert!(!after.contains(MOBILE), "{}: {after}", e.name());
        if before.contains(MOBILE) {
            with_text += 1;
            assert!(after.contains("138****5678"), "{}: {after}", e.name());
            // Masking a number again changes nothing.
            assert_eq!(
                serde_json::to_string(&e.redacted().redacted()).unwrap(),
                after
            );
        } else {
            assert_eq!(
                before,
                after,
                "{}: nothing to mask, nothing changed",
                e.name()
            );
        }
        // The search reads exactly the texts that are masked: each one held the number, and
        // none that held it is missing (the registration's texts are the appeal's own).
        for t in e.free_texts() {
            assert!(t.contains(MOBILE), "{}: {t}", e.name());
        }
        if e.name() != "registered" {
            assert_eq!(
                before.matches(MOBILE).count(),
                e.free_texts().len(),
                "{}: every text the event holds is a free text",
                e.name()
            );
        }
    }
    assert_eq!(with_text, 25);
}

#[test]
fn the_citizen_is_masked_and_an_organisation_is_not() {
    let c = Citizen {
        name: Some("张三丰".into()),
        phone: Some(Phone::parse("+86 138-1234-5678").unwrap()),
        organisation: Some("某某科技有限公司".into()),
    };
    let r = c.redacted();
    assert_eq!(r.name.as_deref(), Some("张**"));
    assert_eq!(r.phone.as_ref().map(Phone::expose), Some("138****5678"));
    assert!(!r.phone.unwrap().is_valid(), "a masked number is no phone");
    assert_eq!(r.organisation, c.organisation);
    // A stored value that is no phone at all is not shown either.
    let old: Citizen = serde_json::from_str(r#"{"name":null,"phone":"not-a-phone"}"#).unwrap();
    assert_eq!(
        old.redacted().phone.as_ref().map(Phone::expose),
        Some("***")
    );
}
