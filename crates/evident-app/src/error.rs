//! `AppError`: every failure a user can cause, with a stable snake_case code that every front
//! end passes through unchanged (the CLI prints it beside a hint, the API returns it as `code`).

use evident_store::StoreError;
use serde::Serialize;

/// One problem in one row of an imported file: where, which rule, and what to do. The same type
/// the bounded reader reports with, so a file's problems come back in one list.
pub use evident_tabular::RowError;

macro_rules! codes {
    ($( $(#[$meta:meta])* $variant:ident = $text:literal ),+ $(,)?) => {
        /// The stable codes. ARCHITECTURE.md lists them; the web API returns them as they are.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Code {
            $( $(#[$meta])* $variant ),+
        }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $text),+
                }
            }
        }
    };
}

codes! {
    /// The acting member's role does not allow this.
    PermissionDenied = "permission_denied",
    /// This needs a member (a person who is accountable), not an operator.
    MemberRequired = "member_required",
    /// The e-mail is not a member of the organisation.
    NotAMember = "not_a_member",
    OrganisationNotFound = "organisation_not_found",
    /// There is no organisation yet.
    NoOrganisation = "no_organisation",
    /// Several organisations and none was chosen.
    OrganisationAmbiguous = "organisation_ambiguous",
    FrameworkNotFound = "framework_not_found",
    /// The framework was not adopted by the organisation.
    FrameworkNotAdopted = "framework_not_adopted",
    RequirementNotInFramework = "requirement_not_in_framework",
    /// The requirement groups others and is not assessed itself.
    RequirementNotAssessable = "requirement_not_assessable",
    ControlNotFound = "control_not_found",
    MappingNotFound = "mapping_not_found",
    AssetNotFound = "asset_not_found",
    RiskNotFound = "risk_not_found",
    SoaVersionNotFound = "soa_version_not_found",
    CrosswalkNotFound = "crosswalk_not_found",
    EvidenceNotFound = "evidence_not_found",
    SampleNotFound = "sample_not_found",
    /// No risk methodology has been set yet.
    NoMethodology = "no_methodology",
    /// The thing to create exists already.
    AlreadyExists = "already_exists",
    /// The edit was based on a revision that someone else has changed since.
    Conflict = "conflict",
    /// A field's value is not valid.
    InvalidInput = "invalid_input",
    /// A request that changes nothing.
    NothingToChange = "nothing_to_change",
    /// An imported file has row errors; nothing was written. Every row error is in `rows`.
    InvalidRow = "invalid_row",
    /// An imported file cannot be read at all (type, size, encoding, header).
    InvalidFile = "invalid_file",
    /// A file is larger than the limit set for it.
    FileTooLarge = "file_too_large",
    /// An OSCAL document breaks NIST's schema or its own references; every violation is listed.
    OscalInvalid = "oscal_invalid",
    /// A profile's import cannot be followed (missing, circular, remote, outside its directory).
    OscalUnresolvable = "oscal_unresolvable",
    /// A file could not be written.
    WriteFailed = "write_failed",
    /// The target is not empty: a backup goes into a new or empty directory, a restore into an
    /// empty database.
    NotEmpty = "not_empty",
    /// The backup is incomplete or was changed since it was written; nothing was restored.
    BackupInvalid = "backup_invalid",
    /// The backup is of another backend, schema version or format than this installation's.
    BackupIncompatible = "backup_incompatible",
    /// A domain rule refuses the change (SoA exclusion of a control treating an open risk, …).
    RuleViolated = "rule_violated",
    /// The database cannot be reached or opened.
    StoreUnavailable = "store_unavailable",
    /// The database holds a schema this version of evident does not know.
    StoreIncompatible = "store_incompatible",
    /// The evidence store (a directory, an S3 bucket) cannot be reached or written.
    EvidenceStoreUnavailable = "evidence_store_unavailable",
    /// Stored evidence bytes are missing or no longer match their digest: run verify.
    EvidenceCorrupt = "evidence_corrupt",
    /// Stored data does not parse: run verify, restore from a backup.
    StoreCorrupt = "store_corrupt",
    /// No valid session or API token came with the request.
    Unauthenticated = "unauthenticated",
    /// A sign-in with an e-mail or a password that is not right (which one is not said).
    InvalidCredentials = "invalid_credentials",
    /// Too many failed sign-ins with this e-mail: refused for a while.
    AccountLocked = "account_locked",
    /// Too many requests of a kind (sign-ins) from one address: refused for a while.
    TooManyRequests = "too_many_requests",
    /// A state-changing request authenticated by a session cookie lacks its `X-CSRF-Token`.
    CsrfTokenInvalid = "csrf_token_invalid",
    /// No account for that e-mail.
    AccountNotFound = "account_not_found",
    /// No API token with that id (in this organisation, visible to this principal).
    TokenNotFound = "token_not_found",
    /// An edit through the API must name the revision it is based on (`If-Match`).
    PreconditionRequired = "precondition_required",
    /// No such route.
    RouteNotFound = "route_not_found",
    /// The route exists, not with this method.
    MethodNotAllowed = "method_not_allowed",
    /// The request's body is larger than the server accepts.
    BodyTooLarge = "body_too_large",
    /// The request's body is not of a type the route accepts (JSON routes need `application/json`).
    UnsupportedMediaType = "unsupported_media_type",
    /// The request took longer than the server allows.
    Timeout = "timeout",
    /// The client sent its request's body too slowly, and was cut off.
    BodyTimeout = "body_timeout",
    /// A bug or an unforeseen failure.
    Unexpected = "unexpected",
}

/// A use case's failure.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct AppError {
    pub code: Code,
    pub message: String,
    /// For `invalid_row`: every row error, in file order.
    pub rows: Vec<RowError>,
    /// For `invalid_row` and `invalid_file`: the file they are in.
    pub file: Option<String>,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl AppError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), rows: Vec::new(), file: None, source: None }
    }

    pub fn rows(file: &str, rows: Vec<RowError>, total: usize) -> Self {
        let message = format!("nothing was imported: {} problem(s) in {total} rows of {file}", rows.len());
        Self { code: Code::InvalidRow, message, rows, file: Some(file.to_owned()), source: None }
    }

    pub fn code(&self) -> &'static str {
        self.code.as_str()
    }

    pub fn not_found(code: Code, what: &str, key: impl std::fmt::Display) -> Self {
        Self::new(code, format!("there is no {what} {key}"))
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(Code::InvalidInput, message)
    }

    pub fn rule(error: impl std::error::Error) -> Self {
        Self::new(Code::RuleViolated, error.to_string())
    }
}

pub type Result<T, E = AppError> = std::result::Result<T, E>;

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        let code = match &error {
            StoreError::NotFound { what, .. } => match *what {
                "control" => Code::ControlNotFound,
                "mapping" => Code::MappingNotFound,
                "asset" => Code::AssetNotFound,
                "risk" => Code::RiskNotFound,
                "organisation" => Code::OrganisationNotFound,
                "evidence" => Code::EvidenceNotFound,
                "sample" => Code::SampleNotFound,
                "token" => Code::TokenNotFound,
                "account" => Code::AccountNotFound,
                "session" => Code::Unauthenticated,
                _ => Code::InvalidInput,
            },
            StoreError::Conflict { .. } => Code::AlreadyExists,
            StoreError::Stale { .. } => Code::Conflict,
            StoreError::Invalid(_) => Code::InvalidInput,
            StoreError::Unavailable(_) => Code::StoreUnavailable,
            StoreError::Migration(_) => Code::StoreIncompatible,
            StoreError::Corrupt(_) => Code::StoreCorrupt,
            _ => Code::Unexpected,
        };
        let message = error.to_string();
        Self { code, message, rows: Vec::new(), file: None, source: Some(Box::new(error)) }
    }
}

impl From<evident_core::ParseError> for AppError {
    fn from(error: evident_core::ParseError) -> Self {
        Self::invalid(error.to_string())
    }
}

impl From<evident_core::TargetError> for AppError {
    fn from(error: evident_core::TargetError) -> Self {
        let code = match error {
            evident_core::TargetError::NotInFramework { .. } => Code::RequirementNotInFramework,
            evident_core::TargetError::NotAssessable { .. } | evident_core::TargetError::Informative { .. } => {
                Code::RequirementNotAssessable
            }
        };
        Self::new(code, error.to_string())
    }
}

impl From<evident_core::control::MappingError> for AppError {
    fn from(error: evident_core::control::MappingError) -> Self {
        match error {
            evident_core::control::MappingError::Target(e) => e.into(),
            evident_core::control::MappingError::Control(e) => Self::invalid(e.to_string()),
        }
    }
}

impl From<evident_core::control::ControlError> for AppError {
    fn from(error: evident_core::control::ControlError) -> Self {
        match error {
            evident_core::control::ControlError::EmptyPatch => Self::new(Code::NothingToChange, error.to_string()),
            _ => Self::invalid(error.to_string()),
        }
    }
}

impl From<evident_catalog::CatalogError> for AppError {
    fn from(error: evident_catalog::CatalogError) -> Self {
        Self {
            code: Code::Unexpected,
            message: error.to_string(),
            rows: Vec::new(),
            file: None,
            source: Some(Box::new(error)),
        }
    }
}

impl AppError {
    /// A refusal by a domain rule about the input's values.
    pub fn invalid_from(error: impl std::error::Error) -> Self {
        Self::invalid(error.to_string())
    }
}

impl From<evident_tabular::TabularError> for AppError {
    fn from(error: evident_tabular::TabularError) -> Self {
        use evident_tabular::TabularError as T;
        let code = match &error {
            T::InvalidRows { .. } => Code::InvalidRow,
            T::WriteFailed { .. } => Code::WriteFailed,
            _ => Code::InvalidFile,
        };
        let rows = error.row_errors().to_vec();
        let message = match &error {
            T::InvalidRows { file, errors, .. } => {
                format!("nothing was imported: {} problem(s) in the rows of {file}", errors.len())
            }
            other => other.to_string(),
        };
        Self { code, message, rows, file: Some(error.file().to_owned()), source: Some(Box::new(error)) }
    }
}

#[cfg(test)]
mod tests {
    use super::Code;

    #[test]
    fn every_code_is_in_the_architecture_table_and_nothing_else_is() {
        let doc = include_str!("../../../ARCHITECTURE.md");
        let table = &doc[doc.find("### Error codes").expect("the section exists")..];
        let table = &table[..table[4..].find("\n### ").map_or(table.len(), |i| i + 4)];
        let listed: Vec<&str> =
            table.lines().filter_map(|l| l.strip_prefix("| `")).filter_map(|l| l.split('`').next()).collect();
        let codes: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(listed, codes, "ARCHITECTURE.md lists exactly the codes, in the same order");
    }
}
