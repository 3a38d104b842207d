/* Baseline for scripts/bench-http.sh: a minimal libmicrohttpd server in C with the same daemon flags as taskgate
 * (internal polling thread + epoll + suspend/resume allowed). It answers every request with a fixed small JSON
 * body after reading the request body, so GET and POST measure libmicrohttpd plus the kernel, nothing else.
 * Build: cc -O2 -o c-baseline c-baseline.c $(pkg-config --cflags --libs libmicrohttpd)
 * Run:   ./c-baseline PORT [THREADS]   (THREADS > 0 adds MHD_OPTION_THREAD_POOL_SIZE, like taskgate --http-threads) */
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char BODY[] =
    "{\"id\":\"0000000000000001\",\"function\":\"echo\",\"args\":{\"i\":1},\"state\":\"succeeded\",\"done\":true}";

static enum MHD_Result handler(void *cls, struct MHD_Connection *connection, const char *url, const char *method,
                               const char *version, const char *upload_data, size_t *upload_data_size,
                               void **con_cls) {
    (void)cls; (void)url; (void)method; (void)version; (void)upload_data;
    if (*con_cls == NULL) { *con_cls = (void *)1; return MHD_YES; }
    if (*upload_data_size > 0) { *upload_data_size = 0; return MHD_YES; }
    struct MHD_Response *response =
        MHD_create_response_from_buffer(sizeof(BODY) - 1, (void *)BODY, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(response, "Content-Type", "application/json");
    enum MHD_Result result = MHD_queue_response(connection, MHD_HTTP_OK, response);
    MHD_destroy_response(response);
    return result;
}

int main(int argc, char **argv) {
    unsigned short port = argc > 1 ? (unsigned short)atoi(argv[1]) : 8090;
    unsigned int threads = argc > 2 ? (unsigned int)atoi(argv[2]) : 0;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    struct MHD_Daemon *daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME, port, NULL, NULL, handler, NULL,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)20000, MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)4096,
        threads > 0 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, threads, MHD_OPTION_END);
    if (daemon == NULL) { fprintf(stderr, "cannot listen on %u\n", port); return 1; }
    printf("listening on http://127.0.0.1:%u\n", port);
    fflush(stdout);
    int signal_number;
    sigwait(&set, &signal_number);
    MHD_stop_daemon(daemon);
    return 0;
}
