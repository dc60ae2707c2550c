#include "ir/plan.h"

#include <stdlib.h>
#include <string.h>

void nc_plan_free(NcPlan *plan) {
    free(plan->offset);
    free(plan->alias_of);
    memset(plan, 0, sizeof *plan);
}
