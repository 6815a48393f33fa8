//! APPS_LOOKUP (method 5): PIDs in, process and joined cgroup metadata out.
//!
//! Request keys are 8 bytes, `{u32 pid, u32 reserved = 0}`, contiguous.
//! Response items are a 60-byte header, `comm NUL cgroup_path NUL
//! cgroup_name NUL`, then the label block.

use super::common::{
    LOOKUP_HDR_LEN, Label, LabelInput, LabelView, Labels, Orchestrator, fixed_strings, item_len_with_labels,
    label_at, read_request_header, validate_labels, write_labels, write_request_header,
};
use super::response::sealed::Sealed;
use super::response::{LookupKind, LookupResponseBuilder, LookupResponseView};
use crate::directory::{DIR_ENTRY_SIZE, DirRules, Directory, PackedWriter, RawItems};
use crate::error::{CodecError, Result};
use crate::items::{IndexedView, Items};
use crate::strview::{StrView, WireString};
use crate::wire::{
    check_layout_version, fixed, no_interior_nul, put_nul_string, put_u16, put_u32, put_u64, u16_at, u32_at,
    u64_at,
};

/// Size of a request key.
pub const APPS_LOOKUP_KEY_LEN: usize = 8;
/// Size of a response item's fixed header (not 64: there is no tail padding).
pub const APPS_LOOKUP_ITEM_HDR_LEN: usize = 60;
/// `uid` of a process whose uid is not known.
pub const UID_UNSET: u32 = u32::MAX;
/// Longest `comm`, in bytes.
pub const COMM_MAX_LEN: usize = 15;

const SLOTS_HINT: usize = 16;

/// Per-PID outcome of an apps lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum AppsLookupStatus {
    /// The provider knows the PID.
    Known = 0,
    /// The provider does not know the PID.
    Unknown = 1,
    /// The response budget ran out at this item; L2 retries it.
    PayloadExceeded = 2,
    /// The item cannot fit in any single message; final.
    OversizedItem = 3,
}

impl TryFrom<u16> for AppsLookupStatus {
    type Error = CodecError;

    fn try_from(v: u16) -> Result<Self> {
        Ok(match v {
            0 => Self::Known,
            1 => Self::Unknown,
            2 => Self::PayloadExceeded,
            3 => Self::OversizedItem,
            value => {
                return Err(CodecError::UnknownStatus {
                    what: "apps lookup status",
                    value,
                });
            }
        })
    }
}

/// What the provider knows of a known process's cgroup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(u16)]
pub enum CgroupStatus {
    /// Path known; name and labels may be present.
    #[default]
    Known = 0,
    /// Not known yet; the path may be empty.
    UnknownRetryLater = 1,
    /// Path known, but it will never be enriched.
    UnknownPermanent = 2,
    /// The process lives in the host's root cgroup.
    HostRoot = 3,
}

impl TryFrom<u16> for CgroupStatus {
    type Error = CodecError;

    fn try_from(v: u16) -> Result<Self> {
        Ok(match v {
            0 => Self::Known,
            1 => Self::UnknownRetryLater,
            2 => Self::UnknownPermanent,
            3 => Self::HostRoot,
            value => {
                return Err(CodecError::UnknownStatus {
                    what: "cgroup status",
                    value,
                });
            }
        })
    }
}

/// A decoded APPS_LOOKUP request.
///
/// Borrowed and ephemeral: valid only while the payload buffer is.
#[derive(Debug, Clone, Copy)]
pub struct AppsLookupRequestView<'a> {
    /// Number of PID keys.
    pub item_count: u32,
    dir: Directory<'a>,
}

impl<'a> AppsLookupRequestView<'a> {
    /// Decodes and validates a request payload.
    pub fn decode(buf: &'a [u8]) -> Result<Self> {
        let item_count = read_request_header(buf, "APPS_LOOKUP request")?;
        let rules = DirRules {
            min_len: APPS_LOOKUP_KEY_LEN as u32,
            exact: true,
            ordered: true,
            no_trailing: true,
        };
        let dir = Directory::parse(buf, LOOKUP_HDR_LEN, item_count, rules)?;
        for raw in dir.raw_items() {
            key_pid(raw)?;
        }
        Ok(Self { item_count, dir })
    }

    /// PID of key `index`.
    pub fn pid(&self, index: u32) -> Result<u32> {
        key_pid(self.dir.item(index)?)
    }

    /// The keys in order, as raw bytes that `decode` has checked already
    /// (read each with [`key_pid_checked`]).
    pub(crate) fn raw_keys(&self) -> RawItems<'a> {
        self.dir.raw_items()
    }

    /// The PIDs in order.
    pub fn iter(&self) -> Items<Self> {
        Items::new(*self)
    }
}

impl IndexedView for AppsLookupRequestView<'_> {
    type Item = u32;

    fn count(&self) -> u32 {
        self.item_count
    }

    fn get(&self, index: u32) -> Result<u32> {
        self.pid(index)
    }
}

/// The PID of a key that `decode` accepted.
#[inline(always)]
pub(crate) fn key_pid_checked(key: &[u8]) -> u32 {
    u32_at(key, 0)
}

fn key_pid(key: &[u8]) -> Result<u32> {
    let k = fixed::<APPS_LOOKUP_KEY_LEN>(key, "APPS_LOOKUP key")?;
    if u32_at(k, 4) != 0 {
        return Err(CodecError::NonZeroReserved {
            field: "APPS_LOOKUP key reserved@4",
        });
    }
    Ok(u32_at(k, 0))
}

/// Builds an APPS_LOOKUP request into a reusable buffer.
#[derive(Debug)]
pub struct AppsLookupRequestBuilder<'b> {
    w: PackedWriter<'b>,
}

impl<'b> AppsLookupRequestBuilder<'b> {
    /// Starts an empty request of at most `limit` payload bytes.
    pub fn new(out: &'b mut Vec<u8>, limit: usize) -> Self {
        Self::with_capacity(out, limit, SLOTS_HINT)
    }

    /// Like `new`, with directory room for `keys` keys up front (more still
    /// fit; fewer leave unused room that `finish` moves the keys over).
    pub fn with_capacity(out: &'b mut Vec<u8>, limit: usize, keys: usize) -> Self {
        Self {
            w: PackedWriter::new(out, LOOKUP_HDR_LEN, keys, limit, false),
        }
    }

    /// Whether one more key still fits the budget.
    pub fn fits(&self) -> bool {
        self.w.fits(APPS_LOOKUP_KEY_LEN)
    }

    /// The most keys a request of at most `limit` payload bytes holds.
    pub fn max_keys(limit: usize) -> usize {
        limit.saturating_sub(LOOKUP_HDR_LEN) / (DIR_ENTRY_SIZE + APPS_LOOKUP_KEY_LEN)
    }

    /// Appends a PID key.
    #[inline]
    pub fn add(&mut self, pid: u32) -> Result<()> {
        let mut key = [0u8; APPS_LOOKUP_KEY_LEN];
        put_u32(&mut key, 0, pid);
        self.w.push(&key)
    }

    /// Appends a PID key for each of `pids`, in order: all of them, or,
    /// when they do not all fit the budget, none (`LimitExceeded`).
    ///
    /// ```
    /// use netipc::protocol::lookup::{AppsLookupRequestBuilder, AppsLookupRequestView};
    ///
    /// let mut buf = Vec::new();
    /// let mut b = AppsLookupRequestBuilder::with_capacity(&mut buf, 4096, 3);
    /// b.add_all(&[1, 42, 4242]).unwrap();
    /// let len = b.finish();
    /// let view = AppsLookupRequestView::decode(&buf[..len]).unwrap();
    /// assert_eq!(view.iter().collect::<Vec<u32>>(), [1, 42, 4242]);
    /// ```
    pub fn add_all(&mut self, pids: &[u32]) -> Result<()> {
        let keys = self.w.add_run(pids.len(), APPS_LOOKUP_KEY_LEN)?;
        for (key, &pid) in keys.chunks_exact_mut(APPS_LOOKUP_KEY_LEN).zip(pids) {
            put_u32(key, 0, pid);
        }
        Ok(())
    }

    /// Keys added so far.
    pub fn count(&self) -> u32 {
        self.w.count() as u32
    }

    /// Completes the payload and returns its length.
    pub fn finish(mut self) -> usize {
        let count = self.count();
        write_request_header(self.w.header_mut(), count);
        self.w.finish()
    }
}

/// One response item given to [`AppsLookupResponseBuilder::add`].
#[derive(Debug, Clone, Copy)]
pub struct AppsLookupEntry<'x> {
    /// The request PID, echoed.
    pub pid: u32,
    /// PID outcome.
    pub status: AppsLookupStatus,
    /// Cgroup outcome (KNOWN's value 0 unless the PID is KNOWN).
    pub cgroup_status: CgroupStatus,
    /// Orchestrator of the cgroup.
    pub orchestrator: Orchestrator,
    /// Parent PID, or 0.
    pub ppid: u32,
    /// Process uid, or [`UID_UNSET`].
    pub uid: u32,
    /// `/proc/<pid>/stat` field 22, in jiffies since boot (0 off Linux).
    pub starttime: u64,
    /// Process name, 1 to 15 bytes when KNOWN.
    pub comm: &'x [u8],
    /// Cgroup path.
    pub cgroup_path: &'x [u8],
    /// Cgroup name.
    pub cgroup_name: &'x [u8],
    /// Cgroup labels.
    pub labels: &'x [LabelInput<'x>],
}

impl<'x> AppsLookupEntry<'x> {
    /// An item with a non-KNOWN status: the PID only, every other field at
    /// its required empty value.
    pub fn not_known(pid: u32, status: AppsLookupStatus) -> Self {
        Self {
            pid,
            status,
            cgroup_status: CgroupStatus::Known,
            orchestrator: Orchestrator::UNKNOWN,
            ppid: 0,
            uid: UID_UNSET,
            starttime: 0,
            comm: b"",
            cgroup_path: b"",
            cgroup_name: b"",
            labels: &[],
        }
    }

    /// Wire length of this item; checks it as a decoder would.
    #[inline]
    pub fn wire_len(&self) -> Result<usize> {
        check_rules(&Fields {
            status: self.status,
            cgroup_status: self.cgroup_status,
            orchestrator: self.orchestrator,
            ppid: self.ppid,
            uid: self.uid,
            starttime: self.starttime,
            comm_len: self.comm.len(),
            path_len: self.cgroup_path.len(),
            name_len: self.cgroup_name.len(),
            label_count: self.labels.len(),
        })?;
        no_interior_nul(self.comm, "comm")?;
        no_interior_nul(self.cgroup_path, "cgroup_path")?;
        no_interior_nul(self.cgroup_name, "cgroup_name")?;
        let fixed_end =
            APPS_LOOKUP_ITEM_HDR_LEN + self.comm.len() + self.cgroup_path.len() + self.cgroup_name.len() + 3;
        item_len_with_labels(fixed_end, self.labels)
    }

    /// The item's fixed header, with its strings laid back to back after it
    /// (filled locally: constant offsets, no range checks).
    #[inline]
    fn header(&self) -> [u8; APPS_LOOKUP_ITEM_HDR_LEN] {
        let comm_off = APPS_LOOKUP_ITEM_HDR_LEN;
        let path_off = comm_off + self.comm.len() + 1;
        let name_off = path_off + self.cgroup_path.len() + 1;
        let mut h = [0u8; APPS_LOOKUP_ITEM_HDR_LEN];
        put_u16(&mut h, 0, 1);
        put_u16(&mut h, 2, self.status as u16);
        put_u16(&mut h, 4, self.orchestrator.0);
        put_u16(&mut h, 6, self.cgroup_status as u16);
        put_u32(&mut h, 8, self.pid);
        put_u32(&mut h, 12, self.ppid);
        put_u32(&mut h, 16, self.uid);
        put_u64(&mut h, 24, self.starttime);
        put_u32(&mut h, 32, comm_off as u32);
        put_u32(&mut h, 36, self.comm.len() as u32);
        put_u32(&mut h, 40, path_off as u32);
        put_u32(&mut h, 44, self.cgroup_path.len() as u32);
        put_u32(&mut h, 48, name_off as u32);
        put_u32(&mut h, 52, self.cgroup_name.len() as u32);
        put_u16(&mut h, 56, self.labels.len() as u16);
        h
    }
}

/// The header fields the status rules look at.
struct Fields {
    status: AppsLookupStatus,
    cgroup_status: CgroupStatus,
    orchestrator: Orchestrator,
    ppid: u32,
    uid: u32,
    starttime: u64,
    comm_len: usize,
    path_len: usize,
    name_len: usize,
    label_count: usize,
}

#[inline]
fn check_rules(f: &Fields) -> Result<()> {
    if f.comm_len > COMM_MAX_LEN {
        return Err(CodecError::CommTooLong(f.comm_len.min(u32::MAX as usize) as u32));
    }
    let no_cgroup_meta = f.orchestrator == Orchestrator::UNKNOWN && f.name_len == 0 && f.label_count == 0;
    let rule = if f.status != AppsLookupStatus::Known {
        if f.orchestrator != Orchestrator::UNKNOWN || f.cgroup_status != CgroupStatus::Known {
            "orchestrator and cgroup_status must be 0 unless the PID is KNOWN"
        } else if f.ppid != 0 || f.uid != UID_UNSET || f.starttime != 0 {
            "ppid, starttime must be 0 and uid unset unless the PID is KNOWN"
        } else if f.comm_len != 0 || f.path_len != 0 || f.name_len != 0 || f.label_count != 0 {
            "strings and labels must be empty unless the PID is KNOWN"
        } else {
            return Ok(());
        }
    } else if f.comm_len == 0 {
        "comm must not be empty for a KNOWN PID"
    } else {
        match f.cgroup_status {
            CgroupStatus::Known if f.path_len == 0 => {
                "cgroup_path must not be empty when the cgroup is KNOWN"
            }
            CgroupStatus::Known => return Ok(()),
            CgroupStatus::UnknownRetryLater if no_cgroup_meta => return Ok(()),
            CgroupStatus::UnknownRetryLater => {
                "UNKNOWN_RETRY_LATER cgroup carries no orchestrator, name or labels"
            }
            CgroupStatus::UnknownPermanent if f.path_len == 0 => "UNKNOWN_PERMANENT cgroup needs its path",
            CgroupStatus::UnknownPermanent if no_cgroup_meta => return Ok(()),
            CgroupStatus::UnknownPermanent => {
                "UNKNOWN_PERMANENT cgroup carries no orchestrator, name or labels"
            }
            CgroupStatus::HostRoot if no_cgroup_meta && f.path_len == 0 => return Ok(()),
            CgroupStatus::HostRoot => "HOST_ROOT cgroup carries no orchestrator, path, name or labels",
        }
    };
    Err(CodecError::StatusRule { rule })
}

/// Builds an APPS_LOOKUP response into a reusable buffer.
///
/// ```
/// use netipc::protocol::lookup::*;
/// let mut buf = Vec::new();
/// let mut b = AppsLookupResponseBuilder::new(&mut buf, 7, 65536);
/// b.add(&AppsLookupEntry::not_known(42, AppsLookupStatus::Unknown)).unwrap();
/// let len = b.finish();
/// let view = AppsLookupResponseView::decode(&buf[..len]).unwrap();
/// assert_eq!(view.item(0).unwrap().pid, 42);
/// ```
pub type AppsLookupResponseBuilder<'b> = LookupResponseBuilder<'b, AppsLookup>;

impl AppsLookupResponseBuilder<'_> {
    /// Appends an item, refusing anything the decoder would reject.
    pub fn add(&mut self, e: &AppsLookupEntry<'_>) -> Result<()> {
        let len = e.wire_len()?;
        self.add_sized(e, len)
    }

    /// Appends an item whose checked wire length is `len`.
    #[inline]
    pub(crate) fn add_sized(&mut self, e: &AppsLookupEntry<'_>, len: usize) -> Result<()> {
        let item = self.w.add(len)?;
        item[..APPS_LOOKUP_ITEM_HDR_LEN].copy_from_slice(&e.header());
        let comm_off = APPS_LOOKUP_ITEM_HDR_LEN;
        let path_off = put_nul_string(item, comm_off, e.comm);
        let name_off = put_nul_string(item, path_off, e.cgroup_path);
        let fixed_end = put_nul_string(item, name_off, e.cgroup_name);
        write_labels(item, fixed_end, e.labels);
        Ok(())
    }

    /// Appends the non-KNOWN item of `pid` (`status` is not KNOWN), the
    /// bytes of `add(&AppsLookupEntry::not_known(pid, status))` without the
    /// entry checks: its header, then three empty strings (three NULs).
    #[inline]
    pub(crate) fn add_stub(&mut self, pid: u32, status: AppsLookupStatus) -> Result<()> {
        debug_assert_ne!(status, AppsLookupStatus::Known);
        let h = AppsLookupEntry::not_known(pid, status).header();
        self.w.push_parts([&h, &[0, 0, 0]])
    }
}

/// One item of a decoded APPS_LOOKUP response.
///
/// Borrowed and ephemeral: valid only while the payload buffer is; for an L2
/// client, until the next call. Copy what you keep.
#[derive(Debug, Clone, Copy)]
pub struct AppsLookupItemView<'a> {
    /// The echoed PID.
    pub pid: u32,
    /// PID outcome.
    pub status: AppsLookupStatus,
    /// Cgroup outcome.
    pub cgroup_status: CgroupStatus,
    /// Orchestrator (raw value kept).
    pub orchestrator: Orchestrator,
    /// Parent PID.
    pub ppid: u32,
    /// uid, or [`UID_UNSET`].
    pub uid: u32,
    /// Start time in jiffies since boot.
    pub starttime: u64,
    /// Process name.
    pub comm: StrView<'a>,
    /// Cgroup path.
    pub cgroup_path: StrView<'a>,
    /// Cgroup name.
    pub cgroup_name: StrView<'a>,
    /// Number of labels.
    pub label_count: u16,
    item: &'a [u8],
    label_table: usize,
}

impl<'a> AppsLookupItemView<'a> {
    #[inline(always)]
    fn decode(item: &'a [u8]) -> Result<Self> {
        let h = fixed::<APPS_LOOKUP_ITEM_HDR_LEN>(item, "APPS_LOOKUP item")?;
        check_layout_version(h, "APPS_LOOKUP item")?;
        if u32_at(h, 20) != 0 {
            return Err(CodecError::NonZeroReserved {
                field: "APPS_LOOKUP item reserved0@20",
            });
        }
        if u16_at(h, 58) != 0 {
            return Err(CodecError::NonZeroReserved {
                field: "APPS_LOOKUP item reserved1@58",
            });
        }
        let status = AppsLookupStatus::try_from(u16_at(h, 2))?;
        let cgroup_status = CgroupStatus::try_from(u16_at(h, 6))?;
        let orchestrator = Orchestrator(u16_at(h, 4));
        let (ppid, uid, starttime) = (u32_at(h, 12), u32_at(h, 16), u64_at(h, 24));
        let (comm_len, path_len, name_len) = (u32_at(h, 36), u32_at(h, 44), u32_at(h, 52));
        let label_count = u16_at(h, 56);
        check_rules(&Fields {
            status,
            cgroup_status,
            orchestrator,
            ppid,
            uid,
            starttime,
            comm_len: comm_len as usize,
            path_len: path_len as usize,
            name_len: name_len as usize,
            label_count: label_count as usize,
        })?;
        let hdr = APPS_LOOKUP_ITEM_HDR_LEN;
        let ([comm, cgroup_path, cgroup_name], fixed_end) = fixed_strings(
            item,
            hdr,
            [
                ("comm", u32_at(h, 32), comm_len),
                ("cgroup_path", u32_at(h, 40), path_len),
                ("cgroup_name", u32_at(h, 48), name_len),
            ],
        )?;
        let label_table = validate_labels(item, hdr, label_count, fixed_end)?;
        Ok(Self {
            pid: u32_at(h, 8),
            status,
            cgroup_status,
            orchestrator,
            ppid,
            uid,
            starttime,
            comm,
            cgroup_path,
            cgroup_name,
            label_count,
            item,
            label_table,
        })
    }

    /// Label `index`.
    pub fn label(&self, index: u32) -> Result<LabelView<'a>> {
        label_at(
            self.item,
            APPS_LOOKUP_ITEM_HDR_LEN,
            self.label_table,
            self.label_count,
            index,
        )
    }

    /// The labels in order.
    pub fn labels(&self) -> Labels<'a> {
        Labels::new(
            self.item,
            APPS_LOOKUP_ITEM_HDR_LEN,
            self.label_table,
            self.label_count,
        )
    }

    /// The raw wire bytes of this item.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.item
    }

    /// An owned copy.
    pub fn to_owned(&self) -> AppsLookupItem {
        AppsLookupItem {
            pid: self.pid,
            status: self.status,
            cgroup_status: self.cgroup_status,
            orchestrator: self.orchestrator,
            ppid: self.ppid,
            uid: self.uid,
            starttime: self.starttime,
            comm: self.comm.to_owned(),
            cgroup_path: self.cgroup_path.to_owned(),
            cgroup_name: self.cgroup_name.to_owned(),
            labels: self.labels().map(|l| l.to_owned()).collect(),
        }
    }
}

/// A decoded APPS_LOOKUP response; decoding validates every item.
///
/// Borrowed and ephemeral: valid only while the payload buffer is.
pub type AppsLookupResponseView<'a> = LookupResponseView<'a, AppsLookup>;

/// The APPS_LOOKUP method, for the shared lookup response types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppsLookup;

impl Sealed for AppsLookup {}

impl LookupKind for AppsLookup {
    type ItemView<'a> = AppsLookupItemView<'a>;
    const ITEM_HDR_LEN: usize = APPS_LOOKUP_ITEM_HDR_LEN;
    const RESPONSE: &'static str = "APPS_LOOKUP response";

    #[inline(always)]
    fn decode_item(item: &[u8]) -> Result<AppsLookupItemView<'_>> {
        AppsLookupItemView::decode(item)
    }
}

/// An owned APPS_LOOKUP response item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppsLookupItem {
    /// The echoed PID.
    pub pid: u32,
    /// PID outcome.
    pub status: AppsLookupStatus,
    /// Cgroup outcome.
    pub cgroup_status: CgroupStatus,
    /// Orchestrator.
    pub orchestrator: Orchestrator,
    /// Parent PID.
    pub ppid: u32,
    /// uid, or [`UID_UNSET`].
    pub uid: u32,
    /// Start time in jiffies since boot.
    pub starttime: u64,
    /// Process name.
    pub comm: WireString,
    /// Cgroup path.
    pub cgroup_path: WireString,
    /// Cgroup name.
    pub cgroup_name: WireString,
    /// Labels in order.
    pub labels: Vec<Label>,
}
