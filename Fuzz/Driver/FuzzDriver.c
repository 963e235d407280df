#include "FuzzDriver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

// Provided by libFuzzer (linked by -sanitize=fuzzer).
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

static int (*target)(const uint8_t *data, size_t size);
static double slowLimitMs = 100;
static double slowestMs = 0;
static size_t slowestSize = 0;
static uint8_t *slowestInput = NULL;

static double cpuMs(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int timed(const uint8_t *data, size_t size) {
    double start = cpuMs();
    int result = target(data, size);
    double elapsed = cpuMs() - start;
    if (elapsed > slowestMs) {
        uint8_t *copy = malloc(size ? size : 1);
        if (copy) {
            memcpy(copy, data, size);
            free(slowestInput);
            slowestInput = copy;
            slowestMs = elapsed;
            slowestSize = size;
        }
    }
    if (elapsed > slowLimitMs) {
        fprintf(stderr, "mailroom-fuzz: input of %zu bytes took %.1f ms of CPU (limit %.0f ms)\n", size, elapsed, slowLimitMs);
        abort();
    }
    return result;
}

static void report(void) {
    fprintf(stderr, "mailroom-fuzz: slowest input %.2f ms of CPU (%zu bytes)\n", slowestMs, slowestSize);
    const char *path = getenv("MAILROOM_FUZZ_SLOWEST");
    if (path && slowestInput) {
        FILE *f = fopen(path, "wb");
        if (f) {
            fwrite(slowestInput, 1, slowestSize, f);
            fclose(f);
        }
    }
    free(slowestInput);
    slowestInput = NULL;
}

int mailroom_fuzz_run(int argc, char **argv, int (*callback)(const uint8_t *data, size_t size)) {
    const char *limit = getenv("MAILROOM_FUZZ_SLOW_MS");
    if (limit && atof(limit) > 0) slowLimitMs = atof(limit);
    target = callback;
    atexit(report);
    return LLVMFuzzerRunDriver(&argc, &argv, timed);
}
