//! SQLite: Reading and rebuilding the metric rollups. The port is [`crate::RollupStore`]; the
//! other backend has a file of the same name.

use super::*;

#[async_trait]
impl RollupStore for SqliteStore {
    async fn rollup(
        &self,
        q: crate::rollups::RollupQuery,
    ) -> Result<std::collections::HashMap<String, bihuan_domain::rollup::Sums>> {
        self.read(move |conn| rollup_query_sql(conn, &q)).await
    }

    async fn rebuild_rollups(&self) -> Result<u64> {
        let catalog = self.catalog.clone();
        let bulk = self.bulk.clone();
        let bulk_running = self.bulk.clone();
        self.write_in_batch(
            move |conn, batch| {
                let cal = catalog.read().map_err(internal)?.calendar.clone();
                let n = rebuild_rollups_sql(conn, batch, &cal)?;
                if bulk_running.lock().map_err(internal)?.is_some() {
                    // Still stale until the load's later sums are written.
                    mark_rollups(conn, BULK_LOAD)?;
                }
                Ok(n)
            },
            move |_| {
                // The rebuild counted every appeal committed, a bulk load's too: its kept sums
                // start again from nothing.
                if let Ok(mut b) = bulk.lock() {
                    if let Some(b) = b.as_mut() {
                        *b = Default::default();
                    }
                }
            },
        )
        .await
    }

    async fn rollup_dump(&self) -> Result<crate::RollupDump> {
        self.read(rollup_dump_sql).await
    }
}
