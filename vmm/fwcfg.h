// QEMU's fw_cfg, read by umbra itself (not offered to guests).
#ifndef UMBRA_FWCFG_H
#define UMBRA_FWCFG_H

#include "types.h"

// The contents of the fw_cfg file name as a string in buf (len bytes with
// its terminator). False when there is no fw_cfg, no such file, or it does
// not fit.
bool fwcfg_read_file(const char *name, char *buf, u32 len);

#endif
