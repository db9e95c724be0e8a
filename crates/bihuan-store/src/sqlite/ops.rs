//! SQLite: Backups, restores and health. The port is [`crate::OpsStore`]; the
//! other backend has a file of the same name.

use super::*;

#[async_trait]
impl OpsStore for SqliteStore {
    async fn health(&self) -> Result<()> {
        if self.writer.stopped.load(Ordering::SeqCst) {
            return Err(internal("the database writer has stopped"));
        }
        // A job through the writer proves it takes work (not only that its thread exists).
        let answered = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            self.write(|conn| {
                conn.query_row("SELECT 1", [], |_| Ok(()))?;
                Ok(())
            }),
        )
        .await;
        match answered {
            Ok(r) => r,
            Err(_) => Err(internal("the database writer did not answer within 5 s")),
        }
    }

    fn writer_panics(&self) -> u64 {
        self.writer.panics.load(Ordering::Relaxed)
    }

    fn queue_depth(&self) -> usize {
        self.depth.load(Ordering::Relaxed)
    }

    async fn backup(&self, path: PathBuf) -> Result<crate::backup::BackupSummary> {
        self.read(move |conn| {
            // One read transaction: under WAL every table is read from the same snapshot
            // while the writer goes on.
            conn.execute_batch("BEGIN")?;
            let out = backup_sqlite(conn, &path);
            let _ = conn.execute_batch("COMMIT");
            out
        })
        .await
    }

    async fn restore(&self, path: PathBuf) -> Result<crate::backup::BackupSummary> {
        let swap = self.catalog_swapper();
        let (summary, _) = self
            .write_then(
                move |conn| {
                    let n: i64 = conn.query_row(
                        "SELECT (SELECT COUNT(*) FROM units) + (SELECT COUNT(*) FROM users)
                              + (SELECT COUNT(*) FROM appeals)",
                        [],
                        |r| r.get(0),
                    )?;
                    check_empty(n)?;
                    // A bad archive is found only while reading it; the savepoint takes back
                    // what was written by then, so the refusal leaves nothing behind.
                    conn.execute_batch("SAVEPOINT restore")?;
                    let restored = restore_sqlite(conn, &path).and_then(|s| {
                        let catalog = load_catalog(conn)?;
                        // Rollups are derived data: not in the archive, built again here.
                        rebuild_rollups_sql(conn, &mut Batch::default(), &catalog.calendar)?;
                        super::refill_deadline_columns(conn)?;
                        Ok((s, catalog))
                    });
                    match restored {
                        Ok(v) => {
                            conn.execute_batch("RELEASE restore")?;
                            Ok(v)
                        }
                        Err(e) => {
                            conn.execute_batch("ROLLBACK TO restore; RELEASE restore")?;
                            Err(e)
                        }
                    }
                },
                move |(_, catalog): &(crate::backup::BackupSummary, Catalog)| swap(catalog),
            )
            .await?;
        Ok(summary)
    }
}
