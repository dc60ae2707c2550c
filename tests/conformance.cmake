# Conformance against timm: one test per fixture row (labels: conformance, and
# "small" for the quick ones the sanitizer build runs), and one parameter/MACs
# check per model.
add_executable(netc_conformance ${CMAKE_CURRENT_SOURCE_DIR}/conformance_main.c)
target_link_libraries(netc_conformance PRIVATE netc_core)

set(NETC_SMALL_CONFORMANCE efficientnet_b0 resnest26d regnetx_016 fmnist_resnet)
file(STRINGS ${CMAKE_CURRENT_SOURCE_DIR}/fixtures/conformance.tsv conformance_rows)
foreach(row ${conformance_rows})
  if(row MATCHES "^#" OR row MATCHES "^model\t")
    continue()
  endif()
  string(REPLACE "\t" ";" f "${row}")
  list(GET f 0 model)
  list(GET f 1 h)
  list(GET f 2 w)
  list(GET f 3 batch)
  list(GET f 4 npy)
  set(name conformance.${model}_${h}x${w}_b${batch})
  add_test(NAME ${name} COMMAND netc_conformance logits ${PROJECT_SOURCE_DIR}/models/${model}.nn ${h} ${w} ${batch}
           ${CMAKE_CURRENT_SOURCE_DIR}/fixtures/conformance/${npy})
  set(labels conformance)
  if(model IN_LIST NETC_SMALL_CONFORMANCE)
    list(APPEND labels small)
  endif()
  set_tests_properties(${name} PROPERTIES LABELS "${labels}" TIMEOUT 900)
endforeach()

file(STRINGS ${CMAKE_CURRENT_SOURCE_DIR}/fixtures/models.tsv model_rows)
foreach(row ${model_rows})
  if(row MATCHES "^#" OR row MATCHES "^model\t")
    continue()
  endif()
  string(REPLACE "\t" ";" f "${row}")
  list(GET f 0 model)
  list(GET f 1 params)
  list(GET f 2 macs224)
  list(GET f 3 macs448)
  if(EXISTS ${PROJECT_SOURCE_DIR}/models/${model}.nn)
    add_test(NAME info.${model}
             COMMAND netc_conformance info ${PROJECT_SOURCE_DIR}/models/${model}.nn ${params} ${macs224} ${macs448})
    set_tests_properties(info.${model} PROPERTIES LABELS "info;small")
  endif()
endforeach()

# models/README.md's model table must be what netc computes now.
if(Python3_FOUND)
  add_test(NAME readme.model_table COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/tools/model_table.py
           $<TARGET_FILE:netc> --check ${PROJECT_SOURCE_DIR}/models/README.md)
  set_tests_properties(readme.model_table PROPERTIES LABELS "info")
endif()
