//! User accounts.

use sqlx::{PgExecutor, PgPool};

use crate::CoreError;
use crate::auth::{create_api_key, hash_password, random_password};
use crate::ids::UserId;

/// Normalises and checks an e-mail address (lowercase, one `@`, a dot in the domain).
pub fn parse_email(input: &str) -> Result<String, CoreError> {
    let email = input.trim().to_lowercase();
    let ok = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
        })
        && !email.chars().any(char::is_whitespace);
    if ok {
        Ok(email)
    } else {
        Err(CoreError::invalid(
            "email",
            format!("{:?} is not an e-mail address", input.trim()),
        ))
    }
}

/// Creates a user with an argon2id-hashed password.
pub async fn create_user(
    db: impl PgExecutor<'_>,
    email: &str,
    password: &str,
    is_admin: bool,
) -> Result<UserId, CoreError> {
    let email = parse_email(email)?;
    if password.chars().count() < 12 {
        return Err(CoreError::invalid(
            "password",
            "password must be at least 12 characters",
        ));
    }
    let hash = hash_password(password.to_string()).await?;
    sqlx::query_scalar!(
        r#"INSERT INTO users (email, password_hash, is_admin) VALUES ($1, $2, $3)
           RETURNING id AS "id: UserId""#,
        email,
        hash,
        is_admin,
    )
    .fetch_one(db)
    .await
    .map_err(|e| {
        CoreError::on_constraint(
            e,
            "users_email_key",
            "email",
            format!("a user with e-mail {email} already exists"),
        )
    })
}

/// Finds a user by e-mail.
pub async fn find_by_email(pool: &PgPool, email: &str) -> Result<UserId, CoreError> {
    let email = parse_email(email)?;
    sqlx::query_scalar!(
        r#"SELECT id AS "id: UserId" FROM users WHERE email = $1"#,
        email
    )
    .fetch_optional(pool)
    .await?
    .ok_or(CoreError::NotFound {
        what: "user",
        name: email,
    })
}

/// First start: when there is no user yet, creates an administrator with a random password
/// and an API key, in one transaction, and returns (password, API key). `None` when users
/// exist already.
pub async fn bootstrap_admin(
    pool: &PgPool,
    email: &str,
) -> Result<Option<(String, String)>, CoreError> {
    let mut tx = pool.begin().await?;
    // Two first starts at once: the second waits, then finds the first's user.
    sqlx::query!("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await?;
    if any_user(&mut *tx).await? {
        return Ok(None);
    }
    let password = random_password()?;
    let user = create_user(&mut *tx, email, &password, true).await?;
    let key = create_api_key(&mut *tx, user, "first start").await?;
    tx.commit().await?;
    Ok(Some((password, key.token)))
}

/// Is there any user yet? (First start creates the admin.)
pub async fn any_user(db: impl PgExecutor<'_>) -> Result<bool, CoreError> {
    Ok(
        sqlx::query_scalar!(r#"SELECT EXISTS (SELECT 1 FROM users) AS "e!""#)
            .fetch_one(db)
            .await?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(
            parse_email(" Admin@Example.COM ").unwrap(),
            "admin@example.com"
        );
        assert!(parse_email("nope").is_err());
        assert!(parse_email("a@b").is_err());
        assert!(parse_email("a b@example.com").is_err());
    }
}
