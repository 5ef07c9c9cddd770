//! An organisation's own frameworks (its security policy, a customer's contractual requirements, a
//! regulator's list), imported into its library.
//!
//! Two shapes of file:
//! - TOML in the catalog's framework format (`evident-catalog/data/README.md`): the file names the
//!   framework (`id`, `name`, `version`, `title`, `publisher`, `description`, optional `categories`
//!   and `soa`) and lists its `[[requirements]]`;
//! - CSV or XLSX with the columns `ref, label, title, parent, kind, description`, one requirement a
//!   row; the framework's own description comes beside the file ([`Header`]).
//!
//! Both go through the checks of the embedded files ([`Framework::problems`]), and every problem
//! comes back at once, with its row (for TOML: its line) and field. The id must carry the
//! organisation's namespace (`org/acme-policy:2025`), so it can never take a built-in framework's
//! place. Importing the same content again changes nothing; other content under a taken id is
//! refused: a new version is a new id.

use std::io::Read as _;
use std::path::Path;

use evident_core::framework::{FrameworkData, FrameworkInfo, FrameworkProblem};
use evident_core::{Framework, FrameworkId, Permission, Requirement, RequirementKind, RequirementRef};
use evident_store::FrameworkChange;
use serde::Serialize;

use super::{ImportMode, Problems, Table};
use crate::error::{AppError, Code, Result, RowError};
use crate::{App, Principal};

pub const COLUMNS: [&str; 6] = ["ref", "label", "title", "parent", "kind", "description"];
pub const REQUIRED: [&str; 3] = ["ref", "title", "description"];

/// The kind a table row gets when its `kind` cell is empty.
pub const DEFAULT_KIND: &str = "requirement";

/// The largest framework TOML file read: a few MB, far above any real framework (ISO 27001:2022
/// with its descriptions is under 100 kB).
pub const MAX_TOML_BYTES: u64 = 4 * 1024 * 1024;

/// What describes a framework imported from a table, which has room only for its requirements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// With the organisation's namespace: `org/acme-policy:2025`.
    pub id: FrameworkId,
    /// Defaults to the id's name (`acme-policy`).
    pub name: Option<String>,
    /// Defaults to the id's version (`2025`).
    pub version: Option<String>,
    /// Defaults to the name.
    pub title: Option<String>,
    /// Defaults to the organisation's name.
    pub publisher: Option<String>,
    pub description: Option<String>,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FrameworkImport {
    pub id: FrameworkId,
    pub requirements: usize,
    pub assessable: usize,
    /// False when the organisation had imported this very content already: nothing was written.
    pub created: bool,
}

/// Refuses an id without the organisation's namespace: built-in ids have none, so an imported
/// framework can never be mistaken for (or shadow) a built-in one.
pub fn check_namespace(id: &FrameworkId) -> std::result::Result<(), String> {
    match id.namespace() {
        Some(_) => Ok(()),
        None => Err(format!(
            "{id} has no namespace: an imported framework's id starts with its organisation's namespace, e.g. \
             org/{id} (ids without one are kept for evident's built-in frameworks)"
        )),
    }
}

/// Reads a framework TOML file, refusing one larger than [`MAX_TOML_BYTES`] before reading it.
pub fn read_toml(path: &Path) -> Result<Framework> {
    let file = path.display().to_string();
    let invalid = |message: String| in_file(AppError::new(Code::InvalidFile, message), &file);
    let unreadable = |e: std::io::Error| invalid(format!("{file}: cannot read the file: {e}"));
    let regular = |metadata: &std::fs::Metadata| {
        if !metadata.is_file() {
            return Err(invalid(format!("{file}: not a regular file; give the path of a .toml, .csv or .xlsx file")));
        }
        if metadata.len() > MAX_TOML_BYTES {
            return Err(invalid(format!(
                "{file}: the file is {} bytes, more than the {MAX_TOML_BYTES} bytes allowed",
                metadata.len()
            )));
        }
        Ok(())
    };
    regular(&std::fs::metadata(path).map_err(unreadable)?)?;
    let opened = std::fs::File::open(path).map_err(unreadable)?;
    regular(&opened.metadata().map_err(unreadable)?)?;
    let mut bytes = Vec::new();
    opened.take(MAX_TOML_BYTES + 1).read_to_end(&mut bytes).map_err(unreadable)?;
    if bytes.len() as u64 > MAX_TOML_BYTES {
        return Err(invalid(format!("{file}: the file grew past the {MAX_TOML_BYTES} bytes allowed while read")));
    }
    let text = String::from_utf8(bytes).map_err(|e| invalid(format!("{file}: not UTF-8 text: {e}")))?;
    from_toml(&file, &text)
}

/// A framework from TOML text (a file, an upload), checked like the embedded files. A row is a
/// line of the text: the line of the value at fault, or of the requirement's `[[requirements]]`.
pub fn from_toml(file: &str, text: &str) -> Result<Framework> {
    let lines = toml_lines(text);
    // The framework's own fields are read flattened, where the TOML reader loses their lines: the
    // id, the one most often wrong, is checked first so that its line is named.
    if let Some(Err(e)) = lines.id_text.as_deref().map(FrameworkId::parse) {
        let row = RowError { row: lines.id, column: Some("id".into()), code: "invalid_value", message: e.to_string() };
        return Err(refused(file, vec![row]));
    }
    let data = evident_catalog::read_framework(&evident_catalog::Source { name: file, text }).map_err(|e| {
        let Some(line) = e.line else {
            return in_file(AppError::new(Code::InvalidFile, e.to_string()), file);
        };
        let message = e.problem.strip_prefix(&format!("line {line}: ")).unwrap_or(&e.problem).to_owned();
        let row = RowError { row: line, column: None, code: "invalid_value", message };
        refused(file, vec![row])
    })?;
    let requirement_lines = lines.requirements(data.requirements.len());
    let mut rows = Vec::new();
    if let Err(message) = check_namespace(&data.info.id) {
        rows.push(RowError { row: lines.id, column: Some("id".into()), code: "invalid_value", message });
    }
    let problems = Framework::problems(&data.info, &data.requirements);
    rows.extend(problems.iter().map(|p| {
        let row = p.position.and_then(|i| requirement_lines.get(i).copied()).unwrap_or(lines.id);
        row_error(row, &data.requirements, p)
    }));
    if !rows.is_empty() {
        return Err(refused(file, rows));
    }
    Framework::from_data(data).map_err(|e| AppError::new(Code::Unexpected, e.to_string()))
}

/// A framework from a table of requirements and the [`Header`] that describes it; `publisher` is
/// the header's default publisher (the organisation's name).
pub fn from_table(table: &Table, header: &Header, publisher: &str) -> Result<Framework> {
    check_namespace(&header.id).map_err(|message| AppError::invalid(format!("--id: {message}")))?;
    let mut problems = Problems::default();
    let mut requirements = Vec::new();
    let mut rows = Vec::new();
    for row in &table.rows {
        let cell = |column: usize| row.cell(column).trim();
        let optional = |column: usize| Some(cell(column).to_owned()).filter(|c| !c.is_empty());
        let reference = RequirementRef::parse(cell(0)).map_err(|e| problems.push(row.number, "ref", e.to_string()));
        let parent = optional(3)
            .map(|p| RequirementRef::parse(&p))
            .transpose()
            .map_err(|e| problems.push(row.number, "parent", e.to_string()));
        let kind = RequirementKind::parse(optional(4).as_deref().unwrap_or(DEFAULT_KIND))
            .map_err(|e| problems.push(row.number, "kind", e.to_string()));
        let (Ok(reference), Ok(parent), Ok(kind)) = (reference, parent, kind) else {
            continue;
        };
        requirements.push(Requirement {
            reference,
            label: optional(1),
            parent,
            kind,
            title: cell(2).to_owned(),
            description: cell(5).to_owned(),
            category: None,
            note: None,
            attributes: Default::default(),
            informative: false,
        });
        rows.push(row.number);
    }
    let name = header.name.clone().unwrap_or_else(|| header.id.name().to_owned());
    let info = FrameworkInfo {
        id: header.id.clone(),
        title: header.title.clone().unwrap_or_else(|| name.clone()),
        name,
        version: header.version.clone().unwrap_or_else(|| header.id.version().to_owned()),
        publisher: header.publisher.clone().unwrap_or_else(|| publisher.to_owned()),
        description: header.description.clone().unwrap_or_default(),
        categories: Vec::new(),
        soa: None,
        guidance: None,
    };
    let mut found = problems.0;
    for problem in Framework::problems(&info, &requirements) {
        let row = problem.position.and_then(|i| rows.get(i).copied()).unwrap_or_default();
        found.push(row_error(row, &requirements, &problem));
    }
    if table.rows.is_empty() {
        found.push(RowError {
            row: 1,
            column: None,
            code: "invalid_value",
            message: "the file lists no requirement".into(),
        });
    }
    if !found.is_empty() {
        found.sort_by_key(|r| r.row);
        return Err(AppError::rows(&table.file, found, table.rows.len()));
    }
    Framework::from_data(FrameworkData { info, requirements })
        .map_err(|e| AppError::new(Code::Unexpected, e.to_string()))
}

/// One problem of the tree, at its row, in the field at fault.
fn row_error(row: usize, requirements: &[Requirement], problem: &FrameworkProblem) -> RowError {
    let mut column = problem.error.field();
    if column == "title"
        && let Some(r) = problem.position.and_then(|i| requirements.get(i))
        && !r.title.trim().is_empty()
    {
        column = "description";
    }
    let code = match problem.error {
        evident_core::FrameworkError::DuplicateRef(_) => "duplicate",
        _ => "invalid_value",
    };
    RowError { row, column: Some(column.to_owned()), code, message: problem.error.to_string() }
}

/// The error that writes nothing, with every problem of the file.
fn refused(file: &str, rows: Vec<RowError>) -> AppError {
    let mut error = AppError::rows(file, rows, 0);
    error.message = format!("nothing was imported: {} problem(s) in {file}", error.rows.len());
    error
}

fn in_file(mut error: AppError, file: &str) -> AppError {
    error.file = Some(file.to_owned());
    error
}

/// Where a TOML framework file says what: the line of its `id` (and its text) and of each requirement.
struct TomlLines {
    id: usize,
    id_text: Option<String>,
    requirements: Vec<usize>,
}

impl TomlLines {
    /// The line of each of `count` requirements; their numbers in file order when not known.
    fn requirements(&self, count: usize) -> Vec<usize> {
        if self.requirements.len() == count { self.requirements.clone() } else { (1..=count).collect() }
    }
}

fn toml_lines(text: &str) -> TomlLines {
    #[derive(serde::Deserialize)]
    struct Spans {
        id: Option<toml::Spanned<toml::Value>>,
        #[serde(default)]
        requirements: Vec<toml::Spanned<toml::Value>>,
    }
    let line = |offset: usize| text.get(..offset).map_or(1, |t| t.matches('\n').count() + 1);
    let spans: Option<Spans> = toml::from_str(text).ok();
    let id = spans.as_ref().and_then(|s| s.id.as_ref());
    TomlLines {
        id: id.map_or(1, |s| line(s.span().start)),
        id_text: id.and_then(|s| s.get_ref().as_str().map(str::to_owned)),
        requirements: spans.map(|s| s.requirements.iter().map(|r| line(r.span().start)).collect()).unwrap_or_default(),
    }
}

impl App {
    /// Imports a framework file into the organisation's library: TOML in the catalog's format, or
    /// CSV/XLSX requirements with `header` describing the framework. All or nothing.
    #[tracing::instrument(skip_all, fields(org = %principal.org.slug, file = %path.display()))]
    pub async fn import_framework_file(
        &self,
        principal: &Principal,
        path: &Path,
        header: Option<&Header>,
    ) -> Result<FrameworkImport> {
        authorize(principal)?;
        let toml = evident_tabular::extension(path).is_some_and(|e| e == "toml");
        let framework = match (toml, header) {
            (true, None) => read_toml(path)?,
            (true, Some(_)) => {
                return Err(AppError::invalid(
                    "a TOML framework file names its framework itself: leave out --id, --name, --version, --title, \
                     --publisher and --description",
                ));
            }
            (false, None) => {
                return Err(AppError::invalid(
                    "a CSV or XLSX file lists requirements only: name the framework with --id (e.g. \
                     org/acme-policy:2025), and optionally --name, --version, --title, --publisher, --description",
                ));
            }
            (false, Some(header)) => {
                let table = Table::read(path, &evident_tabular::Limits::default(), &COLUMNS, &REQUIRED)?;
                from_table(&table, header, &principal.org.name)?
            }
        };
        self.import_framework(principal, framework).await
    }

    /// Adds a validated framework to the organisation's library. The same content again writes
    /// nothing (no audit record); other content under a taken id is refused.
    #[tracing::instrument(skip_all, fields(org = %principal.org.slug, framework = %framework.id()))]
    pub async fn import_framework(&self, principal: &Principal, framework: Framework) -> Result<FrameworkImport> {
        self.import_framework_as(principal, framework, ImportMode::Apply).await
    }

    /// [`App::import_framework`], or its dry run: the same checks and report, nothing written.
    #[tracing::instrument(skip_all, fields(org = %principal.org.slug, framework = %framework.id()))]
    pub async fn import_framework_as(
        &self,
        principal: &Principal,
        framework: Framework,
        mode: ImportMode,
    ) -> Result<FrameworkImport> {
        authorize(principal)?;
        check_namespace(framework.id()).map_err(AppError::invalid)?;
        let report = FrameworkImport {
            id: framework.id().clone(),
            requirements: framework.requirements().len(),
            assessable: framework.leaves().count(),
            created: true,
        };
        let library = self.library_for(principal).await?;
        if let Some(existing) = library.imported().iter().find(|i| i.framework.id() == framework.id()) {
            if existing.framework == framework {
                return Ok(FrameworkImport { created: false, ..report });
            }
            return Err(AppError::new(
                Code::AlreadyExists,
                format!(
                    "{} was imported on {} by {} with other content; an imported framework never changes: import \
                     the new content as a new version (a new id version, e.g. {}:{}-2)",
                    report.id,
                    existing.imported_at.date_naive(),
                    existing.imported_by,
                    report.id.as_str().rsplit_once(':').map_or("", |(n, _)| n),
                    report.id.version(),
                ),
            ));
        }
        if mode == ImportMode::Apply {
            self.apply(principal, vec![FrameworkChange::Import(Box::new(framework)).into()]).await?;
        }
        Ok(report)
    }
}

fn authorize(principal: &Principal) -> Result<()> {
    principal.authorize(Permission::Import)?;
    principal.authorize(Permission::FrameworkAdopt)
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = r#"# A policy
id = "org/policy:1"
name = "Policy"
version = "1"
title = "Our policy"
publisher = "Us"
description = "For tests."

[[requirements]]
ref = "P-1"
kind = "section"
title = "Access"
description = "Who may reach what."

[[requirements]]
ref = "P-1.1"
parent = "P-1"
kind = "statement"
title = "Reviews"
description = "Access is reviewed."
"#;

    fn rows(error: &AppError) -> Vec<(usize, Option<&str>, &str)> {
        error.rows.iter().map(|r| (r.row, r.column.as_deref(), r.message.as_str())).collect()
    }

    #[test]
    fn a_well_formed_toml_file_is_a_framework() {
        let framework = from_toml("p.toml", POLICY).unwrap();
        assert_eq!(framework.id().as_str(), "org/policy:1");
        assert_eq!(framework.leaves().count(), 1);
    }

    #[test]
    fn toml_problems_name_their_line_and_field() {
        let bad_ref = from_toml("p.toml", &POLICY.replace("ref = \"P-1.1\"", "ref = \"P..1\"")).unwrap_err();
        assert_eq!(bad_ref.code, Code::InvalidRow);
        assert_eq!(bad_ref.rows[0].row, 16, "the line of the value: {:?}", rows(&bad_ref));
        let bad_id = from_toml("p.toml", &POLICY.replace("org/policy:1", "org/Policy:1")).unwrap_err();
        assert_eq!(rows(&bad_id)[0].0, 2);
        assert_eq!(rows(&bad_id)[0].1, Some("id"));
        let orphan = from_toml("p.toml", &POLICY.replace("parent = \"P-1\"", "parent = \"P-9\"")).unwrap_err();
        let orphan = rows(&orphan);
        assert_eq!(orphan.len(), 1);
        assert_eq!((orphan[0].0, orphan[0].1), (15, Some("parent")), "the line of its [[requirements]]");
        let syntax = from_toml("p.toml", &POLICY.replace("kind = \"section\"", "kind = section")).unwrap_err();
        assert_eq!(rows(&syntax)[0].0, 11);
    }
}
