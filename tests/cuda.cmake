# The CUDA target without a GPU (codegen/cuda/, runtime/device/): every kernel's
# PTX assembled by ptxas for sm_90 (skipped with a message when the toolkit is
# absent), its CPU lowering run through the device emulator against the
# reference kernels, and the no-GPU error of the CUDA device.  Where a GPU and
# its driver are present the same test runs the PTX on it too.
add_executable(test_cuda_kernels ${CMAKE_CURRENT_SOURCE_DIR}/cuda/test_cuda_kernels.c)
target_link_libraries(test_cuda_kernels PRIVATE netc_codegen)
add_test(NAME cuda.kernels COMMAND test_cuda_kernels)
set_tests_properties(cuda.kernels PROPERTIES LABELS "cuda;small" ENVIRONMENT "PATH=$ENV{PATH}:/usr/local/cuda/bin")
# tests/gpu/run_dumped.c: the GPU-machine runner of dumped kernels (tests/gpu/check_kernels.sh), built here so
# that it compiles; without a GPU it must exit 1 with the CUDA device's "cannot use a GPU" message.
add_executable(run_dumped ${CMAKE_CURRENT_SOURCE_DIR}/gpu/run_dumped.c)
target_link_libraries(run_dumped PRIVATE netc_core)
add_test(NAME cuda.run_dumped_no_gpu COMMAND run_dumped ${CMAKE_CURRENT_SOURCE_DIR})
set_tests_properties(cuda.run_dumped_no_gpu PROPERTIES
  PASS_REGULAR_EXPRESSION "cannot use a GPU: |kernels.txt: cannot open")
# The kernels of codegen/cuda/ beyond the first ones, a test per group (tests/cuda/cu_test.h is their harness):
# convolutions (im2col / col2im with the emulator's GEMM, direct depthwise / grouped convs and their gradients),
# windowed pools and their gradients, split attention / SE scale / relayout copies, and the training step's
# batch norm, act_grad, sum_to and zeros, and the optimizer's kernels (bit for bit against runtime/train/optim.c).
# bf16: --precision bf16's conversion kernel bit for bit against nc_bf16_round, the bf16 GEMM against the f32 one.
foreach(group conv pool attn train optim bf16)
  add_executable(test_cuda_${group} ${CMAKE_CURRENT_SOURCE_DIR}/cuda/test_cuda_${group}.c)
  target_link_libraries(test_cuda_${group} PRIVATE netc_codegen)
  add_test(NAME cuda.${group} COMMAND test_cuda_${group})
  set_tests_properties(cuda.${group} PROPERTIES LABELS "cuda;small" ENVIRONMENT "PATH=$ENV{PATH}:/usr/local/cuda/bin")
endforeach()

# `netc compile --target cuda --emulate`: whole models lowered to device work (codegen/cuda/cu_lower.c), every PTX
# assembled by ptxas for sm_90, the forward pass run by the emulator against the interpreter (1e-4), bench
# --per-kernel (tests/cuda/check_program.sh).  Small inputs: the emulator's GEMM is a plain loop in double.
set(CUDA_CHECK ${CMAKE_CURRENT_SOURCE_DIR}/cuda/check_program.sh)
# One model of each family (the others: tests/cuda/all_models.sh, not run by ctest), the zoos of tests/codegen/
# at odd sizes (strided, padded, grouped, depthwise convs, pools, SE, split attention) and tests/cuda/cuda_zoo.nn
# (the rules nothing else reaches: dilation, the direct depthwise kernel, SE as GEMMs, a lone batch norm, ...);
# tests/cuda/train_zoo.nn's forward: a softmax over channels (cu_softmax.h's inner-axis kernel).
foreach(mrb "models/resnet18;64;2" "models/resnet50;64;1" "models/efficientnet_b0;64;1" "models/regnety_016;64;1"
        "models/resnest26d;64;1" "models/tf_efficientnet_lite0;64;1" "tests/codegen/conv_zoo;37x29;3"
        "tests/codegen/op_zoo;37x29;2" "tests/codegen/dw_zoo;37x29;2" "tests/cuda/cuda_zoo;37x29;2"
        "tests/cuda/train_zoo;37x29;2")
  list(GET mrb 0 path)
  list(GET mrb 1 res)
  list(GET mrb 2 batch)
  get_filename_component(name ${path} NAME)
  add_test(NAME cuda.program.${name} COMMAND bash ${CUDA_CHECK} $<TARGET_FILE:netc> ${PROJECT_SOURCE_DIR}/${path}.nn
           ${res} ${batch})
  set_tests_properties(cuda.program.${name} PROPERTIES LABELS "cuda" TIMEOUT 600
                       ENVIRONMENT "PATH=$ENV{PATH}:/usr/local/cuda/bin")
endforeach()
# --precision bf16 (every GEMM's operands rounded to bf16 by cu_bf16.h's kernel, f32 accumulation): the forward
# of resnet18, efficientnet_b0 and the zoos against the interpreter within 2e-2 of the largest logit (measured
# 2.0e-3 to 4.6e-3), every PTX assembled
foreach(mrb "models/resnet18;64;2" "models/efficientnet_b0;64;1" "tests/codegen/conv_zoo;37x29;3"
        "tests/codegen/op_zoo;37x29;2" "tests/cuda/cuda_zoo;37x29;2")
  list(GET mrb 0 path)
  list(GET mrb 1 res)
  list(GET mrb 2 batch)
  get_filename_component(name ${path} NAME)
  add_test(NAME cuda.bf16.program.${name} COMMAND bash ${CUDA_CHECK} $<TARGET_FILE:netc>
           ${PROJECT_SOURCE_DIR}/${path}.nn ${res} ${batch} --precision bf16)
  set_tests_properties(cuda.bf16.program.${name} PROPERTIES LABELS "cuda" TIMEOUT 600
                       ENVIRONMENT "PATH=$ENV{PATH}:/usr/local/cuda/bin;RTOL=2e-2")
endforeach()
# NETC_CONV_TACTIC=cudnn: every conv that has both forms runs as the device layer's conv step (cuDNN on a GPU; in
# the emulator the interpreter's reference conv behind the same descriptor), against the interpreter within 1e-4;
# bench --per-kernel must show "cuda cudnn" nodes (no silent fallback).  Then the choosing and its cache file
# (tests/cuda/check_conv_tactics.sh: auto, a second run from the cache, other versions / devices, corrupt files,
# the stand-in driver without cuDNN).
foreach(mrb "models/resnet18;64;2" "models/efficientnet_b0;64;1" "tests/codegen/conv_zoo;37x29;3"
        "tests/codegen/op_zoo;37x29;2" "tests/codegen/dw_zoo;37x29;2" "tests/cuda/cuda_zoo;37x29;2"
        "tests/cuda/cudnn_zoo;37x29;2")
  list(GET mrb 0 path)
  list(GET mrb 1 res)
  list(GET mrb 2 batch)
  get_filename_component(name ${path} NAME)
  add_test(NAME cuda.cudnn.program.${name} COMMAND bash ${CUDA_CHECK} $<TARGET_FILE:netc>
           ${PROJECT_SOURCE_DIR}/${path}.nn ${res} ${batch})
  set_tests_properties(cuda.cudnn.program.${name} PROPERTIES LABELS "cuda;cudnn" TIMEOUT 600
                       ENVIRONMENT "PATH=$ENV{PATH}:/usr/local/cuda/bin;NETC_CONV_TACTIC=cudnn;STRATEGY=cuda cudnn")
endforeach()
# the same with --precision bf16: the cuDNN form on bf16 x and w (rounded by cu_bf16.h's kernel as the GEMM form's
# operands are), f32 sums, y rounded to bf16 and widened back (cuDNN's PSEUDO_BFLOAT16): within 2e-2
foreach(mrb "models/resnet18;64;2" "tests/codegen/conv_zoo;37x29;3" "tests/cuda/cudnn_zoo;37x29;2")
  list(GET mrb 0 path)
  list(GET mrb 1 res)
  list(GET mrb 2 batch)
  get_filename_component(name ${path} NAME)
  add_test(NAME cuda.cudnn.bf16.program.${name} COMMAND bash ${CUDA_CHECK} $<TARGET_FILE:netc>
           ${PROJECT_SOURCE_DIR}/${path}.nn ${res} ${batch} --precision bf16)
  set_tests_properties(cuda.cudnn.bf16.program.${name} PROPERTIES LABELS "cuda;cudnn" TIMEOUT 600 ENVIRONMENT
                       "PATH=$ENV{PATH}:/usr/local/cuda/bin;NETC_CONV_TACTIC=cudnn;STRATEGY=cuda cudnn;RTOL=2e-2")
endforeach()
# Bad targets (exit 2, nothing written), and a cuda program where there is no GPU: the device's clear error
set(CUDA_EXPECT ${CMAKE_CURRENT_SOURCE_DIR}/expect_fail.sh)
add_test(NAME cuda.bad_arch COMMAND bash ${CUDA_EXPECT} 2 "unknown GPU architecture 'sm_12'" --no-file
         ${CMAKE_CURRENT_BINARY_DIR}/cuda_bad_arch -- $<TARGET_FILE:netc> compile
         ${PROJECT_SOURCE_DIR}/models/resnet18.nn --init det --res 32 --target cuda:sm_12
         -o ${CMAKE_CURRENT_BINARY_DIR}/cuda_bad_arch)
add_test(NAME cuda.bad_target COMMAND bash ${CUDA_EXPECT} 2 "--target 'foo': expected cpu, cuda" --no-file
         ${CMAKE_CURRENT_BINARY_DIR}/cuda_bad_target -- $<TARGET_FILE:netc> compile
         ${PROJECT_SOURCE_DIR}/models/resnet18.nn --init det --res 32 --target foo
         -o ${CMAKE_CURRENT_BINARY_DIR}/cuda_bad_target)
add_test(NAME cuda.emulate_without_target COMMAND bash ${CUDA_EXPECT} 2 "--emulate goes with --target cuda"
         --no-file
         ${CMAKE_CURRENT_BINARY_DIR}/cuda_bad_emulate -- $<TARGET_FILE:netc> compile
         ${PROJECT_SOURCE_DIR}/models/resnet18.nn --init det --res 32 --emulate
         -o ${CMAKE_CURRENT_BINARY_DIR}/cuda_bad_emulate)
add_test(NAME cuda.no_gpu COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cuda/check_no_gpu.sh $<TARGET_FILE:netc>
         ${PROJECT_SOURCE_DIR}/models/resnet18.nn ${CMAKE_CURRENT_SOURCE_DIR}/photos)
add_test(NAME cuda.tf32_without_target COMMAND bash ${CUDA_EXPECT} 2 "--precision tf32 is for --target cuda"
         --no-file ${CMAKE_CURRENT_BINARY_DIR}/cuda_bad_tf32 -- $<TARGET_FILE:netc> compile
         ${PROJECT_SOURCE_DIR}/models/resnet18.nn --init det --res 32 --precision tf32
         -o ${CMAKE_CURRENT_BINARY_DIR}/cuda_bad_tf32)
set_tests_properties(cuda.bad_arch cuda.bad_target cuda.emulate_without_target cuda.no_gpu cuda.tf32_without_target
                     PROPERTIES
                     LABELS "cuda;small")
# The CUDA device layer itself (runtime/device/device_cuda.c: dlopen, memory, module loading, launches,
# its cuBLAS calls) on a stand-in driver and cuBLAS (tests/cuda/fake_cuda.c: host memory, the kernels' CPU
# lowerings, cuBLAS's column-major GEMM in double): `--target cuda` programs without --emulate through it.
set(FAKE_CUDA_DIR ${CMAKE_CURRENT_BINARY_DIR}/fake_cuda)
add_library(fake_cuda_driver SHARED ${CMAKE_CURRENT_SOURCE_DIR}/cuda/fake_cuda.c)
target_compile_definitions(fake_cuda_driver PRIVATE FAKE_DRIVER)
target_include_directories(fake_cuda_driver PRIVATE ${PROJECT_SOURCE_DIR}) # runtime/device/device.h's kernel table
target_link_libraries(fake_cuda_driver PRIVATE ${CMAKE_DL_LIBS})
set_target_properties(fake_cuda_driver PROPERTIES OUTPUT_NAME cuda SUFFIX ".so.1" LIBRARY_OUTPUT_DIRECTORY
                      ${FAKE_CUDA_DIR})
add_library(fake_cublas SHARED ${CMAKE_CURRENT_SOURCE_DIR}/cuda/fake_cuda.c)
target_include_directories(fake_cublas PRIVATE ${PROJECT_SOURCE_DIR})
set_target_properties(fake_cublas PROPERTIES OUTPUT_NAME cublas SUFFIX ".so.13" LIBRARY_OUTPUT_DIRECTORY
                      ${FAKE_CUDA_DIR})
# The overlap (pinned memory, the copy stream, events, async copies) in the emulator and through device_cuda.c on
# the stand-in, which holds a copy back until something waits for it: a deliberately missing wait must be caught.
add_executable(test_cuda_streams ${CMAKE_CURRENT_SOURCE_DIR}/cuda/test_cuda_streams.c)
target_link_libraries(test_cuda_streams PRIVATE netc_core)
add_dependencies(test_cuda_streams fake_cuda_driver fake_cublas)
add_test(NAME cuda.streams COMMAND test_cuda_streams)
set_tests_properties(cuda.streams PROPERTIES LABELS "cuda;small" ENVIRONMENT "LD_LIBRARY_PATH=${FAKE_CUDA_DIR}")
# and cuBLASLt (FAKE_CUBLASLT: the matmuls with a bias (+ relu) epilogue, column- and row-ordered layouts)
add_library(fake_cublaslt SHARED ${CMAKE_CURRENT_SOURCE_DIR}/cuda/fake_cuda.c)
target_compile_definitions(fake_cublaslt PRIVATE FAKE_CUBLASLT)
target_include_directories(fake_cublaslt PRIVATE ${PROJECT_SOURCE_DIR})
target_link_libraries(fake_cublaslt PRIVATE ${CMAKE_DL_LIBS} m)
set_target_properties(fake_cublaslt PROPERTIES OUTPUT_NAME cublasLt SUFFIX ".so.13" LIBRARY_OUTPUT_DIRECTORY
                      ${FAKE_CUDA_DIR})
foreach(mrb "models/resnet18;48;2" "tests/cuda/cuda_zoo;23x19;2" "tests/codegen/op_zoo;37x29;1")
  list(GET mrb 0 path)
  list(GET mrb 1 res)
  list(GET mrb 2 batch)
  get_filename_component(name ${path} NAME)
  add_test(NAME cuda.fake_driver.${name} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cuda/check_fake_driver.sh
           $<TARGET_FILE:netc> ${PROJECT_SOURCE_DIR}/${path}.nn ${res} ${batch} ${FAKE_CUDA_DIR})
  set_tests_properties(cuda.fake_driver.${name} PROPERTIES LABELS "cuda")
endforeach()
# resnet18's also overlapped against sequential (classify and eval, 20 photographs: check_fake_driver.sh's OVERLAP)
set_tests_properties(cuda.fake_driver.resnet18 PROPERTIES ENVIRONMENT "OVERLAP=1")
# nc_dev_gemm_epi alone (bias per row / column, B transposed or not, batches, relu, bf16, misaligned operands) in
# the emulator and through device_cuda.c + device_cublaslt.c on the stand-ins, against the product computed there
add_executable(test_cuda_gemm_epi ${CMAKE_CURRENT_SOURCE_DIR}/cuda/test_cuda_gemm_epi.c)
target_link_libraries(test_cuda_gemm_epi PRIVATE netc_core)
add_dependencies(test_cuda_gemm_epi fake_cuda_driver fake_cublas fake_cublaslt)
add_test(NAME cuda.gemm_epi COMMAND test_cuda_gemm_epi)
set_tests_properties(cuda.gemm_epi PROPERTIES LABELS "cuda;small" ENVIRONMENT "LD_LIBRARY_PATH=${FAKE_CUDA_DIR}")
# a cuBLASLt stand-in that broadcasts the bias along the wrong axis must turn the forward red (the fused GEMM
# epilogues are really checked: conv biases per row, the linear layers' per column)
add_test(NAME cuda.fake_driver.epilogue_break COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cuda/check_fake_driver.sh
         $<TARGET_FILE:netc> ${PROJECT_SOURCE_DIR}/tests/cuda/cuda_zoo.nn 23x19 2 ${FAKE_CUDA_DIR})
set_tests_properties(cuda.fake_driver.epilogue_break PROPERTIES LABELS "cuda;small"
                     ENVIRONMENT "FAKE_CUBLASLT_BREAK=bias-columns")
# the same with --precision bf16: cublasGemmEx / cublasGemmStridedBatchedEx on bf16 operands (the stand-in widens
# them exactly and sums in double, as the emulator: classify's logits equal)
add_test(NAME cuda.bf16.fake_driver.cuda_zoo COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cuda/check_fake_driver.sh
         $<TARGET_FILE:netc> ${PROJECT_SOURCE_DIR}/tests/cuda/cuda_zoo.nn 23x19 2 ${FAKE_CUDA_DIR} --precision bf16)
set_tests_properties(cuda.bf16.fake_driver.cuda_zoo PROPERTIES LABELS "cuda" ENVIRONMENT "RTOL=2e-2")
# --precision bf16's weights stored once (converted on the device at load; tests/cuda/check_bf16_weights.sh):
# logits byte for byte those of NETC_CUDA_BF16_WEIGHTS=each-run (GEMM and cuDNN forms, the emulator, the stand-in
# driver's graphs), fewer device steps per run (cuda_zoo: 48 -> 39, 9 at load), a --train bundle unchanged
add_test(NAME cuda.bf16.weights_once.cuda_zoo COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cuda/check_bf16_weights.sh
         $<TARGET_FILE:netc> ${PROJECT_SOURCE_DIR}/tests/cuda/cuda_zoo.nn 23x19 2 ${FAKE_CUDA_DIR})
set_tests_properties(cuda.bf16.weights_once.cuda_zoo PROPERTIES LABELS "cuda" TIMEOUT 600 ENVIRONMENT
                     "TRAIN_MODEL=${PROJECT_SOURCE_DIR}/tests/codegen/conv_zoo.nn")
# and a stand-in cuDNN (tests/cuda/fake_cudnn.c: the descriptors mapped back to the program's reference conv)
add_library(fake_cudnn SHARED ${CMAKE_CURRENT_SOURCE_DIR}/cuda/fake_cudnn.c)
target_include_directories(fake_cudnn PRIVATE ${PROJECT_SOURCE_DIR})
target_link_libraries(fake_cudnn PRIVATE ${CMAKE_DL_LIBS})
set_target_properties(fake_cudnn PROPERTIES OUTPUT_NAME cudnn SUFFIX ".so.9" LIBRARY_OUTPUT_DIRECTORY
                      ${FAKE_CUDA_DIR})
add_dependencies(netc fake_cuda_driver fake_cublas fake_cublaslt fake_cudnn)
# cuDNN's form through device_cudnn.c on the stand-in cuDNN, captured into graphs like the rest
foreach(zoo cuda_zoo cudnn_zoo)
  add_test(NAME cuda.cudnn.fake_driver.${zoo} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cuda/check_fake_driver.sh
           $<TARGET_FILE:netc> ${PROJECT_SOURCE_DIR}/tests/cuda/${zoo}.nn 23x19 2 ${FAKE_CUDA_DIR})
  set_tests_properties(cuda.cudnn.fake_driver.${zoo} PROPERTIES LABELS "cuda;cudnn"
                       ENVIRONMENT "NETC_CONV_TACTIC=cudnn;STRATEGY=cuda cudnn")
endforeach()
add_test(NAME cuda.cudnn.bf16.fake_driver.cudnn_zoo COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cuda/check_fake_driver.sh
         $<TARGET_FILE:netc> ${PROJECT_SOURCE_DIR}/tests/cuda/cudnn_zoo.nn 23x19 2 ${FAKE_CUDA_DIR} --precision bf16)
set_tests_properties(cuda.cudnn.bf16.fake_driver.cudnn_zoo PROPERTIES LABELS "cuda;cudnn"
                     ENVIRONMENT "NETC_CONV_TACTIC=cudnn;STRATEGY=cuda cudnn;RTOL=2e-2")
add_test(NAME cuda.cudnn.bf16.weights_once.cudnn_zoo COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cuda/check_bf16_weights.sh
         $<TARGET_FILE:netc> ${PROJECT_SOURCE_DIR}/tests/cuda/cudnn_zoo.nn 23x19 2 ${FAKE_CUDA_DIR})
set_tests_properties(cuda.cudnn.bf16.weights_once.cudnn_zoo PROPERTIES LABELS "cuda;cudnn" TIMEOUT 600
                     ENVIRONMENT "NETC_CONV_TACTIC=cudnn;TRAIN_MODEL=none")
add_test(NAME cuda.cudnn.tactics COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cuda/check_conv_tactics.sh
         $<TARGET_FILE:netc> ${PROJECT_SOURCE_DIR}/tests/codegen/conv_zoo.nn 37x29 3 ${FAKE_CUDA_DIR})
set_tests_properties(cuda.cudnn.tactics PROPERTIES LABELS "cuda;cudnn;small" TIMEOUT 300)
# `netc compile --train --target cuda --emulate`: one training step's graph lowered to device work (cu_lower.c's
# training rules), every PTX assembled, its `run --train` (loss, logits, every gradient, the BN running
# statistics) against the reference kernels' (--no-codegen) on the same input and labels within 1e-4 of each
# tensor's largest magnitude, and the device's `train` loop over two epochs of the photographs against the reference
# kernels' (tests/cuda/check_train_step.sh).
set(CUDA_TRAIN_CHECK ${CMAKE_CURRENT_SOURCE_DIR}/cuda/check_train_step.sh)
# fmnist_resnet with drop-path on (its dropout nodes and their seed input too); resnet18 (max pool, 7x7 stem);
# op_zoo and conv_zoo: strided, padded, dilated, grouped convs, max / average pools, SE, split attention, split
# and concat, clamp (dw_zoo passes too, by hand: not in ctest, for time); tests/cuda/train_zoo.nn: softmax_grad over
# channels and by rows, zeros (a split's unused part).  A wrong axis in either softmax_grad form or the forward's
# channel softmax, or no zeros step (the part's memory left as it was), turns train_zoo red (measured: 0.058 to 2.6e3
# against 1e-4; it passes at 6.9e-7, its loop at 1.9e-7).
foreach(mrb "models/fmnist_resnet;28;2;--set;drop_path_rate=0.3" "models/resnet18;64;2" "tests/codegen/op_zoo;37x29;2"
        "tests/codegen/conv_zoo;37x29;2" "tests/cuda/train_zoo;37x29;2")
  list(GET mrb 0 path)
  list(GET mrb 1 res)
  list(GET mrb 2 batch)
  set(extra "")
  list(LENGTH mrb len)
  if(len GREATER 3)
    list(SUBLIST mrb 3 -1 extra)
  endif()
  get_filename_component(name ${path} NAME)
  add_test(NAME cuda.train_step.${name} COMMAND bash ${CUDA_TRAIN_CHECK} $<TARGET_FILE:netc> ${Python3_EXECUTABLE}
           ${PROJECT_SOURCE_DIR}/${path}.nn ${res} ${batch} ${extra})
  # resnet18 at 64x64, batch 2: its layer4 batch norms see 8 values a channel, and after a few SGD steps the
  # rounding of the two programs' gradients has grown past 2e-3 (7e-2 on running means after 6 steps; with
  # --lr 0.001 already 2e-4 on weights after 3 — the CPU program's generated kernels drift from the reference
  # loop by the same 2e-4, so it is not the device): its one step is compared, its loop is not
  set(loop 1)
  if(name STREQUAL "resnet18")
    set(loop 0)
  endif()
  set_tests_properties(cuda.train_step.${name} PROPERTIES LABELS "cuda" TIMEOUT 600
                       ENVIRONMENT "PATH=$ENV{PATH}:/usr/local/cuda/bin;TRAIN_LOOP=${loop}")
endforeach()
# conv_zoo's step with every training batch norm and depthwise weight gradient split over many blocks a channel
# or weight (NETC_CUDA_SPLIT=1; by default only those of 16384 values or more, which no test model here
# reaches).  Its loop is not compared: the two forms' different rounding compounds past 2e-3 after 6 steps at lr
# 0.1 (fmnist_resnet's loop passes split, by hand: 5e-7 at 4.5 minutes under load); from the same state one step
# agrees to 2e-6.
add_test(NAME cuda.train_step.conv_zoo_split COMMAND bash ${CUDA_TRAIN_CHECK} $<TARGET_FILE:netc>
         ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/tests/codegen/conv_zoo.nn 37x29 2)
set_tests_properties(cuda.train_step.conv_zoo_split PROPERTIES LABELS "cuda" TIMEOUT 600
                     ENVIRONMENT "PATH=$ENV{PATH}:/usr/local/cuda/bin;NETC_CUDA_SPLIT=1;TRAIN_LOOP=0")
# the same step with im2col's columns capped at 64 KB (NETC_CUDA_COL_BYTES): every conv, its input gradient
# and its weight gradient (chunks accumulated by GEMMs with beta 1) take the images in chunks
add_test(NAME cuda.train_step.resnet18_chunked COMMAND bash ${CUDA_TRAIN_CHECK} $<TARGET_FILE:netc>
         ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/models/resnet18.nn 64 2)
set_tests_properties(cuda.train_step.resnet18_chunked PROPERTIES LABELS "cuda" TIMEOUT 600
                     ENVIRONMENT "PATH=$ENV{PATH}:/usr/local/cuda/bin;NETC_CUDA_COL_BYTES=65536;TRAIN_LOOP=0")
# the training step's conv input and weight gradients as cuDNN's backward-data and backward-filter convs
# (NETC_CONV_TACTIC=cudnn; every one but c2's and c7's, whose TF padding is asymmetric): in the emulator (the
# interpreter's reference gradients behind the descriptor), and through device_cudnn.c on the stand-in cuDNN, whose
# faster backward algorithm is not deterministic and must be passed over; the step within 1e-4 and the loop over
# 6 steps within 2e-3 of the reference kernels'; and with bf16 operands (the backward's alone: 3e-2)
set(cudnn_train_env "PATH=$ENV{PATH}:/usr/local/cuda/bin;NETC_CONV_TACTIC=cudnn;STRATEGY=cuda cudnn")
foreach(variant "emulate;" "fake_driver;FAKE_DIR=${FAKE_CUDA_DIR}")
  list(GET variant 0 name)
  list(GET variant 1 fake)
  add_test(NAME cuda.cudnn.train_step.${name}.conv_zoo COMMAND bash ${CUDA_TRAIN_CHECK} $<TARGET_FILE:netc>
           ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/tests/codegen/conv_zoo.nn 37x29 2)
  set_tests_properties(cuda.cudnn.train_step.${name}.conv_zoo PROPERTIES LABELS "cuda;cudnn" TIMEOUT 600
                       ENVIRONMENT "${cudnn_train_env};STRATEGY_SKIP=c2 c7;${fake}")
endforeach()
# dw_zoo's depthwise convs and their gradients too (every one but d5's, d6's and d10's, asymmetric), one step: its
# depthwise gradients make it ill-conditioned (the default forms' step measures 7.7e-5 against the reference
# kernels', cuDNN's 9.9e-5), hence 2e-4
add_test(NAME cuda.cudnn.train_step.emulate.dw_zoo COMMAND bash ${CUDA_TRAIN_CHECK} $<TARGET_FILE:netc>
         ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/tests/codegen/dw_zoo.nn 37x29 2)
set_tests_properties(cuda.cudnn.train_step.emulate.dw_zoo PROPERTIES LABELS "cuda;cudnn" TIMEOUT 600 ENVIRONMENT
                     "${cudnn_train_env};STRATEGY_SKIP=d5 d6 d10;STEP_TOL=2e-4;TRAIN_LOOP=0")
add_test(NAME cuda.cudnn.bf16.train_grads.conv_zoo COMMAND bash ${CUDA_TRAIN_CHECK} $<TARGET_FILE:netc>
         ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/tests/codegen/conv_zoo.nn 37x29 2)
set(bf16_grads_env "GPU_OPTS=--precision bf16;NETC_CUDA_BF16=grads;STEP_TOL=3e-2;TRAIN_LOOP=0")
set_tests_properties(cuda.cudnn.bf16.train_grads.conv_zoo PROPERTIES LABELS "cuda;cudnn" TIMEOUT 600 ENVIRONMENT
                     "${cudnn_train_env};STRATEGY_SKIP=c2 c7;${bf16_grads_env}")
# `train` with the optimizer on the device (codegen/cuda/cu_optim.c, runtime/program/train_devopt.c): fmnist_resnet
# emulated, SGD and AdamW over 6 updates byte for byte the same program's host optimizer, within 2e-3 of the CPU
# program, a resumed run byte for byte the uninterrupted one, a resume with the other optimizer refused, validation
# on the device against the CPU program's, the same through the stand-in driver (tests/cuda/check_train_devopt.sh;
# about 15 s)
add_test(NAME cuda.train_devopt COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cuda/check_train_devopt.sh $<TARGET_FILE:netc>
         ${Python3_EXECUTABLE} ${FAKE_CUDA_DIR})
set_tests_properties(cuda.train_devopt PROPERTIES LABELS "cuda;small" TIMEOUT 300
                     ENVIRONMENT "PATH=$ENV{PATH}:/usr/local/cuda/bin")
# train's overlapped feed on a device (runtime/program/train.c's prepare_batch, dev_exec.c's NcDevTrainPipe): each
# batch prepared in pinned memory and uploaded on the copy stream while the step before runs; fmnist_resnet emulated
# and on the stand-in driver, overlapped and NETC_DEV_OVERLAP=0: every step's metrics, validation, the final
# checkpoint and optimizer state byte for byte (a failed image, the dropped partial batch, --aug + --mixup, the
# optimizer on the host, a resumed run; tests/cuda/check_train_overlap.sh; about 20 s)
add_test(NAME cuda.train_overlap
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cuda/check_train_overlap.sh $<TARGET_FILE:netc>
         ${Python3_EXECUTABLE} ${FAKE_CUDA_DIR})
set_tests_properties(cuda.train_overlap PROPERTIES LABELS "cuda;small" TIMEOUT 300
                     ENVIRONMENT "PATH=$ENV{PATH}:/usr/local/cuda/bin")
# --train --target cuda --precision bf16: one step against the reference kernels' f32 step.  A step at these
# batches (2) is ill-conditioned: its gradients move by up to 34% when the input moves by 0.2% (fmnist_resnet in
# f32, measured), so the whole bf16 step's gradients are held to 0.6 of their L2 norm (measured 0.13-0.30; a
# transposed or misplaced operand is ~1.4) and its loss, logits and running statistics to 2e-2 (measured <= 7.1e-3);
# and the backward's bf16 GEMMs alone (NETC_CUDA_BF16=grads: the forward's in f32) to 3e-2 of each gradient's
# largest magnitude (measured 1.2e-2 to 1.6e-2).  fmnist_resnet's `train` loop (the optimizer on the device, the
# bf16 operands rounded from its f32 weights at every step) after 6 steps within 0.5 (measured 0.24).
set(bf16_env "PATH=$ENV{PATH}:/usr/local/cuda/bin;GPU_OPTS=--precision bf16")
foreach(mrb "models/fmnist_resnet;28;2;1" "tests/codegen/conv_zoo;37x29;2;0" "tests/codegen/op_zoo;37x29;2;0")
  list(GET mrb 0 path)
  list(GET mrb 1 res)
  list(GET mrb 2 batch)
  list(GET mrb 3 loop)
  get_filename_component(name ${path} NAME)
  add_test(NAME cuda.bf16.train_step.${name} COMMAND bash ${CUDA_TRAIN_CHECK} $<TARGET_FILE:netc>
           ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/${path}.nn ${res} ${batch})
  set_tests_properties(cuda.bf16.train_step.${name} PROPERTIES LABELS "cuda" TIMEOUT 600
                       ENVIRONMENT "${bf16_env};STEP_TOL=2e-2;GRAD_L2=0.6;TRAIN_LOOP=${loop};LOOP_TOL=0.5")
  add_test(NAME cuda.bf16.train_grads.${name} COMMAND bash ${CUDA_TRAIN_CHECK} $<TARGET_FILE:netc>
           ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/${path}.nn ${res} ${batch})
  set_tests_properties(cuda.bf16.train_grads.${name} PROPERTIES LABELS "cuda" TIMEOUT 600
                       ENVIRONMENT "${bf16_env};NETC_CUDA_BF16=grads;STEP_TOL=3e-2;TRAIN_LOOP=0")
endforeach()
# bf16 with options it cannot go with: exit 2
add_test(NAME cuda.bf16_no_codegen COMMAND bash ${CUDA_EXPECT} 2
         "--precision bf16 with --target cuda needs generated kernels"
         --no-file ${CMAKE_CURRENT_BINARY_DIR}/cuda_bad_bf16
         -- $<TARGET_FILE:netc> compile
         ${PROJECT_SOURCE_DIR}/models/resnet18.nn --init det --res 32 --target cuda --precision bf16 --no-codegen
         -o ${CMAKE_CURRENT_BINARY_DIR}/cuda_bad_bf16)
set_tests_properties(cuda.bf16_no_codegen PROPERTIES LABELS "cuda;small")
# The device files' private copies of NVIDIA's API (runtime/device/device_cuda.c, device_cublaslt.c,
# device_cudnn.c: enum values, struct layouts, function signatures, dlsym'd names) against the toolkit's real
# headers, at compile time (each file compiled again inside tests/cuda/abi/abi_*.c), and against its
# real libraries without a GPU: every name the files dlsym present, cuDNN's descriptors and cuBLASLt's
# descriptors, layouts and attributes made by the files' own describe() and setup() (tests/cuda/test_cuda_abi.c).
# Skipped, saying so, where the headers are not found (the normal build never needs them); GCC only.
set(NETC_CUDA_HOME /usr/local/cuda CACHE PATH "the CUDA toolkit whose headers and libraries test_cuda_abi checks")
find_path(NETC_CUDNN_INCLUDE_DIR cudnn.h PATHS ${NETC_CUDA_HOME}/include NO_DEFAULT_PATH)
find_path(NETC_CUDNN_INCLUDE_DIR cudnn.h)
if(EXISTS ${NETC_CUDA_HOME}/include/cuda.h AND EXISTS ${NETC_CUDA_HOME}/include/cublasLt.h
   AND NETC_CUDNN_INCLUDE_DIR AND CMAKE_C_COMPILER_ID STREQUAL "GNU")
  set(abi_libs "")
  foreach(lib "stubs/libcuda.so" "libcublas.so.13" "libcublasLt.so.13" "libcudnn.so.9")
    get_filename_component(base ${lib} NAME)
    string(MAKE_C_IDENTIFIER ${base} var)
    find_file(NETC_ABI_${var} ${lib} PATHS ${NETC_CUDA_HOME}/lib64 ${NETC_CUDA_HOME}/lib NO_DEFAULT_PATH)
    find_file(NETC_ABI_${var} ${base} PATHS /usr/lib/x86_64-linux-gnu /usr/lib64)
    if(NETC_ABI_${var})
      list(APPEND abi_libs ${NETC_ABI_${var}})
    else()
      list(APPEND abi_libs "-")
    endif()
  endforeach()
  add_executable(test_cuda_abi ${CMAKE_CURRENT_SOURCE_DIR}/cuda/test_cuda_abi.c
                 ${CMAKE_CURRENT_SOURCE_DIR}/cuda/abi/abi_cuda.c ${CMAKE_CURRENT_SOURCE_DIR}/cuda/abi/abi_cublaslt.c
                 ${CMAKE_CURRENT_SOURCE_DIR}/cuda/abi/abi_cudnn.c)
  target_include_directories(test_cuda_abi SYSTEM PRIVATE ${NETC_CUDA_HOME}/include ${NETC_CUDNN_INCLUDE_DIR})
  target_compile_options(test_cuda_abi PRIVATE -Werror)
  target_link_libraries(test_cuda_abi PRIVATE netc_core)
  add_test(NAME cuda.abi COMMAND test_cuda_abi ${abi_libs})
else()
  add_test(NAME cuda.abi COMMAND ${CMAKE_COMMAND} -E echo
           "cuda.abi: skipped: no CUDA toolkit headers (cuda.h, cublasLt.h, cudnn.h) under ${NETC_CUDA_HOME} or no GCC")
endif()
set_tests_properties(cuda.abi PROPERTIES LABELS "cuda;small")
