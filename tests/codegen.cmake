# Generated kernels against the reference interpreter: the conv zoo at odd
# sizes and batches, and every model of every family (small inputs).
set(CC_CHECK ${CMAKE_CURRENT_SOURCE_DIR}/codegen/check_compiled.sh)
foreach(rb "37x29;2" "64;3" "9x11;1")
  list(GET rb 0 res)
  list(GET rb 1 batch)
  add_test(NAME codegen.conv_zoo_${res}_b${batch} COMMAND bash ${CC_CHECK} $<TARGET_FILE:netc>
           ${CMAKE_CURRENT_SOURCE_DIR}/codegen/conv_zoo.nn ${res} ${batch})
  set_tests_properties(codegen.conv_zoo_${res}_b${batch} PROPERTIES LABELS "codegen;small")
endforeach()
# The other generated kernels (GEMMs, pools, SE, elementwise): tests/codegen/op_zoo.nn
foreach(rb "37x29;2" "64;3" "19x23;1")
  list(GET rb 0 res)
  list(GET rb 1 batch)
  add_test(NAME codegen.op_zoo_${res}_b${batch} COMMAND bash ${CC_CHECK} $<TARGET_FILE:netc>
           ${CMAKE_CURRENT_SOURCE_DIR}/codegen/op_zoo.nn ${res} ${batch})
  set_tests_properties(codegen.op_zoo_${res}_b${batch} PROPERTIES LABELS "codegen;small")
endforeach()
# Depthwise convs (codegen/cpu/cg_nhwc_conv.c's depthwise path): tests/codegen/dw_zoo.nn
foreach(rb "37x29;2" "64;3" "27x33;4" "112;1" "97x61;1")
  list(GET rb 0 res)
  list(GET rb 1 batch)
  add_test(NAME codegen.dw_zoo_${res}_b${batch} COMMAND bash ${CC_CHECK} $<TARGET_FILE:netc>
           ${CMAKE_CURRENT_SOURCE_DIR}/codegen/dw_zoo.nn ${res} ${batch} --layout nhwc)
  set_tests_properties(codegen.dw_zoo_${res}_b${batch} PROPERTIES LABELS "codegen;small")
endforeach()
file(GLOB NETC_MODELS ${PROJECT_SOURCE_DIR}/models/*.nn)
foreach(m ${NETC_MODELS})
  get_filename_component(name ${m} NAME_WE)
  add_test(NAME codegen.model.${name} COMMAND bash ${CC_CHECK} $<TARGET_FILE:netc> ${m} 67x53 2)
  set(labels codegen)
  if(name MATCHES "^(resnet50|resnest26d|regnety_016|efficientnet_b0|tf_efficientnet_b4)$")
    list(APPEND labels small)
  endif()
  set_tests_properties(codegen.model.${name} PROPERTIES LABELS "${labels}" TIMEOUT 600)
endforeach()
# Whole models with every 3x3 stride-1 conv on (NHWC) Winograd, grouped ones included
foreach(mm "resnest26d;on" "regnety_016;on" "resnet50;f2" "resnet50;on")
  list(GET mm 0 name)
  list(GET mm 1 mode)
  add_test(NAME codegen.model_wino_${mode}.${name} COMMAND bash ${CC_CHECK} $<TARGET_FILE:netc>
           ${PROJECT_SOURCE_DIR}/models/${name}.nn 67x53 2 --winograd ${mode} --layout nhwc)
  set_tests_properties(codegen.model_wino_${mode}.${name} PROPERTIES LABELS "codegen" TIMEOUT 600)
endforeach()
# Two resolutions sharing Winograd filters transformed at load time
add_test(NAME codegen.multires_wino.resnest26d COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/codegen/check_multires.sh
         $<TARGET_FILE:netc> ${PROJECT_SOURCE_DIR}/models/resnest26d.nn 64,96 --winograd on --layout nhwc)
set_tests_properties(codegen.multires_wino.resnest26d PROPERTIES LABELS "codegen;small" TIMEOUT 600)
# NHWC activations (passes/assign_layout.c, --layout nhwc: every node with an
# NHWC kernel runs NHWC, relayouts at the edges): the zoos at odd sizes and
# channel counts, and whole models
foreach(zb "op_zoo;37x29;2" "op_zoo;19x23;1" "conv_zoo;37x29;2" "conv_zoo;9x11;1")
  list(GET zb 0 zoo)
  list(GET zb 1 res)
  list(GET zb 2 batch)
  add_test(NAME codegen.nhwc_${zoo}_${res}_b${batch} COMMAND bash ${CC_CHECK} $<TARGET_FILE:netc>
           ${CMAKE_CURRENT_SOURCE_DIR}/codegen/${zoo}.nn ${res} ${batch} --layout nhwc)
  set_tests_properties(codegen.nhwc_${zoo}_${res}_b${batch} PROPERTIES LABELS "codegen;small")
endforeach()
foreach(name efficientnet_b0 regnety_016 resnet50 resnest26d)
  add_test(NAME codegen.model_nhwc.${name} COMMAND bash ${CC_CHECK} $<TARGET_FILE:netc>
           ${PROJECT_SOURCE_DIR}/models/${name}.nn 67x53 2 --layout nhwc)
  set_tests_properties(codegen.model_nhwc.${name} PROPERTIES LABELS "codegen" TIMEOUT 600)
endforeach()
add_test(NAME codegen.multires_nhwc.efficientnet_b0 COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/codegen/check_multires.sh
         $<TARGET_FILE:netc> ${PROJECT_SOURCE_DIR}/models/efficientnet_b0.nn 64,96 --layout nhwc)
set_tests_properties(codegen.multires_nhwc.efficientnet_b0 PROPERTIES LABELS "codegen" TIMEOUT 600)
# AVX-512's register blocks (emulated where the host has only AVX2): their weight panels are chosen per GEMM
# shape, so per resolution, and a second resolution's program once read the filters packed for the first's
# (each packing now has its own copy in the bundle: codegen/bundle_writer.c)
add_test(NAME codegen.multires_avx512_blocks.regnety_016
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/codegen/check_multires.sh $<TARGET_FILE:netc>
         ${PROJECT_SOURCE_DIR}/models/regnety_016.nn 64,96)
set_tests_properties(codegen.multires_avx512_blocks.regnety_016 PROPERTIES LABELS "codegen" TIMEOUT 600
                     ENVIRONMENT "NETC_CG_BLOCKING=avx512")
# NHWC Winograd (codegen/cpu/cg_nhwc_wino.c) on every 3x3 stride-1 conv of
# tests/codegen/wino_zoo.nn (--winograd on: the cost model would skip the
# small planes), and F(2x2, 3x3) with --winograd f2
foreach(rb "37x29;2;on" "64;1;on" "9x11;3;on" "7;4;on" "37x29;2;f2" "9x11;3;f2" "7;4;f2")
  list(GET rb 0 res)
  list(GET rb 1 batch)
  list(GET rb 2 mode)
  add_test(NAME codegen.nhwc_wino_zoo_${mode}_${res}_b${batch} COMMAND bash ${CC_CHECK} $<TARGET_FILE:netc>
           ${CMAKE_CURRENT_SOURCE_DIR}/codegen/wino_zoo.nn ${res} ${batch} --layout nhwc --winograd ${mode})
  set_tests_properties(codegen.nhwc_wino_zoo_${mode}_${res}_b${batch} PROPERTIES LABELS "codegen;small")
endforeach()
# The NCHW generated kernels were retired: asking for them is an error
add_test(NAME codegen.layout_nchw_refused
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/expect_fail.sh 2 "NCHW generated kernels were retired"
         -- $<TARGET_FILE:netc> compile ${CMAKE_CURRENT_SOURCE_DIR}/codegen/op_zoo.nn --init det --res 19x23
         --layout nchw -o /tmp/netc_nchw_refused)
set_tests_properties(codegen.layout_nchw_refused PROPERTIES LABELS "codegen;small")
# Whole graphs with AVX-512's blocks emulated in this host's vectors
# (NETC_CG_BLOCKING, codegen/cpu/cg_target.h) against the interpreter: the
# conv, op and depthwise zoos (GEMMs, im2col, Winograd, grouped and
# depthwise convs) compiled as an AVX-512 host would block them.
foreach(zb "conv_zoo;37x29;2" "op_zoo;19x23;1" "dw_zoo;27x33;4")
  list(GET zb 0 zoo)
  list(GET zb 1 res)
  list(GET zb 2 batch)
  add_test(NAME codegen.avx512_blocks_${zoo}_${res}_b${batch} COMMAND bash ${CC_CHECK} $<TARGET_FILE:netc>
           ${CMAKE_CURRENT_SOURCE_DIR}/codegen/${zoo}.nn ${res} ${batch} --layout nhwc)
  set_tests_properties(codegen.avx512_blocks_${zoo}_${res}_b${batch} PROPERTIES LABELS "codegen;small"
                       ENVIRONMENT "NETC_CG_BLOCKING=avx512")
endforeach()
