//! SQLite: Reference data: units, categories, policies, weights, dispatch rules, calendar years, and rates entered by hand. The port is [`crate::ReferenceStore`]; the
//! other backend has a file of the same name.

use super::*;

#[async_trait]
impl ReferenceStore for SqliteStore {
    fn catalog(&self) -> Arc<Catalog> {
        self.catalog
            .read()
            .map(|c| c.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    async fn put_units(&self, units: Vec<Unit>) -> Result<()> {
        let catalog = self.catalog.clone();
        let swap = self.catalog_swapper();
        self.write_then(
            move |conn| {
                // Units are upserted; the whole resulting tree must be valid.
                let mut cat = catalog.read().map_err(internal)?.as_ref().clone();
                let (org, all) = crate::decide::units_after(&cat, units)?;
                cat.org = org;
                conn.execute("DELETE FROM units", [])?;
                let mut stmt = conn.prepare_cached(
                    "INSERT INTO units (id, name, kind, parent, aliases) VALUES (?, ?, ?, ?, ?)",
                )?;
                for u in &all {
                    stmt.execute(params![
                        u.id.0 as i64,
                        u.name,
                        code(&u.kind),
                        u.parent.map(|p| p.0 as i64),
                        serde_json::to_string(&u.aliases)?
                    ])?;
                }
                Ok(cat)
            },
            swap,
        )
        .await
        .map(|_| ())
    }

    async fn put_categories(&self, categories: Vec<Category>) -> Result<()> {
        let catalog = self.catalog.clone();
        let swap = self.catalog_swapper();
        self.write_then(
            move |conn| {
                let mut cat = catalog.read().map_err(internal)?.as_ref().clone();
                let (tree, all) = crate::decide::categories_after(&cat, categories)?;
                cat.categories = tree;
                conn.execute("DELETE FROM categories", [])?;
                let mut stmt = conn
                    .prepare_cached("INSERT INTO categories (id, name, parent) VALUES (?, ?, ?)")?;
                for c in &all {
                    stmt.execute(params![c.id.0 as i64, c.name, c.parent.map(|p| p.0 as i64)])?;
                }
                Ok(cat)
            },
            swap,
        )
        .await
        .map(|_| ())
    }

    async fn put_policies(&self, policies: PolicyTable) -> Result<()> {
        self.put_catalog_meta("policies", serde_json::to_string(&policies)?, move |cat| {
            cat.policies = policies
        })
        .await
    }

    async fn put_score_weights(&self, weights: bihuan_domain::metrics::ScoreWeights) -> Result<()> {
        self.put_catalog_meta(
            "score_weights",
            serde_json::to_string(&weights)?,
            move |cat| cat.weights = weights,
        )
        .await
    }

    async fn put_dispatch_rules(&self, rules: Vec<bihuan_domain::catalogue::Rule>) -> Result<()> {
        self.put_catalog_meta(
            "dispatch_rules",
            serde_json::to_string(&rules)?,
            move |cat| cat.rules = rules,
        )
        .await
    }

    async fn put_calendar_year(&self, notice_json: String) -> Result<YearNotice> {
        let notice = YearNotice::from_json(&notice_json)
            .map_err(|e| StoreError::invalid(e.error_code(), e.to_string()))?;
        let catalog = self.catalog.clone();
        let swap = self.catalog_swapper();
        let year = notice.year;
        self.write_then(
            move |conn| {
                let mut cat = catalog.read().map_err(internal)?.as_ref().clone();
                cat.calendar.load(notice);
                conn.execute(
                    "INSERT INTO calendar_years (year, json, loaded_at) VALUES (?, ?, ?)
                     ON CONFLICT(year) DO UPDATE SET json = excluded.json, loaded_at = excluded.loaded_at",
                    params![year, notice_json, Utc::now().timestamp()],
                )?;
                Ok(cat)
            },
            swap,
        )
        .await?;
        Ok(self
            .catalog()
            .calendar
            .notice(year)
            .cloned()
            .expect("just loaded"))
    }

    async fn put_entered_rate(&self, r: crate::EnteredRate) -> Result<()> {
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO entered_rates (period, name, value, source, entered_by, at) VALUES (?, ?, ?, ?, ?, ?)",
            )?
            .execute(params![r.period, r.name.code(), r.value, r.source, r.entered_by.0 as i64, secs(r.at)])?;
            Ok(())
        })
        .await
    }

    async fn entered_rates(&self, period: &str) -> Result<Vec<crate::EnteredRate>> {
        let period = period.to_string();
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT period, name, value, source, entered_by, at FROM entered_rates e
                 WHERE period = ? AND id = (SELECT MAX(id) FROM entered_rates x WHERE x.period = e.period AND x.name = e.name)
                 ORDER BY name",
            )?;
            let rows = stmt
                .query_map([&period], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, f64>(2)?, r.get::<_, String>(3)?, r.get::<_, i64>(4)?, r.get::<_, i64>(5)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows
                .into_iter()
                .filter_map(|(period, name, value, source, by, at)| {
                    Some(crate::EnteredRate { period, name: crate::RateName::parse(&name)?, value, source, entered_by: UserId(by as u32), at: from_secs(at) })
                })
                .collect())
        })
        .await
    }
}
