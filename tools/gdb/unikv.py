# gdb helpers for the unikv kernel, in the spirit of Linux's scripts/gdb
# (lx-dmesg, lx-lsmod): commands that print the kernel's own state from a
# stopped machine.
#
#   unikv-dmesg [n]     the kernel log ring (what LOG prints), last n lines
#   unikv-services      the service registry: name, state, description, deps
#   unikv-irqs          interrupts taken per INTID
#
# tools/gdb loads this file; the kernel also embeds it (.debug_gdb_scripts),
# so plain gdb loads it too once `set auto-load safe-path /` allows it.
# Everything is read through symbols the kernel exports unmangled
# (UNIKV_LOG_RING, UNIKV_SERVICE_STATES, UNIKV_IRQ_COUNTS) and the linker's
# __services_start/__services_end, with the layouts documented beside them.

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
        gdb.write("%-14s %-8s %-8s %-5s %-16s %s\n" % ("name", "state", "alias", "exit", "depends", "description"))
        for s in services():
            gdb.write("%-14s %-8s %-8s %-5s %-16s %s\n" % (
                s["name"], s["state"], s["alias"], "yes" if s["exit"] else "no",
                ",".join(s["depends"]) or "-", s["description"]))


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


UnikvDmesg()
UnikvServices()
UnikvIrqs()
