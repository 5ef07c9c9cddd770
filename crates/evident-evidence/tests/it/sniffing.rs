//! Media types come from the bytes, never from a file name.

use evident_evidence::{SNIFF_LEN, sniff, sniff_prefix};

use crate::local_store;

const PDF: &[u8] = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";

/// A 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49,
    0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0x64, 0x60, 0xf8, 0x5f, 0x0f, 0x00, 0x02, 0x87, 0x01, 0x80, 0xeb, 0x47, 0xba,
    0x92, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

fn xlsx() -> Vec<u8> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    for row in 0..200u32 {
        sheet.write_string(row, 0, format!("control {row}")).unwrap();
        sheet.write_number(row, 1, f64::from(row)).unwrap();
    }
    workbook.save_to_buffer().unwrap()
}

#[test]
fn binary_formats_are_recognised_by_their_content() {
    assert_eq!(sniff(PDF), "application/pdf");
    assert_eq!(sniff(PNG), "image/png");
    let workbook = xlsx();
    assert_eq!(sniff(&workbook), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    assert_eq!(
        sniff_prefix(&workbook[..SNIFF_LEN.min(workbook.len())]),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "the first 8 KiB are enough"
    );
    assert_eq!(sniff(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00"), "application/vnd.microsoft.portable-executable");
}

#[test]
fn json_text_and_unknown_bytes() {
    assert_eq!(sniff(br#"  {"users": [{"name": "ada", "mfa": true}]}"#), "application/json");
    assert_eq!(sniff(b"[]"), "application/json");
    assert_eq!(sniff(b"control,owner,status\nIAM-01,ada,implemented\n"), "text/plain");
    assert_eq!(sniff("Politique de sécurité\n".as_bytes()), "text/plain");
    assert_eq!(sniff(b"{ not json }"), "text/plain");
    assert_eq!(sniff(&[0u8, 159, 146, 150, 7, 8]), "application/octet-stream");
}

#[tokio::test]
async fn ingest_sniffs_the_bytes_it_stores() {
    let (_dir, store) = local_store();
    // A "report.pdf" that is really a PNG is stored as a PNG: only the bytes are looked at.
    assert_eq!(store.ingest_bytes(PNG).await.unwrap().media_type, "image/png");
    assert_eq!(store.ingest_bytes(PDF).await.unwrap().media_type, "application/pdf");
    assert_eq!(
        store.ingest_bytes(&xlsx()).await.unwrap().media_type,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );

    // Longer than the sniffed head: JSON and text are judged on their first 8 KiB.
    let users: Vec<String> = (0..2_000).map(|i| format!(r#"{{"user": "user{i}", "mfa": true}}"#)).collect();
    let json = format!("[{}]", users.join(","));
    assert!(json.len() > 4 * SNIFF_LEN);
    assert_eq!(store.ingest_bytes(json.as_bytes()).await.unwrap().media_type, "application/json");
    // A text whose 8 KiB head ends inside a two-byte character is still text.
    let text = format!("{}é and more", "a".repeat(SNIFF_LEN - 1)).repeat(3);
    assert_eq!(store.ingest_bytes(text.as_bytes()).await.unwrap().media_type, "text/plain");
}
