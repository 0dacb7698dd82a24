//! Pass over progenitor's output: no `api-version` header. progenitor sends the spec's
//! `info.version` in it on every request; Vandar documents no such header, and removing it again in
//! the transport cost every call a header insert and a removal.
//!
//! Safe: the statement only appends to the request's header map, which is still built and sent.

/// The pass (see the module docs).
pub struct NoApiVersionHeader;

impl syn::visit_mut::VisitMut for NoApiVersionHeader {
    fn visit_block_mut(&mut self, block: &mut syn::Block) {
        // Only progenitor's `header_map.append(HeaderName::from_static("api-version"), ..);`.
        block.stmts.retain(|stmt| {
            let text = quote::ToTokens::to_token_stream(stmt).to_string();
            !(text.starts_with("header_map . append (") && text.contains("from_static (\"api-version\")"))
        });
        syn::visit_mut::visit_block_mut(self, block);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::ToTokens;

    #[test]
    fn only_the_api_version_append_goes() {
        let mut file: syn::File = syn::parse_quote! {
            fn send() {
                let mut header_map = ::reqwest::header::HeaderMap::with_capacity(2usize);
                header_map.append(::reqwest::header::HeaderName::from_static("api-version"), ::reqwest::header::HeaderValue::from_static("3"));
                header_map.append(::reqwest::header::HeaderName::from_static("x-signature"), value);
            }
        };
        syn::visit_mut::VisitMut::visit_file_mut(&mut NoApiVersionHeader, &mut file);
        let text = file.to_token_stream().to_string();
        assert!(!text.contains("api-version"), "{text}");
        assert!(text.contains("x-signature"), "{text}");
        assert!(text.contains("with_capacity"), "{text}");
    }
}
