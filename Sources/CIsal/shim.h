// Intel ISA-L's igzip: a streaming inflate about twice as fast as zlib's on x86 (SIMD Huffman decoding).
// 02-data-records uses it to count records at the speed of the disk; zlib stays available as a fallback.
#include <isa-l/igzip_lib.h>
