// The workload doppel's bench runs directly and under interception. Each mode times only its
// own loop (CLOCK_MONOTONIC) and prints the elapsed nanoseconds, so process start-up and the
// dynamic loader's trapped opens stay out of the figure.
//
//   syscalls getppid N            N x getppid                 (never trapped)
//   syscalls stat N PATH          N x newfstatat(PATH)        (trapped with file families)
//   syscalls openat N PATH        N x openat(PATH) + close    (openat trapped, close not)
//   syscalls files DIR COUNT      open+read+close of DIR/f00000 .. DIR/f<COUNT-1>
//
// Raw syscall() keeps libc from choosing a different syscall (statx, a cached getppid).
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int fail(const char *what, const char *path)
{
    fprintf(stderr, "syscalls: %s %s failed\n", what, path);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 3)
    {
        fprintf(stderr, "usage: syscalls getppid|stat|fstat|fstatat|openat|files N|DIR [PATH|COUNT]\n");
        return 2;
    }

    const char *mode = argv[1];
    long long start, end;
    if (strcmp(mode, "getppid") == 0)
    {
        long n = atol(argv[2]);
        start = now_ns();
        for (long i = 0; i < n; i++)
            syscall(SYS_getppid);
        end = now_ns();
    }
    else if (strcmp(mode, "stat") == 0 && argc == 4)
    {
        long n = atol(argv[2]);
        struct stat st;
        start = now_ns();
        for (long i = 0; i < n; i++)
            if (syscall(SYS_newfstatat, AT_FDCWD, argv[3], &st, 0) != 0)
                return fail("newfstatat", argv[3]);
        end = now_ns();
    }
    else if ((strcmp(mode, "fstat") == 0 || strcmp(mode, "fstatat") == 0) && argc == 4)
    {
        long n = atol(argv[2]);
        int raw = strcmp(mode, "fstat") == 0;
        struct stat st;
        long fd = syscall(SYS_openat, AT_FDCWD, argv[3], O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return fail("openat", argv[3]);
        start = now_ns();
        for (long i = 0; i < n; i++)
            if ((raw ? syscall(SYS_fstat, fd, &st) : syscall(SYS_newfstatat, fd, "", &st, AT_EMPTY_PATH)) != 0)
                return fail(mode, argv[3]);
        end = now_ns();
        syscall(SYS_close, fd);
    }
    else if (strcmp(mode, "openat") == 0 && argc == 4)
    {
        long n = atol(argv[2]);
        start = now_ns();
        for (long i = 0; i < n; i++)
        {
            long fd = syscall(SYS_openat, AT_FDCWD, argv[3], O_RDONLY | O_CLOEXEC);
            if (fd < 0)
                return fail("openat", argv[3]);
            syscall(SYS_close, fd);
        }
        end = now_ns();
    }
    else if (strcmp(mode, "files") == 0 && argc == 4)
    {
        long count = atol(argv[3]);
        char path[4096];
        char buffer[4096];
        long long bytes = 0;
        start = now_ns();
        for (long i = 0; i < count; i++)
        {
            snprintf(path, sizeof path, "%s/f%05ld", argv[2], i);
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd < 0)
                return fail("open", path);
            ssize_t got;
            while ((got = read(fd, buffer, sizeof buffer)) > 0)
                bytes += got;
            close(fd);
        }
        end = now_ns();
        if (bytes == 0)
            return fail("read", argv[2]);
    }
    else
    {
        fprintf(stderr, "syscalls: unknown mode %s\n", mode);
        return 2;
    }

    printf("%lld\n", end - start);
    return 0;
}
