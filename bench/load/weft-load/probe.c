/* probe.c — one gauge from the server's Prometheus page (GET /metrics).
 *
 * Used between S4's cold samples, outside any timed interval, to see that
 * the server really unloaded the room (weft_rooms drops when the room is
 * freed). A plain blocking socket: the event loop has nothing else to do
 * at that moment. */
#include "load.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static int dial(const char *host, int port)
{
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    if (getaddrinfo(host, ps, &hints, &ai) || !ai)
        return -1;
    int fd = socket(ai->ai_family, SOCK_STREAM, 0);
    struct timeval tv = {2, 0};
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen)) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(ai);
    return fd;
}

/* The whole response into a NUL-terminated buffer (caller frees). */
static char *fetch(int fd, const char *host)
{
    char req[512];
    int n = snprintf(req, sizeof req,
                     "GET /metrics HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", host);
    if (write(fd, req, (size_t)n) != n)
        return NULL;
    size_t len = 0, cap = 16384;
    char *buf = malloc(cap);
    while (buf) {
        if (len + 4096 + 1 > cap) {
            char *p = realloc(buf, cap * 2);
            if (!p) {
                free(buf);
                return NULL;
            }
            buf = p;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + len, cap - len - 1);
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    if (buf)
        buf[len] = 0;
    return buf;
}

int probe_metric(const char *host, int port, const char *name, double *value)
{
    int fd = dial(host, port);
    if (fd < 0)
        return -1;
    char *body = fetch(fd, host);
    close(fd);
    if (!body)
        return -1;
    int rc = -1;
    size_t nl = strlen(name);
    for (char *line = body; line && *line;
         line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        if (!strncmp(line, name, nl) && line[nl] == ' ') {
            *value = strtod(line + nl + 1, NULL);
            rc = 0;
            break;
        }
    free(body);
    return rc;
}
