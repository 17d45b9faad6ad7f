//! AWS Bedrock's embeddings models through InvokeModel (`POST /model/{modelId}/invoke`), whose
//! body is the model's own:
//! - **Titan Text Embeddings** (`amazon.titan-embed-text-v1`, `-v2:0`, and the text part of
//!   `amazon.titan-embed-image-v1`): one `inputText` per call; `dimensions` and `normalize` (v2).
//!   Answers `{"embedding": […], "inputTextTokenCount": n}`.
//! - **Cohere Embed** (`cohere.embed-english-v3`, `-multilingual-v3`, `cohere.embed-v4:0`): up to
//!   96 `texts`, an `input_type` (required by v3), `truncate`, `output_dimension` (v4). Answers
//!   `{"embeddings": [[…]]}` (or `{"float": [[…]]}` when embedding types were asked for); its
//!   token count is only in the `x-amzn-bedrock-input-token-count` response header
//!   ([`crate::llm::usage::from_bedrock_headers`]).
//!
//! Errors are Bedrock's `{"message": …}`, as for Converse.

use serde::{Deserialize, Serialize};
use serde_json::Number;

/// The embeddings models the gateway can speak to, told apart by model id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Titan,
    Cohere,
}

/// Geography prefixes of cross-region inference profiles (`us.cohere.embed-v4:0`).
const PROFILE_PREFIXES: [&str; 6] = ["us.", "eu.", "apac.", "us-gov.", "jp.", "global."];

impl Family {
    /// The family of a model id, an inference profile (`global.cohere.embed-v4:0`) or an ARN
    /// ending in either. `None`: not an embeddings model the gateway translates to.
    pub fn of(model: &str) -> Option<Family> {
        let id = model.rsplit('/').next().unwrap_or(model);
        let id = PROFILE_PREFIXES.iter().find_map(|p| id.strip_prefix(p)).unwrap_or(id);
        if id.starts_with("amazon.titan-embed-") {
            Some(Family::Titan)
        } else if id.starts_with("cohere.embed-") {
            Some(Family::Cohere)
        } else {
            None
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TitanRequest {
    pub input_text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<Number>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalize: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CohereRequest {
    pub texts: Vec<String>,
    pub input_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncate: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_dimension: Option<Number>,
}

/// Cohere's `input_type` when the client names none: the texts are stored to be searched,
/// which is what an OpenAI embeddings call is most often for.
pub const COHERE_DEFAULT_INPUT_TYPE: &str = "search_document";

/// Either family's answer (the fields tell them apart).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvokeResponse {
    /// Titan's one vector.
    #[serde(default)]
    pub embedding: Option<Vec<f32>>,
    #[serde(default)]
    pub input_text_token_count: Option<u64>,
    /// Cohere's vectors, one per text.
    #[serde(default)]
    pub embeddings: Option<CohereEmbeddings>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum CohereEmbeddings {
    /// `response_type: embeddings_floats`.
    Floats(Vec<Vec<f32>>),
    /// `response_type: embeddings_by_type` (`float`, `int8` … per requested type).
    ByType { float: Vec<Vec<f32>> },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_by_model_id_profile_and_arn() {
        assert_eq!(Family::of("amazon.titan-embed-text-v2:0"), Some(Family::Titan));
        assert_eq!(Family::of("amazon.titan-embed-text-v1"), Some(Family::Titan));
        assert_eq!(Family::of("cohere.embed-english-v3"), Some(Family::Cohere));
        assert_eq!(Family::of("global.cohere.embed-v4:0"), Some(Family::Cohere));
        assert_eq!(Family::of("us.cohere.embed-v4:0"), Some(Family::Cohere));
        assert_eq!(
            Family::of("arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0"),
            Some(Family::Titan)
        );
        assert_eq!(Family::of("anthropic.claude-3-5-haiku-20241022-v1:0"), None);
        assert_eq!(Family::of("amazon.nova-lite-v1:0"), None);
        assert_eq!(Family::of("cohere.command-r-v1:0"), None);
        assert_eq!(Family::of(""), None);
    }
}
