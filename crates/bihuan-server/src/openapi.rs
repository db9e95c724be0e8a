//! The OpenAPI document at `/api/v1/openapi.json` (and `bihuan openapi`).
//!
//! The schemas of the types the API reads and writes — an intake, an appeal as a list row and as
//! a detail, its timeline, the enums of channel, kind, status, role…, units, users, categories,
//! policy rows, dispatch rules — are derived from those very types (`utoipa::ToSchema` on the
//! domain types and on [`crate::views`]), so they cannot drift from what the handlers do. The
//! paths, parameters and descriptions are written here, in Chinese, for the people who integrate.

use serde_json::{json, Value};
use utoipa::OpenApi;

use bihuan_domain::catalogue::Rule;
use bihuan_domain::category::Category;
use bihuan_domain::lifecycle::{Command, NewAppeal};
use bihuan_domain::metrics::ScoreWeights;
use bihuan_domain::org::Unit;
use bihuan_domain::policy::DeadlinePolicy;

use crate::report::{EnteredRateView, FiveRatesView, MetricsView};
use crate::smart::{AccuracyView, ModelView, SuggestionsView, Trained};
use crate::views::{
    AppealSummary, AppealView, AttachmentView, AuditPage, CalendarLoaded, CalendarYear,
    CategoryView, Registration, TokenCreated, TokenView, UnitView, UserView, WorkingDaysAdded,
};

/// The schemas derived from the types, with everything they refer to.
#[derive(OpenApi)]
#[openapi(components(schemas(
    NewAppeal,
    Command,
    AppealSummary,
    AppealView,
    Registration,
    UnitView,
    UserView,
    CategoryView,
    Unit,
    Category,
    DeadlinePolicy,
    ScoreWeights,
    Rule,
    AttachmentView,
    AuditPage,
    CalendarYear,
    CalendarLoaded,
    WorkingDaysAdded,
    TokenView,
    TokenCreated,
    SuggestionsView,
    AccuracyView,
    ModelView,
    Trained,
    MetricsView,
    FiveRatesView,
    EnteredRateView,
    crate::app::BulkItem,
    crate::filters::SavedFilterView,
    crate::filters::SaveFilter,
    crate::appeals::ReviewBody,
    bihuan_domain::petition_report::AnnualReport,
    crate::leaders::ReceptionView,
    crate::leaders::ScheduleReception,
    crate::leaders::ReceiveBody,
    crate::leaders::TextBody,
    crate::leaders::LeaderCaseView,
    crate::leaders::TakeCase,
    crate::households::HouseholdView,
    crate::households::HouseholdDetail,
    crate::households::HouseholdPage,
    crate::households::NewHousehold,
    crate::households::HouseholdInput,
    crate::households::MoveBody,
    crate::households::RemoveBody,
    crate::households::Imported,
    crate::visits::AssignBody,
    bihuan_domain::visits::Assignment,
    crate::visits::CadreView,
    crate::visits::CampaignView,
    bihuan_domain::visits::CampaignPlan,
    crate::visits::EndBody,
    crate::visits::CoverageTable,
    crate::visits::TaskView,
    crate::visits::TaskPage,
    crate::visits::VisitInput,
    crate::visits::VisitView,
    crate::visits::VisitPage,
    crate::approvals::MatterView,
    bihuan_domain::approvals::MatterSpec,
    crate::approvals::PackageView,
    bihuan_domain::approvals::PackageSpec,
    crate::approvals::ApplicationView,
    crate::approvals::ApplicationDetail,
    crate::approvals::NewApplication,
    crate::approvals::NoticeBody,
    crate::approvals::HandBody,
    crate::approvals::AcceptBody,
    crate::approvals::ReasonBody,
    crate::approvals::StopBody,
    bihuan_domain::approvals::TaskDecision,
    crate::approvals::EfficiencyView,
    crate::approvals::ExtendBody,
    crate::campaigns::CampaignView,
    crate::campaigns::CampaignSummary,
    crate::campaigns::NewCampaign,
    bihuan_domain::campaign::NewBattle,
    bihuan_domain::campaign::NewItem,
    crate::campaigns::ItemsImported,
    crate::campaigns::ReportBody,
    crate::campaigns::ReviewBody,
    crate::campaigns::ReviseBody,
    crate::campaigns::ReasonBody,
    crate::campaigns::ConcludeBody,
    crate::campaigns::Weekly,
    crate::evaluations::SchemeView,
    crate::evaluations::NewScheme,
    bihuan_domain::evaluation::FormulaDraft,
    crate::evaluations::EvaluationView,
    crate::evaluations::OpenEvaluation,
    crate::evaluations::PublishBody,
    crate::evaluations::PublicEvaluation,
    crate::surveys::SurveyView,
    crate::surveys::SurveyDetail,
    crate::surveys::NewSurvey,
    crate::surveys::Sampled,
    crate::surveys::CurrentCase,
    crate::surveys::CallBody,
    crate::surveys::CaseView,
    crate::surveys::StratumProgress,
    crate::surveys::SurveyResult,
    crate::surveys::QuestionnaireBody,
    crate::surveys::ResultsImported,
    crate::enterprises::BuildingView,
    crate::enterprises::NewBuilding,
    crate::enterprises::Imported,
    crate::enterprises::EnterpriseView,
    crate::enterprises::NewEnterprise,
    crate::enterprises::EnterpriseDetail,
    crate::enterprises::DemandView,
    crate::enterprises::PolicyMatch,
    crate::enterprises::MoveBody,
    crate::enterprises::LiaisonBody,
    crate::enterprises::DemandBody,
    crate::enterprises::DemandRaised,
    crate::enterprises::ApplyBody,
    crate::enterprises::DecideBody,
    crate::enterprises::FinanceBody,
    crate::enterprises::FinancedBody,
    crate::enterprises::TeamView,
    crate::enterprises::TeamBody,
    crate::enterprises::TeamChange,
    crate::enterprises::VisitView,
    crate::enterprises::PlanBody,
    crate::enterprises::RecordBody,
    crate::enterprises::PolicyView,
    crate::enterprises::PolicyBody,
    crate::enterprises::Figures,
    crate::jobs::PostingView,
    crate::jobs::PostingBody,
    crate::jobs::ReviewBody,
    crate::jobs::CloseBody,
    crate::jobs::PostingDetail,
    crate::jobs::PublicPosting,
    crate::jobs::SeekerView,
    crate::jobs::SeekerBody,
    crate::jobs::SeekerDetail,
    crate::jobs::ReasonBody,
    crate::jobs::ReferralView,
    crate::jobs::ReferBody,
    crate::jobs::StepBody,
    crate::jobs::LoanView,
    crate::jobs::LoanBody,
    crate::jobs::LoanDecision,
    crate::jobs::JobFigures,
    crate::open311::ClientView,
    crate::open311::ClientRegistered,
    crate::open311::NewClient,
    crate::open311::RevokeClient
)))]
struct Derived;

fn derived_schemas() -> serde_json::Map<String, Value> {
    serde_json::to_value(Derived::openapi())
        .ok()
        .and_then(|v| v["components"]["schemas"].as_object().cloned())
        .unwrap_or_default()
}

const CSV: &str = "text/csv";
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// `{"items": [T]}`.
fn items_of(name: &str) -> Value {
    json!({"type": "object", "required": ["items"],
           "properties": {"items": {"type": "array", "items": schema_ref(name)}}})
}

/// The body of `POST /api/v1/appeals/{key}/actions`, derived from the domain's `Command` with
/// the API's differences (see `appeals::command_from_body`): every action carries `version`; an
/// owner is named by user id; a merge names its master by number or id (`master`, not the
/// domain's `into`); `link_duplicate` is recorded by a merge and `recompute_deadlines` by a
/// loaded holiday notice, and neither can be sent.
fn action_schema(command: &Value) -> Value {
    let version = json!({"type": "integer", "minimum": 0, "description": "工单当前版本号（防止覆盖他人的更新）"});
    let variants: Vec<Value> = command["oneOf"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| {
            let mut v = v.clone();
            // The object that names the action: the variant itself, or its part in an `allOf`.
            let part = if v["properties"].is_object() {
                &mut v
            } else {
                v["allOf"]
                    .as_array_mut()?
                    .iter_mut()
                    .find(|p| p["properties"]["action"].is_object())?
            };
            let action = part["properties"]["action"]["enum"][0].as_str()?.to_string();
            if action == "link_duplicate" || action == "recompute_deadlines" {
                return None;
            }
            part["properties"]["version"] = version.clone();
            if let Some(r) = part["required"].as_array_mut() {
                r.push(json!("version"));
            }
            match action.as_str() {
                "sign" | "set_owner" => {
                    part["properties"]["owner"] = json!({"type": if action == "sign" { json!(["integer", "null"]) } else { json!("integer") },
                        "description": "首席服务官的用户ID（须为主办单位的在用账号）;签收时省略则为签收人"});
                }
                "merge" => {
                    if let Some(p) = part["properties"].as_object_mut() {
                        p.remove("into");
                        p.insert("master".into(), json!({"type": ["string", "integer"], "description": "主工单编号（2026-11-000123）或ID"}));
                    }
                    if let Some(r) = part["required"].as_array_mut() {
                        r.retain(|x| x != "into");
                        r.push(json!("master"));
                    }
                }
                _ => {}
            }
            Some(v)
        })
        .collect();
    json!({"description": "对工单的一项操作；字段随 action 而定（由领域命令生成）。", "oneOf": variants})
}

/// The operation answering a file of one of `types` (not JSON).
fn returns_file(mut op: Value, types: &[&str]) -> Value {
    let content: serde_json::Map<String, Value> = types
        .iter()
        .map(|t| {
            (
                t.to_string(),
                json!({"schema": {"type": "string", "format": "binary"}}),
            )
        })
        .collect();
    if let Some(responses) = op["responses"].as_object_mut() {
        if let Some((_, ok)) = responses.iter_mut().find(|(k, _)| k.starts_with('2')) {
            ok["content"] = Value::Object(content);
        }
    }
    op
}

/// The operation with the schema of its successful answer.
fn returns(mut op: Value, schema: Value) -> Value {
    if let Some(responses) = op["responses"].as_object_mut() {
        if let Some((_, ok)) = responses.iter_mut().find(|(k, _)| k.starts_with('2')) {
            ok["content"] = json!({"application/json": {"schema": schema}});
        }
    }
    op
}

fn op(summary: &str, tag: &str, body: Option<&str>, ok: &str) -> Value {
    let mut o = json!({
        "summary": summary,
        "tags": [tag],
        "responses": {
            ok: {"description": "OK"},
            "400": {"$ref": "#/components/responses/Error"},
            "401": {"$ref": "#/components/responses/Error"},
            "403": {"$ref": "#/components/responses/Error"},
            "404": {"$ref": "#/components/responses/Error"},
            "409": {"$ref": "#/components/responses/Error"},
            "413": {"$ref": "#/components/responses/Error"},
            "422": {"$ref": "#/components/responses/Error"}
        }
    });
    if let Some(schema) = body {
        o["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}});
    }
    o
}

/// The operation with its `{id}` path parameter declared.
fn with_id(mut op: Value, what: &str) -> Value {
    op["parameters"] = json!([{"name": "id", "in": "path", "required": true, "description": what,
        "schema": {"type": "integer", "minimum": 1}}]);
    op
}

fn key_param() -> Value {
    json!([{"name": "key", "in": "path", "required": true, "description": "工单编号 (2026-11-000123) 或数字ID", "schema": {"type": "string"}}])
}

pub fn document() -> Value {
    let list_params: Vec<Value> = [
        ("status", "状态，逗号分隔：pending_dispatch,dispatched,returned,in_progress,replied,visited,closed,merged"),
        ("unit", "主办单位ID"),
        ("township", "乡镇（街道）ID"),
        ("category", "分类ID（含下级分类）"),
        ("channel", "渠道：hotline,web,app,household_visit,letter,in_person,grid_report,enterprise_service,survey,other"),
        ("kind", "类型：consultation,help,complaint,report,suggestion,praise,petition_opinion,petition_accusation,petition_claim"),
        ("regime", "hotline（热线诉求）或 petition（信访，按诉求类型）"),
        ("overdue", "true/false:是否超期"),
        ("due_soon", "true/false:是否临期"),
        ("from", "登记日期起 YYYY-MM-DD"),
        ("to", "登记日期止 YYYY-MM-DD（含）"),
        ("owner", "首席服务官用户ID"),
        ("phone", "来电号码：查该群众的历史诉求（受理、派单、回访人员）"),
        ("q", "全文搜索：内容、答复、备注中的词，空格分隔，须全部出现（最多100字）"),
        ("sort", "newest（默认，最新登记在前）、due（最近的期限在前）、due:dispatch / due:sign / due:first_contact / due:reply（按交办、签收、首次联系、答复期限，只列该期限正在计时的工单）"),
        ("cursor", "上一页返回的 next_cursor"),
        ("limit", "每页条数 1–500，默认50"),
        ("metric", "按指标查看：只列出某个数字背后的工单，如 closed_loop、on_time_completion、volume、overdue（须同时给出 period）"),
        ("part", "指标的哪一部分：den（分母，默认）、num（分子）、missed（分母中未计入分子的）"),
        ("period", "指标的期间：month:2026-11、quarter:2026-4、half:2026-1、year:2026、assess:2026-11、days:2026-11-01:2026-11-15"),
        ("counted_unit", "指标计入的单位ID（单位排名中的数字）"),
    ]
    .iter()
    .map(|(n, d)| json!({"name": n, "in": "query", "required": false, "description": d, "schema": {"type": "string"}}))
    .collect();

    let mut appeal_get = op(
        "工单详情：完整时间线、附件，以及当前用户此刻可执行的操作（actions，与控制台提供的相同）",
        "appeals",
        None,
        "200",
    );
    let tokens = json!({
        "post": returns(op("为集成系统创建 API 令牌（管理员；expires_days 默认365天）", "auth", Some("Token"), "201"), schema_ref("TokenCreated")),
        "get": returns(op("API 令牌列表（管理员；不含令牌本身）", "auth", None, "200"), items_of("TokenView")),
    });
    let revoke_token = json!({"summary": "撤销 API 令牌（管理员）", "tags": ["auth"],
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"},
            "description": "令牌列表中的 id(12位十六进制）"}],
        "responses": {"204": {"description": "已撤销"}, "404": {"description": "没有这个令牌"}}});
    appeal_get["parameters"] = key_param();
    let appeal_get = returns(appeal_get, schema_ref("AppealView"));
    let mut appeal_act = op("对工单执行操作（交办、签收、退单、延期、吹哨、报到、答复、回访、办结、重办、合并、督办、备注……）", "appeals", Some("Action"), "200");
    appeal_act["parameters"] = key_param();
    let appeal_act = returns(appeal_act, schema_ref("AppealView"));
    let mut annual = op(
        "信访工作年度报告（信访工作条例第四十一条）：总量及同比、类别、渠道、月份，受理与不予受理，三项信访率，复查复核，重复信访，主要单位与问题（全县口径，中心与领导可查看）",
        "metrics",
        None,
        "200",
    );
    annual["parameters"] = json!([{"name": "year", "in": "path", "required": true,
        "schema": {"type": "integer"}, "description": "年份，如 2026"}]);
    let annual = returns(annual, schema_ref("AnnualReport"));
    let mut leader_case = op(
        "领导包案（信访工作条例第十八条）：当前领导本人接下这件在办的信访事项，列入其包案台账直至办结；已有领导包案的拒绝",
        "leaders",
        Some("TakeCase"),
        "201",
    );
    leader_case["parameters"] = key_param();
    let leader_case = returns(leader_case, schema_ref("LeaderCaseView"));
    let mut ledger = op(
        "包案台账：在办的领导包案及其信访事项的状态、答复期限和是否超期（超期的在前）",
        "leaders",
        None,
        "200",
    );
    ledger["parameters"] = json!([{"name": "leader", "in": "query", "required": false,
        "description": "只看这位领导的包案（用户ID）", "schema": {"type": "integer"}}]);
    let ledger = returns(ledger, items_of("LeaderCaseView"));
    let mut review = op(
        "信访人请求复查（对信访处理意见书）或复核（对复查意见书）：须在收到意见书之日起30日内提出（信访工作条例第三十五条、第三十六条），逾期以 review_window_closed 拒绝并给出届满日期；复核意见为终结意见（review_final）。另开案件并立即交上一级机关办理，自收到请求之日起30日内办结",
        "appeals",
        Some("ReviewBody"),
        "201",
    );
    review["parameters"] = key_param();
    let review = returns(
        review,
        json!({"type": "object", "required": ["reviewed", "review"], "properties": {
            "reviewed": schema_ref("AppealView"), "review": schema_ref("AppealView")}}),
    );
    let mut suggest_existing = op(
        "已登记工单的派单建议与可能重复的工单；待交办时派单员查看会被记录，用于统计建议准确率",
        "smart",
        None,
        "200",
    );
    suggest_existing["parameters"] = key_param();
    let suggest_existing = returns(suggest_existing, schema_ref("SuggestionsView"));
    let accuracy = op(
        "派单建议准确率：建议与最终主办单位、分类对照（默认近30天）",
        "smart",
        None,
        "200",
    );
    let mut accuracy = returns(accuracy, schema_ref("AccuracyView"));
    accuracy["parameters"] = json!([
        {"name": "from", "in": "query", "required": false, "description": "起始日期 YYYY-MM-DD", "schema": {"type": "string"}},
        {"name": "to", "in": "query", "required": false, "description": "截止日期 YYYY-MM-DD（含）", "schema": {"type": "string"}}
    ]);
    let mut list = op("工单列表：筛选与游标分页", "appeals", None, "200");
    list["parameters"] = Value::Array(list_params);
    let list = returns(
        list,
        json!({"type": "object", "required": ["items", "next_cursor"], "properties": {
            "items": {"type": "array", "items": schema_ref("AppealSummary")},
            "next_cursor": {"type": ["string", "null"], "description": "下一页的 cursor;没有下一页时为 null"},
            "search": {"type": "object", "description": "有 q 时：本人可见范围内匹配的件数", "properties": {
                "matches": {"type": "integer"}, "capped": {"type": "boolean"}, "cap": {"type": "integer"}}},
            "drill": {"type": "object", "description": "有 metric 时：该数字背后的工单数（appeals）与计数件次（facts，一件工单可计入多次，如多轮答复）", "properties": {
                "appeals": {"type": "integer"}, "facts": {"type": "integer"}}}}}),
    );
    let bulk = json!({
        "summary": "批量操作：同一操作用于多件工单（只有交办 dispatch 和督办 supervise;每件单独判定、单独记录）",
        "tags": ["appeals"],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {
            "type": "object", "required": ["appeals", "action"],
            "description": "操作的其他字段与单件操作相同（交办：lead、assisting、note;督办：reason、note），但不含 version",
            "properties": {
                "appeals": {"type": "array", "maxItems": crate::app::BULK_MAX, "items": schema_ref("BulkItem")},
                "action": {"type": "string", "enum": ["dispatch", "supervise"]}
            }}}}},
        "responses": {
            "200": {"description": "每件工单的结果", "content": {"application/json": {"schema": {
                "type": "object", "required": ["done", "refused", "results"], "properties": {
                    "done": {"type": "integer", "description": "已执行的件数"},
                    "refused": {"type": "integer", "description": "未执行的件数（见 results 中的 code、message）"},
                    "results": {"type": "array", "items": {"type": "object", "required": ["key", "ok"], "properties": {
                        "key": {"type": "string"}, "ok": {"type": "boolean"},
                        "number": {"type": "string"}, "version": {"type": "integer"}, "status": {"type": "string"},
                        "code": {"type": "string"}, "message": {"type": "string"}}}}}}}}},
            "422": {"description": "请求不合要求（bulk_action_not_allowed、bulk_too_many、invalid_body），未执行任何一件"}
        }
    });
    let mut register = op(
        "登记诉求；可带 Idempotency-Key 头防止重复登记",
        "appeals",
        Some("NewAppeal"),
        "201",
    );
    register["parameters"] = json!([{"name": "Idempotency-Key", "in": "header", "required": false, "schema": {"type": "string"}}]);
    let register = returns(register, schema_ref("Registration"));
    let mut cal_add = op(
        "工作日推算：date 之后第 days 个工作日（与命令行相同）",
        "calendar",
        None,
        "200",
    );
    cal_add["parameters"] = json!([
        {"name": "date", "in": "query", "required": true, "schema": {"type": "string", "format": "date"}},
        {"name": "days", "in": "query", "required": true, "schema": {"type": "integer", "minimum": 0}}
    ]);
    cal_add["security"] = json!([]);
    let cal_add = returns(cal_add, schema_ref("WorkingDaysAdded"));
    let mut attach = op(
        "上传附件（multipart/form-data，字段 file;图片、PDF、Office 文档，每个不超过 10 MB）",
        "attachments",
        None,
        "201",
    );
    attach["parameters"] = key_param();
    let mut attach = returns(attach, items_of("AttachmentView"));
    attach["requestBody"] = json!({"required": true, "content": {"multipart/form-data": {"schema": {"type": "object", "properties": {"file": {"type": "array", "items": {"type": "string", "format": "binary"}}}}}}});
    let metric_params = json!([
        {"name": "period", "in": "query", "required": false, "description": "month:2026-11、quarter:2026-4、half:2026-1、year:2026、assess:2026-11（上月19日至本月18日）、days:2026-11-01:2026-11-15；默认本月", "schema": {"type": "string"}},
        {"name": "by", "in": "query", "required": false, "description": "unit（默认）、township、category、channel、kind", "schema": {"type": "string"}},
        {"name": "min_volume", "in": "query", "required": false, "description": "参与排名的最少回访量，默认10", "schema": {"type": "integer"}},
        {"name": "board", "in": "query", "required": false, "description": "红榜、灰榜各列几名，默认3", "schema": {"type": "integer"}},
        {"name": "coordination_min_volume", "in": "query", "required": false, "description": "参与双考核排名的最少已知结果数，默认5", "schema": {"type": "integer"}},
        {"name": "from", "in": "query", "required": false, "description": "自定义期间的第一天（与 to 同时给出时优先于 period）", "schema": {"type": "string", "format": "date"}},
        {"name": "to", "in": "query", "required": false, "description": "自定义期间的最后一天", "schema": {"type": "string", "format": "date"}}
    ]);
    let mut metrics = op(
        "期间指标：各项比率、同比环比、分组、排名与红灰榜",
        "metrics",
        None,
        "200",
    );
    metrics["parameters"] = metric_params.clone();
    let metrics = returns(metrics, schema_ref("MetricsView"));
    let format_param = json!({"name": "format", "in": "path", "required": true, "description": "csv(UTF-8 带 BOM)或 xlsx", "schema": {"type": "string", "enum": ["csv", "xlsx"]}});
    let mut export_list = op(
        "导出工单列表（筛选参数同 GET /api/v1/appeals;个人信息脱敏）",
        "export",
        None,
        "200",
    );
    export_list["parameters"] = json!([format_param.clone()]);
    let export_list = returns_file(export_list, &[CSV, XLSX]);
    let mut export_ranking = op("导出排名表", "export", None, "200");
    let mut ranking_params = vec![format_param];
    ranking_params.extend(metric_params.as_array().cloned().unwrap_or_default());
    export_ranking["parameters"] = Value::Array(ranking_params);
    let export_ranking = returns_file(export_ranking, &[CSV, XLSX]);
    let mut login = op("登录，返回会话 Cookie", "auth", Some("Login"), "200");
    login["security"] = json!([]);
    let login = returns(login, schema_ref("UserView"));

    let worker = json!({"type": "object", "properties": {"running": {"type": "boolean"}, "panics": {"type": "integer"}}});
    let health = json!({"type": "object", "properties": {
        "status": {"type": "string", "enum": ["ok", "unavailable"]},
        "code": {"type": "string"}, "message": {"type": "string"},
        "writer_panics": {"type": "integer"},
        "workers": {"type": "object", "additionalProperties": worker}}});
    let healthz = json!({"get": {"summary": "健康检查：数据库写入与各后台任务", "security": [], "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": health.clone()}}},
                "503": {"description": "数据库不可用（store_unavailable）或后台任务停止（worker_down）", "content": {"application/json": {"schema": health}}}}}});
    let ready = json!({"type": "object", "properties": {"status": {"type": "string"}, "version": {"type": "string"},
        "uptime_secs": {"type": "integer"}, "code": {"type": "string"}, "message": {"type": "string"}}});
    let readyz = json!({"get": {"summary": "就绪检查：数据库可读写即可接收流量；附版本号和已运行秒数", "security": [], "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": ready.clone()}}},
                "503": {"description": "数据库不可用（store_unavailable）", "content": {"application/json": {"schema": ready}}}}}});
    let prometheus = json!({"get": {"summary": "Prometheus 指标（默认须管理员登录或令牌；配置 public_metrics 后公开）", "security": [], "responses": {"200": {"description": "Prometheus 文本格式", "content": {"text/plain": {"schema": {"type": "string"}}}}}}});
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "bihuan 闭环 API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "群众诉求全流程闭环办理。错误一律为 JSON {\"code\", \"message\"};code 稳定，message 为中文说明。"
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}, {"cookie": []}],
        "paths": {
            "/api/v1/login": {"post": login},
            "/api/v1/logout": {"post": op("退出登录", "auth", None, "204")},
            "/api/v1/me": {"get": returns(op("当前用户", "auth", None, "200"), schema_ref("UserView"))},
            "/api/v1/tokens": tokens,
            "/api/v1/appeals": {"post": register, "get": list},
            "/api/v1/appeals/{key}": {"get": appeal_get},
            "/api/v1/appeals/{key}/actions": {"post": appeal_act},
            "/api/v1/appeals/{key}/reviews": {"post": review},
            "/api/v1/appeals/bulk-actions": {"post": bulk},
            "/api/v1/me/filters": {
                "get": returns(op("本人保存的工单筛选（我的筛选）", "appeals", None, "200"), items_of("SavedFilterView")),
                "post": returns(op("保存筛选（给出 id 时修改本人已保存的；每人最多30个）", "appeals", Some("SaveFilter"), "201"), schema_ref("SavedFilterView"))
            },
            "/api/v1/me/filters/{id}": {"delete": with_id(op("删除本人保存的筛选（历史保留）", "appeals", None, "204"), "筛选ID")},
            "/api/v1/units": {"get": returns(op("单位列表", "reference", None, "200"), items_of("UnitView")), "post": op("新增或修改单位（管理员；一个或一组）", "reference", Some("Unit"), "204")},
            "/api/v1/users": {"get": returns(op("用户列表（单位负责人只见本单位）", "reference", None, "200"), items_of("UserView")), "post": returns(op("新增用户（管理员）", "reference", Some("NewUser"), "201"), schema_ref("UserView"))},
            "/api/v1/users/{id}": {"patch": returns(with_id(op("修改用户（管理员；本人可改密码）", "reference", Some("UserUpdate"), "200"), "用户ID"), schema_ref("UserView"))},
            "/api/v1/categories": {"get": returns(op("分类列表", "reference", None, "200"), items_of("CategoryView")), "post": op("新增或修改分类（管理员；一个或一组）", "reference", Some("Category"), "204")},
            "/api/v1/policies": {"get": returns(op("期限规则表", "reference", None, "200"), items_of("DeadlinePolicy")), "put": op("替换期限规则表（管理员）", "reference", Some("PolicyTable"), "204")},
            "/api/v1/calendar/years": {"get": returns(op("已导入的节假日年份", "calendar", None, "200"), items_of("CalendarYear")), "post": returns(op("导入一年的节假日安排（管理员；holiday-cn JSON 格式）", "calendar", Some("YearNotice"), "201"), schema_ref("CalendarLoaded"))},
            "/api/v1/calendar/add": {"get": cal_add},
            "/api/v1/appeals/{key}/attachments": {"post": attach},
            "/api/v1/attachments/{id}": {"get": returns_file(with_id(op("下载附件（仅能查看该工单者）", "attachments", None, "200"), "附件ID"), &["application/octet-stream"])},
            "/api/v1/metrics": {"get": metrics},
            "/api/v1/reports/petitions/{year}": {"get": annual},
            "/api/v1/rates": {"get": returns(op("五率：四项按期录入（含来源），诉求办理闭环率由平台计算", "metrics", None, "200"), schema_ref("FiveRatesView")), "post": returns(op("录入一项五率指标（管理员）", "metrics", Some("EnteredRate"), "201"), schema_ref("EnteredRateView"))},
            "/api/v1/score-weights": {"get": returns(op("综合得分权重", "metrics", None, "200"), schema_ref("ScoreWeights")), "put": op("修改综合得分权重（管理员；三项之和须为1）", "metrics", Some("ScoreWeights"), "204")},
            "/api/v1/export/appeals.{format}": {"get": export_list},
            "/api/v1/suggestions": {"post": returns(op("智能派单建议（登记前）:建议主办单位、分类、识别地点，以及可能重复的在办工单", "smart", Some("SuggestInput"), "200"), schema_ref("SuggestionsView"))},
            "/api/v1/appeals/{key}/suggestions": {"get": suggest_existing},
            "/api/v1/suggestions/accuracy": {"get": accuracy},
            "/api/v1/dispatch-rules": {
                "get": returns(op("派单目录", "smart", None, "200"), items_of("Rule")),
                "put": returns(op("替换派单目录（管理员）;每条规则须有类别或关键词，承办单位须能承办", "smart", Some("DispatchRules"), "200"), items_of("Rule"))
            },
            "/api/v1/models": {"get": returns(op("已训练的派单模型（版本、训练量、留出集准确率）", "smart", None, "200"), items_of("ModelView"))},
            "/api/v1/models/train": {"post": returns(op("立即用最新已办结诉求重新训练派单模型（管理员）", "smart", None, "200"), schema_ref("Trained"))},
            "/api/v1/export/ranking.{format}": {"get": export_ranking},
            "/healthz": healthz,
            "/readyz": readyz,
            "/metrics": prometheus
        },
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "bihuan_session"}
            },
            "responses": {
                "Error": {"description": "错误", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            },
            "schemas": {
                "Error": {"type": "object", "required": ["code", "message"], "properties": {
                    "code": {"type": "string", "example": "version_conflict"},
                    "message": {"type": "string"},
                    "current_version": {"type": "integer"},
                    "field": {"type": "string"}}},
                "Login": {"type": "object", "required": ["login", "password"], "properties": {"login": {"type": "string"}, "password": {"type": "string"}}},
                "Token": {"type": "object", "required": ["user", "name"], "properties": {"user": {"type": "integer"}, "name": {"type": "string"}, "expires_days": {"type": "integer", "minimum": 1, "maximum": 3650}}},
                "SuggestInput": {"type": "object", "required": ["content"], "properties": {"title": {"type": "string"}, "content": {"type": "string"}, "address": {"type": "string"}, "category": {"type": "integer"}, "township": {"type": "integer"}}},
                "DispatchRules": {"type": "array", "description": "id 为0或省略则自动编号", "items": {"$ref": "#/components/schemas/Rule"}},
                "NewUser": {"type": "object", "required": ["login", "name", "role", "unit", "password"], "properties": {"login": {"type": "string"}, "name": {"type": "string"}, "role": {"type": "string"}, "unit": {"type": "integer"}, "password": {"type": "string"}}},
                "UserUpdate": {"type": "object", "properties": {"name": {"type": "string"}, "role": {"type": "string"}, "unit": {"type": "integer"}, "active": {"type": "boolean"}, "password": {"type": "string"}}},
                "PolicyTable": {"type": "array", "items": {"$ref": "#/components/schemas/DeadlinePolicy"}},
                "EnteredRate": {"type": "object", "required": ["period", "name", "value", "source"], "properties": {"period": {"type": "string"}, "name": {"type": "string", "enum": ["policy_awareness", "approval_efficiency", "safety_satisfaction", "cadre_approval"]}, "value": {"type": "number", "minimum": 0, "maximum": 1}, "source": {"type": "string"}}},
                "YearNotice": {"type": "object", "required": ["year", "days"], "properties": {"year": {"type": "integer"}, "papers": {"type": "array", "items": {"type": "string"}}, "days": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}, "date": {"type": "string"}, "isOffDay": {"type": "boolean"}}}}}}
            }
        }
    });
    // 入户听诉's household registry (issue 18).
    let mut households_list = returns(
        op("住户台账：网格员看本网格，村（社区）、乡镇（街道）看本辖区，中心和领导看全县；户主姓名和电话脱敏", "households", None, "200"),
        schema_ref("HouseholdPage"),
    );
    households_list["parameters"] = json!([
        {"name": "grid", "in": "query", "required": false, "description": "网格ID", "schema": {"type": "integer"}},
        {"name": "village", "in": "query", "required": false, "description": "村（社区）ID", "schema": {"type": "integer"}},
        {"name": "township", "in": "query", "required": false, "description": "乡镇（街道）ID", "schema": {"type": "integer"}},
        {"name": "tag", "in": "query", "required": false, "description": "标签，如 独居老人", "schema": {"type": "string"}},
        {"name": "q", "in": "query", "required": false, "description": "搜索：住址或户主姓名中连续的2–50个字（空格不计，如 3组12号、王秀英）", "schema": {"type": "string"}},
        {"name": "after", "in": "query", "required": false, "description": "上一页的 next_after", "schema": {"type": "integer"}},
        {"name": "limit", "in": "query", "required": false, "description": "每页条数（1–500，默认100）", "schema": {"type": "integer"}}
    ]);
    doc["paths"]["/api/v1/households"] = json!({
        "get": households_list,
        "post": returns(op("登记住户（同一网格同一住址和户主的已登记则拒绝）", "households", Some("NewHousehold"), "201"), schema_ref("HouseholdView"))
    });
    let mut import = returns(
        op("导入住户（CSV，UTF-8，表头：网格、住址、户主、人口，可选 电话、标签；网格写名称或ID；标签以 、 ， ; 分隔）：好的行登记，坏的行给出行号和原因，重复的跳过", "households", None, "200"),
        schema_ref("Imported"),
    );
    import["requestBody"] =
        json!({"required": true, "content": {"text/csv": {"schema": {"type": "string"}}}});
    doc["paths"]["/api/v1/households/import"] = json!({"post": import});
    doc["paths"]["/api/v1/households/{id}"] = json!({
        "get": returns(with_id(op("一户的户情和全部历史（本网格、本辖区和中心看到完整电话，并记入审计）", "households", None, "200"), "住户ID"), schema_ref("HouseholdDetail")),
        "post": returns(with_id(op("修改户情", "households", Some("HouseholdInput"), "200"), "住户ID"), schema_ref("HouseholdView"))
    });
    doc["paths"]["/api/v1/households/{id}/move"] = json!({"post": returns(with_id(op("调整网格（网格重划；历史保留）", "households", Some("MoveBody"), "200"), "住户ID"), schema_ref("HouseholdView"))});
    doc["paths"]["/api/v1/households/{id}/remove"] = json!({"post": returns(with_id(op("移出台账（如全户迁出；历史保留）", "households", Some("RemoveBody"), "200"), "住户ID"), schema_ref("HouseholdView"))});
    // 入户听诉 at the door (issue 18): cadres, campaigns, tasks, visits, coverage.
    let q = |name: &str, what: &str, ty: &str| json!({"name": name, "in": "query", "required": false, "description": what, "schema": {"type": ty}});
    doc["paths"]["/api/v1/cadres"] = json!({
        "get": returns(op("包户干部（三包）：本辖区干部及其包片网格、包户住户", "visits", None, "200"), json!({"type": "array", "items": schema_ref("CadreView")})),
        "post": returns(op("安排或调整干部包片（网格）、包户（住户）；空列表即解除（乡镇、中心、管理员）", "visits", Some("AssignBody"), "200"), schema_ref("Assignment"))
    });
    doc["paths"]["/api/v1/visit-campaigns"] = json!({
        "get": returns(op("走访活动，最新的在前", "visits", None, "200"), json!({"type": "array", "items": schema_ref("CampaignView")})),
        "post": returns(op("筹备走访活动：范围（乡镇、网格）、期间、走访频次规则（全部住户或某标签；一次或每月）、听诉主题", "visits", Some("CampaignPlan"), "201"), schema_ref("CampaignView"))
    });
    doc["paths"]["/api/v1/visit-campaigns/{id}"] = json!({"get": returns(with_id(op("一次走访活动", "visits", None, "200"), "活动ID"), schema_ref("CampaignView"))});
    doc["paths"]["/api/v1/visit-campaigns/{id}/launch"] = json!({"post": returns(with_id(op("启动活动：为范围内每户生成走访任务（按工作日计算完成时限），并冻结应访户数；中断后再次调用从中断处继续", "visits", None, "200"), "活动ID"), schema_ref("CampaignView"))});
    doc["paths"]["/api/v1/visit-campaigns/{id}/end"] = json!({"post": returns(with_id(op("结束进行中的活动", "visits", Some("EndBody"), "200"), "活动ID"), schema_ref("CampaignView"))});
    let mut coverage = returns(with_id(op("走访覆盖率 = 已见面走访的应访户 ÷ 启动时冻结的应访户；另列期间新增户、发现诉求、当场解答、转为工单及入户诉求办结率", "visits", None, "200"), "活动ID"), schema_ref("CoverageTable"));
    if let Some(a) = coverage["parameters"].as_array_mut() {
        a.push(json!({"name": "level", "in": "query", "required": false, "description": "township（默认）、village、grid、cadre", "schema": {"type": "string", "enum": ["township", "village", "grid", "cadre"]}}));
    }
    doc["paths"]["/api/v1/visit-campaigns/{id}/coverage"] = json!({"get": coverage});
    let mut drill = returns(
        with_id(
            op(
                "覆盖率背后的住户（默认：未走访），附包户干部；户主姓名和电话脱敏",
                "visits",
                None,
                "200",
            ),
            "活动ID",
        ),
        schema_ref("TaskPage"),
    );
    if let Some(a) = drill["parameters"].as_array_mut() {
        a.push(q(
            "unit",
            "a（全县）或 t乡镇、v村、g网格、c干部加编号，如 g31",
            "string",
        ));
        a.push(json!({"name": "which", "in": "query", "required": false, "description": "not_visited（默认）、visited、added_not_visited、added_visited", "schema": {"type": "string", "enum": ["not_visited", "visited", "added_not_visited", "added_visited"]}}));
        a.push(q("after", "上一页的 next_after", "integer"));
        a.push(q("limit", "每页条数（1–500，默认100）", "integer"));
    }
    doc["paths"]["/api/v1/visit-campaigns/{id}/households"] = json!({"get": drill});
    let mut tasks = returns(
        op(
            "我的走访任务（进行中的活动），最早到期的在前；包户干部看到户主姓名和电话",
            "visits",
            None,
            "200",
        ),
        json!({"type": "array", "items": schema_ref("TaskView")}),
    );
    tasks["parameters"] = json!([
        q(
            "cadre",
            "干部用户ID（默认本人；乡镇、中心可查看本辖区干部）",
            "integer"
        ),
        q("campaign", "活动ID", "integer"),
        q("all", "含已完成的任务", "boolean")
    ]);
    doc["paths"]["/api/v1/visits/tasks"] = json!({"get": tasks});
    let mut visits = returns(
        op(
            "一户的走访记录（包户干部、本网格、本辖区和中心），或本人的走访记录",
            "visits",
            None,
            "200",
        ),
        schema_ref("VisitPage"),
    );
    visits["parameters"] = json!([
        q("household", "住户ID", "integer"),
        q("after", "上一页的 next_after", "integer"),
        q("limit", "每页条数（1–500，默认100）", "integer")
    ]);
    let mut record = returns(op("记录一次走访（见面、不在家、拒访；听诉主题；诉求当场解答或转为入户走访工单，按五办类别的时限办理）。同一草稿编号再次提交返回原记录（200，duplicate 为 true），不会重复", "visits", Some("VisitInput"), "201"), schema_ref("VisitView"));
    record["responses"]["200"] = json!({"description": "这份草稿已提交过", "content": {"application/json": {"schema": schema_ref("VisitView")}}});
    doc["paths"]["/api/v1/visits"] = json!({"get": visits, "post": record});
    doc["paths"]["/api/v1/visits/{id}"] = json!({"get": returns(with_id(op("一次走访记录", "visits", None, "200"), "走访ID"), schema_ref("VisitView"))});
    let mut photos = returns(
        op(
            "为走访中转为工单的诉求补充现场照片（可选，从不强制；仅走访人本人，工单办结前；multipart/form-data 字段 file，JPEG、PNG、GIF、WebP，每张不超过 10 MB），照片随工单保存",
            "visits",
            None,
            "201",
        ),
        items_of("AttachmentView"),
    );
    photos["parameters"] = json!([
        {"name": "id", "in": "path", "required": true, "description": "走访ID", "schema": {"type": "integer"}},
        {"name": "need", "in": "path", "required": true, "description": "诉求序号（从1开始，与走访记录中的顺序相同）", "schema": {"type": "integer"}}
    ]);
    photos["requestBody"] = json!({"required": true, "content": {"multipart/form-data": {"schema": {"type": "object", "properties": {"file": {"type": "array", "items": {"type": "string", "format": "binary"}}}}}}});
    doc["paths"]["/api/v1/visits/{id}/needs/{need}/photos"] = json!({"post": photos});
    // 一件事一次办 (issue 19): the catalogue, packages, applications and their tasks.
    let t = "approvals";
    let reason = |summary: &str, what: &str, schema: &str| {
        returns(
            with_id(op(summary, t, Some("ReasonBody"), "200"), what),
            schema_ref(schema),
        )
    };
    doc["paths"]["/api/v1/matters"] = json!({
        "get": returns(op("事项目录：各单位的许可事项，含法定时限、承诺时限（工作日）、材料（可容缺、共享获取）和表单字段", t, None, "200"), json!({"type": "array", "items": schema_ref("MatterView")})),
        "post": returns(op("登记事项（管理员、中心）：承诺时限不得超过法定时限，法定时限一般为20个工作日（行政许可法第四十二条）", t, Some("MatterSpec"), "201"), schema_ref("MatterView"))
    });
    doc["paths"]["/api/v1/matters/{id}"] = json!({
        "get": returns(with_id(op("一个事项", t, None, "200"), "事项ID"), schema_ref("MatterView")),
        "put": returns(with_id(op("修订事项（编码不变；已受理的申请按受理时的规定办理）", t, Some("MatterSpec"), "200"), "事项ID"), schema_ref("MatterView"))
    });
    doc["paths"]["/api/v1/matters/{id}/retire"] =
        json!({"post": reason("停用事项", "事项ID", "MatterView")});
    doc["paths"]["/api/v1/packages"] = json!({
        "get": returns(op("一件事：跨单位组合的事项、统一承诺时限、合并去重的材料清单和一张表单", t, None, "200"), json!({"type": "array", "items": schema_ref("PackageView")})),
        "post": returns(op("设立一件事（至少两个事项；承诺时限不得超过联合办理的45个工作日，行政许可法第四十二条）", t, Some("PackageSpec"), "201"), schema_ref("PackageView"))
    });
    doc["paths"]["/api/v1/packages/{id}"] = json!({"get": returns(with_id(op("一件事的办事指南：事项、单位、时限、材料清单、表单", t, None, "200"), "一件事ID"), schema_ref("PackageView"))});
    doc["paths"]["/api/v1/packages/{id}/retire"] =
        json!({"post": reason("停用一件事（已受理的申请照常办理）", "一件事ID", "PackageView")});
    let mut apps = returns(
        op("一件事申请：窗口、领导和督办看全部，审批单位看有本单位事项的；列表中联系人和电话脱敏；新的在前", t, None, "200"),
        json!({"type": "array", "items": schema_ref("ApplicationView")}),
    );
    apps["parameters"] = json!([
        {"name": "status", "in": "query", "required": false, "description": "received、noticed、accepted、decided、issued、not_accepted、withdrawn", "schema": {"type": "string"}},
        {"name": "package", "in": "query", "required": false, "description": "一件事ID", "schema": {"type": "integer"}},
        {"name": "overdue", "in": "query", "required": false, "description": "true：只看超过承诺时限的", "schema": {"type": "boolean"}}
    ]);
    doc["paths"]["/api/v1/applications"] = json!({
        "get": apps,
        "post": returns(op("提交申请（一张表单、每项材料一次；5个工作日内须受理或一次性告知，逾期自收到之日起视为受理）；答复中的 query_code 是申请人网上查询进度的查询码，只出现这一次", t, Some("NewApplication"), "201"), schema_ref("ApplicationView"))
    });
    doc["paths"]["/api/v1/applications/{id}"] = json!({"get": returns(with_id(op("一件申请及其完整时间线", t, None, "200"), "申请ID"), schema_ref("ApplicationDetail"))});
    let act = |summary: &str, body: Option<&str>| {
        returns(
            with_id(op(summary, t, body, "200"), "申请ID"),
            schema_ref("ApplicationView"),
        )
    };
    doc["paths"]["/api/v1/applications/{id}/notice"] = json!({"post": act("一次性告知需要补正的全部材料（窗口；只能一次，且在5个工作日内）", Some("NoticeBody"))});
    doc["paths"]["/api/v1/applications/{id}/materials"] = json!({"post": act("补交材料（答复一次性告知，或补交容缺材料）：登记纸质件，或上传扫描件", Some("HandBody"))});
    // Either body may instead be multipart/form-data carrying the scans: the part
    // `application` (the JSON, optional for a hand-in) and one file part `material:<code>`
    // per material.
    let with_files = |json_part: &str| {
        json!({"schema": {"type": "object",
            "properties": {"application": {"type": "string", "description": json_part}},
            "additionalProperties": {"type": "string", "format": "binary",
                "description": "material:<材料编码>：该材料的扫描件或照片（图片、PDF、Office 文档，每个不超过 10 MB），与申请在同一事务中保存"}}})
    };
    doc["paths"]["/api/v1/applications"]["post"]["requestBody"]["content"]["multipart/form-data"] =
        with_files("NewApplication 的 JSON");
    doc["paths"]["/api/v1/applications/{id}/materials"]["post"]["requestBody"]["content"]
        ["multipart/form-data"] = with_files("HandBody 的 JSON（只有上传的文件时可省略）");
    let mut material = returns_file(
        op(
            "下载申请中某项材料上传的文件（能查看该申请者）",
            t,
            None,
            "200",
        ),
        &["application/octet-stream"],
    );
    material["parameters"] = json!([
        {"name": "id", "in": "path", "required": true, "description": "申请ID", "schema": {"type": "integer", "minimum": 1}},
        {"name": "code", "in": "path", "required": true, "description": "材料编码", "schema": {"type": "string"}}
    ]);
    doc["paths"]["/api/v1/applications/{id}/materials/{code}"] = json!({"get": material});
    doc["paths"]["/api/v1/applications/{id}/accept"] = json!({"post": act("受理：材料齐全，或容缺受理（非主要材料，约定补交期限并有申请人承诺）；各事项同时开始并联审批", Some("AcceptBody"))});
    doc["paths"]["/api/v1/applications/{id}/not-accept"] =
        json!({"post": reason("不予受理（须在告知期限内）", "申请ID", "ApplicationView")});
    doc["paths"]["/api/v1/applications/{id}/withdraw"] =
        json!({"post": reason("撤回申请", "申请ID", "ApplicationView")});
    doc["paths"]["/api/v1/applications/{id}/extend"] = json!({"post": act("延期（行政许可法第四十二条）：事项经其单位负责人批准最多延长10个工作日，一件事经批准最多延长15个工作日，各一次，理由告知申请人", Some("ExtendBody"))});
    doc["paths"]["/api/v1/applications/{id}/query-code"] = json!({"post": act("为回执生成新的查询码（窗口；原查询码失效；查询码只在本次答复的 query_code 中出现，不保存原文）", None)});
    doc["paths"]["/api/v1/applications/{id}/issue"] =
        json!({"post": act("全部事项作出决定后统一出证并告知申请人（窗口）", None)});
    let task = |summary: &str, body: Option<&str>| {
        let mut o = returns(op(summary, t, body, "200"), schema_ref("ApplicationView"));
        o["parameters"] = json!([
            {"name": "id", "in": "path", "required": true, "description": "申请ID", "schema": {"type": "integer", "minimum": 1}},
            {"name": "matter", "in": "path", "required": true, "description": "事项ID", "schema": {"type": "integer", "minimum": 1}}
        ]);
        o
    };
    doc["paths"]["/api/v1/applications/{id}/tasks/{matter}/stop"] = json!({"post": task("暂停本事项计时：补正，或听证、检验检测、现场勘验、专家评审（不计入时限，告知申请人，行政许可法第四十五条）；仅事项所属单位", Some("StopBody"))});
    doc["paths"]["/api/v1/applications/{id}/tasks/{matter}/resume"] =
        json!({"post": task("恢复本事项计时", None)});
    doc["paths"]["/api/v1/applications/{id}/tasks/{matter}/decide"] = json!({"post": task("对本事项作出决定：准予许可（证照名称和编号）或不予许可（理由）", Some("TaskDecision"))});
    let mut eff = returns(
        op("行政审批效率：按承诺时限办结率、平均办理工作日（不含暂停计时）与法定时限之比、一次性告知按时率、容缺逾期，按一件事和事项", t, None, "200"),
        schema_ref("EfficiencyView"),
    );
    eff["parameters"] = json!([{"name": "period", "in": "query", "required": false, "description": "month:2026-11、quarter:2026-4、half:2026-1、year:2026、days:2026-11-01:2026-11-15；默认本月", "schema": {"type": "string"}}]);
    doc["paths"]["/api/v1/approval-efficiency"] = json!({"get": eff});
    // 领导接访与包案 (Art 18), beside the literal (which is at serde_json's recursion limit).
    doc["paths"]["/api/v1/receptions"] = json!({ "get": returns(op("领导接访日（信访工作条例第十八条）：日期、领导、地点、接访事项和接访登记的信访事项，日期最近的在前", "leaders", None, "200"), items_of("ReceptionView")), "post": returns(op("安排领导接访日（管理员、派单员；领导只能安排本人的）", "leaders", Some("ScheduleReception"), "201"), schema_ref("ReceptionView")) });
    doc["paths"]["/api/v1/receptions/{id}/petitions"] = json!({"post": returns(with_id(op("登记在接访日接待的信访事项（当天起；接访结束后只有管理员可补记）", "leaders", Some("ReceiveBody"), "200"), "接访日ID"), schema_ref("ReceptionView"))});
    doc["paths"]["/api/v1/receptions/{id}/close"] = json!({"post": returns(with_id(op("结束接访并记录接访情况", "leaders", Some("TextBody"), "200"), "接访日ID"), schema_ref("ReceptionView"))});
    doc["paths"]["/api/v1/receptions/{id}/cancel"] = json!({"post": returns(with_id(op("取消接访日（未登记信访事项时）", "leaders", Some("TextBody"), "200"), "接访日ID"), schema_ref("ReceptionView"))});
    doc["paths"]["/api/v1/appeals/{key}/leader-case"] = json!({"post": leader_case});
    doc["paths"]["/api/v1/leader-cases"] = json!({"get": ledger});
    doc["paths"]["/api/v1/leader-cases/{id}/notes"] = json!({"post": returns(with_id(op("包案领导记录批示、约访、现场办公等", "leaders", Some("TextBody"), "200"), "包案ID"), schema_ref("LeaderCaseView"))});
    doc["paths"]["/api/v1/leader-cases/{id}/release"] = json!({"post": returns(with_id(op("交回包案（包案领导本人或管理员；记录保留）", "leaders", Some("TextBody"), "200"), "包案ID"), schema_ref("LeaderCaseView"))});
    doc["paths"]["/api/v1/tokens/{id}"] = json!({"delete": revoke_token});
    campaign_paths(&mut doc);
    evaluation_paths(&mut doc);
    survey_paths(&mut doc);
    enterprise_paths(&mut doc);
    job_paths(&mut doc);
    open311_paths(&mut doc);
    // The schemas derived from the types replace any written here under the same name.
    let derived = derived_schemas();
    let action = action_schema(derived.get("Command").unwrap_or(&Value::Null));
    if let Some(schemas) = doc["components"]["schemas"].as_object_mut() {
        schemas.extend(derived);
        schemas.insert("Action".into(), action);
    }
    let mut audit = op(
        "访问与审计日志（管理员）:登录、查看未脱敏个人信息、导出、管理操作；新的在前",
        "auth",
        None,
        "200",
    );
    audit["parameters"] = json!([
        {"name": "action", "in": "query", "required": false, "schema": {"type": "string"},
            "description": "login、login_failed、view_personal、export、admin_change"},
        {"name": "login", "in": "query", "required": false, "schema": {"type": "string"}, "description": "登录名"},
        {"name": "from", "in": "query", "required": false, "schema": {"type": "string", "format": "date"}},
        {"name": "to", "in": "query", "required": false, "schema": {"type": "string", "format": "date"}, "description": "含当日"},
        {"name": "before", "in": "query", "required": false, "schema": {"type": "integer"}, "description": "上一页返回的 next_before"},
        {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": 1000}, "description": "默认100"}
    ]);
    doc["paths"]["/api/v1/audit"] = json!({"get": returns(audit, schema_ref("AuditPage"))});
    doc
}

/// 战役化推进 (issue 20): campaigns, battles, checklist items, reports and the weekly view.
fn campaign_paths(doc: &mut Value) {
    let t = "campaigns";
    let view = || schema_ref("CampaignDetail");
    let item = |summary: &str, body: Option<&str>| {
        let mut o = returns(op(summary, t, body, "200"), view());
        o["parameters"] = json!([
            {"name": "id", "in": "path", "required": true, "description": "活动ID", "schema": {"type": "integer", "minimum": 1}},
            {"name": "no", "in": "path", "required": true, "description": "事项编号", "schema": {"type": "integer", "minimum": 1}}
        ]);
        o
    };
    doc["paths"]["/api/v1/campaigns"] = json!({
        "get": returns(op("攻坚活动（三大会战、十大攻坚战、专项行动）：各战役、各状态的事项数和平均进度，推进中的在前（网格员除外的干部均可查看）", t, None, "200"), json!({"type": "array", "items": schema_ref("CampaignSummary")})),
        "post": returns(op("设立攻坚活动及其战役（中心、督办、管理员）", t, Some("NewCampaign"), "201"), view())
    });
    doc["paths"]["/api/v1/campaigns/{id}"] = json!({"get": returns(with_id(op("一个攻坚活动：每个事项的完成值（平台计算的按平台数据，自报的按领导确认的）、状态、进度，按战役和责任单位的进度，燃尽图数据", t, None, "200"), "活动ID"), view())});
    doc["paths"]["/api/v1/campaigns/{id}/battles"] = json!({"post": returns(with_id(op("增设战役（中心）", t, Some("NewBattle"), "200"), "活动ID"), view())});
    doc["paths"]["/api/v1/campaigns/{id}/items"] = json!({"post": returns(with_id(op("添加清单事项（中心；全部通过才写入，出错的注明第几条）：完成时限可为日期或自活动开始起的工作日数；计量方式 reported（自报，领导确认后计入）、milestones（节点）、backlog（问题清仓：活动开始时该单位超期的工单中已办结的百分比）、disputes（纠纷排查：乡镇入户走访发现的矛盾纠纷中已化解的百分比）", t, None, "200"), "活动ID"), view())});
    doc["paths"]["/api/v1/campaigns/{id}/items"]["post"]["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"type": "array", "items": schema_ref("NewItem")}}}});
    let mut import = returns(
        with_id(op("从表格导入清单事项（CSV UTF-8 或 XLSX 第一张表）：表头 战役、事项、责任单位、责任领导、完成时限（必填）及 计量方式、计量单位、基数、目标值、节点（名称:日期，用；分隔）；逐行报告所有问题和行号（表头为第1行），合格的行一次写入", t, None, "200"), "活动ID"),
        schema_ref("ItemsImported"),
    );
    if let Some(p) = import["parameters"].as_array_mut() {
        p.push(json!({"name": "dry_run", "in": "query", "required": false, "description": "true：只检查，不写入", "schema": {"type": "boolean"}}));
    }
    import["requestBody"] = json!({"required": true, "content": {
        "text/csv": {"schema": {"type": "string"}},
        XLSX: {"schema": {"type": "string", "format": "binary"}}}});
    doc["paths"]["/api/v1/campaigns/{id}/items/import"] = json!({"post": import});
    let mut report = item("责任单位报告完成值（自报事项）或完成的节点，可附文件（图片、PDF、Office 文档；照片不是完成的依据）；等待领导确认", Some("ReportBody"));
    report["requestBody"]["content"]["multipart/form-data"] = json!({"schema": {"type": "object",
        "properties": {"report": {"type": "string", "description": "ReportBody 的 JSON"}},
        "additionalProperties": {"type": "string", "format": "binary", "description": "附件（每个不超过 10 MB，一次最多 10 个），与报告在同一事务中保存"}}});
    doc["paths"]["/api/v1/campaigns/{id}/items/{no}/reports"] = json!({"post": report});
    let mut review = item(
        "领导确认或退回一次报告（退回须写明原因）",
        Some("CampaignReviewBody"),
    );
    if let Some(p) = review["parameters"].as_array_mut() {
        p.push(json!({"name": "report", "in": "path", "required": true, "description": "报告序号", "schema": {"type": "integer", "minimum": 1}}));
    }
    doc["paths"]["/api/v1/campaigns/{id}/items/{no}/reports/{report}/review"] =
        json!({"post": review});
    doc["paths"]["/api/v1/campaigns/{id}/items/{no}/revise"] = json!({"post": item("调整事项的完成时限、目标值或责任领导（中心；须写明原因，留有记录）", Some("ReviseBody"))});
    doc["paths"]["/api/v1/campaigns/{id}/items/{no}/withdraw"] =
        json!({"post": item("撤销事项（中心；须写明原因，记录保留）", Some("CampaignReasonBody"))});
    let mut file = returns_file(
        op("下载报告所附的文件", t, None, "200"),
        &["application/octet-stream"],
    );
    file["parameters"] = json!([
        {"name": "id", "in": "path", "required": true, "description": "活动ID", "schema": {"type": "integer", "minimum": 1}},
        {"name": "no", "in": "path", "required": true, "description": "事项编号", "schema": {"type": "integer", "minimum": 1}},
        {"name": "sha256", "in": "path", "required": true, "description": "文件的 SHA-256", "schema": {"type": "string"}}
    ]);
    doc["paths"]["/api/v1/campaigns/{id}/items/{no}/files/{sha256}"] = json!({"get": file});
    let mut weekly = returns(
        with_id(op("周调度：本周末仍滞后的事项和节点（谁负责）、下周到期的、本周完成的、待领导确认的报告", t, None, "200"), "活动ID"),
        schema_ref("Weekly"),
    );
    if let Some(p) = weekly["parameters"].as_array_mut() {
        p.push(json!({"name": "week", "in": "query", "required": false, "description": "该周任一日，默认本周", "schema": {"type": "string", "format": "date"}}));
    }
    doc["paths"]["/api/v1/campaigns/{id}/weekly"] = json!({"get": weekly});
    doc["paths"]["/api/v1/campaigns/{id}/conclude"] = json!({"post": returns(with_id(op("活动收官（中心；之后不能再修改）", t, Some("ConcludeBody"), "200"), "活动ID"), view())});
}

/// 四比 (issue 20): schemes and their formulas, evaluations, published snapshots.
fn evaluation_paths(doc: &mut Value) {
    let t = "evaluations";
    doc["paths"]["/api/v1/evaluations/schemes"] = json!({
        "get": returns(op("评比方案（月度调研提示比、季度红灰台比、半年两奖一杯比、全年标杆奖比）及其各版评分公式（中心、督办、领导）", t, None, "200"), json!({"type": "array", "items": schema_ref("SchemeView")})),
        "post": returns(op("设立评比方案：加权指标（按时办结率、闭环率、及时签收率、满意率、一次性化解率、吹哨报到按时率、攻坚事项推进率、入户走访覆盖率）、各项最低样本量、红榜灰榜名次、奖项", t, Some("NewScheme"), "201"), schema_ref("SchemeView"))
    });
    doc["paths"]["/api/v1/evaluations/schemes/{id}"] = json!({"get": returns(with_id(op("一个评比方案及其公式的全部版本", t, None, "200"), "方案ID"), schema_ref("SchemeView"))});
    doc["paths"]["/api/v1/evaluations/schemes/{id}/formula"] = json!({"post": returns(with_id(op("修订评分公式（生成新版本；已公开的结果保留发布时的版本）", t, Some("FormulaDraft"), "200"), "方案ID"), schema_ref("SchemeView"))});
    let mut list = returns(
        op(
            "各期评比，期间最近的在前（未公开的不含实时结果，打开单个评比时计算）",
            t,
            None,
            "200",
        ),
        json!({"type": "array", "items": schema_ref("EvaluationView")}),
    );
    list["parameters"] = json!([{"name": "scheme", "in": "query", "required": false, "description": "方案ID", "schema": {"type": "integer"}}]);
    doc["paths"]["/api/v1/evaluations"] = json!({
        "get": list,
        "post": returns(op("建立一期评比（每个方案每期一次；期间按方案的周期）", t, Some("OpenEvaluation"), "201"), schema_ref("EvaluationView"))
    });
    doc["paths"]["/api/v1/evaluations/{id}"] = json!({"get": returns(with_id(op("一期评比的结果：已公开的为发布时冻结的快照，未公开的按方案现行公式实时计算（live）", t, None, "200"), "评比ID"), schema_ref("EvaluationView"))});
    doc["paths"]["/api/v1/evaluations/{id}/publish"] = json!({"post": returns(with_id(op("公开晾晒：期满后按现行公式计算并冻结结果与公式，此后数据变化不再影响（中心、督办、管理员）", t, Some("PublishBody"), "200"), "评比ID"), schema_ref("EvaluationView"))});
    let mut public = returns(
        op(
            "已公开晾晒的评比结果（无需登录）：期间、公式、单位得分、红榜灰榜、奖项；不含个人信息",
            t,
            None,
            "200",
        ),
        json!({"type": "array", "items": schema_ref("PublicEvaluation")}),
    );
    public["security"] = json!([]);
    doc["paths"]["/api/v1/evaluations/published"] = json!({"get": public});
    let mut one = returns(
        with_id(
            op("一期已公开的评比结果（无需登录）", t, None, "200"),
            "评比ID",
        ),
        schema_ref("PublicEvaluation"),
    );
    one["security"] = json!([]);
    doc["paths"]["/api/v1/evaluations/published/{id}"] = json!({"get": one});
}

/// 双提升 surveys (issue 21): setting up, sampling, calling, the AI platform's webhook.
fn survey_paths(doc: &mut Value) {
    let t = "surveys";
    doc["paths"]["/api/v1/surveys"] = json!({
        "get": returns(op("调查（双提升测评）：审批信息、问卷、分层、进度、AAPOR 应答率（RR1–RR6、COOP、REF、CON 及 e）、各指标的未加权（Wilson 区间）与事后分层加权（设计区间）结果和方法说明（中心、督办、领导、回访员）", t, None, "200"), json!({"type": "array", "items": schema_ref("SurveyView")})),
        "post": returns(op("设立调查（中心、督办、管理员）：表号、制定机关、批准文号和有效期（统计法第十七条，开场白中宣读），问卷（单选、多选、量表、开放题，跳转，计入哪项指标及哪些回答算肯定），分层，拨打时段和上限，目标完成数", t, Some("NewSurvey"), "201"), schema_ref("SurveyView"))
    });
    doc["paths"]["/api/v1/surveys/{id}"] = json!({"get": returns(with_id(op("一项调查及其样本号码（号码脱敏）", t, None, "200"), "调查ID"), schema_ref("SurveyDetail"))});
    let mut sample = returns(
        with_id(op("导入抽样框并分层抽样：上传 CSV 或 XLSX（表头「电话」「层」，层的代码或名称），或以住户台账、期间内的诉求群众为抽样框（按乡镇分层，未登记电话的逐项说明）；按各层在框中的比例分配，用种子可重复地随机抽取；重复号码只算一个，坏行逐行报告", t, None, "200"), "调查ID"),
        schema_ref("Sampled"),
    );
    if let Some(p) = sample["parameters"].as_array_mut() {
        p.push(json!({"name": "size", "in": "query", "required": true, "description": "抽取的号码数", "schema": {"type": "integer", "minimum": 1}}));
        p.push(json!({"name": "seed", "in": "query", "required": true, "description": "随机种子", "schema": {"type": "integer", "minimum": 0}}));
        p.push(json!({"name": "frame", "in": "query", "required": false, "description": "抽样框：file（上传号码表，默认）、households（住户台账中登记了电话的住户，按乡镇分层）、appellants（期间内提出过诉求的群众，按乡镇分层）", "schema": {"type": "string", "enum": ["file", "households", "appellants"]}}));
        p.push(json!({"name": "from", "in": "query", "required": false, "description": "appellants：登记日期起（含）", "schema": {"type": "string", "format": "date"}}));
        p.push(json!({"name": "to", "in": "query", "required": false, "description": "appellants：登记日期止（含）", "schema": {"type": "string", "format": "date"}}));
    }
    sample["requestBody"] = json!({"required": false, "content": {"text/csv": {"schema": {"type": "string"}}, XLSX: {"schema": {"type": "string", "format": "binary"}}}});
    doc["paths"]["/api/v1/surveys/{id}/sample"] = json!({"post": sample});
    doc["paths"]["/api/v1/surveys/{id}/questionnaire"] = json!({"post": returns(with_id(op("修订问卷（生成新版本；访问开始后不能再改）", t, Some("QuestionnaireBody"), "200"), "调查ID"), schema_ref("SurveyView"))});
    let mut import = returns(
        with_id(op("导入 AI 测评平台的结果文件（CSV 或 XLSX：结果编号、样本编号、结果代码，完成的另有「回答」如 Q1=是;Q2=很安全）：每个结果编号只计一次，与回传接口相同；坏行逐行报告", t, None, "200"), "调查ID"),
        schema_ref("ResultsImported"),
    );
    import["requestBody"] = json!({"required": true, "content": {"text/csv": {"schema": {"type": "string"}}, XLSX: {"schema": {"type": "string", "format": "binary"}}}});
    doc["paths"]["/api/v1/surveys/{id}/results/import"] = json!({"post": import});
    doc["paths"]["/api/v1/surveys/{id}/field"] = json!({"post": returns(with_id(op("开始访问（问卷自此固定）", t, None, "200"), "调查ID"), schema_ref("SurveyView"))});
    doc["paths"]["/api/v1/surveys/{id}/close"] = json!({"post": returns(with_id(op("结束访问", t, None, "200"), "调查ID"), schema_ref("SurveyView"))});
    doc["paths"]["/api/v1/surveys/{id}/next"] = json!({"post": returns(with_id(op("访员取下一个到期的号码（按拨打时段、重拨间隔和上限）：只在此处显示完整号码，附开场白和问卷；没有到期的号码时为 null", t, None, "200"), "调查ID"), json!({"oneOf": [schema_ref("CurrentCase"), {"type": "null"}]}))});
    let mut call = returns(op("记录一次拨打：AAPOR 结果代码（完成访问须答完问卷路径上的全部题目，未答完记为部分完成），回答，约定回拨时间", t, Some("CallBody"), "200"), schema_ref("CaseView"));
    call["parameters"] = json!([
        {"name": "id", "in": "path", "required": true, "description": "调查ID", "schema": {"type": "integer", "minimum": 1}},
        {"name": "case", "in": "path", "required": true, "description": "样本号码ID", "schema": {"type": "integer", "minimum": 1}}
    ]);
    doc["paths"]["/api/v1/surveys/{id}/cases/{case}/attempts"] = json!({"post": call});
    let mut hook = returns(op("AI 测评平台回传结果（一条或一组 SurveyResult）：请求体的 HMAC-SHA256 签名放在 X-Bihuan-Signature: sha256=<hex>（密钥为 survey_webhook_secret）；每个 result_id 只计一次，重复回传不改变结果", t, None, "200"), json!({"type": "array", "items": schema_ref("CaseView")}));
    hook["security"] = json!([]);
    hook["parameters"] = json!([{"name": "X-Bihuan-Signature", "in": "header", "required": true, "schema": {"type": "string"}}]);
    hook["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"oneOf": [schema_ref("SurveyResult"), {"type": "array", "items": schema_ref("SurveyResult")}]}}}});
    doc["paths"]["/api/v1/survey-results"] = json!({"post": hook});
}

/// 楼格格 + e见帮办 (issue 22): buildings, enterprises, teams, visits, policies, figures.
fn enterprise_paths(doc: &mut Value) {
    let t = "enterprises";
    let file = json!({"required": true, "content": {"text/csv": {"schema": {"type": "string"}}, XLSX: {"schema": {"type": "string", "format": "binary"}}}});
    let two = |what: &str, second: &str| {
        json!([
            {"name": "id", "in": "path", "required": true, "description": what, "schema": {"type": "integer", "minimum": 1}},
            {"name": "n", "in": "path", "required": true, "description": second, "schema": {"type": "integer", "minimum": 0}}
        ])
    };
    doc["paths"]["/api/v1/buildings"] = json!({
        "get": returns(op("商务楼宇（按辖区或所在服务队的楼宇）：所在网格、楼层、房号、服务的服务队、现有企业数", t, None, "200"), json!({"type": "array", "items": schema_ref("BuildingView")})),
        "post": returns(op("登记楼宇（中心、乡镇（街道）、网格员；本辖区）", t, Some("NewBuilding"), "201"), schema_ref("BuildingView"))
    });
    let mut ib = returns(op("导入楼宇：CSV 或 XLSX，表头 楼宇名称、地址、网格、楼层（可选：房号，以、分隔）；同一网格同名的楼宇只登记一次；坏行逐行报告", t, None, "200"), schema_ref("RegistryImported"));
    ib["requestBody"] = file.clone();
    doc["paths"]["/api/v1/buildings/import"] = json!({"post": ib});
    let mut list = returns(op("企业台账（按辖区、所在服务队的楼宇或挂点）：不服务这家企业的读者看到的联系人和电话已脱敏", t, None, "200"), json!({"type": "array", "items": schema_ref("EnterpriseView")}));
    list["parameters"] = json!([
        {"name": "building", "in": "query", "required": false, "schema": {"type": "integer"}},
        {"name": "team", "in": "query", "required": false, "schema": {"type": "integer"}},
        {"name": "township", "in": "query", "required": false, "schema": {"type": "integer"}},
        {"name": "q", "in": "query", "required": false, "description": "名称或信用代码中的文字", "schema": {"type": "string"}}
    ]);
    doc["paths"]["/api/v1/enterprises"] = json!({
        "get": list,
        "post": returns(op("登记企业：统一社会信用代码（按 GB 32100 校验位核对，一码一企）、名称、行业、规模、成立日期、联系人，所在楼宇和房号或网格", t, Some("NewEnterprise"), "201"), schema_ref("EnterpriseView"))
    });
    let mut ie = returns(op("导入企业：CSV 或 XLSX，表头 统一社会信用代码、企业名称、行业、规模、成立日期、联系人（可选：电话、楼宇、房号、网格、地址、入驻日期）；已登记的信用代码跳过；每行的全部问题逐行报告", t, None, "200"), schema_ref("RegistryImported"));
    ie["requestBody"] = file;
    doc["paths"]["/api/v1/enterprises/import"] = json!({"post": ie});
    doc["paths"]["/api/v1/enterprises/{id}"] = json!({"get": returns(with_id(op("一家企业：入驻历史、挂点干部、诉求及其办理状态（已解决＝办结且企业满意或基本满意）、今天有效的惠企政策及是否符合条件和理由、政策申请、融资对接", t, None, "200"), "企业ID"), schema_ref("EnterpriseDetail"))});
    doc["paths"]["/api/v1/enterprises/{id}/move"] = json!({"post": returns(with_id(op("迁入（楼宇或网格）或迁出；以往的入驻记录保留", t, Some("EnterpriseMove"), "200"), "企业ID"), schema_ref("EnterpriseView"))});
    doc["paths"]["/api/v1/enterprises/{id}/liaison"] = json!({"post": returns(with_id(op("一对一挂点帮扶：指定挂点干部", t, Some("LiaisonBody"), "200"), "企业ID"), schema_ref("EnterpriseView"))});
    doc["paths"]["/api/v1/enterprises/{id}/accounts"] = json!({"post": returns(with_id(op("关联用人单位账号（角色 employer）：该账号在就业之家发布和查看本企业的招聘岗位", t, Some("LiaisonBody"), "200"), "企业ID"), schema_ref("EnterpriseView"))});
    doc["paths"]["/api/v1/enterprises/{id}/demands"] = json!({"post": returns(with_id(op("e见帮办：登记企业的需求（融资、用工、场地、法律、政策、审批、拖欠账款、其他），作为企业服务渠道的诉求进入闭环；拖欠账款投诉按《保障中小企业款项支付条例》第二十五条计时（10个工作日内转交，30日内答复）", t, Some("DemandBody"), "201"), "企业ID"), schema_ref("DemandRaised"))});
    doc["paths"]["/api/v1/enterprises/{id}/applications"] = json!({"post": returns(with_id(op("申请一项惠企政策（不符合条件时说明哪一条不符合）", t, Some("ApplyBody"), "200"), "企业ID"), schema_ref("EnterpriseView"))});
    let mut dec = returns(
        op("记录政策申请的结果和兑现金额", t, Some("DecideBody"), "200"),
        schema_ref("EnterpriseView"),
    );
    dec["parameters"] = two("企业ID", "申请序号（从0起）");
    doc["paths"]["/api/v1/enterprises/{id}/applications/{n}"] = json!({"post": dec});
    doc["paths"]["/api/v1/enterprises/{id}/financing"] = json!({"post": returns(with_id(op("记录一次银企融资对接：银行、申请金额（元）、日期、促成的服务队", t, Some("FinanceBody"), "200"), "企业ID"), schema_ref("EnterpriseView"))});
    let mut fin = returns(
        op(
            "记录融资结果：获批金额（元，0 为未获批）",
            t,
            Some("FinancedBody"),
            "200",
        ),
        schema_ref("EnterpriseView"),
    );
    fin["parameters"] = two("企业ID", "对接序号（从0起）");
    doc["paths"]["/api/v1/enterprises/{id}/financing/{n}"] = json!({"post": fin});
    doc["paths"]["/api/v1/service-teams"] = json!({
        "get": returns(op("楼格格服务队：队员（中心人员、干部、网格员）和服务的楼宇", t, None, "200"), json!({"type": "array", "items": schema_ref("TeamView")})),
        "post": returns(op("设立服务队（中心、乡镇（街道）负责人、管理员）", t, Some("TeamBody"), "201"), schema_ref("TeamView"))
    });
    doc["paths"]["/api/v1/service-teams/{id}"] = json!({"post": returns(with_id(op("调整服务队的队员、楼宇，或撤销服务队（记录保留）", t, Some("TeamChange"), "200"), "服务队ID"), schema_ref("TeamView"))});
    let mut visits = returns(
        op(
            "服务队的走访（进楼宇企问需求、送服务）：计划与记录",
            t,
            None,
            "200",
        ),
        json!({"type": "array", "items": schema_ref("ServiceVisitView")}),
    );
    visits["parameters"] =
        json!([{"name": "team", "in": "query", "required": false, "schema": {"type": "integer"}}]);
    doc["paths"]["/api/v1/service-visits"] = json!({
        "get": visits,
        "post": returns(op("安排走访：服务队、楼宇（默认走访楼里的全部企业）或企业、日期", t, Some("PlanBody"), "201"), schema_ref("ServiceVisitView"))
    });
    doc["paths"]["/api/v1/service-visits/{id}"] = json!({"post": returns(with_id(op("记录走访：提供的服务（类型来自配置 enterprise_services）、收集的需求（每条登记为企业服务诉求）；或取消走访", t, Some("RecordBody"), "200"), "走访ID"), schema_ref("ServiceVisitView"))});
    doc["paths"]["/api/v1/policies-for-enterprises"] = json!({
        "get": returns(op("惠企政策：适用条件（行业、规模、乡镇、成立月数）、支持内容、政策依据、施行和截止日期", t, None, "200"), json!({"type": "array", "items": schema_ref("PolicyView")})),
        "post": returns(op("发布惠企政策（中心、管理员）", t, Some("PolicyBody"), "201"), schema_ref("PolicyView"))
    });
    doc["paths"]["/api/v1/policies-for-enterprises/{id}"] = json!({"post": returns(with_id(op("修订政策（整条替换），或以 withdraw 给出原因停止执行", t, Some("PolicyBody"), "200"), "政策ID"), schema_ref("PolicyView"))});
    let mut m = returns(op("惠企政策直达（无需登录）：按行业、规模、所在乡镇和成立日期列出今天有效的政策，逐条说明是否符合", t, None, "200"), json!({"type": "array", "items": schema_ref("PolicyMatch")}));
    m["security"] = json!([]);
    m["parameters"] = json!([
        {"name": "industry", "in": "query", "required": true, "schema": {"type": "string"}},
        {"name": "size", "in": "query", "required": true, "description": "micro、small、medium、large 或 微型、小型、中型、大型", "schema": {"type": "string"}},
        {"name": "township", "in": "query", "required": false, "schema": {"type": "integer"}},
        {"name": "founded", "in": "query", "required": true, "schema": {"type": "string", "format": "date"}}
    ]);
    doc["paths"]["/api/v1/policies-for-enterprises/match"] = json!({"get": m});
    let mut f = returns(op("企业服务的数字：按服务队、楼宇、乡镇（街道）——楼宇覆盖、走访企业数、需求数和已解决数（按类型）、满意度、融资对接笔数与金额", t, None, "200"), schema_ref("Figures"));
    f["parameters"] = json!([
        {"name": "from", "in": "query", "required": false, "schema": {"type": "string", "format": "date"}},
        {"name": "to", "in": "query", "required": false, "schema": {"type": "string", "format": "date"}}
    ]);
    doc["paths"]["/api/v1/enterprise-figures"] = json!({"get": f});
}

/// 就业之家 (issue 23): postings, seekers, referrals, loans, the public list, figures.
fn job_paths(doc: &mut Value) {
    let t = "jobs";
    let arr = |n: &str| json!({"type": "array", "items": schema_ref(n)});
    let mut list = returns(
        op(
            "本乡镇（街道）的招聘岗位（中心和领导看全县）",
            t,
            None,
            "200",
        ),
        arr("PostingView"),
    );
    list["parameters"] = json!([{"name": "status", "in": "query", "required": false, "description": "draft、pending、published、filled、expired、withdrawn", "schema": {"type": "string"}}]);
    doc["paths"]["/api/v1/jobs"] = json!({
        "get": list,
        "post": returns(op("登记岗位（草稿）：用人单位、招聘人数、任职要求、岗位职责、工作地点、月薪范围（人力资源市场暂行条例第二十四条），工作时间、截止日期，对应的用工需求或经商会收集", t, Some("PostingBody"), "201"), schema_ref("PostingView"))
    });
    let mut public = returns(
        op(
            "公开的招聘岗位（无需登录）：已发布且未过截止日期，不含任何个人信息",
            t,
            None,
            "200",
        ),
        arr("PublicPosting"),
    );
    public["security"] = json!([]);
    public["parameters"] = json!([{"name": "township", "in": "query", "required": false, "schema": {"type": "integer"}}]);
    doc["paths"]["/api/v1/jobs/public"] = json!({"get": public});
    doc["paths"]["/api/v1/jobs/{id}"] = json!({"get": returns(with_id(op("一个岗位：推荐的求职者（仅限同意被推荐的，附理由，姓名脱敏）和已有的推荐", t, None, "200"), "岗位ID"), schema_ref("PostingDetail"))});
    doc["paths"]["/api/v1/jobs/{id}/edit"] = json!({"post": returns(with_id(op("修改岗位（已发布的岗位修改后须重新审核）", t, Some("PostingBody"), "200"), "岗位ID"), schema_ref("PostingView"))});
    doc["paths"]["/api/v1/jobs/{id}/submit"] = json!({"post": returns(with_id(op("提交审核：检查性别、年龄、民族、地域、户籍等歧视性表述（就业促进法），结果记入 flags", t, None, "200"), "岗位ID"), schema_ref("PostingView"))});
    doc["paths"]["/api/v1/jobs/{id}/review"] = json!({"post": returns(with_id(op("审核：发布（有歧视性表述时拒绝）或退回修改（须写明原因）", t, Some("PostingReview"), "200"), "岗位ID"), schema_ref("PostingView"))});
    doc["paths"]["/api/v1/jobs/{id}/close"] = json!({"post": returns(with_id(op("结束岗位：已招满、已过期或已撤回", t, Some("CloseBody"), "200"), "岗位ID"), schema_ref("PostingView"))});
    doc["paths"]["/api/v1/job-seekers"] = json!({
        "get": returns(op("求职者（本乡镇完整显示，其他读者姓名和电话脱敏）", t, None, "200"), arr("SeekerView")),
        "post": returns(op("登记求职者：技能、意向、是否希望家门口就业、标签（退役军人、就业困难人员、返乡人员）和同意事项（是否同意被推荐、是否同意向用人单位提供电话）", t, Some("SeekerBody"), "201"), schema_ref("SeekerView"))
    });
    doc["paths"]["/api/v1/job-seekers/{id}"] = json!({"get": returns(with_id(op("一位求职者：适合的在招岗位（附理由）和推荐记录", t, None, "200"), "求职者ID"), schema_ref("SeekerDetail"))});
    doc["paths"]["/api/v1/job-seekers/{id}/close"] = json!({"post": returns(with_id(op("求职者退出（不再推荐）", t, Some("SeekerClose"), "200"), "求职者ID"), schema_ref("SeekerView"))});
    doc["paths"]["/api/v1/referrals"] = json!({
        "get": returns(op("推荐记录：推荐、面试、录用或未录用，录用后第1、3、6个月回访", t, None, "200"), arr("ReferralView")),
        "post": returns(op("推荐求职者到岗位（须同意被推荐；电话仅在同意时提供给用人单位）", t, Some("ReferBody"), "201"), schema_ref("ReferralView"))
    });
    doc["paths"]["/api/v1/referrals/{id}/steps"] = json!({"post": returns(with_id(op("记录推荐的下一步：interview、hire、reject、follow_up（第1、3、6个月是否仍在岗）", t, Some("StepBody"), "200"), "推荐ID"), schema_ref("ReferralView"))});
    doc["paths"]["/api/v1/loans"] = json!({
        "get": returns(op("促成的贷款（创业担保贷款等）", t, None, "200"), arr("LoanView")),
        "post": returns(op("登记贷款：超过政策上限（个人20万元、3年；小微企业300万元、2年）时给出提示，不拒绝", t, Some("LoanBody"), "201"), schema_ref("LoanView"))
    });
    doc["paths"]["/api/v1/loans/{id}/decision"] = json!({"post": returns(with_id(op("记录贷款结果", t, Some("LoanDecision"), "200"), "贷款ID"), schema_ref("LoanView"))});
    let mut f = returns(op("就业之家的数字（各乡镇及合计，最后一行为合计）：发布岗位及人数、推荐、就业、3个月和6个月在岗、贷款笔数和金额、退役军人和就业困难人员等就业人数", t, None, "200"), arr("JobFigures"));
    f["parameters"] = json!([
        {"name": "from", "in": "query", "required": false, "schema": {"type": "string", "format": "date"}},
        {"name": "to", "in": "query", "required": false, "schema": {"type": "string", "format": "date"}}
    ]);
    doc["paths"]["/api/v1/job-figures"] = json!({"get": f});
}

fn open311_paths(doc: &mut Value) {
    let t = "open311";
    doc["paths"]["/api/v1/open311/clients"] = json!({
        "get": returns(op("登记的开放接口应用（Open311 GeoReport v2，见 /open311/v2/discovery.json；不显示密钥）", t, None, "200"), json!({"type": "array", "items": schema_ref("Open311ClientView")})),
        "post": returns(op("登记应用并发放 api_key（仅此一次显示，只保存摘要；仅系统管理员）", t, Some("NewOpen311Client"), "201"), schema_ref("Open311ClientRegistered"))
    });
    doc["paths"]["/api/v1/open311/clients/{id}/revoke"] = json!({"post": returns(with_id(op("停用应用的密钥（须写明原因；停用后该密钥提交的请求一律拒绝）", t, Some("RevokeOpen311Client"), "200"), "应用ID"), schema_ref("Open311ClientView"))});
}

#[cfg(test)]
mod tests {
    /// Every type that derives a schema has a name of its own: two types of one name (two
    /// capabilities' `CampaignView`, say) would silently share one schema in the document, and
    /// one of them would be described wrongly. A type renames its schema with `#[schema(as = …)]`.
    #[test]
    fn schema_names_are_unique() {
        let crates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut files = Vec::new();
        let mut dirs = vec![crates];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let p = e.path();
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                if p.is_dir() && name != "target" && name != "tests" {
                    dirs.push(p);
                } else if name.ends_with(".rs") && p.to_string_lossy().contains("/src/") {
                    files.push(p);
                }
            }
        }
        let mut seen: std::collections::HashMap<String, String> = Default::default();
        let mut found = 0;
        for f in &files {
            let text = std::fs::read_to_string(f).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            for (i, l) in lines.iter().enumerate() {
                if !(l.contains("derive(") && l.contains("ToSchema")) {
                    continue;
                }
                let mut alias = None;
                for next in lines.iter().skip(i + 1).take(12) {
                    if let Some(rest) = next.trim().strip_prefix("#[schema(as = ") {
                        alias = rest
                            .split(')')
                            .next()
                            .map(|a| a.rsplit("::").next().unwrap_or(a).trim().to_string());
                    }
                    let t = next.trim_start();
                    let decl = t
                        .strip_prefix("pub struct ")
                        .or_else(|| t.strip_prefix("pub enum "));
                    if let Some(decl) = decl {
                        let ident: String = decl
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect();
                        if ident.is_empty() {
                            break; // a macro's `pub enum $name`: its uses are not scanned
                        }
                        let name = alias.take().unwrap_or(ident);
                        let at = format!("{}:{}", f.display(), i + 1);
                        if let Some(first) = seen.insert(name.clone(), at.clone()) {
                            panic!("two schemas named {name}: {first} and {at}");
                        }
                        found += 1;
                        break;
                    }
                }
            }
        }
        assert!(
            found > 100,
            "only {found} schema types found: is the scan still reading the sources?"
        );
    }
}
