//! The one error type of the codec.

/// Why the codec refused a byte string or an encode request.
///
/// Every variant names the rule that was broken. Decode errors never carry
/// borrowed data, so they can outlive the buffer they came from, and they are
/// `Copy`: building one never allocates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The input ends before a fixed-size part of the layout.
    #[error("truncated {what}: need {need} bytes, have {have}")]
    Truncated {
        /// The structure that was cut short.
        what: &'static str,
        /// Bytes the structure needs.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// A fixed-size structure is longer than its wire size.
    #[error("{what} must be exactly {expected} bytes, got {actual}")]
    BadLength {
        /// The structure.
        what: &'static str,
        /// Its wire size.
        expected: usize,
        /// The size that was given.
        actual: usize,
    },
    /// The magic number does not match.
    #[error("bad magic {found:#010x}, expected {expected:#010x}")]
    BadMagic {
        /// The magic read from the wire.
        found: u32,
        /// The magic the structure requires.
        expected: u32,
    },
    /// The envelope version is not 1.
    #[error("unsupported envelope version {0}")]
    BadVersion(u16),
    /// The outer header's `header_len` is not 32.
    #[error("header_len is {0}, must be 32")]
    BadHeaderLen(u16),
    /// The outer header's `kind` is not REQUEST, RESPONSE or CONTROL.
    #[error("unknown message kind {0}")]
    UnknownKind(u16),
    /// A payload's `layout_version` is not 1.
    #[error("{what}: unsupported layout_version {found}")]
    BadLayoutVersion {
        /// The structure.
        what: &'static str,
        /// The version read from the wire.
        found: u16,
    },
    /// A flags field that must be zero is not.
    #[error("{what}: flags must be 0, got {found:#06x}")]
    NonZeroFlags {
        /// The structure.
        what: &'static str,
        /// The flags read from the wire.
        found: u16,
    },
    /// A reserved field that must be zero is not.
    #[error("reserved field {field} is not zero")]
    NonZeroReserved {
        /// The field.
        field: &'static str,
    },
    /// A chunk continuation header breaks one of its rules.
    #[error("bad chunk header: {rule}")]
    BadChunk {
        /// The rule that was broken.
        rule: &'static str,
    },
    /// `item_count × 8` overflows, or the directory does not fit in the payload.
    #[error("item directory of {count} entries does not fit in {available} bytes")]
    DirectoryTooLarge {
        /// The item count read from the wire.
        count: u32,
        /// The bytes available for the directory.
        available: usize,
    },
    /// An item offset is not a multiple of 8.
    #[error("item {index}: offset {offset} is not 8-byte aligned")]
    UnalignedItem {
        /// The item's index.
        index: u32,
        /// Its offset in the packed area.
        offset: u32,
    },
    /// An item runs past the end of the packed area.
    #[error("item {index}: range runs past the packed area")]
    ItemOutOfBounds {
        /// The item's index.
        index: u32,
    },
    /// An item starts before the previous one ended.
    #[error("item {index}: starts before the previous item ends")]
    ItemOverlap {
        /// The item's index.
        index: u32,
    },
    /// An item is shorter than its fixed header, or its length is not the fixed key size.
    #[error("item {index}: length {len} is invalid (minimum {min}{exact})", exact = if *.exact { ", exact" } else { "" })]
    BadItemLength {
        /// The item's index.
        index: u32,
        /// Its length.
        len: u32,
        /// The minimum (or exact) length the layout requires.
        min: u32,
        /// Whether `min` is also the only valid length.
        exact: bool,
    },
    /// Bytes follow the last item of a payload that must end there.
    #[error("{extra} trailing bytes after the last item")]
    TrailingBytes {
        /// How many bytes follow.
        extra: usize,
    },
    /// A string field lies (partly) inside the fixed header.
    #[error("string {field} starts inside the fixed header")]
    StringInHeader {
        /// The field.
        field: &'static str,
    },
    /// A string offset differs from the only offset the layout allows.
    #[error("string {field} at offset {found}, the layout puts it at {expected}")]
    UnexpectedOffset {
        /// The field.
        field: &'static str,
        /// The offset read from the wire.
        found: u32,
        /// The offset the layout requires.
        expected: u32,
    },
    /// A string field or its NUL runs past its container.
    #[error("string {field} runs out of bounds")]
    StringOutOfBounds {
        /// The field.
        field: &'static str,
    },
    /// The byte after a string is not NUL.
    #[error("string {field} has no trailing NUL")]
    MissingNul {
        /// The field.
        field: &'static str,
    },
    /// A string contains a NUL byte.
    #[error("string {field} contains a NUL byte")]
    InteriorNul {
        /// The field.
        field: &'static str,
    },
    /// Two string ranges (each including its NUL) overlap.
    #[error("strings {a} and {b} overlap")]
    StringOverlap {
        /// The first field.
        a: &'static str,
        /// The second field.
        b: &'static str,
    },
    /// A status value is not one the method defines.
    #[error("unknown {what} value {value}")]
    UnknownStatus {
        /// Which status field.
        what: &'static str,
        /// The value read from the wire.
        value: u16,
    },
    /// A field breaks the rules that depend on the item's status.
    #[error("status rule broken: {rule}")]
    StatusRule {
        /// The rule.
        rule: &'static str,
    },
    /// `comm` is longer than 15 bytes.
    #[error("comm is {0} bytes, at most 15 are allowed")]
    CommTooLong(u32),
    /// The label table is not at its canonical offset, or overflows.
    #[error("label table: {rule}")]
    BadLabelTable {
        /// The rule.
        rule: &'static str,
    },
    /// Padding that must be zero is not.
    #[error("non-zero padding before the label table")]
    NonZeroPadding,
    /// A label key is empty.
    #[error("label {index}: empty key")]
    EmptyLabelKey {
        /// The label's index.
        index: u32,
    },
    /// Label strings are not packed back to back in table order.
    #[error("label {index}: strings are not contiguous in table order")]
    LabelNotContiguous {
        /// The label's index.
        index: u32,
    },
    /// An index passed to an accessor is not below the item count.
    #[error("index {index} out of range (count {count})")]
    IndexOutOfRange {
        /// The index asked for.
        index: u32,
        /// The number of items.
        count: u32,
    },
    /// Encoding would exceed the payload budget the caller set.
    #[error("payload of {need} bytes exceeds the limit of {limit}")]
    LimitExceeded {
        /// Bytes the payload would need.
        need: usize,
        /// The budget.
        limit: usize,
    },
    /// A builder already holds as many items as its limit allows.
    #[error("item limit of {limit} reached")]
    TooManyItems {
        /// The limit.
        limit: u32,
    },
    /// A value does not fit in its wire field (a u32 length, a u16 count).
    #[error("{what} does not fit in its wire field")]
    TooLarge {
        /// The value.
        what: &'static str,
    },
    /// A builder was given a value the wire format cannot carry or the decoder would reject.
    #[error("invalid input: {0}")]
    InvalidInput(&'static str),
}

/// Short form for results of this crate.
pub type Result<T, E = CodecError> = core::result::Result<T, E>;
