#ifndef MAILROOM_FUZZ_DRIVER_H
#define MAILROOM_FUZZ_DRIVER_H

#include <stddef.h>
#include <stdint.h>

/// Runs libFuzzer's driver (flags, corpus, mutation loop) with `callback` as the target.
///
/// The fuzz executables keep their own Swift `main` and hand control to libFuzzer here, so neither a
/// C `LLVMFuzzerTestOneInput` nor libFuzzer's `main` is needed. Each call of `callback` is timed in
/// thread CPU time (immune to the load of a shared machine): an input slower than
/// `MAILROOM_FUZZ_SLOW_MS` (default 100) aborts, so libFuzzer saves it as a crash; the slowest input
/// seen is printed at exit (and written to the file `MAILROOM_FUZZ_SLOWEST` names, if set).
int mailroom_fuzz_run(int argc, char **argv, int (*callback)(const uint8_t *data, size_t size));

#endif
