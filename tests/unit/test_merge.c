/* test_merge.c — the ensemble merge rules (runtime/merge.c) on hand-made
 * vectors whose answers follow from the definitions. */
#include <string.h>

#include "check.h"
#include "runtime/merge.h"

int main(void) {
    float a[4] = {1, 5, 2, 0}, b[4] = {3, 1, 2, 0}, c[4] = {2, 3, 8, 0}, d[4] = {0, 0, 0, 9};
    float out[4], scratch[8];
    const float *abc[3] = {a, b, c};

    nc_merge(NC_MERGE_MEAN, abc, NULL, 3, 4, out, scratch);
    CHECK_NEAR(out[0], 2, 1e-6);
    CHECK_NEAR(out[1], 3, 1e-6);
    CHECK_NEAR(out[2], 4, 1e-6);

    float w[3] = {1, 0, 3};
    nc_merge(NC_MERGE_WEIGHTED, abc, w, 3, 4, out, scratch);
    CHECK_NEAR(out[1], (5 + 9) / 4.0, 1e-6);
    CHECK_NEAR(out[2], (2 + 24) / 4.0, 1e-6);

    nc_merge(NC_MERGE_MEDIAN, abc, NULL, 3, 4, out, scratch);
    CHECK_NEAR(out[0], 2, 0);
    CHECK_NEAR(out[1], 3, 0);
    CHECK_NEAR(out[2], 2, 0);
    const float *ab[2] = {a, b};
    nc_merge(NC_MERGE_MEDIAN, ab, NULL, 2, 4, out, scratch);
    CHECK_NEAR(out[0], 2, 0); /* even count: mean of the middle two */
    CHECK_NEAR(out[1], 3, 0);

    /* vote: a -> 1, b -> 0, c -> 2: no single mode; c's 8 is the highest
     * score of a member, so class 2 wins by half a vote */
    nc_merge(NC_MERGE_VOTE, abc, NULL, 3, 4, out, scratch);
    CHECK(nc_argmax(out, 4) == 2);
    CHECK_NEAR(out[2], 1.5 / 3, 1e-6);
    CHECK_NEAR(out[0], 1.0 / 3, 1e-6);
    /* a clear mode beats any single high score */
    float a2[4] = {0, 4, 0, 0};
    const float *votes[4] = {a, a2, c, d};
    nc_merge(NC_MERGE_VOTE, votes, NULL, 4, 4, out, scratch);
    CHECK(nc_argmax(out, 4) == 1);
    CHECK_NEAR(out[1], 0.5, 1e-6);
    CHECK_NEAR(out[3], 0.25, 1e-6);
    /* a tie between two pairs: the pair holding the highest single score */
    float e1[4] = {0, 0, 7, 0}, e2[4] = {0, 0, 3, 0}, f1[4] = {6, 0, 0, 0}, f2[4] = {5, 0, 0, 0};
    const float *pairs[4] = {f1, e2, f2, e1};
    nc_merge(NC_MERGE_VOTE, pairs, NULL, 4, 4, out, scratch);
    CHECK(nc_argmax(out, 4) == 2);

    float s[3] = {1000, 1000, -1000};
    nc_softmax(s, 3);
    CHECK_NEAR(s[0], 0.5, 1e-6);
    CHECK_NEAR(s[2], 0, 1e-30);
    float t[2] = {0, logf(3)};
    nc_softmax(t, 2);
    CHECK_NEAR(t[1], 0.75, 1e-6);
    CHECK(!strcmp(nc_merge_name(NC_MERGE_WEIGHTED), "weighted"));
    TEST_MAIN_END();
}
