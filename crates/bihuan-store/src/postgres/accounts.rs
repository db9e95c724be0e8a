//! PostgreSQL: Users, sessions and API tokens. The port is [`crate::AccountStore`]; the
//! other backend has a file of the same name.

use super::*;
use crate::decide::Ends;

#[async_trait]
impl AccountStore for PgStore {
    fn revocations(&self) -> u64 {
        self.revocations.load(Ordering::SeqCst) as u64
    }

    async fn create_user(&self, user: NewUser) -> Result<User> {
        crate::decide::check_new_user(&self.catalog(), &user)?;
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                &format!(
                    "INSERT INTO users (login, name, role, unit, password_hash, active, created_at)
                     VALUES ($1, $2, $3, $4, $5, 1, $6)
                     ON CONFLICT (login) DO NOTHING
                     RETURNING {USER_COLS}"
                ),
                &[
                    &user.login,
                    &user.name,
                    &code(&user.role),
                    &(user.unit.0 as i64),
                    &user.password_hash,
                    &Utc::now().timestamp(),
                ],
            )
            .await?;
        match row {
            Some(r) => user_from_row(&r),
            None => Err(crate::decide::login_taken(&user.login)),
        }
    }

    async fn update_user(&self, id: UserId, update: UserUpdate) -> Result<User> {
        crate::decide::check_user_update(&self.catalog(), &update)?;
        self.in_tx(move |tx| {
            boxed(async move {
                let user = user_by(tx, "id = $1 FOR UPDATE", &(id.0 as i64))
                    .await?
                    .ok_or_else(|| StoreError::not_found(format!("user {}", id.0)))?;
                let (user, ends) = crate::decide::apply_user_update(user, update);
                tx.execute(
                    "UPDATE users SET name = $1, role = $2, unit = $3, active = $4, password_hash = $5 WHERE id = $6",
                    &[
                        &user.name,
                        &code(&user.role),
                        &(user.unit.0 as i64),
                        &(user.active as i64),
                        &user.password_hash,
                        &(id.0 as i64),
                    ],
                )
                .await?;
                match ends {
                    Ends::Nothing => {}
                    Ends::Sessions => {
                        tx.execute(
                            "DELETE FROM credentials WHERE user_id = $1 AND kind = $2",
                            &[&(id.0 as i64), &CredentialKind::Session.code()],
                        )
                        .await?;
                    }
                    Ends::Everything => {
                        tx.execute("DELETE FROM credentials WHERE user_id = $1", &[&(id.0 as i64)])
                            .await?;
                    }
                }
                // Role, unit or password changed: other servers drop what they cached.
                bump_meta_counter(tx, REVOCATIONS).await?;
                Ok(user)
            })
        })
        .await
    }

    async fn users(&self) -> Result<Vec<User>> {
        let client = self.pool.get().await?;
        client
            .query(&format!("SELECT {USER_COLS} FROM users ORDER BY id"), &[])
            .await?
            .iter()
            .map(user_from_row)
            .collect()
    }

    async fn user(&self, id: UserId) -> Result<User> {
        let client = self.pool.get().await?;
        user_by(&client, "id = $1", &(id.0 as i64))
            .await?
            .ok_or_else(|| StoreError::not_found(format!("user {}", id.0)))
    }

    async fn user_by_login(&self, login: &str) -> Result<User> {
        let client = self.pool.get().await?;
        user_by(&client, "login = $1", &login)
            .await?
            .ok_or_else(|| StoreError::not_found(format!("user {login}")))
    }

    async fn put_credential(
        &self,
        token_hash: String,
        user: UserId,
        kind: CredentialKind,
        expires_at: Option<Instant>,
        name: String,
    ) -> Result<()> {
        let client = self.pool.get().await?;
        client
            .execute(
                "INSERT INTO credentials (token_hash, user_id, kind, name, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &token_hash,
                    &(user.0 as i64),
                    &kind.code(),
                    &name,
                    &Utc::now().timestamp(),
                    &expires_at.map(secs),
                ],
            )
            .await?;
        Ok(())
    }

    async fn credential_user(&self, token_hash: &str, now: Instant) -> Result<Option<User>> {
        let client = self.pool.get().await?;
        let cols = USER_COLS
            .split(", ")
            .map(|c| format!("u.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let st = client
            .prepare_cached(&format!(
                "SELECT {cols} FROM credentials c JOIN users u ON u.id = c.user_id
                 WHERE c.token_hash = $1 AND u.active = 1
                   AND (c.expires_at IS NULL OR c.expires_at > $2)"
            ))
            .await?;
        client
            .query_opt(&st, &[&token_hash, &secs(now)])
            .await?
            .map(|r| user_from_row(&r))
            .transpose()
    }

    async fn delete_credential(&self, token_hash: &str) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute(
            "DELETE FROM credentials WHERE token_hash = $1",
            &[&token_hash],
        )
        .await?;
        bump_meta_counter(&tx, REVOCATIONS).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn api_tokens(&self) -> Result<Vec<crate::TokenInfo>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT token_hash, user_id, name, created_at, expires_at FROM credentials
                 WHERE kind = 'api_token' ORDER BY created_at DESC, token_hash",
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| crate::TokenInfo {
                id: crate::token_id(r.get::<_, &str>(0)),
                user: UserId(r.get::<_, i64>(1) as u32),
                name: r.get(2),
                created_at: from_secs(r.get(3)),
                expires_at: r.get::<_, Option<i64>>(4).map(from_secs),
            })
            .collect())
    }

    async fn revoke_api_token(&self, id: &str) -> Result<bool> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let n = tx
            .execute(
                "DELETE FROM credentials WHERE kind = 'api_token' AND left(token_hash, $1) = $2",
                &[&(crate::TOKEN_ID_LEN as i32), &id],
            )
            .await?;
        if n > 0 {
            bump_meta_counter(&tx, REVOCATIONS).await?;
        }
        tx.commit().await?;
        Ok(n > 0)
    }
}
