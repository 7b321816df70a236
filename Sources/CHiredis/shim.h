#ifndef PULSE_CHIREDIS_SHIM_H
#define PULSE_CHIREDIS_SHIM_H
// hiredis' command formatter and reply reader; Pulse does its own I/O on SwiftNIO.
#include <hiredis/hiredis.h>
#endif
