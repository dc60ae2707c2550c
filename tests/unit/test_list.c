/* test_list.c — comma lists and image sizes (runtime/support/list.c): what
 * they accept, and that each malformed value is refused with a message
 * naming it. */
#include <string.h>

#include "check.h"
#include "runtime/support/list.h"

/* s must be refused, the message holding want. */
static void bad_list(const char *s, const char *want) {
    NcRes r[16];
    NcError e;
    e.msg[0] = 0;
    CHECK_MSG(nc_parse_res_list(s, r, 16, &e) < 0, "'%s' accepted", s);
    CHECK_MSG(strstr(e.msg, want) != NULL, "'%s': message '%s' lacks '%s'", s, e.msg, want);
}

int main(void) {
    NcError e;
    NcRes r[16];
    int n = nc_parse_res_list("224", r, 16, &e);
    CHECK(n == 1 && r[0].h == 224 && r[0].w == 224);
    n = nc_parse_res_list("448,512,256x192,1x65536", r, 16, &e);
    CHECK(n == 4 && r[0].h == 448 && r[1].w == 512 && r[2].h == 256 && r[2].w == 192 && r[3].h == 1 && r[3].w == 65536);
    CHECK(nc_parse_res("256x192", r, &e) == 0 && r[0].h == 256 && r[0].w == 192);

    bad_list("", "an empty list");
    bad_list("224,", "item 2 of 2 is empty");
    bad_list(",224", "item 1 of 2 is empty");
    bad_list("224,,256", "item 2 of 3 is empty");
    bad_list("0", "'0': expected a size such as 224 or 256x192");
    bad_list("x", "'x': expected a size");
    bad_list("224x", "'224x': expected a size");
    bad_list("x224", "'x224': expected a size");
    bad_list("99999999999", "'99999999999': expected a size");
    bad_list("65537", "each 1 to 65536");
    bad_list("-224", "'-224': expected a size");
    bad_list("+224", "'+224': expected a size");
    bad_list(" 224", "' 224': expected a size");
    bad_list("224x224x3", "'224x224x3': expected a size");
    bad_list("224,abc", "'224,abc': 'abc': expected a size");
    bad_list("224,256,224", "224x224 is given twice");
    bad_list("224,224x224", "224x224 is given twice");
    CHECK(nc_parse_res_list("1,2,3", r, 2, &e) < 0 && strstr(e.msg, "at most 2 sizes"));

    char **items = nc_list_split("fold_bn,dce", &n, &e);
    CHECK(items && n == 2 && !strcmp(items[0], "fold_bn") && !strcmp(items[1], "dce") && !items[2]);
    free(items);
    items = nc_list_split("one", &n, &e);
    CHECK(items && n == 1 && !strcmp(items[0], "one"));
    free(items);
    CHECK(!nc_list_split("a,", &n, &e) && strstr(e.msg, "'a,': item 2 of 2 is empty"));
    CHECK(!nc_list_split(",", &n, &e) && strstr(e.msg, "item 1 of 2 is empty"));
    TEST_MAIN_END();
}
