//! A Windows shared-memory region on its own, without a pipe session.
//!
//! Sessions create and attach their regions themselves; this handle exists
//! for tools that exchange messages over a region directly, as the
//! implementations' raw interop peers do. The caller then agrees on
//! everything the handshake would have: the session id, the profile and the
//! capacities.

use super::shm::{WinShm, is_shm_profile};
use crate::config::SHM_SPIN_TRIES_DEFAULT;
use crate::error::{Result, TransportError};
use crate::names::shm_object_names;
use std::time::Instant;

/// One side of a Windows shared-memory region (SHM_HYBRID or
/// SHM_BUSYWAIT), named by run dir, service, auth token, profile and
/// session id exactly as a session's region is.
///
/// Dropping it flags this side closed (and wakes a sleeping peer); the
/// kernel objects go away with the last handle.
#[derive(Debug)]
pub struct WinShmRegion(WinShm);

impl WinShmRegion {
    /// Server side: creates the region with areas of `req_capacity` and
    /// `resp_capacity` bytes (each a whole message: header and payload).
    /// Fails with `AddressInUse` if a region of that name exists, and with
    /// `Unsupported` if `profile` is not a shared-memory profile.
    pub fn create(
        run_dir: &str,
        service: &str,
        auth_token: u64,
        session_id: u64,
        profile: u32,
        req_capacity: usize,
        resp_capacity: usize,
    ) -> Result<Self> {
        check_profile(profile)?;
        let names = shm_object_names(run_dir, service, auth_token, profile, session_id)?;
        WinShm::create(
            &names,
            profile,
            req_capacity,
            resp_capacity,
            SHM_SPIN_TRIES_DEFAULT,
        )
        .map(Self)
    }

    /// Client side: opens and validates a region the server created.
    /// `ShmNotReady` when there is no such region (yet): retry.
    pub fn attach(
        run_dir: &str,
        service: &str,
        auth_token: u64,
        session_id: u64,
        profile: u32,
    ) -> Result<Self> {
        check_profile(profile)?;
        let names = shm_object_names(run_dir, service, auth_token, profile, session_id)?;
        WinShm::attach(&names, profile).map(Self).map_err(|e| match e {
            TransportError::Io { ref source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                TransportError::ShmNotReady(Box::new(e))
            }
            e => e,
        })
    }

    /// Publishes one message made of `head` and `body` (written back to
    /// back) and wakes the peer if it sleeps.
    pub fn send(&mut self, head: &[u8], body: &[u8]) -> Result<()> {
        self.0.send(head, body)
    }

    /// Waits for the next message until `deadline` and copies it into `out`
    /// (grown to fit); returns its length. `PeerClosed` when the peer
    /// dropped its side first.
    pub fn receive(&mut self, out: &mut Vec<u8>, deadline: Option<Instant>) -> Result<usize> {
        self.0.receive(out, deadline, None, || false)
    }
}

fn check_profile(profile: u32) -> Result<()> {
    if is_shm_profile(profile) {
        Ok(())
    } else {
        Err(TransportError::Unsupported)
    }
}
