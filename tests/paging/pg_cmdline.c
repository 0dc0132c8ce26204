// The guest's command line is exactly what the user gave it: plain QEMU's
// -kernel K -append "ARGS" hands over "K ARGS"; umbra, given the same guest
// and ARGS by scripts/run-guest, must hand over the same bytes, with none of
// its own settings (umbra.mem=...) left in, and must not take a guest's own
// mem= (Linux has one) for its setting.
// guest-args: alpha beta=1 mem=512 --gamma
#include "lib/lib.h"

void test_main(void)
{
	printf("cmdline: [%s]\n", boot_cmdline);
	const char *c = boot_cmdline;
	u32 n = 0;
	while (c[n])
		n++;
	report(n > 0, "a command line was given", "none");
}
