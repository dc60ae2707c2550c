# `PROGRAM serve`, the KServe v2 HTTP server (runtime/serve/; tests/serve/serve_cases.py).  Each case starts its
# own server on a free loopback port and stops it; the quick ones are also "small" (the sanitizer build).
foreach(case tritonclient batching bad_input auth overload slow_clients drain tls ensemble)
  add_test(NAME serve.${case}
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/serve/serve_cases.py $<TARGET_FILE:netc> ${case})
  set_tests_properties(serve.${case} PROPERTIES LABELS "serve;small" TIMEOUT 300
                       ENVIRONMENT "NETC_LINK_EXTRA=${NETC_LINK_EXTRA}")
endforeach()
# Real weights on real photographs over HTTP (needs tools/get_lite0.sh).
add_test(NAME serve.classify_lite0
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/serve/serve_cases.py $<TARGET_FILE:netc>
                 classify_lite0)
set_tests_properties(serve.classify_lite0 PROPERTIES LABELS "serve;photos" TIMEOUT 600
                     ENVIRONMENT "NETC_LINK_EXTRA=${NETC_LINK_EXTRA}")
# Scaling out: Debian's nginx (tools/setup.sh installs it) in front of two servers; one is killed mid-load and every
# request still gets its 200 (tests/serve/serve_nginx.py).  Fails, saying so, where nginx is missing.
add_test(NAME serve.nginx
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/serve/serve_nginx.py $<TARGET_FILE:netc>)
set_tests_properties(serve.nginx PROPERTIES LABELS "serve" TIMEOUT 300 ENVIRONMENT "NETC_LINK_EXTRA=${NETC_LINK_EXTRA}")
