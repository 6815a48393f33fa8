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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_view_shows_its_bytes_and_compares_with_text() {
        let v = StrView::new(b"cgroup");
        assert_eq!((v.len(), v.is_empty(), v.as_str()), (6, false, Ok("cgroup")));
        assert!(StrView::default().is_empty());
        assert_eq!(format!("[{v:>8}]"), "[  cgroup]", "Display pads");
        assert_eq!(format!("{v:?}"), "\"cgroup\"");
        assert!(v == *"cgroup" && v == "cgroup" && v == *b"cgroup".as_slice());
        assert!(v != "cgroups");
    }

    #[test]
    fn bytes_that_are_not_utf8_are_kept_and_shown_replaced() {
        let raw = b"a\xFFb\n";
        let v = StrView::new(raw);
        assert!(v.as_str().is_err());
        assert_eq!(v.to_string(), "a\u{FFFD}b\n");
        assert_eq!(format!("{v:?}"), "\"a\\xffb\\n\"");
        let owned = v.to_owned();
        assert_eq!(owned.as_bytes(), raw, "no conversion");
        assert_eq!(owned.to_string(), v.to_string());
        assert_eq!(format!("{owned:?}"), format!("{v:?}"));
        assert!(owned.as_str().is_err());
    }

    #[test]
    fn an_owned_string_is_made_from_any_byte_source_alike() {
        let all = [
            WireString::from("name"),
            WireString::from(String::from("name")),
            WireString::from(b"name".as_slice()),
            WireString::from(b"name".to_vec()),
            StrView::new(b"name").to_owned(),
        ];
        for w in &all {
            assert_eq!(w, &all[0]);
            assert_eq!((w.len(), w.is_empty(), w.as_str()), (4, false, Ok("name")));
            assert!(*w == *"name" && *w == "name");
            assert_eq!(w.as_view(), StrView::new(b"name"));
            assert_eq!(AsRef::<[u8]>::as_ref(w), b"name");
            assert_eq!(core::borrow::Borrow::<[u8]>::borrow(w), b"name");
        }
        assert!(WireString::default().is_empty());
        // Borrow<[u8]> lets a set of owned strings be searched by bytes.
        let set: std::collections::BTreeSet<WireString> = all.into_iter().collect();
        assert!(set.contains(b"name".as_slice()));
    }
}
