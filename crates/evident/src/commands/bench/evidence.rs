//! `evident bench evidence`: the figures the evidence issue asks for, in one run.
//!
//! 1. Bulk ingest of ~2 GiB of generated mixed-size files into a fresh local evidence store, as a
//!    ratio to `sha256sum` over the same files: both read them from a warm page cache, the store
//!    also writes them and `fsync`s (it acknowledges nothing that is not durable).
//! 2. Peak memory of one 5 GiB ingest, in a child process of this binary (`--one-big-file`), so
//!    that nothing this process did before counts.
//! 3. The Type 2 analysis of 500 daily controls over a year.
//! 4. Readiness with freshness on the `bench store` organisation with 1 M evidence records: in
//!    process, step by step, and as whole processes of the real binary, both computed from the
//!    records and served from the store (what every read after no change gets).

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::{Command, ExitCode, Stdio};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use chrono::{Days, NaiveDate};
use evident_app::derived::Reuse;
use evident_app::{App, Library, Principal};
use evident_core::evidence::{EvidenceLink, EvidenceSource, FileName, NewEvidence};
use evident_core::freshness::State;
use evident_core::sampling::SamplingTable;
use evident_core::synthetic::Type2Synthetic;
use evident_core::{Control, EvidenceId, OrgSlug, Sha256Digest};
use evident_evidence::{BlobConfig, BlobStore};
use evident_store::{Change, EvidenceChange};
use rand::seq::SliceRandom;
use rand::{RngCore, SeedableRng};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, ReadBuf};

use super::{median, process_flags, seed_organisation, time_process};
use crate::cli::Global;
use crate::context;
use crate::output::{self, say};

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

/// The size of the `bench store` organisation the readiness figure runs on.
const CONTROLS: usize = 2_000;
const MAPPINGS: usize = 20_000;
/// Evidence records per `apply` while seeding (each is audit-logged in the same transaction).
const BATCH: usize = 10_000;
/// The organisation a `--keep` run seeds, and a later one finds again.
const KEPT_ORG: &str = "bench-evidence";

#[derive(Debug)]
pub struct Options {
    pub size: u64,
    pub jobs: usize,
    pub records: usize,
    pub runs: usize,
    pub keep: bool,
    pub skip_ingest: bool,
}

pub async fn run(global: &Global, options: Options) -> anyhow::Result<ExitCode> {
    let mut summary = Vec::new();
    if !options.skip_ingest {
        summary.push(bulk_ingest(options.size, options.jobs).await?);
        summary.push(one_big_input(options.size.saturating_mul(5) / 2)?);
    }
    summary.push(type2(options.runs)?);
    summary.extend(readiness(global, &options).await?);
    say!("");
    say!("summary:");
    for line in summary {
        say!("  {line}");
    }
    Ok(ExitCode::SUCCESS)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / MIB as f64
}

fn verdict(meets: bool) -> &'static str {
    if meets { "meets" } else { "MISSES" }
}

/// `VmHWM` (peak resident memory) or `VmRSS` of this process, in KiB, from `/proc/self/status`.
fn memory_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line[field.len() + 1..].trim().trim_end_matches("kB").trim().parse().ok()
}

/// CPU seconds (user and system) of this process, and of its children that have ended, from
/// `/proc/self/stat` (in clock ticks of 1/100 s, as on every Linux architecture evident runs on).
/// On a machine shared with other work, a process with more threads gets more of the CPU; CPU
/// time compares the work itself.
fn cpu_seconds() -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name, from the third (state): utime is the 14th.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |field: usize| fields.get(field - 3)?.parse::<f64>().ok().map(|t| t / 100.0);
    Some((ticks(14)? + ticks(15)?, ticks(16)? + ticks(17)?))
}

/// The CPU seconds spent since `before` (a reading of [`cpu_seconds`]) by this process, or by
/// its children that have ended since.
fn cpu_spent(before: Option<(f64, f64)>, children: bool) -> Option<f64> {
    let ((own, kids), (own_now, kids_now)) = (before?, cpu_seconds()?);
    Some(if children { kids_now - kids } else { own_now - own })
}

fn cpu_text(seconds: Option<f64>) -> String {
    seconds.map_or_else(|| "CPU time unknown".to_owned(), |s| format!("{s:.2} s CPU"))
}

fn load_average() -> String {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    format!("load average {} on {} CPUs", load.join(" "), std::thread::available_parallelism().map_or(1, |n| n.get()))
}

fn memory_text(kib: Option<u64>) -> String {
    kib.map_or_else(|| "unknown (no /proc/self/status)".to_owned(), |kib| format!("{:.1} MiB", kib as f64 / 1024.0))
}

// ---- generated bytes ----

/// The size of a [`Pattern`] block.
const BLOCK: usize = 64 * 1024;

/// Pseudo-random bytes from a seed, a block at a time. Each block starts with its number, so no
/// two blocks of one input are equal; inputs of different seeds differ everywhere.
struct Pattern {
    block: Vec<u8>,
    number: u64,
}

impl Pattern {
    fn new(seed: u64) -> Self {
        let mut block = vec![0; BLOCK];
        rand_chacha::ChaCha8Rng::seed_from_u64(seed).fill_bytes(&mut block);
        Self { block, number: 0 }
    }

    fn next_block(&mut self) -> &[u8] {
        self.block[..8].copy_from_slice(&self.number.to_le_bytes());
        self.number += 1;
        &self.block
    }
}

/// `remaining` generated bytes as an input to ingest: no file, nothing held but one block.
struct Generated {
    pattern: Pattern,
    remaining: u64,
    position: usize,
}

impl Generated {
    fn new(seed: u64, len: u64) -> Self {
        Self { pattern: Pattern::new(seed), remaining: len, position: BLOCK }
    }
}

impl AsyncRead for Generated {
    fn poll_read(mut self: Pin<&mut Self>, _: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        while buf.remaining() > 0 && this.remaining > 0 {
            if this.position == BLOCK {
                this.pattern.next_block();
                this.position = 0;
            }
            let n =
                (BLOCK - this.position).min(buf.remaining()).min(usize::try_from(this.remaining).unwrap_or(usize::MAX));
            buf.put_slice(&this.pattern.block[this.position..this.position + n]);
            this.position += n;
            this.remaining -= n as u64;
        }
        Poll::Ready(Ok(()))
    }
}

// ---- 1. bulk ingest against sha256sum ----

/// The files of the mix for `size`: at 2 GiB, 2 × 500 MiB, 50 × 10 MiB, 500 × 1 MiB and
/// 2,000 × 50 KiB (2,098 MiB). Smaller sizes shrink the two large files and the counts of the
/// others, keeping their sizes.
fn mix(size: u64) -> Vec<(usize, u64)> {
    let f = size as f64 / (2 * GIB) as f64;
    let count = |n: f64| ((n * f).round() as usize).max(1);
    vec![
        (2, ((500 * MIB) as f64 * f).max(1.0) as u64),
        (count(50.0), 10 * MIB),
        (count(500.0), MIB),
        (count(2000.0), 50 * KIB),
    ]
}

fn size_text(bytes: u64) -> String {
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= MIB {
        format!("{:.1} MiB", mib(bytes))
    } else {
        format!("{} KiB", bytes / KIB)
    }
}

/// Writes the mix into `dir` (each file synced, so no writeback of them competes with what is
/// timed later) and returns the file names in a shuffled, reproducible order.
fn write_files(dir: &Path, classes: &[(usize, u64)]) -> io::Result<Vec<String>> {
    std::fs::create_dir_all(dir)?;
    let mut names = Vec::new();
    let mut seed = 1u64;
    for (class, &(count, len)) in classes.iter().enumerate() {
        for i in 0..count {
            let name = format!("{class}-{i:05}.bin");
            let mut file = std::fs::File::create(dir.join(&name))?;
            let mut pattern = Pattern::new(seed);
            seed += 1;
            let mut left = len;
            while left > 0 {
                let block = pattern.next_block();
                let n = usize::try_from(left).unwrap_or(usize::MAX).min(block.len());
                file.write_all(&block[..n])?;
                left -= n as u64;
            }
            file.sync_all()?;
            names.push(name);
        }
    }
    names.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(42));
    Ok(names)
}

/// Reads every file once, so `sha256sum` and the ingest both find them in the page cache.
fn warm(dir: &Path, names: &[String]) -> io::Result<()> {
    let mut buf = vec![0; MIB as usize];
    for name in names {
        let mut file = std::fs::File::open(dir.join(name))?;
        while file.read(&mut buf)? > 0 {}
    }
    Ok(())
}

/// `sha256sum` over the files: its time and the digest of each, in the order given.
fn sha256sum(dir: &Path, names: &[String]) -> anyhow::Result<(Duration, Vec<String>)> {
    let start = Instant::now();
    let output = Command::new("sha256sum").arg("--").args(names).current_dir(dir).stderr(Stdio::inherit()).output();
    let elapsed = start.elapsed();
    let output = output.map_err(|e| {
        context::failure(
            format!("cannot run sha256sum: {e}"),
            "install GNU coreutils, or pass --skip-ingest to measure the rest",
        )
    })?;
    anyhow::ensure!(output.status.success(), "sha256sum failed ({})", output.status);
    let digests: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| line.split_whitespace().next().unwrap_or_default().to_owned())
        .collect();
    anyhow::ensure!(
        digests.len() == names.len(),
        "sha256sum printed {} digests for {} files",
        digests.len(),
        names.len()
    );
    Ok((elapsed, digests))
}

async fn bulk_ingest(size: u64, jobs: usize) -> anyhow::Result<String> {
    let jobs = jobs.max(1);
    let classes = mix(size);
    let total: u64 = classes.iter().map(|(count, len)| *count as u64 * len).sum();
    let count: usize = classes.iter().map(|(count, _)| count).sum();
    let temp = tempfile::tempdir()?;
    let dir = temp.path().join("files");
    let described: Vec<String> = classes.iter().map(|(n, len)| format!("{n} × {}", size_text(*len))).collect();
    say!("1. bulk ingest: {count} files, {:.0} MiB ({}) in {}", mib(total), described.join(", "), dir.display());

    let start = Instant::now();
    let names = {
        let (dir, classes) = (dir.clone(), classes.clone());
        tokio::task::spawn_blocking(move || {
            let names = write_files(&dir, &classes)?;
            warm(&dir, &names)?;
            Ok::<_, io::Error>(names)
        })
        .await??
    };
    say!("   generated, synced and read once (page cache warm) in {:.1} s", start.elapsed().as_secs_f64());

    say!("   before timing: {}", load_average());
    let cpu = cpu_seconds();
    let (hashed, expected) = {
        let (dir, names) = (dir.clone(), names.clone());
        tokio::task::spawn_blocking(move || sha256sum(&dir, &names)).await??
    };
    let sha_cpu = cpu_text(cpu_spent(cpu, true));
    let sha_rate = mib(total) / hashed.as_secs_f64();
    say!("   sha256sum: {:.2} s, {sha_rate:.0} MiB/s ({sha_cpu})", hashed.as_secs_f64());

    let store = BlobStore::open(&BlobConfig::local(temp.path().join("evidence")))?;
    let paths: Vec<PathBuf> = names.iter().map(|n| dir.join(n)).collect();
    let cpu = cpu_seconds();
    let start = Instant::now();
    let stored = evident_evidence::ingest_all(&store, &paths, jobs, None).await?;
    let ingested = start.elapsed();
    let ingest_cpu = cpu_text(cpu_spent(cpu, false));
    let ingest_rate = mib(total) / ingested.as_secs_f64();
    let matching = stored.iter().zip(&expected).filter(|(s, e)| s.digest.as_str() == e.as_str()).count();
    anyhow::ensure!(
        matching == names.len(),
        "{} of {} digests differ from sha256sum's",
        names.len() - matching,
        names.len()
    );
    say!(
        "   ingest ({jobs} at once, durable: file and directory fsynced): {:.2} s, {ingest_rate:.0} MiB/s ({ingest_cpu}); every digest matches sha256sum's",
        ingested.as_secs_f64()
    );
    let ratio = ingest_rate / sha_rate;
    say!("   ratio ingest / sha256sum throughput: {ratio:.2} (target ≥ 0.8: {})", verdict(ratio >= 0.8));
    let peak = memory_text(memory_kib("VmHWM"));
    say!("   peak memory of this process so far (VmHWM): {peak}");
    Ok(format!(
        "bulk ingest of {:.0} MiB in {count} files, {jobs} at once: {ratio:.2} × sha256sum ({ingest_rate:.0} vs {sha_rate:.0} MiB/s; {ingest_cpu} vs {sha_cpu}), target ≥ 0.8: {}; peak memory {peak}",
        mib(total),
        verdict(ratio >= 0.8)
    ))
}

// ---- 2. peak memory of one big input ----

/// What the child process of [`one_big_input`] reports.
#[derive(Debug, Serialize, Deserialize)]
struct BigInput {
    bytes: u64,
    seconds: f64,
    peak_before_kib: Option<u64>,
    peak_after_kib: Option<u64>,
}

/// Runs `--one-big-file` in a child process: a fresh process, so its peak is the ingest's.
fn one_big_input(size: u64) -> anyhow::Result<String> {
    say!("2. one generated input of {}, ingested in a child process (no file is read)", size_text(size));
    let output = Command::new(std::env::current_exe()?)
        .args(["bench", "evidence", "--one-big-file", &size.to_string()])
        .stderr(Stdio::inherit())
        .output()?;
    anyhow::ensure!(output.status.success(), "the child ingesting one big input failed ({})", output.status);
    let report: BigInput = serde_json::from_slice(&output.stdout)?;
    let peak = report.peak_after_kib.map(|kib| kib * KIB);
    let meets = peak.is_some_and(|bytes| bytes < 100_000_000);
    say!(
        "   {:.1} s ({:.0} MiB/s, fsync included); peak memory (VmHWM) {} before the ingest, {} after (target < 100 MB: {})",
        report.seconds,
        mib(report.bytes) / report.seconds,
        memory_text(report.peak_before_kib),
        memory_text(report.peak_after_kib),
        verdict(meets)
    );
    Ok(format!(
        "one {} input: peak memory {}, target < 100 MB: {}",
        size_text(size),
        memory_text(report.peak_after_kib),
        verdict(meets)
    ))
}

/// The child's side: ingests `size` generated bytes into a temporary store and prints
/// [`BigInput`] as JSON.
pub async fn one_big_file(size: u64) -> anyhow::Result<ExitCode> {
    let temp = tempfile::tempdir()?;
    let store = BlobStore::open(&BlobConfig::local(temp.path().join("evidence")))?;
    let peak_before_kib = memory_kib("VmHWM");
    let start = Instant::now();
    let stored = store.ingest(Generated::new(7, size), None).await?;
    let seconds = start.elapsed().as_secs_f64();
    let report = BigInput { bytes: stored.size, seconds, peak_before_kib, peak_after_kib: memory_kib("VmHWM") };
    output::json(&report)?;
    Ok(ExitCode::SUCCESS)
}

// ---- 3. Type 2 ----

fn type2(runs: usize) -> anyhow::Result<String> {
    let runs = runs.max(1);
    let from = NaiveDate::from_ymd_opt(2025, 1, 1).ok_or_else(|| anyhow::anyhow!("a valid date"))?;
    let synthetic = Type2Synthetic::generate(42, Type2Synthetic::BENCHMARK_CONTROLS, from)?;
    let table = SamplingTable::preset("frequency")?;
    let items: usize = synthetic.controls.iter().map(|c| c.evidence.len()).sum();
    say!(
        "3. Type 2 analysis: {} daily controls over {}..{}, {items} evidence items, sampling table `frequency`",
        synthetic.controls.len(),
        synthetic.window.from(),
        synthetic.window.to()
    );
    let mut samples = Vec::with_capacity(runs);
    let mut exceptions = 0;
    for _ in 0..runs {
        let start = Instant::now();
        let analysis = evident_core::type2::analyse(&synthetic.window, &table, 7, &synthetic.controls);
        samples.push(start.elapsed());
        exceptions = analysis.controls.iter().map(|c| c.exception_candidates().len()).sum::<usize>();
        std::hint::black_box(analysis);
    }
    let (mid, max) = (median(samples.clone()), samples.iter().max().copied().unwrap_or_default());
    say!(
        "   median {:.1} ms, max {:.1} ms over {runs} runs ({exceptions} exception candidates) (target < 100 ms: {})",
        ms(mid),
        ms(max),
        verdict(ms(mid) < 100.0)
    );
    Ok(format!(
        "Type 2, 500 controls × a year of daily occurrences: {:.1} ms, target < 100 ms: {}",
        ms(mid),
        verdict(ms(mid) < 100.0)
    ))
}

// ---- 4. readiness with freshness over many evidence records ----

fn evidence_id(n: usize) -> anyhow::Result<EvidenceId> {
    Ok(EvidenceId::parse(&format!("ev-{n:07}"))?)
}

/// Record `n` of the seed: the evidenced controls take turns (one control in ten has none, so
/// some are never evidenced), and each control's records go back a day at a time from its newest,
/// which is 0 to 119 days old: monthly controls are then fresh, due soon or overdue, quarterly
/// ones mostly fresh, annual ones fresh.
fn seed_record(n: usize, evidenced: &[&Control], today: NaiveDate) -> anyhow::Result<Change> {
    let which = n % evidenced.len();
    let age = (which * 37 % 120 + n / evidenced.len()) as u64;
    let effective = today - Days::new(age);
    let evidence = NewEvidence {
        file_name: FileName::parse(&format!("evidence-{n}.pdf"))?,
        media_type: "application/pdf".to_owned(),
        size: 10_000 + (n % 1000) as u64,
        digest: Sha256Digest::of(format!("evidence {n}").as_bytes()),
        effective,
        source: EvidenceSource::Import,
        description: String::new(),
        links: vec![EvidenceLink { control: evidenced[which].id.clone(), period: None }],
        supersedes: None,
    };
    Ok(EvidenceChange::Add { id: evidence_id(n)?, evidence }.into())
}

/// Adds evidence records `ev-0000000` … until there are `records`, in batches of [`BATCH`]; a
/// batch lands whole or not at all, so the first batch whose last record is missing is where an
/// earlier, interrupted run stopped.
async fn seed_evidence(app: &App, me: &Principal, records: usize) -> anyhow::Result<()> {
    let store = app.store();
    let org = &me.org.id;
    let mut controls = store.controls(org).await?;
    anyhow::ensure!(!controls.is_empty(), "{} has no controls: seed into an empty --data-dir", me.org.slug);
    controls.sort_by(|a, b| a.code.cmp(&b.code));
    let evidenced: Vec<&Control> = controls.iter().enumerate().filter(|(i, _)| i % 10 != 9).map(|(_, c)| c).collect();
    let batches = records.div_ceil(BATCH);
    let mut first = 0;
    while first < batches {
        let last = ((first + 1) * BATCH).min(records) - 1;
        if store.evidence_by_id(org, &evidence_id(last)?).await?.is_none() {
            break;
        }
        first += 1;
    }
    if first == batches {
        say!("   {records} evidence records are there already");
        return Ok(());
    }
    if first > 0 {
        say!("   the first {} evidence records are there already", first * BATCH);
    }
    let today = app.now().date_naive();
    let start = Instant::now();
    let mut added = 0;
    for batch in first..batches {
        let changes = (batch * BATCH..((batch + 1) * BATCH).min(records))
            .map(|n| seed_record(n, &evidenced, today))
            .collect::<anyhow::Result<Vec<_>>>()?;
        added += changes.len();
        store.apply(&me.actor(app.now()), changes).await?;
        if (batch + 1) % 10 == 0 && batch + 1 < batches {
            let rate = added as f64 / start.elapsed().as_secs_f64();
            let left = (records - (batch + 1) * BATCH) as f64 / rate;
            say!("   … {} of {records} records, {rate:.0} a second, about {left:.0} s to go", (batch + 1) * BATCH);
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    say!(
        "   seeded {added} evidence records in {seconds:.1} s ({:.0} a second, batches of {BATCH}, each record audit-logged)",
        added as f64 / seconds
    );
    Ok(())
}

/// Each step of the in-process path, timed on its own.
#[derive(Debug, Default)]
struct Steps {
    open: Vec<Duration>,
    library: Vec<Duration>,
    load: Vec<Duration>,
    readiness: Vec<Duration>,
    json: Vec<Duration>,
    computed: Vec<Duration>,
    stored: Vec<Duration>,
}

async fn time_steps(global: &Global, app: &App, me: &Principal, runs: usize) -> anyhow::Result<Steps> {
    let mut steps = Steps::default();
    for _ in 0..runs {
        let start = Instant::now();
        let opened = context::open(global).await?;
        steps.open.push(start.elapsed());
        drop(opened);

        let start = Instant::now();
        let library: Library = app.library_for(me).await?;
        steps.library.push(start.elapsed());
        let start = Instant::now();
        let data = app.org_data(me, &library).await?;
        steps.load.push(start.elapsed());
        let start = Instant::now();
        let result = data.readiness(&library, None)?;
        steps.readiness.push(start.elapsed());
        let start = Instant::now();
        let json = serde_json::to_vec(&result)?;
        steps.json.push(start.elapsed());
        std::hint::black_box(json);

        let start = Instant::now();
        std::hint::black_box(app.readiness_json(me, None, Reuse::Recompute).await?);
        steps.computed.push(start.elapsed());
        let start = Instant::now();
        std::hint::black_box(app.readiness_json(me, None, Reuse::Stored).await?);
        steps.stored.push(start.elapsed());
    }
    Ok(steps)
}

async fn readiness(global: &Global, options: &Options) -> anyhow::Result<Vec<String>> {
    let runs = options.runs.max(1);
    let temp = tempfile::tempdir()?;
    let global = match &global.database_url {
        Some(_) => global.clone(),
        None if options.keep => global.clone(),
        None => Global { data_dir: temp.path().join("data"), ..global.clone() },
    };
    let where_ = match &global.database_url {
        Some(url) => evident_store_postgres::redact(url),
        None => global.data_dir.join("evident.db").display().to_string(),
    };
    say!(
        "4. readiness with freshness: {CONTROLS} controls, {MAPPINGS} mappings, {} evidence records ({}, {where_})",
        options.records,
        super::backend_name(&global)
    );
    let app = context::app(&global).await?;
    let slug = if options.keep {
        OrgSlug::parse(KEPT_ORG)?
    } else {
        OrgSlug::parse(&format!("{KEPT_ORG}-{}", std::process::id()))?
    };
    let me = if app.organisations().await?.iter().any(|o| o.slug == slug) {
        say!("   found {slug} from an earlier --keep run");
        app.operator(Some(&slug), "bench", None).await?
    } else {
        seed_organisation(&app, &global, &slug, CONTROLS, MAPPINGS).await?
    };
    if options.records > 0 {
        seed_evidence(&app, &me, options.records).await?;
    }

    let data = app.org_data(&me, &app.library_for(&me).await?).await?;
    let counts = data.freshness.counts();
    let count = |state| counts.get(&state).copied().unwrap_or(0);
    let result = app.readiness(&me, None).await?;
    say!(
        "   freshness today: {} fresh, {} due soon, {} overdue, {} never evidenced; overall readiness {:.1}%",
        count(State::Fresh),
        count(State::DueSoon),
        count(State::Overdue),
        count(State::NeverEvidenced),
        result.overall.percent,
    );

    let steps = time_steps(&global, &app, &me, runs).await?;
    let m = |samples: &Vec<Duration>| ms(median(samples.clone()));
    say!(
        "   computed in process, medians over {runs} runs: library {:.1} ms, records with each control's newest evidence and freshness {:.1} ms, readiness {:.1} ms, JSON {:.1} ms; all of it with storing the result {:.1} ms",
        m(&steps.library),
        m(&steps.load),
        m(&steps.readiness),
        m(&steps.json),
        m(&steps.computed),
    );
    let stored = m(&steps.stored);
    say!(
        "   served from the store in process (nothing changed since): median {stored:.1} ms; opening the store and the principal: {:.1} ms more",
        m(&steps.open)
    );

    let base = process_flags(&global, &slug);
    let mut summary = Vec::new();
    for (args, label, target) in [
        (&["readiness", "--json", "--recompute"][..], "computed from the records", None),
        (&["readiness", "--json"][..], "served from the store", Some(20.0)),
        (&["--version"][..], "process start alone", None),
    ] {
        let (mid, min, max) = time_process(&base, args, runs)?;
        say!(
            "   `evident {}`, {label}: median {mid:.1} ms, min {min:.1} ms, max {max:.1} ms over {runs} runs",
            args.join(" ")
        );
        if args[0] == "readiness" {
            let verdict = target.map(|t| format!(", target < {t} ms: {}", verdict(mid < t))).unwrap_or_default();
            summary.push(format!(
                "readiness with freshness, {} records, whole process, {label}: {mid:.1} ms{verdict}",
                options.records
            ));
        }
    }
    Ok(summary)
}
