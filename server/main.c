/* main.c — the `weft` command: `serve` here, every other command in server/tools. */
#include <stdio.h>
#include <string.h>

#ifdef WEFT_HAVE_TOOLS
#include "weft/tools.h"
#endif

int serve_main(int argc, char **argv);

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "serve") == 0)
        return serve_main(argc - 1, argv + 1);
#ifdef WEFT_HAVE_TOOLS
    return weft_cli_run(argc, argv, "./weft.db");
#else
    fputs("usage: weft serve [options]   (weft serve --help)\n"
          "This build has no other commands: server/tools is not part of it.\n",
          stderr);
    return argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) ? 0 : 2;
#endif
}
