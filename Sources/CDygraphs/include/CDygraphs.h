#ifndef CDYGRAPHS_H
#define CDYGRAPHS_H
#include <stddef.h>

/// dygraph.min.js of Debian's libjs-dygraphs, as it was at build time; size 0 when
/// the package was not installed.
const unsigned char *cdygraphs_script(size_t *size);
/// dygraph.min.css, likewise.
const unsigned char *cdygraphs_stylesheet(size_t *size);

#endif
