//! The background work: the indexer that follows the change feed, and model training.

use super::*;

/// What a training run did: the texts it used and, for each model, its version, classes and held-out accuracy.
pub struct TrainReport {
    pub texts: usize,
    pub unit: Option<(u64, usize, Option<f32>)>,
    pub category: Option<(u64, usize, Option<f32>)>,
    pub seconds: f64,
}

impl TrainReport {
    pub fn describe(&self) -> String {
        let part = |name: &str, m: &Option<(u64, usize, Option<f32>)>| match m {
            Some((v, classes, acc)) => format!(
                "{name}模型 v{v}: {classes} 类， 留出集准确率 {}",
                acc.map(|a| format!("{:.1}%", a * 100.0))
                    .unwrap_or_else(|| "—".into())
            ),
            None => format!("{name}模型： 数据不足（至少需要两个类别），未训练"),
        };
        format!(
            "用 {} 件已办结诉求训练， 用时 {:.1} 秒； {}; {}",
            self.texts,
            self.seconds,
            part("承办单位", &self.unit),
            part("类别", &self.category)
        )
    }
}

/// Trains the unit and category models on the newest closed appeals and stores them.
pub async fn train(store: &Arc<dyn Store>, now: Instant) -> anyhow::Result<TrainReport> {
    let started = std::time::Instant::now();
    let mut cursor = None;
    let mut rows: Vec<(Option<UnitId>, Option<CategoryId>, String)> = Vec::new();
    while rows.len() < TRAIN_CAP {
        let filter = AppealFilter {
            status: vec![Status::Closed],
            sort: Sort::Newest,
            ..Default::default()
        };
        let page = store.list(filter, cursor, 500).await?;
        for a in &page.items {
            rows.push((a.lead, a.category, format!("{}\n{}", a.title, a.content)));
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    rows.truncate(TRAIN_CAP);
    let cat = store.catalog();
    let texts = rows.len();
    let (unit, category) = tokio::task::spawn_blocking(move || {
        let tok = Tokenizer::new(county_words(&cat.org, &cat.categories));
        let units: Vec<(String, &str)> = rows
            .iter()
            .filter_map(|(u, _, t)| u.map(|u| (u.0.to_string(), t.as_str())))
            .collect();
        let cats: Vec<(String, &str)> = rows
            .iter()
            .filter_map(|(_, c, t)| c.map(|c| (c.0.to_string(), t.as_str())))
            .collect();
        // Fewer passes than the evaluation's default: a county retrains daily, and the last
        // passes move the held-out accuracy by less than a point.
        let opts = Options {
            max_passes: 40,
            ..Options::default()
        };
        let t = std::time::Instant::now();
        let unit = train_model(&tok, &units, &opts)
            .ok()
            .map(|m| (units.len(), m));
        tracing::info!(seconds = t.elapsed().as_secs_f64(), "unit model trained");
        (
            unit,
            train_model(&tok, &cats, &opts)
                .ok()
                .map(|m| (cats.len(), m)),
        )
    })
    .await?;
    let seconds = started.elapsed().as_secs_f64();
    let mut report = TrainReport {
        texts,
        unit: None,
        category: None,
        seconds,
    };
    for (kind, m) in [("unit", unit), ("category", category)] {
        let Some((n, m)) = m else { continue };
        let meta = json!({
            "texts": n, "classes": m.classes.len(), "features": m.features(),
            "holdout_accuracy": m.holdout_accuracy, "seconds": seconds,
        });
        let v = store
            .put_model(NewModel {
                kind: kind.into(),
                created_at: now,
                meta,
                body: m.to_bytes(),
            })
            .await?;
        let entry = Some((v, m.classes.len(), m.holdout_accuracy));
        if kind == "unit" {
            report.unit = entry;
        } else {
            report.category = entry;
        }
    }
    Ok(report)
}

/// The feed every `every`, the catalog and models and the duplicate window
/// every ten rounds, and retraining on schedule.
pub fn spawn(state: AppState, every: Duration) {
    state.smart.accept_handoffs();
    crate::ops::supervise(&state, "indexer", move |state| run(state, every));
}

pub(super) async fn run(state: AppState, every: Duration) {
    let smart = state.smart.clone();
    match smart.fill_duplicates(&state.store, state.clock.now()).await {
        Ok(n) => tracing::info!(appeals = n, "duplicate index filled"),
        Err(e) => tracing::error!(error = %e, "cannot fill the duplicate index"),
    }
    let mut ticks: u64 = 0;
    let retrain = Duration::from_secs(state.config.retrain_hours * 3600);
    let mut last_train = std::time::Instant::now();
    // A database without models (new, or restored from a backup: models stay out of
    // backups) trains once at start, in the background, when it has history to learn from.
    if !retrain.is_zero() {
        match state.store.models().await {
            Ok(m) if m.is_empty() => match train(&state.store, state.clock.now()).await {
                Ok(r) if r.unit.is_some() || r.category.is_some() => {
                    tracing::info!(texts = r.texts, "routing models trained at start")
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "training at start failed"),
            },
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "cannot list the routing models"),
        }
    }
    loop {
        match smart.catch_up(&state.store, state.clock.now()).await {
            Ok(n) if n > 0 => {
                tracing::debug!(appeals = n, "search and duplicate indexes updated")
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "index update failed; retrying"),
        }
        if ticks.is_multiple_of(10) {
            if let Err(e) = smart.refresh(&state.store).await {
                tracing::error!(error = %e, "cannot reload the dispatch catalogue or models");
            }
            smart.expire(state.clock.now());
        }
        if !retrain.is_zero() && last_train.elapsed() >= retrain {
            last_train = std::time::Instant::now();
            match train(&state.store, state.clock.now()).await {
                Ok(r) => tracing::info!(texts = r.texts, "routing models retrained"),
                Err(e) => tracing::error!(error = %e, "scheduled retraining failed"),
            }
        }
        ticks += 1;
        tokio::time::sleep(every).await;
    }
}
