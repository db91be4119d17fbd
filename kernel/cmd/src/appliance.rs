//! The appliance's own commands, by module: the store's maintenance
//! (`storage`), BENCH (`bench`), the read cache (`cachecmd`), INFO
//! (`info`), the server's services, log and power (`server`), the debug
//! hooks (`debug`).

use crate::table::{entry, Entry};
use crate::{bench, cachecmd, debug, info, server, storage};

pub(crate) static HANDLERS: &[Entry] = &[
    entry("FLUSH", storage::flush, false),
    // Every write is durable once acknowledged; what SAVE adds is FLUSH's:
    // the memtable in a table, nothing left for the WAL to replay.
    entry("SAVE", storage::flush, false),
    entry("BGSAVE", storage::bgsave, false),
    entry("BGREWRITEAOF", storage::bgrewriteaof, false),
    entry("COMPACT", storage::compact, false),
    entry("VERIFY", storage::verify, false),
    entry("BENCH", bench::run, false),
    entry("CACHE", cachecmd::cache, false),
    entry("HELP", server::help, true),
    entry("INFO", info::info, false),
    entry("SERVICES", server::services, false),
    entry("SERVICE", server::service, false),
    entry("LOG", server::log, false),
    entry("SHUTDOWN", server::shutdown, false),
    entry("REBOOT", server::reboot, false),
    entry("DEBUG", debug::debug, false),
];
