//! `/`: each role's work, with counts and deadline colours.

use super::*;

// ---------------------------------------------------------------------------------------------
// Home: each role's work, with counts and deadline colours

pub(super) async fn home(State(state): State<AppState>, PageUser(c): PageUser) -> Html<String> {
    let now = state.clock.now();
    let cat = state.store.catalog();
    let base = scoped(&c, now);
    let with = |status: &[Status], overdue: Option<bool>, due_soon: Option<bool>| AppealFilter {
        status: status.to_vec(),
        overdue,
        due_soon,
        ..base.clone()
    };
    let open = [
        Status::PendingDispatch,
        Status::Dispatched,
        Status::Returned,
        Status::InProgress,
    ];
    let mut cards = Vec::new();
    let q = |s: &str| format!("/appeals?{s}");
    match c.user.role {
        Role::Operator | Role::GridMember => {
            let mine = AppealFilter {
                registered_by: Some(c.user.id),
                ..base.clone()
            };
            cards.push(card(
                &q(&format!("registered_by={}", c.user.id.0)),
                count(&state, mine).await,
                "我登记的",
                "",
            ));
        }
        Role::Dispatcher | Role::Admin => {
            cards.push(card(
                "/queue/dispatch",
                count(&state, with(&[Status::PendingDispatch], None, None)).await,
                "待交办",
                "",
            ));
            cards.push(card(
                "/queue/dispatch",
                count(&state, with(&[Status::Returned], None, None)).await,
                "退单待审",
                "warn",
            ));
        }
        Role::Handler | Role::UnitLeader => {
            cards.push(card(
                "/queue/inbox",
                count(&state, with(&[Status::Dispatched], None, None)).await,
                "待签收",
                "",
            ));
            cards.push(card(
                "/queue/inbox",
                count(&state, with(&[Status::InProgress], None, None)).await,
                "办理中",
                "",
            ));
        }
        Role::ReturnVisitor => {
            cards.push(card(
                "/queue/visits",
                count(&state, with(&[Status::Replied], None, None)).await,
                "待回访",
                "",
            ));
            cards.push(card(
                &q("status=visited"),
                count(&state, with(&[Status::Visited], None, None)).await,
                "待办结",
                "",
            ));
        }
        Role::Supervisor | Role::Leader | Role::System | Role::Employer => {}
    }
    // 攻坚调度: what waits for this person (read from the campaigns' state alone).
    let running: Vec<bihuan_domain::campaign::Campaign> =
        bihuan_store::aggregates::find::<bihuan_domain::campaign::Campaign>(
            state.store.as_ref(),
            "status",
            "running",
            0,
            100,
        )
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|v| v.state)
        .collect();
    let live = |i: &&bihuan_domain::campaign::Item| i.withdrawn.is_none();
    if c.user.role == Role::Leader {
        let pending: usize = running
            .iter()
            .flat_map(|k| k.items.iter().filter(live))
            .map(|i| i.pending().count())
            .sum();
        cards.push(card("/campaigns", pending as u64, "攻坚报告待确认", "warn"));
    }
    if matches!(c.user.role, Role::Handler | Role::UnitLeader) {
        let mine: Vec<&bihuan_domain::campaign::Item> = running
            .iter()
            .flat_map(|k| k.items.iter().filter(live))
            .filter(|i| i.owner == c.user.unit)
            .collect();
        if !mine.is_empty() {
            let returned = mine
                .iter()
                .filter(|i| {
                    i.reports
                        .last()
                        .and_then(|r| r.review.as_ref())
                        .is_some_and(|r| !r.confirmed)
                })
                .count();
            cards.push(card("/campaigns", mine.len() as u64, "本单位攻坚事项", ""));
            if returned > 0 {
                cards.push(card("/campaigns", returned as u64, "攻坚报告被退回", "bad"));
            }
        }
    }
    cards.push(card(
        &q("due_soon=true&sort=due"),
        count(&state, with(&open, None, Some(true))).await,
        "临期",
        "warn",
    ));
    cards.push(card(
        &q("overdue=true&sort=due"),
        count(&state, with(&open, Some(true), None)).await,
        "超期",
        "bad",
    ));
    let urgent = state
        .store
        .list(
            AppealFilter {
                status: open.to_vec(),
                sort: Sort::DueFirst,
                ..base.clone()
            },
            None,
            15,
        )
        .await
        .map(|p| p.items)
        .unwrap_or_default();
    page(
        "首页",
        Some(&c),
        html! {
            h1 { "您好，" (c.user.name) }
            p.muted { (unit_name(&cat, Some(c.user.unit))) " · " (c.user.role.label()) " · " (format_local(now)) }
            div.cards { @for m in &cards { (m) } }
            @if matches!(c.user.role, Role::Operator | Role::Dispatcher | Role::GridMember) {
                p { a.button.primary href="/appeals/new" accesskey="n" { "登记新诉求 (Alt+N)" } }
            }
            h2 { "期限最近的在办工单" }
            (appeal_rows(&urgent, &cat, now))
        },
    )
}
