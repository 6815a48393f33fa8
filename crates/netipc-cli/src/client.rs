//! What the client subcommands share: the profiles a `--profile` offers,
//! the client configuration, the endpoint's name, and connecting a typed
//! client with its failure explained.

use crate::cli::{ClientArgs, Profile};
use crate::failure::{Context, Failure};
use netipc::protocol::PROFILE_BASELINE;
use netipc::service::{ClientConfig, ClientState, ClientStatus};
use netipc::transport::TransportError;
use std::path::Path;
use std::time::{Duration, Instant};

/// The shared-memory profile this platform implements, if any.
pub fn shm_profile() -> Option<u32> {
    if cfg!(any(target_os = "linux", windows)) {
        Some(netipc::protocol::PROFILE_SHM_HYBRID)
    } else {
        None
    }
}

/// The (supported, preferred) profile bits of a `--profile` choice.
pub fn profile_bits(profile: Profile) -> Result<(u32, u32), Failure> {
    Ok(match (profile, shm_profile()) {
        (Profile::Auto, Some(shm)) => (PROFILE_BASELINE | shm, shm),
        (Profile::Auto, None) | (Profile::Uds, _) => (PROFILE_BASELINE, PROFILE_BASELINE),
        (Profile::Shm, Some(shm)) => (shm, shm),
        (Profile::Shm, None) => {
            return Err(Failure::Usage {
                message: "this platform has no shared-memory transport".into(),
                hint: Some("use --profile uds (or auto)".into()),
            });
        }
    })
}

/// The client configuration of `args`.
pub fn client_config(args: &ClientArgs) -> Result<ClientConfig, Failure> {
    let (supported, preferred) = profile_bits(args.profile)?;
    Ok(ClientConfig {
        supported_profiles: supported,
        preferred_profiles: preferred,
        auth_token: args.token,
        call_timeout: args.timeout,
        handshake_timeout: args.timeout,
        ..ClientConfig::default()
    })
}

/// Checks the service name as every implementation does (exit code 2).
pub fn check_service(service: &str) -> Result<(), Failure> {
    netipc::transport::names::validate_service_name(service).map_err(|e| match e {
        TransportError::InvalidServiceName(why) => Failure::Usage {
            message: format!("invalid service name `{service}`: {why}"),
            hint: Some("service names use letters, digits, '-', '_' and '.'".into()),
        },
        _ => Failure::usage(format!("invalid service name `{service}`")),
    })
}

/// The endpoint of `service` in `run_dir`, as people find it: the socket
/// path on POSIX, the pipe name on Windows.
pub fn endpoint(run_dir: &Path, service: &str) -> String {
    #[cfg(unix)]
    return run_dir.join(format!("{service}.sock")).display().to_string();
    #[cfg(windows)]
    return netipc::transport::names::pipe_name(&run_dir.to_string_lossy(), service)
        .unwrap_or_else(|_| format!(r"\\.\pipe\netipc-?-{service}"));
    #[cfg(not(any(unix, windows)))]
    return format!("{}/{service}", run_dir.display());
}

/// Checks what can be checked of the run dir before connecting: on POSIX,
/// that it is a directory this process may use (on Windows it only names a
/// namespace).
pub fn check_run_dir(run_dir: &Path) -> Result<(), Failure> {
    if cfg!(windows) {
        return Ok(());
    }
    crate::failure::check_run_dir(run_dir)
}

/// The failure context of a client subcommand.
pub fn context(run_dir: &Path, service: &str, args: &ClientArgs) -> Context {
    Context {
        endpoint: endpoint(run_dir, service),
        token: args.token,
        profile: args.profile,
        timeout: args.timeout,
    }
}

/// How a session's messages travel, in words.
pub fn transport_name(shm: bool) -> &'static str {
    match (shm, cfg!(windows)) {
        (true, false) => "shared memory (SHM_HYBRID)",
        (true, true) => "shared memory (Windows SHM_HYBRID)",
        (false, false) => "UDS SEQPACKET",
        (false, true) => "named pipe",
    }
}

/// A stable short name of the transport, for JSON.
pub fn transport_key(shm: bool) -> &'static str {
    match (shm, cfg!(windows)) {
        (true, _) => "shm",
        (false, false) => "uds",
        (false, true) => "named-pipe",
    }
}

/// The lifecycle every typed client shares, as far as this tool uses it.
pub trait Lifecycle {
    /// Connects if not connected.
    fn refresh(&mut self) -> bool;
    /// Whether calls can proceed.
    fn ready(&self) -> bool;
    /// The connection state.
    fn state(&self) -> ClientState;
    /// Counters and state.
    fn status(&self) -> ClientStatus;
    /// Why the last connection attempt failed.
    fn last_connect_error(&self) -> Option<&TransportError>;
}

macro_rules! lifecycle {
    ($($client:ty),*) => {$(
        impl Lifecycle for $client {
            fn refresh(&mut self) -> bool {
                <$client>::refresh(self)
            }
            fn ready(&self) -> bool {
                <$client>::ready(self)
            }
            fn state(&self) -> ClientState {
                <$client>::state(self)
            }
            fn status(&self) -> ClientStatus {
                <$client>::status(self)
            }
            fn last_connect_error(&self) -> Option<&TransportError> {
                <$client>::last_connect_error(self)
            }
        }
    )*};
}

lifecycle!(
    netipc::service::cgroups::CgroupsClient,
    netipc::service::lookup::cgroups::CgroupsLookupClient,
    netipc::service::lookup::apps::AppsLookupClient,
    netipc::service::increment::IncrementClient,
    netipc::service::string_reverse::StringReverseClient
);

/// Connects `client` (one refresh) and returns how long it took, or why it
/// could not connect.
pub fn connect(client: &mut impl Lifecycle, ctx: &Context) -> Result<Duration, Failure> {
    let started = Instant::now();
    client.refresh();
    let took = started.elapsed();
    if client.ready() {
        Ok(took)
    } else {
        Err(ctx.not_ready(client.state(), client.last_connect_error()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_offer_what_the_choice_says() {
        assert_eq!(
            profile_bits(Profile::Uds).unwrap(),
            (PROFILE_BASELINE, PROFILE_BASELINE)
        );
        match shm_profile() {
            Some(shm) => {
                assert_eq!(
                    profile_bits(Profile::Auto).unwrap(),
                    (PROFILE_BASELINE | shm, shm)
                );
                assert_eq!(profile_bits(Profile::Shm).unwrap(), (shm, shm));
            }
            None => {
                assert_eq!(profile_bits(Profile::Auto).unwrap().0, PROFILE_BASELINE);
                assert_eq!(profile_bits(Profile::Shm).unwrap_err().kind(), "usage");
            }
        }
    }

    #[test]
    fn bad_service_names_are_usage_errors() {
        assert!(check_service("cgroups-snapshot").is_ok());
        for bad in ["", "..", "a/b", "a b"] {
            let f = check_service(bad).unwrap_err();
            assert_eq!(f.exit_code(), crate::failure::EXIT_USAGE, "{bad}");
        }
    }
}
