//! The server's endpoint: pipe instances, accepting a client, and the
//! server side of the handshake.

use super::io::{Pipe, overlapped};
use super::peer_cred;
use super::session::NpSession;
use super::{IMPLEMENTED_PROFILES, packet_size_or_default};
use crate::config::ServerConfig;
use crate::error::{Result, TransportError};
use crate::framing::{Framer, Role};
use crate::handshake::{self, Decision, SessionParams};
use crate::log_limit::LogLimit;
use crate::names::{pipe_name, shm_object_names};
use crate::peer::PeerCredentials;
use crate::windows::AbortHandle;
use crate::windows::shm::{WinShm, is_shm_profile};
use crate::windows::win32::{last_error, unnamed_event, wide};
use netipc_codec::{HEADER_LEN, PROFILE_SHM_BUSYWAIT, PROFILE_SHM_HYBRID};
use std::os::windows::io::{FromRawHandle, OwnedHandle, RawHandle};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use windows_sys::Win32::Foundation::{ERROR_ACCESS_DENIED, INVALID_HANDLE_VALUE};
use windows_sys::Win32::Storage::FileSystem::{
    FILE_FLAG_FIRST_PIPE_INSTANCE, FILE_FLAG_OVERLAPPED, PIPE_ACCESS_DUPLEX,
};
use windows_sys::Win32::System::Pipes::{
    ConnectNamedPipe, CreateNamedPipeW, PIPE_READMODE_MESSAGE, PIPE_REJECT_REMOTE_CLIENTS, PIPE_TYPE_MESSAGE,
    PIPE_UNLIMITED_INSTANCES, PIPE_WAIT,
};

/// Log lines about shared-memory set-ups that failed (at most 10 a minute).
static SHM_FALLBACK_LOG: LogLimit =
    LogLimit::new("shared memory fallback", 10, std::time::Duration::from_secs(60));

/// A Named Pipe endpoint: one instance waiting for the next client at a time.
#[derive(Debug)]
pub struct NpListener {
    name: Vec<u16>,
    run_dir: String,
    service: String,
    cfg: ServerConfig,
    next: Mutex<Option<OwnedHandle>>,
    next_session: Arc<AtomicU64>,
}

impl NpListener {
    /// Creates the service's pipe. Another server owning the name gives
    /// [`TransportError::AddressInUse`].
    pub fn bind(run_dir: impl AsRef<Path>, service: &str, cfg: ServerConfig) -> Result<Self> {
        crate::names::validate_run_dir(run_dir.as_ref())?;
        let name = wide(&pipe_name(&run_dir.as_ref().to_string_lossy(), service)?);
        let first = create_instance(&name, true, &cfg)?;
        Ok(Self {
            name,
            run_dir: run_dir.as_ref().to_string_lossy().into_owned(),
            service: service.to_string(),
            cfg,
            next: Mutex::new(Some(first)),
            next_session: Arc::new(AtomicU64::new(1)),
        })
    }

    /// Waits for a client (or `abort`) without handshaking yet, so a slow
    /// client does not hold up the acceptor. Call [`NpPending::handshake`].
    pub fn accept_connection(&self, abort: Option<&AbortHandle>) -> Result<NpPending> {
        let instance = match self.next.lock().unwrap_or_else(|p| p.into_inner()).take() {
            Some(h) => h,
            None => create_instance(&self.name, false, &self.cfg)?,
        };
        let event = unnamed_event()?;
        let connected = overlapped(&instance, &event, "ConnectNamedPipe", None, abort, |h, ov| {
            // SAFETY: starts waiting for a client on our instance; no
            // buffer is involved, and `overlapped` returns only once the
            // operation is over.
            unsafe { ConnectNamedPipe(h, ov) }
        });
        match connected {
            Ok(_) => {}
            // Cancelled: the instance is still good for the next accept.
            Err(TransportError::Aborted) => {
                *self.next.lock().unwrap_or_else(|p| p.into_inner()) = Some(instance);
                return Err(TransportError::Aborted);
            }
            Err(e) => return Err(e),
        }
        // The next client gets a fresh instance.
        if let Ok(h) = create_instance(&self.name, false, &self.cfg) {
            *self.next.lock().unwrap_or_else(|p| p.into_inner()) = Some(h);
        }
        let pipe = Pipe::new(instance)?;
        Ok(NpPending {
            peer: peer_cred::at_accept(pipe.raw()),
            pipe,
            cfg: self.cfg.clone(),
            next_session: Arc::clone(&self.next_session),
            run_dir: self.run_dir.clone(),
            service: self.service.clone(),
        })
    }

    /// Waits for a client (or `abort`), then performs the handshake.
    pub fn accept(&self, abort: Option<&AbortHandle>) -> Result<NpSession> {
        self.accept_connection(abort)?.handshake()
    }
}

/// A pipe client connected but not yet handshaken.
#[derive(Debug)]
pub struct NpPending {
    pipe: Pipe,
    peer: PeerCredentials,
    cfg: ServerConfig,
    next_session: Arc<AtomicU64>,
    run_dir: String,
    service: String,
}

impl NpPending {
    /// Who connected, as far as known at accept: the client's process id.
    /// The handshake adds the user SID of its token.
    pub fn peer(&self) -> &PeerCredentials {
        &self.peer
    }

    /// The configuration this handshake will apply; a managed server may
    /// adjust it (for example, payload ceilings it has learned) first.
    pub fn config_mut(&mut self) -> &mut ServerConfig {
        &mut self.cfg
    }

    /// Reads the client's HELLO, decides, answers, and returns the session.
    /// A rejected client gets its HELLO_ACK status, then the pipe closes.
    /// A peer the access policy refuses is answered AUTH_FAILED and
    /// reported as [`TransportError::PeerRefused`].
    pub fn handshake(self) -> Result<NpSession> {
        let Self {
            mut pipe,
            mut peer,
            mut cfg,
            next_session,
            run_dir,
            service,
        } = self;
        let deadline = crate::deadline_after(cfg.effective_handshake_timeout());
        let (packet, n) = handshake::recv_control(&mut pipe, deadline)?;
        // Impersonation needs a message read from the pipe: the HELLO.
        peer.sid = peer_cred::client_sid(pipe.raw());
        if !cfg.access.allows(&peer) {
            let _ = handshake::send_ack(&mut pipe, &handshake::refusal(), deadline);
            return Err(TransportError::PeerRefused { peer });
        }
        cfg.supported_profiles = cfg.effective_supported_profiles() & IMPLEMENTED_PROFILES;
        let packet_size = packet_size_or_default(cfg.packet_size);
        let mut decision = handshake::negotiate(&packet[..n], &cfg, packet_size, 0);
        let mut shm = None;
        if let Decision::Accept(a) = &mut decision {
            a.session_id = next_session.fetch_add(1, Ordering::Relaxed);
            if is_shm_profile(a.selected_profile) {
                // The region must exist before a successful ACK names it.
                let spin = cfg.effective_shm_spin_tries();
                let created = shm_object_names(
                    &run_dir,
                    &service,
                    cfg.auth_token,
                    a.selected_profile,
                    a.session_id,
                )
                .and_then(|names| {
                    WinShm::create(
                        &names,
                        a.selected_profile,
                        a.agreed_max_request_payload_bytes as usize + HEADER_LEN,
                        a.agreed_max_response_payload_bytes as usize + HEADER_LEN,
                        spin,
                    )
                });
                match created {
                    Ok(r) => shm = Some(r),
                    Err(e) => {
                        // No SHM for this session: decide again without it;
                        // the session runs over the pipe.
                        SHM_FALLBACK_LOG.log(
                            log::Level::Warn,
                            module_path!(),
                            format_args!(
                                "session {} of {service} ({peer}) runs over the pipe: {e}",
                                a.session_id
                            ),
                        );
                        let id = a.session_id;
                        cfg.supported_profiles &= !(PROFILE_SHM_HYBRID | PROFILE_SHM_BUSYWAIT);
                        decision = handshake::negotiate(&packet[..n], &cfg, packet_size, id);
                    }
                }
            }
        }
        let sent = handshake::send_ack(&mut pipe, &decision, deadline);
        match decision {
            Decision::Accept(a) => {
                sent?;
                Ok(NpSession {
                    pipe,
                    peer,
                    framer: Framer::new(SessionParams::from(&a), Role::Server),
                    shm,
                })
            }
            Decision::Reject(status, why) => Err(handshake::rejection_error(status, why, &cfg)),
        }
    }
}

fn create_instance(name: &[u16], first: bool, cfg: &ServerConfig) -> Result<OwnedHandle> {
    let packet = packet_size_or_default(cfg.packet_size);
    let open_mode =
        PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED | if first { FILE_FLAG_FIRST_PIPE_INSTANCE } else { 0 };
    // SAFETY: creates a pipe instance by a NUL-terminated wide name.
    let h = unsafe {
        CreateNamedPipeW(
            name.as_ptr(),
            open_mode,
            PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS,
            PIPE_UNLIMITED_INSTANCES,
            packet,
            packet,
            0,
            std::ptr::null(),
        )
    };
    if h == INVALID_HANDLE_VALUE {
        let e = last_error();
        if e.raw_os_error().map(|c| c as u32) == Some(ERROR_ACCESS_DENIED) {
            return Err(TransportError::AddressInUse {
                path: String::from_utf16_lossy(&name[..name.len() - 1]),
            });
        }
        return Err(TransportError::io_at(
            "create the pipe",
            String::from_utf16_lossy(&name[..name.len() - 1]),
            e,
        ));
    }
    // SAFETY: a new handle that nothing else owns.
    Ok(unsafe { OwnedHandle::from_raw_handle(h as RawHandle) })
}
