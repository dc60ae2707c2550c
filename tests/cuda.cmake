# The CUDA target without a GPU (codegen/cuda/, runtime/device/): every kernel's
# PTX assembled by ptxas for sm_90 (skipped with a message when the toolkit is
# absent), its CPU lowering run through the device emulator against the
# reference kernels, and the no-GPU error of the CUDA device.  Where a GPU and
# its driver are present the same test runs the PTX on it too.
add_executable(test_cuda_kernels ${CMAKE_CURRENT_SOURCE_DIR}/cuda/test_cuda_kernels.c)
target_link_libraries(test_cuda_kernels PRIVATE netc_codegen)
add_test(NAME cuda.kernels COMMAND test_cuda_kernels)
set_tests_properties(cuda.kernels PROPERTIES LABELS "cuda;small" ENVIRONMENT "PATH=$ENV{PATH}:/usr/local/cuda/bin")
