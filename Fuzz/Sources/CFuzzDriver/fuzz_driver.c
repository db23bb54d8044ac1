// Only the declaration in include/fuzz_driver.h is needed; SwiftPM wants a source file.
#include "fuzz_driver.h"
