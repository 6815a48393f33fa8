//! CGROUPS_SNAPSHOT (method 2): the full list of cgroups, in one response.
//!
//! Request: `{u16 layout_version = 1, u16 flags = 0}`.
//! Response: a 24-byte header (`item_count`, `systemd_enabled`, `generation`),
//! an item directory, and 8-aligned items. Each item is a 32-byte header
//! followed by `name NUL path NUL`. The payload ends at the last item's last
//! byte.

use crate::directory::{DirRules, Directory, PackedWriter};
use crate::error::{CodecError, Result};
use crate::items::{IndexedView, Items};
use crate::strview::{StrView, WireString};
use crate::wire::{
    check_layout_prefix, fixed, no_interior_nul, nul_string, overlaps, put_layout_prefix, put_u32, put_u64,
    u32_at, u64_at,
};

/// Wire size of the request payload.
pub const CGROUPS_REQ_LEN: usize = 4;
/// Size of the response header.
pub const CGROUPS_RESP_HDR_LEN: usize = 24;
/// Size of an item's fixed header.
pub const CGROUPS_ITEM_HDR_LEN: usize = 32;

/// Directory slots a builder reserves before it needs to grow.
const SLOTS_HINT: usize = 64;

/// The 4 bytes of a snapshot request.
#[inline]
pub fn encode_cgroups_request() -> [u8; CGROUPS_REQ_LEN] {
    let mut b = [0u8; CGROUPS_REQ_LEN];
    put_layout_prefix(&mut b);
    b
}

/// A decoded snapshot request. It carries nothing beyond its version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CgroupsRequestView {
    /// Always 1 once decoded.
    pub layout_version: u16,
}

impl CgroupsRequestView {
    /// Decodes a request of exactly 4 bytes (layout_version 1, flags 0).
    pub fn decode(buf: &[u8]) -> Result<Self> {
        let b = fixed::<CGROUPS_REQ_LEN>(buf, "CGROUPS_SNAPSHOT request")?;
        if buf.len() != CGROUPS_REQ_LEN {
            return Err(CodecError::BadLength {
                what: "CGROUPS_SNAPSHOT request",
                expected: CGROUPS_REQ_LEN,
                actual: buf.len(),
            });
        }
        check_layout_prefix(b, "CGROUPS_SNAPSHOT request")?;
        Ok(Self { layout_version: 1 })
    }
}

/// One snapshot item, borrowed from the response payload.
///
/// Borrowed and ephemeral: valid only while the payload is (for an L2
/// client, until the next call on that client). Copy what you keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CgroupsItemView<'a> {
    /// Producer's hash of the name; with the name, the item's identity.
    pub hash: u32,
    /// Opaque option flags.
    pub options: u32,
    /// Opaque enabled value (a u32 on the wire).
    pub enabled: u32,
    /// Cgroup name.
    pub name: StrView<'a>,
    /// Cgroup filesystem path.
    pub path: StrView<'a>,
}

impl CgroupsItemView<'_> {
    /// An owned copy.
    pub fn to_owned(&self) -> CgroupsItem {
        CgroupsItem {
            hash: self.hash,
            options: self.options,
            enabled: self.enabled,
            name: self.name.to_owned(),
            path: self.path.to_owned(),
        }
    }
}

fn decode_item(item: &[u8]) -> Result<CgroupsItemView<'_>> {
    let h = fixed::<CGROUPS_ITEM_HDR_LEN>(item, "CGROUPS_SNAPSHOT item")?;
    check_layout_prefix(h, "CGROUPS_SNAPSHOT item")?;
    let (name, name_end) = nul_string(item, CGROUPS_ITEM_HDR_LEN, u32_at(h, 16), u32_at(h, 20), "name")?;
    let (path, path_end) = nul_string(item, CGROUPS_ITEM_HDR_LEN, u32_at(h, 24), u32_at(h, 28), "path")?;
    let name_start = u32_at(h, 16) as usize;
    let path_start = u32_at(h, 24) as usize;
    if overlaps((name_start, name_end), (path_start, path_end)) {
        return Err(CodecError::StringOverlap { a: "name", b: "path" });
    }
    Ok(CgroupsItemView {
        hash: u32_at(h, 4),
        options: u32_at(h, 8),
        enabled: u32_at(h, 12),
        name: StrView::new(name),
        path: StrView::new(path),
    })
}

/// An item that [`decode_item`] accepted when its view was decoded (the
/// view borrows its bytes, so they are still the same): its fields, and its
/// strings taken at their offsets without looking at their NULs and bounds
/// again. Each string's NUL lies in another cache line than the item's
/// header; not reading them again halves the memory a pass over a large
/// snapshot touches.
#[inline]
fn validated_item(item: &[u8]) -> Result<CgroupsItemView<'_>> {
    let h = fixed::<CGROUPS_ITEM_HDR_LEN>(item, "CGROUPS_SNAPSHOT item")?;
    let string = |at: usize, field: &'static str| {
        let offset = u32_at(h, at) as usize;
        let end = offset.checked_add(u32_at(h, at + 4) as usize);
        end.and_then(|end| item.get(offset..end))
            .ok_or(CodecError::StringOutOfBounds { field })
    };
    Ok(CgroupsItemView {
        hash: u32_at(h, 4),
        options: u32_at(h, 8),
        enabled: u32_at(h, 12),
        name: StrView::new(string(16, "name")?),
        path: StrView::new(string(24, "path")?),
    })
}

/// A decoded snapshot response.
///
/// Borrowed and ephemeral: valid only while the payload buffer is alive and
/// unchanged; for an L2 client, until the next typed call. Use
/// [`CgroupsResponseView::to_owned`] to keep it.
///
/// Decoding validates the header, the directory and every item, so a view
/// that exists is well formed throughout.
#[derive(Debug, Clone, Copy)]
pub struct CgroupsResponseView<'a> {
    /// Number of items.
    pub item_count: u32,
    /// Whether systemd cgroup integration is active (opaque u32).
    pub systemd_enabled: u32,
    /// Snapshot generation.
    pub generation: u64,
    dir: Directory<'a>,
    payload: &'a [u8],
}

impl<'a> CgroupsResponseView<'a> {
    /// Decodes and validates a snapshot response payload.
    pub fn decode(buf: &'a [u8]) -> Result<Self> {
        Self::decode_visiting(buf, |_| {})
    }

    /// Like [`Self::decode`], handing each item to `visit` as it is
    /// validated, in order: a consumer that keeps every item (an index of
    /// them, say) then reads the payload once instead of twice, which
    /// matters once it no longer fits the CPU's caches. When decoding
    /// fails, `visit` may have seen some items already: drop what it made
    /// of them.
    pub fn decode_visiting(buf: &'a [u8], mut visit: impl FnMut(CgroupsItemView<'a>)) -> Result<Self> {
        let h = fixed::<CGROUPS_RESP_HDR_LEN>(buf, "CGROUPS_SNAPSHOT response")?;
        check_layout_prefix(h, "CGROUPS_SNAPSHOT response")?;
        if u32_at(h, 12) != 0 {
            return Err(CodecError::NonZeroReserved {
                field: "CGROUPS_SNAPSHOT response reserved@12",
            });
        }
        let item_count = u32_at(h, 4);
        let rules = DirRules {
            min_len: CGROUPS_ITEM_HDR_LEN as u32,
            exact: false,
            ordered: true,
            no_trailing: true,
        };
        let dir = Directory::parse(buf, CGROUPS_RESP_HDR_LEN, item_count, rules)?;
        for raw in dir.raw_items() {
            visit(decode_item(raw)?);
        }
        Ok(Self {
            item_count,
            systemd_enabled: u32_at(h, 8),
            generation: u64_at(h, 16),
            dir,
            payload: buf,
        })
    }

    /// The payload this view was decoded from: every item's name and path
    /// lie within it, so a consumer that keeps the payload can note where
    /// (an offset from its start) instead of copying them.
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }

    /// Item `index`.
    #[inline]
    pub fn item(&self, index: u32) -> Result<CgroupsItemView<'a>> {
        validated_item(self.dir.item(index)?)
    }

    /// The items in order.
    pub fn iter(&self) -> Items<Self> {
        Items::new(*self)
    }

    /// An owned copy of the whole snapshot.
    pub fn to_owned(&self) -> CgroupsSnapshot {
        CgroupsSnapshot {
            systemd_enabled: self.systemd_enabled,
            generation: self.generation,
            items: self.iter().map(|i| i.to_owned()).collect(),
        }
    }
}

impl<'a> IndexedView for CgroupsResponseView<'a> {
    type Item = CgroupsItemView<'a>;

    fn count(&self) -> u32 {
        self.item_count
    }

    fn get(&self, index: u32) -> Result<CgroupsItemView<'a>> {
        self.item(index)
    }
}

/// Builds a snapshot response into a reusable buffer.
///
/// ```
/// use netipc::protocol::{CgroupsBuilder, CgroupsResponseView};
/// let mut buf = Vec::new();
/// let mut b = CgroupsBuilder::new(&mut buf, 65536);
/// b.set_header(1, 42);
/// b.add(1001, 0, 1, b"docker-abc123", b"/sys/fs/cgroup/docker/abc123").unwrap();
/// let len = b.finish();
/// let view = CgroupsResponseView::decode(&buf[..len]).unwrap();
/// assert_eq!(view.item(0).unwrap().name, "docker-abc123");
/// ```
#[derive(Debug)]
pub struct CgroupsBuilder<'b> {
    w: PackedWriter<'b>,
    systemd_enabled: u32,
    generation: u64,
}

impl<'b> CgroupsBuilder<'b> {
    /// Starts an empty snapshot of at most `limit` payload bytes. `out` is
    /// cleared; its capacity is reused.
    pub fn new(out: &'b mut Vec<u8>, limit: usize) -> Self {
        Self::with_capacity(out, limit, SLOTS_HINT)
    }

    /// Like `new`, with directory room for `items` items up front. More
    /// still fit, but each time the room runs out the items written so far
    /// move; unused room is squeezed out at `finish` (one more move).
    pub fn with_capacity(out: &'b mut Vec<u8>, limit: usize, items: usize) -> Self {
        Self {
            w: PackedWriter::new(out, CGROUPS_RESP_HDR_LEN, items, limit, false),
            systemd_enabled: 0,
            generation: 0,
        }
    }

    /// Sets the snapshot-level fields.
    pub fn set_header(&mut self, systemd_enabled: u32, generation: u64) {
        self.systemd_enabled = systemd_enabled;
        self.generation = generation;
    }

    /// Appends an item. Names and paths may be empty but must not contain NUL.
    pub fn add(&mut self, hash: u32, options: u32, enabled: u32, name: &[u8], path: &[u8]) -> Result<()> {
        no_interior_nul(name, "name")?;
        no_interior_nul(path, "path")?;
        let name_off = CGROUPS_ITEM_HDR_LEN;
        let path_off = name_off + name.len() + 1;
        // The header is filled locally; the item is then copied onto the
        // payload in its parts. Offsets and lengths that do not fit a u32
        // make the item too large for the u32 payload check of `push_parts`.
        let mut h = [0u8; CGROUPS_ITEM_HDR_LEN];
        put_layout_prefix(&mut h);
        put_u32(&mut h, 4, hash);
        put_u32(&mut h, 8, options);
        put_u32(&mut h, 12, enabled);
        put_u32(&mut h, 16, name_off as u32);
        put_u32(&mut h, 20, name.len() as u32);
        put_u32(&mut h, 24, path_off as u32);
        put_u32(&mut h, 28, path.len() as u32);
        self.w.push_parts([&h, name, &[0], path, &[0]])
    }

    /// Whether an item was refused because it did not fit the budget
    /// (a server answers such a request with LIMIT_EXCEEDED).
    pub fn overflowed(&self) -> bool {
        self.w.exceeded()
    }

    /// Items added so far.
    pub fn count(&self) -> u32 {
        self.w.count() as u32
    }

    /// The payload size as it stands.
    pub fn len(&self) -> usize {
        self.w.size()
    }

    /// Whether no item was added.
    pub fn is_empty(&self) -> bool {
        self.w.count() == 0
    }

    /// The payload budget.
    pub fn limit(&self) -> usize {
        self.w.limit()
    }

    /// Completes the payload and returns its length.
    pub fn finish(mut self) -> usize {
        let count = self.w.count() as u32;
        let (systemd_enabled, generation) = (self.systemd_enabled, self.generation);
        let h = self.w.header_mut();
        put_layout_prefix(h);
        put_u32(h, 4, count);
        put_u32(h, 8, systemd_enabled);
        put_u32(h, 12, 0);
        put_u64(h, 16, generation);
        self.w.finish()
    }
}

/// An owned snapshot item.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct CgroupsItem {
    /// Producer's hash of the name.
    pub hash: u32,
    /// Opaque option flags.
    pub options: u32,
    /// Opaque enabled value.
    pub enabled: u32,
    /// Cgroup name.
    pub name: WireString,
    /// Cgroup path.
    pub path: WireString,
}

/// An owned snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CgroupsSnapshot {
    /// Whether systemd cgroup integration is active.
    pub systemd_enabled: u32,
    /// Snapshot generation.
    pub generation: u64,
    /// The items, in wire order.
    pub items: Vec<CgroupsItem>,
}

impl CgroupsSnapshot {
    /// Encodes the snapshot into `out` within `limit` bytes; returns the length.
    pub fn encode(&self, out: &mut Vec<u8>, limit: usize) -> Result<usize> {
        let mut b = CgroupsBuilder::with_capacity(out, limit, self.items.len());
        b.set_header(self.systemd_enabled, self.generation);
        for it in &self.items {
            b.add(
                it.hash,
                it.options,
                it.enabled,
                it.name.as_bytes(),
                it.path.as_bytes(),
            )?;
        }
        Ok(b.finish())
    }
}
