//! STRING_REVERSE (method 3): `{u32 offset = 8, u32 length, bytes, NUL}`.

use crate::error::{CodecError, Result};
use crate::strview::StrView;
use crate::wire::{fixed, nul_string, put_nul_string, put_u32, to_u32, u32_at};

/// Size of the fixed part before the string.
pub const STRING_REVERSE_HDR_LEN: usize = 8;

/// Wire size of the payload carrying `s`.
#[inline]
pub fn encoded_len(s: &[u8]) -> usize {
    encoded_len_of(s.len())
}

/// Writes the payload for `s` into `out` (cleared first; capacity reused).
pub fn encode(s: &[u8], out: &mut Vec<u8>) -> Result<usize> {
    out.clear();
    out.resize(encoded_len(s), 0);
    write(s, out)
}

/// Writes the payload for `s` at the start of `out`; returns its length.
pub fn write(s: &[u8], out: &mut [u8]) -> Result<usize> {
    let len = to_u32(s.len(), "STRING_REVERSE length")?;
    let need = encoded_len(s);
    if out.len() < need {
        return Err(CodecError::LimitExceeded {
            need,
            limit: out.len(),
        });
    }
    put_u32(out, 0, STRING_REVERSE_HDR_LEN as u32);
    put_u32(out, 4, len);
    Ok(put_nul_string(out, STRING_REVERSE_HDR_LEN, s))
}

/// Turns `buf`, which holds a bare string, into the payload carrying it, in
/// place: the fixed part goes in front and the NUL after, with one move of
/// the bytes and no second buffer (the vector grows only if its capacity is
/// short). Returns the payload length. The result equals [`encode`]'s.
pub fn wrap_in_place(buf: &mut Vec<u8>) -> Result<usize> {
    let n = buf.len();
    let len = to_u32(n, "STRING_REVERSE length")?;
    buf.resize(encoded_len_of(n), 0);
    buf.copy_within(0..n, STRING_REVERSE_HDR_LEN);
    put_u32(buf, 0, STRING_REVERSE_HDR_LEN as u32);
    put_u32(buf, 4, len);
    buf[STRING_REVERSE_HDR_LEN + n] = 0;
    Ok(buf.len())
}

/// Wire size of the payload carrying a string of `n` bytes.
#[inline]
pub const fn encoded_len_of(n: usize) -> usize {
    STRING_REVERSE_HDR_LEN + n + 1
}

/// Decodes a payload; the string must end with a NUL at the last byte.
pub fn decode(buf: &[u8]) -> Result<StrView<'_>> {
    let h = fixed::<STRING_REVERSE_HDR_LEN>(buf, "STRING_REVERSE payload")?;
    let offset = u32_at(h, 0);
    if offset as usize != STRING_REVERSE_HDR_LEN {
        return Err(CodecError::UnexpectedOffset {
            field: "str",
            found: offset,
            expected: STRING_REVERSE_HDR_LEN as u32,
        });
    }
    let (s, end) = nul_string(buf, STRING_REVERSE_HDR_LEN, offset, u32_at(h, 4), "str")?;
    if end != buf.len() {
        return Err(CodecError::TrailingBytes {
            extra: buf.len() - end,
        });
    }
    Ok(StrView::new(s))
}
