// The chart library is Debian's (libjs-dygraphs), never a copy in the repository: the
// assembler includes its files into the binary at build time when they exist, and a
// build without the package still works (the dashboard then says the library is missing).
#include "CDygraphs.h"

// __has_include takes one literal path, hence the paths spelled out twice.
#if __has_include("/usr/share/javascript/dygraphs/dygraph.min.js") && \
    __has_include("/usr/share/javascript/dygraphs/dygraph.min.css")
__asm__(".section .rodata\n"
        ".balign 16\n"
        "cdygraphs_js_start:\n"
        ".incbin \"/usr/share/javascript/dygraphs/dygraph.min.js\"\n"
        "cdygraphs_js_end:\n"
        ".balign 16\n"
        "cdygraphs_css_start:\n"
        ".incbin \"/usr/share/javascript/dygraphs/dygraph.min.css\"\n"
        "cdygraphs_css_end:\n"
        ".previous\n");
extern const unsigned char cdygraphs_js_start[], cdygraphs_js_end[];
extern const unsigned char cdygraphs_css_start[], cdygraphs_css_end[];

const unsigned char *cdygraphs_script(size_t *size) {
    *size = (size_t)(cdygraphs_js_end - cdygraphs_js_start);
    return cdygraphs_js_start;
}

const unsigned char *cdygraphs_stylesheet(size_t *size) {
    *size = (size_t)(cdygraphs_css_end - cdygraphs_css_start);
    return cdygraphs_css_start;
}
#else
const unsigned char *cdygraphs_script(size_t *size) {
    *size = 0;
    return NULL;
}

const unsigned char *cdygraphs_stylesheet(size_t *size) {
    *size = 0;
    return NULL;
}
#endif
