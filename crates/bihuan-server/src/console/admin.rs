//! `/admin`: users, units, categories, policies, rates, the dispatch catalogue, models, calendar.

use super::*;

// ---------------------------------------------------------------------------------------------
// Admin

/// The refusal a non-administrator gets on an admin page.
pub(super) fn admin_only(c: &Caller) -> Option<Response> {
    (c.user.role != Role::Admin).then(|| {
        error_page(
            StatusCode::FORBIDDEN,
            "无权访问",
            "系统管理仅限管理员",
            Some(c),
        )
    })
}

pub(super) async fn admin_page(State(state): State<AppState>, PageUser(c): PageUser) -> Response {
    admin_render(&state, &c, None, None).await
}

pub(super) async fn admin_render(
    state: &AppState,
    c: &Caller,
    flash: Option<&str>,
    error: Option<&str>,
) -> Response {
    if let Some(refused) = admin_only(c) {
        return refused;
    }
    let cat = state.store.catalog();
    let users = state.store.users().await.unwrap_or_default();
    let clients = crate::open311::clients(state, c).await.unwrap_or_default();
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    (status, page("系统管理", Some(c), html! {
        h1 { "系统管理" }
        @if let Some(f) = flash { div.flash { (f) } }
        @if let Some(e) = error { div.error { (e) } }
        h2 { "用户 (" (users.len()) ")" }
        div.table-wrap { table {
            thead { tr { th { "ID" } th { "登录名" } th { "姓名" } th { "角色" } th { "单位" } th { "状态" } } }
            tbody { @for u in &users { tr { td { (u.id.0) } td { (u.login) } td { (u.name) } td { (u.role.label()) } td { (unit_name(&cat, Some(u.unit))) } td { (if u.active { "正常" } else { "停用" }) } } } }
        } }
        details.panel {
            summary { "新增用户" }
            form.stack method="post" action="/admin/users" {
                div.row {
                    div { label { "登录名" } input type="text" name="login" required; }
                    div { label { "姓名" } input type="text" name="name" required; }
                }
                div.row {
                    div { label { "角色" } select name="role" { @for r in Role::ALL.iter().filter(|r| **r != Role::System) { option value=(serde_json::to_value(r).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()) { (r.label()) } } } }
                    div { label { "单位" } select name="unit" { @for u in cat.org.units() { option value=(u.id.0) { (cat.org.path_name(u.id).unwrap_or_default()) } } } }
                }
                label { "初始密码（至少8位，含字母和数字）" } input type="password" name="password" required;
                p { button.primary type="submit" { "新增" } }
            }
        }
        h2 { "单位 (" (cat.org.units().count()) ")" }
        details.panel {
            summary { "展开单位树" }
            ul { @for u in cat.org.units().filter(|u| matches!(u.kind, UnitKind::Department | UnitKind::Township)) {
                li { (u.name) " " span.muted.small { (u.kind.label()) @if !u.aliases.is_empty() { " · 别名：" (u.aliases.join("、")) } }
                    @let kids: Vec<_> = cat.org.children(u.id).collect();
                    @if !kids.is_empty() { ul { @for v in kids { li { (v.name) " " span.muted.small { (v.kind.label()) " · " (cat.org.children(v.id).count()) " 个网格" } } } } }
                }
            } }
        }
        details.panel {
            summary { "新增或修改单位" }
            form.stack method="post" action="/admin/units" {
                div.row {
                    div { label { "单位（选择已有单位即修改；留空为新增）" } select name="id" { option value="" { "新增单位" } @for u in cat.org.units() { option value=(u.id.0) { (cat.org.path_name(u.id).unwrap_or_default()) } } } }
                    div { label { "名称" } input type="text" name="name" required; }
                }
                div.row {
                    div { label { "类型" } select name="kind" { @for k in [UnitKind::Department, UnitKind::Township, UnitKind::Village, UnitKind::Grid, UnitKind::County] { option value=(kind_code(k)) { (k.label()) } } } }
                    div { label { "上级" } select name="parent" { option value="" { "无（县本级）" } @for u in cat.org.units().filter(|u| !matches!(u.kind, UnitKind::Grid | UnitKind::Department)) { option value=(u.id.0) { (cat.org.path_name(u.id).unwrap_or_default()) } } } }
                }
                label { "别名（用顿号或逗号分隔，用于地址匹配）" } input type="text" name="aliases";
                p { button.primary type="submit" { "保存单位" } }
            }
        }
        h2 { "分类 (" (cat.categories.iter().count()) ")" }
        details.panel {
            summary { "新增分类" }
            form.stack method="post" action="/admin/categories" {
                div.row {
                    div { label { "名称" } input type="text" name="name" required; }
                    div { label { "上级分类（最多三级）" } select name="parent" { option value="" { "无（一级分类）" } @for x in cat.categories.iter().filter(|x| cat.categories.level(x.id).unwrap_or(3) < 3) { option value=(x.id.0) { (cat.categories.path_name(x.id).unwrap_or_default()) } } } }
                }
                p { button.primary type="submit" { "新增分类" } }
            }
        }
        details.panel { summary { "展开分类树" } ul { @for x in cat.categories.iter().filter(|x| x.parent.is_none()) {
            li { (x.name) ul { @for y in cat.categories.iter().filter(|y| y.parent == Some(x.id)) { li { (y.name) ":" (cat.categories.iter().filter(|z| z.parent == Some(y.id)).map(|z| z.name.clone()).collect::<Vec<_>>().join("、")) } } } }
        } } }
        h2 { "派单目录 (" (cat.rules.len()) ")" }
        p.small.muted { "智能派单按派单目录、地点和历史办理模型给出建议；把握达到 " (format!("{:.0}%", state.smart.direct_confidence * 100.0)) " 的可一键直派。" }
        div.table-wrap { table {
            thead { tr { th { "编号" } th { "分类" } th { "关键词" } th { "主办单位" } th { "备注" } th {} } }
            tbody { @for r in &cat.rules { tr {
                td { (r.id) }
                td { (r.category.and_then(|x| cat.categories.path_name(x)).unwrap_or_else(|| "—".into())) }
                td { (if r.keywords.is_empty() { "—".to_string() } else { r.keywords.join("、") }) }
                td { (unit_name(&cat, Some(r.unit))) }
                td { (r.note) }
                td { form method="post" action="/admin/dispatch-rules" data-confirm=(format!("确认删除派单目录第 {} 条？", r.id)) {
                    input type="hidden" name="delete" value=(r.id);
                    button type="submit" { "删除" }
                } }
            } } }
        } }
        details.panel {
            summary { "新增派单目录规则" }
            form.stack method="post" action="/admin/dispatch-rules" {
                div.row {
                    div { label { "分类（含下级）" } select name="category" { option value="" { "不限分类" } @for x in cat.categories.iter() { option value=(x.id.0) { (cat.categories.path_name(x.id).unwrap_or_default()) } } } }
                    div { label { "主办单位" } select name="unit" required { @for u in cat.org.units().filter(|u| u.kind.can_handle()) { option value=(u.id.0) { (cat.org.path_name(u.id).unwrap_or_default()) } } } }
                }
                label { "关键词（用逗号或空格分隔；与分类同时填写时须同时满足）" } input type="text" name="keywords" maxlength="500";
                label { "备注" } input type="text" name="note" maxlength="200";
                p { button.primary type="submit" { "新增规则" } }
            }
        }
        h2 { "派单模型" }
        @let models = state.store.models().await.unwrap_or_default();
        @if models.is_empty() { p.muted { "尚未训练（已办结诉求不足，或服务器刚启动）。" } }
        @else {
            div.table-wrap { table {
                thead { tr { th { "版本" } th { "用途" } th { "训练时间" } th { "训练量" } th { "类别数" } th { "留出集准确率" } } }
                tbody { @for m in models.iter().take(6) { tr {
                    td { "v" (m.version) }
                    td { (if m.kind == "unit" { "主办单位" } else { "分类" }) }
                    td { (format_local(m.created_at)) }
                    td { (m.meta["texts"]) }
                    td { (m.meta["classes"]) }
                    td { (m.meta["holdout_accuracy"].as_f64().map(|a| format!("{:.1}%", a * 100.0)).unwrap_or_else(|| "—".into())) }
                } } }
            } }
        }
        @let now = state.clock.now();
        @let acc = crate::smart::accuracy_of(&state.store.suggestion_outcomes(now - chrono::Duration::days(30), now + chrono::Duration::seconds(1)).await.unwrap_or_default(), state.smart.direct_confidence);
        h3 { "近30天建议准确率" }
        @if acc.is_empty() { p.muted { "近30天没有记录到建议（登记和派单时的建议会自动记录）。" } }
        @else {
            @let pct = |a: u64, b: u64| if b == 0 { "—".to_string() } else { format!("{:.1}%", a as f64 * 100.0 / b as f64) };
            div.table-wrap { table {
                thead { tr { th { "环节" } th { "建议数" } th { "已确定主办" } th { "首选命中" } th { "前三命中" } th { "可直派" } th { "直派命中" } th { "分类命中" } } }
                tbody { @for a in &acc { tr {
                    td { (if a.stage == "intake" { "登记" } else { "派单" }) }
                    td { (a.suggested) }
                    td { (a.judged) }
                    td { (pct(a.unit_top1, a.judged)) }
                    td { (pct(a.unit_top3, a.judged)) }
                    td { (a.direct) }
                    td { (pct(a.direct_right, a.direct)) }
                    td { (pct(a.category_top1, a.category_judged)) }
                } } }
            } }
        }
        form method="post" action="/admin/train" data-confirm="用最新的已办结诉求重新训练派单模型？训练期间建议照常可用，约需数秒至一分钟。" {
            button type="submit" { "立即重新训练" }
        }
        h2 { "期限规则" }
        div.table-wrap { table {
            thead { tr { th { "适用" } th { "交办" } th { "签收" } th { "首次联系" } th { "答复" } th { "最长延期" } th { "退单时限" } th { "吹哨报到" } th { "协办意见" } th { "重办答复" } th { "临期" } } }
            tbody { @for p in cat.policies.rows() { tr {
                td { (p.regime.label()) @if let Some(k) = p.kind { " · " (k.label()) } @if let Some(u) = p.urgency { " · " (u.label()) } }
                td { (p.dispatch) } td { (p.sign) } td { (p.first_contact) } td { (p.reply) @if p.reply_from == bihuan_domain::policy::ReplyClock::Sign { "（自签收）" } }
                td { (p.max_extension) } td { (p.return_window) } td { (p.report_in) } td { (p.assist) } td { (p.redo_reply) } td { (p.due_soon_percent) "%" }
            } } }
        } }
        details.panel {
            summary { "修改期限规则" }
            p.small.muted { "修改只影响此后登记的工单；在办工单沿用登记时的规则。每条规则的期限写作 {\"working_days\": N}（工作日）、{\"calendar_days\": N}（日）或 {\"hours\": N}（小时）。" }
            form.stack method="post" action="/admin/policies" data-confirm="确认保存新的期限规则？" {
                textarea.code name="json" { (serde_json::to_string_pretty(cat.policies.rows()).unwrap_or_default()) }
                p { button.primary type="submit" { "保存期限规则" } }
            }
        }
        h2 { "五率录入" }
        details.panel {
            summary { "录入政策知晓率、行政审批效率、公众安全感满意率、干部好评率" }
            p.small.muted { "这四项来自调查和审批模块，按期录入并注明来源；驾驶舱如实显示，不做计算。诉求办理闭环率由平台计算。" }
            form.stack method="post" action="/admin/rates" {
                div.row {
                    div { label { "期间" } select name="period" { @for (spec, label) in rate_periods(state.clock.now()) { option value=(spec) { (label) } } } }
                    div { label { "指标" } select name="name" { @for n in bihuan_store::RateName::ALL { option value=(n.code()) { (n.label()) } } } }
                    div { label { "数值（%）" } input type="number" name="percent" step="0.01" min="0" max="100" required; }
                }
                label { "数据来源" } input type="text" name="source" required placeholder="如：第三方AI测评，完成1232个完整测评电话";
                p { button.primary type="submit" { "录入" } }
            }
        }
        h2 { "开放接口（Open311）应用" }
        p.small.muted { "城市通、小程序等应用经 Open311 GeoReport v2（/open311/v2/discovery.json）提交诉求和查询进度，须使用这里登记的 api_key。密钥只在登记时显示一次，系统只保存摘要。" }
        @if clients.is_empty() { p.muted { "尚未登记应用。" } } @else {
            div.table-wrap { table {
                thead { tr { th { "应用" } th { "运维联系人" } th { "渠道" } th { "密钥尾号" } th { "登记" } th { "状态" } th {} } }
                tbody { @for k in &clients { tr {
                    td { (k.name) } td { (k.contact) } td { (k.channel.label()) } td.code { "…" (k.key_hint) }
                    td { (format_local(k.registered_at)) "（" (k.registered_by) "）" }
                    td { @if k.active { "使用中" } @else { "已停用：" (k.revoked_reason.clone().unwrap_or_default()) } }
                    td { @if k.active {
                        form.inline method="post" action=(format!("/admin/open311/{}/revoke", k.id)) data-confirm=(format!("确认停用「{}」的密钥？停用后该应用提交的请求一律拒绝，且不能恢复。", k.name)) {
                            input type="text" name="reason" required placeholder="停用原因";
                            button.danger type="submit" { "停用" }
                        }
                    } }
                } } }
            } }
        }
        details.panel {
            summary { "登记应用并发放密钥" }
            form.stack method="post" action="/admin/open311" {
                div.row {
                    div { label { "应用名称" } input type="text" name="name" required maxlength="60"; }
                    div { label { "渠道" } select name="channel" { option value="app" { "移动端" } option value="web" { "网站" } } }
                }
                label { "运维单位和联系方式" } input type="text" name="contact" required maxlength="200";
                p { button.primary type="submit" { "登记并生成密钥" } }
            }
        }
        h2 { "节假日年份" }
        p { @for y in cat.calendar.loaded_years() { span.badge { (y) } " " } }
        details.panel {
            summary { "导入新一年的节假日安排" }
            form.stack method="post" action="/admin/calendar" {
                label { "国务院办公厅通知整理成的 JSON(holiday-cn 格式）" }
                textarea name="json" required placeholder=r#"{"year": 2027, "papers": [...], "days": [{"name": "元旦", "date": "2027-01-01", "isOffDay": true}, ...]}"# {}
                p { button.primary type="submit" { "导入" } }
            }
        }
    })).into_response()
}

pub(super) async fn admin_create_user(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Form(f): Form<Fields>,
) -> Response {
    if let Some(refused) = admin_only(&c) {
        return refused;
    }
    let role: Option<Role> = serde_json::from_value(json!(field(&f, "role"))).ok();
    let (Some(role), Ok(unit)) = (role, field(&f, "unit").parse::<u32>()) else {
        return admin_render(&state, &c, None, Some("请选择角色和单位")).await;
    };
    match crate::admin::add_user(
        &state,
        field(&f, "login"),
        field(&f, "name"),
        role,
        UnitId(unit),
        field(&f, "password"),
    )
    .await
    {
        Ok(u) => admin_render(&state, &c, Some(&format!("已新增用户 {}", u.login)), None).await,
        Err(e) => admin_render(&state, &c, None, Some(&e.message)).await,
    }
}

pub(super) fn rate_periods(now: Instant) -> Vec<(String, String)> {
    use chrono::Datelike;
    let d = bihuan_domain::time::local_date(now);
    let mut v = Vec::new();
    for back in 0..6 {
        if let Some(m) = d.checked_sub_months(chrono::Months::new(back)) {
            v.push((
                format!("month:{}-{:02}", m.year(), m.month()),
                format!("{}年{}月", m.year(), m.month()),
            ));
        }
    }
    let q = (d.month() - 1) / 3 + 1;
    v.push((
        format!("quarter:{}-{q}", d.year()),
        format!("{}年第{q}季度", d.year()),
    ));
    v.push((
        format!("half:{}-{}", d.year(), if d.month() <= 6 { 1 } else { 2 }),
        format!(
            "{}年{}半年",
            d.year(),
            if d.month() <= 6 { "上" } else { "下" }
        ),
    ));
    v.push((format!("year:{}", d.year()), format!("{}年", d.year())));
    v
}

pub(super) async fn admin_enter_rate(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Form(f): Form<Fields>,
) -> Response {
    let Ok(percent) = field(&f, "percent").parse::<f64>() else {
        return admin_render(&state, &c, None, Some("请填写数值（百分数，如 99.59）")).await;
    };
    let body = crate::report::RateBody {
        period: field(&f, "period").into(),
        name: field(&f, "name").into(),
        value: percent / 100.0,
        source: field(&f, "source").into(),
    };
    match crate::report::enter_rate(&state, &c, body).await {
        Ok(r) => {
            admin_render(
                &state,
                &c,
                Some(&format!(
                    "已录入 {} {}:{:.2}%",
                    r.period,
                    r.name.label(),
                    r.value * 100.0
                )),
                None,
            )
            .await
        }
        Err(e) => admin_render(&state, &c, None, Some(&e.message)).await,
    }
}

pub(super) fn kind_code(k: UnitKind) -> String {
    serde_json::to_value(k)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

pub(super) async fn admin_put_unit(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Form(f): Form<Fields>,
) -> Response {
    if let Some(refused) = admin_only(&c) {
        return refused;
    }
    let cat = state.store.catalog();
    let id = match field(&f, "id").parse::<u32>() {
        Ok(id) => id,
        Err(_) => cat.org.units().map(|u| u.id.0).max().unwrap_or(0) + 1,
    };
    let Ok(kind) = serde_json::from_value::<UnitKind>(json!(field(&f, "kind"))) else {
        return admin_render(&state, &c, None, Some("请选择单位类型")).await;
    };
    let name = field(&f, "name").to_string();
    if name.is_empty() || name.chars().count() > 100 {
        return admin_render(&state, &c, None, Some("单位名称须为1到100个字")).await;
    }
    let aliases: Vec<String> = field(&f, "aliases")
        .split(['、', ',', ','])
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty())
        .collect();
    let unit = bihuan_domain::org::Unit {
        id: UnitId(id),
        name: name.clone(),
        kind,
        parent: field(&f, "parent").parse().ok().map(UnitId),
        aliases,
    };
    match state.store.put_units(vec![unit]).await {
        Ok(()) => admin_render(&state, &c, Some(&format!("已保存单位「{name}」")), None).await,
        Err(e) => admin_render(&state, &c, None, Some(&ApiError::from(e).message)).await,
    }
}

pub(super) async fn admin_put_category(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Form(f): Form<Fields>,
) -> Response {
    if let Some(refused) = admin_only(&c) {
        return refused;
    }
    let cat = state.store.catalog();
    let name = field(&f, "name").to_string();
    if name.is_empty() || name.chars().count() > 50 {
        return admin_render(&state, &c, None, Some("分类名称须为1到50个字")).await;
    }
    let id = cat.categories.iter().map(|x| x.id.0).max().unwrap_or(0) + 1;
    let parent = field(&f, "parent")
        .parse()
        .ok()
        .map(bihuan_domain::category::CategoryId);
    let item = bihuan_domain::category::Category {
        id: bihuan_domain::category::CategoryId(id),
        name: name.clone(),
        parent,
    };
    match state.store.put_categories(vec![item]).await {
        Ok(()) => admin_render(&state, &c, Some(&format!("已新增分类「{name}」")), None).await,
        Err(e) => admin_render(&state, &c, None, Some(&ApiError::from(e).message)).await,
    }
}

/// Adds a catalogue rule, or deletes one (`delete=ID`).
pub(super) async fn admin_dispatch_rules(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Form(f): Form<Fields>,
) -> Response {
    if let Some(refused) = admin_only(&c) {
        return refused;
    }
    let cat = state.store.catalog();
    let mut rules = cat.rules.clone();
    let flash;
    if let Ok(id) = field(&f, "delete").parse::<u32>() {
        let before = rules.len();
        rules.retain(|r| r.id != id);
        if rules.len() == before {
            return admin_render(&state, &c, None, Some("没有这条规则，可能已被删除")).await;
        }
        flash = format!("已删除派单目录第 {id} 条");
    } else {
        let keywords: Vec<String> = field(&f, "keywords")
            .split(|ch: char| ch == ',' || ch == '，' || ch == '、' || ch.is_whitespace())
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(str::to_string)
            .collect();
        let rule = bihuan_domain::catalogue::Rule {
            id: rules.iter().map(|r| r.id).max().unwrap_or(0) + 1,
            unit: match field(&f, "unit").parse() {
                Ok(u) => UnitId(u),
                Err(_) => return admin_render(&state, &c, None, Some("请选择主办单位")).await,
            },
            category: field(&f, "category")
                .parse()
                .ok()
                .map(bihuan_domain::category::CategoryId),
            keywords,
            note: field(&f, "note").trim().to_string(),
        };
        if let Err(m) = rule.validate(&cat.org, &cat.categories) {
            return admin_render(&state, &c, None, Some(&m)).await;
        }
        flash = format!("已新增派单目录第 {} 条", rule.id);
        rules.push(rule);
    }
    if let Err(e) = state.store.put_dispatch_rules(rules).await {
        return admin_render(&state, &c, None, Some(&ApiError::from(e).message)).await;
    }
    let _ = state.smart.refresh(&state.store).await;
    admin_render(&state, &c, Some(&flash), None).await
}

pub(super) async fn admin_train(State(state): State<AppState>, PageUser(c): PageUser) -> Response {
    if let Some(refused) = admin_only(&c) {
        return refused;
    }
    match crate::smart::train(&state.store, state.clock.now()).await {
        Ok(r) => {
            let _ = state.smart.refresh(&state.store).await;
            admin_render(&state, &c, Some(&r.describe()), None).await
        }
        Err(e) => {
            tracing::error!(error = %e, "training from the console failed");
            admin_render(&state, &c, None, Some("训练失败，请查看服务器日志后重试")).await
        }
    }
}

pub(super) async fn admin_put_policies(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Form(f): Form<Fields>,
) -> Response {
    if let Some(refused) = admin_only(&c) {
        return refused;
    }
    let rows: Vec<bihuan_domain::DeadlinePolicy> = match serde_json::from_str(field(&f, "json")) {
        Ok(r) => r,
        Err(e) => {
            return admin_render(
                &state,
                &c,
                None,
                Some(&format!(
                    "期限规则格式有误（第 {} 行第 {} 列）:{e}",
                    e.line(),
                    e.column()
                )),
            )
            .await
        }
    };
    let table = match bihuan_domain::PolicyTable::new(rows) {
        Ok(t) => t,
        Err(e) => {
            return admin_render(
                &state,
                &c,
                None,
                Some(&format!("期限规则无效：{}", e.message_zh())),
            )
            .await
        }
    };
    match state.store.put_policies(table).await {
        Ok(()) => {
            admin_render(
                &state,
                &c,
                Some("已保存期限规则，将用于此后登记的工单"),
                None,
            )
            .await
        }
        Err(e) => admin_render(&state, &c, None, Some(&ApiError::from(e).message)).await,
    }
}

pub(super) async fn admin_load_calendar(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Form(f): Form<Fields>,
) -> Response {
    if let Some(refused) = admin_only(&c) {
        return refused;
    }
    match crate::app::load_calendar_year(&state, &c, field(&f, "json").to_string()).await {
        Ok((n, moved)) => {
            admin_render(
                &state,
                &c,
                Some(&format!(
                    "已导入 {} 年（共 {} 个调整日）；按通知重算了 {} 件在办工单的 {} 个预计期限",
                    n.year,
                    n.days.len(),
                    moved.appeals,
                    moved.deadlines
                )),
                None,
            )
            .await
        }
        Err(e) => admin_render(&state, &c, None, Some(&e.message)).await,
    }
}

pub(super) async fn admin_open311_register(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Form(f): Form<Fields>,
) -> Response {
    if let Some(refused) = admin_only(&c) {
        return refused;
    }
    let req = crate::open311::NewClient {
        name: field(&f, "name").to_string(),
        contact: field(&f, "contact").to_string(),
        channel: Some(field(&f, "channel").to_string()),
    };
    match crate::open311::register_client(&state, &c, req).await {
        Ok(r) => {
            let flash = format!(
                "已登记应用「{}」。api_key：{}（只显示这一次，请立即复制并交给应用的运维单位）",
                r.client.name, r.api_key
            );
            admin_render(&state, &c, Some(&flash), None).await
        }
        Err(e) => admin_render(&state, &c, None, Some(&e.message)).await,
    }
}

pub(super) async fn admin_open311_revoke(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path(id): Path<u64>,
    Form(f): Form<Fields>,
) -> Response {
    if let Some(refused) = admin_only(&c) {
        return refused;
    }
    let req = crate::open311::RevokeClient {
        reason: field(&f, "reason").to_string(),
    };
    match crate::open311::revoke_client(&state, &c, id, req).await {
        Ok(k) => {
            admin_render(
                &state,
                &c,
                Some(&format!("已停用「{}」的密钥", k.name)),
                None,
            )
            .await
        }
        Err(e) => admin_render(&state, &c, None, Some(&e.message)).await,
    }
}
