/* b64.c — base64 (RFC 4648 §4) and base64url without padding (§5), strict:
 * every string decodes only if it is the one encoding of its bytes. */
#include "tools_int.h"

static const char STD[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t tools__b64_len(size_t n, bool url)
{
    return url ? n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0) : (n + 2) / 3 * 4;
}

void tools__b64_encode(const uint8_t *p, size_t n, bool url, char *out)
{
    const char *a = url ? URL : STD;
    size_t i = 0, o = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[o++] = a[v >> 18];
        out[o++] = a[v >> 12 & 63];
        out[o++] = a[v >> 6 & 63];
        out[o++] = a[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        out[o++] = a[v >> 18];
        out[o++] = a[v >> 12 & 63];
        if (!url) {
            out[o++] = '=';
            out[o++] = '=';
        }
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        out[o++] = a[v >> 18];
        out[o++] = a[v >> 12 & 63];
        out[o++] = a[v >> 6 & 63];
        if (!url)
            out[o++] = '=';
    }
    out[o] = 0;
}

static int val(char c, bool url)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == (url ? '-' : '+'))
        return 62;
    if (c == (url ? '_' : '/'))
        return 63;
    return -1;
}

int tools__b64_decode(const char *s, size_t len, bool url, uint8_t *out, size_t cap, size_t *outn)
{
    size_t pad = 0;
    if (!url) {
        if (len % 4)
            return -1;
        while (pad < 2 && len > pad && s[len - 1 - pad] == '=')
            pad++;
        len -= pad;
    }
    size_t rem = len % 4;
    if (rem == 1)
        return -1;
    if (!url && (pad == 1 ? rem != 3 : pad == 2 ? rem != 2 : rem != 0))
        return -1;
    size_t n = len / 4 * 3 + (rem ? rem - 1 : 0);
    if (n > cap)
        return -1;
    size_t o = 0, i = 0;
    for (; i + 4 <= len; i += 4) {
        int a = val(s[i], url), b = val(s[i + 1], url), c = val(s[i + 2], url),
            d = val(s[i + 3], url);
        if ((a | b | c | d) < 0)
            return -1;
        uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
        out[o++] = (uint8_t)(v >> 16);
        out[o++] = (uint8_t)(v >> 8);
        out[o++] = (uint8_t)v;
    }
    if (rem) {
        int a = val(s[i], url), b = val(s[i + 1], url), c = rem == 3 ? val(s[i + 2], url) : 0;
        if ((a | b | c) < 0)
            return -1;
        uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6;
        if (rem == 2 && (v & 0xffff))
            return -1; /* non-zero trailing bits: not the canonical encoding */
        if (rem == 3 && (v & 0xff))
            return -1;
        out[o++] = (uint8_t)(v >> 16);
        if (rem == 3)
            out[o++] = (uint8_t)(v >> 8);
    }
    *outn = o;
    return 0;
}
