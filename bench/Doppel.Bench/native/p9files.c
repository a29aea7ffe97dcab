// The file workload of the bench's P9 figures (13–19: pod files in write mode, locks, closes,
// process spawns, appends and edits of a big file).
// The same binary runs directly on the host against /proc/APP/root/DIR and under
// `doppel exec -t pid/APP` against DIR. Every mode times only its own work (CLOCK_MONOTONIC)
// and prints one line "result KEY=VALUE ...", so process and session start-up stay out of the
// figure; per-call figures are the median / p99 of each call timed on its own.
//
//   p9files create DIR N SIZE     N x (open(DIR/fNNNNN, O_CREAT|O_WRONLY|O_TRUNC), write SIZE
//                                 bytes, close); result total_ms= us_per_file= and the mean of
//                                 each step: open_us= write_us= close_us=
//                                 file i holds "file i\n" and then 'a' + i % 26 up to SIZE bytes
//   p9files rename DIR N          writes DIR/r0 ("renamed file\n", untimed), then N renames
//                                 r0 -> r1 -> r0 ...; result p50_us= p99_us= mean_us=
//                                 (N even, so the file ends as DIR/r0)
//   p9files lock PATH N           open(PATH, O_RDWR), N x (fcntl F_SETLK F_WRLCK whole file,
//                                 F_SETLK F_UNLCK), each pair timed; then takes the write lock
//                                 again, prints "locked", waits for a line on stdin, unlocks;
//                                 result p50_us= p99_us= mean_us= lock_us= unlock_us= (the
//                                 last two: means of each call)
//   p9files getlk PATH            fcntl F_GETLK (F_WRLCK, whole file) on PATH from this process;
//                                 result type= pid=   (type 0 F_RDLCK, 1 F_WRLCK, 2 F_UNLCK)
//   p9files fcntl PATH N M        open(PATH, O_RDWR); N x getppid, N x fcntl F_GETFL, N x fcntl
//                                 F_GETFD (raw syscalls, each loop timed), M x fcntl F_GETLK;
//                                 checks the answers; result getppid_ns= getfl_ns= getfd_ns= getlk_us=
//   p9files closes PATH N         10 unmeasured, then N x (open(PATH, O_RDONLY), read to EOF,
//                                 close), each step timed; result open_p50_us= close_p50_us=
//                                 close_p99_us= cycle_p50_us= bytes=
//   p9files appends PATH N        N x (open(PATH, O_WRONLY|O_APPEND), write one 64-byte line
//                                 "append NNNNNN ...\n", close), each cycle timed;
//                                 result p50_us= p99_us= mean_us=
//   p9files edits PATH N          N x (open(PATH, O_RDWR), pwrite 4 KiB of 'e' at offset
//                                 (i * 7919 * 4096) mod the file's size rounded down to 4 KiB,
//                                 close), each cycle timed; result p50_us= p99_us= mean_us=
//   p9files spawn PROGRAM N       10 unmeasured, then N x (fork, execve(PROGRAM) with no
//                                 arguments, waitpid), each spawn timed from before fork to after
//                                 waitpid; every child must exit 0 (127: its execve failed);
//                                 result min_us= p50_us= p99_us= mean_us= spawns= (N >= 1)
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *what, const char *path)
{
    fprintf(stderr, "p9files: %s %s: %s\n", what, path, strerror(errno));
    exit(1);
}

static int compare(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

// Nearest-rank percentile of n samples in ns, in µs; sorts the samples.
static double percentile_us(long long *samples, long n, double fraction)
{
    qsort(samples, (size_t)n, sizeof *samples, compare);
    long rank = (long)(fraction * (double)(n - 1) + 0.5);
    return (double)samples[rank] / 1000.0;
}

static double mean_us(const long long *samples, long n)
{
    double sum = 0;
    for (long i = 0; i < n; i++)
        sum += (double)samples[i];
    return sum / (double)n / 1000.0;
}

static long long *samples_of(long n)
{
    long long *samples = malloc(sizeof(long long) * (size_t)(n > 0 ? n : 1));
    if (samples == NULL)
        die("malloc", "");
    return samples;
}

static void write_all(int fd, const char *data, size_t size, const char *path)
{
    while (size > 0)
    {
        ssize_t n = write(fd, data, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            die("write", path);
        data += n;
        size -= (size_t)n;
    }
}

static int create_files(const char *dir, long count, size_t size)
{
    char *content = malloc(size);
    char path[4096];
    if (content == NULL)
        die("malloc", "");
    long long opens = 0, writes = 0, closes = 0;
    long long started = now_ns();
    for (long i = 0; i < count; i++)
    {
        memset(content, 'a' + (int)(i % 26), size);
        int head = snprintf(content, size, "file %ld\n", i);
        if (head < 0 || (size_t)head >= size)
        {
            fprintf(stderr, "p9files: %zu bytes is too small for the file header\n", size);
            return 2;
        }
        content[head] = (char)('a' + (int)(i % 26)); // snprintf's terminating NUL
        snprintf(path, sizeof path, "%s/f%05ld", dir, i);
        long long t0 = now_ns();
        int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
            die("open", path);
        long long t1 = now_ns();
        write_all(fd, content, size, path);
        long long t2 = now_ns();
        if (close(fd) != 0)
            die("close", path);
        long long t3 = now_ns();
        opens += t1 - t0;
        writes += t2 - t1;
        closes += t3 - t2;
    }
    long long elapsed = now_ns() - started;
    double n = (double)count;
    printf("result total_ms=%.3f us_per_file=%.3f files=%ld open_us=%.3f write_us=%.3f close_us=%.3f\n",
           elapsed / 1e6, elapsed / 1e3 / n, count, opens / 1e3 / n, writes / 1e3 / n, closes / 1e3 / n);
    return 0;
}

static int renames(const char *dir, long count)
{
    char from[4096], to[4096];
    snprintf(from, sizeof from, "%s/r0", dir);
    snprintf(to, sizeof to, "%s/r1", dir);
    int fd = open(from, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        die("open", from);
    write_all(fd, "renamed file\n", 13, from);
    if (close(fd) != 0)
        die("close", from);

    long long *samples = samples_of(count);
    for (long i = 0; i < count; i++)
    {
        const char *a = i % 2 == 0 ? from : to, *b = i % 2 == 0 ? to : from;
        long long started = now_ns();
        if (rename(a, b) != 0)
            die("rename", a);
        samples[i] = now_ns() - started;
    }
    double mean = mean_us(samples, count);
    double p99 = percentile_us(samples, count, 0.99);
    printf("result p50_us=%.3f p99_us=%.3f mean_us=%.3f\n", percentile_us(samples, count, 0.5), p99, mean);
    free(samples);
    return 0;
}

static int set_lock(int fd, short type)
{
    struct flock lock = {.l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    return fcntl(fd, F_SETLK, &lock);
}

static int lock_unlock(const char *path, long count)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        die("open", path);
    long long *samples = samples_of(count);
    long long locks = 0, unlocks = 0;
    for (long i = 0; i < count; i++)
    {
        long long started = now_ns();
        if (set_lock(fd, F_WRLCK) != 0)
            die("fcntl F_SETLK F_WRLCK", path);
        long long locked = now_ns();
        if (set_lock(fd, F_UNLCK) != 0)
            die("fcntl F_SETLK F_UNLCK", path);
        samples[i] = now_ns() - started;
        locks += locked - started;
        unlocks += samples[i] - (locked - started);
    }

    // Held for the bench to see from another process, so the figure cannot be of a no-op.
    if (set_lock(fd, F_WRLCK) != 0)
        die("fcntl F_SETLK F_WRLCK", path);
    printf("locked\n");
    fflush(stdout);
    char line[64];
    if (fgets(line, sizeof line, stdin) == NULL)
    {
        fprintf(stderr, "p9files: stdin ended before the bench had looked at the lock\n");
        return 1;
    }
    if (set_lock(fd, F_UNLCK) != 0)
        die("fcntl F_SETLK F_UNLCK", path);
    close(fd);

    double mean = mean_us(samples, count);
    double p99 = percentile_us(samples, count, 0.99);
    printf("result p50_us=%.3f p99_us=%.3f mean_us=%.3f lock_us=%.3f unlock_us=%.3f\n", percentile_us(samples, count, 0.5), p99, mean,
           locks / 1e3 / (double)count, unlocks / 1e3 / (double)count);
    free(samples);
    return 0;
}

static int get_lock(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        die("open", path);
    struct flock lock = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    if (fcntl(fd, F_GETLK, &lock) != 0)
        die("fcntl F_GETLK", path);
    printf("result type=%d pid=%d\n", lock.l_type, lock.l_pid);
    close(fd);
    return 0;
}

static int fcntls(const char *path, long count, long getlks)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        die("open", path);

    // getppid is in no filter: seccomp's per-syscall cache allows it without running the filter.
    pid_t parent = getppid();
    long long started = now_ns();
    for (long i = 0; i < count; i++)
    {
        if (syscall(SYS_getppid) != parent)
            die("getppid (its answer)", "");
    }
    long long getppid = now_ns() - started;

    started = now_ns();
    for (long i = 0; i < count; i++)
    {
        long flags = syscall(SYS_fcntl, fd, F_GETFL);
        if (flags < 0 || (flags & O_ACCMODE) != O_RDWR)
            die("fcntl F_GETFL (or its answer)", path);
    }
    long long getfl = now_ns() - started;

    started = now_ns();
    for (long i = 0; i < count; i++)
    {
        long flags = syscall(SYS_fcntl, fd, F_GETFD);
        if (flags != FD_CLOEXEC)
            die("fcntl F_GETFD (or its answer)", path);
    }
    long long getfd = now_ns() - started;

    started = now_ns();
    for (long i = 0; i < getlks; i++)
    {
        struct flock lock = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
        if (syscall(SYS_fcntl, fd, F_GETLK, &lock) != 0 || lock.l_type != F_UNLCK)
            die("fcntl F_GETLK (or its answer: the file should be unlocked)", path);
    }
    long long getlk = now_ns() - started;
    close(fd);

    printf("result getppid_ns=%.2f getfl_ns=%.2f getfd_ns=%.2f getlk_us=%.3f\n",
           (double)getppid / (double)count, (double)getfl / (double)count, (double)getfd / (double)count, (double)getlk / 1e3 / (double)getlks);
    return 0;
}

static int closes(const char *path, long count)
{
    char buffer[65536];
    long long *opens = samples_of(count), *close_times = samples_of(count), *cycles = samples_of(count);
    long bytes = -1;
    for (long i = -10; i < count; i++)
    {
        long long started = now_ns();
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            die("open", path);
        long long opened = now_ns();
        long total = 0;
        for (;;)
        {
            ssize_t n = read(fd, buffer, sizeof buffer);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                die("read", path);
            if (n == 0)
                break;
            total += n;
        }
        long long read_done = now_ns();
        if (close(fd) != 0)
            die("close", path);
        long long closed = now_ns();
        if (bytes >= 0 && total != bytes)
        {
            fprintf(stderr, "p9files: %s read %ld bytes, then %ld\n", path, bytes, total);
            return 1;
        }
        bytes = total;
        if (i >= 0)
        {
            opens[i] = opened - started;
            close_times[i] = closed - read_done;
            cycles[i] = closed - started;
        }
    }
    double open_p50 = percentile_us(opens, count, 0.5);
    double close_p99 = percentile_us(close_times, count, 0.99);
    double close_p50 = percentile_us(close_times, count, 0.5);
    printf("result open_p50_us=%.3f close_p50_us=%.3f close_p99_us=%.3f cycle_p50_us=%.3f bytes=%ld\n",
           open_p50, close_p50, close_p99, percentile_us(cycles, count, 0.5), bytes);
    return 0;
}

extern char **environ;

static int spawns(const char *program, long count)
{
    long long *samples = samples_of(count);
    char *const argv[] = {(char *)program, NULL};
    for (long i = -10; i < count; i++)
    {
        long long started = now_ns();
        pid_t child = fork();
        if (child < 0)
            die("fork", "");
        if (child == 0)
        {
            execve(program, argv, environ);
            _exit(127);
        }
        int status;
        while (waitpid(child, &status, 0) < 0)
        {
            if (errno != EINTR)
                die("waitpid", program);
        }
        long long ended = now_ns();
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        {
            if (WIFEXITED(status))
                fprintf(stderr, "p9files: %s exited with code %d, not 0 (127: its execve failed)\n", program, WEXITSTATUS(status));
            else
                fprintf(stderr, "p9files: %s ended with wait status 0x%x\n", program, (unsigned)status);
            return 1;
        }
        if (i >= 0)
            samples[i] = ended - started;
    }
    double mean = mean_us(samples, count);
    double p99 = percentile_us(samples, count, 0.99); // sorts the samples
    double p50 = percentile_us(samples, count, 0.5);
    printf("result min_us=%.3f p50_us=%.3f p99_us=%.3f mean_us=%.3f spawns=%ld\n", (double)samples[0] / 1000.0, p50, p99, mean, count);
    free(samples);
    return 0;
}

// Prints the per-cycle figures of `count` timed cycles.
static int print_cycles(long long *cycles, long count)
{
    double total = 0;
    for (long i = 0; i < count; i++)
        total += cycles[i];
    printf("result p50_us=%.3f p99_us=%.3f mean_us=%.3f\n", percentile_us(cycles, count, 0.5),
           percentile_us(cycles, count, 0.99), total / count / 1000.0);
    return 0;
}

static int appends(const char *path, long count)
{
    long long *cycles = samples_of(count);
    char line[65];
    for (long i = 0; i < count; i++)
    {
        memset(line, ' ', sizeof line);
        int n = snprintf(line, sizeof line, "append %06ld", i);
        line[n] = ' ';
        line[63] = '\n';
        long long started = now_ns();
        int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
        if (fd < 0)
            die("open", path);
        if (write(fd, line, 64) != 64)
            die("write", path);
        if (close(fd) != 0)
            die("close", path);
        cycles[i] = now_ns() - started;
    }
    return print_cycles(cycles, count);
}

static int edits(const char *path, long count)
{
    long long *cycles = samples_of(count);
    char block[4096];
    memset(block, 'e', sizeof block);
    for (long i = 0; i < count; i++)
    {
        long long started = now_ns();
        int fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd < 0)
            die("open", path);
        off_t size = lseek(fd, 0, SEEK_END);
        if (size < (off_t)sizeof block)
            die("size of", path);
        off_t offset = (off_t)((i * 7919LL * 4096) % (size / 4096 * 4096));
        if (pwrite(fd, block, sizeof block, offset) != (ssize_t)sizeof block)
            die("pwrite", path);
        if (close(fd) != 0)
            die("close", path);
        cycles[i] = now_ns() - started;
    }
    return print_cycles(cycles, count);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "create") == 0 && argc == 5)
        return create_files(argv[2], atol(argv[3]), (size_t)atol(argv[4]));
    if (strcmp(mode, "rename") == 0 && argc == 4)
        return renames(argv[2], atol(argv[3]));
    if (strcmp(mode, "lock") == 0 && argc == 4)
        return lock_unlock(argv[2], atol(argv[3]));
    if (strcmp(mode, "getlk") == 0 && argc == 3)
        return get_lock(argv[2]);
    if (strcmp(mode, "fcntl") == 0 && argc == 5)
        return fcntls(argv[2], atol(argv[3]), atol(argv[4]));
    if (strcmp(mode, "closes") == 0 && argc == 4)
        return closes(argv[2], atol(argv[3]));
    if (strcmp(mode, "appends") == 0 && argc == 4 && atol(argv[3]) >= 1)
        return appends(argv[2], atol(argv[3]));
    if (strcmp(mode, "edits") == 0 && argc == 4 && atol(argv[3]) >= 1)
        return edits(argv[2], atol(argv[3]));
    if (strcmp(mode, "spawn") == 0 && argc == 4 && atol(argv[3]) >= 1)
        return spawns(argv[2], atol(argv[3]));
    fprintf(stderr, "usage: p9files create DIR N SIZE | rename DIR N | lock PATH N | getlk PATH | fcntl PATH N M | closes PATH N | spawn PROGRAM N\n");
    return 2;
}
