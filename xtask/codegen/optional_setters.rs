//! Pass over typify's struct builders: the setter of an optional field takes the value itself
//! (`.description("Order 1001")`, `.amount(Rials(5_000))`), and `maybe_<field>` takes an `Option`
//! (typify's original setter, which wanted `Option<..>: From<&str>` and so refused a `&str`).
//!
//! typify lacks it because its setters convert into the field's type, `Option<T>`. Safe: both
//! setters store the same field, and a failed conversion still surfaces at `send()`, naming the field.

use super::spec::RequestTypes;

/// The pass (see the module docs).
pub struct OptionalSetters<'a> {
    /// Answers' builders keep typify's setters.
    pub requests: &'a RequestTypes,
}

impl syn::visit_mut::VisitMut for OptionalSetters<'_> {
    fn visit_item_impl_mut(&mut self, block: &mut syn::ItemImpl) {
        let name = quote::ToTokens::to_token_stream(&block.self_ty).to_string();
        if block.trait_.is_some() || !self.requests.includes(&name) {
            return syn::visit_mut::visit_item_impl_mut(self, block);
        }
        let mut added = Vec::new();
        for item in &mut block.items {
            let syn::ImplItem::Fn(setter) = item else { continue };
            let Some(inner) = optional_setter_type(setter) else { continue };
            let name = setter.sig.ident.clone();
            let maybe = syn::Ident::new(&format!("maybe_{name}"), name.span());
            let message = format!("error converting supplied value for {name}: {{}}");
            let mut original = setter.clone();
            original.sig.ident = maybe;
            original.attrs.push(syn::parse_quote!(#[doc = concat!("Sets `", stringify!(#name), "` from an `Option`; `None` leaves it out of the request.")]));
            *setter = syn::parse_quote! {
                #[doc = concat!("Sets `", stringify!(#name), "` (optional: leave it out by not calling this, or use `maybe_", stringify!(#name), "`).")]
                pub fn #name<T>(mut self, value: T) -> Self
                where
                    T: ::std::convert::TryInto<#inner>,
                    T::Error: ::std::fmt::Display,
                {
                    self.#name = value.try_into().map(Some).map_err(|e| format!(#message, e));
                    self
                }
            };
            added.push(syn::ImplItem::Fn(original));
        }
        block.items.extend(added);
        syn::visit_mut::visit_item_impl_mut(self, block);
    }
}

/// `X` of a setter bounded by `T: TryInto<Option<X>>`.
fn optional_setter_type(setter: &syn::ImplItemFn) -> Option<syn::Type> {
    let predicates = &setter.sig.generics.where_clause.as_ref()?.predicates;
    predicates.iter().find_map(|predicate| {
        let syn::WherePredicate::Type(bound) = predicate else { return None };
        bound.bounds.iter().find_map(|b| {
            let syn::TypeParamBound::Trait(t) = b else { return None };
            let try_into = t.path.segments.last().filter(|s| s.ident == "TryInto")?;
            let syn::PathArguments::AngleBracketed(args) = &try_into.arguments else { return None };
            let Some(syn::GenericArgument::Type(option)) = args.args.first() else { return None };
            let syn::Type::Path(option) = option else { return None };
            let option = option.path.segments.last().filter(|s| s.ident == "Option")?;
            let syn::PathArguments::AngleBracketed(args) = &option.arguments else { return None };
            match args.args.first()? {
                syn::GenericArgument::Type(inner) => Some(inner.clone()),
                _ => None,
            }
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::ToTokens;
    use std::collections::BTreeSet;

    fn file() -> syn::File {
        syn::parse_quote! {
            impl SettlementStoreRequest {
                pub fn description<T>(mut self, value: T) -> Self
                where
                    T: ::std::convert::TryInto<::std::option::Option<::std::string::String>>,
                    T::Error: ::std::fmt::Display,
                {
                    self.description = value.try_into().map_err(|e| format!("error converting supplied value for description: {}", e));
                    self
                }
            }
            impl SettlementStoreResponse {
                pub fn message<T>(mut self, value: T) -> Self
                where
                    T: ::std::convert::TryInto<::std::option::Option<::std::string::String>>,
                    T::Error: ::std::fmt::Display,
                {
                    self
                }
            }
        }
    }

    #[test]
    fn a_request_setter_takes_the_value_and_maybe_takes_the_option() {
        let mut file = file();
        let requests = RequestTypes(BTreeSet::from(["SettlementStoreRequest".to_string()]));
        syn::visit_mut::VisitMut::visit_file_mut(&mut OptionalSetters { requests: &requests }, &mut file);
        let text = file.to_token_stream().to_string();
        assert!(text.contains("pub fn description < T > (mut self , value : T) -> Self where T : :: std :: convert :: TryInto < :: std :: string :: String >"), "{text}");
        assert!(text.contains("self . description = value . try_into () . map (Some)"), "{text}");
        assert!(text.contains("pub fn maybe_description < T >"), "{text}");
        // An answer's builder keeps typify's setter.
        assert!(!text.contains("maybe_message"), "{text}");
    }
}
