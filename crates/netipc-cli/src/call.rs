//! `netipc call`: one typed call, its answer, the negotiated transport and
//! the time it took.

use crate::answers::{Answer, AppsLookup, CgroupsLookup, Snapshot};
use crate::cli::{CallArgs, Method};
use crate::client::{
    Lifecycle, check_run_dir, check_service, client_config, connect, context, transport_key, transport_name,
};
use crate::duration::human;
use crate::failure::{Context, Failure};
use crate::output;
use netipc::service::ServiceError;
use netipc::service::cgroups::CgroupsClient;
use netipc::service::increment::IncrementClient;
use netipc::service::lookup::apps::AppsLookupClient;
use netipc::service::lookup::cgroups::CgroupsLookupClient;
use netipc::service::string_reverse::StringReverseClient;
use serde::Serialize;
use std::time::{Duration, Instant};

/// What `call --json` prints.
#[derive(Debug, Serialize)]
struct Report<'a> {
    ok: bool,
    run_dir: String,
    service: &'a str,
    endpoint: &'a str,
    method: &'static str,
    transport: &'static str,
    connect_us: u128,
    call_us: u128,
    answer: &'a Answer,
}

/// A connected call's outcome: the answer, and whether it went over
/// shared memory.
struct Outcome {
    answer: Answer,
    shm: bool,
    connect: Duration,
    call: Duration,
}

/// Connects `client`, makes the call `f` with it, and explains a failure.
fn call_with<C: Lifecycle>(
    mut client: C,
    ctx: &Context,
    method: &'static str,
    f: impl FnOnce(&mut C) -> Result<Answer, ServiceError>,
) -> Result<Outcome, Failure> {
    let connect_took = connect(&mut client, ctx)?;
    let started = Instant::now();
    let result = f(&mut client);
    let call_took = started.elapsed();
    match result {
        Ok(answer) => Ok(Outcome {
            answer,
            shm: client.status().shm,
            connect: connect_took,
            call: call_took,
        }),
        Err(e) => Err(ctx.call_failure(method, &e, client.state(), client.last_connect_error())),
    }
}

/// Runs `netipc call`.
pub fn run(args: &CallArgs, json: bool) -> Result<(), Failure> {
    check_service(&args.service)?;
    check_run_dir(&args.run_dir)?;
    let config = client_config(&args.client)?;
    let ctx = context(&args.run_dir, &args.service, &args.client);
    let (dir, svc) = (&args.run_dir, args.service.as_str());
    let method = args.method.name();
    let outcome = match &args.method()? {
        Method::Snapshot => call_with(CgroupsClient::new(dir, svc, config), &ctx, method, |c| {
            c.call_snapshot().map(|v| Answer::Snapshot(Snapshot::of(&v)))
        }),
        Method::CgroupsLookup { keys } => {
            call_with(CgroupsLookupClient::new(dir, svc, config), &ctx, method, |c| {
                c.call(keys).map(|v| Answer::CgroupsLookup(CgroupsLookup::of(&v)))
            })
        }
        Method::AppsLookup { pids } => {
            call_with(AppsLookupClient::new(dir, svc, config), &ctx, method, |c| {
                c.call(pids).map(|v| Answer::AppsLookup(AppsLookup::of(&v)))
            })
        }
        Method::Increment { n } => call_with(IncrementClient::new(dir, svc, config), &ctx, method, |c| {
            c.call(*n).map(|value| Answer::Increment { value })
        }),
        Method::StringReverse { text } => {
            call_with(StringReverseClient::new(dir, svc, config), &ctx, method, |c| {
                c.call(text.as_bytes())
                    .map(|v| Answer::StringReverse { text: v.to_string() })
            })
        }
    }?;
    if json {
        output::json(&Report {
            ok: true,
            run_dir: args.run_dir.display().to_string(),
            service: svc,
            endpoint: &ctx.endpoint,
            method,
            transport: transport_key(outcome.shm),
            connect_us: outcome.connect.as_micros(),
            call_us: outcome.call.as_micros(),
            answer: &outcome.answer,
        });
        return Ok(());
    }
    output::line(format!(
        "{method} from {} over {}: connect {}, call {}",
        ctx.endpoint,
        transport_name(outcome.shm),
        human(outcome.connect),
        human(outcome.call)
    ));
    output::line(outcome.answer.summary());
    if let Some((table, more)) = outcome.answer.table(args.limit) {
        output::print_table(&table);
        if more > 0 {
            output::line(format!("… {more} more (--limit 0 shows all)"));
        }
    }
    Ok(())
}
