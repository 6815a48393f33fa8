//! The lookup methods: CGROUPS_LOOKUP (4) and APPS_LOOKUP (5).
//!
//! Both carry an ordered list of keys in one ordinary (non-batch) message and
//! answer with one item per key, in request order. Their item directories are
//! method-internal, not L1 batch directories.

mod apps;
mod cgroups;
mod common;
mod responder;
mod response;

pub use apps::*;
pub use cgroups::*;
pub use common::{LABEL_ENTRY_LEN, LOOKUP_HDR_LEN, Label, LabelInput, LabelView, Labels, Orchestrator};
pub use responder::{AppsLookupResponder, CgroupsLookupResponder, Placed};
pub use response::{LookupKind, LookupResponseBuilder, LookupResponseView};
