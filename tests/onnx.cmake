# The ONNX frontend against ONNX Runtime (tests/onnx/: graphs built with onnx.helper, no torch): per group, each
# case run by ORT, by netc's interpreter and as a compiled program, at <= 1e-4 relative; unsupported graphs exit 2
# naming the node.  All quick: also "small" (the sanitizer build).  Without onnx / onnxruntime in the .venv they
# fail saying so (tools/setup.sh installs them).
foreach(group conv pool eltwise shape net pad layout gemm_reduce unsupported hostile)
  add_test(NAME onnx.${group}
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/onnx/run_cases.py $<TARGET_FILE:netc>
                   ${CMAKE_CURRENT_BINARY_DIR}/onnx_work/${group} ${group})
  set_tests_properties(onnx.${group} PROPERTIES LABELS "onnx;small" TIMEOUT 600
                       ENVIRONMENT "NETC_LINK_EXTRA=${NETC_LINK_EXTRA}")
endforeach()

# netc export (codegen/onnx/) against two readers, tests/onnx/export_roundtrip.py: each model at 32x32 (batch 1,
# deterministic weights) run by netc's interpreter, exported, then run by ONNX Runtime and by netc's importer, both
# within 1e-4 relative; initializer names checked against timm's (tests/fixtures/names).  All models in two
# groups, a few again after the BN-fold/fusion passes (with a symbolic batch axis), and tests/onnx/export_zoo.nn with
# the op and conv zoos of tests/codegen at odd sizes and batch 2: static, dynamic (exported at batch 1, run at 2) and
# folded, the last two exported again from the re-imported file (ONNX -> netc -> ONNX).  One interpreter thread (the
# CPU-seconds are the cost, not the wall): about 54 CPU-seconds in all, 34 of them models_b (measured on a loaded
# 2-core Zen 3).
set(NETC_EXPORT_RT ${CMAKE_CURRENT_SOURCE_DIR}/onnx/export_roundtrip.py)
set(NETC_EXPORT_ZOOS ${CMAKE_CURRENT_SOURCE_DIR}/onnx/export_zoo.nn:36x29:2
    ${CMAKE_CURRENT_SOURCE_DIR}/codegen/op_zoo.nn:37x29:2 ${CMAKE_CURRENT_SOURCE_DIR}/codegen/conv_zoo.nn:37x29:2)
function(netc_export_test group)
  add_test(NAME onnx.export.${group}
           COMMAND ${Python3_EXECUTABLE} ${NETC_EXPORT_RT} $<TARGET_FILE:netc> ${PROJECT_SOURCE_DIR}/models
                   ${CMAKE_CURRENT_BINARY_DIR}/onnx_work/export_${group}
                   --names ${CMAKE_CURRENT_SOURCE_DIR}/fixtures/names
                   ${ARGN})
  set_tests_properties(onnx.export.${group} PROPERTIES LABELS "onnx" TIMEOUT 900 ENVIRONMENT "OMP_NUM_THREADS=1")
endfunction()
netc_export_test(zoo --dynamic-batch --reexport ${NETC_EXPORT_ZOOS})
netc_export_test(zoo_fold --fold --reexport ${NETC_EXPORT_ZOOS})
netc_export_test(zoo_static ${NETC_EXPORT_ZOOS})
# Every model of models/: the nine largest (0.08-0.6 GB of weights) in one group, the others in another.
set(NETC_EXPORT_BIG resnest101e resnest200e resnest269e regnety_032 regnety_120 regnety_320 efficientnet_b4
    efficientnet_b5 tf_efficientnet_b4)
file(GLOB NETC_EXPORT_ALL ${PROJECT_SOURCE_DIR}/models/*.nn)
set(NETC_EXPORT_SMALL "")
foreach(m ${NETC_EXPORT_ALL})
  get_filename_component(name ${m} NAME_WE)
  if(NOT name IN_LIST NETC_EXPORT_BIG)
    list(APPEND NETC_EXPORT_SMALL ${name})
  endif()
endforeach()
netc_export_test(models_a ${NETC_EXPORT_SMALL})
netc_export_test(models_b ${NETC_EXPORT_BIG})
netc_export_test(fold --fold --dynamic-batch resnet50:32:2 resnest26d:32:2 efficientnet_b0:32:2 regnety_016:32:2
                 tf_efficientnet_lite0:32:2 tf_efficientnet_b4:32:2)
set_tests_properties(onnx.export.zoo onnx.export.zoo_fold onnx.export.zoo_static PROPERTIES LABELS "onnx;small")
# The exporter's API: round trip of a hand-built graph, atomic writes, every refusal (tests/onnx/test_onnx_export.c).
add_executable(test_onnx_export ${CMAKE_CURRENT_SOURCE_DIR}/onnx/test_onnx_export.c)
target_link_libraries(test_onnx_export PRIVATE netc_codegen netc_core)
add_test(NAME onnx.export.api COMMAND test_onnx_export)
set_tests_properties(onnx.export.api PROPERTIES LABELS "onnx;small")
# Bad input on the command line: exit 2, the problem named, nothing written.
add_test(NAME onnx.export.no_output COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/expect_fail.sh 2 "say where to write"
         -- $<TARGET_FILE:netc> export ${CMAKE_CURRENT_SOURCE_DIR}/errors/tiny.nn --init det)
add_test(NAME onnx.export.no_weights COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/expect_fail.sh 2
         "say where the weights come from" --no-file ${CMAKE_CURRENT_BINARY_DIR}/onnx_work/no_weights.onnx
         -- $<TARGET_FILE:netc> export ${CMAKE_CURRENT_SOURCE_DIR}/errors/tiny.nn
         --onnx ${CMAKE_CURRENT_BINARY_DIR}/onnx_work/no_weights.onnx)
add_test(NAME onnx.export.bad_folder COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/expect_fail.sh 1
         "${CMAKE_CURRENT_BINARY_DIR}/onnx_work/no/such/x.onnx: "
         -- $<TARGET_FILE:netc> export ${CMAKE_CURRENT_SOURCE_DIR}/errors/tiny.nn --init det
         --onnx ${CMAKE_CURRENT_BINARY_DIR}/onnx_work/no/such/x.onnx)
set_tests_properties(onnx.export.no_output onnx.export.no_weights onnx.export.bad_folder
                     PROPERTIES LABELS "onnx;errors;small")
