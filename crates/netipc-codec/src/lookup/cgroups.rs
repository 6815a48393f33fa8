//! CGROUPS_LOOKUP (method 4): cgroup paths in, orchestrator, name and labels out.
//!
//! Request keys are `path NUL`, and their directory length counts the NUL.
//! Response items are a 28-byte header, `path NUL name NUL`, then the label
//! block. Both payloads end at their last item's last byte.

use super::common::{
    LOOKUP_HDR_LEN, Label, LabelInput, LabelView, Labels, Orchestrator, fixed_strings, item_len_with_labels,
    label_at, read_request_header, validate_labels, write_labels, write_request_header,
};
use super::response::sealed::Sealed;
use super::response::{LookupKind, LookupResponseBuilder, LookupResponseView};
use crate::directory::{DirRules, Directory, PackedWriter, RawItems};
use crate::error::{CodecError, Result};
use crate::items::{IndexedView, Items};
use crate::strview::{StrView, WireString};
use crate::wire::{
    check_layout_version, fixed, no_interior_nul, put_nul_string, put_u16, put_u32, u16_at, u32_at,
};

/// Size of a response item's fixed header.
pub const CGROUPS_LOOKUP_ITEM_HDR_LEN: usize = 28;

const SLOTS_HINT: usize = 16;

/// Per-item outcome of a cgroups lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum CgroupsLookupStatus {
    /// The provider knows the path.
    Known = 0,
    /// Not known yet; ask again later.
    UnknownRetryLater = 1,
    /// Not known and never will be.
    UnknownPermanent = 2,
    /// The response budget ran out at this item; L2 retries it.
    PayloadExceeded = 3,
    /// The item cannot fit in any single message; final.
    OversizedItem = 4,
}

impl TryFrom<u16> for CgroupsLookupStatus {
    type Error = CodecError;

    fn try_from(v: u16) -> Result<Self> {
        Ok(match v {
            0 => Self::Known,
            1 => Self::UnknownRetryLater,
            2 => Self::UnknownPermanent,
            3 => Self::PayloadExceeded,
            4 => Self::OversizedItem,
            value => {
                return Err(CodecError::UnknownStatus {
                    what: "cgroups lookup status",
                    value,
                });
            }
        })
    }
}

fn request_rules() -> DirRules {
    DirRules {
        min_len: 2,
        exact: false,
        ordered: true,
        no_trailing: true,
    }
}

/// A decoded CGROUPS_LOOKUP request.
///
/// Borrowed and ephemeral: valid only while the payload buffer is; inside a
/// server handler, for the duration of the call.
#[derive(Debug, Clone, Copy)]
pub struct CgroupsLookupRequestView<'a> {
    /// Number of path keys.
    pub item_count: u32,
    dir: Directory<'a>,
}

impl<'a> CgroupsLookupRequestView<'a> {
    /// Decodes and validates a request payload.
    pub fn decode(buf: &'a [u8]) -> Result<Self> {
        let item_count = read_request_header(buf, "CGROUPS_LOOKUP request")?;
        let dir = Directory::parse(buf, LOOKUP_HDR_LEN, item_count, request_rules())?;
        for raw in dir.raw_items() {
            key_path(raw)?;
        }
        Ok(Self { item_count, dir })
    }

    /// The path of key `index` (without its NUL).
    pub fn path(&self, index: u32) -> Result<StrView<'a>> {
        key_path(self.dir.item(index)?)
    }

    /// The keys in order, as raw bytes that `decode` has checked already
    /// (read each with [`key_path_checked`]).
    pub(crate) fn raw_keys(&self) -> RawItems<'a> {
        self.dir.raw_items()
    }

    /// The paths in order.
    pub fn iter(&self) -> Items<Self> {
        Items::new(*self)
    }
}

impl<'a> IndexedView for CgroupsLookupRequestView<'a> {
    type Item = StrView<'a>;

    fn count(&self) -> u32 {
        self.item_count
    }

    fn get(&self, index: u32) -> Result<StrView<'a>> {
        self.path(index)
    }
}

/// The path of a key that `decode` accepted: the bytes before its NUL.
#[inline(always)]
pub(crate) fn key_path_checked(key: &[u8]) -> &[u8] {
    key.split_last().map_or(key, |(_, p)| p)
}

fn key_path(key: &[u8]) -> Result<StrView<'_>> {
    match key.split_last() {
        Some((0, path)) => {
            no_interior_nul(path, "request path")?;
            Ok(StrView::new(path))
        }
        _ => Err(CodecError::MissingNul {
            field: "request path",
        }),
    }
}

/// Builds a CGROUPS_LOOKUP request into a reusable buffer.
#[derive(Debug)]
pub struct CgroupsLookupRequestBuilder<'b> {
    w: PackedWriter<'b>,
}

impl<'b> CgroupsLookupRequestBuilder<'b> {
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

    /// Wire length of the key for `path`.
    pub fn key_len(path: &[u8]) -> usize {
        path.len() + 1
    }

    /// Whether a key for `path` still fits the budget.
    pub fn fits(&self, path: &[u8]) -> bool {
        self.w.fits(Self::key_len(path))
    }

    /// Appends a path key. The path must be non-empty and NUL-free.
    #[inline]
    pub fn add(&mut self, path: &[u8]) -> Result<()> {
        if path.is_empty() {
            return Err(CodecError::InvalidInput("lookup path is empty"));
        }
        no_interior_nul(path, "request path")?;
        self.w.push_parts([path, &[0]])
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

/// One response item given to [`CgroupsLookupResponseBuilder::add`].
#[derive(Debug, Clone, Copy)]
pub struct CgroupsLookupEntry<'x> {
    /// Outcome.
    pub status: CgroupsLookupStatus,
    /// Orchestrator (must be UNKNOWN unless KNOWN).
    pub orchestrator: Orchestrator,
    /// The request path, echoed (never empty).
    pub path: &'x [u8],
    /// Cgroup name (empty unless KNOWN).
    pub name: &'x [u8],
    /// Labels (none unless KNOWN).
    pub labels: &'x [LabelInput<'x>],
}

impl<'x> CgroupsLookupEntry<'x> {
    /// A KNOWN item.
    pub fn known(
        path: &'x [u8],
        orchestrator: Orchestrator,
        name: &'x [u8],
        labels: &'x [LabelInput<'x>],
    ) -> Self {
        Self {
            status: CgroupsLookupStatus::Known,
            orchestrator,
            path,
            name,
            labels,
        }
    }

    /// An item with a non-KNOWN status: only the path is echoed.
    pub fn unknown(path: &'x [u8], status: CgroupsLookupStatus) -> Self {
        Self {
            status,
            orchestrator: Orchestrator::UNKNOWN,
            path,
            name: b"",
            labels: &[],
        }
    }

    /// Wire length of this item; checks it as a decoder would.
    pub fn wire_len(&self) -> Result<usize> {
        no_interior_nul(self.path, "path")?;
        self.wire_len_trusting_path()
    }

    /// Like [`Self::wire_len`] for a path taken from a decoded request,
    /// which the request decoder has checked already.
    #[inline]
    pub(crate) fn wire_len_trusting_path(&self) -> Result<usize> {
        check_rules(
            self.status,
            self.orchestrator,
            self.path.len(),
            self.name.len(),
            self.labels.len(),
        )?;
        no_interior_nul(self.name, "name")?;
        let fixed_end = CGROUPS_LOOKUP_ITEM_HDR_LEN + self.path.len() + 1 + self.name.len() + 1;
        item_len_with_labels(fixed_end, self.labels)
    }

    /// The item's fixed header, with its strings laid back to back after it
    /// (filled locally: constant offsets, no range checks).
    #[inline]
    fn header(&self) -> [u8; CGROUPS_LOOKUP_ITEM_HDR_LEN] {
        let path_off = CGROUPS_LOOKUP_ITEM_HDR_LEN;
        let name_off = path_off + self.path.len() + 1;
        let mut h = [0u8; CGROUPS_LOOKUP_ITEM_HDR_LEN];
        put_u16(&mut h, 0, 1);
        put_u16(&mut h, 2, self.status as u16);
        put_u16(&mut h, 4, self.orchestrator.0);
        put_u32(&mut h, 8, path_off as u32);
        put_u32(&mut h, 12, self.path.len() as u32);
        put_u32(&mut h, 16, name_off as u32);
        put_u32(&mut h, 20, self.name.len() as u32);
        put_u16(&mut h, 24, self.labels.len() as u16);
        h
    }
}

fn check_rules(
    status: CgroupsLookupStatus,
    orchestrator: Orchestrator,
    path_len: usize,
    name_len: usize,
    label_count: usize,
) -> Result<()> {
    let rule = if path_len == 0 {
        "path must not be empty"
    } else if status == CgroupsLookupStatus::Known {
        return Ok(());
    } else if orchestrator != Orchestrator::UNKNOWN {
        "orchestrator must be 0 unless KNOWN"
    } else if name_len != 0 {
        "name must be empty unless KNOWN"
    } else if label_count != 0 {
        "labels must be absent unless KNOWN"
    } else {
        return Ok(());
    };
    Err(CodecError::StatusRule { rule })
}

/// Builds a CGROUPS_LOOKUP response into a reusable buffer.
///
/// ```
/// use netipc::protocol::lookup::*;
/// let mut buf = Vec::new();
/// let mut b = CgroupsLookupResponseBuilder::new(&mut buf, 7, 65536);
/// let labels: [LabelInput; 1] = [(b"role", b"db")];
/// b.add(&CgroupsLookupEntry::known(b"/known", Orchestrator::K8S, b"pod-a", &labels)).unwrap();
/// b.add(&CgroupsLookupEntry::unknown(b"/retry", CgroupsLookupStatus::UnknownRetryLater)).unwrap();
/// let len = b.finish();
/// let view = CgroupsLookupResponseView::decode(&buf[..len]).unwrap();
/// assert_eq!(view.item(0).unwrap().label(0).unwrap().value, "db");
/// ```
pub type CgroupsLookupResponseBuilder<'b> = LookupResponseBuilder<'b, CgroupsLookup>;

impl CgroupsLookupResponseBuilder<'_> {
    /// Appends an item, refusing anything the decoder would reject.
    pub fn add(&mut self, e: &CgroupsLookupEntry<'_>) -> Result<()> {
        let len = e.wire_len()?;
        self.add_sized(e, len)
    }

    /// Appends an item whose checked wire length is `len`.
    #[inline]
    pub(crate) fn add_sized(&mut self, e: &CgroupsLookupEntry<'_>, len: usize) -> Result<()> {
        let item = self.w.add(len)?;
        item[..CGROUPS_LOOKUP_ITEM_HDR_LEN].copy_from_slice(&e.header());
        let name_off = put_nul_string(item, CGROUPS_LOOKUP_ITEM_HDR_LEN, e.path);
        let fixed_end = put_nul_string(item, name_off, e.name);
        write_labels(item, fixed_end, e.labels);
        Ok(())
    }

    /// Appends the item of a path from a decoded request (checked already)
    /// with no name, orchestrator or labels, the form of every non-KNOWN
    /// answer: the bytes of `add(&CgroupsLookupEntry::unknown(path, status))`
    /// without the entry checks.
    #[inline]
    pub(crate) fn add_stub(&mut self, path: &[u8], status: CgroupsLookupStatus) -> Result<()> {
        let h = CgroupsLookupEntry::unknown(path, status).header();
        // The path and the empty name, each with its NUL.
        self.w.push_parts([&h, path, &[0, 0]])
    }
}

/// One item of a decoded CGROUPS_LOOKUP response.
///
/// Borrowed and ephemeral: valid only while the payload buffer is; for an L2
/// client, until the next call. Copy what you keep.
#[derive(Debug, Clone, Copy)]
pub struct CgroupsLookupItemView<'a> {
    /// Outcome.
    pub status: CgroupsLookupStatus,
    /// Orchestrator (raw value kept).
    pub orchestrator: Orchestrator,
    /// The echoed request path.
    pub path: StrView<'a>,
    /// Cgroup name.
    pub name: StrView<'a>,
    /// Number of labels.
    pub label_count: u16,
    item: &'a [u8],
    label_table: usize,
}

impl<'a> CgroupsLookupItemView<'a> {
    /// Decodes and validates one item.
    #[inline(always)]
    fn decode(item: &'a [u8]) -> Result<Self> {
        let h = fixed::<CGROUPS_LOOKUP_ITEM_HDR_LEN>(item, "CGROUPS_LOOKUP item")?;
        check_layout_version(h, "CGROUPS_LOOKUP item")?;
        if u16_at(h, 6) != 0 {
            return Err(CodecError::NonZeroReserved {
                field: "CGROUPS_LOOKUP item reserved0@6",
            });
        }
        if u16_at(h, 26) != 0 {
            return Err(CodecError::NonZeroReserved {
                field: "CGROUPS_LOOKUP item reserved1@26",
            });
        }
        let status = CgroupsLookupStatus::try_from(u16_at(h, 2))?;
        let orchestrator = Orchestrator(u16_at(h, 4));
        let label_count = u16_at(h, 24);
        let (path_len, name_len) = (u32_at(h, 12), u32_at(h, 20));
        check_rules(
            status,
            orchestrator,
            path_len as usize,
            name_len as usize,
            label_count as usize,
        )?;
        let hdr = CGROUPS_LOOKUP_ITEM_HDR_LEN;
        let ([path, name], fixed_end) = fixed_strings(
            item,
            hdr,
            [
                ("path", u32_at(h, 8), path_len),
                ("name", u32_at(h, 16), name_len),
            ],
        )?;
        let label_table = validate_labels(item, hdr, label_count, fixed_end)?;
        Ok(Self {
            status,
            orchestrator,
            path,
            name,
            label_count,
            item,
            label_table,
        })
    }

    /// Label `index`.
    pub fn label(&self, index: u32) -> Result<LabelView<'a>> {
        label_at(
            self.item,
            CGROUPS_LOOKUP_ITEM_HDR_LEN,
            self.label_table,
            self.label_count,
            index,
        )
    }

    /// The labels in order.
    pub fn labels(&self) -> Labels<'a> {
        Labels::new(
            self.item,
            CGROUPS_LOOKUP_ITEM_HDR_LEN,
            self.label_table,
            self.label_count,
        )
    }

    /// The raw wire bytes of this item.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.item
    }

    /// An owned copy.
    pub fn to_owned(&self) -> CgroupsLookupItem {
        CgroupsLookupItem {
            status: self.status,
            orchestrator: self.orchestrator,
            path: self.path.to_owned(),
            name: self.name.to_owned(),
            labels: self.labels().map(|l| l.to_owned()).collect(),
        }
    }
}

/// A decoded CGROUPS_LOOKUP response; decoding validates every item.
///
/// Borrowed and ephemeral: valid only while the payload buffer is.
pub type CgroupsLookupResponseView<'a> = LookupResponseView<'a, CgroupsLookup>;

/// The CGROUPS_LOOKUP method, for the shared lookup response types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CgroupsLookup;

impl Sealed for CgroupsLookup {}

impl LookupKind for CgroupsLookup {
    type ItemView<'a> = CgroupsLookupItemView<'a>;
    const ITEM_HDR_LEN: usize = CGROUPS_LOOKUP_ITEM_HDR_LEN;
    const RESPONSE: &'static str = "CGROUPS_LOOKUP response";

    #[inline(always)]
    fn decode_item(item: &[u8]) -> Result<CgroupsLookupItemView<'_>> {
        CgroupsLookupItemView::decode(item)
    }
}

/// An owned CGROUPS_LOOKUP response item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupsLookupItem {
    /// Outcome.
    pub status: CgroupsLookupStatus,
    /// Orchestrator.
    pub orchestrator: Orchestrator,
    /// The echoed request path.
    pub path: WireString,
    /// Cgroup name.
    pub name: WireString,
    /// Labels in order.
    pub labels: Vec<Label>,
}
