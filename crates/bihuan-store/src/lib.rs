//! # bihuan-store
//!
//! Where appeals live. [`Store`] is the one trait the server talks to; [`sqlite::SqliteStore`]
//! is the embedded default (one file, WAL, group commit through one writer thread). A
//! PostgreSQL implementation follows the same trait.
//!
//! Every state change is a domain command: the store loads the current state inside its write
//! transaction, lets the domain decide, and writes the events (append-only; triggers refuse
//! updates and deletes) and the new current state in the same transaction.

use std::sync::Arc;

use async_trait::async_trait;
use bihuan_domain::appeal::{AppealId, UserId};
use bihuan_domain::calendar::YearNotice;
use bihuan_domain::category::{Category, CategoryId, CategoryTree};
use bihuan_domain::lifecycle::{Actor, Appeal, Command, EventRecord, NewAppeal, Role, Status};
use bihuan_domain::org::{Org, Unit, UnitId};
use bihuan_domain::time::Instant;
use bihuan_domain::{Calendar, Channel, DomainError, ErrorCode, Kind, PolicyTable};
use serde::{Deserialize, Serialize};

pub mod aggregates;
pub mod audit;
pub mod backup;
mod decide;
pub mod postgres;
mod query;
pub mod rollups;
pub mod sqlite;
pub mod testing;

/// What can go wrong in the store. Domain refusals pass through unchanged.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("{what} not found")]
    NotFound { what: String },
    /// A request that conflicts with stored data (a login already taken …).
    #[error("{message}")]
    Conflict { code: ErrorCode, message: String },
    /// A request the store cannot accept as given.
    #[error("{message}")]
    Invalid { code: ErrorCode, message: String },
    /// The database failed; never the client's fault.
    #[error("storage failure: {0}")]
    Internal(String),
}

impl StoreError {
    pub fn not_found(what: impl Into<String>) -> StoreError {
        StoreError::NotFound { what: what.into() }
    }
    pub fn invalid(code: ErrorCode, message: impl Into<String>) -> StoreError {
        StoreError::Invalid {
            code,
            message: message.into(),
        }
    }
    pub fn conflict(code: ErrorCode, message: impl Into<String>) -> StoreError {
        StoreError::Conflict {
            code,
            message: message.into(),
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The reference data every request needs, kept in memory and swapped whole when an
/// administrator changes it.
#[derive(Debug, Clone)]
pub struct Catalog {
    pub org: Org,
    pub categories: CategoryTree,
    pub policies: PolicyTable,
    pub calendar: Calendar,
    /// Weights of the composite score used for rankings.
    pub weights: bihuan_domain::metrics::ScoreWeights,
    /// The dispatch catalogue (派单目录).
    pub rules: Vec<bihuan_domain::catalogue::Rule>,
}

impl Catalog {
    /// The actor the domain sees for a user (the unit's kind looked up here).
    pub fn actor(&self, user: &User) -> Actor {
        Actor {
            user: user.id,
            name: user.name.clone(),
            role: user.role,
            unit: user.unit,
            unit_kind: self
                .org
                .get(user.unit)
                .map(|u| u.kind)
                .unwrap_or(bihuan_domain::org::UnitKind::County),
        }
    }

    pub fn ctx(&self) -> bihuan_domain::Context<'_> {
        bihuan_domain::Context {
            calendar: &self.calendar,
            policies: &self.policies,
        }
    }
}

/// A user account. The password hash never leaves the store except for verification.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub login: String,
    pub name: String,
    pub role: Role,
    pub unit: UnitId,
    pub active: bool,
    #[serde(skip)]
    pub password_hash: String,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub login: String,
    pub name: String,
    pub role: Role,
    pub unit: UnitId,
    pub password_hash: String,
}

/// Changes to a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserUpdate {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub unit: Option<UnitId>,
    pub active: Option<bool>,
    pub password_hash: Option<String>,
}

/// An appeal by id or by its readable number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppealRef {
    Id(AppealId),
    Number(bihuan_domain::AppealNumber),
}

impl std::fmt::Display for AppealRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppealRef::Id(id) => write!(f, "appeal {}", id.0),
            AppealRef::Number(n) => write!(f, "appeal {n}"),
        }
    }
}

/// Order of a list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    /// Newest registration first.
    #[default]
    Newest,
    /// The running deadline that runs out first, first; appeals with none last.
    DueFirst,
    /// Only the appeals whose `Deadline` is running, the one that runs out first first.
    Deadline(Deadline),
}

/// A deadline the appeals table keeps in a column of its own while it runs (see
/// `Appeal::running_deadlines`), for lists sorted by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Deadline {
    /// The centre's dispatch of a new appeal (交办期限).
    Dispatch,
    /// The unit's signing for a dispatched appeal (签收期限).
    Sign,
    /// The first contact with the citizen (首次联系期限).
    FirstContact,
    /// The reply (答复期限).
    Reply,
}

impl Deadline {
    pub const ALL: [Deadline; 4] = [
        Deadline::Dispatch,
        Deadline::Sign,
        Deadline::FirstContact,
        Deadline::Reply,
    ];

    /// The name `Appeal::running_deadlines` gives it, also its code in queries.
    pub fn code(self) -> &'static str {
        match self {
            Deadline::Dispatch => "dispatch",
            Deadline::Sign => "sign",
            Deadline::FirstContact => "first_contact",
            Deadline::Reply => "reply",
        }
    }

    pub fn parse(s: &str) -> Option<Deadline> {
        Deadline::ALL.into_iter().find(|d| d.code() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Deadline::Dispatch => "交办期限",
            Deadline::Sign => "签收期限",
            Deadline::FirstContact => "首次联系期限",
            Deadline::Reply => "答复期限",
        }
    }

    /// Its column in `appeals`.
    pub(crate) fn column(self) -> &'static str {
        match self {
            Deadline::Dispatch => "dispatch_due",
            Deadline::Sign => "sign_due",
            Deadline::FirstContact => "contact_due",
            Deadline::Reply => "reply_due",
        }
    }

    /// The running deadlines' columns of an appeal, in the order of [`Deadline::ALL`] (whole
    /// seconds; `None` when not running).
    pub(crate) fn columns_of(a: &Appeal) -> [Option<i64>; 4] {
        let running = a.running_deadlines();
        Deadline::ALL.map(|d| {
            running
                .iter()
                .find(|(name, _, _)| *name == d.code())
                .map(|(_, _, due)| due.timestamp())
        })
    }
}

/// The rows of `appeal_units` an appeal keeps: each unit involved (its id), and each accused
/// person (检举控告, Art 30) as the negative of the user's id, which no unit id is — so the
/// units' scoping reads the positive rows and [`AppealFilter::hidden_from`] the negative ones,
/// in one indexed table both backends already write with the state.
pub(crate) fn access_rows(a: &bihuan_domain::lifecycle::Appeal) -> Vec<i64> {
    a.involved_units()
        .into_iter()
        .map(|u| i64::from(u.0))
        .chain(a.accused_persons.iter().map(|p| -i64::from(p.0)))
        .collect()
}

/// Filters of the appeal list. Empty fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct AppealFilter {
    pub status: Vec<Status>,
    /// The current lead unit.
    pub lead: Option<UnitId>,
    pub township: Option<UnitId>,
    /// The category or any category below it.
    pub category: Option<CategoryId>,
    pub channel: Option<Channel>,
    pub kind: Option<Kind>,
    /// Hotline appeals or petitions (信访), by their kind.
    pub regime: Option<bihuan_domain::Regime>,
    /// Overdue at `now`: a running deadline has passed.
    pub overdue: Option<bool>,
    /// Due soon at `now`: past the due-soon share but not yet overdue.
    pub due_soon: Option<bool>,
    /// Registered at or after.
    pub from: Option<Instant>,
    /// Registered before.
    pub to: Option<Instant>,
    pub owner: Option<UserId>,
    pub registered_by: Option<UserId>,
    /// Appeals the caller raised before (same identity: phone, else name).
    pub citizen: Option<String>,
    /// Scoping: only appeals these units are involved in (lead, assisting, called by whistle,
    /// or once led). `None`: all appeals.
    pub involving: Option<Vec<UnitId>>,
    /// Leaves out the appeals that name this user as an accused person (检举控告, Art 30).
    pub hidden_from: Option<UserId>,
    pub now: Option<Instant>,
    /// Only appeals with a step at or after this instant (for metrics over a period).
    pub active_since: Option<Instant>,
    /// Only these appeals (the matches of a full-text search). `Some(vec![])` matches nothing.
    pub ids: Option<Vec<AppealId>>,
    /// Only the appeals behind one figure (a drill-down from the dashboard or a board).
    pub fact: Option<FactFilter>,
    pub sort: Sort,
}

/// The appeals one figure counts, read from their facts (see `rollups`).
#[derive(Debug, Clone, PartialEq)]
pub enum FactFilter {
    /// Appeals with a fact of `metric` on a day in `first..=last` (for `unit`, counted for that
    /// unit) in the part of the rate asked for. Pending facts count as missed once the filter's
    /// `now` has passed their deadline, as the rates count them.
    Counted {
        metric: bihuan_domain::rollup::Metric,
        first: chrono::NaiveDate,
        last: chrono::NaiveDate,
        unit: Option<UnitId>,
        part: FactPart,
    },
    /// Appeals overdue at the start of `day` (the end of a past period): a reply deadline run
    /// out before it and no reply or close before it.
    OverdueAt {
        day: chrono::NaiveDate,
        unit: Option<UnitId>,
    },
}

/// Which appeals of a rate a drill-down lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactPart {
    /// The denominator: every outcome known (or missed).
    Den,
    /// The numerator: the hits.
    Num,
    /// The denominator less the numerator: the misses.
    Missed,
}

/// One page of a list.
#[derive(Debug, Clone)]
pub struct Page {
    pub items: Vec<Appeal>,
    /// Pass back to get the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// What a review request (复查 / 复核) wrote: the reviewed case with its new step, and the review
/// case, registered and dispatched.
#[derive(Debug, Clone)]
pub struct ReviewOpened {
    pub reviewed: Appeal,
    pub review: Appeal,
}

/// The result of a registration.
#[derive(Debug, Clone)]
pub struct Registered {
    pub appeal: Appeal,
    /// `false` when an earlier call with the same idempotency key already registered it.
    pub created: bool,
}

/// Everything the store can do: one port per area, each implemented by both backends in files
/// of the same name (`sqlite/…`, `postgres/…`). The server holds an `Arc<dyn Store>`; callers
/// bring the ports into scope with `use bihuan_store::prelude::*`. Every capability beyond the
/// hotline loop is kept through [`aggregates::AggregateStore`], one port for all of them.
pub trait Store:
    AppealStore
    + ReferenceStore
    + AccountStore
    + AttachmentStore
    + SmartStore
    + RollupStore
    + OpsStore
    + aggregates::AggregateStore
    + audit::AuditStore
    + Send
    + Sync
    + 'static
{
}

impl<T> Store for T where
    T: AppealStore
        + ReferenceStore
        + AccountStore
        + AttachmentStore
        + SmartStore
        + RollupStore
        + OpsStore
        + aggregates::AggregateStore
        + audit::AuditStore
        + Send
        + Sync
        + 'static
{
}

pub(crate) use decide::{check_named_units, check_new_appeal};

/// The store's ports, for `use bihuan_store::prelude::*` where a store is called.
pub mod prelude {
    pub use crate::aggregates::AggregateStore;
    pub use crate::audit::AuditStore;
    pub use crate::{
        AccountStore, AppealStore, AttachmentStore, OpsStore, ReferenceStore, RollupStore,
        SmartStore, Store,
    };
}

/// Appeals: registration, actions, reads, lists and counts, imports, and the change feed.
#[async_trait]
pub trait AppealStore: Send + Sync {
    /// Registers an appeal. With an idempotency key, a retried call returns the appeal the
    /// first call created (`created: false`) and never a second one.
    async fn register(
        &self,
        new: NewAppeal,
        actor: Actor,
        at: Instant,
        idempotency_key: Option<String>,
    ) -> Result<Registered>;

    /// Runs one domain command on an appeal. A merge also records the duplicate on its master,
    /// in the same transaction.
    async fn act(
        &self,
        appeal: AppealRef,
        command: Command,
        actor: Actor,
        at: Instant,
        expected_version: Option<u64>,
    ) -> Result<Appeal>;

    /// A petitioner's request for 复查 or 复核 of `appeal`'s opinion
    /// ([`Appeal::prepare_review`]): the reviewed case records it and the review case is
    /// registered, numbered and dispatched to `reviewer`, all in one transaction.
    async fn request_review(
        &self,
        appeal: AppealId,
        request: bihuan_domain::lifecycle::ReviewRequest,
        reviewer: UnitId,
        actor: Actor,
        at: Instant,
        expected_version: Option<u64>,
    ) -> Result<ReviewOpened>;

    async fn appeal(&self, appeal: AppealRef) -> Result<Appeal>;

    async fn history(&self, appeal: AppealId) -> Result<Vec<EventRecord>>;

    async fn list(&self, filter: AppealFilter, cursor: Option<String>, limit: u32) -> Result<Page>;

    /// How many appeals match a filter (sort and cursor ignored).
    async fn count(&self, filter: AppealFilter) -> Result<u64>;

    /// For a filter with a [`FactFilter::Counted`]: how many facts its appeals contribute —
    /// the figure itself, which exceeds the number of appeals when one appeal counts twice (two
    /// dispatches, two reply rounds). `None` for other filters.
    async fn count_facts(&self, filter: AppealFilter) -> Result<Option<u64>>;

    /// Counts of appeals by status, for operations metrics.
    async fn count_by_status(&self) -> Result<Vec<(Status, u64)>>;

    /// Open appeals with a deadline past due at `now` that has not yet been supervised (for
    /// the deadline scanner).
    async fn overdue_ids(&self, now: Instant, limit: u32) -> Result<Vec<AppealId>>;

    /// Writes whole histories built elsewhere (the demo generator, imports), in one transaction.
    /// Each history starts with its registration; numbers must be free. A history may carry an
    /// idempotency key (an imported row's source number): a key already taken fails the batch,
    /// so callers leave out the keys [`Store::existing_keys`] names first.
    async fn import_histories(
        &self,
        histories: Vec<(Vec<EventRecord>, Option<String>)>,
    ) -> Result<u64>;

    /// Starts a bulk load (`bihuan generate`, `bihuan import`): the [`Store::import_histories`]
    /// after it write each appeal, its history and its own facts as always, but may keep the
    /// rollup sums they add in memory and write them once at [`Store::finish_bulk`] (one write
    /// per rollup row for the whole load instead of one per batch). Until then the figures leave
    /// the new appeals out; should the process stop first, the rollups are marked stale and the
    /// next open rebuilds them. A store may also write them at once (PostgreSQL does).
    async fn begin_bulk(&self) -> Result<()> {
        Ok(())
    }

    /// Ends a bulk load: writes the rollup sums it kept.
    async fn finish_bulk(&self) -> Result<()> {
        Ok(())
    }

    /// Which of these idempotency keys an appeal already carries.
    async fn existing_keys(&self, keys: Vec<String>) -> Result<std::collections::HashSet<String>>;

    /// Allocates the next appeal numbers for a month, for histories built outside the store.
    async fn allocate_numbers(&self, year: i32, month: u32, count: u32) -> Result<Vec<u32>>;

    /// The next free appeal id (for histories built outside the store).
    async fn next_appeal_id(&self) -> Result<AppealId>;

    /// Events after `after` (by event id), oldest first, at most `limit`.
    async fn changes_since(&self, after: u64, limit: u32) -> Result<Vec<Change>>;
}

/// Reference data: the catalog (organisation, categories, policies, calendar, weights, dispatch rules) and the rates entered by hand.
#[async_trait]
pub trait ReferenceStore: Send + Sync {
    /// The reference data in force.
    fn catalog(&self) -> Arc<Catalog>;

    // Reference data.
    async fn put_units(&self, units: Vec<Unit>) -> Result<()>;

    async fn put_categories(&self, categories: Vec<Category>) -> Result<()>;

    async fn put_policies(&self, policies: PolicyTable) -> Result<()>;

    /// Replaces the weights of the composite score (validated by the caller).
    async fn put_score_weights(&self, weights: bihuan_domain::metrics::ScoreWeights) -> Result<()>;

    /// Replaces the dispatch catalogue (checked by the caller against the catalog).
    async fn put_dispatch_rules(&self, rules: Vec<bihuan_domain::catalogue::Rule>) -> Result<()>;

    /// Loads (or replaces) one calendar year; it is kept and loaded again at every start.
    async fn put_calendar_year(&self, notice_json: String) -> Result<YearNotice>;

    /// Records a headline rate entered by hand (every entry is kept).
    async fn put_entered_rate(&self, rate: EnteredRate) -> Result<()>;

    /// The latest entry of each entered rate for a period (`month:2026-11` …).
    async fn entered_rates(&self, period: &str) -> Result<Vec<EnteredRate>>;
}

/// Users, their sessions and API tokens.
#[async_trait]
pub trait AccountStore: Send + Sync {
    // Users and credentials.
    async fn create_user(&self, user: NewUser) -> Result<User>;

    async fn update_user(&self, id: UserId, update: UserUpdate) -> Result<User>;

    async fn users(&self) -> Result<Vec<User>>;

    async fn user(&self, id: UserId) -> Result<User>;

    async fn user_by_login(&self, login: &str) -> Result<User>;

    /// Stores a credential (the SHA-256 of a random token): a console session that expires, or
    /// an API token that lives until revoked.
    async fn put_credential(
        &self,
        token_hash: String,
        user: UserId,
        kind: CredentialKind,
        expires_at: Option<Instant>,
        name: String,
    ) -> Result<()>;

    /// The user behind a credential, if it is valid at `now`.
    async fn credential_user(&self, token_hash: &str, now: Instant) -> Result<Option<User>>;

    async fn delete_credential(&self, token_hash: &str) -> Result<()>;

    /// Every API token (console sessions are not listed), newest first.
    async fn api_tokens(&self) -> Result<Vec<TokenInfo>>;

    /// Revokes the API token named `id` (the first [`TOKEN_ID_LEN`] characters of its hash);
    /// `false` when there is none.
    async fn revoke_api_token(&self, id: &str) -> Result<bool>;

    /// A count that moves whenever any server sharing this store revokes a credential or
    /// changes a user, so that servers can drop cached credentials. A store only one server
    /// uses may leave it at 0 (that server clears its own cache).
    fn revocations(&self) -> u64 {
        0
    }
}

/// Files attached to appeals.
#[async_trait]
pub trait AttachmentStore: Send + Sync {
    /// Stores a photo or document with an appeal, after checking its size and type.
    async fn put_attachment(&self, file: NewAttachment) -> Result<Attachment>;

    async fn attachments(&self, appeal: AppealId) -> Result<Vec<Attachment>>;

    async fn attachment(&self, id: u64) -> Result<(Attachment, Vec<u8>)>;
}

/// Routing models and the suggestions shown, for smart dispatch.
#[async_trait]
pub trait SmartStore: Send + Sync {
    // Smart dispatch: models, suggestions and the change feed derived indexes follow.
    /// Stores a trained model; returns its version (increasing).
    async fn put_model(&self, model: NewModel) -> Result<u64>;

    /// The newest model of a kind, with its bytes.
    async fn latest_model(&self, kind: &str) -> Result<Option<(ModelInfo, Vec<u8>)>>;

    /// Every stored model, newest first, without the bytes.
    async fn models(&self) -> Result<Vec<ModelInfo>>;

    /// Records what was suggested for appeals at a stage (`intake` or `dispatch`); a later
    /// suggestion for the same appeal and stage replaces the earlier one.
    async fn put_suggestions(&self, list: Vec<SuggestionRecord>) -> Result<()>;

    /// Suggestions recorded in `[from, to)`, each beside the appeal's lead unit and category now.
    async fn suggestion_outcomes(
        &self,
        from: Instant,
        to: Instant,
    ) -> Result<Vec<SuggestionOutcome>>;
}

/// The metric rollups kept beside the appeals.
#[async_trait]
pub trait RollupStore: Send + Sync {
    /// A period's summed rollups grouped by one dimension (key → sums; the key is a unit or
    /// category id, a channel or kind code, or empty for none), with pending deadlines judged
    /// at `now` and the overdue count of open appeals.
    async fn rollup(
        &self,
        q: rollups::RollupQuery,
    ) -> Result<std::collections::HashMap<String, bihuan_domain::rollup::Sums>>;

    /// Recomputes every rollup from the appeals; returns how many appeals it read.
    async fn rebuild_rollups(&self) -> Result<u64>;

    /// Every non-zero rollup row and every pending row, sorted (to compare the rollups kept
    /// incrementally with a rebuild).
    async fn rollup_dump(&self) -> Result<RollupDump>;
}

/// Backups, restores and the health of the store.
#[async_trait]
pub trait OpsStore: Send + Sync {
    /// Writes a consistent archive of everything to `path` (see [`backup`]) while the store
    /// keeps working.
    async fn backup(&self, path: std::path::PathBuf) -> Result<backup::BackupSummary>;

    /// Loads an archive into this store, which must be empty: all of it, or nothing.
    async fn restore(&self, path: std::path::PathBuf) -> Result<backup::BackupSummary>;

    /// The writer queue's current depth (for operations metrics).
    fn queue_depth(&self) -> usize;

    /// Whether the store can take writes: `Err` with the reason when its writer has stopped or
    /// the database does not answer. `/healthz` asks this.
    async fn health(&self) -> Result<()>;

    /// Write jobs whose code panicked (each was failed and rolled back; the writer went on).
    fn writer_panics(&self) -> u64 {
        0
    }
}

/// One rollup row: `(dim, g, bucket, metric, key, num, den, sum)`.
pub type RollupRow = (String, i64, i64, String, String, i64, i64, i64);

/// Rollup rows and pending rows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RollupDump {
    pub rows: Vec<RollupRow>,
    pub pending: Vec<rollups::PendingRow>,
    /// `appeal_facts`: (metric, day, unit, appeal, num, den, pending, due), sorted.
    pub facts: Vec<FactDumpRow>,
}

/// One `appeal_facts` row: (metric, day, unit, appeal, num, den, pending, due).
pub type FactDumpRow = (String, i64, i64, i64, i64, i64, i64, Option<i64>);

/// How many characters of a token's hash name it in lists and revocations (the hash of a random
/// token: knowing the start of it gives nothing away).
pub const TOKEN_ID_LEN: usize = 12;

/// The id an API token is listed and revoked by: the start of its hash.
pub fn token_id(token_hash: &str) -> String {
    token_hash.chars().take(TOKEN_ID_LEN).collect()
}

/// An API token as administrators see it: never the token, nor its whole hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    pub id: String,
    pub user: UserId,
    pub name: String,
    pub created_at: Instant,
    pub expires_at: Option<Instant>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    Session,
    ApiToken,
}

impl CredentialKind {
    fn code(self) -> &'static str {
        match self {
            CredentialKind::Session => "session",
            CredentialKind::ApiToken => "api_token",
        }
    }
}

/// The seed's five headline rates that the platform does not compute itself (诉求办理闭环率 is
/// computed from the appeals).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RateName {
    /// 政策知晓率, from surveys.
    PolicyAwareness,
    /// 行政审批效率, from the integrated-application module.
    ApprovalEfficiency,
    /// 公众安全感满意率, from surveys.
    SafetySatisfaction,
    /// 干部好评率, from surveys.
    CadreApproval,
}

impl RateName {
    pub const ALL: [RateName; 4] = [
        RateName::PolicyAwareness,
        RateName::ApprovalEfficiency,
        RateName::SafetySatisfaction,
        RateName::CadreApproval,
    ];
    pub fn code(self) -> &'static str {
        match self {
            RateName::PolicyAwareness => "policy_awareness",
            RateName::ApprovalEfficiency => "approval_efficiency",
            RateName::SafetySatisfaction => "safety_satisfaction",
            RateName::CadreApproval => "cadre_approval",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            RateName::PolicyAwareness => "政策知晓率",
            RateName::ApprovalEfficiency => "行政审批效率",
            RateName::SafetySatisfaction => "公众安全感满意率",
            RateName::CadreApproval => "干部好评率",
        }
    }
    pub fn parse(s: &str) -> Option<RateName> {
        RateName::ALL
            .into_iter()
            .find(|r| r.code() == s || r.label() == s)
    }
}

/// A headline rate as entered, shown as entered, not computed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnteredRate {
    pub period: String,
    pub name: RateName,
    /// 0 to 1.
    pub value: f64,
    pub source: String,
    pub entered_by: UserId,
    pub at: Instant,
}

/// Largest attachment accepted.
pub const MAX_ATTACHMENT_BYTES: usize = 10 * 1024 * 1024;
/// Most attachments one appeal may carry.
pub const MAX_ATTACHMENTS: usize = 30;

#[derive(Debug, Clone)]
pub struct NewAttachment {
    pub appeal: AppealId,
    pub name: String,
    pub data: Vec<u8>,
    pub uploaded_by: UserId,
    pub at: Instant,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Attachment {
    pub id: u64,
    pub appeal: AppealId,
    pub name: String,
    pub mime: String,
    pub size: u64,
    pub sha256: String,
    pub uploaded_by: UserId,
    pub at: Instant,
}

/// Checks an upload by its content, not its claimed type: JPEG, PNG, GIF, WebP, PDF, and the
/// Office formats (DOCX, XLSX, PPTX). The name's extension must say what the content is (a GIF
/// named `x.html` is refused), and the whole file must have the shape of its format, not only
/// its first bytes: an image or PDF must end as one does, an Office document must be a zip
/// holding that format's parts. Returns the kind and MIME type.
pub fn sniff(name: &str, data: &[u8]) -> Result<(&'static str, &'static str)> {
    if data.is_empty() {
        return Err(StoreError::invalid(ErrorCode::EmptyFile, "文件为空"));
    }
    if data.len() > MAX_ATTACHMENT_BYTES {
        return Err(StoreError::invalid(
            ErrorCode::FileTooLarge,
            format!("文件不能超过 {} MB", MAX_ATTACHMENT_BYTES / 1024 / 1024),
        ));
    }
    let n = name.trim();
    // Control characters, and the invisible ones that reorder or hide text (a right-to-left
    // override makes `exe.pdf` look like `fdp.exe`).
    let hidden = |c: char| {
        c.is_control()
            || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
    };
    if n.is_empty() || n.chars().count() > 200 || n.contains(['/', '\\']) || n.chars().any(hidden) {
        return Err(StoreError::invalid(ErrorCode::BadFileName, "文件名无效"));
    }
    let ext = n
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    let found = if data.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(("jpeg", "image/jpeg"))
    } else if data.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(("png", "image/png"))
    } else if data.starts_with(b"GIF87a") || data.starts_with(b"GIF89a") {
        Some(("gif", "image/gif"))
    } else if data.len() > 12 && &data[..4] == b"RIFF" && &data[8..12] == b"WEBP" {
        Some(("webp", "image/webp"))
    } else if data.starts_with(b"%PDF-") {
        Some(("pdf", "application/pdf"))
    } else if data.starts_with(b"PK\x03\x04") {
        match ext.as_str() {
            "docx" => Some((
                "docx",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            )),
            "xlsx" => Some((
                "xlsx",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )),
            "pptx" => Some((
                "pptx",
                "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            )),
            _ => None,
        }
    } else {
        None
    };
    let (kind, mime) = found.ok_or_else(|| {
        StoreError::invalid(
            ErrorCode::FileTypeNotAllowed,
            "只能上传图片（JPG、PNG、GIF、WebP）、PDF 或 Word/Excel/PowerPoint 文档",
        )
    })?;
    let extensions: &[&str] = match kind {
        "jpeg" => &["jpg", "jpeg"],
        "png" => &["png"],
        "gif" => &["gif"],
        "webp" => &["webp"],
        "pdf" => &["pdf"],
        "docx" => &["docx"],
        "xlsx" => &["xlsx"],
        _ => &["pptx"],
    };
    if !extensions.contains(&ext.as_str()) {
        return Err(StoreError::invalid(
            ErrorCode::FileTypeNotAllowed,
            format!(
                "文件名的扩展名与内容不符：内容是 {} 文件，请把扩展名改为 .{}",
                kind.to_ascii_uppercase(),
                extensions[0]
            ),
        ));
    }
    if !whole(kind, data) {
        return Err(StoreError::invalid(
            ErrorCode::FileDamaged,
            format!(
                "文件不完整或已损坏（不是完整的 {} 文件），请重新保存后上传",
                kind.to_ascii_uppercase()
            ),
        ));
    }
    Ok((kind, mime))
}

/// Whether `data` has the whole shape of `kind` (see [`sniff`]).
fn whole(kind: &str, data: &[u8]) -> bool {
    let tail = |n: usize| &data[data.len().saturating_sub(n)..];
    let has = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    match kind {
        // The end-of-image marker (some cameras pad after it).
        "jpeg" => has(tail(1024), &[0xFF, 0xD9]),
        // The header chunk first, the end chunk last.
        "png" => {
            data.len() >= 8 + 25 + 12
                && &data[12..16] == b"IHDR"
                && data.ends_with(&[0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xAE, 0x42, 0x60, 0x82])
        }
        // The trailer byte.
        "gif" => data.last() == Some(&0x3B),
        // The RIFF size covers the file (a padding byte allowed).
        "webp" => {
            let size = u32::from_le_bytes([data[4], data[5], data[6], data[7]]) as usize;
            size + 8 == data.len() || size + 9 == data.len()
        }
        "pdf" => has(tail(2048), b"%%EOF"),
        "docx" => zip_holds(data, &["[Content_Types].xml", "word/document.xml"]),
        "xlsx" => zip_holds(data, &["[Content_Types].xml", "xl/workbook.xml"]),
        "pptx" => zip_holds(data, &["[Content_Types].xml", "ppt/presentation.xml"]),
        _ => false,
    }
}

/// Whether a zip archive's central directory lists every one of `names`.
fn zip_holds(data: &[u8], names: &[&str]) -> bool {
    zip_names(data).is_some_and(|found| names.iter().all(|n| found.iter().any(|f| f == n)))
}

/// The entry names of a zip's central directory, or `None` when it has none that reads.
fn zip_names(data: &[u8]) -> Option<Vec<String>> {
    let u16_at = |i: usize| Some(u16::from_le_bytes([*data.get(i)?, *data.get(i + 1)?]) as usize);
    let u32_at = |i: usize| {
        Some(u32::from_le_bytes([
            *data.get(i)?,
            *data.get(i + 1)?,
            *data.get(i + 2)?,
            *data.get(i + 3)?,
        ]) as usize)
    };
    // The end-of-central-directory record: within the last 64 KiB (its comment) + 22 bytes.
    let from = data.len().saturating_sub(65_557);
    let eocd = (from..data.len().saturating_sub(21))
        .rev()
        .find(|&i| data[i..].starts_with(b"PK\x05\x06"))?;
    let entries = u16_at(eocd + 10)?;
    let mut at = u32_at(eocd + 16)?;
    let mut names = Vec::with_capacity(entries.min(1_000));
    for _ in 0..entries.min(10_000) {
        if !data.get(at..)?.starts_with(b"PK\x01\x02") {
            return None;
        }
        let (name_len, extra, comment) = (u16_at(at + 28)?, u16_at(at + 30)?, u16_at(at + 32)?);
        let name = data.get(at + 46..at + 46 + name_len)?;
        names.push(String::from_utf8_lossy(name).into_owned());
        at += 46 + name_len + extra + comment;
    }
    Some(names)
}

/// The identity key of a citizen as stored for look-ups: a SHA-256, so that the index holds no
/// phone number.
pub fn citizen_key(identity: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(identity.as_bytes()))
}

/// One event in the change feed that derived indexes (search, duplicates) follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    pub event: u64,
    pub appeal: AppealId,
    /// The appeal's version the event made (1: registered).
    pub version: u64,
}

/// A trained model to store.
#[derive(Debug, Clone)]
pub struct NewModel {
    /// `unit` (content → lead unit) or `category`.
    pub kind: String,
    pub created_at: Instant,
    /// Facts about the training run (JSON): texts, classes, held-out accuracy, seconds.
    pub meta: serde_json::Value,
    pub body: Vec<u8>,
}

/// A stored model without its bytes.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ModelInfo {
    pub version: u64,
    pub kind: String,
    pub created_at: Instant,
    pub meta: serde_json::Value,
    pub bytes: u64,
}

/// What was suggested for an appeal.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SuggestionRecord {
    pub appeal: AppealId,
    /// `intake` or `dispatch`.
    pub stage: String,
    pub at: Instant,
    /// The unit model's version, if one was used.
    pub model_version: Option<u64>,
    /// Suggested lead units, best first, with confidences.
    pub units: Vec<(u32, f32)>,
    /// Suggested categories, best first, with confidences.
    pub categories: Vec<(u32, f32)>,
}

/// A recorded suggestion beside what was finally chosen.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SuggestionOutcome {
    pub record: SuggestionRecord,
    pub lead: Option<u32>,
    pub category: Option<u32>,
    pub status: Status,
}

#[cfg(test)]
mod sniff_tests {
    use super::*;

    const PNG: &[u8] = crate::testing::TINY_PNG;

    /// A zip archive (stored, empty entries) holding `names`.
    fn zip(names: &[&str]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut central = Vec::new();
        for n in names {
            let offset = out.len() as u32;
            out.extend_from_slice(b"PK\x03\x04\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00");
            out.extend_from_slice(&[0; 12]);
            out.extend_from_slice(&(n.len() as u16).to_le_bytes());
            out.extend_from_slice(&[0, 0]);
            out.extend_from_slice(n.as_bytes());
            central
                .extend_from_slice(b"PK\x01\x02\x14\x00\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00");
            central.extend_from_slice(&[0; 12]);
            central.extend_from_slice(&(n.len() as u16).to_le_bytes());
            central.extend_from_slice(&[0; 12]);
            central.extend_from_slice(&offset.to_le_bytes());
            central.extend_from_slice(n.as_bytes());
        }
        let cd_offset = out.len() as u32;
        let cd_size = central.len() as u32;
        out.extend_from_slice(&central);
        out.extend_from_slice(b"PK\x05\x06\x00\x00\x00\x00");
        out.extend_from_slice(&(names.len() as u16).to_le_bytes());
        out.extend_from_slice(&(names.len() as u16).to_le_bytes());
        out.extend_from_slice(&cd_size.to_le_bytes());
        out.extend_from_slice(&cd_offset.to_le_bytes());
        out.extend_from_slice(&[0, 0]);
        out
    }

    fn code(r: Result<(&'static str, &'static str)>) -> &'static str {
        match r {
            Err(StoreError::Invalid { code, .. }) => code.as_str(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn whole_files_of_each_kind_pass() {
        assert_eq!(sniff("现场照片.png", PNG).unwrap().0, "png");
        assert_eq!(
            sniff("a.GIF", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;")
                .unwrap()
                .0,
            "gif"
        );
        assert_eq!(
            sniff("a.jpg", b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\xFF\xD9")
                .unwrap()
                .0,
            "jpeg"
        );
        assert_eq!(
            sniff("a.pdf", b"%PDF-1.7\n1 0 obj\n%%EOF\n").unwrap().0,
            "pdf"
        );
        let mut webp = b"RIFF\x00\x00\x00\x00WEBPVP8 ".to_vec();
        let size = (webp.len() - 8) as u32;
        webp[4..8].copy_from_slice(&size.to_le_bytes());
        assert_eq!(sniff("a.webp", &webp).unwrap().0, "webp");
        let docx = zip(&["[Content_Types].xml", "_rels/.rels", "word/document.xml"]);
        assert_eq!(sniff("通知.docx", &docx).unwrap().0, "docx");
        let xlsx = zip(&["[Content_Types].xml", "xl/workbook.xml"]);
        assert_eq!(sniff("台账.xlsx", &xlsx).unwrap().0, "xlsx");
    }

    #[test]
    fn a_name_that_lies_about_the_content_is_refused() {
        // A GIF's bytes named as a web page, a PNG named .jpg.
        let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;";
        assert_eq!(code(sniff("x.html", gif)), "file_type_not_allowed");
        assert_eq!(code(sniff("x.jpg", PNG)), "file_type_not_allowed");
        assert_eq!(code(sniff("noextension", PNG)), "file_type_not_allowed");
        // A right-to-left override or another invisible character in the name.
        assert_eq!(
            code(sniff("photo\u{202E}gnp.exe.png", PNG)),
            "bad_file_name"
        );
        assert_eq!(code(sniff("a\u{200B}.png", PNG)), "bad_file_name");
    }

    #[test]
    fn first_bytes_alone_are_not_enough() {
        let mut cut = PNG.to_vec();
        cut.truncate(40);
        assert_eq!(code(sniff("a.png", &cut)), "file_damaged");
        let mut fake = b"\x89PNG\r\n\x1a\n".to_vec();
        fake.extend_from_slice(&[0; 64]);
        assert_eq!(code(sniff("a.png", &fake)), "file_damaged");
        assert_eq!(code(sniff("a.gif", b"GIF89a<script>")), "file_damaged");
        assert_eq!(code(sniff("a.pdf", b"%PDF-1.7 no end")), "file_damaged");
        // Any zip named .docx: refused unless it holds a Word document's parts.
        assert_eq!(code(sniff("a.docx", &zip(&["evil.exe"]))), "file_damaged");
        assert_eq!(
            code(sniff(
                "a.docx",
                &zip(&["[Content_Types].xml", "xl/workbook.xml"])
            )),
            "file_damaged"
        );
        assert_eq!(
            code(sniff("a.docx", b"PK\x03\x04 not really a zip")),
            "file_damaged"
        );
    }
}
