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
        self.write_in_batch(
            move |conn, batch| {
                let cal = catalog.read().map_err(internal)?.calendar.clone();
                rebuild_rollups_sql(conn, batch, &cal)
            },
            |_| {},
        )
        .await
    }

    async fn rollup_dump(&self) -> Result<crate::RollupDump> {
        self.read(rollup_dump_sql).await
    }
}
