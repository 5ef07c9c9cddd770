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
    ComponentDefinition,
    SystemSecurityPlan,
    AssessmentPlan,
    AssessmentResults,
    PlanOfActionAndMilestones,
}

impl Model {
    pub fn as_str(self) -> &'static str {
        match self {
            Model::Catalog => "catalog",
            Model::Profile => "profile",
            Model::ComponentDefinition => "component-definition",
            Model::SystemSecurityPlan => "system-security-plan",
            Model::AssessmentPlan => "assessment-plan",
            Model::AssessmentResults => "assessment-results",
            Model::PlanOfActionAndMilestones => "plan-of-action-and-milestones",
        }
    }

    /// Every model read, in the order the root keys are named in errors.
    pub const ALL: [Model; 7] = [
        Model::Catalog,
        Model::Profile,
        Model::ComponentDefinition,
        Model::SystemSecurityPlan,
        Model::AssessmentPlan,
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

/// Refuses bytes larger than `limits` allow or nested deeper, before any parser sees them.
pub fn check_bounds(file: &str, bytes: &[u8], limits: &Limits) -> Result<(), OscalError> {
    if bytes.len() as u64 > limits.max_bytes {
        return Err(OscalError::TooLarge { file: file.into(), size: bytes.len() as u64, limit: limits.max_bytes });
    }
    check_depth(file, bytes, limits.max_depth)
}

/// JSON bytes (already bounded) as a value.
pub fn parse_value(file: &str, bytes: &[u8]) -> Result<Value, OscalError> {
    serde_json::from_slice(bytes).map_err(|e| OscalError::Syntax { file: file.into(), message: e.to_string() })
}

/// The model a parsed document holds, from its only root key (besides `$schema`).
pub fn model_of(file: &str, value: &Value) -> Result<Model, OscalError> {
    let Some(object) = value.as_object() else {
        return Err(OscalError::NotSupported {
            file: file.into(),
            message: "an OSCAL document is a JSON object; this is not one".into(),
        });
    };
    let keys: Vec<&str> = object.keys().map(String::as_str).filter(|k| *k != "$schema").collect();
    named(&keys).ok_or_else(|| {
        let found = if keys.is_empty() { "nothing".to_owned() } else { keys.join(", ") };
        OscalError::NotSupported {
            file: file.into(),
            message: format!(
                "an OSCAL document here is one object with a single key naming its model (catalog, profile, \
                 component-definition, system-security-plan, assessment-plan, assessment-results, \
                 plan-of-action-and-milestones); this one has {found}"
            ),
        }
    })
}

/// The model a document's first root key (besides `$schema`) names, read without parsing the
/// rest: a guess that lets work on the model start while the document is parsed, which
/// [`model_of`] then settles. `None` when the bytes do not start as an OSCAL document.
pub fn sniff(bytes: &[u8]) -> Option<Model> {
    use serde::de::{Deserializer as _, IgnoredAny, MapAccess, Visitor};
    struct FirstKey<'a>(&'a std::cell::Cell<Option<Model>>);
    impl<'de> Visitor<'de> for FirstKey<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                if key != "$schema" {
                    self.0.set(named(&[key.as_ref()]));
                    // Stops here: the parser's complaint that the object goes on is not wanted.
                    return Err(serde::de::Error::custom("read enough"));
                }
                map.next_value::<IgnoredAny>()?;
            }
            Ok(())
        }
    }
    let found = std::cell::Cell::new(None);
    serde_json::Deserializer::from_slice(bytes).deserialize_map(FirstKey(&found)).ok();
    found.get()
}

/// The model a root object's only key names.
fn named(keys: &[&str]) -> Option<Model> {
    match keys {
        [only] => Model::ALL.into_iter().find(|m| m.as_str() == *only),
        _ => None,
    }
}

/// Refuses JSON nested deeper than `limit` without parsing it: one pass over the bytes, strings
/// skipped, counting brackets. Most of a document is prose and indentation, which `memchr`
/// crosses many bytes at a time.
fn check_depth(file: &str, bytes: &[u8], limit: usize) -> Result<(), OscalError> {
    let mut depth = 0usize;
    let mut at = 0usize;
    while at < bytes.len() {
        // Outside a string: the next quote or opening bracket; the closing ones before it count down.
        let Some(next) = memchr::memchr3(b'"', b'{', b'[', &bytes[at..]).map(|n| at + n) else {
            break;
        };
        let closed = memchr::memchr2_iter(b'}', b']', &bytes[at..next]).count();
        depth = depth.saturating_sub(closed);
        if bytes[next] == b'"' {
            at = string_end(bytes, next + 1);
            continue;
        }
        depth += 1;
        if depth > limit {
            let line = memchr::memchr_iter(b'\n', &bytes[..next]).count() + 1;
            return Err(OscalError::TooDeep { file: file.into(), line, limit });
        }
        at = next + 1;
    }
    Ok(())
}

/// Where the string whose content starts at `from` ends: just past its closing quote, escapes
/// skipped (or the end of the bytes, for a string never closed: the parser names that).
fn string_end(bytes: &[u8], mut from: usize) -> usize {
    while let Some(n) = memchr::memchr2(b'"', b'\\', &bytes[from..]) {
        let found = from + n;
        if bytes[found] == b'"' {
            return found + 1;
        }
        from = found + 2;
        if from >= bytes.len() {
            break;
        }
    }
    bytes.len()
}
