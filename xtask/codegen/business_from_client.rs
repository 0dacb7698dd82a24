//! Pass over progenitor's output: every operation builder's `business` path parameter starts as
//! the business slug the `Client` was configured with, instead of "not initialized".
//!
//! progenitor lacks it because a path parameter has no default; 92 of the api host's operations
//! take the slug and a `Client` serves one business. Safe: the builder's `.business(..)` setter
//! still overrides it, and a client without a slug fails the call before sending, as before,
//! with a message naming both ways to give one.

/// The pass (see the module docs).
pub struct BusinessFromClient;

impl syn::visit_mut::VisitMut for BusinessFromClient {
    fn visit_expr_struct_mut(&mut self, init: &mut syn::ExprStruct) {
        for field in &mut init.fields {
            let named_business = matches!(&field.member, syn::Member::Named(name) if name == "business");
            let uninitialized = quote::ToTokens::to_token_stream(&field.expr).to_string().contains("was not initialized");
            if named_business && uninitialized {
                field.expr = syn::parse_quote!(client.inner.business());
            }
        }
        syn::visit_mut::visit_expr_struct_mut(self, init);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::ToTokens;

    #[test]
    fn an_uninitialized_business_starts_from_the_client() {
        let mut file: syn::File = syn::parse_quote! {
            impl<'a> SettlementList<'a> {
                pub fn new(client: &'a super::Client) -> Self {
                    Self {
                        client: client,
                        business: Err("business was not initialized".to_string()),
                        page: Ok(None),
                    }
                }
            }
        };
        syn::visit_mut::VisitMut::visit_file_mut(&mut BusinessFromClient, &mut file);
        let text = file.to_token_stream().to_string();
        assert!(text.contains("business : client . inner . business ()"), "{text}");
        assert!(text.contains("page : Ok (None)"), "{text}");
        assert!(!text.contains("was not initialized"), "{text}");
    }
}
