//! Errors the gateway itself returns to clients, in the client's API shape.
//!
//! A client SDK turns an error body into a typed exception only if the body has the shape its
//! provider uses, so the same failure is rendered three ways: OpenAI
//! `{"error":{"message","type","param","code"}}`, Anthropic
//! `{"type":"error","error":{"type","message"}}`, Gemini `{"error":{"code","message","status"}}`.

use serde_json::json;

/// How an error body is shaped for a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorShape {
    OpenAi,
    Anthropic,
    Gemini,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// 400: body not JSON, no model, a field of the wrong type.
    InvalidRequest,
    /// 401: missing or unknown credential.
    Authentication,
    /// 403: a known caller asking for what it may not use.
    PermissionDenied,
    /// 404: no route for the requested model.
    ModelNotFound,
    /// 404: no such API path.
    NotFound,
    /// 405: a known path with the wrong method.
    MethodNotAllowed,
    /// 408: the client did not send the request in time.
    RequestTimeout,
    /// 413: request body above a configured limit.
    PayloadTooLarge,
    /// 431: request headers over Envoy's limit.
    HeadersTooLarge,
    /// 429: budget or rate limit; carries `Retry-After`.
    RateLimited,
    /// 501: a valid request for something this build does not do yet.
    NotImplemented,
    /// 502: the provider answered something the gateway could not use.
    BadGateway,
    /// 503: no provider available (all keys cooling down, all fallbacks failed).
    Unavailable,
    /// 504: the provider did not answer in time.
    GatewayTimeout,
    /// 500: the gateway's own fault.
    Internal,
}

impl ErrorKind {
    pub const fn status(self) -> u16 {
        match self {
            ErrorKind::InvalidRequest => 400,
            ErrorKind::Authentication => 401,
            ErrorKind::PermissionDenied => 403,
            ErrorKind::ModelNotFound | ErrorKind::NotFound => 404,
            ErrorKind::MethodNotAllowed => 405,
            ErrorKind::RequestTimeout => 408,
            ErrorKind::PayloadTooLarge => 413,
            ErrorKind::HeadersTooLarge => 431,
            ErrorKind::RateLimited => 429,
            ErrorKind::Internal => 500,
            ErrorKind::NotImplemented => 501,
            ErrorKind::BadGateway => 502,
            ErrorKind::Unavailable => 503,
            ErrorKind::GatewayTimeout => 504,
        }
    }

    /// OpenAI's `type` and `code` for this kind, as the OpenAI API itself reports them.
    const fn openai_type_code(self) -> (&'static str, &'static str) {
        match self {
            ErrorKind::InvalidRequest => ("invalid_request_error", "invalid_request"),
            ErrorKind::Authentication => ("invalid_request_error", "invalid_api_key"),
            ErrorKind::PermissionDenied => ("permission_error", "permission_denied"),
            ErrorKind::ModelNotFound => ("invalid_request_error", "model_not_found"),
            ErrorKind::NotFound => ("invalid_request_error", "not_found"),
            ErrorKind::MethodNotAllowed => ("invalid_request_error", "method_not_allowed"),
            ErrorKind::RequestTimeout => ("invalid_request_error", "request_timeout"),
            ErrorKind::HeadersTooLarge => ("invalid_request_error", "request_header_fields_too_large"),
            ErrorKind::GatewayTimeout => ("api_error", "gateway_timeout"),
            ErrorKind::PayloadTooLarge => ("invalid_request_error", "request_too_large"),
            ErrorKind::RateLimited => ("rate_limit_exceeded", "rate_limit_exceeded"),
            ErrorKind::NotImplemented => ("invalid_request_error", "not_implemented"),
            ErrorKind::BadGateway => ("api_error", "bad_gateway"),
            ErrorKind::Unavailable => ("api_error", "service_unavailable"),
            ErrorKind::Internal => ("api_error", "internal_error"),
        }
    }

    const fn anthropic_type(self) -> &'static str {
        match self {
            ErrorKind::InvalidRequest | ErrorKind::NotImplemented => "invalid_request_error",
            ErrorKind::Authentication => "authentication_error",
            ErrorKind::PermissionDenied => "permission_error",
            ErrorKind::ModelNotFound | ErrorKind::NotFound | ErrorKind::MethodNotAllowed => "not_found_error",
            ErrorKind::RequestTimeout | ErrorKind::GatewayTimeout => "timeout_error",
            ErrorKind::HeadersTooLarge => "invalid_request_error",
            ErrorKind::PayloadTooLarge => "request_too_large",
            ErrorKind::RateLimited => "rate_limit_error",
            ErrorKind::Unavailable => "overloaded_error",
            ErrorKind::BadGateway | ErrorKind::Internal => "api_error",
        }
    }

    /// google.rpc.Code names, as Gemini reports them in `error.status`.
    const fn gemini_status(self) -> &'static str {
        match self {
            ErrorKind::InvalidRequest => "INVALID_ARGUMENT",
            ErrorKind::Authentication => "UNAUTHENTICATED",
            ErrorKind::PermissionDenied => "PERMISSION_DENIED",
            ErrorKind::ModelNotFound | ErrorKind::NotFound | ErrorKind::MethodNotAllowed => "NOT_FOUND",
            ErrorKind::RequestTimeout | ErrorKind::GatewayTimeout => "DEADLINE_EXCEEDED",
            ErrorKind::HeadersTooLarge => "INVALID_ARGUMENT",
            ErrorKind::PayloadTooLarge => "INVALID_ARGUMENT",
            ErrorKind::RateLimited => "RESOURCE_EXHAUSTED",
            ErrorKind::NotImplemented => "UNIMPLEMENTED",
            ErrorKind::BadGateway | ErrorKind::Internal => "INTERNAL",
            ErrorKind::Unavailable => "UNAVAILABLE",
        }
    }
}

/// An error the gateway answers locally, without calling any upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientError {
    pub kind: ErrorKind,
    pub message: String,
    /// Seconds, sent as `Retry-After` (429 and 503).
    pub retry_after: Option<u64>,
    /// A status other than the kind's (a configured refusal status such as 451).
    status: Option<u16>,
}

impl ClientError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into(), retry_after: None, status: None }
    }

    /// An error with a given status, e.g. Envoy's local reply 503 "upstream connect error …" or
    /// a configured refusal status: the status is kept, the kind follows it.
    pub fn for_status(status: u16, message: impl Into<String>) -> Self {
        let kind = match status {
            401 => ErrorKind::Authentication,
            403 => ErrorKind::PermissionDenied,
            404 => ErrorKind::NotFound,
            405 => ErrorKind::MethodNotAllowed,
            408 => ErrorKind::RequestTimeout,
            413 => ErrorKind::PayloadTooLarge,
            429 => ErrorKind::RateLimited,
            431 => ErrorKind::HeadersTooLarge,
            501 => ErrorKind::NotImplemented,
            502 => ErrorKind::BadGateway,
            503 => ErrorKind::Unavailable,
            504 => ErrorKind::GatewayTimeout,
            400..=499 => ErrorKind::InvalidRequest,
            500 => ErrorKind::Internal,
            _ => ErrorKind::BadGateway,
        };
        let mut err = Self::new(kind, message);
        if err.kind.status() != status && (400..=599).contains(&status) {
            err.status = Some(status);
        }
        err
    }

    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub fn status(&self) -> u16 {
        self.status.unwrap_or_else(|| self.kind.status())
    }

    /// The JSON body for a client that speaks `shape`.
    pub fn body(&self, shape: ErrorShape) -> Vec<u8> {
        let value = match shape {
            ErrorShape::OpenAi => {
                let (ty, code) = self.kind.openai_type_code();
                json!({"error": {"message": self.message, "type": ty, "param": null, "code": code}})
            }
            ErrorShape::Anthropic => json!({
                "type": "error",
                "error": {"type": self.kind.anthropic_type(), "message": self.message},
            }),
            ErrorShape::Gemini => json!({"error": {
                "code": self.status(),
                "message": self.message,
                "status": self.kind.gemini_status(),
            }}),
        };
        value.to_string().into_bytes()
    }

    /// Response headers besides `:status`.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = vec![("content-type", "application/json".to_string())];
        if let Some(seconds) = self.retry_after {
            headers.push(("retry-after", seconds.to_string()));
        }
        headers
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn parsed(err: &ClientError, shape: ErrorShape) -> Value {
        serde_json::from_slice(&err.body(shape)).unwrap()
    }

    #[test]
    fn model_not_found_in_each_shape() {
        let err = ClientError::new(ErrorKind::ModelNotFound, "The model `x` does not exist.");
        assert_eq!(err.status(), 404);
        assert_eq!(
            parsed(&err, ErrorShape::OpenAi),
            json!({"error": {"message": "The model `x` does not exist.",
                "type": "invalid_request_error", "param": null, "code": "model_not_found"}})
        );
        assert_eq!(
            parsed(&err, ErrorShape::Anthropic),
            json!({"type": "error", "error": {"type": "not_found_error",
                "message": "The model `x` does not exist."}})
        );
        assert_eq!(
            parsed(&err, ErrorShape::Gemini),
            json!({"error": {"code": 404, "message": "The model `x` does not exist.",
                "status": "NOT_FOUND"}})
        );
    }

    #[test]
    fn rate_limited_carries_retry_after() {
        let err = ClientError::new(ErrorKind::RateLimited, "slow down").with_retry_after(7);
        assert_eq!(err.status(), 429);
        assert!(err.headers().contains(&("retry-after", "7".to_string())));
    }

    #[test]
    fn message_is_json_escaped() {
        let err = ClientError::new(ErrorKind::InvalidRequest, "bad \"quote\"\n");
        assert_eq!(parsed(&err, ErrorShape::OpenAi)["error"]["message"], "bad \"quote\"\n");
    }
}
