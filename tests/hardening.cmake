# Inputs no run may take silently (tests/compile/hardening_cases.sh): NaN and
# infinity in weights or answers, changed weight bytes, symlink loops, empty
# folders and odd file names, file contents in messages, bad options.
foreach(case info_json nan_input nonfinite_weights nonfinite_scores weights_checksum folders file_content options)
  add_test(NAME hardening.${case}
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/compile/hardening_cases.sh $<TARGET_FILE:netc> ${case})
  set_tests_properties(hardening.${case} PROPERTIES LABELS "compile;small" TIMEOUT 600
                       ENVIRONMENT "NETC_LINK_EXTRA=${NETC_LINK_EXTRA};PYTHON=${Python3_EXECUTABLE}")
endforeach()
