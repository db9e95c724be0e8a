//! `/notices`: a unit's notices (dispatches, assisting requests, whistles, supervision, deadlines
//! near) and, for administrators, the text messages to citizens with their delivery.

use super::*;
use bihuan_domain::notice::{Delivery, Notice, Recipient};

fn delivery_badge(n: &Notice) -> Markup {
    let class = match n.status {
        Delivery::Sent => "badge met",
        Delivery::Pending => "badge due_soon",
        Delivery::Failed => "badge overdue",
    };
    html! { span class=(class) { (n.status.label()) } }
}

fn recipient(n: &Notice, cat: &Catalog) -> String {
    match &n.to {
        Recipient::Unit { unit } => unit_name(cat, Some(*unit)),
        // Phones are shown masked even to administrators: the message is what they check.
        Recipient::Phone { phone } => format!("短信 {}", phone.masked()),
    }
}

pub(super) fn notice_rows(
    items: &[bihuan_domain::aggregate::Versioned<Notice>],
    cat: &Catalog,
    sms: bool,
) -> Markup {
    html! {
        div.table-wrap.cards-on-phone { table {
            thead { tr { th { "时间" } th { "类别" } th { "工单" } th { "内容" } @if sms { th { "接收" } th { "发送情况" } } } }
            tbody {
                @for n in items {
                    tr {
                        td.small data-label="时间" { (format_local(n.state.event_at.unwrap_or(n.state.queued_at))) }
                        td data-label="类别" { (n.state.kind.label()) }
                        td.num data-label="工单" { a href=(format!("/appeals/{}", n.state.number)) { (n.state.number) } }
                        td data-label="内容" { (bihuan_domain::appeal::mask_free_text(&n.state.text)) }
                        @if sms {
                            td data-label="接收" { (recipient(&n.state, cat)) }
                            td data-label="发送" {
                                (delivery_badge(&n.state))
                                @if n.state.attempts > 0 { " " span.small.muted { "已尝试 " (n.state.attempts) " 次" } }
                                @if let (Some(e), Delivery::Pending | Delivery::Failed) = (&n.state.last_error, n.state.status) { div.small.muted { "上次失败：" (e) } }
                                @if let (Some(t), Delivery::Pending) = (n.state.next_try, n.state.status) { div.small.muted { "下次尝试 " (format_local(t)) } }
                            }
                        }
                    }
                }
                @if items.is_empty() { tr { td colspan=(if sms { 6 } else { 4 }) .muted { "暂无通知" } } }
            }
        } }
    }
}

pub(super) async fn notices_page(State(state): State<AppState>, PageUser(c): PageUser) -> Response {
    let cat = state.store.catalog();
    let unit = crate::notify::newest(&state, "unit", &c.user.unit.0.to_string(), 200).await;
    let body = if c.user.role == Role::Admin {
        let sms = crate::notify::newest(&state, "channel", "sms", 200).await;
        let pending = sms
            .iter()
            .filter(|n| n.state.status == Delivery::Pending)
            .count();
        let failed = sms
            .iter()
            .filter(|n| n.state.status == Delivery::Failed)
            .count();
        html! {
            h1 { "通知与短信" }
            p.muted { "发送方式：" (state.notify.sender.describe()) "。发送失败的短信按 1、5、15、60、180 分钟的间隔重试，共 6 次；办理操作从不等待短信。" }
            div.cards {
                div.card { div.n { (sms.len()) } div.l { "最近短信" } }
                div class=(if pending > 0 { "card warn" } else { "card" }) { div.n { (pending) } div.l { "待发送" } }
                div class=(if failed > 0 { "card bad" } else { "card" }) { div.n { (failed) } div.l { "发送失败" } }
            }
            h2 { "给群众的短信（最近 200 条）" }
            (notice_rows(&sms, &cat, true))
            h2 { "本单位的通知" }
            (notice_rows(&unit, &cat, false))
        }
    } else {
        html! {
            h1 { "通知" }
            p.muted { (unit_name(&cat, Some(c.user.unit))) "的通知：新交办、协办请求、吹哨报到、督办和临期提醒（最近 200 条）。" }
            (notice_rows(&unit, &cat, false))
        }
    };
    page("通知", Some(&c), body).into_response()
}
