//! Booting: with and without a disk, with 1 to 8 cores, with RAM sizes from
//! 256 MiB to 4 GiB, with the exact seed command line, and with boot
//! arguments.

use std::time::Duration;
use systest::{field, Options, Qemu, TempFile};

#[test]
fn boots_without_a_disk() {
    let mut q = Qemu::boot(&Options::default());
    assert!(q.transcript().contains("virtio-mmio: 32 slots, all empty"));
    assert!(q.cmd("INFO devices").contains("virtio_mmio_slots:32"));
}

#[test]
fn every_core_count_boots_and_serves() {
    for smp in [1u32, 2, 4, 8] {
        let disk = TempFile::new(&format!("smp{smp}.img"), 16 << 20);
        let mut q = Qemu::boot(&Options {
            smp,
            disk: Some(disk.0.clone()),
            ..Options::default()
        });
        let cpu = q.cmd("INFO cpu");
        let n = smp.to_string();
        assert_eq!(field(&cpu, "cpus"), Some(n.as_str()), "{cpu}");
        assert_eq!(field(&cpu, "cpus_online"), Some(n.as_str()), "{cpu}");
        let server = q.cmd("INFO server");
        assert_eq!(field(&server, "cpus_online"), Some(n.as_str()), "{server}");
        for i in 0..smp {
            let core = field(&cpu, &format!("cpu{i}")).unwrap_or_else(|| panic!("{cpu}"));
            assert!(core.starts_with("online=1,role="), "{cpu}");
            assert!(core.contains(&format!("mpidr={i:#x},")), "{cpu}");
        }
        // From three cores on, the network sessions have one of their own.
        let (cpu0, cpu2) = if smp >= 3 {
            ("role=console", Some("role=network"))
        } else {
            ("role=sessions", None)
        };
        assert!(field(&cpu, "cpu0").unwrap().contains(cpu0), "{cpu}");
        if let Some(role) = cpu2 {
            assert!(field(&cpu, "cpu2").unwrap().contains(role), "{cpu}");
        }
        assert!(q.cmd("SET smp 1").contains("OK"));
        let bench = q.cmd("BENCH fillrandom 2000");
        assert!(field(&bench, "ops") == Some("2000"), "{bench}");
        assert!(q.cmd("GET smp").contains("\"1\""));
        q.send(b"SHUTDOWN\r");
        assert_eq!(q.wait_exit(Duration::from_secs(30)).code(), Some(0));
    }
}

#[test]
fn boots_with_every_ram_size_and_uses_what_the_device_tree_reports() {
    for mib in [256u64, 512, 2048, 4096] {
        let mut q = Qemu::boot(&Options {
            mem_mib: mib as u32,
            ..Options::default()
        });
        let mem = q.cmd("INFO memory");
        assert_eq!(
            field(&mem, "ram_bytes"),
            Some((mib << 20).to_string().as_str()),
            "{mem}"
        );
        let heap: u64 = field(&mem, "heap_total_bytes").unwrap().parse().unwrap();
        let hex = |name: &str| {
            let v = field(&mem, name).unwrap();
            u64::from_str_radix(v.trim_start_matches("0x"), 16).unwrap()
        };
        // The heap is the RAM above the image, every byte of it; the image
        // (code, data, and each CPU's stacks) takes a few MiB.
        let below = hex("heap_base") - hex("ram_base");
        assert_eq!(heap, (mib << 20) - below, "{mib} MiB: {mem}");
        assert!(below < 16 << 20, "{mib} MiB: {mem}");
    }
}

#[test]
fn seed_command_line_exactly() {
    // No -semihosting, no extras: the line from the issue, with a disk.
    let disk = TempFile::new("seed.img", 16 << 20);
    let mut q = Qemu::boot(&Options {
        disk: Some(disk.0.clone()),
        semihosting: false,
        ..Options::default()
    });
    assert!(q.cmd("INFO server").contains("exception_level:1"));
    q.send(b"SHUTDOWN\r");
    assert_eq!(q.wait_exit(Duration::from_secs(30)).code(), Some(0));
}

#[test]
fn bootargs_reach_the_kernel() {
    let mut q = Qemu::boot(&Options {
        append: Some("loglevel=warn unikv.test=1".into()),
        ..Options::default()
    });
    let server = q.cmd("INFO server");
    assert_eq!(
        field(&server, "bootargs"),
        Some("loglevel=warn unikv.test=1")
    );
    // loglevel=warn: the info lines after the level was set are not logged.
    assert!(
        !q.transcript().contains("boot complete"),
        "{}",
        q.transcript()
    );
}

#[test]
fn boot_time_is_reported() {
    let q = Qemu::boot(&Options::default());
    let to_prompt = q.started.elapsed();
    eprintln!("QEMU start to prompt: {} ms", to_prompt.as_millis());
    assert!(q.transcript().contains("boot complete in "));
}

#[test]
fn boots_when_entered_at_el2() {
    // virtualization=on makes QEMU enter the image at EL2; the entry code
    // drops to EL1, and PSCI moves from hvc to smc.
    let mut q = Qemu::boot(&Options {
        extra: vec!["-M".into(), "virt,gic-version=3,virtualization=on".into()],
        ..Options::default()
    });
    assert!(
        q.transcript().contains("booting at EL1 (entered at EL2)"),
        "{}",
        q.transcript()
    );
    assert!(q.cmd("INFO server").contains("exception_level:1"));
    q.send(b"SHUTDOWN\r");
    assert_eq!(q.wait_exit(Duration::from_secs(30)).code(), Some(0));
}

#[test]
fn debug_sleep_sleeps_in_wfi_at_el1_and_when_entered_at_el2() {
    let busy_us = |report: &str| -> u64 {
        field(report, "cpu0")
            .and_then(|c| c.split(',').find_map(|kv| kv.strip_prefix("busy_us=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{report}"))
    };
    for machine in ["virt,gic-version=3", "virt,gic-version=3,virtualization=on"] {
        let mut q = Qemu::boot(&Options {
            extra: vec!["-M".into(), machine.into()],
            ..Options::default()
        });
        let before = q.cmd("INFO cpu");
        let t = std::time::Instant::now();
        assert_eq!(q.cmd("DEBUG SLEEP 0.5"), "OK\n", "{machine}");
        let wall = t.elapsed();
        let after = q.cmd("INFO cpu");
        assert!(wall >= Duration::from_millis(500), "{machine}: {wall:?}");
        // Asleep on the virtual timer, not spinning: the console's core
        // was busy for a fraction of the half second.
        let busy = busy_us(&after) - busy_us(&before);
        assert!(
            busy < 250_000,
            "{machine}: busy {busy} us\n{before}\n{after}"
        );
        q.send(b"SHUTDOWN\r");
        assert_eq!(q.wait_exit(Duration::from_secs(30)).code(), Some(0));
    }
}
