//! Pass over progenitor's output: each operation builder's `send()` returns
//! `Result<T, crate::Error>`, the answer itself and the crate's one error type; progenitor's own
//! `send` (`Result<ResponseValue<T>, progenitor_client::Error<()>>`, with the status and headers)
//! stays as `send_with_headers`, the low-level form.
//!
//! progenitor lacks it because its error type is generic over the spec's error schemas, which
//! build.rs drops (see hosts.rs). Safe: the new `send` only calls the original and converts
//! both sides with `ResponseValue::into_inner` and `From<progenitor_client::Error<E>> for Error`.

/// The pass (see the module docs).
pub struct SendReturnsValue;

impl syn::visit_mut::VisitMut for SendReturnsValue {
    fn visit_item_impl_mut(&mut self, block: &mut syn::ItemImpl) {
        let mut added = Vec::new();
        for item in &mut block.items {
            let syn::ImplItem::Fn(send) = item else { continue };
            let Some(answer) = (send.sig.ident == "send").then(|| response_value_type(&send.sig.output)).flatten() else { continue };
            let docs: Vec<syn::Attribute> = send.attrs.iter().filter(|a| a.path().is_ident("doc")).cloned().collect();
            send.sig.ident = syn::parse_quote!(send_with_headers);
            send.attrs.push(syn::parse_quote!(
                #[doc = "\n\nThe low-level form of `send`: Vandar's status and headers with the answer (`ResponseValue`), and progenitor's error type."]
            ));
            added.push(syn::ImplItem::Fn(syn::parse_quote! {
                #(#docs)*
                pub async fn send(self) -> Result<#answer, crate::Error> {
                    self.send_with_headers().await.map(ResponseValue::into_inner).map_err(crate::Error::from)
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
    fn send_returns_the_answer_and_the_original_stays_as_send_with_headers() {
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
        assert!(text.contains("pub async fn send_with_headers (self) -> Result < ResponseValue < types :: BalanceResponse > , Error < () > >"), "{text}");
        assert!(text.contains("pub async fn send (self) -> Result < types :: BalanceResponse , crate :: Error >"), "{text}");
        assert!(text.contains("self . send_with_headers () . await . map (ResponseValue :: into_inner) . map_err (crate :: Error :: from)"), "{text}");
        // The new send keeps the original's docs.
        assert_eq!(text.matches("Sends a `GET` request.").count(), 2, "{text}");
    }
}
