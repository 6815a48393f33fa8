//! The lifecycle methods every typed client exposes, written once.

/// Implements the shared lifecycle methods on a typed client with a `raw`
/// field.
macro_rules! client_lifecycle {
    ($client:ident $(, $field:ident : $init:expr)*) => {
        impl $client {
            /// A client for `{run_dir}/{service}`. Does not connect: the server
            /// need not be up. Call [`Self::refresh`] from your loop.
            pub fn new(
                run_dir: impl AsRef<std::path::Path>,
                service: &str,
                config: $crate::ClientConfig,
            ) -> Self {
                Self {
                    raw: $crate::client::RawClient::new(run_dir, service, config),
                    $($field: $init,)*
                }
            }

            /// Like [`Self::new`], refusing at once a run dir or a service
            /// name that cannot name an endpoint
            /// ([`ServiceError::InvalidEndpoint`](crate::ServiceError::InvalidEndpoint)).
            /// `new` takes them, and its first `refresh()` leaves the client
            /// `Incompatible`, with the reason in
            /// [`Self::last_connect_error`].
            pub fn try_new(
                run_dir: impl AsRef<std::path::Path>,
                service: &str,
                config: $crate::ClientConfig,
            ) -> $crate::Result<Self> {
                Ok(Self {
                    raw: $crate::client::RawClient::try_new(run_dir, service, config)?,
                    $($field: $init,)*
                })
            }

            /// Where the client connects: its run dir and service name.
            pub fn endpoint(&self) -> &$crate::Endpoint {
                self.raw.endpoint()
            }

            /// Connects if not connected (or the server went away); returns
            /// whether the state changed.
            pub fn refresh(&mut self) -> bool {
                self.raw.refresh()
            }

            /// Whether calls can proceed. Cached: no syscall.
            pub fn ready(&self) -> bool {
                self.raw.ready()
            }

            /// The connection state.
            pub fn state(&self) -> $crate::ClientState {
                self.raw.state()
            }

            /// Counters and state, for diagnostics.
            pub fn status(&self) -> $crate::ClientStatus {
                self.raw.status()
            }

            /// Sets the timeout of calls that give none (zero:
            /// [`CALL_TIMEOUT_DEFAULT`](crate::CALL_TIMEOUT_DEFAULT);
            /// `Duration::MAX`: no limit).
            pub fn set_call_timeout(&mut self, timeout: std::time::Duration) {
                self.raw.set_call_timeout(timeout)
            }

            /// Why the last connection attempt failed (made by
            /// [`Self::refresh`] or by a call reconnecting), with its OS
            /// cause where there is one: the detail behind a state such as
            /// `NotFound` or `Disconnected`. `None` once a connect succeeds.
            pub fn last_connect_error(&self) -> Option<&$crate::transport::TransportError> {
                self.raw.connect_error()
            }

            /// A handle that aborts the current and later calls from any
            /// thread, until [`Self::clear_abort`]. `None` only if the
            /// process had no descriptor left for it.
            pub fn abort_handle(&self) -> Option<$crate::transport::AbortHandle> {
                self.raw.abort_handle()
            }

            /// Aborts the current call (from another thread, through
            /// [`Self::abort_handle`]) and later ones, until
            /// [`Self::clear_abort`].
            pub fn abort(&self) {
                if let Some(a) = self.raw.abort_handle() {
                    a.abort();
                }
            }

            /// Clears a raised abort signal.
            pub fn clear_abort(&self) {
                self.raw.clear_abort()
            }

            /// The session's socket while connected (`None` otherwise), for
            /// an event loop: it turns readable when the server hangs up or
            /// the connection breaks, so a loop registered for it (with
            /// `poll`, epoll or `mio`) learns when to [`Self::refresh`]
            /// without asking. Messages never need it: calls read and write
            /// the socket themselves. It changes when the client reconnects
            /// (after a refresh or a call that reconnected): register it
            /// again then. See the crate docs for an example.
            #[cfg(unix)]
            pub fn socket(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
                self.raw.session().map(std::os::fd::AsFd::as_fd)
            }

            /// The session's pipe handle while connected (`None`
            /// otherwise), for an event loop that watches the connection;
            /// it changes when the client reconnects.
            #[cfg(windows)]
            pub fn pipe(&self) -> Option<std::os::windows::io::BorrowedHandle<'_>> {
                self.raw.session().map(std::os::windows::io::AsHandle::as_handle)
            }

            /// Closes the connection; `refresh()` may connect again.
            pub fn close(&mut self) {
                self.raw.close()
            }
        }
    };
}

pub(crate) use client_lifecycle;

/// Declares a service's typed `Handler`: one optional boxed callback of
/// type `$callback`, with `Default` and a `Debug` that shows whether it is set.
macro_rules! typed_handler {
    ($(#[$doc:meta])* $callback:ty) => {
        $(#[$doc])*
        #[derive(Default)]
        pub struct Handler {
            /// The callback; `None` answers every request INTERNAL_ERROR.
            pub handle: Option<Box<$callback>>,
        }

        impl std::fmt::Debug for Handler {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct("Handler").field("handle", &self.handle.is_some()).finish()
            }
        }
    };
}

pub(crate) use typed_handler;
