/* Umbrella header for the system zlib (Debian: zlib1g-dev), used for NPZ deflate and CRC-32. */
#include <zlib.h>
