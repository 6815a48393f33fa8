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
//! checked before it is used, and the area fields of the header are
//! checked once, when the client attaches (`region_layout`).
//!
//! The peer writes the view while we do, so no reference to it is made:
//! header words are reached through atomics made from raw pointers, and
//! message bytes are copied in and out with `ptr::copy_nonoverlapping`.
//! The section is backed by the paging file and committed whole when it is
//! created (a lack of commit fails `CreateFileMappingW`), and a section
//! cannot shrink, so touching any page of a view cannot fault; the
//! in-page errors of file-backed views (the counterpart of SIGBUS) cannot
//! happen here.
//!
//! Set-up is ordered by the handshake: the server has written the header
//! before its HELLO_ACK goes out over the pipe, and the client attaches
//! only after reading that reply. The magic is also stored last (release)
//! and loaded first (acquire), so a client that attaches without a
//! handshake (the raw interop tools) sees a header of ours whole.

use super::AbortHandle;
use super::win32::{millis_ceil, os_error, own, wait_event_or_abort, wide};
use crate::error::{Limit, Result, TransportError};
use crate::framing::Role;
use crate::names::ShmObjectNames;
use crate::region_layout::{AreaFields, Areas, check_areas, plan_areas};
use netipc_codec::{PROFILE_SHM_BUSYWAIT, PROFILE_SHM_HYBRID};
use std::os::windows::io::{AsRawHandle, OwnedHandle};
use std::sync::atomic::{AtomicI32, AtomicI64, AtomicU32, Ordering};
use std::time::{Duration, Instant};
use windows_sys::Win32::Foundation::{
    ERROR_ALREADY_EXISTS, GetLastError, HANDLE, INVALID_HANDLE_VALUE, WAIT_OBJECT_0, WAIT_TIMEOUT,
};
use windows_sys::Win32::System::Memory::{
    CreateFileMappingW, FILE_MAP_ALL_ACCESS, MEMORY_BASIC_INFORMATION, MEMORY_MAPPED_VIEW_ADDRESS,
    MapViewOfFile, OpenFileMappingW, PAGE_READWRITE, UnmapViewOfFile, VirtualQuery,
};
use windows_sys::Win32::System::Threading::{
    CreateEventW, EVENT_MODIFY_STATE, OpenEventW, SYNCHRONIZATION_SYNCHRONIZE, SetEvent,
};

/// "NSWH".
const REGION_MAGIC: u32 = 0x4e53_5748;
const REGION_VERSION: u32 = 3;
const HEADER_LEN: usize = 128;
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

/// A mapped view; unmapped on drop.
#[derive(Debug)]
struct View {
    base: *mut u8,
    /// Bytes of the view that may be touched: the whole section, as far as
    /// its last page reaches.
    len: usize,
}

impl View {
    /// Maps the whole section behind `mapping` and learns its length.
    fn map(mapping: &OwnedHandle) -> Result<Self> {
        // SAFETY: maps all of a section whose handle we own (length 0: the
        // whole section); failure is reported.
        let v = unsafe { MapViewOfFile(mapping.as_raw_handle() as HANDLE, FILE_MAP_ALL_ACCESS, 0, 0, 0) };
        if v.Value.is_null() {
            return Err(os_error("MapViewOfFile"));
        }
        let mut view = Self {
            base: v.Value.cast(),
            len: 0,
        };
        // SAFETY: all-zero is a valid MEMORY_BASIC_INFORMATION (plain data).
        let mut info: MEMORY_BASIC_INFORMATION = unsafe { std::mem::zeroed() };
        let size = std::mem::size_of::<MEMORY_BASIC_INFORMATION>();
        // SAFETY: asks about our own view; writes only `info`. The region
        // that starts at the view's base is the view's committed pages, as
        // many as the section has (rounded up to a page).
        if unsafe { VirtualQuery(view.base.cast(), &mut info, size) } != size {
            return Err(os_error("VirtualQuery"));
        }
        view.len = info.RegionSize;
        Ok(view)
    }

    fn u32(&self, off: usize) -> &AtomicU32 {
        debug_assert!(off + 4 <= HEADER_LEN && off.is_multiple_of(4));
        // SAFETY: an aligned word of the header, inside the live view
        // (views are page aligned and at least a page long). The other
        // process writes these bytes too, only atomically (the reference
        // implementations use interlocked operations or aligned word
        // accesses on them), and we never make a plain reference to them.
        // The atomic lives no longer than `self`.
        unsafe { AtomicU32::from_ptr(self.base.add(off).cast()) }
    }

    fn i32(&self, off: usize) -> &AtomicI32 {
        debug_assert!(off + 4 <= HEADER_LEN && off.is_multiple_of(4));
        // SAFETY: as for `u32`.
        unsafe { AtomicI32::from_ptr(self.base.add(off).cast()) }
    }

    fn i64(&self, off: usize) -> &AtomicI64 {
        debug_assert!(off + 8 <= HEADER_LEN && off.is_multiple_of(8));
        // SAFETY: as for `u32`, with 8-byte alignment.
        unsafe { AtomicI64::from_ptr(self.base.add(off).cast()) }
    }

    /// A set-up field of the header (written once, before the region is
    /// announced).
    fn read_u32(&self, off: usize) -> u32 {
        self.u32(off).load(Ordering::Relaxed)
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
        let (areas, size) =
            plan_areas(HEADER_LEN, req_capacity, resp_capacity).ok_or(TransportError::LimitExceeded {
                what: Limit::ShmRegion,
                value: None,
                limit: Some(u32::MAX as u64),
            })?;
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
        // A new section is zero-filled by the system.
        let view = View::map(&mapping)?;
        if view.len < size {
            return Err(TransportError::Protocol("shared region smaller than requested"));
        }
        let fields = areas.fields();
        for (off, v) in [
            (OFF_VERSION, REGION_VERSION),
            (OFF_HEADER_LEN, HEADER_LEN as u32),
            (OFF_PROFILE, profile),
            (OFF_REQ_OFFSET, fields.req_off),
            (OFF_REQ_CAPACITY, fields.req_cap),
            (OFF_RESP_OFFSET, fields.resp_off),
            (OFF_RESP_CAPACITY, fields.resp_cap),
            (OFF_SPIN_TRIES, spin_tries),
        ] {
            view.u32(off).store(v, Ordering::Relaxed);
        }
        // Last: whoever sees the magic (acquire) sees the fields above.
        view.u32(OFF_MAGIC).store(REGION_MAGIC, Ordering::Release);
        let events = hybrid_events(names, profile, true)?;
        Ok(Self::new(view, mapping, Role::Server, areas, spin_tries, events))
    }

    /// Client side: opens and validates the region the server announced.
    pub(crate) fn attach(names: &ShmObjectNames, profile: u32) -> Result<Self> {
        let name = wide(&names.mapping);
        // SAFETY: opens a mapping by a NUL-terminated wide name.
        let raw = unsafe { OpenFileMappingW(FILE_MAP_ALL_ACCESS, 0, name.as_ptr()) };
        let mapping = own(raw, "OpenFileMappingW")?;
        let view = View::map(&mapping)?;
        let bad = |why| Err(TransportError::Protocol(why));
        if view.len < HEADER_LEN {
            return bad("shared region smaller than its header");
        }
        if view.u32(OFF_MAGIC).load(Ordering::Acquire) != REGION_MAGIC {
            return bad("shared region magic mismatch");
        }
        if view.read_u32(OFF_VERSION) != REGION_VERSION || view.read_u32(OFF_HEADER_LEN) != HEADER_LEN as u32
        {
            return bad("shared region version or header length mismatch");
        }
        if view.read_u32(OFF_PROFILE) != profile {
            return bad("shared region profile differs from the handshake");
        }
        let fields = AreaFields {
            req_off: view.read_u32(OFF_REQ_OFFSET),
            req_cap: view.read_u32(OFF_REQ_CAPACITY),
            resp_off: view.read_u32(OFF_RESP_OFFSET),
            resp_cap: view.read_u32(OFF_RESP_CAPACITY),
        };
        let spin_tries = view.read_u32(OFF_SPIN_TRIES);
        let areas = match check_areas(fields, HEADER_LEN, view.len as u64) {
            Ok(areas) => areas,
            Err(e) => return bad(e.reason()),
        };
        let events = hybrid_events(names, profile, false)?;
        let mut shm = Self::new(view, mapping, Role::Client, areas, spin_tries, events);
        shm.req_seq = shm.view.i64(OFF_REQ_SEQ).load(Ordering::SeqCst);
        shm.resp_seq = shm.view.i64(OFF_RESP_SEQ).load(Ordering::SeqCst);
        Ok(shm)
    }

    /// The region over `view`, whose `areas` were checked to lie inside it.
    fn new(
        view: View,
        mapping: OwnedHandle,
        role: Role,
        areas: Areas,
        spin_tries: u32,
        [req_event, resp_event]: [Option<OwnedHandle>; 2],
    ) -> Self {
        debug_assert!(areas.resp_off + areas.resp_cap <= view.len);
        // A length word is a LONG: no message is longer than i32::MAX.
        let usable = |cap: usize| cap.min(i32::MAX as usize);
        Self {
            view,
            _mapping: mapping,
            role,
            spin_tries,
            req_event,
            resp_event,
            request: Lane {
                area: areas.req_off,
                cap: usable(areas.req_cap),
                len: OFF_REQ_LEN,
                seq: OFF_REQ_SEQ,
                waiting: OFF_REQ_SERVER_WAITING,
                closed: OFF_REQ_CLIENT_CLOSED,
            },
            response: Lane {
                area: areas.resp_off,
                cap: usable(areas.resp_cap),
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
        // SAFETY: `area + len ≤ area + cap`, inside the live view (checked
        // at set-up, see `region_layout`), whose pages cannot fault (module
        // docs). The area is ours to write until we publish and the peer's
        // to read only after; a peer that reads it early gets torn bytes,
        // not memory of ours. `head` and `body` are our own memory, so they
        // cannot overlap the view. No reference to the view is made.
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
        // SAFETY: `area + len ≤ area + cap`, inside the live view (checked
        // at set-up, see `region_layout`); `out` holds at least `len` bytes
        // of our own memory. The peer published this message and by the
        // protocol does not write the area until we answer; one that does
        // anyway can only change the bytes we copy (and is caught by the
        // re-read below, or by the decoder). No reference to the view is made.
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
    fn forged_area_fields_are_refused_at_attach() {
        let n = names();
        let server = WinShm::create(&n, PROFILE_SHM_HYBRID, 256, 256, 0).unwrap();
        let fields = |v: &View| {
            [
                OFF_REQ_OFFSET,
                OFF_REQ_CAPACITY,
                OFF_RESP_OFFSET,
                OFF_RESP_CAPACITY,
            ]
            .map(|o| v.read_u32(o))
        };
        let honest = fields(&server.view);
        let section = server.view.len as u32;
        // Each one passes a check done in u32 (or in a 32-bit usize) by
        // wrapping, or lies past the section.
        for (off, forged) in [
            (OFF_REQ_CAPACITY, 0xFFFF_FFC0),
            (OFF_RESP_OFFSET, 0xFFFF_FFC0),
            (OFF_RESP_CAPACITY, 0xFFFF_FFC0),
            (OFF_RESP_CAPACITY, section),
            (OFF_REQ_OFFSET, 64),
            (OFF_REQ_CAPACITY, 100),
        ] {
            server.view.u32(off).store(forged, Ordering::SeqCst);
            let err = WinShm::attach(&n, PROFILE_SHM_HYBRID).unwrap_err();
            assert!(
                matches!(err, TransportError::Protocol(_)),
                "{off} = {forged:#x}: {err:?}"
            );
            for (o, v) in [
                OFF_REQ_OFFSET,
                OFF_REQ_CAPACITY,
                OFF_RESP_OFFSET,
                OFF_RESP_CAPACITY,
            ]
            .into_iter()
            .zip(honest)
            {
                server.view.u32(o).store(v, Ordering::SeqCst);
            }
        }
        assert!(WinShm::attach(&n, PROFILE_SHM_HYBRID).is_ok());
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
