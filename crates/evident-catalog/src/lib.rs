//! The framework library, crosswalks, baseline controls and starter threats: data files embedded
//! in the binary, loaded and validated at start.
//!
//! Architecture invariant: framework content is data (the TOML files under `data/`), never code.
#![forbid(unsafe_code)]

use std::collections::{BTreeMap, HashSet};
use std::sync::OnceLock;

use evident_core::framework::{FrameworkData, FrameworkInfo};
use evident_core::{ControlCode, Coverage, Crosswalk, Framework, FrameworkId, Frequency, Requirement, RequirementRef};
use serde::{Deserialize, Serialize};

/// One data file: where it came from, and its text.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    pub name: &'a str,
    pub text: &'a str,
}

/// The data files as embedded: each TOML file of `data/`, converted to JSON by the build script
/// (`build.rs`), named by its TOML file in messages.
macro_rules! embedded {
    ($path:literal) => {
        Source { name: concat!($path, ".toml"), text: include_str!(concat!(env!("OUT_DIR"), "/", $path, ".json")) }
    };
}

const FRAMEWORKS: &[Source<'static>] = &[
    embedded!("frameworks/iso27001-2022"),
    embedded!("frameworks/iso27001-2013"),
    embedded!("frameworks/soc2-2017"),
    embedded!("frameworks/gdpr-2016"),
    embedded!("frameworks/iso42001-2023"),
    embedded!("frameworks/nist-ai-rmf-1.0"),
];
const CROSSWALKS: &[Source<'static>] = &[
    embedded!("crosswalks/soc2-2017--iso27001-2022"),
    embedded!("crosswalks/iso27001-2013--iso27001-2022"),
    embedded!("crosswalks/gdpr-2016--iso27001-2022"),
    embedded!("crosswalks/gdpr-2016--soc2-2017"),
    embedded!("crosswalks/iso42001-2023--iso27001-2022"),
    embedded!("crosswalks/nist-ai-rmf-1.0--iso42001-2023"),
];
const BASELINE: Source<'static> = embedded!("baseline-controls");
const THREATS: Source<'static> = embedded!("threats");

/// How a data file is written: TOML as a person writes it, or the JSON the build embeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Toml,
    Json,
}

/// A data file that does not load: which file, which entry, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("catalog file {file}{}: {problem}", entry.as_ref().map(|e| format!(", entry {e}")).unwrap_or_default())]
pub struct CatalogError {
    pub file: String,
    pub entry: Option<String>,
    pub problem: String,
    /// The line of a syntax or field error (also at the start of `problem`).
    pub line: Option<usize>,
}

impl CatalogError {
    fn new(file: &str, entry: Option<&str>, problem: impl Into<String>) -> Self {
        Self { file: file.to_owned(), entry: entry.map(str::to_owned), problem: problem.into(), line: None }
    }
}

/// A control from the baseline library, ready to adopt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineControl {
    pub code: ControlCode,
    pub domain: String,
    pub title: String,
    pub description: String,
    pub frequency: Frequency,
    pub evidence: Vec<String>,
    pub mappings: Vec<BaselineMapping>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineMapping {
    pub framework: FrameworkId,
    #[serde(rename = "ref")]
    pub requirement: RequirementRef,
    pub coverage: Coverage,
    pub rationale: String,
    /// The points of focus (guidance under `ref`) the control addresses. At load each becomes a
    /// mapping of its own, so readiness shows them; a `full` mapping must list every one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub points_of_focus: Vec<RequirementRef>,
}

/// A threat or vulnerability from the starter list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Threat {
    pub id: String,
    pub name: String,
    pub category: String,
    pub description: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThreatList {
    pub threats: Vec<Threat>,
    pub vulnerabilities: Vec<Threat>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FrameworkFile {
    #[serde(flatten)]
    info: FrameworkInfo,
    requirements: Vec<Requirement>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BaselineFile {
    controls: Vec<BaselineControl>,
}

/// Everything evident knows about frameworks, validated.
#[derive(Debug, Clone)]
pub struct Catalog {
    frameworks: BTreeMap<FrameworkId, Framework>,
    crosswalks: Vec<Crosswalk>,
    baseline: Vec<BaselineControl>,
    threats: ThreatList,
}

impl Catalog {
    /// The catalog built into this binary, loaded once.
    pub fn embedded() -> Result<&'static Catalog, CatalogError> {
        static CATALOG: OnceLock<Result<Catalog, CatalogError>> = OnceLock::new();
        CATALOG
            .get_or_init(|| Catalog::read(Format::Json, FRAMEWORKS, CROSSWALKS, BASELINE, THREATS))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Loads and validates catalog files (TOML); the first problem found is returned with its file
    /// and entry.
    pub fn load(
        frameworks: &[Source<'_>],
        crosswalks: &[Source<'_>],
        baseline: Source<'_>,
        threats: Source<'_>,
    ) -> Result<Catalog, CatalogError> {
        Catalog::read(Format::Toml, frameworks, crosswalks, baseline, threats)
    }

    fn read(
        format: Format,
        frameworks: &[Source<'_>],
        crosswalks: &[Source<'_>],
        baseline: Source<'_>,
        threats: Source<'_>,
    ) -> Result<Catalog, CatalogError> {
        let mut catalog = Catalog {
            frameworks: BTreeMap::new(),
            crosswalks: Vec::new(),
            baseline: Vec::new(),
            threats: ThreatList::default(),
        };
        for source in frameworks {
            let file: FrameworkFile = parse(format, source)?;
            let data = FrameworkData { info: file.info, requirements: file.requirements };
            let id = data.info.id.clone();
            if id.namespace().is_some() {
                let problem =
                    format!("built-in framework {id} must not carry a namespace: those are for imported ones");
                return Err(CatalogError::new(source.name, None, problem));
            }
            let framework = Framework::from_data(data).map_err(|e| {
                let entry = e.requirement().map(|r| r.to_string());
                CatalogError::new(source.name, entry.as_deref(), e.to_string())
            })?;
            if catalog.frameworks.insert(id.clone(), framework).is_some() {
                return Err(CatalogError::new(source.name, None, format!("framework {id} is defined twice")));
            }
        }
        for source in crosswalks {
            let crosswalk: Crosswalk = parse(format, source)?;
            catalog.check_crosswalk(source.name, &crosswalk)?;
            catalog.crosswalks.push(crosswalk);
        }
        catalog.baseline = parse::<BaselineFile>(format, &baseline)?.controls;
        catalog.check_baseline(baseline.name)?;
        catalog.expand_points_of_focus();
        catalog.threats = parse(format, &threats)?;
        let mut ids = HashSet::new();
        for t in catalog.threats.threats.iter().chain(&catalog.threats.vulnerabilities) {
            if !ids.insert(t.id.as_str()) {
                return Err(CatalogError::new(threats.name, Some(&t.id), "id is used twice"));
            }
        }
        Ok(catalog)
    }

    fn known_framework(&self, file: &str, entry: Option<&str>, id: &FrameworkId) -> Result<&Framework, CatalogError> {
        self.frameworks.get(id).ok_or_else(|| CatalogError::new(file, entry, format!("unknown framework {id}")))
    }

    fn check_crosswalk(&self, file: &str, crosswalk: &Crosswalk) -> Result<(), CatalogError> {
        let from = self.known_framework(file, None, &crosswalk.from)?;
        let to = self.known_framework(file, None, &crosswalk.to)?;
        let mut seen = HashSet::new();
        for link in &crosswalk.links {
            let entry = format!("{} -> {}", link.from, link.to);
            let problem = if !from.contains(&link.from) {
                Some(format!("{} is not a requirement of {}", link.from, from.id()))
            } else if !to.contains(&link.to) {
                Some(format!("{} is not a requirement of {}", link.to, to.id()))
            } else if link.rationale.trim().is_empty() {
                Some("the rationale is empty".into())
            } else if !seen.insert((&link.from, &link.to)) {
                Some("the link is listed twice".into())
            } else {
                None
            };
            if let Some(problem) = problem {
                return Err(CatalogError::new(file, Some(&entry), problem));
            }
        }
        for unlinked in &crosswalk.unlinked {
            let entry = unlinked.reference.to_string();
            if !from.contains(&unlinked.reference) && !to.contains(&unlinked.reference) {
                return Err(CatalogError::new(file, Some(&entry), "is a requirement of neither framework"));
            }
            if unlinked.reason.trim().is_empty() {
                return Err(CatalogError::new(file, Some(&entry), "an unlinked requirement needs its reason"));
            }
        }
        Ok(())
    }

    fn check_baseline(&self, file: &str) -> Result<(), CatalogError> {
        let mut codes = HashSet::new();
        for control in &self.baseline {
            let entry = control.code.as_str();
            if !codes.insert(&control.code) {
                return Err(CatalogError::new(file, Some(entry), "code is used twice"));
            }
            if control.title.trim().is_empty() || control.description.trim().is_empty() {
                return Err(CatalogError::new(file, Some(entry), "title and description are required"));
            }
            let mut mapped = HashSet::new();
            for mapping in &control.mappings {
                let framework = self.known_framework(file, Some(entry), &mapping.framework)?;
                if framework.assessable(&mapping.requirement).is_err() {
                    return Err(CatalogError::new(
                        file,
                        Some(entry),
                        format!("{} is not an assessable requirement of {}", mapping.requirement, mapping.framework),
                    ));
                }
                if !mapped.insert((&mapping.framework, &mapping.requirement)) {
                    return Err(CatalogError::new(
                        file,
                        Some(entry),
                        format!("{} is mapped twice", mapping.requirement),
                    ));
                }
                let guidance: Vec<&RequirementRef> =
                    framework.guidance_of(&mapping.requirement).map(|g| &g.reference).collect();
                for point in &mapping.points_of_focus {
                    if !guidance.contains(&point) {
                        return Err(CatalogError::new(
                            file,
                            Some(entry),
                            format!("{point} is not a point of focus of {}", mapping.requirement),
                        ));
                    }
                    if !mapped.insert((&mapping.framework, point)) {
                        return Err(CatalogError::new(file, Some(entry), format!("{point} is mapped twice")));
                    }
                }
                if mapping.coverage == Coverage::Full && mapping.points_of_focus.len() < guidance.len() {
                    return Err(CatalogError::new(
                        file,
                        Some(entry),
                        format!(
                            "full coverage of {} must list every one of its {} points of focus, or be partial",
                            mapping.requirement,
                            guidance.len()
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Adds, for each point of focus a baseline mapping lists, a mapping of the control to it.
    fn expand_points_of_focus(&mut self) {
        for control in &mut self.baseline {
            let mut added = Vec::new();
            for mapping in &control.mappings {
                for point in &mapping.points_of_focus {
                    added.push(BaselineMapping {
                        framework: mapping.framework.clone(),
                        requirement: point.clone(),
                        coverage: Coverage::Full,
                        rationale: format!(
                            "{} addresses this point of focus of {}; its {} mapping says how.",
                            control.title, mapping.requirement, mapping.requirement
                        ),
                        points_of_focus: Vec::new(),
                    });
                }
            }
            control.mappings.extend(added);
        }
    }

    pub fn frameworks(&self) -> impl Iterator<Item = &Framework> {
        self.frameworks.values()
    }

    pub fn framework(&self, id: &FrameworkId) -> Option<&Framework> {
        self.frameworks.get(id)
    }

    pub fn crosswalks(&self) -> &[Crosswalk] {
        &self.crosswalks
    }

    /// The links from one framework to another, read in that direction whichever way they are stored.
    pub fn crosswalk(&self, from: &FrameworkId, to: &FrameworkId) -> Option<Crosswalk> {
        self.crosswalks.iter().find_map(|c| {
            if (&c.from, &c.to) == (from, to) {
                Some(c.clone())
            } else if (&c.to, &c.from) == (from, to) {
                Some(c.reversed())
            } else {
                None
            }
        })
    }

    pub fn baseline(&self) -> &[BaselineControl] {
        &self.baseline
    }

    pub fn threats(&self) -> &ThreatList {
        &self.threats
    }
}

/// Reads one framework file (TOML, the format of `data/frameworks/*.toml`) into its data, refusing
/// unknown fields; a syntax or field error names its line. The tree is checked by
/// [`Framework::new`] (first problem) or [`Framework::problems`] (all of them).
pub fn read_framework(source: &Source<'_>) -> Result<FrameworkData, CatalogError> {
    let file: FrameworkFile = parse_toml(source)?;
    Ok(FrameworkData { info: file.info, requirements: file.requirements })
}

fn parse<T: serde::de::DeserializeOwned>(format: Format, source: &Source<'_>) -> Result<T, CatalogError> {
    match format {
        Format::Toml => parse_toml(source),
        // The embedded JSON is one line: its position would mean nothing to a reader of the TOML.
        Format::Json => serde_json::from_str(source.text).map_err(|e| {
            CatalogError::new(
                source.name,
                None,
                e.to_string().replace(&format!(" at line {} column {}", e.line(), e.column()), ""),
            )
        }),
    }
}

fn parse_toml<T: serde::de::DeserializeOwned>(source: &Source<'_>) -> Result<T, CatalogError> {
    toml::from_str(source.text).map_err(|e| {
        let line = e.span().map(|span| source.text[..span.start.min(source.text.len())].matches('\n').count() + 1);
        let location = line.map(|line| format!("line {line}: ")).unwrap_or_default();
        CatalogError { line, ..CatalogError::new(source.name, None, format!("{location}{}", e.message())) }
    })
}
