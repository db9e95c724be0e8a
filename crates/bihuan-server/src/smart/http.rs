//! The HTTP handlers of smart dispatch: suggestions, search accuracy, the dispatch catalogue,
//! models and training on demand.

use super::*;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/suggestions", post(suggest_new))
        .route("/api/v1/appeals/{key}/suggestions", get(suggest_existing))
        .route("/api/v1/suggestions/accuracy", get(accuracy))
        .route("/api/v1/dispatch-rules", get(list_rules).put(put_rules))
        .route("/api/v1/models", get(list_models))
        .route("/api/v1/models/train", post(train_now))
}

/// Roles that register or dispatch appeals.
pub const INTAKE: &[Role] = &[
    Role::Operator,
    Role::Dispatcher,
    Role::GridMember,
    Role::Admin,
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SuggestBody {
    #[serde(default)]
    title: String,
    content: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    category: Option<u32>,
    #[serde(default)]
    township: Option<u32>,
    /// The caller's phone: duplicates raised by the same person are marked (a repeat appeal
    /// on the same matter counts against 一次性化解率).
    #[serde(default)]
    phone: Option<String>,
}

/// A lead unit the router suggests, with why.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct UnitHint {
    pub unit: UnitId,
    pub name: String,
    pub confidence: f32,
    /// At or above the one-click (直派) threshold.
    pub direct: bool,
    pub reasons: Vec<String>,
}

/// A category the router suggests, with why.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct CategoryHint {
    pub category: CategoryId,
    pub path: Option<String>,
    pub confidence: f32,
    pub reasons: Vec<String>,
}

/// Where the text says the matter is.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct PlaceHint {
    pub township: Option<UnitId>,
    pub township_name: Option<String>,
    pub village: Option<UnitId>,
    pub village_name: Option<String>,
    pub grid: Option<UnitId>,
    pub grid_name: Option<String>,
    /// The names found in the text.
    pub matched: Vec<String>,
    pub confidence: f32,
}

/// An open appeal that may be the same matter. Shown like a list row: the title's personal
/// numbers masked for everyone.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DuplicateHint {
    /// Raised by the same caller (a repeat counts against 一次性化解率).
    pub same_caller: bool,
    pub id: AppealId,
    pub number: bihuan_domain::appeal::AppealNumber,
    pub title: String,
    pub status: Status,
    pub status_label: &'static str,
    #[schema(value_type = String, format = DateTime)]
    pub registered_at: Instant,
    pub similarity: f32,
    pub same_township: bool,
    /// Why it was suggested: text, title, place, caller, time apart.
    pub reasons: Vec<String>,
}

/// Whether a trained model of each kind is loaded.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ModelsLoaded {
    pub unit: bool,
    pub category: bool,
}

/// Suggestions and duplicates as the console and API show them.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct SuggestionsView {
    pub units: Vec<UnitHint>,
    pub categories: Vec<CategoryHint>,
    pub place: Option<PlaceHint>,
    pub duplicates: Vec<DuplicateHint>,
    pub direct_dispatch_confidence: f32,
    /// False while the duplicate index is still being built at start.
    pub duplicates_ready: bool,
    pub models: ModelsLoaded,
}

pub async fn view(
    state: &AppState,
    caller: &Caller,
    s: &Suggestions,
    dups: &[dedup::Match],
    citizen: Option<String>,
) -> SuggestionsView {
    let cat = state.store.catalog();
    let router = state.smart.router();
    let unit_name = |u: UnitId| cat.org.get(u).map(|x| x.name.clone()).unwrap_or_default();
    let units = s
        .units
        .iter()
        .map(|u| UnitHint {
            unit: u.unit,
            name: unit_name(u.unit),
            confidence: u.confidence,
            direct: u.confidence >= state.smart.direct_confidence,
            reasons: u
                .reasons
                .iter()
                .map(|r| r.describe(&cat.org, &cat.categories))
                .collect(),
        })
        .collect();
    let categories = s
        .categories
        .iter()
        .map(|c| CategoryHint {
            category: c.category,
            path: cat.categories.path_name(c.category),
            confidence: c.confidence,
            reasons: c
                .reasons
                .iter()
                .map(|r| r.describe(&cat.org, &cat.categories))
                .collect(),
        })
        .collect();
    let place = s.place.as_ref().map(|p| PlaceHint {
        township: p.township,
        township_name: p.township.map(unit_name),
        village: p.village,
        village_name: p.village.map(unit_name),
        grid: p.grid,
        grid_name: p.grid.map(unit_name),
        matched: p.matched.clone(),
        confidence: p.confidence,
    });
    let mut duplicates = Vec::new();
    for m in dups {
        if let Ok(a) = state
            .store
            .appeal(bihuan_store::AppealRef::Id(AppealId(m.id)))
            .await
        {
            if can_see(caller, &a) {
                let same_caller = citizen.is_some() && a.citizen.identity_key() == citizen;
                duplicates.push(DuplicateHint {
                    same_caller,
                    id: a.id,
                    number: a.number,
                    title: crate::views::Disclosure::Masked.text(&a.title),
                    status: a.status,
                    status_label: a.status.label(),
                    registered_at: a.registered_at,
                    similarity: m.similarity,
                    same_township: m.same_township,
                    reasons: m.score.reasons(),
                });
            }
        }
    }
    SuggestionsView {
        units,
        categories,
        place,
        duplicates,
        direct_dispatch_confidence: state.smart.direct_confidence,
        duplicates_ready: state.smart.duplicates_ready(),
        models: ModelsLoaded {
            unit: router.models.unit.is_some(),
            category: router.models.category.is_some(),
        },
    }
}

pub(super) async fn suggest_new(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(b): JsonBody<SuggestBody>,
) -> ApiResult<Json<SuggestionsView>> {
    caller.require(INTAKE)?;
    if b.content.trim().is_empty() {
        return Err(ApiError::unprocessable(
            ErrorCode::ContentRequired,
            "请填写诉求内容",
        ));
    }
    if b.content.chars().count() > 5000
        || b.title.chars().count() > 200
        || b.address.chars().count() > 500
    {
        return Err(ApiError::unprocessable(
            ErrorCode::TooLong,
            "标题不超过200字、内容不超过5000字、地址不超过500字",
        ));
    }
    let cat = state.store.catalog();
    let category = match b.category {
        Some(c) if cat.categories.get(CategoryId(c)).is_none() => {
            return Err(ApiError::unprocessable(
                ErrorCode::UnknownCategory,
                format!("类别 {c} 不存在"),
            ))
        }
        c => c.map(CategoryId),
    };
    let township = match b.township {
        Some(t) if cat.org.get(UnitId(t)).map(|u| u.kind) != Some(UnitKind::Township) => {
            return Err(ApiError::unprocessable(
                ErrorCode::UnknownTownship,
                format!("{t} 不是乡镇（街道）的编号，请从单位列表中选择"),
            ))
        }
        t => t.map(UnitId),
    };
    let citizen = match b.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) => Some(
            bihuan_domain::Phone::parse(p)
                .map_err(|m| ApiError::unprocessable(ErrorCode::BadPhone, m))?
                .identity(),
        ),
        None => None,
    };
    let text = NewText {
        title: b.title,
        content: b.content,
        address: b.address,
        category,
        township,
        citizen,
    };
    Ok(Json(for_text(&state, &caller, &text).await))
}

/// A text not yet registered, as intake has it.
pub struct NewText {
    pub title: String,
    pub content: String,
    pub address: String,
    pub category: Option<CategoryId>,
    /// The township chosen; else the one the address names.
    pub township: Option<UnitId>,
    /// The caller's identity (phone), to mark their own earlier appeals.
    pub citizen: Option<String>,
}

/// Suggestions and possible duplicates for a text at intake (the API and the console form).
pub async fn for_text(state: &AppState, caller: &Caller, t: &NewText) -> SuggestionsView {
    let router = state.smart.router();
    let s = router.suggest(
        &format!("{}\n{}", t.title, t.content),
        &t.address,
        t.category,
    );
    let township = t
        .township
        .or_else(|| s.place.as_ref().and_then(|p| p.township));
    let now = state.clock.now();
    let dups = state.smart.similar(
        &bihuan_smart::dedup::Facts {
            title: &t.title,
            content: &t.content,
            at: now.timestamp(),
            township: township.map(|u| u.0),
            village: s.place.as_ref().and_then(|p| p.village).map(|v| v.0),
            address: &t.address,
            category: t
                .category
                .or_else(|| s.categories.first().map(|c| c.category))
                .map(|c| c.0),
            caller: t.citizen.as_deref(),
        },
        now,
        None,
    );
    view(state, caller, &s, &dups, t.citizen.clone()).await
}

/// Suggestions for a registered appeal; recorded when the appeal awaits dispatch.
pub async fn suggestions_for(state: &AppState, caller: &Caller, a: &Appeal) -> SuggestionsView {
    let router = state.smart.router();
    let mut s = router.suggest(
        &format!("{}\n{}", a.title, a.content),
        &a.place.address,
        a.category,
    );
    // 检举控告: never suggest the accused units (the domain refuses them anyway).
    s.units.retain(|u| !a.accused_units.contains(&u.unit));
    let now = state.clock.now();
    let identity = a.citizen.identity_key();
    let dups = state
        .smart
        .similar(&super::facts_of(a, identity.as_deref()), now, Some(a.id));
    if a.status == Status::PendingDispatch && caller.user.role == Role::Dispatcher {
        let r = record(a.id, "dispatch", now, &s, state.smart.unit_model_version());
        if let Err(e) = state.store.put_suggestions(vec![r]).await {
            tracing::warn!(error = %e, "cannot record a suggestion");
        }
    }
    view(state, caller, &s, &dups, a.citizen.identity_key()).await
}

pub(super) async fn suggest_existing(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(key): PathParams<String>,
) -> ApiResult<Json<SuggestionsView>> {
    let a = crate::appeals::visible(&state, &caller, &key).await?;
    Ok(Json(suggestions_for(&state, &caller, &a).await))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PeriodQuery {
    from: Option<String>,
    to: Option<String>,
}

/// The suggestions' accuracy over a period.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AccuracyView {
    #[schema(value_type = String, format = DateTime)]
    pub from: Instant,
    #[schema(value_type = String, format = DateTime)]
    pub to: Instant,
    pub direct_dispatch_confidence: f32,
    /// One row per stage (`intake`, `dispatch`).
    pub stages: Vec<Accuracy>,
}

/// A stored routing model (its body is not shown).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ModelView {
    pub version: u64,
    /// `unit` or `category`.
    pub kind: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Instant,
    /// Facts about the training run: texts, classes, held-out accuracy, seconds.
    #[schema(value_type = Object)]
    pub meta: Value,
    pub bytes: u64,
}

/// One model a training run produced.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct TrainedModel {
    pub version: u64,
    pub classes: usize,
    /// On the held-out fifth of the texts, when there were enough.
    pub holdout_accuracy: Option<f32>,
}

/// What a training run did.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Trained {
    pub texts: usize,
    pub seconds: f64,
    pub unit: Option<TrainedModel>,
    pub category: Option<TrainedModel>,
    /// In Chinese, for the console.
    pub summary: String,
}

/// Accuracy of what was suggested, against the lead unit and category the appeal has now.
#[derive(Debug, Default, Clone, serde::Serialize, PartialEq, utoipa::ToSchema)]
pub struct Accuracy {
    pub stage: String,
    pub suggested: u64,
    /// Appeals that have a lead unit now (the others cannot be judged yet).
    pub judged: u64,
    pub unit_top1: u64,
    pub unit_top3: u64,
    /// Of those judged, how many were at or above the one-click threshold, and right.
    pub direct: u64,
    pub direct_right: u64,
    pub category_judged: u64,
    pub category_top1: u64,
}

pub fn accuracy_of(rows: &[SuggestionOutcome], direct: f32) -> Vec<Accuracy> {
    let mut by: BTreeMap<String, Accuracy> = BTreeMap::new();
    for r in rows {
        let a = by
            .entry(r.record.stage.clone())
            .or_insert_with(|| Accuracy {
                stage: r.record.stage.clone(),
                ..Default::default()
            });
        a.suggested += 1;
        if let Some(lead) = r.lead {
            a.judged += 1;
            let top = r.record.units.first();
            if top.map(|t| t.0) == Some(lead) {
                a.unit_top1 += 1;
            }
            if r.record.units.iter().take(3).any(|t| t.0 == lead) {
                a.unit_top3 += 1;
            }
            if let Some((u, c)) = top {
                if *c >= direct {
                    a.direct += 1;
                    if *u == lead {
                        a.direct_right += 1;
                    }
                }
            }
        }
        if let Some(c) = r.category {
            a.category_judged += 1;
            if r.record.categories.first().map(|t| t.0) == Some(c) {
                a.category_top1 += 1;
            }
        }
    }
    by.into_values().collect()
}

pub(super) async fn accuracy(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(q): QueryParams<PeriodQuery>,
) -> ApiResult<Json<AccuracyView>> {
    if !caller.sees_all() {
        return Err(ApiError::forbidden(
            ErrorCode::RoleForbidden,
            "只有中心和领导可以查看派单建议准确率",
        ));
    }
    let now = state.clock.now();
    let day =
        |s: &str| crate::appeals::parse_date("from/to", s).map(bihuan_domain::time::start_of_day);
    let from = match &q.from {
        Some(s) => day(s)?,
        None => now - chrono::Duration::days(30),
    };
    let to = match &q.to {
        Some(s) => day(s)? + chrono::Duration::days(1),
        None => now + chrono::Duration::seconds(1),
    };
    if to <= from {
        return Err(ApiError::bad_request(
            ErrorCode::BadQuery,
            "to 不能早于 from",
        ));
    }
    let rows = state.store.suggestion_outcomes(from, to).await?;
    Ok(Json(AccuracyView {
        from,
        to,
        direct_dispatch_confidence: state.smart.direct_confidence,
        stages: accuracy_of(&rows, state.smart.direct_confidence),
    }))
}

pub(super) async fn list_rules(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Value>> {
    let _ = caller;
    Ok(Json(json!({"items": state.store.catalog().rules})))
}

/// Replaces the catalogue; rules without an id (or 0) get a new one.
pub(super) async fn put_rules(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(mut rules): JsonBody<Vec<Rule>>,
) -> ApiResult<Json<Value>> {
    caller.require(&[Role::Admin])?;
    if rules.len() > 2000 {
        return Err(ApiError::unprocessable(
            ErrorCode::TooManyRules,
            "派单目录最多2000条",
        ));
    }
    let cat = state.store.catalog();
    let mut ids = BTreeSet::new();
    for (i, r) in rules.iter().enumerate() {
        r.validate(&cat.org, &cat.categories).map_err(|m| {
            ApiError::unprocessable(ErrorCode::InvalidRule, format!("第{}条： {m}", i + 1))
        })?;
        if r.id != 0 && !ids.insert(r.id) {
            return Err(ApiError::unprocessable(
                ErrorCode::DuplicateRuleId,
                format!("规则编号 {} 重复", r.id),
            ));
        }
    }
    let mut next = ids.iter().max().copied().unwrap_or(0);
    for r in rules.iter_mut().filter(|r| r.id == 0) {
        next += 1;
        r.id = next;
    }
    state.store.put_dispatch_rules(rules.clone()).await?;
    state.smart.refresh(&state.store).await.map_err(|e| {
        tracing::error!(error = %e, "router refresh after a catalogue change failed");
        ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::RefreshFailed,
            "派单目录已保存，但建议暂未更新，请稍后刷新",
        )
    })?;
    Ok(Json(json!({"items": rules})))
}

pub(super) async fn list_models(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<crate::views::Items<ModelView>>> {
    if !caller.sees_all() {
        return Err(ApiError::forbidden(
            ErrorCode::RoleForbidden,
            "只有中心和领导可以查看模型",
        ));
    }
    let items = state
        .store
        .models()
        .await?
        .into_iter()
        .map(|m| ModelView {
            version: m.version,
            kind: m.kind,
            created_at: m.created_at,
            meta: m.meta,
            bytes: m.bytes,
        })
        .collect();
    Ok(Json(crate::views::Items { items }))
}

pub(super) async fn train_now(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Trained>> {
    caller.require(&[Role::Admin])?;
    let r = train(&state.store, state.clock.now()).await.map_err(|e| {
        tracing::error!(error = %e, "training failed");
        ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::TrainingFailed,
            "训练失败，请查看服务器日志后重试",
        )
    })?;
    let _ = state.smart.refresh(&state.store).await;
    let trained = |m: Option<(u64, usize, Option<f32>)>| {
        m.map(|(version, classes, holdout_accuracy)| TrainedModel {
            version,
            classes,
            holdout_accuracy,
        })
    };
    Ok(Json(Trained {
        texts: r.texts,
        seconds: r.seconds,
        summary: r.describe(),
        unit: trained(r.unit),
        category: trained(r.category),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(
        stage: &str,
        units: &[(u32, f32)],
        lead: Option<u32>,
        cats: &[(u32, f32)],
        cat: Option<u32>,
    ) -> SuggestionOutcome {
        SuggestionOutcome {
            record: SuggestionRecord {
                appeal: AppealId(1),
                stage: stage.into(),
                at: chrono::Utc::now(),
                model_version: None,
                units: units.to_vec(),
                categories: cats.to_vec(),
            },
            lead,
            category: cat,
            status: Status::Dispatched,
        }
    }

    #[test]
    fn accuracy_counts_by_hand() {
        let rows = vec![
            // Right first, confident: a right one-click dispatch.
            outcome(
                "dispatch",
                &[(10, 0.95), (11, 0.3)],
                Some(10),
                &[(3, 0.8)],
                Some(3),
            ),
            // Right second: top-3 only; confident but wrong.
            outcome(
                "dispatch",
                &[(11, 0.92), (10, 0.5)],
                Some(10),
                &[(4, 0.8)],
                Some(3),
            ),
            // Not dispatched yet: not judged.
            outcome("dispatch", &[(10, 0.5)], None, &[], None),
            outcome("intake", &[(12, 0.4)], Some(12), &[], Some(3)),
        ];
        let a = accuracy_of(&rows, 0.9);
        assert_eq!(a.len(), 2);
        let d = &a[0];
        assert_eq!(d.stage, "dispatch");
        assert_eq!(
            (d.suggested, d.judged, d.unit_top1, d.unit_top3),
            (3, 2, 1, 2)
        );
        assert_eq!((d.direct, d.direct_right), (2, 1));
        assert_eq!((d.category_judged, d.category_top1), (2, 1));
        let i = &a[1];
        assert_eq!(
            (
                i.stage.as_str(),
                i.unit_top1,
                i.category_judged,
                i.category_top1
            ),
            ("intake", 1, 1, 0)
        );
    }
}
