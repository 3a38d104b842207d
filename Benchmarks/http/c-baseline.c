/* Baseline for scripts/bench-http.sh: a minimal libmicrohttpd server in C with the same daemon flags as taskgate
 * (internal polling thread + epoll + suspend/resume allowed). It answers every request with a fixed small JSON
 * body after reading the request body, so GET and POST measure libmicrohttpd plus the kernel, nothing else.
 * Build: cc -O2 -o c-baseline c-baseline.c $(pkg-config --cflags --libs libmicrohttpd)
 * Run:   ./c-baseline PORT [THREADS [CERT.pem KEY.pem]]   (THREADS > 0 adds MHD_OPTION_THREAD_POOL_SIZE, like
 *        taskgate --http-threads; with a certificate and key it serves HTTPS through libmicrohttpd's TLS, as taskgate
 *        does with --tls-cert/--tls-key)
 *        SPIN_NS=N in the environment makes every answer spin N nanoseconds first (a server that does N ns more work
 *        per request; docs/benchmarks.md uses it to show what extra work costs on a given machine). */
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Nanoseconds of busy work before each answer (SPIN_NS; 0 by default). */
static long spin_ns = 0;

static void spin(void) {
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    do {
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while ((now.tv_sec - start.tv_sec) * 1000000000L + (now.tv_nsec - start.tv_nsec) < spin_ns);
}

static const char BODY[] =
    "{\"id\":\"0000000000000001\",\"function\":\"echo\",\"args\":{\"i\":1},\"state\":\"succeeded\",\"done\":true}";

/* The whole file as a NUL-terminated string, or NULL. */
static char *read_file(const char *path) {
    FILE *file = fopen(path, "rb");
    if (file == NULL) return NULL;
    fseek(file, 0, SEEK_END);
    long size = ftell(file);
    fseek(file, 0, SEEK_SET);
    char *text = malloc((size_t)size + 1);
    if (text != NULL && fread(text, 1, (size_t)size, file) == (size_t)size) {
        text[size] = 0;
    } else {
        free(text);
        text = NULL;
    }
    fclose(file);
    return text;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *connection, const char *url, const char *method,
                               const char *version, const char *upload_data, size_t *upload_data_size,
                               void **con_cls) {
    (void)cls; (void)url; (void)method; (void)version; (void)upload_data;
    if (*con_cls == NULL) { *con_cls = (void *)1; return MHD_YES; }
    if (*upload_data_size > 0) { *upload_data_size = 0; return MHD_YES; }
    if (spin_ns > 0) spin();
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
    if (getenv("SPIN_NS") != NULL) spin_ns = atol(getenv("SPIN_NS"));
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    char *cert = argc > 4 ? read_file(argv[3]) : NULL;
    char *key = argc > 4 ? read_file(argv[4]) : NULL;
    if (argc > 4 && (cert == NULL || key == NULL)) { fprintf(stderr, "cannot read %s or %s\n", argv[3], argv[4]); return 1; }
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME;
    if (cert != NULL) flags |= MHD_USE_TLS;
    struct MHD_OptionItem options[] = {
        {MHD_OPTION_CONNECTION_LIMIT, 20000, NULL},
        {MHD_OPTION_LISTEN_BACKLOG_SIZE, 4096, NULL},
        {cert != NULL ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, cert},
        {cert != NULL ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, key},
        {MHD_OPTION_END, 0, NULL},
    };
    struct MHD_Daemon *daemon = MHD_start_daemon(
        flags, port, NULL, NULL, handler, NULL, MHD_OPTION_ARRAY, options,
        threads > 0 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, threads, MHD_OPTION_END);
    if (daemon == NULL) { fprintf(stderr, "cannot listen on %u\n", port); return 1; }
    printf("listening on %s://127.0.0.1:%u\n", cert != NULL ? "https" : "http", port);
    fflush(stdout);
    int signal_number;
    sigwait(&set, &signal_number);
    MHD_stop_daemon(daemon);
    return 0;
}
