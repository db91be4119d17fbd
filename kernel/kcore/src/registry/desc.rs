//! A service's static description ([`ServiceDesc`]: what Linux spreads over
//! `module_init`, `module_exit` and the `MODULE_*` macros) and the error its
//! `init` or `exit` returns.

use alloc::string::String;
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

    pub(super) fn answers_to(&self, name: &str) -> bool {
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
