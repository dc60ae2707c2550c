# Training: the step's loss, gradients and running statistics against PyTorch
# autograd in float64 (tests/fixtures/grad/, tools/make_grad_fixtures.py), one
# test per fixture row.
add_executable(netc_grad_check ${CMAKE_CURRENT_SOURCE_DIR}/grad_main.c)
target_link_libraries(netc_grad_check PRIVATE netc_core)

set(NETC_SMALL_GRAD efficientnet_b0)
if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/fixtures/grad/grad.tsv)
  file(STRINGS ${CMAKE_CURRENT_SOURCE_DIR}/fixtures/grad/grad.tsv grad_rows)
  foreach(row ${grad_rows})
    if(row MATCHES "^#" OR row MATCHES "^model\t")
      continue()
    endif()
    string(REPLACE "\t" ";" f "${row}")
    list(GET f 0 model)
    list(GET f 7 file)
    add_test(NAME train.grad.${model} COMMAND netc_grad_check ${PROJECT_SOURCE_DIR}/models/${model}.nn
             ${CMAKE_CURRENT_SOURCE_DIR}/fixtures/grad/${file})
    set(labels train)
    if(model IN_LIST NETC_SMALL_GRAD)
      list(APPEND labels small)
    endif()
    set_tests_properties(train.grad.${model} PROPERTIES LABELS "${labels}" TIMEOUT 600)
  endforeach()
endif()
