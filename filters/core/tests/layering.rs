//! Core's files import each other in one direction: no circle of `use` between files, except
//! the prompt flow's own three files (`prompt/{flow,answer,retrieve}`: one state machine split
//! by phase). A circle means two files that cannot be understood, tested or moved apart; this
//! test names the files of any new one.
//!
//! It reads the sources: every `use crate::…`, `use super::…` and `use self::…` outside a
//! `#[cfg(test)]` module, resolved to the file that defines the longest matching module path; a
//! module's file stands for its submodules' files too (what uses `llm::ir` uses its `answer`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// The circle that stays, and why: see the module docs.
const ALLOWED: &[&[&str]] = &[&["prompt/answer", "prompt/flow", "prompt/retrieve"]];

type Module = Vec<String>;

fn modules(dir: &Path, root: &Path, out: &mut BTreeMap<Module, String>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            modules(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path.strip_prefix(root).unwrap().with_extension("");
            let mut parts: Module = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
            if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
                parts.pop();
            }
            out.insert(parts, fs::read_to_string(&path).unwrap());
        }
    }
}

/// The `use` paths of a source, `{a, b::c}` groups expanded one level.
fn use_paths(source: &str) -> Vec<String> {
    let code = source.split("#[cfg(test)]").next().unwrap_or_default();
    let mut paths = Vec::new();
    for statement in code.split(';') {
        // The statement's `use` line (comments before it are part of the chunk).
        let Some(at) = statement.lines().position(|line| {
            let line = line.trim_start();
            ["use ", "pub use ", "pub(crate) use ", "pub(super) use "].iter().any(|p| line.starts_with(p))
        }) else {
            continue;
        };
        let text: Vec<&str> = statement.lines().skip(at).collect();
        let text = text.join(" ");
        let Some(after) = text.split_once("use ").map(|(_, after)| after) else { continue };
        let rest: String = after.split_whitespace().collect();
        if !(rest.starts_with("crate::") || rest.starts_with("super::") || rest.starts_with("self::")) {
            continue;
        }
        match rest.split_once("::{") {
            Some((base, group)) => {
                for item in group.trim_end_matches('}').split(',') {
                    let item = item.split("::{").next().unwrap_or_default().split(" as ").next().unwrap();
                    if !item.is_empty() && item != "self" {
                        paths.push(format!("{base}::{item}"));
                    }
                }
            }
            None => paths.push(rest),
        }
    }
    paths
}

/// The file a path from `current` names: the longest module prefix that is a file.
fn resolve(current: &Module, path: &str, files: &BTreeMap<Module, String>) -> Option<Module> {
    let mut segments: Vec<&str> = path.split("::").collect();
    let mut base: Module = match segments.first() {
        Some(&"crate") => Vec::new(),
        Some(&"super" | &"self") => current.clone(),
        _ => return None,
    };
    while let Some(&first) = segments.first() {
        match first {
            "crate" | "self" => {}
            "super" => {
                base.pop();
            }
            _ => break,
        }
        segments.remove(0);
    }
    (0..=segments.len()).rev().find_map(|n| {
        let mut candidate = base.clone();
        candidate.extend(segments[..n].iter().map(|s| s.to_string()));
        files.contains_key(&candidate).then_some(candidate)
    })
}

/// Strongly connected components of more than one file (Tarjan).
fn circles(edges: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<BTreeSet<String>> {
    struct State<'a> {
        edges: &'a BTreeMap<Module, BTreeSet<Module>>,
        index: BTreeMap<&'a Module, usize>,
        low: BTreeMap<&'a Module, usize>,
        stack: Vec<&'a Module>,
        out: Vec<BTreeSet<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a Module) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        for w in &s.edges[v] {
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.stack.contains(&w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = BTreeSet::new();
            while let Some(w) = s.stack.pop() {
                component.insert(w.join("/"));
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                s.out.push(component);
            }
        }
    }
    let mut state =
        State { edges, index: BTreeMap::new(), low: BTreeMap::new(), stack: Vec::new(), out: Vec::new() };
    for v in edges.keys() {
        if !state.index.contains_key(v) {
            visit(&mut state, v);
        }
    }
    state.out
}

#[test]
fn no_file_of_core_imports_itself_through_another() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = BTreeMap::new();
    modules(&root, &root, &mut files);
    let mut edges: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (module, source) in &files {
        let targets = edges.entry(module.clone()).or_default();
        for path in use_paths(source) {
            if let Some(target) = resolve(module, &path, &files) {
                // A submodule using its parent's items is part of the parent, not a dependency.
                if &target != module && !module.starts_with(&target) {
                    targets.insert(target);
                }
            }
        }
        // A module stands for its files: what depends on it depends on them.
        if let Some(parent) = module.split_last().map(|(_, p)| p.to_vec()).filter(|p| files.contains_key(p)) {
            edges.entry(parent).or_default().insert(module.clone());
        }
    }
    assert!(edges.len() > 50, "read {} files: is the source tree where it was?", edges.len());
    let allowed: Vec<BTreeSet<String>> =
        ALLOWED.iter().map(|c| c.iter().map(|s| s.to_string()).collect()).collect();
    let unexpected: Vec<_> = circles(&edges).into_iter().filter(|c| !allowed.contains(c)).collect();
    assert!(unexpected.is_empty(), "import circles in core: {unexpected:?}");
}

#[test]
fn a_circle_is_found() {
    let m = |s: &str| -> Module { s.split('/').map(str::to_string).collect() };
    let mut edges: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    edges.insert(m("a/x"), [m("b/y")].into());
    edges.insert(m("b/y"), [m("c")].into());
    edges.insert(m("c"), [m("a/x")].into());
    edges.insert(m("d"), [m("c")].into());
    let expected: BTreeSet<String> = ["a/x", "b/y", "c"].iter().map(|s| s.to_string()).collect();
    assert_eq!(circles(&edges), vec![expected]);
    let files: BTreeMap<Module, String> = [(m("llm/api"), String::new()), (m("llm"), String::new())].into();
    assert_eq!(resolve(&m("llm/view"), "super::api::WireApi", &files), Some(m("llm/api")));
    assert_eq!(
        use_paths("use crate::llm::{api::WireApi, view};\nuse serde::Deserialize;"),
        ["crate::llm::api::WireApi", "crate::llm::view"]
    );
}
