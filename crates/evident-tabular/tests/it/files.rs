use std::path::Path;

use evident_tabular::{Limits, read};

fn code_of(path: &Path) -> &'static str {
    read(path, &Limits::default()).expect_err("refused").code()
}

#[test]
fn a_named_pipe_is_refused_without_waiting_for_a_writer() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fifo = dir.path().join("pipe.csv");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().expect("run mkfifo");
    assert!(made.success());
    assert_eq!(code_of(&fifo), "not_a_regular_file");
}

#[test]
fn a_directory_and_a_device_are_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let folder = dir.path().join("folder.xlsx");
    std::fs::create_dir(&folder).expect("mkdir");
    assert_eq!(code_of(&folder), "not_a_regular_file");
    let zero = dir.path().join("zero.csv");
    std::os::unix::fs::symlink("/dev/zero", &zero).expect("symlink");
    let error = read(&zero, &Limits::default()).expect_err("refused");
    assert_eq!(error.code(), "not_a_regular_file");
    assert!(error.to_string().contains("zero.csv") && error.to_string().contains("a device"), "{error}");
}

#[test]
fn a_file_over_the_size_limit_is_refused_before_reading() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("big.csv");
    std::fs::write(&path, vec![b'a'; 2_000]).expect("write");
    let limits = Limits { max_file_bytes: 1_000, ..Limits::default() };
    assert_eq!(read(&path, &limits).expect_err("refused").code(), "file_too_large");
}

#[test]
fn only_csv_and_xlsx_are_read_and_the_message_says_so() {
    let error = read(Path::new("controls.xls"), &Limits::default()).expect_err("refused");
    assert_eq!(error.code(), "unsupported_file_type");
    assert_eq!(error.to_string(), "controls.xls: unsupported file type; use one of: .csv, .xlsx");
}

#[test]
fn a_missing_file_is_unreadable_and_named() {
    let error = read(Path::new("/nonexistent/controls.csv"), &Limits::default()).expect_err("refused");
    assert_eq!(error.code(), "unreadable_file");
    assert!(error.to_string().starts_with("/nonexistent/controls.csv: "));
}
