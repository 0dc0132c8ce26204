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

// Is the group called name one to run? UMBRA_ONLY (from make test ONLY=)
// is an extended regex matched against UMBRA_TEST_PREFIX + name.
#include <regex.h>
#include <string.h>
static int check_wanted(const char *name)
{
	const char *only = getenv("UMBRA_ONLY"), *prefix = getenv("UMBRA_TEST_PREFIX");
	if (!only || !*only)
		return 1;
	char full[256];
	snprintf(full, sizeof(full), "%s%s", prefix ? prefix : "", name);
	regex_t re;
	if (regcomp(&re, only, REG_EXTENDED | REG_NOSUB) != 0)
		return 1;
	int hit = regexec(&re, full, 0, NULL, 0) == 0;
	regfree(&re);
	return hit;
}

// RUN(fn): run one check group and print its verdict.
#define RUN(fn)                                                               \
	if (check_wanted(#fn)) do {                                           \
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
