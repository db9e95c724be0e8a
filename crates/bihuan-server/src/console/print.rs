//! Printable work orders (工单): `/appeals/{key}/print` for one, `/appeals/print?…` for the
//! appeals a list's filters select (at most 100). One A4 page for a typical appeal: number,
//! citizen (masked unless this reader may see personal data), content, place, units, deadlines,
//! the steps so far, the reply, and room for signatures and the unit's seal.

use super::*;

/// Most work orders printed at once.
const MAX_PRINT: u32 = 100;

fn print_frame(title: &str, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                link rel="stylesheet" href="/assets/print.css";
                script src="/assets/app.js" defer {}
            }
            body.print {
                div.no-print.toolbar {
                    button type="button" data-print="1" { "打印" }
                    " " span.small { "用 A4 纸纵向打印；浏览器的打印对话框里可另存为 PDF。" }
                }
                (body)
            }
        }
    };
    Html(markup.into_string()).into_response()
}

fn row(label: &str, value: Markup) -> Markup {
    html! { tr { th { (label) } td colspan="3" { (value) } } }
}

/// One work order.
pub(super) fn work_order(
    a: &Appeal,
    history: &[bihuan_domain::EventRecord],
    cat: &Catalog,
    now: Instant,
    full: bool,
) -> Markup {
    let d = &a.deadlines;
    let units = |list: &[UnitId]| {
        list.iter()
            .map(|u| unit_name(cat, Some(*u)))
            .collect::<Vec<_>>()
            .join("、")
    };
    let t = |x: Option<Instant>| x.map(format_local).unwrap_or_else(|| "—".into());
    // A deadline, with 预计 when its year's notice is not loaded.
    let due = |x: Option<Instant>| {
        x.map(|due| {
            if cat.calendar.is_provisional_at(due) {
                format!("{}（预计）", format_local(due))
            } else {
                format_local(due)
            }
        })
        .unwrap_or_else(|| "—".into())
    };
    // The steps, one line each; the long texts are in their own rows above.
    let steps: Vec<(String, &str, String)> = history
        .iter()
        .filter(|r| !matches!(r.event, bihuan_domain::Event::Commented { .. }))
        .map(|r| {
            (
                format_local(r.at),
                r.event.label(),
                format!("{} {}", unit_name(cat, Some(r.actor.unit)), r.actor.name),
            )
        })
        .collect();
    html! {
        section.workorder {
            header {
                h1 { (cat.org.units().find(|u| u.kind == UnitKind::County).map(|u| u.name.clone()).unwrap_or_default()) " 12345 政务服务便民热线工单" }
                p.meta { "工单编号 " strong { (a.number) } " · 状态 " (a.status.label()) " · 打印于 " (format_local(now)) @if !full { " · 个人信息已脱敏" } }
            }
            table.sheet {
                tr { th { "登记时间" } td { (format_local(a.registered_at)) } th { "来源渠道" } td { (a.channel.label()) } }
                tr { th { "诉求类型" } td { (a.kind.label()) " · " (a.regime.label()) } th { "紧急程度" } td { (a.urgency.label()) } }
                tr { th { "诉求人" } td { (a.citizen.name.clone().unwrap_or_else(|| "—".into())) @if let Some(o) = &a.citizen.organisation { "（" (o) "）" } } th { "联系电话" } td { (a.citizen.phone.as_ref().map(|p| p.expose().to_string()).unwrap_or_else(|| "—".into())) } }
                (row("分类", html! { (a.category.and_then(|x| cat.categories.path_name(x)).unwrap_or_else(|| "—".into())) }))
                (row("地点", html! { (unit_name(cat, a.place.township)) " " (a.place.address) }))
                (row("标题", html! { strong { (a.title) } }))
                tr.tall { th { "诉求内容" } td colspan="3" .content { (a.content) } }
                tr { th { "主办单位" } td { (unit_name(cat, a.lead)) } th { "协办单位" } td { @if a.assisting.is_empty() { "—" } @else { (units(&a.assisting)) } } }
                tr { th { "首席服务官" } td { (a.owner.as_ref().map(|o| o.name.clone()).unwrap_or_else(|| "—".into())) } th { "交办时间" } td { (t(a.dispatched_at)) } }
                tr { th { "签收期限" } td { (due(d.sign)) } th { "答复期限" } td { (due(d.reply)) @if a.extensions_granted > 0 { "（已延期）" } } }
                @if let Some(c) = &a.commitment { (row("双向承诺", html! { (c.what) "（" (c.by) " 前）" })) }
                @for w in &a.whistles {
                    (row(&format!("吹哨（第{}次）", w.no), html! { (w.matter) "；报到单位：" (units(&w.targets.iter().map(|x| x.unit).collect::<Vec<_>>())) }))
                }
                @for o in a.current_assists().filter(|o| o.opinion.is_some()) {
                    (row("协办意见", html! { (unit_name(cat, Some(o.unit))) "：" (o.opinion.clone().unwrap_or_default()) }))
                }
                tr.tall { th { "答复" } td colspan="3" .content { @if let Some(r) = &a.reply { (r.result.label()) "：" (r.text) @if let Some(reason) = &r.reason { "（" (reason) "）" } } @else { "" } } }
                (row("回访", html! { @if let Some(v) = &a.visit { (if v.contacted { "已联系上" } else { "未联系上" }) @if let Some(r) = v.rating { "，" (r.label()) } @if !v.comment.is_empty() { "；" (v.comment) } } @else { "—" } }))
            }
            h2 { "办理过程" }
            table.steps {
                @for (at, label, who) in &steps { tr { td.when { (at) } td.what { (label) } td { (who) } } }
            }
            div.signatures {
                div { "承办人签字：" span.line {} }
                div { "单位负责人签字：" span.line {} }
                div { "日期：" span.line {} }
                div.seal { "（单位盖章）" }
            }
        }
    }
}

pub(super) async fn print_one(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path(key): Path<String>,
) -> Response {
    let a = match visible_appeal(&state, &c, &key, "打印").await {
        Ok(a) => a,
        Err(page) => return page,
    };
    let history = state.store.history(a.id).await.unwrap_or_default();
    let disclosure = crate::views::Disclosure::for_caller(&c, &a, false);
    let full = disclosure.is_full();
    if full {
        crate::audit::viewed_personal(&state, &c, &a.number.to_string(), "console print").await;
    }
    let (a, history) = (disclosure.appeal(&a), disclosure.records(history));
    let cat = state.store.catalog();
    print_frame(
        &format!("工单 {}", a.number),
        work_order(&a, &history, &cat, state.clock.now(), full),
    )
}

pub(super) async fn print_many(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Query(q): Query<ListQuery>,
) -> Response {
    let now = state.clock.now();
    let mut filter = match filter_from_query(&q, &c, now) {
        Ok(f) => f,
        Err(e) => return error_page(e.status, "查询条件有误", &e.message, Some(&c)),
    };
    if let Err(e) = crate::appeals::apply_search(&state, &c, &q, &mut filter).await {
        return error_page(e.status, "搜索失败", &e.message, Some(&c));
    }
    let page_ = match state.store.list(filter, None, MAX_PRINT).await {
        Ok(p) => p,
        Err(e) => {
            let e = ApiError::from(e);
            return error_page(e.status, "读取失败", &e.message, Some(&c));
        }
    };
    let cat = state.store.catalog();
    let mut orders = Vec::new();
    for a in &page_.items {
        let history = state.store.history(a.id).await.unwrap_or_default();
        // In bulk, personal data stays masked for everyone: open one to print it in full.
        let d = crate::views::Disclosure::Masked;
        orders.push(work_order(
            &d.appeal(a),
            &d.records(history),
            &cat,
            now,
            false,
        ));
    }
    let more = page_.next_cursor.is_some();
    print_frame(
        &format!("工单批量打印（{} 件）", orders.len()),
        html! {
            div.no-print.toolbar { "共 " (orders.len()) " 件" @if more { "（只打印前 " (MAX_PRINT) " 件，请缩小筛选范围）" } "；批量打印时个人信息一律脱敏。" }
            @for o in orders { (o) }
            @if page_.items.is_empty() { p { "没有符合条件的工单。" } }
        },
    )
}

/// `/appeals/{key}/documents/{version}`: one of a petition's notices (受理告知书, 延期告知书,
/// 信访处理意见书), built from the step that issued it.
pub(super) async fn print_document(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path((key, version)): Path<(String, String)>,
) -> Response {
    let a = match visible_appeal(&state, &c, &key, "打印").await {
        Ok(a) => a,
        Err(page) => return page,
    };
    let Some(doc) = version
        .parse::<u64>()
        .ok()
        .and_then(|v| a.documents.iter().find(|d| d.version == v).cloned())
    else {
        return error_page(
            StatusCode::NOT_FOUND,
            "没有这份文书",
            "这件信访事项没有这份文书；请从工单详情的「信访文书」中打开。",
            Some(&c),
        );
    };
    let history = state.store.history(a.id).await.unwrap_or_default();
    let Some(record) = history.iter().find(|r| r.version == doc.version) else {
        return error_page(
            StatusCode::NOT_FOUND,
            "没有这份文书",
            "出具这份文书的办理步骤未找到。",
            Some(&c),
        );
    };
    let disclosure = crate::views::Disclosure::for_caller(&c, &a, false);
    if disclosure.is_full() {
        crate::audit::viewed_personal(&state, &c, &a.number.to_string(), "console document").await;
    }
    let shown = disclosure.appeal(&a);
    let petitioner = shown
        .citizen
        .name
        .clone()
        .or_else(|| shown.citizen.organisation.clone())
        .unwrap_or_else(|| "（未留姓名）".into());
    let cat = state.store.catalog();
    let unit = unit_name(&cat, record.actor.unit.into());
    let t = bihuan_domain::documents::text(
        &shown,
        &doc,
        &record.event,
        &petitioner,
        &unit,
        &cat.calendar,
    );
    print_frame(
        &format!("{} {}", t.title, t.number),
        html! {
            article.document {
                h1 { (t.title) }
                p.meta { "文书编号 " strong #doc-number { (t.number) } }
                table.fields { tbody {
                    @for (k, v) in &t.fields { tr { th { (k) } td { (v) } } }
                } }
                p.seal { (unit) "（盖章）" }
            }
        },
    )
}

fn rate_cell(r: bihuan_domain::metrics::Rate) -> Markup {
    html! {
        @match r.value() {
            Some(v) => { strong { (format!("{:.1}%", v * 100.0)) } " （" (r.num) "/" (r.den) "）" }
            None => { "—（无可计件数）" }
        }
    }
}

/// 信访工作年度报告 (信访工作条例 Art 41), printable: `/reports/petitions/{year}`.
pub(super) async fn print_petition_report(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path(year): Path<String>,
) -> Response {
    let Ok(year) = year.parse::<i32>() else {
        return error_page(
            StatusCode::NOT_FOUND,
            "没有这一年的报告",
            "年份应为四位数字，如 /reports/petitions/2026。",
            Some(&c),
        );
    };
    let r = match crate::report::petition_year(&state, &c, year).await {
        Ok(r) => r,
        Err(e) => return error_page(e.status, "无法生成报告", &e.message, Some(&c)),
    };
    let cat = state.store.catalog();
    let now = state.clock.now();
    let county = cat.org.root().name.clone();
    let change = match (r.change, r.previous_from) {
        (Some(x), _) => format!(
            "同比{}{:.1}%",
            if x >= 0.0 { "增长" } else { "下降" },
            x.abs() * 100.0
        ),
        (None, Some(d)) => format!("上年记录自 {d} 起，不完整，不作同比"),
        (None, None) => "上年同期无数据，不作同比".into(),
    };
    let reviews = |label: &str, v: &bihuan_domain::petition_report::ReviewCounts| {
        html! {
            tr { th { (label) } td { (v.requested) } td { (v.decided) } td { (v.upheld) } td { (v.changed) } td { (v.on_time) } td { (v.hearings) } }
        }
    };
    print_frame(
        &format!("{county}{year}年信访工作年度报告"),
        html! {
            article.document.report {
                h1 { (county) (year) "年信访工作年度报告" }
                p.meta { "依据《信访工作条例》第四十一条，由系统根据信访事项的办理记录生成，截至 " (format_local(now)) "。" }
                h2 { "一、信访总量" }
                p { "全年登记信访事项 " strong #volume { (r.volume) } " 件次（含复查、复核请求 " (r.recheck.requested + r.rereview.requested) " 件），上年同期 " (r.previous_volume) " 件次，" (change) "。其中上级转送 " (r.forwarded) " 件（越级信访 " (r.over_level) " 件，即向省级或国家信访局提出的本县事项），集体访 " (r.group_visits) " 批 " (r.group_people) " 人次，重复信访 " (r.repeat_petitions) " 件（同一信访人就已受理的同一事项再次信访）；年末尚在办理 " (r.open_at_end) " 件。" }
                table.fields { tbody {
                    tr { th { "按类别" } td { @for l in &r.by_kind { (l.label) " " (l.count) " 件　" } } }
                    tr { th { "按渠道" } td { @for l in &r.by_channel { (l.label) " " (l.count) " 件　" } } }
                    tr { th { "按月份" } td { @for (i, n) in r.by_month.iter().enumerate() { (i + 1) "月 " (n) "　" } } }
                } }
                @if !r.over_level_units.is_empty() {
                    p { "越级信访较多的单位：" @for l in r.over_level_units.iter().take(5) { (l.key.parse::<u32>().ok().map(|u| unit_name(&cat, Some(bihuan_domain::org::UnitId(u)))).unwrap_or_default()) " " (l.count) " 件　" } }
                }
                h2 { "二、受理和办理" }
                table.fields { tbody {
                    tr { th { "受理" } td { (r.accepted) " 件" } }
                    tr { th { "不予受理" } td { @if r.declined.is_empty() { "无" } @for l in &r.declined { (l.label) " " (l.count) " 件　" } } }
                    tr { th { "信访事项及时受理率" } td { (rate_cell(r.timely_acceptance)) } }
                    tr { th { "按期办结率" } td { (rate_cell(r.on_time_completion)) } }
                    tr { th { "初次信访一次性化解率" } td { (rate_cell(r.first_one_shot)) " 办结后未重办、未请求复查复核、90日内未重复信访" } }
                } }
                h2 { "三、复查和复核" }
                table.fields {
                    thead { tr { th {} th { "收到请求" } th { "作出意见" } th { "维持原意见" } th { "改变原意见" } th { "按期" } th { "听证" } } }
                    tbody { (reviews("复查", &r.recheck)) (reviews("复核", &r.rereview)) }
                }
                h2 { "四、信访事项较多的单位和问题" }
                table.fields {
                    thead { tr { th { "承办单位" } th { "件数" } th { "按期办结率" } } }
                    tbody { @for u in &r.units { tr { td { (unit_name(&cat, Some(u.unit))) } td { (u.volume) } td { (rate_cell(u.on_time)) } } } }
                }
                table.fields {
                    thead { tr { th { "问题分类" } th { "件数" } } }
                    tbody { @for l in &r.categories {
                        tr { td { (l.key.parse::<u32>().ok().and_then(|id| cat.categories.path_name(bihuan_domain::category::CategoryId(id))).unwrap_or_else(|| "未分类".into())) } td { (l.count) } }
                    } }
                }
                p.small { "口径：件次按登记时间计；受理、办结按期按各期限所在期间计；上级转送的来源在登记时注明；越级信访按向省级或国家信访局提出计（信访工作条例第十九条）。" }
                p.seal { (county) "信访工作联席会议办公室" }
            }
        },
    )
}
