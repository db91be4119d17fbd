//! The service registry, shaped after Linux modules: each service declares
//! itself with `service!` (name, description, author, license, alias,
//! dependencies, init, exit), which places its descriptor in the
//! `.unikv_services` link section, as `module_init` does with initcalls. The
//! registry walks that section, starts services in dependency order at boot,
//! reports a failing one and goes on, and stops them (running `exit`) on
//! `SERVICE STOP`, `SHUTDOWN` and `REBOOT`.

use alloc::{format, string::String, vec::Vec};
use core::sync::atomic::{AtomicU8, Ordering};
use kcore::registry::{Registry, ServiceDesc, State};
use spin::Mutex;

/// Declares a service. Its descriptor ends up in the registry by linking
/// alone: there is no central list to edit.
#[macro_export]
macro_rules! service {
    (
        $ident:ident {
            name: $name:expr,
            description: $description:expr,
            author: $author:expr,
            license: $license:expr,
            alias: $alias:expr,
            depends: [$($dep:expr),* $(,)?],
            init: $init:expr,
            exit: $exit:expr $(,)?
        }
    ) => {
        #[used]
        #[link_section = ".unikv_services"]
        static $ident: kcore::registry::ServiceDesc = kcore::registry::ServiceDesc {
            name: $name,
            description: $description,
            author: $author,
            license: $license,
            alias: $alias,
            depends: &[$($dep),*],
            init: $init,
            exit: $exit,
        };
    };
}

extern "C" {
    static __services_start: u8;
    static __services_end: u8;
}

/// Every descriptor linked into the image.
pub fn descriptors() -> &'static [ServiceDesc] {
    let start = core::ptr::addr_of!(__services_start).cast::<ServiceDesc>();
    let end = core::ptr::addr_of!(__services_end).cast::<ServiceDesc>();
    let count = (end as usize - start as usize) / core::mem::size_of::<ServiceDesc>();
    // SAFETY: the linker script gathers exactly the `service!` statics (all
    // of type ServiceDesc, each aligned to it) between these two symbols,
    // and they are immutable for the kernel's lifetime.
    unsafe { core::slice::from_raw_parts(start, count) }
}

/// Each service's state as a number, mirrored for the gdb helper
/// `unikv-services` (the registry's own table is behind a lock and a Vec):
/// 0 stopped, 1 running, 2 failed, 3 skipped. Indexed like the section.
#[no_mangle]
static UNIKV_SERVICE_STATES: [AtomicU8; MAX_SERVICES] = [const { AtomicU8::new(0) }; MAX_SERVICES];
const MAX_SERVICES: usize = 32;

fn mirror(reg: &Registry<'static>) {
    for (i, (_, state)) in reg.states().enumerate().take(MAX_SERVICES) {
        let code = match state {
            State::Stopped => 0,
            State::Running => 1,
            State::Failed(_) => 2,
            State::Skipped(_) => 3,
        };
        UNIKV_SERVICE_STATES[i].store(code, Ordering::Relaxed);
    }
}

static REGISTRY: Mutex<Option<Registry<'static>>> = Mutex::new(None);

fn with<R>(f: impl FnOnce(&mut Registry<'static>) -> R) -> R {
    let mut guard = REGISTRY.lock();
    let reg = guard.get_or_insert_with(|| Registry::new(descriptors()));
    let result = f(reg);
    mirror(reg);
    result
}

pub fn start_all() {
    with(|reg| {
        reg.start_all(|desc, state| match state {
            State::Running => log::info!("service {}: started", desc.name),
            other => log::error!("service {}: not started: {other}", desc.name),
        })
    });
}

/// The canonical name of a service given by name or alias.
fn canonical(reg: &Registry<'static>, name: &str) -> &'static str {
    reg.find(name).map_or("?", |i| descriptors()[i].name)
}

pub fn start(name: &str) -> Result<(), String> {
    let name =
        with(|reg| reg.start(name).map(|()| canonical(reg, name))).map_err(|e| format!("{e}"))?;
    log::info!("service {name}: started");
    Ok(())
}

pub fn stop(name: &str) -> Result<(), String> {
    let name =
        with(|reg| reg.stop(name).map(|()| canonical(reg, name))).map_err(|e| format!("{e}"))?;
    log::info!("service {name}: stopped");
    Ok(())
}

/// Stops every running service that has an exit, dependents first, so that
/// power-off and reset leave every service's state clean (the store's disk).
pub fn stop_all() {
    with(|reg| {
        let order: Vec<usize> = reg.plan().order.iter().rev().copied().collect();
        for i in order {
            let desc = &descriptors()[i];
            if desc.exit.is_none() || reg.state(desc.name) != Some(&State::Running) {
                continue;
            }
            match reg.stop(desc.name) {
                Ok(()) => log::info!("service {}: stopped", desc.name),
                Err(e) => log::error!("service {}: {e}", desc.name),
            }
        }
    });
}

/// (descriptor, state in words) for every service.
pub fn table() -> Vec<(&'static ServiceDesc, String)> {
    with(|reg| reg.states().map(|(d, s)| (d, format!("{s}"))).collect())
}
