//! The closed loop as a state machine: commands are checked against the current state and turn
//! into events; events, applied in order, are the only way the state changes.
//!
//! ```text
//!                 answer at intake ───────────────────────────────┐
//!                                                                 v
//! register ─> PendingDispatch ─dispatch─> Dispatched ─sign─> InProgress ─reply─> Replied ─visit─> Visited ─close─> Closed
//!                   ^   ^                  │    ^               │   ^               │  │            │
//!                   │   └─accept return─ Returned <─return──────┘   └──── redo ─────┘  └── close ───┼─(no visit, with reason)
//!                   │                      │    refuse return (unit confirmed)          redo <──────┘ (unsatisfied)
//!                   │                      └──> back to Dispatched / InProgress
//! any open state ─merge─> Merged
//! ```
//!
//! Alongside the main line: extension request and decision, whistle and report-in, first contact,
//! owner and commitment, supervision and comments, none of which changes the status.
//!
//! Every command names who acts ([`Actor`]) and when; the domain never reads a clock. The appeal
//! carries a version (the number of events applied); a command sent with a stale version is
//! refused, which is how concurrent edits are caught.

use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize};

use crate::appeal::{
    AppealId, AppealNumber, Channel, Citizen, Commitment, Kind, Person, Place, Regime, Urgency,
    UserId,
};
use crate::calendar::Calendar;
use crate::category::CategoryId;
use crate::error::DomainError;
use crate::org::{UnitId, UnitKind};
use crate::policy::{DeadlinePolicy, Limit, PolicyTable, ReplyClock};
use crate::time::{format_local, Instant};

macro_rules! simple_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident => $zh:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vm])* $v,)* }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$v,)*];
            pub fn label(self) -> &'static str { match self { $($name::$v => $zh,)* } }
        }
    };
}

simple_enum! {
    /// What a user is allowed to do.
    Role {
        /// 12345 operator (受理).
        Operator => "受理员",
        /// The dispatch centre (分流交办).
        Dispatcher => "派单员",
        /// A handler in a department or township (承办).
        Handler => "承办人",
        /// A unit's leader: approves returns and extensions inside the unit.
        UnitLeader => "单位负责人",
        /// Supervision (督办).
        Supervisor => "督办员",
        /// Return-visit staff (回访).
        ReturnVisitor => "回访员",
        /// Grid member or cadre on household visits (网格员).
        GridMember => "网格员",
        /// County leader: reads dashboards, orders supervision.
        Leader => "领导",
        Admin => "管理员",
        /// The server itself (deadline scanner, integrations).
        System => "系统",
        /// An employer's account (就业之家): posts its own jobs for review, sees nothing else.
        Employer => "用人单位",
    }
}

/// Which appeals a role sees: decided for every role here (an exhaustive match), so a new role
/// sees nothing until someone decides otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Every appeal of the county: the centre, supervision, return visits, leaders.
    County,
    /// Appeals its unit leads, assists, was called to by a whistle, or once led.
    Unit,
    /// Appeals the user registered (a grid member's own reports).
    OwnRegistrations,
}

impl Role {
    pub fn visibility(self) -> Visibility {
        match self {
            Role::Operator
            | Role::Dispatcher
            | Role::Supervisor
            | Role::ReturnVisitor
            | Role::Leader
            | Role::Admin
            | Role::System => Visibility::County,
            Role::Handler | Role::UnitLeader => Visibility::Unit,
            Role::GridMember | Role::Employer => Visibility::OwnRegistrations,
        }
    }
}

simple_enum! {
    /// Where an appeal is in the loop.
    Status {
        PendingDispatch => "待交办",
        Dispatched => "待签收",
        Returned => "退单待审",
        InProgress => "办理中",
        Replied => "已答复",
        Visited => "已回访",
        Closed => "已办结",
        Merged => "已合并",
    }
}

impl Status {
    /// Closed and merged appeals take no more work.
    pub fn is_terminal(self) -> bool {
        matches!(self, Status::Closed | Status::Merged)
    }
}

simple_enum! {
    /// The outcome of the handling.
    ReplyResult {
        Resolved => "已解决",
        PartlyResolved => "部分解决",
        /// Cannot be resolved; the reply must say why.
        Unresolvable => "无法解决",
    }
}

simple_enum! {
    /// The outcome of a petition (信访工作条例 Art 32).
    PetitionOutcome {
        Support => "支持",
        Explain => "解释说明",
        NotSupported => "不予支持",
    }
}

simple_enum! {
    Rating {
        Satisfied => "满意",
        Basic => "基本满意",
        Unsatisfied => "不满意",
    }
}

simple_enum! {
    RedoCause {
        /// The citizen rated the handling unsatisfied.
        Unsatisfied => "群众不满意",
        /// The centre rejected the reply (incomplete, off the point).
        ReplyRejected => "答复审核不通过",
    }
}

simple_enum! {
    /// A written notice of a petition (信访工作条例 Arts 23, 32, 34–36): the petitioner's, and
    /// the unit's objection to the centre.
    DocumentKind {
        /// Art 23: the matter is accepted.
        Acceptance => "受理告知书",
        /// Art 34: the handling time is extended, with the reason.
        Extension => "延期告知书",
        /// Art 32: the decision on the matter (支持 / 解释说明 / 不予支持).
        Opinion => "信访处理意见书",
        /// Art 23: the matter is not accepted, with the reason and where to go instead.
        NonAcceptance => "不予受理告知书",
        /// Art 35: the decision of the 复查.
        RecheckOpinion => "复查意见书",
        /// Art 36: the decision of the 复核, which is final.
        RereviewOpinion => "复核意见书",
        /// Art 23: the unit's written objection to the 信访部门 that the matter assigned to it
        /// is not within its remit, with the reasons, within 5 working days of receiving it (a
        /// return request on a petition). Addressed to the centre, not the petitioner.
        MisroutingObjection => "交办异议书",
        /// Art 33: the parties of a 申诉求决 petition agreed through the body's mediation.
        MediationAgreement => "调解协议书",
        /// Art 33: the parties settled between themselves.
        SettlementAgreement => "和解协议书",
    }
}

simple_enum! {
    /// The two reviews of a petition's decision (信访工作条例 Arts 35–36).
    ReviewStage {
        /// 复查: by the body one level above the one that decided, asked for within 30 days of
        /// receiving the 信访处理意见书, answered within 30 days.
        Recheck => "复查",
        /// 复核: one level above the 复查 body, asked for within 30 days of receiving the
        /// 复查意见书, answered within 30 days (hearing time not counted); its opinion is final.
        Rereview => "复核",
    }
}

simple_enum! {
    /// Why a petition is not accepted (信访工作条例 Arts 23, 31, 36).
    DeclineGround {
        /// Art 23: not within this body's remit; the notice names the body that has it.
        NotOurRemit => "不属于本机关法定职权范围",
        /// Art 31: a claim the law sends to litigation, arbitration, administrative review or
        /// another statutory route.
        StatutoryRoute => "应当通过法定途径解决",
        /// Art 23: already handled, or being handled, by a competent body.
        AlreadyHandled => "已经或者正在依法处理",
        /// Art 36: the same facts and reasons again after the 复核 opinion (不再受理).
        FinalAfterReview => "复核终结后以同一事实和理由再次提出",
    }
}

/// On a review case: what it reviews.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReviewOf {
    pub stage: ReviewStage,
    /// The case whose opinion is reviewed (the petition for a 复查, the 复查 case for a 复核).
    pub of: AppealId,
    pub of_number: AppealNumber,
    /// The unit whose opinion is reviewed.
    pub decided_by: UnitId,
    /// The step (appeal version) that issued the reviewed opinion.
    pub opinion_version: u64,
    /// The day the review request was received; the 30 days to answer count from it.
    #[schema(value_type = String, format = Date)]
    pub requested_on: chrono::NaiveDate,
}

/// On a reviewed case: a review asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReviewLink {
    pub stage: ReviewStage,
    pub review: AppealId,
    pub number: AppealNumber,
    pub reviewer: UnitId,
    #[schema(value_type = String, format = Date)]
    pub requested_on: chrono::NaiveDate,
}

/// A hearing held in a 复核 (Art 36): its days are not counted in the 30-day limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Hearing {
    pub reason: String,
    #[schema(value_type = String, format = DateTime)]
    pub started_at: Instant,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ended_at: Option<Instant>,
    pub note: Option<String>,
    /// Calendar days the deadline moved when the hearing ended (start and end day included).
    #[serde(default)]
    pub days: u32,
}

/// A petition not accepted: why, and where the petitioner should go instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Declined {
    pub ground: DeclineGround,
    pub reason: String,
    /// 告知信访人向何机关、通过何种途径提出.
    pub route: String,
    /// The case whose 复核 was final, when the ground is [`DeclineGround::FinalAfterReview`].
    pub prior: Option<AppealNumber>,
}

/// A petitioner's request for 复查 or 复核, as the centre records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    /// What the petitioner asks and why the opinion is wrong.
    pub request: String,
    /// The day the request was received (by post: the day it arrived).
    #[schema(value_type = String, format = Date)]
    pub requested_on: chrono::NaiveDate,
    /// The reviewing unit; without it, the unit one level up (or the configured review unit).
    #[serde(default)]
    pub reviewer: Option<UnitId>,
}

simple_enum! {
    SuperviseReason {
        Overdue => "超期督办",
        LeaderOrder => "领导交办",
    }
}

simple_enum! {
    /// What can be done to an existing appeal: a [`Command`] without its payload. The console
    /// offers exactly the actions [`Appeal::available_actions`] returns.
    Action {
        AnswerAtIntake => "当场答复",
        Dispatch => "交办",
        Sign => "签收",
        SetOwner => "指定首席服务官",
        Commit => "承诺",
        Contact => "首次联系",
        Return => "退单",
        DecideReturn => "审核退单",
        RequestExtension => "申请延期",
        DecideExtension => "审批延期",
        Whistle => "吹哨",
        ReportIn => "报到",
        /// An assisting unit's opinion for the lead (协办意见).
        AssistOpinion => "协办意见",
        Reply => "答复",
        ReturnVisit => "回访",
        Close => "办结",
        Redo => "重办",
        Merge => "合并",
        /// Recorded on the master by a merge; never issued by a person.
        LinkDuplicate => "关联重复件",
        Supervise => "督办",
        Comment => "备注",
        /// Recorded by the system when a holiday notice is loaded: the provisional deadlines
        /// recomputed on the notice. Never issued by a person.
        RecomputeDeadlines => "期限重算",
        /// The date the petitioner received a written notice (the review windows count from it).
        RecordReceipt => "登记送达",
        /// The lead unit does not accept a petition (不予受理告知书, Art 23).
        Decline => "不予受理",
        /// The petitioner asks for 复查 or 复核 (Arts 35–36): opens a linked case with its own
        /// clock (`POST /api/v1/appeals/{key}/reviews`, not an action body).
        RequestReview => "请求复查复核",
        /// A 复核 hearing starts: the clock stops (Art 36).
        StartHearing => "举行听证",
        /// The hearing ends: the deadline moves by the hearing's days.
        EndHearing => "结束听证",
        /// A 申诉求决 petition settled by agreement: a 调解协议书 or 和解协议书 (Art 33).
        RecordAgreement => "调解和解协议",
    }
}

simple_enum! {
    /// How the parties of a 申诉求决 petition came to agree (信访工作条例 Art 33).
    AgreementKind {
        /// 调解: the handling body mediates, within its discretion and with both parties' consent.
        Mediation => "调解",
        /// 和解: the parties settle between themselves, guided by the handling body.
        Settlement => "和解",
    }
}

impl Action {
    /// The stable name, as in the API's `action` field.
    pub fn name(self) -> &'static str {
        match self {
            Action::AnswerAtIntake => "answer_at_intake",
            Action::Dispatch => "dispatch",
            Action::Sign => "sign",
            Action::SetOwner => "set_owner",
            Action::Commit => "commit",
            Action::Contact => "contact",
            Action::Return => "return",
            Action::DecideReturn => "decide_return",
            Action::RequestExtension => "request_extension",
            Action::DecideExtension => "decide_extension",
            Action::Whistle => "whistle",
            Action::ReportIn => "report_in",
            Action::AssistOpinion => "assist_opinion",
            Action::Reply => "reply",
            Action::ReturnVisit => "return_visit",
            Action::Close => "close",
            Action::Redo => "redo",
            Action::Merge => "merge",
            Action::LinkDuplicate => "link_duplicate",
            Action::Supervise => "supervise",
            Action::Comment => "comment",
            Action::RecomputeDeadlines => "recompute_deadlines",
            Action::RecordReceipt => "record_receipt",
            Action::Decline => "decline",
            Action::RequestReview => "request_review",
            Action::StartHearing => "start_hearing",
            Action::RecordAgreement => "record_agreement",
            Action::EndHearing => "end_hearing",
        }
    }

    pub fn parse(s: &str) -> Option<Action> {
        Action::ALL.iter().copied().find(|a| a.name() == s)
    }

    /// Whether a person may issue it (a duplicate link is only written by a merge).
    pub fn is_internal(self) -> bool {
        matches!(self, Action::LinkDuplicate | Action::RecomputeDeadlines)
    }

    /// The roles that may issue this action (unit and state checks come on top).
    pub fn roles(self) -> &'static [Role] {
        use Role::*;
        match self {
            Action::AnswerAtIntake => &[Operator, Dispatcher],
            Action::Dispatch | Action::DecideReturn | Action::Merge | Action::LinkDuplicate => {
                &[Dispatcher, Admin]
            }
            Action::Sign
            | Action::Commit
            | Action::Contact
            | Action::Return
            | Action::RequestExtension
            | Action::Whistle
            | Action::ReportIn
            | Action::AssistOpinion
            | Action::Reply
            | Action::Decline
            | Action::StartHearing
            | Action::EndHearing
            | Action::RecordAgreement => &[Handler, UnitLeader],
            Action::SetOwner => &[UnitLeader, Dispatcher],
            Action::DecideExtension => &[Dispatcher, Admin, UnitLeader],
            // The system records a citizen's own rating from the portal.
            Action::ReturnVisit => &[ReturnVisitor, Dispatcher, System],
            Action::Close => &[Dispatcher, ReturnVisitor, Admin],
            Action::Redo => &[Dispatcher, ReturnVisitor, Supervisor],
            Action::Supervise => &[Supervisor, Leader, Admin, System],
            Action::Comment => Role::ALL,
            Action::RecomputeDeadlines => &[System],
            Action::RecordReceipt => &[Handler, UnitLeader, Dispatcher, Operator],
            Action::RequestReview => &[Dispatcher, Operator, Admin],
        }
    }
}

/// Who acts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Actor {
    pub user: UserId,
    pub name: String,
    pub role: Role,
    pub unit: UnitId,
    pub unit_kind: UnitKind,
}

impl Actor {
    fn person(&self) -> Person {
        Person {
            user: self.user,
            name: self.name.clone(),
            unit: self.unit,
        }
    }
}

/// What the operator records at intake.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAppeal {
    pub channel: Channel,
    pub kind: Kind,
    #[serde(default = "normal")]
    pub urgency: Urgency,
    pub category: Option<CategoryId>,
    /// A short subject line.
    pub title: String,
    pub content: String,
    #[serde(default)]
    pub place: Place,
    #[serde(default)]
    pub citizen: Citizen,
    /// 检举控告 only: the units accused (or the units of the persons accused). The matter and the
    /// accuser's identity never reach them: the appeal cannot be dispatched, assigned, redirected
    /// or whistled to them (信访工作条例 Art 30; `Appeal::refuse_accused`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accused_units: Vec<UnitId>,
    /// 检举控告 only: the accounts of the persons accused. They never see the matter in any
    /// view, list or export (the stores keep them beside the units involved and every scoped
    /// query leaves such appeals out), and the registration use case adds their units to
    /// `accused_units` (Art 30).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<u32>)]
    pub accused_persons: Vec<UserId>,
    /// 集体访: a petition many people brought in person, with the representatives they chose
    /// (信访工作条例 Art 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<GroupVisit>,
    /// A petition forwarded to the county by a higher level's 信访 office (转送), and which.
    /// Lodged with the province or the State Bureau about a county matter, it is 越级信访
    /// (信访工作条例 Art 19: to the body with the power to handle it, or the one above).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwarded_from: Option<ForwardedFrom>,
    /// 重复信访: a petition about a matter already accepted, here or at another level
    /// (信访工作条例 Art 19). The registration use case links the same petitioner's earlier
    /// accepted petition on the same matter when it finds one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat_of: Option<RepeatOf>,
}

/// What a repeat petition repeats: an earlier petition on record here, or one accepted
/// elsewhere (another level or body), as the registrar was told — or both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RepeatOf {
    /// The earlier accepted petition here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub earlier: Option<AppealNumber>,
    /// Where else it was accepted, e.g. 市信访局（2026年5月）.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elsewhere: Option<String>,
}

/// How long after an accepted petition the same petitioner's petition on the same matter is
/// still its repeat (our rule; the regulation names no span).
pub const REPEAT_SPAN_DAYS: i64 = 365;

/// The earlier petition a new petition repeats (重复信访, Art 19), among `earlier`: the same
/// petitioner ([`Citizen::identity_key`]) on the same matter (category), accepted (signed for,
/// not declined; review cases are not first petitions), registered in the
/// [`REPEAT_SPAN_DAYS`] before `at` — the latest such. `None` for a hotline appeal, or without
/// a petitioner's identity or a category.
pub fn repeated_petition<'a>(
    new: &NewAppeal,
    at: Instant,
    earlier: impl IntoIterator<Item = &'a Appeal>,
) -> Option<&'a Appeal> {
    if new.kind.regime() != Regime::Petition {
        return None;
    }
    let who = new.citizen.identity_key()?;
    let matter = new.category?;
    let from = at - chrono::Duration::days(REPEAT_SPAN_DAYS);
    earlier
        .into_iter()
        .filter(|a| {
            a.regime == Regime::Petition
                && a.status != Status::Merged
                && a.review.is_none()
                && a.declined.is_none()
                && a.signed_at.is_some()
                && a.category == Some(matter)
                && a.registered_at < at
                && a.registered_at >= from
                && a.citizen.identity_key().as_deref() == Some(who.as_str())
        })
        .max_by_key(|a| (a.registered_at, a.id))
}

simple_enum! {
    /// The higher level a petition was lodged with before it was forwarded to the county.
    ForwardedFrom {
        /// 市级: the level directly above, where Art 19 allows a petition to be lodged.
        City => "市级转送",
        /// 省级: over the level above.
        Province => "省级转送",
        /// 国家信访局.
        National => "国家信访局转送",
    }
}

impl ForwardedFrom {
    /// Lodged above the level directly over the county (越级, Art 19).
    pub fn is_over_level(self) -> bool {
        matches!(self, ForwardedFrom::Province | ForwardedFrom::National)
    }
}

/// 集体访 (信访工作条例 Art 20): people who raise one matter together in person choose
/// representatives, at most five.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupVisit {
    /// How many came (two or more).
    pub people: u32,
    /// The representatives they chose (one to five).
    pub representatives: Vec<String>,
}

/// The most representatives a group visit may send (信访工作条例 Art 20).
pub const MAX_REPRESENTATIVES: usize = 5;

fn normal() -> Urgency {
    Urgency::Normal
}

/// A whistle the township blew and who has reported in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Whistle {
    pub no: u32,
    pub by: UnitId,
    #[schema(value_type = String, format = DateTime)]
    pub at: Instant,
    pub matter: String,
    #[schema(value_type = String, format = DateTime)]
    pub report_by: Instant,
    pub targets: Vec<WhistleTarget>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WhistleTarget {
    pub unit: UnitId,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub reported_at: Option<Instant>,
    pub note: Option<String>,
}

/// What an assisting unit was asked for at a dispatch: its opinion (协办意见) by `due`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AssistTask {
    pub unit: UnitId,
    /// The dispatch that asked.
    #[schema(value_type = String, format = DateTime)]
    pub asked_at: Instant,
    #[schema(value_type = String, format = DateTime)]
    pub due: Instant,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub given_at: Option<Instant>,
    pub opinion: Option<String>,
}

/// The unit's reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reply {
    pub result: ReplyResult,
    /// Why it cannot (fully) be resolved; required unless resolved.
    pub reason: Option<String>,
    /// The reply text, which may be published.
    pub text: String,
    /// Petitions only: 支持 / 解释说明 / 不予支持.
    pub petition_outcome: Option<PetitionOutcome>,
    /// Names of attachments stored with the appeal by the service.
    #[serde(default)]
    pub attachments: Vec<String>,
}

/// A return visit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnVisit {
    pub contacted: bool,
    /// Known only when contacted.
    pub resolved: Option<bool>,
    pub rating: Option<Rating>,
    pub comment: String,
}

/// A pending extension request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ExtensionRequest {
    pub reason: String,
    pub limit: Limit,
    #[schema(value_type = String, format = DateTime)]
    pub proposed_due: Instant,
    #[schema(value_type = String, format = DateTime)]
    pub requested_at: Instant,
}

/// A pending return of a misrouted order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PendingReturn {
    pub unit: UnitId,
    pub reason: String,
    #[schema(value_type = String, format = DateTime)]
    pub at: Instant,
    pub status_before: Status,
}

/// The master appeal a duplicate is merged into, as the service read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MasterRef {
    pub id: AppealId,
    pub number: AppealNumber,
    pub status: Status,
}

/// One dispatch to a lead unit, kept for acceptance metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DispatchRound {
    pub unit: UnitId,
    #[schema(value_type = String, format = DateTime)]
    pub at: Instant,
    #[schema(value_type = String, format = DateTime)]
    pub sign_due: Instant,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub signed_at: Option<Instant>,
    pub returned: bool,
}

/// One deadline a lead unit had to reply by (the first handling, then each redo), kept for
/// on-time metrics. `due` includes approved extensions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReplyRound {
    pub unit: UnitId,
    #[schema(value_type = String, format = DateTime)]
    pub started: Instant,
    #[schema(value_type = String, format = DateTime)]
    pub due: Instant,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub replied_at: Option<Instant>,
}

/// A command: what someone asks to do to an existing appeal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "action", rename_all = "snake_case")]
#[serde(deny_unknown_fields)]
pub enum Command {
    /// A consultation answered on the spot by the operator.
    AnswerAtIntake {
        answer: String,
    },
    Dispatch {
        lead: UnitId,
        #[serde(default)]
        assisting: Vec<UnitId>,
        #[serde(default)]
        note: String,
    },
    /// The lead unit signs for the appeal; the owner defaults to the signer.
    Sign {
        #[serde(default)]
        owner: Option<Person>,
    },
    SetOwner {
        owner: Person,
    },
    Commit {
        commitment: Commitment,
    },
    /// First contact with the citizen.
    Contact {
        note: String,
    },
    Return {
        reason: String,
    },
    DecideReturn {
        accept: bool,
        #[serde(default)]
        note: String,
        /// When accepting: dispatch at once to a new lead.
        #[serde(default)]
        redispatch: Option<(UnitId, Vec<UnitId>)>,
    },
    RequestExtension {
        limit: Limit,
        reason: String,
    },
    DecideExtension {
        approve: bool,
        #[serde(default)]
        note: String,
    },
    Whistle {
        units: Vec<UnitId>,
        matter: String,
    },
    ReportIn {
        whistle: u32,
        #[serde(default)]
        note: String,
    },
    /// An assisting unit gives its opinion to the lead unit.
    AssistOpinion {
        opinion: String,
    },
    Reply(Reply),
    ReturnVisit(ReturnVisit),
    Close {
        #[serde(default)]
        note: String,
    },
    Redo {
        cause: RedoCause,
        reason: String,
    },
    Merge {
        into: MasterRef,
    },
    /// Recorded on the master when a duplicate is merged into it.
    LinkDuplicate {
        duplicate: AppealId,
        number: AppealNumber,
    },
    Supervise {
        reason: SuperviseReason,
        note: String,
    },
    Comment {
        text: String,
    },
    /// The provisional deadlines computed again on the year's notice, now loaded (see
    /// [`Appeal::recomputed_deadlines`]).
    RecomputeDeadlines {
        year: i32,
        changes: Vec<DeadlineChange>,
    },
    /// The petitioner received the notice the event of appeal version `document` issued, on
    /// `received_on` (a correction of a notice is a new notice, received on its own date).
    RecordReceipt {
        document: u64,
        received_on: chrono::NaiveDate,
    },
    /// The lead unit does not accept the petition: the 不予受理告知书 gives the ground, the
    /// reason and where to go instead (Art 23); the case ends.
    Decline {
        ground: DeclineGround,
        reason: String,
        route: String,
        /// With [`DeclineGround::FinalAfterReview`]: the number of the case whose 复核 was final.
        #[serde(default)]
        prior: Option<AppealNumber>,
    },
    /// A 复核 hearing starts (Art 36).
    StartHearing {
        reason: String,
    },
    /// The hearing ends; the reply deadline moves by its days.
    EndHearing {
        #[serde(default)]
        note: String,
    },
    /// The parties of a 申诉求决 petition agreed (Art 33): the agreement is issued as a
    /// 调解协议书 or 和解协议书.
    RecordAgreement {
        agreement: AgreementKind,
        /// The parties, e.g. 信访人张三；被申请人某建筑公司.
        parties: String,
        /// What they agreed.
        terms: String,
    },
}

/// A written notice issued with a step of a petition: which step (the appeal version after it)
/// and when the petitioner received it. Its text is built from that step's event
/// (`crate::documents`), so an issued notice never changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IssuedDocument {
    pub kind: DocumentKind,
    /// The appeal version of the event that issued it.
    pub version: u64,
    #[schema(value_type = String, format = DateTime)]
    pub issued_at: Instant,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received_on: Option<chrono::NaiveDate>,
}

/// One running deadline moved by a loaded holiday notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeadlineChange {
    /// `dispatch`, `sign`, `first_contact` or `reply` (as [`Appeal::running_deadlines`]).
    pub deadline: String,
    #[schema(value_type = String, format = DateTime)]
    pub before: Instant,
    #[schema(value_type = String, format = DateTime)]
    pub after: Instant,
}

impl Command {
    /// What kind of command this is.
    pub fn action(&self) -> Action {
        match self {
            Command::AnswerAtIntake { .. } => Action::AnswerAtIntake,
            Command::Dispatch { .. } => Action::Dispatch,
            Command::Sign { .. } => Action::Sign,
            Command::SetOwner { .. } => Action::SetOwner,
            Command::Commit { .. } => Action::Commit,
            Command::Contact { .. } => Action::Contact,
            Command::Return { .. } => Action::Return,
            Command::DecideReturn { .. } => Action::DecideReturn,
            Command::RequestExtension { .. } => Action::RequestExtension,
            Command::DecideExtension { .. } => Action::DecideExtension,
            Command::Whistle { .. } => Action::Whistle,
            Command::ReportIn { .. } => Action::ReportIn,
            Command::AssistOpinion { .. } => Action::AssistOpinion,
            Command::Reply(_) => Action::Reply,
            Command::ReturnVisit(_) => Action::ReturnVisit,
            Command::Close { .. } => Action::Close,
            Command::Redo { .. } => Action::Redo,
            Command::Merge { .. } => Action::Merge,
            Command::LinkDuplicate { .. } => Action::LinkDuplicate,
            Command::Supervise { .. } => Action::Supervise,
            Command::Comment { .. } => Action::Comment,
            Command::RecomputeDeadlines { .. } => Action::RecomputeDeadlines,
            Command::RecordReceipt { .. } => Action::RecordReceipt,
            Command::Decline { .. } => Action::Decline,
            Command::StartHearing { .. } => Action::StartHearing,
            Command::RecordAgreement { .. } => Action::RecordAgreement,
            Command::EndHearing { .. } => Action::EndHearing,
        }
    }

    /// The stable name of the command, as in the API's `action` field.
    pub fn name(&self) -> &'static str {
        self.action().name()
    }

    /// The roles that may issue this command (unit checks come on top).
    pub fn roles(&self) -> &'static [Role] {
        self.action().roles()
    }
}

/// What happened. Events carry everything needed to apply them — computed deadlines included —
/// so replaying a history never needs the calendar or the policy table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    Registered {
        number: AppealNumber,
        appeal: Box<NewAppeal>,
        regime: Regime,
        policy: Box<DeadlinePolicy>,
        #[schema(value_type = String, format = DateTime)]
        dispatch_due: Instant,
        /// A review case (复查 / 复核): what it reviews.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        review: Option<ReviewOf>,
    },
    AnsweredAtIntake {
        answer: String,
    },
    Dispatched {
        lead: UnitId,
        assisting: Vec<UnitId>,
        note: String,
        #[schema(value_type = String, format = DateTime)]
        sign_due: Instant,
        #[schema(value_type = String, format = DateTime)]
        first_contact_due: Instant,
        #[schema(value_type = String, format = DateTime)]
        return_by: Instant,
        /// Set here when the reply clock runs from dispatch.
        #[schema(value_type = Option<String>, format = DateTime)]
        reply_due: Option<Instant>,
        /// When the assisting units' opinions are due (absent without assisting units, and in
        /// histories written before opinions were asked for).
        #[serde(default)]
        #[schema(value_type = Option<String>, format = DateTime)]
        assist_due: Option<Instant>,
    },
    Signed {
        owner: Person,
        /// Set here when the reply clock runs from signing.
        #[schema(value_type = Option<String>, format = DateTime)]
        reply_due: Option<Instant>,
    },
    OwnerChanged {
        owner: Person,
    },
    Committed {
        commitment: Commitment,
    },
    Contacted {
        note: String,
    },
    ReturnRequested {
        unit: UnitId,
        reason: String,
    },
    ReturnAccepted {
        note: String,
    },
    ReturnRefused {
        note: String,
    },
    ExtensionRequested {
        limit: Limit,
        reason: String,
        #[schema(value_type = String, format = DateTime)]
        proposed_due: Instant,
    },
    ExtensionApproved {
        note: String,
        #[schema(value_type = String, format = DateTime)]
        new_due: Instant,
    },
    ExtensionRefused {
        note: String,
    },
    Whistled {
        no: u32,
        units: Vec<UnitId>,
        matter: String,
        #[schema(value_type = String, format = DateTime)]
        report_by: Instant,
    },
    ReportedIn {
        no: u32,
        unit: UnitId,
        note: String,
        late: bool,
    },
    AssistOpinionGiven {
        unit: UnitId,
        opinion: String,
        late: bool,
    },
    Replied {
        reply: Reply,
        late: bool,
        /// A pending extension request lapses when the unit replies.
        extension_withdrawn: bool,
    },
    Visited {
        visit: ReturnVisit,
    },
    Closed {
        note: String,
        without_visit: bool,
    },
    RedoOrdered {
        cause: RedoCause,
        reason: String,
        #[schema(value_type = String, format = DateTime)]
        reply_due: Instant,
    },
    MergedInto {
        master: AppealId,
        number: AppealNumber,
    },
    DuplicateLinked {
        duplicate: AppealId,
        number: AppealNumber,
    },
    Supervised {
        reason: SuperviseReason,
        note: String,
        /// For overdue supervision: the deadline that ran out.
        #[schema(value_type = Option<String>, format = DateTime)]
        deadline: Option<Instant>,
    },
    Commented {
        text: String,
    },
    /// Provisional deadlines computed again when `year`'s holiday notice was loaded.
    DeadlinesRecomputed {
        year: i32,
        changes: Vec<DeadlineChange>,
    },
    /// The petitioner received the notice of appeal version `document` on `received_on`.
    DocumentReceived {
        document: u64,
        #[schema(value_type = String, format = Date)]
        received_on: chrono::NaiveDate,
    },
    /// Not accepted (Art 23): the case ends with a 不予受理告知书.
    Declined {
        declined: Declined,
    },
    /// The petitioner asked for a review of this case's opinion; the review is case `review`.
    ReviewRequested {
        link: ReviewLink,
        request: String,
    },
    HearingStarted {
        reason: String,
    },
    HearingEnded {
        note: String,
        days: u32,
        #[schema(value_type = Option<String>, format = DateTime)]
        reply_due: Option<Instant>,
    },
    /// A 调解协议书 or 和解协议书 (Art 33).
    AgreementRecorded {
        agreement: AgreementKind,
        parties: String,
        terms: String,
    },
}

impl Event {
    /// The texts people wrote in this event (replies, notes, reasons, comments), for search.
    /// Never a citizen's or an officer's name or phone, never a code, a date or a tag. Written
    /// out for every event, so a new event must decide what of it is searchable.
    pub fn free_texts(&self) -> Vec<&str> {
        // Every variant and field spelled out (no `..`): a new text cannot be missed here, and
        // `redact` masks exactly these (its test checks the two agree).
        match self {
            // The registration's texts are the appeal's own title, content and address.
            Event::Registered {
                number: _,
                appeal: _,
                regime: _,
                policy: _,
                dispatch_due: _,
                review: _,
            }
            | Event::Signed {
                owner: _,
                reply_due: _,
            }
            | Event::OwnerChanged { owner: _ }
            | Event::MergedInto {
                master: _,
                number: _,
            }
            | Event::DuplicateLinked {
                duplicate: _,
                number: _,
            }
            | Event::DeadlinesRecomputed {
                year: _,
                changes: _,
            }
            | Event::DocumentReceived {
                document: _,
                received_on: _,
            } => vec![],
            Event::AnsweredAtIntake { answer } => vec![answer],
            Event::Dispatched {
                lead: _,
                assisting: _,
                note,
                sign_due: _,
                first_contact_due: _,
                return_by: _,
                reply_due: _,
                assist_due: _,
            }
            | Event::Contacted { note }
            | Event::ReturnAccepted { note }
            | Event::ReturnRefused { note }
            | Event::ExtensionApproved { note, new_due: _ }
            | Event::ExtensionRefused { note }
            | Event::ReportedIn {
                no: _,
                unit: _,
                note,
                late: _,
            }
            | Event::Closed {
                note,
                without_visit: _,
            }
            | Event::Supervised {
                reason: _,
                note,
                deadline: _,
            } => vec![note],
            Event::Committed {
                commitment:
                    Commitment {
                        what,
                        by: _,
                        citizen_part,
                    },
            } => std::iter::once(what.as_str())
                .chain(citizen_part.as_deref())
                .collect(),
            Event::ReturnRequested { unit: _, reason }
            | Event::ExtensionRequested {
                limit: _,
                reason,
                proposed_due: _,
            }
            | Event::RedoOrdered {
                cause: _,
                reason,
                reply_due: _,
            } => vec![reason],
            Event::Whistled {
                no: _,
                units: _,
                matter,
                report_by: _,
            } => vec![matter],
            Event::Replied {
                reply:
                    Reply {
                        result: _,
                        reason,
                        text,
                        petition_outcome: _,
                        attachments,
                    },
                late: _,
                extension_withdrawn: _,
            } => std::iter::once(text.as_str())
                .chain(reason.as_deref())
                .chain(attachments.iter().map(String::as_str))
                .collect(),
            Event::Visited {
                visit:
                    ReturnVisit {
                        contacted: _,
                        resolved: _,
                        rating: _,
                        comment,
                    },
            } => vec![comment],
            Event::Commented { text } => vec![text],
            Event::AssistOpinionGiven {
                unit: _,
                opinion,
                late: _,
            } => vec![opinion],
            Event::Declined {
                declined:
                    Declined {
                        ground: _,
                        reason,
                        route,
                        prior: _,
                    },
            } => vec![reason, route],
            Event::ReviewRequested { link: _, request } => vec![request],
            Event::HearingStarted { reason } => vec![reason],
            Event::AgreementRecorded {
                agreement: _,
                parties,
                terms,
            } => vec![parties, terms],
            Event::HearingEnded {
                note,
                days: _,
                reply_due: _,
            } => vec![note],
        }
    }

    /// The stable name of the event.
    pub fn name(&self) -> &'static str {
        match self {
            Event::Registered { .. } => "registered",
            Event::AnsweredAtIntake { .. } => "answered_at_intake",
            Event::Dispatched { .. } => "dispatched",
            Event::Signed { .. } => "signed",
            Event::OwnerChanged { .. } => "owner_changed",
            Event::Committed { .. } => "committed",
            Event::Contacted { .. } => "contacted",
            Event::ReturnRequested { .. } => "return_requested",
            Event::ReturnAccepted { .. } => "return_accepted",
            Event::ReturnRefused { .. } => "return_refused",
            Event::ExtensionRequested { .. } => "extension_requested",
            Event::ExtensionApproved { .. } => "extension_approved",
            Event::ExtensionRefused { .. } => "extension_refused",
            Event::Whistled { .. } => "whistled",
            Event::ReportedIn { .. } => "reported_in",
            Event::AssistOpinionGiven { .. } => "assist_opinion_given",
            Event::Replied { .. } => "replied",
            Event::Visited { .. } => "visited",
            Event::Closed { .. } => "closed",
            Event::RedoOrdered { .. } => "redo_ordered",
            Event::MergedInto { .. } => "merged_into",
            Event::DuplicateLinked { .. } => "duplicate_linked",
            Event::Supervised { .. } => "supervised",
            Event::Commented { .. } => "commented",
            Event::DeadlinesRecomputed { .. } => "deadlines_recomputed",
            Event::DocumentReceived { .. } => "document_received",
            Event::Declined { .. } => "declined",
            Event::ReviewRequested { .. } => "review_requested",
            Event::HearingStarted { .. } => "hearing_started",
            Event::AgreementRecorded { .. } => "agreement_recorded",
            Event::HearingEnded { .. } => "hearing_ended",
        }
    }

    /// A one-line Chinese description for timelines.
    pub fn label(&self) -> &'static str {
        match self {
            Event::Registered { .. } => "受理登记",
            Event::AnsweredAtIntake { .. } => "当场答复",
            Event::Dispatched { .. } => "交办",
            Event::Signed { .. } => "签收",
            Event::OwnerChanged { .. } => "变更首席服务官",
            Event::Committed { .. } => "双向承诺",
            Event::Contacted { .. } => "联系群众",
            Event::ReturnRequested { .. } => "申请退单",
            Event::ReturnAccepted { .. } => "同意退单",
            Event::ReturnRefused { .. } => "驳回退单",
            Event::ExtensionRequested { .. } => "申请延期",
            Event::ExtensionApproved { .. } => "批准延期",
            Event::ExtensionRefused { .. } => "驳回延期",
            Event::Whistled { .. } => "吹哨",
            Event::ReportedIn { .. } => "报到",
            Event::AssistOpinionGiven { .. } => "协办意见",
            Event::Replied { .. } => "答复",
            Event::Visited { .. } => "回访",
            Event::Closed { .. } => "办结",
            Event::RedoOrdered { .. } => "重办",
            Event::MergedInto { .. } => "合并至主工单",
            Event::DuplicateLinked { .. } => "关联重复工单",
            Event::Supervised { .. } => "督办",
            Event::Commented { .. } => "备注",
            Event::DeadlinesRecomputed { .. } => "放假通知导入，期限重算",
            Event::DocumentReceived { .. } => "文书送达",
            Event::Declined { .. } => "不予受理",
            Event::ReviewRequested { .. } => "请求复查复核",
            Event::HearingStarted { .. } => "举行听证",
            Event::AgreementRecorded { agreement, .. } => match agreement {
                AgreementKind::Mediation => "调解协议",
                AgreementKind::Settlement => "和解协议",
            },
            Event::HearingEnded { .. } => "听证结束",
        }
    }
}

/// One stored step of an appeal's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EventRecord {
    pub appeal: AppealId,
    /// The appeal's version after this event (1 for the registration).
    pub version: u64,
    #[schema(value_type = String, format = DateTime)]
    pub at: Instant,
    pub actor: Actor,
    pub event: Event,
}

/// What the domain needs to know beyond the appeal itself.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub calendar: &'a Calendar,
    pub policies: &'a PolicyTable,
}

/// The form a store keeps: every field with a value, the empty ones (no value, no items, false,
/// zero) left out; it reads back as the same value (those fields default). Written by hand
/// rather than switched on inside the derived serializer, so the two forms cannot leak into each
/// other. See [`Appeal::to_stored_json`].
struct Stored<T>(T);

/// A field the stored form leaves out when it is empty.
trait Sparse: Serialize {
    fn is_empty_value(&self) -> bool;
}
impl<T: Serialize> Sparse for Option<T> {
    fn is_empty_value(&self) -> bool {
        self.is_none()
    }
}
impl<T: Serialize> Sparse for Vec<T> {
    fn is_empty_value(&self) -> bool {
        self.is_empty()
    }
}
impl Sparse for bool {
    fn is_empty_value(&self) -> bool {
        !*self
    }
}
impl Sparse for u32 {
    fn is_empty_value(&self) -> bool {
        *self == 0
    }
}

fn sparse<S: SerializeStruct, T: Sparse>(
    st: &mut S,
    name: &'static str,
    v: &T,
) -> Result<(), S::Error> {
    if v.is_empty_value() {
        st.skip_field(name)
    } else {
        st.serialize_field(name, v)
    }
}

impl Serialize for Stored<&Deadlines> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Destructured, so that a new field cannot be forgotten here.
        let Deadlines {
            dispatch,
            sign,
            first_contact,
            return_by,
            reply,
            reply_original,
            reply_started,
        } = self.0;
        let mut st = s.serialize_struct("Deadlines", 7)?;
        sparse(&mut st, "dispatch", dispatch)?;
        sparse(&mut st, "sign", sign)?;
        sparse(&mut st, "first_contact", first_contact)?;
        sparse(&mut st, "return_by", return_by)?;
        sparse(&mut st, "reply", reply)?;
        sparse(&mut st, "reply_original", reply_original)?;
        sparse(&mut st, "reply_started", reply_started)?;
        st.end()
    }
}

impl Serialize for Stored<&Appeal> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Destructured, so that a new field cannot be forgotten here.
        let Appeal {
            id,
            number,
            version,
            regime,
            kind,
            channel,
            urgency,
            category,
            title,
            content,
            place,
            citizen,
            policy,
            status,
            registered_at,
            registered_by,
            last_at,
            lead,
            assisting,
            owner,
            commitment,
            deadlines,
            dispatched_at,
            signed_at,
            first_contact_at,
            confirmed_units,
            pending_return,
            extension,
            extensions_granted,
            whistles,
            assists,
            reply,
            replied_at,
            first_replied_at,
            answered_at_intake,
            visit,
            visited_at,
            closed_at,
            closed_without_visit,
            return_count,
            redo_count,
            supervision_count,
            supervised_deadlines,
            merged_into,
            duplicates,
            dispatch_rounds,
            reply_rounds,
            documents,
            accused_units,
            accused_persons,
            review,
            reviews,
            hearings,
            declined,
            group,
            forwarded_from,
            repeat_of,
        } = self.0;
        let mut st = s.serialize_struct("Appeal", 55)?;
        st.serialize_field("id", id)?;
        st.serialize_field("number", number)?;
        st.serialize_field("version", version)?;
        st.serialize_field("regime", regime)?;
        st.serialize_field("kind", kind)?;
        st.serialize_field("channel", channel)?;
        st.serialize_field("urgency", urgency)?;
        st.serialize_field("category", category)?;
        st.serialize_field("title", title)?;
        st.serialize_field("content", content)?;
        st.serialize_field("place", place)?;
        st.serialize_field("citizen", citizen)?;
        st.serialize_field("policy", policy)?;
        st.serialize_field("status", status)?;
        st.serialize_field("registered_at", registered_at)?;
        st.serialize_field("registered_by", registered_by)?;
        st.serialize_field("last_at", last_at)?;
        sparse(&mut st, "lead", lead)?;
        sparse(&mut st, "assisting", assisting)?;
        sparse(&mut st, "owner", owner)?;
        sparse(&mut st, "commitment", commitment)?;
        st.serialize_field("deadlines", &Stored(deadlines))?;
        sparse(&mut st, "dispatched_at", dispatched_at)?;
        sparse(&mut st, "signed_at", signed_at)?;
        sparse(&mut st, "first_contact_at", first_contact_at)?;
        sparse(&mut st, "confirmed_units", confirmed_units)?;
        sparse(&mut st, "pending_return", pending_return)?;
        sparse(&mut st, "extension", extension)?;
        sparse(&mut st, "extensions_granted", extensions_granted)?;
        sparse(&mut st, "whistles", whistles)?;
        sparse(&mut st, "assists", assists)?;
        sparse(&mut st, "reply", reply)?;
        sparse(&mut st, "replied_at", replied_at)?;
        sparse(&mut st, "first_replied_at", first_replied_at)?;
        sparse(&mut st, "answered_at_intake", answered_at_intake)?;
        sparse(&mut st, "visit", visit)?;
        sparse(&mut st, "visited_at", visited_at)?;
        sparse(&mut st, "closed_at", closed_at)?;
        sparse(&mut st, "closed_without_visit", closed_without_visit)?;
        sparse(&mut st, "return_count", return_count)?;
        sparse(&mut st, "redo_count", redo_count)?;
        sparse(&mut st, "supervision_count", supervision_count)?;
        sparse(&mut st, "supervised_deadlines", supervised_deadlines)?;
        sparse(&mut st, "merged_into", merged_into)?;
        sparse(&mut st, "duplicates", duplicates)?;
        sparse(&mut st, "dispatch_rounds", dispatch_rounds)?;
        sparse(&mut st, "reply_rounds", reply_rounds)?;
        sparse(&mut st, "documents", documents)?;
        sparse(&mut st, "accused_units", accused_units)?;
        sparse(&mut st, "accused_persons", accused_persons)?;
        sparse(&mut st, "review", review)?;
        sparse(&mut st, "reviews", reviews)?;
        sparse(&mut st, "hearings", hearings)?;
        sparse(&mut st, "declined", declined)?;
        sparse(&mut st, "group", group)?;
        sparse(&mut st, "forwarded_from", forwarded_from)?;
        sparse(&mut st, "repeat_of", repeat_of)?;
        st.end()
    }
}

/// The deadlines the appeal currently runs against (as instants) and when each clock started.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Deadlines {
    #[schema(value_type = Option<String>, format = DateTime)]
    pub dispatch: Option<Instant>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub sign: Option<Instant>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub first_contact: Option<Instant>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub return_by: Option<Instant>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub reply: Option<Instant>,
    /// The reply deadline before any extension; the cap on extensions counts from it.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub reply_original: Option<Instant>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub reply_started: Option<Instant>,
}

/// The current state of an appeal: the fold of its events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Appeal {
    pub id: AppealId,
    pub number: AppealNumber,
    pub version: u64,
    pub regime: Regime,
    pub kind: Kind,
    pub channel: Channel,
    pub urgency: Urgency,
    pub category: Option<CategoryId>,
    pub title: String,
    pub content: String,
    pub place: Place,
    pub citizen: Citizen,
    pub policy: DeadlinePolicy,
    pub status: Status,
    #[schema(value_type = String, format = DateTime)]
    pub registered_at: Instant,
    pub registered_by: UserId,
    #[schema(value_type = String, format = DateTime)]
    pub last_at: Instant,
    pub lead: Option<UnitId>,
    #[serde(default)]
    pub assisting: Vec<UnitId>,
    pub owner: Option<Person>,
    pub commitment: Option<Commitment>,
    pub deadlines: Deadlines,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub dispatched_at: Option<Instant>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub signed_at: Option<Instant>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub first_contact_at: Option<Instant>,
    /// Units the centre confirmed as lead after refusing their return.
    #[serde(default)]
    pub confirmed_units: Vec<UnitId>,
    pub pending_return: Option<PendingReturn>,
    pub extension: Option<ExtensionRequest>,
    #[serde(default)]
    pub extensions_granted: u32,
    #[serde(default)]
    pub whistles: Vec<Whistle>,
    /// Every opinion assisting units were asked for, at every dispatch (the current ones are
    /// those asked at `dispatched_at`).
    #[serde(default)]
    pub assists: Vec<AssistTask>,
    pub reply: Option<Reply>,
    /// The latest reply.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub replied_at: Option<Instant>,
    /// The first reply (or the answer at intake): when the appeal first reached a reply.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub first_replied_at: Option<Instant>,
    #[serde(default)]
    pub answered_at_intake: bool,
    pub visit: Option<ReturnVisit>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub visited_at: Option<Instant>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub closed_at: Option<Instant>,
    #[serde(default)]
    pub closed_without_visit: bool,
    #[serde(default)]
    pub return_count: u32,
    #[serde(default)]
    pub redo_count: u32,
    #[serde(default)]
    pub supervision_count: u32,
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub supervised_deadlines: Vec<Instant>,
    pub merged_into: Option<(AppealId, AppealNumber)>,
    #[serde(default)]
    pub duplicates: Vec<(AppealId, AppealNumber)>,
    #[serde(default)]
    pub dispatch_rounds: Vec<DispatchRound>,
    #[serde(default)]
    pub reply_rounds: Vec<ReplyRound>,
    /// A petition's written notices, in the order issued (信访工作条例 Arts 23, 32, 34).
    #[serde(default)]
    pub documents: Vec<IssuedDocument>,
    /// 检举控告: the accused units, which never receive the matter (see
    /// [`NewAppeal::accused_units`]).
    #[serde(default)]
    pub accused_units: Vec<UnitId>,
    /// 检举控告: the accused persons' accounts, which never see the matter
    /// ([`NewAppeal::accused_persons`]).
    #[serde(default)]
    #[schema(value_type = Vec<u32>)]
    pub accused_persons: Vec<UserId>,
    /// A review case (复查 / 复核): what it reviews (信访工作条例 Arts 35–36).
    #[serde(default)]
    pub review: Option<ReviewOf>,
    /// The reviews asked for of this case's opinion.
    #[serde(default)]
    pub reviews: Vec<ReviewLink>,
    /// 复核 hearings, in order; the last may still be open.
    #[serde(default)]
    pub hearings: Vec<Hearing>,
    /// Not accepted (Art 23).
    #[serde(default)]
    pub declined: Option<Declined>,
    /// 集体访 (Art 20).
    #[serde(default)]
    pub group: Option<GroupVisit>,
    /// 上级转送; 越级 when from above the level over the county (Art 19).
    #[serde(default)]
    pub forwarded_from: Option<ForwardedFrom>,
    /// 重复信访 (Art 19): the earlier accepted petition, here or elsewhere.
    #[serde(default)]
    pub repeat_of: Option<RepeatOf>,
}

const MAX_TEXT: usize = 10_000;
const MAX_SHORT: usize = 2_000;

fn text(field: &'static str, s: &str, required: bool, max: usize) -> Result<(), DomainError> {
    if required && s.trim().is_empty() {
        return Err(DomainError::invalid(field, "不能为空"));
    }
    if s.chars().count() > max {
        return Err(DomainError::invalid(field, format!("不能超过{max}字")));
    }
    if s.chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(DomainError::invalid(field, "含有不可见的控制字符"));
    }
    Ok(())
}

fn check_units(field: &'static str, lead: UnitId, assisting: &[UnitId]) -> Result<(), DomainError> {
    let mut seen = vec![lead];
    for u in assisting {
        if seen.contains(u) {
            return Err(DomainError::invalid(field, "协办单位重复或与主办单位相同"));
        }
        seen.push(*u);
    }
    if assisting.len() > 20 {
        return Err(DomainError::invalid(field, "协办单位不能超过20个"));
    }
    Ok(())
}

/// A registration the domain has accepted, waiting for its id and number
/// ([`Appeal::prepare_registration`]).
#[derive(Debug, Clone)]
pub struct PreparedRegistration {
    new: NewAppeal,
    actor: Actor,
    at: Instant,
    regime: Regime,
    policy: DeadlinePolicy,
    dispatch_due: Instant,
}

/// A review request the domain has accepted ([`Appeal::prepare_review`]), waiting for the review
/// case's id and number.
#[derive(Debug, Clone)]
pub struct PreparedReview {
    original: Appeal,
    request: String,
    reviewer: UnitId,
    link: ReviewOf,
    new: NewAppeal,
    policy: DeadlinePolicy,
    dispatched: Event,
    actor: Actor,
    at: Instant,
}

/// What a review request writes: the reviewed case with its `review_requested` step, and the
/// new review case (registered and dispatched).
#[derive(Debug, Clone)]
pub struct ReviewWrite {
    pub original: (Appeal, Vec<EventRecord>),
    pub review: (Appeal, Vec<EventRecord>),
}

impl PreparedReview {
    pub fn complete(self, id: AppealId, number: AppealNumber) -> ReviewWrite {
        let (at, actor) = (self.at, self.actor);
        let record = |appeal: AppealId, version: u64, event: Event| EventRecord {
            appeal,
            version,
            at,
            actor: actor.clone(),
            event,
        };
        let registered = record(
            id,
            1,
            Event::Registered {
                number,
                appeal: Box::new(self.new),
                regime: Regime::Petition,
                policy: Box::new(self.policy),
                dispatch_due: at,
                review: Some(self.link.clone()),
            },
        );
        let mut review = Appeal::from_registration(&registered).expect("a registration event");
        let dispatched = record(id, 2, self.dispatched);
        review.apply(&dispatched);
        let mut original = self.original;
        let requested = record(
            original.id,
            original.version + 1,
            Event::ReviewRequested {
                link: ReviewLink {
                    stage: self.link.stage,
                    review: id,
                    number,
                    reviewer: self.reviewer,
                    requested_on: self.link.requested_on,
                },
                request: self.request,
            },
        );
        original.apply(&requested);
        ReviewWrite {
            original: (original, vec![requested]),
            review: (review, vec![registered, dispatched]),
        }
    }
}

/// A review's answer deadline: the policy's review days from the day the request was received.
fn review_due(p: &DeadlinePolicy, r: &ReviewOf, cal: &Calendar) -> Result<Instant, DomainError> {
    Ok(p.redo_reply
        .due_from(cal, crate::time::end_of_day(r.requested_on))?)
}

impl PreparedRegistration {
    /// The appeal and its registration record, under the id and number the store allocated.
    pub fn complete(self, id: AppealId, number: AppealNumber) -> (Appeal, EventRecord) {
        let record = EventRecord {
            appeal: id,
            version: 1,
            at: self.at,
            actor: self.actor,
            event: Event::Registered {
                number,
                appeal: Box::new(self.new),
                regime: self.regime,
                policy: Box::new(self.policy),
                dispatch_due: self.dispatch_due,
                review: None,
            },
        };
        let appeal = Appeal::from_registration(&record).expect("a registration event");
        (appeal, record)
    }
}

impl Appeal {
    /// The appeal as a store keeps it: JSON without the fields that are empty (no value, no
    /// items, false, zero), which reads back to the same appeal. About 40% shorter for a new
    /// appeal, so more rows fit a page. The API and exports write every field
    /// (`serde_json::to_string`).
    pub fn to_stored_json(&self) -> serde_json::Result<String> {
        serde_json::to_string(&Stored(self))
    }

    /// Registers a new appeal: validates the intake, picks the policy row and computes the
    /// dispatch deadline. The store allocates `id` and `number`.
    pub fn register(
        id: AppealId,
        number: AppealNumber,
        new: NewAppeal,
        actor: &Actor,
        at: Instant,
        ctx: Context<'_>,
    ) -> Result<(Appeal, EventRecord), DomainError> {
        Ok(Appeal::prepare_registration(new, actor, at, ctx)?.complete(id, number))
    }

    /// Everything a registration decides, before the store gives it an id and a number: a
    /// refused registration never takes a number, so numbers stay consecutive.
    pub fn prepare_registration(
        new: NewAppeal,
        actor: &Actor,
        at: Instant,
        ctx: Context<'_>,
    ) -> Result<PreparedRegistration, DomainError> {
        use Role::*;
        if ![Operator, Dispatcher, GridMember, Admin, System].contains(&actor.role) {
            return Err(DomainError::RoleForbidden {
                role: actor.role,
                action: "register",
            });
        }
        text("title", &new.title, true, 200)?;
        text("content", &new.content, true, MAX_TEXT)?;
        new.place
            .validate()
            .map_err(|r| DomainError::invalid("place", r))?;
        text("place.address", &new.place.address, false, 500)?;
        if let Some(n) = &new.citizen.name {
            text("citizen.name", n, false, 100)?;
        }
        if new.citizen.phone.as_ref().is_some_and(|p| !p.is_valid()) {
            return Err(DomainError::invalid(
                "citizen.phone",
                "电话号码应为5至20位数字（可带 +、空格或短横线）",
            ));
        }
        if !new.accused_units.is_empty() && new.kind != Kind::PetitionAccusation {
            return Err(DomainError::invalid(
                "accused_units",
                "只有检举控告类信访事项可以填写被检举控告的单位",
            ));
        }
        if new.forwarded_from.is_some() && new.kind.regime() != Regime::Petition {
            return Err(DomainError::invalid(
                "forwarded_from",
                "上级转送只用于信访事项，请选择信访类别",
            ));
        }
        if let Some(r) = &new.repeat_of {
            if new.kind.regime() != Regime::Petition {
                return Err(DomainError::invalid(
                    "repeat_of",
                    "重复信访只用于信访事项，请选择信访类别",
                ));
            }
            if let Some(e) = &r.elsewhere {
                text("repeat_of.elsewhere", e, true, 100)?;
            }
            if r.earlier.is_none() && r.elsewhere.is_none() {
                return Err(DomainError::invalid(
                    "repeat_of",
                    "重复信访须写明此前受理的信访事项编号或受理机关",
                ));
            }
        }
        if let Some(g) = &new.group {
            if new.kind.regime() != Regime::Petition {
                return Err(DomainError::invalid(
                    "group",
                    "集体访只用于信访事项，请选择信访类别",
                ));
            }
            if !(2..=100_000).contains(&g.people) {
                return Err(DomainError::invalid(
                    "group.people",
                    "集体访的人数应为2人以上",
                ));
            }
            if g.representatives.is_empty() || g.representatives.len() > MAX_REPRESENTATIVES {
                return Err(DomainError::invalid(
                    "group.representatives",
                    "多人采用走访形式提出共同的信访事项的，应当推选代表，代表人数不超过5人（信访工作条例第二十条）",
                ));
            }
            if g.representatives.len() as u64 > u64::from(g.people) {
                return Err(DomainError::invalid(
                    "group.representatives",
                    "代表人数不能多于来访人数",
                ));
            }
            for r in &g.representatives {
                text("group.representatives", r, true, 100)?;
            }
        }
        if new.accused_units.len() > 10 {
            return Err(DomainError::invalid(
                "accused_units",
                "被检举控告的单位不能超过10个",
            ));
        }
        if !new.accused_persons.is_empty() && new.kind != Kind::PetitionAccusation {
            return Err(DomainError::invalid(
                "accused_persons",
                "只有检举控告类信访事项可以填写被检举控告的人员",
            ));
        }
        if new.accused_persons.len() > 10 {
            return Err(DomainError::invalid(
                "accused_persons",
                "被检举控告的人员不能超过10人",
            ));
        }
        let regime = new.kind.regime();
        let policy = ctx.policies.lookup(regime, new.kind, new.urgency).clone();
        let dispatch_due = policy.dispatch.due_from(ctx.calendar, at)?;
        Ok(PreparedRegistration {
            new,
            actor: actor.clone(),
            at,
            regime,
            policy,
            dispatch_due,
        })
    }

    fn from_registration(r: &EventRecord) -> Option<Appeal> {
        let Event::Registered {
            number,
            appeal,
            regime,
            policy,
            dispatch_due,
            review,
        } = &r.event
        else {
            return None;
        };
        Some(Appeal {
            id: r.appeal,
            number: *number,
            version: r.version,
            regime: *regime,
            kind: appeal.kind,
            channel: appeal.channel,
            urgency: appeal.urgency,
            category: appeal.category,
            title: appeal.title.clone(),
            content: appeal.content.clone(),
            place: appeal.place.clone(),
            citizen: appeal.citizen.clone(),
            policy: (**policy).clone(),
            status: Status::PendingDispatch,
            registered_at: r.at,
            registered_by: r.actor.user,
            last_at: r.at,
            lead: None,
            assisting: vec![],
            owner: None,
            commitment: None,
            deadlines: Deadlines {
                dispatch: Some(*dispatch_due),
                ..Deadlines::default()
            },
            dispatched_at: None,
            signed_at: None,
            first_contact_at: None,
            confirmed_units: vec![],
            pending_return: None,
            extension: None,
            extensions_granted: 0,
            whistles: vec![],
            assists: vec![],
            reply: None,
            replied_at: None,
            first_replied_at: None,
            answered_at_intake: false,
            visit: None,
            visited_at: None,
            closed_at: None,
            closed_without_visit: false,
            return_count: 0,
            redo_count: 0,
            supervision_count: 0,
            supervised_deadlines: vec![],
            merged_into: None,
            duplicates: vec![],
            dispatch_rounds: vec![],
            reply_rounds: vec![],
            documents: vec![],
            accused_units: appeal.accused_units.clone(),
            accused_persons: appeal.accused_persons.clone(),
            review: review.clone(),
            reviews: vec![],
            hearings: vec![],
            declined: None,
            group: appeal.group.clone(),
            forwarded_from: appeal.forwarded_from,
            repeat_of: appeal.repeat_of.clone(),
        })
    }

    /// The words a search finds an appeal by: title, content, address and every text written
    /// on it later ([`Event::free_texts`]) — not the citizen's name or phone.
    pub fn search_text(&self, history: &[EventRecord]) -> String {
        let mut out = format!("{}\n{}\n{}", self.title, self.content, self.place.address);
        for t in history.iter().flat_map(|r| r.event.free_texts()) {
            if !t.is_empty() {
                out.push('\n');
                out.push_str(t);
            }
        }
        out
    }

    /// Rebuilds an appeal from its stored history. The first record must be the registration and
    /// versions must run 1, 2, 3, … without a gap.
    pub fn from_history(records: &[EventRecord]) -> Result<Appeal, String> {
        let first = records.first().ok_or("empty history")?;
        let mut appeal = Appeal::from_registration(first)
            .ok_or("the first event of a history must be the registration")?;
        if first.version != 1 {
            return Err(format!("history starts at version {}", first.version));
        }
        for r in &records[1..] {
            if r.version != appeal.version + 1 || r.appeal != appeal.id {
                return Err(format!(
                    "event version {} follows version {}",
                    r.version, appeal.version
                ));
            }
            appeal.apply(r);
        }
        Ok(appeal)
    }

    /// Checks a command and, if it is allowed, returns the events it produces (already applied to
    /// a copy of the appeal, which is returned too). `expected_version` is the version the client
    /// saw; `None` skips the check (for internal callers that hold the current state).
    pub fn handle(
        &self,
        command: &Command,
        actor: &Actor,
        at: Instant,
        expected_version: Option<u64>,
        ctx: Context<'_>,
    ) -> Result<(Appeal, Vec<EventRecord>), DomainError> {
        self.check_version(expected_version)?;
        let events = self.decide(command, actor, at, ctx)?;
        let mut next = self.clone();
        let mut records = Vec::with_capacity(events.len());
        for event in events {
            let record = EventRecord {
                appeal: self.id,
                version: next.version + 1,
                at,
                actor: actor.clone(),
                event,
            };
            next.apply(&record);
            records.push(record);
        }
        Ok((next, records))
    }

    /// The version the client saw must be the current one (`None`: an internal caller that
    /// holds the current state).
    fn check_version(&self, expected: Option<u64>) -> Result<(), DomainError> {
        match expected {
            Some(v) if v != self.version => Err(DomainError::VersionConflict {
                expected: v,
                current: self.version,
            }),
            _ => Ok(()),
        }
    }

    fn is_lead(&self, actor: &Actor) -> bool {
        self.lead == Some(actor.unit)
    }

    fn require_lead(&self, actor: &Actor, action: &'static str) -> Result<(), DomainError> {
        if self.is_lead(actor) {
            Ok(())
        } else {
            Err(DomainError::NotLeadUnit { action })
        }
    }

    fn illegal(&self, action: &'static str) -> DomainError {
        match self.status {
            Status::Closed => DomainError::AppealClosed,
            Status::Merged => DomainError::AppealMerged,
            status => DomainError::IllegalTransition { action, status },
        }
    }

    /// 检举控告 (信访工作条例 Art 30): the matter never goes to a unit it accuses.
    fn refuse_accused(&self, field: &'static str, units: &[UnitId]) -> Result<(), DomainError> {
        if units.iter().any(|u| self.accused_units.contains(u)) {
            return Err(DomainError::invalid(
                field,
                "检举控告不得交由被检举控告的单位办理或知悉（信访工作条例第三十条），请选择其他单位",
            ));
        }
        Ok(())
    }

    /// Every unit that has a part in this appeal, sorted: the lead, the assisting units, the
    /// units called by a whistle, every unit it was dispatched to, and the units reviewing its
    /// opinion (复查 / 复核), who must read the file. A unit sees exactly these appeals (lists
    /// and detail alike).
    pub fn involved_units(&self) -> Vec<UnitId> {
        let mut units: Vec<UnitId> = self
            .lead
            .into_iter()
            .chain(self.assisting.iter().copied())
            .chain(
                self.whistles
                    .iter()
                    .flat_map(|w| w.targets.iter().map(|t| t.unit)),
            )
            .chain(self.dispatch_rounds.iter().map(|d| d.unit))
            .chain(self.reviews.iter().map(|l| l.reviewer))
            .collect();
        units.sort_unstable();
        units.dedup();
        units
    }

    /// 越级信访 (Art 19): lodged with the province or the State Bureau about a county matter.
    pub fn is_over_level(&self) -> bool {
        self.forwarded_from.is_some_and(|f| f.is_over_level())
    }

    /// 重复信访 (Art 19): a petition about a matter already accepted, here or elsewhere.
    pub fn is_repeat(&self) -> bool {
        self.repeat_of.is_some()
    }

    /// Whether a 复核 hearing is under way (the reply clock stands still).
    pub fn hearing_open(&self) -> bool {
        self.hearings.last().is_some_and(|h| h.ended_at.is_none())
    }

    /// The review this case's opinion is open to now: the stage, the opinion it would review
    /// (the latest, a correction included) and the last day the request may be received —
    /// 30 days from the day the petitioner received the opinion, counted as the Civil Code
    /// counts (信访工作条例 Art 35 for 复查, Art 36 for 复核). After a 复核 there is none.
    pub fn review_window(
        &self,
        cal: &Calendar,
    ) -> Result<(ReviewStage, &IssuedDocument, chrono::NaiveDate), DomainError> {
        if self.regime != Regime::Petition {
            return Err(DomainError::invalid(
                "regime",
                "只有信访事项可以请求复查、复核",
            ));
        }
        let (stage, kind) = match self.review.as_ref().map(|r| r.stage) {
            None => (ReviewStage::Recheck, DocumentKind::Opinion),
            Some(ReviewStage::Recheck) => (ReviewStage::Rereview, DocumentKind::RecheckOpinion),
            Some(ReviewStage::Rereview) => return Err(DomainError::ReviewFinal),
        };
        if let Some(l) = self.reviews.iter().find(|l| l.stage == stage) {
            return Err(DomainError::invalid(
                "review",
                format!("已请求{}（{}），不能重复请求", stage.label(), l.number),
            ));
        }
        let Some(doc) = self.documents.iter().rev().find(|d| d.kind == kind) else {
            return Err(DomainError::invalid(
                "document",
                format!("尚未出具{}，不能请求{}", kind.label(), stage.label()),
            ));
        };
        let Some(got) = doc.received_on else {
            return Err(DomainError::invalid(
                "document",
                format!(
                    "请先登记{}的送达日期：请求{}的30日自送达之日起算",
                    kind.label(),
                    stage.label()
                ),
            ));
        };
        Ok((stage, doc, cal.calendar_days_period(got, 30)?))
    }

    /// Decides a request for 复查 or 复核 of this case: the window (Arts 35–36), the reviewing
    /// unit (never the unit whose opinion is reviewed, nor an accused unit), and the review
    /// case — registered, dispatched to `reviewer` at once, answered within the policy's
    /// review days (`redo_reply`, 30 days by default) of the day the request was received.
    /// The store gives the review case its id and number ([`PreparedReview::complete`]).
    pub fn prepare_review(
        &self,
        req: &ReviewRequest,
        reviewer: UnitId,
        actor: &Actor,
        at: Instant,
        expected_version: Option<u64>,
        ctx: Context<'_>,
    ) -> Result<PreparedReview, DomainError> {
        self.check_version(expected_version)?;
        self.guard(Action::RequestReview, actor, at, ctx)?;
        let (stage, doc, closes) = self.review_window(ctx.calendar)?;
        text("request", &req.request, true, MAX_TEXT)?;
        let got = doc.received_on.unwrap_or(closes);
        if req.requested_on > crate::time::local_date(at) {
            return Err(DomainError::invalid(
                "requested_on",
                "收到请求的日期不能晚于今天",
            ));
        }
        if req.requested_on < got {
            return Err(DomainError::invalid(
                "requested_on",
                format!("收到请求的日期不能早于意见书送达之日（{got}）"),
            ));
        }
        if req.requested_on > closes {
            return Err(DomainError::ReviewWindowClosed {
                stage: stage.label(),
                closes,
            });
        }
        let Some(decided_by) = self.lead else {
            return Err(DomainError::invalid("lead", "这件信访事项没有办理单位"));
        };
        let earlier = self.review.as_ref().map(|r| r.decided_by);
        if reviewer == decided_by || Some(reviewer) == earlier {
            return Err(DomainError::invalid(
                "reviewer",
                format!(
                    "{}须由原办理机关的上一级机关办理，不能交由作出原意见的单位",
                    stage.label()
                ),
            ));
        }
        self.refuse_accused("reviewer", &[reviewer])?;
        let link = ReviewOf {
            stage,
            of: self.id,
            of_number: self.number,
            decided_by,
            opinion_version: doc.version,
            requested_on: req.requested_on,
        };
        let mut policy = self.policy.clone();
        policy.reply = policy.redo_reply;
        policy.reply_from = ReplyClock::Dispatch;
        let title: String = format!("{}：{}", stage.label(), self.title)
            .chars()
            .take(200)
            .collect();
        let new = NewAppeal {
            channel: self.channel,
            kind: self.kind,
            urgency: self.urgency,
            category: self.category,
            title,
            content: format!(
                "{}请求：{}\n\n（原{}：{}；原意见书 {}-{}）",
                stage.label(),
                req.request.trim(),
                if self.review.is_some() {
                    "复查事项"
                } else {
                    "信访事项"
                },
                self.number,
                self.number,
                doc.version
            ),
            place: self.place.clone(),
            citizen: self.citizen.clone(),
            accused_units: self.accused_units.clone(),
            accused_persons: self.accused_persons.clone(),
            group: self.group.clone(),
            forwarded_from: None,
            repeat_of: None,
        };
        text("content", &new.content, true, MAX_TEXT + 200)?;
        let cal = ctx.calendar;
        let dispatched = Event::Dispatched {
            lead: reviewer,
            assisting: vec![],
            note: format!("{}请求，交由上一级机关办理", stage.label()),
            sign_due: policy.sign.due_from(cal, at)?,
            first_contact_due: policy.first_contact.due_from(cal, at)?,
            return_by: policy.return_window.due_from(cal, at)?,
            reply_due: Some(review_due(&policy, &link, cal)?),
            assist_due: None,
        };
        Ok(PreparedReview {
            original: self.clone(),
            request: req.request.trim().to_string(),
            reviewer,
            link,
            new,
            policy,
            dispatched,
            actor: actor.clone(),
            at,
        })
    }

    fn dispatch_events(
        &self,
        lead: UnitId,
        assisting: &[UnitId],
        note: &str,
        at: Instant,
        ctx: Context<'_>,
    ) -> Result<Event, DomainError> {
        check_units("assisting", lead, assisting)?;
        self.refuse_accused("lead", &[lead])?;
        self.refuse_accused("assisting", assisting)?;
        text("note", note, false, MAX_SHORT)?;
        let p = &self.policy;
        let cal = ctx.calendar;
        Ok(Event::Dispatched {
            lead,
            assisting: assisting.to_vec(),
            note: note.to_string(),
            sign_due: p.sign.due_from(cal, at)?,
            first_contact_due: p.first_contact.due_from(cal, at)?,
            return_by: p.return_window.due_from(cal, at)?,
            reply_due: match (&self.review, p.reply_from) {
                // A review is answered within its days of the request's receipt (Arts 35–36).
                (Some(r), _) => Some(review_due(p, r, cal)?),
                (None, ReplyClock::Dispatch) => Some(p.reply.due_from(cal, at)?),
                (None, ReplyClock::Sign) => None,
            },
            assist_due: if assisting.is_empty() {
                None
            } else {
                Some(p.assist.due_from(cal, at)?)
            },
        })
    }

    /// The deadlines still running (not yet met), each with the instant its clock started:
    /// dispatch while waiting for the centre, signing while waiting for the unit, first contact
    /// and reply while the unit handles it. Sorted by due instant.
    pub fn running_deadlines(&self) -> Vec<(&'static str, Instant, Instant)> {
        let d = &self.deadlines;
        let mut out = Vec::new();
        let dispatched = self.dispatched_at.unwrap_or(self.registered_at);
        match self.status {
            Status::PendingDispatch => {
                if let Some(due) = d.dispatch {
                    out.push(("dispatch", self.registered_at, due));
                }
            }
            Status::Dispatched | Status::InProgress => {
                if let (Status::Dispatched, Some(due)) = (self.status, d.sign) {
                    out.push(("sign", dispatched, due));
                }
                if let (None, Some(due)) = (self.first_contact_at, d.first_contact) {
                    out.push(("first_contact", dispatched, due));
                }
                // A hearing stops the reply clock (Art 36).
                if let (Some(due), false) = (d.reply, self.hearing_open()) {
                    out.push(("reply", d.reply_started.unwrap_or(dispatched), due));
                }
            }
            _ => {}
        }
        out.sort_by_key(|(_, _, due)| *due);
        out
    }

    /// The running deadlines that `old` computed provisionally (their day was in a year whose
    /// notice was not loaded) and that come out differently on `new`, which has the notice:
    ///
    /// - a working-day deadline keeps its number of working days from its clock start (so an
    ///   extension granted in working days keeps its length too);
    /// - a calendar-day deadline keeps its last day, moved to the next working day if the notice
    ///   made it a rest day (its start, when rolled past a rest day, is not kept; never earlier);
    /// - an hour deadline does not depend on the calendar.
    ///
    /// A deadline that comes out earlier never moves to before the end of the day the notice is
    /// loaded (`at`): time that passed before the notice was published is not charged to the
    /// unit. (One already past on the provisional calendar stays where it was.)
    pub fn recomputed_deadlines(
        &self,
        old: &Calendar,
        new: &Calendar,
        at: Instant,
    ) -> Vec<DeadlineChange> {
        use crate::time::{end_of_day, local_date};
        let p = &self.policy;
        let floor = end_of_day(local_date(at));
        let mut out = Vec::new();
        for (name, start, due) in self.running_deadlines() {
            if !old.is_provisional_at(due) {
                continue;
            }
            let limit = match name {
                "dispatch" => p.dispatch,
                "sign" => p.sign,
                "first_contact" => p.first_contact,
                _ => p.reply,
            };
            let (s, d) = (local_date(start), local_date(due));
            let moved = match limit {
                Limit::WorkingDays(_) => old
                    .working_days_after(s, d)
                    .ok()
                    .and_then(|k| new.add_working_days(s, u32::try_from(k).ok()?).ok()),
                Limit::CalendarDays(_) => new.workday_on_or_after(d).ok(),
                Limit::Hours(_) => None,
            };
            let Some(day) = moved else {
                continue;
            };
            // Earlier, but never into the time before the notice was loaded.
            let computed = end_of_day(day);
            let after = if computed >= due {
                computed
            } else {
                computed.max(due.min(floor))
            };
            if after != due {
                out.push(DeadlineChange {
                    deadline: name.to_string(),
                    before: due,
                    after,
                });
            }
        }
        out
    }

    /// The running deadline that runs out first: `(start, due)`. Lists sort and colour by it.
    pub fn next_deadline(&self) -> Option<(Instant, Instant)> {
        self.running_deadlines()
            .first()
            .map(|(_, start, due)| (*start, *due))
    }

    /// The colour of the appeal: its next running deadline's state at `now`.
    pub fn deadline_state(&self, now: Instant) -> Option<crate::policy::DeadlineState> {
        let (start, due) = self.next_deadline()?;
        Some(crate::policy::DeadlineState::at(
            start,
            due,
            None,
            now,
            self.policy.due_soon_percent,
        ))
    }

    /// The earliest deadline not yet supervised as overdue — the lead's running clocks, the
    /// open report-ins and assisting opinions: the deadline scanner looks only at appeals where
    /// this has passed.
    pub fn next_unsupervised_deadline(&self) -> Option<Instant> {
        self.running_deadlines()
            .into_iter()
            .map(|(_, _, due)| due)
            .chain(self.side_deadlines().into_iter().map(|(_, _, _, due)| due))
            .filter(|due| !self.supervised_deadlines.contains(due))
            .min()
    }

    /// The opinion `unit` still owes for the current dispatch, if it was asked for one.
    pub fn open_assist(&self, unit: UnitId) -> Option<&AssistTask> {
        self.assists.iter().find(|t| {
            t.unit == unit && t.given_at.is_none() && Some(t.asked_at) == self.dispatched_at
        })
    }

    /// The opinions of the current dispatch's assisting units, given or not.
    pub fn current_assists(&self) -> impl Iterator<Item = &AssistTask> {
        self.assists
            .iter()
            .filter(|t| Some(t.asked_at) == self.dispatched_at)
    }

    /// Deadlines of units other than the lead, still running while the appeal is handled:
    /// `(what, unit, start, due)` for each report-in a called unit owes and each assisting
    /// opinion not yet given. They are supervised when they run out but do not colour the
    /// appeal, which the lead's clocks do.
    pub fn side_deadlines(&self) -> Vec<(&'static str, UnitId, Instant, Instant)> {
        let mut out = Vec::new();
        if !matches!(self.status, Status::Dispatched | Status::InProgress) {
            return out;
        }
        for w in &self.whistles {
            for t in w.targets.iter().filter(|t| t.reported_at.is_none()) {
                out.push(("report_in", t.unit, w.at, w.report_by));
            }
        }
        for t in self.current_assists().filter(|t| t.given_at.is_none()) {
            out.push(("assist", t.unit, t.asked_at, t.due));
        }
        out.sort_by_key(|(_, _, _, due)| *due);
        out
    }

    /// The deadline that matters to `unit` on this appeal: the lead's next running deadline for
    /// the lead, else the earliest report-in or assisting opinion it owes. `(what, start, due)`.
    pub fn deadline_for(&self, unit: UnitId) -> Option<(&'static str, Instant, Instant)> {
        if self.lead == Some(unit) {
            return self.running_deadlines().into_iter().next();
        }
        self.side_deadlines()
            .into_iter()
            .find(|(_, u, _, _)| *u == unit)
            .map(|(what, _, start, due)| (what, start, due))
    }

    /// Every deadline an overdue supervision may be raised for at `now`: the lead's
    /// ([`Appeal::overdue_deadlines`]) and the other units' ([`Appeal::side_deadlines`]).
    pub fn supervisable_overdue(&self, now: Instant) -> Vec<Instant> {
        let mut out = self.overdue_deadlines(now);
        out.extend(
            self.side_deadlines()
                .into_iter()
                .map(|(_, _, _, due)| due)
                .filter(|due| now > *due),
        );
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The instant the appeal turns due soon (yellow), if a deadline is running.
    pub fn due_soon_at(&self) -> Option<Instant> {
        let (start, due) = self.next_deadline()?;
        let total = (due - start).num_seconds().max(0);
        Some(
            start
                + chrono::Duration::seconds(total * i64::from(self.policy.due_soon_percent) / 100),
        )
    }

    /// The deadlines that have run out at `now` without the work being done.
    pub fn overdue_deadlines(&self, now: Instant) -> Vec<Instant> {
        let d = &self.deadlines;
        let mut out = Vec::new();
        let mut check = |due: Option<Instant>, open: bool| {
            if let Some(due) = due {
                if open && now > due {
                    out.push(due);
                }
            }
        };
        check(d.dispatch, self.status == Status::PendingDispatch);
        check(d.sign, self.status == Status::Dispatched);
        check(
            d.first_contact,
            self.first_contact_at.is_none()
                && matches!(self.status, Status::Dispatched | Status::InProgress),
        );
        check(
            d.reply,
            matches!(self.status, Status::Dispatched | Status::InProgress) && !self.hearing_open(),
        );
        out
    }

    /// The actions `actor` may issue on this appeal at `at`, in [`Action::ALL`] order (internal
    /// actions left out). Each passes [`Appeal::guard`], so some payload makes it succeed; every
    /// other action is refused whatever it carries.
    pub fn available_actions(&self, actor: &Actor, at: Instant, ctx: Context<'_>) -> Vec<Action> {
        Action::ALL
            .iter()
            .copied()
            .filter(|a| !a.is_internal() && self.guard(*a, actor, at, ctx).is_ok())
            .collect()
    }

    /// Whether `actor` may issue `action` now, judged on everything but the command's payload:
    /// role, status, the actor's unit and the appeal's own state. [`Appeal::handle`] runs this
    /// first, so what the console offers and what the domain accepts cannot drift apart.
    pub fn guard(
        &self,
        action: Action,
        actor: &Actor,
        at: Instant,
        ctx: Context<'_>,
    ) -> Result<(), DomainError> {
        let name = action.name();
        if at < self.last_at {
            return Err(DomainError::TimeBeforeLastStep);
        }
        if !action.roles().contains(&actor.role) {
            return Err(DomainError::RoleForbidden {
                role: actor.role,
                action: name,
            });
        }
        // Only comments reach a closed or merged appeal.
        // Only comments (and the receipt of a notice already issued) reach a closed or merged
        // appeal.
        if self.status.is_terminal()
            && !matches!(
                (action, self.status),
                (Action::Comment | Action::RecordReceipt, _)
                    | (Action::RequestReview, Status::Closed)
            )
        {
            return Err(self.illegal(name));
        }
        // Signed-for work: only while in progress, and "sign first" while waiting to be signed.
        let in_progress = || match self.status {
            Status::InProgress => Ok(()),
            Status::Dispatched => Err(DomainError::NotSigned),
            _ => Err(self.illegal(name)),
        };
        match action {
            Action::AnswerAtIntake => {
                if self.status != Status::PendingDispatch || self.dispatched_at.is_some() {
                    return Err(self.illegal(name));
                }
                if self.kind != Kind::Consultation {
                    return Err(DomainError::invalid("kind", "只有咨询类诉求可以当场答复"));
                }
            }
            Action::Dispatch => {
                if self.status != Status::PendingDispatch {
                    return Err(self.illegal(name));
                }
            }
            Action::Sign => {
                match self.status {
                    Status::Dispatched => {}
                    Status::InProgress => return Err(DomainError::AlreadySigned),
                    _ => return Err(self.illegal(name)),
                }
                self.require_lead(actor, name)?;
            }
            Action::SetOwner => {
                if !matches!(
                    self.status,
                    Status::InProgress | Status::Replied | Status::Visited
                ) {
                    return Err(self.illegal(name));
                }
                if actor.role == Role::UnitLeader {
                    self.require_lead(actor, name)?;
                }
                if self.lead.is_none() {
                    return Err(DomainError::invalid(
                        "lead",
                        "当场答复的工单没有承办单位，无需指定首席服务官",
                    ));
                }
            }
            Action::Commit | Action::Contact => {
                in_progress()?;
                self.require_lead(actor, name)?;
            }
            Action::Return => {
                if !matches!(self.status, Status::Dispatched | Status::InProgress) {
                    return Err(self.illegal(name));
                }
                self.require_lead(actor, name)?;
                if self.confirmed_units.contains(&actor.unit) {
                    return Err(DomainError::UnitConfirmed);
                }
                if let Some(by) = self.deadlines.return_by {
                    if at > by {
                        return Err(DomainError::ReturnWindowPassed(format_local(by)));
                    }
                }
            }
            Action::DecideReturn => {
                if self.status != Status::Returned {
                    return Err(self.illegal(name));
                }
            }
            Action::RequestExtension => {
                in_progress()?;
                self.require_lead(actor, name)?;
                if let Some(r) = &self.review {
                    return Err(DomainError::invalid(
                        "limit",
                        format!(
                            "{}须自收到请求之日起30日内办结，不适用延期（信访工作条例第三十五条、第三十六条）",
                            r.stage.label()
                        ),
                    ));
                }
                if self.extension.is_some() {
                    return Err(DomainError::ExtensionPending);
                }
                let (Some(current), Some(original)) =
                    (self.deadlines.reply, self.deadlines.reply_original)
                else {
                    return Err(self.illegal(name));
                };
                // Extended as far as the policy allows: no request could be granted.
                let max = self.policy.max_extension.due_from(ctx.calendar, original)?;
                if current >= max {
                    return Err(DomainError::ExtensionTooLong(format_local(max)));
                }
            }
            Action::DecideExtension => {
                if self.status != Status::InProgress {
                    return Err(self.illegal(name));
                }
                if self.extension.is_none() {
                    return Err(DomainError::NoExtensionPending);
                }
                // For petitions the unit head approves (信访工作条例 Art 34); for the hotline the
                // centre decides.
                if actor.role == Role::UnitLeader {
                    if self.regime != Regime::Petition {
                        return Err(DomainError::RoleForbidden {
                            role: actor.role,
                            action: name,
                        });
                    }
                    self.require_lead(actor, name)?;
                }
            }
            Action::Whistle => {
                in_progress()?;
                self.require_lead(actor, name)?;
                if actor.unit_kind != UnitKind::Township {
                    return Err(DomainError::NotATownship);
                }
            }
            Action::ReportIn => {
                let mine = |w: &&Whistle| w.targets.iter().any(|t| t.unit == actor.unit);
                let due = self.whistles.iter().filter(mine).any(|w| {
                    w.targets
                        .iter()
                        .any(|t| t.unit == actor.unit && t.reported_at.is_none())
                });
                if !due {
                    return Err(
                        match (self.whistles.last(), self.whistles.iter().rfind(mine)) {
                            (None, _) => DomainError::NoReportDue,
                            (Some(last), None) => DomainError::NotWhistleTarget(last.no),
                            (_, Some(w)) => DomainError::AlreadyReported(w.no),
                        },
                    );
                }
            }
            Action::AssistOpinion => {
                if !matches!(self.status, Status::Dispatched | Status::InProgress) {
                    return Err(self.illegal(name));
                }
                if !self.assisting.contains(&actor.unit) {
                    return Err(DomainError::NotAssistingUnit);
                }
                if self.open_assist(actor.unit).is_none() {
                    return Err(DomainError::AssistOpinionGiven);
                }
            }
            Action::Reply => {
                if self.status == Status::Dispatched {
                    self.require_lead(actor, name)?;
                }
                in_progress()?;
                self.require_lead(actor, name)?;
                if self.hearing_open() {
                    return Err(DomainError::invalid(
                        "hearing",
                        "听证尚未结束，请先结束听证再出具复核意见",
                    ));
                }
            }
            Action::Decline => {
                if self.regime != Regime::Petition {
                    return Err(DomainError::invalid(
                        "regime",
                        "只有信访事项出具不予受理告知书；12345诉求请退单或答复",
                    ));
                }
                match self.status {
                    Status::Dispatched => {}
                    Status::InProgress => return Err(DomainError::AlreadySigned),
                    _ => return Err(self.illegal(name)),
                }
                self.require_lead(actor, name)?;
                if self.review.is_some() {
                    return Err(DomainError::invalid(
                        "review",
                        "复查、复核请求在期限内提出的，须作出复查（复核）意见；逾期的请求在登记时即被拒绝",
                    ));
                }
            }
            Action::RequestReview => {
                // Only an opinion that stands is reviewed: not while the case is being redone
                // or is back with the centre.
                if !matches!(
                    self.status,
                    Status::Replied | Status::Visited | Status::Closed
                ) {
                    return Err(self.illegal(name));
                }
                self.review_window(ctx.calendar)?;
            }
            Action::RecordAgreement => {
                if self.kind != Kind::PetitionClaim {
                    return Err(DomainError::invalid(
                        "agreement",
                        "调解、和解协议只用于申诉求决类信访事项（信访工作条例第三十三条）",
                    ));
                }
                in_progress()?;
                self.require_lead(actor, name)?;
            }
            Action::StartHearing | Action::EndHearing => {
                if self.review.as_ref().map(|r| r.stage) != Some(ReviewStage::Rereview) {
                    return Err(DomainError::invalid(
                        "hearing",
                        "只有复核可以举行听证并中止计时（信访工作条例第三十六条）",
                    ));
                }
                in_progress()?;
                self.require_lead(actor, name)?;
                match (action, self.hearing_open()) {
                    (Action::StartHearing, true) => {
                        return Err(DomainError::invalid("hearing", "听证正在进行，请先结束"))
                    }
                    (Action::EndHearing, false) => {
                        return Err(DomainError::invalid("hearing", "没有正在进行的听证"))
                    }
                    _ => {}
                }
            }
            Action::ReturnVisit => {
                if self.status != Status::Replied {
                    return Err(self.illegal(name));
                }
            }
            Action::Close => {
                if !matches!(self.status, Status::Replied | Status::Visited) {
                    return Err(self.illegal(name));
                }
            }
            Action::Redo => {
                if !matches!(self.status, Status::Replied | Status::Visited) {
                    return Err(self.illegal(name));
                }
                if self.lead.is_none() {
                    // Answered at intake: there is no unit to redo it; the centre dispatches it.
                    return Err(DomainError::invalid(
                        "lead",
                        "当场答复的工单没有承办单位，请重新登记并交办",
                    ));
                }
            }
            Action::Merge | Action::LinkDuplicate | Action::Supervise | Action::Comment => {}
            Action::RecomputeDeadlines => {
                if self.running_deadlines().is_empty() {
                    return Err(self.illegal(name));
                }
            }
            Action::RecordReceipt => {
                if !self.documents.iter().any(|d| d.received_on.is_none()) {
                    return Err(DomainError::invalid("document", "没有待登记送达的文书"));
                }
                // A unit records the receipt of its own notices only; the centre any.
                if matches!(actor.role, Role::Handler | Role::UnitLeader) {
                    self.require_lead(actor, name)?;
                }
            }
        }
        Ok(())
    }

    fn decide(
        &self,
        command: &Command,
        actor: &Actor,
        at: Instant,
        ctx: Context<'_>,
    ) -> Result<Vec<Event>, DomainError> {
        let action = command.name();
        self.guard(command.action(), actor, at, ctx)?;
        // The guard has checked role, status, unit and everything else that does not depend
        // on what the command carries; the arms check the payload.
        let ev = match command {
            Command::AnswerAtIntake { answer } => {
                text("answer", answer, true, MAX_TEXT)?;
                vec![Event::AnsweredAtIntake {
                    answer: answer.clone(),
                }]
            }
            Command::Dispatch {
                lead,
                assisting,
                note,
            } => {
                vec![self.dispatch_events(*lead, assisting, note, at, ctx)?]
            }
            Command::Sign { owner } => {
                let owner = owner.clone().unwrap_or_else(|| actor.person());
                if owner.unit != actor.unit {
                    return Err(DomainError::invalid("owner", "首席服务官须为主办单位人员"));
                }
                text("owner.name", &owner.name, true, 100)?;
                let reply_due = match self.policy.reply_from {
                    ReplyClock::Sign => Some(self.policy.reply.due_from(ctx.calendar, at)?),
                    ReplyClock::Dispatch => None,
                };
                vec![Event::Signed { owner, reply_due }]
            }
            Command::SetOwner { owner } => {
                if Some(owner.unit) != self.lead {
                    return Err(DomainError::invalid("owner", "首席服务官须为主办单位人员"));
                }
                text("owner.name", &owner.name, true, 100)?;
                vec![Event::OwnerChanged {
                    owner: owner.clone(),
                }]
            }
            Command::Commit { commitment } => {
                text("commitment.what", &commitment.what, true, MAX_SHORT)?;
                if let Some(c) = &commitment.citizen_part {
                    text("commitment.citizen_part", c, false, MAX_SHORT)?;
                }
                if commitment.by < crate::time::local_date(at) {
                    return Err(DomainError::invalid(
                        "commitment.by",
                        "承诺日期不能早于今天",
                    ));
                }
                vec![Event::Committed {
                    commitment: commitment.clone(),
                }]
            }
            Command::Contact { note } => {
                text("note", note, true, MAX_SHORT)?;
                vec![Event::Contacted { note: note.clone() }]
            }
            Command::Return { reason } => {
                text("reason", reason, true, MAX_SHORT)?;
                vec![Event::ReturnRequested {
                    unit: actor.unit,
                    reason: reason.clone(),
                }]
            }
            Command::DecideReturn {
                accept,
                note,
                redispatch,
            } => {
                text("note", note, !accept, MAX_SHORT)?;
                if *accept {
                    let mut evs = vec![Event::ReturnAccepted { note: note.clone() }];
                    if let Some((lead, assisting)) = redispatch {
                        evs.push(self.dispatch_events(*lead, assisting, "", at, ctx)?);
                    }
                    evs
                } else {
                    if redispatch.is_some() {
                        return Err(DomainError::invalid("redispatch", "驳回退单时不能改派"));
                    }
                    vec![Event::ReturnRefused { note: note.clone() }]
                }
            }
            Command::RequestExtension { limit, reason } => {
                text("reason", reason, true, MAX_SHORT)?;
                let (Some(current), Some(original)) =
                    (self.deadlines.reply, self.deadlines.reply_original)
                else {
                    return Err(self.illegal(action));
                };
                if matches!(
                    limit,
                    Limit::WorkingDays(0) | Limit::CalendarDays(0) | Limit::Hours(0)
                ) {
                    return Err(DomainError::invalid("limit", "延期时长必须大于0"));
                }
                if !limit.in_range() {
                    return Err(DomainError::invalid(
                        "limit",
                        format!("延期时长超出允许范围（{}）", Limit::RANGE_ZH),
                    ));
                }
                let proposed_due = limit.due_from(ctx.calendar, current)?;
                let max = self.policy.max_extension.due_from(ctx.calendar, original)?;
                if proposed_due > max {
                    return Err(DomainError::ExtensionTooLong(format_local(max)));
                }
                vec![Event::ExtensionRequested {
                    limit: *limit,
                    reason: reason.clone(),
                    proposed_due,
                }]
            }
            Command::DecideExtension { approve, note } => {
                let Some(req) = &self.extension else {
                    return Err(DomainError::NoExtensionPending);
                };
                text("note", note, !approve, MAX_SHORT)?;
                if *approve {
                    vec![Event::ExtensionApproved {
                        note: note.clone(),
                        new_due: req.proposed_due,
                    }]
                } else {
                    vec![Event::ExtensionRefused { note: note.clone() }]
                }
            }
            Command::Whistle { units, matter } => {
                self.refuse_accused("units", units)?;
                if units.is_empty() {
                    return Err(DomainError::invalid("units", "至少选择一个报到单位"));
                }
                if units.contains(&actor.unit) {
                    return Err(DomainError::invalid("units", "不能向本单位吹哨"));
                }
                check_units("units", actor.unit, units)?;
                text("matter", matter, true, MAX_SHORT)?;
                vec![Event::Whistled {
                    no: self.whistles.len() as u32 + 1,
                    units: units.clone(),
                    matter: matter.clone(),
                    report_by: self.policy.report_in.due_from(ctx.calendar, at)?,
                }]
            }
            Command::ReportIn { whistle, note } => {
                let w = self
                    .whistles
                    .iter()
                    .find(|w| w.no == *whistle)
                    .ok_or(DomainError::UnknownWhistle(*whistle))?;
                let target = w
                    .targets
                    .iter()
                    .find(|t| t.unit == actor.unit)
                    .ok_or(DomainError::NotWhistleTarget(*whistle))?;
                if target.reported_at.is_some() {
                    return Err(DomainError::AlreadyReported(*whistle));
                }
                text("note", note, false, MAX_SHORT)?;
                vec![Event::ReportedIn {
                    no: *whistle,
                    unit: actor.unit,
                    note: note.clone(),
                    late: at > w.report_by,
                }]
            }
            Command::AssistOpinion { opinion } => {
                text("opinion", opinion, true, MAX_TEXT)?;
                let task = self
                    .open_assist(actor.unit)
                    .ok_or(DomainError::AssistOpinionGiven)?;
                vec![Event::AssistOpinionGiven {
                    unit: actor.unit,
                    opinion: opinion.clone(),
                    late: at > task.due,
                }]
            }
            Command::Reply(reply) => {
                text("text", &reply.text, true, MAX_TEXT)?;
                match (&reply.result, &reply.reason) {
                    (ReplyResult::Resolved, _) => {}
                    (_, Some(r)) if !r.trim().is_empty() => text("reason", r, true, MAX_SHORT)?,
                    _ => return Err(DomainError::invalid("reason", "未完全解决的，须说明原因")),
                }
                if self.regime == Regime::Petition && reply.petition_outcome.is_none() {
                    return Err(DomainError::invalid(
                        "petition_outcome",
                        "信访事项须选择处理意见（支持/解释说明/不予支持）",
                    ));
                }
                if reply.attachments.len() > 50 {
                    return Err(DomainError::invalid("attachments", "附件不能超过50个"));
                }
                vec![Event::Replied {
                    reply: reply.clone(),
                    late: self.deadlines.reply.is_some_and(|d| at > d),
                    extension_withdrawn: self.extension.is_some(),
                }]
            }
            Command::ReturnVisit(visit) => {
                if visit.contacted != (visit.resolved.is_some() && visit.rating.is_some())
                    || (!visit.contacted && (visit.resolved.is_some() || visit.rating.is_some()))
                {
                    return Err(DomainError::VisitIncomplete);
                }
                text("comment", &visit.comment, false, MAX_SHORT)?;
                vec![Event::Visited {
                    visit: visit.clone(),
                }]
            }
            Command::Close { note } => {
                match self.status {
                    Status::Visited => {
                        // Closing over an unsatisfied rating needs a recorded reason.
                        let unsatisfied = self
                            .visit
                            .as_ref()
                            .is_some_and(|v| v.rating == Some(Rating::Unsatisfied));
                        text("note", note, unsatisfied, MAX_SHORT)?;
                        vec![Event::Closed {
                            note: note.clone(),
                            without_visit: false,
                        }]
                    }
                    Status::Replied => {
                        // Without a return visit the reason must be recorded (e.g. the citizen
                        // declined visits, anonymous appeal).
                        text("note", note, true, MAX_SHORT)?;
                        vec![Event::Closed {
                            note: note.clone(),
                            without_visit: true,
                        }]
                    }
                    _ => return Err(self.illegal(action)),
                }
            }
            Command::Redo { cause, reason } => {
                text("reason", reason, true, MAX_SHORT)?;
                match (cause, self.status) {
                    (RedoCause::ReplyRejected, Status::Replied | Status::Visited) => {}
                    (RedoCause::Unsatisfied, Status::Visited) => {
                        if self.visit.as_ref().and_then(|v| v.rating) != Some(Rating::Unsatisfied) {
                            return Err(DomainError::NotUnsatisfied);
                        }
                    }
                    (RedoCause::Unsatisfied, Status::Replied) => {
                        return Err(DomainError::NotUnsatisfied)
                    }
                    _ => return Err(self.illegal(action)),
                }
                vec![Event::RedoOrdered {
                    cause: *cause,
                    reason: reason.clone(),
                    reply_due: self.policy.redo_reply.due_from(ctx.calendar, at)?,
                }]
            }
            Command::Merge { into } => {
                if into.id == self.id {
                    return Err(DomainError::MergeIntoSelf);
                }
                if into.status.is_terminal() {
                    return Err(DomainError::MasterNotOpen);
                }
                vec![Event::MergedInto {
                    master: into.id,
                    number: into.number,
                }]
            }
            Command::LinkDuplicate { duplicate, number } => {
                if *duplicate == self.id {
                    return Err(DomainError::MergeIntoSelf);
                }
                vec![Event::DuplicateLinked {
                    duplicate: *duplicate,
                    number: *number,
                }]
            }
            Command::Supervise { reason, note } => {
                text(
                    "note",
                    note,
                    *reason == SuperviseReason::LeaderOrder,
                    MAX_SHORT,
                )?;
                let deadline = match reason {
                    SuperviseReason::LeaderOrder => None,
                    SuperviseReason::Overdue => {
                        let overdue = self.supervisable_overdue(at);
                        let fresh = overdue
                            .iter()
                            .copied()
                            .find(|d| !self.supervised_deadlines.contains(d));
                        match (overdue.is_empty(), fresh) {
                            (true, _) => return Err(DomainError::NotOverdue),
                            (false, None) => return Err(DomainError::AlreadySupervised),
                            (false, Some(d)) => Some(d),
                        }
                    }
                };
                vec![Event::Supervised {
                    reason: *reason,
                    note: note.clone(),
                    deadline,
                }]
            }
            Command::Comment { text: t } => {
                text("text", t, true, MAX_SHORT)?;
                vec![Event::Commented { text: t.clone() }]
            }
            Command::RecordReceipt {
                document,
                received_on,
            } => {
                let Some(doc) = self.documents.iter().find(|d| d.version == *document) else {
                    return Err(DomainError::invalid("document", "这件信访事项没有这份文书"));
                };
                if doc.received_on.is_some() {
                    return Err(DomainError::invalid(
                        "document",
                        format!(
                            "{}已登记送达，不能改动；如有更正，请重新出具文书",
                            doc.kind.label()
                        ),
                    ));
                }
                let issued = crate::time::local_date(doc.issued_at);
                if *received_on < issued || *received_on > crate::time::local_date(at) {
                    return Err(DomainError::invalid(
                        "received_on",
                        format!("送达日期须在出具之日（{issued}）与今天之间"),
                    ));
                }
                vec![Event::DocumentReceived {
                    document: *document,
                    received_on: *received_on,
                }]
            }
            Command::Decline {
                ground,
                reason,
                route,
                prior,
            } => {
                text("reason", reason, true, MAX_SHORT)?;
                text("route", route, true, MAX_SHORT)?;
                match (ground, prior) {
                    (DeclineGround::FinalAfterReview, None) => {
                        return Err(DomainError::invalid(
                            "prior",
                            "以复核终结为由不予受理的，须填写已复核终结的信访事项编号",
                        ))
                    }
                    (DeclineGround::FinalAfterReview, Some(_)) => {}
                    (_, Some(_)) => {
                        return Err(DomainError::invalid(
                            "prior",
                            "只有以复核终结为由不予受理时才填写原复核事项编号",
                        ))
                    }
                    (_, None) => {}
                }
                vec![Event::Declined {
                    declined: Declined {
                        ground: *ground,
                        reason: reason.clone(),
                        route: route.clone(),
                        prior: *prior,
                    },
                }]
            }
            Command::RecordAgreement {
                agreement,
                parties,
                terms,
            } => {
                text("parties", parties, true, 500)?;
                text("terms", terms, true, MAX_TEXT)?;
                vec![Event::AgreementRecorded {
                    agreement: *agreement,
                    parties: parties.trim().to_string(),
                    terms: terms.trim().to_string(),
                }]
            }
            Command::StartHearing { reason } => {
                text("reason", reason, true, MAX_SHORT)?;
                vec![Event::HearingStarted {
                    reason: reason.clone(),
                }]
            }
            Command::EndHearing { note } => {
                text("note", note, false, MAX_SHORT)?;
                let Some(h) = self.hearings.last().filter(|h| h.ended_at.is_none()) else {
                    return Err(DomainError::invalid("hearing", "没有正在进行的听证"));
                };
                let (from, to) = (
                    crate::time::local_date(h.started_at),
                    crate::time::local_date(at),
                );
                // Both the first and the last day of the hearing are hearing days.
                let days = u32::try_from((to - from).num_days() + 1).unwrap_or(1);
                let reply_due = match self.deadlines.reply {
                    Some(due) => Some(
                        due.checked_add_signed(chrono::Duration::days(i64::from(days)))
                            .ok_or(crate::calendar::CalendarError::OutOfRange)?,
                    ),
                    None => None,
                };
                vec![Event::HearingEnded {
                    note: note.clone(),
                    days,
                    reply_due,
                }]
            }
            Command::RecomputeDeadlines { year, changes } => {
                if changes.is_empty() {
                    return Err(DomainError::invalid("deadlines", "没有需要重算的期限"));
                }
                let running = self.running_deadlines();
                for c in changes {
                    if !running
                        .iter()
                        .any(|(name, _, due)| *name == c.deadline && *due == c.before)
                    {
                        return Err(DomainError::invalid(
                            "deadlines",
                            format!("期限「{}」不在计时或已变动，请重新计算", c.deadline),
                        ));
                    }
                }
                vec![Event::DeadlinesRecomputed {
                    year: *year,
                    changes: changes.clone(),
                }]
            }
        };
        Ok(ev)
    }

    /// Applies one event. Events are facts: applying never fails.
    pub fn apply(&mut self, r: &EventRecord) {
        self.version = r.version;
        self.last_at = self.last_at.max(r.at);
        let at = r.at;
        // A petition's steps that the regulation answers in writing issue a notice.
        if self.regime == Regime::Petition {
            let kind = match &r.event {
                // A review case answers with its opinion only.
                Event::Signed { .. } if self.review.is_none() => Some(DocumentKind::Acceptance),
                Event::ExtensionApproved { .. } => Some(DocumentKind::Extension),
                Event::Replied { reply, .. } if reply.petition_outcome.is_some() => {
                    Some(match self.review.as_ref().map(|r| r.stage) {
                        None => DocumentKind::Opinion,
                        Some(ReviewStage::Recheck) => DocumentKind::RecheckOpinion,
                        Some(ReviewStage::Rereview) => DocumentKind::RereviewOpinion,
                    })
                }
                Event::Declined { .. } => Some(DocumentKind::NonAcceptance),
                Event::ReturnRequested { .. } => Some(DocumentKind::MisroutingObjection),
                Event::AgreementRecorded { agreement, .. } => Some(match agreement {
                    AgreementKind::Mediation => DocumentKind::MediationAgreement,
                    AgreementKind::Settlement => DocumentKind::SettlementAgreement,
                }),
                _ => None,
            };
            if let Some(kind) = kind {
                self.documents.push(IssuedDocument {
                    kind,
                    version: r.version,
                    issued_at: at,
                    received_on: None,
                });
            }
        }
        match &r.event {
            Event::Registered { .. } => {}
            Event::AnsweredAtIntake { answer } => {
                self.status = Status::Replied;
                self.answered_at_intake = true;
                self.replied_at = Some(at);
                self.first_replied_at = Some(at);
                self.first_contact_at = Some(at);
                self.reply = Some(Reply {
                    result: ReplyResult::Resolved,
                    reason: None,
                    text: answer.clone(),
                    petition_outcome: None,
                    attachments: vec![],
                });
            }
            Event::Dispatched {
                lead,
                assisting,
                sign_due,
                first_contact_due,
                return_by,
                reply_due,
                assist_due,
                ..
            } => {
                if let Some(due) = assist_due {
                    self.assists.extend(assisting.iter().map(|u| AssistTask {
                        unit: *u,
                        asked_at: at,
                        due: *due,
                        given_at: None,
                        opinion: None,
                    }));
                }
                self.status = Status::Dispatched;
                self.lead = Some(*lead);
                self.assisting = assisting.clone();
                self.dispatched_at = Some(at);
                self.signed_at = None;
                self.owner = None;
                let d = &mut self.deadlines;
                d.sign = Some(*sign_due);
                d.first_contact = Some(*first_contact_due);
                d.return_by = Some(*return_by);
                d.reply = *reply_due;
                d.reply_original = *reply_due;
                d.reply_started = reply_due.map(|_| at);
                self.dispatch_rounds.push(DispatchRound {
                    unit: *lead,
                    at,
                    sign_due: *sign_due,
                    signed_at: None,
                    returned: false,
                });
                if let Some(due) = reply_due {
                    self.reply_rounds.push(ReplyRound {
                        unit: *lead,
                        started: at,
                        due: *due,
                        replied_at: None,
                    });
                }
            }
            Event::Signed { owner, reply_due } => {
                self.status = Status::InProgress;
                self.signed_at = Some(at);
                // A review case tells the petitioner it is taken up when it is signed for.
                if self.review.is_some() {
                    self.first_contact_at.get_or_insert(at);
                }
                self.owner = Some(owner.clone());
                if let Some(round) = self.dispatch_rounds.last_mut() {
                    round.signed_at.get_or_insert(at);
                }
                if let Some(due) = reply_due {
                    let d = &mut self.deadlines;
                    d.reply = Some(*due);
                    d.reply_original = Some(*due);
                    d.reply_started = Some(at);
                    if let Some(lead) = self.lead {
                        self.reply_rounds.push(ReplyRound {
                            unit: lead,
                            started: at,
                            due: *due,
                            replied_at: None,
                        });
                    }
                }
            }
            Event::OwnerChanged { owner } => self.owner = Some(owner.clone()),
            Event::Committed { commitment } => self.commitment = Some(commitment.clone()),
            Event::Contacted { .. } => {
                self.first_contact_at.get_or_insert(at);
            }
            Event::ReturnRequested { unit, reason } => {
                self.pending_return = Some(PendingReturn {
                    unit: *unit,
                    reason: reason.clone(),
                    at,
                    status_before: self.status,
                });
                self.status = Status::Returned;
                self.return_count += 1;
            }
            Event::ReturnAccepted { .. } => {
                self.pending_return = None;
                self.status = Status::PendingDispatch;
                if let Some(round) = self.dispatch_rounds.last_mut() {
                    round.returned = true;
                }
                // The returned unit's reply clock stops: it was never theirs.
                if let (Some(round), Some(lead)) = (self.reply_rounds.last(), self.lead) {
                    if round.unit == lead && round.replied_at.is_none() {
                        self.reply_rounds.pop();
                    }
                }
                // Opinions not yet given lapse with the dispatch that asked for them.
                let asked = self.dispatched_at;
                self.assists
                    .retain(|t| t.given_at.is_some() || Some(t.asked_at) != asked);
                self.lead = None;
                self.assisting.clear();
                self.owner = None;
                self.signed_at = None;
                self.extension = None;
                let dispatch = self.deadlines.dispatch;
                self.deadlines = Deadlines {
                    dispatch,
                    ..Deadlines::default()
                };
            }
            Event::ReturnRefused { .. } => {
                if let Some(p) = self.pending_return.take() {
                    self.status = p.status_before;
                    if !self.confirmed_units.contains(&p.unit) {
                        self.confirmed_units.push(p.unit);
                    }
                }
            }
            Event::ExtensionRequested {
                limit,
                reason,
                proposed_due,
            } => {
                self.extension = Some(ExtensionRequest {
                    reason: reason.clone(),
                    limit: *limit,
                    proposed_due: *proposed_due,
                    requested_at: at,
                });
            }
            Event::ExtensionApproved { new_due, .. } => {
                self.extension = None;
                self.extensions_granted += 1;
                self.deadlines.reply = Some(*new_due);
                if let Some(round) = self.reply_rounds.last_mut() {
                    round.due = *new_due;
                }
            }
            Event::ExtensionRefused { .. } => self.extension = None,
            Event::Whistled {
                no,
                units,
                matter,
                report_by,
            } => self.whistles.push(Whistle {
                no: *no,
                by: r.actor.unit,
                at,
                matter: matter.clone(),
                report_by: *report_by,
                targets: units
                    .iter()
                    .map(|u| WhistleTarget {
                        unit: *u,
                        reported_at: None,
                        note: None,
                    })
                    .collect(),
            }),
            Event::ReportedIn { no, unit, note, .. } => {
                if let Some(t) = self
                    .whistles
                    .iter_mut()
                    .find(|w| w.no == *no)
                    .and_then(|w| w.targets.iter_mut().find(|t| t.unit == *unit))
                {
                    t.reported_at = Some(at);
                    t.note = Some(note.clone());
                }
            }
            Event::AssistOpinionGiven { unit, opinion, .. } => {
                let asked = self.dispatched_at;
                if let Some(t) = self
                    .assists
                    .iter_mut()
                    .find(|t| t.unit == *unit && t.given_at.is_none() && Some(t.asked_at) == asked)
                {
                    t.given_at = Some(at);
                    t.opinion = Some(opinion.clone());
                }
            }
            Event::Replied { reply, .. } => {
                // An opinion not yet due is no longer needed once the lead has replied; one
                // already overdue stays missed.
                self.assists.retain(|t| t.given_at.is_some() || t.due < at);
                self.status = Status::Replied;
                self.reply = Some(reply.clone());
                self.replied_at = Some(at);
                self.first_replied_at.get_or_insert(at);
                self.extension = None;
                if let Some(round) = self.reply_rounds.last_mut() {
                    round.replied_at.get_or_insert(at);
                }
            }
            Event::Visited { visit } => {
                self.status = Status::Visited;
                self.visit = Some(visit.clone());
                self.visited_at = Some(at);
            }
            Event::Closed { without_visit, .. } => {
                self.status = Status::Closed;
                self.closed_at = Some(at);
                self.closed_without_visit = *without_visit;
            }
            Event::RedoOrdered { reply_due, .. } => {
                self.status = Status::InProgress;
                self.redo_count += 1;
                self.visit = None;
                self.visited_at = None;
                let d = &mut self.deadlines;
                d.reply = Some(*reply_due);
                d.reply_original = Some(*reply_due);
                d.reply_started = Some(at);
                if let Some(lead) = self.lead {
                    self.reply_rounds.push(ReplyRound {
                        unit: lead,
                        started: at,
                        due: *reply_due,
                        replied_at: None,
                    });
                }
            }
            Event::MergedInto { master, number } => {
                self.status = Status::Merged;
                self.merged_into = Some((*master, *number));
                self.extension = None;
                self.pending_return = None;
            }
            Event::DuplicateLinked { duplicate, number } => {
                self.duplicates.push((*duplicate, *number));
            }
            Event::Supervised { deadline, .. } => {
                self.supervision_count += 1;
                if let Some(d) = deadline {
                    self.supervised_deadlines.push(*d);
                }
            }
            Event::Commented { .. } => {}
            Event::DocumentReceived {
                document,
                received_on,
            } => {
                if let Some(d) = self.documents.iter_mut().find(|d| d.version == *document) {
                    d.received_on = Some(*received_on);
                }
            }
            Event::Declined { declined } => {
                self.status = Status::Closed;
                self.closed_at = Some(at);
                self.declined = Some(declined.clone());
                // The decision on acceptance was taken: it counts for timely acceptance.
                if let Some(round) = self.dispatch_rounds.last_mut() {
                    round.signed_at.get_or_insert(at);
                }
            }
            Event::ReviewRequested { link, .. } => self.reviews.push(link.clone()),
            // The agreement is the document issued above; the case goes on to its reply.
            Event::AgreementRecorded { .. } => {}
            Event::HearingStarted { reason } => self.hearings.push(Hearing {
                reason: reason.clone(),
                started_at: at,
                ended_at: None,
                note: None,
                days: 0,
            }),
            Event::HearingEnded {
                note,
                days,
                reply_due,
            } => {
                if let Some(h) = self.hearings.last_mut() {
                    h.ended_at = Some(at);
                    h.note = Some(note.clone());
                    h.days = *days;
                }
                if let Some(due) = reply_due {
                    let before = self.deadlines.reply;
                    self.deadlines.reply = Some(*due);
                    if let Some(r) = self
                        .reply_rounds
                        .last_mut()
                        .filter(|r| Some(r.due) == before && r.replied_at.is_none())
                    {
                        r.due = *due;
                    }
                }
            }
            Event::DeadlinesRecomputed { changes, .. } => {
                for c in changes {
                    let d = &mut self.deadlines;
                    match c.deadline.as_str() {
                        "dispatch" => d.dispatch = Some(c.after),
                        "first_contact" => d.first_contact = Some(c.after),
                        "sign" => {
                            d.sign = Some(c.after);
                            if let Some(r) = self
                                .dispatch_rounds
                                .last_mut()
                                .filter(|r| r.sign_due == c.before)
                            {
                                r.sign_due = c.after;
                            }
                        }
                        "reply" => {
                            d.reply = Some(c.after);
                            if d.reply_original == Some(c.before) {
                                d.reply_original = Some(c.after);
                            }
                            if let Some(r) = self
                                .reply_rounds
                                .last_mut()
                                .filter(|r| r.due == c.before && r.replied_at.is_none())
                            {
                                r.due = c.after;
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
    }
}
