//! SQLite: Files attached to appeals. The port is [`crate::AttachmentStore`]; the
//! other backend has a file of the same name.

use super::*;

#[async_trait]
impl AttachmentStore for SqliteStore {
    async fn put_attachment(&self, file: crate::NewAttachment) -> Result<crate::Attachment> {
        let (_, mime) = crate::sniff(&file.name, &file.data)?;

        self.write(move |conn| {
            let count: i64 = conn
                .prepare_cached("SELECT COUNT(*) FROM attachments WHERE appeal_id = ?")?
                .query_row([file.appeal.0 as i64], |r| r.get(0))?;
            crate::decide::check_attachment_room(count)?;
            let exists: Option<i64> = conn
                .prepare_cached("SELECT id FROM appeals WHERE id = ?")?
                .query_row([file.appeal.0 as i64], |r| r.get(0))
                .optional()?;
            if exists.is_none() {
                return Err(StoreError::not_found(format!("appeal {}", file.appeal.0)));
            }
            let sha = crate::decide::file_sha256(&file.data);
            conn.prepare_cached(
                "INSERT INTO attachments (appeal_id, name, mime, size, sha256, data, uploaded_by, at)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )?
            .execute(params![
                file.appeal.0 as i64,
                file.name,
                mime,
                file.data.len() as i64,
                sha,
                file.data,
                file.uploaded_by.0 as i64,
                secs(file.at)
            ])?;
            Ok(crate::Attachment {
                id: conn.last_insert_rowid() as u64,
                appeal: file.appeal,
                name: file.name,
                mime: mime.to_string(),
                size: file.data.len() as u64,
                sha256: sha,
                uploaded_by: file.uploaded_by,
                at: file.at,
            })
        })
        .await
    }

    async fn attachments(&self, appeal: AppealId) -> Result<Vec<crate::Attachment>> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, appeal_id, name, mime, size, sha256, uploaded_by, at FROM attachments
                 WHERE appeal_id = ? ORDER BY id",
            )?;
            let rows = stmt
                .query_map([appeal.0 as i64], attachment_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }

    async fn attachment(&self, id: u64) -> Result<(crate::Attachment, Vec<u8>)> {
        self.read(move |conn| {
            conn.prepare_cached(
                "SELECT id, appeal_id, name, mime, size, sha256, uploaded_by, at, data FROM attachments WHERE id = ?",
            )?
            .query_row([id as i64], |r| Ok((attachment_from_row(r)?, r.get::<_, Vec<u8>>(8)?)))
            .optional()?
            .ok_or_else(|| StoreError::not_found(format!("attachment {id}")))
        })
        .await
    }
}
