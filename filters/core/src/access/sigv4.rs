//! AWS Signature Version 4 for requests the gateway sends to AWS (Bedrock): the canonical
//! request, the string to sign, the signing key and the `Authorization` header, per AWS's
//! specification (IAM user guide, "Signing AWS API requests"). Hashing and HMAC come from the
//! `sha2` and `hmac` crates; nothing here is hand-rolled crypto.
//!
//! The signature covers what leaves Envoy: the method, the path and query exactly as sent, the
//! headers named in [`Request::headers`] and the body. Anything that changes one of them after
//! signing breaks it, which is why the caller signs in the per-attempt upstream placement, after
//! every filter that may rewrite the body.

use crate::common::secret::{hex, Secret};
use hmac::{Hmac, KeyInit, Mac};
use percent_encoding::{percent_decode_str, percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// Long-term (`AKIA…`) or temporary (`ASIA…` with a session token) credentials.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: Secret,
    pub session_token: Option<Secret>,
}

/// What is signed. `path` and `query` are exactly as sent (percent-encoded on the wire);
/// `headers` are the ones to sign, any case, `host` among them.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
}

/// Where the signature is valid: region and service (`bedrock` for Bedrock's runtime API).
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub region: &'a str,
    pub service: &'a str,
}

/// The headers to add to the request: `x-amz-date`, `x-amz-security-token` (temporary
/// credentials) and `authorization`. (`x-amz-content-sha256` is S3's; the payload's hash is in
/// the canonical request either way.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    pub headers: Vec<(&'static str, String)>,
    /// The canonical request and the string to sign, for tests and debugging (no secret in
    /// either).
    pub canonical_request: String,
    pub string_to_sign: String,
}

/// `YYYYMMDDTHHMMSSZ` (UTC) for `unix_seconds`: the civil date from the day count
/// (H. Hinnant's `civil_from_days`), the time from the remainder.
pub fn amz_date(unix_seconds: u64) -> String {
    let days = unix_seconds / 86_400;
    let secs = unix_seconds % 86_400;
    // Shifted to the era starting 0000-03-01, so leap days fall at the end of a year.
    let z = days.saturating_add(719_468);
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe =
        doe.saturating_sub(doe / 1_460).saturating_add(doe / 36_524).saturating_sub(doe / 146_096) / 365;
    let doy = doe.saturating_sub(yoe.saturating_mul(365).saturating_add(yoe / 4).saturating_sub(yoe / 100));
    let mp = doy.saturating_mul(5).saturating_add(2) / 153;
    let day = doy.saturating_sub(mp.saturating_mul(153).saturating_add(2) / 5).saturating_add(1);
    let month = if mp < 10 { mp.saturating_add(3) } else { mp.saturating_sub(9) };
    let year = yoe.saturating_add(era.saturating_mul(400)).saturating_add(u64::from(month <= 2));
    format!("{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z", secs / 3_600, secs % 3_600 / 60, secs % 60)
}

/// Hex SHA-256 of `bytes` (the payload hash of the canonical request).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Signs `request` at `amz_date` (`YYYYMMDDTHHMMSSZ`, UTC). The `x-amz-*` headers this adds are
/// signed too, so `request.headers` should not carry them.
pub fn sign(request: &Request<'_>, credentials: &Credentials, scope: Scope<'_>, amz_date: &str) -> Signed {
    let payload_hash = sha256_hex(request.body);
    let mut added: Vec<(&'static str, String)> = vec![("x-amz-date", amz_date.to_string())];
    if let Some(token) = &credentials.session_token {
        added.push(("x-amz-security-token", token.expose().to_string()));
    }
    let mut headers: Vec<(String, String)> = request
        .headers
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), canonical_header_value(v)))
        .chain(added.iter().map(|(n, v)| ((*n).to_string(), v.clone())))
        .collect();
    headers.sort_by(|a, b| a.0.cmp(&b.0));
    // Repeated names: one line, values joined by commas in the order sent.
    let mut merged: Vec<(String, String)> = Vec::with_capacity(headers.len());
    for (name, value) in headers {
        match merged.last_mut() {
            Some((last, values)) if *last == name => {
                values.push(',');
                values.push_str(&value);
            }
            _ => merged.push((name, value)),
        }
    }
    let signed_headers = merged.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(";");
    let mut canonical_request = String::with_capacity(256);
    canonical_request.push_str(request.method);
    canonical_request.push('\n');
    canonical_request.push_str(&canonical_uri(request.path));
    canonical_request.push('\n');
    canonical_request.push_str(&canonical_query(request.query));
    canonical_request.push('\n');
    for (name, value) in &merged {
        canonical_request.push_str(name);
        canonical_request.push(':');
        canonical_request.push_str(value);
        canonical_request.push('\n');
    }
    canonical_request.push('\n');
    canonical_request.push_str(&signed_headers);
    canonical_request.push('\n');
    canonical_request.push_str(&payload_hash);

    let date = amz_date.get(..8).unwrap_or(amz_date);
    let credential_scope = format!("{date}/{}/{}/aws4_request", scope.region, scope.service);
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{credential_scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    );
    let secret = format!("AWS4{}", credentials.secret_access_key.expose());
    let key = [date, scope.region, scope.service, "aws4_request"]
        .iter()
        .fold(secret.into_bytes(), |key, part| hmac(&key, part.as_bytes()));
    let signature = hex(&hmac(&key, string_to_sign.as_bytes()));
    added.push((
        "authorization",
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{credential_scope}, SignedHeaders={signed_headers}, Signature={signature}",
            credentials.access_key_id
        ),
    ));
    Signed { headers: added, canonical_request, string_to_sign }
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length: `new_from_slice` cannot fail for it.
    match HmacSha256::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// Header values: outer spaces trimmed, inner runs of spaces as one.
fn canonical_header_value(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Everything but RFC 3986's unreserved characters is encoded (`%XX`, upper case).
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
/// The same, `/` kept: path segments.
const UNRESERVED_AND_SLASH: &AsciiSet = &UNRESERVED.remove(b'/');

/// The path as sent, encoded once more (every service but S3 signs the path encoded twice: a
/// `:` sent as `%3A` is signed as `%253A`). An empty path is `/`.
fn canonical_uri(path: &str) -> String {
    if path.is_empty() {
        return "/".into();
    }
    percent_encode(path.as_bytes(), UNRESERVED_AND_SLASH).to_string()
}

/// Query parameters decoded, encoded strictly, sorted by name then value, `&`-joined.
fn canonical_query(query: &str) -> String {
    let strict =
        |text: &str| percent_encode(&percent_decode_str(text).collect::<Vec<u8>>(), UNRESERVED).to_string();
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (strict(k), strict(v))
        })
        .collect();
    pairs.sort();
    pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

#[cfg(test)]
mod tests;
