//! `ravand_cardholder_upload`: the spec's one multipart body. progenitor cannot take
//! multipart/form-data, so build.rs leaves it out of the generated client and this is its typed call.
use crate::{client::Client, error::Error, generated::operations::Operation};

impl Client {
    /// `POST /v1/business/{business}/ravand/provider/{provider}/cardholder/{cardholder_id}/upload`:
    /// uploads the cardholder's identity documents as multipart/form-data.
    ///
    /// The documents give no form field names (`x-vandar-detail: listed-only`), so the form is yours
    /// to fill, and the answer is returned as the JSON object Vandar sends. Sent once, never repeated
    /// (a streamed body cannot be).
    pub async fn ravand_cardholder_upload(
        &self,
        provider: &str,
        cardholder_id: &str,
        form: reqwest::multipart::Form,
    ) -> Result<serde_json::Map<String, serde_json::Value>, Error> {
        let business = self.business()?;
        let operation = Operation::RavandCardholderUpload;
        let values = [("business", business), ("provider", provider), ("cardholder_id", cardholder_id)];
        let url = url::Url::parse(&operation.url(self.base_url(operation.host()), &values)).map_err(|e| Error::invalid("base_url", e.to_string()))?;
        let request = self.transport().http.post(url).header("accept", "application/json").multipart(form).build().map_err(Error::transport)?;
        let response = self.transport().execute_operation(operation, request).await.map_err(Error::transport)?;
        if !response.status().is_success() {
            return Err(crate::error::from_response(&response));
        }
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(Error::transport)?;
        serde_json::from_slice(&body).map_err(|e| Error::Undecodable {
            status: Some(status),
            reason: e.to_string(),
            snippet: crate::error::snippet(&body),
        })
    }
}
