//! Setting a region up: the server creates, allocates and initialises it;
//! the client maps it and checks its header.

use super::stale::{Staleness, reclaim_if_stale};
use super::words::{RESPONSE, SetUp, Words};
use super::{
    REGION_HEADER_LEN, REGION_MAGIC, REGION_VERSION, SPIN_TRIES_DEFAULT, ShmRegion, Side, WAIT_SLICE,
    WakeCounts, check_pauses, region_path,
};
use crate::error::{Limit, Result, TransportError};
use crate::peer::EndpointMode;
use crate::region_layout::{Areas, LayoutError, check_areas, plan_areas};
use crate::spin::{Spinner, auto_spin_budget};
use memmap2::MmapRaw;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

fn owner_generation() -> u32 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let mixed = (now.as_secs() as u32) ^ (now.subsec_nanos() >> 10) ^ std::process::id().rotate_left(16);
    mixed.max(1)
}

fn fallocate_all(file: &File, len: usize) -> io::Result<()> {
    // A 32-bit off_t cannot say more than 2 GiB (without the 64-bit file
    // API): refuse rather than allocate a cut length.
    let len = libc::off_t::try_from(len).map_err(|_| io::Error::from(io::ErrorKind::FileTooLarge))?;
    loop {
        // SAFETY: fallocate on a descriptor we own, with mode 0 (allocate).
        let rc = unsafe { libc::fallocate(file.as_raw_fd(), 0, 0, len) };
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
    /// The file is owner-only (0600); see [`ShmRegion::create_with_mode`].
    pub fn create(
        run_dir: &Path,
        service: &str,
        session_id: u64,
        req_msg_max: usize,
        resp_msg_max: usize,
    ) -> Result<Self> {
        Self::create_with_mode(
            run_dir,
            service,
            session_id,
            req_msg_max,
            resp_msg_max,
            EndpointMode::Owner,
        )
    }

    /// Like [`ShmRegion::create`], giving the file the permissions of
    /// `mode` exactly, whatever the process umask (which is left alone):
    /// the file is created owner-only and then changed to `mode` through
    /// its descriptor, before anything is written to it.
    pub fn create_with_mode(
        run_dir: &Path,
        service: &str,
        session_id: u64,
        req_msg_max: usize,
        resp_msg_max: usize,
        mode: EndpointMode,
    ) -> Result<Self> {
        let path = region_path(run_dir, service, session_id);
        let (areas, size) = plan_areas(REGION_HEADER_LEN, req_msg_max, resp_msg_max).ok_or(
            TransportError::LimitExceeded {
                what: Limit::ShmRegion,
                value: None,
                limit: Some(u32::MAX as u64),
            },
        )?;
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
                    _ => TransportError::io_at("create region", path.display(), e),
                })?,
            },
            Err(e) => return Err(TransportError::io_at("create region", path.display(), e)),
        };
        let fail = |op: &'static str, e: io::Error| {
            let _ = std::fs::remove_file(&path);
            TransportError::io_at(op, path.display(), e)
        };
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(mode.bits()))
            .map_err(|e| fail("chmod", e))?;
        // Every block of the file is allocated before it is mapped, so no
        // later access to the mapping can fault for want of space (SIGBUS).
        fallocate_all(&file, size).map_err(|e| fail("fallocate", e))?;
        let map = memmap2::MmapOptions::new()
            .len(size)
            .map_raw(&file)
            .map_err(|e| fail("mmap", e))?;
        // SAFETY: `map` is a writable shared mapping of `size` bytes of a
        // file that holds `size` allocated bytes (see above). No client
        // uses the region before the handshake announces it, so nothing
        // else writes these bytes yet; the zeroing goes through the raw
        // pointer, not a reference.
        unsafe { std::ptr::write_bytes(map.as_mut_ptr(), 0, size) };
        // SAFETY: see `over`; the mapping is at least the header long.
        let words = unsafe { Words::new(map.as_mut_ptr()) };
        words.write_set_up(&SetUp {
            magic: REGION_MAGIC,
            version: REGION_VERSION,
            header_len: REGION_HEADER_LEN as u16,
            owner_pid: std::process::id() as i32,
            owner_generation: owner_generation(),
            areas: areas.fields(),
        });
        Ok(Self::over(words, map, file, path, Side::Server, areas))
    }

    /// Client side: maps the region of `session_id` and checks its header.
    ///
    /// A missing, undersized or not yet initialised region gives
    /// [`TransportError::ShmNotReady`]: the caller may retry.
    ///
    /// Within a session, what orders the server's set-up before this read
    /// is the handshake: the server has written the whole header before
    /// its HELLO_ACK goes out, and the client attaches only after reading
    /// that reply from the socket. Without a handshake (tools that exchange
    /// messages over a region directly), a region created by this crate is
    /// still seen whole once its magic is: the magic is stored last with
    /// release and loaded first with acquire.
    pub fn attach(run_dir: &Path, service: &str, session_id: u64) -> Result<Self> {
        let path = region_path(run_dir, service, session_id);
        let not_ready = |e: TransportError| TransportError::ShmNotReady(Box::new(e));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW)
            .open(&path)
            .map_err(|e| not_ready(TransportError::io_at("open region", path.display(), e)))?;
        let file_len = file
            .metadata()
            .map_err(|e| not_ready(TransportError::io_at("stat region", path.display(), e)))?
            .len();
        if file_len < REGION_HEADER_LEN as u64 {
            return Err(not_ready(TransportError::Protocol("region not initialised yet")));
        }
        // A file longer than this address space cannot be mapped whole.
        let size =
            usize::try_from(file_len).map_err(|_| TransportError::Protocol("region file too large"))?;
        // The file is mapped at the length it has now, which the server
        // allocated whole before announcing it and never shrinks.
        let map = memmap2::MmapOptions::new()
            .len(size)
            .map_raw(&file)
            .map_err(|e| not_ready(TransportError::io("mmap", e)))?;
        // SAFETY: see `over`; the mapping is at least the header long.
        let words = unsafe { Words::new(map.as_mut_ptr()) };
        let header = words.read_set_up();
        if header.magic != REGION_MAGIC {
            return Err(not_ready(TransportError::Protocol(
                "region magic not written yet",
            )));
        }
        if header.version != REGION_VERSION || header.header_len as usize != REGION_HEADER_LEN {
            return Err(TransportError::Protocol("unsupported region version"));
        }
        let areas = match check_areas(header.areas, REGION_HEADER_LEN, file_len) {
            Ok(areas) => areas,
            Err(LayoutError::EmptyArea) => {
                return Err(not_ready(TransportError::Protocol(
                    "region capacities not written yet",
                )));
            }
            Err(e) => return Err(TransportError::Protocol(e.reason())),
        };
        let mut region = Self::over(words, map, file, path, Side::Client, areas);
        // Responses published before we attached are not ours to read.
        region.seen_seq = region.words.seq(RESPONSE);
        Ok(region)
    }

    /// The region over `map`, a shared mapping of a whole region file, at
    /// least the header long, whose `areas` were checked to lie inside it,
    /// before any message; `words` is over the same mapping.
    ///
    /// The mapping is never remapped and is unmapped only when the region
    /// drops, after `words` (declared first). It stays backed as long as
    /// nobody shrinks the file: see the module docs on SIGBUS.
    fn over(words: Words, map: MmapRaw, file: File, path: PathBuf, side: Side, areas: Areas) -> Self {
        debug_assert!(map.len() >= areas.resp_off + areas.resp_cap);
        let spin_budget = auto_spin_budget();
        Self {
            words,
            map: std::sync::Arc::new(map),
            _file: file,
            path,
            side,
            areas,
            seen_seq: 0,
            spin_tries: SPIN_TRIES_DEFAULT,
            check_pauses: check_pauses(spin_budget),
            spinner: Spinner::new(spin_budget),
            wait_slice: WAIT_SLICE,
            wake_owed: false,
            asleep_wakes: 0,
            woke_at_send: false,
            wakes: WakeCounts::default(),
        }
    }
}
