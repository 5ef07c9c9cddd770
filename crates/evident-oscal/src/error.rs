use std::fmt;

use serde::Serialize;

/// One thing wrong with a document, where it is (a JSON pointer into the document), and which
/// rule it breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// A JSON pointer (`/catalog/groups/0/controls/3/id`); empty for the document itself.
    pub path: String,
    /// `schema` (the OSCAL JSON schema), `duplicate_id`, `unknown_param`, `unresolved_link`.
    pub rule: &'static str,
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() { "/" } else { &self.path };
        write!(f, "{path}: {} ({})", self.message, self.rule)
    }
}

/// Why a document could not be read, validated or resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OscalError {
    #[error("{file}: cannot read the file: {message}")]
    Unreadable { file: String, message: String },
    #[error("{file}: the file is {size} bytes, more than the {limit} bytes allowed")]
    TooLarge { file: String, size: u64, limit: u64 },
    #[error(
        "{file}: line {line}: the JSON nests deeper than {limit} levels; no OSCAL document does (NIST's SP 800-53 \
         catalog nests 16)"
    )]
    TooDeep { file: String, line: usize, limit: usize },
    #[error("{file}: not JSON: {message}")]
    Syntax { file: String, message: String },
    #[error("{file}: {message}")]
    NotSupported { file: String, message: String },
    #[error("{file}: {} problem(s): {}", .violations.len(), summary(.violations))]
    Invalid { file: String, violations: Vec<Violation> },
    #[error("{file}: {message}")]
    Unresolvable { file: String, message: String },
}

fn summary(violations: &[Violation]) -> String {
    let mut text: Vec<String> = violations.iter().take(3).map(ToString::to_string).collect();
    if violations.len() > 3 {
        text.push(format!("and {} more", violations.len() - 3));
    }
    text.join("; ")
}

impl OscalError {
    /// A stable snake_case name for what went wrong.
    pub fn code(&self) -> &'static str {
        match self {
            OscalError::Unreadable { .. } => "unreadable",
            OscalError::TooLarge { .. } => "too_large",
            OscalError::TooDeep { .. } => "too_deep",
            OscalError::Syntax { .. } => "syntax",
            OscalError::NotSupported { .. } => "not_supported",
            OscalError::Invalid { .. } => "invalid",
            OscalError::Unresolvable { .. } => "unresolvable",
        }
    }

    /// Every violation, for [`OscalError::Invalid`]; none otherwise.
    pub fn violations(&self) -> &[Violation] {
        match self {
            OscalError::Invalid { violations, .. } => violations,
            _ => &[],
        }
    }
}
