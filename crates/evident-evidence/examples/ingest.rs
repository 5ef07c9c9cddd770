//! Measures ingest: throughput and peak memory (VmHWM from /proc/self/status).
//!
//! ```sh
//! # a generated input of 5 GiB (no file on disk to read), into a temporary local store
//! cargo run -p evident-evidence --example ingest -- generate 5G
//! # every file under some directories, 4 at a time, into a given store
//! cargo run -p evident-evidence --example ingest -- files --jobs 4 --store /tmp/ev ~/Documents
//! # the same against S3 (credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)
//! cargo run -p evident-evidence --example ingest -- generate 1G --store 's3://evidence?endpoint=http://127.0.0.1:9000'
//! ```
//!
//! Compare with `time sha256sum FILES…` over the same files (after dropping or warming the page
//! cache the same way for both).

#![allow(clippy::unwrap_used, clippy::print_stdout)] // a benchmark binary: it prints its figures

#[path = "../tests/it/generated.rs"]
#[allow(dead_code)] // the tests use more of it
mod generated;

use std::path::PathBuf;
use std::time::Instant;

use evident_evidence::{BlobConfig, BlobStore};
use futures::StreamExt;

#[tokio::main]
async fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let store_spec = take_option(&mut args, "--store");
    let jobs: usize = take_option(&mut args, "--jobs").map_or(1, |jobs| jobs.parse().unwrap());
    let _temp;
    let config = match store_spec {
        Some(spec) => BlobConfig::parse(&spec).unwrap(),
        None => {
            _temp = tempfile::tempdir().unwrap();
            BlobConfig::local(_temp.path().join("evidence"))
        }
    };
    let store = BlobStore::open(&config).unwrap();
    println!("store: {}", store.name());

    let start = Instant::now();
    let (count, bytes) = match args.first().map(String::as_str) {
        Some("generate") => {
            let size = parse_size(args.get(1).map_or("1G", String::as_str));
            let stored = store.ingest(generated::Generated::new(42, size), None).await.unwrap();
            println!("stored {} ({} bytes, {})", stored.digest, stored.size, stored.media_type);
            (1, stored.size)
        }
        Some("files") => {
            let mut files = Vec::new();
            for root in &args[1..] {
                walk(PathBuf::from(root), &mut files);
            }
            let results: Vec<u64> = futures::stream::iter(files)
                .map(|path| {
                    let store = store.clone();
                    async move {
                        let file = tokio::fs::File::open(&path).await.unwrap();
                        match store.ingest(file, None).await {
                            Ok(stored) => stored.size,
                            Err(error) if error.code() == "blob_empty" => 0,
                            Err(error) => panic!("{}: {error}", path.display()),
                        }
                    }
                })
                .buffer_unordered(jobs)
                .collect()
                .await;
            (results.len(), results.iter().sum())
        }
        _ => {
            eprintln!("usage: ingest [--store SPEC] [--jobs N] (generate SIZE | files PATH...)");
            std::process::exit(2);
        }
    };
    let elapsed = start.elapsed().as_secs_f64();
    let mib = bytes as f64 / (1024.0 * 1024.0);
    println!("ingested {count} inputs, {mib:.0} MiB in {elapsed:.2} s: {:.0} MiB/s (fsync included)", mib / elapsed);
    println!("peak memory (VmHWM): {}", peak_rss());
}

fn take_option(args: &mut Vec<String>, name: &str) -> Option<String> {
    let at = args.iter().position(|arg| arg == name)?;
    let value = args.remove(at + 1);
    args.remove(at);
    Some(value)
}

fn parse_size(text: &str) -> u64 {
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let unit = match unit {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        other => panic!("unknown size unit {other:?} (K, M or G)"),
    };
    number.parse::<u64>().unwrap() * unit
}

fn walk(path: PathBuf, files: &mut Vec<PathBuf>) {
    if path.is_dir() {
        for entry in std::fs::read_dir(&path).unwrap() {
            walk(entry.unwrap().path(), files);
        }
    } else if path.is_file() {
        files.push(path);
    }
}

fn peak_rss() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status.lines().find(|line| line.starts_with("VmHWM")).map_or("unknown".into(), |line| line[6..].trim().to_owned())
}
