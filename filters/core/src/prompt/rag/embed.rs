//! The question's embedding: an OpenAI `/v1/embeddings` request (`encoding_format: float`) to an
//! Envoy cluster. Through the gateway's own listener it is routed to whichever provider serves
//! `model`, keyed by the credentials filter and accounted by the usage filter; `keyEnv` then names
//! a gateway key (a virtual key of the credentials filter), never a provider key.

use crate::common::config::ConfigError;
use crate::common::secret::Secret;
use crate::prompt::guard::remote::{self, Call};
use serde::Deserialize;
use serde_json::json;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EmbeddingsConfig {
    /// The Envoy cluster: the gateway's own listener (recommended) or an embeddings service.
    pub cluster: String,
    /// `:authority` of the call (default: the cluster's name).
    #[serde(default)]
    pub authority: Option<String>,
    #[serde(default = "embeddings_path")]
    pub path: String,
    /// The embeddings model, as a client would name it.
    pub model: String,
    /// Optional `dimensions` (models that can shorten their vectors).
    #[serde(default)]
    pub dimensions: Option<u32>,
    /// The VM environment variable holding the key sent as `Authorization: Bearer`.
    #[serde(default)]
    pub key_env: Option<String>,
    #[serde(default = "remote::default_timeout")]
    pub timeout_ms: u32,
}

fn embeddings_path() -> String {
    "/v1/embeddings".into()
}

/// Longest vector accepted from an embeddings answer.
const MAX_DIMENSIONS: usize = 65_536;

#[derive(Debug)]
pub struct Embeddings {
    cluster: String,
    authority: String,
    path: String,
    model: String,
    dimensions: Option<u32>,
    key: Option<Secret>,
    timeout_ms: u32,
}

impl Embeddings {
    pub fn compile(
        c: EmbeddingsConfig,
        at: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        remote::check_cluster(&c.cluster, at)?;
        remote::check_timeout(c.timeout_ms, at)?;
        remote::check_path(&c.path, &format!("{at}.path"))?;
        if c.model.trim().is_empty() {
            return Err(ConfigError::new(format!("{at}.model"), "the embeddings model's name"));
        }
        if c.dimensions.is_some_and(|d| d == 0 || d as usize > MAX_DIMENSIONS) {
            return Err(ConfigError::new(format!("{at}.dimensions"), format!("1 to {MAX_DIMENSIONS}")));
        }
        let key =
            c.key_env.map(|name| remote::env_secret(&name, &format!("{at}.keyEnv"), env)).transpose()?;
        let authority = remote::authority(c.authority, &c.cluster, at)?;
        Ok(Self {
            authority,
            cluster: c.cluster,
            path: c.path,
            model: c.model,
            dimensions: c.dimensions,
            key,
            timeout_ms: c.timeout_ms,
        })
    }

    pub fn call(&self, question: &str) -> Call {
        let mut body = json!({"model": self.model, "input": question, "encoding_format": "float"});
        if let (Some(d), Some(fields)) = (self.dimensions, body.as_object_mut()) {
            fields.insert("dimensions".into(), json!(d));
        }
        let mut headers = vec![
            (":method".into(), "POST".into()),
            (":path".into(), self.path.clone()),
            (":authority".into(), self.authority.clone()),
            ("content-type".into(), "application/json".into()),
        ];
        if let Some(key) = &self.key {
            headers.push(("authorization".into(), format!("Bearer {}", key.expose())));
        }
        Call {
            cluster: self.cluster.clone(),
            headers,
            body: body.to_string().into_bytes(),
            timeout_ms: self.timeout_ms,
        }
    }
}

/// The vector of the first input, from an OpenAI embeddings answer.
pub fn vector(status: Option<u16>, body: &[u8]) -> Result<Vec<f32>, String> {
    let status = status.ok_or("embeddings: no answer (timeout or connection failure)")?;
    if !(200..300).contains(&status) {
        return Err(format!("embeddings: answered HTTP {status}"));
    }
    #[derive(Deserialize)]
    struct Answer {
        data: Vec<Item>,
    }
    #[derive(Deserialize)]
    struct Item {
        embedding: Vec<f64>,
    }
    let answer: Answer = serde_json::from_slice(body)
        .map_err(|_| "embeddings: the answer has no `data[].embedding` list".to_string())?;
    let v = answer.data.into_iter().next().ok_or("embeddings: the answer's `data` is empty")?.embedding;
    if v.is_empty() || v.len() > MAX_DIMENSIONS || v.iter().any(|x| !x.is_finite()) {
        return Err("embeddings: the vector is empty, too long or not finite".into());
    }
    Ok(v.into_iter().map(|x| x as f32).collect())
}
