//! `/approvals`: 一件事一次办 in the console — the applications (with this month's 行政审批效率),
//! a package's guide (办事指南) with the window's one form, and an application's page with its
//! clocks, the window's check (一次性告知, 受理 or 容缺受理, 不予受理), each unit's task
//! (暂停计时, 恢复计时, 准予 or 不予许可), 统一出证, and the one timeline. Every form goes through
//! `crate::approvals`, as the API does; a refused form comes back with the message and what was
//! typed.

use super::*;
use crate::approvals::{self as uc, ApplicationQuery};
use bihuan_domain::approvals::{
    ApplicantKind, ApplicationCommand, ApplicationStatus, Missing, StopKind, TaskDecision,
    TaskStatus,
};

fn pct(r: Option<f64>) -> String {
    r.map_or("—".into(), |v| format!("{:.1}%", v * 100.0))
}

fn days(r: Option<f64>) -> String {
    r.map_or("—".into(), |v| format!("{v:.1}"))
}

/// The matters a material or field is for: all of them, or their codes.
fn for_list(codes: &[String], total: usize) -> String {
    if codes.len() == total && total > 2 {
        format!("全部{total}个事项")
    } else {
        codes.join("、")
    }
}

/// `days:2026-09-05:2026-12-03` → 2026-09-05 至 2026-12-03; `month:2026-11` → 2026-11.
fn period_label(spec: &str) -> String {
    match spec.split_once(':') {
        Some(("days", r)) => r.replacen(':', " 至 ", 1),
        Some((_, r)) => r.to_string(),
        None => spec.to_string(),
    }
}

fn status_badge(s: ApplicationStatus) -> Markup {
    let class = match s {
        ApplicationStatus::Received | ApplicationStatus::Noticed => "badge due_soon",
        ApplicationStatus::NotAccepted | ApplicationStatus::Withdrawn => "badge closed",
        _ => "badge",
    };
    html! { span class=(class) { (s.label()) } }
}

#[derive(Deserialize, Default)]
pub(super) struct ApprovalsQuery {
    status: Option<String>,
    overdue: Option<String>,
    period: Option<String>,
    ok: Option<String>,
}

pub(super) async fn approvals_page(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Query(q): Query<ApprovalsQuery>,
) -> Response {
    let query = ApplicationQuery {
        status: q.status.clone().filter(|s| !s.is_empty()),
        package: None,
        overdue: q.overdue.as_deref().map(|v| v == "1"),
    };
    // One read: the figures count every application the caller sees, the table the filtered.
    let all = match uc::visible_applications(&state, &c).await {
        Ok(l) => l,
        Err(e) => return error_page(e.status, "无法打开一件事申请", &e.message, Some(&c)),
    };
    let list = match query.filter(all.clone()) {
        Ok(l) => l,
        Err(e) => return error_page(e.status, "无法打开一件事申请", &e.message, Some(&c)),
    };
    let packages = uc::packages(&state, &c).await.unwrap_or_default();
    // The figures of a period: by default the last 90 days, so the start of a month is not
    // an empty table.
    let today = bihuan_domain::time::local_date(state.clock.now());
    let spec = q
        .period
        .clone()
        .filter(|p| !p.trim().is_empty())
        .unwrap_or_else(|| format!("days:{}:{today}", today - chrono::Duration::days(89)));
    let (month, period_error) = match uc::period_or_month(&state, Some(&spec)) {
        Ok(x) => (Some(x), None),
        Err(e) => (None, Some(e.message)),
    };
    let eff = month
        .as_ref()
        .map(|(_, p)| uc::figures(&state, all.iter().map(|v| &v.application), *p));
    let window = uc::is_window(&c);
    let statuses = [
        ApplicationStatus::Received,
        ApplicationStatus::Noticed,
        ApplicationStatus::Accepted,
        ApplicationStatus::Decided,
        ApplicationStatus::Issued,
        ApplicationStatus::NotAccepted,
        ApplicationStatus::Withdrawn,
    ];
    let code = wire;
    let body = html! {
        h1 { "一件事一次办" }
        @if let Some(m) = &q.ok { p.flash.ok role="status" { (m) } }
        p.muted { "一张表单、一套材料、一次受理；各单位并联审批，按一件事的承诺时限（工作日）办结，统一出证。" }
        form.inline method="get" action="/approvals" {
            label for="period" { "统计期间" }
            input #period name="period" value=(spec) maxlength="40" placeholder="month:2026-11、quarter:2026-4、days:2026-09-01:2026-11-30";
            button type="submit" { "查看" }
        }
        @if let Some(m) = &period_error { p.error role="alert" { (m) } }
        @if let (Some(e), Some((spec, _))) = (&eff, &month) {
            section.cards aria-label="行政审批效率" {
                div.card { div.l { "行政审批效率（" (period_label(spec)) "）" } div.n { (pct(e.on_time_rate)) } div.small { "按承诺时限办结 " (e.on_time) " / " (e.decided) " 件" } }
                div.card { div.l { "平均办理（工作日，不含暂停计时）" } div.n { (days(e.average_days)) } }
                div.card { div.l { "5个工作日内一次性告知或受理" } div.n { (pct(e.checked_in_time_rate)) } div.small { (e.checked_in_time) " / " (e.checked) " 件" } }
                div.card { div.l { "容缺材料逾期未补交" } div.n { (e.waivers_lapsed) } div.small { "到期 " (e.waivers_due) " 项" } }
                div.card { div.l { "办理中超过承诺时限" } div.n { (e.overdue_open) } }
            }
            @if !e.packages.is_empty() {
                div.table-wrap { table #efficiency {
                    thead { tr { th { "一件事" } th { "办结" } th { "按时" } th { "按时率" } th { "平均用时" } th { "承诺时限" } th { "逐项法定时限合计" } } }
                    tbody { @for p in &e.packages { tr {
                        td { (p.name) } td { (p.decided) } td { (p.on_time) } td { (pct(p.on_time_rate)) }
                        td { (days(p.average_days)) } td { (p.promised_days) } td { (p.serial_statutory_days) }
                    } } }
                } }
            }
            @if !e.matters.is_empty() {
                details { summary { "按事项：平均用时与法定时限" }
                    div.table-wrap { table #matter-efficiency {
                        thead { tr { th { "事项" } th { "单位" } th { "办结" } th { "按时" } th { "平均用时" } th { "承诺" } th { "法定" } } }
                        tbody { @for m in &e.matters { tr {
                            td { (m.name) } td { (unit_name(&state.store.catalog(), Some(m.unit))) } td { (m.decided) } td { (m.on_time) }
                            td { (days(m.average_days)) } td { (m.promised_days) } td { (m.statutory_days) }
                        } } }
                    } }
                }
            }
        }
        h2 { "办事指南" }
        @if packages.is_empty() { p.muted { "尚未设立一件事。" } }
        ul { @for p in packages.iter().filter(|p| !p.package.retired) {
            li { a href=(format!("/approvals/packages/{}", p.id)) { (p.package.name) } " · " (p.package.matters.len()) " 个事项、" (p.unit_names.len()) " 个单位 · 承诺 " (p.package.promised_days) " 个工作日" @if window { " · " a href=(format!("/approvals/packages/{}#apply", p.id)) { "窗口受理" } } }
        } }
        h2 { "申请" }
        form.inline method="get" action="/approvals" {
            label for="status" { "状态" }
            select #status name="status" {
                option value="" { "全部" }
                @for s in statuses { option value=(code(s)) selected[q.status.as_deref() == Some(code(s).as_str())] { (s.label()) } }
            }
            label { input type="checkbox" name="overdue" value="1" checked[q.overdue.as_deref() == Some("1")]; " 只看超期" }
            button type="submit" { "筛选" }
        }
        @if list.is_empty() { p.muted { "没有符合条件的申请。" } }
        @else {
            div.table-wrap { table #applications {
                thead { tr { th { "编号" } th { "一件事" } th { "申请人" } th { "收到" } th { "状态" } th { "承诺期限" } th { "事项进度" } } }
                tbody { @for v in &list {
                    @let a = &v.application;
                    tr {
                        td { a href=(format!("/approvals/{}", v.id)) { "申请 " (v.id) } }
                        td { (a.package_name) }
                        td { (a.applicant.name) }
                        td { (format_local(a.received_at)) }
                        td { (status_badge(a.status)) @if a.status == ApplicationStatus::Received { " " span.small.muted { "告知期限 " (a.check_due) } } }
                        td { @match v.due.filter(|_| !matches!(a.status, ApplicationStatus::Withdrawn | ApplicationStatus::NotAccepted)) { Some(d) => { (d) }, None => { "—" } } @if v.overdue { " " span.badge.overdue { "超期" } } }
                        td { (a.tasks.iter().filter(|t| t.status.decided()).count()) " / " (a.tasks.len()) }
                    }
                } }
            } }
        }
    };
    page("一件事一次办", Some(&c), body).into_response()
}

// ---------------------------------------------------------------------------------------------
// A package's guide and the window's form

pub(super) async fn package_page(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path(id): Path<String>,
) -> Response {
    package_render(&state, &c, &id, &Vec::new(), None).await
}

async fn package_render(
    state: &AppState,
    c: &Caller,
    id: &str,
    typed: &Fields,
    error: Option<String>,
) -> Response {
    let id = match path_id(id, "一件事", c) {
        Ok(id) => id,
        Err(page) => return *page,
    };
    let p = match uc::package(state, id).await {
        Ok(p) => p,
        Err(e) => return error_page(e.status, "没有这个一件事", &e.message, Some(c)),
    };
    let cat = state.store.catalog();
    let kind = field(typed, "kind");
    let body = html! {
        h1 { (p.package.name) }
        p.muted { "牵头单位：" (p.lead_name) " · 承诺 " strong { (p.package.promised_days) } " 个工作日办结（逐项办理的法定时限合计 " (p.serial_statutory_days) " 个工作日）· 涉及 " (p.unit_names.join("、")) }
        @if !p.package.description.is_empty() { p { (p.package.description) } }
        @if p.package.retired { p.error role="alert" { "该一件事已停用，不再受理新申请。" } }
        h2 { "事项" }
        div.table-wrap { table #matters {
            thead { tr { th { "编码" } th { "事项" } th { "审批单位" } th { "法定时限" } th { "承诺时限" } } }
            tbody { @for m in &p.package.matters { tr {
                td { (m.spec.code) } td { (m.spec.name) } td { (unit_name(&cat, Some(m.spec.unit))) }
                td { (m.spec.statutory_days) " 个工作日" } td { (m.spec.promised_days) " 个工作日" }
            } } }
        } }
        h2 { "材料清单（每项只交一次）" }
        div.table-wrap { table #materials {
            thead { tr { th { "材料" } th { "用于" } th { "说明" } } }
            tbody { @for m in &p.package.materials { tr {
                td { (m.material.name) }
                td { (for_list(&m.for_matters, p.package.matters.len())) }
                td {
                    @if let Some(s) = &m.material.shared_from { span.badge { "共享获取，无需提交" } " " span.small.muted { (s) } }
                    @else if m.material.waivable { span.badge.due_soon { "可容缺" } }
                }
            } } }
        } }
        @if uc::is_window(c) && !p.package.retired {
            h2 #apply { "窗口受理：填写一张表单" }
            @if let Some(m) = &error { div.error role="alert" { (m) } }
            form.stack method="post" action=(format!("/approvals/packages/{}", p.id)) enctype="multipart/form-data" {
                fieldset {
                    legend { "申请人" }
                    label { input type="radio" name="kind" value="enterprise" checked[kind != "person"]; " 企业" }
                    label { input type="radio" name="kind" value="person" checked[kind == "person"]; " 个人" }
                    label for="applicant" { "申请人名称" }
                    input #applicant name="applicant" required maxlength="80" value=(field(typed, "applicant"));
                    label for="credit_code" { "统一社会信用代码（企业）" }
                    input #credit_code name="credit_code" maxlength="20" placeholder="18位，见营业执照" value=(field(typed, "credit_code"));
                    label for="contact" { "联系人" }
                    input #contact name="contact" required maxlength="30" value=(field(typed, "contact"));
                    label for="phone" { "联系电话" }
                    input #phone name="phone" required inputmode="tel" maxlength="20" value=(field(typed, "phone"));
                }
                @if !p.package.fields.is_empty() {
                    fieldset {
                        legend { "表单（多个事项共用的内容只填一次）" }
                        @for f in &p.package.fields {
                            label for=(format!("f-{}", f.field.key)) { (f.field.label) @if f.field.required { " *" } span.small.muted { "（" (for_list(&f.for_matters, p.package.matters.len())) "）" } }
                            input id=(format!("f-{}", f.field.key)) name=(format!("f-{}", f.field.key)) maxlength="500" required[f.field.required] value=(field(typed, &format!("f-{}", f.field.key)));
                        }
                    }
                }
                fieldset {
                    legend { "收到的材料（上传扫描件，或勾选已收纸质件）" }
                    @if error.is_some() { p.small.muted { "出于安全，浏览器不保留已选的文件，请重新选择。" } }
                    @for m in p.package.materials.iter().filter(|m| m.material.shared_from.is_none()) {
                        div.material {
                            label { input type="checkbox" name="handed" value=(m.material.code) checked[fields_all(typed, "handed").any(|x| x == m.material.code)]; " " (m.material.name) "（纸质）" }
                            input type="file" name=(format!("material:{}", m.material.code)) aria-label=(format!("{}的扫描件", m.material.name)) accept="image/*,.pdf,.docx,.xlsx";
                        }
                    }
                }
                p.small.muted { "提交后请在5个工作日内受理或一次性告知需要补正的全部材料，逾期自收到之日起视为受理。" }
                p { button.primary type="submit" { "提交申请" } }
            }
        }
        p { a href="/approvals" { "返回一件事一次办" } }
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    (status, page(&p.package.name, Some(c), body)).into_response()
}

pub(super) async fn package_submit(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path(id): Path<String>,
    mp: axum::extract::Multipart,
) -> Response {
    let package = match path_id(&id, "一件事", &c) {
        Ok(id) => id,
        Err(page) => return *page,
    };
    let (f, files) = match uc::read_form(mp).await {
        Ok(form) => form,
        Err(e) => return package_render(&state, &c, &id, &Vec::new(), Some(e.message)).await,
    };
    let uploads = uc::material_uploads(files);
    let kind = if field(&f, "kind") == "person" {
        ApplicantKind::Person
    } else {
        ApplicantKind::Enterprise
    };
    let p = match uc::package(&state, package).await {
        Ok(p) => p,
        Err(e) => return error_page(e.status, "没有这个一件事", &e.message, Some(&c)),
    };
    let fields = p
        .package
        .fields
        .iter()
        .map(|x| {
            (
                x.field.key.clone(),
                field(&f, &format!("f-{}", x.field.key)).to_string(),
            )
        })
        .filter(|(_, v)| !v.is_empty())
        .collect();
    // A material both ticked as paper and uploaded is the upload.
    let materials = fields_all(&f, "handed")
        .filter(|code| !uploads.iter().any(|u| u.code == *code))
        .filter_map(|code| {
            p.package
                .materials
                .iter()
                .find(|m| m.material.code == code)
                .map(|m| uc::HandedInput {
                    code: code.to_string(),
                    file: format!("{}（窗口收件）", m.material.name),
                })
        })
        .collect();
    let credit = field(&f, "credit_code");
    let req = uc::NewApplication {
        package,
        applicant: uc::ApplicantInput {
            kind,
            name: field(&f, "applicant").into(),
            credit_code: (!credit.is_empty()).then(|| credit.to_string()),
            contact: field(&f, "contact").into(),
            phone: field(&f, "phone").into(),
        },
        fields,
        materials,
    };
    match uc::submit(&state, &c, req, uploads).await {
        Ok(v) => Redirect::to(&format!(
            "/approvals/{}?ok={}",
            v.id,
            urlencode(&format!(
                "申请已提交（申请编号 {}）：请打印回执交给申请人，并于 {} 前受理或一次性告知",
                v.id, v.application.check_due
            ))
        ))
        .into_response(),
        Err(e) => package_render(&state, &c, &id, &f, Some(e.message)).await,
    }
}

// ---------------------------------------------------------------------------------------------
// An application

#[derive(Deserialize, Default)]
pub(super) struct OkOnly {
    ok: Option<String>,
}

pub(super) async fn application_page(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path(id): Path<String>,
    Query(q): Query<OkOnly>,
) -> Response {
    application_render(&state, &c, &id, q.ok.as_deref(), &Vec::new(), None).await
}

/// The name a value has in forms and the API (its serde name).
fn wire<T: serde::Serialize>(x: T) -> String {
    serde_json::to_value(x)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

async fn application_render(
    state: &AppState,
    c: &Caller,
    id: &str,
    ok: Option<&str>,
    typed: &Fields,
    error: Option<String>,
) -> Response {
    let app = match path_id(id, "申请", c) {
        Ok(id) => id,
        Err(page) => return *page,
    };
    let d = match uc::detail(state, c, app).await {
        Ok(d) => d,
        Err(e) => return error_page(e.status, "没有这件申请", &e.message, Some(c)),
    };
    let v = &d.application;
    let a = &v.application;
    let cat = state.store.catalog();
    let window = uc::is_window(c);
    let checking = matches!(
        a.status,
        ApplicationStatus::Received | ApplicationStatus::Noticed
    );
    let action = format!("/approvals/{}/act", v.id);
    let mine = |unit: UnitId| {
        c.user.role == Role::Admin
            || (matches!(c.user.role, Role::Handler | Role::UnitLeader) && c.user.unit == unit)
    };
    let typed_op = field(typed, "op");
    // The form's labels, from the package it was made under.
    let labels = uc::package(state, a.package)
        .await
        .map(|p| p.package.fields)
        .unwrap_or_default();
    let body = html! {
        h1 { (a.package_name) " · 申请 " (v.id) }
        @if let Some(m) = ok { p.flash.ok role="status" { (m) } }
        @if let Some(m) = &error { div.error role="alert" { (m) } }
        div.panel {
            dl.facts {
                dt { "申请人" } dd { (a.applicant.name) @if let Some(cc) = &a.applicant.credit_code { " " span.small.muted { (cc) } } }
                dt { "联系人" } dd { (a.applicant.contact) " " (a.applicant.phone.expose()) }
                dt { "状态" } dd { (status_badge(a.status)) @if v.overdue { " " span.badge.overdue { "超过承诺时限" } } }
                dt { "收到" } dd { (format_local(a.received_at)) }
                dt { "告知期限" } dd { (a.check_due) " 前受理或一次性告知" @if let Some(t) = a.checked_in_time() { @if !t { " " span.badge.overdue { "逾期" } } } }
                @if let (Some(at), Some(how)) = (a.accepted_at, a.accepted_how) { dt { "受理" } dd { (format_local(at)) "（" (how.label()) "）" } }
                @if let Some(due) = v.due { dt { "承诺办结" } dd { (due) "（" (a.promised_days) " 个工作日，暂停计时的工作日顺延）" } }
                @if let Some(r) = &a.closed_reason { dt { "原因" } dd { (r) } }
            }
        }
        @if !a.fields.is_empty() {
            h2 { "表单" }
            dl.facts { @for f in labels.iter().filter(|f| a.fields.contains_key(&f.field.key)) {
                dt { (f.field.label) } dd { (a.fields[&f.field.key]) }
            } }
        }
        h2 { "材料" }
        div.table-wrap { table #handed {
            thead { tr { th { "材料" } th { "情况" } } }
            tbody { @for m in &a.materials { tr {
                td { (m.material.name) }
                td {
                    @if let Some(s) = &m.material.shared_from { "共享获取（" (s) "）" }
                    @else if let Some(h) = a.handed.iter().find(|h| h.code == m.material.code) {
                        "已收 "
                        @if h.sha256.is_some() { a href=(format!("/api/v1/applications/{}/materials/{}", v.id, m.material.code)) { (h.file) } " " span.small.muted { (kb(h.size)) } }
                        @else { (h.file) }
                        " " span.small.muted { (format_local(h.at)) }
                    }
                    @else if let Some(w) = a.waivers.iter().find(|w| w.code == m.material.code) { span.badge.due_soon { "容缺" } " " (w.due) " 前补交" @if w.lapsed(bihuan_domain::time::local_date(state.clock.now())) { " " span.badge.overdue { "逾期未补交" } } }
                    @else { span.badge.overdue { "未收" } }
                }
            } } }
        } }
        @if let Some(n) = &a.notice {
            h2 { "一次性告知" }
            p.small.muted { (format_local(n.at)) " · " (n.by) }
            ul { @for m in &n.missing { li { (m.name) @if !m.note.is_empty() { "：" (m.note) } } } }
        }
        @if let Some(cm) = &a.commitment { p { strong { "容缺承诺：" } (cm) } }
        @if window && checking {
            h2 { "窗口审查" }
            div.grid2 {
                @if a.notice.is_none() {
                    form.stack method="post" action=(action) data-confirm="一次性告知只能发一次，确认已列明所有需要补正的材料？" {
                        input type="hidden" name="op" value="notice";
                        h3 { "一次性告知" }
                        @for m in a.materials.iter().filter(|m| m.material.shared_from.is_none()) {
                            label { input type="checkbox" name="missing" value=(m.material.code) checked[typed_op == "notice" && fields_all(typed, "missing").any(|x| x == m.material.code)]; " " (m.material.name) }
                        }
                        label for="note" { "说明（告知申请人如何补正）" }
                        textarea #note name="note" maxlength="300" { (if typed_op == "notice" { field(typed, "note") } else { "" }) }
                        p { button type="submit" { "一次性告知" } }
                    }
                }
                form.stack method="post" action=(action) {
                    input type="hidden" name="op" value="accept";
                    h3 { "受理" }
                    @if v.missing_codes.is_empty() { p.small { "材料齐全。" } }
                    @else {
                        p.small { "尚缺：" (a.missing().iter().map(|m| m.material.name.as_str()).collect::<Vec<_>>().join("、")) "。可容缺的材料勾选后约定补交期限：" }
                        @for m in a.missing().into_iter().filter(|m| m.material.waivable) {
                            label { input type="checkbox" name="waive" value=(m.material.code) checked[typed_op == "accept" && fields_all(typed, "waive").any(|x| x == m.material.code)]; " 容缺 " (m.material.name) }
                        }
                        label for="days" { "补交期限（工作日）" }
                        input #days name="days" type="number" min="1" max="30" value=(if typed_op == "accept" && !field(typed, "days").is_empty() { field(typed, "days") } else { "5" });
                        label for="commitment" { "申请人承诺" }
                        textarea #commitment name="commitment" maxlength="500" placeholder="如：本企业承诺于约定期限内补交所缺材料，逾期未补交的，同意撤销相关决定。" { (if typed_op == "accept" { field(typed, "commitment") } else { "" }) }
                    }
                    p { button.primary type="submit" { "受理，各事项并联审批" } }
                }
                form.stack method="post" action=(action) data-confirm="确认不予受理？申请人将被告知理由。" {
                    input type="hidden" name="op" value="not_accept";
                    h3 { "不予受理" }
                    label for="reason-na" { "理由" }
                    textarea #reason-na name="reason" maxlength="500" required { (if typed_op == "not_accept" { field(typed, "reason") } else { "" }) }
                    p { button type="submit" { "不予受理" } }
                }
            }
        }
        @if window && !a.status.is_final() && a.status != ApplicationStatus::Decided && !v.missing_codes.is_empty() {
            form.inline method="post" action=(format!("/approvals/{}/materials", v.id)) enctype="multipart/form-data" {
                label for="hand" { "补交材料" }
                select #hand name="code" { @for m in a.missing() { option value=(m.material.code) { (m.material.name) } } }
                input type="file" name="file" aria-label="补交材料的扫描件（不选则登记为纸质件）" accept="image/*,.pdf,.docx,.xlsx";
                button type="submit" { "登记补交" }
            }
        }
        h2 { "并联审批" }
        div.table-wrap { table #tasks {
            thead { tr { th { "事项" } th { "审批单位" } th { "状态" } th { "承诺期限" } th { "已用（工作日）" } th { "暂停" } th { "结果" } } }
            tbody { @for (t, clock) in a.tasks.iter().zip(&v.clocks) { tr {
                td { (t.name) }
                td { (unit_name(&cat, Some(t.unit))) }
                td { (t.status.label()) @if t.supervised { " " span.badge.overdue { "已督办" } } }
                td { @if let Some(d) = clock.due { (d) } @else { "—" } @if t.extension_days > 0 { " " span.small.muted { "（延期" (t.extension_days) "日）" } } @if clock.overdue { " " span.badge.overdue { "超期" } } }
                td { @if let Some(u) = clock.used_days { (u) } @else { "—" } }
                td { (clock.stopped_days) @for s in &t.stops { div.small.muted { (s.kind.label()) "：" (s.reason) } } }
                td { @if let Some(r) = &t.result { (r) } @if let Some(r) = &t.reason { "不予许可：" (r) } }
            } } }
        } }
        @for t in a.tasks.iter().filter(|t| mine(t.unit) && a.status == ApplicationStatus::Accepted && !t.status.decided()) {
            div.panel {
                h3 { (t.name) }
                @if t.status == TaskStatus::Stopped {
                    form.inline method="post" action=(action) {
                        input type="hidden" name="op" value="resume";
                        input type="hidden" name="matter" value=(t.matter);
                        button type="submit" { "恢复计时" }
                    }
                } @else {
                    div.grid2 {
                        form.stack method="post" action=(action) {
                            input type="hidden" name="op" value="decide";
                            input type="hidden" name="matter" value=(t.matter);
                            label { input type="radio" name="decision" value="approve" checked; " 准予许可" }
                            label { input type="radio" name="decision" value="refuse"; " 不予许可" }
                            label for=(format!("text-{}", t.matter)) { "证照名称和编号，或不予许可的理由" }
                            input id=(format!("text-{}", t.matter)) name="text" required maxlength="500" value=(if typed_op == "decide" && field(typed, "matter") == t.matter.to_string() { field(typed, "text") } else { "" });
                            p { button.primary type="submit" data-confirm="确认作出决定？决定后不能修改。" { "作出决定" } }
                        }
                        @if c.user.role == Role::UnitLeader && t.extension_days == 0 {
                            form.stack method="post" action=(action) data-confirm="延期只能一次，理由将告知申请人。确认延期？" {
                                input type="hidden" name="op" value="extend";
                                input type="hidden" name="matter" value=(t.matter);
                                label for=(format!("ext-{}", t.matter)) { "延长审批期限（负责人批准，最多10个工作日）" }
                                input id=(format!("ext-{}", t.matter)) name="days" type="number" min="1" max="10" value="5";
                                label for=(format!("extwhy-{}", t.matter)) { "延期理由" }
                                input id=(format!("extwhy-{}", t.matter)) name="reason" required maxlength="500";
                                p { button type="submit" { "延期" } }
                            }
                        }
                        form.stack method="post" action=(action) {
                            input type="hidden" name="op" value="stop";
                            input type="hidden" name="matter" value=(t.matter);
                            label for=(format!("kind-{}", t.matter)) { "暂停计时" }
                            select id=(format!("kind-{}", t.matter)) name="kind" { @for k in StopKind::ALL { option value=(wire(k)) { (k.label()) } } }
                            label for=(format!("why-{}", t.matter)) { "原因（将告知申请人）" }
                            input id=(format!("why-{}", t.matter)) name="reason" required maxlength="500";
                            p { button type="submit" { "暂停计时" } }
                        }
                    }
                }
            }
        }
        @if matches!(c.user.role, Role::Dispatcher | Role::Admin) && a.status == ApplicationStatus::Accepted && a.extension_days == 0 {
            details.panel {
                summary { "延长一件事的承诺时限（经县政府负责人批准，最多15个工作日）" }
                form.stack method="post" action=(action) data-confirm="延期只能一次，理由将告知申请人。确认延期？" {
                    input type="hidden" name="op" value="extend";
                    label for="pkg-days" { "延长（工作日）" }
                    input #pkg-days name="days" type="number" min="1" max="15" value="10";
                    label for="pkg-why" { "理由与批准情况" }
                    input #pkg-why name="reason" required maxlength="500";
                    p { button type="submit" { "延期" } }
                }
            }
        }
        @if window && a.status == ApplicationStatus::Decided {
            form method="post" action=(action) data-confirm="确认统一出证并告知申请人？" {
                input type="hidden" name="op" value="issue";
                button.primary type="submit" { "统一出证" }
            }
        }
        @if window {
            form.inline method="post" action=(format!("/approvals/{}/receipt", v.id)) target="_blank" data-confirm="打印回执将生成新的查询码，之前发给申请人的查询码随即失效。继续？" {
                button type="submit" { "打印回执（含查询码）" }
                span.small.muted { " 申请人凭申请编号和查询码在网上查询进度" }
            }
        }
        h2 { "时间线" }
        ol.timeline { @for e in &d.timeline { li { span.small.muted { (format_local(e.at)) " · " (e.by) } " " (e.what) } } }
        p { a href="/approvals" { "返回一件事一次办" } }
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    (status, page("一件事申请", Some(c), body)).into_response()
}

pub(super) async fn application_act(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path(id): Path<String>,
    Form(f): Form<Fields>,
) -> Response {
    let app = match path_id(&id, "申请", &c) {
        Ok(id) => id,
        Err(page) => return *page,
    };
    let matter = field(&f, "matter").parse::<u64>().unwrap_or(0);
    let (cmd, done) = match field(&f, "op") {
        "notice" => (
            ApplicationCommand::Notify {
                missing: fields_all(&f, "missing")
                    .map(|code| Missing {
                        code: code.to_string(),
                        name: String::new(),
                        note: field(&f, "note").to_string(),
                    })
                    .collect(),
            },
            "已一次性告知申请人",
        ),
        "accept" => {
            let days = field(&f, "days").parse::<u32>().unwrap_or(0);
            let commitment = field(&f, "commitment");
            (
                ApplicationCommand::Accept {
                    waive: fields_all(&f, "waive")
                        .map(|c| (c.to_string(), days))
                        .collect(),
                    commitment: (!commitment.is_empty()).then(|| commitment.to_string()),
                },
                "已受理，各事项开始并联审批",
            )
        }
        "not_accept" => (
            ApplicationCommand::NotAccept {
                reason: field(&f, "reason").into(),
            },
            "已不予受理",
        ),
        "stop" => {
            let Some(kind) = StopKind::ALL
                .into_iter()
                .find(|k| wire(*k) == field(&f, "kind"))
            else {
                let m = "请选择暂停计时的原因类别：补正、听证、检验检测、现场勘验或专家评审";
                return application_render(&state, &c, &id, None, &f, Some(m.into())).await;
            };
            (
                ApplicationCommand::StopClock {
                    matter,
                    kind,
                    reason: field(&f, "reason").into(),
                },
                "已暂停计时",
            )
        }
        "resume" => (ApplicationCommand::Resume { matter }, "已恢复计时"),
        "decide" => {
            let text = field(&f, "text").to_string();
            let decision = match field(&f, "decision") {
                "approve" => TaskDecision::Approve { result: text },
                "refuse" => TaskDecision::Refuse { reason: text },
                _ => {
                    let m = "请选择准予许可或不予许可";
                    return application_render(&state, &c, &id, None, &f, Some(m.into())).await;
                }
            };
            (
                ApplicationCommand::Decide { matter, decision },
                "已作出决定",
            )
        }
        "issue" => (ApplicationCommand::Issue, "已统一出证并告知申请人"),
        "extend" => (
            ApplicationCommand::Extend {
                matter: (matter > 0).then_some(matter),
                days: field(&f, "days").parse().unwrap_or(0),
                reason: field(&f, "reason").into(),
            },
            "已延期，理由已告知申请人",
        ),
        _ => {
            return application_render(
                &state,
                &c,
                &id,
                None,
                &f,
                Some("无法识别这个操作，请刷新页面后重新办理".into()),
            )
            .await
        }
    };
    match uc::act(&state, &c, app, cmd).await {
        Ok(_) => Redirect::to(&format!("/approvals/{app}?ok={}", urlencode(done))).into_response(),
        Err(e) => application_render(&state, &c, &id, None, &f, Some(e.message)).await,
    }
}

/// `POST /approvals/{id}/materials`: the window registers a missing material handed in — its
/// scan uploaded, or the paper one seen.
pub(super) async fn application_materials(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path(id): Path<String>,
    mp: axum::extract::Multipart,
) -> Response {
    let app = match path_id(&id, "申请", &c) {
        Ok(id) => id,
        Err(page) => return *page,
    };
    let (f, files) = match uc::read_form(mp).await {
        Ok(form) => form,
        Err(e) => {
            return application_render(&state, &c, &id, None, &Vec::new(), Some(e.message)).await
        }
    };
    let code = field(&f, "code").to_string();
    let uploads: Vec<uc::Upload> = files
        .into_iter()
        .filter(|(k, _, _)| k == "file")
        .map(|(_, name, data)| uc::Upload {
            code: code.clone(),
            name,
            data,
        })
        .collect();
    let items = if uploads.is_empty() {
        vec![uc::HandedInput {
            code: code.clone(),
            file: "纸质件（窗口收件）".into(),
        }]
    } else {
        Vec::new()
    };
    match uc::hand(&state, &c, app, items, uploads).await {
        Ok(_) => Redirect::to(&format!("/approvals/{app}?ok={}", urlencode("已登记补交")))
            .into_response(),
        Err(e) => application_render(&state, &c, &id, None, &f, Some(e.message)).await,
    }
}

/// A file's size in KB, for lists.
fn kb(size: Option<u64>) -> String {
    size.map(|n| format!("{:.1} KB", n as f64 / 1024.0))
        .unwrap_or_default()
}

/// `POST /approvals/{id}/receipt`: a new query code and the printable receipt with it (never
/// kept by a cache; the code is in no address).
pub(super) async fn receipt_submit(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path(id): Path<String>,
) -> Response {
    let app = match path_id(&id, "申请", &c) {
        Ok(id) => id,
        Err(page) => return *page,
    };
    let v = match uc::new_query_code(&state, &c, app).await {
        Ok(v) => v,
        Err(e) => {
            return application_render(&state, &c, &id, None, &Vec::new(), Some(e.message)).await
        }
    };
    let a = &v.application;
    let body = html! {
        h1 { "一件事申请回执" }
        div.panel {
            dl.facts {
                dt { "一件事" } dd { (a.package_name) }
                dt { "申请编号" } dd { strong { (v.id) } }
                dt { "查询码" } dd { strong #query-code { (v.query_code.as_deref().unwrap_or("")) } }
                dt { "申请人" } dd { (a.applicant.name) }
                dt { "收到" } dd { (format_local(a.received_at)) }
                dt { "已收材料" } dd { (a.handed.len()) " 项" }
                dt { "告知期限" } dd { (a.check_due) " 前受理，或一次性告知需要补正的全部材料；逾期未告知的，自收到申请材料之日起即为受理。" }
                dt { "承诺时限" } dd { "受理后 " (a.promised_days) " 个工作日内办结（补正、听证、检验检测、专家评审等时间不计入，届时另行告知）" }
            }
        }
        p { "凭申请编号和查询码，可在 " code { "/portal/approvals" } " 查询办理进度。请妥善保管查询码，不要告诉他人。" }
        p.no-print { button type="button" data-print="1" { "打印" } " " a href=(format!("/approvals/{}", v.id)) { "返回申请" } }
    };
    let mut r = page("申请回执", Some(&c), body).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, "no-store".parse().expect("header"));
    r
}
