//! The service registry: the kernel's equivalent of Linux modules, built in.
//!
//! A service is a [`ServiceDesc`], a `static` carrying what Linux spreads over
//! `module_init`, `module_exit`, `MODULE_LICENSE`, `MODULE_AUTHOR`,
//! `MODULE_DESCRIPTION` and `MODULE_ALIAS`, plus the names of the services it
//! needs. The kernel gathers the descriptors (from a linker section) into one
//! slice; this module decides the start order and tracks each service's
//! state, with no knowledge of what the services do.
//!
//! - [`plan`] orders the services so that each starts after its dependencies
//!   (ties broken by name, so every boot starts them in the same order) and
//!   says which can never start: unknown dependency, dependency cycle (named
//!   in full), duplicate name, or a dependency that cannot start.
//! - [`Registry`] runs the plan. A service whose `init` fails is marked
//!   failed; its dependents are skipped with `dependency 'x' failed`; every
//!   other service still starts. `start` and `stop` then work on one service
//!   at a time, refusing what would leave a running service without a
//!   running dependency.
//!
//! ```
//! use kcore::registry::{Registry, ServiceDesc, ServiceError, State};
//!
//! fn blk_init() -> Result<(), ServiceError> {
//!     Err(ServiceError::new("no virtio-blk device"))
//! }
//! fn kv_init() -> Result<(), ServiceError> {
//!     Ok(())
//! }
//!
//! static SERVICES: [ServiceDesc; 2] = [
//!     ServiceDesc::new("blk", blk_init).description("virtio block device"),
//!     ServiceDesc::new("kv", kv_init)
//!         .description("LSM key-value store")
//!         .license("MIT OR Apache-2.0")
//!         .depends(&["blk"]),
//! ];
//!
//! let mut registry = Registry::new(&SERVICES);
//! registry.start_all(|service, state| {
//!     // The kernel logs e.g. "kv: skipped: dependency 'blk' failed".
//!     let _line = format!("{}: {state}", service.name);
//! });
//! assert_eq!(registry.state("blk"), Some(&State::Failed("no virtio-blk device".into())));
//! ```
#![forbid(unsafe_code)]

use alloc::borrow::ToOwned;
use alloc::collections::BTreeSet;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

/// A service's entry point (`module_init`).
pub type InitFn = fn() -> Result<(), ServiceError>;
/// A service's teardown (`module_exit`).
pub type ExitFn = fn() -> Result<(), ServiceError>;

/// The static description of a service. Build one in a `static` with
/// [`ServiceDesc::new`] and the `const` setters.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ServiceDesc {
    /// Unique name, used by `start`/`stop` and in `depends`.
    pub name: &'static str,
    /// One line for the service list (`MODULE_DESCRIPTION`).
    pub description: &'static str,
    /// `MODULE_AUTHOR`.
    pub author: &'static str,
    /// `MODULE_LICENSE`.
    pub license: &'static str,
    /// A second name that lookups accept (`MODULE_ALIAS`); empty for none.
    pub alias: &'static str,
    /// Names (or aliases) of the services that must run first.
    pub depends: &'static [&'static str],
    /// Brings the service up.
    pub init: InitFn,
    /// Takes the service down; `None` if it cannot be stopped.
    pub exit: Option<ExitFn>,
}

impl ServiceDesc {
    /// A service with only a name and an init function.
    pub const fn new(name: &'static str, init: InitFn) -> Self {
        Self {
            name,
            description: "",
            author: "",
            license: "",
            alias: "",
            depends: &[],
            init,
            exit: None,
        }
    }

    /// Sets `description`.
    pub const fn description(self, description: &'static str) -> Self {
        Self {
            description,
            ..self
        }
    }

    /// Sets `author`.
    pub const fn author(self, author: &'static str) -> Self {
        Self { author, ..self }
    }

    /// Sets `license`.
    pub const fn license(self, license: &'static str) -> Self {
        Self { license, ..self }
    }

    /// Sets `alias`.
    pub const fn alias(self, alias: &'static str) -> Self {
        Self { alias, ..self }
    }

    /// Sets `depends`.
    pub const fn depends(self, depends: &'static [&'static str]) -> Self {
        Self { depends, ..self }
    }

    /// Sets `exit`.
    pub const fn exit(self, exit: ExitFn) -> Self {
        Self {
            exit: Some(exit),
            ..self
        }
    }

    fn answers_to(&self, name: &str) -> bool {
        self.name == name || (!self.alias.is_empty() && self.alias == name)
    }
}

impl fmt::Debug for ServiceDesc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceDesc")
            .field("name", &self.name)
            .field("alias", &self.alias)
            .field("depends", &self.depends)
            .field("has_exit", &self.exit.is_some())
            .finish_non_exhaustive()
    }
}

/// Why a service's `init` or `exit` failed: a message for humans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceError(Message);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Message {
    Static(&'static str),
    Owned(String),
}

impl ServiceError {
    /// A fixed message; usable in `const` context.
    pub const fn new(message: &'static str) -> Self {
        Self(Message::Static(message))
    }

    /// A message built at run time (e.g. with `format!`).
    pub fn owned(message: String) -> Self {
        Self(Message::Owned(message))
    }

    /// The message.
    pub fn message(&self) -> &str {
        match &self.0 {
            Message::Static(s) => s,
            Message::Owned(s) => s,
        }
    }
}

impl From<&'static str> for ServiceError {
    fn from(message: &'static str) -> Self {
        Self::new(message)
    }
}

impl From<String> for ServiceError {
    fn from(message: String) -> Self {
        Self::owned(message)
    }
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl core::error::Error for ServiceError {}

/// Why a service was not started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// An earlier service in the slice has the same name.
    Duplicate,
    /// `depends` names no service.
    UnknownDependency(&'static str),
    /// The service is on a dependency cycle; the names follow the `depends`
    /// edges from the first back to it.
    Cycle(Vec<&'static str>),
    /// A dependency can never start (it is itself blocked).
    DependencyBlocked(&'static str),
    /// A dependency's `init` failed, or it was skipped, at run time.
    DependencyFailed(&'static str),
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Duplicate => write!(f, "another service has the same name"),
            Self::UnknownDependency(d) => write!(f, "unknown dependency '{d}'"),
            Self::Cycle(names) => {
                write!(f, "dependency cycle ")?;
                for n in names {
                    write!(f, "{n} -> ")?;
                }
                write!(f, "{}", names.first().copied().unwrap_or(""))
            }
            Self::DependencyBlocked(d) => write!(f, "dependency '{d}' cannot start"),
            Self::DependencyFailed(d) => write!(f, "dependency '{d}' failed"),
        }
    }
}

/// A service [`plan`] will not start, by index into the slice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    /// Index of the service.
    pub index: usize,
    /// Why it cannot start.
    pub reason: SkipReason,
}

/// The outcome of [`plan`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StartPlan {
    /// Indices of the startable services, each after all its dependencies.
    pub order: Vec<usize>,
    /// The others, sorted by name.
    pub blocked: Vec<Blocked>,
}

/// Looks a service up by name, then by alias.
fn find(services: &[ServiceDesc], name: &str) -> Option<usize> {
    services
        .iter()
        .position(|s| s.name == name)
        .or_else(|| services.iter().position(|s| s.answers_to(name)))
}

/// For each service, its dependencies resolved to indices (`Err` keeps an
/// unknown name), duplicates removed, declaration order kept.
fn resolve(services: &[ServiceDesc]) -> Vec<Vec<Result<usize, &'static str>>> {
    services
        .iter()
        .map(|s| {
            let mut deps: Vec<Result<usize, &'static str>> = Vec::new();
            for &d in s.depends {
                let r = find(services, d).ok_or(d);
                if !deps.contains(&r) {
                    deps.push(r);
                }
            }
            deps
        })
        .collect()
}

#[derive(Clone)]
enum Mark {
    Unvisited,
    Visiting,
    Ok,
    Blocked(SkipReason),
}

struct Planner<'a> {
    services: &'a [ServiceDesc],
    deps: Vec<Vec<Result<usize, &'static str>>>,
    marks: Vec<Mark>,
    cycle: Vec<Option<Vec<&'static str>>>,
    path: Vec<usize>,
}

impl Planner<'_> {
    /// Depth-first classification; returns whether `i` can start. Recursion
    /// depth is bounded by the number of services (tens).
    fn visit(&mut self, i: usize) -> bool {
        match self.marks[i] {
            Mark::Ok => return true,
            Mark::Blocked(_) => return false,
            Mark::Visiting | Mark::Unvisited => {}
        }
        self.marks[i] = Mark::Visiting;
        self.path.push(i);
        let mut failure = None;
        for k in 0..self.deps[i].len() {
            let reason = match self.deps[i][k] {
                Err(name) => Some(SkipReason::UnknownDependency(name)),
                Ok(d) if matches!(self.marks[d], Mark::Visiting) => {
                    // `d` is on the current path: path[d..] plus the edge back
                    // to `d` is a cycle; every member reports it.
                    let from = self.path.iter().position(|&p| p == d).unwrap_or(0);
                    let names: Vec<&'static str> = self.path[from..]
                        .iter()
                        .map(|&p| self.services[p].name)
                        .collect();
                    for &member in &self.path[from..] {
                        self.cycle[member].get_or_insert_with(|| names.clone());
                    }
                    None
                }
                Ok(d) => {
                    (!self.visit(d)).then(|| SkipReason::DependencyBlocked(self.services[d].name))
                }
            };
            if failure.is_none() {
                failure = reason;
            }
        }
        self.path.pop();
        self.marks[i] = match (self.cycle[i].take(), failure) {
            (Some(names), _) => Mark::Blocked(SkipReason::Cycle(names)),
            (None, Some(reason)) => Mark::Blocked(reason),
            (None, None) => Mark::Ok,
        };
        matches!(self.marks[i], Mark::Ok)
    }
}

/// Orders `services` for starting; see [`StartPlan`].
pub fn plan(services: &[ServiceDesc]) -> StartPlan {
    let n = services.len();
    let mut by_name: Vec<usize> = (0..n).collect();
    by_name.sort_by_key(|&i| (services[i].name, i));

    let mut planner = Planner {
        services,
        deps: resolve(services),
        marks: vec![Mark::Unvisited; n],
        cycle: vec![None; n],
        path: Vec::new(),
    };
    for (i, s) in services.iter().enumerate() {
        if find(services, s.name) != Some(i) {
            planner.marks[i] = Mark::Blocked(SkipReason::Duplicate);
        }
    }
    for &i in &by_name {
        planner.visit(i);
    }

    // Kahn's algorithm over the startable services, smallest name first.
    let ok = |i: usize| matches!(planner.marks[i], Mark::Ok);
    let mut waiting: Vec<usize> = (0..n)
        .map(|i| planner.deps[i].iter().filter(|d| d.is_ok()).count())
        .collect();
    let mut ready: BTreeSet<(&'static str, usize)> = (0..n)
        .filter(|&i| ok(i) && waiting[i] == 0)
        .map(|i| (services[i].name, i))
        .collect();
    let mut order = Vec::with_capacity(n);
    while let Some((_, i)) = ready.pop_first() {
        order.push(i);
        for j in (0..n).filter(|&j| ok(j)) {
            if planner.deps[j].contains(&Ok(i)) {
                waiting[j] -= 1;
                if waiting[j] == 0 {
                    ready.insert((services[j].name, j));
                }
            }
        }
    }

    let blocked = by_name
        .iter()
        .filter_map(|&i| match &planner.marks[i] {
            Mark::Blocked(reason) => Some(Blocked {
                index: i,
                reason: reason.clone(),
            }),
            _ => None,
        })
        .collect();
    StartPlan { order, blocked }
}

/// A service's run-time state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Never started, or stopped cleanly.
    Stopped,
    /// `init` succeeded.
    Running,
    /// `init` (or `exit`) returned this error.
    Failed(ServiceError),
    /// Not started, for this reason.
    Skipped(SkipReason),
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Stopped => write!(f, "stopped"),
            Self::Running => write!(f, "running"),
            Self::Failed(e) => write!(f, "failed: {e}"),
            Self::Skipped(r) => write!(f, "skipped: {r}"),
        }
    }
}

/// Why `start` or `stop` refused or failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlError {
    /// No service has this name or alias.
    Unknown(String),
    /// `start` of a running service.
    AlreadyRunning(&'static str),
    /// `stop` of a service that is not running.
    NotRunning(&'static str),
    /// The service can never start (see [`plan`]).
    Blocked {
        /// The service.
        name: &'static str,
        /// Why.
        reason: SkipReason,
    },
    /// A dependency started on the way failed its `init`.
    DependencyFailed {
        /// The service asked for.
        name: &'static str,
        /// The dependency that failed.
        dependency: &'static str,
        /// Its error.
        error: ServiceError,
    },
    /// The service's `init` failed.
    InitFailed {
        /// The service.
        name: &'static str,
        /// Its error.
        error: ServiceError,
    },
    /// The service has no `exit`, so it cannot stop.
    NoExit(&'static str),
    /// A running service depends on it.
    InUse {
        /// The service asked for.
        name: &'static str,
        /// A running dependent.
        by: &'static str,
    },
    /// The service's `exit` failed; it is now marked failed.
    ExitFailed {
        /// The service.
        name: &'static str,
        /// Its error.
        error: ServiceError,
    },
}

impl fmt::Display for ControlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unknown(n) => write!(f, "no service named '{n}'"),
            Self::AlreadyRunning(n) => write!(f, "service '{n}' is already running"),
            Self::NotRunning(n) => write!(f, "service '{n}' is not running"),
            Self::Blocked { name, reason } => write!(f, "service '{name}' cannot start: {reason}"),
            Self::DependencyFailed {
                name,
                dependency,
                error,
            } => write!(
                f,
                "service '{name}' not started: dependency '{dependency}' failed: {error}"
            ),
            Self::InitFailed { name, error } => {
                write!(f, "service '{name}' failed to start: {error}")
            }
            Self::NoExit(n) => write!(f, "service '{n}' cannot be stopped (no exit function)"),
            Self::InUse { name, by } => {
                write!(f, "service '{name}' is in use by running service '{by}'")
            }
            Self::ExitFailed { name, error } => {
                write!(f, "service '{name}' failed to stop: {error}")
            }
        }
    }
}

impl core::error::Error for ControlError {}

/// The state of every service in one slice of descriptors.
#[derive(Debug)]
pub struct Registry<'a> {
    services: &'a [ServiceDesc],
    deps: Vec<Vec<usize>>,
    plan: StartPlan,
    states: Vec<State>,
}

impl<'a> Registry<'a> {
    /// All services stopped; the start plan is computed here once.
    pub fn new(services: &'a [ServiceDesc]) -> Self {
        let deps = resolve(services)
            .into_iter()
            .map(|d| d.into_iter().filter_map(Result::ok).collect())
            .collect();
        Self {
            services,
            deps,
            plan: plan(services),
            states: vec![State::Stopped; services.len()],
        }
    }

    /// The plan [`start_all`](Self::start_all) follows.
    pub fn plan(&self) -> &StartPlan {
        &self.plan
    }

    /// Starts every service that is not running, in plan order, and calls
    /// `log` once per service that was not already running with the state it
    /// ended in. Blocked services are reported (in name order) before the
    /// rest.
    pub fn start_all(&mut self, mut log: impl FnMut(&ServiceDesc, &State)) {
        for b in &self.plan.blocked {
            self.states[b.index] = State::Skipped(b.reason.clone());
            log(&self.services[b.index], &self.states[b.index]);
        }
        for k in 0..self.plan.order.len() {
            let i = self.plan.order[k];
            if self.states[i] == State::Running {
                continue;
            }
            self.states[i] = match self.deps[i]
                .iter()
                .find(|&&d| self.states[d] != State::Running)
            {
                Some(&d) => State::Skipped(SkipReason::DependencyFailed(self.services[d].name)),
                None => match (self.services[i].init)() {
                    Ok(()) => State::Running,
                    Err(e) => State::Failed(e),
                },
            };
            log(&self.services[i], &self.states[i]);
        }
    }

    /// Starts one service by name or alias, first starting (or retrying)
    /// every dependency that is not running.
    pub fn start(&mut self, name: &str) -> Result<(), ControlError> {
        let i = self.lookup(name)?;
        let me = self.services[i].name;
        if self.states[i] == State::Running {
            return Err(ControlError::AlreadyRunning(me));
        }
        if let Some(b) = self.plan.blocked.iter().find(|b| b.index == i) {
            self.states[i] = State::Skipped(b.reason.clone());
            return Err(ControlError::Blocked {
                name: me,
                reason: b.reason.clone(),
            });
        }
        // The plan order is a topological order, so walking it and picking
        // out `i`'s dependency closure starts each dependency after its own.
        let needed = self.closure(i);
        for k in 0..self.plan.order.len() {
            let d = self.plan.order[k];
            if d == i || !needed[d] || self.states[d] == State::Running {
                continue;
            }
            if let Some(&bad) = self.deps[d]
                .iter()
                .find(|&&x| self.states[x] != State::Running)
            {
                self.states[d] =
                    State::Skipped(SkipReason::DependencyFailed(self.services[bad].name));
                continue;
            }
            if let Err(error) = (self.services[d].init)() {
                self.states[d] = State::Failed(error.clone());
                self.states[i] =
                    State::Skipped(SkipReason::DependencyFailed(self.services[d].name));
                return Err(ControlError::DependencyFailed {
                    name: me,
                    dependency: self.services[d].name,
                    error,
                });
            }
            self.states[d] = State::Running;
        }
        if let Some(&d) = self.deps[i]
            .iter()
            .find(|&&d| self.states[d] != State::Running)
        {
            let dependency = self.services[d].name;
            self.states[i] = State::Skipped(SkipReason::DependencyFailed(dependency));
            return Err(ControlError::Blocked {
                name: me,
                reason: SkipReason::DependencyFailed(dependency),
            });
        }
        match (self.services[i].init)() {
            Ok(()) => {
                self.states[i] = State::Running;
                Ok(())
            }
            Err(error) => {
                self.states[i] = State::Failed(error.clone());
                Err(ControlError::InitFailed { name: me, error })
            }
        }
    }

    /// Stops one running service by name or alias. Refused while a running
    /// service depends on it, or if it has no `exit`.
    pub fn stop(&mut self, name: &str) -> Result<(), ControlError> {
        let i = self.lookup(name)?;
        let me = self.services[i].name;
        if self.states[i] != State::Running {
            return Err(ControlError::NotRunning(me));
        }
        let Some(exit) = self.services[i].exit else {
            return Err(ControlError::NoExit(me));
        };
        let user = (0..self.services.len())
            .filter(|&j| self.states[j] == State::Running && self.deps[j].contains(&i))
            .min_by_key(|&j| self.services[j].name);
        if let Some(j) = user {
            return Err(ControlError::InUse {
                name: me,
                by: self.services[j].name,
            });
        }
        match exit() {
            Ok(()) => {
                self.states[i] = State::Stopped;
                Ok(())
            }
            Err(error) => {
                self.states[i] = State::Failed(error.clone());
                Err(ControlError::ExitFailed { name: me, error })
            }
        }
    }

    /// Index of a service by name or alias.
    pub fn find(&self, name: &str) -> Option<usize> {
        find(self.services, name)
    }

    /// The state of a service by name or alias.
    pub fn state(&self, name: &str) -> Option<&State> {
        self.find(name).map(|i| &self.states[i])
    }

    /// Every service with its state, in slice order.
    pub fn states(&self) -> impl Iterator<Item = (&'a ServiceDesc, &State)> + '_ {
        self.services.iter().zip(&self.states)
    }

    fn lookup(&self, name: &str) -> Result<usize, ControlError> {
        self.find(name)
            .ok_or_else(|| ControlError::Unknown(name.to_owned()))
    }

    /// Marks every service `i` depends on, directly or not.
    fn closure(&self, i: usize) -> Vec<bool> {
        let mut seen = vec![false; self.services.len()];
        let mut stack = vec![i];
        while let Some(s) = stack.pop() {
            for &d in &self.deps[s] {
                if !seen[d] {
                    seen[d] = true;
                    stack.push(d);
                }
            }
        }
        seen
    }
}

#[cfg(test)]
mod tests;
