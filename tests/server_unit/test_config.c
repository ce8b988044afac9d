/* weft serve options: defaults, HOST:PORT and [v6]:PORT, --opt=value, range
 * errors, TLS pairing, the secret from a file (trailing whitespace dropped). */
#include "check.h"
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int parse(config *c, const char *const *args)
{
    char *argv[32];
    int argc = 0;
    argv[argc++] = (char *)"serve";
    for (; *args; args++)
        argv[argc++] = (char *)*args;
    return config_parse(c, argc, argv);
}

static void test_defaults(void)
{
    config c;
    unsetenv("WEFT_SECRET");
    CHECK(parse(&c, (const char *const[]){NULL}) == 0);
    CHECK(strcmp(c.host, "127.0.0.1") == 0 && c.port == 8080 && !c.host_v6);
    CHECK(c.max_frame == 1048576 && c.max_doc == 16777216 && c.outbound_max == 8388608);
    CHECK(c.max_conns == 10000 && c.rate == 2000 && c.max_parked == 1000);
    CHECK(c.snapshot_every == 1000 && c.idle_unload == 30 && c.ping == 30);
    CHECK(c.secret == NULL);
    config_cleanup(&c);
}

static void test_listen_and_numbers(void)
{
    config c;
    CHECK(parse(&c, (const char *const[]){"--listen", "[::1]:9000", "--rate=50", NULL}) == 0);
    CHECK(c.host_v6 && strcmp(c.host, "::1") == 0 && c.port == 9000 && c.rate == 50);
    config_cleanup(&c);
    CHECK(parse(&c, (const char *const[]){"--listen", "0.0.0.0:0", NULL}) == -1);
    CHECK(parse(&c, (const char *const[]){"--listen", "nohost", NULL}) == -1);
    CHECK(parse(&c, (const char *const[]){"--rate", "-1", NULL}) == -1);
    CHECK(parse(&c, (const char *const[]){"--max-frame", "12x", NULL}) == -1);
    CHECK(parse(&c, (const char *const[]){"--bogus", "1", NULL}) == -1);
    CHECK(parse(&c, (const char *const[]){"--tls-cert", "a.pem", NULL}) == -1);
    CHECK(parse(&c, (const char *const[]){"--max-frame", NULL}) == -1);
}

static void test_secret_file(void)
{
    char path[] = "/tmp/weft-unit-secret-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK(write(fd, "key bytes \n\n", 12) == 12);
    close(fd);
    config c;
    CHECK(parse(&c, (const char *const[]){"--secret-file", path, NULL}) == 0);
    CHECK(c.secret_len == 9 && memcmp(c.secret, "key bytes", 9) == 0);
    config_cleanup(&c);
    unlink(path);
    CHECK(parse(&c, (const char *const[]){"--secret-file", path, NULL}) == -1);
}

int main(void)
{
    test_defaults();
    test_listen_and_numbers();
    test_secret_file();
    return CHECK_DONE();
}
