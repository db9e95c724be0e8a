//! `/appeals/new`: registration, with suggestions and the caller's history while typing.

use super::*;

// ---------------------------------------------------------------------------------------------
// Intake

/// A fresh key for one registration form.
pub(super) fn new_submission() -> String {
    crate::auth::new_token().0
}

pub(super) async fn new_form(
    state: &AppState,
    c: &Caller,
    values: &Fields,
    errors: &BTreeMap<String, String>,
    top: Option<&str>,
) -> Html<String> {
    // Who may be named as an accused person: the county's accounts, by unit.
    let people: Vec<bihuan_store::User> = state
        .store
        .users()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|u| u.active && u.role != Role::System)
        .collect();
    let cat = state.store.catalog();
    let v = |k: &str| field(values, k).to_string();
    let err = |k: &str| errors.get(k).cloned();
    let inv = |k: &str| {
        if errors.contains_key(k) {
            "invalid"
        } else {
            ""
        }
    };
    let leaves: Vec<(u32, String)> = cat
        .categories
        .iter()
        .filter(|x| cat.categories.iter().all(|y| y.parent != Some(x.id)))
        .filter_map(|x| Some((x.id.0, cat.categories.path_name(x.id)?)))
        .collect();
    let townships: Vec<_> = cat
        .org
        .units()
        .filter(|u| u.kind == UnitKind::Township)
        .collect();
    let kind_default = if v("kind").is_empty() {
        "complaint".to_string()
    } else {
        v("kind")
    };
    let channel_default = if v("channel").is_empty() {
        if c.user.role == Role::GridMember {
            "grid_report".to_string()
        } else {
            "hotline".to_string()
        }
    } else {
        v("channel")
    };
    page(
        "登记诉求",
        Some(c),
        html! {
            h1 { "登记诉求" }
            @if let Some(t) = top { div.error { (t) } }
            form.stack.panel method="post" action="/appeals/new" {
                // One key per form: a double click or a resent form registers one appeal.
                input type="hidden" name="submission" value=(if v("submission").is_empty() { new_submission() } else { v("submission") });
                div.row {
                    div { label for="kind" { "诉求类型" } select #kind name="kind" autofocus {
                        @for k in Kind::ALL { option value=(k.code()) selected[kind_default == k.code()] { (k.label()) } }
                    } }
                    div { label for="channel" { "来源渠道" } select #channel name="channel" {
                        @for ch in Channel::ALL { option value=(ch.code()) selected[channel_default == ch.code()] { (ch.label()) } }
                    } }
                    div { label for="urgency" { "紧急程度" } select #urgency name="urgency" {
                        @for u in [Urgency::Normal, Urgency::Urgent, Urgency::Critical] { option value=(u.code()) selected[v("urgency") == u.code()] { (u.label()) } }
                    } }
                }
                label for="category_text" { "分类（输入关键字搜索）" }
                input #category_text type="search" name="category_text" list="categories" data-picker="category" value=(v("category_text")) class=(inv("category")) placeholder="如：路灯";
                input #category type="hidden" name="category" value=(v("category"));
                datalist #categories { @for (id, path) in &leaves { option value=(path) data-id=(id) {} } }
                @if let Some(e) = err("category") { span.field-error { (e) } }
                label for="title" { "标题" }
                input #title type="text" name="title" value=(v("title")) class=(inv("title")) maxlength="200";
                @if let Some(e) = err("title") { span.field-error { (e) } }
                label for="content" { "诉求内容" }
                textarea #content name="content" class=(inv("content"))
                    hx-get="/console/suggest" hx-trigger="input changed delay:700ms, change" hx-target="#suggestions" hx-include="#title, #content, #address, #township, #phone" { (v("content")) }
                @if let Some(e) = err("content") { span.field-error { (e) } }
                div #suggestions {}
                div.row {
                    div { label for="township" { "乡镇（街道）" } select #township name="township" class=(inv("place.township")) {
                        option value="" { "未知" }
                        @for t in &townships { option value=(t.id.0) selected[v("township") == t.id.0.to_string()] { (t.name) } }
                    } }
                    div { label for="address" { "详细地址" } input #address type="text" name="address" value=(v("address")) class=(inv("place.address")); }
                }
                @if let Some(e) = err("place.township").or(err("place.address")) { span.field-error { (e) } }
                details.accused open[fields_all(values, "accused_units").next().is_some() || fields_all(values, "accused_persons").next().is_some() || errors.contains_key("accused_units") || errors.contains_key("accused_persons")] {
                    summary { "检举控告：被检举控告的单位（选填）" }
                    p.small.muted { "所选单位不会收到这件信访事项，也看不到检举人的姓名、电话和材料（信访工作条例第三十条）。只用于检举控告类。" }
                    select #accused_units name="accused_units" multiple size="6" class=(inv("accused_units")) {
                        @for u in cat.org.units().filter(|u| u.kind.can_handle()) {
                            option value=(u.id.0) selected[fields_all(values, "accused_units").any(|x| x == u.id.0.to_string())] { (u.name) }
                        }
                    }
                    @if let Some(e) = err("accused_units") { span.field-error { (e) } }
                    label for="accused_persons" { "被检举控告的人员（选填，其所在单位一并回避）" }
                    select #accused_persons name="accused_persons" multiple size="6" class=(inv("accused_persons")) {
                        @for u in &people {
                            option value=(u.id.0) selected[fields_all(values, "accused_persons").any(|x| x == u.id.0.to_string())] { (u.name) "（" (cat.org.get(u.unit).map(|x| x.name.as_str()).unwrap_or("")) "）" }
                        }
                    }
                    @if let Some(e) = err("accused_persons") { span.field-error { (e) } }
                }
                div {
                    label for="forwarded_from" { "来源（信访事项）" }
                    select #forwarded_from name="forwarded_from" class=(inv("forwarded_from")) {
                        option value="" { "本级受理" }
                        @for f in bihuan_domain::lifecycle::ForwardedFrom::ALL {
                            @let code = serde_json::to_value(f).ok().and_then(|x| x.as_str().map(str::to_string)).unwrap_or_default();
                            option value=(code) selected[v("forwarded_from") == code] { (f.label()) @if f.is_over_level() { "（越级）" } }
                        }
                    }
                    @if let Some(e) = err("forwarded_from") { span.field-error { (e) } }
                }
                details.repeat open[!v("repeat_earlier").is_empty() || !v("repeat_elsewhere").is_empty() || errors.keys().any(|k| k.starts_with("repeat_of"))] {
                    summary { "重复信访：此前已受理过同一事项（选填）" }
                    p.small.muted { "同一信访人此前在本县已受理的同一事项，登记时自动关联；在其他机关或上级已受理的，请写明受理机关（信访工作条例第十九条）。" }
                    div.row {
                        div { label for="repeat_earlier" { "此前信访事项编号" } input #repeat_earlier type="text" name="repeat_earlier" placeholder="如 2026-11-000123" value=(v("repeat_earlier")) class=(inv("repeat_of.earlier")); }
                        div { label for="repeat_elsewhere" { "此前受理机关" } input #repeat_elsewhere type="text" name="repeat_elsewhere" maxlength="100" placeholder="如 市信访局（2026年5月）" value=(v("repeat_elsewhere")) class=(inv("repeat_of.elsewhere")); }
                    }
                    @if let Some(e) = err("repeat_of").or(err("repeat_of.earlier")).or(err("repeat_of.elsewhere")) { span.field-error { (e) } }
                }
                details.group open[!v("group_people").is_empty() || errors.keys().any(|k| k.starts_with("group"))] {
                    summary { "集体访：多人走访提出共同的信访事项（选填）" }
                    p.small.muted { "多人走访的，应当推选代表，代表人数不超过5人（信访工作条例第二十条）。只用于信访事项。" }
                    div.row {
                        div { label for="group_people" { "来访人数" } input #group_people type="number" min="2" name="group_people" value=(v("group_people")) class=(inv("group.people")); }
                        div { label for="group_representatives" { "代表姓名（用顿号或逗号分隔，至多5人）" } input #group_representatives type="text" name="group_representatives" value=(v("group_representatives")) class=(inv("group.representatives")); }
                    }
                    @if let Some(e) = err("group").or(err("group.people")).or(err("group.representatives")) { span.field-error { (e) } }
                }
                div.row {
                    div { label for="citizen_name" { "诉求人" } input #citizen_name type="text" name="citizen_name" value=(v("citizen_name")) class=(inv("citizen.name")); }
                    div {
                        label for="phone" { "联系电话" }
                        input #phone type="tel" name="phone" value=(v("phone")) class=(inv("phone"))
                            hx-get="/console/caller" hx-trigger="change, keyup delay:600ms" hx-target="#caller-history" hx-include="#phone";
                    }
                }
                @if let Some(e) = err("phone").or(err("citizen.name")) { span.field-error { (e) } }
                div #caller-history {}
                @if matches!(c.user.role, Role::Operator | Role::Dispatcher) {
                    label for="answer" { "当场答复（仅咨询类；填写后直接答复，不再交办）" }
                    textarea #answer name="answer" class=(inv("answer")) { (v("answer")) }
                    @if let Some(e) = err("answer") { span.field-error { (e) } }
                }
                p { button.primary type="submit" accesskey="s" { "登记 (Ctrl+Enter)" } }
            }
        },
    )
}

pub(super) async fn new_page(State(state): State<AppState>, PageUser(c): PageUser) -> Response {
    if !matches!(
        c.user.role,
        Role::Operator | Role::Dispatcher | Role::GridMember | Role::Admin
    ) {
        return error_page(
            StatusCode::FORBIDDEN,
            "无权登记",
            "当前角色不能登记诉求",
            Some(&c),
        );
    }
    new_form(&state, &c, &vec![], &BTreeMap::new(), None)
        .await
        .into_response()
}

pub(super) async fn new_submit(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Form(f): Form<Fields>,
) -> Response {
    let mut errors = BTreeMap::new();
    let kind = Kind::parse(field(&f, "kind"));
    let channel = Channel::parse(field(&f, "channel"));
    let urgency = Urgency::parse(field(&f, "urgency")).unwrap_or(Urgency::Normal);
    if kind.is_none() {
        errors.insert("kind".into(), "请选择诉求类型".into());
    }
    let category = match field(&f, "category") {
        "" if field(&f, "category_text").is_empty() => None,
        "" => {
            errors.insert("category".into(), "请从列表中选择分类".into());
            None
        }
        s => s.parse().ok().map(bihuan_domain::category::CategoryId),
    };
    let phone = match field(&f, "phone") {
        "" => None,
        p => match Phone::parse(p) {
            Ok(p) => Some(p),
            Err(m) => {
                errors.insert("phone".into(), m);
                None
            }
        },
    };
    if field(&f, "title").is_empty() {
        errors.insert("title".into(), "请填写标题".into());
    }
    if field(&f, "content").is_empty() {
        errors.insert("content".into(), "请填写诉求内容".into());
    }
    let group = match field(&f, "group_people").trim() {
        "" if field(&f, "group_representatives").trim().is_empty() => None,
        "" => {
            errors.insert("group.people".into(), "请填写来访人数".into());
            None
        }
        n => match n.parse::<u32>() {
            Ok(people) => Some(json!({
                "people": people,
                "representatives": field(&f, "group_representatives")
                    .split(['、', ',', '，', ';', '；', ' ', '　'])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>(),
            })),
            Err(_) => {
                errors.insert("group.people".into(), "来访人数须为整数，如 12".into());
                None
            }
        },
    };
    let repeat_earlier = field(&f, "repeat_earlier").trim();
    let repeat_elsewhere = field(&f, "repeat_elsewhere").trim();
    let earlier = match repeat_earlier {
        "" => None,
        n => match n.parse::<bihuan_domain::AppealNumber>() {
            Ok(n) => Some(n),
            Err(_) => {
                errors.insert(
                    "repeat_of.earlier".into(),
                    "编号应形如 2026-11-000123，请核对".into(),
                );
                None
            }
        },
    };
    let repeat_of = (earlier.is_some() || !repeat_elsewhere.is_empty()).then(|| {
        json!({
            "earlier": earlier,
            "elsewhere": Some(repeat_elsewhere).filter(|s| !s.is_empty()),
        })
    });
    let answer = field(&f, "answer").to_string();
    if !answer.is_empty() && kind != Some(Kind::Consultation) {
        errors.insert("answer".into(), "只有咨询类诉求可以当场答复".into());
    }
    if !errors.is_empty() {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            new_form(&state, &c, &f, &errors, Some("请修改标红的内容后再提交")).await,
        )
            .into_response();
    }
    let township = field(&f, "township").parse().ok().map(UnitId);
    let body = json!({
        "channel": channel.unwrap_or(Channel::Hotline),
        "kind": kind,
        "urgency": urgency,
        "category": category,
        "title": field(&f, "title"),
        "content": field(&f, "content"),
        "place": {"address": field(&f, "address"), "township": township},
        "citizen": {"name": Some(field(&f, "citizen_name")).filter(|s| !s.is_empty()), "phone": phone},
        "accused_units": fields_all(&f, "accused_units").filter_map(|s| s.parse::<u32>().ok()).collect::<Vec<_>>(),
        "accused_persons": fields_all(&f, "accused_persons").filter_map(|s| s.parse::<u32>().ok()).collect::<Vec<_>>(),
        "group": group,
        "forwarded_from": Some(field(&f, "forwarded_from")).filter(|s| !s.is_empty()),
        "repeat_of": repeat_of,
    });
    let new = match serde_json::from_value(body) {
        Ok(n) => n,
        Err(e) => {
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                new_form(&state, &c, &f, &errors, Some(&format!("内容有误：{e}"))).await,
            )
                .into_response()
        }
    };
    let key = match field(&f, "submission") {
        "" => None,
        k => match crate::app::idempotency_key(&c, k) {
            Ok(k) => Some(k),
            Err(e) => {
                return (
                    e.status,
                    new_form(&state, &c, &f, &errors, Some("表单已失效，请重新提交")).await,
                )
                    .into_response()
            }
        },
    };
    let r = match crate::app::register(&state, &c, new, key).await {
        Ok(r) => r,
        Err(e) => {
            if let Some(field_name) = e
                .extra
                .as_ref()
                .and_then(|x| x.get("field"))
                .and_then(Value::as_str)
            {
                errors.insert(field_name.to_string(), e.message.clone());
            }
            return (
                e.status,
                new_form(&state, &c, &f, &errors, Some(&e.message)).await,
            )
                .into_response();
        }
    };
    if !r.created {
        // The same form sent again (a double click, a resend): the appeal it made.
        return Redirect::to(&format!("/appeals/{}?ok=registered", r.appeal.number))
            .into_response();
    }
    let number = r.appeal.number;
    if !answer.is_empty() {
        let cmd = bihuan_domain::Command::AnswerAtIntake { answer };
        let key = r.appeal.number.to_string();
        if let Err(e) = crate::app::act(&state, &c, &key, cmd, r.appeal.version).await {
            return Redirect::to(&format!(
                "/appeals/{number}?error={}",
                urlencode(&e.message)
            ))
            .into_response();
        }
    }
    Redirect::to(&format!("/appeals/{number}?ok=registered")).into_response()
}

#[derive(Deserialize)]
pub(super) struct PhoneQuery {
    phone: Option<String>,
}

/// The caller's earlier appeals, shown while the operator types the number.
#[derive(Deserialize)]
pub(super) struct IntakeQuery {
    #[serde(default)]
    title: String,
    #[serde(default)]
    content: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    township: String,
    #[serde(default)]
    phone: String,
}

/// While the operator types: the likely category and lead units, the place, and open appeals
/// about the same matter.
pub(super) async fn intake_suggestions(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Query(q): Query<IntakeQuery>,
) -> Html<String> {
    if !crate::smart::INTAKE.contains(&c.user.role)
        || q.content.trim().chars().count() < 4
        || q.content.chars().count() > 5000
    {
        return Html(String::new());
    }
    let text = crate::smart::NewText {
        title: q.title.chars().take(200).collect(),
        content: q.content,
        address: q.address.chars().take(500).collect(),
        category: None,
        township: q.township.parse().ok().map(UnitId),
        citizen: Phone::parse(q.phone.trim()).ok().map(|p| p.identity()),
    };
    let v = crate::smart::for_text(&state, &c, &text).await;
    let pct = |x: f32| format!("{:.0}%", x * 100.0);
    Html(
        html! {
            div.hint.small {
                @if !v.categories.is_empty() {
                    p { "建议分类（点击填入）："
                        @for h in &v.categories {
                            @if let Some(path) = &h.path {
                                " " button.chip type="button" data-fill-category=(h.category.0) data-fill-category-text=(path) title=(h.reasons.join("；")) { (path) " " (pct(h.confidence)) }
                            }
                        }
                    }
                }
                @if !v.units.is_empty() {
                    p { "建议主办（交办时选用）：" (v.units.iter().map(|u| format!("{} {}", u.name, pct(u.confidence))).collect::<Vec<_>>().join("；")) }
                }
                @if let Some(p) = &v.place {
                    @if let (Some(t), Some(name)) = (p.township, &p.township_name) {
                        p { "识别地点：" (name) " " (p.village_name.clone().unwrap_or_default())
                            " " button.chip type="button" data-fill-township=(t.0) title=(format!("文中提到：{}", p.matched.join("、"))) { "填入乡镇（街道）" }
                        }
                    }
                }
                @if !v.duplicates.is_empty() {
                    p.warn { "可能重复的在办工单：" }
                    ul { @for d in &v.duplicates { li {
                        a href=(format!("/appeals/{}", d.number)) target="_blank" { (d.number) }
                        " " (d.title) " · " (d.status_label) " · 相似度 " (pct(d.similarity))
                        @if d.same_caller { strong { " · 同一诉求人重复反映" } }
                        div.small.muted { "理由：" (d.reasons.join("、")) }
                    } } }
                }
            }
        }
        .into_string(),
    )
}

pub(super) async fn caller_history(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Query(q): Query<PhoneQuery>,
) -> Html<String> {
    let Some(phone) = q.phone.as_deref().and_then(|p| Phone::parse(p).ok()) else {
        return Html(String::new());
    };
    if !matches!(
        c.user.role,
        Role::Operator | Role::Dispatcher | Role::ReturnVisitor
    ) {
        return Html(String::new());
    }
    let now = state.clock.now();
    let mut f = AppealFilter {
        citizen: Some(phone.identity()),
        now: Some(now),
        ..Default::default()
    };
    c.scope(&mut f);
    let items = state
        .store
        .list(f, None, 10)
        .await
        .map(|p| p.items)
        .unwrap_or_default();
    let cat = state.store.catalog();
    Html(
        html! {
            @if items.is_empty() { p.muted.small { "该号码没有历史诉求" } }
            @else {
                p.small { "该号码的历史诉求（最近 " (items.len()) " 件）:" }
                (appeal_rows(&items, &cat, now))
            }
        }
        .into_string(),
    )
}
