//! JSON text handled as text: what the validator stores and the transformer writes is the
//! client's own text, never re-encoded, so numbers keep their digits.

/// Copies JSON `text` without the whitespace between tokens. `text` must be valid JSON: then
/// every `"` outside a string opens one, and inside a string only `\"` does not close it.
pub(crate) fn compact_into(out: &mut Vec<u8>, text: &[u8]) {
    let mut in_string = false;
    let mut escaped = false;
    for &byte in text {
        if in_string {
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
        } else if byte == b'"' {
            in_string = true;
        } else if matches!(byte, b' ' | b'\t' | b'\n' | b'\r') {
            continue;
        }
        out.push(byte);
    }
}
