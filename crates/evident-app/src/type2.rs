//! Freshness (what is due, what is overdue) and the SOC 2 Type 2 window analysis with its
//! population and sample exports, each with the completeness-and-accuracy record an auditor asks
//! for with any population.

use std::collections::HashMap;
use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use evident_core::dates::Period;
use evident_core::freshness::{self, CalendarEntry, ControlFreshness, FreshnessPolicy, State};
use evident_core::sampling::SamplingTable;
use evident_core::type2::{
    self, AuditWindow, AuditedControl, EvidenceItem, RecordedSample, SampleException, Type2Analysis,
};
use evident_core::{ControlCode, FrameworkId, ImplementationStatus, Permission, SampleId, Sha256Digest};
use evident_store::{SampleChange, StoredSample};
use serde::Serialize;

use crate::error::{AppError, Code, Result};
use crate::{App, Principal};

/// Each active control's freshness today and what falls due in the next days.
#[derive(Debug, Clone, Serialize)]
pub struct FreshnessReport {
    pub today: NaiveDate,
    pub days: u32,
    /// How many controls are in each state.
    pub counts: Vec<(State, usize)>,
    pub controls: Vec<ControlFreshness>,
    pub calendar: Vec<CalendarEntry>,
}

/// Which sampling table a Type 2 analysis uses: a preset by name, or the organisation's own.
#[derive(Debug, Clone)]
pub enum Sampling {
    Preset(String),
    Own(SamplingTable),
}

impl App {
    /// Each active control's evidence freshness today, and the calendar of the next `days` days.
    #[tracing::instrument(skip_all, fields(org = %principal.org.slug))]
    pub async fn freshness(&self, principal: &Principal, days: u32) -> Result<FreshnessReport> {
        Ok(FreshnessReport::clone(&*self.freshness_shared(principal, days).await?))
    }

    /// One control's freshness today (`None` for a retired one): what a control's page shows,
    /// without copying every control's.
    pub async fn control_freshness(
        &self,
        principal: &Principal,
        code: &ControlCode,
    ) -> Result<Option<ControlFreshness>> {
        Ok(self.freshness_shared(principal, 0).await?.controls.iter().find(|c| &c.code == code).cloned())
    }

    async fn freshness_shared(&self, principal: &Principal, days: u32) -> Result<std::sync::Arc<FreshnessReport>> {
        let what = format!("freshness {days}");
        self.remembered(principal, Permission::Read, &what, async {
            Ok(std::sync::Arc::new(self.freshness_of(principal, days).await?))
        })
        .await
    }

    async fn freshness_of(&self, principal: &Principal, days: u32) -> Result<FreshnessReport> {
        let library = self.library_for(principal).await?;
        let data = self.org_data_shared(principal, &library).await?;
        let today = self.now().date_naive();
        let policy = FreshnessPolicy::default();
        let (fresh, summary) = data.freshness_on(&policy, today)?;
        let calendar =
            freshness::calendar(&policy, today, &summary, days).map_err(|e| AppError::invalid(e.to_string()))?;
        let counts = fresh.counts();
        let counts = State::ALL.iter().map(|s| (*s, counts.get(s).copied().unwrap_or(0))).collect();
        let mut controls = fresh.controls().to_vec();
        controls.sort_by(|a, b| evident_core::ids::natural_cmp(a.code.as_str(), b.code.as_str()));
        Ok(FreshnessReport { today, days, counts, controls, calendar })
    }

    /// The Type 2 analysis of `from..=to` (3 to 12 months) for the implemented controls mapped to
    /// `framework` (the ones whose operation the auditor tests): each control's expected occurrences, those evidenced, the missing periods, the
    /// population, the sample size from `sampling`, and a sample drawn from `seed` (a new random
    /// seed when none is given; the analysis records it, so the same sample can be drawn again).
    #[tracing::instrument(skip_all, fields(org = %principal.org.slug))]
    pub async fn type2(
        &self,
        principal: &Principal,
        framework: &FrameworkId,
        from: NaiveDate,
        to: NaiveDate,
        sampling: Sampling,
        seed: Option<u64>,
    ) -> Result<Type2Analysis> {
        principal.authorize(Permission::Read)?;
        let window = AuditWindow::new(from, to).map_err(|e| AppError::invalid(e.to_string()))?;
        let table = match sampling {
            Sampling::Preset(name) => SamplingTable::preset(&name).map_err(|e| AppError::invalid(e.to_string()))?,
            Sampling::Own(table) => table,
        };
        let library = self.library_for(principal).await?;
        library.framework(framework)?;
        let what = format!("type 2 {framework} {from} {to}");
        let audited =
            self.remembered(principal, Permission::Read, &what, self.audited(principal, framework, from, to)).await?;
        let seed = seed.unwrap_or_else(rand_seed);
        Ok(type2::analyse(&window, &table, seed, &audited))
    }

    /// The implemented controls mapped to `framework`, each with its evidence between `from` and
    /// `to`: what a Type 2 analysis of that window samples.
    async fn audited(
        &self,
        principal: &Principal,
        framework: &FrameworkId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<AuditedControl>> {
        let org = &principal.org.id;
        let (controls, mappings, linked) = tokio::try_join!(
            self.store.controls(org),
            self.store.mappings(org),
            self.store.evidence_between(org, from, to)
        )?;
        let mut evidence: HashMap<_, Vec<EvidenceItem>> = HashMap::new();
        for link in linked {
            let item = EvidenceItem { id: link.evidence, effective: link.effective, period: link.period };
            evidence.entry(link.control).or_default().push(item);
        }
        let mapped: std::collections::HashSet<&ControlCode> =
            mappings.iter().filter(|m| &m.framework == framework).map(|m| &m.control).collect();
        let audited: Vec<AuditedControl> = controls
            .iter()
            .filter(|c| c.is_active() && c.status == ImplementationStatus::Implemented)
            .filter(|c| mapped.contains(&c.code))
            .map(|c| AuditedControl {
                control: c.id.clone(),
                code: c.code.clone(),
                frequency: c.frequency,
                evidence: evidence.remove(&c.id).unwrap_or_default(),
            })
            .collect();
        Ok(audited)
    }

    /// Writes the analysis's population (every occurrence of every control) or its sample to
    /// `path` (CSV or XLSX), then its completeness-and-accuracy record beside it
    /// (`<path>.ca.json`): source, extraction time, filters, row count and the file's SHA-256.
    pub fn export_type2(
        &self,
        principal: &Principal,
        analysis: &Type2Analysis,
        framework: &FrameworkId,
        what: Type2Export,
        path: &Path,
    ) -> Result<Completeness> {
        principal.authorize(Permission::Export)?;
        let (header, rows) = match what {
            Type2Export::Population => population_rows(analysis),
            Type2Export::Sample => sample_rows(analysis),
        };
        let header: Vec<&str> = header.to_vec();
        let report = evident_tabular::write(path, what.sheet(), &header, &rows).map_err(AppError::from)?;
        let bytes = std::fs::read(path)
            .map_err(|e| AppError::new(Code::WriteFailed, format!("{}: cannot read back: {e}", path.display())))?;
        let file = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
        let record = self.completeness(principal, analysis, framework, what, file, rows.len(), &bytes, &report);
        let sidecar = ca_path(path);
        let json = serde_json::to_vec_pretty(&record).map_err(|e| AppError::new(Code::Unexpected, e.to_string()))?;
        write_atomically(&sidecar, &json)?;
        Ok(record)
    }

    /// The population or the sample as the bytes of a `format` (`csv` or `xlsx`) file named
    /// `type2-<population|sample>.<format>`, with its completeness-and-accuracy record: what
    /// [`App::export_type2`] writes, for a front end that sends it rather than saving it.
    pub fn export_type2_bytes(
        &self,
        principal: &Principal,
        analysis: &Type2Analysis,
        framework: &FrameworkId,
        what: Type2Export,
        format: &str,
    ) -> Result<(Vec<u8>, Completeness)> {
        principal.authorize(Permission::Export)?;
        let (header, rows) = match what {
            Type2Export::Population => population_rows(analysis),
            Type2Export::Sample => sample_rows(analysis),
        };
        let (bytes, report) = crate::imports::table_bytes(format, what.sheet(), header, &rows)?;
        let file = format!("type2-{}.{format}", what.sheet());
        let record = self.completeness(principal, analysis, framework, what, file, rows.len(), &bytes, &report);
        Ok((bytes, record))
    }

    #[allow(clippy::too_many_arguments)] // one record, from what each export made
    fn completeness(
        &self,
        principal: &Principal,
        analysis: &Type2Analysis,
        framework: &FrameworkId,
        what: Type2Export,
        file: String,
        rows: usize,
        bytes: &[u8],
        report: &evident_tabular::WriteReport,
    ) -> Completeness {
        Completeness {
            file,
            source: format!("evident {} — organisation {}", env!("CARGO_PKG_VERSION"), principal.org.slug),
            extracted_at: self.now(),
            extracted_by: principal.audit_name(),
            filters: format!(
                "{}: implemented controls mapped to {}, window {} to {}, sampling table {}, seed {}",
                what.sheet(),
                framework,
                analysis.window.from(),
                analysis.window.to(),
                analysis.table,
                analysis.seed
            ),
            rows,
            sha256: Sha256Digest::of(bytes),
            warnings: report.warnings.iter().map(|w| w.message.clone()).collect(),
        }
    }
}

impl App {
    /// Records a drawn sample (its window, table, seed and every sampled occurrence), so that the
    /// exceptions found can be recorded against it and anyone can draw it again from its seed.
    #[tracing::instrument(skip_all, fields(org = %principal.org.slug))]
    pub async fn record_sample(
        &self,
        principal: &Principal,
        framework: &FrameworkId,
        analysis: &Type2Analysis,
    ) -> Result<SampleId> {
        principal.authorize(Permission::SampleRecord)?;
        let id = SampleId::parse(&uuid::Uuid::new_v4().to_string())?;
        let sample = Box::new(RecordedSample::of(framework.clone(), analysis));
        self.apply(principal, vec![SampleChange::Record { id: id.clone(), sample }.into()]).await?;
        Ok(id)
    }

    /// Records an exception (what the auditor found) against one sampled occurrence of a control.
    #[tracing::instrument(skip_all, fields(org = %principal.org.slug))]
    pub async fn record_exception(
        &self,
        principal: &Principal,
        sample: &SampleId,
        control: &ControlCode,
        occurrence: Period,
        note: &str,
    ) -> Result<()> {
        principal.authorize(Permission::SampleRecord)?;
        let note = note.trim();
        if note.is_empty() {
            return Err(AppError::invalid("an exception needs a note: what was found"));
        }
        let control = self
            .store
            .control(&principal.org.id, control)
            .await?
            .ok_or_else(|| AppError::not_found(Code::ControlNotFound, "control", control))?;
        let exception = SampleException { control: control.id, occurrence, note: note.to_owned() };
        let recorded = self.store.samples(&principal.org.id).await?;
        let drawn = recorded
            .iter()
            .find(|s| &s.id == sample)
            .ok_or_else(|| AppError::not_found(Code::SampleNotFound, "sample", sample))?;
        if !drawn.sample.holds(&exception) {
            return Err(AppError::invalid(format!(
                "sample {sample} did not draw {} for {occurrence}: record an exception against an occurrence it drew \
                 (see `evident samples list --json`)",
                control.code
            )));
        }
        let change = SampleChange::Exception { sample: sample.clone(), exception };
        self.apply(principal, vec![change.into()]).await
    }

    /// The samples recorded, oldest first, with their exceptions.
    pub async fn samples(&self, principal: &Principal) -> Result<Vec<StoredSample>> {
        principal.authorize(Permission::Read)?;
        Ok(self.store.samples(&principal.org.id).await?)
    }
}

/// What a Type 2 export holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type2Export {
    Population,
    Sample,
}

impl Type2Export {
    fn sheet(self) -> &'static str {
        match self {
            Type2Export::Population => "population",
            Type2Export::Sample => "sample",
        }
    }
}

/// A population's or sample's completeness-and-accuracy record.
#[derive(Debug, Clone, Serialize)]
pub struct Completeness {
    pub file: String,
    pub source: String,
    pub extracted_at: DateTime<Utc>,
    pub extracted_by: String,
    pub filters: String,
    pub rows: usize,
    pub sha256: Sha256Digest,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Where a file's completeness-and-accuracy record goes: beside it.
pub fn ca_path(path: &Path) -> std::path::PathBuf {
    let mut name = path.file_name().map(|f| f.to_os_string()).unwrap_or_default();
    name.push(".ca.json");
    path.with_file_name(name)
}

const POPULATION: &[&str] = &["control", "frequency", "occurrence_from", "occurrence_to", "evidenced"];
const SAMPLE: &[&str] =
    &["control", "frequency", "position", "occurrence_from", "occurrence_to", "evidenced", "evidence"];

fn population_rows(analysis: &Type2Analysis) -> (&'static [&'static str], Vec<Vec<String>>) {
    let mut rows = Vec::new();
    for control in &analysis.controls {
        for occurrence in &control.occurrences {
            rows.push(vec![
                control.code.to_string(),
                control.frequency.to_string(),
                occurrence.period.from().to_string(),
                occurrence.period.to().to_string(),
                yes_no(occurrence.evidenced),
            ]);
        }
    }
    (POPULATION, rows)
}

fn sample_rows(analysis: &Type2Analysis) -> (&'static [&'static str], Vec<Vec<String>>) {
    let mut rows = Vec::new();
    for control in &analysis.controls {
        for sampled in &control.sample {
            rows.push(vec![
                control.code.to_string(),
                control.frequency.to_string(),
                (sampled.position + 1).to_string(),
                sampled.period.from().to_string(),
                sampled.period.to().to_string(),
                yes_no(sampled.evidenced),
                sampled.evidence.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(" "),
            ]);
        }
    }
    (SAMPLE, rows)
}

fn yes_no(value: bool) -> String {
    if value { "yes" } else { "no" }.to_owned()
}

fn rand_seed() -> u64 {
    let bytes = uuid::Uuid::new_v4().into_bytes();
    u64::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7]])
}

/// Writes `bytes` to a temporary file beside `path`, syncs it and renames it into place.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write as _;
    let failed = |e: std::io::Error| AppError::new(Code::WriteFailed, format!("{}: {e}", path.display()));
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut temp = tempfile::NamedTempFile::new_in(folder).map_err(failed)?;
    temp.write_all(bytes).map_err(failed)?;
    temp.as_file().sync_all().map_err(failed)?;
    temp.persist(path).map_err(|e| failed(e.error))?;
    Ok(())
}
