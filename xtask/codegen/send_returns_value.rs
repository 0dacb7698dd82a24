//! Pass over progenitor's output: each operation builder's `send()` returns
//! `Result<T, crate::Error>`, the answer itself and the crate's one error type, and
//! `send_with_headers()` returns `Result<ResponseValue<T>, crate::Error>`, the answer with Vandar's
//! status and headers and the same error type. progenitor's own `send`
//! (`Result<ResponseValue<T>, progenitor_client::Error<()>>`) stays, private, as `send_unconverted`.
//!
//! progenitor lacks it because its error type is generic over the spec's error schemas, which
//! build.rs drops (see hosts.rs). Safe: the new methods only call the original and convert the
//! error with `From<progenitor_client::Error<E>> for Error` (and the answer with
//! `ResponseValue::into_inner`).

/// The pass (see the module docs).
pub struct SendReturnsValue;

impl syn::visit_mut::VisitMut for SendReturnsValue {
    fn visit_item_impl_mut(&mut self, block: &mut syn::ItemImpl) {
        let mut added = Vec::new();
        for item in &mut block.items {
            let syn::ImplItem::Fn(send) = item else { continue };
            let Some(answer) = (send.sig.ident == "send").then(|| response_value_type(&send.sig.output)).flatten() else { continue };
            let docs: Vec<syn::Attribute> = send.attrs.iter().filter(|a| a.path().is_ident("doc")).cloned().collect();
            send.sig.ident = syn::parse_quote!(send_unconverted);
            send.vis = syn::Visibility::Inherited;
            send.attrs.retain(|a| !a.path().is_ident("doc"));
            send.attrs.push(syn::parse_quote!(#[doc = "progenitor's `send`, with its own error type; `send` and `send_with_headers` convert it."]));
            added.push(syn::ImplItem::Fn(syn::parse_quote! {
                #(#docs)*
                #[doc = "\n\nWith Vandar's status and headers: `send_with_headers()` (the same error type)."]
                pub async fn send(self) -> Result<#answer, crate::Error> {
                    self.send_unconverted().await.map(ResponseValue::into_inner).map_err(crate::Error::from)
                }
            }));
            added.push(syn::ImplItem::Fn(syn::parse_quote! {
                #(#docs)*
                #[doc = "\n\nThe answer with Vandar's status and headers (`ResponseValue`; `.into_inner()` is the answer), and `vandar::Error`."]
                pub async fn send_with_headers(self) -> Result<ResponseValue<#answer>, crate::Error> {
                    self.send_unconverted().await.map_err(crate::Error::from)
                }
            }));
        }
        block.items.extend(added);
        syn::visit_mut::visit_item_impl_mut(self, block);
    }
}


/// `T` of a `Result<ResponseValue<T>, _>` return type.
fn response_value_type(output: &syn::ReturnType) -> Option<syn::Type> {
    let syn::ReturnType::Type(_, result) = output else { return None };
    let first_argument = |ty: &syn::Type, name: &str| {
        let syn::Type::Path(path) = ty else { return None };
        let last = path.path.segments.last().filter(|s| s.ident == name)?;
        let syn::PathArguments::AngleBracketed(arguments) = &last.arguments else { return None };
        match arguments.args.first()? {
            syn::GenericArgument::Type(inner) => Some(inner.clone()),
            _ => None,
        }
    };
    first_argument(&first_argument(result, "Result")?, "ResponseValue")
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::ToTokens;

    #[test]
    fn send_and_send_with_headers_return_the_crates_error() {
        let mut file: syn::File = syn::parse_quote! {
            impl<'a> Balance<'a> {
                #[doc = "Sends a `GET` request."]
                pub async fn send(self) -> Result<ResponseValue<types::BalanceResponse>, Error<()>> {
                    todo!()
                }
            }
        };
        syn::visit_mut::VisitMut::visit_file_mut(&mut SendReturnsValue, &mut file);
        let text = file.to_token_stream().to_string();
        assert!(text.contains("async fn send_unconverted (self) -> Result < ResponseValue < types :: BalanceResponse > , Error < () > >"), "{text}");
        assert!(!text.contains("pub async fn send_unconverted"), "the original is private: {text}");
        assert!(text.contains("pub async fn send (self) -> Result < types :: BalanceResponse , crate :: Error >"), "{text}");
        assert!(text.contains("self . send_unconverted () . await . map (ResponseValue :: into_inner) . map_err (crate :: Error :: from)"), "{text}");
        assert!(text.contains("pub async fn send_with_headers (self) -> Result < ResponseValue < types :: BalanceResponse > , crate :: Error >"), "{text}");
        // The new methods keep the original's docs.
        assert_eq!(text.matches("Sends a `GET` request.").count(), 2, "{text}");
    }
}
