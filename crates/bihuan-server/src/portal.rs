//! `/portal`: the public web channel (一平台集成汇聚; 信访工作条例 Art 21). A citizen or an
//! enterprise submits an appeal from a phone without an account, receives the appeal number and
//! a query code, looks up progress and the reply with the two, and rates the reply — which is
//! recorded as a return visit through the domain's own command, so the centre sees it in its
//! visits queue like any other.
//!
//! Abuse is held off by a question a person answers at a glance (signed, so the server keeps no
//! state), a field people never see (filled only by robots), a shortest time to fill the form,
//! and per-address limits on submissions and look-ups. What the page shows of an appeal is what
//! the citizen wrote (masked where it holds phone or ID numbers), the units, dates and the
//! public reply — never an officer's name or another person's data.

use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use bihuan_domain::appeal::{mask_free_text, Citizen, Phone, Place};
use bihuan_domain::lifecycle::{
    Actor, Appeal, Command, Event, EventRecord, NewAppeal, Rating, ReturnVisit, Status,
};
use bihuan_domain::org::{UnitId, UnitKind};
use bihuan_domain::portal::{self, PortalCommand, PortalTicket};
use bihuan_domain::time::format_local;
use bihuan_domain::{AppealNumber, Channel, Kind, Urgency, UserId};
use bihuan_store::{aggregates, AppealRef};
use maud::{html, Markup, DOCTYPE};
use rand::Rng;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::security::ClientAddr;
use crate::AppState;

type Fields = Vec<(String, String)>;

fn field<'a>(f: &'a Fields, name: &str) -> &'a str {
    f.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .unwrap_or("")
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/portal", get(portal_page))
        .route("/portal/submit", post(submit_form))
        .route("/portal/track", post(track_form))
        .route("/portal/rate", post(rate_form))
        .route("/portal/approvals", get(approvals_page))
        .route("/portal/approvals/track", post(approvals_track))
        .route("/portal/approvals/{id}", get(approvals_guide))
        .route(
            "/portal/approvals/answer",
            post(approvals_answer).layer(axum::extract::DefaultBodyLimit::max(
                crate::approvals::MATERIALS_LIMIT,
            )),
        )
}

/// The portal's secret, limits and counters.
pub struct PortalGuard {
    key: [u8; 32],
    submissions: crate::throttle::AddressLimit,
    lookups: crate::throttle::AddressLimit,
}

impl PortalGuard {
    /// With the configured secret, or a random one (then a form is accepted only by the server
    /// that served it: set `portal_secret` when several servers share the address).
    pub fn new(secret: &str) -> PortalGuard {
        let key = if secret.is_empty() {
            rand::thread_rng().gen()
        } else {
            Sha256::digest(secret.as_bytes()).into()
        };
        PortalGuard {
            key,
            submissions: Default::default(),
            lookups: Default::default(),
        }
    }
}

/// HMAC-SHA256 (RFC 2104).
fn hmac(key: &[u8; 32], msg: &[u8]) -> [u8; 32] {
    let mut ipad = [0x36u8; 64];
    let mut opad = [0x5cu8; 64];
    for (i, k) in key.iter().enumerate() {
        ipad[i] ^= k;
        opad[i] ^= k;
    }
    let inner = Sha256::new()
        .chain_update(ipad)
        .chain_update(msg)
        .finalize();
    Sha256::new()
        .chain_update(opad)
        .chain_update(inner)
        .finalize()
        .into()
}

/// A question for the form and the token that lets the server check the answer later.
struct Challenge {
    question: String,
    token: String,
}

const NUMERALS: [&str; 10] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];

fn new_challenge(g: &PortalGuard, now_secs: i64) -> Challenge {
    let mut rng = rand::thread_rng();
    let (a, b): (u32, u32) = (rng.gen_range(1..10), rng.gen_range(1..10));
    let nonce: [u8; 12] = rng.gen();
    let nonce = hex::encode(nonce);
    let mac = hmac(&g.key, format!("{now_secs}.{nonce}.{}", a + b).as_bytes());
    Challenge {
        question: format!("{}加{}等于几？", NUMERALS[a as usize], NUMERALS[b as usize]),
        token: format!("{now_secs}.{nonce}.{}", hex::encode(mac)),
    }
}

/// Full-width digits as typed on many phones count like ASCII ones.
fn digits(s: &str) -> String {
    s.trim()
        .chars()
        .map(|c| match c {
            '０'..='９' => char::from(b'0' + (c as u32 - '０' as u32) as u8),
            c => c,
        })
        .collect()
}

/// Checks a token and its answer; the token's nonce on success.
fn check_challenge(
    g: &PortalGuard,
    token: &str,
    answer: &str,
    now_secs: i64,
    min_fill: u64,
) -> Result<String, &'static str> {
    let mut parts = token.splitn(3, '.');
    let (Some(issued), Some(nonce), Some(mac)) = (parts.next(), parts.next(), parts.next()) else {
        return Err("表单已失效，请重新提交。");
    };
    let Ok(issued_secs) = issued.parse::<i64>() else {
        return Err("表单已失效，请重新提交。");
    };
    let Ok(answer) = digits(answer).parse::<u32>() else {
        return Err("请回答验证问题（填写数字）。");
    };
    let want = hex::encode(hmac(
        &g.key,
        format!("{issued}.{nonce}.{answer}").as_bytes(),
    ));
    if !portal::same_secret(&want, mac) {
        return Err("验证问题回答不对，请重新计算后填写。");
    }
    let age = now_secs - issued_secs;
    if age < min_fill as i64 {
        return Err("提交太快了，请核对内容后再提交。");
    }
    if age > 2 * 3600 {
        return Err("页面停留时间过长，验证问题已过期：请回答新的问题后再提交。");
    }
    Ok(nonce.to_string())
}

/// The query code of a submission: derived from the form's nonce, so a form sent twice gets the
/// same appeal (the idempotency key) and the same code.
fn query_code(g: &PortalGuard, nonce: &str) -> String {
    let mac = hmac(&g.key, format!("query-code.{nonce}").as_bytes());
    let n = u64::from_be_bytes(mac[..8].try_into().expect("8 bytes")) % 100_000_000;
    format!("{n:08}")
}

/// The server acting for a citizen on the portal.
fn portal_actor(state: &AppState, name: &str) -> Actor {
    Actor {
        user: UserId(0),
        name: name.into(),
        ..crate::scanner::system_actor(state)
    }
}

fn portal_frame(title: &str, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · 12345 网上诉求" }
                link rel="stylesheet" href="/assets/app.css";
            }
            body.portal {
                header.top { a.brand href="/portal" { "12345 网上诉求" } span.small { "有诉即办 · 全程可查" } }
                main.portal { (body) }
                footer.portal.small.muted { p { "紧急情况请拨打 110、119、120。诉求受理后，承办单位一般在 5 个工作日内答复。" } }
            }
        }
    };
    let mut r = axum::response::Html(markup.into_string()).into_response();
    // A page may hold a query code: never kept by a shared cache or the browser's history.
    r.headers_mut()
        .insert(header::CACHE_CONTROL, "no-store".parse().expect("header"));
    r
}

const KINDS: [Kind; 4] = [
    Kind::Complaint,
    Kind::Help,
    Kind::Suggestion,
    Kind::Consultation,
];

/// The county's townships (街道), id and name, for the public forms and Open311.
pub(crate) fn townships(state: &AppState) -> Vec<(UnitId, String)> {
    state
        .store
        .catalog()
        .org
        .units()
        .filter(|u| u.kind == UnitKind::Township)
        .map(|u| (u.id, u.name.clone()))
        .collect()
}

fn submit_section(state: &AppState, typed: Option<&Fields>, error: Option<&str>) -> Markup {
    let v = |n: &str| typed.map(|f| field(f, n).to_string()).unwrap_or_default();
    let ch = new_challenge(&state.portal, state.clock.now().timestamp());
    let kind = v("kind");
    let town = v("township");
    html! {
        section.panel #submit {
            h1 { "我要反映" }
            p.small.muted { "带 * 的必须填写。提交后会显示诉求编号和查询码，请记下，用于查询办理进度和评价答复。" }
            @if let Some(e) = error { div.error role="alert" { (e) } }
            form.stack method="post" action="/portal/submit" {
                input type="hidden" name="token" value=(ch.token);
                // Robots fill every field; people never see this one.
                div.hp aria-hidden="true" { label { "网址（请勿填写）" input type="text" name="website" tabindex="-1" autocomplete="off"; } }
                label for="p-kind" { "诉求类型 *" }
                select #p-kind name="kind" required {
                    @for k in KINDS { option value=(k.code()) selected[kind == k.code()] { (k.label()) } }
                }
                label for="p-title" { "标题 *" }
                input #p-title type="text" name="title" required maxlength="200" placeholder="一句话说明问题，如：某某路路灯不亮" value=(v("title"));
                label for="p-content" { "具体内容 *" }
                textarea #p-content name="content" required maxlength="10000" placeholder="发生了什么、从什么时候开始、希望怎样解决" { (v("content")) }
                label for="p-town" { "所在乡镇（街道）" }
                select #p-town name="township" {
                    option value="" { "不清楚" }
                    @for (id, name) in townships(state) { option value=(id.0) selected[town == id.0.to_string()] { (name) } }
                }
                label for="p-address" { "详细地点" }
                input #p-address type="text" name="address" maxlength="500" placeholder="村（社区）、路名门牌或附近标志" value=(v("address"));
                label for="p-name" { "姓名（可不填）" }
                input #p-name type="text" name="name" maxlength="100" autocomplete="name" value=(v("name"));
                label for="p-phone" { "手机号码（用于回访和短信告知，可不填）" }
                input #p-phone type="tel" name="phone" maxlength="20" autocomplete="tel" inputmode="tel" value=(v("phone"));
                label for="p-org" { "企业名称（企业反映时填写）" }
                input #p-org type="text" name="organisation" maxlength="200" placeholder="如：云溪县某某实业有限公司" value=(v("organisation"));
                label for="p-answer" { "验证：" (ch.question) " *" }
                input #p-answer type="text" name="answer" required inputmode="numeric" maxlength="3" autocomplete="off";
                p { button.primary type="submit" { "提交诉求" } }
            }
        }
    }
}

fn track_section(number: &str, error: Option<&str>) -> Markup {
    html! {
        section.panel #track {
            h1 { "查询进度" }
            @if let Some(e) = error { div.error role="alert" { (e) } }
            form.stack method="post" action="/portal/track" {
                label for="t-number" { "诉求编号" }
                input #t-number type="text" name="number" required placeholder="如 2026-12-000123" value=(number) autocomplete="off";
                label for="t-code" { "查询码（8位数字）" }
                input #t-code type="text" name="code" required inputmode="numeric" maxlength="8" autocomplete="off";
                p { button.primary type="submit" { "查询" } }
            }
        }
    }
}

async fn portal_page(State(state): State<AppState>) -> Response {
    portal_frame(
        "反映诉求",
        html! {
            (submit_section(&state, None, None))
            (track_section("", None))
            p.small { a href="/portal/approvals" { "企业和群众办事：一件事一次办的办事指南与进度查询" } }
        },
    )
}

fn refused(state: &AppState, f: &Fields, message: &str) -> Response {
    let mut r = portal_frame(
        "网上诉求",
        html! { (submit_section(state, Some(f), Some(message))) (track_section("", None)) },
    );
    *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    r
}

/// One look-up by `addr` (an appeal's or an application's progress, an answer to a notice),
/// or the page that says to wait when the address has made too many.
fn lookup_limited(state: &AppState, addr: std::net::IpAddr) -> Option<Response> {
    state
        .portal
        .lookups
        .hit(
            addr,
            state.config.portal_lookups_per_10min,
            Duration::from_secs(600),
            std::time::Instant::now(),
        )
        .err()
        .map(|wait| too_many(wait, "查询"))
}

fn too_many(wait: Duration, what: &str) -> Response {
    let mins = wait.as_secs().div_ceil(60).max(1);
    let mut r = portal_frame(
        "请稍后再试",
        html! { section.panel { h1 { "请稍后再试" } p { "本机" (what) "次数过多，请 " (mins) " 分钟后再试。紧急情况请拨打 12345。" } p { a href="/portal" { "返回" } } } },
    );
    *r.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    r.headers_mut().insert(
        header::RETRY_AFTER,
        wait.as_secs().max(1).to_string().parse().expect("header"),
    );
    r
}

/// The citizen's form as the domain's intake, or what to correct.
fn new_appeal(state: &AppState, f: &Fields) -> Result<NewAppeal, String> {
    let kind = Kind::parse(field(f, "kind"))
        .filter(|k| KINDS.contains(k))
        .ok_or("请选择诉求类型。")?;
    let township = match field(f, "township") {
        "" => None,
        t => Some(
            t.parse()
                .ok()
                .map(UnitId)
                .filter(|u| townships(state).iter().any(|(id, _)| id == u))
                .ok_or("请从列表中选择乡镇（街道）。")?,
        ),
    };
    let phone = match field(f, "phone") {
        "" => None,
        p => Some(Phone::parse(p).map_err(|_| {
            "手机号码格式不对：请填写 5 至 20 位数字（可带 +、空格或短横线），或不填。".to_string()
        })?),
    };
    let opt = |n: &str| Some(field(f, n).to_string()).filter(|s| !s.is_empty());
    Ok(NewAppeal {
        accused_units: vec![],
        accused_persons: vec![],
        group: None,
        forwarded_from: None,
        repeat_of: None,
        channel: if opt("organisation").is_some() {
            Channel::EnterpriseService
        } else {
            Channel::Web
        },
        kind,
        urgency: Urgency::Normal,
        category: None,
        title: field(f, "title").to_string(),
        content: field(f, "content").to_string(),
        place: Place {
            address: field(f, "address").to_string(),
            township,
            ..Place::default()
        },
        citizen: Citizen {
            name: opt("name"),
            phone,
            organisation: opt("organisation"),
        },
    })
}

async fn submit_form(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    Form(f): Form<Fields>,
) -> Response {
    if !field(&f, "website").is_empty() {
        // A robot: answered like a refusal, nothing registered.
        return refused(&state, &f, "提交未成功，请刷新页面后重新填写。");
    }
    let now = state.clock.now();
    let nonce = match check_challenge(
        &state.portal,
        field(&f, "token"),
        field(&f, "answer"),
        now.timestamp(),
        state.config.portal_min_fill_secs,
    ) {
        Ok(n) => n,
        Err(m) => return refused(&state, &f, m),
    };
    if let Err(wait) = state.portal.submissions.hit(
        addr,
        state.config.portal_submissions_per_hour,
        Duration::from_secs(3600),
        std::time::Instant::now(),
    ) {
        return too_many(wait, "提交诉求");
    }
    let new = match new_appeal(&state, &f) {
        Ok(n) => n,
        Err(m) => return refused(&state, &f, &m),
    };
    let actor = portal_actor(&state, "网上诉求平台");
    let registered = state
        .store
        .register(new, actor.clone(), now, Some(format!("portal:{nonce}")))
        .await;
    let r = match registered {
        Ok(r) => r,
        Err(e) => {
            let e = ApiError::from(e);
            return refused(&state, &f, &with_full_stop(&e.message));
        }
    };
    let a = &r.appeal;
    let code = query_code(&state.portal, &nonce);
    if r.created {
        state.ops.count_action("register");
        state.smart.note_registered(a);
        tracing::info!(appeal = %a.number, channel = "portal", "registered");
        let issued = aggregates::execute::<PortalTicket>(
            state.store.as_ref(),
            None,
            PortalCommand::Issue {
                appeal: a.id,
                number: a.number,
                code_digest: portal::code_digest(a.number, &code),
            },
            actor,
            now,
            Some(0),
        )
        .await;
        if let Err(e) = issued {
            tracing::error!(appeal = %a.number, error = %e, "query code not stored");
            return portal_frame(
                "已受理",
                html! { section.panel { h1 { "诉求已受理" } p { "诉求编号：" strong { (a.number) } } div.error { "查询码生成失败，请记下编号并拨打 12345 查询进度。" } } },
            );
        }
    }
    portal_frame(
        "已受理",
        html! {
            section.panel.receipt {
                h1 { "诉求已受理" }
                p { "我们已收到您的" (a.kind.label()) "，将按规定时限交办承办单位办理。" }
                dl.facts {
                    dt { "诉求编号" } dd { strong.code #receipt-number { (a.number) } }
                    dt { "查询码" } dd { strong.code #receipt-code { (code) } }
                    dt { "受理时间" } dd { (format_local(a.registered_at)) }
                }
                p.small { "请截图或抄下编号和查询码：凭这两项可随时查询办理进度、查看答复并评价。查询码不会再次显示。" }
                @if !r.created { p.small.muted { "（这份诉求此前已提交过，未重复登记。）" } }
                form method="post" action="/portal/track" {
                    input type="hidden" name="number" value=(a.number);
                    input type="hidden" name="code" value=(code);
                    button.primary type="submit" { "查看进度" }
                }
            }
        },
    )
}

fn with_full_stop(m: &str) -> String {
    let m = m.trim_end_matches(['.', '。']);
    format!("{m}。")
}

/// The appeal a number and code open, or the one message for any mismatch (which does not say
/// whether the number exists).
async fn open_ticket(
    state: &AppState,
    addr: std::net::IpAddr,
    f: &Fields,
) -> Result<Appeal, Response> {
    let number_text = field(f, "number");
    let code = digits(field(f, "code"));
    let again = |m: &str| {
        let mut r = portal_frame("查询进度", track_section(number_text, Some(m)));
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        r
    };
    if let Some(r) = lookup_limited(state, addr) {
        return Err(r);
    }
    let Ok(number) = number_text.parse::<AppealNumber>() else {
        return Err(again(
            "诉求编号格式不对：应为「年-月-六位序号」，如 2026-12-000123。",
        ));
    };
    if !portal::code_well_formed(&code) {
        return Err(again("查询码为 8 位数字，请核对后重新输入。"));
    }
    let mismatch = "编号或查询码不对，请核对后重新输入。只有在本网站提交的诉求可以在此查询。";
    let ticket =
        aggregates::find::<PortalTicket>(state.store.as_ref(), "number", &number.to_string(), 0, 1)
            .await
            .ok()
            .and_then(|mut v| v.pop());
    match ticket {
        Some(t) if portal::code_matches(&t.state, &code) => state
            .store
            .appeal(AppealRef::Id(t.state.appeal))
            .await
            .map_err(|_| again("暂时无法读取这件诉求，请稍后再试。")),
        _ => Err(again(mismatch)),
    }
}

/// The milestones a citizen sees: dates and units, no officer's name.
/// What the public is told of one step: its label and a sentence with no personal data and no
/// official's name (the portal's timeline, Open311's updates). `None`: not shown.
pub(crate) fn public_step(event: &Event, state: &AppState) -> Option<(&'static str, String)> {
    let cat = state.store.catalog();
    let unit = |u: UnitId| cat.org.get(u).map(|x| x.name.clone()).unwrap_or_default();
    Some(match event {
        Event::Registered { .. } => ("受理", "诉求已登记".to_string()),
        Event::AnsweredAtIntake { .. } => ("答复", "已当场答复".to_string()),
        Event::Dispatched { lead, .. } => ("交办", format!("交 {} 办理", unit(*lead))),
        Event::Signed { .. } => ("签收", "承办单位已签收".to_string()),
        Event::Contacted { .. } => ("联系", "承办单位已与您联系".to_string()),
        Event::ReturnAccepted { .. } => ("改派", "重新确定承办单位".to_string()),
        Event::ExtensionApproved { new_due, .. } => {
            ("延期", format!("经批准延期至 {}", format_local(*new_due)))
        }
        Event::Replied { .. } => ("答复", "承办单位已答复".to_string()),
        Event::Visited { .. } => ("回访", "已回访".to_string()),
        Event::RedoOrdered { .. } => ("重办", "退回承办单位重新办理".to_string()),
        Event::Closed { .. } => ("办结", "诉求已办结".to_string()),
        Event::MergedInto { number, .. } => ("合并", format!("与同一事项的诉求 {number} 合并办理")),
        _ => return None,
    })
}

fn public_steps(history: &[EventRecord], state: &AppState) -> Vec<(String, &'static str, String)> {
    history
        .iter()
        .filter_map(|r| {
            let (label, detail) = public_step(&r.event, state)?;
            Some((format_local(r.at), label, detail))
        })
        .collect()
}

fn progress(
    state: &AppState,
    a: &Appeal,
    history: &[EventRecord],
    code: &str,
    note: Option<&str>,
) -> Markup {
    let cat = state.store.catalog();
    let unit = |u: Option<UnitId>| {
        u.and_then(|u| cat.org.get(u))
            .map(|x| x.name.clone())
            .unwrap_or_else(|| "—".into())
    };
    let public_status = match a.status {
        Status::PendingDispatch | Status::Returned => "待交办",
        Status::Dispatched | Status::InProgress => "办理中",
        Status::Replied => "已答复，待评价",
        Status::Visited => "已评价，待办结",
        Status::Closed => "已办结",
        Status::Merged => "已合并办理",
    };
    html! {
        section.panel #progress {
            h1 { "诉求 " (a.number) }
            @if let Some(n) = note { div.flash { (n) } }
            dl.facts {
                dt { "状态" } dd { span.badge { (public_status) } }
                dt { "类型" } dd { (a.kind.label()) }
                dt { "标题" } dd { (mask_free_text(&a.title)) }
                dt { "受理时间" } dd { (format_local(a.registered_at)) }
                dt { "承办单位" } dd { (unit(a.lead)) }
                @if let (Some(due), Status::Dispatched | Status::InProgress) = (a.deadlines.reply, a.status) { dt { "答复期限" } dd { (format_local(due)) } }
            }
            @if let Some(r) = &a.reply {
                h2 { "答复" }
                p { span.badge { (r.result.label()) } }
                p.content { (mask_free_text(&r.text)) }
            }
            h2 { "办理过程" }
            ol.timeline { @for (at, label, detail) in public_steps(history, state) { li { strong { (label) } " " span.muted.small { (at) } div { (detail) } } } }
            @if a.status == Status::Replied {
                h2 #rate { "评价答复" }
                form.stack method="post" action="/portal/rate" {
                    input type="hidden" name="number" value=(a.number);
                    input type="hidden" name="code" value=(code);
                    fieldset { legend { "问题解决了吗？ *" }
                        label.inline { input type="radio" name="resolved" value="yes" required; " 已解决" }
                        label.inline { input type="radio" name="resolved" value="no"; " 未解决" }
                    }
                    fieldset { legend { "对办理结果满意吗？ *" }
                        label.inline { input type="radio" name="rating" value="satisfied" required; " 满意" }
                        label.inline { input type="radio" name="rating" value="basic"; " 基本满意" }
                        label.inline { input type="radio" name="rating" value="unsatisfied"; " 不满意" }
                    }
                    label for="r-comment" { "意见建议（可不填）" }
                    textarea #r-comment name="comment" maxlength="500" {}
                    p { button.primary type="submit" { "提交评价" } }
                }
            }
        }
    }
}

async fn track_form(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    Form(f): Form<Fields>,
) -> Response {
    let a = match open_ticket(&state, addr, &f).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let history = state.store.history(a.id).await.unwrap_or_default();
    portal_frame(
        "查询进度",
        progress(&state, &a, &history, &digits(field(&f, "code")), None),
    )
}

async fn rate_form(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    Form(f): Form<Fields>,
) -> Response {
    let a = match open_ticket(&state, addr, &f).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let code = digits(field(&f, "code"));
    let show = |a: &Appeal, history: &[EventRecord], note: &str, status: StatusCode| {
        let mut r = portal_frame("查询进度", progress(&state, a, history, &code, Some(note)));
        *r.status_mut() = status;
        r
    };
    let resolved = match field(&f, "resolved") {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    };
    let rating = match field(&f, "rating") {
        "satisfied" => Some(Rating::Satisfied),
        "basic" => Some(Rating::Basic),
        "unsatisfied" => Some(Rating::Unsatisfied),
        _ => None,
    };
    let (Some(resolved), Some(rating)) = (resolved, rating) else {
        let history = state.store.history(a.id).await.unwrap_or_default();
        return show(
            &a,
            &history,
            "请选择问题是否解决和满意程度。",
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    };
    if a.status != Status::Replied {
        let history = state.store.history(a.id).await.unwrap_or_default();
        return show(
            &a,
            &history,
            "这件诉求当前不能评价（尚未答复，或已经评价过）。",
            StatusCode::CONFLICT,
        );
    }
    let comment = field(&f, "comment");
    let visit = ReturnVisit {
        contacted: true,
        resolved: Some(resolved),
        rating: Some(rating),
        comment: if comment.is_empty() {
            "群众在网上诉求平台自评".to_string()
        } else {
            format!("群众在网上诉求平台自评：{comment}")
        },
    };
    let result = state
        .store
        .act(
            AppealRef::Id(a.id),
            Command::ReturnVisit(visit),
            portal_actor(&state, "群众网上评价"),
            state.clock.now(),
            Some(a.version),
        )
        .await;
    match result {
        Ok(next) => {
            state.ops.count_action("return_visit");
            let history = state.store.history(next.id).await.unwrap_or_default();
            show(
                &next,
                &history,
                "感谢您的评价，已转交 12345 中心。",
                StatusCode::OK,
            )
        }
        Err(e) => {
            let e = ApiError::from(e);
            let history = state.store.history(a.id).await.unwrap_or_default();
            show(&a, &history, &with_full_stop(&e.message), e.status)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 一件事一次办 for applicants: the published guides (行政许可法 Art 30) and an application's
// progress by its number and query code — the matters' states and results, the one-time notice
// to answer, the dates; never an officer's name.

fn approvals_track_section(number: &str, error: Option<&str>) -> Markup {
    html! {
        section.panel #approval-track {
            h2 { "查询一件事办理进度" }
            @if let Some(e) = error { div.error role="alert" { (e) } }
            form.stack method="post" action="/portal/approvals/track" {
                label for="a-number" { "申请编号（见窗口回执）" }
                input #a-number type="text" name="number" required inputmode="numeric" value=(number) autocomplete="off";
                label for="a-code" { "查询码（8位数字）" }
                input #a-code type="text" name="code" required inputmode="numeric" maxlength="8" autocomplete="off";
                p { button.primary type="submit" { "查询" } }
            }
        }
    }
}

async fn approvals_page(State(state): State<AppState>) -> Response {
    let packages = aggregates::find_all::<bihuan_domain::approvals::Package>(
        state.store.as_ref(),
        "active",
        "1",
        0,
    )
    .await
    .unwrap_or_default();
    portal_frame(
        "一件事一次办",
        html! {
            section.panel {
                h1 { "一件事一次办 · 办事指南" }
                p.small.muted { "多个部门的关联事项一次申请、一套材料、一个窗口受理，各部门并联审批，按承诺时限办结。" }
                @if packages.is_empty() { p.muted { "暂无公布的一件事。" } }
                ul { @for p in &packages {
                    li { a href=(format!("/portal/approvals/{}", p.id)) { (p.state.name) } " · 承诺 " (p.state.promised_days) " 个工作日" }
                } }
            }
            (approvals_track_section("", None))
        },
    )
}

async fn approvals_guide(
    State(state): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    let found = match id.parse::<u64>() {
        Ok(id) => aggregates::load::<bihuan_domain::approvals::Package>(state.store.as_ref(), id)
            .await
            .ok()
            .filter(|p| !p.state.retired),
        Err(_) => None,
    };
    let Some(p) = found else {
        let mut r = portal_frame(
            "办事指南",
            html! { section.panel { h1 { "没有这个一件事" } p { a href="/portal/approvals" { "返回办事指南" } } } },
        );
        *r.status_mut() = StatusCode::NOT_FOUND;
        return r;
    };
    let cat = state.store.catalog();
    let unit = |u: UnitId| cat.org.get(u).map(|x| x.name.clone()).unwrap_or_default();
    let p = p.state;
    portal_frame(
        &p.name,
        html! {
            section.panel {
                h1 { (p.name) }
                p { "承诺 " strong { (p.promised_days) } " 个工作日内办结（自受理之日起；补正、听证、检验检测、专家评审等时间不计入，届时告知）。受理窗口：" (unit(p.lead)) "。" }
                @if !p.description.is_empty() { p { (p.description) } }
                h2 { "包含的事项" }
                ol { @for m in &p.matters { li { (m.spec.name) " · " (unit(m.spec.unit)) " · 承诺 " (m.spec.promised_days) " 个工作日（法定 " (m.spec.statutory_days) " 个工作日）" } } }
                h2 { "需要提交的材料（每项只交一次）" }
                ul { @for m in p.materials.iter().filter(|m| m.material.shared_from.is_none()) {
                    li { (m.material.name) @if m.material.waivable { " " span.badge.due_soon { "可容缺，承诺后补" } } }
                } }
                @let shared: Vec<&str> = p.materials.iter().filter(|m| m.material.shared_from.is_some()).map(|m| m.material.name.as_str()).collect();
                @if !shared.is_empty() { p.small.muted { "无需提交（部门共享获取）：" (shared.join("、")) } }
                @if !p.fields.is_empty() {
                    h2 { "申请表需填写" }
                    p { (p.fields.iter().map(|f| f.field.label.as_str()).collect::<Vec<_>>().join("、")) }
                }
                p.small.muted { "材料不全的，窗口在5个工作日内一次性告知需要补正的全部内容；逾期不告知的，自收到材料之日起即为受理。" }
                p { a href="/portal/approvals" { "返回办事指南" } }
            }
        },
    )
}

async fn approvals_track(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    Form(f): Form<Fields>,
) -> Response {
    let number = field(&f, "number");
    let code = digits(field(&f, "code"));
    let again = |m: &str| {
        let mut r = portal_frame("查询进度", approvals_track_section(number, Some(m)));
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        r
    };
    if let Some(r) = lookup_limited(&state, addr) {
        return r;
    }
    let Ok(id) = number.parse::<u64>() else {
        return again("申请编号是回执上的数字，请核对后重新输入。");
    };
    if !portal::code_well_formed(&code) {
        return again("查询码为 8 位数字，请核对后重新输入。");
    }
    let Some(v) = crate::approvals::for_applicant(&state, id, &code).await else {
        return again("编号或查询码不对，请核对回执后重新输入。");
    };
    approval_progress(&state, v, &code, None, None)
}

/// The materials an applicant can hand in online now: those the one-time notice asks for not
/// yet handed in since, and those accepted with a commitment (容缺) not yet supplied.
fn answerable(a: &bihuan_domain::approvals::Application) -> Vec<(String, String, String)> {
    use bihuan_domain::approvals::ApplicationStatus;
    let mut out = Vec::new();
    if let (Some(n), ApplicationStatus::Noticed) = (&a.notice, a.status) {
        let answered = |code: &str| a.handed.iter().any(|h| h.code == code && h.at >= n.at);
        for m in n.missing.iter().filter(|m| !answered(&m.code)) {
            out.push((m.code.clone(), m.name.clone(), m.note.clone()));
        }
    }
    if a.status == ApplicationStatus::Accepted {
        for w in a.waivers.iter().filter(|w| w.supplied.is_none()) {
            out.push((
                w.code.clone(),
                w.name.clone(),
                format!("容缺受理，请于 {} 前补交", w.due),
            ));
        }
    }
    out
}

/// An application's progress for its applicant: the states, dates and results, and the
/// materials to hand in online (the form carries the number and the query code the applicant
/// typed, so the answer is checked by them again).
fn approval_progress(
    state: &AppState,
    v: bihuan_domain::aggregate::Versioned<bihuan_domain::approvals::Application>,
    code: &str,
    done: Option<&str>,
    error: Option<&str>,
) -> Response {
    use bihuan_domain::approvals::{ApplicationStatus, TaskStatus};
    let a = &v.state;
    let cat = state.store.catalog();
    let unit = |u: UnitId| cat.org.get(u).map(|x| x.name.clone()).unwrap_or_default();
    let today = bihuan_domain::time::local_date(state.clock.now());
    let due = a.due(&cat.calendar, today);
    let answer = answerable(a);
    let mut r = portal_frame(
        "查询进度",
        html! {
            section.panel #approval-progress {
                h1 { (a.package_name) " · 申请 " (v.id) }
                @if let Some(m) = done { div.notice role="status" { (m) } }
                @if let Some(m) = error { div.error role="alert" { (m) } }
                dl.facts {
                    dt { "申请人" } dd { (a.applicant.name) }
                    dt { "状态" } dd { strong { (a.status.label()) } }
                    dt { "收到" } dd { (format_local(a.received_at)) }
                    @if let Some(how) = a.accepted_how { dt { "受理" } dd { (how.label()) } }
                    @if let Some(d) = due.filter(|_| a.status == ApplicationStatus::Accepted) { dt { "承诺办结" } dd { (d) " 前" } }
                    @if let Some(r) = &a.closed_reason { dt { "原因" } dd { (r) } }
                }
                @if let (Some(n), ApplicationStatus::Noticed) = (&a.notice, a.status) {
                    h2 { "一次性告知：请补正以下材料" }
                    ul { @for m in &n.missing { li { (m.name) @if !m.note.is_empty() { "：" (m.note) } } } }
                }
                @for w in a.waivers.iter().filter(|w| w.supplied.is_none()) {
                    p { span.badge.due_soon { "容缺" } " 请于 " (w.due) " 前补交：" (w.name) }
                }
                @if !answer.is_empty() {
                    form.stack #answer method="post" action="/portal/approvals/answer" enctype="multipart/form-data" {
                        h2 { "网上补交材料" }
                        input type="hidden" name="number" value=(v.id);
                        input type="hidden" name="code" value=(code);
                        @for (c, name, note) in &answer {
                            label for=(format!("m-{c}")) { (name) @if !note.is_empty() { span.small.muted { "（" (note) "）" } } }
                            input id=(format!("m-{c}")) type="file" name=(format!("material:{c}")) accept="image/*,.pdf,.docx,.xlsx";
                        }
                        p.small.muted { "可上传照片、PDF 或 Word/Excel 文档，每个文件不超过 10 MB；也可送交受理窗口（" (unit(a.lead)) "）。" }
                        p { button.primary type="submit" { "提交补正材料" } }
                    }
                }
                h2 { "已提交的材料" }
                ul { @for h in &a.handed { li { (a.materials.iter().find(|m| m.material.code == h.code).map_or(h.code.as_str(), |m| m.material.name.as_str())) " · " span.small.muted { (format_local(h.at)) } } } }
                h2 { "各事项办理情况" }
                ul { @for t in &a.tasks {
                    li {
                        (t.name) " · " (unit(t.unit)) " · " (t.status.label())
                        @if t.status == TaskStatus::Stopped { @if let Some(s) = t.stops.last() { "（" (s.kind.label()) "：" (s.reason) "）" } }
                        @if let Some(r) = &t.result { "：" (r) }
                        @if let Some(r) = &t.reason { "：" (r) }
                    }
                } }
                @if a.status == ApplicationStatus::Issued { p { "全部事项已办结，证照已统一出具，请到受理窗口领取或按约定方式送达。" } }
                p { a href="/portal/approvals" { "返回" } }
            }
        },
    );
    if error.is_some() {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    r
}

/// `POST /portal/approvals/answer`: the applicant hands in, online, what the one-time notice
/// (or a 容缺 commitment) asks for — checked by the number and query code again, each file by
/// its content, stored with the application in the same transaction as the record of it.
async fn approvals_answer(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    mp: axum::extract::Multipart,
) -> Response {
    if let Some(r) = lookup_limited(&state, addr) {
        return r;
    }
    let (f, files) = match crate::approvals::read_form(mp).await {
        Ok(form) => form,
        Err(e) => {
            let mut r = portal_frame(
                "查询进度",
                approvals_track_section("", Some(&with_full_stop(&e.message))),
            );
            *r.status_mut() = e.status;
            return r;
        }
    };
    let number = field(&f, "number");
    let code = digits(field(&f, "code"));
    let found = match number.parse::<u64>() {
        Ok(id) if portal::code_well_formed(&code) => {
            crate::approvals::for_applicant(&state, id, &code).await
        }
        _ => None,
    };
    let Some(v) = found else {
        let mut r = portal_frame(
            "查询进度",
            approvals_track_section(number, Some("编号或查询码不对，请核对回执后重新查询。")),
        );
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return r;
    };
    let open: Vec<String> = answerable(&v.state).into_iter().map(|x| x.0).collect();
    let (uploads, stale): (Vec<_>, Vec<_>) = crate::approvals::material_uploads(files)
        .into_iter()
        .partition(|u| open.contains(&u.code));
    if !stale.is_empty() {
        // A page opened before: what it offered has been handed in or is no longer asked for.
        let m =
            "页面已过期：部分材料已提交或不再需要补交，请核对下方需要补交的材料后重新选择文件。";
        return approval_progress(&state, v, &code, None, Some(m));
    }
    if uploads.is_empty() {
        return approval_progress(
            &state,
            v,
            &code,
            None,
            Some("请为需要补交的材料选择文件后再提交。"),
        );
    }
    let n = uploads.len();
    let id = v.id;
    match crate::approvals::hand_as(
        &state,
        portal_actor(&state, "申请人网上补交"),
        id,
        Vec::new(),
        uploads,
    )
    .await
    {
        Ok(v) => approval_progress(
            &state,
            v,
            &code,
            Some(&format!("已收到补交的 {n} 项材料，窗口将尽快审核。")),
            None,
        ),
        Err(e) => approval_progress(&state, v, &code, None, Some(&with_full_stop(&e.message))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_checks_its_answer_age_and_signature() {
        let g = PortalGuard::new("");
        let ch = new_challenge(&g, 1_000);
        // Find the answer the way a person would: read the question.
        let answer = (2..=18)
            .find(|n| check_challenge(&g, &ch.token, &n.to_string(), 1_010, 3).is_ok())
            .expect("one answer fits");
        assert!(check_challenge(&g, &ch.token, &(answer + 1).to_string(), 1_010, 3).is_err());
        assert_eq!(
            check_challenge(&g, &ch.token, &answer.to_string(), 1_001, 3),
            Err("提交太快了，请核对内容后再提交。")
        );
        assert!(check_challenge(&g, &ch.token, &answer.to_string(), 1_000 + 7201, 3).is_err());
        // Another server's (another key's) token does not pass.
        let other = PortalGuard::new("another secret");
        assert!(check_challenge(&other, &ch.token, &answer.to_string(), 1_010, 3).is_err());
        assert!(check_challenge(&g, "garbage", "1", 1_010, 3).is_err());
        // Full-width digits as phones type them.
        let wide: String = answer
            .to_string()
            .chars()
            .map(|c| char::from_u32('０' as u32 + (c as u32 - '0' as u32)).unwrap())
            .collect();
        assert!(check_challenge(&g, &ch.token, &wide, 1_010, 3).is_ok());
        // The same nonce gives the same query code; another does not.
        let nonce = check_challenge(&g, &ch.token, &answer.to_string(), 1_010, 3).unwrap();
        assert_eq!(query_code(&g, &nonce), query_code(&g, &nonce));
        assert_eq!(query_code(&g, &nonce).len(), 8);
        assert_ne!(query_code(&g, &nonce), query_code(&g, "other"));
    }

    #[test]
    fn hmac_matches_the_rfc_4231_vector_shape() {
        // RFC 4231 test case 2 uses a 4-byte key; ours pads a 32-byte key the same way, so check
        // against a key of "Jefe" padded with zeros (HMAC pads short keys with zeros).
        let mut key = [0u8; 32];
        key[..4].copy_from_slice(b"Jefe");
        assert_eq!(
            hex::encode(hmac(&key, b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
