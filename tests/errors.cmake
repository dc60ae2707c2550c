# Bad input: every class of error exits 2 with a message naming the file (and
# line:col, layer or tensor) and writes nothing.  See tests/errors/.
set(E ${CMAKE_CURRENT_SOURCE_DIR}/errors)
set(EXPECT ${CMAKE_CURRENT_SOURCE_DIR}/expect_fail.sh)
function(netc_error_test name regex)
  add_test(NAME error.${name} COMMAND bash ${EXPECT} 2 "${regex}" -- $<TARGET_FILE:netc> ${ARGN})
  set_tests_properties(error.${name} PROPERTIES LABELS "errors;small")
endfunction()

netc_error_test(syntax "syntax.nn:3:5: error: expected '\\)' but found 'return'" dump ${E}/syntax.nn)
netc_error_test(unknown_op "unknown_op.nn:2:15: error: unknown function 'conv3d'" dump ${E}/unknown_op.nn)
netc_error_test(unknown_arg "has no parameter 'strid'; did you mean 'stride'" dump ${E}/unknown_arg.nn)
netc_error_test(shape_mismatch "shapes \\[1, 8, 224, 224\\] and \\[1, 16, 224, 224\\] do not broadcast"
                dump ${E}/shape_mismatch.nn)
netc_error_test(unnamed_layer "conv2d has parameters and needs a name" dump ${E}/unnamed_layer.nn)
netc_error_test(duplicate_name "parameter 'c.weight' is defined twice" dump ${E}/duplicate_name.nn)
netc_error_test(zero_size "'out' must be a positive size, got 0" dump ${E}/zero_size.nn)
netc_error_test(group_width "in layer 's1.b1': width 48 is not divisible by the group width 20"
                dump ${E}/group_width.nn)
netc_error_test(groups_conv "in layer 'b': conv2d: groups=4 must divide the input channels \\(30\\)"
                dump ${E}/groups_conv.nn)
netc_error_test(too_small "in layer 'stem'.*input of 5x5 is too small.*gives an output of 0x0"
                dump ${E}/too_small.nn --res 5)
netc_error_test(too_small_later "in layer 'head'.*input of 1x1 is too small" dump ${E}/too_small.nn --res 7)
netc_error_test(bad_res "--res '0x3': expected a size" dump ${E}/tiny.nn --res 0x3)
netc_error_test(missing_file "no_such_model.nn: cannot open" info ${E}/no_such_model.nn)
netc_error_test(missing_import "missing_import.nn:1:1: error: cannot import" dump ${E}/missing_import.nn)
netc_error_test(recursion "calls nested more than 200 deep" dump ${E}/recursion.nn)
netc_error_test(no_model "no 'model' in this file" dump ${E}/no_model.nn)
netc_error_test(bad_char "bad_char.nn:1:23: error: unexpected character '@'" dump ${E}/bad_char.nn)
netc_error_test(unknown_command "unknown command 'frobnicate'" frobnicate)
netc_error_test(no_weights "say where the weights come from" run ${E}/tiny.nn)

foreach(case truncated lying_header bad_offsets wrong_shape missing_unexpected missing_weights input_shape input_res
        unwritable_output)
  add_test(NAME error.weights.${case} COMMAND bash ${E}/weights_cases.sh $<TARGET_FILE:netc> ${case})
  set_tests_properties(error.weights.${case} PROPERTIES LABELS "errors;small")
endforeach()
netc_error_test(radix "radix.nn:4:25: error: radix_combine: radix 3 must divide the 4 channels" dump ${E}/radix.nn)

# The frontend's limits: chains and nesting (made on the spot by limits_cases.sh), memory, sizes, preprocessing.
foreach(case flat_sum power_chain call_chain label_chain deep_calls deep_blocks deep_list long_list)
  add_test(NAME error.limits.${case} COMMAND bash ${E}/limits_cases.sh $<TARGET_FILE:netc> ${case})
  set_tests_properties(error.limits.${case} PROPERTIES LABELS "errors;small")
endforeach()
netc_error_test(memory "memory.nn:6:11: error: elaborating this needs more than 256 MB of memory" dump ${E}/memory.nn)
netc_error_test(reshape_overflow "reshape_overflow.nn:3:19: error: reshape: the shape's element count overflows"
                dump ${E}/reshape_overflow.nn)
netc_error_test(crop_pct "crop_pct.nn:3:15: error: preprocess: crop_pct must be in \\[0.05, 4\\], got 1e-30"
                dump ${E}/crop_pct.nn)
netc_error_test(tiny_std "tiny_std.nn:3:15: error: preprocess: std must be at least 0.001, got 1e-38"
                dump ${E}/tiny_std.nn)
