// The network and file workload of the bench's P3 figures (outgoing TCP, latency, remote files,
// agent memory). One binary is both the pod's server and the client that runs directly in the
// pod's netns or under `doppel exec`. Every client mode times only its own work
// (CLOCK_MONOTONIC) and prints one line "result KEY=VALUE ...", so process and session start-up
// stay out of the figure.
//
//   p3net serve PORT                       threaded server; each connection starts with a
//                                          9-byte header: op + little-endian u64 count
//                                            'S' send count bytes, then close
//                                            'R' receive count bytes, answer 1 byte
//                                            'E' echo until EOF
//   p3net pull IP PORT BYTES               result mbps=            (server -> client)
//   p3net push IP PORT BYTES               result mbps=            (client -> server, until the ack)
//   p3net pingpong IP PORT N SIZE [bulk]   result p50_us= p99_us=  N round trips of SIZE bytes on
//                                          one connection, after 200 unmeasured; with "bulk" a
//                                          forked child pulls from the server all the while
//   p3net connect IP PORT N SIZE           result p50_us= p99_us=  N x (connect, SIZE bytes there
//                                          and back, close)
//   p3net nbpull IP PORT BYTES             as pull and connect, but each connect is non-blocking
//   p3net nbconnect IP PORT N SIZE         (O_NONBLOCK, connect -> EINPROGRESS, poll POLLOUT,
//                                          SO_ERROR, O_NONBLOCK cleared), as Go, node, .NET,
//                                          Java NIO and curl connect; the result line adds
//                                          inprogress= (connects that returned EINPROGRESS)
//   p3net read PATH                        result first_mbps= second_mbps= bytes= first_sum= second_sum=
//                                          the file read twice in this process (open, read to
//                                          EOF, close), with a checksum of what each read returned
//   p3net hold IP PORT N                   prints "idle", waits for a line on stdin, opens N echo
//                                          connections (one byte there and back on each), prints
//                                          "held N", waits for a line, exits
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BUFFER (256 * 1024)

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *what)
{
    fprintf(stderr, "p3net: %s: %s\n", what, strerror(errno));
    exit(1);
}

static int write_all(int fd, const void *data, size_t size)
{
    const char *p = data;
    while (size > 0)
    {
        ssize_t n = send(fd, p, size, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        size -= (size_t)n;
    }
    return 0;
}

static int read_all(int fd, void *data, size_t size)
{
    char *p = data;
    while (size > 0)
    {
        ssize_t n = recv(fd, p, size, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        size -= (size_t)n;
    }
    return 0;
}

static void header(char out[9], char op, uint64_t count)
{
    out[0] = op;
    for (int i = 0; i < 8; i++)
        out[1 + i] = (char)(count >> (8 * i));
}

// Connects that returned EINPROGRESS (the rest completed inside connect()).
static long in_progress;

// A blocking connect, or with nonblocking the sequence event-loop runtimes use: O_NONBLOCK,
// connect -> EINPROGRESS, poll for POLLOUT, SO_ERROR, then O_NONBLOCK cleared so that the
// rest of the mode is the same blocking I/O as after a blocking connect.
static int dial_as(const char *ip, int port, int nonblocking)
{
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, ip, &address.sin_addr) != 1)
    {
        fprintf(stderr, "p3net: %s is not an IPv4 address\n", ip);
        exit(2);
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket");
    if (!nonblocking)
    {
        if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0)
            die("connect");
    }
    else
    {
        int flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
            die("fcntl O_NONBLOCK");
        if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0)
        {
            if (errno != EINPROGRESS)
                die("non-blocking connect");
            in_progress++;
            struct pollfd waiting = {.fd = fd, .events = POLLOUT};
            int ready;
            while ((ready = poll(&waiting, 1, 30000)) < 0 && errno == EINTR)
                ;
            if (ready < 0)
                die("poll");
            if (ready == 0)
            {
                fprintf(stderr, "p3net: non-blocking connect to %s:%d not done after 30 s\n", ip, port);
                exit(1);
            }
            int error = 0;
            socklen_t length = sizeof error;
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0)
                die("SO_ERROR");
            if (error != 0)
            {
                errno = error;
                die("non-blocking connect (SO_ERROR)");
            }
        }
        if (fcntl(fd, F_SETFL, flags) != 0)
            die("fcntl clear O_NONBLOCK");
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static int dial(const char *ip, int port) { return dial_as(ip, port, 0); }

static void *serve_connection(void *arg)
{
    int fd = (int)(intptr_t)arg;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char *buffer = malloc(BUFFER);
    char head[9];
    if (buffer != NULL && read_all(fd, head, sizeof head) == 0)
    {
        uint64_t count = 0;
        for (int i = 0; i < 8; i++)
            count |= (uint64_t)(unsigned char)head[1 + i] << (8 * i);
        if (head[0] == 'S')
        {
            memset(buffer, 'x', BUFFER);
            while (count > 0)
            {
                size_t chunk = count < BUFFER ? (size_t)count : BUFFER;
                if (write_all(fd, buffer, chunk) != 0)
                    break;
                count -= chunk;
            }
        }
        else if (head[0] == 'R')
        {
            while (count > 0)
            {
                ssize_t n = recv(fd, buffer, count < BUFFER ? (size_t)count : BUFFER, 0);
                if (n <= 0)
                    break;
                count -= (uint64_t)n;
            }
            if (count == 0)
                write_all(fd, "k", 1);
        }
        else if (head[0] == 'E')
        {
            ssize_t n;
            while ((n = recv(fd, buffer, BUFFER, 0)) > 0)
                if (write_all(fd, buffer, (size_t)n) != 0)
                    break;
        }
    }
    free(buffer);
    close(fd);
    return NULL;
}

__attribute__((noreturn)) static void serve(int port)
{
    signal(SIGPIPE, SIG_IGN);
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (bind(listener, (struct sockaddr *)&address, sizeof address) != 0 || listen(listener, 512) != 0)
        die("bind/listen");
    for (;;)
    {
        int fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
        {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            die("accept");
        }
        pthread_t thread;
        pthread_attr_t attributes;
        pthread_attr_init(&attributes);
        pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&attributes, 128 * 1024);
        if (pthread_create(&thread, &attributes, serve_connection, (void *)(intptr_t)fd) != 0)
            close(fd);
        pthread_attr_destroy(&attributes);
    }
}

static double mbps(uint64_t bytes, long long ns) { return (double)bytes / 1e6 / ((double)ns / 1e9); }

static int pull(const char *ip, int port, uint64_t bytes, int nonblocking)
{
    char *buffer = malloc(BUFFER);
    char head[9];
    long long start = now_ns();
    int fd = dial_as(ip, port, nonblocking);
    header(head, 'S', bytes);
    if (write_all(fd, head, sizeof head) != 0)
        die("send");
    uint64_t got = 0;
    ssize_t n;
    while ((n = recv(fd, buffer, BUFFER, 0)) > 0)
        got += (uint64_t)n;
    long long end = now_ns();
    close(fd);
    if (got != bytes)
    {
        fprintf(stderr, "p3net: pulled %llu bytes of %llu\n", (unsigned long long)got, (unsigned long long)bytes);
        return 1;
    }
    printf("result mbps=%.1f inprogress=%ld\n", mbps(bytes, end - start), in_progress);
    return 0;
}

static int push(const char *ip, int port, uint64_t bytes)
{
    char *buffer = malloc(BUFFER);
    memset(buffer, 'y', BUFFER);
    char head[9];
    long long start = now_ns();
    int fd = dial(ip, port);
    header(head, 'R', bytes);
    if (write_all(fd, head, sizeof head) != 0)
        die("send");
    for (uint64_t left = bytes; left > 0;)
    {
        size_t chunk = left < BUFFER ? (size_t)left : BUFFER;
        if (write_all(fd, buffer, chunk) != 0)
            die("send");
        left -= chunk;
    }
    char ack;
    if (read_all(fd, &ack, 1) != 0 || ack != 'k')
        die("ack");
    long long end = now_ns();
    close(fd);
    printf("result mbps=%.1f\n", mbps(bytes, end - start));
    return 0;
}

static int compare(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

static void print_percentiles(long long *samples, long n)
{
    qsort(samples, (size_t)n, sizeof *samples, compare);
    printf("result p50_us=%.1f p99_us=%.1f inprogress=%ld\n", samples[n / 2] / 1e3, samples[(n * 99) / 100] / 1e3, in_progress);
}

// A forked child that pulls from the server until it is killed; returns its pid once bytes flow.
static pid_t start_bulk(const char *ip, int port)
{
    int ready[2];
    if (pipe(ready) != 0)
        die("pipe");
    pid_t child = fork();
    if (child < 0)
        die("fork");
    if (child == 0)
    {
        close(ready[0]);
        char *buffer = malloc(BUFFER);
        char head[9];
        int fd = dial(ip, port);
        header(head, 'S', UINT64_MAX / 2);
        write_all(fd, head, sizeof head);
        uint64_t got = 0;
        ssize_t n;
        while ((n = recv(fd, buffer, BUFFER, 0)) > 0)
        {
            got += (uint64_t)n;
            if (got >= 4 * BUFFER && ready[1] >= 0)
            {
                write(ready[1], "r", 1);
                close(ready[1]);
                ready[1] = -1;
            }
        }
        _exit(0);
    }
    close(ready[1]);
    char r;
    if (read(ready[0], &r, 1) != 1)
    {
        fprintf(stderr, "p3net: the bulk child did not start pulling\n");
        exit(1);
    }
    close(ready[0]);
    return child;
}

static int pingpong(const char *ip, int port, long n, size_t size, int bulk)
{
    pid_t child = bulk ? start_bulk(ip, port) : 0;
    char *buffer = malloc(size);
    memset(buffer, 'p', size);
    long long *samples = malloc(sizeof(long long) * (size_t)n);
    char head[9];
    int fd = dial(ip, port);
    header(head, 'E', 0);
    if (write_all(fd, head, sizeof head) != 0)
        die("send");
    const long warmup = 200;
    for (long i = -warmup; i < n; i++)
    {
        long long start = now_ns();
        if (write_all(fd, buffer, size) != 0 || read_all(fd, buffer, size) != 0)
            die("echo");
        if (i >= 0)
            samples[i] = now_ns() - start;
    }
    close(fd);
    if (bulk)
    {
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
    }
    print_percentiles(samples, n);
    return 0;
}

static int connects(const char *ip, int port, long n, size_t size, int nonblocking)
{
    char *buffer = malloc(9 + size);
    long long *samples = malloc(sizeof(long long) * (size_t)n);
    for (long i = -20; i < n; i++)
    {
        long long start = now_ns();
        int fd = dial_as(ip, port, nonblocking);
        header(buffer, 'E', 0);
        memset(buffer + 9, 'c', size);
        if (write_all(fd, buffer, 9 + size) != 0 || read_all(fd, buffer, size) != 0)
            die("echo");
        close(fd);
        if (i >= 0)
            samples[i] = now_ns() - start;
    }
    print_percentiles(samples, n);
    return 0;
}

// The file is read through a uint64_t buffer and summed, so a read that returns the wrong
// bytes (zeros from a hole, a stale copy) shows as a different sum.
static double read_file(const char *path, uint64_t *bytes, uint64_t *sum)
{
    char *buffer = malloc(1 << 20);
    long long start = now_ns();
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        die(path);
    uint64_t total = 0, words = 0;
    ssize_t n;
    while ((n = read(fd, buffer, 1 << 20)) > 0)
    {
        const uint64_t *w = (const uint64_t *)buffer;
        for (ssize_t i = 0; i < n / 8; i++)
            words += w[i] * (uint64_t)(i + 1);
        total += (uint64_t)n;
    }
    if (n < 0)
        die("read");
    close(fd);
    long long end = now_ns();
    free(buffer);
    *bytes = total;
    *sum = words;
    return mbps(total, end - start);
}

static int read_twice(const char *path)
{
    uint64_t first_bytes, second_bytes, first_sum, second_sum;
    double first = read_file(path, &first_bytes, &first_sum);
    double second = read_file(path, &second_bytes, &second_sum);
    if (first_bytes != second_bytes || first_bytes == 0)
    {
        fprintf(stderr, "p3net: read %llu then %llu bytes of %s\n", (unsigned long long)first_bytes, (unsigned long long)second_bytes, path);
        return 1;
    }
    printf("result first_mbps=%.1f second_mbps=%.1f bytes=%llu first_sum=%u second_sum=%u\n",
           first, second, (unsigned long long)first_bytes, (unsigned)(first_sum & 0xffffffffu), (unsigned)(second_sum & 0xffffffffu));
    return 0;
}

static void wait_line(void)
{
    char line[64];
    if (fgets(line, sizeof line, stdin) == NULL)
    {
        fprintf(stderr, "p3net: stdin ended\n");
        exit(1);
    }
}

static int hold(const char *ip, int port, int n)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("idle\n");
    wait_line();
    int *fds = malloc(sizeof(int) * (size_t)n);
    char head[10];
    for (int i = 0; i < n; i++)
    {
        fds[i] = dial(ip, port);
        header(head, 'E', 0);
        head[9] = 'h';
        char back;
        if (write_all(fds[i], head, sizeof head) != 0 || read_all(fds[i], &back, 1) != 0 || back != 'h')
            die("echo");
    }
    printf("held %d\n", n);
    wait_line();
    for (int i = 0; i < n; i++)
        close(fds[i]);
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "serve") == 0 && argc == 3)
        serve(atoi(argv[2]));
    if (strcmp(mode, "pull") == 0 && argc == 5)
        return pull(argv[2], atoi(argv[3]), strtoull(argv[4], NULL, 10), 0);
    if (strcmp(mode, "nbpull") == 0 && argc == 5)
        return pull(argv[2], atoi(argv[3]), strtoull(argv[4], NULL, 10), 1);
    if (strcmp(mode, "push") == 0 && argc == 5)
        return push(argv[2], atoi(argv[3]), strtoull(argv[4], NULL, 10));
    if (strcmp(mode, "pingpong") == 0 && (argc == 6 || argc == 7))
        return pingpong(argv[2], atoi(argv[3]), atol(argv[4]), (size_t)atol(argv[5]), argc == 7 && strcmp(argv[6], "bulk") == 0);
    if (strcmp(mode, "connect") == 0 && argc == 6)
        return connects(argv[2], atoi(argv[3]), atol(argv[4]), (size_t)atol(argv[5]), 0);
    if (strcmp(mode, "nbconnect") == 0 && argc == 6)
        return connects(argv[2], atoi(argv[3]), atol(argv[4]), (size_t)atol(argv[5]), 1);
    if (strcmp(mode, "read") == 0 && argc == 3)
        return read_twice(argv[2]);
    if (strcmp(mode, "hold") == 0 && argc == 5)
        return hold(argv[2], atoi(argv[3]), atoi(argv[4]));
    fprintf(stderr, "usage: p3net serve PORT | pull|push|nbpull IP PORT BYTES | pingpong IP PORT N SIZE [bulk] | [nb]connect IP PORT N SIZE | read PATH | hold IP PORT N\n");
    return 2;
}
