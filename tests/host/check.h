// Minimal host test harness: each test binary prints one "PASS name" or
// "FAIL name: detail" line per check group and exits non-zero on any failure.
#ifndef UMBRA_CHECK_H
#define UMBRA_CHECK_H

#include <stdio.h>
#include <stdlib.h>

static int check_failed_total;
static int check_failed_here;

// CHECK(cond, fmt, ...): record a failure of the current group with a reason.
#define CHECK(cond, ...)                                                      \
	do {                                                                  \
		if (!(cond)) {                                                \
			if (check_failed_here++ < 5) {                        \
				printf("  %s:%d: check failed: %s: ",          \
				       __FILE__, __LINE__, #cond);            \
				printf(__VA_ARGS__);                          \
				printf("\n");                                 \
			}                                                     \
		}                                                             \
	} while (0)

// RUN(fn): run one check group and print its verdict.
#define RUN(fn)                                                               \
	do {                                                                  \
		check_failed_here = 0;                                        \
		fn();                                                         \
		if (check_failed_here) {                                      \
			printf("FAIL %s: %d check(s) failed\n", #fn,          \
			       check_failed_here);                            \
			check_failed_total++;                                 \
		} else {                                                      \
			printf("PASS %s\n", #fn);                             \
		}                                                             \
	} while (0)

#define CHECK_EXIT() return check_failed_total ? 1 : 0

#endif
