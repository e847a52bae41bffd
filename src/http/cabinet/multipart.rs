//! `multipart/form-data` (RFC 7578), the one encoding a browser uploads a file in without
//! JavaScript: [`parse`] splits a whole, already bounded body into its parts (name, file name,
//! bytes). Only what a form sends is read: the boundary from the `Content-Type`, each part's
//! `Content-Disposition` (`form-data; name="…"; filename="…"`), other part headers skipped.
//! Malformed bodies are refused with a reason, never a panic; at most [`MAX_PARTS`] parts.

/// More parts than any of the cabinet's forms has.
pub const MAX_PARTS: usize = 16;

/// One field of a form.
#[derive(Debug, PartialEq, Eq)]
pub struct Part<'a> {
    pub name: String,
    /// For a file: the name the browser gave it.
    pub filename: Option<String>,
    pub data: &'a [u8],
}

/// Why a body is not a form.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum MultipartError {
    #[error("the request is not multipart/form-data with a boundary")]
    NotMultipart,
    #[error("the body does not follow its boundary")]
    Malformed,
    #[error("the body has more than {MAX_PARTS} parts")]
    TooManyParts,
}

/// The boundary of a `multipart/form-data` `Content-Type`.
fn boundary(content_type: &str) -> Option<&str> {
    let mut params = content_type.split(';');
    let kind = params.next()?.trim();
    if !kind.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.find_map(|p| {
        let (k, v) = p.split_once('=')?;
        if !k.trim().eq_ignore_ascii_case("boundary") {
            return None;
        }
        let v = v.trim().trim_matches('"');
        (!v.is_empty() && v.len() <= 70).then_some(v)
    })
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

/// A parameter of a `Content-Disposition` value, e.g. `name` of `form-data; name="csrf"`.
fn parameter(value: &str, key: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(key)
            .then(|| v.trim().trim_matches('"').to_owned())
    })
}

/// The parts of `body`, sent with `content_type`.
pub fn parse<'a>(content_type: &str, body: &'a [u8]) -> Result<Vec<Part<'a>>, MultipartError> {
    let boundary = boundary(content_type).ok_or(MultipartError::NotMultipart)?;
    let delimiter = format!("--{boundary}").into_bytes();
    let between = format!("\r\n--{boundary}").into_bytes();
    let first = find(body, &delimiter, 0).ok_or(MultipartError::Malformed)?;
    let mut at = first + delimiter.len();
    let mut parts = Vec::new();
    loop {
        match body.get(at..at + 2) {
            Some(b"--") => return Ok(parts),
            Some(b"\r\n") => at += 2,
            _ => return Err(MultipartError::Malformed),
        }
        if parts.len() == MAX_PARTS {
            return Err(MultipartError::TooManyParts);
        }
        let headers_end = find(body, b"\r\n\r\n", at).ok_or(MultipartError::Malformed)?;
        let headers =
            std::str::from_utf8(&body[at..headers_end]).map_err(|_| MultipartError::Malformed)?;
        let disposition = headers
            .split("\r\n")
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.trim()
                    .eq_ignore_ascii_case("content-disposition")
                    .then_some(value.trim())
            })
            .ok_or(MultipartError::Malformed)?;
        let name = parameter(disposition, "name").ok_or(MultipartError::Malformed)?;
        let filename = parameter(disposition, "filename");
        let start = headers_end + 4;
        let end = find(body, &between, start).ok_or(MultipartError::Malformed)?;
        parts.push(Part {
            name,
            filename,
            data: &body[start..end],
        });
        at = end + between.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TYPE: &str = "multipart/form-data; boundary=----WebKitFormBoundaryX";

    fn body() -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(b"------WebKitFormBoundaryX\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\ntok\r\n");
        b.extend_from_slice(b"------WebKitFormBoundaryX\r\nContent-Disposition: form-data; name=\"greeting\"; filename=\"hi.wav\"\r\nContent-Type: audio/wav\r\n\r\nRIFF\r\n--\x00\xff\r\n");
        b.extend_from_slice(b"------WebKitFormBoundaryX--\r\n");
        b
    }

    #[test]
    fn a_browsers_form_is_split_into_its_fields() {
        let b = body();
        let parts = parse(TYPE, &b).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "csrf");
        assert_eq!(parts[0].data, b"tok");
        assert_eq!(parts[0].filename, None);
        assert_eq!(parts[1].name, "greeting");
        assert_eq!(parts[1].filename.as_deref(), Some("hi.wav"));
        assert_eq!(parts[1].data, b"RIFF\r\n--\x00\xff");
    }

    #[test]
    fn bad_bodies_are_refused_never_a_panic() {
        assert_eq!(
            parse("application/x-www-form-urlencoded", b"a=b"),
            Err(MultipartError::NotMultipart)
        );
        assert_eq!(
            parse("multipart/form-data", b""),
            Err(MultipartError::NotMultipart)
        );
        assert_eq!(
            parse(TYPE, b"no boundary here"),
            Err(MultipartError::Malformed)
        );
        let b = body();
        for end in 0..b.len() - 2 {
            assert!(parse(TYPE, &b[..end]).is_err(), "{end}");
        }
        let mut many = Vec::new();
        for _ in 0..=MAX_PARTS {
            many.extend_from_slice(
                b"------WebKitFormBoundaryX\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n",
            );
        }
        many.extend_from_slice(b"------WebKitFormBoundaryX--");
        assert_eq!(parse(TYPE, &many), Err(MultipartError::TooManyParts));
    }
}
