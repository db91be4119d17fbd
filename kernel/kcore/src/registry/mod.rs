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
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

mod desc;
mod plan;

pub use desc::{ExitFn, InitFn, ServiceDesc, ServiceError};
use plan::{find, resolve};
pub use plan::{plan, Blocked, SkipReason, StartPlan};

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
