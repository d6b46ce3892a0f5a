// zlib for Swift. inflateInit2/deflateInit2 are macros: wrapped as functions.
#include <zlib.h>

static inline int lodestone_inflate_init2(z_stream *s, int windowBits) { return inflateInit2(s, windowBits); }
static inline int lodestone_deflate_init2(z_stream *s, int level, int windowBits) {
    return deflateInit2(s, level, Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY);
}
