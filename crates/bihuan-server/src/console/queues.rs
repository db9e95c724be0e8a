//! `/queue/*`: the dispatch queue, a unit's inbox, return visits, supervision.

use super::*;

// ---------------------------------------------------------------------------------------------
// Queues

pub(super) async fn queue_page(
    state: &AppState,
    c: &Caller,
    title: &str,
    intro: &str,
    sections: Vec<(&str, AppealFilter)>,
) -> Html<String> {
    let cat = state.store.catalog();
    let now = state.clock.now();
    let mut parts = Vec::new();
    for (heading, f) in sections {
        let items = state
            .store
            .list(f, None, 100)
            .await
            .map(|p| p.items)
            .unwrap_or_default();
        parts.push((heading.to_string(), items));
    }
    page(
        title,
        Some(c),
        html! {
            h1 { (title) }
            p.muted { (intro) }
            @for (h, items) in &parts {
                h2 { (h) " (" (items.len()) @if items.len() == 100 { "+" } ")" }
                (appeal_rows(items, &cat, now))
            }
        },
    )
}

pub(super) async fn dispatch_queue(
    State(state): State<AppState>,
    PageUser(c): PageUser,
) -> Response {
    if !matches!(c.user.role, Role::Dispatcher | Role::Admin) {
        return error_page(
            StatusCode::FORBIDDEN,
            "无权访问",
            "分流交办仅限派单员",
            Some(&c),
        );
    }
    let now = state.clock.now();
    let mut base = AppealFilter {
        now: Some(now),
        sort: Sort::DueFirst,
        ..Default::default()
    };
    // The caller's own scope, so the queue and the list agree (and 检举控告 never reaches
    // a person it accuses, Art 30).
    c.scope(&mut base);
    let ext: Vec<Appeal> = state
        .store
        .list(
            AppealFilter {
                status: vec![Status::InProgress],
                ..base.clone()
            },
            None,
            500,
        )
        .await
        .map(|p| {
            p.items
                .into_iter()
                .filter(|a| a.extension.is_some())
                .collect()
        })
        .unwrap_or_default();
    let cat = state.store.catalog();
    let page_ = queue_page(
        &state,
        &c,
        "分流交办",
        "按期限排序：最急的在前。点击编号进入工单交办、审核退单或审批延期。",
        vec![
            (
                "待交办",
                AppealFilter {
                    status: vec![Status::PendingDispatch],
                    ..base.clone()
                },
            ),
            (
                "退单待审",
                AppealFilter {
                    status: vec![Status::Returned],
                    ..base.clone()
                },
            ),
        ],
    )
    .await;
    let extra = html! { h2 { "延期待审批 (" (ext.len()) ")" } (appeal_rows(&ext, &cat, now)) };
    let html_ = page_
        .0
        .replace("</main>", &format!("{}</main>", extra.into_string()));
    Html(html_).into_response()
}

pub(super) async fn inbox(State(state): State<AppState>, PageUser(c): PageUser) -> Response {
    if !matches!(c.user.role, Role::Handler | Role::UnitLeader) {
        return error_page(
            StatusCode::FORBIDDEN,
            "无权访问",
            "承办页面仅限承办单位",
            Some(&c),
        );
    }
    let now = state.clock.now();
    let unit = c.user.unit;
    let mut base = AppealFilter {
        now: Some(now),
        sort: Sort::DueFirst,
        involving: Some(vec![unit]),
        ..Default::default()
    };
    // The caller's own scope, so the queue and the list agree (and 检举控告 never reaches
    // a person it accuses, Art 30).
    c.scope(&mut base);
    let list = |f: AppealFilter| {
        let state = state.clone();
        async move {
            state
                .store
                .list(f, None, 100)
                .await
                .map(|p| p.items)
                .unwrap_or_default()
        }
    };
    let lead = |s: Status| AppealFilter {
        status: vec![s],
        lead: Some(unit),
        ..base.clone()
    };
    let to_sign = list(lead(Status::Dispatched)).await;
    let handling = list(lead(Status::InProgress)).await;
    // Appeals the unit is involved in without leading them: what it owes is a report-in or an
    // opinion, each with its own deadline.
    let mut owed: Vec<Appeal> = state
        .store
        .list(
            AppealFilter {
                status: vec![Status::Dispatched, Status::InProgress],
                ..base.clone()
            },
            None,
            500,
        )
        .await
        .map(|p| p.items)
        .unwrap_or_default();
    owed.retain(|a| a.lead != Some(unit));
    let mut calls: Vec<Appeal> = owed
        .iter()
        .filter(|a| {
            a.side_deadlines()
                .iter()
                .any(|(what, u, _, _)| *what == "report_in" && *u == unit)
        })
        .cloned()
        .collect();
    let mut assists: Vec<Appeal> = owed
        .into_iter()
        .filter(|a| a.open_assist(unit).is_some())
        .collect();
    let by_due = |x: &Appeal| x.deadline_for(unit).map(|(_, _, due)| due);
    calls.sort_by_key(by_due);
    assists.sort_by_key(by_due);
    let cat = state.store.catalog();
    let section = |h: &str, items: &[Appeal]| {
        html! {
            h2 { (h) "（" (items.len()) @if items.len() >= 100 { "+" } "）" }
            (appeal_rows_for(items, &cat, now, Some(unit)))
        }
    };
    page(
        "承办",
        Some(&c),
        html! {
            h1 { "承办" }
            p.muted { "本单位的工单，按本单位须完成的期限排序：主办的看签收、联系和答复期限，协办的看协办意见期限，被吹哨的看报到期限。" }
            (section("待签收", &to_sign))
            (section("办理中", &handling))
            (section("协办待提交意见", &assists))
            (section("吹哨待报到", &calls))
        },
    )
    .into_response()
}

pub(super) async fn visits_queue(State(state): State<AppState>, PageUser(c): PageUser) -> Response {
    if !matches!(c.user.role, Role::ReturnVisitor | Role::Dispatcher) {
        return error_page(
            StatusCode::FORBIDDEN,
            "无权访问",
            "回访页面仅限回访员",
            Some(&c),
        );
    }
    let now = state.clock.now();
    let mut base = AppealFilter {
        now: Some(now),
        ..Default::default()
    };
    // The caller's own scope, so the queue and the list agree (and 检举控告 never reaches
    // a person it accuses, Art 30).
    c.scope(&mut base);
    queue_page(
        &state,
        &c,
        "回访",
        "已答复待回访的工单；不满意的可退回重办。",
        vec![
            (
                "待回访",
                AppealFilter {
                    status: vec![Status::Replied],
                    ..base.clone()
                },
            ),
            (
                "已回访待办结",
                AppealFilter {
                    status: vec![Status::Visited],
                    ..base
                },
            ),
        ],
    )
    .await
    .into_response()
}

pub(super) async fn supervision(State(state): State<AppState>, PageUser(c): PageUser) -> Response {
    if !matches!(
        c.user.role,
        Role::Supervisor | Role::Leader | Role::Admin | Role::Dispatcher
    ) {
        return error_page(
            StatusCode::FORBIDDEN,
            "无权访问",
            "督办页面仅限督办员和领导",
            Some(&c),
        );
    }
    let now = state.clock.now();
    let cat = state.store.catalog();
    let mut base = AppealFilter {
        now: Some(now),
        sort: Sort::DueFirst,
        ..Default::default()
    };
    // The caller's own scope, so the queue and the list agree (and 检举控告 never reaches
    // a person it accuses, Art 30).
    c.scope(&mut base);
    let overdue = state
        .store
        .list(
            AppealFilter {
                overdue: Some(true),
                ..base.clone()
            },
            None,
            500,
        )
        .await
        .map(|p| p.items)
        .unwrap_or_default();
    let soon = state
        .store
        .list(
            AppealFilter {
                due_soon: Some(true),
                ..base.clone()
            },
            None,
            500,
        )
        .await
        .map(|p| p.items)
        .unwrap_or_default();
    let mut by_unit: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for a in &overdue {
        by_unit
            .entry(unit_name(&cat, a.lead.or(Some(cat.org.root().id))))
            .or_default()
            .0 += 1;
    }
    for a in &soon {
        by_unit
            .entry(unit_name(&cat, a.lead.or(Some(cat.org.root().id))))
            .or_default()
            .1 += 1;
    }
    let mut rows: Vec<_> = by_unit.into_iter().collect();
    rows.sort_by(|a, b| (b.1).0.cmp(&(a.1).0).then((b.1).1.cmp(&(a.1).1)));
    page("督办", Some(&c), html! {
        h1 { "督办" }
        div.cards { (card("/appeals?overdue=true&sort=due", overdue.len() as u64, "超期", "bad")) (card("/appeals?due_soon=true&sort=due", soon.len() as u64, "临期", "warn")) }
        h2 { "按单位" }
        div.table-wrap { table {
            thead { tr { th { "单位（主办）" } th { "超期" } th { "临期" } } }
            tbody { @for (u, (o, s)) in &rows { tr { td { (u) } td { @if *o > 0 { span.badge.overdue { (o) } } @else { "0" } } td { @if *s > 0 { span.badge.due_soon { (s) } } @else { "0" } } } } }
        } }
        h2 { "超期工单" }
        (appeal_rows(&overdue.iter().take(100).cloned().collect::<Vec<_>>(), &cat, now))
        h2 { "临期工单" }
        (appeal_rows(&soon.iter().take(100).cloned().collect::<Vec<_>>(), &cat, now))
    })
    .into_response()
}
