/* utf8.c — UTF-8 validation and unit conversion (RFC 3629: no overlongs,
 * no surrogates, nothing above U+10FFFF). */
#include "doc_int.h"

int weft_utf8_count(const char *str, size_t bytes, uint32_t *cps, uint32_t *units16)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < bytes && s[i] < 0x80) /* ASCII prefix */
        i++;
    uint64_t n = i, u = i;
    while (i < bytes) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            n++;
            u++;
            continue;
        }
        size_t need;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            cp = c & 0x07;
        } else {
            return WEFT_E_UTF8;
        }
        if (bytes - i <= need)
            return WEFT_E_UTF8;
        for (size_t k = 1; k <= need; k++) {
            unsigned cc = s[i + k];
            if ((cc & 0xC0) != 0x80)
                return WEFT_E_UTF8;
            cp = (cp << 6) | (cc & 0x3F);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
            return WEFT_E_UTF8;
        if (cp >= 0xD800 && cp <= 0xDFFF)
            return WEFT_E_SURROGATE;
        i += need + 1;
        n++;
        u += cp >= 0x10000 ? 2 : 1;
    }
    if (n > UINT32_MAX || u > UINT32_MAX)
        return WEFT_E_RANGE;
    if (cps)
        *cps = (uint32_t)n;
    if (units16)
        *units16 = (uint32_t)u;
    return 0;
}

/* Byte offset of code point k in valid UTF-8 text of `cps` code points. */
uint32_t utf8__offset(const char *str, uint32_t bytes, uint32_t cps, uint32_t k)
{
    if (bytes == cps || k == 0)
        return k;
    if (k >= cps)
        return bytes;
    const unsigned char *s = (const unsigned char *)str;
    uint32_t i = 0;
    while (k > 0) {
        i++;
        while (i < bytes && (s[i] & 0xC0) == 0x80)
            i++;
        k--;
    }
    return i;
}

/* UTF-16 units of valid UTF-8 text. */
uint32_t utf8__u16(const char *str, uint32_t bytes)
{
    const unsigned char *s = (const unsigned char *)str;
    uint32_t u = 0;
    for (uint32_t i = 0; i < bytes; i++) {
        if ((s[i] & 0xC0) != 0x80)
            u += s[i] >= 0xF0 ? 2 : 1;
    }
    return u;
}

/* Code points covering the first u16 UTF-16 units; *mid set when u16 falls
 * inside a surrogate pair. */
uint32_t utf8__cp_of_u16(const char *str, uint32_t bytes, uint32_t u16, int *mid)
{
    const unsigned char *s = (const unsigned char *)str;
    uint32_t u = 0, cp = 0;
    *mid = 0;
    for (uint32_t i = 0; i < bytes && u < u16; i++) {
        if ((s[i] & 0xC0) == 0x80)
            continue;
        uint32_t w = s[i] >= 0xF0 ? 2 : 1;
        if (u + w > u16) {
            *mid = 1;
            return cp;
        }
        u += w;
        cp++;
    }
    return cp;
}

/* Words, the last one overlapping, so a short run costs two loads. */
bool weft_utf8_is_ascii(const char *p, size_t n)
{
    uint64_t acc = 0, w;
    uint32_t h, g;
    if (n >= 8) {
        for (size_t i = 0; i + 8 <= n; i += 8) {
            memcpy(&w, p + i, 8);
            acc |= w;
        }
        memcpy(&w, p + n - 8, 8);
        acc |= w;
    } else if (n >= 4) {
        memcpy(&h, p, 4);
        memcpy(&g, p + n - 4, 4);
        acc = h | g;
    } else {
        for (size_t i = 0; i < n; i++)
            acc |= (unsigned char)p[i];
    }
    return (acc & 0x8080808080808080u) == 0;
}

