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
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(AppError::invalid(format!(
                "a page of the audit log holds 1 to {MAX_PAGE} records, not {limit}"
            )));
        }
        if after_seq < 0 {
            return Err(AppError::invalid(format!("a position in the audit log is 0 or more, not {after_seq}")));
        }
        Ok(self.store.audit_page(&principal.org.id, after_seq, limit).await?)
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
