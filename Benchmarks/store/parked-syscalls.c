/* What the system calls that a parked answer adds on the request thread cost on this machine (docs/benchmarks.md,
 * "The os mode's CPU budget"): libmicrohttpd's suspend takes the connection's socket out of its epoll set
 * (EPOLL_CTL_DEL), its resume puts it back (EPOLL_CTL_ADD), and after the resume it tries a read that answers EAGAIN.
 * Repeats that triple on one socket of a pair and prints the mean time per triple.
 * Build: cc -O2 -o parked-syscalls parked-syscalls.c
 * Run:   ./parked-syscalls [COUNT]   (default 1,000,000) */
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>

int main(int argc, char **argv) {
    const long count = argc > 1 ? atol(argv[1]) : 1000000;
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, pair) != 0) return 1;
    const int set = epoll_create1(0);
    if (set < 0) return 1;
    struct epoll_event event = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.fd = pair[0]};
    char buffer[64];
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (long i = 0; i < count; i++) {
        epoll_ctl(set, EPOLL_CTL_ADD, pair[0], &event);
        epoll_ctl(set, EPOLL_CTL_DEL, pair[0], 0);
        (void)recv(pair[0], buffer, sizeof buffer, 0);
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    const double ns = (double)(end.tv_sec - start.tv_sec) * 1e9 + (double)(end.tv_nsec - start.tv_nsec);
    printf("2 epoll_ctl + 1 recv answering EAGAIN: %.2f us\n", ns / 1e3 / (double)count);
    return 0;
}
