//! Outgoing mail. The server has no mail relay, so "sending" stores the message in the
//! `mailbox` table; in dev mode `GET /__dev/mailbox?email=` reads it back, which is how tests
//! and demo users get one-time codes. Logs name the recipient and subject, never the body, as
//! bodies carry codes.

use lifeline_types::records::MailboxMessage;
use sqlx::SqlitePool;

use crate::AppResult;

/// Most messages returned for one address.
const READ_LIMIT: i64 = 50;

/// Delivers a message to `email`'s mailbox.
///
/// # Errors
/// Database failures.
pub async fn send(db: &SqlitePool, email: &str, subject: &str, body: &str) -> AppResult<()> {
    sqlx::query("INSERT INTO mailbox (email, subject, body, created_at) VALUES (?, ?, ?, ?)")
        .bind(email.to_lowercase())
        .bind(subject)
        .bind(body)
        .bind(crate::db::ts(crate::db::now()))
        .execute(db)
        .await?;
    tracing::info!(to = %mask_email(email), subject, "mail delivered to the mailbox store");
    Ok(())
}

/// Messages sent to `email`, latest first (at most 50).
///
/// # Errors
/// Database failures.
pub async fn messages(db: &SqlitePool, email: &str) -> AppResult<Vec<MailboxMessage>> {
    let rows: Vec<(i64, String, String, String, String)> = sqlx::query_as(
        "SELECT id, email, subject, body, created_at FROM mailbox WHERE email = ? \
         ORDER BY id DESC LIMIT ?",
    )
    .bind(email.trim().to_lowercase())
    .bind(READ_LIMIT)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, email, subject, body, created_at)| MailboxMessage {
            id,
            email,
            subject,
            body,
            created_at,
        })
        .collect())
}

/// `ada@example.com` → `a***@example.com`: enough to recognise the address, not to harvest it.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::mask_email;

    #[test]
    fn masks_the_local_part() {
        assert_eq!(mask_email("ada@example.com"), "a***@example.com");
        assert_eq!(mask_email("nonsense"), "***");
    }
}
