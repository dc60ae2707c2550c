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
# batch norm, act_grad and sum_to.
foreach(group conv pool attn train)
  add_executable(test_cuda_${group} ${CMAKE_CURRENT_SOURCE_DIR}/cuda/test_cuda_${group}.c)
  target_link_libraries(test_cuda_${group} PRIVATE netc_codegen)
  add_test(NAME cuda.${group} COMMAND test_cuda_${group})
  set_tests_properties(cuda.${group} PROPERTIES LABELS "cuda;small" ENVIRONMENT "PATH=$ENV{PATH}:/usr/local/cuda/bin")
endforeach()
