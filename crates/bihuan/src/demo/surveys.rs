//! 双提升 in the demo county: a completed third-party AI phone survey whose figures resemble the
//! seed's ("完成1232个完整测评电话,公众安全感达99.59%"), and a running one — each drawn from a
//! frame of the county's numbers by township with a seed, fielded, and called by a simulated AI
//! platform whose results arrive through the same use case as the signed webhook (each with its
//! result id). The outcomes are drawn reproducibly; the completes and the favourable answers
//! are fixed so that the figures are the seed's.

use std::sync::Arc;

use bihuan_domain::org::UnitId;
use bihuan_domain::survey::{Answer, Draw};
use bihuan_domain::time::{local_date, Instant};
use bihuan_server::surveys as uc;
use bihuan_store::Store;
use chrono::{Datelike, Duration};

use super::approvals::at;

/// What [`surveys`] made.
pub struct SurveysMade {
    pub completes: u64,
    pub safety: Option<f64>,
    pub running_completes: u64,
}

fn questions() -> serde_json::Value {
    serde_json::json!([
        {"code": "Q1", "text": "您是否在本县居住满半年？", "kind": "single", "options": ["是", "否"],
         "skip": {"answer": "否", "to": "end"}},
        {"code": "Q2", "text": "您觉得您所在地方的社会治安怎么样？", "kind": "single",
         "options": ["很安全", "比较安全", "不太安全", "很不安全"],
         "indicator": "safety", "favourable": ["很安全", "比较安全"], "raises": ["不太安全", "很不安全"]},
        {"code": "Q3", "text": "您是否知道群众有诉求可以拨打12345热线或通过“县长信箱”反映？", "kind": "single",
         "options": ["知道", "不知道"], "indicator": "policy_awareness", "favourable": ["知道"]},
        {"code": "Q4", "text": "您对本地党员干部的工作作风评价如何？", "kind": "single",
         "options": ["很好", "较好", "一般", "较差"], "indicator": "cadre_approval", "favourable": ["很好", "较好"], "raises": ["较差"]},
        {"code": "Q5", "text": "您对本地平安建设还有什么意见建议？", "kind": "open"}
    ])
}

fn a(q: &str, v: &str) -> Answer {
    Answer {
        question: q.into(),
        value: v.into(),
    }
}

pub async fn surveys(
    store: &Arc<dyn Store>,
    townships: &[UnitId],
    now: Instant,
) -> anyhow::Result<SurveysMade> {
    let catalog = store.catalog();
    let users = store.users().await?;
    let centre = super::caller_in(&users, &catalog, "dispatch1")?;
    let today = local_date(now);
    let (app, clock) = super::demo_app(store, at(today - Duration::days(75), 9)).await?;
    let state = app.state();
    let fail = |e: bihuan_server::error::ApiError| anyhow::anyhow!("{}", e.message);
    let names: Vec<String> = townships
        .iter()
        .map(|t| {
            catalog
                .org
                .get(*t)
                .map(|u| u.name.clone())
                .unwrap_or_default()
        })
        .collect();
    // The frame: the county's numbers by township (sizes as the townships' populations).
    let mut frame = String::from("电话,层\n");
    for (i, _) in townships.iter().enumerate() {
        let size = 1_200 + (i * 7_919) % 2_600;
        for k in 0..size {
            frame.push_str(&format!(
                "1{}{:09},t{:02}\n",
                3 + i % 7,
                i * 10_000 + k,
                i + 1
            ));
        }
    }
    let survey = |name: &str, target: u64| -> anyhow::Result<uc::NewSurvey> {
        Ok(serde_json::from_value(serde_json::json!({
            "name": name,
            "conducted_by": "云数智测（第三方AI电话测评）",
            "approval": {"table_no": "YX-SA-01表", "issuer": "云溪县委政法委员会",
                         "approval_no": "云统函〔2026〕12号（云溪县统计局批准）",
                         "valid_until": format!("{}-12-31", today.year() + 1)},
            "opening": "您好！我们受云溪县委、县政府委托，开展群众安全感和满意度电话测评，耽误您两分钟时间。",
            "questions": questions(),
            "strata": townships.iter().enumerate().map(|(i, _)| serde_json::json!({"code": format!("t{:02}", i + 1), "name": names[i]})).collect::<Vec<_>>(),
            "target": target
        }))?)
    };
    // The completed survey: 3,600 numbers, 1,232 completes, 1,227 feeling safe.
    let done = uc::create(
        &state,
        &centre,
        survey("2026年“双提升”第三方AI测评（第三季度）", 1_232)?,
    )
    .await
    .map_err(fail)?;
    uc::sample(
        &state,
        &centre,
        done.id,
        uc::FrameSource::File(frame.as_bytes()),
        3_600,
        20_260_701,
    )
    .await
    .map_err(fail)?;
    clock.set(at(today - Duration::days(70), 9));
    uc::field(&state, &centre, done.id).await.map_err(fail)?;
    let completes = play(
        &state,
        &clock,
        done.id,
        1_232,
        5,
        today - Duration::days(70),
        40,
        false,
    )
    .await?;
    uc::close(&state, &centre, done.id).await.map_err(fail)?;

    // The running one: this quarter, a third of the way.
    clock.set(at(today - Duration::days(12), 9));
    let running = uc::create(
        &state,
        &centre,
        survey("2026年“双提升”第三方AI测评（第四季度）", 1_200)?,
    )
    .await
    .map_err(fail)?;
    uc::sample(
        &state,
        &centre,
        running.id,
        uc::FrameSource::File(frame.as_bytes()),
        3_500,
        20_261_001,
    )
    .await
    .map_err(fail)?;
    uc::field(&state, &centre, running.id).await.map_err(fail)?;
    let running_completes = play(
        &state,
        &clock,
        running.id,
        420,
        3,
        today - Duration::days(11),
        10,
        true,
    )
    .await?;
    // The respondents of the running survey who felt unsafe agreed to be called back: their
    // appeals came in through the loop; the centre sent those of earlier days to the township.
    let raised = uc::cases(&state, &centre, running.id)
        .await
        .map_err(fail)?
        .into_iter()
        .filter_map(|c| c.appeal)
        .collect::<Vec<_>>();
    let dispatcher = super::caller_in(&users, &catalog, "dispatch1")?;
    for number in raised.iter().take(raised.len().saturating_sub(1)) {
        let appeal = state
            .store
            .appeal(bihuan_store::AppealRef::Number(
                number.parse().map_err(|e: String| anyhow::anyhow!(e))?,
            ))
            .await?;
        let Some(lead) = appeal.place.township else {
            continue;
        };
        clock.set(appeal.registered_at + Duration::hours(1));
        bihuan_server::app::act(
            &state,
            &dispatcher,
            number,
            bihuan_domain::Command::Dispatch {
                lead,
                assisting: vec![],
                note: "满意度测评中受访者反映不安全，请乡镇核实并回访".into(),
            },
            appeal.version,
        )
        .await
        .map_err(fail)?;
    }
    let v = uc::survey(&state, &centre, done.id).await.map_err(fail)?;
    let safety = v
        .results
        .iter()
        .find(|r| r.indicator == bihuan_domain::survey::Indicator::Safety)
        .and_then(|r| r.unweighted.map(|e| e.value));
    Ok(SurveysMade {
        completes,
        safety,
        running_completes,
    })
}

/// The simulated AI platform: calls every case over `days` from `from`, `completes` of them to
/// the end (`unsafe_` of those answering 不太安全), the others refusing, not answering or not
/// eligible; each result applied with its own result id, as the webhook applies them.
#[allow(clippy::too_many_arguments)]
async fn play(
    state: &bihuan_server::AppState,
    clock: &bihuan_server::ManualClock,
    id: u64,
    completes: usize,
    unsafe_: usize,
    from: chrono::NaiveDate,
    days: i64,
    raise: bool,
) -> anyhow::Result<u64> {
    let fail = |e: bihuan_server::error::ApiError| anyhow::anyhow!("{}", e.message);
    let ai = uc::system_caller(state);
    let cases = uc::cases(state, &ai, id).await.map_err(fail)?;
    let n = cases.len();
    let mut draw = Draw::new(id * 7_777 + 1);
    let chosen: std::collections::HashSet<usize> =
        draw.choose(n, completes.min(n)).into_iter().collect();
    // Which completes answer 不太安全: spread evenly over the fieldwork.
    let unsafe_at: Vec<u64> = (0..unsafe_ as u64)
        .map(|j| (2 * j + 1) * completes as u64 / (2 * unsafe_.max(1) as u64))
        .collect();
    let mut made = 0u64;
    for (k, c) in cases.iter().enumerate() {
        // Spread over the fielding days, in the calling windows.
        let day = from + Duration::days((k as i64 * days) / n.max(1) as i64);
        let minute = (k % 150) as i64 * 2;
        clock.set(at(day, 9) + Duration::minutes(minute));
        let result = |no: usize| Some(format!("ai-{id}-{}-{no}", c.id));
        let body = |d: &str, answers: Vec<Answer>, raise: bool| uc::CallBody {
            disposition: d.into(),
            answers,
            consent: raise,
            callback: None,
            note: String::new(),
        };
        if chosen.contains(&k) {
            let r = draw.next_u64();
            let felt_unsafe = unsafe_at.contains(&made);
            // Those who felt unsafe agree to be called back in the running survey.
            let consent = felt_unsafe && raise;
            let safety = if felt_unsafe {
                "不太安全"
            } else if r.is_multiple_of(3) {
                "比较安全"
            } else {
                "很安全"
            };
            let answers = vec![
                a("Q1", "是"),
                a("Q2", safety),
                a("Q3", if r % 29 == 1 { "不知道" } else { "知道" }),
                a(
                    "Q4",
                    [
                        "很好", "较好", "很好", "较好", "很好", "较好", "很好", "较好", "一般",
                        "很好", "较好",
                    ][(r / 7 % 11) as usize],
                ),
                a(
                    "Q5",
                    if r.is_multiple_of(11) {
                        "希望晚上多巡逻"
                    } else {
                        ""
                    },
                ),
            ];
            let answers: Vec<Answer> = answers
                .into_iter()
                .filter(|x| !x.value.is_empty())
                .collect();
            // Some were reached only at the second call.
            if r.is_multiple_of(4) {
                uc::call(
                    state,
                    &ai,
                    id,
                    c.id,
                    body("no_answer", vec![], false),
                    result(1),
                )
                .await
                .map_err(fail)?;
                clock.set(at(day, 15) + Duration::minutes(minute));
            }
            uc::call(
                state,
                &ai,
                id,
                c.id,
                body("complete", answers, consent),
                result(2),
            )
            .await
            .map_err(fail)?;
            made += 1;
            continue;
        }
        let r = draw.next_u64() % 100;
        let d = match r {
            0..=29 => "refusal",
            30..=37 => "break_off",
            38..=49 => "non_working",
            50..=54 => "no_eligible_respondent",
            55..=64 => "answering_machine",
            _ => "no_answer",
        };
        uc::call(state, &ai, id, c.id, body(d, vec![], false), result(1))
            .await
            .map_err(fail)?;
    }
    Ok(made)
}
