//! The lookup services: CGROUPS_LOOKUP and APPS_LOOKUP.
//!
//! One logical call takes typed keys and returns one view, in request
//! order. The client splits the keys into requests that fit the session's
//! request budget, resends only the keys a server marked PAYLOAD_EXCEEDED,
//! and stitches the answers into one response payload of its own, which the
//! returned view borrows. A key too large for any request is answered
//! OVERSIZED_ITEM locally. The whole call fails when subresponses carry
//! different generations, when a response's count or echoed keys do not
//! match its request, or when a configured ceiling (items, subcalls,
//! stitched bytes) is exceeded.
//!
//! A server answers through a responder, one key at a time and in order:
//! [`next_key`](apps::AppsLookupResponder::next_key) gives the key to
//! answer, and returns `None` once every key has an item, or once the
//! response budget ran out (the responder then marked the rest
//! PAYLOAD_EXCEEDED, and the client asks for them again in its next
//! request). A callback that returns `false` fails the call with
//! INTERNAL_ERROR.
//!
//! ```
//! use netipc::service::lookup::apps::{
//!     AppsLookupClient, AppsLookupEntry, AppsLookupStatus, CgroupStatus, Handler, ManagedServer,
//!     Orchestrator,
//! };
//! use netipc::service::{ClientConfig, ServerConfig};
//!
//! let run_dir = std::env::temp_dir().join(format!("netipc-doc-lookup-{}", std::process::id()));
//! std::fs::create_dir_all(&run_dir)?;
//! let handler = Handler {
//!     handle: Some(Box::new(|r| {
//!         r.set_generation(7);
//!         while let Some(pid) = r.next_key() {
//!             let placed = if pid == 1 {
//!                 r.answer(&AppsLookupEntry {
//!                     pid,
//!                     status: AppsLookupStatus::Known,
//!                     cgroup_status: CgroupStatus::Known,
//!                     orchestrator: Orchestrator::SYSTEMD,
//!                     ppid: 0,
//!                     uid: 0,
//!                     starttime: 1,
//!                     comm: b"systemd",
//!                     cgroup_path: b"/sys/fs/cgroup/init.scope",
//!                     cgroup_name: b"init.scope",
//!                     labels: &[(b"unit".as_slice(), b"init.scope".as_slice())],
//!                 })
//!             } else {
//!                 r.not_known(AppsLookupStatus::Unknown)
//!             };
//!             if placed.is_err() {
//!                 return false;
//!             }
//!         }
//!         true
//!     })),
//! };
//! let server = ManagedServer::new(&run_dir, "apps-lookup", ServerConfig::default(), handler);
//! let answers = std::thread::scope(|s| {
//!     let (bound, is_bound) = std::sync::mpsc::channel();
//!     s.spawn(|| server.run_notify(move || bound.send(()).unwrap()));
//!     let _ = is_bound.recv();
//!     let mut client = AppsLookupClient::new(&run_dir, "apps-lookup", ClientConfig::default());
//!     client.refresh();
//!     let answers = client.call(&[1, 4242]).map(|view| {
//!         let items: Vec<_> = view.iter().map(|i| (i.pid, i.status, i.comm.to_string())).collect();
//!         (view.generation, items)
//!     });
//!     server.stop();
//!     answers
//! });
//! std::fs::remove_dir_all(&run_dir)?;
//!
//! let (generation, items) = answers.expect("the call succeeds");
//! assert_eq!(generation, 7);
//! assert_eq!(items[0], (1, AppsLookupStatus::Known, "systemd".to_string()));
//! assert_eq!(items[1], (4242, AppsLookupStatus::Unknown, String::new()));
//! # Ok::<(), std::io::Error>(())
//! ```

pub mod apps;
pub mod cgroups;

use crate::driver::ClientCore;
use crate::endpoint::Endpoint;
use crate::error::{LimitKind, Result, ServiceError};
use crate::server::Dispatch;
use crate::transport::codec::CodecError;
use crate::transport::codec::lookup::{
    AppsLookupItemView, AppsLookupStatus, CgroupsLookupItemView, CgroupsLookupStatus, LookupKind,
    LookupResponseBuilder, LookupResponseView,
};
use std::time::Instant;

/// The per-call state both lookup clients share.
pub(crate) struct Stitch {
    pub generation: Option<u64>,
    pub subcalls: u32,
    pub max_subcalls: u32,
    /// The largest answer seen so far: later requests are sized so that
    /// answers that large still fit one response.
    pub largest_answer: usize,
    /// When the logical call must be over: its cycles share one call
    /// timeout, as the reference bounds the whole logical response.
    pub deadline: Instant,
}

impl Stitch {
    pub(crate) fn new(max_subcalls: u32, deadline: Instant) -> Self {
        Self {
            generation: None,
            subcalls: 0,
            max_subcalls,
            largest_answer: 0,
            deadline,
        }
    }

    /// Counts one more request/response cycle.
    pub(crate) fn next_subcall(&mut self) -> Result<(), Fault> {
        self.subcalls += 1;
        if self.subcalls > self.max_subcalls {
            return Err(Fault::Limit(
                LimitKind::LookupSubcalls,
                None,
                u64::from(self.max_subcalls),
            ));
        }
        Ok(())
    }

    /// Every subresponse must carry the same generation.
    pub(crate) fn check_generation(&mut self, generation: u64) -> Result<(), Fault> {
        match self.generation {
            None => {
                self.generation = Some(generation);
                Ok(())
            }
            Some(g) if g == generation => Ok(()),
            Some(_) => Err(Fault::Bad("subresponses carry different generations")),
        }
    }
}

/// Response bytes, out of `room`, that a request leaves to the answer
/// of its first key beside the not-known answers of the others: half.
///
/// A server marks a first answer that does not fit there OVERSIZED_ITEM,
/// and that outcome is final (the client keeps it and never asks
/// again), while a later key that does not fit comes back
/// PAYLOAD_EXCEEDED and leads the next request. So every request keeps
/// half of the response for its first answer: one up to that size is
/// never lost. This costs requests only in calls whose answers are
/// mostly not-known (small); otherwise counting every key at the
/// largest answer seen limits a request more.
pub(crate) fn first_answer_reserve(room: usize) -> usize {
    room / 2
}

/// Checks the item count of a logical call against its ceiling.
pub(crate) fn check_items(n: usize, max: u32) -> Result<(), Fault> {
    if n > max as usize {
        return Err(Fault::Limit(
            LimitKind::LookupKeys,
            Some(n as u64),
            u64::from(max),
        ));
    }
    Ok(())
}

/// A failure of a lookup call, found where its endpoint is not at hand:
/// [`Fault::at`] names the endpoint.
#[derive(Debug)]
pub(crate) enum Fault {
    /// A response that broke the contract.
    Bad(&'static str),
    /// A ceiling of the client's: which, what was needed, the ceiling.
    Limit(LimitKind, Option<u64>, u64),
    /// A key or an answer the codec refused.
    Malformed(CodecError),
}

impl Fault {
    /// The failure, as the service reports it on `endpoint`.
    pub(crate) fn at(self, endpoint: &Endpoint) -> ServiceError {
        let endpoint = endpoint.clone();
        match self {
            Fault::Bad(what) => ServiceError::BadResponse { endpoint, what },
            Fault::Limit(limit, needed, allowed) => ServiceError::LimitExceeded {
                endpoint,
                limit,
                needed,
                allowed,
            },
            Fault::Malformed(source) => ServiceError::Malformed { endpoint, source },
        }
    }

    /// Whether the call's session stays usable: a local ceiling leaves it
    /// so, a response that broke the contract does not.
    fn keeps_session(&self) -> bool {
        matches!(self, Fault::Limit(..))
    }
}

/// Bytes the server needs, at the least, to answer one more key whose
/// not-known item takes `stub` bytes: its directory entry and the item.
pub(crate) fn response_floor(stub: usize) -> usize {
    crate::transport::codec::DIR_ENTRY_SIZE + crate::transport::codec::align8(stub)
}

/// Runs a lookup server's callback over one request: the responder as
/// `started`, filled by `handle`, closed by `finish`. A response budget too
/// small even for an answer that defers every key is an overflow (the
/// server answers LIMIT_EXCEEDED and learns a larger budget); any other
/// failure is the handler's.
pub(crate) fn respond<R>(
    started: core::result::Result<R, CodecError>,
    handle: impl FnOnce(&mut R) -> bool,
    finish: impl FnOnce(R) -> core::result::Result<usize, CodecError>,
) -> Dispatch {
    let mut r = match started {
        Ok(r) => r,
        Err(CodecError::LimitExceeded { .. }) => return Dispatch::Overflow,
        Err(_) => return Dispatch::Failed,
    };
    if !handle(&mut r) {
        return Dispatch::Failed;
    }
    match finish(r) {
        Ok(_) => Dispatch::Done,
        Err(_) => Dispatch::Failed,
    }
}

/// Maps a stitching failure: a full stitched buffer is a ceiling, anything
/// else is a response that broke the contract.
pub(crate) fn stitch_error(e: CodecError) -> Fault {
    match e {
        CodecError::LimitExceeded { need, limit } => {
            Fault::Limit(LimitKind::LookupStitchedBytes, Some(need as u64), limit as u64)
        }
        other => Fault::Malformed(other),
    }
}

/// What stitching reads of a response item answering a key of type `Key`.
pub(crate) trait Answer<'a, Key>: Copy {
    /// Why a response is refused when an item does not echo its key.
    const NOT_ECHOED: &'static str;
    /// Whether the item echoes `key`.
    fn echoes(&self, key: &Key) -> bool;
    /// Whether the server ran out of room at this item (PAYLOAD_EXCEEDED).
    fn exceeded(&self) -> bool;
    /// The item's wire bytes.
    fn bytes(&self) -> &'a [u8];
}

impl<'a, P: AsRef<[u8]>> Answer<'a, P> for CgroupsLookupItemView<'a> {
    const NOT_ECHOED: &'static str = "response item does not echo its request path";
    fn echoes(&self, key: &P) -> bool {
        self.path.as_bytes() == key.as_ref()
    }
    fn exceeded(&self) -> bool {
        self.status == CgroupsLookupStatus::PayloadExceeded
    }
    fn bytes(&self) -> &'a [u8] {
        self.as_bytes()
    }
}

impl<'a> Answer<'a, u32> for AppsLookupItemView<'a> {
    const NOT_ECHOED: &'static str = "response item does not echo its request PID";
    fn echoes(&self, pid: &u32) -> bool {
        self.pid == *pid
    }
    fn exceeded(&self) -> bool {
        self.status == AppsLookupStatus::PayloadExceeded
    }
    fn bytes(&self) -> &'a [u8] {
        self.as_bytes()
    }
}

/// Checks one subresponse against the `keys` it answers and copies its
/// answered prefix into `out`.
fn stitch<'v, K: LookupKind, Key>(
    view: &LookupResponseView<'v, K>,
    keys: &[Key],
    st: &mut Stitch,
    out: &mut LookupResponseBuilder<'_, K>,
) -> Result<usize, Fault>
where
    K::ItemView<'v>: Answer<'v, Key>,
{
    if view.item_count as usize != keys.len() {
        return Err(Fault::Bad("response item count differs from the request"));
    }
    st.check_generation(view.generation)?;
    let not_echoed = || Fault::Bad(<K::ItemView<'v> as Answer<'v, Key>>::NOT_ECHOED);
    let mut answered = 0;
    let mut items = view.iter().zip(keys);
    while let Some((item, key)) = items.next() {
        if !item.echoes(key) {
            return Err(not_echoed());
        }
        if item.exceeded() {
            // The server marks this item and every one after it.
            for (rest, key) in items {
                if !rest.echoes(key) {
                    return Err(not_echoed());
                }
                if !rest.exceeded() {
                    return Err(Fault::Bad("an answer follows a PAYLOAD_EXCEEDED item"));
                }
            }
            break;
        }
        out.add_item_bytes(item.bytes()).map_err(stitch_error)?;
        st.largest_answer = st.largest_answer.max(item.bytes().len());
        answered += 1;
    }
    Ok(answered)
}

/// Takes the answer `payload` to one request of a logical call, which
/// asked for `keys`: checks it and stitches its answered prefix into
/// `out`, and returns how many keys it answered for good (an
/// OVERSIZED_ITEM answer is final). A response that breaks the contract
/// poisons the session.
pub(crate) fn stitch_answer<K: LookupKind, Key>(
    core: &ClientCore,
    payload: &[u8],
    keys: &[Key],
    st: &mut Stitch,
    out: &mut LookupResponseBuilder<'_, K>,
) -> Result<usize>
where
    for<'v> K::ItemView<'v>: Answer<'v, Key>,
{
    let view = core.decode(payload, LookupResponseView::<K>::decode)?;
    let answered = stitch(&view, keys, st, out).map_err(|f| {
        if !f.keeps_session() {
            core.poison()
        }
        f.at(core.endpoint())
    })?;
    if answered == 0 && !keys.is_empty() {
        // The first item PAYLOAD_EXCEEDED: asking again would loop.
        core.poison();
        return Err(core.bad_response("a lookup response made no progress"));
    }
    Ok(answered)
}
