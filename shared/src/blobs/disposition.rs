//! The `Content-Disposition` S3 answers a presigned download with.

/// RFC 8187's `attr-char`: what may stand unencoded in `filename*`.
pub(super) const NOT_ATTR_CHAR: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// `attachment; filename="<name>"` with the last path segment, quotes and controls
/// stripped so the header cannot be split or spoofed. A name beyond ASCII goes out as
/// RFC 6266 says: an ASCII stand-in in `filename` (each other character a `_`) for old
/// clients, and the exact name, UTF-8 and percent-encoded, in `filename*`.
pub fn content_disposition(file_name: &str) -> String {
    let base = file_name.rsplit('/').next().unwrap_or(file_name);
    let safe: String = base.chars().filter(|c| !c.is_control() && *c != '"' && *c != '\\').collect();
    if safe.is_ascii() {
        return format!("attachment; filename=\"{safe}\"");
    }
    let fallback: String = safe.chars().map(|c| if c.is_ascii() { c } else { '_' }).collect();
    let exact = percent_encoding::utf8_percent_encode(&safe, NOT_ATTR_CHAR);
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{exact}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disposition_keeps_the_base_name_and_strips_header_tricks() {
        assert_eq!(content_disposition("linux/amd64/tool.tar.gz"), "attachment; filename=\"tool.tar.gz\"");
        assert_eq!(content_disposition("a\"b\r\nX: y"), "attachment; filename=\"abX: y\"");
        assert_eq!(
            content_disposition("docs/r\u{e9}sum\u{e9} 1.pdf"),
            "attachment; filename=\"r_sum_ 1.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9%201.pdf"
        );
    }
}
