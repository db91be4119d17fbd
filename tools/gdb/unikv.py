# gdb helpers for the unikv kernel, in the spirit of Linux's scripts/gdb
# (lx-dmesg, lx-lsmod): commands that print the kernel's own state from a
# stopped machine.
#
#   unikv-dmesg [n]     the kernel log ring (what LOG prints), last n lines
#   unikv-services      the service registry: name, state, description, deps
#   unikv-irqs          interrupts taken per INTID
#   unikv-cpus          every core: online, role, MPIDR, interrupts, gdb thread
#   unikv-lsm           the store: memtables, WAL, levels, every table
#   unikv-cache         the read cache: policy, budget, use, hits, AC-Key split
#
# tools/gdb loads this file; the kernel also embeds it (.debug_gdb_scripts),
# so plain gdb loads it too once `set auto-load safe-path /` allows it.
# The first three read symbols the kernel exports unmangled (UNIKV_LOG_RING,
# UNIKV_SERVICE_STATES, UNIKV_IRQ_COUNTS) and the linker's
# __services_start/__services_end, with the layouts documented beside them.
# unikv-lsm and unikv-cache read the store service's own structures
# (unikv::services::kv::STORE) through the debug info: the Rust helpers
# below follow the standard library's layouts for the pinned toolchain and
# fail with a clear message if they change (tools/systest/tests/gdb.rs
# catches it).

import gdb

PTR = 8


def _inferior():
    return gdb.selected_inferior()


def _eval_c(expr):
    """Evaluates a C expression: the kernel's frames set the language to
    Rust, whose casts and sizeof differ; the linker's symbols have no type."""
    lang = gdb.parameter("language")
    gdb.execute("set language c", to_string=True)
    try:
        return int(gdb.parse_and_eval(expr))
    finally:
        gdb.execute("set language " + (lang or "auto"), to_string=True)


def _addr(symbol):
    return _eval_c("(unsigned long)&" + symbol)


def _sizeof(symbol):
    """Size of an exported static, from its debug info (the statics live in
    Rust modules, so their debug names are qualified: try every module)."""
    for name in (symbol,) + tuple(m + "::" + symbol for m in SYMBOL_MODULES):
        sym = gdb.lookup_global_symbol(name) or gdb.lookup_static_symbol(name)
        if sym is not None:
            return sym.type.sizeof
    raise gdb.GdbError("no debug info for " + symbol + ": is this the unikv ELF?")


SYMBOL_MODULES = ("hal::logger", "hal::arch::aarch64::gicv3", "unikv::registry")


def _read(addr, size):
    return bytes(_inferior().read_memory(addr, size))


def _u64(addr):
    return int.from_bytes(_read(addr, 8), "little")


def _str_at(addr):
    """A Rust &str stored as (pointer, length)."""
    ptr, length = _u64(addr), _u64(addr + PTR)
    if length == 0:
        return ""
    if length > 4096:
        return "<bad str>"
    return _read(ptr, length).decode("utf-8", "replace")


def log_ring_text():
    # LogRing<N> is #[repr(C)] { buf: [u8; N], head, len, dropped, pushed }.
    base = _addr("UNIKV_LOG_RING")
    n = _sizeof("UNIKV_LOG_RING") - 4 * PTR
    head = min(_u64(base + n), n - 1)
    length = min(_u64(base + n + PTR), n)
    if head + length <= n:
        data = _read(base + head, length)
    else:
        data = _read(base + head, n - head) + _read(base, head + length - n)
    return data.decode("utf-8", "replace")


class UnikvDmesg(gdb.Command):
    """Print the unikv kernel log ring: unikv-dmesg [n] prints the last n lines."""

    def __init__(self):
        super().__init__("unikv-dmesg", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        lines = log_ring_text().splitlines()
        if arg.strip():
            lines = lines[-int(arg):]
        for line in lines:
            gdb.write(line + "\n")


# ServiceDesc is #[repr(C)]: name, description, author, license, alias
# (&str each), depends (&[&str]), init (fn), exit (Option<fn>).
DESC_SIZE = 5 * 2 * PTR + 2 * PTR + PTR + PTR
STATES = {0: "stopped", 1: "running", 2: "failed", 3: "skipped"}


def services():
    start, end = _addr("__services_start"), _addr("__services_end")
    states = _addr("UNIKV_SERVICE_STATES")
    out = []
    for i in range((end - start) // DESC_SIZE):
        d = start + i * DESC_SIZE
        deps_ptr, deps_len = _u64(d + 10 * PTR), _u64(d + 11 * PTR)
        deps = [_str_at(deps_ptr + j * 2 * PTR) for j in range(min(deps_len, 32))]
        state = _read(states + i, 1)[0] if i < 32 else 255
        out.append({
            "name": _str_at(d),
            "description": _str_at(d + 2 * PTR),
            "author": _str_at(d + 4 * PTR),
            "license": _str_at(d + 6 * PTR),
            "alias": _str_at(d + 8 * PTR),
            "depends": deps,
            "state": STATES.get(state, "?"),
            "exit": _u64(d + 13 * PTR) != 0,
        })
    return out


class UnikvServices(gdb.Command):
    """List unikv's services (like lsmod): name, state, alias, dependencies, description."""

    def __init__(self):
        super().__init__("unikv-services", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        rows = [(s["name"], s["state"], s["alias"], "yes" if s["exit"] else "no",
                 ",".join(s["depends"]) or "-", s["description"]) for s in services()]
        head = ("name", "state", "alias", "exit", "depends", "description")
        # Each column as wide as its widest entry (an alias may be longer
        # than its heading), the description last and free.
        widths = [max(len(r[i]) for r in rows + [head]) for i in range(5)]
        for r in [head] + rows:
            gdb.write(" ".join(v.ljust(w) for v, w in zip(r[:5], widths)) + " " + r[5] + "\n")


class UnikvIrqs(gdb.Command):
    """Interrupts taken per INTID since boot."""

    def __init__(self):
        super().__init__("unikv-irqs", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        base = _addr("UNIKV_IRQ_COUNTS")
        n = _sizeof("UNIKV_IRQ_COUNTS") // 8
        for i in range(n):
            count = _u64(base + 8 * i)
            if count:
                gdb.write("INTID %3d: %d\n" % (i, count))


# --- Rust values through the debug info -------------------------------------
# gdb reads Rust's types from DWARF and resolves an enum's active variant
# (niches included) when it reads the value: only that variant's field can be
# looked up. The helpers below know the standard library's layouts of the
# pinned toolchain (Rust 1.95); a missing field raises a GdbError that says
# the layout changed instead of printing something wrong.


def _layout_error(value, what):
    t = value.type.strip_typedefs()
    return gdb.GdbError("unikv: no %s in %s: its layout changed (toolchain or "
                        "kernel struct); update tools/gdb/unikv.py" % (what, t.name or t))


def _get(value, *path):
    """value.a.b... (struct fields), or a layout error naming the missing one."""
    for name in path:
        try:
            value = value[name]
        except gdb.error:
            raise _layout_error(value, "field '%s'" % name)
    return value


def _variant(value, expect=None):
    """The active variant of a Rust enum: (its name, its payload struct).
    The value's type lists the discriminant (unnamed) and that variant
    alone; `expect` names the variants the enum should have, if it matters."""
    names = [f.name for f in value.type.strip_typedefs().fields() if f.name]
    if len(names) != 1 or (expect is not None and names[0] not in expect):
        raise _layout_error(value, "variant among " + "/".join(expect or ("any",)))
    return names[0], value[names[0]]


def _option(value):
    """Option<T>: the T, or None."""
    name, payload = _variant(value, ("Some", "None"))
    return _get(payload, "__0") if name == "Some" else None


def _arc(value):
    """Arc<T> (T sized): the T, in the ArcInner beside the counts."""
    return _get(_get(value, "ptr", "pointer").dereference(), "data")


def _box(value):
    """Box<T> (T sized): gdb shows it as a plain pointer."""
    if value.type.strip_typedefs().code != gdb.TYPE_CODE_PTR:
        raise _layout_error(value, "Box pointer")
    return value.dereference()


def _vec_parts(value):
    ptr = _get(value, "buf", "inner", "ptr", "pointer", "pointer")
    return ptr, int(_get(value, "len"))


def _vec(value, limit=1 << 20):
    """Vec<T>: its elements (RawVecInner keeps an untyped pointer)."""
    ptr, n = _vec_parts(value)
    if n > limit:
        raise gdb.GdbError("unikv: a Vec of %d elements: damaged memory?" % n)
    base = ptr.cast(value.type.strip_typedefs().template_argument(0).pointer())
    return [base[i] for i in range(n)]


def _array(value):
    """A Rust array [T; N]: its elements."""
    return [value[i] for i in range(value.type.strip_typedefs().range()[1] + 1)]


def _vec_bytes(value, limit=1 << 16):
    """Vec<u8>: its bytes (at most `limit`)."""
    ptr, n = _vec_parts(value)
    return _read(int(ptr), min(n, limit)) if n else b""


def _atomic(value):
    """AtomicUsize/AtomicBool...: the integer inside."""
    return int(_get(value, "v", "value"))


def _uint(value):
    """An unsigned integer of any width (u128 included), from memory."""
    return int.from_bytes(_read(int(value.address), value.type.sizeof), "little")


def _spin_mutex(value):
    """spin::Mutex<T>: (the T, whether the lock is held)."""
    inner = _get(value, "inner")
    return _get(inner, "data", "value"), _atomic(_get(inner, "lock")) != 0


def _static(name):
    sym = gdb.lookup_static_symbol(name) or gdb.lookup_global_symbol(name)
    if sym is None:
        raise gdb.GdbError("unikv: no debug info for " + name + ": is this the unikv ELF?")
    return sym.value()


def quote(data):
    """Bytes as the console shows them (console::reply::quote)."""
    out = ['"']
    for b in data:
        c = chr(b)
        if c in '"\\':
            out.append("\\" + c)
        elif c in "\n\r\t":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}[c])
        elif 0x20 <= b < 0x7f:
            out.append(c)
        else:
            out.append("\\x%02x" % b)
    out.append('"')
    return "".join(out)


def _service_state(name):
    return next((s["state"] for s in services() if s["name"] == name), "absent")


def _read_mostly(value):
    """lsm::percore::ReadMostly<T>: (the T, whether it is held: a writer's
    flag up or a reader counted on any core)."""
    writer = _atomic(_get(value, "writer", "__0")) != 0
    readers = any(_atomic(_get(r, "__0")) != 0 for r in _array(_get(value, "readers")))
    return _get(value, "value", "value"), writer or readers


def store():
    """The store service's kv::Store and whether its lock is held (kv's
    StoreCell wraps a per-core ReadMostly lock); the Store is None while
    service 'kv' is not running."""
    cell, locked = _read_mostly(_get(_static("unikv::services::kv::STORE"), "store"))
    return _option(cell), locked


# --- unikv-lsm -----------------------------------------------------------------

def _memtable(arc):
    """(approximate bytes, entries) of an Arc<MemTable>."""
    skiplist = _get(_arc(arc), "list")
    return _atomic(_get(skiplist, "memory_usage")), _atomic(_get(skiplist, "len"))


def _user_key(internal):
    # An internal key is the user key and an 8-byte tag (sequence, kind).
    return internal[:-8] if len(internal) >= 8 else internal


def lsm_state(db):
    """What unikv-lsm prints, from an lsm::db::Db: (fields, tables). The
    owner's half (memtable, WAL, sequence) is the Db itself; what flushes
    and compactions change is in its Arc<Shared>: the current version and
    frozen memtable, the allocator's state (each behind a spin lock)."""
    f = []
    mem_bytes, mem_entries = _memtable(_get(db, "mem"))
    f += [("memtable_bytes", mem_bytes), ("memtable_entries", mem_entries)]
    sh = _arc(_get(db, "sh"))
    current, _ = _spin_mutex(_get(sh, "current"))
    current = _arc(current)
    state, _ = _spin_mutex(_get(sh, "state"))
    imm = _option(_get(current, "imm"))
    if imm is None:
        f.append(("immutable_memtable", "none"))
    else:
        imm_bytes, imm_entries = _memtable(imm)
        f += [("immutable_memtable_bytes", imm_bytes), ("immutable_memtable_entries", imm_entries)]
    wal = _get(db, "wal")
    f += [("wal_log", int(_get(wal, "log_number"))), ("wal_bytes", int(_get(wal, "pos")))]
    levels = _get(_arc(_get(current, "version")), "levels")
    tables, per_level = [], []
    for level, files in enumerate(_array(levels)):
        files = [_arc(a) for a in _vec(files)]
        per_level.append((len(files), sum(int(_get(m, "size")) for m in files)))
        for m in files:
            tables.append((int(_get(m, "number")), level, int(_get(m, "size")),
                           _user_key(_vec_bytes(_get(m, "smallest"))),
                           _user_key(_vec_bytes(_get(m, "largest")))))
    f.append(("tables", len(tables)))
    for level, (n, size) in enumerate(per_level):
        f += [("level_%d_tables" % level, n), ("level_%d_bytes" % level, size)]
    f += [("last_sequence", int(_get(db, "last_seq"))),
          ("next_table", int(_get(state, "next_file")))]
    fatal = _option(_get(state, "fatal"))
    if fatal is not None:
        fatal = "yes: lsm::Error::%s" % _variant(fatal)[0]
    f.append(("failed", fatal or "no"))
    f.append(("read_only", "yes" if bool(_get(sh, "read_only")) else "no"))
    return f, tables


def _print_fields(section, fields):
    gdb.write("# %s\n" % section)
    for name, value in fields:
        gdb.write("%s:%s\n" % (name, value))


def _not_running(what, service):
    gdb.write("%s is not running: service '%s' is %s\n" % (what, service, _service_state(service)))


def _lock_note(locked, what):
    if locked:
        gdb.write("(%s's lock is held: a change may be half done)\n" % what)


class UnikvLsm(gdb.Command):
    """The store as it stands: memtables, WAL, tables per level (the names of
INFO storage's fields), sequence, the failure latch, then every table with
its smallest and largest user key."""

    def __init__(self):
        super().__init__("unikv-lsm", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        st, locked = store()
        if st is None:
            return _not_running("the store", "kv")
        _lock_note(locked, "the store")
        fields, tables = lsm_state(_get(st, "db"))
        _print_fields("LSM", fields)
        gdb.write("# Tables\n%8s %5s %10s  %s\n" % ("number", "level", "bytes", "smallest .. largest"))
        for number, level, size, smallest, largest in tables:
            gdb.write("%8d %5d %10d  %s .. %s\n" % (number, level, size, quote(smallest), quote(largest)))


# --- unikv-cache ---------------------------------------------------------------

STATS = ("hits", "misses", "inserts", "evictions", "used_bytes", "capacity_bytes",
         "disk_reads_saved", "entries", "ghost_entries")


def _stats(value):
    """cache::Stats as a dict."""
    return {k: int(_get(value, k)) for k in STATS}


def _lists(value):
    """cache::list::Lists<K, V, N>: (entries, bytes) of each of its N lists."""
    return [(int(_get(e, "len")), int(_get(e, "bytes"))) for e in _array(_get(value, "ends"))]


FRAC = 16  # fixed-point fraction bits of ARC's p and AC-Key's targets


def _ackey(a):
    """Stats of an AcKey, as its total_stats() and ac_stats() compute them."""
    parts = ("kv", "kp", "block")
    # Each part's lists together: the block part keeps data blocks and
    # index/filter blocks (high priority) in lists of their own.
    lists = [tuple(map(sum, zip(*_lists(_get(a, f))))) for f in ("kv", "kp", "blocks")]
    per = [_stats(_get(a, "stats")[i]) for i in range(3)]
    capacity = int(_get(a, "capacity"))
    point_target, kv_target = _uint(_get(a, "point_target")), _uint(_get(a, "kv_target"))
    point, kv = point_target >> FRAC, min(kv_target, point_target) >> FRAC
    s = dict.fromkeys(STATS, 0)
    for k in ("hits", "inserts", "evictions", "disk_reads_saved"):
        s[k] = sum(p[k] for p in per)
    # A point miss is counted by both KV and KP; a lookup misses once.
    s["misses"] = per[1]["misses"] + per[2]["misses"]
    s["capacity_bytes"] = capacity
    s["used_bytes"] = sum(b for _, b in lists)
    s["entries"] = sum(n for n, _ in lists)
    s["ghost_entries"] = sum(_lists(_get(a, "ghosts")[i])[0][0] for i in range(3))
    extra = [(name + "_bytes", b) for name, (_, b) in zip(parts, lists)]
    extra += [(name + "_entries", n) for name, (n, _) in zip(parts, lists)]
    extra += [(name + "_hits", p["hits"]) for name, p in zip(parts, per)]
    extra += [("target_point_bytes", point), ("target_kv_bytes", kv),
              ("target_kp_bytes", point - kv), ("target_block_bytes", capacity - point),
              ("ghosts_enabled", int(bool(_get(a, "ghosts_on"))))]
    return s, extra


def _block_policy(any_cache):
    """(policy, stats, extra fields) of a cache::AnyCache, as each policy's
    stats() computes them."""
    name, payload = _variant(any_cache, ("None", "Lru", "Arc", "AcKey"))
    c = _get(payload, "__0")
    if name == "AcKey":
        s, extra = _ackey(_box(c))
        return "ackey", s, extra
    s = _stats(_get(c, "stats"))
    if name == "None":
        return "none", s, []
    lists = _lists(_get(c, "lists"))
    s["capacity_bytes"] = int(_get(c, "capacity"))
    if name == "Lru":
        s["entries"], s["used_bytes"] = lists[0]
        s["ghost_entries"] = 0
        return "lru", s, []
    # ARC's lists: T1, T2 resident; B1, B2 ghosts.
    s["entries"] = lists[0][0] + lists[1][0]
    s["used_bytes"] = lists[0][1] + lists[1][1]
    s["ghost_entries"] = lists[2][0] + lists[3][0]
    extra = [("t1_bytes", lists[0][1]), ("t2_bytes", lists[1][1]),
             ("target_t1_bytes", _uint(_get(c, "p")) >> FRAC)]
    return "arc", s, extra


def _boxed_slice(value):
    """Box<[T]>: its elements (gdb shows a fat pointer as data_ptr, length)."""
    ptr, n = _get(value, "data_ptr"), int(_get(value, "length"))
    if n > 1 << 16:
        raise gdb.GdbError("unikv: a slice of %d elements: damaged memory?" % n)
    return [ptr[i] for i in range(n)]


def _shard_state(state):
    """One shard's (policy, stats, extra fields, kinds)."""
    name, payload = _variant(_get(state, "cache", "inner"), ("Blocks", "AcKey"))
    inner = _box(_get(payload, "__0"))
    if name == "AcKey":
        policy, (s, extra) = "ackey", _ackey(inner)
    else:
        policy, s, extra = _block_policy(inner)
    kinds = _get(state, "kinds")
    k = []
    for i, kind in enumerate(("data", "index", "filter")):
        k += [("%s_block_hits" % kind, int(_get(kinds, "hits")[i])),
              ("%s_block_misses" % kind, int(_get(kinds, "misses")[i]))]
    return policy, s, extra, k


def _sum_fields(into, fields):
    """Adds `fields` (name, number) into the list `into`, by position."""
    if not into:
        into.extend(fields)
        return
    for i, (name, v) in enumerate(fields):
        if name == "ghosts_enabled":
            into[i] = (name, int(bool(into[i][1]) or bool(v)))
        else:
            into[i] = (name, into[i][1] + v)


def cache_state(store_cache):
    """What unikv-cache prints, from a cache::StoreCache (its shards summed,
    as INFO cache sums them): (fields, some shard's lock held)."""
    policy, total, extra, kinds, locked = None, None, [], [], False
    shards = _boxed_slice(_get(store_cache, "shards"))
    for shard in shards:
        state, held = _spin_mutex(shard)
        locked |= held
        policy, s, e, k = _shard_state(state)
        if total is None:
            total = dict(s)
        else:
            for key in s:
                total[key] += s[key]
        _sum_fields(extra, e)
        _sum_fields(kinds, k)
    s = total
    lookups = s["hits"] + s["misses"]
    f = [("policy", policy), ("capacity_bytes", s["capacity_bytes"]), ("shards", len(shards))]
    f += [(k, s[k]) for k in ("used_bytes", "entries", "hits", "misses")]
    f.append(("hit_ratio", "%.6f" % (s["hits"] / lookups if lookups else 0.0)))
    f += [(k, s[k]) for k in ("disk_reads_saved", "inserts", "evictions", "ghost_entries")]
    return f + kinds + extra, locked


def table_meta(db):
    """INFO cache's fields on the index and filter blocks open tables keep,
    from an lsm::db::Db: whether they do, and their budget's use."""
    sh = _arc(_get(db, "sh"))
    pins = _arc(_get(sh, "pins"))
    pinned = _atomic(_get(sh, "pin_meta")) != 0
    return [("metadata", "pinned" if pinned else "cached"),
            ("pinned_metadata_bytes", _atomic(_get(pins, "used"))),
            ("pinned_metadata_limit", int(_get(pins, "limit")))]


class UnikvCache(gdb.Command):
    """The store's read cache: policy, budget, bytes used, entries, hits and
misses (INFO cache's names), and under AC-Key its parts and targets."""

    def __init__(self):
        super().__init__("unikv-cache", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        st, _ = store()
        cache = None if st is None else _option(_get(st, "cache"))
        if cache is None:
            return _not_running("the read cache", "cache")
        fields, locked = cache_state(_arc(cache))
        _lock_note(locked, "the cache")
        _print_fields("Cache", fields + table_meta(_get(st, "db")))


UnikvDmesg()
UnikvServices()
UnikvIrqs()
UnikvLsm()
UnikvCache()


class UnikvCpus(gdb.Command):
    """Every core: online, what it runs, MPIDR, interrupts taken, time asleep,
    and the gdb thread that is that vCPU (`thread N` switches to it)."""

    ROLES = ["off", "starting", "sessions", "background", "idle", "job", "console", "network"]

    def __init__(self):
        super().__init__("unikv-cpus", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        cpus = _static("hal::cpus::UNIKV_CPUS")
        n = cpus.type.strip_typedefs().range()[1] + 1
        threads = {t.num for t in _inferior().threads()}
        for i in range(n):
            c = cpus[i]
            online = _atomic(_get(c, "online")) != 0
            role = _atomic(_get(c, "role"))
            if not online and role == 0 and (i + 1) not in threads:
                continue
            gdb.write("CPU %d: %-7s role=%-10s mpidr=%#x irqs=%d idle_ticks=%d%s\n" % (
                i, "online" if online else "offline",
                self.ROLES[role] if role < len(self.ROLES) else "?",
                _atomic(_get(c, "mpidr")), _atomic(_get(c, "irqs")),
                _atomic(_get(c, "idle")),
                "  (gdb thread %d)" % (i + 1) if (i + 1) in threads else ""))


UnikvCpus()
