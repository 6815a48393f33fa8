//! The one place that names the platform's transport: UDS (with Linux
//! shared memory) on POSIX, the Named Pipe on Windows. Clients and servers
//! use these aliases and never name a transport themselves.

#[cfg(windows)]
use crate::transport::TransportError;
use crate::transport::{AbortHandle, Result};

#[cfg(unix)]
pub(crate) use crate::transport::posix::{
    PendingSession as Pending, UdsListener as Listener, UdsSession as Session,
};
#[cfg(windows)]
pub(crate) use crate::transport::windows::{
    NpListener as Listener, NpPending as Pending, NpSession as Session,
};

/// What waiting for a connection produced.
pub(crate) enum Next {
    /// A client to handshake.
    Connection(Box<Pending>),
    /// This attempt failed (out of descriptors, the client already left);
    /// the listener is still good.
    Transient,
}

/// Waits for the next connection, or `stop`. `Err(Aborted)` means stop;
/// any other `Err` means the listener itself failed.
#[cfg(unix)]
pub(crate) fn next_connection(listener: &Listener, stop: &AbortHandle) -> Result<Next> {
    listener.wait_acceptable(Some(stop), None)?;
    Ok(match listener.accept_connection() {
        Ok(p) => Next::Connection(Box::new(p)),
        Err(_) => Next::Transient,
    })
}

/// Waits for the next connection, or `stop`. `Err(Aborted)` means stop;
/// every other failure concerns one pipe instance and is transient.
#[cfg(windows)]
pub(crate) fn next_connection(listener: &Listener, stop: &AbortHandle) -> Result<Next> {
    match listener.accept_connection(Some(stop)) {
        Ok(p) => Ok(Next::Connection(Box::new(p))),
        Err(TransportError::Aborted) => Err(TransportError::Aborted),
        Err(_) => Ok(Next::Transient),
    }
}

/// The endpoint's socket path, checked: the run dir is not empty, the
/// service name follows the protocol's rule, and the path fits.
#[cfg(unix)]
pub(crate) fn endpoint_name(run_dir: &std::path::Path, service: &str) -> Result<String> {
    crate::transport::posix::endpoint_path(run_dir, service).map(|p| p.display().to_string())
}

/// The endpoint's pipe name, checked: the run dir is not empty, the service
/// name follows the protocol's rule, and the name fits.
#[cfg(windows)]
pub(crate) fn endpoint_name(run_dir: &std::path::Path, service: &str) -> Result<String> {
    crate::transport::names::validate_run_dir(run_dir)?;
    crate::transport::names::pipe_name(&run_dir.to_string_lossy(), service)
}
