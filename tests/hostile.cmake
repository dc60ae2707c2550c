# Hostile file names against netc and a compiled program (tests/hostile/hostile.sh, issue #14):
# outputs never replace a device or follow a link, inputs never block or eat memory.
foreach(case output_devnull output_devfull output_symlink output_not_file planted_temp input_fifo input_devzero
        input_too_large recompile_keeps_weights sigterm_compile features_pair)
  add_test(NAME hostile.${case} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/hostile/hostile.sh $<TARGET_FILE:netc> ${case})
  set_tests_properties(hostile.${case} PROPERTIES LABELS "hostile;small" TIMEOUT 600
                       ENVIRONMENT "NETC_LINK_EXTRA=${NETC_LINK_EXTRA}")
endforeach()
