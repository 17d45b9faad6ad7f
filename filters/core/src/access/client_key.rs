//! Where client SDKs put their credential, and reading it from there.

/// Every header a client SDK may carry its credential in. All are removed before a request
/// leaves the gateway.
pub const CLIENT_CREDENTIAL_HEADERS: [&str; 4] = ["authorization", "x-api-key", "api-key", "x-goog-api-key"];

/// The virtual key a client sent, from the first credential header that carries one:
/// `Authorization: Bearer` (OpenAI SDK, anthropic ≥ 2.13), `x-api-key` (older anthropic SDKs),
/// `api-key` (Azure SDK), `x-goog-api-key` (google-genai).
pub fn client_key(header: impl Fn(&str) -> Option<String>) -> Option<String> {
    CLIENT_CREDENTIAL_HEADERS.iter().find_map(|name| {
        let value = header(name)?;
        let value = value.trim();
        let key = if *name == "authorization" {
            let (scheme, rest) = value.split_once(' ')?;
            if !scheme.eq_ignore_ascii_case("bearer") {
                return None;
            }
            rest.trim()
        } else {
            value
        };
        (!key.is_empty()).then(|| key.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_key_from_each_sdk_header() {
        let from = |pairs: &[(&str, &str)]| {
            let pairs: Vec<(String, String)> =
                pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            client_key(|name| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
        };
        assert_eq!(from(&[("authorization", "Bearer vk-1")]).as_deref(), Some("vk-1"));
        assert_eq!(from(&[("authorization", "bearer  vk-1 ")]).as_deref(), Some("vk-1"));
        assert_eq!(from(&[("x-api-key", "vk-2")]).as_deref(), Some("vk-2"));
        assert_eq!(from(&[("api-key", "vk-3")]).as_deref(), Some("vk-3"));
        assert_eq!(from(&[("x-goog-api-key", "vk-4")]).as_deref(), Some("vk-4"));
        assert_eq!(
            from(&[("authorization", "Basic dXNlcg=="), ("x-api-key", "vk-2")]).as_deref(),
            Some("vk-2")
        );
        assert_eq!(from(&[("authorization", "Bearer ")]), None);
        assert_eq!(from(&[]), None);
    }
}
