//! INFO over network connections and at the console: its sections, their
//! order and fields, with the replies a native redis-server 7.0.15 gives.
//! `info_command_tcl_*` is what Redis's tests/unit/info-command.tcl checks.

mod common;

use cmd::Reply;
use common::{now_ms, server, set_expiring, store, Session};

/// The field names of a report, in order, and its section headers.
fn fields(report: &str) -> Vec<&str> {
    report
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.split(':').next().unwrap())
        .collect()
}

#[test]
fn info_command_tcl_info_command_with_at_most_one_sub_command() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    for arg in ["", "all", "default", "everything"] {
        let info = c.run(&format!("INFO {arg}"));
        assert!(info.contains("redis_version"), "{arg}");
        assert!(info.contains("used_cpu_user"), "{arg}");
        assert!(!info.contains("sentinel_tilt"), "{arg}");
        assert!(info.contains("used_memory"), "{arg}");
        let with_stats = arg == "all" || arg == "everything";
        assert_eq!(info.contains("rejected_calls"), with_stats, "{arg}");
    }
}

#[test]
fn info_command_tcl_info_command_with_one_sub_section() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    let info = c.run("INFO cpu");
    assert!(info.contains("used_cpu_user"));
    assert!(!info.contains("sentinel_tilt"));
    assert!(!info.contains("used_memory"));
    assert_eq!(
        c.run("INFO sentinel"),
        "",
        "an empty bulk string, not an error"
    );
    let info = c.run("INFO commandSTATS");
    assert!(!info.contains("used_memory"));
    assert!(info.contains("rejected_calls"));
}

#[test]
fn info_command_tcl_info_command_with_multiple_sub_sections() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    let info = c.run("INFO cpu sentinel");
    assert!(info.contains("used_cpu_user"));
    assert!(!info.contains("sentinel_tilt"));
    assert!(!info.contains("master_repl_offset"));
    for extra in ["all", "default"] {
        let info = c.run(&format!("INFO cpu {extra}"));
        assert!(info.contains("used_cpu_user"));
        assert!(info.contains("used_memory"));
        assert!(info.contains("master_repl_offset"));
        assert_eq!(info.contains("rejected_calls"), extra == "all");
        assert_eq!(info.matches("used_cpu_user_children").count(), 1, "{extra}");
    }
}

#[test]
fn info_sections_in_order_with_redis_fields_then_the_kernels() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    let info = c.run("INFO");
    let headers: Vec<&str> = info.lines().filter(|l| l.starts_with("# ")).collect();
    assert_eq!(
        headers,
        [
            "# Server",
            "# Clients",
            "# Memory",
            "# Persistence",
            "# Stats",
            "# Replication",
            "# CPU",
            "# Modules",
            "# Errorstats",
            "# Cluster",
            "# Keyspace",
            "# Devices",
            "# Storage",
        ],
        "no cache attached, no cache section"
    );
    let server = c.run("INFO server");
    assert_eq!(
        fields(&server),
        [
            "# Server",
            "redis_version",
            "redis_mode",
            "os",
            "arch_bits",
            "run_id",
            "tcp_port",
            "server_time_usec",
            "uptime_in_seconds",
            "uptime_in_days",
            "config_file",
            "kernel_server",
        ]
    );
    assert!(server.contains("\nredis_version:7.0.15\nredis_mode:standalone\n"));
    assert!(server.contains("\narch_bits:64\n"));
    assert!(server.contains("\ntcp_port:6379\n"));
    let run_id = server
        .lines()
        .find_map(|l| l.strip_prefix("run_id:"))
        .unwrap();
    assert_eq!(run_id.len(), 40);
    assert!(run_id.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(
        c.run("INFO memory"),
        "# Memory\nused_memory:3145728\nused_memory_human:3.00M\ntotal_system_memory:1073741824\ntotal_system_memory_human:1.00G\nmaxmemory:0\nmaxmemory_human:0B\nmaxmemory_policy:noeviction\nkernel_memory:yes\n"
    );
    let lastsave = c.run("LASTSAVE");
    let lastsave = lastsave.trim_end().strip_prefix("(integer) ").unwrap();
    assert_eq!(
        c.run("INFO persistence replication cluster"),
        format!("# Persistence\nloading:0\nasync_loading:0\nrdb_changes_since_last_save:0\nrdb_bgsave_in_progress:0\nrdb_last_save_time:{lastsave}\naof_enabled:1\naof_rewrite_in_progress:0\naof_rewrite_scheduled:0\nappendfsync:always\nacknowledged_loss_window_ms:0\n\n# Replication\nrole:master\nconnected_slaves:0\nmaster_failover_state:no-failover\nmaster_repl_offset:0\nsecond_repl_offset:-1\nrepl_backlog_active:0\n\n# Cluster\ncluster_enabled:0\n")
    );
    assert_eq!(c.run("INFO devices"), "# Devices\nkernel_devices:yes\n");
    assert_eq!(c.run("INFO modules"), "# Modules\n");
    assert_eq!(c.run("INFO module_list"), "# Modules\n");
}

#[test]
fn info_clients_stats_keyspace_and_command_and_error_stats() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    let _console = Session::console(&s, &srv);
    srv.lock().stats.connections_received = 7;
    assert_eq!(c.run("INFO keyspace"), "# Keyspace\n");
    assert_eq!(c.run("SET a 1"), "OK\n");
    assert_eq!(c.run("SET b 2"), "OK\n");
    let now = now_ms();
    set_expiring(&s, "c", "3", now + 10_000);
    set_expiring(&s, "d", "4", now + 20_000);
    let keyspace = c.run("INFO keyspace");
    let avg: u64 = keyspace
        .trim_end()
        .rsplit_once("avg_ttl=")
        .unwrap()
        .1
        .parse()
        .unwrap();
    assert!(
        keyspace.starts_with("# Keyspace\ndb0:keys=4,expires=2,avg_ttl="),
        "{keyspace}"
    );
    assert!((14_000..=15_000).contains(&avg), "{avg}");
    assert_eq!(c.run("GET a"), "\"1\"\n");
    assert_eq!(c.run("GET nokey"), "(nil)\n");
    assert_eq!(c.run("RENAME nokey x"), "(error) ERR no such key\n");
    assert_eq!(
        c.run("INFO clients"),
        "# Clients\nconnected_clients:1\ncluster_connections:0\nmaxclients:500\nclient_recent_max_input_buffer:0\nclient_recent_max_output_buffer:0\nblocked_clients:0\ntracking_clients:0\nclients_in_timeout_table:0\n"
    );
    let stats = c.run("INFO stats");
    assert!(
        stats.starts_with("# Stats\ntotal_connections_received:7\ntotal_commands_processed:"),
        "{stats}"
    );
    assert!(stats.contains("\nrejected_connections:0\nexpired_keys:0\nevicted_keys:0\nkeyspace_hits:1\nkeyspace_misses:1\ntotal_error_replies:1\n"), "{stats}");
    assert_eq!(
        c.run("INFO errorstats"),
        "# Errorstats\nerrorstat_ERR:count=1\n"
    );
    let commandstats = c.run("INFO commandstats");
    assert!(
        commandstats.starts_with("# Commandstats\n"),
        "{commandstats}"
    );
    let rename = commandstats
        .lines()
        .find(|l| l.starts_with("cmdstat_rename:"))
        .unwrap();
    assert!(
        rename.starts_with("cmdstat_rename:calls=1,usec="),
        "{rename}"
    );
    assert!(
        rename.ends_with(",rejected_calls=0,failed_calls=1"),
        "{rename}"
    );
    let set = commandstats
        .lines()
        .find(|l| l.starts_with("cmdstat_set:"))
        .unwrap();
    assert!(set.starts_with("cmdstat_set:calls=2,"), "{set}");
    assert!(c
        .run("INFO cpu")
        .starts_with("# CPU\nused_cpu_sys:0.000000\nused_cpu_user:0.0"));
}

#[test]
fn info_at_the_console_names_its_sections_and_refuses_unknown_ones() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::console(&s, &srv);
    assert_eq!(
        c.run("INFO nonsense"),
        "(error) ERR no INFO section 'nonsense'; sections: server, clients, memory, persistence, stats, replication, cpu, modules, commandstats, errorstats, latencystats, cluster, keyspace, devices, storage, cache\n"
    );
    assert!(c.run("INFO SERVER").starts_with("# Server\n"));
    // A section the store gives, asked for alone while the store is down,
    // says why; among others it is left out.
    let down = kv::StoreCell::new(None);
    let mut c = Session::console(&down, &srv);
    assert!(c
        .run("INFO storage")
        .starts_with("(error) ERR the store is not available"));
    assert!(c
        .run("INFO keyspace")
        .starts_with("(error) ERR the store is not available"));
    let info = c.run("INFO");
    assert!(
        !info.contains("# Storage") && !info.contains("# Keyspace"),
        "{info}"
    );
    assert!(info.contains("# Server\n"));
    // Over the network an unknown section is nothing, as in Redis.
    let mut n = Session::network(&s, &srv);
    assert_eq!(
        n.reply("INFO nonsense"),
        Reply::Report(console::Report::new())
    );
    assert!(n.run("INFO server nonsense").starts_with("# Server\n"));
}

/// The number in INFO persistence's `field`.
fn persistence(c: &mut Session<'_>, field: &str) -> u64 {
    let info = c.run("INFO persistence");
    let prefix = format!("{field}:");
    info.lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .unwrap()
        .parse()
        .unwrap()
}

/// Redis's "SETBIT/BITFIELD only increase dirty when the value changed"
/// (tests/unit/bitops.tcl), then SAVE and BGSAVE: each zeroes the count
/// and moves LASTSAVE.
#[test]
fn changes_since_the_last_save_count_the_keys_written() {
    // Stopped mid-second, so that five seconds on is LASTSAVE + 5 exactly.
    common::freeze_clock(1_700_000_000_500_000);
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    let dirty = persistence(&mut c, "rdb_changes_since_last_save");
    assert_eq!(dirty, 0);
    // Creating a key always counts.
    c.run("SETBIT foo 0 0");
    c.run("BITFIELD foo2 SET i5 0 0");
    assert_eq!(persistence(&mut c, "rdb_changes_since_last_save"), 2);
    // No change.
    c.run("SETBIT foo 0 0");
    c.run("BITFIELD foo2 SET i5 0 0");
    assert_eq!(persistence(&mut c, "rdb_changes_since_last_save"), 2);
    // A change and a no change, each way.
    for cmd in [
        "SETBIT foo 0 1",
        "SETBIT foo 0 1",
        "SETBIT foo 0 0",
        "SETBIT foo 0 0",
        "BITFIELD foo2 SET i5 0 1",
        "BITFIELD foo2 SET i5 0 1",
        "BITFIELD foo2 SET i5 0 0",
        "BITFIELD foo2 SET i5 0 0",
    ] {
        c.run(cmd);
    }
    assert_eq!(persistence(&mut c, "rdb_changes_since_last_save"), 6);
    c.run("BITFIELD foo3 INCRBY i5 0 1");
    c.run("BITFIELD foo3 INCRBY i5 0 1");
    assert_eq!(persistence(&mut c, "rdb_changes_since_last_save"), 8);
    // A change of length only.
    c.run("SETBIT foo 90 0");
    c.run("BITFIELD foo2 SET i5 90 0");
    assert_eq!(persistence(&mut c, "rdb_changes_since_last_save"), 10);
    // One per key: MSET of three, DEL of two (one missing), a transaction.
    c.run("MSET a 1 b 2 c 3");
    c.run("DEL a nothing");
    c.run("MULTI");
    c.run("SET x 1");
    c.run("INCR x");
    c.run("EXEC");
    assert_eq!(persistence(&mut c, "rdb_changes_since_last_save"), 16);
    let before = persistence(&mut c, "rdb_last_save_time");
    assert_eq!(c.run("LASTSAVE"), format!("(integer) {before}\n"));
    common::advance_ms(5000);
    let mut console = Session::console(&s, &srv);
    assert_eq!(console.run("SAVE"), "OK\n");
    assert_eq!(persistence(&mut c, "rdb_changes_since_last_save"), 0);
    assert_eq!(c.run("LASTSAVE"), format!("(integer) {}\n", before + 5));
    assert_eq!(persistence(&mut c, "rdb_last_save_time"), before + 5);
    // CONFIG RESETSTAT leaves both alone, as in Redis.
    c.run("SET y 1");
    c.run("CONFIG RESETSTAT");
    assert_eq!(persistence(&mut c, "rdb_changes_since_last_save"), 1);
    assert_eq!(persistence(&mut c, "rdb_last_save_time"), before + 5);
    // BGSAVE: SAVE's work, done before Redis's answer to a background
    // save; its one option checked.
    common::advance_ms(2000);
    assert_eq!(console.run("BGSAVE"), "Background saving started\n");
    assert_eq!(persistence(&mut c, "rdb_changes_since_last_save"), 0);
    assert_eq!(c.run("LASTSAVE"), format!("(integer) {}\n", before + 7));
    assert_eq!(
        console.run("bgsave schedule"),
        "Background saving started\n"
    );
    assert_eq!(console.run("BGSAVE NOW"), "(error) ERR syntax error\n");
    // BGREWRITEAOF: the WAL's writes into a table, as SAVE's.
    c.run("SET z 1");
    assert_eq!(persistence(&mut c, "rdb_changes_since_last_save"), 1);
    assert_eq!(
        console.run("BGREWRITEAOF"),
        "Background append only file rewriting started\n"
    );
    assert_eq!(persistence(&mut c, "rdb_changes_since_last_save"), 0);
    assert_eq!(console.run("MULTI"), "OK\n");
    assert_eq!(
        console.run("BGSAVE"),
        "(error) ERR Command not allowed inside a transaction\n"
    );
}
