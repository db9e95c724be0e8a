//! Accounts: argon2 password hashes, random tokens stored only as SHA-256, and the `Caller`
//! extractor that turns a cookie session (console) or a bearer token (integrations) into the
//! acting user.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use bihuan_domain::lifecycle::{Actor, Role};
use bihuan_domain::org::UnitKind;
use bihuan_domain::ErrorCode;
use bihuan_store::User;
use rand::RngCore;
use sha2::Digest;

use crate::error::ApiError;
use crate::AppState;

pub const SESSION_COOKIE: &str = "bihuan_session";

pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))
}

/// A hash of no one's password, checked for logins that do not exist so that their answer takes
/// as long as a known login's (names cannot be found by timing).
pub fn dummy_hash() -> &'static str {
    static H: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    H.get_or_init(|| {
        let (token, _) = new_token();
        hash_password(&token).unwrap_or_default()
    })
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Rules for a new password: at least 8 characters, not all of one kind.
pub fn check_password_strength(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < 8 {
        return Err("密码至少8位".into());
    }
    if n > 128 {
        return Err("密码不能超过128位".into());
    }
    let digits = password.chars().all(|c| c.is_ascii_digit());
    let letters = password.chars().all(|c| c.is_alphabetic());
    if digits || letters {
        return Err("密码须同时包含字母和数字（或符号）".into());
    }
    Ok(())
}

/// A new random token and the hash under which it is stored.
pub fn new_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    let hash = token_hash(&token);
    (token, hash)
}

pub fn token_hash(token: &str) -> String {
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}

/// The token a request carries: `Authorization: Bearer …`, else the session cookie.
pub fn request_token(parts: &Parts) -> Option<String> {
    if let Some(v) = parts.headers.get(axum::http::header::AUTHORIZATION) {
        let v = v.to_str().ok()?;
        return v
            .strip_prefix("Bearer ")
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty());
    }
    for v in parts.headers.get_all(axum::http::header::COOKIE) {
        let Ok(s) = v.to_str() else { continue };
        for pair in s.split(';') {
            if let Some((k, val)) = pair.trim().split_once('=') {
                if k == SESSION_COOKIE && !val.is_empty() {
                    return Some(val.to_string());
                }
            }
        }
    }
    None
}

/// Recently verified credentials, so that a busy integration does not cost a database read per
/// request. Entries live [`CredentialCache::TTL`]; the cache is emptied whenever this server
/// changes a user or ends a session, and whenever the store reports a revocation made by
/// another server (PostgreSQL: within about a second), so a disabled account stops working
/// everywhere almost at once.
#[derive(Default)]
pub struct CredentialCache {
    map: std::sync::Mutex<std::collections::HashMap<String, (User, std::time::Instant)>>,
    /// The store's revocation count the entries were cached under.
    epoch: std::sync::atomic::AtomicU64,
}

impl CredentialCache {
    pub const TTL: std::time::Duration = std::time::Duration::from_secs(30);

    /// Empties the cache when the store's revocation count has moved.
    pub fn sync(&self, epoch: u64) {
        use std::sync::atomic::Ordering;
        if self.epoch.swap(epoch, Ordering::AcqRel) != epoch {
            self.clear();
        }
    }

    pub fn get(&self, hash: &str) -> Option<User> {
        let map = self.map.lock().ok()?;
        let (u, at) = map.get(hash)?;
        (at.elapsed() < Self::TTL).then(|| u.clone())
    }

    pub fn put(&self, hash: String, user: User) {
        if let Ok(mut map) = self.map.lock() {
            if map.len() > 10_000 {
                map.retain(|_, (_, at)| at.elapsed() < Self::TTL);
            }
            map.insert(hash, (user, std::time::Instant::now()));
        }
    }

    pub fn clear(&self) {
        if let Ok(mut map) = self.map.lock() {
            map.clear();
        }
    }
}

/// The authenticated user making a request, with the actor the domain sees.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
    pub actor: Actor,
    pub unit_kind: UnitKind,
}

impl Caller {
    /// The centre and leaders see every appeal; units see their own (the allow-list is
    /// [`Role::visibility`]).
    pub fn sees_all(&self) -> bool {
        self.user.role.visibility() == bihuan_domain::lifecycle::Visibility::County
    }

    /// Narrows a filter to the appeals this caller may see (the rule of `appeals::can_see`).
    pub fn scope(&self, f: &mut bihuan_store::AppealFilter) {
        use bihuan_domain::lifecycle::Visibility;
        // 检举控告 (Art 30): never the matters that name this reader as accused.
        f.hidden_from = Some(self.user.id);
        match self.user.role.visibility() {
            Visibility::County => {}
            Visibility::OwnRegistrations => f.registered_by = Some(self.user.id),
            Visibility::Unit => f.involving = Some(vec![self.user.unit]),
        }
    }

    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.user.role) {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                ErrorCode::RoleForbidden,
                format!("当前角色「{}」无权执行此操作", self.user.role.label()),
            ))
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = request_token(parts).ok_or_else(ApiError::unauthorized)?;
        let hash = token_hash(&token);
        // Another server that revoked a credential or disabled a user bumps the store's
        // revocation count; this server's cache is emptied when it sees the new count.
        state.credentials.sync(state.store.revocations());
        let user = match state.credentials.get(&hash) {
            Some(u) => u,
            None => {
                let u = state
                    .store
                    .credential_user(&hash, state.clock.now())
                    .await?
                    .ok_or_else(ApiError::unauthorized)?;
                state.credentials.put(hash, u.clone());
                u
            }
        };
        let actor = state.store.catalog().actor(&user);
        let unit_kind = actor.unit_kind;
        Ok(Caller {
            user,
            actor,
            unit_kind,
        })
    }
}

/// The caller of a request that must be an administrator (401 without a login, 403 for
/// another role).
pub async fn require_admin(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
    let caller = Caller::from_request_parts(parts, state).await?;
    caller.require(&[Role::Admin, Role::System])?;
    Ok(caller)
}

/// Requires a login of any role.
pub async fn require_login(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
    Caller::from_request_parts(parts, state).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("正确的密码abc123").unwrap();
        assert!(verify_password("正确的密码abc123", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("x", "not a hash"));
        assert!(check_password_strength("abc12345").is_ok());
        assert!(check_password_strength("12345678").is_err());
        assert!(check_password_strength("abc").is_err());
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, ha) = new_token();
        let (b, _) = new_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_eq!(token_hash(&a), ha);
        assert_ne!(a, ha);
    }
}
