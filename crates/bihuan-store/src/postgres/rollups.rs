//! PostgreSQL: Reading and rebuilding the metric rollups. The port is [`crate::RollupStore`]; the
//! other backend has a file of the same name.

use super::*;

#[async_trait]
impl RollupStore for PgStore {
    async fn rollup(
        &self,
        q: crate::rollups::RollupQuery,
    ) -> Result<std::collections::HashMap<String, bihuan_domain::rollup::Sums>> {
        let client = self.pool.get().await?;
        rollup_query_pg(&client, &q).await
    }

    async fn rebuild_rollups(&self) -> Result<u64> {
        let cal = self.catalog().calendar.clone();
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let n = rebuild_rollups_pg(&tx, &cal).await?;
        tx.commit().await?;
        Ok(n)
    }

    async fn rollup_dump(&self) -> Result<crate::RollupDump> {
        let client = self.pool.get().await?;
        rollup_dump_pg(&client).await
    }
}
