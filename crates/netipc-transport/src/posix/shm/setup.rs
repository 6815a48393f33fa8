//! Setting a region up: the server creates, allocates and initialises it;
//! the client maps it and checks its header.

use super::stale::{Staleness, reclaim_if_stale};
use super::words::{RESPONSE, Words};
use super::{
    REGION_ALIGN, REGION_HEADER_LEN, REGION_MAGIC, REGION_VERSION, SPIN_TRIES_DEFAULT, ShmRegion, Side,
    WAIT_SLICE, WakeCounts, check_pauses, region_path,
};
use crate::error::{Limit, Result, TransportError};
use crate::spin::{Spinner, auto_spin_budget};
use memmap2::MmapMut;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

fn align64(v: usize) -> Option<usize> {
    v.checked_add(REGION_ALIGN - 1).map(|x| x & !(REGION_ALIGN - 1))
}

fn owner_generation() -> u32 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let mixed = (now.as_secs() as u32) ^ (now.subsec_nanos() >> 10) ^ std::process::id().rotate_left(16);
    mixed.max(1)
}

fn fallocate_all(file: &File, len: usize) -> io::Result<()> {
    loop {
        // SAFETY: fallocate on a descriptor we own, with mode 0 (allocate).
        let rc = unsafe { libc::fallocate(file.as_raw_fd(), 0, 0, len as libc::off_t) };
        if rc == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

impl ShmRegion {
    /// Server side: creates and initialises the region of `session_id`, with
    /// areas for whole messages (header included) of the given sizes.
    ///
    /// A live region at the path gives `AddressInUse`; a stale one is
    /// removed first. Allocation failure (ENOSPC, quota, unsupported) is
    /// reported as `TransportError::Io { op: "fallocate" }` and leaves no file.
    pub fn create(
        run_dir: &Path,
        service: &str,
        session_id: u64,
        req_msg_max: usize,
        resp_msg_max: usize,
    ) -> Result<Self> {
        let path = region_path(run_dir, service, session_id);
        let overflow = || TransportError::LimitExceeded {
            what: Limit::ShmRegion,
            value: None,
            limit: Some(u32::MAX as u64),
        };
        let req_cap = align64(req_msg_max).ok_or_else(overflow)?;
        let resp_cap = align64(resp_msg_max).ok_or_else(overflow)?;
        let req_off = REGION_HEADER_LEN;
        let resp_off = align64(req_off + req_cap).ok_or_else(overflow)?;
        let size = resp_off.checked_add(resp_cap).ok_or_else(overflow)?;
        if size > u32::MAX as usize {
            return Err(overflow());
        }
        let open = || {
            OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW)
                .open(&path)
        };
        let file = match open() {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => match reclaim_if_stale(&path) {
                Staleness::Live => {
                    return Err(TransportError::AddressInUse {
                        path: path.display().to_string(),
                    });
                }
                _ => open().map_err(|e| match e.kind() {
                    io::ErrorKind::AlreadyExists => TransportError::AddressInUse {
                        path: path.display().to_string(),
                    },
                    _ => TransportError::io("open region", e),
                })?,
            },
            Err(e) => return Err(TransportError::io("open region", e)),
        };
        let fail = |op: &'static str, e: io::Error| {
            let _ = std::fs::remove_file(&path);
            TransportError::io(op, e)
        };
        fallocate_all(&file, size).map_err(|e| fail("fallocate", e))?;
        // SAFETY: the file is ours (O_EXCL, 0600) and fully allocated to
        // `size` bytes; the mapping lives in the returned struct.
        let mut map =
            unsafe { memmap2::MmapOptions::new().len(size).map_mut(&file) }.map_err(|e| fail("mmap", e))?;
        map.fill(0);
        put(&mut map, 0, &REGION_MAGIC.to_ne_bytes());
        put(&mut map, 4, &REGION_VERSION.to_ne_bytes());
        put(&mut map, 6, &(REGION_HEADER_LEN as u16).to_ne_bytes());
        put(&mut map, 8, &(std::process::id() as i32).to_ne_bytes());
        put(&mut map, 12, &owner_generation().to_ne_bytes());
        put(&mut map, 16, &(req_off as u32).to_ne_bytes());
        put(&mut map, 20, &(req_cap as u32).to_ne_bytes());
        put(&mut map, 24, &(resp_off as u32).to_ne_bytes());
        put(&mut map, 28, &(resp_cap as u32).to_ne_bytes());
        std::sync::atomic::fence(std::sync::atomic::Ordering::Release);
        let areas = [req_off, req_cap, resp_off, resp_cap];
        Ok(Self::over(map, file, path, Side::Server, areas))
    }

    /// Client side: maps the region of `session_id` and checks its header.
    ///
    /// A missing, undersized or not yet initialised region gives
    /// [`TransportError::ShmNotReady`]: the caller may retry.
    pub fn attach(run_dir: &Path, service: &str, session_id: u64) -> Result<Self> {
        let path = region_path(run_dir, service, session_id);
        let not_ready = |e: TransportError| TransportError::ShmNotReady(Box::new(e));
        let invalid = TransportError::Protocol;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW)
            .open(&path)
            .map_err(|e| not_ready(TransportError::io("open region", e)))?;
        let size = file
            .metadata()
            .map_err(|e| not_ready(TransportError::io("stat region", e)))?
            .len() as usize;
        if size < REGION_HEADER_LEN {
            return Err(not_ready(TransportError::Protocol("region not initialised yet")));
        }
        // SAFETY: maps `size` bytes of a file the server keeps allocated for
        // the session; the mapping lives in the returned struct.
        let map = unsafe { memmap2::MmapOptions::new().len(size).map_mut(&file) }
            .map_err(|e| not_ready(TransportError::io("mmap", e)))?;
        std::sync::atomic::fence(std::sync::atomic::Ordering::Acquire);
        let u32_at = |off: usize| u32::from_ne_bytes(map[off..off + 4].try_into().unwrap_or_default());
        let u16_at = |off: usize| u16::from_ne_bytes(map[off..off + 2].try_into().unwrap_or_default());
        if u32_at(0) != REGION_MAGIC {
            return Err(not_ready(TransportError::Protocol(
                "region magic not written yet",
            )));
        }
        if u16_at(4) != REGION_VERSION || u16_at(6) as usize != REGION_HEADER_LEN {
            return Err(invalid("unsupported region version"));
        }
        let (req_off, req_cap) = (u32_at(16) as usize, u32_at(20) as usize);
        let (resp_off, resp_cap) = (u32_at(24) as usize, u32_at(28) as usize);
        if req_cap == 0 || resp_cap == 0 {
            return Err(not_ready(TransportError::Protocol(
                "region capacities not written yet",
            )));
        }
        let aligned = [req_off, req_cap, resp_off, resp_cap]
            .iter()
            .all(|v| v % REGION_ALIGN == 0);
        if !aligned
            || req_off < REGION_HEADER_LEN
            || resp_off < req_off + req_cap
            || resp_off + resp_cap > size
            || req_off + req_cap > size
        {
            return Err(invalid("region areas out of bounds"));
        }
        let mut region = Self::over(
            map,
            file,
            path,
            Side::Client,
            [req_off, req_cap, resp_off, resp_cap],
        );
        // Responses published before we attached are not ours to read.
        region.seen_seq = region.words.seq(RESPONSE);
        Ok(region)
    }

    /// The region over a checked mapping of at least the header, with
    /// `areas` (request offset and capacity, response offset and capacity)
    /// inside it, before any message.
    fn over(mut map: MmapMut, file: File, path: PathBuf, side: Side, areas: [usize; 4]) -> Self {
        let [req_off, req_cap, resp_off, resp_cap] = areas;
        // SAFETY: `map` is a page-aligned shared mapping of at least the
        // 64-byte header, moved into the same struct as `words` (declared
        // first, so dropped first) and never remapped.
        let words = unsafe { Words::new(map.as_mut_ptr()) };
        let spin_budget = auto_spin_budget();
        Self {
            words,
            map,
            _file: file,
            path,
            side,
            req_off,
            req_cap,
            resp_off,
            resp_cap,
            seen_seq: 0,
            spin_tries: SPIN_TRIES_DEFAULT,
            check_pauses: check_pauses(spin_budget),
            spinner: Spinner::new(spin_budget),
            wait_slice: WAIT_SLICE,
            wake_owed: false,
            wakes: WakeCounts::default(),
        }
    }
}

fn put(map: &mut [u8], off: usize, bytes: &[u8]) {
    map[off..off + bytes.len()].copy_from_slice(bytes);
}
