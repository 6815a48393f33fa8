//! One test per rejection rule: take a valid message, break one rule, and
//! check that the decoder (or builder) refuses it with the error that names it.

use netipc_codec::lookup::*;
use netipc_codec::*;

mod batch;
mod envelope;
mod handshake;
mod lookup_requests;
mod lookup_responses;
mod methods;
mod snapshot;

fn set16(b: &mut [u8], off: usize, v: u16) {
    b[off..off + 2].copy_from_slice(&v.to_ne_bytes());
}
fn set32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_ne_bytes());
}
fn set64(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_ne_bytes());
}
fn with(base: &[u8], f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut v = base.to_vec();
    f(&mut v);
    v
}
