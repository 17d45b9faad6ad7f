//! Choosing per request by route, model pattern and tenant: what prompt policies and usage
//! limits bind to, matched one way everywhere.
//!
//! A [`Selector`] names any of a route, a model (exact or `*` pattern, matched against the model
//! the client asked for and the one sent upstream) and a tenant; what it leaves out matches
//! anything. Where one of several applies ([`most_specific`]), a selector naming a tenant beats
//! one naming a route, which beats one naming only a model, and an exact model beats a pattern;
//! among equals, the first in config order.

use crate::common::glob::glob_match;

/// What a request is, to a selector.
#[derive(Debug, Clone, Copy, Default)]
pub struct Subject<'a> {
    pub route: &'a str,
    pub request_model: &'a str,
    pub upstream_model: &'a str,
    pub tenant: Option<&'a str>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector {
    pub route: Option<String>,
    pub model: Option<String>,
    pub tenant: Option<String>,
}

impl Selector {
    pub fn new(route: Option<String>, model: Option<String>, tenant: Option<String>) -> Self {
        Self { route, model, tenant }
    }

    /// Names nothing: matches every request.
    pub fn is_empty(&self) -> bool {
        self.route.is_none() && self.model.is_none() && self.tenant.is_none()
    }

    pub fn matches(&self, subject: &Subject<'_>) -> bool {
        let model_matches = |pattern: &str| {
            glob_match(pattern, subject.request_model) || glob_match(pattern, subject.upstream_model)
        };
        self.route.as_deref().is_none_or(|r| r == subject.route)
            && self.model.as_deref().is_none_or(model_matches)
            && self.tenant.as_deref().is_none_or(|t| subject.tenant == Some(t))
    }

    /// How specific the selector is; greater wins.
    fn rank(&self) -> (bool, bool, bool, bool) {
        let exact_model = self.model.as_deref().is_some_and(|m| !m.contains('*'));
        (self.tenant.is_some(), self.route.is_some(), exact_model, self.model.is_some())
    }
}

/// The value of the most specific selector that matches `subject`.
pub fn most_specific<'s, T>(
    candidates: impl IntoIterator<Item = (&'s Selector, T)>,
    subject: &Subject<'_>,
) -> Option<T> {
    let mut best: Option<((bool, bool, bool, bool), T)> = None;
    for (selector, value) in candidates {
        if !selector.matches(subject) {
            continue;
        }
        let rank = selector.rank();
        // Strictly better only: the first of equals (config order) stays.
        if best.as_ref().is_none_or(|(r, _)| rank > *r) {
            best = Some((rank, value));
        }
    }
    best.map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(route: Option<&str>, model: Option<&str>, tenant: Option<&str>) -> Selector {
        Selector::new(route.map(Into::into), model.map(Into::into), tenant.map(Into::into))
    }

    #[test]
    fn most_specific_wins_and_first_of_equals() {
        let selectors = [
            sel(None, Some("gpt-*"), None),
            sel(None, Some("gpt-4o"), None),
            sel(Some("chat"), None, None),
            sel(None, None, Some("acme")),
            sel(None, Some("gpt-*"), None),
        ];
        let pick = |route, model, tenant| {
            let subject = Subject { route, request_model: model, upstream_model: model, tenant };
            most_specific(selectors.iter().enumerate().map(|(i, s)| (s, i)), &subject)
        };
        assert_eq!(pick("x", "gpt-4o-mini", None), Some(0));
        assert_eq!(pick("x", "gpt-4o", None), Some(1));
        assert_eq!(pick("chat", "gpt-4o", None), Some(2));
        assert_eq!(pick("chat", "gpt-4o", Some("acme")), Some(3));
        assert_eq!(pick("x", "claude", Some("other")), None);
        assert!(sel(None, None, None).is_empty());
    }
}
