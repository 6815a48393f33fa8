//! The Level 2 policy without its I/O, for the drivers that do the I/O:
//! the blocking clients and managed servers of this crate, and the async
//! ones of `netipc-async`. Applications use the typed clients and servers;
//! this module is for code that drives sessions itself.
//!
//! - [`ClientCore`] holds a client's state, counters and request buffer,
//!   decides after each connect attempt ([`ClientCore::connect_failed`]),
//!   and plans each call ([`Call`]): send, reconnect and resend once after
//!   a failure (at least once), reconnect with larger capacities after an
//!   overflow (at most [`OVERFLOW_RETRIES_MAX`](crate::OVERFLOW_RETRIES_MAX)
//!   times), or fail with a typed error that names the endpoint.
//! - [`calls`] encodes the requests and decodes the answers of the
//!   single-cycle methods; [`CgroupsLookupCall`] and [`AppsLookupCall`]
//!   split a logical lookup into requests and stitch the answers.
//! - [`SessionCore`] turns one received request into the answer a server
//!   session sends (handler dispatch, panics caught, answers sized against
//!   the session's budget, UNSUPPORTED and LIMIT_EXCEEDED), and
//!   [`ResponseSizing`] learns the response size later sessions are offered.
//!
//! A driver's call loop, in outline (the blocking client's, with the I/O
//! in place of the comments):
//!
//! ```text
//! let spec = calls::increment_request(&mut core, 41);
//! let mut call = core.begin_call(spec, deadline, false, aborted)?;
//! let mut step = call.start(&mut core, aborted);
//! let header = loop {
//!     step = match step {
//!         Step::Send(h) => call.answered(&mut core, /* send, receive */),
//!         Step::Reconnect => call.reconnected(&mut core, /* connect */ aborted),
//!         Step::Done(h) => break h,
//!         Step::Failed(e) => return Err(e),
//!     };
//! };
//! let answer = calls::increment_answer(&core, /* the payload received */)?;
//! ```

pub mod calls;
mod core;
mod lookup;
mod session;

pub use self::core::{Call, CallSpec, ClientCore, Connect, SessionInfo, Step};
pub use lookup::{AppsLookupCall, CgroupsLookupCall};
pub use session::{Answer, ResponseSizing, SessionCore, listener_config, session_limit};
