/* static.c — files compiled into the binary (client-js/dist, server/static). */
#include "server.h"

#include <string.h>

/* generated at build time by server/embed.cmake */
extern const static_file weft_static_files[];
extern const size_t weft_static_count;

const static_file *static_find(const char *path)
{
    if (strcmp(path, "/") == 0 || path[0] == 0)
        path = "/index.html";
    for (size_t i = 0; i < weft_static_count; i++)
        if (strcmp(weft_static_files[i].path, path) == 0)
            return &weft_static_files[i];
    return NULL;
}

static const struct {
    const char *ext, *type;
} types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".wasm", "application/wasm"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".map", "application/json"},
    {".txt", "text/plain; charset=utf-8"},
};

const char *static_content_type(const char *path)
{
    size_t pl = strlen(path);
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        size_t el = strlen(types[i].ext);
        if (pl >= el && strcmp(path + pl - el, types[i].ext) == 0)
            return types[i].type;
    }
    return "application/octet-stream";
}
