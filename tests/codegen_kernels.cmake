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
