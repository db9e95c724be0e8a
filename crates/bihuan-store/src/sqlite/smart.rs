//! SQLite: Routing models and the suggestions shown. The port is [`crate::SmartStore`]; the
//! other backend has a file of the same name.

use super::*;

#[async_trait]
impl SmartStore for SqliteStore {
    async fn put_model(&self, m: crate::NewModel) -> Result<u64> {
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO models (kind, created_at, meta, body) VALUES (?, ?, ?, ?)",
                params![m.kind, secs(m.created_at), m.meta.to_string(), m.body],
            )?;
            Ok(conn.last_insert_rowid() as u64)
        })
        .await
    }

    async fn latest_model(&self, kind: &str) -> Result<Option<(crate::ModelInfo, Vec<u8>)>> {
        let kind = kind.to_string();
        self.read(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT id, kind, created_at, meta, length(body), body FROM models
                     WHERE kind = ? ORDER BY id DESC LIMIT 1",
                    [&kind],
                    |r| Ok((model_info(r)?, r.get::<_, Vec<u8>>(5)?)),
                )
                .optional()?)
        })
        .await
    }

    async fn models(&self) -> Result<Vec<crate::ModelInfo>> {
        self.read(|conn| {
            let mut stmt = conn.prepare(
                "SELECT id, kind, created_at, meta, length(body) FROM models ORDER BY id DESC",
            )?;
            let rows = stmt
                .query_map([], model_info)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }

    async fn put_suggestions(&self, list: Vec<crate::SuggestionRecord>) -> Result<()> {
        self.write(move |conn| {
            for s in list {
                conn.prepare_cached(
                "INSERT INTO suggestions (appeal_id, stage, at, model_version, units, categories)
                 VALUES (?, ?, ?, ?, ?, ?)
                 ON CONFLICT(appeal_id, stage) DO UPDATE SET at = excluded.at,
                   model_version = excluded.model_version, units = excluded.units,
                   categories = excluded.categories",
            )?
            .execute(params![
                s.appeal.0 as i64,
                s.stage,
                secs(s.at),
                s.model_version.map(|v| v as i64),
                serde_json::to_string(&s.units)?,
                serde_json::to_string(&s.categories)?
            ])?;
            }
            Ok(())
        })
        .await
    }

    async fn suggestion_outcomes(
        &self,
        from: Instant,
        to: Instant,
    ) -> Result<Vec<crate::SuggestionOutcome>> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT s.appeal_id, s.stage, s.at, s.model_version, s.units, s.categories,
                        a.lead, a.category, a.status
                 FROM suggestions s JOIN appeals a ON a.id = s.appeal_id
                 WHERE s.at >= ? AND s.at < ? ORDER BY s.at",
            )?;
            let rows = stmt
                .query_map(params![secs(from), secs(to)], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, Option<i64>>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, String>(5)?,
                        r.get::<_, Option<i64>>(6)?,
                        r.get::<_, Option<i64>>(7)?,
                        r.get::<_, String>(8)?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(|(id, stage, at, mv, units, cats, lead, cat, status)| {
                    Ok(crate::SuggestionOutcome {
                        record: crate::SuggestionRecord {
                            appeal: AppealId(id as u64),
                            stage,
                            at: from_secs(at),
                            model_version: mv.map(|v| v as u64),
                            units: serde_json::from_str(&units)?,
                            categories: serde_json::from_str(&cats)?,
                        },
                        lead: lead.map(|v| v as u32),
                        category: cat.map(|v| v as u32),
                        status: parse_code(&status)?,
                    })
                })
                .collect()
        })
        .await
    }
}
