//! Reading a document within bounds: its size is checked before a byte is read into memory, and
//! its nesting before it is parsed, so a hostile file is refused with a clear error rather than a
//! stack overflow or an exhausted memory.

use std::io::Read as _;
use std::path::Path;

use serde_json::Value;

use crate::error::OscalError;

/// How much a document may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest file read, in bytes. NIST's SP 800-53 rev5 catalog is under 6 MB.
    pub max_bytes: u64,
    /// The deepest nesting of JSON arrays and objects. SP 800-53 nests 16; serde_json stops at 128.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_bytes: 64 * 1024 * 1024, max_depth: 100 }
    }
}

/// Which OSCAL model a document holds, from its root key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Model {
    Catalog,
    Profile,
    SystemSecurityPlan,
    AssessmentResults,
    PlanOfActionAndMilestones,
}

impl Model {
    pub fn as_str(self) -> &'static str {
        match self {
            Model::Catalog => "catalog",
            Model::Profile => "profile",
            Model::SystemSecurityPlan => "system-security-plan",
            Model::AssessmentResults => "assessment-results",
            Model::PlanOfActionAndMilestones => "plan-of-action-and-milestones",
        }
    }

    /// Every model read, in the order the root keys are named in errors.
    pub const ALL: [Model; 5] = [
        Model::Catalog,
        Model::Profile,
        Model::SystemSecurityPlan,
        Model::AssessmentResults,
        Model::PlanOfActionAndMilestones,
    ];
}

/// Reads a file within `limits`: its size is checked on the open file, before reading.
pub fn read_file(path: &Path, limits: &Limits) -> Result<Vec<u8>, OscalError> {
    let file = path.display().to_string();
    let unreadable = |e: std::io::Error| OscalError::Unreadable { file: file.clone(), message: e.to_string() };
    // Checked before opening too: opening a named pipe would wait for a writer.
    if !std::fs::metadata(path).map_err(unreadable)?.is_file() {
        return Err(OscalError::Unreadable { file, message: "not a regular file".into() });
    }
    let opened = std::fs::File::open(path).map_err(unreadable)?;
    let metadata = opened.metadata().map_err(unreadable)?;
    if !metadata.is_file() {
        return Err(OscalError::Unreadable { file, message: "not a regular file".into() });
    }
    if metadata.len() > limits.max_bytes {
        return Err(OscalError::TooLarge { file, size: metadata.len(), limit: limits.max_bytes });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or_default());
    opened.take(limits.max_bytes + 1).read_to_end(&mut bytes).map_err(unreadable)?;
    if bytes.len() as u64 > limits.max_bytes {
        return Err(OscalError::TooLarge { file, size: bytes.len() as u64, limit: limits.max_bytes });
    }
    Ok(bytes)
}

/// Parses JSON bytes within `limits` into a value and names the model it holds.
pub fn parse(file: &str, bytes: &[u8], limits: &Limits) -> Result<(Model, Value), OscalError> {
    if bytes.len() as u64 > limits.max_bytes {
        return Err(OscalError::TooLarge { file: file.into(), size: bytes.len() as u64, limit: limits.max_bytes });
    }
    check_depth(file, bytes, limits.max_depth)?;
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| OscalError::Syntax { file: file.into(), message: e.to_string() })?;
    fn keys(o: &serde_json::Map<String, Value>) -> Vec<&str> {
        o.keys().map(String::as_str).filter(|k| *k != "$schema").collect()
    }
    let Some(object) = value.as_object() else {
        return Err(OscalError::NotSupported {
            file: file.into(),
            message: "an OSCAL document is a JSON object; this is not one".into(),
        });
    };
    let keys = keys(object);
    let Some(model) = named(&keys) else {
        let found = if keys.is_empty() { "nothing".to_owned() } else { keys.join(", ") };
        return Err(OscalError::NotSupported {
            file: file.into(),
            message: format!(
                "an OSCAL document here is one object with a single key naming its model (catalog, profile, \
                 system-security-plan, assessment-results, plan-of-action-and-milestones); this one has {found}"
            ),
        });
    };
    Ok((model, value))
}

/// The model a root object's only key names.
fn named(keys: &[&str]) -> Option<Model> {
    match keys {
        [only] => Model::ALL.into_iter().find(|m| m.as_str() == *only),
        _ => None,
    }
}

/// Refuses JSON nested deeper than `limit` without parsing it: one pass over the bytes, strings
/// skipped, counting open brackets.
fn check_depth(file: &str, bytes: &[u8], limit: usize) -> Result<(), OscalError> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (offset, &byte) in bytes.iter().enumerate() {
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > limit {
                    let line = bytes[..offset].iter().filter(|&&b| b == b'\n').count() + 1;
                    return Err(OscalError::TooDeep { file: file.into(), line, limit });
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}
