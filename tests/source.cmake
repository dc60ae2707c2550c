# Checks on the source tree itself (label "small", so the sanitizer build runs them too):
# every #include points down the layers (tests/check_layers.py says which).
if(Python3_FOUND)
  add_test(NAME source.layers
           COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/tests/check_layers.py ${PROJECT_SOURCE_DIR})
  set_tests_properties(source.layers PROPERTIES LABELS "source;small")
endif()
# every source folder's README lists its files, and the top-level README maps every folder
if(Python3_FOUND)
  add_test(NAME source.readmes
           COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/tests/check_readmes.py ${PROJECT_SOURCE_DIR})
  set_tests_properties(source.readmes PROPERTIES LABELS "source;small")
endif()
# the C follows .clang-format, and no line of code is over 120 characters
add_test(NAME source.format COMMAND bash ${PROJECT_SOURCE_DIR}/tests/check_format.sh ${PROJECT_SOURCE_DIR})
set_tests_properties(source.format PROPERTIES LABELS "source;small")
