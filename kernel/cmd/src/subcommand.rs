//! Container commands (CLIENT, CONFIG, COMMAND, FUNCTION): their
//! subcommands, each with Redis's arity, so that an unknown subcommand or a
//! wrong count is refused before the command is queued in a transaction
//! (and flags it, as Redis does), with Redis's messages; their HELP; and
//! what COMMAND INFO and DOCS say of them.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use console::{Invocation, Reply};

use crate::ctx::CmdError;
use crate::table::wrong_arity;

/// One subcommand.
pub(crate) struct Sub {
    /// Its name, upper case.
    pub name: &'static str,
    /// Redis's arity, counting the container and the subcommand: 2 for
    /// `CLIENT ID`, -3 for `CONFIG GET parameter [parameter ...]`.
    pub arity: i64,
    /// Its arguments after the subcommand, for HELP and COMMAND DOCS.
    pub args: &'static str,
    /// What it does.
    pub summary: &'static str,
    /// The Redis version that has it first.
    pub since: &'static str,
}

/// A container command and its subcommands.
pub(crate) struct Container {
    /// The command's name, upper case.
    pub name: &'static str,
    /// Its subcommands, in HELP's order.
    pub subs: &'static [Sub],
    /// Whether it also runs without a subcommand (COMMAND does).
    pub bare: bool,
}

/// Every container command.
pub(crate) static CONTAINERS: &[&Container] = &[
    &crate::connection::CLIENT,
    &crate::config::CONFIG,
    &crate::introspect::COMMAND,
    &crate::serverfamily::FUNCTION,
    &crate::latency::LATENCY,
    &crate::slowlog::SLOWLOG,
    &crate::keys::object::OBJECT,
    &crate::keys::object::MEMORY,
    &crate::acl::ACL,
];

/// The container called `name`, if it is one.
pub(crate) fn container(name: &str) -> Option<&'static Container> {
    CONTAINERS.iter().copied().find(|c| c.name == name)
}

impl Container {
    /// Whether `inv` may run: it names one of the subcommands with a
    /// count of arguments its arity allows, or none if the command runs
    /// bare.
    pub(crate) fn admits(&'static self, inv: &Invocation) -> Result<(), CmdError> {
        if self.bare && inv.args.is_empty() {
            return Ok(());
        }
        self.check(inv).map(|_| ())
    }

    /// [`Container::check`], for the command that runs it: the client's
    /// last command is then this subcommand (CLIENT LIST's `cmd=`), from
    /// now, as Redis's `lastcmd` is the running command's.
    pub(crate) fn enter(
        &'static self,
        ctx: &mut crate::ctx::Ctx<'_>,
        inv: &Invocation,
    ) -> Result<&'static Sub, CmdError> {
        let sub = self.check(inv);
        ctx.client.last_command = self.name;
        ctx.client.last_sub = sub.as_ref().ok().map(|s| (self.name, s.name));
        sub
    }

    /// The subcommand `inv` names, if it exists and has a count of
    /// arguments its arity allows; otherwise Redis's error.
    pub(crate) fn check(&'static self, inv: &Invocation) -> Result<&'static Sub, CmdError> {
        let Some(word) = inv.args.first() else {
            return Err(CmdError::Invalid(wrong_arity(self.name)));
        };
        let Some(sub) = self
            .subs
            .iter()
            .find(|s| s.name.as_bytes().eq_ignore_ascii_case(word))
        else {
            return Err(CmdError::Invalid(format!(
                "unknown subcommand '{}'. Try {} HELP.",
                shown(word),
                self.name
            )));
        };
        let argc = inv.args.len() as i64 + 1;
        let fits = if sub.arity >= 0 {
            argc == sub.arity
        } else {
            argc >= -sub.arity
        };
        if !fits {
            return Err(CmdError::Invalid(wrong_arity(&full_name(self, sub))));
        }
        Ok(sub)
    }

    /// Redis's error for subcommand `word` given arguments it takes in no
    /// form (`addReplySubcommandSyntaxError`).
    pub(crate) fn wrong_form(&self, word: &[u8]) -> CmdError {
        CmdError::Invalid(format!(
            "unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
            shown(word),
            self.name
        ))
    }

    /// HELP's reply: the subcommands with their arguments and summaries,
    /// as Redis's `addReplyHelp` lays them out.
    pub(crate) fn help(&self) -> Reply {
        let mut lines = Vec::new();
        lines.push(format!(
            "{} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            self.name
        ));
        for sub in self.subs.iter().filter(|s| s.name != HELP.name) {
            if sub.args.is_empty() {
                lines.push(String::from(sub.name));
            } else {
                lines.push(format!("{} {}", sub.name, sub.args));
            }
            lines.push(format!("    {}", sub.summary));
        }
        lines.push(String::from(HELP.name));
        lines.push(format!("    {}", HELP.summary));
        Reply::Array(lines.into_iter().map(Reply::Status).collect())
    }
}

/// Redis's name of a subcommand: `config|get`.
pub(crate) fn full_name(c: &Container, sub: &Sub) -> String {
    format!("{}|{}", c.name, sub.name).to_ascii_lowercase()
}

/// An argument as Redis quotes it in an error (`%.128s`): up to the first
/// NUL, at most 128 bytes, each byte as a character, line breaks as
/// spaces (an error reply is one line).
pub(crate) fn shown(arg: &[u8]) -> String {
    arg.iter()
        .take_while(|&&b| b != 0)
        .take(128)
        .map(|&b| match b {
            b'\r' | b'\n' => ' ',
            _ => char::from(b),
        })
        .collect()
}

/// Redis's HELP line of every container.
pub(crate) const HELP: Sub = Sub {
    name: "HELP",
    arity: 2,
    args: "",
    summary: "Prints this help.",
    since: "5.0.0",
};
