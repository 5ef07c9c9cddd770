//! Read models kept as rendered text, keyed by what they were computed from.

use async_trait::async_trait;
use evident_core::OrgId;
use evident_store::{Derived, Result};

use super::common::map_sqlx;
use crate::Backend;

#[async_trait]
impl Derived for Backend {
    #[tracing::instrument(level = "debug", skip_all, fields(org = %org, name))]
    async fn derived(&self, org: &OrgId, name: &str, key: &str) -> Result<Option<Vec<u8>>> {
        sqlx::query_scalar("SELECT body FROM derived WHERE org_id = $1 AND name = $2 AND key = $3")
            .bind(org.as_str())
            .bind(name)
            .bind(key)
            .fetch_optional(self.reader())
            .await
            .map_err(map_sqlx)
    }

    /// One statement outside `apply`: no organisation lock and no audit record, as the rows are
    /// not records.
    #[tracing::instrument(level = "debug", skip_all, fields(org = %org, name))]
    async fn put_derived(&self, org: &OrgId, name: &str, key: &str, body: &[u8]) -> Result<()> {
        sqlx::query(
            "INSERT INTO derived (org_id, name, key, body) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (org_id, name) DO UPDATE SET key = excluded.key, body = excluded.body",
        )
        .bind(org.as_str())
        .bind(name)
        .bind(key)
        .bind(body)
        .execute(self.derived_writer())
        .await
        .map_err(map_sqlx)?;
        Ok(())
    }
}
