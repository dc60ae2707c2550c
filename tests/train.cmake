# Training: the step's loss, gradients and running statistics against PyTorch
# autograd in float64 (tests/fixtures/grad/, tools/make_grad_fixtures.py), one
# test per fixture row.
add_executable(netc_grad_check ${CMAKE_CURRENT_SOURCE_DIR}/grad_main.c)
target_link_libraries(netc_grad_check PRIVATE netc_core)

set(NETC_SMALL_GRAD efficientnet_b0)
if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/fixtures/grad/grad.tsv)
  file(STRINGS ${CMAKE_CURRENT_SOURCE_DIR}/fixtures/grad/grad.tsv grad_rows)
  set(file_col -1)
  foreach(row ${grad_rows})
    if(row MATCHES "^#")
      continue()
    endif()
    string(REPLACE "\t" ";" f "${row}")
    if(row MATCHES "^model\t")
      list(FIND f file file_col) # the columns are named in the header
      continue()
    endif()
    list(GET f 0 model)
    list(GET f ${file_col} file)
    add_test(NAME train.grad.${model} COMMAND netc_grad_check ${PROJECT_SOURCE_DIR}/models/${model}.nn
             ${CMAKE_CURRENT_SOURCE_DIR}/fixtures/grad/${file})
    set(labels train)
    if(model IN_LIST NETC_SMALL_GRAD)
      list(APPEND labels small)
    endif()
    set_tests_properties(train.grad.${model} PROPERTIES LABELS "${labels}" TIMEOUT 600)
  endforeach()
endif()

# The compiled step (netc compile --train; PROGRAM run --train) against the same fixtures, bound 1e-3.
foreach(model efficientnet_b0 tf_efficientnet_b4 resnest26d)
  file(GLOB fixture ${CMAKE_CURRENT_SOURCE_DIR}/fixtures/grad/${model}_*.safetensors)
  if(fixture)
    add_test(NAME train.compiled.${model}
             COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/train/compiled_step.sh $<TARGET_FILE:netc>
                     $<TARGET_FILE:netc_grad_check> ${PROJECT_SOURCE_DIR}/models/${model}.nn ${fixture})
    set_tests_properties(train.compiled.${model} PROPERTIES LABELS "train" TIMEOUT 600)
  endif()
endforeach()

# The `train` command end to end (tests/train/train_cases.sh): resumed runs
# equal uninterrupted ones byte for byte, SIGKILL at random moments, bad input,
# non-finite losses, --freeze-features, the weighted and focal losses; and a
# trained checkpoint in timm (torch: -DNETC_TORCH_PYTHON=/path/to/python, else
# skipped).
set(NETC_TORCH_PYTHON "" CACHE STRING "a Python with torch, timm and safetensors for train.timm_load (empty: skip)")
foreach(case resume_exact resume_large long_metrics kill timm_load bad_input nan freeze weighted_focal aug_mixup bad_aug
             pictures confusion_many pseudo_fixres)
  add_test(NAME train.${case}
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/train/train_cases.sh $<TARGET_FILE:netc> ${case})
  set(env "PYTHON=${Python3_EXECUTABLE}")
  if(NETC_TORCH_PYTHON)
    list(APPEND env "NETC_TORCH_PYTHON=${NETC_TORCH_PYTHON}")
  endif()
  set(labels train)
  if(case MATCHES "^(bad_input|nan|freeze|weighted_focal|bad_aug|pictures|confusion_many|pseudo_fixres)$")
    list(APPEND labels small)
  endif()
  set_tests_properties(train.${case} PROPERTIES LABELS "${labels}" TIMEOUT 600 SKIP_RETURN_CODE 77
                       ENVIRONMENT "${env}")
endforeach()

# A few steps of the Fashion-MNIST convergence run (tools/fmnist_run.sh): the data tool against the
# idx files and models/fmnist_resnet.nn learning from 256 images (skipped without dataset-fashion-mnist).
add_test(NAME train.fmnist_smoke COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/train/fmnist_smoke.sh $<TARGET_FILE:netc>)
set_tests_properties(train.fmnist_smoke PROPERTIES LABELS "train" TIMEOUT 300 SKIP_RETURN_CODE 77
                     ENVIRONMENT "PYTHON=${Python3_EXECUTABLE}")
