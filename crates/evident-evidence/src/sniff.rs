//! The media type of evidence, read from its bytes: a file's name and the uploader's claimed
//! type are never trusted (a `.pdf` that is an executable is an executable).

/// How many leading bytes `ingest` keeps for sniffing.
pub const SNIFF_LEN: usize = 8 * 1024;

/// The media type of a whole content (`application/pdf`, `image/png`, the Office Open XML types,
/// `application/zip`, `application/json`, `text/plain`, … else `application/octet-stream`).
pub fn sniff(content: &[u8]) -> &'static str {
    sniff_bytes(content, true)
}

/// The media type of a content of which `head` is only the beginning (the first
/// [`SNIFF_LEN`] bytes of a longer stream): a JSON document counts as JSON when its beginning is
/// valid JSON so far, text as text when its beginning is valid UTF-8 (a character cut at the end
/// is allowed).
pub fn sniff_prefix(head: &[u8]) -> &'static str {
    sniff_bytes(head, false)
}

fn sniff_bytes(head: &[u8], whole: bool) -> &'static str {
    // Binary formats by their magic numbers first: an OOXML file is a zip, but infer looks at
    // its first entries and says xlsx/docx/pptx. It also knows a few text formats (HTML, XML).
    if let Some(kind) = infer::get(head) {
        return kind.mime_type();
    }
    let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    if is_json(text, whole) {
        "application/json"
    } else if is_text(text, whole) {
        "text/plain"
    } else {
        "application/octet-stream"
    }
}

/// A JSON object or array (scalars at the top level are too ambiguous to call JSON).
fn is_json(text: &[u8], whole: bool) -> bool {
    let starts_as_container = text.iter().find(|b| !b.is_ascii_whitespace()).is_some_and(|b| matches!(b, b'{' | b'['));
    if !starts_as_container {
        return false;
    }
    match serde_json::from_slice::<serde_json::Value>(text) {
        Ok(_) => true,
        // Valid up to where the prefix stops: the rest of the stream would have to complete it.
        Err(error) => !whole && error.is_eof(),
    }
}

/// UTF-8 without NUL or control characters other than tab, line feed, form feed and carriage
/// return.
fn is_text(text: &[u8], whole: bool) -> bool {
    let valid = match std::str::from_utf8(text) {
        Ok(valid) => valid,
        // A multi-byte character cut by the end of the prefix is not an error in the content.
        Err(error) if !whole && error.error_len().is_none() => {
            std::str::from_utf8(&text[..error.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return false,
    };
    !valid.is_empty() && valid.chars().all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r' | '\x0c'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_prefixes_count_only_when_the_content_continues() {
        assert_eq!(sniff(br#"{"a": [1, 2, 3]}"#), "application/json");
        assert_eq!(sniff(b"\xEF\xBB\xBF[1]"), "application/json");
        assert_eq!(sniff(br#"{"a": [1, 2"#), "text/plain", "a whole document must be complete JSON");
        assert_eq!(sniff_prefix(br#"{"a": [1, 2"#), "application/json");
        assert_eq!(sniff_prefix(b"{ this is not json"), "text/plain");
        assert_eq!(sniff(b"42"), "text/plain", "scalars are not called JSON");
    }

    #[test]
    fn text_is_utf8_without_control_characters() {
        assert_eq!(sniff("name,owner\nMFA,Ada\n".as_bytes()), "text/plain");
        assert_eq!(sniff("Zugriffsprüfung\r\n\tdone".as_bytes()), "text/plain");
        assert_eq!(sniff(b"abc\0def"), "application/octet-stream");
        assert_eq!(sniff(b"\xff\xfe\x00a"), "application/octet-stream");
        // "é" is two bytes; a prefix may end between them.
        let cut = &"café".as_bytes()[..4];
        assert_eq!(sniff_prefix(cut), "text/plain");
        assert_eq!(sniff(cut), "application/octet-stream");
    }
}
