//! Which provider an endpoint impersonates, and that provider's real error body per status.
//!
//! Gateways classify failures by status *and* body (retryable? auth? quota?), so the error
//! shapes and type strings are the ones each provider documents.

use crate::control::Controls;
use crate::ids;
use crate::respond::{self, Resp};
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    OpenAi,
    Azure,
    Anthropic,
    Gemini,
    Bedrock,
}

impl Provider {
    /// The name used in default reply texts.
    pub fn name(self) -> &'static str {
        match self {
            Provider::OpenAi => "openai",
            Provider::Azure => "azure",
            Provider::Anthropic => "anthropic",
            Provider::Gemini => "gemini",
            Provider::Bedrock => "bedrock",
        }
    }

    /// The provider's error body for `status`.
    pub fn error_body(self, status: u16, message: &str) -> Value {
        match self {
            Provider::OpenAi | Provider::Azure => {
                let (ty, code) = match status {
                    401 => ("invalid_request_error", json!("invalid_api_key")),
                    404 => ("invalid_request_error", json!("model_not_found")),
                    429 => ("rate_limit_exceeded", json!("rate_limit_exceeded")),
                    500.. => ("server_error", Value::Null),
                    _ => ("invalid_request_error", Value::Null),
                };
                json!({"error": {"message": message, "type": ty, "param": null, "code": code}})
            }
            Provider::Anthropic => {
                let ty = match status {
                    401 => "authentication_error",
                    402 => "billing_error",
                    403 => "permission_error",
                    404 => "not_found_error",
                    413 => "request_too_large",
                    429 => "rate_limit_error",
                    504 => "timeout_error",
                    529 => "overloaded_error",
                    500.. => "api_error",
                    _ => "invalid_request_error",
                };
                json!({"type": "error", "error": {"type": ty, "message": message},
                       "request_id": ids::new("req_")})
            }
            Provider::Gemini => {
                let grpc = match status {
                    401 => "UNAUTHENTICATED",
                    403 => "PERMISSION_DENIED",
                    404 => "NOT_FOUND",
                    409 => "ABORTED",
                    429 => "RESOURCE_EXHAUSTED",
                    499 => "CANCELLED",
                    501 => "UNIMPLEMENTED",
                    503 => "UNAVAILABLE",
                    504 => "DEADLINE_EXCEEDED",
                    500.. => "INTERNAL",
                    _ => "INVALID_ARGUMENT",
                };
                json!({"error": {"code": status, "message": message, "status": grpc}})
            }
            // The exception's name is in `x-amzn-ErrorType` (see `error`).
            Provider::Bedrock => json!({"message": message}),
        }
    }

    /// A complete error response (with `retry-after` on 429 and the provider's request-id
    /// header). Truncation is not applied to errors.
    pub fn error(self, status: u16, message: &str, ctl: &Controls) -> Resp {
        let ctl = Controls { truncate: None, ..ctl.clone() };
        let mut resp = respond::json(status, &self.error_body(status, message), &ctl);
        if status == 429 {
            respond::set_header(&mut resp, "retry-after", &ctl.retry_after);
        }
        if self == Provider::Bedrock {
            respond::set_header(&mut resp, "x-amzn-errortype", crate::bedrock::error_type(status));
        }
        self.tag(&mut resp);
        resp
    }

    /// Adds the request-id header the provider sends on every response.
    pub fn tag(self, resp: &mut Resp) {
        let name = match self {
            Provider::OpenAi | Provider::Azure => "x-request-id",
            Provider::Anthropic => "request-id",
            Provider::Bedrock => "x-amzn-requestid",
            Provider::Gemini => return,
        };
        respond::set_header(resp, name, &ids::new("req_"));
    }
}

/// The message of an error injected with `x-mock-status` or a rule.
pub fn injected_message(status: u16) -> String {
    let what = match status {
        400 => "Bad request",
        401 => "Invalid API key",
        403 => "Permission denied",
        404 => "Not found",
        408 => "Request timeout",
        429 => "Rate limit exceeded",
        500 => "Internal server error",
        502 => "Bad gateway",
        503 => "Service unavailable",
        504 => "Gateway timeout",
        529 => "Overloaded",
        _ => "Error",
    };
    format!("{what} (mock: injected status {status})")
}
