/*
 * LD_PRELOAD shim for QEMU: raises the backlog of every listen(2).
 *
 * QEMU's user network (slirp) listens on a hostfwd port with a backlog of
 * 1. A burst of connections then overflows the host's accept queue: the
 * kernel drops the SYNs it cannot queue and clients wait for their SYN
 * retransmission (a second, then two...), so a test that opens hundreds
 * of connections in a row crawls. With this shim the queue holds them and
 * slirp takes them as fast as it runs. The system tests build it with
 *   gcc -shared -fPIC -O2 -o listen-backlog.so listen-backlog.c -ldl
 * and start QEMU with LD_PRELOAD pointing at it.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <sys/socket.h>

#define BACKLOG 1024

int listen(int fd, int backlog)
{
    static int (*real_listen)(int, int);
    if (!real_listen)
        real_listen = (int (*)(int, int))dlsym(RTLD_NEXT, "listen");
    if (!real_listen)
        return -1;
    return real_listen(fd, backlog < BACKLOG ? BACKLOG : backlog);
}
