//! The text of a petition's written notices (信访工作条例 Arts 23, 32, 34, 35): built from the
//! step that issued the notice and the appeal, so a notice issued once always reads the same;
//! a correction is a later step with a notice of its own.
//!
//! Each notice carries what the regulation asks of it: the request, the facts and reasons, the
//! decision and its legal basis, and the route of review with its deadline — counted from the
//! day the petitioner received it, once that day is recorded.

use crate::calendar::Calendar;
use crate::lifecycle::{Appeal, DeclineGround, DocumentKind, Event, IssuedDocument};
use crate::time::{format_local, local_date};

/// A notice ready to print: its title, number and labelled fields, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentText {
    pub title: &'static str,
    /// 文书编号: the appeal number, the kind and the issuing step (unique per appeal).
    pub number: String,
    pub fields: Vec<(&'static str, String)>,
}

fn code(kind: DocumentKind) -> &'static str {
    match kind {
        DocumentKind::Acceptance => "受",
        DocumentKind::Extension => "延",
        DocumentKind::Opinion => "意",
        DocumentKind::NonAcceptance => "不",
        DocumentKind::RecheckOpinion => "查",
        DocumentKind::RereviewOpinion => "核",
        DocumentKind::MisroutingObjection => "异",
        DocumentKind::MediationAgreement => "调",
        DocumentKind::SettlementAgreement => "和",
    }
}

/// The text of `doc`, issued by `event` (the step of appeal version `doc.version`).
/// `petitioner` is the name as this reader may see it; `unit` the issuing unit's name.
pub fn text(
    a: &Appeal,
    doc: &IssuedDocument,
    event: &Event,
    petitioner: &str,
    unit: &str,
    cal: &Calendar,
) -> DocumentText {
    let issued = local_date(doc.issued_at);
    let mut fields: Vec<(&'static str, String)> = vec![
        ("信访人", petitioner.to_string()),
        ("信访事项编号", a.number.to_string()),
        ("登记日期", local_date(a.registered_at).to_string()),
        (
            "信访请求",
            format!("{}。{}", a.title.trim_end_matches('。'), a.content),
        ),
    ];
    match (doc.kind, event) {
        (DocumentKind::Acceptance, Event::Signed { reply_due, .. }) => {
            fields.push((
                "受理决定",
                "经审查，你反映的信访事项属于本机关法定职权范围，符合受理条件，决定予以受理。"
                    .into(),
            ));
            fields.push(("依据", "《信访工作条例》第二十二条、第二十三条。".into()));
            fields.push((
                "办理期限",
                match reply_due {
                    Some(due) => format!(
                        "本机关将自受理之日起60日内、即 {} 前办结（第三十四条），并出具信访处理意见书。",
                        format_local(*due)
                    ),
                    None => "本机关将自受理之日起60日内办结（第三十四条），并出具信访处理意见书。".into(),
                },
            ));
        }
        (DocumentKind::Extension, Event::ExtensionApproved { note, new_due }) => {
            fields.push(("延期理由", note.clone()));
            fields.push(("延长后的办结期限", format_local(*new_due)));
            fields.push((
                "依据",
                "《信访工作条例》第三十四条：情况复杂的，经本机关负责人批准，可以适当延长办理期限，但延长期限不得超过30日，并告知信访人延期理由。"
                    .into(),
            ));
        }
        (DocumentKind::NonAcceptance, Event::Declined { declined }) => {
            fields.push((
                "不予受理决定",
                format!(
                    "经审查，你反映的信访事项{}，决定不予受理。",
                    declined.ground.label()
                ),
            ));
            let mut reason = declined.reason.clone();
            if let Some(n) = declined.prior {
                reason.push_str(&format!("（已复核终结的信访事项：{n}）"));
            }
            fields.push(("理由", reason));
            fields.push(("告知途径", declined.route.clone()));
            fields.push((
                "依据",
                match declined.ground {
                    DeclineGround::NotOurRemit | DeclineGround::AlreadyHandled => {
                        "《信访工作条例》第二十三条。"
                    }
                    DeclineGround::StatutoryRoute => "《信访工作条例》第二十三条、第三十一条。",
                    DeclineGround::FinalAfterReview => {
                        "《信访工作条例》第三十六条：信访人对复核意见不服，仍以同一事实和理由提出信访请求的，不再受理。"
                    }
                }
                .into(),
            ));
        }
        (
            DocumentKind::MediationAgreement | DocumentKind::SettlementAgreement,
            Event::AgreementRecorded {
                agreement,
                parties,
                terms,
            },
        ) => {
            fields.push(("当事人", parties.clone()));
            fields.push(("协议内容", terms.clone()));
            fields.push((
                "协议方式",
                match agreement {
                    crate::lifecycle::AgreementKind::Mediation => {
                        "经本机关在裁量权范围内、经争议双方当事人同意进行调解，双方自愿达成一致意见。"
                    }
                    crate::lifecycle::AgreementKind::Settlement => {
                        "经本机关引导，争议双方当事人自愿和解，达成一致意见。"
                    }
                }
                .into(),
            ));
            fields.push((
                "依据",
                "《信访工作条例》第三十三条：在处理申诉求决类事项过程中，可以在不违反政策法规强制性规定的情况下，在裁量权范围内，经争议双方当事人同意进行调解；可以引导争议双方当事人自愿和解。经调解、和解达成一致意见的，应当制作调解协议书或者和解协议书。"
                    .into(),
            ));
            fields.push((
                "效力",
                "本协议书经双方当事人签字（盖章）后生效，双方应当按约履行。".into(),
            ));
        }
        (DocumentKind::MisroutingObjection, Event::ReturnRequested { reason, .. }) => {
            fields.push(("收文机关", "交办的信访工作机构".into()));
            fields.push((
                "异议",
                "经审查，交办本机关的上述信访事项不属于本机关职权范围，特此书面告知并说明理由，请重新交办。"
                    .into(),
            ));
            fields.push(("理由", reason.clone()));
            fields.push((
                "依据",
                "《信访工作条例》第二十三条：对不属于本机关、单位或者本系统职权范围的信访事项，应当自收到之日起5个工作日内书面告知信访部门，说明理由。"
                    .into(),
            ));
        }
        (
            DocumentKind::Opinion | DocumentKind::RecheckOpinion | DocumentKind::RereviewOpinion,
            Event::Replied { reply, .. },
        ) => {
            let mut facts = reply.text.clone();
            if let Some(r) = &reply.reason {
                facts.push_str(&format!("（{r}）"));
            }
            fields.push(("事实和理由", facts));
            fields.push((
                "处理意见",
                format!(
                    "{}（{}）",
                    reply.petition_outcome.map(|o| o.label()).unwrap_or("—"),
                    reply.result.label()
                ),
            ));
            if let Some(r) = &a.review {
                fields.push((
                    "原信访事项",
                    format!(
                        "{}（{}请求于 {} 收到）",
                        r.of_number,
                        r.stage.label(),
                        r.requested_on
                    ),
                ));
            }
            for h in a.hearings.iter().filter(|h| h.started_at < doc.issued_at) {
                if let Some(end) = h.ended_at {
                    fields.push((
                        "听证",
                        format!(
                            "{} 至 {} 举行听证（{}），共{}日，不计入办理期限（第三十六条）。",
                            local_date(h.started_at),
                            local_date(end),
                            h.reason,
                            h.days
                        ),
                    ));
                }
            }
            let (basis, next) = match doc.kind {
                DocumentKind::Opinion => ("《信访工作条例》第三十二条、第三十四条。", Some("复查")),
                DocumentKind::RecheckOpinion => ("《信访工作条例》第三十五条。", Some("复核")),
                _ => ("《信访工作条例》第三十六条。", None),
            };
            fields.push(("依据", basis.into()));
            match next {
                Some(stage) => {
                    let window = match doc.received_on {
                        Some(got) => match cal.calendar_days_period(got, 30) {
                            Ok(end) => format!(
                                "本意见书于 {got} 送达，{stage}请求须于 {end} 前（含当日）提出。"
                            ),
                            Err(_) => format!("本意见书于 {got} 送达。"),
                        },
                        None => format!("送达日期登记后，此处写明{stage}请求的截止日期。"),
                    };
                    let article = if stage == "复查" { "第三十五条" } else { "第三十六条" };
                    fields.push((
                        if stage == "复查" { "复查途径和期限" } else { "复核途径和期限" },
                        format!(
                            "信访人对本意见不服的，可以自收到本意见书之日起30日内请求{}的上一级机关{stage}（《信访工作条例》{article}）。{window}",
                            if stage == "复查" { "原办理机关" } else { "复查机关" }
                        ),
                    ));
                }
                None => fields.push((
                    "终结说明",
                    "本复核意见为终结意见。信访人对复核意见不服，仍以同一事实和理由提出信访请求的，不再受理（《信访工作条例》第三十六条）。"
                        .into(),
                )),
            }
        }
        // A kind and a step that do not belong together: the fields above only.
        _ => {}
    }
    fields.push(("出具单位", unit.to_string()));
    fields.push(("出具日期", issued.to_string()));
    fields.push((
        "送达日期",
        doc.received_on
            .map(|d| d.to_string())
            .unwrap_or_else(|| "尚未登记".into()),
    ));
    DocumentText {
        title: doc.kind.label(),
        number: format!("{}-{}-{}", a.number, code(doc.kind), doc.version),
        fields,
    }
}
