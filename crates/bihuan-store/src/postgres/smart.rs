//! PostgreSQL: Routing models and the suggestions shown. The port is [`crate::SmartStore`]; the
//! other backend has a file of the same name.

use super::*;

#[async_trait]
impl SmartStore for PgStore {
    async fn put_model(&self, m: crate::NewModel) -> Result<u64> {
        let client = self.pool.get().await?;
        let row = client
            .query_one(
                "INSERT INTO models (kind, created_at, meta, body) VALUES ($1, $2, $3, $4)
                 RETURNING id",
                &[&m.kind, &secs(m.created_at), &m.meta.to_string(), &m.body],
            )
            .await?;
        Ok(row.get::<_, i64>(0) as u64)
    }

    async fn latest_model(&self, kind: &str) -> Result<Option<(crate::ModelInfo, Vec<u8>)>> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                "SELECT id, kind, created_at, meta, length(body)::BIGINT, body FROM models
                 WHERE kind = $1 ORDER BY id DESC LIMIT 1",
                &[&kind],
            )
            .await?;
        Ok(row.map(|r| (pg_model_info(&r), r.get::<_, Vec<u8>>(5))))
    }

    async fn models(&self) -> Result<Vec<crate::ModelInfo>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT id, kind, created_at, meta, length(body)::BIGINT FROM models ORDER BY id DESC",
                &[],
            )
            .await?;
        Ok(rows.iter().map(pg_model_info).collect())
    }

    async fn put_suggestions(&self, list: Vec<crate::SuggestionRecord>) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        for s in list {
            tx.execute(
                "INSERT INTO suggestions (appeal_id, stage, at, model_version, units, categories)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (appeal_id, stage) DO UPDATE SET at = excluded.at,
                   model_version = excluded.model_version, units = excluded.units,
                   categories = excluded.categories",
                &[
                    &(s.appeal.0 as i64),
                    &s.stage,
                    &secs(s.at),
                    &s.model_version.map(|v| v as i64),
                    &serde_json::to_string(&s.units).map_err(internal)?,
                    &serde_json::to_string(&s.categories).map_err(internal)?,
                ],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn suggestion_outcomes(
        &self,
        from: Instant,
        to: Instant,
    ) -> Result<Vec<crate::SuggestionOutcome>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT s.appeal_id, s.stage, s.at, s.model_version, s.units, s.categories,
                        a.lead, a.category, a.status
                 FROM suggestions s JOIN appeals a ON a.id = s.appeal_id
                 WHERE s.at >= $1 AND s.at < $2 ORDER BY s.at",
                &[&secs(from), &secs(to)],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(crate::SuggestionOutcome {
                    record: crate::SuggestionRecord {
                        appeal: AppealId(r.get::<_, i64>(0) as u64),
                        stage: r.get(1),
                        at: from_secs(r.get(2)),
                        model_version: r.get::<_, Option<i64>>(3).map(|v| v as u64),
                        units: serde_json::from_str(r.get(4)).map_err(internal)?,
                        categories: serde_json::from_str(r.get(5)).map_err(internal)?,
                    },
                    lead: r.get::<_, Option<i64>>(6).map(|v| v as u32),
                    category: r.get::<_, Option<i64>>(7).map(|v| v as u32),
                    status: parse_code(r.get(8))?,
                })
            })
            .collect()
    }
}
