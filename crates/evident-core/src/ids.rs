//! Identifiers. Each one parses once, at the edge; after that the type is the proof.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Why a piece of text is not a valid identifier of some kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not a valid {what}: {reason}")]
pub struct ParseError {
    pub what: &'static str,
    pub input: String,
    pub reason: &'static str,
}

impl ParseError {
    fn new(what: &'static str, input: &str, reason: &'static str) -> Self {
        Self { what, input: input.to_owned(), reason }
    }
}

macro_rules! string_newtype {
    ($name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = ParseError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = ParseError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
    };
}

/// A framework at a version: `iso27001:2022`, `soc2:2017`; an organisation's own framework
/// carries a namespace: `org/acme-policy:2025`. Built-in frameworks never have one, so an
/// imported framework can never take a built-in one's id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FrameworkId(String);
string_newtype!(FrameworkId);

impl FrameworkId {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        const WHAT: &str =
            "framework id (expected [namespace/]name:version, e.g. iso27001:2022 or org/acme-policy:2025)";
        let (namespaced, version) = input.split_once(':').ok_or_else(|| ParseError::new(WHAT, input, "missing ':'"))?;
        let (namespace, name) = match namespaced.split_once('/') {
            Some((namespace, name)) => (Some(namespace), name),
            None => (None, namespaced),
        };
        let slug = |text: &str| {
            !text.is_empty()
                && text.len() <= 32
                && text.starts_with(|c: char| c.is_ascii_lowercase())
                && text.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        };
        if namespace.is_some_and(|n| !slug(n)) {
            return Err(ParseError::new(
                WHAT,
                input,
                "the namespace must be lowercase letters, digits or '-', starting with a letter",
            ));
        }
        if !slug(name) {
            return Err(ParseError::new(WHAT, input, "the name must be lowercase letters, digits or '-'"));
        }
        let version_ok = !version.is_empty()
            && version.len() <= 16
            && version.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
        if !version_ok {
            return Err(ParseError::new(WHAT, input, "the version must be letters, digits, '.' or '-'"));
        }
        Ok(Self(input.to_owned()))
    }

    /// The organisation namespace of an imported framework (`org` in `org/acme-policy:2025`).
    pub fn namespace(&self) -> Option<&str> {
        self.0.split_once(':').and_then(|(n, _)| n.split_once('/')).map(|(namespace, _)| namespace)
    }

    /// The name without namespace or version (`acme-policy`, `iso27001`).
    pub fn name(&self) -> &str {
        let namespaced = self.0.split_once(':').map_or("", |(n, _)| n);
        namespaced.split_once('/').map_or(namespaced, |(_, name)| name)
    }

    pub fn version(&self) -> &str {
        self.0.split_once(':').map_or("", |(_, v)| v)
    }
}

/// The class of a requirement, from the framework's data: `clause`, `control`, `criterion`,
/// `article`, `function`… A free label, not a closed list: whether a requirement is assessed
/// follows from its place in the tree (leaves are), never from its kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RequirementKind(String);
string_newtype!(RequirementKind);

impl RequirementKind {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        const WHAT: &str = "requirement kind (a class label such as clause, control, criterion, article)";
        let ok = !input.is_empty()
            && input.len() <= 32
            && input.starts_with(|c: char| c.is_ascii_lowercase())
            && input.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if !ok {
            return Err(ParseError::new(
                WHAT,
                input,
                "must be 1 to 32 lowercase letters, digits, '_' or '-', starting with a letter",
            ));
        }
        Ok(Self(input.to_owned()))
    }
}

/// A requirement's reference inside its framework: `A.5.15`, `CC6.1`, `6.1.2`, `GOVERN 1.1`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RequirementRef(String);
string_newtype!(RequirementRef);

impl RequirementRef {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        const WHAT: &str = "requirement ref (e.g. A.5.15, CC6.1, 6.1.2)";
        if input.is_empty() || input.len() > 32 {
            return Err(ParseError::new(WHAT, input, "must be 1 to 32 characters"));
        }
        if !input.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '(' | ')' | ' ')) {
            return Err(ParseError::new(
                WHAT,
                input,
                "only letters, digits, '.', '-', '(', ')' and spaces are allowed",
            ));
        }
        let first_ok = input.starts_with(|c: char| c.is_ascii_alphanumeric());
        let last_ok = input.ends_with(|c: char| c.is_ascii_alphanumeric() || c == ')');
        if !first_ok || !last_ok || input.contains("  ") || input.contains("..") {
            return Err(ParseError::new(WHAT, input, "must start and end with a letter or digit"));
        }
        Ok(Self(input.to_owned()))
    }

    /// Orders refs the way a reader expects: `A.5.2` before `A.5.10`.
    pub fn natural_cmp(&self, other: &Self) -> std::cmp::Ordering {
        natural_cmp(&self.0, &other.0)
    }
}

/// Compares strings with digit runs as numbers, so that `CC1.10` follows `CC1.9`.
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    fn chunks(s: &str) -> impl Iterator<Item = (bool, &str)> {
        let mut rest = s;
        std::iter::from_fn(move || {
            let first = rest.chars().next()?;
            let digit = first.is_ascii_digit();
            let end = rest.find(|c: char| c.is_ascii_digit() != digit).unwrap_or(rest.len());
            let (head, tail) = rest.split_at(end);
            rest = tail;
            Some((digit, head))
        })
    }
    let mut left = chunks(a);
    let mut right = chunks(b);
    loop {
        match (left.next(), right.next()) {
            (None, None) => return std::cmp::Ordering::Equal,
            (None, Some(_)) => return std::cmp::Ordering::Less,
            (Some(_), None) => return std::cmp::Ordering::Greater,
            (Some((true, x)), Some((true, y))) => {
                let (x, y) = (x.trim_start_matches('0'), y.trim_start_matches('0'));
                let order = x.len().cmp(&y.len()).then_with(|| x.cmp(y));
                if order.is_ne() {
                    return order;
                }
            }
            (Some((_, x)), Some((_, y))) => {
                let order = x.cmp(y);
                if order.is_ne() {
                    return order;
                }
            }
        }
    }
}

/// A stable identity as the store gives it (a UUID, or any 1 to 64 lowercase letters, digits and
/// dashes): what `what` names.
fn stable_id(what: &'static str, input: &str) -> Result<String, ParseError> {
    if input.is_empty() || input.len() > 64 {
        return Err(ParseError::new(what, input, "must be 1 to 64 characters"));
    }
    if !input.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
        return Err(ParseError::new(what, input, "only lowercase letters, digits and '-' are allowed"));
    }
    Ok(input.to_owned())
}

/// A control's stable identity: it never changes, even when the control's code is renamed.
/// Mappings, risks, evidence, findings and OSCAL components refer to a control through it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ControlId(String);
string_newtype!(ControlId);

impl ControlId {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        stable_id("control id", input).map(Self)
    }
}

/// An evidence record's identity: a correction is a new record with its own id that supersedes
/// the old one. Findings, samples and OSCAL refer to evidence through it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EvidenceId(String);
string_newtype!(EvidenceId);

impl EvidenceId {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        stable_id("evidence id", input).map(Self)
    }
}

/// A recorded Type 2 sample's identity: exceptions are recorded against it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SampleId(String);
string_newtype!(SampleId);

impl SampleId {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        stable_id("sample id", input).map(Self)
    }
}

/// The organisation's own code for a control: `IAM-01`, `AC-3`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ControlCode(String);
string_newtype!(ControlCode);

impl ControlCode {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        code_shape("control code (e.g. IAM-01)", input).map(Self)
    }
}

/// The organisation's own code for an asset: `AST-DB`, `LAPTOPS`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AssetCode(String);
string_newtype!(AssetCode);

impl AssetCode {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        code_shape("asset code (e.g. AST-01)", input).map(Self)
    }
}

/// The organisation's own code for a risk: `R-001`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RiskCode(String);
string_newtype!(RiskCode);

impl RiskCode {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        code_shape("risk code (e.g. R-001)", input).map(Self)
    }
}

/// Codes the organisation writes itself: a letter, then letters, digits, '-', '_' or '.'.
fn code_shape(what: &'static str, input: &str) -> Result<String, ParseError> {
    if input.is_empty() || input.len() > 32 {
        return Err(ParseError::new(what, input, "must be 1 to 32 characters"));
    }
    if !input.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err(ParseError::new(what, input, "must start with a letter"));
    }
    if !input.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) {
        return Err(ParseError::new(what, input, "only letters, digits, '-', '_' and '.' are allowed"));
    }
    Ok(input.to_owned())
}

/// An e-mail address, lower-cased. Checks shape only; delivery is not our concern here.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);
string_newtype!(Email);

impl Email {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        const WHAT: &str = "e-mail address";
        let trimmed = input.trim();
        if trimmed.len() > 254 || trimmed.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ParseError::new(WHAT, input, "must be at most 254 characters with no spaces"));
        }
        let (local, domain) = trimmed.rsplit_once('@').ok_or_else(|| ParseError::new(WHAT, input, "missing '@'"))?;
        if local.is_empty() || local.contains('@') {
            return Err(ParseError::new(WHAT, input, "needs exactly one '@' with a name before it"));
        }
        let labels_ok = domain.split('.').count() >= 2
            && domain.split('.').all(|l| {
                !l.is_empty() && !l.starts_with('-') && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if !labels_ok {
            return Err(ParseError::new(WHAT, input, "the domain must look like example.com"));
        }
        Ok(Self(trimmed.to_ascii_lowercase()))
    }
}

/// An organisation's short name, used on the command line and in URLs: `acme`, `demo`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrgSlug(String);
string_newtype!(OrgSlug);

impl OrgSlug {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        const WHAT: &str = "organisation slug (e.g. acme)";
        let ok = !input.is_empty()
            && input.len() <= 63
            && input.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && input.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !ok {
            return Err(ParseError::new(WHAT, input, "use 1 to 63 lowercase letters, digits or '-'"));
        }
        Ok(Self(input.to_owned()))
    }
}

/// An organisation's internal id, assigned by the store.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OrgId(String);

impl OrgId {
    /// Wraps an id the store generated or read back; it is opaque to everyone else.
    pub fn from_store(id: String) -> Self {
        Self(id)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OrgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A SHA-256 digest in lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sha256Digest(String);
string_newtype!(Sha256Digest);

impl Sha256Digest {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        const WHAT: &str = "SHA-256 digest";
        if input.len() != 64 || !input.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(ParseError::new(WHAT, input, "must be 64 hexadecimal characters"));
        }
        Ok(Self(input.to_ascii_lowercase()))
    }

    pub fn of(bytes: &[u8]) -> Self {
        Self(hex::encode(Sha256::digest(bytes)))
    }

    /// The all-zero digest that the first record of a hash chain links to.
    pub fn zero() -> Self {
        Self("0".repeat(64))
    }

    /// The digest a SHA-256 hasher produced, as its 32 raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(hex::encode(bytes))
    }

    /// Its 32 raw bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        let mut bytes = [0; 32];
        // Parsing checked 64 hexadecimal characters: decoding them cannot fail.
        hex::decode_to_slice(&self.0, &mut bytes).unwrap_or_default();
        bytes
    }

    pub(crate) fn from_hasher(hasher: Sha256) -> Self {
        Self(hex::encode(hasher.finalize()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn framework_ids_split_into_name_and_version() {
        let id = FrameworkId::parse("iso27001:2022").unwrap();
        assert_eq!((id.namespace(), id.name(), id.version()), (None, "iso27001", "2022"));
        for bad in ["iso27001", "ISO27001:2022", ":2022", "iso:", "iso 27001:2022", "iso:20 22"] {
            assert!(FrameworkId::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn framework_ids_may_carry_an_organisation_namespace() {
        let id = FrameworkId::parse("org/acme-policy:2025").unwrap();
        assert_eq!((id.namespace(), id.name(), id.version()), (Some("org"), "acme-policy", "2025"));
        assert_eq!(id.as_str(), "org/acme-policy:2025");
        let customer = FrameworkId::parse("customer-x/contract:v2.1").unwrap();
        assert_eq!(customer.namespace(), Some("customer-x"));
        for bad in [
            "/acme:1",
            "org/:1",
            "Org/acme:1",
            "org/acme/policy:1",
            "org//acme:1",
            "1org/acme:1",
            "org/acme",
            "org acme/x:1",
            "org/acme:1/2",
        ] {
            let error = FrameworkId::parse(bad);
            assert!(error.is_err(), "{bad} should be rejected");
        }
        let error = FrameworkId::parse("Org/acme:1").unwrap_err();
        assert!(error.to_string().contains("the namespace must be lowercase"), "{error}");
    }

    #[test]
    fn requirement_kinds_are_open_class_labels() {
        for good in ["clause", "control", "criterion", "article", "function", "sub_category", "point-of-focus"] {
            assert_eq!(RequirementKind::parse(good).unwrap().as_str(), good);
        }
        for bad in ["", "Control", "1st", "two words", "a.b", &"x".repeat(33)] {
            assert!(RequirementKind::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        let kind: RequirementKind = serde_json::from_str("\"article\"").unwrap();
        assert_eq!(kind.as_str(), "article");
        assert!(serde_json::from_str::<RequirementKind>("\"Article\"").is_err());
    }

    #[test]
    fn requirement_refs_accept_every_catalog_shape() {
        for good in ["A.5.15", "CC6.1", "6.1.2", "4", "PI1.3", "GOVERN 1.1", "Art. 5", "A.18.2.3"] {
            assert!(RequirementRef::parse(good).is_ok(), "{good} should parse");
        }
        for bad in ["", ".A", "A.", "A..5", "A;5", "CC6.1\n", "a  b", &"x".repeat(33)] {
            assert!(RequirementRef::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn refs_sort_naturally() {
        let mut refs = vec!["A.5.10", "A.5.2", "A.5.1", "CC1.10", "CC1.9", "10.1", "9.3.1"];
        refs.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(refs, ["9.3.1", "10.1", "A.5.1", "A.5.2", "A.5.10", "CC1.9", "CC1.10"]);
    }

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(Email::parse(" Alice@Example.COM ").unwrap().as_str(), "alice@example.com");
        for bad in ["alice", "@example.com", "alice@", "alice@example", "a b@example.com", "alice@-x.com"] {
            assert!(Email::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn digests_hash_and_parse() {
        let d = Sha256Digest::of(b"abc");
        assert_eq!(d.as_str(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(Sha256Digest::parse(&d.as_str().to_uppercase()).unwrap(), d);
        assert!(Sha256Digest::parse("abc").is_err());
        assert_eq!(Sha256Digest::from_bytes(Sha256::digest(b"abc").into()), d);
        assert_eq!(Sha256Digest::from_bytes(d.to_bytes()), d);
    }

    proptest! {
        #[test]
        fn parsers_never_panic(s in "\\PC*") {
            let _ = FrameworkId::parse(&s);
            let _ = RequirementRef::parse(&s);
            let _ = RequirementKind::parse(&s);
            let _ = ControlCode::parse(&s);
            let _ = ControlId::parse(&s);
            let _ = EvidenceId::parse(&s);
            let _ = SampleId::parse(&s);
            let _ = Email::parse(&s);
            let _ = OrgSlug::parse(&s);
            let _ = Sha256Digest::parse(&s);
        }

        #[test]
        fn parsed_refs_round_trip(s in "[A-Z]{0,3}[0-9]{1,2}(\\.[0-9]{1,2}){0,3}") {
            let parsed = RequirementRef::parse(&s).unwrap();
            prop_assert_eq!(RequirementRef::parse(parsed.as_str()).unwrap(), parsed);
        }
    }
}
