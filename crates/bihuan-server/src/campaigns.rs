//! 战役化推进、清单化落责、图表化调度: campaigns, their battles and checklists — the use cases the
//! API (`/api/v1/campaigns`) and the console (`/campaigns`) share. The rules live in
//! `bihuan_domain::campaign`; this module gathers the evidence a computed item is valued by
//! (the appeals a unit had overdue when the campaign began, the disputes found at household
//! visits), imports a county's checklist spreadsheet with a report of bad rows, stores the
//! files a report carries with its event, and builds the figures the campaign page draws.

use std::collections::{BTreeMap, HashMap};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bihuan_domain::aggregate::Versioned;
use bihuan_domain::campaign::{
    week_start, BurnPoint, Campaign, CampaignCommand, CampaignKind, CampaignStatus, Due, Evidence,
    Item, ItemStatus, Measure, NewBattle, NewItem, NewMilestone, Tally,
};
use bihuan_domain::lifecycle::Role;
use bihuan_domain::org::{UnitId, UnitKind};
use bihuan_domain::time::{end_of_day, local_date, start_of_day, Instant};
use bihuan_domain::visits::{Handling, VisitRecord};
use bihuan_domain::{AppealId, DomainError, ErrorCode};
use bihuan_store::{aggregates, AppealFilter, FactFilter};
use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, JsonBody, JsonOrMultipart, PathParams, QueryParams};
use crate::households::{table, BadRow};
use crate::AppState;

/// A report's body may carry its files, each up to 10 MiB.
pub const REPORT_LIMIT: usize = 64 * 1024 * 1024;
/// The most appeals or visits one computed item reads.
const EVIDENCE_MAX: usize = 100_000;
/// The most rows one import reads.
pub const IMPORT_MAX_ROWS: usize = 2_000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/campaigns", get(list_api).post(create_api))
        .route("/api/v1/campaigns/{id}", get(campaign_api))
        .route("/api/v1/campaigns/{id}/battles", post(battle_api))
        .route("/api/v1/campaigns/{id}/items", post(items_api))
        .route(
            "/api/v1/campaigns/{id}/items/import",
            post(import_api).layer(axum::extract::DefaultBodyLimit::max(REPORT_LIMIT)),
        )
        .route(
            "/api/v1/campaigns/{id}/items/{no}/reports",
            post(report_api).layer(axum::extract::DefaultBodyLimit::max(REPORT_LIMIT)),
        )
        .route(
            "/api/v1/campaigns/{id}/items/{no}/reports/{report}/review",
            post(review_api),
        )
        .route("/api/v1/campaigns/{id}/items/{no}/revise", post(revise_api))
        .route(
            "/api/v1/campaigns/{id}/items/{no}/withdraw",
            post(withdraw_api),
        )
        .route(
            "/api/v1/campaigns/{id}/items/{no}/files/{sha256}",
            get(file_api),
        )
        .route("/api/v1/campaigns/{id}/weekly", get(weekly_api))
        .route("/api/v1/campaigns/{id}/conclude", post(conclude_api))
}

/// Who configures campaigns (the centre, supervision, administrators).
pub fn configures(c: &Caller) -> bool {
    bihuan_domain::campaign::CENTRE_ROLES.contains(&c.user.role)
}

/// Who confirms reports (the county's leaders).
pub fn confirms(c: &Caller) -> bool {
    bihuan_domain::campaign::CONFIRM_ROLES.contains(&c.user.role)
}

/// Whether the caller reports this item (its owner unit's staff).
pub fn reports_item(c: &Caller, item: &Item) -> bool {
    bihuan_domain::campaign::OWNER_ROLES.contains(&c.user.role) && c.user.unit == item.owner
}

/// Campaigns are the county's work in the open: every signed-in official may read them but
/// grid members, whose console is their grid.
fn may_read(c: &Caller) -> ApiResult<()> {
    if c.user.role == Role::GridMember {
        return Err(ApiError::forbidden(
            ErrorCode::RoleForbidden,
            "网格员不查看攻坚清单",
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Evidence

/// The tallies of a campaign's computed items at `as_of`: each item's appeals or disputes, and
/// when each was done.
pub async fn tallies(
    state: &AppState,
    c: &Campaign,
    as_of: Instant,
) -> ApiResult<BTreeMap<u32, Tally>> {
    let mut out = BTreeMap::new();
    let mut backlog: HashMap<UnitId, Tally> = HashMap::new();
    let mut disputes: HashMap<(UnitId, Vec<String>), Tally> = HashMap::new();
    for item in c.items.iter().filter(|i| i.withdrawn.is_none()) {
        let tally = match &item.measure {
            Measure::Backlog => match backlog.get(&item.owner) {
                Some(t) => t.clone(),
                None => {
                    let t = backlog_of(state, item.owner, c.starts, as_of).await?;
                    backlog.insert(item.owner, t.clone());
                    t
                }
            },
            Measure::Disputes { words } => {
                let key = (item.owner, words.clone());
                match disputes.get(&key) {
                    Some(t) => t.clone(),
                    None => {
                        let t = disputes_of(state, item.owner, words, c.starts, as_of).await?;
                        disputes.insert(key, t.clone());
                        t
                    }
                }
            }
            _ => continue,
        };
        out.insert(item.no, tally);
    }
    Ok(out)
}

/// 问题清仓: the unit's appeals overdue at the start of `starts` (a reply deadline run out with
/// no reply or close before it, as the boards count them), and when each was closed.
async fn backlog_of(
    state: &AppState,
    unit: UnitId,
    starts: NaiveDate,
    as_of: Instant,
) -> ApiResult<Tally> {
    let mut tally = Tally::default();
    let mut cursor = None;
    loop {
        let page = state
            .store
            .list(
                AppealFilter {
                    fact: Some(FactFilter::OverdueAt {
                        day: starts,
                        unit: Some(unit),
                    }),
                    now: Some(as_of),
                    ..Default::default()
                },
                cursor,
                1000,
            )
            .await?;
        for a in &page.items {
            tally.of += 1;
            if a.status.is_terminal() {
                let at = a.closed_at.unwrap_or(a.last_at);
                if at <= as_of {
                    tally.done.push(at);
                }
            }
        }
        cursor = page.next_cursor;
        if cursor.is_none() || tally.of as usize >= EVIDENCE_MAX {
            break;
        }
    }
    tally.done.sort();
    Ok(tally)
}

/// 纠纷排查: the needs found at household visits in `township` from `starts` to `as_of` whose
/// text names a dispute, and when each was resolved (at the door, or its appeal closed).
async fn disputes_of(
    state: &AppState,
    township: UnitId,
    words: &[String],
    starts: NaiveDate,
    as_of: Instant,
) -> ApiResult<Tally> {
    let from = start_of_day(starts);
    let visits = aggregates::find_all::<VisitRecord>(
        state.store.as_ref(),
        "township",
        &township.0.to_string(),
        0,
    )
    .await?;
    let mut tally = Tally::default();
    let mut raised: Vec<AppealId> = Vec::new();
    for v in visits.iter().take(EVIDENCE_MAX) {
        let r = &v.state;
        if r.visited_at < from || r.visited_at > as_of {
            continue;
        }
        for n in r
            .needs
            .iter()
            .filter(|n| words.iter().any(|w| n.text.contains(w.as_str())))
        {
            tally.of += 1;
            match (&n.handling, &n.appeal) {
                (Handling::OnSpot { .. }, _) => tally.done.push(r.visited_at),
                (Handling::Appeal { .. }, Some(a)) => raised.push(AppealId(a.id)),
                (Handling::Appeal { .. }, None) => {}
            }
        }
    }
    for chunk in raised.chunks(500) {
        let page = state
            .store
            .list(
                AppealFilter {
                    ids: Some(chunk.to_vec()),
                    ..Default::default()
                },
                None,
                500,
            )
            .await?;
        for a in page.items {
            if a.status.is_terminal() {
                let at = a.closed_at.unwrap_or(a.last_at);
                if at <= as_of {
                    tally.done.push(at);
                }
            }
        }
    }
    tally.done.sort();
    Ok(tally)
}

// ---------------------------------------------------------------------------------------------
// Views

/// An item with where it stands.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ItemView {
    #[serde(flatten)]
    pub item: Item,
    pub battle_name: String,
    pub measure_label: &'static str,
    pub status: ItemStatus,
    pub status_label: &'static str,
    /// The actual value (a percentage for computed items); `None`: nothing known yet.
    pub actual: Option<f64>,
    /// The target the progress runs to (the milestones' number for 节点推进).
    pub goal: f64,
    /// 0 to 1.
    pub progress: f64,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub completed_at: Option<Instant>,
    /// The computed item's evidence: how many, how many done.
    pub evidence: Option<EvidenceCount>,
    /// Reports waiting for a leader's confirmation.
    pub pending: usize,
    /// Milestones past their date and not confirmed done.
    pub late_milestones: Vec<u32>,
    /// The actual value rests on the owner's report (confirmed by a leader), not platform data.
    pub self_reported: bool,
}

#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub struct EvidenceCount {
    pub of: u64,
    pub done: u64,
}

/// Progress of a group of items (a battle or an owner unit).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GroupProgress {
    pub key: u32,
    pub name: String,
    pub items: usize,
    pub done: usize,
    pub overdue: usize,
    /// The mean progress of its items, 0 to 1.
    pub progress: f64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StatusCount {
    pub status: ItemStatus,
    pub label: &'static str,
    pub count: usize,
}

/// A campaign as the API and the page show it: every item valued at `as_of`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = CampaignDetail)]
pub struct CampaignView {
    pub id: u64,
    pub version: u64,
    pub name: String,
    pub kind: CampaignKind,
    pub kind_label: &'static str,
    #[schema(value_type = String, format = Date)]
    pub starts: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub ends: NaiveDate,
    pub lead: String,
    pub note: String,
    pub status: CampaignStatus,
    pub status_label: &'static str,
    pub summary: Option<String>,
    /// When the figures were read (now, or the end of the campaign's last day).
    #[schema(value_type = String, format = DateTime)]
    pub as_of: Instant,
    pub battles: Vec<GroupProgress>,
    pub owners: Vec<GroupProgress>,
    pub counts: Vec<StatusCount>,
    /// The mean progress of every item not withdrawn.
    pub progress: f64,
    pub items: Vec<ItemView>,
    pub burn_down: Vec<BurnPoint>,
}

impl CampaignView {
    pub fn item(&self, no: u32) -> Option<&ItemView> {
        self.items.iter().find(|i| i.item.no == no)
    }
}

fn item_view(c: &Campaign, item: &Item, as_of: Instant, tally: Option<&Tally>) -> ItemView {
    let actual = item.actual_at(as_of, tally);
    ItemView {
        battle_name: c
            .battle(item.battle)
            .map(|b| b.name.clone())
            .unwrap_or_default(),
        measure_label: item.measure.label(),
        status: item.status(as_of, tally),
        status_label: item.status(as_of, tally).label(),
        actual,
        goal: item.goal(),
        progress: item.progress_of(actual),
        completed_at: item.completed_at(as_of, tally),
        evidence: tally.map(|t| EvidenceCount {
            of: t.of,
            done: t.done_by(as_of),
        }),
        pending: item.pending().count(),
        late_milestones: item.late_milestones(as_of).map(|m| m.no).collect(),
        self_reported: item.measure == Measure::Reported,
        item: item.clone(),
    }
}

fn group(key: u32, name: String, items: &[&ItemView]) -> GroupProgress {
    let live: Vec<&&ItemView> = items
        .iter()
        .filter(|i| i.status != ItemStatus::Withdrawn)
        .collect();
    GroupProgress {
        key,
        name,
        items: live.len(),
        done: live.iter().filter(|i| i.status == ItemStatus::Done).count(),
        overdue: live
            .iter()
            .filter(|i| i.status == ItemStatus::Overdue)
            .count(),
        progress: mean(live.iter().map(|i| i.progress)),
    }
}

fn mean(it: impl Iterator<Item = f64>) -> f64 {
    let (n, s) = it.fold((0usize, 0.0), |(n, s), v| (n + 1, s + v));
    if n == 0 {
        0.0
    } else {
        s / n as f64
    }
}

/// The campaign valued at `now` (or its last day, once that has passed).
pub async fn view(state: &AppState, v: Versioned<Campaign>) -> ApiResult<CampaignView> {
    let c = &v.state;
    let as_of = c.as_of(state.clock.now());
    let tallies = tallies(state, c, as_of).await?;
    let items: Vec<ItemView> = c
        .items
        .iter()
        .map(|i| item_view(c, i, as_of, tallies.get(&i.no)))
        .collect();
    let battles = c
        .battles
        .iter()
        .map(|b| {
            let of: Vec<&ItemView> = items.iter().filter(|i| i.item.battle == b.no).collect();
            group(b.no, b.name.clone(), &of)
        })
        .collect();
    let mut by_owner: BTreeMap<(String, u32), Vec<&ItemView>> = BTreeMap::new();
    for i in &items {
        by_owner
            .entry((i.item.owner_name.clone(), i.item.owner.0))
            .or_default()
            .push(i);
    }
    let mut owners: Vec<GroupProgress> = by_owner
        .into_iter()
        .map(|((name, id), of)| group(id, name, &of))
        .filter(|g| g.items > 0)
        .collect();
    owners.sort_by(|a, b| a.progress.total_cmp(&b.progress).then(a.name.cmp(&b.name)));
    let counts = ItemStatus::ALL
        .iter()
        .map(|s| StatusCount {
            status: *s,
            label: s.label(),
            count: items.iter().filter(|i| i.status == *s).count(),
        })
        .collect();
    let progress = mean(
        items
            .iter()
            .filter(|i| i.status != ItemStatus::Withdrawn)
            .map(|i| i.progress),
    );
    Ok(CampaignView {
        id: v.id,
        version: v.version,
        name: c.name.clone(),
        kind: c.kind,
        kind_label: c.kind.label(),
        starts: c.starts,
        ends: c.ends,
        lead: c.lead.clone(),
        note: c.note.clone(),
        status: c.status,
        status_label: c.status.label(),
        summary: c.summary.clone(),
        as_of,
        battles,
        owners,
        counts,
        progress,
        burn_down: c.burn_down(as_of, &tallies),
        items,
    })
}

/// A campaign in a list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CampaignSummary {
    pub id: u64,
    pub name: String,
    pub kind: CampaignKind,
    pub kind_label: &'static str,
    #[schema(value_type = String, format = Date)]
    pub starts: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub ends: NaiveDate,
    pub lead: String,
    pub status: CampaignStatus,
    pub status_label: &'static str,
    pub battles: Vec<GroupProgress>,
    pub counts: Vec<StatusCount>,
    pub progress: f64,
    /// The items of the caller's unit, for an owner (0 for others).
    pub mine: usize,
    /// Reports waiting for a leader.
    pub pending: usize,
}

/// Every campaign, running ones first, each with its figures.
pub async fn campaigns(state: &AppState, c: &Caller) -> ApiResult<Vec<CampaignSummary>> {
    may_read(c)?;
    let mut out = Vec::new();
    for v in aggregates::find_all::<Campaign>(state.store.as_ref(), "", "", 0).await? {
        let view = view(state, v).await?;
        out.push(CampaignSummary {
            id: view.id,
            name: view.name,
            kind: view.kind,
            kind_label: view.kind_label,
            starts: view.starts,
            ends: view.ends,
            lead: view.lead,
            status: view.status,
            status_label: view.status_label,
            mine: view
                .items
                .iter()
                .filter(|i| i.item.owner == c.user.unit && i.status != ItemStatus::Withdrawn)
                .count(),
            pending: view.items.iter().map(|i| i.pending).sum(),
            battles: view.battles,
            counts: view.counts,
            progress: view.progress,
        });
    }
    out.sort_by_key(|s| {
        (
            s.status != CampaignStatus::Running,
            std::cmp::Reverse(s.starts),
            s.id,
        )
    });
    Ok(out)
}

pub async fn campaign(state: &AppState, c: &Caller, id: u64) -> ApiResult<CampaignView> {
    may_read(c)?;
    view(state, load(state, id).await?).await
}

async fn load(state: &AppState, id: u64) -> ApiResult<Versioned<Campaign>> {
    crate::error::load_or_404::<Campaign>(state.store.as_ref(), id, "没有这个攻坚活动").await
}

async fn run(
    state: &AppState,
    c: &Caller,
    id: u64,
    cmd: CampaignCommand,
    files: Vec<aggregates::FileBlob>,
) -> ApiResult<CampaignView> {
    load(state, id).await?;
    let v = aggregates::execute_with_files::<Campaign>(
        state.store.as_ref(),
        Some(id),
        cmd,
        files,
        c.actor.clone(),
        state.clock.now(),
        None,
    )
    .await?;
    view(state, v).await
}

// ---------------------------------------------------------------------------------------------
// Commands

/// The request to set up a campaign.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCampaign {
    /// 活动名称，如 2026年三大会战
    pub name: String,
    /// battle（会战）、assault（攻坚战）、special（专项行动）
    pub kind: CampaignKind,
    #[schema(value_type = String, format = Date)]
    pub starts: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub ends: NaiveDate,
    /// 总指挥 / 牵头领导
    pub lead: String,
    #[serde(default)]
    pub note: String,
    pub battles: Vec<NewBattle>,
}

pub async fn create(state: &AppState, c: &Caller, req: NewCampaign) -> ApiResult<CampaignView> {
    let v = aggregates::execute::<Campaign>(
        state.store.as_ref(),
        None,
        CampaignCommand::Create {
            name: req.name,
            kind: req.kind,
            starts: req.starts,
            ends: req.ends,
            lead: req.lead,
            note: req.note,
            battles: req.battles,
        },
        c.actor.clone(),
        state.clock.now(),
        Some(0),
    )
    .await?;
    view(state, v).await
}

pub async fn add_battle(
    state: &AppState,
    c: &Caller,
    id: u64,
    b: NewBattle,
) -> ApiResult<CampaignView> {
    run(state, c, id, CampaignCommand::AddBattle(b), vec![]).await
}

/// The owner's name from the organisation, or why the unit cannot own an item.
fn owned(state: &AppState, mut n: NewItem) -> Result<NewItem, DomainError> {
    let cat = state.store.catalog();
    match cat.org.get(n.owner) {
        Some(u)
            if matches!(n.measure, Measure::Disputes { .. }) && u.kind != UnitKind::Township =>
        {
            Err(DomainError::invalid(
                "item.owner",
                format!(
                    "纠纷排查按乡镇（街道）的入户走访计算，「{}」不是乡镇（街道）",
                    u.name
                ),
            ))
        }
        Some(u) if u.kind.can_handle() && u.kind != UnitKind::Village => {
            n.owner_name = u.name.clone();
            Ok(n)
        }
        Some(u) => Err(DomainError::invalid(
            "item.owner",
            format!("「{}」不能作为责任单位（须为县直部门或乡镇街道）", u.name),
        )),
        None => Err(DomainError::invalid(
            "item.owner",
            format!("没有编号为 {} 的单位", n.owner.0),
        )),
    }
}

pub async fn add_items(
    state: &AppState,
    c: &Caller,
    id: u64,
    items: Vec<NewItem>,
) -> ApiResult<CampaignView> {
    let items = items
        .into_iter()
        .enumerate()
        .map(|(i, n)| {
            owned(state, n).map_err(|e| match e {
                DomainError::Invalid { field, reason } => {
                    DomainError::invalid(field, format!("第 {} 条：{reason}", i + 1))
                }
                e => e,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    run(state, c, id, CampaignCommand::AddItems(items), vec![]).await
}

/// What an import did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ItemsImported {
    pub imported: usize,
    /// Rows refused, each with its line (the header is line 1) and every reason.
    pub bad_rows: Vec<BadRow>,
    /// A dry run: nothing written.
    pub dry_run: bool,
}

/// The columns an import reads, by their header (in any order; others ignored).
pub const IMPORT_COLUMNS: [&str; 10] = [
    "战役",
    "事项",
    "责任单位",
    "责任领导",
    "完成时限",
    "计量方式",
    "计量单位",
    "基数",
    "目标值",
    "节点",
];

/// A deadline cell: a date (2026-06-30, 2026/6/30, 2026年6月30日, an Excel date number) or
/// working days (20个工作日).
fn due_cell(s: &str) -> Result<Due, String> {
    let t = s.trim();
    if let Some(n) = t
        .strip_suffix("个工作日")
        .or_else(|| t.strip_suffix("工作日"))
    {
        return n
            .trim()
            .parse::<u32>()
            .map(Due::WorkingDays)
            .map_err(|_| format!("完成时限「{t}」的工作日数不是整数"));
    }
    date_cell(t).map(Due::Date)
}

fn date_cell(t: &str) -> Result<NaiveDate, String> {
    let t = t.trim();
    if let Ok(n) = t.parse::<f64>() {
        // An Excel date: days since 1899-12-30.
        if (20_000.0..80_000.0).contains(&n) {
            if let Some(d) = NaiveDate::from_ymd_opt(1899, 12, 30)
                .and_then(|b| b.checked_add_signed(Duration::days(n.trunc() as i64)))
            {
                return Ok(d);
            }
        }
    }
    let norm: String = t
        .chars()
        .take_while(|c| *c != ' ' && *c != 'T')
        .map(|c| match c {
            '/' | '.' | '年' | '月' => '-',
            '日' => ' ',
            c => c,
        })
        .collect();
    NaiveDate::parse_from_str(norm.trim(), "%Y-%m-%d")
        .map_err(|_| format!("「{t}」不是日期（如 2026-06-30）或工作日数（如 20个工作日）"))
}

fn measure_cell(s: &str) -> Result<Measure, String> {
    Ok(match s.trim() {
        "" | "自报" | "单位自报" | "reported" => Measure::Reported,
        "节点" | "节点推进" | "milestones" => Measure::Milestones,
        "问题清仓" | "清仓" | "backlog" => Measure::Backlog,
        "纠纷排查" | "纠纷化解" | "disputes" => Measure::Disputes {
            words: bihuan_domain::campaign::dispute_words(),
        },
        other => {
            return Err(format!(
                "计量方式「{other}」无效：可用 自报、节点、问题清仓、纠纷排查"
            ))
        }
    })
}

/// Milestones as `名称:日期` separated by ； or a line break.
fn milestones_cell(s: &str) -> Result<Vec<NewMilestone>, String> {
    let mut out = Vec::new();
    for part in s
        .split(['；', ';', '\n'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let Some((title, date)) = part.rsplit_once([':', '：']) else {
            return Err(format!(
                "节点「{part}」须写成 名称:日期，如 完成设计:2026-04-30"
            ));
        };
        out.push(NewMilestone {
            title: title.trim().to_string(),
            due: date_cell(date).map_err(|e| format!("节点「{}」：{e}", title.trim()))?,
        });
    }
    Ok(out)
}

fn number_cell(what: &str, s: &str) -> Result<f64, String> {
    let t = s.trim().trim_end_matches('%');
    if t.is_empty() {
        return Ok(0.0);
    }
    t.replace(',', "")
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("{what}「{s}」不是数字"))
}

/// Imports checklist items from a CSV file or an XLSX workbook with the header
/// [`IMPORT_COLUMNS`] (the battle by name or number, the owner unit by name). Every problem of
/// each row is reported with its line; the good rows are added together in one step (a dry run
/// only reports). The rows are checked by the same rule as items added one by one.
pub async fn import(
    state: &AppState,
    c: &Caller,
    id: u64,
    bytes: &[u8],
    dry_run: bool,
) -> ApiResult<ItemsImported> {
    if !configures(c) {
        return Err(ApiError::forbidden(
            ErrorCode::RoleForbidden,
            "攻坚清单由中心（派单员、督办员）或管理员导入",
        ));
    }
    let v = load(state, id).await?;
    let (headers, rows) = table(bytes)?;
    let col = |name: &str| headers.iter().position(|h| h.trim() == name);
    let required = ["战役", "事项", "责任单位", "责任领导", "完成时限"];
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|h| col(h).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::unprocessable(
            ErrorCode::InvalidBody,
            format!(
                "表头缺少：{}（须有 {}；可选：计量方式、计量单位、基数、目标值、节点）；读到的是：{}",
                missing.join("、"),
                required.join("、"),
                headers.join("、")
            ),
        ));
    }
    let cat = state.store.catalog();
    let mut by_name: HashMap<&str, Vec<UnitId>> = HashMap::new();
    for u in cat.org.units() {
        by_name.entry(u.name.as_str()).or_default().push(u.id);
    }
    let ctx = cat.ctx();
    let mut good = Vec::new();
    let mut bad_rows = Vec::new();
    let mut seen: HashMap<(u32, String, u32), usize> = HashMap::new();
    for (i, (line, row)) in rows.into_iter().enumerate() {
        if i >= IMPORT_MAX_ROWS {
            bad_rows.push(BadRow {
                line,
                reason: format!("一次最多导入 {IMPORT_MAX_ROWS} 行，其余未导入，请分批导入"),
            });
            break;
        }
        let cell = |name: &str| {
            col(name)
                .and_then(|c| row.get(c))
                .map(|x| x.trim().to_string())
                .unwrap_or_default()
        };
        let mut problems: Vec<String> = Vec::new();
        let battle_text = cell("战役");
        let battle = v
            .state
            .battles
            .iter()
            .find(|b| b.name == battle_text || b.no.to_string() == battle_text)
            .map(|b| b.no);
        if battle.is_none() {
            problems.push(format!(
                "战役「{battle_text}」不在本活动中（可用：{}）",
                v.state
                    .battles
                    .iter()
                    .map(|b| b.name.as_str())
                    .collect::<Vec<_>>()
                    .join("、")
            ));
        }
        let owner_text = cell("责任单位");
        let owner = match by_name.get(owner_text.as_str()).map(Vec::as_slice) {
            Some([u]) => Some(*u),
            Some(_) => {
                problems.push(format!("责任单位「{owner_text}」有重名，请写全称"));
                None
            }
            None => {
                problems.push(if owner_text.is_empty() {
                    "请填写责任单位".to_string()
                } else {
                    format!("没有名为「{owner_text}」的单位")
                });
                None
            }
        };
        let due = due_cell(&cell("完成时限"))
            .map_err(|e| problems.push(e))
            .ok();
        let measure = measure_cell(&cell("计量方式"))
            .map_err(|e| problems.push(e))
            .ok();
        let baseline = number_cell("基数", &cell("基数"))
            .map_err(|e| problems.push(e))
            .ok();
        let target_text = cell("目标值");
        let target = number_cell("目标值", &target_text)
            .map_err(|e| problems.push(e))
            .ok()
            .map(|t| {
                // A computed item's target defaults to all of it.
                if target_text.is_empty() && measure.as_ref().is_some_and(Measure::computed) {
                    100.0
                } else {
                    t
                }
            });
        let milestones = milestones_cell(&cell("节点"))
            .map_err(|e| problems.push(e))
            .ok();
        if let (
            Some(battle),
            Some(owner),
            Some(due),
            Some(measure),
            Some(baseline),
            Some(target),
            Some(milestones),
        ) = (battle, owner, due, measure, baseline, target, milestones)
        {
            let n = NewItem {
                battle,
                title: cell("事项"),
                owner,
                owner_name: String::new(),
                leader: cell("责任领导"),
                due,
                measure,
                unit: cell("计量单位"),
                baseline,
                target,
                milestones,
            };
            match owned(state, n).and_then(|n| n.checked(&v.state, 1, ctx).map(|_| n)) {
                Ok(n) => {
                    let key = (n.battle, n.title.clone(), n.owner.0);
                    let dup_here = seen.get(&key).copied();
                    let dup_stored = v.state.items.iter().any(|i| {
                        i.withdrawn.is_none()
                            && i.battle == n.battle
                            && i.title == n.title
                            && i.owner == n.owner
                    });
                    if let Some(first) = dup_here {
                        problems.push(format!("与第 {first} 行重复（同一战役、事项、责任单位）"));
                    } else if dup_stored {
                        problems.push("清单中已有这个事项（同一战役、事项、责任单位）".into());
                    } else {
                        seen.insert(key, line);
                        good.push(n);
                    }
                }
                Err(e) => problems.push(e.message_zh()),
            }
        }
        if !problems.is_empty() {
            bad_rows.push(BadRow {
                line,
                reason: problems.join("；"),
            });
        }
    }
    let imported = good.len();
    if !dry_run && !good.is_empty() {
        run(state, c, id, CampaignCommand::AddItems(good), vec![]).await?;
    }
    Ok(ItemsImported {
        imported,
        bad_rows,
        dry_run,
    })
}

/// A report of an item, as the API takes it.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportBody {
    /// 完成的节点编号（节点推进的事项）
    #[serde(default)]
    pub milestone: Option<u32>,
    /// 完成值（自报的事项）
    #[serde(default)]
    pub value: Option<f64>,
    /// 情况说明
    #[serde(default)]
    pub note: String,
}

/// A file sent with a report.
pub struct ReportFile {
    pub name: String,
    pub data: Vec<u8>,
}

/// The owner reports a value or a milestone done, with files if it has them (each checked by
/// its content, stored with the event).
pub async fn report(
    state: &AppState,
    c: &Caller,
    id: u64,
    no: u32,
    body: ReportBody,
    files: Vec<ReportFile>,
) -> ApiResult<CampaignView> {
    let at = state.clock.now();
    let mut blobs = Vec::with_capacity(files.len());
    let mut evidence = Vec::with_capacity(files.len());
    for f in files {
        let name = f.name.trim().to_string();
        let blob = aggregates::FileBlob::new(&name, f.data, c.user.id.0, at)?;
        evidence.push(Evidence {
            name,
            sha256: blob.sha256.clone(),
            size: blob.data.len() as u64,
        });
        blobs.push(blob);
    }
    run(
        state,
        c,
        id,
        CampaignCommand::Report {
            item: no,
            milestone: body.milestone,
            value: body.value,
            note: body.note,
            files: evidence,
        },
        blobs,
    )
    .await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CampaignReviewBody)]
pub struct ReviewBody {
    /// true：确认；false：退回（须写明原因）
    pub confirmed: bool,
    #[serde(default)]
    pub note: String,
}

pub async fn review(
    state: &AppState,
    c: &Caller,
    id: u64,
    no: u32,
    report: u32,
    body: ReviewBody,
) -> ApiResult<CampaignView> {
    run(
        state,
        c,
        id,
        CampaignCommand::Review {
            item: no,
            report,
            confirmed: body.confirmed,
            note: body.note,
        },
        vec![],
    )
    .await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviseBody {
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub due: Option<NaiveDate>,
    #[serde(default)]
    pub target: Option<f64>,
    #[serde(default)]
    pub leader: Option<String>,
    /// 调整原因
    pub reason: String,
}

pub async fn revise(
    state: &AppState,
    c: &Caller,
    id: u64,
    no: u32,
    body: ReviseBody,
) -> ApiResult<CampaignView> {
    run(
        state,
        c,
        id,
        CampaignCommand::Revise {
            item: no,
            due: body.due,
            target: body.target,
            leader: body.leader,
            reason: body.reason,
        },
        vec![],
    )
    .await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CampaignReasonBody)]
pub struct ReasonBody {
    pub reason: String,
}

pub async fn withdraw(
    state: &AppState,
    c: &Caller,
    id: u64,
    no: u32,
    reason: String,
) -> ApiResult<CampaignView> {
    run(
        state,
        c,
        id,
        CampaignCommand::Withdraw { item: no, reason },
        vec![],
    )
    .await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConcludeBody {
    /// 收官总结
    pub summary: String,
}

pub async fn conclude(
    state: &AppState,
    c: &Caller,
    id: u64,
    summary: String,
) -> ApiResult<CampaignView> {
    run(state, c, id, CampaignCommand::Conclude { summary }, vec![]).await
}

/// A report's file, for whoever may read the campaign.
pub async fn evidence_file(
    state: &AppState,
    c: &Caller,
    id: u64,
    no: u32,
    sha256: &str,
) -> ApiResult<(Evidence, String, Vec<u8>)> {
    may_read(c)?;
    let v = load(state, id).await?;
    let nf = || ApiError::not_found("该事项没有这个文件");
    let e = v
        .state
        .item(no)
        .and_then(|i| {
            i.reports
                .iter()
                .flat_map(|r| r.files.iter())
                .find(|f| f.sha256 == sha256)
        })
        .cloned()
        .ok_or_else(nf)?;
    let (meta, data) = aggregates::file::<Campaign>(state.store.as_ref(), id, sha256)
        .await
        .map_err(|_| nf())?;
    Ok((e, meta.mime, data))
}

// ---------------------------------------------------------------------------------------------
// The weekly scheduling view (调度会)

/// One line of the weekly view.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WeeklyLine {
    pub item: u32,
    pub title: String,
    pub battle: String,
    pub owner: String,
    pub leader: String,
    /// What it is about: the item's deadline, or a milestone.
    pub what: String,
    #[schema(value_type = String, format = Date)]
    pub due: NaiveDate,
    /// Days past the date at the week's end (0 for what is coming).
    pub days_late: i64,
    pub status_label: &'static str,
    pub progress: f64,
}

/// What the leaders' weekly meeting goes through: what slipped, what is due next, what was
/// finished, what waits for confirmation — each with who owns it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Weekly {
    pub campaign: u64,
    pub name: String,
    #[schema(value_type = String, format = Date)]
    pub week: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub week_end: NaiveDate,
    /// Items past their deadline and milestones past their date, not done, at the week's end.
    pub slipped: Vec<WeeklyLine>,
    /// Deadlines and milestones falling in the next week, not done.
    pub coming: Vec<WeeklyLine>,
    /// Items completed during the week.
    pub finished: Vec<WeeklyLine>,
    /// Reports waiting for a leader.
    pub pending: Vec<WeeklyLine>,
    pub progress: f64,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct WeeklyQuery {
    /// 该周任一日（默认本周）
    pub week: Option<String>,
}

pub async fn weekly(
    state: &AppState,
    c: &Caller,
    id: u64,
    week: Option<NaiveDate>,
) -> ApiResult<Weekly> {
    may_read(c)?;
    let v = load(state, id).await?;
    let now = state.clock.now();
    let week = week_start(week.unwrap_or_else(|| local_date(now)));
    let week_end = week + Duration::days(6);
    let at = end_of_day(week_end).min(now);
    let camp = &v.state;
    let tallies = tallies(state, camp, at).await?;
    let today = local_date(at);
    let mut w = Weekly {
        campaign: id,
        name: camp.name.clone(),
        week,
        week_end,
        slipped: vec![],
        coming: vec![],
        finished: vec![],
        pending: vec![],
        progress: 0.0,
    };
    let mut progress = Vec::new();
    for item in camp.items.iter().filter(|i| i.withdrawn.is_none()) {
        let iv = item_view(camp, item, at, tallies.get(&item.no));
        progress.push(iv.progress);
        let line = |what: String, due: NaiveDate| WeeklyLine {
            item: item.no,
            title: item.title.clone(),
            battle: iv.battle_name.clone(),
            owner: item.owner_name.clone(),
            leader: item.leader.clone(),
            what,
            due,
            days_late: (today - due).num_days().max(0),
            status_label: iv.status_label,
            progress: iv.progress,
        };
        if iv.status == ItemStatus::Overdue {
            w.slipped.push(line("完成时限".into(), item.due));
        } else if iv.status != ItemStatus::Done {
            for m in item.late_milestones(at) {
                w.slipped.push(line(format!("节点「{}」", m.title), m.due));
            }
        }
        if iv.status != ItemStatus::Done {
            let next = (week_end + Duration::days(1), week_end + Duration::days(7));
            if item.due >= next.0 && item.due <= next.1 {
                w.coming.push(line("完成时限".into(), item.due));
            }
            for m in item.milestones.iter().filter(|m| {
                m.due >= next.0 && m.due <= next.1 && item.milestone_done(m.no, at).is_none()
            }) {
                w.coming.push(line(format!("节点「{}」", m.title), m.due));
            }
        }
        if let Some(done) = iv.completed_at {
            let d = local_date(done);
            if d >= week && d <= week_end {
                w.finished.push(line("已完成".into(), d));
            }
        }
        for r in item
            .reports
            .iter()
            .filter(|r| r.at <= at && r.review.is_none())
        {
            let what = match r
                .milestone
                .and_then(|m| item.milestones.iter().find(|x| x.no == m))
            {
                Some(m) => format!("报告节点「{}」完成", m.title),
                None => format!("自报完成值 {}{}", num(r.value.unwrap_or(0.0)), item.unit),
            };
            w.pending.push(line(what, local_date(r.at)));
        }
    }
    w.slipped
        .sort_by_key(|l| (std::cmp::Reverse(l.days_late), l.owner.clone(), l.item));
    w.coming.sort_by_key(|l| (l.due, l.item));
    w.progress = mean(progress.into_iter());
    Ok(w)
}

/// A number without needless decimals.
pub fn num(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else {
        let s = format!("{v:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

// ---------------------------------------------------------------------------------------------
// Handlers

async fn list_api(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<CampaignSummary>>> {
    Ok(Json(campaigns(&state, &caller).await?))
}

async fn create_api(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<NewCampaign>,
) -> ApiResult<(StatusCode, Json<CampaignView>)> {
    Ok((
        StatusCode::CREATED,
        Json(create(&state, &caller, req).await?),
    ))
}

async fn campaign_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<u64>,
) -> ApiResult<Json<CampaignView>> {
    Ok(Json(campaign(&state, &caller, id).await?))
}

async fn battle_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<u64>,
    JsonBody(b): JsonBody<NewBattle>,
) -> ApiResult<Json<CampaignView>> {
    Ok(Json(add_battle(&state, &caller, id, b).await?))
}

async fn items_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<u64>,
    JsonBody(items): JsonBody<Vec<NewItem>>,
) -> ApiResult<Json<CampaignView>> {
    Ok(Json(add_items(&state, &caller, id, items).await?))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct ImportQuery {
    /// true：只检查，不写入
    #[serde(default)]
    pub dry_run: bool,
}

async fn import_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<u64>,
    QueryParams(q): QueryParams<ImportQuery>,
    crate::error::BodyBytes(body): crate::error::BodyBytes,
) -> ApiResult<Json<ItemsImported>> {
    Ok(Json(import(&state, &caller, id, &body, q.dry_run).await?))
}

async fn report_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams((id, no)): PathParams<(u64, u32)>,
    body: JsonOrMultipart<ReportBody>,
) -> ApiResult<Json<CampaignView>> {
    let (body, files) = match body {
        JsonOrMultipart::Json(b) => (b, vec![]),
        JsonOrMultipart::Multipart(mp) => {
            let (fields, files) = crate::approvals::read_form(mp).await?;
            let body = match fields.into_iter().find(|(k, _)| k == "report") {
                Some((_, json)) => serde_json::from_str::<ReportBody>(&json).map_err(|e| {
                    ApiError::bad_request(
                        ErrorCode::MalformedJson,
                        format!("report 部分不是有效的 JSON：{e}"),
                    )
                })?,
                None => {
                    return Err(ApiError::bad_request(
                        ErrorCode::BadMultipart,
                        "缺少 report 部分（报告的 JSON）",
                    ))
                }
            };
            let files = files
                .into_iter()
                .map(|(_, name, data)| ReportFile { name, data })
                .collect();
            (body, files)
        }
    };
    Ok(Json(report(&state, &caller, id, no, body, files).await?))
}

async fn review_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams((id, no, r)): PathParams<(u64, u32, u32)>,
    JsonBody(body): JsonBody<ReviewBody>,
) -> ApiResult<Json<CampaignView>> {
    Ok(Json(review(&state, &caller, id, no, r, body).await?))
}

async fn revise_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams((id, no)): PathParams<(u64, u32)>,
    JsonBody(body): JsonBody<ReviseBody>,
) -> ApiResult<Json<CampaignView>> {
    Ok(Json(revise(&state, &caller, id, no, body).await?))
}

async fn withdraw_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams((id, no)): PathParams<(u64, u32)>,
    JsonBody(body): JsonBody<ReasonBody>,
) -> ApiResult<Json<CampaignView>> {
    Ok(Json(withdraw(&state, &caller, id, no, body.reason).await?))
}

async fn conclude_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<u64>,
    JsonBody(body): JsonBody<ConcludeBody>,
) -> ApiResult<Json<CampaignView>> {
    Ok(Json(conclude(&state, &caller, id, body.summary).await?))
}

async fn file_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams((id, no, sha)): PathParams<(u64, u32, String)>,
) -> ApiResult<Response> {
    let (e, mime, data) = evidence_file(&state, &caller, id, no, &sha).await?;
    Ok(crate::attachments::file_response(&e.name, &mime, data).into_response())
}

/// Parses a week given as any of its days.
pub fn parse_week(s: Option<&str>) -> ApiResult<Option<NaiveDate>> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => bihuan_domain::time::parse_date(s).map(Some).map_err(|_| {
            ApiError::bad_request(
                ErrorCode::BadQuery,
                format!("week「{s}」不是日期：请写该周任一日，如 2026-11-30"),
            )
        }),
    }
}

async fn weekly_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<u64>,
    QueryParams(q): QueryParams<WeeklyQuery>,
) -> ApiResult<Json<Weekly>> {
    let week = parse_week(q.week.as_deref())?;
    Ok(Json(weekly(&state, &caller, id, week).await?))
}
