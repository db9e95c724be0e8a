//! PostgreSQL: Reference data: units, categories, policies, weights, dispatch rules, calendar years, and rates entered by hand. The port is [`crate::ReferenceStore`]; the
//! other backend has a file of the same name.

use super::*;

#[async_trait]
impl ReferenceStore for PgStore {
    fn catalog(&self) -> Arc<Catalog> {
        self.catalog
            .read()
            .map(|c| c.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    async fn put_units(&self, units: Vec<Unit>) -> Result<()> {
        self.change_catalog(move |tx, mut cat| {
            boxed(async move {
                let (org, all) = crate::decide::units_after(&cat, units)?;
                cat.org = org;
                tx.execute("DELETE FROM units", &[]).await?;
                let st = tx
                    .prepare_cached(
                        "INSERT INTO units (id, name, kind, parent, aliases) VALUES ($1, $2, $3, $4, $5)",
                    )
                    .await?;
                for u in &all {
                    tx.execute(
                        &st,
                        &[
                            &(u.id.0 as i64),
                            &u.name,
                            &code(&u.kind),
                            &u.parent.map(|p| p.0 as i64),
                            &serde_json::to_string(&u.aliases).map_err(internal)?,
                        ],
                    )
                    .await?;
                }
                Ok(cat)
            })
        })
        .await
    }

    async fn put_categories(&self, categories: Vec<Category>) -> Result<()> {
        self.change_catalog(move |tx, mut cat| {
            boxed(async move {
                let (tree, all) = crate::decide::categories_after(&cat, categories)?;
                cat.categories = tree;
                tx.execute("DELETE FROM categories", &[]).await?;
                let st = tx
                    .prepare_cached("INSERT INTO categories (id, name, parent) VALUES ($1, $2, $3)")
                    .await?;
                for c in &all {
                    tx.execute(
                        &st,
                        &[&(c.id.0 as i64), &c.name, &c.parent.map(|p| p.0 as i64)],
                    )
                    .await?;
                }
                Ok(cat)
            })
        })
        .await
    }

    async fn put_policies(&self, policies: PolicyTable) -> Result<()> {
        let json = serde_json::to_string(&policies).map_err(internal)?;
        self.put_catalog_meta("policies", json, move |cat| cat.policies = policies)
            .await
    }

    async fn put_score_weights(&self, weights: bihuan_domain::metrics::ScoreWeights) -> Result<()> {
        let json = serde_json::to_string(&weights).map_err(internal)?;
        self.put_catalog_meta("score_weights", json, move |cat| cat.weights = weights)
            .await
    }

    async fn put_dispatch_rules(&self, rules: Vec<bihuan_domain::catalogue::Rule>) -> Result<()> {
        let json = serde_json::to_string(&rules).map_err(internal)?;
        self.put_catalog_meta("dispatch_rules", json, move |cat| cat.rules = rules)
            .await
    }

    async fn put_calendar_year(&self, notice_json: String) -> Result<YearNotice> {
        let notice = YearNotice::from_json(&notice_json)
            .map_err(|e| StoreError::invalid(e.error_code(), e.to_string()))?;
        let year = notice.year;
        self.change_catalog(move |tx, mut cat| {
            boxed(async move {
                cat.calendar.load(notice);
                tx.execute(
                    "INSERT INTO calendar_years (year, json, loaded_at) VALUES ($1, $2, $3)
                     ON CONFLICT (year) DO UPDATE SET json = excluded.json, loaded_at = excluded.loaded_at",
                    &[&(year as i64), &notice_json, &Utc::now().timestamp()],
                )
                .await?;
                Ok(cat)
            })
        })
        .await?;
        self.catalog()
            .calendar
            .notice(year)
            .cloned()
            .ok_or_else(|| internal("calendar year vanished"))
    }

    async fn put_entered_rate(&self, r: crate::EnteredRate) -> Result<()> {
        let client = self.pool.get().await?;
        client
            .execute(
                "INSERT INTO entered_rates (period, name, value, source, entered_by, at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &r.period,
                    &r.name.code(),
                    &r.value,
                    &r.source,
                    &(r.entered_by.0 as i64),
                    &secs(r.at),
                ],
            )
            .await?;
        Ok(())
    }

    async fn entered_rates(&self, period: &str) -> Result<Vec<crate::EnteredRate>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT DISTINCT ON (name) period, name, value, source, entered_by, at
                 FROM entered_rates WHERE period = $1 ORDER BY name, id DESC",
                &[&period],
            )
            .await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                Some(crate::EnteredRate {
                    period: r.get(0),
                    name: crate::RateName::parse(r.get::<_, &str>(1))?,
                    value: r.get(2),
                    source: r.get(3),
                    entered_by: UserId(r.get::<_, i64>(4) as u32),
                    at: from_secs(r.get(5)),
                })
            })
            .collect())
    }
}
