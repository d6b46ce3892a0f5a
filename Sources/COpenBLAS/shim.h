// OpenBLAS's CBLAS interface (Debian installs cblas.h under the openblas-pthread include dir named by pkg-config).
#include <cblas.h>
