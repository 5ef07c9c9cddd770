//! Read models served from the store while nothing they depend on has changed.
//!
//! Readiness and the controls list of a large organisation cost far more to compute (tens of
//! thousands of mappings read, assessed and rendered) than to read back, and every page view asks
//! for them. Each is kept, rendered, under a key of everything it is computed from:
//!
//! - the organisation's audit chain head: every change of its records appends to the log, so any
//!   change (a control edited, evidence added, a framework imported) moves the head;
//! - the day, on which freshness depends;
//! - the build: this binary's version, size and modification time (the engines and the embedded
//!   catalog are in it).
//!
//! The head is read before anything the model is computed from, so a model stored under a head
//! was computed from that state or a later one, and a later state has a later head: a stored model
//! is never served for records it was not computed from. Rows are LZ4-compressed (JSON shrinks
//! several times, and decompresses at gigabytes a second); a row that does not decompress, or says
//! it holds more than [`LARGEST`], is recomputed. Storing is best effort: a read-only data
//! directory, or a writer holding the database longer than [`STORE_WAIT`], leaves it unstored.
//!
//! A long-lived process (the server, through [`App::remembering`]) also keeps the models it served
//! lately in memory ([`Recent`]), under the same key: a read after no change then costs the head's read and a copy,
//! not the row's read and its decompression. Another instance's change moves the head, so it is
//! never served stale from memory either.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use evident_core::Permission;
use serde::Serialize;

use crate::app::App;
use crate::controls::ControlView;
use crate::error::{AppError, Code, Result};
use crate::principal::Principal;

/// How long a read waits to store what it computed before giving up on storing it.
const STORE_WAIT: Duration = Duration::from_millis(250);

/// The largest model a stored row may claim to hold once decompressed: a damaged row must not
/// make a read allocate whatever it says.
const LARGEST: usize = 256 << 20;

/// What [`Recent`] keeps of one value at a time, in memory, for a server's next read after no
/// change: under each slot (organisation id, what it is), the key the value holds for and the value;
/// everything is forgotten before a value would take the shelf past its budget.
#[derive(Debug)]
struct Shelf<V> {
    kept: Mutex<HashMap<(String, String), (String, V)>>,
    budget: usize,
    weigh: fn(&V) -> usize,
}

impl<V: Clone> Shelf<V> {
    fn new(budget: usize, weigh: fn(&V) -> usize) -> Self {
        Self { kept: Mutex::default(), budget, weigh }
    }

    /// The value kept for `org` and `what`, if it holds for `key`.
    fn get(&self, org: &str, what: &str, key: &str) -> Option<V> {
        let kept = self.kept.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (held, value) = kept.get(&(org.to_owned(), what.to_owned()))?;
        (held == key).then(|| value.clone())
    }

    /// Keeps `value` for `key` in place of whatever was kept for `org` and `what`.
    fn put(&self, org: &str, what: &str, key: &str, value: V) {
        let weight = (self.weigh)(&value);
        if weight > self.budget {
            return;
        }
        let mut kept = self.kept.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let held: usize = kept.values().map(|(_, v)| (self.weigh)(v)).sum();
        if held + weight > self.budget {
            kept.clear();
        }
        kept.insert((org.to_owned(), what.to_owned()), (key.to_owned(), value));
    }
}

/// A value [`App::remembered`] keeps, of whatever type its use case computes.
type Kept = Arc<dyn Any + Send + Sync>;

/// What a remembering application keeps in memory: the models it served (64 MiB of JSON at most),
/// the controls lists a server pages through (16 at most), and the values its pages read most
/// (an organisation's library and loaded records; 64 at most).
#[derive(Debug)]
pub(crate) struct Recent {
    models: Shelf<Arc<str>>,
    controls: Shelf<Arc<Vec<ControlView>>>,
    values: Shelf<Kept>,
}

impl Default for Recent {
    fn default() -> Self {
        Self {
            models: Shelf::new(64 << 20, |body| body.len()),
            controls: Shelf::new(16, |_| 1),
            values: Shelf::new(64, |_| 1),
        }
    }
}

/// A stored row's JSON, if it is a compressed model of at most [`LARGEST`] bytes.
fn decompressed(row: &[u8]) -> Option<String> {
    let (size, _) = lz4_flex::block::uncompressed_size(row).ok()?;
    if size > LARGEST {
        return None;
    }
    String::from_utf8(lz4_flex::decompress_size_prepended(row).ok()?).ok()
}

/// Whether a read may be answered from a stored model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reuse {
    /// Serve the stored model if its key still holds; compute and store it otherwise.
    #[default]
    Stored,
    /// Compute it from the records (and store it): what a benchmark's cold run, or a suspicious
    /// reader, asks for.
    Recompute,
}

/// This build's identity in a key: version, and the executable's size and modification time.
/// `None` when the executable cannot be looked at: then nothing is reused.
fn build() -> Option<&'static str> {
    static BUILD: OnceLock<Option<String>> = OnceLock::new();
    BUILD
        .get_or_init(|| {
            let exe = std::fs::metadata(std::env::current_exe().ok()?).ok()?;
            let modified = exe.modified().ok()?.duration_since(std::time::UNIX_EPOCH).ok()?;
            Some(format!("{}+{}.{}", env!("CARGO_PKG_VERSION"), exe.len(), modified.as_nanos()))
        })
        .as_deref()
}

impl App {
    /// [`App::controls`], shared: a remembering application (the server) keeps the list it read
    /// under the organisation's audit chain head, read first, and hands the same list to every
    /// request until the head moves.
    pub async fn controls_shared(&self, principal: &Principal, all: bool) -> Result<Arc<Vec<ControlView>>> {
        principal.authorize(Permission::Read)?;
        let Some(recent) = &self.recent else { return Ok(Arc::new(self.controls(principal, all).await?)) };
        let org = principal.org.id.as_str();
        let head = self.store.chain_head(&principal.org.id).await?;
        let key = format!("{}:{}", head.seq, head.hash);
        let what = if all { "controls, retired too" } else { "controls" };
        if let Some(list) = recent.controls.get(org, what, &key) {
            return Ok(list);
        }
        let list = Arc::new(self.controls(principal, all).await?);
        recent.controls.put(org, what, &key, list.clone());
        Ok(list)
    }

    /// The value `what` of the principal's organisation, computed by `compute` (which checks
    /// `permission` itself when it runs): a remembering application keeps it in memory under the
    /// organisation's audit chain head, read first, and the day, and hands a copy of it to every
    /// read until either moves. `what` names everything the value is computed from besides the
    /// organisation's records and the day (a framework's id, a number of days). Only for reads:
    /// a change decides on records read in its own transaction, never on a value kept here.
    pub(crate) async fn remembered<T>(
        &self,
        principal: &Principal,
        permission: Permission,
        what: &str,
        compute: impl Future<Output = Result<T>>,
    ) -> Result<T>
    where
        T: Clone + Send + Sync + 'static,
    {
        principal.authorize(permission)?;
        let Some(recent) = &self.recent else { return compute.await };
        let org = principal.org.id.as_str();
        let head = self.store.chain_head(&principal.org.id).await?;
        let key = format!("{}:{}|{}", head.seq, head.hash, self.now().date_naive());
        if let Some(value) = recent.values.get(org, what, &key).and_then(|kept| kept.downcast::<T>().ok()) {
            return Ok(T::clone(&value));
        }
        let value = compute.await?;
        recent.values.put(org, what, &key, Arc::new(value.clone()));
        Ok(value)
    }

    /// The model `name` of the principal's organisation as JSON: stored, when its
    /// key still holds and `reuse` allows it; else computed by `compute`, rendered and stored.
    /// A stored model is served only to a principal with `permission`, the one `compute` checks.
    pub(crate) async fn derived<T: Serialize>(
        &self,
        principal: &Principal,
        permission: Permission,
        (name, reuse): (&str, Reuse),
        compute: impl Future<Output = Result<T>>,
    ) -> Result<String> {
        principal.authorize(permission)?;
        let org = &principal.org.id;
        let key = match build() {
            Some(build) => {
                let head = self.store.chain_head(org).await?;
                Some(format!("{}:{}|{}|{build}", head.seq, head.hash, self.now().date_naive()))
            }
            None => None,
        };
        if let (Some(key), Reuse::Stored) = (&key, reuse) {
            if let Some(body) = self.recent.as_ref().and_then(|recent| recent.models.get(org.as_str(), name, key)) {
                tracing::debug!(name, "served the model kept in memory");
                return Ok(body.to_string());
            }
            if let Some(row) = self.store.derived(org, name, key).await? {
                match decompressed(&row) {
                    Some(body) => {
                        tracing::debug!(name, "served the stored model");
                        if let Some(recent) = &self.recent {
                            recent.models.put(org.as_str(), name, key, Arc::from(body.as_str()));
                        }
                        return Ok(body);
                    }
                    None => tracing::warn!(name, "a stored model does not decompress: computing it afresh"),
                }
            }
        }
        let body =
            serde_json::to_string(&compute.await?).map_err(|e| AppError::new(Code::Unexpected, e.to_string()))?;
        if let Some(key) = key {
            if let Some(recent) = &self.recent {
                recent.models.put(org.as_str(), name, &key, Arc::from(body.as_str()));
            }
            let row = lz4_flex::compress_prepend_size(body.as_bytes());
            match tokio::time::timeout(STORE_WAIT, self.store.put_derived(org, name, &key, &row)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::debug!(name, error = %e, "the model was not stored"),
                Err(_) => tracing::debug!(name, "the model was not stored: the database stayed busy"),
            }
        }
        Ok(body)
    }
}
