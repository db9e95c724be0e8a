//! 楼格格 + e见帮办 — the use cases the API (`/api/v1/buildings`, `/api/v1/enterprises`,
//! `/api/v1/service-teams`, `/api/v1/service-visits`, `/api/v1/policies-for-enterprises`,
//! `/api/v1/enterprise-figures`) and the console (`/enterprises`) share. The records and their
//! rules live in `bihuan_domain::enterprise`.
//!
//! Scoping: the centre, supervision and leaders see the county; a township's (subdistrict's),
//! village's or grid's staff see what lies in their area; everyone else — a department's
//! cadre in a team — sees the buildings of the teams they belong to, the enterprises in them
//! and the enterprises they are paired with (挂点). A contact's phone is masked except to those
//! who serve the enterprise and the centre.
//!
//! A demand (e见帮办) is registered as an appeal with channel 企业服务 through the same use
//! case as every appeal, and the enterprise keeps the link; "solved" is read from the appeal.

use std::collections::{BTreeMap, HashMap, HashSet};

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use bihuan_domain::aggregate::Versioned;
use bihuan_domain::enterprise::{
    Building, BuildingCommand, CreditCode, DemandKind, DemandLink, DemandState, Eligibility,
    Enterprise, EnterpriseCommand, EnterpriseFacts, EnterprisePolicy, FoundDemand, Liaison, Match,
    Member, PolicyCommand, Premises, Profile, ServiceTeam, ServiceVisit, Size, TeamCommand,
    VisitCommand, DEFAULT_SERVICES,
};
use bihuan_domain::household::Location;
use bihuan_domain::lifecycle::Role;
use bihuan_domain::org::{UnitId, UnitKind};
use bihuan_domain::time::local_date;
use bihuan_domain::{Channel, DomainError, ErrorCode, Phone};
use bihuan_store::aggregates;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::error::{load_or_404, ApiError, ApiResult, JsonBody, PathParams, QueryParams};
use crate::households::{locate, table, BadRow};
use crate::AppState;

/// The most rows one import reads.
pub const IMPORT_MAX_ROWS: usize = 20_000;

pub fn router() -> Router<AppState> {
    let limit = axum::extract::DefaultBodyLimit::max(crate::households::IMPORT_BODY_LIMIT);
    Router::new()
        .route(
            "/api/v1/buildings",
            get(buildings_api).post(new_building_api),
        )
        .route(
            "/api/v1/buildings/import",
            post(import_buildings_api).layer(limit),
        )
        .route(
            "/api/v1/enterprises",
            get(enterprises_api).post(new_enterprise_api),
        )
        .route(
            "/api/v1/enterprises/import",
            post(import_enterprises_api).layer(limit),
        )
        .route("/api/v1/enterprises/{id}", get(enterprise_api))
        .route("/api/v1/enterprises/{id}/move", post(move_api))
        .route("/api/v1/enterprises/{id}/liaison", post(liaison_api))
        .route("/api/v1/enterprises/{id}/accounts", post(account_api))
        .route("/api/v1/enterprises/{id}/demands", post(demand_api))
        .route("/api/v1/enterprises/{id}/applications", post(apply_api))
        .route(
            "/api/v1/enterprises/{id}/applications/{n}",
            post(decide_api),
        )
        .route("/api/v1/enterprises/{id}/financing", post(finance_api))
        .route("/api/v1/enterprises/{id}/financing/{n}", post(financed_api))
        .route("/api/v1/service-teams", get(teams_api).post(new_team_api))
        .route("/api/v1/service-teams/{id}", post(team_change_api))
        .route("/api/v1/service-visits", get(visits_api).post(plan_api))
        .route("/api/v1/service-visits/{id}", post(record_api))
        .route(
            "/api/v1/policies-for-enterprises",
            get(policies_api).post(publish_api),
        )
        .route("/api/v1/policies-for-enterprises/match", get(match_api))
        .route("/api/v1/policies-for-enterprises/{id}", post(revise_api))
        .route("/api/v1/enterprise-figures", get(figures_api))
}

// ---------------------------------------------------------------------------------------------
// Scoping

/// What a caller may see of the registry.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// The whole county.
    pub all: bool,
    /// The area of their unit (a township, village or grid).
    pub area: Option<(UnitKind, UnitId)>,
    /// The buildings of their teams.
    pub buildings: HashSet<u64>,
    /// Their teams.
    pub teams: HashSet<u64>,
}

impl Scope {
    pub fn covers_at(&self, at: &Location) -> bool {
        self.all
            || match self.area {
                Some((UnitKind::Township, t)) => at.township == t,
                Some((UnitKind::Village, v)) => at.village == Some(v),
                Some((UnitKind::Grid, g)) => at.grid == g,
                _ => false,
            }
    }
    pub fn covers_building(&self, id: u64, b: &Building) -> bool {
        self.covers_at(&b.at) || self.buildings.contains(&id)
    }
    pub fn covers(&self, c: &Caller, e: &Enterprise) -> bool {
        e.liaison.as_ref().is_some_and(|l| l.user == c.user.id)
            || e.premises.as_ref().is_some_and(|p| {
                self.covers_at(&p.at()) || p.building().is_some_and(|b| self.buildings.contains(&b))
            })
            || (e.premises.is_none() && self.all)
    }
    pub fn covers_team(&self, id: u64, t: &ServiceTeam) -> bool {
        self.all
            || self.teams.contains(&id)
            || matches!(self.area, Some((UnitKind::Township, u)) if u == t.unit)
    }
}

/// The caller's scope: the county for those who see every appeal, else their area and teams.
pub async fn scope(state: &AppState, c: &Caller) -> ApiResult<Scope> {
    let mut s = Scope {
        all: c.sees_all(),
        ..Scope::default()
    };
    if s.all {
        return Ok(s);
    }
    if matches!(
        c.unit_kind,
        UnitKind::Township | UnitKind::Village | UnitKind::Grid
    ) {
        s.area = Some((c.unit_kind, c.user.unit));
    }
    for t in aggregates::find_all::<ServiceTeam>(
        state.store.as_ref(),
        "member",
        &c.user.id.0.to_string(),
        0,
    )
    .await?
    {
        s.teams.insert(t.id);
        s.buildings.extend(t.state.buildings.iter().copied());
    }
    Ok(s)
}

fn name_of(cat: &bihuan_store::Catalog, u: UnitId) -> String {
    cat.org.get(u).map(|x| x.name.clone()).unwrap_or_default()
}

fn not_yours(what: &str) -> ApiError {
    ApiError::not_found(format!("没有这个{what}，或它不在您的服务范围内"))
}

// ---------------------------------------------------------------------------------------------
// Buildings

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BuildingView {
    pub id: u64,
    pub version: u64,
    #[serde(flatten)]
    pub building: Building,
    pub township_name: String,
    pub grid_name: String,
    /// The teams that serve it.
    pub teams: Vec<String>,
    /// Enterprises in it now.
    pub enterprises: u64,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBuilding {
    pub name: String,
    pub address: String,
    /// 所在网格（单位编号）
    pub grid: u32,
    pub floors: u32,
    #[serde(default)]
    pub units: Vec<String>,
}

fn keeps(c: &Caller) -> ApiResult<()> {
    if bihuan_domain::enterprise::KEEPERS.contains(&c.user.role) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            ErrorCode::RoleForbidden,
            "楼宇和企业台账由中心、乡镇（街道）、网格员维护",
        ))
    }
}

pub async fn new_building(
    state: &AppState,
    c: &Caller,
    req: NewBuilding,
) -> ApiResult<BuildingView> {
    keeps(c)?;
    let cat = state.store.catalog();
    let at = locate(&cat, req.grid)?;
    if !scope(state, c).await?.covers_at(&at) {
        return Err(ApiError::forbidden(
            ErrorCode::RoleForbidden,
            "只能登记本辖区的楼宇",
        ));
    }
    let v = aggregates::execute::<Building>(
        state.store.as_ref(),
        None,
        BuildingCommand::Register {
            name: req.name,
            address: req.address,
            at,
            floors: req.floors,
            units: req.units,
        },
        c.actor.clone(),
        state.clock.now(),
        Some(0),
    )
    .await?;
    Ok(building_view(&cat, v, &[], 0))
}

fn building_view(
    cat: &bihuan_store::Catalog,
    v: Versioned<Building>,
    teams: &[&Versioned<ServiceTeam>],
    enterprises: u64,
) -> BuildingView {
    BuildingView {
        id: v.id,
        version: v.version,
        township_name: name_of(cat, v.state.at.township),
        grid_name: name_of(cat, v.state.at.grid),
        teams: teams
            .iter()
            .filter(|t| t.state.buildings.contains(&v.id))
            .map(|t| t.state.name.clone())
            .collect(),
        enterprises,
        building: v.state,
    }
}

/// Everything the registry pages read at once: buildings, teams and enterprises in scope.
pub struct Registry {
    pub scope: Scope,
    pub buildings: Vec<Versioned<Building>>,
    pub teams: Vec<Versioned<ServiceTeam>>,
    pub enterprises: Vec<Versioned<Enterprise>>,
}

pub async fn registry(state: &AppState, c: &Caller) -> ApiResult<Registry> {
    let scope = scope(state, c).await?;
    let store = state.store.as_ref();
    let buildings = aggregates::find_all::<Building>(store, "", "", 0)
        .await?
        .into_iter()
        .filter(|b| b.state.removed.is_none() && scope.covers_building(b.id, &b.state))
        .collect();
    let teams = aggregates::find_all::<ServiceTeam>(store, "", "", 0)
        .await?
        .into_iter()
        .filter(|t| t.state.dissolved.is_none() && scope.covers_team(t.id, &t.state))
        .collect();
    let enterprises = aggregates::find_all::<Enterprise>(store, "", "", 0)
        .await?
        .into_iter()
        .filter(|e| scope.covers(c, &e.state))
        .collect();
    Ok(Registry {
        scope,
        buildings,
        teams,
        enterprises,
    })
}

pub async fn buildings(state: &AppState, c: &Caller) -> ApiResult<Vec<BuildingView>> {
    let r = registry(state, c).await?;
    let cat = state.store.catalog();
    let mut count: HashMap<u64, u64> = HashMap::new();
    for e in &r.enterprises {
        if let Some(b) = e.state.premises.as_ref().and_then(Premises::building) {
            *count.entry(b).or_default() += 1;
        }
    }
    let teams: Vec<&Versioned<ServiceTeam>> = r.teams.iter().collect();
    Ok(r.buildings
        .into_iter()
        .map(|b| {
            let n = count.get(&b.id).copied().unwrap_or(0);
            building_view(&cat, b, &teams, n)
        })
        .collect())
}

/// What an import did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = RegistryImported)]
pub struct Imported {
    pub imported: usize,
    /// Rows already in the registry (the same building name in the grid, the same credit
    /// code), skipped.
    pub duplicates: usize,
    pub bad_rows: Vec<BadRow>,
}

fn headers_error(need: &str, got: &[String]) -> ApiError {
    ApiError::unprocessable(
        ErrorCode::InvalidBody,
        format!("表头须包含：{need}；读到的是：{}", got.join("、")),
    )
}

fn grid_of(cat: &bihuan_store::Catalog, text: &str) -> Result<Location, DomainError> {
    let id = text.parse::<u32>().ok().or_else(|| {
        cat.org
            .units()
            .find(|u| u.kind == UnitKind::Grid && u.name == text)
            .map(|u| u.id.0)
    });
    match id {
        Some(g) => locate(cat, g),
        None => Err(DomainError::invalid("grid", format!("没有网格「{text}」"))),
    }
}

/// Imports buildings (CSV or XLSX: 楼宇名称, 地址, 网格, 楼层, optional 房号 separated by 、).
pub async fn import_buildings(state: &AppState, c: &Caller, bytes: &[u8]) -> ApiResult<Imported> {
    keeps(c)?;
    let sc = scope(state, c).await?;
    let cat = state.store.catalog();
    let (headers, rows) = table(bytes)?;
    let col = |n: &str| headers.iter().position(|h| h == n);
    let (Some(name_c), Some(addr_c), Some(grid_c), Some(floors_c)) =
        (col("楼宇名称"), col("地址"), col("网格"), col("楼层"))
    else {
        return Err(headers_error(
            "楼宇名称、地址、网格、楼层（可选：房号）",
            &headers,
        ));
    };
    let units_c = col("房号");
    let existing: HashSet<(u32, String)> =
        aggregates::find_all::<Building>(state.store.as_ref(), "", "", 0)
            .await?
            .into_iter()
            .filter(|b| b.state.removed.is_none())
            .map(|b| (b.state.at.grid.0, b.state.name))
            .collect();
    let mut out = Imported {
        imported: 0,
        duplicates: 0,
        bad_rows: vec![],
    };
    let mut seen = HashSet::new();
    let mut pending = Vec::new();
    for (i, (line, row)) in rows.into_iter().enumerate() {
        if i >= IMPORT_MAX_ROWS {
            out.bad_rows.push(BadRow {
                line,
                reason: format!("一次最多导入{IMPORT_MAX_ROWS}行，其余未导入"),
            });
            break;
        }
        let cell = |c: usize| row.get(c).map(|x| x.trim().to_string()).unwrap_or_default();
        let bad = |reason: String| BadRow { line, reason };
        let at = match grid_of(&cat, &cell(grid_c)) {
            Ok(at) if sc.covers_at(&at) => at,
            Ok(_) => {
                out.bad_rows
                    .push(bad(format!("网格「{}」不在本辖区", cell(grid_c))));
                continue;
            }
            Err(e) => {
                out.bad_rows.push(bad(e.message_zh()));
                continue;
            }
        };
        let Ok(floors) = cell(floors_c).parse::<u32>() else {
            out.bad_rows
                .push(bad(format!("楼层「{}」应为整数", cell(floors_c))));
            continue;
        };
        let name = cell(name_c);
        let key = (at.grid.0, name.clone());
        if existing.contains(&key) || !seen.insert(key) {
            out.duplicates += 1;
            continue;
        }
        let units: Vec<String> = units_c
            .map(|u| {
                cell(u)
                    .split(['、', ',', '，', ' '])
                    .filter(|x| !x.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let cmd = BuildingCommand::Register {
            name,
            address: cell(addr_c),
            at,
            floors,
            units,
        };
        match check_row::<Building>(state, c, &cmd) {
            Ok(()) => pending.push(cmd),
            Err(reason) => out.bad_rows.push(bad(reason)),
        }
    }
    out.imported = create_rows::<Building>(state, c, pending).await?;
    Ok(out)
}

/// Whether `cmd` would create its record (checked row by row, so that one bad row does not
/// refuse the file), as the refusal's words.
fn check_row<A: bihuan_domain::aggregate::Aggregate>(
    state: &AppState,
    c: &Caller,
    cmd: &A::Command,
) -> Result<(), String> {
    A::decide(
        None,
        cmd,
        &c.actor,
        state.clock.now(),
        state.store.catalog().ctx(),
    )
    .map(|_| ())
    .map_err(|e| e.message_zh())
}

/// Creates the checked rows of an import, a batch per transaction.
async fn create_rows<A: bihuan_domain::aggregate::Aggregate>(
    state: &AppState,
    c: &Caller,
    pending: Vec<A::Command>,
) -> ApiResult<usize>
where
    A::Command: Clone,
{
    let n = pending.len();
    for chunk in pending.chunks(2000) {
        aggregates::create_many::<A>(
            state.store.as_ref(),
            chunk.to_vec(),
            c.actor.clone(),
            state.clock.now(),
        )
        .await?;
    }
    Ok(n)
}

// ---------------------------------------------------------------------------------------------
// Enterprises

/// An enterprise as the API shows it: the contact masked unless the reader serves it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EnterpriseView {
    pub id: u64,
    pub version: u64,
    #[serde(flatten)]
    pub enterprise: Enterprise,
    pub size_label: &'static str,
    /// Where it is, in words.
    pub place: String,
    pub township_name: Option<String>,
    /// Whether the contact is shown in full to this reader.
    pub contact_full: bool,
}

/// Whether `c` sees the contact in full: the centre, its 挂点 cadre, its teams and its area.
fn full_for(c: &Caller, s: &Scope, e: &Enterprise) -> bool {
    matches!(c.user.role, Role::Dispatcher | Role::Admin) || (!s.all && s.covers(c, e))
}

pub fn place_of(
    cat: &bihuan_store::Catalog,
    buildings: &HashMap<u64, String>,
    p: &Option<Premises>,
) -> String {
    match p {
        None => "已迁出".into(),
        Some(Premises::Building { building, unit, .. }) => format!(
            "{}{}",
            buildings
                .get(building)
                .cloned()
                .unwrap_or_else(|| format!("楼宇{building}")),
            if unit.is_empty() {
                String::new()
            } else {
                format!(" {unit}")
            }
        ),
        Some(Premises::Village { at, address }) => format!(
            "{}{}",
            at.village
                .map(|v| name_of(cat, v))
                .unwrap_or_else(|| name_of(cat, at.township)),
            if address.is_empty() {
                String::new()
            } else {
                format!(" {address}")
            }
        ),
    }
}

pub fn enterprise_view(
    cat: &bihuan_store::Catalog,
    buildings: &HashMap<u64, String>,
    c: &Caller,
    s: &Scope,
    v: Versioned<Enterprise>,
) -> EnterpriseView {
    let full = full_for(c, s, &v.state);
    let mut e = v.state;
    if !full {
        use bihuan_domain::redact::Redact;
        e.facts.phone = e.facts.phone.as_ref().map(Redact::redacted);
        e.facts.contact = bihuan_domain::appeal::mask_name(&e.facts.contact);
    }
    EnterpriseView {
        id: v.id,
        version: v.version,
        size_label: e.facts.size.label(),
        place: place_of(cat, buildings, &e.premises),
        township_name: e.premises.as_ref().map(|p| name_of(cat, p.at().township)),
        contact_full: full,
        enterprise: e,
    }
}

pub async fn building_names(state: &AppState) -> ApiResult<HashMap<u64, String>> {
    Ok(
        aggregates::find_all::<Building>(state.store.as_ref(), "", "", 0)
            .await?
            .into_iter()
            .map(|b| (b.id, b.state.name))
            .collect(),
    )
}

/// What is typed for an enterprise.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEnterprise {
    /// 统一社会信用代码
    pub code: String,
    pub name: String,
    pub industry: String,
    /// micro、small、medium、large（或 微型、小型、中型、大型）
    pub size: String,
    #[schema(value_type = String, format = Date)]
    pub founded: NaiveDate,
    pub contact: String,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(flatten)]
    pub premises: PremisesInput,
    /// 入驻日期（默认今天）
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub since: Option<NaiveDate>,
}

/// Where: a building and its unit, or a grid (a village's enterprise) with an address.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct PremisesInput {
    #[serde(default)]
    pub building: Option<u64>,
    /// 房号
    #[serde(default)]
    pub unit: Option<String>,
    /// 不在楼宇时：所在网格（单位编号）
    #[serde(default)]
    pub grid: Option<u32>,
    #[serde(default)]
    pub address: Option<String>,
}

async fn premises(state: &AppState, p: &PremisesInput) -> ApiResult<Option<Premises>> {
    match (p.building, p.grid) {
        (Some(b), _) => {
            let v = load_or_404::<Building>(state.store.as_ref(), b, "没有这栋楼宇").await?;
            if v.state.removed.is_some() {
                return Err(ApiError::from(DomainError::invalid(
                    "building",
                    "这栋楼宇已移除",
                )));
            }
            let unit = p.unit.clone().unwrap_or_default().trim().to_string();
            if !unit.is_empty() && !v.state.units.is_empty() && !v.state.units.contains(&unit) {
                return Err(ApiError::from(DomainError::invalid(
                    "building.units",
                    format!("{}没有房号「{unit}」", v.state.name),
                )));
            }
            Ok(Some(Premises::Building {
                building: b,
                at: v.state.at,
                unit,
            }))
        }
        (None, Some(g)) => Ok(Some(Premises::Village {
            at: locate(&state.store.catalog(), g)?,
            address: p
                .address
                .clone()
                .unwrap_or_default()
                .trim()
                .chars()
                .take(200)
                .collect(),
        })),
        (None, None) => Ok(None),
    }
}

fn parse_code(s: &str) -> Result<CreditCode, DomainError> {
    CreditCode::parse(s).map_err(|e| DomainError::invalid("credit_code", e))
}

fn parse_size(s: &str) -> Result<Size, DomainError> {
    Size::parse(s).ok_or_else(|| {
        DomainError::invalid(
            "size",
            format!("企业规模「{s}」无效，可选：微型、小型、中型、大型"),
        )
    })
}

/// An optional phone as typed (blank: none), refused with what a number looks like.
pub fn parse_phone(p: Option<&str>) -> Result<Option<Phone>, DomainError> {
    match p.map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) => Phone::parse(p).map(Some).map_err(|_| {
            DomainError::invalid("phone", "电话号码应为5至20位数字（可带 +、空格或短横线）")
        }),
        None => Ok(None),
    }
}

pub async fn new_enterprise(
    state: &AppState,
    c: &Caller,
    req: NewEnterprise,
) -> ApiResult<EnterpriseView> {
    keeps(c)?;
    let code = parse_code(&req.code)?;
    if !aggregates::find::<Enterprise>(state.store.as_ref(), "code", code.as_str(), 0, 1)
        .await?
        .is_empty()
    {
        return Err(ApiError::from(DomainError::invalid(
            "credit_code",
            format!("信用代码 {code} 的企业已经登记"),
        )));
    }
    let place = premises(state, &req.premises).await?;
    let sc = scope(state, c).await?;
    if let Some(p) = &place {
        if !sc.covers_at(&p.at()) && !p.building().is_some_and(|b| sc.buildings.contains(&b)) {
            return Err(ApiError::forbidden(
                ErrorCode::RoleForbidden,
                "只能登记本辖区或本服务队楼宇里的企业",
            ));
        }
    }
    let facts = EnterpriseFacts {
        name: req.name,
        industry: req.industry,
        size: parse_size(&req.size)?,
        founded: req.founded,
        contact: req.contact,
        phone: parse_phone(req.phone.as_deref())?,
    };
    let today = local_date(state.clock.now());
    let v = aggregates::execute::<Enterprise>(
        state.store.as_ref(),
        None,
        EnterpriseCommand::Register {
            code,
            facts,
            premises: place,
            since: req.since.unwrap_or(today),
        },
        c.actor.clone(),
        state.clock.now(),
        Some(0),
    )
    .await?;
    let cat = state.store.catalog();
    Ok(enterprise_view(
        &cat,
        &building_names(state).await?,
        c,
        &sc,
        v,
    ))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct EnterpriseQuery {
    /// 楼宇编号
    #[serde(default)]
    pub building: Option<u64>,
    /// 服务队编号（其楼宇里的企业）
    #[serde(default)]
    pub team: Option<u64>,
    /// 乡镇（街道）编号
    #[serde(default)]
    pub township: Option<u32>,
    /// 名称或信用代码中的文字
    #[serde(default)]
    pub q: Option<String>,
}

pub async fn enterprises(
    state: &AppState,
    c: &Caller,
    q: &EnterpriseQuery,
) -> ApiResult<Vec<EnterpriseView>> {
    let r = registry(state, c).await?;
    let cat = state.store.catalog();
    let names: HashMap<u64, String> = r
        .buildings
        .iter()
        .map(|b| (b.id, b.state.name.clone()))
        .collect();
    let team_buildings: Option<HashSet<u64>> = q.team.map(|t| {
        r.teams
            .iter()
            .filter(|x| x.id == t)
            .flat_map(|x| x.state.buildings.iter().copied())
            .collect()
    });
    let needle = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty());
    Ok(r.enterprises
        .into_iter()
        .filter(|e| {
            let p = e.state.premises.as_ref();
            q.building
                .is_none_or(|b| p.and_then(Premises::building) == Some(b))
                && team_buildings.as_ref().is_none_or(|set| {
                    p.and_then(Premises::building)
                        .is_some_and(|b| set.contains(&b))
                })
                && q.township
                    .is_none_or(|t| p.is_some_and(|p| p.at().township == UnitId(t)))
                && needle.is_none_or(|n| {
                    e.state.facts.name.contains(n) || e.state.code.as_str().contains(n)
                })
        })
        .map(|e| enterprise_view(&cat, &names, c, &r.scope, e))
        .collect())
}

/// One enterprise with its demands' states and the policies matched to it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EnterpriseDetail {
    #[serde(flatten)]
    pub view: EnterpriseView,
    pub demands: Vec<DemandView>,
    /// The policies in force today, each with whether it qualifies and why.
    pub policies: Vec<PolicyMatch>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DemandView {
    #[serde(flatten)]
    pub link: DemandLink,
    pub kind_label: &'static str,
    pub title: String,
    pub state: DemandState,
    pub state_label: &'static str,
    pub status_label: String,
    /// The enterprise's rating at the return visit, once made.
    pub rating: Option<bihuan_domain::lifecycle::Rating>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PolicyMatch {
    pub id: u64,
    pub name: String,
    pub benefit: String,
    pub source: String,
    pub how_to_apply: String,
    #[serde(flatten)]
    pub matched: Match,
}

async fn load_mine(
    state: &AppState,
    c: &Caller,
    id: u64,
) -> ApiResult<(Scope, Versioned<Enterprise>)> {
    let v = load_or_404::<Enterprise>(state.store.as_ref(), id, "没有这家企业").await?;
    let s = scope(state, c).await?;
    if !s.covers(c, &v.state) {
        return Err(not_yours("企业"));
    }
    Ok((s, v))
}

pub async fn demand_views(state: &AppState, e: &Enterprise) -> ApiResult<Vec<DemandView>> {
    let mut out = Vec::new();
    for d in &e.demands {
        let a = state
            .store
            .appeal(bihuan_store::AppealRef::Id(bihuan_domain::AppealId(
                d.appeal_id,
            )))
            .await?;
        let st = DemandState::of(&a);
        out.push(DemandView {
            link: d.clone(),
            kind_label: d.kind.label(),
            title: a.title.clone(),
            state: st,
            state_label: st.label(),
            status_label: a.status.label().to_string(),
            rating: a.visit.as_ref().and_then(|v| v.rating),
        });
    }
    Ok(out)
}

fn profile(e: &Enterprise, on: NaiveDate) -> Profile {
    Profile {
        industry: e.facts.industry.clone(),
        size: e.facts.size,
        township: e.premises.as_ref().map(|p| p.at().township),
        age_months: e.age_months(on),
    }
}

async fn matches_for(
    state: &AppState,
    p: &Profile,
    on: NaiveDate,
    only_eligible: bool,
) -> ApiResult<Vec<PolicyMatch>> {
    let cat = state.store.catalog();
    let mut out = Vec::new();
    for v in aggregates::find_all::<EnterprisePolicy>(state.store.as_ref(), "", "", 0).await? {
        if !v.state.in_force(on) {
            continue;
        }
        let m = v.state.matches(p, on, |u| name_of(&cat, u));
        if only_eligible && !m.eligible {
            continue;
        }
        out.push(PolicyMatch {
            id: v.id,
            name: v.state.name,
            benefit: v.state.benefit,
            source: v.state.source,
            how_to_apply: v.state.how_to_apply,
            matched: m,
        });
    }
    out.sort_by_key(|m| !m.matched.eligible);
    Ok(out)
}

pub async fn enterprise(state: &AppState, c: &Caller, id: u64) -> ApiResult<EnterpriseDetail> {
    let (s, v) = load_mine(state, c, id).await?;
    let today = local_date(state.clock.now());
    let demands = demand_views(state, &v.state).await?;
    let policies = matches_for(state, &profile(&v.state, today), today, false).await?;
    let cat = state.store.catalog();
    Ok(EnterpriseDetail {
        view: enterprise_view(&cat, &building_names(state).await?, c, &s, v),
        demands,
        policies,
    })
}

async fn change(
    state: &AppState,
    c: &Caller,
    id: u64,
    cmd: EnterpriseCommand,
) -> ApiResult<EnterpriseView> {
    let (s, v) = load_mine(state, c, id).await?;
    let v = aggregates::execute::<Enterprise>(
        state.store.as_ref(),
        Some(id),
        cmd,
        c.actor.clone(),
        state.clock.now(),
        Some(v.version),
    )
    .await?;
    let cat = state.store.catalog();
    Ok(enterprise_view(
        &cat,
        &building_names(state).await?,
        c,
        &s,
        v,
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = EnterpriseMove)]
pub struct MoveBody {
    /// in（迁入）或 out（迁出）
    pub direction: String,
    #[serde(flatten)]
    pub premises: PremisesInput,
    #[schema(value_type = String, format = Date)]
    pub on: NaiveDate,
    #[serde(default)]
    pub reason: String,
}

pub async fn move_enterprise(
    state: &AppState,
    c: &Caller,
    id: u64,
    b: MoveBody,
) -> ApiResult<EnterpriseView> {
    keeps(c)?;
    let cmd = match b.direction.as_str() {
        "in" => {
            let Some(p) = premises(state, &b.premises).await? else {
                return Err(ApiError::from(DomainError::invalid(
                    "premises",
                    "迁入时请给出楼宇或网格",
                )));
            };
            EnterpriseCommand::MoveIn {
                premises: p,
                on: b.on,
                reason: b.reason,
            }
        }
        "out" => EnterpriseCommand::MoveOut {
            on: b.on,
            reason: b.reason,
        },
        other => {
            return Err(ApiError::from(DomainError::invalid(
                "premises",
                format!("direction「{other}」无效，可选：in（迁入）、out（迁出）"),
            )))
        }
    };
    change(state, c, id, cmd).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LiaisonBody {
    /// 挂点干部的用户编号
    pub user: u32,
}

pub async fn liaise(
    state: &AppState,
    c: &Caller,
    id: u64,
    b: LiaisonBody,
) -> ApiResult<EnterpriseView> {
    keeps(c)?;
    let user = state
        .store
        .user(bihuan_domain::UserId(b.user))
        .await
        .map_err(|_| ApiError::from(DomainError::invalid("user", "没有这个用户")))?;
    if !user.active {
        return Err(ApiError::from(DomainError::invalid(
            "user",
            "这个账号已停用",
        )));
    }
    let today = local_date(state.clock.now());
    change(
        state,
        c,
        id,
        EnterpriseCommand::Liaise(Liaison {
            user: user.id,
            name: user.name,
            since: today,
        }),
    )
    .await
}

/// Lets an employer account (role 用人单位) speak for the enterprise: it posts the
/// enterprise's jobs on the 就业之家 and sees them, nothing else.
pub async fn account(
    state: &AppState,
    c: &Caller,
    id: u64,
    b: LiaisonBody,
) -> ApiResult<EnterpriseView> {
    keeps(c)?;
    let user = state
        .store
        .user(bihuan_domain::UserId(b.user))
        .await
        .map_err(|_| ApiError::from(DomainError::invalid("user", "没有这个用户")))?;
    if user.role != Role::Employer || !user.active {
        return Err(ApiError::from(DomainError::invalid(
            "user",
            "只能关联角色为“用人单位”的在用账号",
        )));
    }
    change(state, c, id, EnterpriseCommand::Account { user: user.id }).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DemandBody {
    /// financing、labour、premises、legal、policy、approval、payment、other（或中文名）
    pub kind: String,
    pub text: String,
}

fn demand_kind(s: &str) -> Result<DemandKind, DomainError> {
    DemandKind::parse(s).ok_or_else(|| {
        DomainError::invalid(
            "demands",
            format!(
                "需求类型「{s}」无效，可选：{}",
                DemandKind::ALL
                    .iter()
                    .map(|k| k.label())
                    .collect::<Vec<_>>()
                    .join("、")
            ),
        )
    })
}

/// A demand to raise: its type and words, the team and visit that found it, the key that
/// makes it once.
struct Raise<'a> {
    kind: DemandKind,
    text: &'a str,
    team: Option<u64>,
    visit: Option<u64>,
    key: String,
}

/// Registers a demand of enterprise `e` as an appeal (channel 企业服务) and links it. `key`
/// makes it once (a visit's demand, or the same text sent twice at the same version).
async fn raise_demand(
    state: &AppState,
    c: &Caller,
    e: &Versioned<Enterprise>,
    d: Raise<'_>,
) -> ApiResult<(String, Versioned<Enterprise>)> {
    let Raise {
        kind,
        text,
        team,
        visit,
        key,
    } = d;
    let text = text.trim();
    if text.is_empty() || text.chars().count() > 500 {
        return Err(ApiError::from(DomainError::invalid(
            "demands",
            "请填写需求内容（最多500字）",
        )));
    }
    let cat = state.store.catalog();
    let names = building_names(state).await?;
    let (at, address) = match &e.state.premises {
        Some(p) => (Some(p.at()), place_of(&cat, &names, &e.state.premises)),
        None => (None, String::new()),
    };
    let short: String = text.chars().take(30).collect();
    let new = bihuan_domain::NewAppeal {
        channel: Channel::EnterpriseService,
        kind: if kind == DemandKind::Payment {
            bihuan_domain::Kind::PaymentComplaint
        } else {
            bihuan_domain::Kind::Help
        },
        urgency: bihuan_domain::Urgency::Normal,
        category: None,
        title: format!("【e见帮办·{}】{short}", kind.label()),
        content: format!(
            "{text}\n（{}，统一社会信用代码 {}，{}；{} 登记）",
            e.state.facts.name,
            e.state.code,
            if address.is_empty() {
                "已迁出".to_string()
            } else {
                address.clone()
            },
            c.user.name
        ),
        place: bihuan_domain::Place {
            address,
            township: at.map(|a| a.township),
            village: at.and_then(|a| a.village),
            grid: at.map(|a| a.grid),
            coordinates: None,
        },
        citizen: bihuan_domain::Citizen {
            name: Some(e.state.facts.contact.clone()),
            phone: e.state.facts.phone.clone(),
            organisation: Some(e.state.facts.name.clone()),
        },
        accused_units: vec![],
        accused_persons: vec![],
        group: None,
        forwarded_from: None,
        repeat_of: None,
    };
    let registrar = crate::app::registrar(c, "e见帮办");
    let r = crate::app::register(state, &registrar, new, Some(key)).await?;
    let link = DemandLink {
        kind,
        appeal: r.appeal.number.to_string(),
        appeal_id: r.appeal.id.0,
        team,
        visit,
        at: state.clock.now(),
    };
    let mut sys = c.clone();
    sys.actor.role = Role::System;
    let v = aggregates::execute::<Enterprise>(
        state.store.as_ref(),
        Some(e.id),
        EnterpriseCommand::Demand(link),
        sys.actor,
        state.clock.now(),
        None,
    )
    .await?;
    Ok((r.appeal.number.to_string(), v))
}

/// What a demand became.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DemandRaised {
    /// The appeal's number.
    pub appeal: String,
    pub enterprise: EnterpriseView,
}

pub async fn demand(
    state: &AppState,
    c: &Caller,
    id: u64,
    b: DemandBody,
) -> ApiResult<DemandRaised> {
    let (s, v) = load_mine(state, c, id).await?;
    let kind = demand_kind(&b.kind)?;
    use sha2::Digest;
    let digest = hex::encode(
        &sha2::Sha256::digest(format!("{}|{}", kind.code(), b.text.trim()).as_bytes())[..8],
    );
    let key = format!("enterprise:{id}:{}:{digest}", v.version);
    let (appeal, v) = raise_demand(
        state,
        c,
        &v,
        Raise {
            kind,
            text: &b.text,
            team: None,
            visit: None,
            key,
        },
    )
    .await?;
    let cat = state.store.catalog();
    Ok(DemandRaised {
        appeal,
        enterprise: enterprise_view(&cat, &building_names(state).await?, c, &s, v),
    })
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyBody {
    pub policy: u64,
    #[schema(value_type = Option<String>, format = Date)]
    #[serde(default)]
    pub on: Option<NaiveDate>,
}

pub async fn apply(
    state: &AppState,
    c: &Caller,
    id: u64,
    b: ApplyBody,
) -> ApiResult<EnterpriseView> {
    keeps(c)?;
    let p = load_or_404::<EnterprisePolicy>(state.store.as_ref(), b.policy, "没有这项政策").await?;
    let (_, e) = load_mine(state, c, id).await?;
    let on = b.on.unwrap_or_else(|| local_date(state.clock.now()));
    let cat = state.store.catalog();
    let m = p
        .state
        .matches(&profile(&e.state, on), on, |u| name_of(&cat, u));
    if !m.eligible {
        let why: Vec<String> = m
            .reasons
            .into_iter()
            .filter(|r| !r.0)
            .map(|r| r.1)
            .collect();
        return Err(ApiError::from(DomainError::invalid(
            "application",
            format!("企业不符合「{}」的条件：{}", p.state.name, why.join("；")),
        )));
    }
    change(
        state,
        c,
        id,
        EnterpriseCommand::Apply {
            policy: p.id,
            policy_name: p.state.name,
            on,
        },
    )
    .await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecideBody {
    pub granted: bool,
    /// 兑现金额（元）
    #[serde(default)]
    pub amount: u64,
    #[serde(default)]
    pub note: String,
    #[schema(value_type = Option<String>, format = Date)]
    #[serde(default)]
    pub on: Option<NaiveDate>,
}

pub async fn decide(
    state: &AppState,
    c: &Caller,
    id: u64,
    n: usize,
    b: DecideBody,
) -> ApiResult<EnterpriseView> {
    keeps(c)?;
    let on = b.on.unwrap_or_else(|| local_date(state.clock.now()));
    change(
        state,
        c,
        id,
        EnterpriseCommand::Decide {
            application: n,
            granted: b.granted,
            amount: b.amount,
            note: b.note,
            on,
        },
    )
    .await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FinanceBody {
    pub bank: String,
    /// 申请金额（元）
    pub asked: u64,
    #[schema(value_type = Option<String>, format = Date)]
    #[serde(default)]
    pub on: Option<NaiveDate>,
    /// 促成的服务队
    #[serde(default)]
    pub team: Option<u64>,
    #[serde(default)]
    pub note: String,
}

pub async fn finance(
    state: &AppState,
    c: &Caller,
    id: u64,
    b: FinanceBody,
) -> ApiResult<EnterpriseView> {
    keeps(c)?;
    if let Some(t) = b.team {
        load_or_404::<ServiceTeam>(state.store.as_ref(), t, "没有这支服务队").await?;
    }
    let on = b.on.unwrap_or_else(|| local_date(state.clock.now()));
    change(
        state,
        c,
        id,
        EnterpriseCommand::Finance {
            bank: b.bank,
            asked: b.asked,
            on,
            team: b.team,
            note: b.note,
        },
    )
    .await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FinancedBody {
    /// 获批金额（元；0 为未获批）
    pub granted: u64,
    #[schema(value_type = Option<String>, format = Date)]
    #[serde(default)]
    pub on: Option<NaiveDate>,
}

pub async fn financed(
    state: &AppState,
    c: &Caller,
    id: u64,
    n: usize,
    b: FinancedBody,
) -> ApiResult<EnterpriseView> {
    keeps(c)?;
    let on = b.on.unwrap_or_else(|| local_date(state.clock.now()));
    change(
        state,
        c,
        id,
        EnterpriseCommand::Financed {
            financing: n,
            granted: b.granted,
            on,
        },
    )
    .await
}

/// Imports enterprises (CSV or XLSX: 统一社会信用代码, 企业名称, 行业, 规模, 成立日期, 联系人;
/// optional 电话, 楼宇 (name or number), 房号, 网格, 地址, 入驻日期).
pub async fn import_enterprises(state: &AppState, c: &Caller, bytes: &[u8]) -> ApiResult<Imported> {
    keeps(c)?;
    let sc = scope(state, c).await?;
    let cat = state.store.catalog();
    let (headers, rows) = table(bytes)?;
    let col = |n: &str| headers.iter().position(|h| h == n);
    let (Some(code_c), Some(name_c), Some(ind_c), Some(size_c), Some(founded_c), Some(contact_c)) = (
        col("统一社会信用代码"),
        col("企业名称"),
        col("行业"),
        col("规模"),
        col("成立日期"),
        col("联系人"),
    ) else {
        return Err(headers_error(
            "统一社会信用代码、企业名称、行业、规模、成立日期、联系人（可选：电话、楼宇、房号、网格、地址、入驻日期）",
            &headers,
        ));
    };
    let (phone_c, building_c, unit_c, grid_c, addr_c, since_c) = (
        col("电话"),
        col("楼宇"),
        col("房号"),
        col("网格"),
        col("地址"),
        col("入驻日期"),
    );
    let all_buildings = aggregates::find_all::<Building>(state.store.as_ref(), "", "", 0).await?;
    let mut known: HashSet<String> =
        aggregates::find_all::<Enterprise>(state.store.as_ref(), "", "", 0)
            .await?
            .into_iter()
            .map(|e| e.state.code.as_str().to_string())
            .collect();
    let today = local_date(state.clock.now());
    let mut out = Imported {
        imported: 0,
        duplicates: 0,
        bad_rows: vec![],
    };
    let mut pending = Vec::new();
    for (i, (line, row)) in rows.into_iter().enumerate() {
        if i >= IMPORT_MAX_ROWS {
            out.bad_rows.push(BadRow {
                line,
                reason: format!("一次最多导入{IMPORT_MAX_ROWS}行，其余未导入"),
            });
            break;
        }
        let cell = |c: Option<usize>| {
            c.and_then(|c| row.get(c))
                .map(|x| x.trim().to_string())
                .unwrap_or_default()
        };
        let mut problems: Vec<String> = Vec::new();
        let code = CreditCode::parse(&cell(Some(code_c)))
            .map_err(|e| problems.push(format!("信用代码：{e}")))
            .ok();
        let size = parse_size(&cell(Some(size_c)))
            .map_err(|e| problems.push(e.message_zh()))
            .ok();
        let founded = bihuan_domain::time::parse_date(&cell(Some(founded_c)))
            .map_err(|_| {
                problems.push(format!(
                    "成立日期「{}」应写成 2024-03-15",
                    cell(Some(founded_c))
                ))
            })
            .ok();
        let since = match cell(since_c) {
            s if s.is_empty() => Some(today),
            s => bihuan_domain::time::parse_date(&s)
                .map_err(|_| problems.push(format!("入驻日期「{s}」应写成 2024-03-15")))
                .ok(),
        };
        let phone = parse_phone(Some(&cell(phone_c)))
            .map_err(|e| problems.push(e.message_zh()))
            .ok()
            .flatten();
        let b_text = cell(building_c);
        let place = if !b_text.is_empty() {
            let found = b_text
                .parse::<u64>()
                .ok()
                .and_then(|id| all_buildings.iter().find(|b| b.id == id))
                .or_else(|| {
                    all_buildings
                        .iter()
                        .find(|b| b.state.name == b_text && b.state.removed.is_none())
                });
            match found {
                Some(b) if sc.covers_building(b.id, &b.state) => Some(Premises::Building {
                    building: b.id,
                    at: b.state.at,
                    unit: cell(unit_c),
                }),
                Some(_) => {
                    problems.push(format!("楼宇「{b_text}」不在您的服务范围内"));
                    None
                }
                None => {
                    problems.push(format!("没有楼宇「{b_text}」"));
                    None
                }
            }
        } else if !cell(grid_c).is_empty() {
            match grid_of(&cat, &cell(grid_c)) {
                Ok(at) if sc.covers_at(&at) => Some(Premises::Village {
                    at,
                    address: cell(addr_c),
                }),
                Ok(_) => {
                    problems.push(format!("网格「{}」不在本辖区", cell(grid_c)));
                    None
                }
                Err(e) => {
                    problems.push(e.message_zh());
                    None
                }
            }
        } else {
            problems.push("请填写楼宇或网格".into());
            None
        };
        let (Some(code), Some(size), Some(founded), Some(since), true) =
            (code, size, founded, since, problems.is_empty())
        else {
            out.bad_rows.push(BadRow {
                line,
                reason: problems.join("；"),
            });
            continue;
        };
        if !known.insert(code.as_str().to_string()) {
            out.duplicates += 1;
            continue;
        }
        let cmd = EnterpriseCommand::Register {
            code,
            facts: EnterpriseFacts {
                name: cell(Some(name_c)),
                industry: cell(Some(ind_c)),
                size,
                founded,
                contact: cell(Some(contact_c)),
                phone,
            },
            premises: place,
            since,
        };
        match check_row::<Enterprise>(state, c, &cmd) {
            Ok(()) => pending.push(cmd),
            Err(reason) => out.bad_rows.push(BadRow { line, reason }),
        }
    }
    out.imported = create_rows::<Enterprise>(state, c, pending).await?;
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Service teams

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TeamView {
    pub id: u64,
    pub version: u64,
    #[serde(flatten)]
    pub team: ServiceTeam,
    pub unit_name: String,
    pub building_names: Vec<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamBody {
    pub name: String,
    /// 所属乡镇（街道）
    pub unit: u32,
    /// 队员：用户编号与身份（中心人员、干部、网格员）
    pub members: Vec<MemberInput>,
    #[serde(default)]
    pub buildings: Vec<u64>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberInput {
    pub user: u32,
    pub duty: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamChange {
    #[serde(default)]
    pub members: Option<Vec<MemberInput>>,
    #[serde(default)]
    pub buildings: Option<Vec<u64>>,
    /// 撤销服务队的原因
    #[serde(default)]
    pub dissolve: Option<String>,
}

async fn members(state: &AppState, list: &[MemberInput]) -> ApiResult<Vec<Member>> {
    let users = state.store.users().await?;
    list.iter()
        .map(|m| {
            let u = users
                .iter()
                .find(|u| u.id.0 == m.user && u.active)
                .ok_or_else(|| {
                    ApiError::from(DomainError::invalid(
                        "team.members",
                        format!("没有编号为 {} 的在用账号", m.user),
                    ))
                })?;
            Ok(Member {
                user: u.id,
                name: u.name.clone(),
                duty: m.duty.clone(),
            })
        })
        .collect()
}

async fn check_buildings(state: &AppState, ids: &[u64]) -> ApiResult<()> {
    let found = aggregates::load_many::<Building>(state.store.as_ref(), ids).await?;
    if let Some(b) = ids
        .iter()
        .find(|b| found.get(b).is_none_or(|x| x.state.removed.is_some()))
    {
        return Err(ApiError::from(DomainError::invalid(
            "building",
            format!("没有编号为 {b} 的楼宇"),
        )));
    }
    Ok(())
}

fn team_view(
    cat: &bihuan_store::Catalog,
    names: &HashMap<u64, String>,
    v: Versioned<ServiceTeam>,
) -> TeamView {
    TeamView {
        id: v.id,
        version: v.version,
        unit_name: name_of(cat, v.state.unit),
        building_names: v
            .state
            .buildings
            .iter()
            .map(|b| names.get(b).cloned().unwrap_or_default())
            .collect(),
        team: v.state,
    }
}

pub async fn new_team(state: &AppState, c: &Caller, b: TeamBody) -> ApiResult<TeamView> {
    let cat = state.store.catalog();
    if cat
        .org
        .get(UnitId(b.unit))
        .is_none_or(|u| u.kind != UnitKind::Township)
    {
        return Err(ApiError::from(DomainError::invalid(
            "service_team",
            "服务队须属于一个乡镇（街道）",
        )));
    }
    if c.user.role == Role::UnitLeader && c.user.unit != UnitId(b.unit) {
        return Err(ApiError::forbidden(
            ErrorCode::RoleForbidden,
            "只能为本乡镇（街道）设立服务队",
        ));
    }
    let m = members(state, &b.members).await?;
    check_buildings(state, &b.buildings).await?;
    let v = aggregates::execute::<ServiceTeam>(
        state.store.as_ref(),
        None,
        TeamCommand::Create {
            name: b.name,
            unit: UnitId(b.unit),
            members: m,
            buildings: b.buildings,
        },
        c.actor.clone(),
        state.clock.now(),
        Some(0),
    )
    .await?;
    Ok(team_view(&cat, &building_names(state).await?, v))
}

pub async fn change_team(
    state: &AppState,
    c: &Caller,
    id: u64,
    b: TeamChange,
) -> ApiResult<TeamView> {
    let v = load_or_404::<ServiceTeam>(state.store.as_ref(), id, "没有这支服务队").await?;
    if c.user.role == Role::UnitLeader && c.user.unit != v.state.unit {
        return Err(ApiError::forbidden(
            ErrorCode::RoleForbidden,
            "只能调整本乡镇（街道）的服务队",
        ));
    }
    let mut cmds = Vec::new();
    if let Some(m) = &b.members {
        cmds.push(TeamCommand::Members(members(state, m).await?));
    }
    if let Some(list) = b.buildings {
        check_buildings(state, &list).await?;
        cmds.push(TeamCommand::Buildings(list));
    }
    if let Some(reason) = b.dissolve {
        cmds.push(TeamCommand::Dissolve { reason });
    }
    if cmds.is_empty() {
        return Err(ApiError::from(DomainError::invalid(
            "service_team",
            "请给出队员、楼宇或撤销原因",
        )));
    }
    let mut v = v;
    for cmd in cmds {
        v = aggregates::execute::<ServiceTeam>(
            state.store.as_ref(),
            Some(id),
            cmd,
            c.actor.clone(),
            state.clock.now(),
            None,
        )
        .await?;
    }
    Ok(team_view(
        &state.store.catalog(),
        &building_names(state).await?,
        v,
    ))
}

pub async fn teams(state: &AppState, c: &Caller) -> ApiResult<Vec<TeamView>> {
    let r = registry(state, c).await?;
    let names: HashMap<u64, String> = building_names(state).await?;
    let cat = state.store.catalog();
    Ok(r.teams
        .into_iter()
        .map(|t| team_view(&cat, &names, t))
        .collect())
}

// ---------------------------------------------------------------------------------------------
// Service visits

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = ServiceVisitView)]
pub struct VisitView {
    pub id: u64,
    pub version: u64,
    #[serde(flatten)]
    pub visit: ServiceVisit,
    pub team_name: String,
    pub building_name: Option<String>,
    pub enterprise_names: Vec<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanBody {
    pub team: u64,
    #[serde(default)]
    pub building: Option<u64>,
    /// 走访的企业；只给楼宇时为楼里现有的全部企业
    #[serde(default)]
    pub enterprises: Vec<u64>,
    #[schema(value_type = String, format = Date)]
    pub on: NaiveDate,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordBody {
    /// 提供的服务（如 政策宣讲、创业辅导、法律咨询、纠纷调解、人才服务）
    #[serde(default)]
    pub offered: Vec<String>,
    #[serde(default)]
    pub note: String,
    /// 收集到的需求：企业、类型、内容（每条登记为企业服务诉求）
    #[serde(default)]
    pub demands: Vec<DemandInput>,
    /// 取消走访的原因（代替记录）
    #[serde(default)]
    pub cancel: Option<String>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DemandInput {
    pub enterprise: u64,
    pub kind: String,
    pub text: String,
}

/// The service types configured (types are data).
pub fn services(state: &AppState) -> Vec<String> {
    if state.config.enterprise_services.is_empty() {
        DEFAULT_SERVICES.iter().map(|s| s.to_string()).collect()
    } else {
        state.config.enterprise_services.clone()
    }
}

async fn team_in_scope(
    state: &AppState,
    c: &Caller,
    team: u64,
) -> ApiResult<Versioned<ServiceTeam>> {
    let t = load_or_404::<ServiceTeam>(state.store.as_ref(), team, "没有这支服务队").await?;
    let s = scope(state, c).await?;
    if !s.covers_team(t.id, &t.state) {
        return Err(not_yours("服务队"));
    }
    if t.state.dissolved.is_some() {
        return Err(ApiError::from(DomainError::invalid(
            "service_team",
            "服务队已撤销",
        )));
    }
    Ok(t)
}

pub async fn plan(state: &AppState, c: &Caller, b: PlanBody) -> ApiResult<VisitView> {
    let t = team_in_scope(state, c, b.team).await?;
    let mut enterprises = b.enterprises.clone();
    if let Some(bid) = b.building {
        if !t.state.buildings.contains(&bid) {
            return Err(ApiError::from(DomainError::invalid(
                "building",
                "这栋楼宇不由这支服务队服务",
            )));
        }
        if enterprises.is_empty() {
            enterprises = aggregates::find_all::<Enterprise>(
                state.store.as_ref(),
                "building",
                &bid.to_string(),
                0,
            )
            .await?
            .into_iter()
            .map(|e| e.id)
            .collect();
        }
    }
    let found = aggregates::load_many::<Enterprise>(state.store.as_ref(), &enterprises).await?;
    if let Some(e) = enterprises.iter().find(|e| !found.contains_key(e)) {
        return Err(ApiError::from(DomainError::invalid(
            "enterprise",
            format!("没有编号为 {e} 的企业"),
        )));
    }
    let v = aggregates::execute::<ServiceVisit>(
        state.store.as_ref(),
        None,
        VisitCommand::Plan {
            team: t.id,
            building: b.building,
            enterprises,
            on: b.on,
        },
        c.actor.clone(),
        state.clock.now(),
        Some(0),
    )
    .await?;
    visit_view(state, v).await
}

async fn visit_view(state: &AppState, v: Versioned<ServiceVisit>) -> ApiResult<VisitView> {
    let names = building_names(state).await?;
    let team = aggregates::load::<ServiceTeam>(state.store.as_ref(), v.state.team).await?;
    let es =
        aggregates::load_many::<Enterprise>(state.store.as_ref(), &v.state.enterprises).await?;
    Ok(VisitView {
        id: v.id,
        version: v.version,
        team_name: team.state.name,
        building_name: v.state.building.and_then(|b| names.get(&b).cloned()),
        enterprise_names: v
            .state
            .enterprises
            .iter()
            .map(|e| {
                es.get(e)
                    .map(|x| x.state.facts.name.clone())
                    .unwrap_or_default()
            })
            .collect(),
        visit: v.state,
    })
}

/// Records a visit (what was offered, the demands found — each registered as an appeal) or
/// cancels it.
pub async fn record(state: &AppState, c: &Caller, id: u64, b: RecordBody) -> ApiResult<VisitView> {
    let v = load_or_404::<ServiceVisit>(state.store.as_ref(), id, "没有这次走访").await?;
    team_in_scope(state, c, v.state.team).await?;
    if let Some(reason) = b.cancel {
        let v = aggregates::execute::<ServiceVisit>(
            state.store.as_ref(),
            Some(id),
            VisitCommand::Cancel { reason },
            c.actor.clone(),
            state.clock.now(),
            Some(v.version),
        )
        .await?;
        return visit_view(state, v).await;
    }
    // A visit recorded before, whose demands were not all registered (the server stopped
    // between the two): they are registered now, and nothing else changes.
    if v.state.done.is_some() && v.state.demands.iter().any(|d| d.appeal.is_none()) {
        let v = raise_found(state, c, v).await?;
        return visit_view(state, v).await;
    }
    let mut demands = Vec::with_capacity(b.demands.len());
    for d in &b.demands {
        demands.push(FoundDemand {
            enterprise: d.enterprise,
            kind: demand_kind(&d.kind)?,
            text: d.text.clone(),
            appeal: None,
        });
    }
    let v = aggregates::execute::<ServiceVisit>(
        state.store.as_ref(),
        Some(id),
        VisitCommand::Record {
            offered: b.offered,
            note: b.note,
            demands,
            services: services(state),
        },
        c.actor.clone(),
        state.clock.now(),
        Some(v.version),
    )
    .await?;
    let v = raise_found(state, c, v).await?;
    visit_view(state, v).await
}

/// Registers every demand of the visit not yet raised (idempotently: the key is the visit and
/// the demand), and links it on the visit and on the enterprise.
async fn raise_found(
    state: &AppState,
    c: &Caller,
    mut v: Versioned<ServiceVisit>,
) -> ApiResult<Versioned<ServiceVisit>> {
    for i in 0..v.state.demands.len() {
        let d = v.state.demands[i].clone();
        if d.appeal.is_some() {
            continue;
        }
        let e = aggregates::load::<Enterprise>(state.store.as_ref(), d.enterprise).await?;
        let (number, _) = raise_demand(
            state,
            c,
            &e,
            Raise {
                kind: d.kind,
                text: &d.text,
                team: Some(v.state.team),
                visit: Some(v.id),
                key: format!("service_visit:{}:{i}", v.id),
            },
        )
        .await?;
        let mut sys = c.clone();
        sys.actor.role = Role::System;
        v = aggregates::execute::<ServiceVisit>(
            state.store.as_ref(),
            Some(v.id),
            VisitCommand::Raised {
                demand: i,
                appeal: number,
            },
            sys.actor,
            state.clock.now(),
            None,
        )
        .await?;
    }
    Ok(v)
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct VisitQuery {
    #[serde(default)]
    pub team: Option<u64>,
}

pub async fn visits(state: &AppState, c: &Caller, q: &VisitQuery) -> ApiResult<Vec<VisitView>> {
    let r = registry(state, c).await?;
    let teams: HashSet<u64> = r
        .teams
        .iter()
        .map(|t| t.id)
        .filter(|t| q.team.is_none_or(|x| x == *t))
        .collect();
    let mut out = Vec::new();
    for t in teams {
        for v in
            aggregates::find_all::<ServiceVisit>(state.store.as_ref(), "team", &t.to_string(), 0)
                .await?
        {
            out.push(visit_view(state, v).await?);
        }
    }
    out.sort_by(|a, b| {
        b.visit
            .planned_on
            .cmp(&a.visit.planned_on)
            .then(b.id.cmp(&a.id))
    });
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Policies

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PolicyView {
    pub id: u64,
    pub version: u64,
    #[serde(flatten)]
    pub policy: EnterprisePolicy,
    pub in_force: bool,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyBody {
    pub name: String,
    pub source: String,
    pub benefit: String,
    #[serde(default)]
    pub how_to_apply: String,
    #[serde(default)]
    pub rule: Eligibility,
    #[schema(value_type = String, format = Date)]
    pub from: NaiveDate,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub until: Option<NaiveDate>,
    /// 修订时：停止执行的原因（代替修订）
    #[serde(default)]
    pub withdraw: Option<String>,
}

impl PolicyBody {
    fn policy(self) -> EnterprisePolicy {
        EnterprisePolicy {
            name: self.name,
            source: self.source,
            benefit: self.benefit,
            how_to_apply: self.how_to_apply,
            rule: self.rule,
            from: self.from,
            until: self.until,
            withdrawn: None,
        }
    }
}

fn policy_view(v: Versioned<EnterprisePolicy>, today: NaiveDate) -> PolicyView {
    PolicyView {
        id: v.id,
        version: v.version,
        in_force: v.state.in_force(today),
        policy: v.state,
    }
}

pub async fn policies(state: &AppState) -> ApiResult<Vec<PolicyView>> {
    let today = local_date(state.clock.now());
    Ok(
        aggregates::find_all::<EnterprisePolicy>(state.store.as_ref(), "", "", 0)
            .await?
            .into_iter()
            .map(|v| policy_view(v, today))
            .collect(),
    )
}

pub async fn publish(state: &AppState, c: &Caller, b: PolicyBody) -> ApiResult<PolicyView> {
    let v = aggregates::execute::<EnterprisePolicy>(
        state.store.as_ref(),
        None,
        PolicyCommand::Publish(Box::new(b.policy())),
        c.actor.clone(),
        state.clock.now(),
        Some(0),
    )
    .await?;
    Ok(policy_view(v, local_date(state.clock.now())))
}

pub async fn revise(state: &AppState, c: &Caller, id: u64, b: PolicyBody) -> ApiResult<PolicyView> {
    load_or_404::<EnterprisePolicy>(state.store.as_ref(), id, "没有这项政策").await?;
    let cmd = match b.withdraw.clone() {
        Some(reason) => PolicyCommand::Withdraw { reason },
        None => PolicyCommand::Revise(Box::new(b.policy())),
    };
    let v = aggregates::execute::<EnterprisePolicy>(
        state.store.as_ref(),
        Some(id),
        cmd,
        c.actor.clone(),
        state.clock.now(),
        None,
    )
    .await?;
    Ok(policy_view(v, local_date(state.clock.now())))
}

/// What an enterprise (or anyone, without logging in) types to see the policies it may apply for.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct MatchQuery {
    pub industry: String,
    pub size: String,
    /// 乡镇（街道）编号
    #[serde(default)]
    pub township: Option<u32>,
    /// 成立日期
    pub founded: NaiveDate,
}

pub async fn match_policies(state: &AppState, q: &MatchQuery) -> ApiResult<Vec<PolicyMatch>> {
    let today = local_date(state.clock.now());
    let p = Profile {
        industry: q.industry.trim().to_string(),
        size: parse_size(&q.size)?,
        township: q.township.map(UnitId),
        age_months: Enterprise::months_between(q.founded, today),
    };
    matches_for(state, &p, today, false).await
}

// ---------------------------------------------------------------------------------------------
// Figures

/// One row of the figures: a team, a building or a township.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct FigureRow {
    pub key: String,
    pub name: String,
    pub buildings: u64,
    pub buildings_covered: u64,
    pub enterprises: u64,
    /// Enterprises visited in the period.
    pub visited: u64,
    pub visits: u64,
    pub demands: u64,
    /// Closed with the enterprise satisfied.
    pub solved: u64,
    pub open: u64,
    /// Return-visited demands rated 满意 or 基本满意, of those rated.
    pub satisfied: u64,
    pub rated: u64,
    /// Financing granted in the period: how many and how much (元).
    pub financed: u64,
    pub financed_amount: u64,
    /// Demands by type (the type's Chinese name → found, solved).
    pub by_kind: BTreeMap<String, (u64, u64)>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Figures {
    #[schema(value_type = String, format = Date)]
    pub from: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub to: NaiveDate,
    pub total: FigureRow,
    pub teams: Vec<FigureRow>,
    pub buildings: Vec<FigureRow>,
    pub townships: Vec<FigureRow>,
    pub teams_count: u64,
}

/// The period the figures cover.
pub type FigureQuery = crate::views::DateRange;

/// The figures of the caller's scope over `[from, to]` (default: this year so far). An
/// enterprise counts in its building, its township and the teams serving its building; a
/// demand or a financing a team brought about counts for that team.
pub async fn figures(state: &AppState, c: &Caller, q: &FigureQuery) -> ApiResult<Figures> {
    let today = local_date(state.clock.now());
    let (from, to) = q.resolve(today)?;
    let inside = |d: NaiveDate| from <= d && d <= to;
    let r = registry(state, c).await?;
    let cat = state.store.catalog();
    let row = |key: String, name: String| FigureRow {
        key,
        name,
        ..FigureRow::default()
    };
    let mut total = row("total".into(), "合计".into());
    let mut teams: BTreeMap<u64, FigureRow> = BTreeMap::new();
    let mut buildings: BTreeMap<u64, FigureRow> = BTreeMap::new();
    let mut townships: BTreeMap<u32, FigureRow> = BTreeMap::new();
    let mut serving: HashMap<u64, Vec<u64>> = HashMap::new();
    for t in &r.teams {
        let mut x = row(t.id.to_string(), t.state.name.clone());
        x.buildings = t.state.buildings.len() as u64;
        x.buildings_covered = x.buildings;
        teams.insert(t.id, x);
        for b in &t.state.buildings {
            serving.entry(*b).or_default().push(t.id);
        }
    }
    for b in &r.buildings {
        let covered = u64::from(serving.contains_key(&b.id));
        let mut x = row(b.id.to_string(), b.state.name.clone());
        x.buildings = 1;
        x.buildings_covered = covered;
        buildings.insert(b.id, x);
        let t = b.state.at.township;
        let town = townships
            .entry(t.0)
            .or_insert_with(|| row(t.0.to_string(), name_of(&cat, t)));
        town.buildings += 1;
        town.buildings_covered += covered;
        total.buildings += 1;
        total.buildings_covered += covered;
    }
    // The visits done in the period, and who was visited by whom.
    let mut visited_by: HashMap<u64, HashSet<u64>> = HashMap::new();
    let mut visited: HashSet<u64> = HashSet::new();
    for t in &r.teams {
        let list = aggregates::find_all::<ServiceVisit>(
            state.store.as_ref(),
            "team",
            &t.id.to_string(),
            0,
        )
        .await?;
        for v in list {
            let Some(done) = &v.state.done else { continue };
            if !inside(local_date(done.at)) {
                continue;
            }
            total.visits += 1;
            if let Some(x) = teams.get_mut(&t.id) {
                x.visits += 1;
            }
            if let Some(x) = v.state.building.and_then(|b| buildings.get_mut(&b)) {
                x.visits += 1;
            }
            visited_by
                .entry(t.id)
                .or_default()
                .extend(v.state.enterprises.iter().copied());
            visited.extend(v.state.enterprises.iter().copied());
        }
    }
    for e in &r.enterprises {
        let building = e.state.premises.as_ref().and_then(Premises::building);
        let town = e.state.premises.as_ref().map(|p| p.at().township);
        let its_teams: Vec<u64> = building
            .and_then(|b| serving.get(&b))
            .cloned()
            .unwrap_or_default();
        let demands = demand_views(state, &e.state).await?;
        // What one row takes of this enterprise: `team` narrows demands and financing to
        // what that team brought about (or, when none is named, to its buildings).
        let add = |x: &mut FigureRow, team: Option<u64>| {
            let mine = |named: Option<u64>| match (team, named) {
                (None, _) => true,
                (Some(t), Some(n)) => t == n,
                (Some(t), None) => its_teams.contains(&t),
            };
            if e.state.premises.is_some() && team.is_none_or(|t| its_teams.contains(&t)) {
                x.enterprises += 1;
            }
            let seen = match team {
                Some(t) => visited_by.get(&t).is_some_and(|s| s.contains(&e.id)),
                None => visited.contains(&e.id),
            };
            x.visited += u64::from(seen);
            for d in demands.iter().filter(|d| mine(d.link.team)) {
                if !inside(local_date(d.link.at)) {
                    continue;
                }
                let solved = d.state == DemandState::Solved;
                x.demands += 1;
                x.solved += u64::from(solved);
                x.open += u64::from(d.state == DemandState::Open);
                if let Some(rating) = d.rating {
                    x.rated += 1;
                    x.satisfied +=
                        u64::from(rating != bihuan_domain::lifecycle::Rating::Unsatisfied);
                }
                let k = x.by_kind.entry(d.kind_label.to_string()).or_default();
                k.0 += 1;
                k.1 += u64::from(solved);
            }
            for f in e.state.financing.iter().filter(|f| mine(f.team)) {
                if let (Some(g), Some(on)) = (f.granted, f.decided_on) {
                    if g > 0 && inside(on) {
                        x.financed += 1;
                        x.financed_amount += g;
                    }
                }
            }
        };
        add(&mut total, None);
        if let Some(x) = building.and_then(|b| buildings.get_mut(&b)) {
            add(x, None);
        }
        if let Some(t) = town {
            let x = townships
                .entry(t.0)
                .or_insert_with(|| row(t.0.to_string(), name_of(&cat, t)));
            add(x, None);
        }
        // A team counts the enterprises of its buildings, and what it brought about elsewhere.
        let named: HashSet<u64> = demands
            .iter()
            .filter_map(|d| d.link.team)
            .chain(e.state.financing.iter().filter_map(|f| f.team))
            .chain(
                visited_by
                    .iter()
                    .filter(|(_, s)| s.contains(&e.id))
                    .map(|(t, _)| *t),
            )
            .chain(its_teams.iter().copied())
            .collect();
        for t in named {
            if let Some(x) = teams.get_mut(&t) {
                add(x, Some(t));
            }
        }
    }
    Ok(Figures {
        from,
        to,
        total,
        teams_count: teams.len() as u64,
        teams: teams.into_values().collect(),
        buildings: buildings.into_values().collect(),
        townships: townships.into_values().collect(),
    })
}

// ---------------------------------------------------------------------------------------------
// Handlers

async fn buildings_api(State(s): State<AppState>, c: Caller) -> ApiResult<Json<Vec<BuildingView>>> {
    Ok(Json(buildings(&s, &c).await?))
}
async fn new_building_api(
    State(s): State<AppState>,
    c: Caller,
    JsonBody(b): JsonBody<NewBuilding>,
) -> ApiResult<(axum::http::StatusCode, Json<BuildingView>)> {
    Ok((
        axum::http::StatusCode::CREATED,
        Json(new_building(&s, &c, b).await?),
    ))
}
async fn import_buildings_api(
    State(s): State<AppState>,
    c: Caller,
    crate::error::BodyBytes(b): crate::error::BodyBytes,
) -> ApiResult<Json<Imported>> {
    Ok(Json(import_buildings(&s, &c, &b).await?))
}
async fn enterprises_api(
    State(s): State<AppState>,
    c: Caller,
    QueryParams(q): QueryParams<EnterpriseQuery>,
) -> ApiResult<Json<Vec<EnterpriseView>>> {
    Ok(Json(enterprises(&s, &c, &q).await?))
}
async fn new_enterprise_api(
    State(s): State<AppState>,
    c: Caller,
    JsonBody(b): JsonBody<NewEnterprise>,
) -> ApiResult<(axum::http::StatusCode, Json<EnterpriseView>)> {
    Ok((
        axum::http::StatusCode::CREATED,
        Json(new_enterprise(&s, &c, b).await?),
    ))
}
async fn import_enterprises_api(
    State(s): State<AppState>,
    c: Caller,
    crate::error::BodyBytes(b): crate::error::BodyBytes,
) -> ApiResult<Json<Imported>> {
    Ok(Json(import_enterprises(&s, &c, &b).await?))
}
async fn enterprise_api(
    State(s): State<AppState>,
    c: Caller,
    PathParams(id): PathParams<u64>,
) -> ApiResult<Json<EnterpriseDetail>> {
    Ok(Json(enterprise(&s, &c, id).await?))
}
async fn move_api(
    State(s): State<AppState>,
    c: Caller,
    PathParams(id): PathParams<u64>,
    JsonBody(b): JsonBody<MoveBody>,
) -> ApiResult<Json<EnterpriseView>> {
    Ok(Json(move_enterprise(&s, &c, id, b).await?))
}
async fn liaison_api(
    State(s): State<AppState>,
    c: Caller,
    PathParams(id): PathParams<u64>,
    JsonBody(b): JsonBody<LiaisonBody>,
) -> ApiResult<Json<EnterpriseView>> {
    Ok(Json(liaise(&s, &c, id, b).await?))
}
async fn account_api(
    State(s): State<AppState>,
    c: Caller,
    PathParams(id): PathParams<u64>,
    JsonBody(b): JsonBody<LiaisonBody>,
) -> ApiResult<Json<EnterpriseView>> {
    Ok(Json(account(&s, &c, id, b).await?))
}
async fn demand_api(
    State(s): State<AppState>,
    c: Caller,
    PathParams(id): PathParams<u64>,
    JsonBody(b): JsonBody<DemandBody>,
) -> ApiResult<(axum::http::StatusCode, Json<DemandRaised>)> {
    Ok((
        axum::http::StatusCode::CREATED,
        Json(demand(&s, &c, id, b).await?),
    ))
}
async fn apply_api(
    State(s): State<AppState>,
    c: Caller,
    PathParams(id): PathParams<u64>,
    JsonBody(b): JsonBody<ApplyBody>,
) -> ApiResult<Json<EnterpriseView>> {
    Ok(Json(apply(&s, &c, id, b).await?))
}
async fn decide_api(
    State(s): State<AppState>,
    c: Caller,
    PathParams((id, n)): PathParams<(u64, usize)>,
    JsonBody(b): JsonBody<DecideBody>,
) -> ApiResult<Json<EnterpriseView>> {
    Ok(Json(decide(&s, &c, id, n, b).await?))
}
async fn finance_api(
    State(s): State<AppState>,
    c: Caller,
    PathParams(id): PathParams<u64>,
    JsonBody(b): JsonBody<FinanceBody>,
) -> ApiResult<Json<EnterpriseView>> {
    Ok(Json(finance(&s, &c, id, b).await?))
}
async fn financed_api(
    State(s): State<AppState>,
    c: Caller,
    PathParams((id, n)): PathParams<(u64, usize)>,
    JsonBody(b): JsonBody<FinancedBody>,
) -> ApiResult<Json<EnterpriseView>> {
    Ok(Json(financed(&s, &c, id, n, b).await?))
}
async fn teams_api(State(s): State<AppState>, c: Caller) -> ApiResult<Json<Vec<TeamView>>> {
    Ok(Json(teams(&s, &c).await?))
}
async fn new_team_api(
    State(s): State<AppState>,
    c: Caller,
    JsonBody(b): JsonBody<TeamBody>,
) -> ApiResult<(axum::http::StatusCode, Json<TeamView>)> {
    Ok((
        axum::http::StatusCode::CREATED,
        Json(new_team(&s, &c, b).await?),
    ))
}
async fn team_change_api(
    State(s): State<AppState>,
    c: Caller,
    PathParams(id): PathParams<u64>,
    JsonBody(b): JsonBody<TeamChange>,
) -> ApiResult<Json<TeamView>> {
    Ok(Json(change_team(&s, &c, id, b).await?))
}
async fn visits_api(
    State(s): State<AppState>,
    c: Caller,
    QueryParams(q): QueryParams<VisitQuery>,
) -> ApiResult<Json<Vec<VisitView>>> {
    Ok(Json(visits(&s, &c, &q).await?))
}
async fn plan_api(
    State(s): State<AppState>,
    c: Caller,
    JsonBody(b): JsonBody<PlanBody>,
) -> ApiResult<(axum::http::StatusCode, Json<VisitView>)> {
    Ok((
        axum::http::StatusCode::CREATED,
        Json(plan(&s, &c, b).await?),
    ))
}
async fn record_api(
    State(s): State<AppState>,
    c: Caller,
    PathParams(id): PathParams<u64>,
    JsonBody(b): JsonBody<RecordBody>,
) -> ApiResult<Json<VisitView>> {
    Ok(Json(record(&s, &c, id, b).await?))
}
async fn policies_api(State(s): State<AppState>, _c: Caller) -> ApiResult<Json<Vec<PolicyView>>> {
    Ok(Json(policies(&s).await?))
}
async fn publish_api(
    State(s): State<AppState>,
    c: Caller,
    JsonBody(b): JsonBody<PolicyBody>,
) -> ApiResult<(axum::http::StatusCode, Json<PolicyView>)> {
    Ok((
        axum::http::StatusCode::CREATED,
        Json(publish(&s, &c, b).await?),
    ))
}
async fn revise_api(
    State(s): State<AppState>,
    c: Caller,
    PathParams(id): PathParams<u64>,
    JsonBody(b): JsonBody<PolicyBody>,
) -> ApiResult<Json<PolicyView>> {
    Ok(Json(revise(&s, &c, id, b).await?))
}
async fn match_api(
    State(s): State<AppState>,
    QueryParams(q): QueryParams<MatchQuery>,
) -> ApiResult<Json<Vec<PolicyMatch>>> {
    Ok(Json(match_policies(&s, &q).await?))
}
async fn figures_api(
    State(s): State<AppState>,
    c: Caller,
    QueryParams(q): QueryParams<FigureQuery>,
) -> ApiResult<Json<Figures>> {
    Ok(Json(figures(&s, &c, &q).await?))
}
