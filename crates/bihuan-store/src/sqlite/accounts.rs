//! SQLite: Users, sessions and API tokens. The port is [`crate::AccountStore`]; the
//! other backend has a file of the same name.

use super::*;
use crate::decide::Ends;

#[async_trait]
impl AccountStore for SqliteStore {
    async fn create_user(&self, user: NewUser) -> Result<User> {
        crate::decide::check_new_user(&self.catalog(), &user)?;
        self.write(move |conn| {
            if user_by(conn, "login = ?", [&user.login])?.is_some() {
                return Err(crate::decide::login_taken(&user.login));
            }
            conn.execute(
                "INSERT INTO users (login, name, role, unit, password_hash, active, created_at)
                 VALUES (?, ?, ?, ?, ?, 1, ?)",
                params![
                    user.login,
                    user.name,
                    code(&user.role),
                    user.unit.0 as i64,
                    user.password_hash,
                    Utc::now().timestamp()
                ],
            )?;
            let id = conn.last_insert_rowid();
            user_by(conn, "id = ?", [id])?.ok_or_else(|| internal("user vanished"))
        })
        .await
    }

    async fn update_user(&self, id: UserId, update: UserUpdate) -> Result<User> {
        crate::decide::check_user_update(&self.catalog(), &update)?;
        self.write(move |conn| {
            let user = user_by(conn, "id = ?", [id.0 as i64])?
                .ok_or_else(|| StoreError::not_found(format!("user {}", id.0)))?;
            let (user, ends) = crate::decide::apply_user_update(user, update);
            conn.execute(
                "UPDATE users SET name = ?, role = ?, unit = ?, active = ?, password_hash = ? WHERE id = ?",
                params![
                    user.name,
                    code(&user.role),
                    user.unit.0 as i64,
                    user.active as i64,
                    user.password_hash,
                    id.0 as i64
                ],
            )?;
            match ends {
                Ends::Nothing => {}
                Ends::Sessions => {
                    conn.execute(
                        "DELETE FROM credentials WHERE user_id = ? AND kind = ?",
                        params![id.0 as i64, CredentialKind::Session.code()],
                    )?;
                }
                Ends::Everything => {
                    conn.execute("DELETE FROM credentials WHERE user_id = ?", [id.0 as i64])?;
                }
            }
            Ok(user)
        })
        .await
    }

    async fn users(&self) -> Result<Vec<User>> {
        self.read(|conn| {
            let mut stmt = conn.prepare(&format!("SELECT {USER_COLS} FROM users ORDER BY id"))?;
            let rows = stmt
                .query_map([], user_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter().map(finish_user).collect()
        })
        .await
    }

    async fn user(&self, id: UserId) -> Result<User> {
        self.read(move |conn| {
            user_by(conn, "id = ?", [id.0 as i64])?
                .ok_or_else(|| StoreError::not_found(format!("user {}", id.0)))
        })
        .await
    }

    async fn user_by_login(&self, login: &str) -> Result<User> {
        let login = login.to_string();
        self.read(move |conn| {
            user_by(conn, "login = ?", [&login])?
                .ok_or_else(|| StoreError::not_found(format!("user {login}")))
        })
        .await
    }

    async fn put_credential(
        &self,
        token_hash: String,
        user: UserId,
        kind: CredentialKind,
        expires_at: Option<Instant>,
        name: String,
    ) -> Result<()> {
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO credentials (token_hash, user_id, kind, name, created_at, expires_at)
                 VALUES (?, ?, ?, ?, ?, ?)",
                params![
                    token_hash,
                    user.0 as i64,
                    kind.code(),
                    name,
                    Utc::now().timestamp(),
                    expires_at.map(secs)
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn credential_user(&self, token_hash: &str, now: Instant) -> Result<Option<User>> {
        let token_hash = token_hash.to_string();
        self.read(move |conn| {
            let cols = USER_COLS
                .split(", ")
                .map(|c| format!("u.{c}"))
                .collect::<Vec<_>>()
                .join(", ");
            conn.query_row(
                &format!(
                    "SELECT {cols} FROM credentials c JOIN users u ON u.id = c.user_id
                     WHERE c.token_hash = ? AND u.active = 1
                       AND (c.expires_at IS NULL OR c.expires_at > ?)"
                ),
                params![token_hash, secs(now)],
                user_from_row,
            )
            .optional()?
            .map(finish_user)
            .transpose()
        })
        .await
    }

    async fn delete_credential(&self, token_hash: &str) -> Result<()> {
        let token_hash = token_hash.to_string();
        self.write(move |conn| {
            conn.execute("DELETE FROM credentials WHERE token_hash = ?", [token_hash])?;
            Ok(())
        })
        .await
    }

    async fn api_tokens(&self) -> Result<Vec<crate::TokenInfo>> {
        self.read(|conn| {
            let mut stmt = conn.prepare(
                "SELECT token_hash, user_id, name, created_at, expires_at FROM credentials
                 WHERE kind = 'api_token' ORDER BY created_at DESC, token_hash",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(crate::TokenInfo {
                    id: crate::token_id(&r.get::<_, String>(0)?),
                    user: UserId(r.get::<_, i64>(1)? as u32),
                    name: r.get(2)?,
                    created_at: from_secs(r.get(3)?),
                    expires_at: r.get::<_, Option<i64>>(4)?.map(from_secs),
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    async fn revoke_api_token(&self, id: &str) -> Result<bool> {
        let id = id.to_string();
        self.write(move |conn| {
            let n = conn.execute(
                "DELETE FROM credentials WHERE kind = 'api_token' AND substr(token_hash, 1, ?) = ?",
                params![crate::TOKEN_ID_LEN as i64, id],
            )?;
            Ok(n > 0)
        })
        .await
    }
}
