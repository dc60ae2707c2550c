# The ONNX frontend against ONNX Runtime (tests/onnx/: graphs built with onnx.helper, no torch): per group, each
# case run by ORT, by netc's interpreter and as a compiled program, at <= 1e-4 relative; unsupported graphs exit 2
# naming the node.  All quick: also "small" (the sanitizer build).  Without onnx / onnxruntime in the .venv they
# fail saying so (tools/setup.sh installs them).
foreach(group conv pool eltwise shape net pad layout gemm_reduce unsupported)
  add_test(NAME onnx.${group}
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/onnx/run_cases.py $<TARGET_FILE:netc>
                   ${CMAKE_CURRENT_BINARY_DIR}/onnx_work/${group} ${group})
  set_tests_properties(onnx.${group} PROPERTIES LABELS "onnx;small" TIMEOUT 600
                       ENVIRONMENT "NETC_LINK_EXTRA=${NETC_LINK_EXTRA}")
endforeach()
