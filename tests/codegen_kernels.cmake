# Generated kernels, one at a time, JIT-compiled against the reference
# kernels: every tests/codegen/test_*.c is one executable and one test.
file(GLOB NETC_CG_TESTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/codegen/test_*.c)
foreach(src ${NETC_CG_TESTS})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_link_libraries(${name} PRIVATE netc_codegen)
  add_test(NAME codegen.${name} COMMAND ${name})
  set_tests_properties(codegen.${name} PROPERTIES LABELS "codegen;small")
endforeach()
# The same kernel tests with AVX-512's register and cache blocks emulated in
# this host's vectors (NETC_CG_BLOCKING, codegen/cpu/cg_target.h): the
# AVX-512 plans (4 x 96 to 14 x 32 tiles, kc 64-128, the A prefetch,
# 14-pixel conv blocks) run and are checked against the reference here,
# where AVX-512 itself cannot run.
foreach(name test_cg_gemm test_cg_nhwc_conv test_cg_nhwc_wino)
  add_test(NAME codegen.${name}.avx512_blocks COMMAND ${name})
  set_tests_properties(codegen.${name}.avx512_blocks PROPERTIES LABELS "codegen;small"
                       ENVIRONMENT "NETC_CG_BLOCKING=avx512")
endforeach()
