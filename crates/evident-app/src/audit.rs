//! The audit log as a member of the organisation reads it: a page at a time, and what `verify`
//! says of their organisation alone.

use evident_core::Permission;
use evident_core::audit::AuditRecord;

use crate::error::{AppError, Code, Result};
use crate::verify::{self, Verdict, VerifyError};
use crate::{App, Principal};

/// The most records one page of the log holds.
pub const MAX_PAGE: u32 = 1_000;

impl App {
    /// Up to `limit` (1 to [`MAX_PAGE`]) records of the organisation's audit log after position
    /// `after_seq` (0: from the start), oldest first.
    pub async fn audit_log(&self, principal: &Principal, after_seq: i64, limit: u32) -> Result<Vec<AuditRecord>> {
        principal.authorize(Permission::AuditLogRead)?;
        page_size(limit)?;
        if after_seq < 0 {
            return Err(AppError::invalid(format!("a position in the audit log is 0 or more, not {after_seq}")));
        }
        let what = format!("audit log after {after_seq}, {limit}");
        self.remembered(principal, Permission::AuditLogRead, &what, async {
            Ok(self.store.audit_page(&principal.org.id, after_seq, limit).await?)
        })
        .await
    }

    /// The newest `limit` (1 to [`MAX_PAGE`]) records of the organisation's audit log, newest
    /// first: what changed lately, read from the end of the log rather than through all of it.
    pub async fn audit_latest(&self, principal: &Principal, limit: u32) -> Result<Vec<AuditRecord>> {
        principal.authorize(Permission::AuditLogRead)?;
        page_size(limit)?;
        let head = self.store.chain_head(&principal.org.id).await?;
        let after = (head.seq - i64::from(limit)).max(0);
        let mut page = self.store.audit_page(&principal.org.id, after, limit).await?;
        page.reverse();
        Ok(page)
    }

    /// What `verify` says of the principal's organisation, and of no other: its hash chain, its
    /// state against the log, its approved SoA versions and, with an evidence store, its evidence
    /// bytes.
    #[tracing::instrument(skip_all, fields(org = %principal.org.slug))]
    pub async fn verify_organisation(&self, principal: &Principal) -> Result<Verdict> {
        principal.authorize(Permission::AuditLogRead)?;
        let only = Some(&principal.org.slug);
        let verdicts = match &self.blobs {
            Ok(blobs) => verify::verify_with_evidence(self.store.as_ref(), blobs, only, None).await,
            Err(_) => verify::verify(self.store.as_ref(), only, None).await,
        }
        .map_err(|error| match error {
            VerifyError::Store(store) => store.into(),
            VerifyError::KeptChanging(_) => AppError::new(Code::Conflict, error.to_string()),
            VerifyError::EvidenceStore(_) => AppError::new(Code::EvidenceStoreUnavailable, error.to_string()),
            other => AppError::new(Code::Unexpected, other.to_string()),
        })?;
        verdicts
            .into_iter()
            .find(|v| v.organisation_id.as_ref() == Some(&principal.org.id))
            .ok_or_else(|| AppError::new(Code::Unexpected, "verify returned no verdict for the organisation"))
    }
}

/// Refuses a page size outside 1 to [`MAX_PAGE`].
fn page_size(limit: u32) -> Result<()> {
    if (1..=MAX_PAGE).contains(&limit) {
        Ok(())
    } else {
        Err(AppError::invalid(format!("a page of the audit log holds 1 to {MAX_PAGE} records, not {limit}")))
    }
}
