//! Reads one table with the default limits and says what came of it, for measuring hostile files:
//! `cargo run --release -p evident-tabular --example read -- FILE`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: read FILE");
        return ExitCode::from(2);
    };
    let started = std::time::Instant::now();
    match evident_tabular::read(std::path::Path::new(&path), &evident_tabular::Limits::default()) {
        Ok(sheet) => {
            let cells: usize = sheet.rows.iter().map(|r| r.cells.len()).sum();
            println!(
                "read: {} columns, {} rows, {cells} cells in {:?}",
                sheet.header.len(),
                sheet.rows.len(),
                started.elapsed()
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            println!("refused [{}] in {:?}: {}", error.code(), started.elapsed(), truncate(&error.to_string()));
            ExitCode::FAILURE
        }
    }
}

fn truncate(message: &str) -> String {
    if message.chars().count() > 300 {
        format!("{}…", message.chars().take(300).collect::<String>())
    } else {
        message.into()
    }
}
