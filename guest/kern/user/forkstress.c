// forkstress: each round the root fills its heap with a pattern and grows
// a tree of processes (procs children a node, depth levels). Each child
// checks that what it inherited is its parent's pattern, writes its own over
// it, yields, grows its own subtree, checks its pattern again and exits with
// a checksum read back from memory plus its children's. Every parent checks
// each child's checksum against what it must be and that its own memory
// still holds its own pattern. Only the root prints, so the output does not
// depend on scheduling. Parameters from the command line:
//   procs=N depth=N pages=N rounds=N clones=N
#include "ulib.h"

static u32 procs = 3, depth = 2, pages = 8, rounds = 3, clones = 0;
static u32 *buf, words, bad;

static int _parse(const char *w, const char *key, u32 *out, u32 lo, u32 hi);

static u32 pattern(u32 id, u32 round, u32 i)
{
	return (id * 0x9E3779B1u) ^ (round * 0x85EBCA77u) ^ (i * 0x27D4EB2Fu);
}

#define STEP 32 // words written and checked: 32 a page

static void fill(u32 id, u32 round)
{
	for (u32 i = 0; i < words; i += STEP)
		buf[i] = pattern(id, round, i);
}

// Mismatches against id's pattern, and the sum of what is there.
static u32 check(u32 id, u32 round, u32 *sum)
{
	u32 n = 0, s = 0;
	for (u32 i = 0; i < words; i += STEP) {
		n += buf[i] != pattern(id, round, i);
		s += buf[i];
	}
	if (sum)
		*sum = s;
	return n;
}

// What node id's exit status must be: its own sum and its subtree's.
static u32 expected(u32 id, u32 level, u32 round)
{
	u32 s = 0;
	for (u32 i = 0; i < words; i += STEP)
		s += pattern(id, round, i);
	if (level < depth)
		for (u32 c = 0; c < procs; c++)
			s += expected(id * procs + c + 1, level + 1, round);
	return s & 0x7FFFFFFFu;
}

// Grow node id's subtree (id holds its pattern now); return the sum of the
// children's statuses. A wrong child status or a lost fork counts in bad.
static u32 grow(u32 id, u32 level, u32 round)
{
	int pids[8];
	u32 kids[8], sum = 0;
	if (level == depth)
		return 0;
	for (u32 c = 0; c < procs; c++) {
		u32 kid = id * procs + c + 1;
		int pid = fork();
		if (pid < 0) {
			bad++;
			pids[c] = -1;
			continue;
		}
		if (pid == 0) {
			bad = check(id, round, NULL); // inherited intact
			fill(kid, round);
			yield();
			u32 below = grow(kid, level + 1, round);
			u32 mine;
			bad += check(kid, round, &mine); // nothing of a relative shows
			exit((int)((mine + below + (bad ? 1 : 0)) & 0x7FFFFFFFu));
		}
		pids[c] = pid;
		kids[c] = kid;
	}
	for (u32 n = 0; n < procs; n++) {
		int st, pid = wait(&st);
		u32 c = 0;
		while (c < procs && pids[c] != pid)
			c++;
		if (pid < 0 || c == procs) {
			bad++;
			continue;
		}
		if ((u32)st != expected(kids[c], level + 1, round))
			bad++;
		sum += (u32)st;
	}
	bad += check(id, round, NULL); // the children's writes never show here
	return sum;
}

static int _parse(const char *w, const char *key, u32 *out, u32 lo, u32 hi)
{
	u32 k = 0;
	while (key[k] && w[k] == key[k])
		k++;
	if (key[k])
		return 0;
	const char *d = w + k;
	u32 v = 0;
	if (*d == ' ' || !*d)
		goto badval;
	for (; *d && *d != ' '; d++) {
		if (*d < '0' || *d > '9' || v > 100000000)
			goto badval;
		v = v * 10 + (u32)(*d - '0');
	}
	if (v < lo || v > hi)
		goto badval;
	*out = v;
	return 1;
badval:
	printf("forkstress: %s takes a number from %u to %u\n", key, lo, hi);
	exit(1);
}

int main(const char *cmdline)
{
	for (const char *w = cmdline; *w;) {
		while (*w == ' ')
			w++;
		if (!*w)
			break;
		(void)(_parse(w, "procs=", &procs, 1, 8) || _parse(w, "depth=", &depth, 1, 6) ||
		       _parse(w, "pages=", &pages, 1, 4096) || _parse(w, "rounds=", &rounds, 1, 1000000) ||
		       _parse(w, "clones=", &clones, 0, 64));
		while (*w && *w != ' ')
			w++;
	}
	u32 per_round = 0, alive = 1;
	for (u32 l = 1, n = 1; l <= depth; l++) {
		n *= procs;
		per_round += n;
		alive += n;
	}
	if (alive > 60) {
		printf("forkstress: procs=%u depth=%u would need %u processes at once (at most 60)\n", procs, depth, alive);
		exit(1);
	}
	words = pages * 1024;
	buf = sbrk(pages * 4096);
	if ((int)buf == -1) {
		printf("forkstress: no memory for %u pages\n", pages);
		exit(1);
	}
	printf("forkstress: procs=%u depth=%u pages=%u rounds=%u: %u forks a round\n", procs, depth, pages, rounds, per_round);
	u32 total = 0, every = rounds <= 20 ? 1 : rounds / 10;
	for (u32 r = 0; r < rounds; r++) {
		fill(0, r);
		u32 before = bad;
		u32 sum = grow(0, 0, r);
		total += sum;
		if ((r + 1) % every == 0 || bad != before)
			printf("round %u: checksum 0x%x %s\n", r + 1, sum, bad == before ? "ok" : "FAILED");
		if (r == 0 && clones) {
			for (u32 k = 0; k < clones; k++) {
				u32 v = vmclone();
				if (v == 0xFFFFFFFFu) {
					printf("forkstress: no hypervisor clone (plain machine)\n");
					break;
				}
				if (v == 0xFFFFFFFEu)
					printf("forkstress: the clone was refused\n");
				if (v == 0)
					break; // the clone goes on with the rounds; only the original clones
			}
		}
	}
	printf("forkstress: forks=%u cow_faults=%u checksum=0x%x %s\n", rounds * per_round, cowstats(), total,
	       bad ? "FAILED" : "OK");
	return bad ? 1 : 0;
}
