//! The requests and answers of the single-cycle methods, without I/O: each
//! `*_request` encodes into the core's request buffer and says which call
//! to make; each `*_answer` decodes the answer's payload (a payload that
//! does not decode, or breaks the method's contract, poisons the session).

use super::{CallSpec, ClientCore};
use crate::error::Result;
use crate::transport::codec::{
    BatchBuilder, BatchView, CgroupsResponseView, FLAG_BATCH, Header, METHOD_CGROUPS_SNAPSHOT,
    METHOD_INCREMENT, METHOD_STRING_REVERSE, StrView, encode_cgroups_request, increment, string_reverse,
};

/// A CGROUPS_SNAPSHOT request.
pub fn snapshot_request(core: &mut ClientCore) -> CallSpec {
    let request = core.request_mut();
    request.clear();
    request.extend_from_slice(&encode_cgroups_request());
    CallSpec::single(METHOD_CGROUPS_SNAPSHOT)
}

/// The snapshot in a CGROUPS_SNAPSHOT answer.
pub fn snapshot_answer<'a>(core: &ClientCore, payload: &'a [u8]) -> Result<CgroupsResponseView<'a>> {
    core.decode(payload, CgroupsResponseView::decode)
}

/// An INCREMENT request for `value`.
pub fn increment_request(core: &mut ClientCore, value: u64) -> CallSpec {
    let request = core.request_mut();
    request.clear();
    request.extend_from_slice(&increment::encode(value));
    CallSpec::single(METHOD_INCREMENT)
}

/// The value in an INCREMENT answer.
pub fn increment_answer(core: &ClientCore, payload: &[u8]) -> Result<u64> {
    core.decode(payload, increment::decode)
}

/// The item count of a batch of `n` items, or the error of a batch too long.
fn batch_count(core: &ClientCore, n: usize) -> Result<u32> {
    u32::try_from(n).map_err(|_| core.invalid_request("more than 2^32 - 1 items in one batch", None))
}

/// An INCREMENT batch request for `values`.
pub fn increment_batch_request(core: &mut ClientCore, values: &[u64]) -> Result<CallSpec> {
    let count = batch_count(core, values.len())?;
    let mut b = BatchBuilder::new(core.request_mut(), count, usize::MAX);
    let mut refused = None;
    for v in values {
        if let Err(e) = b.add(&increment::encode(*v)) {
            refused = Some(e);
            break;
        }
    }
    b.finish();
    if let Some(e) = refused {
        return Err(core.invalid_request("the batch cannot be encoded", Some(e)));
    }
    Ok(CallSpec {
        method: METHOD_INCREMENT,
        flags: FLAG_BATCH,
        item_count: count,
    })
}

/// Checks that a batch answer has the request's item count and decodes it.
fn batch_answer<'a>(
    core: &ClientCore,
    spec: CallSpec,
    h: &Header,
    payload: &'a [u8],
) -> Result<BatchView<'a>> {
    if h.item_count != spec.item_count {
        core.poison();
        return Err(core.bad_response("batch response has another item count"));
    }
    core.decode(payload, |p| BatchView::decode(p, spec.item_count))
}

/// The values of an INCREMENT batch answer to the request `spec`, in
/// order, replacing the contents of `out`.
pub fn increment_batch_answer(
    core: &ClientCore,
    spec: CallSpec,
    h: &Header,
    payload: &[u8],
    out: &mut Vec<u64>,
) -> Result<()> {
    let items = batch_answer(core, spec, h, payload)?;
    out.clear();
    for item in items.iter() {
        match increment::decode(item) {
            Ok(v) => out.push(v),
            Err(e) => {
                core.poison();
                return Err(core.malformed(e));
            }
        }
    }
    Ok(())
}

/// A STRING_REVERSE request for `s`.
pub fn reverse_request(core: &mut ClientCore, s: &[u8]) -> Result<CallSpec> {
    if let Err(e) = string_reverse::encode(s, core.request_mut()) {
        return Err(core.invalid_request("the string cannot be encoded", Some(e)));
    }
    Ok(CallSpec::single(METHOD_STRING_REVERSE))
}

/// The string in a STRING_REVERSE answer.
pub fn reverse_answer<'a>(core: &ClientCore, payload: &'a [u8]) -> Result<StrView<'a>> {
    core.decode(payload, string_reverse::decode)
}

/// A STRING_REVERSE batch request for `items`.
pub fn reverse_batch_request(core: &mut ClientCore, items: &[&[u8]]) -> Result<CallSpec> {
    let count = batch_count(core, items.len())?;
    let mut b = BatchBuilder::new(core.request_mut(), count, usize::MAX);
    let mut refused = None;
    for s in items {
        let added = b.add_with(string_reverse::encoded_len(s), |dst| {
            let _ = string_reverse::write(s, dst);
        });
        if let Err(e) = added {
            refused = Some(e);
            break;
        }
    }
    b.finish();
    if let Some(e) = refused {
        return Err(core.invalid_request("the batch cannot be encoded", Some(e)));
    }
    Ok(CallSpec {
        method: METHOD_STRING_REVERSE,
        flags: FLAG_BATCH,
        item_count: count,
    })
}

/// The strings of a STRING_REVERSE batch answer to the request `spec`, in
/// order, as owned byte strings.
pub fn reverse_batch_answer(
    core: &ClientCore,
    spec: CallSpec,
    h: &Header,
    payload: &[u8],
) -> Result<Vec<Vec<u8>>> {
    let view = batch_answer(core, spec, h, payload)?;
    view.iter()
        .map(|item| string_reverse::decode(item).map(|s| s.as_bytes().to_vec()))
        .collect::<Result<_, _>>()
        .map_err(|e| {
            core.poison();
            core.malformed(e)
        })
}
