//! PostgreSQL: Backups, restores and health. The port is [`crate::OpsStore`]; the
//! other backend has a file of the same name.

use super::*;

#[async_trait]
impl OpsStore for PgStore {
    fn queue_depth(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    async fn health(&self) -> Result<()> {
        let probe = async {
            let client = self.pool.get().await?;
            client.query_one("SELECT 1", &[]).await?;
            Ok::<(), StoreError>(())
        };
        match tokio::time::timeout(std::time::Duration::from_secs(5), probe).await {
            Ok(r) => r,
            Err(_) => Err(StoreError::Internal(
                "the database did not answer within 5 s".into(),
            )),
        }
    }

    async fn backup(&self, path: std::path::PathBuf) -> Result<crate::backup::BackupSummary> {
        let mut client = self.pool.get().await?;
        // One snapshot for every table, while the servers keep working.
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let summary = backup_pg(&tx, &path).await?;
        tx.commit().await?;
        Ok(summary)
    }

    async fn restore(&self, path: std::path::PathBuf) -> Result<crate::backup::BackupSummary> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute("LOCK TABLE meta IN SHARE ROW EXCLUSIVE MODE", &[])
            .await?;
        let n: i64 = tx
            .query_one(
                "SELECT (SELECT COUNT(*) FROM units) + (SELECT COUNT(*) FROM users)
                      + (SELECT COUNT(*) FROM appeals)",
                &[],
            )
            .await?
            .get(0);
        if n > 0 {
            return Err(StoreError::conflict(
                ErrorCode::NotEmpty,
                "只能恢复到新建的空数据库：这个数据库里已有单位、用户或工单",
            ));
        }
        // Any refusal drops the transaction, which rolls everything back.
        let summary = restore_pg(&tx, &path).await?;
        let catalog = load_catalog(&tx).await?;
        // Rollups are derived data: not in the archive, built again here.
        rebuild_rollups_pg(&tx, &catalog.calendar).await?;
        super::refill_deadline_columns(&tx).await?;
        bump_meta_counter(&tx, CATALOG_VERSION).await?;
        let version = meta_counter(&tx, CATALOG_VERSION).await?;
        tx.commit().await?;
        self.set_catalog(catalog, version);
        Ok(summary)
    }
}
