//! Where the two message areas of a shared-memory region lie: planned by
//! the side that creates the region, and checked by the side that attaches
//! to it, for the Linux and the Windows regions alike.
//!
//! Both regions start with a header (64 bytes on Linux, 128 on Windows)
//! whose fields `request_offset`, `request_capacity`, `response_offset` and
//! `response_capacity` (u32 each) place the request area, then the
//! response area. Every offset and capacity is a multiple of 64. The
//! attaching side reads these fields from memory the other process wrote,
//! so they are untrusted: [`check_areas`] is the one place that decides
//! whether they fit the mapping. Its sums are done in `u64`, where two
//! `u32` values cannot overflow; a `usize` sum could wrap on a 32-bit
//! target and let an area pass the bounds check while lying outside the
//! mapping.

/// Alignment of every area offset and capacity (a cache line).
pub(crate) const AREA_ALIGN: usize = 64;

/// The four area fields of a region header, as its creator wrote them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AreaFields {
    /// `request_offset`.
    pub req_off: u32,
    /// `request_capacity`.
    pub req_cap: u32,
    /// `response_offset`.
    pub resp_off: u32,
    /// `response_capacity`.
    pub resp_cap: u32,
}

/// The areas of a region, known to lie inside its mapping: for each area,
/// `off + cap` fits in `usize` and is at most the mapping's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Areas {
    /// Offset of the request area from the start of the region.
    pub req_off: usize,
    /// Length of the request area.
    pub req_cap: usize,
    /// Offset of the response area.
    pub resp_off: usize,
    /// Length of the response area.
    pub resp_cap: usize,
}

impl Areas {
    /// The header fields that describe these areas.
    pub(crate) fn fields(&self) -> AreaFields {
        // Planned areas end within u32 (see `plan_areas`), so no field is cut.
        AreaFields {
            req_off: self.req_off as u32,
            req_cap: self.req_cap as u32,
            resp_off: self.resp_off as u32,
            resp_cap: self.resp_cap as u32,
        }
    }
}

/// Why a region's area fields were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LayoutError {
    /// A capacity is zero: the header is not written yet, or broken.
    EmptyArea,
    /// An offset or a capacity is not a multiple of [`AREA_ALIGN`].
    Misaligned,
    /// The request area starts inside the header.
    OverlapsHeader,
    /// The response area starts before the request area ends.
    AreasOverlap,
    /// An area ends past the end of the mapping.
    OutOfBounds,
}

impl LayoutError {
    /// A short description, for [`TransportError::Protocol`](crate::TransportError::Protocol).
    pub(crate) fn reason(self) -> &'static str {
        match self {
            Self::EmptyArea => "shared region has an area of capacity 0",
            Self::Misaligned => "shared region area offset or capacity is not 64-byte aligned",
            Self::OverlapsHeader => "shared region request area overlaps the header",
            Self::AreasOverlap => "shared region response area overlaps the request area",
            Self::OutOfBounds => "shared region area ends past the mapping",
        }
    }
}

/// Checks the area fields a peer wrote against the header length and the
/// length of the mapping (or of the file or section behind it), and
/// returns the areas as offsets that can be used without further checks.
///
/// Accepted: both capacities non-zero, all four fields multiples of
/// [`AREA_ALIGN`], the request area after the header, the response area
/// after the request area, and both inside `map_len` bytes.
pub(crate) fn check_areas(fields: AreaFields, header_len: usize, map_len: u64) -> Result<Areas, LayoutError> {
    let AreaFields {
        req_off,
        req_cap,
        resp_off,
        resp_cap,
    } = fields;
    if req_cap == 0 || resp_cap == 0 {
        return Err(LayoutError::EmptyArea);
    }
    let align = AREA_ALIGN as u32;
    if [req_off, req_cap, resp_off, resp_cap]
        .iter()
        .any(|v| v % align != 0)
    {
        return Err(LayoutError::Misaligned);
    }
    // u32 + u32 fits in u64: none of these sums can wrap.
    let req_end = u64::from(req_off) + u64::from(req_cap);
    let resp_end = u64::from(resp_off) + u64::from(resp_cap);
    if u64::from(req_off) < header_len as u64 {
        return Err(LayoutError::OverlapsHeader);
    }
    if u64::from(resp_off) < req_end {
        return Err(LayoutError::AreasOverlap);
    }
    // resp_end ≥ resp_off ≥ req_end: the response area ends last.
    if resp_end > map_len {
        return Err(LayoutError::OutOfBounds);
    }
    // Both ends are within the mapping, whose length fits usize if it is
    // really mapped; a length that does not (a file larger than a 32-bit
    // address space) is refused here instead of being cut.
    let to_usize = |v: u32| usize::try_from(v).map_err(|_| LayoutError::OutOfBounds);
    usize::try_from(resp_end).map_err(|_| LayoutError::OutOfBounds)?;
    Ok(Areas {
        req_off: to_usize(req_off)?,
        req_cap: to_usize(req_cap)?,
        resp_off: to_usize(resp_off)?,
        resp_cap: to_usize(resp_cap)?,
    })
}

/// The areas a creator lays out for whole messages of at most
/// `req_msg_max` and `resp_msg_max` bytes after a header of `header_len`
/// bytes (a multiple of [`AREA_ALIGN`]), and the region's total length.
/// `None` when the region would not end within `u32::MAX` bytes (the
/// header fields are u32) or within `usize`.
pub(crate) fn plan_areas(
    header_len: usize,
    req_msg_max: usize,
    resp_msg_max: usize,
) -> Option<(Areas, usize)> {
    let align = |v: u64| {
        v.checked_add(AREA_ALIGN as u64 - 1)
            .map(|x| x & !(AREA_ALIGN as u64 - 1))
    };
    // An area holds at least one line: a capacity of 0 reads as "not
    // written yet" to the attaching side.
    let cap = |max: usize| align(u64::try_from(max.max(1)).ok()?);
    let req_off = align(header_len as u64)?;
    let req_cap = cap(req_msg_max)?;
    let resp_off = req_off.checked_add(req_cap)?;
    let resp_cap = cap(resp_msg_max)?;
    let len = resp_off.checked_add(resp_cap)?;
    if len > u64::from(u32::MAX) {
        return None;
    }
    let len = usize::try_from(len).ok()?;
    // Every value is at most `len`, which fits usize.
    let areas = Areas {
        req_off: req_off as usize,
        req_cap: req_cap as usize,
        resp_off: resp_off as usize,
        resp_cap: resp_cap as usize,
    };
    Some((areas, len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const POSIX_HEADER: usize = 64;
    const WINDOWS_HEADER: usize = 128;

    /// The rules in plain words, in u128 where nothing can overflow.
    fn acceptable(f: AreaFields, header_len: usize, map_len: u64) -> bool {
        let [ro, rc, so, sc] = [f.req_off, f.req_cap, f.resp_off, f.resp_cap].map(u128::from);
        rc > 0
            && sc > 0
            && [ro, rc, so, sc].iter().all(|v| v % 64 == 0)
            && ro >= header_len as u128
            && so >= ro + rc
            && so + sc <= u128::from(map_len)
            && so + sc <= usize::MAX as u128
    }

    /// Mostly values near the edges: small multiples of 64, values close
    /// to u32::MAX, and anything.
    fn field() -> impl Strategy<Value = u32> {
        prop_oneof![
            (0u32..64).prop_map(|k| k * 64),
            (0u32..=64).prop_map(|k| u32::MAX - k),
            (0u32..64).prop_map(|k| (u32::MAX - 63 - k * 64) & !63),
            any::<u32>(),
        ]
    }

    fn fields() -> impl Strategy<Value = AreaFields> {
        (field(), field(), field(), field()).prop_map(|(req_off, req_cap, resp_off, resp_cap)| AreaFields {
            req_off,
            req_cap,
            resp_off,
            resp_cap,
        })
    }

    fn map_len() -> impl Strategy<Value = u64> {
        prop_oneof![
            (0u64..8192),
            (0u64..=128).prop_map(|k| u64::from(u32::MAX) - k),
            any::<u64>(),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        /// Whatever the peer wrote, an accepted layout puts both areas
        /// after the header, apart, and inside the mapping.
        #[test]
        fn accepted_areas_lie_inside_the_mapping(
            f in fields(),
            header_len in prop_oneof![Just(POSIX_HEADER), Just(WINDOWS_HEADER)],
            map_len in map_len(),
        ) {
            let got = check_areas(f, header_len, map_len);
            prop_assert_eq!(got.is_ok(), acceptable(f, header_len, map_len), "{:?} {:?}", f, got);
            if let Ok(a) = got {
                let end = |off: usize, cap: usize| off.checked_add(cap);
                let req_end = end(a.req_off, a.req_cap);
                let resp_end = end(a.resp_off, a.resp_cap);
                prop_assert!(req_end.is_some() && resp_end.is_some());
                prop_assert!(a.req_off >= header_len);
                prop_assert!(req_end.unwrap() <= a.resp_off);
                prop_assert!(resp_end.unwrap() as u64 <= map_len);
                prop_assert!(a.req_cap > 0 && a.resp_cap > 0);
                prop_assert_eq!(a.fields(), f);
            }
        }

        /// What a creator plans is accepted by the attaching side, with
        /// room for the largest message of each direction.
        #[test]
        fn planned_areas_are_accepted(
            header_len in prop_oneof![Just(POSIX_HEADER), Just(WINDOWS_HEADER)],
            req in prop_oneof![0usize..100_000, any::<u32>().prop_map(|v| v as usize), any::<usize>()],
            resp in prop_oneof![0usize..100_000, any::<u32>().prop_map(|v| v as usize), any::<usize>()],
        ) {
            match plan_areas(header_len, req, resp) {
                Some((a, len)) => {
                    prop_assert_eq!(check_areas(a.fields(), header_len, len as u64), Ok(a));
                    prop_assert!(a.req_cap >= req && a.resp_cap >= resp);
                    prop_assert_eq!(a.req_off, header_len);
                    prop_assert_eq!(len, a.resp_off + a.resp_cap);
                    // One byte less and the response area no longer fits.
                    prop_assert_eq!(
                        check_areas(a.fields(), header_len, len as u64 - 1),
                        Err(LayoutError::OutOfBounds)
                    );
                }
                None => {
                    // Refused only when the region would pass u32::MAX.
                    let up = |v: usize| (v as u128).div_ceil(64).max(1) * 64;
                    let total = header_len as u128 + up(req) + up(resp);
                    prop_assert!(total > u128::from(u32::MAX), "{} {}", req, resp);
                }
            }
        }
    }

    #[test]
    fn sums_that_wrap_in_32_bits_are_refused() {
        // With u32 (or a 32-bit usize) arithmetic, 64 + 0xFFFF_FFC0 wraps
        // to 0 and the request area would seem to end before the response
        // area starts, inside a one-page mapping.
        let wrap = AreaFields {
            req_off: 64,
            req_cap: 0xFFFF_FFC0,
            resp_off: 128,
            resp_cap: 64,
        };
        assert_eq!(check_areas(wrap, 64, 4096), Err(LayoutError::AreasOverlap));
        let wrap_end = AreaFields {
            req_off: 64,
            req_cap: 64,
            resp_off: 0xFFFF_FFC0,
            resp_cap: 0x80,
        };
        assert_eq!(check_areas(wrap_end, 64, 4096), Err(LayoutError::OutOfBounds));
    }

    #[test]
    fn each_rule_has_its_error() {
        let ok = AreaFields {
            req_off: 64,
            req_cap: 128,
            resp_off: 192,
            resp_cap: 64,
        };
        assert!(check_areas(ok, 64, 256).is_ok());
        let with = |g: fn(&mut AreaFields)| {
            let mut f = ok;
            g(&mut f);
            check_areas(f, 64, 256)
        };
        assert_eq!(with(|f| f.resp_cap = 0), Err(LayoutError::EmptyArea));
        assert_eq!(with(|f| f.req_cap = 0), Err(LayoutError::EmptyArea));
        assert_eq!(with(|f| f.req_cap = 100), Err(LayoutError::Misaligned));
        assert_eq!(with(|f| f.resp_off = 200), Err(LayoutError::Misaligned));
        assert_eq!(with(|f| f.req_off = 0), Err(LayoutError::OverlapsHeader));
        assert_eq!(with(|f| f.resp_off = 128), Err(LayoutError::AreasOverlap));
        assert_eq!(with(|f| f.resp_cap = 128), Err(LayoutError::OutOfBounds));
        assert_eq!(check_areas(ok, 128, 256), Err(LayoutError::OverlapsHeader));
    }

    #[test]
    fn the_plans_match_the_reference_layouts() {
        // A Linux region for 1 KiB messages each way.
        let (a, len) = plan_areas(64, 1024, 1024).unwrap();
        assert_eq!(
            (a.req_off, a.req_cap, a.resp_off, a.resp_cap, len),
            (64, 1024, 1088, 1024, 2112)
        );
        // A Windows region (see the contract-layout test of windows/shm.rs).
        let (a, len) = plan_areas(128, 1032, 5032).unwrap();
        assert_eq!(
            (a.req_off, a.req_cap, a.resp_off, a.resp_cap, len),
            (128, 1088, 1216, 5056, 6272)
        );
        assert!(plan_areas(64, u32::MAX as usize, 64).is_none());
        assert!(plan_areas(64, usize::MAX, 64).is_none());
    }
}
