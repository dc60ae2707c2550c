# netc compile end to end (tests/compile/compile_cases.sh).
foreach(case same_as_interpreter smaller_batch batch_over_max wrong_shape unwritable_output weights_external emit_obj
        per_kernel help omp_wait)
  add_test(NAME compile.${case}
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/compile/compile_cases.sh $<TARGET_FILE:netc> ${case})
  set_tests_properties(compile.${case} PROPERTIES LABELS "compile;small" TIMEOUT 600
                       ENVIRONMENT "NETC_LINK_EXTRA=${NETC_LINK_EXTRA};PYTHON=${Python3_EXECUTABLE}")
endforeach()

# Images in, answers out: classify / features / eval and netc ensemble (tests/compile/classify_cases.sh).
foreach(case views batches bad_files features ensemble eval preprocess_override res_not_compiled labels_wrong_count
        ensemble_disagree ensemble_bad_merge)
  add_test(NAME classify.${case}
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/compile/classify_cases.sh $<TARGET_FILE:netc> ${case})
  set_tests_properties(classify.${case} PROPERTIES LABELS "compile;small" TIMEOUT 600
                       ENVIRONMENT "NETC_LINK_EXTRA=${NETC_LINK_EXTRA};PYTHON=${Python3_EXECUTABLE}")
endforeach()

# Real weights on real photographs: EfficientNet-Lite0 vs timm's top-5 (needs tools/get_lite0.sh).
foreach(mode plain flip)
  add_test(NAME photos.lite0_${mode}
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/compile/photos_lite0.sh $<TARGET_FILE:netc> ${mode})
  set_tests_properties(photos.lite0_${mode} PROPERTIES LABELS "compile;photos" TIMEOUT 600
                       ENVIRONMENT "NETC_LINK_EXTRA=${NETC_LINK_EXTRA};PYTHON=${Python3_EXECUTABLE}")
endforeach()

# --precision bf16 | int8 (tests/compile/precision_cases.sh, precision_report.py): bad input, which kernels
# run which precision, and the answers against f32 — Lite0's real weights on the photographs (needs
# tools/get_lite0.sh), two models' conformance inputs, and two more in bf16 (bf16_acts).
foreach(case bad_input models bf16_acts calibrate_fast epilogue_inplace photos_lite0)
  if(case STREQUAL "bad_input")
    set(labels "compile;precision;small")
  elseif(case STREQUAL "photos_lite0")
    set(labels "compile;precision;photos")
  else()
    set(labels "compile;precision")
  endif()
  add_test(NAME precision.${case}
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/compile/precision_cases.sh $<TARGET_FILE:netc> ${case})
  set_tests_properties(precision.${case} PROPERTIES LABELS "${labels}" TIMEOUT 600
                       ENVIRONMENT "NETC_LINK_EXTRA=${NETC_LINK_EXTRA};PYTHON=${Python3_EXECUTABLE}")
endforeach()
