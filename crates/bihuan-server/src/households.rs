//! `/api/v1/households`: 入户听诉's household registry (`bihuan_domain::household`), the use
//! cases the API and the console share. Scoped by the organisation tree: a grid member sees
//! their grid, a village or township its own, the centre and leaders the county; departments
//! none. The head of household's phone is personal data: masked in lists, shown in full on the
//! household's page to its grid, village and township and to the centre (and audited).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use bihuan_domain::aggregate::Versioned;
use bihuan_domain::household::{
    Household, HouseholdCommand, HouseholdEvent, HouseholdFacts, Location,
};
use bihuan_domain::lifecycle::Role;
use bihuan_domain::org::{UnitId, UnitKind};
use bihuan_domain::{DomainError, ErrorCode, Phone};
use bihuan_store::aggregates;
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, JsonBody, PathParams};
use crate::AppState;

/// The most rows one import takes (a township's registry at a time).
pub const IMPORT_MAX_ROWS: usize = 50_000;
/// The largest import body: 50,000 rows of a few hundred bytes.
pub const IMPORT_BODY_LIMIT: usize = 16 * 1024 * 1024;
/// The most households one page lists.
pub const PAGE_MAX: u32 = 500;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/households", get(list_api).post(register_api))
        .route(
            "/api/v1/households/import",
            post(import_api).layer(axum::extract::DefaultBodyLimit::max(IMPORT_BODY_LIMIT)),
        )
        .route("/api/v1/households/{id}", get(get_api).post(update_api))
        .route("/api/v1/households/{id}/move", post(move_api))
        .route("/api/v1/households/{id}/remove", post(remove_api))
}

/// The part of the registry a caller sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    County,
    Township(UnitId),
    Village(UnitId),
    Grid(UnitId),
}

impl Reach {
    pub fn of(c: &Caller) -> ApiResult<Reach> {
        if c.sees_all() {
            return Ok(Reach::County);
        }
        match c.unit_kind {
            UnitKind::Grid => Ok(Reach::Grid(c.user.unit)),
            UnitKind::Village => Ok(Reach::Village(c.user.unit)),
            UnitKind::Township => Ok(Reach::Township(c.user.unit)),
            UnitKind::County | UnitKind::Department => Err(ApiError::forbidden(
                ErrorCode::RoleForbidden,
                "住户台账由网格、村（社区）和乡镇（街道）维护，部门无权查看",
            )),
        }
    }

    pub fn covers(self, at: &Location) -> bool {
        match self {
            Reach::County => true,
            Reach::Township(t) => at.township == t,
            Reach::Village(v) => at.village == Some(v),
            Reach::Grid(g) => at.grid == g,
        }
    }

    /// The index entry a list starts from.
    fn index(self) -> (&'static str, String) {
        match self {
            Reach::County => ("", String::new()),
            Reach::Township(t) => ("township", t.0.to_string()),
            Reach::Village(v) => ("village", v.0.to_string()),
            Reach::Grid(g) => ("grid", g.0.to_string()),
        }
    }
}

/// Where grid `grid` lies: the grid, its village if any, and its township.
pub fn locate(cat: &bihuan_store::Catalog, grid: u32) -> Result<Location, DomainError> {
    let org = &cat.org;
    let not_grid =
        || DomainError::invalid("grid", format!("没有编号为 {grid} 的网格，请从列表中选择"));
    let g = org
        .get(UnitId(grid))
        .filter(|u| u.kind == UnitKind::Grid)
        .ok_or_else(not_grid)?;
    let parent = g.parent.and_then(|p| org.get(p)).ok_or_else(not_grid)?;
    let (village, township) = match parent.kind {
        UnitKind::Village => (Some(parent.id), parent.parent.ok_or_else(not_grid)?),
        UnitKind::Township => (None, parent.id),
        _ => return Err(not_grid()),
    };
    Ok(Location {
        grid: g.id,
        village,
        township,
    })
}

/// A household as the API and the console show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HouseholdView {
    pub id: u64,
    pub version: u64,
    #[serde(flatten)]
    pub household: Household,
    pub grid_name: String,
    pub village_name: Option<String>,
    pub township_name: String,
    /// Whether the phone is shown in full to this reader.
    pub phone_full: bool,
}

fn view(cat: &bihuan_store::Catalog, v: Versioned<Household>, full: bool) -> HouseholdView {
    let name = |u: UnitId| cat.org.get(u).map(|x| x.name.clone()).unwrap_or_default();
    let mut h = v.state;
    if !full {
        use bihuan_domain::redact::Redact;
        h.facts.phone = h.facts.phone.as_ref().map(Redact::redacted);
        h.facts.head = bihuan_domain::appeal::mask_name(&h.facts.head);
    }
    HouseholdView {
        id: v.id,
        version: v.version,
        grid_name: name(h.at.grid),
        village_name: h.at.village.map(name),
        township_name: name(h.at.township),
        phone_full: full,
        household: h,
    }
}

/// Whether the caller sees this household's head and phone in full: its own grid, village or
/// township, and the centre.
fn full_for(c: &Caller, h: &Household) -> bool {
    matches!(c.user.role, Role::Dispatcher | Role::Admin)
        || Reach::of(c).is_ok_and(|r| r != Reach::County && r.covers(&h.at))
}

/// The request to register a household.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewHousehold {
    /// 网格（单位编号）
    pub grid: u32,
    #[serde(flatten)]
    pub facts: HouseholdInput,
}

/// What is typed for a household.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct HouseholdInput {
    /// 住址
    pub address: String,
    /// 户主
    pub head: String,
    /// 户主电话
    #[serde(default)]
    pub phone: Option<String>,
    /// 家庭人口
    pub members: u32,
    /// 标签
    #[serde(default)]
    pub tags: Vec<String>,
}

impl HouseholdInput {
    fn facts(self) -> Result<HouseholdFacts, DomainError> {
        let phone = match self
            .phone
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            Some(p) => Some(Phone::parse(p).map_err(|_| {
                DomainError::invalid("phone", "电话号码应为5至20位数字（可带 +、空格或短横线）")
            })?),
            None => None,
        };
        HouseholdFacts {
            address: self.address,
            head: self.head,
            phone,
            members: self.members,
            tags: self.tags,
        }
        .checked()
    }
}

/// Registers a household in a grid the caller keeps.
pub async fn register(state: &AppState, c: &Caller, req: NewHousehold) -> ApiResult<HouseholdView> {
    let cat = state.store.catalog();
    let at = locate(&cat, req.grid)?;
    if !Reach::of(c)?.covers(&at) {
        return Err(ApiError::forbidden(
            ErrorCode::NotYourUnit,
            "该网格不属于本单位，不能登记",
        ));
    }
    let facts = req.facts.facts()?;
    if let Some(same) = same_household(state, &at, &facts).await? {
        return Err(ApiError::from(DomainError::invalid(
            "address",
            format!("该网格已登记同一住址和户主的住户（编号 {same}）"),
        )));
    }
    let v = aggregates::execute::<Household>(
        state.store.as_ref(),
        None,
        HouseholdCommand::Register { at, facts },
        c.actor.clone(),
        state.clock.now(),
        Some(0),
    )
    .await?;
    crate::visits::registered(state, c, std::slice::from_ref(&v)).await?;
    let full = full_for(c, &v.state);
    Ok(view(&cat, v, full))
}

/// The household of the same address and head in the grid, if registered.
async fn same_household(
    state: &AppState,
    at: &Location,
    facts: &HouseholdFacts,
) -> ApiResult<Option<u64>> {
    let key = format!("{}|{}", at.grid.0, facts.same_key());
    let found = aggregates::find::<Household>(state.store.as_ref(), "same", &key, 0, 1).await?;
    Ok(found.first().map(|h| h.id))
}

/// A household the caller may see, or 404 (one outside the caller's reach is not told apart):
/// within their reach, or carried by them as its cadre (三包).
async fn visible(state: &AppState, c: &Caller, id: u64) -> ApiResult<Versioned<Household>> {
    match aggregates::load::<Household>(state.store.as_ref(), id).await {
        Ok(v) if crate::visits::may_visit(state, c, &v).await? => Ok(v),
        _ => Err(ApiError::not_found("没有这一户（或不在本单位的台账中）")),
    }
}

/// One household with its history, oldest first.
pub async fn one(
    state: &AppState,
    c: &Caller,
    id: u64,
) -> ApiResult<(HouseholdView, Vec<HistoryEntry>)> {
    let v = visible(state, c, id).await?;
    // Its cadre goes to the door: they see the head and phone too.
    let full = full_for(c, &v.state)
        || crate::visits::cadre_of(state, id, &v.state.at).await? == Some(c.user.id);
    if full {
        crate::audit::viewed_personal(state, c, &format!("household {id}"), "household").await;
    }
    let history = aggregates::history::<Household>(state.store.as_ref(), id)
        .await?
        .into_iter()
        .map(|r| HistoryEntry {
            at: r.at,
            by: r.actor.name.clone(),
            what: match &r.event {
                HouseholdEvent::Registered { .. } => "登记".to_string(),
                HouseholdEvent::Updated { .. } => "修改户情".to_string(),
                HouseholdEvent::Moved { reason, .. } => format!("调整网格：{reason}"),
                HouseholdEvent::Removed { reason } => format!("移出台账：{reason}"),
            },
        })
        .collect();
    Ok((view(&state.store.catalog(), v, full), history))
}

/// A step of a household's history.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HistoryEntry {
    #[schema(value_type = String, format = DateTime)]
    pub at: bihuan_domain::time::Instant,
    pub by: String,
    pub what: String,
}

/// A page of the caller's households, by id: in one grid, village or township, or with a tag,
/// within the caller's reach.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct HouseholdQuery {
    /// 网格
    pub grid: Option<u32>,
    /// 村（社区）
    pub village: Option<u32>,
    /// 乡镇（街道）
    pub township: Option<u32>,
    /// 标签
    pub tag: Option<String>,
    /// 住址或户主姓名中连续的两个字以上（如“3组12号”“王秀英”）
    pub q: Option<String>,
    /// 上一页的 next_after
    pub after: Option<u64>,
    /// 每页条数（1–500，默认100）
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HouseholdPage {
    pub items: Vec<HouseholdView>,
    /// The `after` of the next page, if there is one.
    pub next_after: Option<u64>,
}

pub async fn list(state: &AppState, c: &Caller, q: &HouseholdQuery) -> ApiResult<HouseholdPage> {
    let reach = Reach::of(c)?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=PAGE_MAX).contains(&limit) {
        return Err(ApiError::bad_request(
            ErrorCode::BadQuery,
            format!("limit 须在1到{PAGE_MAX}之间"),
        ));
    }
    // The narrowest index entry asked for (or the caller's reach); the rest checked per row.
    let (key, value) = if let Some(g) = q.grid {
        ("grid", g.to_string())
    } else if let Some(v) = q.village {
        ("village", v.to_string())
    } else if let Some(t) = q.township {
        ("township", t.to_string())
    } else if let Some(t) = q.tag.as_deref().filter(|t| !t.trim().is_empty()) {
        ("tag", t.trim().to_string())
    } else {
        reach.index()
    };
    let text =
        q.q.as_deref()
            .map(bihuan_domain::household::search_text)
            .filter(|t| !t.is_empty());
    if let Some(t) = &text {
        if t.chars().count() < bihuan_domain::household::SEARCH_MIN {
            return Err(ApiError::bad_request(
                ErrorCode::BadQuery,
                "请输入住址或户主姓名中连续的至少两个字",
            ));
        }
        if t.chars().count() > 50 {
            return Err(ApiError::bad_request(
                ErrorCode::BadQuery,
                "搜索内容最多50字，请只输入住址或户主姓名中的一段",
            ));
        }
    }
    // A search reads the fewest rows: by the rarest of its terms, or by the area if that is
    // smaller.
    let (key, value) = match &text {
        Some(t) => {
            let mut best = (key, value);
            let mut fewest =
                aggregates::count::<Household>(state.store.as_ref(), key, &best.1).await?;
            for term in bihuan_domain::household::search_terms(t) {
                let n = aggregates::count::<Household>(state.store.as_ref(), "term", &term).await?;
                if n < fewest {
                    (best, fewest) = (("term", term), n);
                }
            }
            best
        }
        None => (key, value),
    };
    let cat = state.store.catalog();
    let wanted = |h: &Household| {
        h.removed.is_none()
            && reach.covers(&h.at)
            && q.grid.is_none_or(|g| h.at.grid.0 == g)
            && q.village.is_none_or(|v| h.at.village == Some(UnitId(v)))
            && q.township.is_none_or(|t| h.at.township.0 == t)
            && q.tag
                .as_deref()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .is_none_or(|t| h.facts.tags.iter().any(|x| x == t))
            && text.as_deref().is_none_or(|t| h.facts.matches(t))
    };
    let mut items = Vec::new();
    let mut after = q.after.unwrap_or(0);
    let mut next_after = None;
    // Rows outside the other conditions are skipped; read on until the page is full.
    'pages: loop {
        let batch =
            aggregates::find::<Household>(state.store.as_ref(), key, &value, after, 500).await?;
        let last = batch.len() < 500;
        for v in batch {
            after = v.id;
            if wanted(&v.state) {
                items.push(view(&cat, v, false));
                if items.len() == limit as usize {
                    next_after = Some(after);
                    break 'pages;
                }
            }
        }
        if last {
            break;
        }
    }
    Ok(HouseholdPage { items, next_after })
}

async fn change(
    state: &AppState,
    c: &Caller,
    id: u64,
    cmd: HouseholdCommand,
) -> ApiResult<HouseholdView> {
    let current = visible(state, c, id).await?;
    // A cadre carrying the household sees it; only its grid, village and township keep it.
    if !Reach::of(c).is_ok_and(|r| r.covers(&current.state.at)) {
        return Err(ApiError::forbidden(
            ErrorCode::NotYourUnit,
            "住户台账由所在网格、村（社区）和乡镇（街道）维护，包户干部只能查看",
        ));
    }
    if let HouseholdCommand::Move { to, .. } = &cmd {
        if !Reach::of(c)?.covers(to) {
            return Err(ApiError::forbidden(
                ErrorCode::NotYourUnit,
                "目标网格不属于本单位",
            ));
        }
    }
    let v = aggregates::execute::<Household>(
        state.store.as_ref(),
        Some(id),
        cmd,
        c.actor.clone(),
        state.clock.now(),
        Some(current.version),
    )
    .await?;
    let full = full_for(c, &v.state);
    Ok(view(&state.store.catalog(), v, full))
}

/// A bad row of an import.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BadRow {
    /// 行号（表头为第1行）
    pub line: usize,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Imported {
    pub imported: usize,
    /// Rows of households already registered (the same grid, address and head), skipped.
    pub duplicates: usize,
    pub bad_rows: Vec<BadRow>,
}

/// The columns an import reads, by their header (in any order; others ignored).
pub const IMPORT_COLUMNS: [&str; 6] = ["网格", "住址", "户主", "电话", "人口", "标签"];

/// A row of an import file: its line and its cells.
pub type Row = (usize, Vec<String>);

/// The header and the rows (with their line, the header being line 1) of an import file:
/// CSV in UTF-8 (a byte-order mark allowed), or an XLSX workbook's first sheet.
pub fn table(bytes: &[u8]) -> ApiResult<(Vec<String>, Vec<Row>)> {
    let bad = |m: String| ApiError::unprocessable(ErrorCode::InvalidBody, m);
    if bytes.starts_with(b"PK\x03\x04") {
        use calamine::{Data, Reader};
        let mut wb = calamine::Xlsx::new(std::io::Cursor::new(bytes))
            .map_err(|e| bad(format!("无法读取 XLSX 文件：{e}")))?;
        let Some(sheet) = wb.sheet_names().first().cloned() else {
            return Err(bad("工作簿中没有工作表".into()));
        };
        let range = wb
            .worksheet_range(&sheet)
            .map_err(|e| bad(format!("无法读取工作表「{sheet}」：{e}")))?;
        let cell = |d: &Data| -> String {
            match d {
                Data::Empty => String::new(),
                Data::String(s) => s.trim().to_string(),
                Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
                other => other.to_string(),
            }
        };
        let mut rows = range.rows();
        let Some(head) = rows.next() else {
            return Err(bad("工作表是空的".into()));
        };
        let headers = head.iter().map(cell).collect();
        let data = rows
            .enumerate()
            .map(|(i, r)| (i + 2, r.iter().map(cell).collect()))
            .filter(|(_, r): &Row| r.iter().any(|c| !c.is_empty()))
            .collect();
        return Ok((headers, data));
    }
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Err(bad(
            "导入内容须为 UTF-8 编码的 CSV 或 XLSX 工作簿：请在表格软件中另存为「CSV UTF-8」或 .xlsx 后再导入".into(),
        ));
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| bad(format!("无法读取表头：{e}")))?
        .iter()
        .map(str::to_string)
        .collect();
    let mut data = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        let line = i + 2;
        match rec {
            Ok(r) => data.push((line, r.iter().map(str::to_string).collect())),
            Err(e) => return Err(bad(format!("第{line}行无法读取：{e}"))),
        }
    }
    Ok((headers, data))
}

/// Imports households from a CSV file or an XLSX workbook ([`table`]) with the header
/// [`IMPORT_COLUMNS`] (in any order; others ignored; the grid by name or number; tags
/// separated by 、 ， or ;). Good rows are registered, bad ones reported with their line and
/// reason, duplicates skipped.
pub async fn import(state: &AppState, c: &Caller, bytes: &[u8]) -> ApiResult<Imported> {
    let reach = Reach::of(c)?;
    let cat = state.store.catalog();
    let (headers, rows) = table(bytes)?;
    let col = |name: &str| headers.iter().position(|h| h == name);
    let (Some(grid_c), Some(addr_c), Some(head_c), Some(members_c)) =
        (col("网格"), col("住址"), col("户主"), col("人口"))
    else {
        return Err(ApiError::unprocessable(
            ErrorCode::InvalidBody,
            format!(
                "表头须包含：网格、住址、户主、人口（可选：电话、标签）；读到的是：{}",
                headers.join("、")
            ),
        ));
    };
    let (phone_c, tags_c) = (col("电话"), col("标签"));
    let grid_by_name: std::collections::HashMap<&str, UnitId> = cat
        .org
        .units()
        .filter(|u| u.kind == UnitKind::Grid)
        .map(|u| (u.name.as_str(), u.id))
        .collect();
    let mut out = Imported {
        imported: 0,
        duplicates: 0,
        bad_rows: vec![],
    };
    let mut seen = std::collections::HashSet::new();
    let mut pending: Vec<HouseholdCommand> = Vec::new();
    for (i, (line, row)) in rows.into_iter().enumerate() {
        if i >= IMPORT_MAX_ROWS {
            out.bad_rows.push(BadRow {
                line,
                reason: format!("一次最多导入{IMPORT_MAX_ROWS}行，其余未导入，请分批导入"),
            });
            break;
        }
        let cell = |c: usize| row.get(c).map(|x| x.trim().to_string()).unwrap_or_default();
        let grid_text = cell(grid_c);
        let grid = grid_text
            .parse::<u32>()
            .ok()
            .or_else(|| grid_by_name.get(grid_text.as_str()).map(|u| u.0));
        let at = match grid
            .ok_or_else(|| DomainError::invalid("grid", format!("没有网格「{grid_text}」")))
            .and_then(|g| locate(&cat, g))
        {
            Ok(at) => at,
            Err(e) => {
                out.bad_rows.push(BadRow {
                    line,
                    reason: e.message_zh(),
                });
                continue;
            }
        };
        if !reach.covers(&at) {
            out.bad_rows.push(BadRow {
                line,
                reason: format!("网格「{grid_text}」不属于本单位"),
            });
            continue;
        }
        let Ok(members) = cell(members_c).parse::<u32>() else {
            out.bad_rows.push(BadRow {
                line,
                reason: format!("人口「{}」不是整数", cell(members_c)),
            });
            continue;
        };
        let input = HouseholdInput {
            address: cell(addr_c),
            head: cell(head_c),
            phone: phone_c.map(cell),
            members,
            tags: tags_c
                .map(cell)
                .unwrap_or_default()
                .split(['、', '，', ',', ';', '；'])
                .map(str::to_string)
                .collect(),
        };
        let facts = match input.facts() {
            Ok(f) => f,
            Err(e) => {
                out.bad_rows.push(BadRow {
                    line,
                    reason: e.message_zh(),
                });
                continue;
            }
        };
        let key = format!("{}|{}", at.grid.0, facts.same_key());
        if !seen.insert(key) || same_household(state, &at, &facts).await?.is_some() {
            out.duplicates += 1;
            continue;
        }
        pending.push(HouseholdCommand::Register { at, facts });
        if pending.len() == IMPORT_BATCH {
            out.imported += create(state, c, std::mem::take(&mut pending)).await?;
        }
    }
    out.imported += create(state, c, pending).await?;
    tracing::info!(
        user = c.user.id.0,
        imported = out.imported,
        bad = out.bad_rows.len(),
        "households imported"
    );
    Ok(out)
}

/// How many checked rows an import writes in one transaction.
const IMPORT_BATCH: usize = 500;

/// Registers checked households together (one transaction on SQLite); answers how many.
async fn create(state: &AppState, c: &Caller, commands: Vec<HouseholdCommand>) -> ApiResult<usize> {
    if commands.is_empty() {
        return Ok(0);
    }
    let made = aggregates::create_many::<Household>(
        state.store.as_ref(),
        commands,
        c.actor.clone(),
        state.clock.now(),
    )
    .await?;
    crate::visits::registered(state, c, &made).await?;
    Ok(made.len())
}

// ---------------------------------------------------------------------------------------------
// The API

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveBody {
    /// 新网格（单位编号）
    pub grid: u32,
    /// 调整原因，如 网格调整
    pub reason: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoveBody {
    /// 移出原因，如 全户迁出
    pub reason: String,
}

async fn list_api(
    State(state): State<AppState>,
    caller: Caller,
    crate::error::QueryParams(q): crate::error::QueryParams<HouseholdQuery>,
) -> ApiResult<Json<HouseholdPage>> {
    Ok(Json(list(&state, &caller, &q).await?))
}

async fn register_api(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<NewHousehold>,
) -> ApiResult<(StatusCode, Json<HouseholdView>)> {
    Ok((
        StatusCode::CREATED,
        Json(register(&state, &caller, req).await?),
    ))
}

/// A household with its history (the API's detail).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HouseholdDetail {
    #[serde(flatten)]
    pub household: HouseholdView,
    pub history: Vec<HistoryEntry>,
}

async fn get_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<u64>,
) -> ApiResult<Json<HouseholdDetail>> {
    let (household, history) = one(&state, &caller, id).await?;
    Ok(Json(HouseholdDetail { household, history }))
}

async fn update_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<u64>,
    JsonBody(req): JsonBody<HouseholdInput>,
) -> ApiResult<Json<HouseholdView>> {
    let facts = req.facts()?;
    Ok(Json(
        change(&state, &caller, id, HouseholdCommand::Update { facts }).await?,
    ))
}

async fn move_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<u64>,
    JsonBody(req): JsonBody<MoveBody>,
) -> ApiResult<Json<HouseholdView>> {
    let to = locate(&state.store.catalog(), req.grid)?;
    let cmd = HouseholdCommand::Move {
        to,
        reason: req.reason,
    };
    Ok(Json(change(&state, &caller, id, cmd).await?))
}

async fn remove_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<u64>,
    JsonBody(req): JsonBody<RemoveBody>,
) -> ApiResult<Json<HouseholdView>> {
    let cmd = HouseholdCommand::Remove { reason: req.reason };
    Ok(Json(change(&state, &caller, id, cmd).await?))
}

async fn import_api(
    State(state): State<AppState>,
    caller: Caller,
    crate::error::BodyBytes(body): crate::error::BodyBytes,
) -> ApiResult<Json<Imported>> {
    Ok(Json(import(&state, &caller, &body).await?))
}
