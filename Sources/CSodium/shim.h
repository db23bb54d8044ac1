#ifndef BUNDLECAST_CSODIUM_SHIM_H
#define BUNDLECAST_CSODIUM_SHIM_H
#include <sodium.h>
#endif
