# The example applications' own tests (issue 9): greenev-kv's parser and command table, and its
# replies checked byte for byte against a real redis-server. The smoke tests that drive each
# example with a real client live beside the example (examples/<name>/smoke.sh).
if(TARGET greenev_kv_core)
  greenev_test(kv_test kv_test.cpp LIBS greenev_kv_core TIMEOUT 30)
  greenev_test(kv_corpus_test kv_corpus_test.cpp LIBS greenev_kv_core TIMEOUT 60)
  target_compile_definitions(kv_corpus_test PRIVATE GREENEV_KV_BIN="$<TARGET_FILE:greenev-kv>")
  add_dependencies(kv_corpus_test greenev-kv)
endif()

# Smoke tests of greenev-proxy and greenev-crawl: registered here, after every example folder,
# because they drive other examples (greenev-echo, greenev-kv, greenev-http when it exists).
if(TARGET greenev-proxy AND TARGET greenev-echo AND TARGET greenev-kv)
  set(_http_bin "")
  if(TARGET greenev-http)
    set(_http_bin $<TARGET_FILE:greenev-http>)
  endif()
  add_test(NAME example_greenev-proxy_smoke
           COMMAND bash ${PROJECT_SOURCE_DIR}/examples/proxy/smoke.sh $<TARGET_FILE:greenev-proxy>
                   $<TARGET_FILE:greenev-echo> $<TARGET_FILE:greenev-kv> ${_http_bin})
  set_tests_properties(example_greenev-proxy_smoke PROPERTIES TIMEOUT 120 LABELS example)
endif()
if(TARGET greenev-crawl)
  set(_http_bin "")
  if(TARGET greenev-http)
    set(_http_bin $<TARGET_FILE:greenev-http>)
  endif()
  add_test(NAME example_greenev-crawl_smoke
           COMMAND bash ${PROJECT_SOURCE_DIR}/examples/crawl/smoke.sh $<TARGET_FILE:greenev-crawl> ${_http_bin})
  set_tests_properties(example_greenev-crawl_smoke PROPERTIES TIMEOUT 120 LABELS example)
endif()
