use super::*;
use alloc::format;
use core::sync::atomic::{AtomicUsize, Ordering};

fn ok() -> Result<(), ServiceError> {
    Ok(())
}

fn fails() -> Result<(), ServiceError> {
    Err(ServiceError::new("no disk attached"))
}

fn fails_owned() -> Result<(), ServiceError> {
    Err(ServiceError::owned(format!("device {} missing", 7)))
}

const fn svc(name: &'static str, depends: &'static [&'static str]) -> ServiceDesc {
    ServiceDesc::new(name, ok).depends(depends).exit(ok)
}

fn names(services: &[ServiceDesc], order: &[usize]) -> Vec<&'static str> {
    order.iter().map(|&i| services[i].name).collect()
}

fn blocked(services: &[ServiceDesc], p: &StartPlan) -> Vec<(&'static str, SkipReason)> {
    p.blocked
        .iter()
        .map(|b| (services[b.index].name, b.reason.clone()))
        .collect()
}

// Descriptors must be const-constructible statics.
static STATIC_DESC: ServiceDesc = ServiceDesc::new("static", ok)
    .description("a service in a static")
    .author("unikv")
    .license("MIT OR Apache-2.0")
    .alias("st")
    .depends(&["other"])
    .exit(ok);
static STATIC_ERROR: ServiceError = ServiceError::new("const error");

#[test]
fn descriptors_are_static() {
    fn assert_sync<T: Sync>(_: &T) {}
    assert_sync(&STATIC_DESC);
    assert_eq!(STATIC_DESC.alias, "st");
    assert_eq!(STATIC_DESC.depends, &["other"]);
    assert_eq!(STATIC_ERROR.message(), "const error");
}

#[test]
fn orders_by_dependencies_then_name() {
    let s = [
        svc("cache", &["kv"]),
        svc("kv", &["blk", "mem"]),
        svc("mem", &[]),
        svc("console", &[]),
        svc("blk", &[]),
    ];
    let p = plan(&s);
    assert_eq!(
        names(&s, &p.order),
        ["blk", "console", "mem", "kv", "cache"]
    );
    assert!(p.blocked.is_empty());
}

#[test]
fn order_is_independent_of_slice_order() {
    let a = [
        svc("e", &["a"]),
        svc("d", &[]),
        svc("c", &["d", "e"]),
        svc("b", &["d"]),
        svc("a", &[]),
    ];
    let expect = ["a", "d", "b", "e", "c"];
    let mut b = a;
    // Every rotation and the reversal give the same order.
    for _ in 0..a.len() {
        b.rotate_left(1);
        assert_eq!(names(&b, &plan(&b).order), expect);
    }
    b.reverse();
    assert_eq!(names(&b, &plan(&b).order), expect);
}

#[test]
fn cycles_are_named() {
    let s = [
        svc("a", &["b"]),
        svc("b", &["c"]),
        svc("c", &["a"]),
        svc("d", &["a"]),
        svc("e", &[]),
        svc("self", &["self"]),
    ];
    let p = plan(&s);
    assert_eq!(names(&s, &p.order), ["e"]);
    let cycle = SkipReason::Cycle(vec!["a", "b", "c"]);
    assert_eq!(
        blocked(&s, &p),
        [
            ("a", cycle.clone()),
            ("b", cycle.clone()),
            ("c", cycle.clone()),
            ("d", SkipReason::DependencyBlocked("a")),
            ("self", SkipReason::Cycle(vec!["self"])),
        ]
    );
    assert_eq!(format!("{cycle}"), "dependency cycle a -> b -> c -> a");
}

#[test]
fn unknown_dependencies_block_their_dependents() {
    let s = [
        svc("x", &["nope"]),
        svc("y", &["x"]),
        svc("z", &[]),
        svc("z", &[]),
    ];
    let p = plan(&s);
    assert_eq!(p.order, [2]);
    assert_eq!(
        blocked(&s, &p),
        [
            ("x", SkipReason::UnknownDependency("nope")),
            ("y", SkipReason::DependencyBlocked("x")),
            ("z", SkipReason::Duplicate),
        ]
    );
    assert_eq!(p.blocked[2].index, 3);
    assert_eq!(
        format!("{}", SkipReason::UnknownDependency("nope")),
        "unknown dependency 'nope'"
    );
}

#[test]
fn dependencies_resolve_through_aliases() {
    let s = [
        svc("virtio-blk", &[]).alias("disk"),
        svc("kv", &["disk", "virtio-blk"]),
    ];
    let p = plan(&s);
    assert_eq!(names(&s, &p.order), ["virtio-blk", "kv"]);
}

#[test]
fn failing_init_skips_dependents_only() {
    let s = [
        ServiceDesc::new("disk", fails),
        svc("kv", &["disk"]),
        svc("cache", &["kv"]),
        svc("net", &[]),
        svc("orphan", &["missing"]),
    ];
    let mut reg = Registry::new(&s);
    let mut log = Vec::new();
    reg.start_all(|d, st| log.push(format!("{}: {st}", d.name)));
    assert_eq!(
        log,
        [
            "orphan: skipped: unknown dependency 'missing'",
            "disk: failed: no disk attached",
            "kv: skipped: dependency 'disk' failed",
            "cache: skipped: dependency 'kv' failed",
            "net: running",
        ]
    );
    assert_eq!(reg.state("net"), Some(&State::Running));
    assert_eq!(
        reg.state("disk"),
        Some(&State::Failed(ServiceError::new("no disk attached")))
    );
    // A second pass starts nothing twice and reports only the others.
    let mut again = Vec::new();
    reg.start_all(|d, _| again.push(d.name));
    assert!(!again.contains(&"net"));
}

#[test]
fn start_reports_failures() {
    let s = [
        ServiceDesc::new("disk", fails_owned),
        svc("kv", &["disk"]),
        svc("loop", &["loop"]),
    ];
    let mut reg = Registry::new(&s);
    let e = reg.start("kv").unwrap_err();
    assert_eq!(
        e,
        ControlError::DependencyFailed {
            name: "kv",
            dependency: "disk",
            error: ServiceError::owned("device 7 missing".into()),
        }
    );
    assert_eq!(
        format!("{e}"),
        "service 'kv' not started: dependency 'disk' failed: device 7 missing"
    );
    assert_eq!(
        reg.state("kv"),
        Some(&State::Skipped(SkipReason::DependencyFailed("disk")))
    );
    assert!(matches!(
        reg.start("disk"),
        Err(ControlError::InitFailed { name: "disk", .. })
    ));
    assert!(matches!(
        reg.start("loop"),
        Err(ControlError::Blocked {
            name: "loop",
            reason: SkipReason::Cycle(_)
        })
    ));
    assert_eq!(
        reg.start("nothing"),
        Err(ControlError::Unknown("nothing".into()))
    );
}

static BLK_INIT: AtomicUsize = AtomicUsize::new(0);
static BLK_EXIT: AtomicUsize = AtomicUsize::new(0);
static KV_INIT: AtomicUsize = AtomicUsize::new(0);
static KV_EXIT: AtomicUsize = AtomicUsize::new(0);

fn blk_init() -> Result<(), ServiceError> {
    BLK_INIT.fetch_add(1, Ordering::SeqCst);
    Ok(())
}
fn blk_exit() -> Result<(), ServiceError> {
    BLK_EXIT.fetch_add(1, Ordering::SeqCst);
    Ok(())
}
fn kv_init() -> Result<(), ServiceError> {
    KV_INIT.fetch_add(1, Ordering::SeqCst);
    Ok(())
}
fn kv_exit() -> Result<(), ServiceError> {
    KV_EXIT.fetch_add(1, Ordering::SeqCst);
    Ok(())
}

static COUNTED: [ServiceDesc; 3] = [
    ServiceDesc::new("blk", blk_init).exit(blk_exit),
    ServiceDesc::new("kv", kv_init)
        .exit(kv_exit)
        .depends(&["blk"])
        .alias("store"),
    ServiceDesc::new("mem", ok),
];

#[test]
fn stop_start_cycle() {
    let count = |c: &AtomicUsize| c.load(Ordering::SeqCst);
    let mut reg = Registry::new(&COUNTED);
    reg.start_all(|_, _| {});
    assert_eq!((count(&BLK_INIT), count(&KV_INIT)), (1, 1));

    assert_eq!(
        reg.stop("blk"),
        Err(ControlError::InUse {
            name: "blk",
            by: "kv"
        })
    );
    assert_eq!(
        format!("{}", reg.stop("blk").unwrap_err()),
        "service 'blk' is in use by running service 'kv'"
    );
    assert_eq!(count(&BLK_EXIT), 0);
    assert_eq!(reg.stop("mem"), Err(ControlError::NoExit("mem")));
    assert_eq!(reg.start("store"), Err(ControlError::AlreadyRunning("kv")));

    reg.stop("store").unwrap();
    assert_eq!(count(&KV_EXIT), 1);
    assert_eq!(reg.stop("kv"), Err(ControlError::NotRunning("kv")));
    reg.stop("blk").unwrap();
    assert_eq!(count(&BLK_EXIT), 1);
    assert_eq!(reg.state("blk"), Some(&State::Stopped));

    // Starting kv brings blk back first.
    reg.start("kv").unwrap();
    assert_eq!((count(&BLK_INIT), count(&KV_INIT)), (2, 2));
    assert_eq!(reg.state("blk"), Some(&State::Running));
    let states: Vec<(&str, State)> = reg.states().map(|(d, s)| (d.name, s.clone())).collect();
    assert_eq!(
        states,
        [
            ("blk", State::Running),
            ("kv", State::Running),
            ("mem", State::Running)
        ]
    );

    reg.stop("kv").unwrap();
    reg.start("kv").unwrap();
    assert_eq!(count(&BLK_INIT), 2, "a running dependency is not restarted");
    assert_eq!((count(&KV_INIT), count(&KV_EXIT)), (3, 2));
}

#[test]
fn failing_exit_marks_failed() {
    fn bad_exit() -> Result<(), ServiceError> {
        Err("stuck".into())
    }
    let s = [ServiceDesc::new("a", ok).exit(bad_exit)];
    let mut reg = Registry::new(&s);
    reg.start("a").unwrap();
    assert_eq!(
        reg.stop("a"),
        Err(ControlError::ExitFailed {
            name: "a",
            error: ServiceError::new("stuck")
        })
    );
    assert_eq!(
        reg.state("a"),
        Some(&State::Failed(ServiceError::new("stuck")))
    );
    // A failed service may be started again.
    reg.start("a").unwrap();
}
