//! The backend policy at the moment of connecting: names resolve only to the addresses the
//! policy (`domain::policy`) permits, so DNS cannot send a connection where an address would
//! be refused.

use std::net::SocketAddr;
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

pub use crate::domain::policy::BackendPolicy;

/// Resolves names for the backend client, keeping only the addresses the policy permits.
pub struct PolicyResolver(pub Arc<BackendPolicy>);

#[derive(Debug, thiserror::Error)]
#[error("no address of '{0}' is permitted by the backend policy")]
pub struct Refused(String);

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.0.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let permitted: Vec<SocketAddr> =
                found.filter(|a| policy.permits(&host, a.ip())).collect();
            if permitted.is_empty() {
                return Err(Box::new(Refused(host)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(permitted.into_iter()) as Addrs)
        })
    }
}
