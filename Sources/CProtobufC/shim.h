/* Umbrella header for the system protobuf-c library (Debian: libprotobuf-c-dev). */
#include <protobuf-c/protobuf-c.h>
