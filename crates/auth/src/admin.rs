//! Operations for the `openchat admin` command line and the one-time bootstrap. They work on
//! the database directly, so they need no running server and no default password.

use api_types::auth::{CreateUser, User};
use common::config::BootstrapAdmin;

use crate::accounts::{self, printable, to_wire};
use crate::domain::{Password, RoleSet, Username};
use crate::keys::KeyStore;
use crate::passwords::Hasher;
use crate::store::{AuditRecord, Db, UserUpdate};

/// Errors are sentences for the operator.
pub type AdminResult<T> = Result<T, String>;

fn sentence(error: common::http::ApiError) -> String {
    if error.detail().is_empty() { error.status().to_string() } else { error.detail().to_owned() }
}

async fn audit(db: &Db, event: &str, username: &str, detail: Option<String>) {
    let record = AuditRecord {
        id: common::ids::random_id(16),
        at: common::clock::now_millis(),
        event: event.into(),
        username: Some(username.into()),
        ip: None,
        detail,
    };
    if let Err(error) = db.append_audit(&record).await {
        tracing::error!(%error, "cannot write an audit event");
    }
}

/// Creates a user with the given roles.
pub async fn create_user(db: &Db, hasher: &Hasher, input: CreateUser) -> AdminResult<User> {
    let valid = accounts::validate_new_user(&input).map_err(sentence)?;
    let user = accounts::create_user(db, hasher, valid).await.map_err(sentence)?;
    audit(db, "user_created_by_cli", &user.username, Some(format!("roles {}", user.roles.to_db()))).await;
    Ok(to_wire(&user))
}

/// Creates the first administrator from configuration, once. When an administrator already
/// exists the settings are a leftover: a no-op with a warning (never an error, so later starts
/// are not aborted once that administrator has been renamed, demoted or deleted).
pub async fn bootstrap_admin(db: &Db, hasher: &Hasher, admin: &BootstrapAdmin) -> AdminResult<()> {
    let admins = db.active_admin_count().await.map_err(|e| e.to_string())?;
    if admins > 0 {
        let existing = match Username::parse(&admin.username) {
            Ok(name) => db.user_by_username(name.as_str()).await.map_err(|e| e.to_string())?,
            Err(_) => None,
        };
        if existing.is_some_and(|u| u.roles.contains(crate::domain::Role::Admin)) {
            tracing::warn!(
                "the bootstrap administrator already exists; remove the OPENCHAT_BOOTSTRAP_ADMIN_* settings"
            );
        } else {
            tracing::warn!(
                username = %printable(&admin.username),
                "an administrator already exists, so the OPENCHAT_BOOTSTRAP_ADMIN_* settings are ignored; remove them"
            );
        }
        return Ok(());
    }
    let input = CreateUser {
        username: admin.username.clone(),
        email: admin.email.clone(),
        password: admin.password.clone(),
        full_name: None,
        roles: Some(vec!["admin".into(), "user".into()]),
    };
    let user = create_user(db, hasher, input).await?;
    audit(db, "admin_bootstrap", &user.username, None).await;
    tracing::info!(username = %user.username, "created the bootstrap administrator");
    Ok(())
}

/// Replaces a user's roles; their existing access tokens stop working.
pub async fn set_roles(db: &Db, username: &str, roles: &[String]) -> AdminResult<User> {
    let roles = RoleSet::parse(roles).map_err(|bad| format!("Role '{bad}' does not exist"))?;
    let user = find(db, username).await?;
    let now = common::clock::now();
    let update = UserUpdate { roles: Some(roles), revoke_tokens_at: Some(now + 1), ..Default::default() };
    let updated =
        db.update_user(&user.id, update, now).await.map_err(|e| e.to_string())?.ok_or("User not found")?;
    audit(
        db,
        "roles_changed",
        &updated.username,
        Some(format!("{} -> {} by cli", user.roles.to_db(), updated.roles.to_db())),
    )
    .await;
    Ok(to_wire(&updated))
}

/// Sets a new password and ends every session of the user.
pub async fn reset_password(db: &Db, hasher: &Hasher, username: &str, password: &str) -> AdminResult<()> {
    let password = Password::parse(password).map_err(|e| format!("password {e}"))?;
    let user = find(db, username).await?;
    let now = common::clock::now();
    let update = UserUpdate {
        password_hash: Some(hasher.hash(password.expose()).await.map_err(|e| e.to_string())?),
        revoke_tokens_at: Some(now + 1),
        ..Default::default()
    };
    db.update_user(&user.id, update, now).await.map_err(|e| e.to_string())?;
    db.revoke_user_sessions(&user.id, None, now).await.map_err(|e| e.to_string())?;
    audit(db, "password_reset_by_cli", &user.username, None).await;
    Ok(())
}

/// All users, by username.
pub async fn list_users(db: &Db) -> AdminResult<Vec<User>> {
    let page = db.list_users(None, i64::MAX, 0).await.map_err(|e| e.to_string())?;
    Ok(page.users.iter().map(to_wire).collect())
}

/// Makes a new signing key. Running servers pick it up within a minute; tokens signed by the
/// old key stay valid until they expire.
pub async fn rotate_keys(db: &Db, issuer: &str, audience: &str, access_ttl_secs: u64) -> AdminResult<String> {
    let keys =
        KeyStore::load(db.clone(), issuer, audience, access_ttl_secs).await.map_err(|e| e.to_string())?;
    keys.rotate().await.map_err(|e| e.to_string())
}

async fn find(db: &Db, username: &str) -> AdminResult<crate::store::UserRecord> {
    let name = Username::parse(username).map_err(|_| "User not found".to_owned())?;
    db.user_by_username(name.as_str())
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "User not found".into())
}
