//! Vector stores: Chroma's HTTP API (v2), and a generic retrieval contract for anything else
//! (pgvector, Qdrant, OpenSearch or an in-house service behind a small adapter).
//!
//! **Chroma**: `POST /api/v2/tenants/{tenant}/databases/{database}/collections/{id}/query` with
//! `query_embeddings`, `n_results` and `include: [documents, distances]`. Chroma addresses a
//! collection by its id, so the configured name is resolved once per worker
//! (`GET …/collections/{name}`) and the id kept; a query answered 404 (the collection was
//! re-created) forgets it. Score = 1 − distance, which is the cosine similarity in a collection
//! created with `{"hnsw": {"space": "cosine"}}`.
//!
//! **Generic** (`http`): `POST {path}` with `{"query": "…", "embedding": [..] (when the policy
//! embeds), "topK": k, "policy": "…"}`; the answer is `{"documents": [{"id": "…", "text": "…",
//! "score": 0.83}, …]}` (higher is nearer; other fields are ignored).

use super::Document;
use crate::common::config::ConfigError;
use crate::common::secret::Secret;
use crate::prompt::guard::remote::{self, Call};
use serde::Deserialize;
use serde_json::{json, Value};
use std::cell::RefCell;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum StoreConfig {
    Chroma(ChromaConfig),
    Http(HttpStoreConfig),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChromaConfig {
    pub cluster: String,
    #[serde(default)]
    pub authority: Option<String>,
    #[serde(default = "default_tenant")]
    pub tenant: String,
    #[serde(default = "default_database")]
    pub database: String,
    pub collection: String,
    /// The VM environment variable holding Chroma's token (sent as `x-chroma-token`).
    #[serde(default)]
    pub token_env: Option<String>,
    #[serde(default = "remote::default_timeout")]
    pub timeout_ms: u32,
}

fn default_tenant() -> String {
    "default_tenant".into()
}

fn default_database() -> String {
    "default_database".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpStoreConfig {
    pub cluster: String,
    #[serde(default)]
    pub authority: Option<String>,
    pub path: String,
    /// The VM environment variable holding a token (sent as `Authorization: Bearer`).
    #[serde(default)]
    pub token_env: Option<String>,
    #[serde(default = "remote::default_timeout")]
    pub timeout_ms: u32,
}

/// Where a store is reached.
#[derive(Debug)]
pub struct Endpoint {
    cluster: String,
    authority: String,
    token: Option<(&'static str, Secret)>,
    timeout_ms: u32,
}

impl Endpoint {
    fn call(&self, method: &str, path: String, body: Vec<u8>) -> Call {
        let mut headers = vec![
            (":method".to_string(), method.to_string()),
            (":path".to_string(), path),
            (":authority".to_string(), self.authority.clone()),
        ];
        if !body.is_empty() {
            headers.push(("content-type".into(), "application/json".into()));
        }
        if let Some((header, token)) = &self.token {
            let value = if *header == "authorization" {
                format!("Bearer {}", token.expose())
            } else {
                token.expose().to_string()
            };
            headers.push(((*header).to_string(), value));
        }
        Call { cluster: self.cluster.clone(), headers, body, timeout_ms: self.timeout_ms }
    }
}

#[derive(Debug)]
pub enum Store {
    Chroma {
        endpoint: Endpoint,
        /// `/api/v2/tenants/{t}/databases/{d}/collections`.
        base: String,
        collection: String,
        /// The collection's id, once resolved (per worker: the VM is single-threaded).
        id: RefCell<Option<String>>,
    },
    Http {
        endpoint: Endpoint,
        path: String,
    },
}

/// The next call of a lookup against the store.
#[derive(Debug, PartialEq, Eq)]
pub enum StoreCall {
    /// Chroma: the collection's id first.
    Resolve(Call),
    Query(Call),
}

/// Chroma's rule for tenant, database and collection names (3–512 characters of
/// `[A-Za-z0-9._-]`, starting and ending alphanumeric) — also what makes them safe in a path.
fn chroma_name(name: &str, at: &str) -> Result<(), ConfigError> {
    let ok = (3..=512).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        && name.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && name.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric());
    if !ok {
        return Err(ConfigError::new(
            at,
            "3 to 512 characters of [A-Za-z0-9._-], starting and ending alphanumeric",
        ));
    }
    Ok(())
}

fn endpoint(
    cluster: String,
    configured_authority: Option<String>,
    token: Option<(&'static str, Option<String>)>,
    timeout_ms: u32,
    at: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Endpoint, ConfigError> {
    remote::check_cluster(&cluster, at)?;
    remote::check_timeout(timeout_ms, at)?;
    let authority = remote::authority(configured_authority, &cluster, at)?;
    let token = match token {
        Some((header, Some(name))) => {
            Some((header, remote::env_secret(&name, &format!("{at}.tokenEnv"), env)?))
        }
        _ => None,
    };
    Ok(Endpoint { cluster, authority, token, timeout_ms })
}

/// Longest document id kept (ids go to filter state, logs and a header).
const MAX_ID: usize = 256;

impl Store {
    pub fn compile(
        c: StoreConfig,
        at: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        match c {
            StoreConfig::Chroma(c) => {
                let at = format!("{at}.chroma");
                chroma_name(&c.tenant, &format!("{at}.tenant"))?;
                chroma_name(&c.database, &format!("{at}.database"))?;
                chroma_name(&c.collection, &format!("{at}.collection"))?;
                let token = Some(("x-chroma-token", c.token_env));
                let endpoint = endpoint(c.cluster, c.authority, token, c.timeout_ms, &at, env)?;
                let base = format!("/api/v2/tenants/{}/databases/{}/collections", c.tenant, c.database);
                Ok(Store::Chroma { endpoint, base, collection: c.collection, id: RefCell::new(None) })
            }
            StoreConfig::Http(c) => {
                let at = format!("{at}.http");
                remote::check_path(&c.path, &format!("{at}.path"))?;
                let token = Some(("authorization", c.token_env));
                let endpoint = endpoint(c.cluster, c.authority, token, c.timeout_ms, &at, env)?;
                Ok(Store::Http { endpoint, path: c.path })
            }
        }
    }

    /// The config field naming the store's cluster, for log lines about a call Envoy refused.
    pub fn cluster_field(&self) -> &'static str {
        match self {
            Store::Chroma { .. } => "store.chroma.cluster",
            Store::Http { .. } => "store.http.cluster",
        }
    }

    /// Whether the store addresses its collection by an id it resolves (Chroma).
    pub fn resolves_ids(&self) -> bool {
        matches!(self, Store::Chroma { .. })
    }

    /// Whether the store is queried by vector (the policy must embed).
    pub fn needs_vector(&self) -> bool {
        matches!(self, Store::Chroma { .. })
    }

    pub fn next_call(&self, question: &str, vector: Option<&[f32]>, top_k: u32, policy: &str) -> StoreCall {
        match self {
            Store::Chroma { endpoint, base, collection, id } => match id.borrow().as_deref() {
                None => StoreCall::Resolve(endpoint.call("GET", format!("{base}/{collection}"), Vec::new())),
                Some(id) => {
                    let body = json!({
                        "query_embeddings": [vector.unwrap_or_default()],
                        "n_results": top_k,
                        "include": ["documents", "distances"],
                    });
                    StoreCall::Query(endpoint.call(
                        "POST",
                        format!("{base}/{id}/query"),
                        body.to_string().into_bytes(),
                    ))
                }
            },
            Store::Http { endpoint, path } => {
                let mut body = json!({"query": question, "topK": top_k, "policy": policy});
                if let (Some(v), Some(fields)) = (vector, body.as_object_mut()) {
                    fields.insert("embedding".into(), json!(v));
                }
                StoreCall::Query(endpoint.call("POST", path.clone(), body.to_string().into_bytes()))
            }
        }
    }

    /// Chroma: keeps the collection's id from the answer to [`StoreCall::Resolve`].
    pub fn resolved(&self, status: Option<u16>, body: &[u8]) -> Result<(), String> {
        let Store::Chroma { id, collection, .. } = self else {
            return Err("store: nothing to resolve".into());
        };
        match status {
            None => return Err("store: no answer (timeout or connection failure)".into()),
            Some(404) => return Err(format!("store: Chroma has no collection `{collection}`")),
            Some(s) if !(200..300).contains(&s) => return Err(format!("store: answered HTTP {s}")),
            Some(_) => {}
        }
        let answer: Value =
            serde_json::from_slice(body).map_err(|_| "store: the answer is not JSON".to_string())?;
        let found = answer.get("id").and_then(Value::as_str).filter(|s| {
            !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
        });
        let found = found.ok_or("store: the collection has no id")?;
        *id.borrow_mut() = Some(found.to_string());
        Ok(())
    }

    /// The documents in the answer to [`StoreCall::Query`].
    pub fn documents(&self, status: Option<u16>, body: &[u8]) -> Result<Vec<Document>, String> {
        let status = status.ok_or("store: no answer (timeout or connection failure)")?;
        if let Store::Chroma { id, .. } = self {
            if status == 404 {
                // Re-created under the same name: resolve again next time.
                id.borrow_mut().take();
            }
        }
        if !(200..300).contains(&status) {
            return Err(format!("store: answered HTTP {status}"));
        }
        match self {
            Store::Chroma { .. } => chroma_documents(body),
            Store::Http { .. } => http_documents(body),
        }
    }
}

/// Chroma answers one list per query embedding; there is one.
fn chroma_documents(body: &[u8]) -> Result<Vec<Document>, String> {
    #[derive(Deserialize)]
    struct Answer {
        ids: Vec<Vec<String>>,
        documents: Option<Vec<Vec<Option<String>>>>,
        distances: Option<Vec<Vec<Option<f64>>>>,
    }
    let answer: Answer =
        serde_json::from_slice(body).map_err(|_| "store: not a Chroma query answer".to_string())?;
    let ids = answer.ids.into_iter().next().unwrap_or_default();
    let texts = first(answer.documents);
    let distances = first(answer.distances);
    Ok(ids
        .into_iter()
        .zip(texts)
        .zip(distances)
        .filter_map(|((id, text), distance)| {
            Some(Document {
                id: remote::prefix(&id, MAX_ID).to_string(),
                text: text?,
                score: 1.0 - distance?,
            })
        })
        .collect())
}

/// The list for the first (only) query.
fn first<T>(lists: Option<Vec<Vec<T>>>) -> Vec<T> {
    lists.and_then(|l| l.into_iter().next()).unwrap_or_default()
}

fn http_documents(body: &[u8]) -> Result<Vec<Document>, String> {
    #[derive(Deserialize)]
    struct Answer {
        documents: Vec<Item>,
    }
    #[derive(Deserialize)]
    struct Item {
        id: String,
        text: String,
        score: f64,
    }
    let answer: Answer = serde_json::from_slice(body).map_err(|_| {
        "store: the answer is not `{\"documents\": [{\"id\", \"text\", \"score\"}]}`".to_string()
    })?;
    Ok(answer
        .documents
        .into_iter()
        .map(|d| Document { id: remote::prefix(&d.id, MAX_ID).to_string(), text: d.text, score: d.score })
        .collect())
}
