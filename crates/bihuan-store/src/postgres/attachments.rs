//! PostgreSQL: Files attached to appeals. The port is [`crate::AttachmentStore`]; the
//! other backend has a file of the same name.

use super::*;

#[async_trait]
impl AttachmentStore for PgStore {
    async fn put_attachment(&self, file: crate::NewAttachment) -> Result<crate::Attachment> {
        let (_, mime) = crate::sniff(&file.name, &file.data)?;
        self.in_tx(move |tx| {
            boxed(async move {
                // The appeal's row lock keeps two uploads from both taking the last place.
                let exists = tx
                    .query_opt(
                        "SELECT id FROM appeals WHERE id = $1 FOR UPDATE",
                        &[&(file.appeal.0 as i64)],
                    )
                    .await?;
                if exists.is_none() {
                    return Err(StoreError::not_found(format!("appeal {}", file.appeal.0)));
                }
                let count: i64 = tx
                    .query_one(
                        "SELECT COUNT(*) FROM attachments WHERE appeal_id = $1",
                        &[&(file.appeal.0 as i64)],
                    )
                    .await?
                    .get(0);
                crate::decide::check_attachment_room(count)?;
                let sha = crate::decide::file_sha256(&file.data);
                let id: i64 = tx
                    .query_one(
                        "INSERT INTO attachments (appeal_id, name, mime, size, sha256, data, uploaded_by, at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                        &[
                            &(file.appeal.0 as i64),
                            &file.name,
                            &mime,
                            &(file.data.len() as i64),
                            &sha,
                            &file.data,
                            &(file.uploaded_by.0 as i64),
                            &secs(file.at),
                        ],
                    )
                    .await?
                    .get(0);
                Ok(crate::Attachment {
                    id: id as u64,
                    appeal: file.appeal,
                    name: file.name,
                    mime: mime.to_string(),
                    size: file.data.len() as u64,
                    sha256: sha,
                    uploaded_by: file.uploaded_by,
                    at: file.at,
                })
            })
        })
        .await
    }

    async fn attachments(&self, appeal: AppealId) -> Result<Vec<crate::Attachment>> {
        let client = self.pool.get().await?;
        Ok(client
            .query(
                "SELECT id, appeal_id, name, mime, size, sha256, uploaded_by, at FROM attachments
                 WHERE appeal_id = $1 ORDER BY id",
                &[&(appeal.0 as i64)],
            )
            .await?
            .iter()
            .map(attachment_from_row)
            .collect())
    }

    async fn attachment(&self, id: u64) -> Result<(crate::Attachment, Vec<u8>)> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                "SELECT id, appeal_id, name, mime, size, sha256, uploaded_by, at, data
                 FROM attachments WHERE id = $1",
                &[&(id as i64)],
            )
            .await?
            .ok_or_else(|| StoreError::not_found(format!("attachment {id}")))?;
        Ok((attachment_from_row(&row), row.get(8)))
    }
}
