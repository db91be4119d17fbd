// A QEMU TCG plugin that counts the guest instructions executed at each
// guest address, for tools/insn-profile. Under TCG a sampling profiler
// (DEBUG PROFILE) sees the guest only where QEMU checks for interrupts, at
// the start of translation blocks, so its samples blur; counting every
// block's executions is exact, at the price of a slower guest.
//
// Each translated block gets a counter that the generated code increments
// inline on every execution. Snapshots are asked for with a file: when a
// file called `dump` appears in the directory of the `out=` prefix, a
// thread writes every executed address and its count to PREFIX.N (N = 0,
// 1, ...) and removes `dump`. Two snapshots around a workload give what it
// executed.
//
// QEMU loads it with `-plugin insn-count.so,out=/path/prefix`. Written
// against the plugin API version 1 (QEMU 7.x); only the few calls below.

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
struct qemu_info_t;
enum { INLINE_ADD_U64 = 0 };

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

void qemu_plugin_register_vcpu_tb_trans_cb(
    qemu_plugin_id_t id, void (*cb)(qemu_plugin_id_t, struct qemu_plugin_tb *));
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, int op,
                                              void *ptr, uint64_t imm);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb,
                                                 size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);

// A translated block: its executions and its instructions' addresses.
// Blocks are never freed (QEMU may retranslate an address; the counts of
// both add up).
struct block {
    uint64_t count;
    struct block *next;
    size_t n;
    uint64_t pc[];
};

static struct block *blocks;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char prefix[4096];
static char trigger[4096 + 8];

static void translated(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    struct block *b = calloc(1, sizeof *b + n * sizeof b->pc[0]);
    if (!b) return;
    b->n = n;
    for (size_t i = 0; i < n; i++)
        b->pc[i] = qemu_plugin_insn_vaddr(qemu_plugin_tb_get_insn(tb, i));
    pthread_mutex_lock(&lock);
    b->next = blocks;
    blocks = b;
    pthread_mutex_unlock(&lock);
    qemu_plugin_register_vcpu_tb_exec_inline(tb, INLINE_ADD_U64, &b->count, 1);
}

static void dump(int k) {
    char path[4096 + 32];
    snprintf(path, sizeof path, "%s.%d", prefix, k);
    FILE *f = fopen(path, "w");
    if (!f) return;
    pthread_mutex_lock(&lock);
    struct block *head = blocks;
    pthread_mutex_unlock(&lock);
    // Counts are read while the guest runs: each is a word the vCPU adds
    // to, so a snapshot is off by the blocks executed while it is taken.
    for (struct block *b = head; b; b = b->next)
        if (b->count)
            for (size_t i = 0; i < b->n; i++)
                fprintf(f, "%" PRIx64 " %" PRIu64 "\n", b->pc[i], b->count);
    fclose(f);
}

static void *watch(void *arg) {
    (void)arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    for (int k = 0;; usleep(20000)) {
        if (access(trigger, F_OK) == 0) {
            dump(k++);
            unlink(trigger);
        }
    }
    return NULL;
}

__attribute__((visibility("default"))) int qemu_plugin_install(
    qemu_plugin_id_t id, const struct qemu_info_t *info, int argc, char **argv) {
    (void)info;
    for (int i = 0; i < argc; i++)
        if (strncmp(argv[i], "out=", 4) == 0)
            snprintf(prefix, sizeof prefix, "%s", argv[i] + 4);
    if (!prefix[0]) {
        fprintf(stderr, "insn-count: give out=/path/prefix\n");
        return 1;
    }
    // The trigger sits beside the snapshots: PREFIX's directory + "/dump".
    snprintf(trigger, sizeof trigger, "%s", prefix);
    char *slash = strrchr(trigger, '/');
    snprintf(slash ? slash + 1 : trigger,
             sizeof trigger - (size_t)(slash ? slash + 1 - trigger : 0), "dump");
    pthread_t t;
    if (pthread_create(&t, NULL, watch, NULL) != 0) return 1;
    pthread_detach(t);
    qemu_plugin_register_vcpu_tb_trans_cb(id, translated);
    return 0;
}
