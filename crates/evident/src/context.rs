//! What every command needs: the application over the opened store, and who is acting where.
//! Failures a user causes come up from `evident-app` as `AppError`s with stable codes; this file
//! adds the CLI's hint for each code.

use std::path::Path;
use std::sync::Arc;

use evident_app::{App, AppError, Code, Principal};
use evident_store::Store;
use evident_store_postgres::PostgresStore;
use evident_store_sqlite::SqliteStore;

use crate::cli::Global;

/// An error of the CLI itself (files, flags), with what to do about it.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub hint: Option<String>,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

pub fn failure(message: impl Into<String>, hint: impl Into<String>) -> anyhow::Error {
    Failure { message: message.into(), hint: Some(hint.into()) }.into()
}

/// What to do about an error, by its code.
pub fn hint(code: Code) -> Option<&'static str> {
    Some(match code {
        Code::PermissionDenied => "ask an administrator, or act as another member with --as EMAIL",
        Code::MemberRequired => "pass --as EMAIL: the member who is accountable",
        Code::NotAMember => "run `evident members list`; add them with `evident members add EMAIL --role ROLE`",
        Code::OrganisationNotFound => "run `evident orgs list` to see them",
        Code::NoOrganisation => "run `evident demo`, or `evident orgs create SLUG --admin EMAIL`",
        Code::OrganisationAmbiguous => "choose one with --org SLUG (or EVIDENT_ORG)",
        Code::FrameworkNotFound => "run `evident frameworks list` to see the library",
        Code::FrameworkNotAdopted => "run `evident frameworks adopt iso27001:2022`",
        Code::RequirementNotInFramework => "run `evident frameworks show FRAMEWORK` to see its requirements",
        Code::RequirementNotAssessable => {
            "map one of its sub-requirements, listed above; an informative one takes none"
        }
        Code::ControlNotFound => "run `evident controls list`",
        Code::MappingNotFound => "run `evident controls show CODE` to see its mappings",
        Code::AssetNotFound => "run `evident assets list`",
        Code::RiskNotFound => "run `evident risks list`",
        Code::SoaVersionNotFound => "run `evident soa versions` to list them",
        Code::EvidenceNotFound => "run `evident evidence list` to see the records and their ids",
        Code::SampleNotFound => "run `evident samples list` to see the recorded samples",
        Code::FileTooLarge => "raise the limit with --max-size, or split the file",
        Code::OscalInvalid => {
            "fix the problems listed above (each names its JSON path); nothing was imported or written"
        }
        Code::OscalUnresolvable => {
            "put every catalog and profile the profile imports in its directory (or below it), as OSCAL JSON"
        }
        Code::EvidenceStoreUnavailable => {
            "check --evidence-store (or EVIDENT_EVIDENCE_STORE), the directory's permissions or the bucket's endpoint"
        }
        Code::EvidenceCorrupt => "run `evident verify`; restore the evidence from a backup if it fails",
        Code::CrosswalkNotFound => "run `evident crosswalk show --from A --to B` for the ones shipped",
        Code::NoMethodology => "run `evident methodology set --preset 5x5`",
        Code::AlreadyExists => "choose another code, or edit the existing one",
        Code::Conflict => "someone changed it since you read it: look again, then retry",
        Code::InvalidInput => "nothing was written; see the command's --help",
        Code::NothingToChange => "pass at least one field to change",
        Code::InvalidRow => "fix the rows named above and import the file again; nothing was written",
        Code::InvalidFile => {
            "check the file is the kind the command reads (see its --help); for a CSV or XLSX import, the template command writes one with the expected columns"
        }
        Code::WriteFailed => "check the folder exists, is writable and has space",
        Code::NotEmpty => {
            "back up into a new or empty directory; restore into a fresh --data-dir (or an empty database with --database-url)"
        }
        Code::BackupInvalid => {
            "nothing was restored: the backup is incomplete or was changed since it was written; use another backup"
        }
        Code::BackupIncompatible => {
            "nothing was restored: restore with the evident version and backend that wrote the backup (see its manifest.json), then upgrade"
        }
        Code::RuleViolated => "nothing was written",
        Code::StoreUnavailable => {
            "check --database-url (or EVIDENT_DATABASE_URL) and that the database server is running"
        }
        Code::StoreIncompatible => {
            "the database was prepared by another version of evident: upgrade evident, or use another data directory"
        }
        Code::StoreCorrupt => "run `evident verify`; restore the database from a backup if it fails",
        Code::Unauthenticated => "sign in (POST /api/session), or send an API token: Authorization: Bearer evt_…",
        Code::InvalidCredentials => {
            "check the e-mail and password; the operator can set one: `evident users set-password EMAIL`"
        }
        Code::AccountLocked => "wait until the lockout passes, or have the operator set a new password",
        Code::TooManyRequests => "wait the seconds Retry-After says, then try again",
        Code::CsrfTokenInvalid => {
            "send the session's csrf_token (from the sign-in answer or GET /api/me) in X-CSRF-Token"
        }
        Code::AccountNotFound => "create it: `evident users create EMAIL`",
        Code::TokenNotFound => "list the tokens you may see: GET /api/orgs/ORG/tokens",
        Code::PreconditionRequired => "send If-Match with the ETag the GET gave",
        Code::RouteNotFound | Code::MethodNotAllowed => "see the API's routes in README.md",
        Code::BodyTooLarge => "send a smaller body",
        Code::UnsupportedMediaType => "send JSON with Content-Type: application/json",
        Code::Timeout => "try again; if it persists, the server's log says what took long",
        Code::BodyTimeout => "send the request's body at once",
        Code::Unexpected => return None,
    })
}

/// Opens the database the flags name: PostgreSQL for a postgres:// URL, else SQLite in the data directory.
pub async fn open_store(global: &Global) -> anyhow::Result<Arc<dyn Store>> {
    let store: Arc<dyn Store> = match global.database_url.as_deref() {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Arc::new(PostgresStore::connect(url).await.map_err(AppError::from)?)
        }
        Some(url) if url.starts_with("sqlite:") => {
            let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
            Arc::new(SqliteStore::open(Path::new(path)).await.map_err(AppError::from)?)
        }
        Some(url) => {
            return Err(failure(
                format!("unsupported database URL {}", evident_store_postgres::redact(url)),
                "use postgres://user@host/database, or leave --database-url out for SQLite in the data directory",
            ));
        }
        None => {
            prepare_data_dir(&global.data_dir)?;
            Arc::new(SqliteStore::open(&global.data_dir.join("evident.db")).await.map_err(AppError::from)?)
        }
    };
    Ok(store)
}

/// Creates the data directory if needed. Whether it is writable shows when the database opens;
/// no probe file is written (a probe could follow a symlink planted in its place).
fn prepare_data_dir(dir: &Path) -> anyhow::Result<()> {
    let hint = "choose another place with --data-dir (or EVIDENT_DATA_DIR)";
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| failure(format!("cannot create the data directory {}: {e}", dir.display()), hint))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| failure(format!("cannot restrict the data directory {}: {e}", dir.display()), hint))?;
    }
    Ok(())
}

/// The application over the store the flags name.
pub async fn app(global: &Global) -> anyhow::Result<App> {
    let app = App::new(open_store(global).await?)?;
    Ok(match evidence_store(global) {
        Ok(blobs) => app.with_blobs(blobs),
        // Commands that need no evidence still run; those that do say why it cannot be opened.
        Err(reason) => app.without_blobs(reason),
    })
}

/// The evidence store the flags name: an S3 bucket, a directory, or the data directory's
/// `evidence` folder. Opening a directory creates it; an S3 bucket is first reached when used.
fn evidence_store(global: &Global) -> Result<evident_evidence::BlobStore, String> {
    use evident_evidence::{BlobConfig, BlobStore};
    let config = match global.evidence_store.as_deref() {
        Some(text) => BlobConfig::parse(text).map_err(|e| e.to_string())?,
        None => BlobConfig::local(global.data_dir.join("evidence")),
    };
    BlobStore::open(&config).map_err(|e| e.to_string())
}

/// Who runs this command: the OS user, the operator of this installation.
pub fn operator_name() -> String {
    ["USER", "USERNAME", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The acting principal in the organisation the flags name: the operator, or the operator as a member.
pub async fn principal(app: &App, global: &Global) -> anyhow::Result<Principal> {
    Ok(app.operator(global.org.as_ref(), &operator_name(), global.acting_as.as_ref()).await?)
}

/// The application and the acting principal, for commands inside one organisation.
pub async fn open(global: &Global) -> anyhow::Result<(App, Principal)> {
    let app = app(global).await?;
    let principal = principal(&app, global).await?;
    Ok((app, principal))
}
