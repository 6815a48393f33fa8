//! The Windows shared-memory data plane (SHM_HYBRID and SHM_BUSYWAIT).
//!
//! One page-file-backed mapping per session: a 128-byte header, then the
//! request area and the response area, each 64-byte aligned. A message is
//! published by storing its length, then incrementing the direction's
//! sequence number. SHM_HYBRID spins, then sleeps on a named auto-reset
//! event that the sender sets when the receiver has flagged itself as
//! waiting; SHM_BUSYWAIT only spins (yielding now and then).
//!
//! The peer is another process: every length read from the mapping is
//! checked before it is used.

use super::AbortHandle;
use super::win32::{millis_ceil, os_error, own, wait_event_or_abort, wide};
use crate::error::{Limit, Result, TransportError};
use crate::framing::Role;
use crate::names::ShmObjectNames;
use netipc_codec::{PROFILE_SHM_BUSYWAIT, PROFILE_SHM_HYBRID};
use std::os::windows::io::{AsRawHandle, OwnedHandle};
use std::sync::atomic::{AtomicI32, AtomicI64, Ordering, fence};
use std::time::{Duration, Instant};
use windows_sys::Win32::Foundation::{
    ERROR_ALREADY_EXISTS, GetLastError, HANDLE, INVALID_HANDLE_VALUE, WAIT_OBJECT_0, WAIT_TIMEOUT,
};
use windows_sys::Win32::System::Memory::{
    CreateFileMappingW, FILE_MAP_ALL_ACCESS, MEMORY_MAPPED_VIEW_ADDRESS, MapViewOfFile, OpenFileMappingW,
    PAGE_READWRITE, UnmapViewOfFile,
};
use windows_sys::Win32::System::Threading::{
    CreateEventW, EVENT_MODIFY_STATE, OpenEventW, SYNCHRONIZATION_SYNCHRONIZE, SetEvent,
};

/// "NSWH".
const REGION_MAGIC: u32 = 0x4e53_5748;
const REGION_VERSION: u32 = 3;
const HEADER_LEN: usize = 128;
const CACHELINE: usize = 64;
/// SHM_BUSYWAIT checks its deadline, the peer and abort every this many polls.
const BUSYWAIT_POLL_MASK: u32 = 1023;
/// The longest single sleep, so a peer that died without saying so is noticed.
const WAIT_SLICE: Duration = Duration::from_millis(100);

const OFF_MAGIC: usize = 0;
const OFF_VERSION: usize = 4;
const OFF_HEADER_LEN: usize = 8;
const OFF_PROFILE: usize = 12;
const OFF_REQ_OFFSET: usize = 16;
const OFF_REQ_CAPACITY: usize = 20;
const OFF_RESP_OFFSET: usize = 24;
const OFF_RESP_CAPACITY: usize = 28;
const OFF_SPIN_TRIES: usize = 32;
const OFF_REQ_LEN: usize = 36;
const OFF_RESP_LEN: usize = 40;
const OFF_REQ_CLIENT_CLOSED: usize = 44;
const OFF_REQ_SERVER_WAITING: usize = 48;
const OFF_RESP_SERVER_CLOSED: usize = 52;
const OFF_RESP_CLIENT_WAITING: usize = 56;
const OFF_REQ_SEQ: usize = 64;
const OFF_RESP_SEQ: usize = 72;

/// The words of one direction.
#[derive(Debug, Clone, Copy)]
struct Lane {
    area: usize,
    cap: usize,
    len: usize,
    seq: usize,
    /// The receiver's "I am asleep" flag.
    waiting: usize,
    /// The sender's "I have closed" flag.
    closed: usize,
}

fn align(n: usize) -> Option<usize> {
    n.checked_add(CACHELINE - 1).map(|v| v & !(CACHELINE - 1))
}

/// A mapped view; unmapped on drop.
#[derive(Debug)]
struct View {
    base: *mut u8,
}

impl View {
    fn map(mapping: &OwnedHandle, len: usize) -> Result<Self> {
        // SAFETY: maps `len` bytes of a mapping handle we own; a length
        // beyond the mapping fails and is reported.
        let v = unsafe { MapViewOfFile(mapping.as_raw_handle() as HANDLE, FILE_MAP_ALL_ACCESS, 0, 0, len) };
        if v.Value.is_null() {
            return Err(os_error("MapViewOfFile"));
        }
        Ok(Self { base: v.Value.cast() })
    }

    fn read_u32(&self, off: usize) -> u32 {
        debug_assert!(off + 4 <= HEADER_LEN && off.is_multiple_of(4));
        // SAFETY: an aligned header word inside the live view.
        unsafe { std::ptr::read_volatile(self.base.add(off).cast::<u32>()) }
    }

    fn write_u32(&mut self, off: usize, v: u32) {
        debug_assert!(off + 4 <= HEADER_LEN && off.is_multiple_of(4));
        // SAFETY: an aligned header word inside the live view.
        unsafe { std::ptr::write_volatile(self.base.add(off).cast::<u32>(), v) }
    }

    fn i32(&self, off: usize) -> &AtomicI32 {
        debug_assert!(off + 4 <= HEADER_LEN && off.is_multiple_of(4));
        // SAFETY: an aligned header word inside the live view (views are
        // page aligned); both processes touch it only atomically.
        unsafe { AtomicI32::from_ptr(self.base.add(off).cast()) }
    }

    fn i64(&self, off: usize) -> &AtomicI64 {
        debug_assert!(off + 8 <= HEADER_LEN && off.is_multiple_of(8));
        // SAFETY: as for `i32`, with 8-byte alignment.
        unsafe { AtomicI64::from_ptr(self.base.add(off).cast()) }
    }
}

impl Drop for View {
    fn drop(&mut self) {
        // SAFETY: unmaps the view we mapped; nothing borrows it any more.
        unsafe {
            UnmapViewOfFile(MEMORY_MAPPED_VIEW_ADDRESS {
                Value: self.base.cast(),
            })
        };
    }
}

/// One session's shared region, from one side.
#[derive(Debug)]
pub(crate) struct WinShm {
    view: View,
    _mapping: OwnedHandle,
    role: Role,
    spin_tries: u32,
    req_event: Option<OwnedHandle>,
    resp_event: Option<OwnedHandle>,
    request: Lane,
    response: Lane,
    /// The last request and response sequence numbers this side has seen.
    req_seq: i64,
    resp_seq: i64,
}

// SAFETY: the view is used only by the owner of this value (one thread at a
// time); cross-process sharing goes through atomics.
unsafe impl Send for WinShm {}

/// Whether `profile` is one this module carries.
pub(crate) fn is_shm_profile(profile: u32) -> bool {
    profile == PROFILE_SHM_HYBRID || profile == PROFILE_SHM_BUSYWAIT
}

impl WinShm {
    /// Server side: creates the mapping (and events for SHM_HYBRID) before
    /// the HELLO_ACK that names them goes out.
    pub(crate) fn create(
        names: &ShmObjectNames,
        profile: u32,
        req_capacity: usize,
        resp_capacity: usize,
        spin_tries: u32,
    ) -> Result<Self> {
        let too_big = || TransportError::LimitExceeded {
            what: Limit::ShmRegion,
            value: None,
            limit: Some(u32::MAX as u64),
        };
        let req_cap = align(req_capacity).ok_or_else(too_big)?;
        let resp_cap = align(resp_capacity).ok_or_else(too_big)?;
        let req_off = HEADER_LEN;
        let resp_off = align(req_off + req_cap).ok_or_else(too_big)?;
        let size = resp_off.checked_add(resp_cap).ok_or_else(too_big)?;
        if resp_off > u32::MAX as usize || resp_cap > u32::MAX as usize {
            return Err(too_big());
        }
        let name = wide(&names.mapping);
        // SAFETY: a page-file-backed mapping by a NUL-terminated wide name.
        let raw = unsafe {
            CreateFileMappingW(
                INVALID_HANDLE_VALUE,
                std::ptr::null(),
                PAGE_READWRITE,
                (size as u64 >> 32) as u32,
                size as u32,
                name.as_ptr(),
            )
        };
        // SAFETY: reads the calling thread's last error, right after the call.
        let existed = !raw.is_null() && unsafe { GetLastError() } == ERROR_ALREADY_EXISTS;
        let mapping = own(raw, "CreateFileMappingW")?;
        if existed {
            return Err(TransportError::AddressInUse {
                path: names.mapping.clone(),
            });
        }
        let mut view = View::map(&mapping, size)?;
        for (off, v) in [
            (OFF_MAGIC, REGION_MAGIC),
            (OFF_VERSION, REGION_VERSION),
            (OFF_HEADER_LEN, HEADER_LEN as u32),
            (OFF_PROFILE, profile),
            (OFF_REQ_OFFSET, req_off as u32),
            (OFF_REQ_CAPACITY, req_cap as u32),
            (OFF_RESP_OFFSET, resp_off as u32),
            (OFF_RESP_CAPACITY, resp_cap as u32),
            (OFF_SPIN_TRIES, spin_tries),
        ] {
            view.write_u32(off, v);
        }
        let events = hybrid_events(names, profile, true)?;
        fence(Ordering::SeqCst);
        Ok(Self::new(
            view,
            mapping,
            Role::Server,
            [req_off, req_cap, resp_off, resp_cap],
            spin_tries,
            events,
        ))
    }

    /// Client side: opens and validates the region the server announced.
    pub(crate) fn attach(names: &ShmObjectNames, profile: u32) -> Result<Self> {
        let name = wide(&names.mapping);
        // SAFETY: opens a mapping by a NUL-terminated wide name.
        let raw = unsafe { OpenFileMappingW(FILE_MAP_ALL_ACCESS, 0, name.as_ptr()) };
        let mapping = own(raw, "OpenFileMappingW")?;
        let head = View::map(&mapping, HEADER_LEN)?;
        let bad = |why| Err(TransportError::Protocol(why));
        if head.read_u32(OFF_MAGIC) != REGION_MAGIC {
            return bad("shared region magic mismatch");
        }
        if head.read_u32(OFF_VERSION) != REGION_VERSION || head.read_u32(OFF_HEADER_LEN) != HEADER_LEN as u32
        {
            return bad("shared region version or header length mismatch");
        }
        if head.read_u32(OFF_PROFILE) != profile {
            return bad("shared region profile differs from the handshake");
        }
        let [req_off, req_cap, resp_off, resp_cap] = [
            OFF_REQ_OFFSET,
            OFF_REQ_CAPACITY,
            OFF_RESP_OFFSET,
            OFF_RESP_CAPACITY,
        ]
        .map(|o| head.read_u32(o) as usize);
        let spin_tries = head.read_u32(OFF_SPIN_TRIES);
        let aligned = |v: usize| v.is_multiple_of(CACHELINE);
        if req_off < HEADER_LEN
            || !aligned(req_off)
            || !aligned(resp_off)
            || req_off + req_cap > resp_off
            || req_cap == 0
            || resp_cap == 0
        {
            return bad("shared region areas are inconsistent");
        }
        drop(head);
        // Mapping more than the section holds fails: that checks the size.
        let view = View::map(&mapping, resp_off + resp_cap)?;
        let events = hybrid_events(names, profile, false)?;
        let mut shm = Self::new(
            view,
            mapping,
            Role::Client,
            [req_off, req_cap, resp_off, resp_cap],
            spin_tries,
            events,
        );
        shm.req_seq = shm.view.i64(OFF_REQ_SEQ).load(Ordering::SeqCst);
        shm.resp_seq = shm.view.i64(OFF_RESP_SEQ).load(Ordering::SeqCst);
        Ok(shm)
    }

    fn new(
        view: View,
        mapping: OwnedHandle,
        role: Role,
        [req_off, req_cap, resp_off, resp_cap]: [usize; 4],
        spin_tries: u32,
        [req_event, resp_event]: [Option<OwnedHandle>; 2],
    ) -> Self {
        Self {
            view,
            _mapping: mapping,
            role,
            spin_tries,
            req_event,
            resp_event,
            request: Lane {
                area: req_off,
                cap: req_cap,
                len: OFF_REQ_LEN,
                seq: OFF_REQ_SEQ,
                waiting: OFF_REQ_SERVER_WAITING,
                closed: OFF_REQ_CLIENT_CLOSED,
            },
            response: Lane {
                area: resp_off,
                cap: resp_cap,
                len: OFF_RESP_LEN,
                seq: OFF_RESP_SEQ,
                waiting: OFF_RESP_CLIENT_WAITING,
                closed: OFF_RESP_SERVER_CLOSED,
            },
            req_seq: 0,
            resp_seq: 0,
        }
    }

    /// (outgoing lane, its peer's wake event, incoming lane, our wake event)
    fn lanes(&self) -> (Lane, Option<&OwnedHandle>, Lane, Option<&OwnedHandle>) {
        match self.role {
            Role::Client => (
                self.request,
                self.req_event.as_ref(),
                self.response,
                self.resp_event.as_ref(),
            ),
            Role::Server => (
                self.response,
                self.resp_event.as_ref(),
                self.request,
                self.req_event.as_ref(),
            ),
        }
    }

    fn seen(&mut self) -> &mut i64 {
        match self.role {
            Role::Client => &mut self.resp_seq,
            Role::Server => &mut self.req_seq,
        }
    }

    /// Publishes one message made of `head` and `body`, and wakes the peer
    /// if it sleeps.
    pub(crate) fn send(&mut self, head: &[u8], body: &[u8]) -> Result<()> {
        let (out, peer_event, ..) = self.lanes();
        let len = head.len() + body.len();
        if len == 0 || len > out.cap {
            return Err(TransportError::LimitExceeded {
                what: Limit::ShmMessage,
                value: Some(len as u64),
                limit: Some(out.cap as u64),
            });
        }
        // SAFETY: `area + len ≤ area + cap`, inside the view (validated at
        // create/attach); the peer does not read the area until we publish.
        unsafe {
            let dst = self.view.base.add(out.area);
            std::ptr::copy_nonoverlapping(head.as_ptr(), dst, head.len());
            std::ptr::copy_nonoverlapping(body.as_ptr(), dst.add(head.len()), body.len());
        }
        self.view.i32(out.len).swap(len as i32, Ordering::SeqCst);
        self.view.i64(out.seq).fetch_add(1, Ordering::SeqCst);
        if let Some(ev) = peer_event
            && self.view.i32(out.waiting).load(Ordering::SeqCst) != 0
        {
            // SAFETY: sets a live event handle we own.
            unsafe { SetEvent(ev.as_raw_handle() as HANDLE) };
        }
        Ok(())
    }

    /// Waits for the next message until `deadline` (watching `abort`, the
    /// peer's close flag and `peer_gone`) and copies it into `out`; returns
    /// its length.
    pub(crate) fn receive(
        &mut self,
        out: &mut Vec<u8>,
        deadline: Option<Instant>,
        abort: Option<&AbortHandle>,
        mut peer_gone: impl FnMut() -> bool,
    ) -> Result<usize> {
        let want = *self.seen() + 1;
        let (_, _, inc, my_event) = self.lanes();
        let arrived = |v: &View| v.i64(inc.seq).load(Ordering::SeqCst) >= want;
        let mut got = (0..self.spin_tries).any(|_| {
            let a = arrived(&self.view);
            if !a {
                std::hint::spin_loop();
            }
            a
        });
        let mut polls = 0u32;
        while !got {
            match my_event {
                Some(ev) => {
                    self.view.i32(inc.waiting).swap(1, Ordering::SeqCst);
                    if arrived(&self.view) {
                        self.view.i32(inc.waiting).swap(0, Ordering::SeqCst);
                        break;
                    }
                    let slice = match deadline {
                        None => WAIT_SLICE,
                        Some(d) => d.saturating_duration_since(Instant::now()).min(WAIT_SLICE),
                    };
                    let rc = wait_event_or_abort(ev.as_raw_handle() as HANDLE, abort, millis_ceil(slice));
                    self.view.i32(inc.waiting).swap(0, Ordering::SeqCst);
                    if rc != WAIT_OBJECT_0 && rc != WAIT_OBJECT_0 + 1 && rc != WAIT_TIMEOUT {
                        return Err(os_error("WaitForMultipleObjects"));
                    }
                }
                None => {
                    polls = polls.wrapping_add(1);
                    if polls & BUSYWAIT_POLL_MASK != 0 {
                        std::hint::spin_loop();
                        got = arrived(&self.view);
                        continue;
                    }
                    std::thread::yield_now();
                }
            }
            got = arrived(&self.view);
            if got {
                break;
            }
            if self.view.i32(inc.closed).load(Ordering::SeqCst) != 0 {
                return Err(TransportError::PeerClosed);
            }
            if abort.is_some_and(AbortHandle::is_aborted) {
                return Err(TransportError::Aborted);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(TransportError::Timeout);
            }
            if (my_event.is_some() || polls & 0xffff == 0) && peer_gone() {
                return Err(TransportError::PeerClosed);
            }
        }
        let seq = self.view.i64(inc.seq).load(Ordering::SeqCst);
        let len = self.view.i32(inc.len).load(Ordering::SeqCst);
        *self.seen() = want;
        if len <= 0 {
            return Err(TransportError::Protocol("shared memory message of length 0"));
        }
        let len = len as usize;
        if len > inc.cap {
            return Err(TransportError::Protocol(
                "shared memory message longer than its area",
            ));
        }
        if out.len() < len {
            out.resize(len, 0);
        }
        // SAFETY: `area + len ≤ area + cap`, inside the view. The peer
        // published this message and does not write the area until we answer.
        unsafe { std::ptr::copy_nonoverlapping(self.view.base.add(inc.area), out.as_mut_ptr(), len) };
        if self.view.i64(inc.seq).load(Ordering::SeqCst) != seq
            || self.view.i32(inc.len).load(Ordering::SeqCst) != len as i32
        {
            return Err(TransportError::Protocol(
                "shared memory message changed while being read",
            ));
        }
        Ok(len)
    }
}

impl Drop for WinShm {
    fn drop(&mut self) {
        let (out, peer_event, ..) = self.lanes();
        self.view.i32(out.closed).swap(1, Ordering::SeqCst);
        if let Some(ev) = peer_event {
            // SAFETY: sets a live event handle we own.
            unsafe { SetEvent(ev.as_raw_handle() as HANDLE) };
        }
        // The view, the mapping and the events close as fields drop.
    }
}

/// The request and response wake events of an SHM_HYBRID region, created
/// (server) or opened (client); none for SHM_BUSYWAIT.
fn hybrid_events(names: &ShmObjectNames, profile: u32, create: bool) -> Result<[Option<OwnedHandle>; 2]> {
    if profile != PROFILE_SHM_HYBRID {
        return Ok([None, None]);
    }
    Ok([
        Some(event(&names.req_event, create)?),
        Some(event(&names.resp_event, create)?),
    ])
}

/// Creates (server) or opens (client) a named auto-reset event.
fn event(name: &str, create: bool) -> Result<OwnedHandle> {
    let name = wide(name);
    if create {
        // SAFETY: an auto-reset, initially clear event by a NUL-terminated name.
        own(
            unsafe { CreateEventW(std::ptr::null(), 0, 0, name.as_ptr()) },
            "CreateEventW",
        )
    } else {
        // SAFETY: opens an event by a NUL-terminated name, to set and wait on it.
        own(
            unsafe { OpenEventW(EVENT_MODIFY_STATE | SYNCHRONIZATION_SYNCHRONIZE, 0, name.as_ptr()) },
            "OpenEventW",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::shm_object_names;
    use std::sync::atomic::AtomicU64;

    fn names() -> ShmObjectNames {
        static N: AtomicU64 = AtomicU64::new(0);
        let dir = format!("C:\\netipc-unit\\{}", std::process::id());
        shm_object_names(
            &dir,
            "unit",
            7,
            PROFILE_SHM_HYBRID,
            N.fetch_add(1, Ordering::Relaxed) + 1,
        )
        .unwrap()
    }

    #[test]
    fn the_region_header_has_the_contract_layout() {
        let n = names();
        let server = WinShm::create(&n, PROFILE_SHM_HYBRID, 1000 + 32, 5000 + 32, 77).unwrap();
        let client = WinShm::attach(&n, PROFILE_SHM_HYBRID).unwrap();
        let h = &client.view;
        assert_eq!(h.read_u32(0), 0x4e53_5748);
        assert_eq!(h.read_u32(4), 3);
        assert_eq!(h.read_u32(8), 128);
        assert_eq!(h.read_u32(12), PROFILE_SHM_HYBRID);
        assert_eq!((h.read_u32(16), h.read_u32(20)), (128, 1088), "request area");
        assert_eq!(
            (h.read_u32(24), h.read_u32(28)),
            (128 + 1088, 5056),
            "response area"
        );
        assert_eq!(h.read_u32(32), 77, "spin_tries");
        assert_eq!(client.spin_tries, 77);
        drop(server);
        assert_eq!(client.view.i32(OFF_RESP_SERVER_CLOSED).load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_busywait_region_has_no_events_and_a_wrong_profile_is_refused() {
        let n = names();
        let server = WinShm::create(&n, PROFILE_SHM_BUSYWAIT, 256, 256, 0).unwrap();
        assert!(server.req_event.is_none() && server.resp_event.is_none());
        let err = WinShm::attach(&n, PROFILE_SHM_HYBRID).unwrap_err();
        assert!(matches!(err, TransportError::Protocol(_)), "{err:?}");
    }

    #[test]
    fn a_second_region_with_the_same_names_is_refused() {
        let n = names();
        let _first = WinShm::create(&n, PROFILE_SHM_HYBRID, 256, 256, 0).unwrap();
        let err = WinShm::create(&n, PROFILE_SHM_HYBRID, 256, 256, 0).unwrap_err();
        assert!(matches!(err, TransportError::AddressInUse { .. }), "{err:?}");
    }

    #[test]
    fn forged_lengths_are_protocol_errors() {
        let n = names();
        let server = WinShm::create(&n, PROFILE_SHM_HYBRID, 256, 256, 0).unwrap();
        let mut client = WinShm::attach(&n, PROFILE_SHM_HYBRID).unwrap();
        let mut out = Vec::new();
        let soon = || Some(Instant::now() + Duration::from_secs(5));
        for forged in [i32::MAX, 0, -1] {
            server.view.i32(OFF_RESP_LEN).store(forged, Ordering::SeqCst);
            server.view.i64(OFF_RESP_SEQ).fetch_add(1, Ordering::SeqCst);
            let err = client.receive(&mut out, soon(), None, || false).unwrap_err();
            assert!(matches!(err, TransportError::Protocol(_)), "{forged}: {err:?}");
        }
        // The next honest message still arrives.
        let mut server = server;
        server.send(b"head", b"body").unwrap();
        let n = client.receive(&mut out, soon(), None, || false).unwrap();
        assert_eq!(&out[..n], b"headbody");
    }

    #[test]
    fn empty_and_oversized_messages_are_refused_before_publishing() {
        let n = names();
        let _server = WinShm::create(&n, PROFILE_SHM_HYBRID, 64, 64, 0).unwrap();
        let mut client = WinShm::attach(&n, PROFILE_SHM_HYBRID).unwrap();
        assert!(matches!(
            client.send(&[], &[]),
            Err(TransportError::LimitExceeded { .. })
        ));
        assert!(matches!(
            client.send(&[0; 32], &[0; 33]),
            Err(TransportError::LimitExceeded { .. })
        ));
        assert_eq!(client.view.i64(OFF_REQ_SEQ).load(Ordering::SeqCst), 0);
    }
}
