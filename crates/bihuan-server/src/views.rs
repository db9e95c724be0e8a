//! The typed answers about appeals, shared by the JSON API and the console.
//!
//! A view is built only through a [`Disclosure`]: the decision whether this reader may see the
//! citizen's personal data. Without it, every view is made from the domain's
//! [`Redact::redacted`] copy (citizen masked, personal numbers in every free text masked), so
//! masking happens by construction; a field added to an appeal or an event does not compile
//! until `bihuan_domain::redact` says whether it can carry personal data. Lists and details are
//! different types ([`AppealSummary`] leaves out the policy row and the rounds), and each field
//! of a list row is named here.

use bihuan_domain::appeal::{
    mask_free_text, AppealId, AppealNumber, Citizen, Commitment, Person, Place, UserId,
};
use bihuan_domain::category::CategoryId;
use bihuan_domain::lifecycle::{
    Appeal, AssistTask, Deadlines, Event, EventRecord, ExtensionRequest, PendingReturn, Reply,
    ReturnVisit, Role, Status, Whistle,
};
use bihuan_domain::org::UnitId;
use bihuan_domain::policy::DeadlineState;
use bihuan_domain::redact::Redact;
use bihuan_domain::time::Instant;
use bihuan_domain::{Channel, Kind, Regime, Urgency};
use serde::Serialize;

use crate::auth::Caller;

/// Whether a reader may see the citizen's personal data on this appeal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disclosure {
    Full,
    Masked,
}

impl Disclosure {
    /// The rule ([`crate::appeals::sees_personal_data`]) for this caller, appeal and page.
    pub fn for_caller(c: &Caller, a: &Appeal, in_list: bool) -> Disclosure {
        if crate::appeals::sees_personal_data(c, a, in_list) {
            Disclosure::Full
        } else {
            Disclosure::Masked
        }
    }

    pub fn is_full(self) -> bool {
        self == Disclosure::Full
    }

    /// The appeal as this reader may see it.
    pub fn appeal(self, a: &Appeal) -> Appeal {
        match self {
            Disclosure::Full => a.clone(),
            Disclosure::Masked => a.redacted(),
        }
    }

    /// The history as this reader may see it.
    pub fn records(self, records: Vec<EventRecord>) -> Vec<EventRecord> {
        match self {
            Disclosure::Full => records,
            Disclosure::Masked => records.iter().map(Redact::redacted).collect(),
        }
    }

    /// A free text (a file name, say) as this reader may see it.
    pub fn text(self, s: &str) -> String {
        match self {
            Disclosure::Full => s.to_string(),
            Disclosure::Masked => mask_free_text(s).into_owned(),
        }
    }
}

/// What every view of an appeal adds to its fields: the status in Chinese and where its
/// running deadline stands now.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Standing {
    pub status_label: &'static str,
    pub deadline_state: Option<DeadlineState>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_due: Option<Instant>,
    /// 预计：正在计时的期限中，落在尚未导入国务院放假通知的年份、按周末和法定节假日预计的
    /// （dispatch、sign、first_contact、reply）；导入该年通知后重新计算
    pub provisional: Vec<&'static str>,
}

impl Standing {
    fn of(a: &Appeal, now: Instant, cal: &bihuan_domain::Calendar) -> Standing {
        Standing {
            status_label: a.status.label(),
            deadline_state: a.deadline_state(now),
            next_due: a.next_deadline().map(|(_, due)| due),
            provisional: a
                .running_deadlines()
                .into_iter()
                .filter(|(_, _, due)| cal.is_provisional_at(*due))
                .map(|(name, _, _)| name)
                .collect(),
        }
    }
}

/// An appeal in a list: everything but its policy row and its dispatch, reply and supervision
/// rounds (the detail has those).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AppealSummary {
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
    pub status: Status,
    #[schema(value_type = String, format = DateTime)]
    pub registered_at: Instant,
    pub registered_by: UserId,
    #[schema(value_type = String, format = DateTime)]
    pub last_at: Instant,
    pub lead: Option<UnitId>,
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
    pub confirmed_units: Vec<UnitId>,
    pub pending_return: Option<PendingReturn>,
    pub extension: Option<ExtensionRequest>,
    pub extensions_granted: u32,
    pub whistles: Vec<Whistle>,
    pub assists: Vec<AssistTask>,
    pub reply: Option<Reply>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub replied_at: Option<Instant>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub first_replied_at: Option<Instant>,
    pub answered_at_intake: bool,
    pub visit: Option<ReturnVisit>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub visited_at: Option<Instant>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub closed_at: Option<Instant>,
    pub closed_without_visit: bool,
    pub return_count: u32,
    pub redo_count: u32,
    pub supervision_count: u32,
    pub merged_into: Option<(AppealId, AppealNumber)>,
    pub duplicates: Vec<(AppealId, AppealNumber)>,
    /// A review case (复查 / 复核): what it reviews.
    pub review: Option<bihuan_domain::lifecycle::ReviewOf>,
    /// 集体访: how many came, and their representatives (信访工作条例 Art 20).
    pub group: Option<bihuan_domain::lifecycle::GroupVisit>,
    /// 上级转送 (越级 when from the province or the State Bureau, Art 19).
    pub forwarded_from: Option<bihuan_domain::lifecycle::ForwardedFrom>,
    /// 重复信访: the matter accepted before, here or elsewhere (Art 19).
    pub repeat_of: Option<bihuan_domain::lifecycle::RepeatOf>,
    #[serde(flatten)]
    pub standing: Standing,
}

impl AppealSummary {
    pub fn new(
        a: &Appeal,
        disclosure: Disclosure,
        now: Instant,
        cal: &bihuan_domain::Calendar,
    ) -> AppealSummary {
        let standing = Standing::of(a, now, cal);
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
            policy: _,
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
            supervised_deadlines: _,
            merged_into,
            duplicates,
            dispatch_rounds: _,
            reply_rounds: _,
            documents: _,
            accused_units: _,
            accused_persons: _,
            review,
            reviews: _,
            hearings: _,
            declined: _,
            group,
            forwarded_from,
            repeat_of,
        } = disclosure.appeal(a);
        AppealSummary {
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
            merged_into,
            duplicates,
            review,
            group,
            forwarded_from,
            repeat_of,
            standing,
        }
    }
}

/// An appeal as its detail page and the answer to an action show it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AppealView {
    #[serde(flatten)]
    pub appeal: Appeal,
    #[serde(flatten)]
    pub standing: Standing,
    /// The history, oldest first (the detail only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeline: Option<Vec<TimelineEntry>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attachments: Option<Vec<AttachmentView>>,
    /// What this reader may do now: the domain's guard (the detail only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actions: Option<Vec<&'static str>>,
}

impl AppealView {
    pub fn new(
        a: &Appeal,
        disclosure: Disclosure,
        now: Instant,
        cal: &bihuan_domain::Calendar,
    ) -> AppealView {
        AppealView {
            standing: Standing::of(a, now, cal),
            appeal: disclosure.appeal(a),
            timeline: None,
            attachments: None,
            actions: None,
        }
    }

    /// With its history, files and the reader's actions: the detail.
    pub fn detail(
        a: &Appeal,
        disclosure: Disclosure,
        now: Instant,
        cal: &bihuan_domain::Calendar,
        history: Vec<EventRecord>,
        files: Vec<bihuan_store::Attachment>,
        actions: Vec<&'static str>,
    ) -> AppealView {
        let mut v = AppealView::new(a, disclosure, now, cal);
        v.timeline = Some(
            disclosure
                .records(history)
                .into_iter()
                .map(TimelineEntry::from)
                .collect(),
        );
        v.attachments = Some(
            files
                .iter()
                .map(|f| AttachmentView::new(f, disclosure))
                .collect(),
        );
        v.actions = Some(actions);
        v
    }
}

/// One step of the history.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TimelineEntry {
    pub version: u64,
    #[schema(value_type = String, format = DateTime)]
    pub at: Instant,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub label: &'static str,
    pub actor: ActorView,
    pub event: Event,
}

impl From<EventRecord> for TimelineEntry {
    /// From a record already shown as the reader may see it ([`Disclosure::records`]).
    fn from(r: EventRecord) -> TimelineEntry {
        TimelineEntry {
            version: r.version,
            at: r.at,
            kind: r.event.name(),
            label: r.event.label(),
            actor: ActorView {
                user: r.actor.user,
                name: r.actor.name,
                role: r.actor.role,
                role_label: r.actor.role.label(),
                unit: r.actor.unit,
            },
            event: r.event,
        }
    }
}

/// Who took a step: an official, by name.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ActorView {
    pub user: UserId,
    pub name: String,
    pub role: Role,
    pub role_label: &'static str,
    pub unit: UnitId,
}

/// A file of the appeal; its name is free text, masked like the others.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AttachmentView {
    pub id: u64,
    pub appeal: AppealId,
    pub name: String,
    pub mime: String,
    pub size: u64,
    pub sha256: String,
    pub uploaded_by: UserId,
    #[schema(value_type = String, format = DateTime)]
    pub at: Instant,
}

impl AttachmentView {
    pub fn new(f: &bihuan_store::Attachment, disclosure: Disclosure) -> AttachmentView {
        let bihuan_store::Attachment {
            id,
            appeal,
            name,
            mime,
            size,
            sha256,
            uploaded_by,
            at,
        } = f;
        AttachmentView {
            id: *id,
            appeal: *appeal,
            name: disclosure.text(name),
            mime: mime.clone(),
            size: *size,
            sha256: sha256.clone(),
            uploaded_by: *uploaded_by,
            at: *at,
        }
    }
}

/// A list answer: `{"items": [...]}`.
#[derive(Debug, Serialize)]
pub struct Items<T> {
    pub items: Vec<T>,
}

/// A unit of the county, with its place in the tree.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UnitView {
    pub id: UnitId,
    pub name: String,
    pub kind: bihuan_domain::org::UnitKind,
    pub kind_label: &'static str,
    pub parent: Option<UnitId>,
    pub aliases: Vec<String>,
    /// From the county down, e.g. `某县/城关镇/东街村`.
    pub path: Option<String>,
}

/// A category, with its level (1–3) and path.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CategoryView {
    pub id: CategoryId,
    pub name: String,
    pub parent: Option<CategoryId>,
    pub level: Option<u8>,
    pub path: Option<String>,
}

/// A user account (never its password).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserView {
    pub id: UserId,
    pub login: String,
    pub name: String,
    pub role: Role,
    pub role_label: &'static str,
    pub unit: UnitId,
    pub active: bool,
}

impl UserView {
    pub fn new(u: &bihuan_store::User) -> UserView {
        UserView {
            id: u.id,
            login: u.login.clone(),
            name: u.name.clone(),
            role: u.role,
            role_label: u.role.label(),
            unit: u.unit,
            active: u.active,
        }
    }
}

/// The short answer to a registration: what the caller needs to tell the citizen and to act
/// next (the whole appeal is one GET away).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Registration<'a> {
    /// False when the Idempotency-Key named an appeal registered before.
    pub created: bool,
    pub deadline_state: Option<DeadlineState>,
    pub deadlines: &'a Deadlines,
    pub id: AppealId,
    pub number: AppealNumber,
    pub policy: &'a bihuan_domain::policy::DeadlinePolicy,
    pub regime: Regime,
    pub status: Status,
    pub status_label: &'static str,
    pub version: u64,
}

/// An API token as administrators see it: never the token itself.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenView {
    /// What `DELETE /api/v1/tokens/{id}` takes.
    pub id: String,
    pub name: String,
    pub user: UserId,
    pub login: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Instant,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Instant>,
    pub expired: bool,
}

/// A new API token: shown this once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenCreated {
    pub token: String,
    pub id: String,
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Instant,
    pub user: UserView,
    pub note: &'static str,
}

/// One line of the audit log.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditLine {
    pub id: u64,
    #[schema(value_type = String, format = DateTime)]
    pub at: Instant,
    pub user: Option<UserId>,
    pub login: String,
    /// `login`, `login_failed`, `view_personal`, `export`, `admin_change`.
    pub action: String,
    pub target: String,
    pub address: String,
    pub detail: String,
}

/// A page of the audit log, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditLine>,
    /// Pass as `before` for the next page; none when this is the last.
    pub next_before: Option<u64>,
}

/// A holiday year in force.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CalendarYear {
    pub year: i32,
    /// The State Council notices it comes from.
    pub papers: Vec<String>,
    pub days: Vec<SpecialDayView>,
}

/// A day the notice moves: a holiday (`off`) or a make-up working day.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SpecialDayView {
    pub date: chrono::NaiveDate,
    pub name: String,
    pub off: bool,
}

/// The answer to loading a year: how many special days it has.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CalendarLoaded {
    pub year: i32,
    pub days: usize,
    /// 导入后按通知重算了预计期限的在办工单数
    pub recomputed_appeals: u64,
    /// 重算后变动的期限个数
    pub recomputed_deadlines: u64,
}

/// `date` plus `days` working days (the start day not counted).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WorkingDaysAdded {
    pub date: chrono::NaiveDate,
    pub days: u32,
    pub result: chrono::NaiveDate,
    /// 预计：结果所在年份的放假通知尚未导入，按周末和法定节假日推算
    pub provisional: bool,
}

/// A period of days a page's figures cover, as a query gives it (`from`, `to`; inclusive).
#[derive(Debug, Clone, Copy, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct DateRange {
    /// 起始日期（含；默认今年1月1日）
    #[serde(default)]
    pub from: Option<chrono::NaiveDate>,
    /// 截止日期（含；默认今天）
    #[serde(default)]
    pub to: Option<chrono::NaiveDate>,
}

impl DateRange {
    /// The days, this year so far by default; refused when they run backwards.
    pub fn resolve(
        &self,
        today: chrono::NaiveDate,
    ) -> crate::error::ApiResult<(chrono::NaiveDate, chrono::NaiveDate)> {
        use chrono::Datelike;
        let from = self.from.unwrap_or_else(|| {
            chrono::NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today)
        });
        let to = self.to.unwrap_or(today);
        if from > to {
            return Err(crate::error::ApiError::from(
                bihuan_domain::DomainError::invalid("date", "起始日期不能晚于截止日期"),
            ));
        }
        Ok((from, to))
    }
}
