//! A server session's policy without its I/O: what to answer to each
//! request, and the response size later sessions are offered.

use crate::config::ServerConfig;
use crate::peer::PeerScope;
use crate::server::{Dispatch, ServiceHandler};
use crate::transport::PeerCredentials;
use crate::transport::codec::{
    BatchBuilder, BatchView, FLAG_BATCH, Header, Kind, STATUS_BAD_ENVELOPE, STATUS_INTERNAL_ERROR,
    STATUS_LIMIT_EXCEEDED, STATUS_OK, STATUS_UNSUPPORTED,
};
use crate::transport::handshake::SessionParams;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU32, Ordering};

/// The response payload size a server's sessions are offered: it starts at
/// the configured size and grows to what answers have needed, up to the
/// configured ceiling. Shared by every session of one server.
#[derive(Debug)]
pub struct ResponseSizing {
    learned: AtomicU32,
    ceiling: u32,
}

impl ResponseSizing {
    /// The sizing of a server configured with `config`.
    pub fn new(config: &ServerConfig) -> Self {
        Self {
            learned: AtomicU32::new(config.initial_response()),
            ceiling: config.response_ceiling(),
        }
    }

    /// The response payload size the next session is offered (set it on
    /// the pending session's configuration before its handshake).
    pub fn offer(&self) -> u32 {
        self.learned.load(Ordering::Acquire)
    }

    /// The largest response payload any session may be offered.
    pub fn ceiling(&self) -> u32 {
        self.ceiling
    }

    /// Notes that a session needed `len` bytes of response payload: later
    /// sessions are offered the next power of two, within the ceiling.
    pub fn note(&self, len: u32) {
        let len = len
            .checked_next_power_of_two()
            .unwrap_or(u32::MAX)
            .min(self.ceiling);
        // Most answers are no larger than what was learned already: a plain
        // load then leaves the line that every session shares alone,
        // instead of a locked read-modify-write per answer.
        if len > self.learned.load(Ordering::Acquire) {
            self.learned.fetch_max(len, Ordering::AcqRel);
        }
    }
}

/// What a session sends after one request.
#[derive(Debug)]
pub struct Answer<'a> {
    /// The response header (`payload_len` is set by the transport).
    pub header: Header,
    /// The response payload.
    pub payload: &'a [u8],
    /// Whether the session closes once this is sent: a terminal service
    /// error (INTERNAL_ERROR, BAD_ENVELOPE, LIMIT_EXCEEDED) ends it.
    pub close: bool,
    /// What the handler panicked with, if it did (the answer is then
    /// INTERNAL_ERROR), for the server's log.
    pub panic: Option<Box<dyn std::any::Any + Send>>,
}

/// One server session's answering state: its budgets and buffers, reused
/// for every request.
#[derive(Debug)]
pub struct SessionCore {
    /// The session's response payload budget.
    limit: usize,
    /// How far an answer may be built: the budget, or the server's ceiling
    /// for handlers that build to it.
    build_limit: usize,
    response: Vec<u8>,
    item: Vec<u8>,
    /// The session's peer, which handlers see through [`crate::peer`].
    peer: Option<PeerCredentials>,
}

impl SessionCore {
    /// The answering state of a session negotiated as `params`, for the
    /// handler type `H` of a server sized by `sizing`.
    pub fn new<H: ServiceHandler>(params: &SessionParams, sizing: &ResponseSizing) -> Self {
        let limit = params.max_response_payload_bytes as usize;
        let build_limit = if H::BUILDS_TO_CEILING {
            limit.max(sizing.ceiling() as usize)
        } else {
            limit
        };
        Self {
            limit,
            build_limit,
            response: Vec::new(),
            item: Vec::new(),
            peer: None,
        }
    }

    /// Records the session's peer: during each handler call,
    /// [`crate::peer`] answers it.
    pub fn set_peer(&mut self, peer: PeerCredentials) {
        self.peer = Some(peer);
    }

    /// The answer to a request larger than the session allows (the
    /// transport's `ReceivedOverLimit`, which carries its header):
    /// LIMIT_EXCEEDED, so the client learns why, then the session closes.
    pub fn over_limit(request: &Header) -> Header {
        Reply::status(STATUS_LIMIT_EXCEEDED).header_for(request)
    }

    /// Answers one request: dispatches it to `handler` (a panic is an
    /// INTERNAL_ERROR), sizes the answer against the session's budget, and
    /// notes in `sizing` what later sessions need.
    pub fn answer<H: ServiceHandler>(
        &mut self,
        handler: &H,
        sizing: &ResponseSizing,
        header: &Header,
        request: &[u8],
    ) -> Answer<'_> {
        let (limit, build_limit) = (self.limit, self.build_limit);
        let mut panic = None;
        let _peer = self.peer.clone().map(PeerScope::enter);
        let reply = match catch_unwind(AssertUnwindSafe(|| self.dispatch(handler, header, request))) {
            Ok(r) => r,
            Err(payload) => {
                panic = Some(payload);
                Reply::status(STATUS_INTERNAL_ERROR)
            }
        };
        let needed = self.response.len().min(u32::MAX as usize) as u32;
        let reply = match reply.status {
            STATUS_OK if self.response.len() > limit => {
                // Built beyond the session's budget: too large to send, but
                // now of a known size, which later sessions are offered.
                sizing.note(needed);
                Reply::status(STATUS_LIMIT_EXCEEDED)
            }
            STATUS_OK => {
                sizing.note(needed);
                reply
            }
            // Over the session's budget: later sessions get twice as much.
            // An answer built up to the ceiling did not fit that either,
            // and no session will hold it: the budget stays, and the
            // client, seeing no growth after its reconnect, gives up.
            STATUS_LIMIT_EXCEEDED if build_limit == limit => {
                sizing.note((limit.min(u32::MAX as usize) as u32).saturating_mul(2));
                reply
            }
            _ => reply,
        };
        let out = reply.header_for(header);
        match reply.status {
            STATUS_OK => Answer {
                header: out,
                payload: &self.response,
                close: false,
                panic,
            },
            // Another method than the endpoint's: the session goes on.
            STATUS_UNSUPPORTED => Answer {
                header: out,
                payload: &[],
                close: false,
                panic,
            },
            // A terminal service error closes the session.
            _ => Answer {
                header: out,
                payload: &[],
                close: true,
                panic,
            },
        }
    }

    /// The payload of an answer [`SessionCore::answer`] returned, found
    /// again from its header: the response buffer for an OK answer, empty
    /// otherwise. For a driver that handed the answering to another thread
    /// and kept only the header.
    pub fn payload_of(&self, answer: &Header) -> &[u8] {
        if answer.transport_status == STATUS_OK {
            &self.response
        } else {
            &[]
        }
    }

    /// Dispatches one request message, single or batch, into the response
    /// buffer.
    fn dispatch<H: ServiceHandler>(&mut self, handler: &H, h: &Header, request: &[u8]) -> Reply {
        let limit = self.build_limit;
        if h.code != H::METHOD {
            return Reply::status(STATUS_UNSUPPORTED);
        }
        if !h.is_batch() {
            return Reply::status(status_of(handler.dispatch(request, &mut self.response, limit)));
        }
        let Ok(items) = BatchView::decode(request, h.item_count) else {
            return Reply::status(STATUS_BAD_ENVELOPE);
        };
        let mut batch = BatchBuilder::new(&mut self.response, h.item_count, limit);
        for item in items.iter() {
            let d = handler.dispatch_batch_item(item, &mut self.item, &mut batch, limit);
            if d != Dispatch::Done {
                return Reply::status(status_of(d));
            }
        }
        let (_, count) = batch.finish();
        Reply {
            status: STATUS_OK,
            flags: FLAG_BATCH,
            item_count: count,
        }
    }
}

struct Reply {
    status: u16,
    flags: u16,
    item_count: u32,
}

impl Reply {
    fn status(status: u16) -> Self {
        Self {
            status,
            flags: 0,
            item_count: 1,
        }
    }

    /// The header of this answer to `request`.
    fn header_for(&self, request: &Header) -> Header {
        Header {
            kind: Kind::Response,
            flags: self.flags,
            transport_status: self.status,
            item_count: self.item_count,
            ..*request
        }
    }
}

fn status_of(d: Dispatch) -> u16 {
    match d {
        Dispatch::Done => STATUS_OK,
        Dispatch::Failed => STATUS_INTERNAL_ERROR,
        Dispatch::BadRequest => STATUS_BAD_ENVELOPE,
        Dispatch::Overflow => STATUS_LIMIT_EXCEEDED,
    }
}

/// The transport configuration a server configured with `config` binds
/// its listener with (zero fields become the named defaults).
pub fn listener_config(config: &ServerConfig) -> crate::transport::ServerConfig {
    config.to_transport()
}

/// How many sessions a server configured with `config` serves at once.
pub fn session_limit(config: &ServerConfig) -> usize {
    config.max_sessions()
}
