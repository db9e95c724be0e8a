//! `/appeals/{key}`: the appeal, its deadlines and timeline, and the forms of the actions this
//! user may take now (`/appeals/{key}/act`, attachments, the dispatch preview).

use super::*;

// ---------------------------------------------------------------------------------------------
// Detail with timeline and the actions this user can take

#[derive(Deserialize, Default)]
pub(super) struct DetailQuery {
    ok: Option<String>,
    error: Option<String>,
    /// The 包案 form refused (`/appeals/{key}/leader-case`), and the plan typed.
    leader_case_error: Option<String>,
    plan: Option<String>,
}

pub(super) fn ok_message(code: &str) -> &'static str {
    match code {
        "registered" => "已登记",
        "leader_case" => "已包案，列入您的包案台账",
        "dispatch" => "已交办",
        "sign" => "已签收",
        "reply" => "已答复",
        "return_visit" => "已记录回访",
        "close" => "已办结",
        "return" => "已申请退单",
        "decide_return" => "已处理退单",
        "request_extension" => "已申请延期",
        "decide_extension" => "已处理延期申请",
        "whistle" => "已吹哨",
        "report_in" => "已报到",
        "assist_opinion" => "已提交协办意见",
        "redo" => "已退回重办",
        "merge" => "已合并",
        "supervise" => "已督办",
        "record_receipt" => "已登记文书送达",
        "decline" => "已出具不予受理告知书",
        "request_review" => "已登记复查（复核）请求，另开案件交上一级机关办理",
        "start_hearing" => "听证已开始，复核期限暂停计算",
        "record_agreement" => "已制作协议书，可在「信访文书」中打印",
        "end_hearing" => "听证已结束，复核期限已顺延",
        "comment" => "已添加备注",
        "contact" => "已记录联系",
        "commit" => "已记录承诺",
        "answer_at_intake" => "已当场答复",
        _ => "操作成功",
    }
}

/// The handling units grouped by kind, those in `selected` preselected.
pub(super) fn unit_options_selected(
    cat: &Catalog,
    exclude: &[UnitId],
    selected: &[UnitId],
) -> Markup {
    html! {
        optgroup label="部门" { @for u in cat.org.units().filter(|u| u.kind == UnitKind::Department && !exclude.contains(&u.id)) { option value=(u.id.0) selected[selected.contains(&u.id)] { (u.name) } } }
        optgroup label="乡镇（街道）" { @for u in cat.org.units().filter(|u| u.kind == UnitKind::Township && !exclude.contains(&u.id)) { option value=(u.id.0) selected[selected.contains(&u.id)] { (u.name) } } }
    }
}

/// What the user typed into a refused form, to fill it in again.
#[derive(Clone, Copy, Default)]
pub(super) struct Prefill<'a>(pub Option<&'a Fields>);

impl<'a> Prefill<'a> {
    /// The typed value (untrimmed), or "".
    pub fn val(&self, name: &str) -> &'a str {
        self.0
            .and_then(|f| f.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()))
            .unwrap_or("")
    }

    /// Whether `value` was chosen for `name` (a select option or a checkbox).
    pub fn chose(&self, name: &str, value: &str) -> bool {
        self.0
            .is_some_and(|f| f.iter().any(|(k, v)| k == name && v == value))
    }

    /// The units chosen for `name`, or `default` when nothing was typed.
    pub fn units(&self, name: &str, default: &[UnitId]) -> Vec<UnitId> {
        match self.0 {
            Some(f) => f
                .iter()
                .filter(|(k, _)| k == name)
                .filter_map(|(_, v)| v.parse().ok().map(UnitId))
                .collect(),
            None => default.to_vec(),
        }
    }

    pub fn is_some(&self) -> bool {
        self.0.is_some()
    }
}

/// One option of a select, selected when the refused form chose it (or by default when there
/// was none).
fn opt(p: Prefill<'_>, name: &str, value: &str, label: &str, default: bool) -> Markup {
    let selected = if p.is_some() {
        p.chose(name, value)
    } else {
        default
    };
    html! { option value=(value) selected[selected] { (label) } }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn action_form(
    action: Action,
    a: &Appeal,
    cat: &Catalog,
    c: &Caller,
    open: bool,
    files: &[bihuan_store::Attachment],
    owners: &[bihuan_store::User],
    p: Prefill<'_>,
    today: chrono::NaiveDate,
) -> Markup {
    // The units a form never offers: the accused of an accusation (信访工作条例 Art 30), and one
    // more (the current lead, the caller's own unit).
    let not_to = |one: Option<UnitId>| -> Vec<UnitId> {
        a.accused_units.iter().copied().chain(one).collect()
    };
    let title = match action {
        Action::AnswerAtIntake => "当场答复",
        Action::Dispatch => "交办",
        Action::Sign => "签收",
        Action::SetOwner => "更换首席服务官",
        Action::Return => "申请退单",
        Action::DecideReturn => "审核退单",
        Action::Contact => "联系群众",
        Action::Commit => "双向承诺",
        Action::RequestExtension => "申请延期",
        Action::DecideExtension => "审批延期",
        Action::Whistle => "吹哨",
        Action::ReportIn => "报到",
        Action::AssistOpinion => "提交协办意见",
        Action::Reply => "答复",
        Action::ReturnVisit => "回访",
        Action::Close => "办结",
        Action::Redo => "退回重办",
        Action::Merge => "合并到主工单",
        Action::LinkDuplicate => "关联重复件",
        Action::Supervise => "督办",
        Action::Comment => "备注",
        Action::RecomputeDeadlines => "期限重算",
        Action::RecordReceipt => "登记文书送达",
        Action::Decline => "不予受理",
        Action::RequestReview => match a.review.as_ref().map(|r| r.stage) {
            None => "登记复查请求",
            Some(_) => "登记复核请求",
        },
        Action::StartHearing => "举行听证",
        Action::EndHearing => "结束听证",
        Action::RecordAgreement => "调解、和解协议",
    };
    let confirm = match action {
        Action::Decline => Some("确认不予受理？将出具不予受理告知书，本事项随即办结。"),
        Action::RequestReview => Some("确认登记？将另开复查（复核）案件，交上一级机关办理。"),
        Action::Close => Some("确认办结？办结后不能再办理。"),
        Action::Merge => Some("确认合并？合并后本工单不再单独办理。"),
        Action::Return => Some("确认退单？"),
        Action::Redo => Some("确认退回重办？"),
        _ => None,
    };
    let pending_whistles: Vec<u32> = a
        .whistles
        .iter()
        .filter(|w| {
            w.targets
                .iter()
                .any(|t| t.unit == c.user.unit && t.reported_at.is_none())
        })
        .map(|w| w.no)
        .collect();
    let v = |name: &str| p.val(name).to_string();
    html! {
        details open[open] {
            summary { (title) }
            form.stack method="post" action=(format!("/appeals/{}/act", a.number)) data-confirm=[confirm] {
                input type="hidden" name="action" value=(action.name());
                input type="hidden" name="version" value=(a.version);
                @match action {
                    Action::AnswerAtIntake => { label { "答复内容" } textarea name="answer" required { (v("answer")) } }
                    Action::Dispatch => {
                        label { "主办单位" }
                        select name="lead" required hx-get=(format!("/appeals/{}/preview", a.number)) hx-trigger="change" hx-target="next .preview" {
                            option value="" { "请选择" } (unit_options_selected(cat, &a.accused_units, &p.units("lead", &[])))
                        }
                        div.preview.small.muted { "选择主办单位后显示将产生的办理期限" }
                        label { "协办单位（可多选，须在 " (a.policy.assist) " 内提交协办意见）" }
                        select name="assisting" multiple { (unit_options_selected(cat, &a.accused_units, &p.units("assisting", &[]))) }
                        label { "交办意见" } input type="text" name="note" value=(v("note"));
                    }
                    Action::Sign => { p.small.muted { "签收后由您担任首席服务官，并开始计算办理期限。" } }
                    Action::Return => {
                        @if let Some(by) = a.deadlines.return_by { p.small.muted { "退单时限：" (format_local(by)) } }
                        label { "退单理由" } textarea name="reason" required { (v("reason")) }
                    }
                    Action::DecideReturn => {
                        @if let Some(r) = &a.pending_return { p { "退单单位：" (unit_name(cat, Some(r.unit))) " · 理由：" (r.reason) } }
                        label { "处理" } select name="decision" { (opt(p, "decision", "accept", "同意退单", true)) (opt(p, "decision", "refuse", "驳回（由原单位继续办理）", false)) }
                        label { "同意时改派给（可不选，回到待交办）" } select name="redispatch" { option value="" { "暂不改派" } (unit_options_selected(cat, &not_to(a.lead), &p.units("redispatch", &[]))) }
                        label { "改派时的协办单位（可多选，默认沿用原协办单位）" }
                        select name="redispatch_assisting" multiple { (unit_options_selected(cat, &a.accused_units, &p.units("redispatch_assisting", &a.assisting))) }
                        label { "意见（驳回时必填）" } input type="text" name="note" value=(v("note"));
                    }
                    Action::Contact => { label { "联系情况" } textarea name="note" required { (v("note")) } }
                    Action::Commit => {
                        label { "承诺事项" } input type="text" name="what" required value=(v("what"));
                        label { "承诺完成日期" } input type="date" name="by" required value=(v("by"));
                        label { "群众配合事项（可选）" } input type="text" name="citizen_part" value=(v("citizen_part"));
                    }
                    Action::RequestExtension => {
                        @if let Some(d) = a.deadlines.reply { p.small.muted { "当前答复期限：" (format_local(d)) (provisional_mark(&cat.calendar, d)) } }
                        div.row {
                            div { label { "延期时长" } input type="number" name="amount" min="1" max="60" required value=(v("amount")); }
                            div { label { "单位" } select name="unit" { (opt(p, "unit", "working_days", "工作日", true)) (opt(p, "unit", "calendar_days", "日", false)) (opt(p, "unit", "hours", "小时", false)) } }
                        }
                        label { "延期理由" } textarea name="reason" required { (v("reason")) }
                    }
                    Action::DecideExtension => {
                        @if let Some(x) = &a.extension { p { "申请延至 " (format_local(x.proposed_due)) " · 理由：" (x.reason) } }
                        label { "处理" } select name="decision" { (opt(p, "decision", "approve", "批准", true)) (opt(p, "decision", "refuse", "驳回", false)) }
                        label { "意见（驳回时必填）" } input type="text" name="note" value=(v("note"));
                    }
                    Action::Whistle => {
                        label { "需要报到的部门（可多选，须在 " (a.policy.report_in) " 内报到）" } select name="units" multiple required { (unit_options_selected(cat, &not_to(Some(c.user.unit)), &p.units("units", &[]))) }
                        label { "事项" } textarea name="matter" required { (v("matter")) }
                    }
                    Action::ReportIn => {
                        label { "吹哨" } select name="whistle" { @for n in &pending_whistles { option value=(n) { "第 " (n) " 次吹哨" } } }
                        label { "报到情况" } input type="text" name="note" value=(v("note"));
                    }
                    Action::AssistOpinion => {
                        @if let Some(t) = a.open_assist(c.user.unit) { p.small.muted { "协办意见期限：" (format_local(t.due)) "。主办单位答复前会看到本意见。" } }
                        label { "协办意见" } textarea name="opinion" required placeholder="本单位职责范围内的核查情况、处理意见和建议" { (v("opinion")) }
                    }
                    Action::Reply => {
                        (assist_summary(a, cat))
                        label { "办理结果" } select name="result" { (opt(p, "result", "resolved", "已解决", true)) (opt(p, "result", "partly_resolved", "部分解决", false)) (opt(p, "result", "unresolvable", "无法解决", false)) }
                        label { "未解决的原因（部分解决或无法解决时必填）" } input type="text" name="reason" value=(v("reason"));
                        @if a.regime == bihuan_domain::Regime::Petition {
                            label { "处理意见" } select name="petition_outcome" { (opt(p, "petition_outcome", "support", "支持", true)) (opt(p, "petition_outcome", "explain", "解释说明", false)) (opt(p, "petition_outcome", "not_supported", "不予支持", false)) }
                        }
                        label { "答复内容" } textarea name="text" required { (v("text")) }
                        @if !files.is_empty() {
                            label { "随答复提交的附件" }
                            @for f in files {
                                @let value = format!("#{} {}", f.id, f.name);
                                label.small { input type="checkbox" name="attachments" value=(value) checked[!p.is_some() || p.chose("attachments", &value)]; " " (f.name) }
                            }
                        }
                    }
                    Action::ReturnVisit => {
                        label { "是否联系上" } select name="contacted" { (opt(p, "contacted", "yes", "已联系上", true)) (opt(p, "contacted", "no", "未联系上", false)) }
                        label { "问题是否解决（联系上时填写）" } select name="resolved" { option value="" { "—" } (opt(p, "resolved", "yes", "已解决", false)) (opt(p, "resolved", "no", "未解决", false)) }
                        label { "满意度（联系上时填写）" } select name="rating" { option value="" { "—" } (opt(p, "rating", "satisfied", "满意", false)) (opt(p, "rating", "basic", "基本满意", false)) (opt(p, "rating", "unsatisfied", "不满意", false)) }
                        label { "回访记录" } input type="text" name="comment" value=(v("comment"));
                    }
                    Action::Close => {
                        label { "办结说明" @if a.status == Status::Replied { "（未回访直接办结时必填，写明原因，如群众拒绝回访、匿名诉求）" } } input type="text" name="note" value=(v("note")) required[a.status == Status::Replied];
                    }
                    Action::Redo => {
                        label { "原因" } select name="cause" {
                            @if a.visit.as_ref().and_then(|v| v.rating) == Some(bihuan_domain::lifecycle::Rating::Unsatisfied) { (opt(p, "cause", "unsatisfied", "群众不满意", true)) }
                            (opt(p, "cause", "reply_rejected", "答复审核不通过", false))
                        }
                        label { "说明" } textarea name="reason" required { (v("reason")) }
                    }
                    Action::Merge => { label { "主工单编号" } input type="text" name="master" placeholder="2026-11-000123" required value=(v("master")); }
                    Action::Supervise => {
                        label { "督办类型" } select name="reason" { (opt(p, "reason", "leader_order", "领导交办", true)) (opt(p, "reason", "overdue", "超期督办", false)) }
                        label { "督办意见" } textarea name="note" { (v("note")) }
                    }
                    Action::SetOwner => {
                        @if let Some(o) = &a.owner { p.small.muted { "当前首席服务官：" (o.name) } }
                        label { "新的首席服务官（主办单位人员）" }
                        select name="owner" required {
                            option value="" { "请选择" }
                            @for u in owners { (opt(p, "owner", &u.id.0.to_string(), &format!("{}（{}）", u.name, u.role.label()), false)) }
                        }
                    }
                    Action::Comment | Action::LinkDuplicate => { label { "备注" } textarea name="text" required { (v("text")) } }
                    // Never offered (internal): the system records it when a notice is loaded.
                    Action::RecomputeDeadlines => {}
                    Action::RecordReceipt => {
                        label { "文书" }
                        select name="document" required {
                            @for d in a.documents.iter().filter(|d| d.received_on.is_none()) {
                                (opt(p, "document", &d.version.to_string(), &format!("{}（{} 出具）", d.kind.label(), bihuan_domain::time::local_date(d.issued_at)), false))
                            }
                        }
                        label { "信访人收到的日期（复查、复核期限由此起算）" }
                        input type="date" name="received_on" required value=(if p.val("received_on").is_empty() { today.to_string() } else { p.val("received_on").to_string() }) max=(today.to_string());
                    }
                    Action::Decline => {
                        p.small.muted { "不属于受理范围的，出具不予受理告知书，写明理由和应当向哪个机关、通过什么途径提出（信访工作条例第二十三条）。" }
                        label { "不予受理的情形" }
                        select name="ground" {
                            @for g in bihuan_domain::lifecycle::DeclineGround::ALL {
                                @let code = serde_json::to_value(g).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
                                (opt(p, "ground", &code, g.label(), *g == bihuan_domain::lifecycle::DeclineGround::NotOurRemit))
                            }
                        }
                        label { "理由" } textarea name="reason" required { (v("reason")) }
                        label { "告知信访人向何机关、通过何种途径提出" } textarea name="route" required placeholder="如：请向县人民法院提起诉讼" { (v("route")) }
                        label { "已复核终结的信访事项编号（以复核终结为由时填写）" } input type="text" name="prior" placeholder="2026-05-000123" value=(v("prior"));
                    }
                    Action::RequestReview => {
                        @if let Ok((stage, doc, closes)) = a.review_window(&cat.calendar) {
                            p.small.muted { (doc.kind.label()) "于 " (doc.received_on.map(|d| d.to_string()).unwrap_or_default()) " 送达；" (stage.label()) "请求须于 " strong { (closes) } " 前（含当日）提出。" }
                        }
                        label { "请求事项和理由" } textarea name="request" required { (v("request")) }
                        label { "收到请求的日期" }
                        input type="date" name="requested_on" required value=(if p.val("requested_on").is_empty() { today.to_string() } else { p.val("requested_on").to_string() }) max=(today.to_string());
                        label { "复查（复核）机关（不选则为上一级机关或本县复查复核机关）" }
                        select name="reviewer" { option value="" { "按规定确定" } (unit_options_selected(cat, &not_to(a.lead), &p.units("reviewer", &[]))) }
                    }
                    Action::RecordAgreement => {
                        p.small.muted { "申诉求决类事项，经争议双方同意调解，或双方自愿和解，达成一致意见的，制作调解协议书或和解协议书（信访工作条例第三十三条）。协议达成后仍须出具信访处理意见书。" }
                        label { "协议方式" }
                        select name="agreement" {
                            option value="mediation" selected[v("agreement") != "settlement"] { "调解（本机关主持）" }
                            option value="settlement" selected[v("agreement") == "settlement"] { "和解（双方自行达成）" }
                        }
                        label { "当事人" } input type="text" name="parties" maxlength="500" required placeholder="如 信访人张三；被申请人某建筑公司" value=(v("parties"));
                        label { "协议内容" } textarea name="terms" required placeholder="双方约定的事项、金额、期限和履行方式" { (v("terms")) }
                    }
                    Action::StartHearing => {
                        p.small.muted { "听证所需时间不计入复核期限（信访工作条例第三十六条）：听证期间停止计时，结束后期限按听证天数顺延。" }
                        label { "听证事由" } textarea name="reason" required { (v("reason")) }
                    }
                    Action::EndHearing => {
                        @if let Some(h) = a.hearings.last() { p.small.muted { "听证自 " (format_local(h.started_at)) " 开始：" (h.reason) } }
                        label { "听证结果" } textarea name="note" { (v("note")) }
                    }
                }
                p { button type="submit" class=(if confirm.is_some() { "danger" } else { "primary" }) { (title) } }
            }
        }
    }
}

/// The assisting units' opinions of the current dispatch, as the lead reads them before replying.
pub(super) fn assist_summary(a: &Appeal, cat: &Catalog) -> Markup {
    let tasks: Vec<_> = a.current_assists().collect();
    html! {
        @if !tasks.is_empty() {
            div.assists {
                strong { "协办意见" }
                ul { @for t in &tasks {
                    li {
                        (unit_name(cat, Some(t.unit))) "："
                        @match (&t.opinion, t.given_at) {
                            (Some(o), Some(at)) => { (o) " " span.muted.small { (format_local(at)) } @if at > t.due { " " span.badge.overdue { "超时提交" } } }
                            _ => { span.badge.due_soon { "尚未提交" } " " span.muted.small { "期限 " (format_local(t.due)) } }
                        }
                    }
                } }
            }
        }
    }
}

pub(super) fn timeline_item(r: &bihuan_domain::EventRecord, cat: &Catalog) -> Markup {
    use bihuan_domain::Event as E;
    let detail: Option<String> = match &r.event {
        E::Dispatched {
            lead,
            assisting,
            note,
            ..
        } => Some(format!(
            "主办：{}{}{}",
            unit_name(cat, Some(*lead)),
            if assisting.is_empty() {
                String::new()
            } else {
                format!(
                    ";协办：{}",
                    assisting
                        .iter()
                        .map(|u| unit_name(cat, Some(*u)))
                        .collect::<Vec<_>>()
                        .join("、")
                )
            },
            if note.is_empty() {
                String::new()
            } else {
                format!(";{note}")
            }
        )),
        E::ReturnRequested { reason, .. } => Some(reason.clone()),
        E::ReturnAccepted { note }
        | E::ReturnRefused { note }
        | E::ExtensionRefused { note }
        | E::Closed { note, .. }
        | E::Contacted { note } => Some(note.clone()).filter(|s| !s.is_empty()),
        E::ExtensionRequested {
            reason,
            proposed_due,
            ..
        } => Some(format!("延至 {};{reason}", format_local(*proposed_due))),
        E::ExtensionApproved { new_due, .. } => Some(format!("新期限 {}", format_local(*new_due))),
        E::Whistled {
            units,
            matter,
            report_by,
            ..
        } => Some(format!(
            "报到单位：{};{matter};报到期限 {}",
            units
                .iter()
                .map(|u| unit_name(cat, Some(*u)))
                .collect::<Vec<_>>()
                .join("、"),
            format_local(*report_by)
        )),
        E::ReportedIn {
            unit, note, late, ..
        } => Some(format!(
            "{}{}{}",
            unit_name(cat, Some(*unit)),
            if *late { "（超时报到）" } else { "" },
            if note.is_empty() {
                String::new()
            } else {
                format!(":{note}")
            }
        )),
        E::AssistOpinionGiven {
            unit,
            opinion,
            late,
        } => Some(format!(
            "{}{}：{opinion}",
            unit_name(cat, Some(*unit)),
            if *late { "（超时提交）" } else { "" }
        )),
        E::Replied { reply, late, .. } => Some(format!(
            "{}{}:{}",
            reply.result.label(),
            if *late { "（超期答复）" } else { "" },
            reply.text
        )),
        E::AnsweredAtIntake { answer } => Some(answer.clone()),
        E::Visited { visit } => Some(format!(
            "{}{}{}",
            if visit.contacted {
                "已联系上"
            } else {
                "未联系上"
            },
            visit
                .rating
                .map(|r| format!(",{}", r.label()))
                .unwrap_or_default(),
            if visit.comment.is_empty() {
                String::new()
            } else {
                format!(";{}", visit.comment)
            }
        )),
        E::RedoOrdered {
            cause,
            reason,
            reply_due,
        } => Some(format!(
            "{}:{reason};新答复期限 {}",
            cause.label(),
            format_local(*reply_due)
        )),
        E::Committed { commitment } => Some(format!(
            "{}（承诺于 {} 前）",
            commitment.what, commitment.by
        )),
        E::Supervised { reason, note, .. } => Some(format!(
            "{}{}",
            reason.label(),
            if note.is_empty() {
                String::new()
            } else {
                format!(":{note}")
            }
        )),
        E::Commented { text } => Some(text.clone()),
        E::DocumentReceived {
            document,
            received_on,
        } => Some(format!(
            "第 {document} 步出具的文书于 {received_on} 送达信访人（复查、复核期限由此起算）"
        )),
        E::DeadlinesRecomputed { year, changes } => Some(format!(
            "{year} 年放假通知导入后，预计期限按通知重算：{}",
            changes
                .iter()
                .map(|c| format!(
                    "{}期限 {} → {}",
                    deadline_label(&c.deadline),
                    format_local(c.before),
                    format_local(c.after)
                ))
                .collect::<Vec<_>>()
                .join("；")
        )),
        E::MergedInto { number, .. } => Some(format!("主工单 {number}")),
        E::DuplicateLinked { number, .. } => Some(format!("重复工单 {number}")),
        E::Signed { owner, .. } | E::OwnerChanged { owner } => {
            Some(format!("首席服务官：{}", owner.name))
        }
        E::Registered { .. } => None,
        E::Declined { declined } => Some(format!(
            "{}：{}；告知途径：{}{}",
            declined.ground.label(),
            declined.reason,
            declined.route,
            declined
                .prior
                .map(|n| format!("（已复核终结：{n}）"))
                .unwrap_or_default()
        )),
        E::ReviewRequested { link, request } => Some(format!(
            "{}请求（{} 收到），交{}办理，案件 {}：{request}",
            link.stage.label(),
            link.requested_on,
            unit_name(cat, Some(link.reviewer)),
            link.number
        )),
        E::HearingStarted { reason } => Some(format!("{reason}（听证期间复核期限暂停）")),
        E::AgreementRecorded {
            agreement,
            parties,
            terms,
        } => Some(format!(
            "{}协议 · 当事人：{parties} · {terms}",
            agreement.label()
        )),
        E::HearingEnded {
            note,
            days,
            reply_due,
        } => Some(format!(
            "听证{days}日不计入期限{}{}",
            reply_due
                .map(|d| format!("，复核期限顺延至 {}", format_local(d)))
                .unwrap_or_default(),
            if note.is_empty() {
                String::new()
            } else {
                format!("；{note}")
            }
        )),
    };
    html! {
        li {
            strong { (r.event.label()) } " "
            span.muted.small { (format_local(r.at)) " · " (r.actor.name) " · " (r.actor.role.label()) " · " (unit_name(cat, Some(r.actor.unit))) }
            @if let Some(d) = detail { div.content { (d) } }
        }
    }
}

pub(super) async fn render_detail(
    state: &AppState,
    c: &Caller,
    key: &str,
    flash: Option<String>,
    error: Option<(String, String)>,
    typed: Option<&Fields>,
) -> Response {
    let a = match visible_appeal(state, c, key, "查看").await {
        Ok(a) => a,
        Err(page) => return page,
    };
    let history = state.store.history(a.id).await.unwrap_or_default();
    let notices = crate::notify::of_appeal(state, a.id).await;
    let files = state.store.attachments(a.id).await.unwrap_or_default();
    let cat = state.store.catalog();
    let now = state.clock.now();
    let disclosure = crate::views::Disclosure::for_caller(c, &a, false);
    // Art 36: a petition from the same petitioner after a final 复核, offered to the unit that
    // decides on acceptance.
    let finals = if a.status == Status::Dispatched && a.lead == Some(c.user.unit) {
        crate::app::final_reviews(state, &a).await
    } else {
        vec![]
    };
    // 包案 (Art 18): the leader who has this petition, if any.
    let leader_case = if a.regime == bihuan_domain::Regime::Petition {
        crate::leaders::case_of(state, &a).await.ok().flatten()
    } else {
        None
    };
    let full = disclosure.is_full();
    if full {
        crate::audit::viewed_personal(state, c, &a.number.to_string(), "console detail").await;
    }
    // Phone and ID numbers typed into the texts are masked like the citizen's own fields.
    let (a, history) = (disclosure.appeal(&a), disclosure.records(history));
    // Already masked above unless this reader may see them.
    let name = a.citizen.name.clone().unwrap_or_default();
    let phone = a
        .citizen
        .phone
        .as_ref()
        .map(|p| p.expose().to_string())
        .unwrap_or_default();
    let running = a.running_deadlines();
    let d = &a.deadlines;
    // (step, clock start, due, done)
    type Row<'a> = (&'a str, Option<Instant>, Option<Instant>, Option<Instant>);
    let deadline_rows: Vec<Row> = vec![
        (
            "交办",
            Some(a.registered_at),
            d.dispatch,
            a.dispatched_at.or(if a.answered_at_intake {
                a.replied_at
            } else {
                None
            }),
        ),
        ("签收", a.dispatched_at, d.sign, a.signed_at),
        (
            "首次联系",
            a.dispatched_at,
            d.first_contact,
            a.first_contact_at,
        ),
        (
            "答复",
            d.reply_started,
            d.reply,
            a.replied_at
                .filter(|_| !matches!(a.status, Status::InProgress | Status::Dispatched)),
        ),
    ];
    let (error_action, error_message) = match &error {
        Some((act, msg)) => (Some(act.as_str()), Some(msg.as_str())),
        None => (None, None),
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    // Exactly what the domain would accept from this user now (its own guard).
    let offered = crate::app::available_actions(state, c, &a);
    let owners: Vec<bihuan_store::User> = if offered.contains(&Action::SetOwner) {
        let mut v: Vec<_> = state
            .store
            .users()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|u| {
                u.active
                    && Some(u.unit) == a.lead
                    && matches!(u.role, Role::Handler | Role::UnitLeader)
            })
            .collect();
        v.sort_by_key(|u| u.id.0);
        v
    } else {
        vec![]
    };
    // Smart dispatch: for the centre while the appeal awaits dispatch, and duplicates for
    // whoever sees the whole county while it is open.
    let smart = if (a.status == Status::PendingDispatch
        && matches!(c.user.role, Role::Dispatcher | Role::Admin))
        || (c.sees_all() && !a.status.is_terminal())
    {
        serde_json::to_value(crate::smart::suggestions_for(state, c, &a).await).ok()
    } else {
        None
    };
    let can_direct = a.status == Status::PendingDispatch && c.user.role == Role::Dispatcher;
    let body = html! {
        h1 { "工单 " (a.number) " " span.badge { (a.status.label()) } " " (deadline_badge(a.deadline_state(now))) " " a.button.small href=(format!("/appeals/{}/print", a.number)) target="_blank" { "打印工单" } }
        @if let Some(f) = &flash { div.flash { (f) } }
        @if let Some(m) = error_message { div.error { (m) } }
        div.panel {
            h2 { (a.title) }
            p.content { (a.content) }
            dl.facts {
                dt { "类型" } dd { (a.kind.label()) " · " (a.regime.label()) " · " (a.urgency.label()) }
                dt { "渠道" } dd { (a.channel.label()) }
                dt { "分类" } dd { (a.category.and_then(|x| cat.categories.path_name(x)).unwrap_or_else(|| "—".into())) }
                dt { "地点" } dd { (unit_name(&cat, a.place.township)) " " (a.place.address) }
                dt { "诉求人" } dd { (name) " " (phone) @if let Some(o) = &a.citizen.organisation { " · " (o) } }
                @if let Some(f) = a.forwarded_from { dt { "来源" } dd { (f.label()) @if f.is_over_level() { " " span.badge.overdue { "越级信访" } } } }
                @if let Some(r) = &a.repeat_of {
                    dt { "重复信访" }
                    dd {
                        span.badge.overdue { "重复信访" } " "
                        @if let Some(n) = r.earlier { "此前受理：" a href={"/appeals/" (n)} { (n) } }
                        @if r.earlier.is_some() && r.elsewhere.is_some() { "；" }
                        @if let Some(e) = &r.elsewhere { "此前受理机关：" (e) }
                    }
                }
                @if let Some(g) = disclosure.appeal(&a).group { dt { "集体访" } dd { (g.people) " 人来访，推选代表 " (g.representatives.len()) " 人：" (g.representatives.join("、")) } }
                dt { "登记" } dd { (format_local(a.registered_at)) }
                dt { "主办单位" } dd { (unit_name(&cat, a.lead)) }
                @if !a.assisting.is_empty() { dt { "协办单位" } dd { (a.assisting.iter().map(|u| unit_name(&cat, Some(*u))).collect::<Vec<_>>().join("、")) } }
                dt { "首席服务官" } dd { (a.owner.as_ref().map(|o| o.name.clone()).unwrap_or_else(|| "—".into())) }
                @if let Some(cm) = &a.commitment { dt { "双向承诺" } dd { (cm.what) "(" (cm.by) " 前）" @if let Some(p) = &cm.citizen_part { ";群众：" (p) } } }
                @if let Some(r) = &a.reply { dt { "答复" } dd { (r.result.label()) ":" (r.text) } }
                @if let Some(v) = &a.visit { dt { "回访" } dd { (if v.contacted { "已联系上" } else { "未联系上" }) @if let Some(r) = v.rating { "," (r.label()) } } }
                @if let Some((_, n)) = &a.merged_into { dt { "已合并到" } dd { a href=(format!("/appeals/{n}")) { (n) } } }
                @if !a.duplicates.is_empty() { dt { "重复工单" } dd { @for (_, n) in &a.duplicates { a href=(format!("/appeals/{n}")) { (n) } " " } } }
            }
        }
        @if let Some(s) = &smart { (smart_panel(s, &a, can_direct)) }
        div.panel {
            h2 { "办理期限" }
            div.table-wrap { table {
                thead { tr { th { "环节" } th { "期限" } th { "完成时间" } th { "状态" } } }
                tbody {
                    @for (label, start, due, done) in &deadline_rows {
                        @if let Some(due) = due {
                            @let st = if running.iter().any(|r| r.2 == *due) || done.is_some() { Some(DeadlineState::at(start.unwrap_or(a.registered_at), *due, *done, now, a.policy.due_soon_percent)) } else { None };
                            tr { td { (label) } td { (format_local(*due)) @if done.is_none() { (provisional_mark(&cat.calendar, *due)) } } td { (done.map(format_local).unwrap_or_else(|| "—".into())) } td { (deadline_badge(st)) } }
                        }
                    }
                }
            } }
            @if a.review.is_some() || !a.reviews.is_empty() || !a.hearings.is_empty() || a.declined.is_some() || !finals.is_empty() {
                h2 #reviews { "受理与复查复核" }
                @if let Some(d) = &a.declined {
                    p { span.badge.overdue { "不予受理" } " " (d.ground.label()) "：" (d.reason) "；告知途径：" (d.route) @if let Some(n) = d.prior { "（已复核终结：" a href=(format!("/appeals/{n}")) { (n) } "）" } }
                }
                @if let Some(r) = &a.review {
                    p { "本案为" strong { (r.stage.label()) } "案件：原" (if r.stage == bihuan_domain::lifecycle::ReviewStage::Recheck { "信访事项" } else { "复查事项" }) " " a href=(format!("/appeals/{}", r.of_number)) { (r.of_number) } "（" (unit_name(&cat, Some(r.decided_by))) "作出意见），请求于 " (r.requested_on) " 收到，须自收到之日起30日内作出" (r.stage.label()) "意见。" }
                }
                @for l in &a.reviews {
                    p { "已请求" (l.stage.label()) "：" a href=(format!("/appeals/{}", l.number)) { (l.number) } "，" (l.requested_on) " 收到，交" (unit_name(&cat, Some(l.reviewer))) "办理。" }
                }
                @if !a.hearings.is_empty() {
                    div.table-wrap { table {
                        thead { tr { th { "听证事由" } th { "开始" } th { "结束" } th { "不计入期限" } } }
                        tbody { @for h in &a.hearings {
                            tr { td { (h.reason) } td { (format_local(h.started_at)) } td { (h.ended_at.map(format_local).unwrap_or_else(|| "进行中（期限暂停）".into())) } td { @if h.ended_at.is_some() { (h.days) "日" } @else { "—" } } }
                        } }
                    } }
                }
                @for f in &finals {
                    p.notice { "该信访人的同类事项 " a href=(format!("/appeals/{}", f.number)) { (f.number) } "「" (f.title) "」已复核终结。以同一事实和理由再次提出的，可选择「不予受理」并以「复核终结后以同一事实和理由再次提出」为由，填写该编号（信访工作条例第三十六条）。" }
                }
            }
            @if !a.documents.is_empty() {
                h2 #documents { "信访文书" }
                div.table-wrap { table {
                    thead { tr { th { "文书" } th { "出具时间" } th { "送达日期" } th { "" } } }
                    tbody { @for d in &a.documents {
                        tr {
                            td { (d.kind.label()) }
                            td { (format_local(d.issued_at)) }
                            td { (d.received_on.map(|x| x.to_string()).unwrap_or_else(|| "尚未登记".into())) }
                            td { a href=(format!("/appeals/{}/documents/{}", a.number, d.version)) target="_blank" { "打印" } }
                        }
                    } }
                } }
            }
            @if !a.assists.is_empty() {
                h2 { "协办意见" }
                div.table-wrap { table {
                    thead { tr { th { "协办单位" } th { "交办时间" } th { "期限" } th { "提交时间" } th { "意见" } th { "状态" } } }
                    tbody { @for t in &a.assists {
                        tr {
                            td { (unit_name(&cat, Some(t.unit))) } td { (format_local(t.asked_at)) } td { (format_local(t.due)) }
                            td { (t.given_at.map(format_local).unwrap_or_else(|| "—".into())) }
                            td { (t.opinion.clone().unwrap_or_default()) }
                            td { (deadline_badge(Some(DeadlineState::at(t.asked_at, t.due, t.given_at, now, a.policy.due_soon_percent)))) }
                        }
                    } }
                } }
            }
            @if !a.whistles.is_empty() {
                h2 { "吹哨报到" }
                @for w in &a.whistles {
                    p { "第 " (w.no) " 次 · " (w.matter) " · 报到期限 " (format_local(w.report_by)) }
                    ul { @for t in &w.targets { li { (unit_name(&cat, Some(t.unit))) ":" @match t.reported_at { Some(at) => { "已报到 " (format_local(at)) @if at > w.report_by { " " span.badge.overdue { "超时" } } }, None => { span.badge.due_soon { "未报到" } } } } } }
                }
            }
        }
        (super::leaders::case_section(
            &a,
            leader_case.as_ref(),
            c,
            error.as_ref().filter(|e| e.0 == "leader_case").map(|e| e.1.as_str()),
            typed.map(|t| field(t, "plan")).unwrap_or(""),
        ))
        div.panel {
            h2 { "附件 (" (files.len()) ")" }
            @if files.is_empty() { p.muted.small { "暂无附件" } }
            ul { @for f in &files { li { a href=(format!("/api/v1/attachments/{}", f.id)) { (f.name) } " " span.muted.small { (format!("{:.1} KB", f.size as f64 / 1024.0)) " · " (format_local(f.at)) } } } }
            @if crate::attachments::may_upload(c, &a) {
                form method="post" action=(format!("/appeals/{}/attachments", a.number)) enctype="multipart/form-data" {
                    input type="file" name="file" multiple accept="image/jpeg,image/png,image/gif,image/webp,application/pdf,.docx,.xlsx,.pptx";
                    " " button type="submit" { "上传附件" }
                    span.muted.small { " 图片、PDF 或 Office 文档，每个不超过 10 MB" }
                }
            }
        }
        @if !offered.is_empty() {
            h2 { "办理" }
            div.actions { @for act in &offered { (action_form(*act, &a, &cat, c, error_action == Some(act.name()) || offered.len() <= 2, &files, &owners, if error_action == Some(act.name()) { Prefill(typed) } else { Prefill(None) }, bihuan_domain::time::local_date(now))) } }
        }
        div.panel {
            h2 { "全程留痕" }
            ol.timeline { @for r in &history { (timeline_item(r, &cat)) } }
            @if !notices.is_empty() {
                h2 { "通知记录" }
                (super::notices::notice_rows(&notices, &cat, c.user.role == Role::Admin || c.sees_all()))
            }
        }
    };
    (status, page(&format!("工单 {}", a.number), Some(c), body)).into_response()
}

pub(super) async fn detail_page(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path(key): Path<String>,
    Query(q): Query<DetailQuery>,
) -> Response {
    let flash = q.ok.as_deref().map(|s| match s.strip_prefix("upload:") {
        Some(n) => format!("已上传 {} 个附件", n.parse::<u32>().unwrap_or(0)),
        None => ok_message(s).to_string(),
    });
    if let Some(m) = q.leader_case_error {
        let typed: Fields = vec![("plan".into(), q.plan.unwrap_or_default())];
        let error = Some(("leader_case".to_string(), m));
        return render_detail(&state, &c, &key, flash, error, Some(&typed)).await;
    }
    let error = q.error.map(|m| (String::new(), m));
    render_detail(&state, &c, &key, flash, error, None).await
}

pub(super) fn yes_no(s: &str) -> Option<bool> {
    match s {
        "yes" | "true" => Some(true),
        "no" | "false" => Some(false),
        _ => None,
    }
}

/// Turns an action form into the API's action body.
pub(super) fn form_to_body(f: &Fields) -> Result<Value, String> {
    let action = field(f, "action");
    let version: u64 = field(f, "version")
        .parse()
        .map_err(|_| "缺少版本号，请刷新页面后重试".to_string())?;
    let num = |name: &str, label: &str| -> Result<u32, String> {
        field(f, name).parse().map_err(|_| format!("请选择{label}"))
    };
    let nums =
        |name: &str| -> Vec<u32> { fields_all(f, name).filter_map(|s| s.parse().ok()).collect() };
    let text = |name: &str| field(f, name).to_string();
    let mut body = match action {
        "answer_at_intake" => json!({"answer": text("answer")}),
        "dispatch" => {
            json!({"lead": num("lead", "主办单位")?, "assisting": nums("assisting"), "note": text("note")})
        }
        "sign" => json!({}),
        "set_owner" => json!({"owner": num("owner", "首席服务官")?}),
        "contact" => json!({"note": text("note")}),
        "commit" => {
            json!({"commitment": {"what": text("what"), "by": text("by"), "citizen_part": Some(text("citizen_part")).filter(|s| !s.is_empty())}})
        }
        "return" => json!({"reason": text("reason")}),
        "decide_return" => {
            let accept = field(f, "decision") == "accept";
            let redispatch = if accept {
                field(f, "redispatch").parse::<u32>().ok().map(|u| {
                    let assisting: Vec<u32> = nums("redispatch_assisting")
                        .into_iter()
                        .filter(|a| *a != u)
                        .collect();
                    json!([u, assisting])
                })
            } else {
                None
            };
            json!({"accept": accept, "note": text("note"), "redispatch": redispatch})
        }
        "request_extension" => {
            let amount = num("amount", "延期时长")?;
            let unit = match field(f, "unit") {
                "calendar_days" => "calendar_days",
                "hours" => "hours",
                _ => "working_days",
            };
            json!({"limit": {unit: amount}, "reason": text("reason")})
        }
        "decide_extension" => {
            json!({"approve": field(f, "decision") == "approve", "note": text("note")})
        }
        "whistle" => json!({"units": nums("units"), "matter": text("matter")}),
        "report_in" => json!({"whistle": num("whistle", "吹哨")?, "note": text("note")}),
        "assist_opinion" => json!({"opinion": text("opinion")}),
        "reply" => json!({
            "result": text("result"),
            "reason": Some(text("reason")).filter(|s| !s.is_empty()),
            "text": text("text"),
            "petition_outcome": Some(text("petition_outcome")).filter(|s| !s.is_empty()),
            "attachments": fields_all(f, "attachments").collect::<Vec<_>>(),
        }),
        "return_visit" => json!({
            "contacted": yes_no(field(f, "contacted")).unwrap_or(false),
            "resolved": yes_no(field(f, "resolved")),
            "rating": Some(text("rating")).filter(|s| !s.is_empty()),
            "comment": text("comment"),
        }),
        "close" => json!({"note": text("note")}),
        "redo" => json!({"cause": text("cause"), "reason": text("reason")}),
        "merge" => json!({"master": text("master")}),
        "supervise" => json!({"reason": text("reason"), "note": text("note")}),
        "record_receipt" => {
            let day = bihuan_domain::time::parse_date(field(f, "received_on"))
                .map_err(|_| "请填写信访人收到文书的日期（年-月-日）".to_string())?;
            json!({"document": num("document", "文书")?, "received_on": day})
        }
        "decline" => json!({
            "ground": text("ground"),
            "reason": text("reason"),
            "route": text("route"),
            "prior": match field(f, "prior").trim() {
                "" => None,
                s => Some(s.parse::<bihuan_domain::AppealNumber>().map_err(|_| {
                    format!("原复核事项编号「{s}」格式不对，应如 2026-05-000123")
                })?),
            },
        }),
        "start_hearing" => json!({"reason": text("reason")}),
        "record_agreement" => {
            json!({"agreement": field(f, "agreement"), "parties": text("parties"), "terms": text("terms")})
        }
        "end_hearing" => json!({"note": text("note")}),
        "comment" => json!({"text": text("text")}),
        _ => return Err("未知的操作".into()),
    };
    body["action"] = json!(action);
    body["version"] = json!(version);
    Ok(body)
}

pub(super) async fn act_submit(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path(key): Path<String>,
    Form(f): Form<Fields>,
) -> Response {
    let action = field(&f, "action").to_string();
    let fail = |msg: String| (action.clone(), msg);
    if action == "request_review" {
        return review_submit(&state, &c, &key, &f).await;
    }
    let body = match form_to_body(&f) {
        Ok(b) => b,
        Err(m) => return render_detail(&state, &c, &key, None, Some(fail(m)), Some(&f)).await,
    };
    match crate::app::act_on_body(&state, &c, &key, body).await {
        Ok(next) => Redirect::to(&format!(
            "/appeals/{}?ok={}",
            next.number,
            urlencode(&action)
        ))
        .into_response(),
        // Not this user's appeal, or no such appeal: a page that says so, not the form.
        Err(e) if matches!(e.code, ErrorCode::NotYourUnit | ErrorCode::BadAppealKey) => {
            error_page(e.status, "无法操作", &e.message, Some(&c))
        }
        Err(e) => render_detail(&state, &c, &key, None, Some(fail(e.message)), Some(&f)).await,
    }
}

/// The review request form: opens the review case and goes to it.
async fn review_submit(state: &AppState, c: &Caller, key: &str, f: &Fields) -> Response {
    let fail = |m: String| ("request_review".to_string(), m);
    let parsed = (|| -> Result<(bihuan_domain::lifecycle::ReviewRequest, u64), String> {
        let version = field(f, "version")
            .parse()
            .map_err(|_| "缺少版本号，请刷新页面后重试".to_string())?;
        let requested_on = bihuan_domain::time::parse_date(field(f, "requested_on"))
            .map_err(|_| "请填写收到请求的日期（年-月-日）".to_string())?;
        let reviewer = match field(f, "reviewer") {
            "" => None,
            s => Some(UnitId(
                s.parse()
                    .map_err(|_| "请选择复查（复核）机关".to_string())?,
            )),
        };
        Ok((
            bihuan_domain::lifecycle::ReviewRequest {
                request: field(f, "request").to_string(),
                requested_on,
                reviewer,
            },
            version,
        ))
    })();
    let (req, version) = match parsed {
        Ok(x) => x,
        Err(m) => return render_detail(state, c, key, None, Some(fail(m)), Some(f)).await,
    };
    match crate::app::request_review(state, c, key, req, version).await {
        Ok(opened) => Redirect::to(&format!(
            "/appeals/{}?ok=request_review",
            opened.review.number
        ))
        .into_response(),
        Err(e) if matches!(e.code, ErrorCode::NotYourUnit | ErrorCode::BadAppealKey) => {
            error_page(e.status, "无法操作", &e.message, Some(c))
        }
        Err(e) => render_detail(state, c, key, None, Some(fail(e.message)), Some(f)).await,
    }
}

pub(super) async fn upload_submit(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path(key): Path<String>,
    mp: axum::extract::Multipart,
) -> Response {
    let a = match visible_appeal(&state, &c, &key, "操作").await {
        Ok(a) => a,
        Err(page) => return page,
    };
    let result = match crate::attachments::read_files(mp).await {
        Ok(files) => crate::attachments::store_files(&state, &c, &a, files).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(stored) => Redirect::to(&format!(
            "/appeals/{}?ok={}",
            a.number,
            urlencode(&format!("upload:{}", stored.len()))
        ))
        .into_response(),
        Err(e) => Redirect::to(&format!(
            "/appeals/{}?error={}",
            a.number,
            urlencode(&e.message)
        ))
        .into_response(),
    }
}

#[derive(Deserialize)]
pub(super) struct PreviewQuery {
    lead: Option<String>,
}

/// The deadlines a dispatch would set, shown before the dispatcher confirms.
pub(super) async fn dispatch_preview(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path(key): Path<String>,
    Query(q): Query<PreviewQuery>,
) -> Response {
    let refused = || (StatusCode::FORBIDDEN, Html("无权查看该工单".to_string())).into_response();
    // Only those who dispatch see what dispatching would do, and only for appeals they may see.
    if !matches!(c.user.role, Role::Dispatcher | Role::Admin) {
        return refused();
    }
    let Ok(r) = parse_ref(&key) else {
        return Html(String::new()).into_response();
    };
    let Ok(a) = state.store.appeal(r).await else {
        return Html(String::new()).into_response();
    };
    if !can_see(&c, &a) {
        return refused();
    }
    if q.lead.as_deref().unwrap_or("").is_empty() {
        return Html("选择主办单位后显示将产生的办理期限".to_string()).into_response();
    }
    let cat = state.store.catalog();
    let now = state.clock.now();
    let p = &a.policy;
    let due = |l: bihuan_domain::Limit| {
        l.due_from(&cat.calendar, now)
            .map(format_local)
            .unwrap_or_else(|e| bihuan_domain::DomainError::from(e).message_zh())
    };
    let reply = match p.reply_from {
        bihuan_domain::policy::ReplyClock::Dispatch => due(p.reply),
        bihuan_domain::policy::ReplyClock::Sign => format!("签收后 {}", p.reply),
    };
    Html(html! {
        "若现在交办：签收期限 " strong { (due(p.sign)) } ";答复期限 " strong { (reply) } ";退单须在 " strong { (due(p.return_window)) } " 前"
    }.into_string())
    .into_response()
}

/// The suggestions panel of an appeal: lead units with their reasons (and 直派 above the
/// threshold), categories when none is set, and open appeals about the same matter.
pub(super) fn smart_panel(s: &Value, a: &Appeal, can_direct: bool) -> Markup {
    let pct = |v: &Value| format!("{:.0}%", v.as_f64().unwrap_or(0.0) * 100.0);
    let units = s["units"].as_array().cloned().unwrap_or_default();
    let cats = s["categories"].as_array().cloned().unwrap_or_default();
    let dups = s["duplicates"].as_array().cloned().unwrap_or_default();
    let threshold = s["direct_dispatch_confidence"].as_f64().unwrap_or(1.0);
    let pending = a.status == Status::PendingDispatch;
    if !pending && dups.is_empty() {
        return html! {};
    }
    html! {
        div.panel.smart {
            h2 { (if pending { "智能派单建议" } else { "可能重复的在办工单" }) }
            @if a.status == Status::PendingDispatch {
                @if units.is_empty() {
                    p.muted { "暂无建议：派单目录和历史模型都没有匹配，请人工选择主办单位。" }
                } @else {
                    div.table-wrap { table {
                        thead { tr { th { "建议主办单位" } th { "把握" } th { "依据" } th {} } }
                        tbody { @for u in &units {
                            tr {
                                td { (u["name"].as_str().unwrap_or("")) }
                                td { (pct(&u["confidence"])) }
                                td.small { (u["reasons"].as_array().map(|r| r.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>().join(";")).unwrap_or_default()) }
                                td {
                                    @if can_direct && u["direct"].as_bool() == Some(true) {
                                        form method="post" action=(format!("/appeals/{}/act", a.number)) data-confirm=(format!("确认直派给「{}」？交办后开始计算签收和办理期限。", u["name"].as_str().unwrap_or(""))) {
                                            input type="hidden" name="action" value="dispatch";
                                            input type="hidden" name="version" value=(a.version);
                                            input type="hidden" name="lead" value=(u["unit"]);
                                            input type="hidden" name="note" value="直派（智能派单建议）";
                                            button.primary type="submit" { "直派" }
                                        }
                                    }
                                }
                            }
                        } }
                    } }
                    p.small.muted { "把握达到 " (format!("{:.0}%", threshold * 100.0)) " 的建议可一键直派；其余请在下方「交办」中选择。建议与最终交办单位都会记录，用于统计建议准确率。" }
                }
                @if a.category.is_none() && !cats.is_empty() {
                    p { "建议分类：" @for c in &cats { span.badge { (c["path"].as_str().unwrap_or("")) " " (pct(&c["confidence"])) } " " } }
                }
            }
            @if !dups.is_empty() {
                @if pending { h3 { "可能重复的在办工单" } }
                ul { @for d in &dups {
                    li {
                        a href=(format!("/appeals/{}", d["number"].as_str().unwrap_or(""))) { (d["number"].as_str().unwrap_or("")) }
                        " " (d["title"].as_str().unwrap_or("")) " · " (d["status_label"].as_str().unwrap_or(""))
                        " · 相似度 " (pct(&d["similarity"]))
                        @if d["same_caller"].as_bool() == Some(true) { strong { " · 同一诉求人重复反映" } }
                        @if let Some(why) = d["reasons"].as_array() { div.small.muted { "理由：" (why.iter().filter_map(|r| r.as_str()).collect::<Vec<_>>().join("、")) } }
                    }
                } }
                p.small.muted { "如确为同一事项，可用下方「合并」将本工单并入主工单；同一诉求人的重复诉求计入一次性化解率。" }
            } @else if s["duplicates_ready"].as_bool() == Some(false) {
                p.small.muted { "重复诉求索引正在建立，稍后刷新可见。" }
            }
        }
    }
}
