//! Borrowed and owned wire strings.
//!
//! Wire strings are raw bytes with no charset rule (they usually hold UTF-8)
//! and are always followed by a NUL on the wire. [`StrView`] borrows the bytes
//! without the NUL; [`WireString`] owns a copy.

use core::fmt;

/// A string borrowed from a decoded payload (NUL excluded).
///
/// Borrowed and ephemeral: valid only while the payload buffer it points
/// into is alive and unchanged. Copy it ([`StrView::to_owned`]) to keep it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct StrView<'a> {
    bytes: &'a [u8],
}

impl<'a> StrView<'a> {
    /// Wraps bytes that the decoder has checked.
    #[inline]
    pub const fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    /// The raw bytes, without the NUL.
    #[inline]
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The string as UTF-8, or the error that says where it is not.
    #[inline]
    pub fn as_str(&self) -> Result<&'a str, core::str::Utf8Error> {
        core::str::from_utf8(self.bytes)
    }

    /// Length in bytes, without the NUL.
    #[inline]
    pub const fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the string is empty.
    #[inline]
    pub const fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// An owned copy.
    #[inline]
    #[allow(clippy::should_implement_trait)]
    pub fn to_owned(&self) -> WireString {
        WireString::from(self.bytes)
    }
}

impl fmt::Display for StrView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad` honours width and alignment; invalid UTF-8 shows as U+FFFD.
        match core::str::from_utf8(self.bytes) {
            Ok(s) => f.pad(s),
            Err(_) => f.pad(&String::from_utf8_lossy(self.bytes)),
        }
    }
}

impl fmt::Debug for StrView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.bytes.escape_ascii())
    }
}

impl PartialEq<str> for StrView<'_> {
    fn eq(&self, other: &str) -> bool {
        self.bytes == other.as_bytes()
    }
}

impl PartialEq<&str> for StrView<'_> {
    fn eq(&self, other: &&str) -> bool {
        self.bytes == other.as_bytes()
    }
}

impl PartialEq<[u8]> for StrView<'_> {
    fn eq(&self, other: &[u8]) -> bool {
        self.bytes == other
    }
}

/// An owned wire string: the exact bytes, with no charset conversion.
///
/// `Display` shows it as UTF-8, with U+FFFD for invalid sequences; the bytes
/// themselves are kept as they came.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct WireString(Box<[u8]>);

impl WireString {
    /// The raw bytes.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The string as UTF-8, or the error that says where it is not.
    #[inline]
    pub fn as_str(&self) -> Result<&str, core::str::Utf8Error> {
        core::str::from_utf8(&self.0)
    }

    /// A borrowed view.
    #[inline]
    pub fn as_view(&self) -> StrView<'_> {
        StrView::new(&self.0)
    }

    /// Length in bytes.
    #[inline]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the string is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<&[u8]> for WireString {
    fn from(b: &[u8]) -> Self {
        Self(b.into())
    }
}

impl From<&str> for WireString {
    fn from(s: &str) -> Self {
        Self(s.as_bytes().into())
    }
}

impl From<String> for WireString {
    fn from(s: String) -> Self {
        Self(s.into_bytes().into_boxed_slice())
    }
}

impl From<Vec<u8>> for WireString {
    fn from(v: Vec<u8>) -> Self {
        Self(v.into_boxed_slice())
    }
}

impl AsRef<[u8]> for WireString {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl core::borrow::Borrow<[u8]> for WireString {
    fn borrow(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Display for WireString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.as_view(), f)
    }
}

impl fmt::Debug for WireString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.as_view(), f)
    }
}

impl PartialEq<str> for WireString {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other.as_bytes()
    }
}

impl PartialEq<&str> for WireString {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == other.as_bytes()
    }
}
