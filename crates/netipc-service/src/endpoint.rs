//! Where a client or a server meets its peers.

use crate::transport::TransportError;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A service's endpoint: a run dir and a service name (on POSIX the
/// socket `{run_dir}/{service}.sock`, on Windows a pipe named after both).
/// Errors carry it, so a message says where it happened. Cheap to clone.
///
/// ```
/// use netipc::service::Endpoint;
/// let e = Endpoint::new("/run/netdata", "cgroups-snapshot");
/// assert_eq!(e.to_string(), "cgroups-snapshot in /run/netdata");
/// assert!(e.validate().is_ok());
/// assert!(Endpoint::new("", "cgroups-snapshot").validate().is_err());
/// assert!(Endpoint::new("/run/netdata", "a/b").validate().is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Endpoint(Arc<Parts>);

#[derive(PartialEq, Eq, Hash)]
struct Parts {
    run_dir: PathBuf,
    service: String,
}

impl Endpoint {
    /// The endpoint of `service` in `run_dir`; nothing is checked yet.
    pub fn new(run_dir: impl AsRef<Path>, service: &str) -> Self {
        Self(Arc::new(Parts {
            run_dir: run_dir.as_ref().to_path_buf(),
            service: service.to_string(),
        }))
    }

    /// The run dir.
    pub fn run_dir(&self) -> &Path {
        &self.0.run_dir
    }

    /// The service name.
    pub fn service(&self) -> &str {
        &self.0.service
    }

    /// Checks that the run dir and the service name can name an endpoint
    /// on this platform: a run dir that is not empty, a service name of
    /// the protocol's characters, and a socket path or pipe name that fits.
    pub fn validate(&self) -> Result<(), TransportError> {
        crate::platform::endpoint_name(self.run_dir(), self.service()).map(drop)
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} in {}", self.service(), self.run_dir().display())
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("run_dir", &self.run_dir())
            .field("service", &self.service())
            .finish()
    }
}
