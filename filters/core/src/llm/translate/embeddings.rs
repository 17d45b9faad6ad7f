//! OpenAI embeddings ⇄ Bedrock's embeddings models (InvokeModel; see
//! [`crate::llm::wire::bedrock_embeddings`]): requests to them, complete answers from them.
//!
//! `input` must be text: token arrays have no Bedrock counterpart. Titan embeds one text per
//! call, so an `input` of several texts is refused (400) rather than fanned out behind the
//! client's back — route batches to a Cohere model (up to 96 texts). `dimensions` becomes
//! Titan's `dimensions` or Cohere's `output_dimension`; the model checks the value. Cohere's
//! `input_type` and `truncate`, and Titan's `normalize`, pass when the client sends them as extra
//! body fields (`extra_body` in the SDKs); Cohere's `input_type` defaults to
//! [`be::COHERE_DEFAULT_INPUT_TYPE`]. Bedrock answers floats; a client that asked for
//! `encoding_format: base64` gets little-endian f32 bytes in base64, as OpenAI sends them.

use super::{AnswerContext, TranslateError};
use crate::llm::wire::bedrock_embeddings::{self as be, Family};
use crate::llm::wire::openai as oa;
use base64::Engine as _;
use serde_json::Value;

fn unsupported(message: impl Into<String>) -> TranslateError {
    TranslateError::unsupported(message)
}

/// The client's `encoding_format`: `Ok(true)` for base64. Anything but `float`/`base64` is
/// refused, as OpenAI refuses it.
pub(crate) fn wants_base64(encoding_format: Option<&str>) -> Result<bool, TranslateError> {
    match encoding_format {
        None | Some("float") => Ok(false),
        Some("base64") => Ok(true),
        Some(other) => Err(TranslateError::malformed(format!(
            "`encoding_format` must be `float` or `base64`, not `{other}`"
        ))),
    }
}

/// An OpenAI embeddings request → the InvokeModel body of `model`'s family.
pub(crate) fn request_to_bedrock(req: oa::EmbeddingsRequest, model: &str) -> Result<Vec<u8>, TranslateError> {
    let family = Family::of(model).ok_or_else(|| {
        unsupported(format!(
            "`{model}` is not a Bedrock embeddings model the gateway can call: use Titan Text Embeddings \
             (`amazon.titan-embed-*`) or Cohere Embed (`cohere.embed-*`)"
        ))
    })?;
    wants_base64(req.encoding_format.as_deref())?;
    let texts = texts(req.input)?;
    let extra_str = |name: &str| -> Result<Option<String>, TranslateError> {
        match req.rest.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(TranslateError::malformed(format!("`{name}` must be a string"))),
        }
    };
    let body = match family {
        Family::Titan => {
            let count = texts.len();
            let Ok([input_text]) = <[String; 1]>::try_from(texts) else {
                return Err(unsupported(format!(
                    "Titan embeddings models embed one text per request and `input` holds {count}: \
                     send one string, or use a Cohere Embed model for batches"
                )));
            };
            let normalize = match req.rest.get("normalize") {
                None | Some(Value::Null) => None,
                Some(Value::Bool(b)) => Some(*b),
                Some(_) => return Err(TranslateError::malformed("`normalize` must be a boolean")),
            };
            serde_json::to_vec(&be::TitanRequest { input_text, dimensions: req.dimensions, normalize })
        }
        Family::Cohere => {
            let input_type =
                extra_str("input_type")?.unwrap_or_else(|| be::COHERE_DEFAULT_INPUT_TYPE.to_string());
            let truncate = extra_str("truncate")?;
            serde_json::to_vec(&be::CohereRequest {
                texts,
                input_type,
                truncate,
                output_dimension: req.dimensions,
            })
        }
    };
    // Serialising these types into memory cannot fail: every map key is a string.
    Ok(body.unwrap_or_default())
}

/// `input` as texts: one string, or an array of strings.
fn texts(input: Value) -> Result<Vec<String>, TranslateError> {
    let token_arrays =
        || unsupported("`input` as token arrays cannot be sent to Bedrock embeddings models: send text");
    match input {
        Value::String(s) => Ok(vec![s]),
        Value::Array(items) if items.is_empty() => {
            Err(TranslateError::malformed("`input` must not be empty"))
        }
        Value::Array(items) => items
            .into_iter()
            .map(|item| match item {
                Value::String(s) => Ok(s),
                Value::Number(_) | Value::Array(_) => Err(token_arrays()),
                _ => Err(TranslateError::malformed("`input` must be a string or an array of strings")),
            })
            .collect(),
        Value::Null => Err(TranslateError::malformed("`input` is required")),
        _ => Err(TranslateError::malformed("`input` must be a string or an array of strings")),
    }
}

/// A Titan or Cohere answer → OpenAI's. The token count is Titan's `inputTextTokenCount`, else
/// the response header's (`context.input_tokens`, Cohere's only source), else 0.
pub(crate) fn response_to_openai(
    resp: be::InvokeResponse,
    client_model: &str,
    context: &AnswerContext,
) -> Result<oa::EmbeddingsResponse, TranslateError> {
    let vectors = match (resp.embedding, resp.embeddings) {
        (Some(one), _) => vec![one],
        (None, Some(be::CohereEmbeddings::Floats(all) | be::CohereEmbeddings::ByType { float: all })) => all,
        (None, None) => {
            return Err(TranslateError::malformed("the Bedrock embeddings answer holds no embedding"))
        }
    };
    let data = vectors
        .into_iter()
        .enumerate()
        .map(|(index, v)| oa::Embedding {
            object: "embedding".to_string(),
            index,
            embedding: if context.base64_embeddings {
                oa::Vector::Base64(f32_base64(&v))
            } else {
                oa::Vector::Float(v)
            },
        })
        .collect();
    let tokens = resp.input_text_token_count.or(context.input_tokens).unwrap_or(0);
    Ok(oa::EmbeddingsResponse {
        object: "list".to_string(),
        data,
        model: client_model.to_string(),
        usage: oa::EmbeddingsUsage { prompt_tokens: tokens, total_tokens: tokens },
    })
}

/// Little-endian f32 bytes in standard base64, padded: what OpenAI sends and its SDKs decode.
fn f32_base64(vector: &[f32]) -> String {
    let bytes: Vec<u8> = vector.iter().flat_map(|x| x.to_le_bytes()).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(body: Value, model: &str) -> Result<Value, TranslateError> {
        let req: oa::EmbeddingsRequest = serde_json::from_value(body).unwrap();
        request_to_bedrock(req, model).map(|b| serde_json::from_slice(&b).unwrap())
    }

    const TITAN: &str = "amazon.titan-embed-text-v2:0";
    const COHERE: &str = "cohere.embed-english-v3";

    #[test]
    fn titan_takes_one_text_with_its_options() {
        let out =
            request(json!({"model": "e", "input": "hello", "dimensions": 256, "user": "u1"}), TITAN).unwrap();
        assert_eq!(out, json!({"inputText": "hello", "dimensions": 256}));
        let out = request(json!({"input": ["only one"], "normalize": false}), TITAN).unwrap();
        assert_eq!(out, json!({"inputText": "only one", "normalize": false}));
    }

    #[test]
    fn titan_refuses_batches() {
        let e = request(json!({"input": ["a", "b"]}), TITAN).unwrap_err();
        assert_eq!(e.kind, super::super::TranslateErrorKind::Unsupported);
        assert!(e.message.contains("one text per request") && e.message.contains("holds 2"), "{}", e.message);
    }

    #[test]
    fn cohere_takes_a_batch_with_an_input_type() {
        let out = request(json!({"input": ["a", "b"], "dimensions": 512}), COHERE).unwrap();
        assert_eq!(
            out,
            json!({"texts": ["a", "b"], "input_type": "search_document", "output_dimension": 512})
        );
        let out =
            request(json!({"input": "q", "input_type": "search_query", "truncate": "END"}), COHERE).unwrap();
        assert_eq!(out, json!({"texts": ["q"], "input_type": "search_query", "truncate": "END"}));
        assert!(request(json!({"input": "q", "input_type": 3}), COHERE).is_err());
    }

    #[test]
    fn hostile_and_unsupported_inputs_are_refused_by_name() {
        let message = |body: Value, model: &str| request(body, model).unwrap_err().message;
        assert!(message(json!({"input": [1, 2, 3]}), COHERE).contains("token arrays"));
        assert!(message(json!({"input": [[1, 2], [3]]}), TITAN).contains("token arrays"));
        assert!(message(json!({"input": []}), COHERE).contains("must not be empty"));
        assert!(message(json!({}), COHERE).contains("is required"));
        assert!(message(json!({"input": {"a": 1}}), COHERE).contains("string or an array"));
        assert!(message(json!({"input": ["a", null]}), COHERE).contains("string or an array"));
        assert!(
            message(json!({"input": "x", "encoding_format": "int8"}), TITAN).contains("`float` or `base64`")
        );
        assert!(message(json!({"input": "x", "normalize": "yes"}), TITAN).contains("boolean"));
        let e = message(json!({"input": "x"}), "anthropic.claude-3-5-haiku-20241022-v1:0");
        assert!(e.contains("not a Bedrock embeddings model"), "{e}");
    }

    fn answer(body: Value, context: &AnswerContext) -> Value {
        let resp: be::InvokeResponse = serde_json::from_value(body).unwrap();
        serde_json::to_value(response_to_openai(resp, "my-embed", context).unwrap()).unwrap()
    }

    #[test]
    fn titan_answers_with_its_token_count() {
        let out = answer(
            json!({"embedding": [0.5, -0.25], "inputTextTokenCount": 3, "embeddingsByType": {"float": [0.5, -0.25]}}),
            &AnswerContext::default(),
        );
        assert_eq!(
            out,
            json!({"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": [0.5, -0.25]}],
                   "model": "my-embed", "usage": {"prompt_tokens": 3, "total_tokens": 3}})
        );
    }

    #[test]
    fn cohere_answers_count_from_the_header_and_both_shapes_read() {
        let context = AnswerContext { input_tokens: Some(9), ..AnswerContext::default() };
        let floats = json!({"id": "x", "response_type": "embeddings_floats", "texts": ["a", "b"],
                            "embeddings": [[1.0, 0.0], [0.0, 1.0]]});
        let by_type = json!({"id": "x", "response_type": "embeddings_by_type",
                             "embeddings": {"float": [[1.0, 0.0], [0.0, 1.0]]}});
        for body in [floats, by_type] {
            let out = answer(body, &context);
            assert_eq!(out["data"][1], json!({"object": "embedding", "index": 1, "embedding": [0.0, 1.0]}));
            assert_eq!(out["usage"], json!({"prompt_tokens": 9, "total_tokens": 9}));
        }
    }

    #[test]
    fn base64_is_little_endian_f32() {
        let context = AnswerContext { base64_embeddings: true, ..AnswerContext::default() };
        let out = answer(json!({"embedding": [1.0, -2.5]}), &context);
        // 1.0f32 = 00 00 80 3f, -2.5f32 = 00 00 20 c0.
        assert_eq!(out["data"][0]["embedding"], "AACAPwAAIMA=");
    }

    #[test]
    fn an_answer_without_vectors_is_malformed() {
        let resp: be::InvokeResponse = serde_json::from_value(json!({"message": "hm"})).unwrap();
        assert!(response_to_openai(resp, "m", &AnswerContext::default()).is_err());
        assert!(serde_json::from_value::<be::InvokeResponse>(json!({"embedding": "x"})).is_err());
    }
}
