//! JSON read as text: the checks compare what was sent and what was stored token by token.

/// The number tokens of JSON `text`, in order, exactly as written (`1.50` stays `1.50`).
/// `text` must be valid JSON: outside strings, digits and `-` only occur in numbers.
pub fn number_tokens(text: &[u8]) -> Vec<&[u8]> {
    let mut tokens = Vec::new();
    let (mut in_string, mut escaped) = (false, false);
    let mut at = 0;
    while at < text.len() {
        let byte = text[at];
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
        } else if byte == b'-' || byte.is_ascii_digit() {
            let start = at;
            while at < text.len() && matches!(text[at], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') {
                at += 1;
            }
            tokens.push(&text[start..at]);
            continue;
        }
        at += 1;
    }
    tokens
}
