//! Parts shared by the CGROUPS_LOOKUP and APPS_LOOKUP layouts: the 16-byte
//! request and response headers, the orchestrator enum and the label block.

use crate::error::{CodecError, Result};
use crate::strview::{StrView, WireString};
use crate::wire::{
    align8, check_layout_prefix, checked_align8, count_zero_bytes, fixed, no_interior_nul, nul_string,
    overlaps, put_layout_prefix, put_nul_string, put_u32, put_u64, u32_at, u64_at,
};

/// Size of the lookup request header and of the lookup response header.
pub const LOOKUP_HDR_LEN: usize = 16;
/// Size of one label table entry.
pub const LABEL_ENTRY_LEN: usize = 16;

/// A label given to a response builder: `(key, value)`. Keys must not be
/// empty; neither may contain NUL.
pub type LabelInput<'x> = (&'x [u8], &'x [u8]);

/// The orchestrator that runs a cgroup: an open enum (unknown values decode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Orchestrator(pub u16);

impl Orchestrator {
    /// Not known (also the value required on non-KNOWN items).
    pub const UNKNOWN: Self = Self(0);
    /// systemd.
    pub const SYSTEMD: Self = Self(1);
    /// Docker.
    pub const DOCKER: Self = Self(2);
    /// Kubernetes.
    pub const K8S: Self = Self(3);
    /// KVM / libvirt.
    pub const KVM: Self = Self(4);
    /// LXC.
    pub const LXC: Self = Self(5);
    /// Podman.
    pub const PODMAN: Self = Self(6);
    /// systemd-nspawn.
    pub const NSPAWN: Self = Self(7);

    /// The name of a value the protocol defines.
    pub fn name(self) -> Option<&'static str> {
        const NAMES: [&str; 8] = [
            "unknown", "systemd", "docker", "k8s", "kvm", "lxc", "podman", "nspawn",
        ];
        NAMES.get(self.0 as usize).copied()
    }
}

/// A label borrowed from a response item.
///
/// Borrowed and ephemeral, like the view it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabelView<'a> {
    /// Label key (never empty).
    pub key: StrView<'a>,
    /// Label value (may be empty).
    pub value: StrView<'a>,
}

impl LabelView<'_> {
    /// An owned copy.
    pub fn to_owned(&self) -> Label {
        Label {
            key: self.key.to_owned(),
            value: self.value.to_owned(),
        }
    }
}

/// An owned label.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Label {
    /// Label key.
    pub key: WireString,
    /// Label value.
    pub value: WireString,
}

impl Label {
    /// The label as builder input.
    pub fn as_input(&self) -> LabelInput<'_> {
        (self.key.as_bytes(), self.value.as_bytes())
    }
}

/// Checks a lookup request header; returns the item count.
pub(crate) fn read_request_header(buf: &[u8], what: &'static str) -> Result<u32> {
    let h = fixed::<LOOKUP_HDR_LEN>(buf, what)?;
    check_layout_prefix(h, what)?;
    if u32_at(h, 8) != 0 {
        return Err(CodecError::NonZeroReserved {
            field: "lookup request reserved0@8",
        });
    }
    if u32_at(h, 12) != 0 {
        return Err(CodecError::NonZeroReserved {
            field: "lookup request reserved1@12",
        });
    }
    Ok(u32_at(h, 4))
}

/// Writes a lookup request header (filled locally, copied with one range
/// check).
#[inline]
pub(crate) fn write_request_header(h: &mut [u8], count: u32) {
    let mut a = [0u8; LOOKUP_HDR_LEN];
    put_layout_prefix(&mut a);
    put_u32(&mut a, 4, count);
    h[..LOOKUP_HDR_LEN].copy_from_slice(&a);
}

/// Checks a lookup response header; returns the item count and generation.
pub(crate) fn read_response_header(buf: &[u8], what: &'static str) -> Result<(u32, u64)> {
    let h = fixed::<LOOKUP_HDR_LEN>(buf, what)?;
    check_layout_prefix(h, what)?;
    Ok((u32_at(h, 4), u64_at(h, 8)))
}

/// Writes a lookup response header (filled locally, copied with one range
/// check).
#[inline]
pub(crate) fn write_response_header(h: &mut [u8], count: u32, generation: u64) {
    let mut a = [0u8; LOOKUP_HDR_LEN];
    put_layout_prefix(&mut a);
    put_u32(&mut a, 4, count);
    put_u64(&mut a, 8, generation);
    h[..LOOKUP_HDR_LEN].copy_from_slice(&a);
}

/// A response string: in bounds, NUL-terminated, no NUL inside.
/// Returns the bytes and the half-open range it occupies with its NUL.
#[inline]
pub(crate) fn response_string<'a>(
    item: &'a [u8],
    hdr_len: usize,
    offset: u32,
    length: u32,
    field: &'static str,
) -> Result<(StrView<'a>, (usize, usize))> {
    let (s, end) = nul_string(item, hdr_len, offset, length, field)?;
    no_interior_nul(s, field)?;
    Ok((StrView::new(s), (offset as usize, end)))
}

/// One fixed string of an item header: its field name, offset and length.
pub(crate) type StringField = (&'static str, u32, u32);

/// The fixed strings of a response item, checked like [`response_string`]
/// each and pairwise for overlap; returns them and where the last one ends.
///
/// Encoders write these strings back to back right after the header, in
/// field order. That layout is checked in one pass: the terminators where
/// the lengths put them, and no other zero byte in between. Any other
/// layout (or a fault) takes the string-by-string path.
#[inline(always)]
pub(crate) fn fixed_strings<'a, const N: usize>(
    item: &'a [u8],
    hdr_len: usize,
    fields: [StringField; N],
) -> Result<([StrView<'a>; N], usize)> {
    if let Some(end) = packed_strings_end(item, hdr_len, &fields) {
        let mut at = hdr_len;
        let views = fields.map(|(_, _, len)| {
            let s = StrView::new(&item[at..at + len as usize]);
            at += len as usize + 1;
            s
        });
        return Ok((views, end));
    }
    scattered_strings(item, hdr_len, fields)
}

/// Where back-to-back strings after the header end, if they are valid.
#[inline]
fn packed_strings_end(item: &[u8], hdr_len: usize, fields: &[StringField]) -> Option<usize> {
    packed_run_end(item, hdr_len, fields.iter().map(|&(_, off, len)| (off, len)))
}

/// Where a run of NUL-terminated strings, given as `(offset, length)` and
/// laid back to back from `start`, ends, if each sits where the one before
/// it ended, ends in a NUL, and holds no other zero byte.
///
/// The walk and the zero count run without early exits; callers check a
/// run this rejects again, string by string, to name the fault.
#[inline(always)]
fn packed_run_end(item: &[u8], start: usize, strings: impl Iterator<Item = (u32, u32)>) -> Option<usize> {
    let mut at = start;
    let mut bad = false;
    let mut count = 0;
    for (off, len) in strings {
        bad |= off as usize != at;
        let nul = at.saturating_add(len as usize);
        bad |= item.get(nul) != Some(&0);
        at = nul.saturating_add(1);
        count += 1;
    }
    // Every terminator is a zero byte of the run: any other zero there is
    // an interior NUL.
    let run = item.get(start..at)?;
    (!bad && count_zero_bytes(run) == count).then_some(at)
}

/// The string-by-string check of [`fixed_strings`], for any layout.
#[cold]
fn scattered_strings<'a, const N: usize>(
    item: &'a [u8],
    hdr_len: usize,
    fields: [StringField; N],
) -> Result<([StrView<'a>; N], usize)> {
    let mut views = [StrView::new(b""); N];
    let mut ranges = [(0usize, 0usize); N];
    for (i, &(field, off, len)) in fields.iter().enumerate() {
        (views[i], ranges[i]) = response_string(item, hdr_len, off, len, field)?;
    }
    for i in 0..N {
        for j in i + 1..N {
            if overlaps(ranges[i], ranges[j]) {
                return Err(CodecError::StringOverlap {
                    a: fields[i].0,
                    b: fields[j].0,
                });
            }
        }
    }
    let end = ranges.iter().map(|r| r.1).max().unwrap_or(hdr_len);
    Ok((views, end))
}

/// Length of an item whose fixed strings end at `fixed_end`, once `labels`
/// are added. Checks the labels as a decoder would.
#[inline]
pub(crate) fn item_len_with_labels(fixed_end: usize, labels: &[LabelInput<'_>]) -> Result<usize> {
    if labels.is_empty() {
        return Ok(fixed_end);
    }
    if labels.len() > u16::MAX as usize {
        return Err(CodecError::TooLarge { what: "label count" });
    }
    let mut len = checked_align8(fixed_end)
        .and_then(|t| t.checked_add(labels.len() * LABEL_ENTRY_LEN))
        .ok_or(CodecError::TooLarge { what: "label table" })?;
    for (key, value) in labels {
        if key.is_empty() {
            return Err(CodecError::InvalidInput("label key is empty"));
        }
        no_interior_nul(key, "label key")?;
        no_interior_nul(value, "label value")?;
        len = len
            .checked_add(key.len() + value.len() + 2)
            .ok_or(CodecError::TooLarge {
                what: "label strings",
            })?;
    }
    Ok(len)
}

/// Writes the label block of an item whose fixed strings end at `fixed_end`.
/// The item must be zeroed and sized by [`item_len_with_labels`].
#[inline]
pub(crate) fn write_labels(item: &mut [u8], fixed_end: usize, labels: &[LabelInput<'_>]) {
    if labels.is_empty() {
        return;
    }
    let table = align8(fixed_end);
    let mut at = table + labels.len() * LABEL_ENTRY_LEN;
    for (i, (key, value)) in labels.iter().enumerate() {
        let value_at = at + key.len() + 1;
        // One entry, filled locally and copied with one range check.
        let mut e = [0u8; LABEL_ENTRY_LEN];
        put_u32(&mut e, 0, at as u32);
        put_u32(&mut e, 4, key.len() as u32);
        put_u32(&mut e, 8, value_at as u32);
        put_u32(&mut e, 12, value.len() as u32);
        let entry = table + i * LABEL_ENTRY_LEN;
        item[entry..entry + LABEL_ENTRY_LEN].copy_from_slice(&e);
        put_nul_string(item, at, key);
        at = put_nul_string(item, value_at, value);
    }
}

/// Validates the label block of an item; returns the label table offset.
///
/// With no labels the item must end at `fixed_end`. Otherwise the table
/// sits at `align8(fixed_end)` after zero padding, and the label strings are
/// packed right after it in table order, up to the item's last byte.
#[inline(always)]
pub(crate) fn validate_labels(item: &[u8], hdr_len: usize, count: u16, fixed_end: usize) -> Result<usize> {
    if count == 0 {
        if fixed_end != item.len() {
            return Err(CodecError::TrailingBytes {
                extra: item.len().saturating_sub(fixed_end),
            });
        }
        return Ok(fixed_end);
    }
    let table = align8(fixed_end);
    let table_end = table + count as usize * LABEL_ENTRY_LEN;
    if table_end > item.len() {
        return Err(CodecError::BadLabelTable {
            rule: "table runs past the item",
        });
    }
    if item[fixed_end..table].iter().any(|&b| b != 0) {
        return Err(CodecError::NonZeroPadding);
    }
    if !labels_well_formed(item, table, count as usize) {
        check_labels(item, hdr_len, count, table)?;
    }
    Ok(table)
}

/// Whether the label table at `table` of `item` (inside the item) and the
/// strings after it form a valid label block: keys are not empty, and the
/// entries describe `key NUL value NUL` pairs packed in table order up to
/// the item's last byte, with no other zero byte among the strings. A block
/// this rejects is walked again by [`check_labels`] to name the fault.
#[inline(always)]
fn labels_well_formed(item: &[u8], table: usize, count: usize) -> bool {
    let table_end = table + count * LABEL_ENTRY_LEN;
    // An entry is two `{offset, length}` pairs, key then value: the table
    // read eight bytes at a time lists every string in order.
    let (pairs, _) = item[table..table_end].as_chunks::<8>();
    let keys_named = pairs.iter().step_by(2).all(|k| u32_at(k, 4) != 0);
    let strings = pairs.iter().map(|p| (u32_at(p, 0), u32_at(p, 4)));
    keys_named && packed_run_end(item, table_end, strings) == Some(item.len())
}

/// Entry by entry, the first fault of the label block whose table sits at
/// `table`: the authority that [`labels_well_formed`] speeds up.
#[cold]
fn check_labels(item: &[u8], hdr_len: usize, count: u16, table: usize) -> Result<()> {
    let mut expected = table + count as usize * LABEL_ENTRY_LEN;
    for index in 0..count as u32 {
        let e = table + index as usize * LABEL_ENTRY_LEN;
        let (key_off, key_len) = (u32_at(item, e), u32_at(item, e + 4));
        let (value_off, value_len) = (u32_at(item, e + 8), u32_at(item, e + 12));
        if key_len == 0 {
            return Err(CodecError::EmptyLabelKey { index });
        }
        if key_off as usize != expected {
            return Err(CodecError::LabelNotContiguous { index });
        }
        let (_, (_, key_end)) = response_string(item, hdr_len, key_off, key_len, "label key")?;
        if value_off as usize != key_end {
            return Err(CodecError::LabelNotContiguous { index });
        }
        let (_, (_, value_end)) = response_string(item, hdr_len, value_off, value_len, "label value")?;
        expected = value_end;
    }
    if expected != item.len() {
        return Err(CodecError::TrailingBytes {
            extra: item.len() - expected,
        });
    }
    Ok(())
}

/// Label `index` of an item whose block [`validate_labels`] accepted.
pub(crate) fn label_at<'a>(
    item: &'a [u8],
    hdr_len: usize,
    table: usize,
    count: u16,
    index: u32,
) -> Result<LabelView<'a>> {
    if index >= count as u32 {
        return Err(CodecError::IndexOutOfRange {
            index,
            count: count as u32,
        });
    }
    let e = table + index as usize * LABEL_ENTRY_LEN;
    let (key, _) = response_string(item, hdr_len, u32_at(item, e), u32_at(item, e + 4), "label key")?;
    let (value, _) = response_string(
        item,
        hdr_len,
        u32_at(item, e + 8),
        u32_at(item, e + 12),
        "label value",
    )?;
    Ok(LabelView { key, value })
}

/// Iterator over the labels of a validated item.
#[derive(Debug, Clone)]
pub struct Labels<'a> {
    item: &'a [u8],
    hdr_len: usize,
    table: usize,
    count: u16,
    next: u16,
}

impl<'a> Labels<'a> {
    pub(crate) fn new(item: &'a [u8], hdr_len: usize, table: usize, count: u16) -> Self {
        Self {
            item,
            hdr_len,
            table,
            count,
            next: 0,
        }
    }
}

impl<'a> Iterator for Labels<'a> {
    type Item = LabelView<'a>;

    fn next(&mut self) -> Option<LabelView<'a>> {
        while self.next < self.count {
            let i = self.next;
            self.next += 1;
            if let Ok(l) = label_at(self.item, self.hdr_len, self.table, self.count, i as u32) {
                return Some(l);
            }
        }
        None
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = (self.count - self.next) as usize;
        (n, Some(n))
    }
}

impl ExactSizeIterator for Labels<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// An item of `fixed_end` header bytes followed by a label block.
    fn item_with(fixed_end: usize, labels: &[LabelInput<'_>]) -> Vec<u8> {
        let len = item_len_with_labels(fixed_end, labels).unwrap();
        let mut item = vec![0u8; len];
        write_labels(&mut item, fixed_end, labels);
        item
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]

        /// The fast check accepts exactly the blocks the entry-by-entry
        /// check accepts, on valid blocks and on blocks with one byte
        /// changed.
        #[test]
        fn the_fast_label_check_agrees_with_the_exact_one(
            labels in prop::collection::vec(
                (prop::collection::vec(1u8..=255, 1..6), prop::collection::vec(1u8..=255, 0..6)),
                1..4,
            ),
            fixed_end in 16usize..24,
            mutation in prop::option::of((any::<prop::sample::Index>(), any::<u8>())),
        ) {
            let input: Vec<LabelInput<'_>> =
                labels.iter().map(|(k, v)| (k.as_slice(), v.as_slice())).collect();
            let mut item = item_with(fixed_end, &input);
            let table = align8(fixed_end);
            if let Some((at, byte)) = mutation {
                let at = table + at.index(item.len() - table);
                item[at] = byte;
            }
            let count = input.len() as u16;
            let fast = labels_well_formed(&item, table, count as usize);
            let exact = check_labels(&item, 16, count, table).is_ok();
            prop_assert_eq!(fast, exact);
            prop_assert_eq!(validate_labels(&item, 16, count, fixed_end).is_ok(), exact);
        }
    }
}
