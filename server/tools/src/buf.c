/* buf.c — appending to weft_buf (kept NUL-terminated) and writing JSON
 * string literals. */
#include "tools_int.h"

#include <stdio.h>

static int reserve(weft_buf *b, size_t extra)
{
    if (extra > SIZE_MAX / 2 - b->n)
        return WEFT_TOOLS_E_NOMEM;
    size_t need = b->n + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t nc = b->cap ? b->cap : 256;
    while (nc < need)
        nc *= 2;
    char *p = realloc(b->p, nc);
    if (!p)
        return WEFT_TOOLS_E_NOMEM;
    b->p = p;
    b->cap = nc;
    return 0;
}

int tools__put(weft_buf *b, const void *p, size_t n)
{
    int rc = reserve(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->p + b->n, p, n);
    b->n += n;
    b->p[b->n] = 0;
    return 0;
}

int tools__puts(weft_buf *b, const char *s)
{
    return tools__put(b, s, strlen(s));
}

int tools__printf(weft_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return WEFT_TOOLS_E_INVAL;
    int rc = reserve(b, (size_t)n);
    if (rc)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)n;
    return 0;
}

/* Length of the valid UTF-8 sequence at s[0..n) (no overlongs, no
 * surrogates, <= U+10FFFF), 0 if invalid; *cp gets the code point. */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned c = s[0];
    size_t len;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
        len = 2, v = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3, v = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return len;
}

int tools__json_str(weft_buf *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    int rc = reserve(b, n + 2);
    if (rc)
        return rc;
    b->p[b->n++] = '"';
    size_t i = 0;
    while (i < n && !rc) {
        size_t start = i; /* copy the longest run needing no escape at once */
        uint32_t cp;
        size_t l;
        while (i < n && (l = utf8_seq(u + i, n - i, &cp)) != 0 && cp >= 0x20 && cp != '"' &&
               cp != '\\' && cp != 0x2028 && cp != 0x2029)
            i += l;
        if (i > start)
            rc = tools__put(b, s + start, i - start);
        if (rc || i >= n)
            break;
        l = utf8_seq(u + i, n - i, &cp);
        char esc[8];
        if (!l) {
            rc = tools__put(b, "\xef\xbf\xbd", 3); /* U+FFFD for a bad byte */
            i++;
            continue;
        }
        i += l;
        switch (cp) {
        case '"':
            rc = tools__put(b, "\\\"", 2);
            break;
        case '\\':
            rc = tools__put(b, "\\\\", 2);
            break;
        case '\n':
            rc = tools__put(b, "\\n", 2);
            break;
        case '\r':
            rc = tools__put(b, "\\r", 2);
            break;
        case '\t':
            rc = tools__put(b, "\\t", 2);
            break;
        default:
            snprintf(esc, sizeof esc, "\\u%04x", (unsigned)cp);
            rc = tools__put(b, esc, 6);
        }
    }
    return rc ? rc : tools__put(b, "\"", 1);
}

int tools__json_cstr(weft_buf *b, const char *s)
{
    return s ? tools__json_str(b, s, strlen(s)) : tools__puts(b, "null");
}
