//! The send path of every generated call: progenitor's `ClientHooks::exec` owns the send.
use std::sync::Arc;

/// State shared by the generated clients of every host (tokens, limiter, configuration).
#[derive(Clone, Default)]
pub struct Inner {
    pub(crate) shared: Arc<Shared>,
}

#[derive(Default)]
pub(crate) struct Shared {}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner").finish_non_exhaustive()
    }
}

macro_rules! hooks {
    ($($feature:literal => $module:ident),*) => {$(
        #[cfg(feature = $feature)]
        impl progenitor_client::ClientHooks<Inner> for crate::generated::$module::Client {}
    )*};
}
hooks!("api" => api, "ipg" => ipg, "batch" => batch, "subscription" => subscription);
