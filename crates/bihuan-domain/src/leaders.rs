//! Leaders and petitions (信访工作条例 Art 18): leaders' reception days (领导接访) with the
//! petitions received at them, and 包案 — a leader taking a petition personally and seeing it
//! to its end, with what the leader did recorded. Both kept in the generic aggregate tables;
//! the ledger of each leader's cases reads the cases' state from the appeals themselves.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::aggregate::{require_role, Aggregate};
use crate::error::DomainError;
use crate::lifecycle::{Actor, Context, Role};
use crate::time::{local_date, Instant};
use crate::{AppealId, AppealNumber, UserId};

/// The most petitions one reception day records.
pub const RECEIVED_MAX: usize = 200;
/// The most entries one leader's case records.
pub const ENTRIES_MAX: usize = 200;

use crate::aggregate::required_text as text;

// ---------------------------------------------------------------------------------------------
// 领导接访: a reception day
// ---------------------------------------------------------------------------------------------

/// Where a reception day stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReceptionStatus {
    /// 已安排
    Scheduled,
    /// 已接访 (closed with its summary)
    Held,
    /// 已取消
    Cancelled,
}

impl ReceptionStatus {
    pub fn label(self) -> &'static str {
        match self {
            ReceptionStatus::Scheduled => "已安排",
            ReceptionStatus::Held => "已接访",
            ReceptionStatus::Cancelled => "已取消",
        }
    }
}

/// A petition received at a reception day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Received {
    pub appeal: AppealId,
    pub number: AppealNumber,
    #[schema(value_type = String, format = DateTime)]
    pub at: Instant,
}

/// A leader's reception day (领导接访日).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Reception {
    pub leader: UserId,
    pub leader_name: String,
    /// The leader's post, e.g. 县委副书记.
    pub post: String,
    #[schema(value_type = String, format = Date)]
    pub on: NaiveDate,
    pub place: String,
    /// What the day is announced for (重点接待的事项).
    pub topics: String,
    pub status: ReceptionStatus,
    pub received: Vec<Received>,
    pub summary: Option<String>,
    pub cancel_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceptionCommand {
    Schedule {
        leader: UserId,
        leader_name: String,
        post: String,
        on: NaiveDate,
        place: String,
        topics: String,
    },
    /// A petition registered at the reception (the appeal's id and number, checked by the use
    /// case: a petition that exists).
    Receive {
        appeal: AppealId,
        number: AppealNumber,
    },
    Close {
        summary: String,
    },
    Cancel {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ReceptionEvent {
    Scheduled {
        leader: UserId,
        leader_name: String,
        post: String,
        on: NaiveDate,
        place: String,
        topics: String,
    },
    Received {
        appeal: AppealId,
        number: AppealNumber,
    },
    Held {
        summary: String,
    },
    Cancelled {
        reason: String,
    },
}

impl Aggregate for Reception {
    const KIND: &'static str = "reception";
    type Command = ReceptionCommand;
    type Event = ReceptionEvent;

    fn decide(
        state: Option<&Self>,
        command: &ReceptionCommand,
        actor: &Actor,
        at: Instant,
        _ctx: Context<'_>,
    ) -> Result<Vec<ReceptionEvent>, DomainError> {
        use ReceptionCommand as C;
        let today = local_date(at);
        match (state, command) {
            (
                None,
                C::Schedule {
                    leader,
                    leader_name,
                    post,
                    on,
                    place,
                    topics,
                },
            ) => {
                require_role(
                    actor,
                    &[Role::Admin, Role::Dispatcher, Role::Leader],
                    "schedule_reception",
                )?;
                if actor.role == Role::Leader && *leader != actor.user {
                    return Err(DomainError::invalid(
                        "leader",
                        "领导只能安排本人的接访日，请由信访局或管理员安排其他领导",
                    ));
                }
                if *on < today {
                    return Err(DomainError::invalid(
                        "on",
                        "接访日期不能早于今天（已举行的接访请补记为今天并写明）",
                    ));
                }
                Ok(vec![ReceptionEvent::Scheduled {
                    leader: *leader,
                    leader_name: text("leader_name", leader_name, 30, "领导姓名")?,
                    post: text("post", post, 30, "职务")?,
                    on: *on,
                    place: text("place", place, 100, "接访地点")?,
                    topics: text("topics", topics, 500, "接访事项")?,
                }])
            }
            (None, _) => Err(DomainError::invalid("reception", "没有这个接访日")),
            (Some(_), C::Schedule { .. }) => {
                Err(DomainError::invalid("reception", "这个接访日已经安排"))
            }
            (Some(r), c) => {
                if r.status != ReceptionStatus::Scheduled
                    && !matches!((r.status, c), (ReceptionStatus::Held, C::Receive { .. }))
                {
                    return Err(DomainError::invalid(
                        "reception",
                        format!("这个接访日{}，不能再修改", r.status.label()),
                    ));
                }
                match c {
                    C::Schedule { .. } => unreachable!("matched above"),
                    C::Receive { appeal, number } => {
                        require_role(
                            actor,
                            &[Role::Admin, Role::Dispatcher, Role::Operator, Role::Leader],
                            "receive_at_reception",
                        )?;
                        if r.status == ReceptionStatus::Held && actor.role != Role::Admin {
                            return Err(DomainError::invalid(
                                "reception",
                                "接访已结束，补记接访事项请联系管理员",
                            ));
                        }
                        if today < r.on {
                            return Err(DomainError::invalid(
                                "appeal",
                                format!("接访日是 {}，当天才能登记接访事项", r.on),
                            ));
                        }
                        if r.received.iter().any(|x| x.appeal == *appeal) {
                            return Err(DomainError::invalid(
                                "appeal",
                                format!("{number} 已登记在这个接访日"),
                            ));
                        }
                        if r.received.len() >= RECEIVED_MAX {
                            return Err(DomainError::invalid(
                                "appeal",
                                format!("一个接访日最多登记 {RECEIVED_MAX} 件"),
                            ));
                        }
                        Ok(vec![ReceptionEvent::Received {
                            appeal: *appeal,
                            number: *number,
                        }])
                    }
                    C::Close { summary } => {
                        require_role(
                            actor,
                            &[Role::Admin, Role::Dispatcher, Role::Leader],
                            "close_reception",
                        )?;
                        if today < r.on {
                            return Err(DomainError::invalid(
                                "summary",
                                format!("接访日是 {}，接访后才能结束", r.on),
                            ));
                        }
                        Ok(vec![ReceptionEvent::Held {
                            summary: text("summary", summary, 2000, "接访情况")?,
                        }])
                    }
                    C::Cancel { reason } => {
                        require_role(
                            actor,
                            &[Role::Admin, Role::Dispatcher, Role::Leader],
                            "cancel_reception",
                        )?;
                        if !r.received.is_empty() {
                            return Err(DomainError::invalid(
                                "reason",
                                "已登记接访事项的接访日不能取消，请结束接访",
                            ));
                        }
                        Ok(vec![ReceptionEvent::Cancelled {
                            reason: text("reason", reason, 500, "取消原因")?,
                        }])
                    }
                }
            }
        }
    }

    fn apply(state: Option<Self>, event: &ReceptionEvent, at: Instant) -> Self {
        use ReceptionEvent as E;
        match (state, event) {
            (
                _,
                E::Scheduled {
                    leader,
                    leader_name,
                    post,
                    on,
                    place,
                    topics,
                },
            ) => Reception {
                leader: *leader,
                leader_name: leader_name.clone(),
                post: post.clone(),
                on: *on,
                place: place.clone(),
                topics: topics.clone(),
                status: ReceptionStatus::Scheduled,
                received: vec![],
                summary: None,
                cancel_reason: None,
            },
            (Some(mut r), e) => {
                match e {
                    E::Scheduled { .. } => {}
                    E::Received { appeal, number } => r.received.push(Received {
                        appeal: *appeal,
                        number: *number,
                        at,
                    }),
                    E::Held { summary } => {
                        r.status = ReceptionStatus::Held;
                        r.summary = Some(summary.clone());
                    }
                    E::Cancelled { reason } => {
                        r.status = ReceptionStatus::Cancelled;
                        r.cancel_reason = Some(reason.clone());
                    }
                }
                r
            }
            // Only a schedule creates one (`decide` refuses anything else first).
            (None, _) => Reception {
                leader: UserId(0),
                leader_name: String::new(),
                post: String::new(),
                on: local_date(at),
                place: String::new(),
                topics: String::new(),
                status: ReceptionStatus::Cancelled,
                received: vec![],
                summary: None,
                cancel_reason: None,
            },
        }
    }

    fn event_name(event: &ReceptionEvent) -> &'static str {
        match event {
            ReceptionEvent::Scheduled { .. } => "scheduled",
            ReceptionEvent::Received { .. } => "received",
            ReceptionEvent::Held { .. } => "held",
            ReceptionEvent::Cancelled { .. } => "cancelled",
        }
    }

    fn index(&self) -> Vec<(&'static str, String)> {
        let mut v = vec![("leader", self.leader.0.to_string())];
        v.extend(
            self.received
                .iter()
                .map(|r| ("appeal", r.appeal.0.to_string())),
        );
        v
    }
}

// ---------------------------------------------------------------------------------------------
// 包案: a leader's own case
// ---------------------------------------------------------------------------------------------

/// What the leader did on the case (批示, 约访, 现场办公 …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CaseEntry {
    #[schema(value_type = String, format = DateTime)]
    pub at: Instant,
    pub text: String,
}

/// A petition a leader took personally (包案).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LeaderCase {
    pub leader: UserId,
    pub leader_name: String,
    pub appeal: AppealId,
    pub number: AppealNumber,
    #[schema(value_type = String, format = DateTime)]
    pub taken_at: Instant,
    /// How the leader means to resolve it (包案措施).
    pub plan: String,
    /// The reception day it was taken at, if any.
    pub reception: Option<u64>,
    pub entries: Vec<CaseEntry>,
    /// Handed back, with why (e.g. the leader's post changed); its history stays.
    pub released: Option<CaseEntry>,
}

impl LeaderCase {
    pub fn active(&self) -> bool {
        self.released.is_none()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaderCaseCommand {
    /// The acting leader takes the petition (the use case checks it is an open petition not
    /// already taken).
    Take {
        appeal: AppealId,
        number: AppealNumber,
        plan: String,
        reception: Option<u64>,
    },
    Note {
        text: String,
    },
    Release {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LeaderCaseEvent {
    Taken {
        leader: UserId,
        leader_name: String,
        appeal: AppealId,
        number: AppealNumber,
        plan: String,
        #[serde(default)]
        reception: Option<u64>,
    },
    Noted {
        text: String,
    },
    Released {
        reason: String,
    },
}

impl Aggregate for LeaderCase {
    const KIND: &'static str = "leader_case";
    type Command = LeaderCaseCommand;
    type Event = LeaderCaseEvent;

    fn decide(
        state: Option<&Self>,
        command: &LeaderCaseCommand,
        actor: &Actor,
        _at: Instant,
        _ctx: Context<'_>,
    ) -> Result<Vec<LeaderCaseEvent>, DomainError> {
        use LeaderCaseCommand as C;
        match (state, command) {
            (
                None,
                C::Take {
                    appeal,
                    number,
                    plan,
                    reception,
                },
            ) => {
                require_role(actor, &[Role::Leader], "take_case")?;
                Ok(vec![LeaderCaseEvent::Taken {
                    leader: actor.user,
                    leader_name: actor.name.clone(),
                    appeal: *appeal,
                    number: *number,
                    plan: text("plan", plan, 1000, "包案措施")?,
                    reception: *reception,
                }])
            }
            (None, _) => Err(DomainError::invalid("case", "没有这个包案")),
            (Some(_), C::Take { .. }) => Err(DomainError::invalid("case", "这件已经包案")),
            (Some(c), _) if !c.active() => {
                Err(DomainError::invalid("case", "这个包案已交回，不能再修改"))
            }
            (Some(c), C::Note { text: t }) => {
                if actor.user != c.leader {
                    return Err(DomainError::invalid(
                        "case",
                        format!("这是{}的包案，只有包案领导本人可以记录", c.leader_name),
                    ));
                }
                if c.entries.len() >= ENTRIES_MAX {
                    return Err(DomainError::invalid(
                        "text",
                        format!("一个包案最多记录 {ENTRIES_MAX} 条"),
                    ));
                }
                Ok(vec![LeaderCaseEvent::Noted {
                    text: text("text", t, 2000, "包案记录")?,
                }])
            }
            (Some(c), C::Release { reason }) => {
                if actor.user != c.leader && actor.role != Role::Admin {
                    return Err(DomainError::invalid(
                        "case",
                        "只有包案领导本人或管理员可以交回包案",
                    ));
                }
                Ok(vec![LeaderCaseEvent::Released {
                    reason: text("reason", reason, 500, "交回原因")?,
                }])
            }
        }
    }

    fn apply(state: Option<Self>, event: &LeaderCaseEvent, at: Instant) -> Self {
        use LeaderCaseEvent as E;
        match (state, event) {
            (
                _,
                E::Taken {
                    leader,
                    leader_name,
                    appeal,
                    number,
                    plan,
                    reception,
                },
            ) => LeaderCase {
                leader: *leader,
                leader_name: leader_name.clone(),
                appeal: *appeal,
                number: *number,
                taken_at: at,
                plan: plan.clone(),
                reception: *reception,
                entries: vec![],
                released: None,
            },
            (Some(mut c), E::Noted { text }) => {
                c.entries.push(CaseEntry {
                    at,
                    text: text.clone(),
                });
                c
            }
            (Some(mut c), E::Released { reason }) => {
                c.released = Some(CaseEntry {
                    at,
                    text: reason.clone(),
                });
                c
            }
            // Only a take creates one (`decide` refuses anything else first).
            (None, _) => LeaderCase {
                leader: UserId(0),
                leader_name: String::new(),
                appeal: AppealId(0),
                number: AppealNumber::new(2000, 1, 1).expect("a valid number"),
                taken_at: at,
                plan: String::new(),
                reception: None,
                entries: vec![],
                released: Some(CaseEntry {
                    at,
                    text: String::new(),
                }),
            },
        }
    }

    fn event_name(event: &LeaderCaseEvent) -> &'static str {
        match event {
            LeaderCaseEvent::Taken { .. } => "taken",
            LeaderCaseEvent::Noted { .. } => "noted",
            LeaderCaseEvent::Released { .. } => "released",
        }
    }

    /// Found by leader and by appeal while active; a case handed back leaves both (its
    /// history stays).
    fn index(&self) -> Vec<(&'static str, String)> {
        if self.active() {
            vec![
                ("leader", self.leader.0.to_string()),
                ("appeal", self.appeal.0.to_string()),
            ]
        } else {
            vec![("released_by", self.leader.0.to_string())]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::org::{UnitId, UnitKind};

    fn actor(user: u32, role: Role) -> Actor {
        Actor {
            user: UserId(user),
            name: format!("用户{user}"),
            role,
            unit: UnitId(1),
            unit_kind: UnitKind::County,
        }
    }

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, d).unwrap()
    }

    fn at(d: u32) -> Instant {
        crate::time::local(2026, 12, d, 9, 0, 0).unwrap()
    }

    use crate::aggregate::testing::run;

    fn schedule(leader: u32, on: NaiveDate) -> ReceptionCommand {
        ReceptionCommand::Schedule {
            leader: UserId(leader),
            leader_name: "王建华".into(),
            post: "县委副书记".into(),
            on,
            place: "县信访局接待大厅".into(),
            topics: "征地拆迁、农民工工资".into(),
        }
    }

    fn number(n: u32) -> AppealNumber {
        AppealNumber::new(2026, 12, n).unwrap()
    }

    #[test]
    fn art_18_a_reception_day_records_the_petitions_received_on_it() {
        let dispatcher = actor(2, Role::Dispatcher);
        let leader = actor(9, Role::Leader);
        // Not in the past; a leader schedules only their own day.
        assert!(run::<Reception>(None, schedule(9, day(1)), &dispatcher, at(2)).is_err());
        let e = run::<Reception>(None, schedule(8, day(9)), &leader, at(2)).unwrap_err();
        assert!(e.message_zh().contains("本人"), "{e}");
        let r = run::<Reception>(None, schedule(9, day(9)), &dispatcher, at(2)).unwrap();
        assert_eq!(r.status, ReceptionStatus::Scheduled);
        let receive = |n| ReceptionCommand::Receive {
            appeal: AppealId(n),
            number: number(n as u32),
        };
        // Only on the day.
        let e = run(Some(&r), receive(1), &dispatcher, at(8)).unwrap_err();
        assert!(e.message_zh().contains("当天"), "{e}");
        let r = run(Some(&r), receive(1), &dispatcher, at(9)).unwrap();
        let r = run(Some(&r), receive(2), &leader, at(9)).unwrap();
        assert!(
            run(Some(&r), receive(2), &dispatcher, at(9)).is_err(),
            "twice"
        );
        assert!(
            run(Some(&r), receive(3), &actor(5, Role::Handler), at(9)).is_err(),
            "a handler does not register at a reception"
        );
        // With petitions received it cannot be cancelled, only closed with its summary.
        let cancel = ReceptionCommand::Cancel {
            reason: "会议冲突".into(),
        };
        assert!(run(Some(&r), cancel.clone(), &dispatcher, at(9)).is_err());
        let blank = ReceptionCommand::Close {
            summary: " ".into(),
        };
        assert!(run(Some(&r), blank, &leader, at(9)).is_err());
        let r = run(
            Some(&r),
            ReceptionCommand::Close {
                summary: "接待群众2批5人次，当场包案1件".into(),
            },
            &leader,
            at(9),
        )
        .unwrap();
        assert_eq!(r.status, ReceptionStatus::Held);
        assert_eq!(r.received.len(), 2);
        assert!(run(Some(&r), cancel, &dispatcher, at(9)).is_err());
        // After the day only an administrator adds a petition it missed.
        assert!(run(Some(&r), receive(4), &dispatcher, at(10)).is_err());
        let r = run(Some(&r), receive(4), &actor(1, Role::Admin), at(10)).unwrap();
        assert_eq!(r.received.len(), 3);
        assert_eq!(r.index().iter().filter(|(k, _)| *k == "appeal").count(), 3);
    }

    #[test]
    fn art_18_a_leader_takes_a_case_records_it_and_only_they_or_an_admin_hand_it_back() {
        let leader = actor(9, Role::Leader);
        let other = actor(8, Role::Leader);
        let take = LeaderCaseCommand::Take {
            appeal: AppealId(5),
            number: number(5),
            plan: "约见信访人，协调住建局一周内拿出方案".into(),
            reception: Some(1),
        };
        assert!(run::<LeaderCase>(None, take.clone(), &actor(2, Role::Dispatcher), at(2)).is_err());
        let c = run::<LeaderCase>(None, take.clone(), &leader, at(2)).unwrap();
        assert_eq!((c.leader, c.leader_name.as_str()), (UserId(9), "用户9"));
        assert!(c.index().contains(&("appeal", "5".into())));
        assert!(run(Some(&c), take, &leader, at(2)).is_err(), "taken once");
        let note = |t: &str| LeaderCaseCommand::Note { text: t.into() };
        let e = run(Some(&c), note("批示：加快办理"), &other, at(3)).unwrap_err();
        assert!(e.message_zh().contains("包案领导本人"), "{e}");
        let c = run(Some(&c), note("现场办公，明确补偿标准"), &leader, at(3)).unwrap();
        assert_eq!(c.entries.len(), 1);
        let release = LeaderCaseCommand::Release {
            reason: "工作调整".into(),
        };
        assert!(run(Some(&c), release.clone(), &other, at(4)).is_err());
        let c = run(Some(&c), release, &actor(1, Role::Admin), at(4)).unwrap();
        assert!(!c.active());
        assert!(
            !c.index().iter().any(|(k, _)| *k == "appeal"),
            "off the appeal once handed back"
        );
        assert!(run(Some(&c), note("再记一条"), &leader, at(5)).is_err());
    }
}
