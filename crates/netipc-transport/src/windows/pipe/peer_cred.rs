//! Who is at the other end of a server's pipe instance: the client's
//! process id, and the user SID of the token it connected with.
//!
//! The process id comes from `GetNamedPipeClientProcessId`. The SID is read
//! by impersonating the client (`ImpersonateNamedPipeClient`, which needs
//! a message read from the pipe first), opening the thread's token for
//! query, and reverting at once. netipc's clients open the pipe with
//! `SECURITY_IDENTIFICATION`, which allows exactly this (a query, never
//! acting as the client); a client that grants only anonymous
//! impersonation leaves the SID unknown, and so does any failure on the
//! way. Nothing is read that the API does not give.

use crate::peer::PeerCredentials;
use windows_sys::Win32::Foundation::{CloseHandle, HANDLE};
use windows_sys::Win32::Security::{
    GetSidIdentifierAuthority, GetSidSubAuthority, GetSidSubAuthorityCount, GetTokenInformation, IsValidSid,
    RevertToSelf, TOKEN_QUERY, TOKEN_USER, TokenUser,
};
use windows_sys::Win32::System::Pipes::{GetNamedPipeClientProcessId, ImpersonateNamedPipeClient};
use windows_sys::Win32::System::Threading::{GetCurrentThread, OpenThreadToken};

/// The client's process id, read at accept.
pub(super) fn client_pid(pipe: HANDLE) -> Option<u32> {
    let mut pid = 0u32;
    // SAFETY: a query on a connected server pipe handle we hold, writing
    // one u32 we own.
    let ok = unsafe { GetNamedPipeClientProcessId(pipe, &mut pid) } != 0;
    (ok && pid != 0).then_some(pid)
}

/// Reverts the calling thread's impersonation when dropped, so no path
/// leaves the thread running as the client.
struct Reverting;

impl Drop for Reverting {
    fn drop(&mut self) {
        // SAFETY: ends the impersonation this thread started; no arguments.
        unsafe { RevertToSelf() };
    }
}

/// The user SID of the client's token, as `S-1-5-21-...`; `None` where the
/// client did not allow identification or a call failed. Call it after a
/// message has been read from the pipe.
pub(super) fn client_sid(pipe: HANDLE) -> Option<String> {
    let mut token: HANDLE = std::ptr::null_mut();
    {
        // SAFETY: impersonates the client of a pipe we hold, on this
        // thread; `Reverting` ends it before this block ends.
        if unsafe { ImpersonateNamedPipeClient(pipe) } == 0 {
            return None;
        }
        let _revert = Reverting;
        // SAFETY: opens this thread's impersonation token for query, as
        // the process itself (OpenAsSelf), into a handle we own.
        if unsafe { OpenThreadToken(GetCurrentThread(), TOKEN_QUERY, 1, &mut token) } == 0 {
            return None;
        }
    }
    let sid = token_user_sid(token);
    // SAFETY: closes the token handle opened above, used no more.
    unsafe { CloseHandle(token) };
    sid
}

/// The user SID of `token`, formatted.
fn token_user_sid(token: HANDLE) -> Option<String> {
    let mut needed = 0u32;
    // SAFETY: asks for the size only (null buffer, zero length).
    unsafe { GetTokenInformation(token, TokenUser, std::ptr::null_mut(), 0, &mut needed) };
    if (needed as usize) < std::mem::size_of::<TOKEN_USER>() {
        return None;
    }
    // u64 words keep the buffer aligned for TOKEN_USER.
    let mut buf = vec![0u64; (needed as usize).div_ceil(8)];
    // SAFETY: fills `buf`, which holds at least `needed` bytes.
    let ok = unsafe { GetTokenInformation(token, TokenUser, buf.as_mut_ptr().cast(), needed, &mut needed) };
    if ok == 0 {
        return None;
    }
    // SAFETY: the call above wrote a TOKEN_USER at the start of `buf`,
    // which is aligned for it; its SID pointer points into `buf`.
    let sid = unsafe { (*buf.as_ptr().cast::<TOKEN_USER>()).User.Sid };
    // SAFETY: `sid` points to a SID inside `buf`, alive for this function;
    // the accessors below read it only once it is known valid.
    unsafe {
        if IsValidSid(sid) == 0 {
            return None;
        }
        let auth = (*GetSidIdentifierAuthority(sid)).Value;
        let authority = auth.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        let count = *GetSidSubAuthorityCount(sid);
        let mut text = format!("S-1-{authority}");
        for i in 0..u32::from(count) {
            text.push_str(&format!("-{}", *GetSidSubAuthority(sid, i)));
        }
        Some(text)
    }
}

/// The credentials known at accept (the process id); the SID is added by
/// the handshake once the HELLO has been read.
pub(super) fn at_accept(pipe: HANDLE) -> PeerCredentials {
    PeerCredentials::windows(client_pid(pipe), None)
}
