//! `#[test]` for wasm-bindgen-test. Its runner finds only the functions marked
//! `#[wasm_bindgen_test]`: a plain `#[test]` compiles for wasm32-unknown-unknown and is silently
//! never run. This `test` attribute puts that mark on the function; the function's other
//! attributes (`#[ignore]`, `#[should_panic]`) follow it, and wasm-bindgen-test reads them.

use proc_macro::{Delimiter, Group, Ident, Punct, Spacing, Span, TokenStream, TokenTree};

/// `#[test] fn f() {}` becomes `#[::wasm_bindgen_test::wasm_bindgen_test] fn f() {}`.
#[proc_macro_attribute]
pub fn test(_args: TokenStream, item: TokenStream) -> TokenStream {
    let mut path = TokenStream::new();
    for segment in ["wasm_bindgen_test", "wasm_bindgen_test"] {
        path.extend([
            TokenTree::from(Punct::new(':', Spacing::Joint)),
            TokenTree::from(Punct::new(':', Spacing::Alone)),
            TokenTree::from(Ident::new(segment, Span::call_site())),
        ]);
    }
    let mut out = TokenStream::from_iter([
        TokenTree::from(Punct::new('#', Spacing::Alone)),
        TokenTree::from(Group::new(Delimiter::Bracket, path)),
    ]);
    out.extend(item);
    out
}
