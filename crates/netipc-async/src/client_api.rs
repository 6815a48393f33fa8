//! The lifecycle methods every async typed client exposes, written once.

/// Implements the shared lifecycle methods on an async typed client with a
/// `raw` field.
macro_rules! client_lifecycle {
    ($client:ident $(, $field:ident : $init:expr)*) => {
        impl $client {
            /// A client for `{run_dir}/{service}`. Does not connect: the
            /// server need not be up. Call [`Self::refresh`] from your task.
            pub fn new(
                run_dir: impl AsRef<std::path::Path>,
                service: &str,
                config: netipc_service::ClientConfig,
            ) -> Self {
                Self {
                    raw: $crate::client::RawClient::new(run_dir, service, config),
                    $($field: $init,)*
                }
            }

            /// Like [`Self::new`], refusing at once a run dir or a service
            /// name that cannot name an endpoint
            /// ([`ServiceError::InvalidEndpoint`](netipc_service::ServiceError::InvalidEndpoint)).
            pub fn try_new(
                run_dir: impl AsRef<std::path::Path>,
                service: &str,
                config: netipc_service::ClientConfig,
            ) -> netipc_service::Result<Self> {
                Ok(Self {
                    raw: $crate::client::RawClient::try_new(run_dir, service, config)?,
                    $($field: $init,)*
                })
            }

            /// Where the client connects: its run dir and service name.
            pub fn endpoint(&self) -> &netipc_service::Endpoint {
                self.raw.core.endpoint()
            }

            /// Connects if not connected (or the server went away); returns
            /// whether the state changed. The connect and its handshake run
            /// on the runtime's blocking pool.
            ///
            /// Cancel safe: dropped before it completes, the client is left
            /// not ready (or with the session it had), and a later refresh
            /// connects again.
            pub async fn refresh(&mut self) -> bool {
                self.raw.refresh().await
            }

            /// Whether calls can proceed. Cached: no syscall.
            pub fn ready(&self) -> bool {
                self.raw.core.ready()
            }

            /// The connection state.
            pub fn state(&self) -> netipc_service::ClientState {
                self.raw.core.state()
            }

            /// Counters and state, for diagnostics.
            pub fn status(&self) -> netipc_service::ClientStatus {
                self.raw.core.status()
            }

            /// Sets the timeout of calls that give none (zero:
            /// [`CALL_TIMEOUT_DEFAULT`](netipc_service::CALL_TIMEOUT_DEFAULT);
            /// `Duration::MAX`: no limit). Timeouts run on tokio's clock.
            pub fn set_call_timeout(&mut self, timeout: std::time::Duration) {
                self.raw.core.set_call_timeout(timeout)
            }

            /// Why the last connection attempt failed, with its OS cause
            /// where there is one. `None` once a connect succeeds.
            pub fn last_connect_error(&self) -> Option<&netipc_service::transport::TransportError> {
                self.raw.core.connect_error()
            }

            /// A handle that aborts the current and later calls from any
            /// thread or task, until [`Self::clear_abort`].
            pub fn abort_handle(&self) -> $crate::AbortHandle {
                self.raw.abort_handle()
            }

            /// Aborts the current call (from elsewhere, through
            /// [`Self::abort_handle`]) and later ones, until
            /// [`Self::clear_abort`].
            pub fn abort(&self) {
                self.raw.abort_handle().abort()
            }

            /// Clears a raised abort signal.
            pub fn clear_abort(&self) {
                self.raw.abort_handle().clear()
            }

            /// Closes the connection; `refresh()` may connect again.
            pub fn close(&mut self) {
                self.raw.close()
            }
        }
    };
}

pub(crate) use client_lifecycle;
