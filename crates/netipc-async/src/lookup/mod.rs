//! The lookup services, async: CGROUPS_LOOKUP and APPS_LOOKUP.
//!
//! A logical call splits its keys into requests that fit the session and
//! stitches the answers, as the blocking clients do (the same code plans
//! it: `netipc_service::driver`). Its call timeout covers every cycle.

pub mod apps;
pub mod cgroups;
