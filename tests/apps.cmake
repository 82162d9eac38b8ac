# The example applications' own tests (issue 9): greenev-kv's parser and command table, and its
# replies checked byte for byte against a real redis-server. The smoke tests that drive each
# example with a real client live beside the example (examples/<name>/smoke.sh).
if(TARGET greenev_kv_core)
  greenev_test(kv_test kv_test.cpp LIBS greenev_kv_core TIMEOUT 30)
  greenev_test(kv_corpus_test kv_corpus_test.cpp LIBS greenev_kv_core TIMEOUT 60)
  target_compile_definitions(kv_corpus_test PRIVATE GREENEV_KV_BIN="$<TARGET_FILE:greenev-kv>")
  add_dependencies(kv_corpus_test greenev-kv)
endif()
