# The compile pipeline (tools/netc/compile_job.c): layout pass in the pass
# manager, size lists, shared weights files, a program's thread options.
foreach(case dump_after_layout res_lists shared_weights threads)
  add_test(NAME pipeline.${case}
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/compile/compile_cases.sh $<TARGET_FILE:netc> ${case})
  set_tests_properties(pipeline.${case} PROPERTIES LABELS "compile;small" TIMEOUT 600
                       ENVIRONMENT "NETC_LINK_EXTRA=${NETC_LINK_EXTRA}")
endforeach()
