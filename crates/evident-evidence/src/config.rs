//! Where blobs live: a local directory (the default) or an S3-compatible bucket.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use crate::BlobError;

/// Where the blob store keeps its bytes.
///
/// Written as text (`--evidence-store`, a config file) it is either a directory path
/// (`/var/lib/evident/evidence`, `file:///var/lib/evident/evidence`) or an S3 address:
///
/// ```text
/// s3://BUCKET[/PREFIX][?endpoint=URL][&region=REGION][&allow_http=true|false]
/// s3://evidence?endpoint=http://127.0.0.1:9000&region=us-east-1
/// ```
///
/// S3 credentials never appear in the address: they come from the environment
/// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, or the other sources
/// `object_store`'s `AmazonS3Builder::from_env` knows), or from [`S3Config::credentials`] when
/// the caller holds them. Neither `Debug` nor `Display` of a configuration shows a credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobConfig {
    /// Files under `dir` (created with mode 0700 if missing).
    Local { dir: PathBuf },
    /// Objects in an S3-compatible bucket.
    S3(S3Config),
}

/// An S3-compatible bucket (AWS S3, MinIO, Ceph RGW, Garage, moto, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Config {
    pub bucket: String,
    /// A key prefix inside the bucket (`evident/prod`), so that one bucket can serve several
    /// installations; `None` uses the bucket's root.
    pub prefix: Option<String>,
    /// The endpoint URL (`http://127.0.0.1:9000`); `None` is AWS itself (or `AWS_ENDPOINT`).
    pub endpoint: Option<String>,
    /// The region; `None` takes `AWS_REGION`/`AWS_DEFAULT_REGION`, else `us-east-1`.
    pub region: Option<String>,
    /// Allow a plain-HTTP endpoint (a store on loopback or in a private network).
    pub allow_http: bool,
    /// Credentials held by the caller; `None` reads them from the environment.
    pub credentials: Option<S3Credentials>,
}

impl S3Config {
    /// A bucket on AWS with everything else from the environment.
    pub fn bucket(bucket: impl Into<String>) -> Self {
        Self { bucket: bucket.into(), prefix: None, endpoint: None, region: None, allow_http: false, credentials: None }
    }
}

/// An access key pair (and optional session token). Its `Debug` shows no part of it.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Credentials {
    pub(crate) access_key_id: String,
    pub(crate) secret_access_key: String,
    pub(crate) session_token: Option<String>,
}

impl S3Credentials {
    pub fn new(access_key_id: impl Into<String>, secret_access_key: impl Into<String>) -> Self {
        Self { access_key_id: access_key_id.into(), secret_access_key: secret_access_key.into(), session_token: None }
    }

    pub fn with_session_token(mut self, token: impl Into<String>) -> Self {
        self.session_token = Some(token.into());
        self
    }
}

impl fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("S3Credentials(redacted)")
    }
}

impl BlobConfig {
    /// The local file system under `dir`: the default, one data directory.
    pub fn local(dir: impl Into<PathBuf>) -> Self {
        Self::Local { dir: dir.into() }
    }

    /// Parses a directory path, a `file://` URL or an `s3://` address (see [`BlobConfig`]).
    /// Error messages name the part that is wrong without repeating the input, which could
    /// hold a secret pasted by mistake.
    pub fn parse(input: &str) -> Result<Self, BlobError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(config("the evidence store is empty: give a directory or an s3:// address"));
        }
        let scheme = input.split_once("://").map(|(scheme, _)| scheme.to_ascii_lowercase());
        match scheme.as_deref() {
            None => Ok(Self::Local { dir: PathBuf::from(input) }),
            Some("file") => {
                let url = url::Url::parse(input).map_err(|e| config(format!("not a valid file:// URL ({e})")))?;
                let dir = url
                    .to_file_path()
                    .map_err(|()| config("a file:// URL must name an absolute local path (file:///var/lib/…)"))?;
                Ok(Self::Local { dir })
            }
            Some("s3") => parse_s3(input).map(Self::S3),
            Some(other) => Err(config(format!(
                "unknown scheme {other:?}: use a directory path, file:// or s3:// (credentials come from the environment)"
            ))),
        }
    }
}

impl FromStr for BlobConfig {
    type Err = BlobError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// How messages name the store: the directory, or the bucket and its endpoint. No credentials.
impl fmt::Display for BlobConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Local { dir } => write!(f, "local directory {}", dir.display()),
            Self::S3(s3) => {
                write!(f, "S3 bucket {}", s3.bucket)?;
                if let Some(prefix) = &s3.prefix {
                    write!(f, "/{prefix}")?;
                }
                match &s3.endpoint {
                    Some(endpoint) => write!(f, " at {endpoint}"),
                    None => write!(f, " on AWS"),
                }
            }
        }
    }
}

fn config(message: impl Into<String>) -> BlobError {
    BlobError::Config(message.into())
}

fn parse_s3(input: &str) -> Result<S3Config, BlobError> {
    let url = url::Url::parse(input).map_err(|e| config(format!("not a valid s3:// address ({e})")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(config(
            "the s3:// address must not carry credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY instead",
        ));
    }
    if url.fragment().is_some() {
        return Err(config("the s3:// address must not have a #fragment"));
    }
    let bucket = url.host_str().unwrap_or_default().to_owned();
    let bucket_ok = (3..=63).contains(&bucket.len())
        && bucket.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_'))
        && bucket.starts_with(|c: char| c.is_ascii_alphanumeric());
    if !bucket_ok || url.port().is_some() {
        return Err(config(
            "the bucket name (s3://BUCKET) must be 3 to 63 lowercase letters, digits, '.', '-' or '_'; \
             an endpoint goes in ?endpoint=",
        ));
    }
    let prefix = url.path().trim_matches('/');
    let prefix = if prefix.is_empty() {
        None
    } else {
        let segments_ok = prefix.split('/').all(|s| !s.is_empty() && s != "." && s != "..")
            && prefix.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.'));
        if !segments_ok {
            return Err(config("the key prefix (s3://bucket/PREFIX) must be letters, digits, '-', '_', '.' and '/'"));
        }
        Some(prefix.to_owned())
    };

    let mut s3 = S3Config { prefix, ..S3Config::bucket(bucket) };
    let mut allow_http = None;
    let mut seen = Vec::new();
    for (key, value) in url.query_pairs() {
        if seen.contains(&key) {
            return Err(config(format!("the parameter {key:?} is given twice")));
        }
        match key.as_ref() {
            "endpoint" => s3.endpoint = Some(parse_endpoint(&value)?),
            "region" => {
                let ok = !value.is_empty() && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
                if !ok {
                    return Err(config("the region must be letters, digits and '-' (e.g. us-east-1)"));
                }
                s3.region = Some(value.clone().into_owned());
            }
            "allow_http" => {
                allow_http = Some(match value.as_ref() {
                    "true" => true,
                    "false" => false,
                    _ => return Err(config("allow_http must be true or false")),
                });
            }
            other => {
                return Err(config(format!(
                    "unknown parameter {other:?} in the s3:// address (known: endpoint, region, allow_http; \
                     credentials come from the environment)"
                )));
            }
        }
        seen.push(key);
    }
    let http_endpoint = s3.endpoint.as_deref().is_some_and(|e| e.starts_with("http://"));
    s3.allow_http = match allow_http {
        Some(false) if http_endpoint => {
            return Err(config("the endpoint is plain http:// but allow_http=false"));
        }
        Some(explicit) => explicit,
        None => http_endpoint,
    };
    Ok(s3)
}

fn parse_endpoint(value: &str) -> Result<String, BlobError> {
    let url = url::Url::parse(value).map_err(|e| config(format!("the endpoint is not a valid URL ({e})")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(config("the endpoint must not carry credentials: they come from the environment"));
    }
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(config("the endpoint must be an http:// or https:// URL with a host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(config("the endpoint must not have a query or a fragment"));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_addresses_parse_with_their_parameters() {
        let parsed = BlobConfig::parse("s3://evidence?endpoint=http://127.0.0.1:9000&region=us-east-1").unwrap();
        let BlobConfig::S3(s3) = &parsed else { panic!("{parsed:?}") };
        assert_eq!(s3.bucket, "evidence");
        assert_eq!(s3.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(s3.region.as_deref(), Some("us-east-1"));
        assert!(s3.allow_http, "a plain-http endpoint allows http");
        assert_eq!(parsed.to_string(), "S3 bucket evidence at http://127.0.0.1:9000");

        let BlobConfig::S3(aws) = BlobConfig::parse("s3://my-bucket/evident/prod").unwrap() else { panic!() };
        assert_eq!((aws.prefix.as_deref(), aws.endpoint, aws.allow_http), (Some("evident/prod"), None, false));
    }

    #[test]
    fn paths_and_file_urls_are_local() {
        assert_eq!(
            BlobConfig::parse("/var/lib/evident/evidence").unwrap(),
            BlobConfig::local("/var/lib/evident/evidence")
        );
        assert_eq!(BlobConfig::parse("file:///srv/evidence").unwrap(), BlobConfig::local("/srv/evidence"));
        assert_eq!(BlobConfig::parse("data/evidence").unwrap(), BlobConfig::local("data/evidence"));
    }

    #[test]
    fn bad_addresses_are_refused_without_echoing_secrets() {
        for (input, says) in [
            ("s3://AKIAEXAMPLE:s3cr3t@bucket", "must not carry credentials"),
            ("s3://bucket?endpoint=http://AKIAEXAMPLE:s3cr3t@127.0.0.1:9000", "must not carry credentials"),
            ("s3://bucket?secret_access_key=s3cr3t", "unknown parameter \"secret_access_key\""),
            ("s3://bucket?endpoint=ftp://host", "http:// or https://"),
            ("s3://bucket?endpoint=http://h&allow_http=false", "allow_http=false"),
            ("s3://bucket?region=us-east-1&region=eu-west-1", "twice"),
            ("s3://Bucket", "bucket name"),
            ("s3://bucket:9000", "bucket name"),
            ("s3://bucket/a b", "prefix"),
            ("gs://bucket", "unknown scheme"),
            ("   ", "empty"),
        ] {
            let error = BlobConfig::parse(input).unwrap_err();
            let message = error.to_string();
            assert_eq!(error.code(), "blob_config_invalid");
            assert!(message.contains(says), "{input}: {message}");
            assert!(!message.contains("s3cr3t") && !message.contains("AKIAEXAMPLE"), "{message}");
        }
    }

    #[test]
    fn credentials_never_show_in_debug() {
        let config = BlobConfig::S3(S3Config {
            credentials: Some(S3Credentials::new("AKIAEXAMPLE", "s3cr3t").with_session_token("t0ken")),
            ..S3Config::bucket("evidence")
        });
        let debug = format!("{config:?} {config}");
        for secret in ["AKIAEXAMPLE", "s3cr3t", "t0ken"] {
            assert!(!debug.contains(secret), "{debug}");
        }
    }
}
